//! Classical seasonal decomposition, as statsmodels' `seasonal_decompose` with its defaults
//! (two-sided centred moving average, `extrapolate_trend=0`).
//!
//! The trend is a centred moving average of length `period` (weights `1/(2p), 1/p, ..., 1/(2p)`
//! over `p + 1` points when `period` is even); its first and last `period / 2` values are
//! undefined (`None`). The seasonal figure is the per-phase mean of the detrended series over
//! defined points, centred to mean 0 (additive) or 1 (multiplicative), repeated over the series.

#![allow(clippy::indexing_slicing)]
// period < n/2 is checked on entry; all vectors have length n
// Index loops mirror the published algorithms, which keeps them checkable against the papers.
#![allow(clippy::needless_range_loop, clippy::explicit_counter_loop)]

use serde::{Deserialize, Serialize};

use crate::error::{AnalyticsError, Result, check_finite};

/// Additive (`x = T + S + R`) or multiplicative (`x = T * S * R`) model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecompositionModel {
    /// `x = trend + seasonal + resid`.
    #[default]
    Additive,
    /// `x = trend * seasonal * resid`; needs positive data.
    Multiplicative,
}

impl DecompositionModel {
    /// `additive` or `multiplicative`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Additive => "additive",
            Self::Multiplicative => "multiplicative",
        }
    }
}

/// Components of a classical decomposition; `None` where the moving average is undefined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decomposition {
    /// The model used.
    pub model: DecompositionModel,
    /// Seasonal period in samples.
    pub period: usize,
    /// Centred moving average.
    pub trend: Vec<Option<f64>>,
    /// Repeating seasonal figure.
    pub seasonal: Vec<Option<f64>>,
    /// What is left.
    pub resid: Vec<Option<f64>>,
}

/// Classical decomposition of `x` with the given period (at least 2, and two full cycles).
pub fn seasonal_decompose(x: &[f64], period: usize, model: DecompositionModel) -> Result<Decomposition> {
    check_finite(x)?;
    let n = x.len();
    if period < 2 {
        return Err(AnalyticsError::InvalidArgument {
            name: "period",
            reason: format!("must be at least 2, got {period}"),
        });
    }
    if n < 2 * period {
        return Err(AnalyticsError::TooShort {
            what: format!("seasonal decomposition with period {period}"),
            needed: 2 * period,
            given: n,
        });
    }
    if model == DecompositionModel::Multiplicative {
        for (index, &value) in x.iter().enumerate() {
            if value <= 0.0 {
                return Err(AnalyticsError::NonPositive { index, value });
            }
        }
    }
    let filt: Vec<f64> = if period.is_multiple_of(2) {
        let mut f = vec![1.0 / period as f64; period + 1];
        f[0] = 0.5 / period as f64;
        f[period] = 0.5 / period as f64;
        f
    } else {
        vec![1.0 / period as f64; period]
    };
    let half = filt.len() / 2;
    let mut trend = vec![f64::NAN; n];
    // Four centred averages at a time, each summed in the filter's order as on its own: four
    // independent sums keep the adder busy where one waits on the previous add.
    let mut t = half;
    while t + 4 <= n - half {
        let mut s = [0.0; 4];
        for (j, w) in filt.iter().enumerate() {
            let at = &x[t + j - half..t + j - half + 4];
            for (acc, v) in s.iter_mut().zip(at) {
                *acc += w * v;
            }
        }
        trend[t..t + 4].copy_from_slice(&s);
        t += 4;
    }
    for (t, out) in trend.iter_mut().enumerate().take(n - half).skip(t) {
        let mut s = 0.0;
        for (j, w) in filt.iter().enumerate() {
            s += w * x[t + j - half];
        }
        *out = s;
    }
    let detrended: Vec<f64> = match model {
        DecompositionModel::Additive => x.iter().zip(&trend).map(|(a, b)| a - b).collect(),
        DecompositionModel::Multiplicative => x.iter().zip(&trend).map(|(a, b)| a / b).collect(),
    };
    let mut figure = vec![0.0; period];
    for (phase, fig) in figure.iter_mut().enumerate() {
        let mut s = 0.0;
        let mut c = 0usize;
        let mut t = phase;
        while t < n {
            if !detrended[t].is_nan() {
                s += detrended[t];
                c += 1;
            }
            t += period;
        }
        *fig = if c == 0 { f64::NAN } else { s / c as f64 };
    }
    let centre = figure.iter().sum::<f64>() / period as f64;
    for v in &mut figure {
        match model {
            DecompositionModel::Additive => *v -= centre,
            DecompositionModel::Multiplicative => *v /= centre,
        }
    }
    let seasonal: Vec<f64> = (0..n).map(|t| figure[t % period]).collect();
    let resid: Vec<f64> = match model {
        DecompositionModel::Additive => detrended.iter().zip(&seasonal).map(|(d, s)| d - s).collect(),
        DecompositionModel::Multiplicative => (0..n).map(|t| x[t] / seasonal[t] / trend[t]).collect(),
    };
    let opt = |v: Vec<f64>| v.into_iter().map(|x| x.is_finite().then_some(x)).collect();
    Ok(Decomposition {
        model,
        period,
        trend: opt(trend),
        seasonal: opt(seasonal),
        resid: opt(resid),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pure_season_plus_line_is_recovered() {
        let season = [1.0, -2.0, 0.5, 0.5];
        let x: Vec<f64> = (0..40).map(|t| 10.0 + 0.1 * t as f64 + season[t % 4]).collect();
        let d = seasonal_decompose(&x, 4, DecompositionModel::Additive).unwrap();
        assert_eq!(d.trend[0], None);
        assert_eq!(d.trend[1], None);
        assert!(d.trend[2].is_some());
        assert_eq!(d.trend[38], None);
        for t in 2..38 {
            assert!((d.trend[t].unwrap() - (10.0 + 0.1 * t as f64)).abs() < 1e-12);
            assert!(d.resid[t].unwrap().abs() < 1e-12);
            assert!((d.seasonal[t].unwrap() - season[t % 4]).abs() < 1e-12);
        }
    }

    #[test]
    fn multiplicative_needs_positive_data_and_two_cycles() {
        let x = vec![1.0, 2.0, 0.0, 3.0, 1.0, 2.0, 1.0, 3.0];
        assert!(matches!(
            seasonal_decompose(&x, 4, DecompositionModel::Multiplicative),
            Err(AnalyticsError::NonPositive { index: 2, .. })
        ));
        assert!(matches!(
            seasonal_decompose(&x, 5, DecompositionModel::Additive),
            Err(AnalyticsError::TooShort { .. })
        ));
    }
}
