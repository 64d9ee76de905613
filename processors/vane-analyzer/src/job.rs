//! One analysis of one series' window: the analytics core's whole analysis, with the forecast
//! model refitted on a slower cadence and refiltered over the new window in between, turned into
//! a `SeriesAnalysis` event. Pure apart from the caller's stopwatch.

use vane_analytics::forecast::{Candidates, ForecastModel, ForecastOptions, fit_candidates};
use vane_analytics::{AnalyzeOptions, Calibration, Report, Series, analyze_with};
use vane_core::{Labels, SeriesId};
use vane_events::Envelope;
use vane_events::SeriesAnalysisEvent;
use vane_events::analysis::{AnalysisWindow, Autocorrelation, Decomposition, DickeyFuller, Forecast, HodrickPrescott, ViolationForecast};

/// The forecast model a series keeps between analyses.
#[derive(Debug, Clone)]
pub struct CachedModel {
    pub model: ForecastModel,
    /// When its parameters were estimated.
    pub fitted_at_ms: i64,
    /// Timestamps of the window it last ran over (to line the next window up with it).
    pub timestamps_ms: Vec<i64>,
    /// The period it was fitted with, and its horizon in points (a change of the series'
    /// interval that changes the horizon forces a refit).
    pub period: Option<usize>,
    pub horizon: usize,
    /// The violation calibration of each SLA range, chosen on this fit's hindcasts: kept while
    /// the model is only refiltered (about 85 % of a probability's cost), dropped at a refit.
    pub calibrations: Vec<KeptCalibration>,
}

/// A range's calibration, kept with the model it was chosen for.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptCalibration {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub calibration: Calibration,
}

/// Everything one analysis needs; owned, so that it can cross to a pool thread.
#[derive(Debug, Clone)]
pub struct Job {
    pub series_id: SeriesId,
    pub name: String,
    pub labels: Labels,
    pub analyzed_at_ms: i64,
    pub timestamps_ms: Vec<i64>,
    pub values: Vec<f64>,
    pub cached: Option<CachedModel>,
    /// Estimate the forecast model's parameters again even when a cached model could be kept.
    pub refit: bool,
    /// Ship the per-point parts (window, HP trend/cycle, decomposition) in the event.
    pub include_points: bool,
    /// The SLA ranges on the series: the analysis says how likely each is left within the
    /// forecast horizon.
    pub ranges: Vec<RangeCheck>,
}

/// One SLA's allowed range on the analysed series.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeCheck {
    pub sla_id: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// How every series is analysed.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub options: AnalyzeOptions,
    /// Forecast horizon as a duration: turned into points from the series' median interval.
    pub horizon_ms: i64,
    /// Most forecast points, whatever the interval.
    pub max_horizon: usize,
    /// Simulated paths behind a nonlinear model's intervals.
    pub interval_paths: usize,
    /// Monte Carlo paths behind each SLA range's violation probability.
    pub violation_paths: usize,
}

/// What one analysis produced.
#[derive(Debug)]
pub struct Done {
    pub series_id: SeriesId,
    pub event: SeriesAnalysisEvent,
    /// The model to keep for the next analysis (`None` when no forecast could be fitted).
    pub cached: Option<CachedModel>,
    /// True when the forecast model was refitted (not refiltered).
    pub refitted: bool,
}

/// The median gap between consecutive timestamps, ignoring repeats.
pub fn median_step_ms(timestamps_ms: &[i64]) -> Option<i64> {
    let mut gaps: Vec<i64> = timestamps_ms
        .iter()
        .zip(timestamps_ms.iter().skip(1))
        .map(|(a, b)| b - a)
        .filter(|g| *g > 0)
        .collect();
    if gaps.is_empty() {
        return None;
    }
    let middle = gaps.len() / 2;
    let (_, median, _) = gaps.select_nth_unstable(middle);
    Some(*median)
}

/// Runs the analysis of `job`. `stopwatch` returns a monotonic time in milliseconds.
pub fn run(job: Job, settings: &JobSettings, stopwatch: &mut dyn FnMut() -> f64) -> Done {
    let started = stopwatch();
    let step_ms = median_step_ms(&job.timestamps_ms).unwrap_or(1_000).max(1);
    let horizon = usize::try_from(settings.horizon_ms / step_ms)
        .unwrap_or(1)
        .clamp(1, settings.max_horizon.max(1));
    let reusing = job.cached.as_ref().filter(|c| !job.refit && c.horizon == horizon);
    let options = AnalyzeOptions {
        horizon,
        // Between refits the period found at the last fit stands (detection costs more than
        // the decomposition, and a flickering period would move the decomposition around).
        period: settings.options.period.or(reusing.and_then(|c| c.period)),
        all_forecasts: false,
        ..settings.options.clone()
    };
    let seconds: Vec<i64> = job.timestamps_ms.iter().map(|t| t.div_euclid(1000)).collect();
    let series = match Series::new(seconds, job.values.clone()) {
        Ok(series) => series,
        Err(error) => return failed(job, &error.to_string(), stopwatch() - started),
    };

    let mut kept: Option<(ForecastModel, Option<usize>)> = None;
    let mut refitted = false;
    let cached = job.cached.as_ref();
    let first_ms = job.timestamps_ms.first().copied().unwrap_or(0);
    let mut forecaster = |y: &[f64], fopts: &ForecastOptions| -> vane_analytics::Result<Candidates> {
        // The model keeps the period it was fitted with until the next refit: a detection that
        // flickers between analyses must not force refits.
        let reusable = cached.filter(|c| !job.refit && c.horizon == fopts.horizon);
        if let Some(c) = reusable {
            let skip = c.timestamps_ms.partition_point(|t| *t < first_ms);
            if let Ok(model) = c.model.refilter(y, skip) {
                kept = Some((model.clone(), fopts.period));
                return Ok(Candidates {
                    models: vec![model],
                    served: 0,
                    failed: Vec::new(),
                });
            }
        }
        refitted = true;
        let mut candidates = fit_candidates(y, fopts)?;
        candidates.models = candidates
            .models
            .into_iter()
            .map(|m| m.with_interval_paths(settings.interval_paths))
            .collect();
        kept = candidates.models.get(candidates.served).map(|m| (m.clone(), fopts.period));
        Ok(candidates)
    };
    let report = analyze_with(&series, &options, stopwatch, &mut forecaster);
    let fitted_at_ms = match (&job.cached, refitted) {
        (Some(c), false) => c.fitted_at_ms,
        _ => job.analyzed_at_ms,
    };
    let known = match (&job.cached, refitted) {
        (Some(c), false) => c.calibrations.as_slice(),
        _ => &[],
    };
    let (violations, calibrations) = match &kept {
        Some((model, _)) => violation_forecasts(&job, model, step_ms, settings.violation_paths, known),
        None => (Vec::new(), Vec::new()),
    };
    let cached = kept.map(|(model, period)| CachedModel {
        model,
        fitted_at_ms,
        timestamps_ms: job.timestamps_ms.clone(),
        period,
        horizon,
        calibrations,
    });
    let compute_ms = stopwatch() - started;
    let mut event = event_of(job, &report, &options, step_ms, fitted_at_ms, compute_ms);
    event.violations = violations;
    Done {
        series_id: event.series_id,
        event,
        cached,
        refitted,
    }
}

/// The probability that each SLA range is left within the model's horizon, from the joint
/// distribution of the forecast path. Seeded by series and time: the same analysis gives the
/// same numbers. A range calibrated for this fit before (`known`) keeps its calibration; the
/// calibrations of the current ranges are returned to be kept.
fn violation_forecasts(
    job: &Job,
    model: &ForecastModel,
    step_ms: i64,
    paths: usize,
    known: &[KeptCalibration],
) -> (Vec<ViolationForecast>, Vec<KeptCalibration>) {
    let horizon = model.horizon();
    let seed = job.series_id.0 ^ job.analyzed_at_ms as u64;
    let mut forecasts = Vec::with_capacity(job.ranges.len());
    let mut calibrations: Vec<KeptCalibration> = Vec::with_capacity(job.ranges.len());
    for range in &job.ranges {
        let same = |k: &&KeptCalibration| k.min == range.min && k.max == range.max;
        let calibration = match known.iter().chain(calibrations.iter()).find(same) {
            Some(k) => Ok(k.calibration),
            None => vane_analytics::calibrate(model, range.min, range.max, horizon),
        };
        let probability = calibration.and_then(|c| {
            if !calibrations.iter().any(|k| same(&k)) {
                calibrations.push(KeptCalibration {
                    min: range.min,
                    max: range.max,
                    calibration: c,
                });
            }
            vane_analytics::violation_probability_calibrated(model, range.min, range.max, horizon, paths, seed, &c)
        });
        match probability {
            Ok(v) => forecasts.push(ViolationForecast {
                sla_id: range.sla_id.clone(),
                min: range.min,
                max: range.max,
                horizon_ms: horizon as i64 * step_ms,
                probability: v.probability,
            }),
            Err(error) => tracing::debug!(sla = %range.sla_id, %error, "no violation probability"),
        }
    }
    (forecasts, calibrations)
}

fn failed(job: Job, reason: &str, compute_ms: f64) -> Done {
    let missing = ["adf", "hp", "acf", "pacf", "decomposition", "forecast"]
        .iter()
        .map(|part| (part.to_string(), reason.to_string()))
        .collect();
    Done {
        series_id: job.series_id,
        event: SeriesAnalysisEvent {
            envelope: Envelope::new(
                job.timestamps_ms.last().copied().unwrap_or(job.analyzed_at_ms),
                job.analyzed_at_ms,
                "analytics",
            ),
            series_id: job.series_id,
            name: job.name,
            labels: job.labels,
            analyzed_at_ms: job.analyzed_at_ms,
            compute_ms,
            window_start_ms: job.timestamps_ms.first().copied().unwrap_or(job.analyzed_at_ms),
            window_end_ms: job.timestamps_ms.last().copied().unwrap_or(job.analyzed_at_ms),
            points: job.timestamps_ms.len() as u64,
            timestamps_ms: job.timestamps_ms,
            values: job.values,
            aggregates: Vec::new(),
            adf: None,
            hp: None,
            acf: None,
            pacf: None,
            decomposition: None,
            forecast: None,
            violations: Vec::new(),
            missing,
        },
        cached: None,
        refitted: false,
    }
}

fn or_nan(values: &[Option<f64>]) -> Vec<f64> {
    values.iter().map(|v| v.unwrap_or(f64::NAN)).collect()
}

fn event_of(job: Job, r: &Report, options: &AnalyzeOptions, step_ms: i64, fitted_at_ms: i64, compute_ms: f64) -> SeriesAnalysisEvent {
    let aggregates = r
        .aggregates
        .0
        .iter()
        .filter_map(|(label, stats)| {
            stats.as_ref().map(|s| AnalysisWindow {
                window: label.clone(),
                max: s.max,
                min: s.min,
                mean: s.mean,
                std: s.std,
                count: s.count as u64,
            })
        })
        .collect();
    let adf = r.adf.as_ref().map(|a| DickeyFuller {
        statistic: a.statistic,
        pvalue: a.pvalue,
        used_lag: a.usedlag as u64,
        nobs: a.nobs as u64,
        critical_1pct: a.critical.one,
        critical_5pct: a.critical.five,
        critical_10pct: a.critical.ten,
        stationary: a.stationary,
        regression: options.regression.name().to_string(),
        autolag: options.autolag.name().to_string(),
    });
    // Without the per-point parts, HP and the decomposition say only that they were computed
    // (and with which lambda, model and period).
    let keep = job.include_points;
    let per_point = |values: &[f64]| if keep { values.to_vec() } else { Vec::new() };
    let hp = r.hp.as_ref().map(|h| HodrickPrescott {
        lambda: h.lambda,
        trend: per_point(&h.trend),
        cycle: per_point(&h.cycle),
    });
    let acf = match (&r.acf, &r.acf_confint) {
        (Some(acf), Some(confint)) => Some(Autocorrelation {
            acf: acf.clone(),
            confint_lower: confint.iter().map(|c| c[0]).collect(),
            confint_upper: confint.iter().map(|c| c[1]).collect(),
        }),
        _ => None,
    };
    let decomposition = r.decomposition.as_ref().map(|d| Decomposition {
        model: d.model.name().to_string(),
        period: d.period as u64,
        trend: per_point(&or_nan(&d.trend)),
        seasonal: per_point(&or_nan(&d.seasonal)),
        resid: per_point(&or_nan(&d.resid)),
    });
    let forecast = r.forecast.as_ref().map(|f| Forecast {
        model: f.model.clone(),
        level: f.level,
        fitted_at_ms,
        step_ms,
        mean: f.mean.clone(),
        lower: f.lower.clone(),
        upper: f.upper.clone(),
    });
    // STL and the violation probability are not part of the live analysis.
    let missing = r
        .missing
        .0
        .iter()
        .filter(|(part, _)| part != "stl" && part != "violation" && part != "acf_confint")
        .cloned()
        .collect();
    let last_ms = job.timestamps_ms.last().copied().unwrap_or(job.analyzed_at_ms);
    let first_ms = job.timestamps_ms.first().copied().unwrap_or(job.analyzed_at_ms);
    let points = job.timestamps_ms.len() as u64;
    let (timestamps_ms, values) = if keep {
        (job.timestamps_ms, job.values)
    } else {
        (Vec::new(), Vec::new())
    };
    SeriesAnalysisEvent {
        envelope: Envelope::new(last_ms, job.analyzed_at_ms, "analytics"),
        series_id: job.series_id,
        name: job.name,
        labels: job.labels,
        analyzed_at_ms: job.analyzed_at_ms,
        compute_ms,
        window_start_ms: first_ms,
        window_end_ms: last_ms,
        points,
        timestamps_ms,
        values,
        aggregates,
        adf,
        hp,
        acf,
        pacf: r.pacf.clone(),
        decomposition,
        forecast,
        violations: Vec::new(),
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: usize, refit: bool, cached: Option<CachedModel>) -> Job {
        let start = 1_700_000_000_000_i64;
        let timestamps_ms: Vec<i64> = (0..n as i64).map(|i| start + i * 15_000).collect();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let values = (0..n)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let noise = (state >> 11) as f64 / (1u64 << 53) as f64;
                100.0 + 10.0 * ((i % 40) as f64 / 40.0 * std::f64::consts::TAU).sin() + 2.0 * noise
            })
            .collect();
        Job {
            series_id: SeriesId(7),
            name: "m".into(),
            labels: Labels::new(),
            analyzed_at_ms: start + n as i64 * 15_000,
            timestamps_ms,
            values,
            cached,
            refit,
            include_points: true,
            ranges: Vec::new(),
        }
    }

    fn settings() -> JobSettings {
        JobSettings {
            options: AnalyzeOptions {
                stl: false,
                ..AnalyzeOptions::default()
            },
            horizon_ms: 600_000,
            max_horizon: 100,
            interval_paths: 1000,
            violation_paths: 2000,
        }
    }

    #[test]
    fn a_full_analysis_then_a_refiltered_one() {
        let first = run(job(600, false, None), &settings(), &mut || 0.0);
        assert!(first.refitted);
        let e = &first.event;
        assert!(
            e.adf.is_some() && e.hp.is_some() && e.acf.is_some() && e.pacf.is_some(),
            "{:?}",
            e.missing
        );
        assert_eq!(e.decomposition.as_ref().map(|d| d.period), Some(40), "{:?}", e.missing);
        let forecast = e.forecast.as_ref().unwrap();
        assert_eq!((forecast.mean.len(), forecast.step_ms), (40, 15_000));
        assert_eq!(e.hp.as_ref().unwrap().trend.len(), 600);
        assert!(!e.missing.contains_key("stl"));

        // Next minute: four new points, four dropped; the cached model is refiltered.
        let mut next = job(604, false, first.cached.clone());
        next.timestamps_ms.drain(..4);
        next.values.drain(..4);
        let second = run(next.clone(), &settings(), &mut || 0.0);
        assert!(!second.refitted);
        let f2 = second.event.forecast.as_ref().unwrap();
        assert_eq!(f2.model, forecast.model);
        assert_eq!(f2.fitted_at_ms, first.event.analyzed_at_ms);
        // Asked to refit, it fits again.
        next.refit = true;
        let third = run(next.clone(), &settings(), &mut || 0.0);
        assert!(third.refitted);
        assert_eq!(third.event.forecast.unwrap().fitted_at_ms, third.event.analyzed_at_ms);
        // Without the per-point parts: the window is described, not shipped.
        next.include_points = false;
        let light = run(next, &settings(), &mut || 0.0).event;
        assert!(light.timestamps_ms.is_empty() && light.values.is_empty());
        assert_eq!(light.points, 600);
        assert!(light.hp.as_ref().is_some_and(|h| h.trend.is_empty() && h.lambda == 1600.0));
        assert!(light.decomposition.as_ref().is_some_and(|d| d.trend.is_empty() && d.period == 40));
    }

    fn range(sla_id: &str, min: Option<f64>, max: Option<f64>) -> RangeCheck {
        RangeCheck {
            sla_id: sla_id.into(),
            min,
            max,
        }
    }

    #[test]
    fn calibrations_are_kept_while_the_model_is_refiltered_and_dropped_at_a_refit() {
        let mut first_job = job(600, false, None);
        first_job.ranges = vec![
            range("a", Some(92.0), Some(108.0)),
            range("b", None, Some(111.0)),
            range("c", Some(92.0), Some(108.0)),
        ];
        let first = run(first_job, &settings(), &mut || 0.0);
        assert_eq!(first.event.violations.len(), 3);
        let mut cached = first.cached.clone().unwrap();
        // Two distinct ranges, one calibration each.
        assert_eq!(cached.calibrations.len(), 2);
        // Next minute, refiltered: a planted calibration for range "a" must be the one used.
        let planted = Calibration { w: 1.0, k: 2.5 };
        cached.calibrations[0].calibration = planted;
        let mut next = job(604, false, Some(cached.clone()));
        next.timestamps_ms.drain(..4);
        next.values.drain(..4);
        next.ranges = vec![range("a", Some(92.0), Some(108.0)), range("d", Some(95.0), None)];
        let second = run(next.clone(), &settings(), &mut || 0.0);
        assert!(!second.refitted);
        let kept = second.cached.as_ref().unwrap();
        let model = &kept.model;
        let seed = next.series_id.0 ^ next.analyzed_at_ms as u64;
        let expected =
            vane_analytics::violation_probability_calibrated(model, Some(92.0), Some(108.0), model.horizon(), 2000, seed, &planted)
                .unwrap();
        assert_eq!(second.event.violations[0].probability, expected.probability);
        // The planted one is kept, the new range got its own, the dropped range's is gone.
        assert_eq!(kept.calibrations.len(), 2);
        assert_eq!(kept.calibrations[0].calibration, planted);
        assert_eq!((kept.calibrations[1].min, kept.calibrations[1].max), (Some(95.0), None));
        // A refit chooses again from its own hindcasts.
        next.refit = true;
        let third = run(next, &settings(), &mut || 0.0);
        assert!(third.refitted);
        let fresh = &third.cached.as_ref().unwrap();
        let chosen = vane_analytics::calibrate(&fresh.model, Some(92.0), Some(108.0), fresh.model.horizon()).unwrap();
        assert_ne!(chosen, planted);
        assert_eq!(fresh.calibrations[0].calibration, chosen);
    }

    #[test]
    fn short_series_get_the_parts_they_can_and_say_why() {
        let done = run(job(12, false, None), &settings(), &mut || 0.0);
        let e = &done.event;
        assert!(!e.aggregates.is_empty());
        assert!(e.decomposition.is_none());
        assert!(e.missing.contains_key("decomposition"), "{:?}", e.missing);
    }

    #[test]
    fn median_step_ignores_repeats() {
        assert_eq!(median_step_ms(&[0, 0, 10, 20, 20, 35]), Some(10));
        assert_eq!(median_step_ms(&[5]), None);
    }
}
