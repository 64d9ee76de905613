//! ARIMA(p, d, q) fitted by exact Gaussian maximum likelihood from a conditional-sum-of-squares
//! start, with a small order search.
//!
//! The series is differenced `d` times; on the differences `w` the model is
//! `w_t - mu = sum phi_i (w_{t-i} - mu) + e_t + sum theta_j e_{t-j}` (a mean only when `d = 0`, as
//! statsmodels' `ARIMA` default trend). The conditional sum of squares (residuals from `t = p`
//! with earlier errors zero) is minimised first by Levenberg-Marquardt ([`css`]) from
//! Hannan-Rissanen starting values (one long autoregression per search gives the innovations for
//! every order); that estimate starts the maximisation of the exact likelihood ([`exact`]), the
//! estimator of statsmodels' `ARIMA`. An exact fit of an order with p, q >= 2 also starts from
//! the next lower order's fit with a near-cancelling common factor (`starts`), where the
//! likelihood can have a far higher maximum. Both are restricted to stationary AR and invertible
//! MA polynomials (checked by the step-down recursion). The order search ([`search`]) ranks every
//! order by the CSS AIC and refits only the best three by exact likelihood (a Kalman pass per
//! evaluation costs several CSS passes), serving the one with the smallest exact AIC. Point
//! forecasts of an exact fit come from the Kalman filter's predicted states (kept for every point,
//! so a forecast from any origin is `O(h)`); residuals, `css` and `sigma2` use the CSS recursion at
//! the fitted parameters; forecast variance uses the psi weights of the integrated model.

#![allow(clippy::indexing_slicing)] // lags never exceed the differenced length, checked on entry

use crate::error::{AnalyticsError, Result, check_varying};
use crate::optim::nelder_mead;

mod css;
mod despike;
mod exact;
mod search;
mod starts;

use css::{css, hannan_rissanen, levenberg_marquardt, long_ar_residuals, residuals};
pub use search::search;

/// Orders of an ARIMA model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// Autoregressive order.
    pub p: usize,
    /// Differencing order.
    pub d: usize,
    /// Moving-average order.
    pub q: usize,
}

/// A fitted ARIMA model.
#[derive(Debug, Clone, PartialEq)]
pub struct Arima {
    /// Orders.
    pub order: Order,
    /// Mean of the differenced series (0 when `d > 0`).
    pub mean: f64,
    /// AR coefficients `phi_1..phi_p`.
    pub ar: Vec<f64>,
    /// MA coefficients `theta_1..theta_q`.
    pub ma: Vec<f64>,
    /// Conditional sum of squared residuals at the fitted parameters.
    pub css: f64,
    /// Residuals used in the sum.
    pub nobs: usize,
    y: Vec<f64>,
    resid: Vec<f64>,
    /// Kalman predicted states of the differences (`max(p, q + 1)` per point, `len + 1` points)
    /// when fitted by exact likelihood, empty otherwise (forecasts then use the CSS recursion).
    states: Vec<f64>,
    /// Fitted with the series' spikes replaced ([`Arima::despiked`]).
    pub despiked: bool,
}

/// True when `1 - a_1 z - ... - a_k z^k` has all roots outside the unit circle.
pub fn is_stationary(a: &[f64]) -> bool {
    let mut cur = a.to_vec();
    while let Some(&k) = cur.last() {
        if k.is_nan() || k.abs() >= 1.0 {
            return false;
        }
        let m = cur.len() - 1;
        let denom = 1.0 - k * k;
        let next: Vec<f64> = (0..m).map(|i| (cur[i] + k * cur[m - 1 - i]) / denom).collect();
        cur = next;
    }
    true
}

fn difference(y: &[f64], d: usize) -> Vec<f64> {
    let mut w = y.to_vec();
    for _ in 0..d {
        w = w.windows(2).map(|p| p[1] - p[0]).collect();
    }
    w
}

/// Fits ARIMA with the given orders by exact maximum likelihood (from the CSS estimate, and from
/// the next lower order's CSS fit with a near-cancelling common factor, `arima/starts.rs`).
pub fn fit(y: &[f64], order: Order) -> Result<Arima> {
    let m = fit_with(y, order, None)?;
    let lower = starts::lower_order(order).and_then(|o| fit_with(y, o, None).ok());
    Ok(m.exact(lower.as_ref()))
}

/// Fits ARIMA with the given orders by conditional sum of squares only (cheaper, slightly
/// different coefficients from statsmodels' on short or strongly persistent series).
pub fn fit_css(y: &[f64], order: Order) -> Result<Arima> {
    fit_with(y, order, None)
}

/// The CSS fit, reusing the long-autoregression residuals of the differenced series when given.
fn fit_with(y: &[f64], order: Order, long: Option<&(Vec<f64>, usize)>) -> Result<Arima> {
    check_varying(y)?;
    let needed = order.d + order.p + order.q + 8;
    if y.len() < needed {
        return Err(AnalyticsError::TooShort {
            what: format!("arima({},{},{})", order.p, order.d, order.q),
            needed,
            given: y.len(),
        });
    }
    let w = difference(y, order.d);
    let with_mean = order.d == 0;
    let w_mean = w.iter().sum::<f64>() / w.len() as f64;
    let scale = (w.iter().map(|v| (v - w_mean).powi(2)).sum::<f64>() / w.len() as f64)
        .sqrt()
        .max(1e-12);
    let (p, q) = (order.p, order.q);
    let unpack = |u: &[f64]| -> (f64, Vec<f64>, Vec<f64>) {
        let mean = if with_mean { w_mean + u[p + q] * scale } else { 0.0 };
        (mean, u[..p].to_vec(), u[p..p + q].to_vec())
    };
    let objective = |u: &[f64]| {
        let (mean, ar, ma) = unpack(u);
        let neg_ma: Vec<f64> = ma.iter().map(|v| -v).collect();
        if !is_stationary(&ar) || !is_stationary(&neg_ma) {
            return f64::INFINITY;
        }
        css(&w, mean, &ar, &ma)
    };
    let dim = p + q + usize::from(with_mean);
    let mut start = vec![0.0; dim];
    let own;
    let long = match long {
        Some(l) => Some(l),
        None if p + q > 0 => {
            own = long_ar_residuals(&w, if with_mean { w_mean } else { 0.0 });
            own.as_ref()
        }
        None => None,
    };
    let hr = long.and_then(|l| hannan_rissanen(&w, if with_mean { w_mean } else { 0.0 }, l, p, q));
    let step = match hr {
        Some(hr) => {
            start[..p + q].copy_from_slice(&hr);
            0.05
        }
        None => {
            if p > 0 {
                start[0] = 0.1;
            }
            0.2
        }
    };
    // Levenberg-Marquardt from the starting values; the simplex search is the fallback when
    // that start is not admissible.
    let mut lm_start = start[..p + q].to_vec();
    if with_mean {
        lm_start.push(w_mean);
    }
    let best_x = match levenberg_marquardt(&w, &lm_start, p, q, with_mean) {
        Some((theta, _)) => {
            let mut u = theta[..p + q].to_vec();
            if with_mean {
                u.push((theta[p + q] - w_mean) / scale);
            }
            u
        }
        None => {
            let mut best = nelder_mead(objective, &start, &vec![step; dim], 150 * (dim + 1), 1e-10);
            // A short restart guards against a collapsed simplex.
            let again = nelder_mead(objective, &best.x, &vec![0.02; dim], 30 * (dim + 1), 1e-11);
            if again.value < best.value {
                best = again;
            }
            if !best.value.is_finite() {
                return Err(AnalyticsError::Singular { what: "arima fit" });
            }
            best.x
        }
    };
    let (mean, ar, ma) = unpack(&best_x);
    let (resid, css) = residuals(&w, mean, &ar, &ma);
    Ok(Arima {
        order,
        mean,
        ar,
        ma,
        css,
        nobs: w.len() - p,
        y: y.to_vec(),
        resid,
        states: Vec::new(),
        despiked: false,
    })
}

impl Arima {
    /// The exact-likelihood estimate started from these (CSS) coefficients and, given the fit of
    /// [`starts::lower_order`], also from that fit times a near-cancelling common factor on both
    /// sides ([`starts`]). `self` unchanged when the filter fails or no start is admissible.
    fn exact(self, lower: Option<&Arima>) -> Arima {
        match self.exact_optimum(lower) {
            Some((theta, _)) => self.with_coefficients(&theta),
            None => self,
        }
    }

    /// The same coefficients run over `y` (a later window of the series): residuals and their
    /// sum of squares recomputed in one pass, no search.
    pub fn refilter(&self, y: &[f64]) -> Result<Arima> {
        let needed = self.order.d + self.order.p + self.order.q + 8;
        if y.len() < needed {
            return Err(AnalyticsError::TooShort {
                what: format!("{} refilter", self.name()),
                needed,
                given: y.len(),
            });
        }
        let w = difference(y, self.order.d);
        let (resid, css) = residuals(&w, self.mean, &self.ar, &self.ma);
        let states = if self.states.is_empty() {
            Vec::new()
        } else {
            exact::states(&w, self.mean, &self.ar, &self.ma).unwrap_or_default()
        };
        Ok(Arima {
            order: self.order,
            mean: self.mean,
            ar: self.ar.clone(),
            ma: self.ma.clone(),
            css,
            nobs: w.len() - self.order.p,
            y: y.to_vec(),
            resid,
            states,
            despiked: self.despiked,
        })
    }

    /// A short name such as `arima(1,1,1)`.
    pub fn name(&self) -> String {
        let Order { p, d, q } = self.order;
        if self.despiked {
            format!("arima({p},{d},{q},despiked)")
        } else {
            format!("arima({p},{d},{q})")
        }
    }

    /// Residual variance `CSS / nobs`.
    pub fn sigma2(&self) -> f64 {
        self.css / self.nobs as f64
    }

    /// Akaike criterion of the conditional Gaussian likelihood, on the length of the differenced
    /// series for every p. (Counting only the `nobs` terms of the sum, an AR order's criterion
    /// moved by `2 p ln sigma2` against an MA order's, so the order chosen depended on the
    /// series' unit: 2 of 17 NAB series had AR(2) behind MA(1) by 12 at values near 1.)
    pub fn aic(&self) -> f64 {
        let n = (self.nobs + self.order.p) as f64;
        n * self.sigma2().ln() + 2.0 * self.parameter_count() as f64
    }

    /// AR and MA coefficients, the mean when `d == 0`, and the innovation variance.
    fn parameter_count(&self) -> usize {
        self.order.p + self.order.q + usize::from(self.order.d == 0) + 1
    }

    /// One-step residuals on the original scale's time axis (zero where not defined).
    pub fn resid(&self) -> &[f64] {
        &self.resid
    }

    /// Sum of squared one-step prediction errors of the differenced series under the exact
    /// (Kalman) filter at the fitted coefficients: statsmodels' `resid[d:]` squared and summed,
    /// the in-sample SSE comparable with its fit. Unlike the `css` field it does not start from
    /// zero pre-sample errors, which matters when an MA root is near the unit circle. `None`
    /// for a fit by conditional sum of squares only ([`fit_css`]), and for a despiked one
    /// ([`Arima::despiked`]), which has no statsmodels counterpart (its errors against the raw
    /// series are in [`Arima::resid`]).
    pub fn innovation_sse(&self) -> Option<f64> {
        let r = self.order.p.max(self.order.q + 1);
        if self.states.is_empty() || r == 0 || self.despiked {
            return None;
        }
        let w = difference(&self.y, self.order.d);
        let predicted = self.states.chunks_exact(r).map(|a| a.first().copied().unwrap_or(0.0));
        Some(w.iter().zip(predicted).map(|(v, a)| (v - self.mean - a).powi(2)).sum())
    }

    /// Point forecasts of `h` steps using data before index `origin` of the original series.
    pub fn forecast_from(&self, origin: usize, h: usize) -> Vec<f64> {
        let d = self.order.d;
        let o = origin.min(self.y.len());
        let hist = &self.y[..o];
        let w = difference(hist, d);
        let r = self.order.p.max(self.order.q + 1);
        let mut fut = match self.states.get(w.len() * r..(w.len() + 1) * r) {
            Some(state) => exact::forecast(state, self.mean, &self.ar, h),
            None => self.css_forecast(&w, h),
        };
        // Integrate d times: rebuild each differencing level from its last known values.
        let mut levels: Vec<Vec<f64>> = vec![hist.to_vec()];
        for k in 0..d {
            let prev = &levels[k];
            levels.push(prev.windows(2).map(|p| p[1] - p[0]).collect());
        }
        for k in (0..d).rev() {
            let mut last = levels[k].last().copied().unwrap_or(0.0);
            for v in &mut fut {
                last += *v;
                *v = last;
            }
        }
        fut
    }

    /// Forecasts of the differences `w` by the CSS recursion (pre-sample errors zero).
    fn css_forecast(&self, w: &[f64], h: usize) -> Vec<f64> {
        // Residual index t on the differenced axis corresponds to original index t + d.
        let mut e: Vec<f64> = self.resid[..w.len().min(self.resid.len())].to_vec();
        let mut wf = w.to_vec();
        for _ in 0..h {
            let t = wf.len();
            let mut v = self.mean;
            for (i, a) in self.ar.iter().enumerate() {
                if t > i {
                    v += a * (wf[t - 1 - i] - self.mean);
                }
            }
            for (j, b) in self.ma.iter().enumerate() {
                if t > j && t - 1 - j < e.len() {
                    v += b * e[t - 1 - j];
                }
            }
            wf.push(v);
            e.push(0.0);
        }
        wf[w.len()..].to_vec()
    }

    /// Psi weights of the integrated model (`psi_0 = 1`).
    pub fn psi(&self, h: usize) -> Vec<f64> {
        // phi*(B) = phi(B) (1 - B)^d, written as 1 - sum a_i B^i.
        let mut poly = vec![1.0];
        for a in &self.ar {
            poly.push(-a);
        }
        for _ in 0..self.order.d {
            let mut next = vec![0.0; poly.len() + 1];
            for (i, c) in poly.iter().enumerate() {
                next[i] += c;
                next[i + 1] -= c;
            }
            poly = next;
        }
        let a: Vec<f64> = poly.iter().skip(1).map(|c| -c).collect();
        let mut psi = vec![0.0; h];
        for j in 0..h {
            let mut v = if j == 0 { 1.0 } else { self.ma.get(j - 1).copied().unwrap_or(0.0) };
            for (i, ai) in a.iter().enumerate() {
                if j > i {
                    v += ai * psi[j - 1 - i];
                }
            }
            psi[j] = v;
        }
        psi
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn recovers_an_arma11() {
        let mut r = Rng::new(3);
        let n = 3000;
        let mut y = vec![0.0; n];
        let mut prev_e = 0.0;
        for t in 1..n {
            let e = r.normal();
            y[t] = 5.0 + 0.6 * (y[t - 1] - 5.0) + e + 0.3 * prev_e;
            prev_e = e;
        }
        y[0] = 5.0;
        let m = fit(&y, Order { p: 1, d: 0, q: 1 }).unwrap();
        assert!((m.ar[0] - 0.6).abs() < 0.06, "{m:?}");
        assert!((m.ma[0] - 0.3).abs() < 0.06, "{:?}", m.ma);
        assert!((m.mean - 5.0).abs() < 0.2);
        assert!((m.sigma2() - 1.0).abs() < 0.1);
    }

    #[test]
    fn random_walk_forecast_is_flat_and_psi_is_one() {
        let y: Vec<f64> = (0..50).map(|t| ((t * 37) % 11) as f64 + t as f64).collect();
        let m = fit(&y, Order { p: 0, d: 1, q: 0 }).unwrap();
        let f = m.forecast_from(y.len(), 3);
        assert!(f.iter().all(|v| (v - y[49]).abs() < 1e-12));
        assert_eq!(m.psi(4), vec![1.0; 4]);
    }

    #[test]
    fn exact_fit_raises_the_likelihood_of_the_css_start() {
        // An MA root near the unit circle, where CSS and exact likelihood differ most.
        let mut r = Rng::new(5);
        let mut y = vec![10.0; 400];
        let mut prev_e = 0.0;
        for t in 1..y.len() {
            let e = r.normal();
            y[t] = y[t - 1] + 0.3 * (y[t - 1] - if t > 1 { y[t - 2] } else { 10.0 }) + e - 0.9 * prev_e;
            prev_e = e;
        }
        let order = Order { p: 1, d: 1, q: 1 };
        let deviance = |m: &Arima| {
            let w = difference(&y, 1);
            let (ssq, logdet) = exact::kalman(&w, 0.0, &m.ar, &m.ma, &mut Vec::new()).unwrap();
            w.len() as f64 * ssq.ln() + logdet
        };
        let css_fit = fit_css(&y, order).unwrap();
        let exact_fit = fit(&y, order).unwrap();
        assert!(deviance(&exact_fit) < deviance(&css_fit) - 1e-6);
        assert!(exact_fit.states.len() == 2 * y.len() && css_fit.states.is_empty());
        // Forecasts from an interior origin use the state there, not later data.
        let mut cut = exact_fit.clone();
        cut.states.clear();
        let refit = cut.refilter(&y[..300]).unwrap();
        assert!(refit.states.is_empty());
        let inner = exact_fit.forecast_from(300, 3);
        let shorter = Arima {
            states: exact::states(&difference(&y[..300], 1), 0.0, &exact_fit.ar, &exact_fit.ma).unwrap(),
            ..refit
        };
        assert_eq!(inner, shorter.forecast_from(300, 3));
    }

    #[test]
    fn innovation_sse_sums_the_kalman_one_step_errors() {
        let mut r = Rng::new(9);
        let mut y = vec![5.0; 300];
        for t in 1..y.len() {
            y[t] = 5.0 + 0.6 * (y[t - 1] - 5.0) + r.normal();
        }
        let m = fit(&y, Order { p: 1, d: 0, q: 0 }).unwrap();
        // AR(1): the first point is predicted by the mean, each later one by the one before it.
        let mut expected = (y[0] - m.mean).powi(2);
        for t in 1..y.len() {
            expected += (y[t] - m.mean - m.ar[0] * (y[t - 1] - m.mean)).powi(2);
        }
        let got = m.innovation_sse().unwrap();
        assert!((got - expected).abs() < 1e-9 * expected, "{got} vs {expected}");
        assert_eq!(fit_css(&y, Order { p: 1, d: 0, q: 0 }).unwrap().innovation_sse(), None);
    }

    #[test]
    fn stationarity_check() {
        assert!(is_stationary(&[0.5]));
        assert!(!is_stationary(&[1.0]));
        assert!(is_stationary(&[0.5, 0.3]));
        assert!(!is_stationary(&[0.5, 0.6]));
    }
}
