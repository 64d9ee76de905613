//! Forecast models behind one interface: point forecasts, prediction intervals, joint future
//! paths, candidate fitting and the choice of the served model.
//!
//! Linear models (ARIMA, additive Holt-Winters) carry their psi weights: the path is
//! `y_{T+k} = mean_k + sum_{j<=k} psi_j e_{T+k-j}`; with Gaussian errors (the models' assumption)
//! the intervals are exact. Multiplicative Holt-Winters paths are simulated through the model's
//! recursions with additive errors; its intervals are empirical quantiles of 4,000 seeded
//! Gaussian paths. Joint paths for probabilities are an equal mixture of model paths driven by
//! blocks of recent in-sample errors and the series' own recent windows
//! ([`ForecastModel::bootstrap_paths`]); the model can also be run from earlier points of its
//! own history ([`ForecastModel::hindcasts`]), which is how the violation probability weighs the
//! two halves. The served model is the candidate with the smallest mean
//! absolute error over a rolling-origin backtest of the last five horizons.

use serde::Serialize;

use crate::adf::{AdfOptions, adfuller};
use crate::arima::{self, Arima};
use crate::error::{AnalyticsError, Result};
use crate::ets::{self, Component, HoltWinters, HwSpec};
use crate::normal::norm_ppf;
use crate::period::{detect_period_with_interval, median_interval};

mod hindcast;
mod paths;

pub use hindcast::Hindcast;
pub use paths::INNOVATION_WINDOW;
use paths::recent;

/// How future paths are generated.
#[derive(Debug, Clone, PartialEq)]
enum Paths {
    Linear { psi: Vec<f64>, sigma: f64 },
    Simulated { model: Box<HoltWinters>, sigma: f64 },
}

/// The fitted model behind a [`ForecastModel`], kept so that it can be refiltered.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    HoltWinters(Box<HoltWinters>),
    Arima(Box<Arima>),
}

/// A fitted model ready to forecast `horizon` steps.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastModel {
    /// Model name, e.g. `arima(1,1,1)`.
    pub name: String,
    /// Point forecasts.
    pub mean: Vec<f64>,
    /// In-sample sum of squared one-step errors.
    pub sse: f64,
    /// Mean absolute error of the rolling-origin backtest over the series' second half (up to five
    /// windows of the horizon, or one of half the series when the horizon is longer).
    pub backtest_mae: Option<f64>,
    paths: Paths,
    /// The most recent in-sample one-step errors, resampled by [`Self::bootstrap_paths`].
    innovations: Vec<f64>,
    /// Floor and ceiling of the fitted series, when it has them ([`Self::with_support_of`]).
    support: (Option<f64>, Option<f64>),
    /// `innovations` are relative to the one-step forecast (positive series).
    relative: bool,
    /// The few values a discrete series takes (sorted), which bootstrap paths snap to.
    grid: Vec<f64>,
    /// The recent values of the fitted series, whose windows are the analogue half of the
    /// bootstrap mixture.
    history: Vec<f64>,
    /// Analogue windows are changes from the last value (a non-stationary series), not levels.
    anchored: bool,
    /// For anchored analogues: `history` with its spikes replaced by their fitted values, the
    /// levels the changes are measured from (empty: `history` itself).
    anchors: Vec<f64>,
    source: Source,
    /// Simulated paths behind the intervals of a nonlinear model.
    interval_paths: usize,
}

/// Simulated paths behind a nonlinear model's intervals unless asked otherwise.
pub const INTERVAL_PATHS: usize = 4000;

/// The `forecast` object of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastOut {
    /// Model name.
    pub model: String,
    /// Steps ahead.
    pub horizon: usize,
    /// Interval coverage.
    pub level: f64,
    /// Point forecasts.
    pub mean: Vec<f64>,
    /// Lower interval bounds.
    pub lower: Vec<f64>,
    /// Upper interval bounds.
    pub upper: Vec<f64>,
}

/// Default seed of the Monte Carlo paths.
pub const DEFAULT_SEED: u64 = 0x5eed_0f7a_9e00;

impl ForecastModel {
    /// Wraps a fitted Holt-Winters model.
    pub fn from_holt_winters(m: HoltWinters, horizon: usize) -> Self {
        let mean = m.forecast_from(m.nobs, horizon);
        let sigma = m.sigma2().sqrt();
        let sse = m.sse;
        let name = m.name();
        let innovations = recent(m.residuals());
        let source = Source::HoltWinters(Box::new(m.clone()));
        let paths = if m.spec.is_linear() {
            Paths::Linear {
                psi: m.psi(horizon),
                sigma,
            }
        } else {
            Paths::Simulated { model: Box::new(m), sigma }
        };
        Self {
            name,
            mean,
            sse,
            backtest_mae: None,
            paths,
            innovations,
            support: (None, None),
            relative: false,
            grid: Vec::new(),
            history: Vec::new(),
            anchored: false,
            anchors: Vec::new(),
            source,
            interval_paths: INTERVAL_PATHS,
        }
    }

    /// Wraps a fitted ARIMA model.
    pub fn from_arima(m: &Arima, horizon: usize) -> Self {
        let n = m.resid().len() + m.order.d;
        Self {
            name: m.name(),
            mean: m.forecast_from(n, horizon),
            sse: m.css,
            backtest_mae: None,
            paths: Paths::Linear {
                psi: m.psi(horizon),
                sigma: m.sigma2().sqrt(),
            },
            // The first p residuals are the zeros the conditional sum of squares starts from.
            innovations: recent(m.resid().get(m.order.p..).unwrap_or(&[])),
            support: (None, None),
            relative: false,
            grid: Vec::new(),
            history: Vec::new(),
            anchored: false,
            anchors: Vec::new(),
            source: Source::Arima(Box::new(m.clone())),
            interval_paths: INTERVAL_PATHS,
        }
    }

    /// The same model with its parameters kept, run over `y`: a later window of the series it
    /// was fitted to that starts `skip` points after the fitted one. Only the states, residuals
    /// and the variance behind the intervals are updated: one pass over `y` instead of a fit,
    /// which is how a live series is kept forecast between refits.
    pub fn refilter(&self, y: &[f64], skip: usize) -> Result<ForecastModel> {
        let h = self.horizon();
        let model = match &self.source {
            Source::HoltWinters(m) => ForecastModel::from_holt_winters(m.refilter(y, skip)?, h),
            Source::Arima(m) => ForecastModel::from_arima(&m.refilter(y)?, h),
        };
        Ok(model
            .with_support_of(y)
            .anchored(self.anchored)
            .with_interval_paths(self.interval_paths))
    }

    /// Uses `paths` simulated paths (at least 100) for a nonlinear model's intervals: fewer is
    /// faster and noisier (a live analysis every minute trades some of the 4,000 for time).
    pub fn with_interval_paths(mut self, paths: usize) -> Self {
        self.interval_paths = paths.max(100);
        self
    }

    /// Steps forecast.
    pub fn horizon(&self) -> usize {
        self.mean.len()
    }

    /// Prediction intervals at coverage `level` for each step.
    pub fn intervals(&self, level: f64) -> (Vec<f64>, Vec<f64>) {
        match &self.paths {
            Paths::Linear { psi, sigma } => {
                let z = norm_ppf(0.5 + level / 2.0);
                let mut var = 0.0;
                let mut lo = Vec::with_capacity(self.horizon());
                let mut hi = Vec::with_capacity(self.horizon());
                for (k, m) in self.mean.iter().enumerate() {
                    let p = psi.get(k).copied().unwrap_or(0.0);
                    var += p * p;
                    let half = z * sigma * var.sqrt();
                    lo.push(m - half);
                    hi.push(m + half);
                }
                (lo, hi)
            }
            Paths::Simulated { .. } => {
                let paths = self.sample_paths(self.interval_paths, DEFAULT_SEED);
                let a = (1.0 - level) / 2.0;
                let mut lo = Vec::with_capacity(self.horizon());
                let mut hi = Vec::with_capacity(self.horizon());
                let mut col = Vec::with_capacity(paths.len());
                for k in 0..self.horizon() {
                    col.clear();
                    col.extend(paths.iter().filter_map(|p| p.get(k).copied()));
                    lo.push(quantile_unsorted(&mut col, a));
                    hi.push(quantile_unsorted(&mut col, 1.0 - a));
                }
                (lo, hi)
            }
        }
    }

    /// The report object for this model.
    pub fn output(&self, level: f64) -> ForecastOut {
        let (lower, upper) = self.intervals(level);
        ForecastOut {
            model: self.name.clone(),
            horizon: self.horizon(),
            level,
            mean: self.mean.clone(),
            lower,
            upper,
        }
    }
}

/// Linear-interpolated quantile of sorted data (numpy's default).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let i = pos.floor() as usize;
    let frac = pos - i as f64;
    let a = sorted.get(i).copied().unwrap_or(f64::NAN);
    let b = sorted.get(i + 1).copied().unwrap_or(a);
    a + frac * (b - a)
}

/// [`quantile`] of unsorted data, by selection instead of a sort (the same number: the two
/// order statistics it interpolates are found in place, which reorders `values`).
pub fn quantile_unsorted(values: &mut [f64], q: f64) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let i = (pos.floor() as usize).min(n - 1);
    let frac = pos - i as f64;
    let (_, a, above) = values.select_nth_unstable_by(i, f64::total_cmp);
    let a = *a;
    let b = above.iter().copied().min_by(f64::total_cmp).unwrap_or(a);
    a + frac * (b - a)
}

/// Options of [`fit_candidates`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastOptions {
    /// Steps to forecast.
    pub horizon: usize,
    /// Seasonal period, if any.
    pub period: Option<usize>,
    /// Largest AR and MA order searched.
    pub max_pq: usize,
    /// ARIMA differencing order; from the default ADF test (`d = 0` when stationary) when
    /// `None`. Callers that already ran that test pass its answer.
    pub d: Option<usize>,
}

impl ForecastOptions {
    /// Options for the history `y` sampled at `timestamps` (seconds) as the whole analysis
    /// ([`crate::analyze`]) chooses them with its defaults: the period detected as it detects
    /// it, kept only when two full cycles fit in the history; AR and MA orders up to 2; `d` from
    /// the ADF test.
    pub fn detected(y: &[f64], timestamps: &[i64], horizon: usize) -> ForecastOptions {
        let period = detect_period_with_interval(y, median_interval(timestamps)).filter(|p| *p >= 2 && y.len() > 2 * p);
        ForecastOptions {
            horizon,
            period,
            max_pq: 2,
            d: None,
        }
    }
}

/// All fitted candidates, the index of the served one, and the candidates that failed.
#[derive(Debug, Clone)]
pub struct Candidates {
    /// Fitted models.
    pub models: Vec<ForecastModel>,
    /// Index into `models` of the served model.
    pub served: usize,
    /// Candidates that could not be fitted, with the reason.
    pub failed: Vec<(String, AnalyticsError)>,
}

fn backtest_mae(y: &[f64], h: usize, forecast_from: impl Fn(usize, usize) -> Vec<f64>) -> Option<f64> {
    let n = y.len();
    let mut total = 0.0;
    let mut count = 0usize;
    for k in 1..=5 {
        let origin = n.checked_sub(k * h)?;
        if origin < n / 2 {
            break;
        }
        let f = forecast_from(origin, h);
        for (j, v) in f.iter().enumerate() {
            if let Some(actual) = y.get(origin + j) {
                total += (actual - v).abs();
                count += 1;
            }
        }
    }
    (count > 0).then(|| total / count as f64)
}

/// Fits Holt-Winters (seasonal additive and multiplicative when a period is given, the additive
/// one also with a smoothed initial season, and non-seasonal, all with damped additive trend;
/// the additive and non-seasonal ones also despiked when the series has spikes) and the
/// AIC-best ARIMA (also despiked), then picks the served model by backtest error.
pub fn fit_candidates(y: &[f64], o: &ForecastOptions) -> Result<Candidates> {
    let h = o.horizon.max(1);
    // A horizon beyond half the series leaves no backtest window: the candidates are then
    // compared over the longest horizon that has one.
    let tested = h.min(y.len() / 2).max(1);
    let mut models = Vec::new();
    let mut failed = Vec::new();
    let mut specs = Vec::new();
    if let Some(p) = o.period {
        specs.push(HwSpec {
            trend: Component::Additive,
            damped: true,
            seasonal: Component::Additive,
            period: p,
        });
        if y.iter().all(|v| *v > 0.0) {
            specs.push(HwSpec {
                trend: Component::Additive,
                damped: true,
                seasonal: Component::Multiplicative,
                period: p,
            });
        }
    }
    specs.push(HwSpec {
        trend: Component::Additive,
        damped: true,
        seasonal: Component::None,
        period: 1,
    });
    let d = o.d.unwrap_or_else(|| match adfuller(y, &AdfOptions::default()) {
        Ok(r) if r.stationary => 0,
        _ => 1,
    });
    // Every candidate is scored by the same backtest and carries the series' support.
    let scored = |model: ForecastModel, mae: Option<f64>| ForecastModel {
        backtest_mae: mae,
        ..model.with_support_of(y).anchored(d > 0)
    };
    let holt_winters = |m: HoltWinters| {
        let mae = backtest_mae(y, tested, |o, k| m.forecast_from(o, k));
        scored(ForecastModel::from_holt_winters(m, h), mae)
    };
    // The additive seasonal fit (first in `specs`) seeds the multiplicative one.
    let mut additive: Option<HoltWinters> = None;
    let mut linear = Vec::new();
    for spec in specs {
        match ets::fit_seeded(y, spec, additive.as_ref()) {
            Ok(m) => {
                if spec.seasonal == Component::Additive {
                    additive = Some(m.clone());
                }
                if spec.is_linear() {
                    linear.push(m.clone());
                }
                models.push(holt_winters(m));
            }
            Err(e) => failed.push((spec.name(), e)),
        }
    }
    // The linear fits once more without their spikes, where they have any: one-off outliers
    // otherwise pull the level up and come back with the season.
    for m in &linear {
        match m.despiked(y) {
            Ok(Some(m)) => models.push(holt_winters(m)),
            Ok(None) => {}
            Err(e) => failed.push((format!("{} despiked", m.name()), e)),
        }
    }
    // The additive-season fit once more with its initial indices smoothed: the least-squares
    // season over-fits on some series, and the backtest below decides per series.
    if let Some(m) = &additive {
        match m.with_smoothed_season(y) {
            Ok(m) => models.push(holt_winters(m)),
            Err(e) => failed.push((format!("{} smoothed", m.name()), e)),
        }
    }
    match arima::search(y, d, o.max_pq) {
        Ok(m) => {
            // The same order once more without its spikes, when it has any.
            match m.despiked() {
                Ok(Some(r)) => {
                    let mae = backtest_mae(y, tested, |o, k| r.forecast_from(o, k));
                    models.push(scored(ForecastModel::from_arima(&r, h), mae));
                }
                Ok(None) => {}
                Err(e) => failed.push((format!("{} despiked", m.name()), e)),
            }
            let mae = backtest_mae(y, tested, |o, k| m.forecast_from(o, k));
            models.push(scored(ForecastModel::from_arima(&m, h), mae));
        }
        Err(e) => failed.push((format!("arima(p,{d},q)"), e)),
    }
    if models.is_empty() {
        // Too short for every model: say how long the least demanding one needs it.
        let mut fewest: Option<usize> = None;
        let mut other = false;
        for (_, e) in &failed {
            match e {
                AnalyticsError::TooShort { needed, .. } => fewest = Some(fewest.map_or(*needed, |f| f.min(*needed))),
                _ => other = true,
            }
        }
        return Err(match (fewest, other) {
            (Some(needed), false) => AnalyticsError::TooShort {
                what: "any forecast model".to_string(),
                needed,
                given: y.len(),
            },
            _ => failed.pop().map(|f| f.1).unwrap_or(AnalyticsError::Empty),
        });
    }
    let mut served = 0;
    let mut best = f64::INFINITY;
    for (i, m) in models.iter().enumerate() {
        let score = m.backtest_mae.unwrap_or(f64::INFINITY);
        if score < best {
            best = score;
            served = i;
        }
    }
    Ok(Candidates { models, served, failed })
}

#[cfg(test)]
mod tests;
