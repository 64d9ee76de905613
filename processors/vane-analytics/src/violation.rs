//! Probability that a series leaves a range within the next H points, from the joint
//! distribution of the forecast path, calibrated on the series' own past.
//!
//! "Leaves" means any of the next `horizon` values is below `min` or above `max` (either bound
//! optional). Monte Carlo paths are drawn from the fitted model's joint path distribution, so
//! autocorrelated steps are not treated as independent. The paths resample the model's recent
//! one-step errors and the series' own recent windows ([`ForecastModel::bootstrap_paths`]): on
//! real series a normal law with the residual variance puts far too much mass on "some step
//! leaves a tight range" (the backtest in docs/analytics.md measures this).
//!
//! The two halves of that mixture are then weighed by a self-backtest: the same computation at
//! 120 earlier origins of the recorded history ([`ForecastModel::hindcasts`]), scored against
//! what the series did after each, picks the weight of the model half and an exponent (a
//! [`Calibration`]) by Brier score. Everything it uses lies before the end of the fitted sample. The
//! equal mixture was too high in the middle (predicted 0.3-0.6, observed 0.20-0.25 on the NAB
//! backtest). Deterministic given the seed.

use serde::Serialize;

use crate::error::{AnalyticsError, Result};
use crate::forecast::{ForecastModel, Hindcast};

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

/// Number of Monte Carlo paths, half of them model paths and half analogues: the standard error of
/// either half's share is at most 0.005, and of the equal mixture at most 0.0035 (a calibration
/// exponent above 1 can multiply it by up to 2.5).
pub const DEFAULT_PATHS: usize = 20_000;

/// Probability that any of the next `horizon` values (at most the model's horizon) leaves
/// `[min, max]`: [`calibrate`] then [`violation_probability_calibrated`].
pub fn violation_probability(
    model: &ForecastModel,
    min: Option<f64>,
    max: Option<f64>,
    horizon: usize,
    paths: usize,
    seed: u64,
) -> Result<Violation> {
    let calibration = calibrate(model, min, max, horizon)?;
    violation_probability_calibrated(model, min, max, horizon, paths, seed, &calibration)
}

/// How much the model half and the analogue half count for this range, chosen on the model's
/// hindcasts (about 85 % of the cost of a probability with 2,000 paths, docs/benchmarks.md). It
/// depends on the model's parameters and history, the range and the horizon, so a caller that
/// refilters a model can keep it until the next refit.
pub fn calibrate(model: &ForecastModel, min: Option<f64>, max: Option<f64>, horizon: usize) -> Result<Calibration> {
    Ok(match bounds(model, min, max, horizon)? {
        Some((lo, hi)) => Calibration::fitted(&model.hindcasts(horizon, lo, hi, hindcast_origins(horizon))),
        None => Calibration::EQUAL,
    })
}

/// [`violation_probability`] with a calibration computed before (see [`calibrate`]).
pub fn violation_probability_calibrated(
    model: &ForecastModel,
    min: Option<f64>,
    max: Option<f64>,
    horizon: usize,
    paths: usize,
    seed: u64,
    calibration: &Calibration,
) -> Result<Violation> {
    let Some((lo, hi)) = bounds(model, min, max, horizon)? else {
        return Ok(Violation {
            min,
            max,
            horizon,
            probability: 0.0,
        });
    };
    let counts = model.bootstrap_counts(paths.max(1), seed, horizon, (lo, hi));
    let share = |(hits, n): (usize, usize)| hits as f64 / n.max(1) as f64;
    let [model_half, analogue_half] = counts;
    let probability = if analogue_half.1 > 0 {
        calibration.apply(share(model_half), share(analogue_half))
    } else {
        share(model_half)
    };
    Ok(Violation {
        min,
        max,
        horizon,
        probability,
    })
}

/// The checked range as `(lo, hi)` with infinite missing bounds; `None` without any bound.
fn bounds(model: &ForecastModel, min: Option<f64>, max: Option<f64>, horizon: usize) -> Result<Option<(f64, f64)>> {
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
        return Ok(None);
    }
    Ok(Some((min.unwrap_or(f64::NEG_INFINITY), max.unwrap_or(f64::INFINITY))))
}

/// Earlier origins of the series' own history at which the model's answer is checked, for a
/// horizon of 10 points or more: about 4,200 model paths (every eighth error block at each) and
/// the analogue windows, about 0.6 ms a call on a 4,032-point series (docs/analytics.md has the
/// timings).
pub const HINDCAST_ORIGINS: usize = 120;

/// Most origins for a short horizon (see [`hindcast_origins`]).
const MAX_HINDCAST_ORIGINS: usize = 1200;

/// Origins for `horizon`: [`HINDCAST_ORIGINS`] windows of 10 points or more, and for a shorter
/// horizon as many more as keep the path steps the same (up to [`MAX_HINDCAST_ORIGINS`]). A
/// short window leaves its range rarely, and with few such events among 120 hindcasts the
/// calibration followed their noise (docs/analytics.md, "Short horizons").
pub fn hindcast_origins(horizon: usize) -> usize {
    (HINDCAST_ORIGINS * 10 / horizon.max(1)).clamp(HINDCAST_ORIGINS, MAX_HINDCAST_ORIGINS)
}

/// How the two halves of the bootstrap mixture make the probability: `(w m + (1 - w) a)^k` for
/// the shares `m` of model paths and `a` of analogue paths that leave the range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Weight of the model paths.
    pub w: f64,
    /// Exponent: above 1 lowers middling probabilities more than high ones.
    pub k: f64,
}

impl Calibration {
    /// The equal mixture, kept when the hindcasts cannot tell anything better.
    pub const EQUAL: Calibration = Calibration { w: 0.5, k: 1.0 };

    fn apply(&self, model: f64, analogue: f64) -> f64 {
        // Written so that equal shares come back exactly (a certain event stays 1.0).
        (analogue + self.w * (model - analogue)).clamp(0.0, 1.0).powf(self.k)
    }

    /// Sum of squared errors (the Brier score times the count) over the hindcasts.
    fn score(&self, hindcasts: &[Hindcast]) -> f64 {
        let mut total = 0.0;
        for c in hindcasts {
            total += (self.apply(c.model, c.analogue) - f64::from(u8::from(c.left))).powi(2);
        }
        total
    }

    /// The blend on a small grid (weights 0, 0.1, ..., 1; exponents 1 to 2.5) with the lowest
    /// Brier score on the hindcasts; the equal mixture unless another is strictly better.
    fn fitted(hindcasts: &[Hindcast]) -> Calibration {
        let mut best = Calibration::EQUAL;
        let mut best_score = best.score(hindcasts);
        for k in [1.0, 1.25, 1.5, 1.75, 2.0, 2.5] {
            for tenths in 0..=10 {
                let b = Calibration {
                    w: f64::from(tenths) / 10.0,
                    k,
                };
                let s = b.score(hindcasts);
                if s < best_score - 1e-12 {
                    best = b;
                    best_score = s;
                }
            }
        }
        best
    }
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

    fn hindcast(model: f64, analogue: f64, left: bool) -> Hindcast {
        Hindcast { model, analogue, left }
    }

    #[test]
    fn a_rare_one_step_event_keeps_its_probability() {
        // White noise N(100, 1) leaves [98, 102] at a step with probability 0.0455. With 120
        // hindcasts (about five events) the calibration followed their count: 12 of 60 such
        // series got under 0.03 (docs/analytics.md, "Short horizons").
        for seed in 0..6 {
            let mut rng = crate::rng::Rng::new(100 + seed);
            let y: Vec<f64> = (0..2000).map(|_| 100.0 + rng.normal()).collect();
            let m = ForecastModel::from_arima(&fit(&y, Order { p: 1, d: 0, q: 0 }).unwrap(), 10).with_support_of(&y);
            let v = violation_probability(&m, Some(98.0), Some(102.0), 1, DEFAULT_PATHS, seed).unwrap();
            assert!((0.03..0.065).contains(&v.probability), "seed {seed}: {v:?}");
        }
    }

    #[test]
    fn the_blend_follows_the_half_that_was_right_and_keeps_the_equal_mixture_without_evidence() {
        assert_eq!(Calibration::fitted(&[]), Calibration::EQUAL);
        // The model half said 0.9 every time and nothing happened; the analogues said 0.1.
        let calm: Vec<Hindcast> = (0..40).map(|_| hindcast(0.9, 0.1, false)).collect();
        let b = Calibration::fitted(&calm);
        assert_eq!(b.w, 0.0);
        assert!(b.apply(0.9, 0.1) < 0.1 + 1e-12);
        // The analogues were the ones that missed: half of the time the series left.
        let busy: Vec<Hindcast> = (0..40).map(|i| hindcast(0.5, 0.05, i % 2 == 0)).collect();
        let b = Calibration::fitted(&busy);
        assert_eq!((b.w, b.k), (1.0, 1.0));
        assert!(Calibration { w: 0.3, k: 2.0 }.apply(1.0, 1.0) <= 1.0);
    }

    #[test]
    fn calibrated_probability_stays_in_the_unit_interval_and_is_seeded() {
        // A series with a floor and spikes: the analogue half and the hindcasts are active.
        let y: Vec<f64> = (0..1500)
            .map(|t| {
                if t % 37 < 3 {
                    40.0 + (t % 5) as f64
                } else {
                    10.0 + ((t * 7919) % 7) as f64
                }
            })
            .collect();
        let m = ForecastModel::from_arima(&fit(&y, Order { p: 1, d: 0, q: 0 }).unwrap(), 10).with_support_of(&y);
        assert!(!m.hindcasts(10, 5.0, 30.0, HINDCAST_ORIGINS).is_empty());
        for (lo, hi) in [(Some(5.0), Some(30.0)), (None, Some(16.0)), (Some(12.0), None)] {
            let v = violation_probability(&m, lo, hi, 10, 4000, 3).unwrap();
            assert!((0.0..=1.0).contains(&v.probability), "{v:?}");
            assert_eq!(violation_probability(&m, lo, hi, 10, 4000, 3).unwrap(), v);
        }
        // Every path and every hindcast agree: certain and impossible stay exact.
        assert_eq!(violation_probability(&m, None, Some(-100.0), 10, 4000, 3).unwrap().probability, 1.0);
        assert_eq!(
            violation_probability(&m, Some(-1e9), Some(1e9), 10, 4000, 3).unwrap().probability,
            0.0
        );
        // Spikes every 37 points: ten steps above 30 are not certain, and not impossible.
        let v = violation_probability(&m, None, Some(30.0), 10, 4000, 3).unwrap();
        assert!(v.probability > 0.05 && v.probability < 0.95, "{v:?}");
    }

    #[test]
    fn a_kept_calibration_gives_the_same_probability_and_a_bad_range_is_refused_by_both() {
        let y: Vec<f64> = (0..1500)
            .map(|t| if t % 37 < 3 { 40.0 } else { 10.0 + ((t * 7919) % 7) as f64 })
            .collect();
        let m = ForecastModel::from_arima(&fit(&y, Order { p: 1, d: 0, q: 0 }).unwrap(), 10).with_support_of(&y);
        let c = calibrate(&m, None, Some(30.0), 10).unwrap();
        let kept = violation_probability_calibrated(&m, None, Some(30.0), 10, 4000, 3, &c).unwrap();
        assert_eq!(kept, violation_probability(&m, None, Some(30.0), 10, 4000, 3).unwrap());
        // Another calibration moves the answer: the kept one is really used.
        let other = Calibration {
            w: 1.0 - c.w,
            k: c.k + 1.0,
        };
        let moved = violation_probability_calibrated(&m, None, Some(30.0), 10, 4000, 3, &other).unwrap();
        assert_ne!(moved.probability, kept.probability);
        assert_eq!(calibrate(&m, None, None, 10).unwrap(), Calibration::EQUAL);
        assert!(calibrate(&m, Some(2.0), Some(1.0), 10).is_err());
        assert!(violation_probability_calibrated(&m, Some(2.0), Some(1.0), 10, 10, 3, &c).is_err());
        assert!(calibrate(&m, None, Some(1.0), 11).is_err());
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
