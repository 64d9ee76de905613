//! `GET /api/v1/pipeline/execution-time?since=12h`: vane's own analysis compute time, a series
//! like any other (`vane_analysis_duration_seconds`), so that the original API's "execution time
//! of the pipeline over 12h" has an answer. The samples come from the analytics read model's
//! latest analysis of each series (its window's points, those in the range), the summary from
//! the aggregates read model. The read models keep what the analytics and aggregates workers
//! last computed: samples older than the analysis window are not there.

use std::collections::{BTreeMap, HashMap};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Serialize;
use vane_store::{AggregateQuery, AggregateRow, AnalysisQuery, Page};

use super::SlaApi;
use super::http::{Answer, Params, json};
use crate::ApiError;

/// The series of the analysis compute time.
pub(crate) const EXECUTION_TIME_METRIC: &str = "vane_analysis_duration_seconds";

/// The range when none is given.
const DEFAULT_SINCE_MS: i64 = 12 * 3_600_000;

/// Store pages read at most per listing (1,000 rows each): a handful of series in practice.
const MAX_PAGES: usize = 10;
const PAGE_ROWS: u32 = 1_000;

#[derive(Debug, Serialize)]
struct Sample {
    at: i64,
    value: f64,
}

#[derive(Debug, Serialize)]
struct Aggregate {
    window: String,
    count: u64,
    min: f64,
    max: f64,
    mean: f64,
    std: Option<f64>,
    as_of: i64,
}

#[derive(Debug, Serialize)]
struct Series {
    series_id: String,
    labels: BTreeMap<String, String>,
    /// Samples in the range, oldest first.
    samples: Vec<Sample>,
    /// Over `samples`; null without any.
    min: Option<f64>,
    max: Option<f64>,
    mean: Option<f64>,
    /// The aggregates worker's windows of the series.
    aggregates: Vec<Aggregate>,
}

#[derive(Debug, Serialize)]
struct ExecutionTime {
    metric: &'static str,
    /// The range, Unix ms (null: unbounded).
    from: Option<i64>,
    to: Option<i64>,
    series: Vec<Series>,
}

pub(crate) async fn execution_time(State(api): State<SlaApi>, query: Result<Query<HashMap<String, String>>, QueryRejection>) -> Answer {
    let params = Params::new(query, &["since", "from", "to"])?;
    let (from_ms, to_ms) = params.range(api.now_ms(), Some(DEFAULT_SINCE_MS))?;
    let from = (from_ms != 0).then_some(from_ms);
    let to = (to_ms != 0).then_some(to_ms);
    let store = api.store();

    let mut aggregates: HashMap<String, Vec<Aggregate>> = HashMap::new();
    let query = AggregateQuery {
        metric: EXECUTION_TIME_METRIC.to_string(),
        window: None,
    };
    let mut page = Page::first(PAGE_ROWS);
    for _ in 0..MAX_PAGES {
        let batch = store.list_aggregates(&query, &page).await.map_err(ApiError::from)?;
        for row in batch.rows {
            aggregates.entry(row.series_id.clone()).or_default().push(aggregate(row));
        }
        let Some(next) = batch.next else { break };
        page = Page::after(PAGE_ROWS, next);
    }

    let query = AnalysisQuery {
        metric: EXECUTION_TIME_METRIC.to_string(),
        from_ms: None,
        to_ms: None,
        with_points: true,
    };
    let mut series = Vec::new();
    let mut page = Page::first(PAGE_ROWS);
    for _ in 0..MAX_PAGES {
        let batch = store.list_analyses(&query, &page).await.map_err(ApiError::from)?;
        for row in batch.rows {
            let samples: Vec<Sample> = row
                .points
                .iter()
                .filter(|point| from.is_none_or(|from| point.time_ms >= from) && to.is_none_or(|to| point.time_ms <= to))
                .map(|point| Sample {
                    at: point.time_ms,
                    value: point.value,
                })
                .collect();
            let (min, max, mean) = summary(&samples);
            series.push(Series {
                aggregates: aggregates.remove(&row.series_id).unwrap_or_default(),
                series_id: row.series_id,
                labels: row.labels,
                samples,
                min,
                max,
                mean,
            });
        }
        let Some(next) = batch.next else { break };
        page = Page::after(PAGE_ROWS, next);
    }
    json(
        StatusCode::OK,
        &ExecutionTime {
            metric: EXECUTION_TIME_METRIC,
            from,
            to,
            series,
        },
    )
}

fn aggregate(row: AggregateRow) -> Aggregate {
    Aggregate {
        window: row.window,
        count: row.count,
        min: row.min,
        max: row.max,
        mean: row.mean,
        std: row.std,
        as_of: row.as_of_ms,
    }
}

fn summary(samples: &[Sample]) -> (Option<f64>, Option<f64>, Option<f64>) {
    if samples.is_empty() {
        return (None, None, None);
    }
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    let mut sum = 0.0;
    for sample in samples {
        min = min.min(sample.value);
        max = max.max(sample.value);
        sum += sample.value;
    }
    (Some(min), Some(max), Some(sum / samples.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_covers_the_samples() {
        assert_eq!(summary(&[]), (None, None, None));
        let samples = [Sample { at: 1, value: 0.5 }, Sample { at: 2, value: 1.5 }];
        assert_eq!(summary(&samples), (Some(0.5), Some(1.5), Some(1.0)));
    }
}
