//! The conditional sum of squares of an ARMA model on the differenced series, its starting
//! values (Hannan-Rissanen) and its minimisation by Levenberg-Marquardt.
//!
//! The residual recursion `e_t = (w_t - mu) - sum a_i (w_{t-i} - mu) - sum b_j e_{t-j}` is
//! differentiated alongside itself, so each iteration gets the exact gradient and Gauss-Newton
//! matrix in one `O(n k^2)` pass; a dozen iterations replace the thousands of objective
//! evaluations a simplex search needs. Steps that leave the stationary and invertible region, or
//! do not lower the sum, are rejected and the damping raised.

#![allow(clippy::indexing_slicing)] // lags never exceed the differenced length, checked by fit

use super::is_stationary;
use crate::linalg::{damped_step, dot, ols};

pub(super) fn residuals(w: &[f64], mean: f64, ar: &[f64], ma: &[f64]) -> (Vec<f64>, f64) {
    let p = ar.len();
    let mut e = vec![0.0; w.len()];
    let mut sse = 0.0;
    for t in p..w.len() {
        let mut v = w[t] - mean;
        for (i, a) in ar.iter().enumerate() {
            v -= a * (w[t - 1 - i] - mean);
        }
        for (j, b) in ma.iter().enumerate() {
            if t > j {
                v -= b * e[t - 1 - j];
            }
        }
        e[t] = v;
        sse += v * v;
    }
    (e, sse)
}

/// Sum of squares of [`residuals`] without storing them.
pub(super) fn css(w: &[f64], mean: f64, ar: &[f64], ma: &[f64]) -> f64 {
    let p = ar.len();
    let q = ma.len();
    // recent[j] holds e_{t-1-j}; zero before the first residual.
    let mut recent = vec![0.0; q];
    let mut sse = 0.0;
    for t in p..w.len() {
        let mut v = w[t] - mean;
        for (i, a) in ar.iter().enumerate() {
            v -= a * (w[t - 1 - i] - mean);
        }
        for (b, e) in ma.iter().zip(&recent) {
            v -= b * e;
        }
        if q > 0 {
            recent.rotate_right(1);
            recent[0] = v;
        }
        sse += v * v;
    }
    sse
}

/// Residuals of a long autoregression of the demeaned `w` (zero for the first `k` points),
/// the innovations estimate of the Hannan-Rissanen starting values.
pub(super) fn long_ar_residuals(w: &[f64], mean: f64) -> Option<(Vec<f64>, usize)> {
    let k = (w.len() / 20).clamp(2, 20);
    if w.len() < 4 * k + 10 {
        return None;
    }
    let rows = w.len() - k;
    let y: Vec<f64> = w[k..].iter().map(|v| v - mean).collect();
    let cols: Vec<Vec<f64>> = (1..=k)
        .map(|lag| w[k - lag..w.len() - lag].iter().map(|v| v - mean).collect())
        .collect();
    let fit = ols(&cols, &y).ok()?;
    let mut e = vec![0.0; w.len()];
    for r in 0..rows {
        let mut v = y[r];
        for (c, a) in cols.iter().zip(&fit.params) {
            v -= a * c[r];
        }
        e[k + r] = v;
    }
    Some((e, k))
}

/// Hannan-Rissanen starting values: `w_t` regressed on its own lags and lagged innovations
/// estimated by a long autoregression; `None` when the estimate is not stationary and
/// invertible or cannot be computed.
pub(super) fn hannan_rissanen(w: &[f64], mean: f64, long: &(Vec<f64>, usize), p: usize, q: usize) -> Option<Vec<f64>> {
    let (e, k) = long;
    let first = (k + q).max(p);
    if p + q == 0 || w.len() < first + 4 * (p + q) + 10 {
        return None;
    }
    let y: Vec<f64> = w[first..].iter().map(|v| v - mean).collect();
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(p + q);
    for lag in 1..=p {
        cols.push(w[first - lag..w.len() - lag].iter().map(|v| v - mean).collect());
    }
    for lag in 1..=q {
        cols.push(e[first - lag..w.len() - lag].to_vec());
    }
    let params = ols(&cols, &y).ok()?.params;
    let neg_ma: Vec<f64> = params[p..].iter().map(|v| -v).collect();
    (is_stationary(&params[..p]) && is_stationary(&neg_ma)).then_some(params)
}

/// Sum of squares, gradient `J'e` and Gauss-Newton matrix `J'J` (row-major) at
/// `theta = [ar.., ma.., mean if with_mean]`.
fn css_derivatives(w: &[f64], theta: &[f64], p: usize, q: usize, with_mean: bool) -> (f64, Vec<f64>, Vec<f64>) {
    let k = theta.len();
    let ar = &theta[..p];
    let ma = &theta[p..p + q];
    let mean = if with_mean { theta[p + q] } else { 0.0 };
    let ar_sum: f64 = ar.iter().sum();
    // The residuals and their derivatives, zero before the first residual, kept whole:
    // cols[c * n + t] = d e_t / d theta_c. The recursion reads them back at lags 1..q, and the
    // gradient and the Gauss-Newton matrix are inner products of these columns afterwards,
    // which vectorise, instead of k^2 / 2 updates at every point.
    let n = w.len();
    let mut e_hist = vec![0.0; n];
    let mut cols = vec![0.0; k * n];
    let mut g = vec![0.0; k];
    for t in p..n {
        let mut e = w[t] - mean;
        for (i, a) in ar.iter().enumerate() {
            e -= a * (w[t - 1 - i] - mean);
        }
        for (j, b) in ma.iter().enumerate() {
            if t > j {
                e -= b * e_hist[t - 1 - j];
            }
        }
        for i in 0..p {
            g[i] = -(w[t - 1 - i] - mean);
        }
        for j in 0..q {
            g[p + j] = if t > j { -e_hist[t - 1 - j] } else { 0.0 };
        }
        if with_mean {
            g[p + q] = ar_sum - 1.0;
        }
        for (j, b) in ma.iter().enumerate() {
            if t > j {
                for (c, gc) in g.iter_mut().enumerate() {
                    *gc -= b * cols[c * n + t - 1 - j];
                }
            }
        }
        e_hist[t] = e;
        for (c, gc) in g.iter().enumerate() {
            cols[c * n + t] = *gc;
        }
    }
    let col = |c: usize| &cols[c * n..(c + 1) * n];
    let sum = dot(&e_hist, &e_hist);
    let jte: Vec<f64> = (0..k).map(|c| dot(col(c), &e_hist)).collect();
    let mut jtj = vec![0.0; k * k];
    for r in 0..k {
        for c in r..k {
            let v = dot(col(r), col(c));
            jtj[r * k + c] = v;
            jtj[c * k + r] = v;
        }
    }
    (sum, jte, jtj)
}

fn admissible(theta: &[f64], p: usize, q: usize) -> bool {
    let neg_ma: Vec<f64> = theta[p..p + q].iter().map(|v| -v).collect();
    theta.iter().all(|v| v.is_finite()) && is_stationary(&theta[..p]) && is_stationary(&neg_ma)
}

/// Minimises the conditional sum of squares from `start` by Levenberg-Marquardt; returns the
/// parameters and the sum, or `None` when the start is not admissible.
pub(super) fn levenberg_marquardt(w: &[f64], start: &[f64], p: usize, q: usize, with_mean: bool) -> Option<(Vec<f64>, f64)> {
    if !admissible(start, p, q) {
        return None;
    }
    let k = start.len();
    let mut theta = start.to_vec();
    let (mut value, mut grad, mut jtj) = css_derivatives(w, &theta, p, q, with_mean);
    if k == 0 {
        return Some((theta, value));
    }
    let mut lambda = 1e-3;
    for _ in 0..60 {
        let Some(delta) = damped_step(&jtj, &grad, lambda) else {
            lambda *= 10.0;
            if lambda > 1e12 {
                break;
            }
            continue;
        };
        // The decrease the Gauss-Newton model predicts for this step, `-(2 d'J'e + d'J'J d)`.
        // Once it is below the tolerance no step can gain more: stop here rather than
        // evaluate (and reject) ever shorter steps until the damping runs out.
        let curvature: f64 = (0..k).map(|r| delta[r] * dot(&jtj[r * k..(r + 1) * k], &delta)).sum();
        let predicted = -(2.0 * dot(&delta, &grad) + curvature);
        if predicted <= 1e-10 * value {
            return Some((theta, value));
        }
        let trial: Vec<f64> = theta.iter().zip(&delta).map(|(t, d)| t + d).collect();
        let accepted = admissible(&trial, p, q) && {
            let (v, g2, j2) = css_derivatives(w, &trial, p, q, with_mean);
            if v < value {
                let gain = value - v;
                theta = trial;
                value = v;
                grad = g2;
                jtj = j2;
                lambda = (lambda / 10.0).max(1e-12);
                if gain <= 1e-10 * value {
                    return Some((theta, value));
                }
                true
            } else {
                false
            }
        };
        if !accepted {
            lambda *= 10.0;
            if lambda > 1e12 {
                break;
            }
        }
    }
    Some((theta, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences() {
        let w: Vec<f64> = (0..200).map(|t| ((t * 7919) % 31) as f64 / 7.0 + (t as f64 / 9.0).sin()).collect();
        let theta = [0.4, -0.2, 0.3, 0.1, 2.0];
        let (v, g, _) = css_derivatives(&w, &theta, 2, 2, true);
        assert!((v - css(&w, 2.0, &[0.4, -0.2], &[0.3, 0.1])).abs() < 1e-9 * v);
        for c in 0..theta.len() {
            let mut t2 = theta;
            t2[c] += 1e-6;
            let (v2, _, _) = css_derivatives(&w, &t2, 2, 2, true);
            // d css / d theta = 2 J'e.
            let fd = (v2 - v) / 1e-6;
            assert!((fd - 2.0 * g[c]).abs() < 1e-3 * (1.0 + fd.abs()), "{c}: {fd} vs {}", 2.0 * g[c]);
        }
    }
}
