//! Augmented Dickey-Fuller unit-root test, computed exactly as statsmodels' `adfuller`.
//!
//! The regression is `diff(x)_t` on the lagged level, `p` lagged differences and the
//! deterministic terms. With autolag every candidate lag `0..=maxlag` is fitted on the same
//! `n - 1 - maxlag` rows (so the criteria are comparable; the candidates are nested, so one QR
//! factorisation of the largest design gives all of them), then the chosen lag is refitted on all
//! the rows it allows. The statistic is the t value of the lagged level; the p-value and critical
//! values come from MacKinnon's tables ([`crate::mackinnon`]).

use serde::{Deserialize, Serialize};

use crate::error::{AnalyticsError, Result, check_varying};
use crate::linalg::{NestedFit, nested_ols, ols};
use crate::mackinnon::{mackinnoncrit, mackinnonp};

/// Sum of squared residuals, relative to the sum of squared differences, below which the test
/// regression is taken to fit exactly: residuals about 1e-13 of the differences, which rounding
/// alone (1e-16 each) does not reach and no measured series comes near.
const EXACT_FIT: f64 = 1e-26;

/// Deterministic terms of the test regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Regression {
    /// `"n"`: no constant, no trend.
    #[serde(rename = "n")]
    None,
    /// `"c"`: constant only (statsmodels' default).
    #[default]
    #[serde(rename = "c")]
    Constant,
    /// `"ct"`: constant and linear trend.
    #[serde(rename = "ct")]
    ConstantTrend,
    /// `"ctt"`: constant, linear and quadratic trend.
    #[serde(rename = "ctt")]
    ConstantTrendSquared,
}

impl Regression {
    /// Number of deterministic regressors.
    pub fn ntrend(self) -> usize {
        match self {
            Self::None => 0,
            Self::Constant => 1,
            Self::ConstantTrend => 2,
            Self::ConstantTrendSquared => 3,
        }
    }

    /// statsmodels' name: `n`, `c`, `ct` or `ctt`.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "n",
            Self::Constant => "c",
            Self::ConstantTrend => "ct",
            Self::ConstantTrendSquared => "ctt",
        }
    }

    /// Parses `n`, `c`, `ct` or `ctt`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "n" | "nc" => Some(Self::None),
            "c" => Some(Self::Constant),
            "ct" => Some(Self::ConstantTrend),
            "ctt" => Some(Self::ConstantTrendSquared),
            _ => None,
        }
    }
}

/// How the number of lagged differences is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Autolag {
    /// Minimise the Akaike criterion (statsmodels' default).
    #[default]
    #[serde(rename = "aic")]
    Aic,
    /// Minimise the Bayesian criterion.
    #[serde(rename = "bic")]
    Bic,
    /// Start at maxlag and drop lags until the last one is significant at 5 %.
    #[serde(rename = "t-stat")]
    TStat,
    /// Use maxlag lags.
    #[serde(rename = "none")]
    Fixed,
}

impl Autolag {
    /// statsmodels' name: `aic`, `bic`, `t-stat` or `none`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aic => "aic",
            Self::Bic => "bic",
            Self::TStat => "t-stat",
            Self::Fixed => "none",
        }
    }

    /// Parses `aic`, `bic`, `t-stat` or `none` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "aic" => Some(Self::Aic),
            "bic" => Some(Self::Bic),
            "t-stat" | "tstat" => Some(Self::TStat),
            "none" => Some(Self::Fixed),
            _ => None,
        }
    }
}

/// Options of [`adfuller`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AdfOptions {
    /// Maximum lag; `None` uses `ceil(12 (n/100)^(1/4))` capped at `n/2 - ntrend - 1`.
    pub maxlag: Option<usize>,
    /// Deterministic terms.
    pub regression: Regression,
    /// Lag selection.
    pub autolag: Autolag,
}

/// Critical values of the statistic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriticalValues {
    /// 1 % level.
    #[serde(rename = "1%")]
    pub one: f64,
    /// 5 % level.
    #[serde(rename = "5%")]
    pub five: f64,
    /// 10 % level.
    #[serde(rename = "10%")]
    pub ten: f64,
}

/// Result of the test, in the shape of the `adf` section of the analysis report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdfResult {
    /// t statistic of the lagged level.
    pub statistic: f64,
    /// MacKinnon approximate p-value.
    pub pvalue: f64,
    /// Number of lagged differences used.
    pub usedlag: usize,
    /// Observations in the final regression.
    pub nobs: usize,
    /// Critical values at 1, 5 and 10 %.
    pub critical: CriticalValues,
    /// `pvalue < 0.05`.
    pub stationary: bool,
}

/// Design for `lags` lagged differences: the regressand and the columns
/// `[trend terms if prepend] level, diff lags 1..=lags [trend terms if !prepend]`, using the
/// last `rows` observations.
fn design(x: &[f64], dx: &[f64], lags: usize, rows: usize, regression: Regression, prepend: bool) -> (Vec<f64>, Vec<Vec<f64>>) {
    // Row r corresponds to difference index t = dx.len() - rows + r.
    let start = dx.len() - rows;
    let y: Vec<f64> = dx.iter().skip(start).copied().collect();
    let mut trend = Vec::new();
    if regression.ntrend() >= 1 {
        trend.push(vec![1.0; rows]);
    }
    if regression.ntrend() >= 2 {
        trend.push((1..=rows).map(|t| t as f64).collect());
    }
    if regression.ntrend() >= 3 {
        trend.push((1..=rows).map(|t| (t as f64) * (t as f64)).collect());
    }
    let mut cols = Vec::with_capacity(lags + 1 + trend.len());
    if prepend {
        cols.append(&mut trend);
    }
    let mut level: Vec<f64> = x.iter().skip(start).take(rows).copied().collect();
    if regression.ntrend() >= 1 {
        // With a constant in the regression, centring the lagged level changes no coefficient
        // but the constant's, and keeps a level far from zero (a byte counter near 2^64, whose
        // steps are at the 16th digit) from looking collinear with the constant.
        let mean = level.iter().sum::<f64>() / rows.max(1) as f64;
        level.iter_mut().for_each(|v| *v -= mean);
    }
    cols.push(level);
    for lag in 1..=lags {
        cols.push(dx.iter().skip(start - lag).take(rows).copied().collect());
    }
    cols.append(&mut trend);
    (y, cols)
}

/// The default maximum lag for `n` observations, or an error when the series is too short.
pub fn default_maxlag(n: usize, regression: Regression) -> Result<usize> {
    let rule = (12.0 * (n as f64 / 100.0).powf(0.25)).ceil() as i64;
    let cap = (n / 2) as i64 - regression.ntrend() as i64 - 1;
    let maxlag = rule.min(cap);
    if maxlag < 0 {
        return Err(AnalyticsError::TooShort {
            what: format!("adf with regression {}", regression.name()),
            needed: 2 * (regression.ntrend() + 1),
            given: n,
        });
    }
    Ok(maxlag as usize)
}

/// Augmented Dickey-Fuller test of `x`.
pub fn adfuller(x: &[f64], options: &AdfOptions) -> Result<AdfResult> {
    check_varying(x)?;
    // The statistic, the lag choice and the p-value do not depend on the series' unit: measured in
    // its own spread, a series of 1e-12 is not rounding noise beside a squared trend of 1e10.
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    let spread = x.iter().map(|v| (v - mean).abs()).fold(0.0, f64::max);
    let scaled: Vec<f64> = x.iter().map(|v| v / spread).collect();
    let x = scaled.as_slice();
    let n = x.len();
    let regression = options.regression;
    let ntrend = regression.ntrend();
    let maxlag = match options.maxlag {
        None => default_maxlag(n, regression)?,
        Some(m) => {
            let cap = (n / 2) as i64 - ntrend as i64 - 1;
            if m as i64 > cap {
                return Err(AnalyticsError::TooShort {
                    what: format!("adf with maxlag {m}"),
                    needed: 2 * (m + ntrend + 1),
                    given: n,
                });
            }
            m
        }
    };
    let dx: Vec<f64> = x
        .windows(2)
        .map(|w| w.get(1).copied().unwrap_or(0.0) - w.first().copied().unwrap_or(0.0))
        .collect();
    let usedlag = match options.autolag {
        Autolag::Fixed => maxlag,
        method => select_lag(x, &dx, maxlag, regression, method)?,
    };
    let rows = dx.len() - usedlag;
    let (y, cols) = design(x, &dx, usedlag, rows, regression, false);
    let fit = ols(&cols, &y).map_err(|e| match e {
        AnalyticsError::Singular { .. } => AnalyticsError::Singular {
            what: "the adf regression: its regressors are collinear (a series with too few distinct changes, \
                   such as a flat one whose only spike is its first or last point, or a trend term that repeats the lagged level)",
        },
        other => other,
    })?;
    let statistic = fit.tvalue(0);
    // Residuals at rounding level: the regression explains every difference (an uptime counter's
    // constant steps, a strict alternation). statsmodels then prints whatever huge number the
    // rounding makes (-4e16 for +-1 alternating); vane says so instead.
    let scale: f64 = y.iter().map(|v| v * v).sum();
    if !statistic.is_finite() || fit.ssr <= EXACT_FIT * scale {
        return Err(AnalyticsError::Deterministic {
            what: "adf",
            reason: format!(
                "the ADF statistic is undefined for this series: the test regression at lag {usedlag} fits every difference \
                 exactly (a straight line, a strict alternation or another deterministic pattern)"
            ),
        });
    }
    let pvalue = mackinnonp(statistic, regression);
    let [one, five, ten] = mackinnoncrit(regression, rows);
    Ok(AdfResult {
        statistic,
        pvalue,
        usedlag,
        nobs: rows,
        critical: CriticalValues { one, five, ten },
        stationary: pvalue < 0.05,
    })
}

fn select_lag(x: &[f64], dx: &[f64], maxlag: usize, regression: Regression, method: Autolag) -> Result<usize> {
    let rows = dx.len() - maxlag;
    let (y, full) = design(x, dx, maxlag, rows, regression, true);
    let ntrend = regression.ntrend();
    // One QR of the largest design serves every nested candidate; fits[lag] uses the
    // deterministic terms, the level and `lag` lagged differences.
    let fits = match nested_ols(&full, &y, ntrend + 1) {
        Ok(fits) => fits,
        // The level does not vary over the rows the lags are compared on (the series ends flat
        // for more than `n - maxlag` points): no lag can be told from another. statsmodels' fits
        // there are rank-deficient with equal criteria and its choice falls on the smallest lag;
        // the test itself then runs on all rows, where the level does vary.
        Err(AnalyticsError::Singular { .. }) => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut best = 0;
    match method {
        Autolag::Aic | Autolag::Bic => {
            let ic = |f: &NestedFit| {
                if method == Autolag::Aic { f.aic() } else { f.bic() }
            };
            let mut best_ic = f64::INFINITY;
            for (lag, f) in fits.iter().enumerate() {
                let v = ic(f);
                // Strictly smaller keeps the smallest lag on ties, as Python's min over tuples.
                if v < best_ic {
                    best_ic = v;
                    best = lag;
                }
            }
        }
        Autolag::TStat | Autolag::Fixed => {
            const STOP: f64 = 1.644_853_626_951_472_2;
            best = 0;
            for lag in (0..=maxlag).rev() {
                best = lag;
                let Some(f) = fits.get(lag) else { continue };
                if f.last_t.abs() >= STOP {
                    break;
                }
            }
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_and_short_series_are_rejected() {
        assert_eq!(adfuller(&[1.0; 50], &AdfOptions::default()), Err(AnalyticsError::Constant));
        assert!(matches!(
            adfuller(&[1.0, 2.0, 1.5], &AdfOptions::default()),
            Err(AnalyticsError::TooShort { .. })
        ));
        let opts = AdfOptions {
            maxlag: Some(40),
            ..AdfOptions::default()
        };
        let x: Vec<f64> = (0..50).map(|i| ((i * 7) % 11) as f64).collect();
        let err = adfuller(&x, &opts).unwrap_err().to_string();
        assert!(err.contains("maxlag 40") && err.contains("has 50"), "{err}");
    }

    #[test]
    fn a_deterministic_series_has_no_statistic() {
        // An uptime counter: every difference is the same, which the constant explains exactly.
        let ramp: Vec<f64> = (0..200).map(|t| 15.0 * t as f64).collect();
        for regression in [Regression::None, Regression::Constant] {
            let opts = AdfOptions {
                regression,
                ..AdfOptions::default()
            };
            let err = adfuller(&ramp, &opts).unwrap_err();
            assert!(
                matches!(err, AnalyticsError::Deterministic { what: "adf", .. }),
                "{regression:?}: {err}"
            );
        }
        // With a trend term the lagged level is the trend itself: a singular regression.
        let ct = AdfOptions {
            regression: Regression::ConstantTrend,
            ..AdfOptions::default()
        };
        assert!(matches!(adfuller(&ramp, &ct), Err(AnalyticsError::Singular { .. })));
        // A little noise on it is a series again.
        let mut r = crate::rng::Rng::new(3);
        let noisy: Vec<f64> = ramp.iter().map(|v| v + r.normal()).collect();
        assert!(adfuller(&noisy, &AdfOptions::default()).unwrap().statistic.is_finite());
    }

    #[test]
    fn autolag_skips_lags_whose_regressors_repeat_earlier_ones() {
        // A series that alternates: the first lagged difference is a combination of the level
        // and the constant, so every lag from 1 on is singular; lag 0 is still a valid test.
        let x: Vec<f64> = (0..43).map(|t| (t % 2) as f64).collect();
        // Lag 0 fits exactly (each step undoes the last): no statistic, and the error says
        // where the search landed. statsmodels prints a rounding artefact there (-4e16).
        let err = adfuller(&x, &AdfOptions::default()).unwrap_err();
        assert!(matches!(err, AnalyticsError::Deterministic { what: "adf", .. }), "{err}");
        assert!(err.to_string().contains("at lag 0"), "{err}");
        // A fixed lag that is singular is still an error.
        let fixed = AdfOptions {
            maxlag: Some(3),
            autolag: Autolag::Fixed,
            ..AdfOptions::default()
        };
        assert!(matches!(adfuller(&x, &fixed), Err(AnalyticsError::Singular { .. })));
    }

    #[test]
    fn a_series_that_ends_flat_is_tested_at_lag_zero_like_statsmodels() {
        // Ten varying points, then 35 equal ones (a gauge that stopped moving): over the rows
        // the lags are compared on, the level is constant. statsmodels 0.15.0 `adfuller(x)`
        // still answers, at lag 0 on all 44 rows; these are its statistics.
        let head = [5.0, 7.0, 6.0, 8.0, 7.0, 9.0, 8.0, 10.0, 9.0, 11.0];
        let mut flat: Vec<f64> = head.iter().copied().chain(std::iter::repeat_n(11.0, 35)).collect();
        let r = adfuller(&flat, &AdfOptions::default()).unwrap();
        assert_eq!((r.usedlag, r.nobs), (0, 44));
        assert!((r.statistic - -4.15084876315018).abs() < 1e-8 * 4.2, "{r:?}");
        // The same with one last step: statsmodels -3.917871718314352.
        *flat.last_mut().unwrap() = 12.0;
        let r = adfuller(&flat, &AdfOptions::default()).unwrap();
        assert_eq!(r.usedlag, 0);
        assert!((r.statistic - -3.917871718314352).abs() < 1e-8 * 4.0, "{r:?}");
    }

    #[test]
    fn white_noise_like_series_is_stationary() {
        let x: Vec<f64> = (0..200).map(|i| ((i * 37 + 11) % 101) as f64 / 10.0).collect();
        let r = adfuller(&x, &AdfOptions::default()).unwrap();
        assert!(r.stationary, "{r:?}");
    }
}
