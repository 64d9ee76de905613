//! Holt-Winters exponential smoothing (additive or multiplicative trend and season, optional
//! damping), fitted by minimising the in-sample sum of squared one-step errors like statsmodels'
//! `ExponentialSmoothing`.
//!
//! The recursions are statsmodels' component form: the forecast of `y_i` combines the level and
//! trend known before `y_i` with the seasonal index of `y_i`'s phase. Like statsmodels'
//! `initialization_method="estimated"`, the initial level, trend and every seasonal index are
//! fitted together with the smoothing parameters: by least squares for linear models
//! ([`linear`]), by Gauss-Newton steps alternating with Nelder-Mead otherwise ([`nonlinear`]).
//! Forecasts, impulse responses and simulated paths are in [`predict`]. Prediction paths assume
//! additive Gaussian errors with variance `SSE / n`, as statsmodels' `ETSModel` with additive
//! error.

#![allow(clippy::indexing_slicing)] // the season buffer has n + period slots; n > 2 period is checked

use serde::{Deserialize, Serialize};

use crate::error::{AnalyticsError, Result, check_varying};

mod despike;
mod linear;
mod nonlinear;
mod predict;

pub use despike::DESPIKE_THRESHOLD;
pub(crate) use despike::{despike_points, spike_band};

/// Form of the trend or seasonal component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    /// Absent.
    None,
    /// Added.
    Additive,
    /// Multiplied; needs positive data.
    Multiplicative,
}

/// Structure of a Holt-Winters model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HwSpec {
    /// Trend component.
    pub trend: Component,
    /// Damp the trend with a factor `phi` in [0.8, 0.995].
    pub damped: bool,
    /// Seasonal component.
    pub seasonal: Component,
    /// Seasonal period (ignored without a seasonal component).
    pub period: usize,
}

impl HwSpec {
    /// A short name such as `holt_winters(trend=add,damped,seasonal=mul,period=288)`.
    pub fn name(&self) -> String {
        let c = |c: Component| match c {
            Component::None => "none",
            Component::Additive => "add",
            Component::Multiplicative => "mul",
        };
        let mut s = format!("holt_winters(trend={}", c(self.trend));
        if self.damped && self.trend != Component::None {
            s.push_str(",damped");
        }
        s.push_str(&format!(",seasonal={}", c(self.seasonal)));
        if self.seasonal != Component::None {
            s.push_str(&format!(",period={}", self.period));
        }
        s.push(')');
        s
    }

    fn m(&self) -> usize {
        if self.seasonal == Component::None { 1 } else { self.period.max(1) }
    }

    /// True when every component is additive or absent (the model is linear in its errors).
    pub fn is_linear(&self) -> bool {
        self.trend != Component::Multiplicative && self.seasonal != Component::Multiplicative
    }
}

/// Parameters of a fitted model.
#[derive(Debug, Clone, PartialEq)]
pub struct HwParams {
    /// Level smoothing.
    pub alpha: f64,
    /// Trend smoothing.
    pub beta: f64,
    /// Seasonal smoothing.
    pub gamma: f64,
    /// Damping factor (1 when not damped).
    pub phi: f64,
    /// Level before the first observation.
    pub l0: f64,
    /// Trend before the first observation.
    pub b0: f64,
    /// Seasonal indices of the first cycle.
    pub s0: Vec<f64>,
}

/// A fitted Holt-Winters model with its filtered states.
#[derive(Debug, Clone, PartialEq)]
pub struct HoltWinters {
    /// Model structure.
    pub spec: HwSpec,
    /// Estimated parameters.
    pub params: HwParams,
    /// In-sample sum of squared one-step errors.
    pub sse: f64,
    /// Number of observations.
    pub nobs: usize,
    /// The initial season was smoothed beyond the SSE-optimal fit ([`fit_smoothed`]).
    pub smoothed: bool,
    /// The states were fitted with the series' outliers replaced ([`HoltWinters::despiked`]).
    pub despiked: bool,
    levels: Vec<f64>,
    trends: Vec<f64>,
    seasons: Vec<f64>,
    errors: Vec<f64>,
}

struct Run {
    sse: f64,
    levels: Vec<f64>,
    trends: Vec<f64>,
    seasons: Vec<f64>,
    errors: Vec<f64>,
}

fn trend_comb(spec: &HwSpec, l: f64, b: f64, phi: f64) -> f64 {
    match spec.trend {
        Component::None => l,
        Component::Additive => l + phi * b,
        Component::Multiplicative => l * b.powf(phi),
    }
}

fn run(spec: &HwSpec, p: &HwParams, y: &[f64], keep: bool) -> Run {
    let n = y.len();
    let m = spec.m();
    let mut s = vec![0.0; n + m];
    for (i, v) in p.s0.iter().enumerate().take(m) {
        s[i] = *v;
    }
    if spec.seasonal == Component::None {
        s.iter_mut().for_each(|v| *v = 0.0);
    }
    let mut levels = Vec::new();
    let mut errors = Vec::new();
    let mut trends = Vec::new();
    if keep {
        levels.reserve(n + 1);
        trends.reserve(n + 1);
    }
    let (mut l, mut b) = (p.l0, p.b0);
    let phi = p.phi;
    let mut sse = 0.0;
    for i in 0..n {
        if keep {
            levels.push(l);
            trends.push(b);
        }
        let tc = trend_comb(spec, l, b, phi);
        let (fc, deseason, seas_obs) = match spec.seasonal {
            Component::None => (tc, y[i], 0.0),
            Component::Additive => (tc + s[i], y[i] - s[i], y[i] - tc),
            Component::Multiplicative => (tc * s[i], y[i] / s[i], y[i] / tc),
        };
        let e = y[i] - fc;
        sse += e * e;
        if keep {
            errors.push(e);
        }
        let ln = p.alpha * deseason + (1.0 - p.alpha) * tc;
        b = match spec.trend {
            Component::None => 0.0,
            Component::Additive => p.beta * (ln - l) + (1.0 - p.beta) * phi * b,
            Component::Multiplicative => p.beta * (ln / l) + (1.0 - p.beta) * b.powf(phi),
        };
        l = ln;
        s[i + m] = match spec.seasonal {
            Component::None => 0.0,
            _ => p.gamma * seas_obs + (1.0 - p.gamma) * s[i],
        };
    }
    if keep {
        levels.push(l);
        trends.push(b);
    }
    Run {
        sse,
        levels,
        trends,
        seasons: if keep { s } else { Vec::new() },
        errors,
    }
}

/// In-sample SSE only. Additive or absent trend with a multiplicative season (the
/// nonlinear model the analysis fits) runs on a ring of `m` indices without storing states;
/// other forms use [`run`].
fn sse(spec: &HwSpec, p: &HwParams, y: &[f64], ring: &mut Vec<f64>) -> f64 {
    if spec.trend == Component::Multiplicative || spec.seasonal != Component::Multiplicative {
        return run(spec, p, y, false).sse;
    }
    let m = spec.m();
    ring.clear();
    ring.extend(p.s0.iter().copied().take(m));
    ring.resize(m, 1.0);
    let (alpha, beta, gamma, phi) = (p.alpha, p.beta, p.gamma, p.phi);
    let step = linear::StateStep::new(linear::Smoothing { alpha, beta, gamma, phi });
    let (mut l, mut b) = (p.l0, p.b0);
    let mut sse = 0.0;
    let mut j = 0;
    for &yi in y {
        let s = ring[j];
        let tc = l + phi * b;
        let e = yi - tc * s;
        sse += e * e;
        (l, b) = step.next(l, b, yi / s);
        ring[j] = gamma * (yi / tc) + (1.0 - gamma) * s;
        j += 1;
        if j == m {
            j = 0;
        }
    }
    sse
}

/// Bounds of the damping factor.
const PHI_LO: f64 = 0.8;
const PHI_HI: f64 = 0.995;

/// Fits a Holt-Winters model to `y` by minimising the one-step SSE.
pub fn fit(y: &[f64], spec: HwSpec) -> Result<HoltWinters> {
    fit_seeded(y, spec, None)
}

/// [`fit`], then [`HoltWinters::with_smoothed_season`] for a linear model with an additive
/// season (other forms are fitted as by [`fit`]).
pub fn fit_smoothed(y: &[f64], spec: HwSpec) -> Result<HoltWinters> {
    let m = fit(y, spec)?;
    if spec.is_linear() && spec.seasonal == Component::Additive {
        m.with_smoothed_season(y)
    } else {
        Ok(m)
    }
}

/// [`fit`], starting a model with a multiplicative season from `additive`, the fit of the same
/// model with an additive season (its state converted to ratios), which saves most of the
/// search. Ignored for linear models.
pub fn fit_seeded(y: &[f64], spec: HwSpec, additive: Option<&HoltWinters>) -> Result<HoltWinters> {
    check_varying(y)?;
    let m = spec.m();
    let needed = if spec.seasonal == Component::None { 3 } else { 2 * m + 1 };
    if y.len() < needed {
        return Err(AnalyticsError::TooShort {
            what: spec.name(),
            needed,
            given: y.len(),
        });
    }
    if spec.trend == Component::Multiplicative || spec.seasonal == Component::Multiplicative {
        for (index, &value) in y.iter().enumerate() {
            if value <= 0.0 {
                return Err(AnalyticsError::NonPositive { index, value });
            }
        }
    }
    let params = if spec.is_linear() {
        linear::fit_linear(y, &spec)
    } else {
        let seed = additive.filter(|a| a.spec.seasonal == Component::Additive && a.spec.period == spec.period);
        nonlinear::fit_nonlinear(y, &spec, seed.map(|a| &a.params))
    };
    let Some(params) = params else {
        return Err(AnalyticsError::Singular { what: "holt-winters fit" });
    };
    HoltWinters::filtered(spec, params, y, false, "holt-winters fit")
}

impl HoltWinters {
    /// The model's name: [`HwSpec::name`], with `,season=smoothed` before the closing
    /// parenthesis for a [`fit_smoothed`] model and `,despiked` for a [`HoltWinters::despiked`] one.
    pub fn name(&self) -> String {
        let mut name = self.spec.name();
        if self.smoothed {
            name.pop();
            name.push_str(",season=smoothed)");
        }
        if self.despiked {
            name.pop();
            name.push_str(",despiked)");
        }
        name
    }

    /// The same model with its initial season smoothed beyond the 1 % SSE bound of [`fit`]:
    /// the indices flattened as far as the in-sample SSE stays within 0.99 % of what the
    /// conventional start (per-phase means of the first cycles, as statsmodels starts from) gives
    /// at the same smoothing parameters; `y` is the series the model was fitted to. A
    /// forecasting candidate rather than a statsmodels-like fit: its in-sample SSE can be well
    /// above the optimum, and out of sample it is often better (docs/analytics.md). Refused for
    /// a model without an additive season or a `y` of another length.
    pub fn with_smoothed_season(&self, y: &[f64]) -> Result<HoltWinters> {
        if !self.spec.is_linear() || self.spec.seasonal != Component::Additive {
            return Err(AnalyticsError::InvalidArgument {
                name: "model",
                reason: format!("{} has no additive season to smooth", self.name()),
            });
        }
        self.check_fitted_to(y)?;
        let p = &self.params;
        let k = self.smoothing();
        let x0 = linear::State0 {
            l0: p.l0,
            b0: p.b0,
            s0: p.s0.clone(),
        };
        let x = linear::smoothed_season(y, &self.spec, k, x0);
        let params = HwParams {
            l0: x.l0,
            b0: x.b0,
            s0: x.s0,
            ..p.clone()
        };
        HoltWinters::filtered(self.spec, params, y, true, "holt-winters smoothed season")
    }

    /// The same model with its parameters kept, run over `y`: a later window of the series it
    /// was fitted to, starting `skip` points after the fitted one. The initial state is the
    /// filtered state at that point, so the overlap is filtered exactly as before and only the
    /// new points cost anything beyond one pass. Fails when `skip` is past the fitted sample.
    pub fn refilter(&self, y: &[f64], skip: usize) -> Result<HoltWinters> {
        let m = self.spec.m();
        let (Some(&l0), Some(&b0), Some(s0)) = (self.levels.get(skip), self.trends.get(skip), self.seasons.get(skip..skip + m)) else {
            return Err(AnalyticsError::TooShort {
                what: format!("{} refilter from point {skip}", self.spec.name()),
                needed: skip + 1,
                given: self.nobs + 1,
            });
        };
        if y.is_empty() {
            return Err(AnalyticsError::Empty);
        }
        if !self.spec.is_linear()
            && let Some((index, &value)) = y.iter().enumerate().find(|(_, v)| **v <= 0.0)
        {
            return Err(AnalyticsError::NonPositive { index, value });
        }
        let params = HwParams {
            l0,
            b0,
            s0: if self.spec.seasonal == Component::None {
                Vec::new()
            } else {
                s0.to_vec()
            },
            ..self.params.clone()
        };
        let m = HoltWinters::filtered(self.spec, params, y, self.smoothed, "holt-winters refilter")?;
        Ok(HoltWinters {
            despiked: self.despiked,
            ..m
        })
    }

    /// The smoothing parameters, as the linear fits take them.
    fn smoothing(&self) -> linear::Smoothing {
        let p = &self.params;
        linear::Smoothing {
            alpha: p.alpha,
            beta: p.beta,
            gamma: p.gamma,
            phi: p.phi,
        }
    }

    /// Refuses a `y` of another length than the series the model was fitted to.
    fn check_fitted_to(&self, y: &[f64]) -> Result<()> {
        if y.len() == self.nobs {
            return Ok(());
        }
        Err(AnalyticsError::InvalidArgument {
            name: "y",
            reason: format!("the model was fitted to {} points, got {}", self.nobs, y.len()),
        })
    }

    /// The model with `params` run over `y`, its states kept; `what` names the step in the error
    /// when the SSE is not finite.
    fn filtered(spec: HwSpec, params: HwParams, y: &[f64], smoothed: bool, what: &'static str) -> Result<HoltWinters> {
        let r = run(&spec, &params, y, true);
        if !r.sse.is_finite() {
            return Err(AnalyticsError::Singular { what });
        }
        Ok(HoltWinters {
            spec,
            params,
            sse: r.sse,
            nobs: y.len(),
            smoothed,
            despiked: false,
            levels: r.levels,
            errors: r.errors,
            trends: r.trends,
            seasons: r.seasons,
        })
    }

    /// In-sample one-step errors, oldest first.
    pub fn residuals(&self) -> &[f64] {
        &self.errors
    }

    /// Residual variance `SSE / n`.
    pub fn sigma2(&self) -> f64 {
        self.sse / self.nobs as f64
    }

    /// Number of estimated parameters (smoothing, damping, initial states).
    pub fn n_params(&self) -> usize {
        let s = &self.spec;
        let mut k = 2; // alpha, l0
        if s.trend != Component::None {
            k += 2;
        }
        if s.damped && s.trend != Component::None {
            k += 1;
        }
        if s.seasonal != Component::None {
            k += 1 + s.m();
        }
        k
    }

    /// Akaike criterion of the Gaussian likelihood, `n ln(SSE/n) + 2 (k + 1)`.
    pub fn aic(&self) -> f64 {
        let n = self.nobs as f64;
        n * (self.sse / n).ln() + 2.0 * (self.n_params() as f64 + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seasonal_series() -> Vec<f64> {
        let pattern = [3.0, 1.0, -2.0, -1.0, 0.0, -1.0];
        (0..120)
            .map(|t| 20.0 + 0.1 * t as f64 + pattern[t % 6] + 0.3 * ((t * 7919) % 13) as f64 / 13.0)
            .collect()
    }

    #[test]
    fn additive_model_tracks_trend_and_season() {
        let y = seasonal_series();
        let spec = HwSpec {
            trend: Component::Additive,
            damped: false,
            seasonal: Component::Additive,
            period: 6,
        };
        let hw = fit(&y, spec).unwrap();
        assert!(hw.sigma2() < 0.1, "{}", hw.sigma2());
        let f = hw.forecast_from(y.len(), 6);
        let pattern = [3.0, 1.0, -2.0, -1.0, 0.0, -1.0];
        for (k, v) in f.iter().enumerate() {
            let t = y.len() + k;
            let truth = 20.0 + 0.1 * t as f64 + pattern[t % 6] + 0.15;
            assert!((v - truth).abs() < 0.5, "step {k}: {v} vs {truth}");
        }
        let psi = hw.psi(8);
        assert_eq!(psi[0], 1.0);
        assert!(psi[6] > psi[5], "seasonal term appears at lag m");
    }

    #[test]
    fn smoothed_season_is_flatter_and_within_the_conventional_starts_budget() {
        // A weak season in noise over a few cycles: the least-squares indices fit the noise.
        let y: Vec<f64> = (0..160)
            .map(|t| 50.0 + [0.6, -0.2, 0.1, -0.5, 0.3, -0.3, 0.2, -0.2][t % 8] + 2.0 * ((t * 7919) % 17) as f64 / 17.0)
            .collect();
        let spec = HwSpec {
            trend: Component::Additive,
            damped: true,
            seasonal: Component::Additive,
            period: 8,
        };
        let optimal = fit(&y, spec).unwrap();
        let smoothed = fit_smoothed(&y, spec).unwrap();
        assert!(!optimal.smoothed && smoothed.smoothed);
        assert_eq!(
            smoothed.name(),
            "holt_winters(trend=add,damped,seasonal=add,period=8,season=smoothed)"
        );
        let spread = |s: &[f64]| s.iter().fold(f64::MIN, |a, b| a.max(*b)) - s.iter().fold(f64::MAX, |a, b| a.min(*b));
        assert!(
            spread(&smoothed.params.s0) < spread(&optimal.params.s0),
            "{:?} vs {:?}",
            smoothed.params.s0,
            optimal.params.s0
        );
        assert!(smoothed.sse >= optimal.sse);
        // The bound: the conventional start's SSE at the same smoothing parameters, plus 0.99 %.
        let (l0, b0, s0) = nonlinear::initial_state(&spec, &y);
        let conventional = HwParams {
            l0,
            b0,
            s0,
            ..smoothed.params.clone()
        };
        let reference = run(&spec, &conventional, &y, false).sse;
        assert!(
            smoothed.sse <= reference * (1.0 + linear::SEASON_SSE_BUDGET) * (1.0 + 1e-9),
            "{} vs {reference}",
            smoothed.sse
        );
        // Refiltering keeps what the model is; forms without an additive season fit as `fit` does.
        assert!(smoothed.refilter(&y[8..], 8).unwrap().smoothed);
        let plain = HwSpec {
            seasonal: Component::None,
            ..spec
        };
        assert!(!fit_smoothed(&y, plain).unwrap().smoothed);
        // Only the series the model was fitted to, and only an additive season.
        assert!(optimal.with_smoothed_season(&y[1..]).is_err());
        assert!(fit(&y, plain).unwrap().with_smoothed_season(&y).is_err());
    }

    #[test]
    fn multiplicative_needs_positive_values() {
        let mut y = seasonal_series();
        y[3] = -1.0;
        let spec = HwSpec {
            trend: Component::None,
            damped: false,
            seasonal: Component::Multiplicative,
            period: 6,
        };
        assert!(matches!(fit(&y, spec), Err(AnalyticsError::NonPositive { index: 3, .. })));
    }
}
