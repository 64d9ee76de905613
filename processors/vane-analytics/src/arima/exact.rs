//! The exact Gaussian likelihood of an ARMA model on the differenced series, evaluated by a Kalman
//! filter on Harvey's state-space form, and its maximisation from a start (the
//! conditional-sum-of-squares estimate, or one of the extra starts of [`super::starts`]).
//!
//! This is the estimator of statsmodels' `ARIMA` (exact likelihood, stationary initial state,
//! variance concentrated out, a mean when `d = 0`); with `d > 0` statsmodels' exact diffuse
//! likelihood of the levels equals the likelihood of the differences, so both are fitted on `w`.
//! The state covariance converges to its steady state within a few dozen steps unless an MA root is
//! near the unit circle, after which the filter runs with fixed gain at the cost of the CSS
//! recursion. The
//! concentrated deviance `n ln(S / n) + sum ln F_t` is a sum of squares of the scaled innovations
//! `v_t / sqrt(F_t) * exp(sum ln F / 2n)`, minimised by Levenberg-Marquardt with a forward-difference
//! Jacobian. The Gauss-Newton matrix `J'J` starts the curvature, which BFGS updates then correct:
//! the residual terms it omits are not small here (the `ln F` factor, and the ridges of
//! near-cancelling AR and MA roots), and plain Gauss-Newton crawls along those ridges. Steps that
//! leave the stationary and invertible region, or do not lower the deviance, are rejected.

#![allow(clippy::indexing_slicing)] // state vectors have length r = max(p, q + 1), checked on entry

use super::is_stationary;
use crate::linalg::{damped_step, solve};

/// Change of the state covariance below which the filter is taken as converged.
const STEADY: f64 = 1e-13;

/// Relative decrease of the deviance below which the maximisation stops. Along the ridges of
/// near-cancelling AR and MA roots the likelihood is flat and the steps crawl; this stops them once
/// the coefficients move by about 1e-4 (statsmodels' own optimiser stops at a similar distance).
const TOLERANCE: f64 = 1e-9;

/// Iteration cap from the CSS estimate (a handful suffice off the ridges).
pub(super) const MAX_ITERATIONS: usize = 20;

/// Kalman filter of `w - mean` under ARMA(`ar`, `ma`) with unit innovation variance. Writes the
/// standardised innovations `v_t / sqrt(F_t)` into `out` and returns `(sum v^2 / F, sum ln F)`,
/// or `None` when the initial covariance cannot be computed or a variance is not positive.
pub(super) fn kalman(w: &[f64], mean: f64, ar: &[f64], ma: &[f64], out: &mut Vec<f64>) -> Option<(f64, f64)> {
    filter(w, mean, ar, ma, out, None)
}

/// The predicted states `a_t` (state of `w_t` given `w_0..w_{t-1}`) for `t = 0..=len`, each
/// `max(p, q + 1)` long, one after another; `None` when the filter fails.
pub(super) fn states(w: &[f64], mean: f64, ar: &[f64], ma: &[f64]) -> Option<Vec<f64>> {
    let mut buf = Vec::with_capacity(w.len());
    let mut out = Vec::with_capacity((w.len() + 1) * ar.len().max(ma.len() + 1));
    filter(w, mean, ar, ma, &mut buf, Some(&mut out))?;
    Some(out)
}

/// Point forecasts of the `h` differences after a predicted state: the state carried forward by
/// the transition (statsmodels' forecasts). Unlike the CSS recursion with zero pre-sample errors
/// this is exact when an MA root is near the unit circle, where the effect of the zero start
/// decays only slowly.
pub(super) fn forecast(state: &[f64], mean: f64, ar: &[f64], h: usize) -> Vec<f64> {
    let mut a = state.to_vec();
    a.push(0.0);
    let r = state.len();
    let mut out = Vec::with_capacity(h);
    for _ in 0..h {
        out.push(mean + a[0]);
        let first = a[0];
        for i in 0..r {
            a[i] = ar.get(i).copied().unwrap_or(0.0) * first + a[i + 1];
        }
    }
    out
}

/// [`kalman`], also appending every predicted state to `states` when given.
fn filter(w: &[f64], mean: f64, ar: &[f64], ma: &[f64], out: &mut Vec<f64>, mut states: Option<&mut Vec<f64>>) -> Option<(f64, f64)> {
    let r = ar.len().max(ma.len() + 1);
    let phi: Vec<f64> = (0..r).map(|i| ar.get(i).copied().unwrap_or(0.0)).collect();
    let rv: Vec<f64> = (0..r)
        .map(|i| if i == 0 { 1.0 } else { ma.get(i - 1).copied().unwrap_or(0.0) })
        .collect();
    let full = initial_covariance(&phi, &rv)?;
    // Upper triangle of P with a zero row and column `r` appended, so that shifted reads past the
    // last state need no branch.
    let s = r + 1;
    let mut p = vec![0.0; s * s];
    for i in 0..r {
        for j in i..r {
            p[i * s + j] = full[i * r + j];
        }
    }
    let mut a = vec![0.0; s];
    let mut row0 = vec![0.0; s];
    let mut steady = false;
    let mut ssq = 0.0;
    // ln F summed as a running product folded in before it can overflow (F >= 1 after the first
    // step, and F is the stationary variance before it).
    let mut logdet = 0.0;
    let mut prod = 1.0;
    out.clear();
    for &wt in w {
        if let Some(st) = states.as_deref_mut() {
            st.extend_from_slice(&a[..r]);
        }
        let f = p[0];
        if !(f > 0.0 && f.is_finite()) {
            return None;
        }
        let v = wt - mean - a[0];
        let inv_f = 1.0 / f;
        ssq += v * v * inv_f;
        prod *= f;
        if !(1e-150..=1e150).contains(&prod) {
            logdet += prod.ln();
            prod = 1.0;
        }
        out.push(v * inv_f.sqrt());
        // Filtered state a + P e1 v / F, then predicted T (.) (T shifts up and adds phi * first).
        let k0 = v * inv_f;
        let first = a[0] + v;
        for i in 0..r {
            a[i] = phi[i] * first + a[i + 1] + p[i + 1] * k0;
        }
        if steady {
            continue;
        }
        // The first state is known exactly after filtering (no observation noise), so
        // T P_filt T' is P_filt shifted up and left: P_next[i][j] = P[i+1][j+1]
        // - P[0][i+1] P[0][j+1] / F + R_i R_j.
        row0.copy_from_slice(&p[..s]);
        let mut change = 0.0_f64;
        for i in 0..r {
            for j in i..r {
                let v = p[(i + 1) * s + j + 1] - row0[i + 1] * row0[j + 1] * inv_f + rv[i] * rv[j];
                change = change.max((v - p[i * s + j]).abs());
                p[i * s + j] = v;
            }
        }
        steady = change < STEADY;
    }
    logdet += prod.ln();
    if let Some(st) = states {
        st.extend_from_slice(&a[..r]);
    }
    Some((ssq, logdet))
}

/// The stationary covariance `P = T P T' + R R'` of the state, from its vectorised linear system.
fn initial_covariance(phi: &[f64], rv: &[f64]) -> Option<Vec<f64>> {
    let r = phi.len();
    let t = |i: usize, j: usize| -> f64 {
        let mut v = if j == 0 { phi[i] } else { 0.0 };
        if j == i + 1 {
            v += 1.0;
        }
        v
    };
    let n = r * r;
    let mut m = vec![vec![0.0; n]; n];
    let mut b = vec![0.0; n];
    for i in 0..r {
        for j in 0..r {
            let row = i * r + j;
            b[row] = rv[i] * rv[j];
            m[row][row] += 1.0;
            for k in 0..r {
                for l in 0..r {
                    m[row][k * r + l] -= t(i, k) * t(j, l);
                }
            }
        }
    }
    let p = solve(m, b).ok()?;
    p.iter().all(|v| v.is_finite()).then_some(p)
}

/// Concentrated deviance `n ln(S / n) + sum ln F` and the scaled innovations whose sum of squares
/// is `exp(deviance / n)` up to the factor `n`.
fn scaled(w: &[f64], theta: &[f64], p: usize, q: usize, with_mean: bool, buf: &mut Vec<f64>) -> Option<f64> {
    let mean = if with_mean { theta[p + q] } else { 0.0 };
    let (ssq, logdet) = kalman(w, mean, &theta[..p], &theta[p..p + q], buf)?;
    let n = w.len() as f64;
    let g = (logdet / (2.0 * n)).exp();
    for v in buf.iter_mut() {
        *v *= g;
    }
    let value = ssq * (logdet / n).exp();
    value.is_finite().then_some(value)
}

fn admissible(theta: &[f64], p: usize, q: usize) -> bool {
    let neg_ma: Vec<f64> = theta[p..p + q].iter().map(|v| -v).collect();
    theta.iter().all(|v| v.is_finite()) && is_stationary(&theta[..p]) && is_stationary(&neg_ma)
}

/// Gradient `J'r` and Gauss-Newton matrix `J'J` of the scaled innovations at `theta` by forward
/// differences; `base` holds the innovations at `theta`.
fn jacobian(w: &[f64], theta: &[f64], p: usize, q: usize, with_mean: bool, scale: f64, base: &[f64]) -> Option<(Vec<f64>, Vec<f64>)> {
    let k = theta.len();
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(k);
    let mut buf = Vec::with_capacity(w.len());
    for c in 0..k {
        let size = if with_mean && c == p + q { scale } else { 1.0 };
        let mut h = 1.5e-8 * theta[c].abs().max(size);
        let mut t2 = theta.to_vec();
        // Step inwards when the forward step would leave the admissible region.
        t2[c] += h;
        if !admissible(&t2, p, q) {
            h = -h;
            t2[c] = theta[c] + h;
        }
        scaled(w, &t2, p, q, with_mean, &mut buf)?;
        cols.push(buf.iter().zip(base).map(|(a, b)| (a - b) / h).collect());
    }
    let mut jtr = vec![0.0; k];
    let mut jtj = vec![0.0; k * k];
    for i in 0..k {
        jtr[i] = cols[i].iter().zip(base).map(|(a, b)| a * b).sum();
        for j in i..k {
            let v: f64 = cols[i].iter().zip(&cols[j]).map(|(a, b)| a * b).sum();
            jtj[i * k + j] = v;
            jtj[j * k + i] = v;
        }
    }
    Some((jtr, jtj))
}

/// Maximises the exact likelihood from `start` (`[ar.., ma.., mean if with_mean]`, normally the
/// CSS estimate) in at most `max_iterations` steps; `scale` is the standard deviation of `w` (the
/// mean's step size). Returns the parameters and their scaled deviance `S exp(sum ln F / n)`
/// (lower is better), or `None` when the start is not admissible or the filter fails there.
pub(super) fn maximise(
    w: &[f64],
    start: &[f64],
    p: usize,
    q: usize,
    with_mean: bool,
    scale: f64,
    max_iterations: usize,
) -> Option<(Vec<f64>, f64)> {
    if !admissible(start, p, q) {
        return None;
    }
    let k = start.len();
    let mut theta = start.to_vec();
    let mut base = Vec::with_capacity(w.len());
    let mut value = scaled(w, &theta, p, q, with_mean, &mut base)?;
    if k == 0 {
        return Some((theta, value));
    }
    let mut trial_buf = Vec::with_capacity(w.len());
    let (mut grad, mut jtj) = jacobian(w, &theta, p, q, with_mean, scale, &base)?;
    let mut lambda = 1e-4;
    for _ in 0..max_iterations {
        let Some(delta) = damped_step(&jtj, &grad, lambda) else {
            lambda *= 10.0;
            if lambda > 1e12 {
                break;
            }
            continue;
        };
        let trial: Vec<f64> = theta.iter().zip(&delta).map(|(t, d)| t + d).collect();
        let improved = if admissible(&trial, p, q) {
            scaled(w, &trial, p, q, with_mean, &mut trial_buf).filter(|v| *v < value)
        } else {
            None
        };
        match improved {
            Some(v) => {
                let gain = value - v;
                theta = trial;
                value = v;
                std::mem::swap(&mut base, &mut trial_buf);
                if gain <= TOLERANCE * value {
                    break;
                }
                let Some((g2, _)) = jacobian(w, &theta, p, q, with_mean, scale, &base) else {
                    break;
                };
                let y: Vec<f64> = g2.iter().zip(&grad).map(|(a, b)| a - b).collect();
                bfgs_update(&mut jtj, &delta, &y);
                grad = g2;
                lambda = (lambda / 10.0).max(1e-12);
            }
            None => {
                lambda *= 10.0;
                if lambda > 1e12 {
                    break;
                }
            }
        }
    }
    Some((theta, value))
}

/// BFGS update of the curvature `h` (row-major, `k x k`) with the step `s` and the gradient change
/// `y`, skipped when `y's` is not positive (the update would lose positive definiteness).
fn bfgs_update(h: &mut [f64], s: &[f64], y: &[f64]) {
    let k = s.len();
    let ys: f64 = y.iter().zip(s).map(|(a, b)| a * b).sum();
    let hs: Vec<f64> = (0..k).map(|i| (0..k).map(|j| h[i * k + j] * s[j]).sum()).collect();
    let shs: f64 = hs.iter().zip(s).map(|(a, b)| a * b).sum();
    if !(ys > 1e-12 * shs && shs > 0.0) {
        return;
    }
    for i in 0..k {
        for j in 0..k {
            h[i * k + j] += y[i] * y[j] / ys - hs[i] * hs[j] / shs;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact Gaussian deviance from the dense covariance matrix (Cholesky), for small `n`.
    fn dense_deviance(w: &[f64], mean: f64, ar: &[f64], ma: &[f64]) -> f64 {
        // Autocovariances from the psi weights (truncated far beyond any influence).
        let psi_len = 2000;
        let mut psi = vec![0.0; psi_len];
        for j in 0..psi_len {
            let mut v = if j == 0 { 1.0 } else { ma.get(j - 1).copied().unwrap_or(0.0) };
            for (i, a) in ar.iter().enumerate() {
                if j > i {
                    v += a * psi[j - 1 - i];
                }
            }
            psi[j] = v;
        }
        let n = w.len();
        let gamma: Vec<f64> = (0..n).map(|h| (0..psi_len - h).map(|j| psi[j] * psi[j + h]).sum()).collect();
        // Cholesky of the Toeplitz matrix, then L^-1 (w - mean).
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let mut s = gamma[i - j];
                for k in 0..j {
                    s -= l[i * n + k] * l[j * n + k];
                }
                l[i * n + j] = if i == j { s.sqrt() } else { s / l[j * n + j] };
            }
        }
        let mut z = vec![0.0; n];
        let mut logdet = 0.0;
        let mut ssq = 0.0;
        for i in 0..n {
            let mut s = w[i] - mean;
            for k in 0..i {
                s -= l[i * n + k] * z[k];
            }
            z[i] = s / l[i * n + i];
            ssq += z[i] * z[i];
            logdet += 2.0 * l[i * n + i].ln();
        }
        n as f64 * (ssq / n as f64).ln() + logdet
    }

    fn series(n: usize) -> Vec<f64> {
        (0..n).map(|t| ((t * 7919) % 31) as f64 / 7.0 + (t as f64 / 9.0).sin()).collect()
    }

    #[test]
    fn kalman_deviance_matches_the_dense_likelihood() {
        let w = series(60);
        for (ar, ma) in [
            (vec![0.5], vec![]),
            (vec![0.4, -0.2], vec![0.3, 0.1]),
            (vec![], vec![-0.7]),
            (vec![0.9], vec![-0.5]),
        ] {
            let mut buf = Vec::new();
            let (ssq, logdet) = kalman(&w, 2.0, &ar, &ma, &mut buf).unwrap();
            let n = w.len() as f64;
            let got = n * (ssq / n).ln() + logdet;
            let want = dense_deviance(&w, 2.0, &ar, &ma);
            assert!((got - want).abs() < 1e-8 * want.abs().max(1.0), "{ar:?} {ma:?}: {got} vs {want}");
            assert_eq!(buf.len(), w.len());
        }
    }

    #[test]
    fn forecast_of_an_ar1_decays_to_the_mean() {
        let w = series(100);
        // Pure AR(1): the state is the last observation, so the forecasts are exact powers.
        let st = states(&w, 2.0, &[0.5], &[]).unwrap();
        assert_eq!(st.len(), 101);
        let f = forecast(&st[100..], 2.0, &[0.5], 3);
        let last = w[99] - 2.0;
        for (k, v) in f.iter().enumerate() {
            assert!((v - (2.0 + last * 0.5f64.powi(k as i32 + 1))).abs() < 1e-12, "{k}: {v}");
        }
        // With an invertible MA far from the unit circle the CSS recursion agrees after the start.
        let st = states(&w, 2.0, &[0.5], &[0.3]).unwrap();
        let fm = forecast(&st[200..], 2.0, &[0.5], 2);
        let (e, _) = super::super::css::residuals(&w, 2.0, &[0.5], &[0.3]);
        let one = 2.0 + 0.5 * (w[99] - 2.0) + 0.3 * e[99];
        assert!((fm[0] - one).abs() < 1e-9, "{} vs {one}", fm[0]);
        assert!((fm[1] - (2.0 + 0.5 * (one - 2.0))).abs() < 1e-9);
    }

    #[test]
    fn maximum_is_a_stationary_point_and_not_above_the_start() {
        let mut rng = crate::rng::Rng::new(11);
        let mut w = vec![0.0; 800];
        let mut prev_e = 0.0;
        for t in 1..w.len() {
            let e = rng.normal();
            w[t] = 3.0 + 0.6 * (w[t - 1] - 3.0) + e + 0.3 * prev_e;
            prev_e = e;
        }
        let start = [0.5, 0.2, 2.9];
        let mut buf = Vec::new();
        let v0 = scaled(&w, &start, 1, 1, true, &mut buf).unwrap();
        let (best, value) = maximise(&w, &start, 1, 1, true, 1.0, MAX_ITERATIONS).unwrap();
        let v1 = scaled(&w, &best, 1, 1, true, &mut buf).unwrap();
        assert_eq!(v1, value);
        assert!(v1 < v0);
        for c in 0..best.len() {
            for h in [1e-3, -1e-3] {
                let mut t = best.clone();
                t[c] += h;
                let v2 = scaled(&w, &t, 1, 1, true, &mut buf).unwrap();
                assert!(v2 >= v1 * (1.0 - 1e-10), "{c} {h} {best:?} {v1} {v2}");
            }
        }
    }
}
