//! Probability that a series leaves a range within the next H points, from the joint
//! distribution of the forecast path.
//!
//! "Leaves" means any of the next `horizon` values is below `min` or above `max` (either bound
//! optional). The probability is the share of Monte Carlo paths drawn from the fitted model's
//! joint path distribution that leave the range, so autocorrelated steps are not treated as
//! independent. The paths resample the model's recent one-step errors
//! ([`ForecastModel::bootstrap_paths`]): on real series a normal law with the residual variance
//! puts far too much mass on "some step leaves a tight range" (the backtest in
//! docs/analytics.md measures this). Deterministic given the seed.

use serde::Serialize;

use crate::error::{AnalyticsError, Result};
use crate::forecast::ForecastModel;

/// The `violation` object of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// Lower bound, if any.
    pub min: Option<f64>,
    /// Upper bound, if any.
    pub max: Option<f64>,
    /// Steps considered.
    pub horizon: usize,
    /// Probability that any of the steps falls outside.
    pub probability: f64,
}

/// Number of Monte Carlo paths: the standard error of a probability is at most 0.0035.
pub const DEFAULT_PATHS: usize = 20_000;

/// Probability that any of the next `horizon` values (at most the model's horizon) leaves
/// `[min, max]`.
pub fn violation_probability(
    model: &ForecastModel,
    min: Option<f64>,
    max: Option<f64>,
    horizon: usize,
    paths: usize,
    seed: u64,
) -> Result<Violation> {
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        return Err(AnalyticsError::InvalidArgument {
            name: "range",
            reason: format!("min {lo} is above max {hi}"),
        });
    }
    if horizon == 0 || horizon > model.horizon() {
        return Err(AnalyticsError::InvalidArgument {
            name: "horizon",
            reason: format!("must be between 1 and {}, got {horizon}", model.horizon()),
        });
    }
    if min.is_none() && max.is_none() {
        return Ok(Violation {
            min,
            max,
            horizon,
            probability: 0.0,
        });
    }
    let sampled = model.bootstrap_paths(paths.max(1), seed);
    let lo = min.unwrap_or(f64::NEG_INFINITY);
    let hi = max.unwrap_or(f64::INFINITY);
    let mut hits = 0usize;
    for path in &sampled {
        if path.iter().take(horizon).any(|v| *v < lo || *v > hi) {
            hits += 1;
        }
    }
    Ok(Violation {
        min,
        max,
        horizon,
        probability: hits as f64 / sampled.len() as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arima::{Order, fit};
    use crate::normal::norm_cdf;

    fn walk_fit() -> crate::arima::Arima {
        let y: Vec<f64> = (0..200).map(|t| 100.0 + ((t * 7919) % 13) as f64 - 6.0).collect();
        fit(&y, Order { p: 0, d: 0, q: 0 }).unwrap()
    }

    fn walk_model() -> ForecastModel {
        ForecastModel::from_arima(&walk_fit(), 10)
    }

    #[test]
    fn one_step_probability_matches_the_residual_tail() {
        let a = walk_fit();
        let m = walk_model();
        let mean = m.mean[0];
        let expected = a.resid().iter().filter(|e| **e > 2.5).count() as f64 / a.resid().len() as f64;
        let v = violation_probability(&m, None, Some(mean + 2.5), 1, 200_000, 1).unwrap();
        assert!((v.probability - expected).abs() < 0.005, "{} vs {expected}", v.probability);
    }

    #[test]
    fn gaussian_paths_match_the_normal_tail() {
        let m = walk_model();
        let mean = m.mean[0];
        let (lo, hi) = m.intervals(0.6826894921370859);
        let sigma = hi[0] - mean;
        let paths = m.sample_paths(200_000, 1);
        let share = paths.iter().filter(|p| p[0] > mean + sigma).count() as f64 / paths.len() as f64;
        let exact = 1.0 - norm_cdf(1.0);
        assert!((share - exact).abs() < 0.005, "{share} vs {exact}");
        assert!(lo[0] < mean);
    }

    #[test]
    fn more_steps_never_lower_the_probability_and_wide_ranges_are_safe() {
        let m = walk_model();
        let mean = m.mean[0];
        let p1 = violation_probability(&m, Some(mean - 5.0), Some(mean + 5.0), 1, 5000, 7).unwrap();
        let p10 = violation_probability(&m, Some(mean - 5.0), Some(mean + 5.0), 10, 5000, 7).unwrap();
        assert!(p10.probability >= p1.probability);
        let safe = violation_probability(&m, Some(-1e9), Some(1e9), 10, 5000, 7).unwrap();
        assert_eq!(safe.probability, 0.0);
        assert!(violation_probability(&m, Some(2.0), Some(1.0), 10, 10, 7).is_err());
        let again = violation_probability(&m, Some(mean - 5.0), Some(mean + 5.0), 10, 5000, 7).unwrap();
        assert_eq!(again, p10);
    }
}
