//! The whole analysis of one series, shaped as the `vane analyze --json` contract, and its
//! readable text rendering.
//!
//! Each section is computed independently: a section that cannot be computed is `null` and
//! `missing` says why, so one short or constant series still yields a report. Timings come from
//! a caller-supplied stopwatch (milliseconds, monotonic); this crate never reads a clock.

use std::fmt::Write as _;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::acf::{acf, acf_confint, pacf};
use crate::adf::{AdfOptions, AdfResult, Autolag, Regression, adfuller};
use crate::aggregates::{Window, WindowStats, aggregates};
use crate::decompose::{Decomposition, DecompositionModel, seasonal_decompose};
use crate::error::Result;
use crate::forecast::{Candidates, DEFAULT_SEED, ForecastOptions, ForecastOut, fit_candidates};
use crate::hp::{HpResult, hpfilter};
use crate::period::{detect_period_with_interval, median_interval};
use crate::series::Series;
use crate::stl::{StlOptions, StlResult, stl};
use crate::violation::{DEFAULT_PATHS, Violation, violation_probability};

/// A range for the violation probability; either bound may be absent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Range {
    /// Lower bound.
    pub min: Option<f64>,
    /// Upper bound.
    pub max: Option<f64>,
}

/// Longest horizon `vane analyze` accepts: the joint paths behind the violation probability cost
/// time in the square of the horizon (about 9 s at 1,000 points with a range on a 4,032-point
/// series, docs/analytics.md), and no model here says much about a thousand steps ahead.
pub const MAX_HORIZON: usize = 1000;

/// Options of [`analyze`], mirroring the flags of `vane analyze`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzeOptions {
    /// Seasonal period; detected from the data when `None`.
    pub period: Option<usize>,
    /// Forecast horizon in points; see [`MAX_HORIZON`].
    pub horizon: usize,
    /// Hodrick-Prescott smoothing.
    pub lambda: f64,
    /// ADF maximum lag; statsmodels' rule when `None`.
    pub maxlag: Option<usize>,
    /// ADF lag selection.
    pub autolag: Autolag,
    /// ADF deterministic terms.
    pub regression: Regression,
    /// Prediction interval coverage.
    pub level: f64,
    /// Range for the violation probability; no `violation` section when `None`.
    pub range: Option<Range>,
    /// Aggregate windows.
    pub windows: Vec<Window>,
    /// Seed of the Monte Carlo paths.
    pub seed: u64,
    /// Number of Monte Carlo paths for the violation probability.
    pub paths: usize,
    /// Largest ARIMA p and q searched.
    pub max_pq: usize,
    /// Compute the STL decomposition (the slowest part after the forecasts).
    pub stl: bool,
    /// Report every fitted model's forecast, not only the served one's.
    pub all_forecasts: bool,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            period: None,
            horizon: 10,
            lambda: 1600.0,
            maxlag: None,
            autolag: Autolag::Aic,
            regression: Regression::Constant,
            level: 0.95,
            range: None,
            windows: Window::defaults(),
            seed: DEFAULT_SEED,
            paths: DEFAULT_PATHS,
            max_pq: 2,
            stl: true,
            all_forecasts: true,
        }
    }
}

/// Time spent per section, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    /// ADF test.
    pub adf: f64,
    /// HP filter.
    pub hp: f64,
    /// ACF, confidence intervals and PACF.
    pub acf: f64,
    /// Period detection and classical decomposition.
    pub decomposition: f64,
    /// STL.
    pub stl: f64,
    /// All forecasts and the violation probability.
    pub forecast: f64,
    /// Whole analysis.
    pub total: f64,
}

/// Ordered `key -> value` pairs serialised as a JSON object in insertion order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V: Serialize> Serialize for OrderedMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The analysis of one series: exactly the JSON object of the `vane analyze` contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Number of points.
    pub n: usize,
    /// Trailing-window statistics by window label.
    pub aggregates: OrderedMap<Option<WindowStats>>,
    /// Augmented Dickey-Fuller test.
    pub adf: Option<AdfResult>,
    /// Hodrick-Prescott trend and cycle.
    pub hp: Option<HpResult>,
    /// Autocorrelations, lag 0 first.
    pub acf: Option<Vec<f64>>,
    /// Bartlett intervals of the autocorrelations.
    pub acf_confint: Option<Vec<[f64; 2]>>,
    /// Partial autocorrelations, lag 0 first.
    pub pacf: Option<Vec<f64>>,
    /// Classical decomposition.
    pub decomposition: Option<Decomposition>,
    /// STL decomposition.
    pub stl: Option<StlResult>,
    /// Forecast of the served model.
    pub forecast: Option<ForecastOut>,
    /// Forecasts of every fitted model.
    pub forecasts: Vec<ForecastOut>,
    /// Probability of leaving the range.
    pub violation: Option<Violation>,
    /// Why sections are null.
    pub missing: OrderedMap<String>,
    /// Time per section.
    pub timings_ms: Timings,
}

/// Runs the whole analysis. `stopwatch` returns a monotonic time in milliseconds; pass
/// `&mut || 0.0` when timings do not matter.
pub fn analyze(series: &Series, options: &AnalyzeOptions, stopwatch: &mut dyn FnMut() -> f64) -> Report {
    analyze_with(series, options, stopwatch, &mut fit_candidates)
}

/// [`analyze`] with the forecast candidates coming from `forecaster` instead of a full fit: a
/// live series passes its cached model refiltered over the new window between refits (and keeps
/// the model a refit serves).
pub fn analyze_with(
    series: &Series,
    options: &AnalyzeOptions,
    stopwatch: &mut dyn FnMut() -> f64,
    forecaster: &mut dyn FnMut(&[f64], &ForecastOptions) -> Result<Candidates>,
) -> Report {
    let x = series.values();
    let mut missing = OrderedMap::default();
    let mut note = |section: &str, why: String| missing.0.push((section.to_string(), why));
    let mut t = Timings::default();
    let t0 = stopwatch();

    let aggs = OrderedMap(aggregates(series, &options.windows));

    let mut lap = stopwatch();
    let adf_opts = AdfOptions {
        maxlag: options.maxlag,
        regression: options.regression,
        autolag: options.autolag,
    };
    let adf = adfuller(x, &adf_opts).map_err(|e| note("adf", e.to_string())).ok();
    let now = stopwatch();
    t.adf = now - lap;
    lap = now;

    let hp = hpfilter(x, options.lambda).map_err(|e| note("hp", e.to_string())).ok();
    let now = stopwatch();
    t.hp = now - lap;
    lap = now;

    let acf_v = acf(x, None).map_err(|e| note("acf", e.to_string())).ok();
    let confint = acf_v.as_ref().map(|r| acf_confint(r, x.len(), 0.05));
    if acf_v.is_none() {
        note("acf_confint", "acf could not be computed".to_string());
    }
    let pacf_v = pacf(x, None).map_err(|e| note("pacf", e.to_string())).ok();
    let now = stopwatch();
    t.acf = now - lap;
    lap = now;

    let interval = median_interval(series.timestamps());
    let period = options.period.or_else(|| detect_period_with_interval(x, interval));
    let decomposition = match period {
        Some(p) => seasonal_decompose(x, p, DecompositionModel::Additive)
            .map_err(|e| note("decomposition", e.to_string()))
            .ok(),
        None => {
            note("decomposition", NO_PERIOD.to_string());
            None
        }
    };
    let now = stopwatch();
    t.decomposition = now - lap;
    lap = now;

    let stl_r = match period {
        _ if !options.stl => {
            note("stl", "not asked for".to_string());
            None
        }
        Some(p) => stl(x, &StlOptions::new(p)).map_err(|e| note("stl", e.to_string())).ok(),
        None => {
            note("stl", NO_PERIOD.to_string());
            None
        }
    };
    let now = stopwatch();
    t.stl = now - lap;
    lap = now;

    let horizon = options.horizon.max(1);
    // Seasonal Holt-Winters needs two full cycles; a longer period is dropped, not fatal.
    let fc_period = period.filter(|p| *p >= 2 && x.len() > 2 * p);
    // The ARIMA differencing order comes from the default ADF test; reuse it when it ran.
    let d = (adf_opts == AdfOptions::default())
        .then(|| adf.as_ref().map(|r| usize::from(!r.stationary)))
        .flatten();
    let fopts = ForecastOptions {
        horizon,
        period: fc_period,
        max_pq: options.max_pq,
        d,
    };
    let mut forecast = None;
    let mut forecasts = Vec::new();
    let mut violation = None;
    match forecaster(x, &fopts) {
        Ok(c) => {
            if options.all_forecasts {
                for m in &c.models {
                    forecasts.push(m.output(options.level));
                }
                forecast = forecasts.get(c.served).cloned();
            } else {
                forecast = c.models.get(c.served).map(|m| m.output(options.level));
            }
            match (options.range, c.models.get(c.served)) {
                (Some(r), Some(m)) => {
                    violation = violation_probability(m, r.min, r.max, horizon, options.paths, options.seed)
                        .map_err(|e| note("violation", e.to_string()))
                        .ok();
                }
                (None, _) => note("violation", "no range given".to_string()),
                (Some(_), None) => note("violation", "no forecast model".to_string()),
            }
        }
        Err(e) => {
            note("forecast", e.to_string());
            note("violation", "no forecast model".to_string());
        }
    }
    let now = stopwatch();
    t.forecast = now - lap;
    t.total = now - t0;

    Report {
        n: x.len(),
        aggregates: aggs,
        adf,
        hp,
        acf: acf_v,
        acf_confint: confint,
        pacf: pacf_v,
        decomposition,
        stl: stl_r,
        forecast,
        forecasts,
        violation,
        missing,
        timings_ms: t,
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"))
}

/// Why the decomposition and STL sections are missing when no period was given and none stood out
/// of the series' noise.
const NO_PERIOD: &str = "no seasonal period found";

/// A readable multi-line report for the terminal.
pub fn render_text(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "points: {}", r.n);
    let _ = writeln!(s, "\naggregates");
    for (label, w) in &r.aggregates.0 {
        match w {
            Some(w) => {
                let _ = writeln!(
                    s,
                    "  {label:>4}: count {:>5}  min {:.4}  max {:.4}  mean {:.4}  std {}",
                    w.count,
                    w.min,
                    w.max,
                    w.mean,
                    fmt_opt(w.std)
                );
            }
            None => {
                let _ = writeln!(s, "  {label:>4}: -");
            }
        }
    }
    if let Some(a) = &r.adf {
        let verdict = if a.stationary { "stationary" } else { "not stationary" };
        let _ = writeln!(
            s,
            "\nadf: statistic {:.4}  p-value {:.4}  lags {}  nobs {}  critical 1% {:.3} 5% {:.3} 10% {:.3}  => {verdict} at 5%",
            a.statistic, a.pvalue, a.usedlag, a.nobs, a.critical.one, a.critical.five, a.critical.ten
        );
    }
    if let Some(h) = &r.hp {
        let last = |v: &[f64]| v.last().copied();
        let _ = writeln!(
            s,
            "hp (lambda {}): last trend {}  last cycle {}",
            h.lambda,
            fmt_opt(last(&h.trend)),
            fmt_opt(last(&h.cycle))
        );
    }
    if let Some(a) = &r.acf {
        let shown: Vec<String> = a.iter().skip(1).take(5).map(|v| format!("{v:.3}")).collect();
        let _ = writeln!(s, "acf lags 1-5: {}  ({} lags)", shown.join(" "), a.len().saturating_sub(1));
    }
    if let Some(p) = &r.pacf {
        let shown: Vec<String> = p.iter().skip(1).take(5).map(|v| format!("{v:.3}")).collect();
        let _ = writeln!(s, "pacf lags 1-5: {}", shown.join(" "));
    }
    if let Some(d) = &r.decomposition {
        let _ = writeln!(s, "decomposition: {:?}, period {}", d.model, d.period);
    }
    if let Some(st) = &r.stl {
        let _ = writeln!(s, "stl: period {}", st.period);
    }
    if let Some(f) = &r.forecast {
        let _ = writeln!(s, "\nforecast ({}, {} steps, {:.0}% interval)", f.model, f.horizon, f.level * 100.0);
        for k in 0..f.mean.len() {
            let (m, lo, hi) = (f.mean.get(k), f.lower.get(k), f.upper.get(k));
            let _ = writeln!(
                s,
                "  +{:<3} {}  [{}, {}]",
                k + 1,
                fmt_opt(m.copied()),
                fmt_opt(lo.copied()),
                fmt_opt(hi.copied())
            );
        }
        let others: Vec<&str> = r.forecasts.iter().map(|f| f.model.as_str()).collect();
        let _ = writeln!(s, "  models fitted: {}", others.join(", "));
    }
    if let Some(v) = &r.violation {
        let _ = writeln!(
            s,
            "\nviolation: P(any of next {} outside [{}, {}]) = {:.4}",
            v.horizon,
            fmt_opt(v.min),
            fmt_opt(v.max),
            v.probability
        );
    }
    if !r.missing.0.is_empty() {
        let _ = writeln!(s, "\nmissing");
        for (k, why) in &r.missing.0 {
            let hint = if why == NO_PERIOD { " (--period N sets one)" } else { "" };
            let _ = writeln!(s, "  {k}: {why}{hint}");
        }
    }
    let t = &r.timings_ms;
    let _ = writeln!(
        s,
        "\ntimings ms: adf {:.2}  hp {:.2}  acf {:.2}  decomposition {:.2}  stl {:.2}  forecast {:.2}  total {:.2}",
        t.adf, t.hp, t.acf, t.decomposition, t.stl, t.forecast, t.total
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_has_exactly_the_contract_keys() {
        let mut rng = crate::rng::Rng::new(5);
        let values: Vec<f64> = (0..400)
            .map(|t| 10.0 + (t as f64 * std::f64::consts::TAU / 24.0).sin() + 0.2 * rng.normal())
            .collect();
        let ts: Vec<i64> = (0..400).map(|t| t * 300).collect();
        let s = Series::new(ts, values).unwrap();
        let opts = AnalyzeOptions {
            range: Some(Range {
                min: None,
                max: Some(12.0),
            }),
            horizon: 5,
            paths: 2000,
            ..AnalyzeOptions::default()
        };
        let mut clock = 0.0;
        let mut tick = || {
            clock += 1.0;
            clock
        };
        let r = analyze(&s, &opts, &mut tick);
        let v = serde_json::to_value(&r).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut want = vec![
            "n",
            "aggregates",
            "adf",
            "hp",
            "acf",
            "acf_confint",
            "pacf",
            "decomposition",
            "stl",
            "forecast",
            "forecasts",
            "violation",
            "missing",
            "timings_ms",
        ];
        want.sort_unstable();
        let mut got = keys.clone();
        got.sort_unstable();
        assert_eq!(got, want);
        assert_eq!(v["decomposition"]["period"], 24);
        assert!(v["decomposition"]["trend"][0].is_null());
        assert_eq!(v["adf"]["critical"].as_object().unwrap().len(), 3);
        assert!(v["violation"]["min"].is_null());
        assert_eq!(v["forecast"]["mean"].as_array().unwrap().len(), 5);
        assert!(r.timings_ms.total > 0.0);
        assert!(render_text(&r).contains("forecast ("));
    }

    #[test]
    fn constant_series_reports_missing_sections_instead_of_failing() {
        let s = Series::from_values(vec![3.0; 50]).unwrap();
        let r = analyze(&s, &AnalyzeOptions::default(), &mut || 0.0);
        assert!(r.adf.is_none() && r.acf.is_none() && r.forecast.is_none());
        let keys: Vec<&str> = r.missing.0.iter().map(|(k, _)| k.as_str()).collect();
        assert!(keys.contains(&"adf") && keys.contains(&"forecast"), "{keys:?}");
        assert!(r.hp.is_some());
        // The terminal report says how to get a decomposition anyway; the JSON keeps the reason.
        assert!(render_text(&r).contains("decomposition: no seasonal period found (--period N sets one)"));
        assert_eq!(r.missing.0.iter().find(|(k, _)| k == "decomposition").unwrap().1, NO_PERIOD);
    }
}
