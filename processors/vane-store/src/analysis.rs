//! The analytics read models: one row per analysis of one series (stationarity, autocorrelation,
//! forecast and why parts are missing), kept as history by analysis time, and the latest analysis
//! of each series with its per-point trend/cycle and decomposition.
//!
//! Rows are plain data; `detail` is stored as JSON and `points` as a compact binary column
//! ([`encode_points`]), so that a 12-hour window of 2,880 points costs 2,880 × 56 bytes, not a
//! row per point. Pure: no I/O here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vane_core::Labels;

use crate::StoreError;
use crate::model::{ANALYSIS_HISTORY_TOKEN, Cursor, LATEST_ANALYSIS_TOKEN, Page, check_key};

/// One analysis of one series over its window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisRow {
    pub series_id: String,
    pub metric: String,
    pub labels: Labels,
    /// When the analysis ran (wall clock, Unix ms): the row's version.
    pub analyzed_at_ms: i64,
    /// Event time of the first and of the last point of the window analysed.
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    /// Points in the window.
    pub points_count: u64,
    /// Compute time of the analysis, in milliseconds.
    pub compute_ms: f64,
    pub detail: AnalysisDetail,
    /// Per-point trend/cycle and decomposition. Written with the latest analysis only; empty in
    /// history rows and when a query does not ask for points.
    pub points: Vec<AnalysisPoint>,
}

/// The small parts of an analysis, stored as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnalysisDetail {
    pub stationarity: Option<Stationarity>,
    pub autocorrelation: Option<Autocorrelation>,
    pub forecast: Option<Forecast>,
    /// Hodrick-Prescott smoothing of the points' `hp_trend` / `hp_cycle`.
    pub hp_lambda: Option<f64>,
    /// Seasonal period and model (`additive`) of the points' decomposition.
    pub period: Option<u32>,
    pub decomposition_model: Option<String>,
    /// Part name (`adf`, `hp`, `acf`, `pacf`, `decomposition`, `forecast`) → why it is missing.
    pub missing: BTreeMap<String, String>,
}

/// Augmented Dickey-Fuller test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stationarity {
    pub statistic: f64,
    pub pvalue: f64,
    pub used_lag: u32,
    pub nobs: u32,
    pub critical_1pct: f64,
    pub critical_5pct: f64,
    pub critical_10pct: f64,
    /// Stationary at 5 %.
    pub stationary: bool,
    /// `c`, `ct`, `ctt` or `n`.
    pub regression: String,
    /// `aic`, `bic`, `t-stat` or `none`.
    pub autolag: String,
}

/// Autocorrelations (lag 0 first), their Bartlett bounds and partial autocorrelations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Autocorrelation {
    pub acf: Vec<f64>,
    pub confint_lower: Vec<f64>,
    pub confint_upper: Vec<f64>,
    /// Empty when the partial autocorrelations could not be computed (see `missing`).
    pub pacf: Vec<f64>,
}

/// A forecast with prediction intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// The served model, e.g. `holt-winters(add damped, add 12)` or `arima(1,1,1)`.
    pub model: String,
    /// Interval coverage, e.g. 0.95.
    pub level: f64,
    /// When the model's parameters were last estimated; analyses in between update its state
    /// with the new points.
    pub fitted_at_ms: i64,
    pub steps: Vec<ForecastStep>,
}

/// One forecast step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastStep {
    pub time_ms: i64,
    pub mean: f64,
    pub lower: f64,
    pub upper: f64,
}

/// One point of the window with its derived components; `None` where a component is undefined
/// (the ends of a centred moving average) or was not computed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnalysisPoint {
    pub time_ms: i64,
    pub value: f64,
    pub hp_trend: Option<f64>,
    pub hp_cycle: Option<f64>,
    pub trend: Option<f64>,
    pub seasonal: Option<f64>,
    pub resid: Option<f64>,
}

/// Which analyses to list, for one metric, ordered by series id then analysis time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalysisQuery {
    pub metric: String,
    /// Analyses that ran at or after / at or before these times (Unix ms). With neither: the
    /// latest analysis of each series only.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Return the latest analysis' points (only with neither `from_ms` nor `to_ms`).
    pub with_points: bool,
}

impl AnalysisQuery {
    /// True when the query reads the latest analysis of each series.
    pub fn latest_only(&self) -> bool {
        self.from_ms.is_none() && self.to_ms.is_none()
    }
}

impl AnalysisRow {
    /// The row's version (µs): the analysis time, for ScyllaDB's write timestamp and the
    /// embedded store's guard. A replay of an older analysis never replaces a newer one.
    pub fn version(&self) -> i64 {
        self.analyzed_at_ms.saturating_mul(1000)
    }

    /// Why the store would refuse this row, if it would (projectors check before writing, so
    /// that one bad row goes to the dead-letter topic instead of failing a batch).
    pub fn validate(&self) -> Result<(), StoreError> {
        check_key(&self.series_id, &self.metric)?;
        if self.window_start_ms > self.window_end_ms {
            return Err(StoreError::InvalidRow(format!(
                "series {}: window starts after it ends",
                self.series_id
            )));
        }
        if i64::try_from(self.points_count).is_err() {
            return Err(StoreError::InvalidRow(format!(
                "series {}: points count {} too large",
                self.series_id, self.points_count
            )));
        }
        // JSON has no NaN or infinity (serde_json writes null, which then fails to read back),
        // SQLite turns a NaN into NULL, and the points' encoding reads a NaN component as None.
        if !self.compute_ms.is_finite() || !self.detail.is_finite() {
            return Err(StoreError::InvalidRow(format!(
                "series {}: non-finite number in the analysis",
                self.series_id
            )));
        }
        let nan_point = self.points.iter().any(|p| {
            [Some(p.value), p.hp_trend, p.hp_cycle, p.trend, p.seasonal, p.resid]
                .iter()
                .flatten()
                .any(|v| v.is_nan())
        });
        if nan_point {
            return Err(StoreError::InvalidRow(format!("series {}: NaN in the points", self.series_id)));
        }
        Ok(())
    }
}

impl AnalysisDetail {
    /// True when every number can be written as JSON and read back.
    fn is_finite(&self) -> bool {
        let mut numbers: Vec<f64> = self.hp_lambda.into_iter().collect();
        if let Some(s) = &self.stationarity {
            numbers.extend([s.statistic, s.pvalue, s.critical_1pct, s.critical_5pct, s.critical_10pct]);
        }
        if let Some(a) = &self.autocorrelation {
            for values in [&a.acf, &a.confint_lower, &a.confint_upper, &a.pacf] {
                numbers.extend(values.iter().copied());
            }
        }
        if let Some(f) = &self.forecast {
            numbers.push(f.level);
            for step in &f.steps {
                numbers.extend([step.mean, step.lower, step.upper]);
            }
        }
        numbers.iter().all(|v| v.is_finite())
    }
}

/// Where a page of analyses starts: strictly after `(series_id, analyzed_at_ms)` of `metric`.
/// The latest-only listing has one row per series and leaves `analyzed_at_ms` at `i64::MAX`.
/// Tokens: `l.<hex metric>.<series id>` (latest) and `h.<hex metric>.<series id>.<ms>` (history),
/// two kinds so that neither listing accepts the other's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnalysisCursor {
    pub series_id: String,
    pub analyzed_at_ms: i64,
}

impl AnalysisCursor {
    pub(crate) fn of(row: &AnalysisRow, latest_only: bool) -> String {
        let cursor = Cursor {
            group: row.metric.clone(),
            series_id: row.series_id.clone(),
        };
        if latest_only {
            return cursor.encode(LATEST_ANALYSIS_TOKEN);
        }
        format!("{}.{}", cursor.encode(ANALYSIS_HISTORY_TOKEN), row.analyzed_at_ms)
    }

    /// The cursor a page of `query` starts from; refuses tokens of another listing, mode or metric.
    pub(crate) fn decode(query: &AnalysisQuery, page: &Page) -> Result<AnalysisCursor, StoreError> {
        let Some(token) = &page.after else {
            return Ok(AnalysisCursor {
                series_id: String::new(),
                analyzed_at_ms: i64::MIN,
            });
        };
        let (cursor, analyzed_at_ms) = if query.latest_only() {
            (Cursor::parse(token, LATEST_ANALYSIS_TOKEN)?, i64::MAX)
        } else {
            let bad = || StoreError::InvalidPage(format!("malformed page token {token:?}"));
            let (rest, at) = token.rsplit_once('.').ok_or_else(bad)?;
            let at = at.parse::<i64>().map_err(|_| bad())?;
            (Cursor::parse(rest, ANALYSIS_HISTORY_TOKEN)?, at)
        };
        if cursor.group != query.metric {
            return Err(StoreError::InvalidPage(format!(
                "token is for {:?}, not {:?}",
                cursor.group, query.metric
            )));
        }
        Ok(AnalysisCursor {
            series_id: cursor.series_id,
            analyzed_at_ms,
        })
    }
}

const POINT_COLUMNS: usize = 6;
const POINT_BYTES: usize = 8 + 8 * POINT_COLUMNS;

/// Encodes points as a little-endian array of `(time_ms: i64, value, hp_trend, hp_cycle, trend,
/// seasonal, resid: f64)`, `None` as NaN (a computed component is never NaN).
pub fn encode_points(points: &[AnalysisPoint]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * POINT_BYTES);
    for p in points {
        out.extend_from_slice(&p.time_ms.to_le_bytes());
        for v in [Some(p.value), p.hp_trend, p.hp_cycle, p.trend, p.seasonal, p.resid] {
            out.extend_from_slice(&v.unwrap_or(f64::NAN).to_le_bytes());
        }
    }
    out
}

/// Decodes [`encode_points`]' output.
pub fn decode_points(bytes: &[u8]) -> Result<Vec<AnalysisPoint>, StoreError> {
    if !bytes.len().is_multiple_of(POINT_BYTES) {
        return Err(StoreError::Corrupt(format!(
            "analysis points: {} bytes is not a multiple of {POINT_BYTES}",
            bytes.len()
        )));
    }
    let word = |chunk: &[u8], i: usize| -> [u8; 8] {
        let mut w = [0u8; 8];
        if let Some(src) = chunk.get(i * 8..i * 8 + 8) {
            w.copy_from_slice(src);
        }
        w
    };
    let opt = |v: f64| (!v.is_nan()).then_some(v);
    Ok(bytes
        .chunks_exact(POINT_BYTES)
        .map(|c| {
            let f = |i: usize| f64::from_le_bytes(word(c, i));
            AnalysisPoint {
                time_ms: i64::from_le_bytes(word(c, 0)),
                value: f(1),
                hp_trend: opt(f(2)),
                hp_cycle: opt(f(3)),
                trend: opt(f(4)),
                seasonal: opt(f(5)),
                resid: opt(f(6)),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_round_trip_with_gaps() {
        let points = vec![
            AnalysisPoint {
                time_ms: 1_700_000_000_000,
                value: 1.5,
                hp_trend: Some(1.0),
                hp_cycle: Some(0.5),
                trend: None,
                seasonal: Some(-0.25),
                resid: None,
            },
            AnalysisPoint {
                time_ms: -5,
                value: f64::MAX,
                hp_trend: None,
                hp_cycle: None,
                trend: Some(0.0),
                seasonal: None,
                resid: Some(-1e-300),
            },
        ];
        let bytes = encode_points(&points);
        assert_eq!(bytes.len(), 2 * POINT_BYTES);
        assert_eq!(decode_points(&bytes).unwrap(), points);
        assert!(decode_points(&bytes[1..]).is_err());
    }

    fn row(metric: &str, analyzed_at_ms: i64) -> AnalysisRow {
        AnalysisRow {
            series_id: "00ff00ff00ff00ff".into(),
            metric: metric.into(),
            labels: Labels::new(),
            analyzed_at_ms,
            window_start_ms: 0,
            window_end_ms: 0,
            points_count: 0,
            compute_ms: 1.0,
            detail: AnalysisDetail::default(),
            points: Vec::new(),
        }
    }

    #[test]
    fn cursors_round_trip_per_mode_and_metric() {
        let metric = "node_cpu.seconds:total";
        let history = AnalysisQuery {
            metric: metric.into(),
            from_ms: Some(0),
            ..AnalysisQuery::default()
        };
        let latest = AnalysisQuery {
            metric: metric.into(),
            ..AnalysisQuery::default()
        };
        for at in [-5, 0, 1_700_000_000_000, i64::MIN, i64::MAX] {
            let token = AnalysisCursor::of(&row(metric, at), false);
            let cursor = AnalysisCursor::decode(&history, &Page::after(1, token.clone())).unwrap();
            assert_eq!((cursor.series_id.as_str(), cursor.analyzed_at_ms), ("00ff00ff00ff00ff", at));
            assert!(AnalysisCursor::decode(&latest, &Page::after(1, token)).is_err());
        }
        let token = AnalysisCursor::of(&row(metric, 7), true);
        let cursor = AnalysisCursor::decode(&latest, &Page::after(1, token.clone())).unwrap();
        assert_eq!(cursor.series_id, "00ff00ff00ff00ff");
        assert!(AnalysisCursor::decode(&history, &Page::after(1, token)).is_err());
        let other = AnalysisCursor::of(&row("up", 7), false);
        assert!(AnalysisCursor::decode(&history, &Page::after(1, other)).is_err());
        let start = AnalysisCursor::decode(&history, &Page::first(1)).unwrap();
        assert_eq!((start.series_id.as_str(), start.analyzed_at_ms), ("", i64::MIN));
    }

    #[test]
    fn non_finite_numbers_are_refused() {
        assert!(row("m", 1).validate().is_ok());
        let mut bad = row("m", 1);
        bad.compute_ms = f64::INFINITY;
        assert!(bad.validate().is_err());
        let mut bad = row("m", 1);
        bad.detail.stationarity = Some(Stationarity {
            statistic: f64::NEG_INFINITY,
            pvalue: 0.5,
            used_lag: 0,
            nobs: 10,
            critical_1pct: -3.4,
            critical_5pct: -2.9,
            critical_10pct: -2.6,
            stationary: false,
            regression: "c".into(),
            autolag: "aic".into(),
        });
        assert!(bad.validate().is_err());
        let mut bad = row("m", 1);
        bad.points_count = u64::MAX;
        assert!(bad.validate().is_err());
    }
}
