//! Hodrick-Prescott filter: the trend minimising `sum (x - t)^2 + lambda sum (second diff t)^2`.
//!
//! The normal equations `(I + lambda K'K) t = x` (K the second-difference operator) form a
//! symmetric positive-definite pentadiagonal system, solved here by a banded Cholesky
//! factorisation in O(n) time and memory, where statsmodels calls a general sparse solver.

#![allow(clippy::indexing_slicing)]
// all band vectors have length n, checked on entry
// Index loops mirror the published algorithms, which keeps them checkable against the papers.
#![allow(clippy::needless_range_loop, clippy::explicit_counter_loop)]

use serde::Serialize;

use crate::error::{AnalyticsError, Result, check_finite};

/// Trend and cycle (`x - trend`) of the filter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HpResult {
    /// Smoothing parameter used.
    pub lambda: f64,
    /// Smooth trend.
    pub trend: Vec<f64>,
    /// Cycle, `x - trend`.
    pub cycle: Vec<f64>,
}

/// Hodrick-Prescott filter with smoothing `lambda` (1600 for quarterly data by convention, the
/// statsmodels default). Series shorter than 3 points have no second differences: the trend is
/// the series itself.
pub fn hpfilter(x: &[f64], lambda: f64) -> Result<HpResult> {
    check_finite(x)?;
    if !(lambda.is_finite() && lambda >= 0.0) {
        return Err(AnalyticsError::InvalidArgument {
            name: "lambda",
            reason: format!("must be finite and non-negative, got {lambda}"),
        });
    }
    let n = x.len();
    if n < 3 {
        return Ok(HpResult {
            lambda,
            trend: x.to_vec(),
            cycle: vec![0.0; n],
        });
    }
    // Bands of A = I + lambda K'K: diagonal d, first and second super-diagonals e and f.
    let mut d = vec![1.0; n];
    let mut e = vec![0.0; n];
    let mut f = vec![0.0; n];
    let c = [1.0, -2.0, 1.0];
    for r in 0..n - 2 {
        for a in 0..3 {
            d[r + a] += lambda * c[a] * c[a];
        }
        e[r] += lambda * c[0] * c[1];
        e[r + 1] += lambda * c[1] * c[2];
        f[r] += lambda * c[0] * c[2];
    }
    // Banded Cholesky A = L L' with L lower triangular of bandwidth 2.
    let mut l0 = vec![0.0; n]; // diagonal
    let mut l1 = vec![0.0; n]; // l1[i] = L[i][i-1]
    let mut l2 = vec![0.0; n]; // l2[i] = L[i][i-2]
    for i in 0..n {
        if i >= 2 {
            l2[i] = f[i - 2] / l0[i - 2];
        }
        if i >= 1 {
            let mut s = e[i - 1];
            if i >= 2 {
                s -= l2[i] * l1[i - 1];
            }
            l1[i] = s / l0[i - 1];
        }
        let s = d[i] - l1[i] * l1[i] - l2[i] * l2[i];
        if s <= 0.0 {
            return Err(AnalyticsError::Singular { what: "hodrick-prescott" });
        }
        l0[i] = s.sqrt();
    }
    // Forward then backward substitution.
    let mut z = vec![0.0; n];
    for i in 0..n {
        let mut s = x[i];
        if i >= 1 {
            s -= l1[i] * z[i - 1];
        }
        if i >= 2 {
            s -= l2[i] * z[i - 2];
        }
        z[i] = s / l0[i];
    }
    let mut trend = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = z[i];
        if i + 1 < n {
            s -= l1[i + 1] * trend[i + 1];
        }
        if i + 2 < n {
            s -= l2[i + 2] * trend[i + 2];
        }
        trend[i] = s / l0[i];
    }
    let cycle = x.iter().zip(&trend).map(|(a, b)| a - b).collect();
    Ok(HpResult { lambda, trend, cycle })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_its_own_trend() {
        let x: Vec<f64> = (0..50).map(|i| 3.0 + 0.5 * i as f64).collect();
        let r = hpfilter(&x, 1600.0).unwrap();
        for (a, b) in r.trend.iter().zip(&x) {
            assert!((a - b).abs() < 1e-9);
        }
    }

    #[test]
    fn zero_lambda_gives_the_series() {
        let x = vec![1.0, 5.0, 2.0, 8.0];
        assert_eq!(hpfilter(&x, 0.0).unwrap().trend, x);
        assert!(hpfilter(&x, -1.0).is_err());
    }

    #[test]
    fn trend_satisfies_the_normal_equations() {
        let x: Vec<f64> = (0..30).map(|i| ((i * 13) % 7) as f64).collect();
        let lambda = 100.0;
        let t = hpfilter(&x, lambda).unwrap().trend;
        // (I + lambda K'K) t - x = 0, with K'K t computed from second differences.
        let n = x.len();
        let d2: Vec<f64> = (0..n - 2).map(|r| t[r] - 2.0 * t[r + 1] + t[r + 2]).collect();
        for i in 0..n {
            let mut ktk = 0.0;
            for (a, c) in [1.0, -2.0, 1.0].iter().enumerate() {
                if i >= a && i - a < n - 2 {
                    ktk += c * d2[i - a];
                }
            }
            assert!((t[i] + lambda * ktk - x[i]).abs() < 1e-9);
        }
    }
}
