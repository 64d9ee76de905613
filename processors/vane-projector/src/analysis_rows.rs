//! From a `SeriesAnalysis` event to an analytics read-model row: the small parts as the row's
//! detail, the per-point arrays zipped into points. Pure.

use std::collections::BTreeMap;

use vane_events::SeriesAnalysisEvent;
use vane_store::{AnalysisDetail, AnalysisPoint, AnalysisRow, Autocorrelation, Forecast, ForecastStep, Stationarity};

/// The component at `index` of an optional per-point array; NaN (undefined) is `None`.
fn at(values: Option<&Vec<f64>>, index: usize) -> Option<f64> {
    values.and_then(|v| v.get(index)).copied().filter(|v| v.is_finite())
}

const NON_FINITE: &str = "the analysis gave a non-finite result (NaN or infinite)";

/// Keeps a part only when every number in it is finite; otherwise records why it is missing.
fn finite_or_missing<T>(
    part: Option<T>,
    name: &str,
    numbers: impl Fn(&T) -> Vec<f64>,
    missing: &mut BTreeMap<String, String>,
) -> Option<T> {
    match part {
        Some(value) if numbers(&value).iter().all(|v| v.is_finite()) => Some(value),
        Some(_) => {
            missing.insert(name.to_string(), NON_FINITE.to_string());
            None
        }
        None => None,
    }
}

/// The row of one analysis, or why the event cannot be one.
pub(crate) fn analysis_row(event: SeriesAnalysisEvent) -> Result<AnalysisRow, String> {
    if event.name.is_empty() {
        return Err("analysis event without a metric name".into());
    }
    let n = event.timestamps_ms.len();
    let aligned = |what: &str, len: usize| {
        if len == n {
            Ok(())
        } else {
            Err(format!("series {}: {what} has {len} points for {n} timestamps", event.series_id))
        }
    };
    if let Some(hp) = &event.hp {
        aligned("hp trend", hp.trend.len())?;
        aligned("hp cycle", hp.cycle.len())?;
    }
    if let Some(d) = &event.decomposition {
        aligned("decomposition trend", d.trend.len())?;
        aligned("decomposition seasonal", d.seasonal.len())?;
        aligned("decomposition resid", d.resid.len())?;
    }
    if event.values.iter().any(|v| !v.is_finite()) {
        return Err(format!("series {}: non-finite value in the window", event.series_id));
    }
    let hp = event.hp.as_ref();
    let dec = event.decomposition.as_ref();
    let points = event
        .timestamps_ms
        .iter()
        .zip(&event.values)
        .enumerate()
        .map(|(i, (time_ms, value))| AnalysisPoint {
            time_ms: *time_ms,
            value: *value,
            hp_trend: at(hp.map(|h| &h.trend), i),
            hp_cycle: at(hp.map(|h| &h.cycle), i),
            trend: at(dec.map(|d| &d.trend), i),
            seasonal: at(dec.map(|d| &d.seasonal), i),
            resid: at(dec.map(|d| &d.resid), i),
        })
        .collect();
    let stationarity = event.adf.map(|a| Stationarity {
        statistic: a.statistic,
        pvalue: a.pvalue,
        used_lag: u32::try_from(a.used_lag).unwrap_or(u32::MAX),
        nobs: u32::try_from(a.nobs).unwrap_or(u32::MAX),
        critical_1pct: a.critical_1pct,
        critical_5pct: a.critical_5pct,
        critical_10pct: a.critical_10pct,
        stationary: a.stationary,
        regression: a.regression,
        autolag: a.autolag,
    });
    let autocorrelation = event.acf.map(|a| Autocorrelation {
        acf: a.acf,
        confint_lower: a.confint_lower,
        confint_upper: a.confint_upper,
        pacf: event.pacf.clone().unwrap_or_default(),
    });
    let last_ms = event.window_end_ms;
    let forecast = event.forecast.map(|f| Forecast {
        steps: f
            .mean
            .iter()
            .zip(&f.lower)
            .zip(&f.upper)
            .enumerate()
            .map(|(k, ((mean, lower), upper))| ForecastStep {
                time_ms: last_ms + f.step_ms * (k as i64 + 1),
                mean: *mean,
                lower: *lower,
                upper: *upper,
            })
            .collect(),
        model: f.model,
        level: f.level,
        fitted_at_ms: f.fitted_at_ms,
    });
    let mut missing = event.missing;
    let stationarity = finite_or_missing(
        stationarity,
        "adf",
        |s| vec![s.statistic, s.pvalue, s.critical_1pct, s.critical_5pct, s.critical_10pct],
        &mut missing,
    );
    let autocorrelation = finite_or_missing(
        autocorrelation,
        "acf",
        |a| {
            [&a.acf, &a.confint_lower, &a.confint_upper, &a.pacf]
                .into_iter()
                .flatten()
                .copied()
                .collect()
        },
        &mut missing,
    );
    let forecast = finite_or_missing(
        forecast,
        "forecast",
        |f| {
            let mut numbers = vec![f.level];
            numbers.extend(f.steps.iter().flat_map(|s| [s.mean, s.lower, s.upper]));
            numbers
        },
        &mut missing,
    );
    let compute_ms = if event.compute_ms.is_finite() { event.compute_ms } else { 0.0 };
    Ok(AnalysisRow {
        series_id: event.series_id.to_string(),
        metric: event.name,
        labels: event.labels,
        analyzed_at_ms: event.analyzed_at_ms,
        window_start_ms: event.window_start_ms,
        window_end_ms: event.window_end_ms,
        points_count: event.points,
        compute_ms,
        detail: AnalysisDetail {
            stationarity,
            autocorrelation,
            forecast,
            hp_lambda: event.hp.as_ref().map(|h| h.lambda),
            period: event.decomposition.as_ref().map(|d| u32::try_from(d.period).unwrap_or(u32::MAX)),
            decomposition_model: event.decomposition.map(|d| d.model),
            missing,
        },
        points,
    })
}

#[cfg(test)]
mod tests {
    use vane_core::SeriesId;
    use vane_events::Envelope;
    use vane_events::analysis::Forecast as ForecastPart;
    use vane_events::analysis::{Decomposition, HodrickPrescott};
    use vane_stream::{Record, topics};

    use super::*;
    use crate::{Batch, Codecs};

    fn event(analyzed_at_ms: i64) -> SeriesAnalysisEvent {
        SeriesAnalysisEvent {
            envelope: Envelope::new(3_000, analyzed_at_ms, "test"),
            series_id: SeriesId(9),
            name: "node_filefd_allocated".into(),
            labels: Default::default(),
            analyzed_at_ms,
            compute_ms: 1.5,
            window_start_ms: 1_000,
            window_end_ms: 3_000,
            points: 3,
            timestamps_ms: vec![1_000, 2_000, 3_000],
            values: vec![1.0, 2.0, 3.0],
            aggregates: vec![],
            adf: None,
            hp: Some(HodrickPrescott {
                lambda: 1600.0,
                trend: vec![1.0, 2.0, 3.0],
                cycle: vec![0.0, 0.0, 0.0],
            }),
            acf: None,
            pacf: None,
            decomposition: Some(Decomposition {
                model: "additive".into(),
                period: 2,
                trend: vec![f64::NAN, 2.0, f64::NAN],
                seasonal: vec![0.1, -0.1, 0.1],
                resid: vec![f64::NAN, 0.1, f64::NAN],
            }),
            forecast: Some(ForecastPart {
                model: "arima(0,1,0)".into(),
                level: 0.95,
                fitted_at_ms: 500,
                step_ms: 1_000,
                mean: vec![4.0, 5.0],
                lower: vec![3.0, 3.5],
                upper: vec![5.0, 6.5],
            }),
            missing: [("adf".to_string(), "series too short".to_string())].into(),
            violations: Vec::new(),
        }
    }

    #[test]
    fn points_zip_the_arrays_and_undefined_components_are_none() {
        let row = analysis_row(event(10_000)).unwrap();
        assert_eq!(row.points.len(), 3);
        assert_eq!(row.points[0].trend, None);
        assert_eq!(row.points[1].trend, Some(2.0));
        assert_eq!(row.points[2].hp_trend, Some(3.0));
        let forecast = row.detail.forecast.unwrap();
        assert_eq!(forecast.steps.iter().map(|s| s.time_ms).collect::<Vec<_>>(), vec![4_000, 5_000]);
        assert_eq!((row.window_start_ms, row.window_end_ms, row.points_count), (1_000, 3_000, 3));
        assert_eq!(row.detail.period, Some(2));
        assert_eq!(row.detail.missing["adf"], "series too short");
    }

    #[test]
    fn non_finite_parts_become_missing_instead_of_failing_the_store() {
        let mut bad = event(10_000);
        bad.forecast.as_mut().unwrap().upper[1] = f64::INFINITY;
        bad.hp.as_mut().unwrap().trend[0] = f64::NAN;
        let row = analysis_row(bad).unwrap();
        assert!(row.detail.forecast.is_none());
        assert_eq!(row.detail.missing["forecast"], NON_FINITE);
        assert_eq!(row.points[0].hp_trend, None);
        row.validate().unwrap();
    }

    #[test]
    fn misaligned_arrays_are_refused() {
        let mut bad = event(10_000);
        bad.hp.as_mut().unwrap().trend.pop();
        assert!(analysis_row(bad).unwrap_err().contains("hp trend"));
    }

    #[test]
    fn a_batch_keeps_every_analysis_but_only_the_newest_points() {
        let codecs = Codecs::new().unwrap();
        let codec = vane_events::Codec::<SeriesAnalysisEvent>::new().unwrap();
        let record = |offset, at| Record {
            topic: topics::METRICS_ANALYTICS.into(),
            partition: 0,
            offset,
            timestamp_ms: at,
            key: None,
            value: codec.encode(&event(at)),
            headers: vec![],
        };
        let batch = Batch::from_records(&codecs, &[record(0, 20_000), record(1, 10_000)]);
        assert_eq!(batch.analyses.len(), 2);
        let newest = batch.analyses.iter().find(|r| r.analyzed_at_ms == 20_000).unwrap();
        let older = batch.analyses.iter().find(|r| r.analyzed_at_ms == 10_000).unwrap();
        assert_eq!((newest.points.len(), older.points.len()), (3, 0));
    }
}
