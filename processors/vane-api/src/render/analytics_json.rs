//! `--json` for the analytics queries: one array, one object per row with `series_id`, `metric`,
//! `labels`, `analyzed_at` and the part's fields, times in Unix milliseconds. An absent part has
//! `missing` set to the reason and its fields null or empty; `missing` is null when the part is
//! present. Pure: no I/O.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{ApiError, pb};

/// The fields every analytics object starts with.
#[derive(Serialize)]
struct Head<'a> {
    series_id: &'a str,
    metric: &'a str,
    labels: &'a BTreeMap<String, String>,
    analyzed_at: i64,
}

#[derive(Serialize)]
struct StationarityJson<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    window_start: i64,
    window_end: i64,
    points_count: u64,
    statistic: Option<f64>,
    pvalue: Option<f64>,
    used_lag: Option<u32>,
    nobs: Option<u32>,
    critical_1pct: Option<f64>,
    critical_5pct: Option<f64>,
    critical_10pct: Option<f64>,
    stationary: Option<bool>,
    regression: Option<&'a str>,
    autolag: Option<&'a str>,
    missing: Option<&'a str>,
}

#[derive(Serialize)]
struct DecompositionJson<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    period: Option<u32>,
    model: Option<&'a str>,
    points: Vec<DecompositionPointJson>,
    missing: Option<&'a str>,
}

#[derive(Serialize)]
struct DecompositionPointJson {
    time: i64,
    observed: f64,
    trend: Option<f64>,
    seasonal: Option<f64>,
    resid: Option<f64>,
}

#[derive(Serialize)]
struct TrendCycleJson<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    lambda: Option<f64>,
    points: Vec<TrendCyclePointJson>,
    missing: Option<&'a str>,
}

#[derive(Serialize)]
struct TrendCyclePointJson {
    time: i64,
    observed: f64,
    trend: f64,
    cycle: f64,
}

#[derive(Serialize)]
struct AutocorrelationJson<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    acf: &'a [f64],
    confint_lower: &'a [f64],
    confint_upper: &'a [f64],
    pacf: &'a [f64],
    missing: Option<&'a str>,
}

#[derive(Serialize)]
struct ForecastJson<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    model: Option<&'a str>,
    level: Option<f64>,
    fitted_at: Option<i64>,
    points: Vec<ForecastPointJson>,
    missing: Option<&'a str>,
}

#[derive(Serialize)]
struct ForecastPointJson {
    time: i64,
    mean: f64,
    lower: f64,
    upper: f64,
}

fn head<'a>(series_id: &'a str, metric: &'a str, labels: &'a BTreeMap<String, String>, analyzed_at: i64) -> Head<'a> {
    Head {
        series_id,
        metric,
        labels,
        analyzed_at,
    }
}

/// `None` for the wire's empty string.
fn missing(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

fn to_json<T: Serialize>(objects: &[T]) -> Result<String, ApiError> {
    Ok(serde_json::to_string_pretty(objects)? + "\n")
}

pub(super) fn stationarity(rows: &[pb::Stationarity]) -> Result<String, ApiError> {
    let objects: Vec<StationarityJson<'_>> = rows
        .iter()
        .map(|row| {
            let present = row.missing.is_empty();
            let some = |value| present.then_some(value);
            StationarityJson {
                head: head(&row.series_id, &row.metric, &row.labels, row.analyzed_at_ms),
                window_start: row.window_start_ms,
                window_end: row.window_end_ms,
                points_count: row.points_count,
                statistic: some(row.statistic),
                pvalue: some(row.pvalue),
                used_lag: present.then_some(row.used_lag),
                nobs: present.then_some(row.nobs),
                critical_1pct: some(row.critical_1pct),
                critical_5pct: some(row.critical_5pct),
                critical_10pct: some(row.critical_10pct),
                stationary: present.then_some(row.stationary),
                regression: present.then_some(row.regression.as_str()),
                autolag: present.then_some(row.autolag.as_str()),
                missing: missing(&row.missing),
            }
        })
        .collect();
    to_json(&objects)
}

pub(super) fn decomposition(rows: &[pb::Decomposition]) -> Result<String, ApiError> {
    let objects: Vec<DecompositionJson<'_>> = rows
        .iter()
        .map(|row| DecompositionJson {
            head: head(&row.series_id, &row.metric, &row.labels, row.analyzed_at_ms),
            period: missing(&row.missing).is_none().then_some(row.period),
            model: missing(&row.missing).is_none().then_some(row.model.as_str()),
            points: row
                .points
                .iter()
                .map(|p| DecompositionPointJson {
                    time: p.time_ms,
                    observed: p.observed,
                    trend: p.trend,
                    seasonal: p.seasonal,
                    resid: p.resid,
                })
                .collect(),
            missing: missing(&row.missing),
        })
        .collect();
    to_json(&objects)
}

pub(super) fn trend_cycle(rows: &[pb::TrendCycle]) -> Result<String, ApiError> {
    let objects: Vec<TrendCycleJson<'_>> = rows
        .iter()
        .map(|row| TrendCycleJson {
            head: head(&row.series_id, &row.metric, &row.labels, row.analyzed_at_ms),
            lambda: missing(&row.missing).is_none().then_some(row.lambda),
            points: row
                .points
                .iter()
                .map(|p| TrendCyclePointJson {
                    time: p.time_ms,
                    observed: p.observed,
                    trend: p.trend,
                    cycle: p.cycle,
                })
                .collect(),
            missing: missing(&row.missing),
        })
        .collect();
    to_json(&objects)
}

pub(super) fn autocorrelation(rows: &[pb::Autocorrelation]) -> Result<String, ApiError> {
    let objects: Vec<AutocorrelationJson<'_>> = rows
        .iter()
        .map(|row| AutocorrelationJson {
            head: head(&row.series_id, &row.metric, &row.labels, row.analyzed_at_ms),
            acf: &row.acf,
            confint_lower: &row.confint_lower,
            confint_upper: &row.confint_upper,
            pacf: &row.pacf,
            missing: missing(&row.missing),
        })
        .collect();
    to_json(&objects)
}

pub(super) fn forecast(rows: &[pb::Forecast]) -> Result<String, ApiError> {
    let objects: Vec<ForecastJson<'_>> = rows
        .iter()
        .map(|row| {
            let present = row.missing.is_empty();
            ForecastJson {
                head: head(&row.series_id, &row.metric, &row.labels, row.analyzed_at_ms),
                model: present.then_some(row.model.as_str()),
                level: present.then_some(row.level),
                fitted_at: present.then_some(row.fitted_at_ms),
                points: row
                    .points
                    .iter()
                    .map(|p| ForecastPointJson {
                        time: p.time_ms,
                        mean: p.mean,
                        lower: p.lower,
                        upper: p.upper,
                    })
                    .collect(),
                missing: missing(&row.missing),
            }
        })
        .collect();
    to_json(&objects)
}
