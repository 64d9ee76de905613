//! Autocorrelation (with Bartlett confidence intervals) and partial autocorrelation, with
//! statsmodels' defaults.
//!
//! `acf`: biased autocovariances (divisor n) of the demeaned series, default
//! `nlags = min(floor(10 log10 n), n - 1)`, intervals `acf +- z(1 - alpha/2) sqrt(var)` with
//! Bartlett's variance `(1 + 2 sum_{j<k} acf_j^2) / n` (lag 0 has zero width, lag 1 uses `1/n`).
//! `pacf`: statsmodels' default method `ywadjusted` (Yule-Walker on autocovariances with
//! divisor `n - k`), default `nlags = min(floor(10 log10 n), n/2 - 1)`, solved by
//! Levinson-Durbin. Cost O(n * nlags).

#![allow(clippy::indexing_slicing)]
// lags are bounded by n - 1, checked on entry
// Index loops mirror the published algorithms, which keeps them checkable against the papers.
#![allow(clippy::needless_range_loop, clippy::explicit_counter_loop)]

use crate::error::{AnalyticsError, Result, check_varying};
use crate::normal::norm_ppf;

/// statsmodels' default number of ACF lags for `n` observations.
pub fn default_acf_nlags(n: usize) -> usize {
    let rule = (10.0 * (n as f64).log10()).floor().max(0.0) as usize;
    rule.min(n.saturating_sub(1))
}

/// statsmodels' default number of PACF lags for `n` observations.
pub fn default_pacf_nlags(n: usize) -> usize {
    let rule = (10.0 * (n as f64).log10()).floor().max(0.0) as usize;
    rule.min((n / 2).saturating_sub(1)).max(1)
}

fn demeaned(x: &[f64]) -> Vec<f64> {
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    x.iter().map(|v| v - mean).collect()
}

/// Autocovariance sums `sum_t d_t d_{t+k}` for k = 0..=nlags.
pub(crate) fn lag_products(d: &[f64], nlags: usize) -> Vec<f64> {
    let n = d.len();
    let mut out = vec![0.0; nlags + 1];
    for (k, o) in out.iter_mut().enumerate() {
        let mut s = 0.0;
        for t in 0..n - k {
            s += d[t] * d[t + k];
        }
        *o = s;
    }
    out
}

/// Autocorrelations for lags 0..=nlags (lag 0 is 1).
pub fn acf(x: &[f64], nlags: Option<usize>) -> Result<Vec<f64>> {
    check_varying(x)?;
    let n = x.len();
    let nlags = nlags.unwrap_or_else(|| default_acf_nlags(n));
    if nlags >= n {
        return Err(AnalyticsError::TooShort {
            what: format!("acf with {nlags} lags"),
            needed: nlags + 1,
            given: n,
        });
    }
    let p = lag_products(&demeaned(x), nlags);
    let c0 = p[0];
    Ok(p.iter().map(|v| v / c0).collect())
}

/// Bartlett confidence intervals `[lo, hi]` for the autocorrelations `r` of `n` observations.
pub fn acf_confint(r: &[f64], n: usize, alpha: f64) -> Vec<[f64; 2]> {
    let z = norm_ppf(1.0 - alpha / 2.0);
    let mut out = Vec::with_capacity(r.len());
    let mut cum = 0.0;
    for (k, &v) in r.iter().enumerate() {
        let var = match k {
            0 => 0.0,
            1 => 1.0 / n as f64,
            _ => {
                cum += r[k - 1] * r[k - 1];
                (1.0 + 2.0 * cum) / n as f64
            }
        };
        let half = z * var.sqrt();
        out.push([v - half, v + half]);
    }
    out
}

/// Partial autocorrelations for lags 0..=nlags by adjusted Yule-Walker (lag 0 is 1).
pub fn pacf(x: &[f64], nlags: Option<usize>) -> Result<Vec<f64>> {
    check_varying(x)?;
    let n = x.len();
    let nlags = nlags.unwrap_or_else(|| default_pacf_nlags(n)).max(1);
    if nlags > n / 2 {
        return Err(AnalyticsError::TooShort {
            what: format!("pacf with {nlags} lags"),
            needed: 2 * nlags,
            given: n,
        });
    }
    let p = lag_products(&demeaned(x), nlags);
    let r: Vec<f64> = p
        .iter()
        .enumerate()
        .map(|(k, s)| if k == 0 { s / n as f64 } else { s / (n - k) as f64 })
        .collect();
    levinson_pacf(&r)
}

/// Relative prediction-error variance below which the series counts as predicted exactly by the
/// lags so far (a strict alternation is, by one lag): the next partial autocorrelation would divide
/// rounding noise by rounding noise. statsmodels returns whatever that gives (-1.3e9 for a
/// 301-point alternation).
const EXACT_PREDICTION: f64 = 1e-12;

/// Levinson-Durbin recursion: the last AR coefficient of each order-k Yule-Walker solution.
fn levinson_pacf(r: &[f64]) -> Result<Vec<f64>> {
    let m = r.len() - 1;
    let mut out = vec![1.0; m + 1];
    let mut phi = vec![0.0; m + 1];
    let mut prev = vec![0.0; m + 1];
    let mut v = r[0];
    for k in 1..=m {
        if v.abs() <= EXACT_PREDICTION * r[0] {
            let known = k - 1;
            let defined: Vec<String> = out.iter().take(k).skip(1).map(|p| format!("{p:.4}")).collect();
            return Err(AnalyticsError::Deterministic {
                what: "pacf",
                reason: format!(
                    "partial autocorrelations beyond lag {known} are undefined for this series: the last {known} value(s) \
                     predict each value exactly (lags 1 to {known}: {})",
                    defined.join(", ")
                ),
            });
        }
        let mut num = r[k];
        for j in 1..k {
            num -= prev[j] * r[k - j];
        }
        let kappa = num / v;
        phi[k] = kappa;
        for j in 1..k {
            phi[j] = prev[j] - kappa * prev[k - j];
        }
        v *= 1.0 - kappa * kappa;
        out[k] = kappa;
        prev[..=k].copy_from_slice(&phi[..=k]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exactly_predictable_series_has_no_pacf_beyond_its_lag() {
        let x: Vec<f64> = (0..302).map(|t| if t % 2 == 0 { 1.0 } else { -1.0 }).collect();
        let err = pacf(&x, None).unwrap_err();
        assert!(matches!(err, AnalyticsError::Deterministic { what: "pacf", .. }), "{err}");
        assert!(
            err.to_string().contains("beyond lag 1") && err.to_string().ends_with("(lags 1 to 1: -1.0000)"),
            "{err}"
        );
        // Asked for lag 1 only, it is defined: -1.
        assert_eq!(pacf(&x, Some(1)).unwrap(), vec![1.0, -1.0]);
    }

    #[test]
    fn default_lags_match_statsmodels() {
        assert_eq!(default_acf_nlags(4032), 36);
        assert_eq!(default_acf_nlags(5), 4);
        assert_eq!(default_pacf_nlags(4032), 36);
        assert_eq!(default_pacf_nlags(10), 4);
    }

    #[test]
    fn ar1_pacf_cuts_off() {
        // x_t = 0.6 x_{t-1} + e_t with a deterministic pseudo-noise.
        let mut x = vec![0.0; 2000];
        let mut s: u64 = 7;
        for t in 1..x.len() {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let e = ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5;
            x[t] = 0.6 * x[t - 1] + e;
        }
        let p = pacf(&x, Some(5)).unwrap();
        assert!((p[1] - 0.6).abs() < 0.05);
        for v in &p[2..] {
            assert!(v.abs() < 0.08);
        }
        let r = acf(&x, Some(3)).unwrap();
        let ci = acf_confint(&r, x.len(), 0.05);
        assert_eq!(ci[0], [1.0, 1.0]);
        assert!(ci[1][0] < r[1] && r[1] < ci[1][1]);
    }

    #[test]
    fn too_many_lags_is_an_error() {
        let x = [1.0, 2.0, 3.0, 1.0];
        assert!(matches!(acf(&x, Some(4)), Err(AnalyticsError::TooShort { .. })));
        assert!(matches!(pacf(&x, Some(3)), Err(AnalyticsError::TooShort { .. })));
    }
}
