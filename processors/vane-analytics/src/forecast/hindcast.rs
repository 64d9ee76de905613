//! The fitted model seen from earlier points of its own recent history: what it would have said
//! there about a range, and what the series then did. This is the self-backtest behind the
//! calibration of the violation probability ([`crate::violation`]); it uses the stored fit (its
//! states, errors and recorded history) and no point after the end of the fitted sample.
//!
//! At an earlier origin the model's parameters, and the floor, ceiling and value grid of its
//! paths, are those of the whole sample, so the hindcasts are slightly better informed than the
//! model was then; the outcomes they are scored against all lie inside the sample.

use super::paths::{INNOVATION_WINDOW, level_at};
use super::{ForecastModel, Source};

/// What the model said at one earlier origin about a range, and what happened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hindcast {
    /// Share of the bootstrap model paths (every `BLOCK_STRIDE`-th block of recent errors) that
    /// leave the range.
    pub model: f64,
    /// Share of the analogue windows before the origin that leave the range.
    pub analogue: f64,
    /// The series left the range within the horizon after the origin.
    pub left: bool,
}

/// Every how many error blocks a hindcast's model share counts: neighbouring blocks share all but
/// one error, and on the calibration backtest every 2nd, 4th and 8th block gave the same Brier
/// scores to 0.0005 (docs/analytics.md), at a quarter of the time of every 2nd.
const BLOCK_STRIDE: usize = 8;

fn outside(v: f64, lo: f64, hi: f64) -> bool {
    v < lo || v > hi
}

impl ForecastModel {
    /// Observations in the fitted sample.
    pub(super) fn end(&self) -> usize {
        match &self.source {
            Source::HoltWinters(m) => m.nobs,
            Source::Arima(m) => m.resid().len() + m.order.d,
        }
    }

    /// One-step errors of the fit and the sample index of the first one.
    pub(super) fn errors(&self) -> (&[f64], usize) {
        match &self.source {
            Source::HoltWinters(m) => (m.residuals(), 0),
            // Residual t belongs to observation t + d; the first p are the zeros CSS starts from.
            Source::Arima(m) => (m.resid().get(m.order.p..).unwrap_or(&[]), m.order.d + m.order.p),
        }
    }

    fn mean_from(&self, origin: usize, h: usize) -> Vec<f64> {
        match &self.source {
            Source::HoltWinters(m) => m.forecast_from(origin, h),
            Source::Arima(m) => m.forecast_from(origin, h),
        }
    }

    /// The `INNOVATION_WINDOW` errors before sample index `origin`, relative to the fitted value
    /// when the model's innovations are; `first` is the sample index of `history[0]`.
    fn innovations_before(&self, origin: usize, first: usize) -> Vec<f64> {
        let (errors, offset) = self.errors();
        let mut out = Vec::with_capacity(INNOVATION_WINDOW);
        for t in origin.saturating_sub(INNOVATION_WINDOW).max(offset)..origin {
            let Some(e) = errors.get(t - offset).copied().filter(|e| e.is_finite()) else {
                continue;
            };
            if !self.relative {
                out.push(e);
                continue;
            }
            let fitted = t.checked_sub(first).and_then(|i| self.history.get(i)).map(|v| v - e);
            if let Some(f) = fitted.filter(|f| *f > 0.0) {
                out.push(e / f);
            }
        }
        out
    }

    /// Hindcasts of "one of the next `h` points leaves `[lo, hi]`" at up to `origins` points
    /// spread evenly over the second half of the recorded history, each `h` points or more before
    /// its end. The shares are counted over a fixed set (every `BLOCK_STRIDE`-th error block, every
    /// analogue window) rather than sampled. Empty when the model has no recorded history or
    /// errors ([`Self::with_support_of`]).
    pub fn hindcasts(&self, h: usize, lo: f64, hi: f64, origins: usize) -> Vec<Hindcast> {
        let len = self.history.len();
        let Some(first) = self.end().checked_sub(len) else {
            return Vec::new();
        };
        if self.innovations.is_empty() || h == 0 || len < 4 * (h + 2) {
            return Vec::new();
        }
        let windows = AnalogueWindows::new(&self.history, &self.anchors, h, lo, hi, self.anchored);
        let (start, stop) = (len / 2, len - h);
        // No origin twice: a short series may have fewer candidate points (its second half less
        // the last h) than asked.
        let origins = origins.min(stop - start);
        let mut e = vec![0.0; h];
        let mut path = Vec::with_capacity(h);
        let test = self.range_test(lo, hi);
        let mut out = Vec::with_capacity(origins);
        for i in 0..origins {
            let t = start + (stop - start) * i / origins.max(1);
            let Some(future) = self.history.get(t..t + h) else {
                continue;
            };
            let mean = self.mean_from(first + t, h);
            let innovations = self.innovations_before(first + t, first);
            if innovations.is_empty() {
                continue;
            }
            let starts = innovations.len().saturating_sub(h) + 1;
            let (mut hits, mut blocks) = (0usize, 0usize);
            for s in (0..starts).step_by(BLOCK_STRIDE) {
                self.error_block(&innovations, s, &mean, &mut e);
                hits += usize::from(self.model_path_leaves(&mean, &e, first + t, &test, &mut path));
                blocks += 1;
            }
            out.push(Hindcast {
                model: hits as f64 / blocks.max(1) as f64,
                analogue: windows.share_before(t),
                left: future.iter().any(|v| outside(*v, lo, hi)),
            });
        }
        out
    }
}

/// The analogue windows of a history, reduced once so that the share that leaves a range is
/// cheap at every origin: whether each window left it, or for anchored analogues the lowest and
/// highest change within each window from the point before it.
struct AnalogueWindows<'a> {
    history: &'a [f64],
    /// The levels anchored changes are measured from (`history` when empty).
    anchors: &'a [f64],
    h: usize,
    lo: f64,
    hi: f64,
    /// `left[s]`: windows starting at `1..s` that left the range (plain analogues).
    left: Vec<usize>,
    /// Lowest and highest change of the window starting at `s` (anchored analogues).
    changes: Vec<(f64, f64)>,
}

impl<'a> AnalogueWindows<'a> {
    fn new(history: &'a [f64], anchors: &'a [f64], h: usize, lo: f64, hi: f64, anchored: bool) -> Self {
        let mut left = vec![0usize];
        let mut changes = Vec::new();
        for s in 1..history.len().saturating_sub(h) + 1 {
            let window = history.get(s..s + h).unwrap_or(&[]);
            if anchored {
                let base = level_at(anchors, history, s - 1).unwrap_or(0.0);
                let low = window.iter().fold(f64::INFINITY, |m, v| m.min(v - base));
                let high = window.iter().fold(f64::NEG_INFINITY, |m, v| m.max(v - base));
                changes.push((low, high));
            } else {
                let count = left.last().copied().unwrap_or(0);
                left.push(count + usize::from(window.iter().any(|v| outside(*v, lo, hi))));
            }
        }
        Self {
            history,
            anchors,
            h,
            lo,
            hi,
            left,
            changes,
        }
    }

    /// Share of the analogue paths at origin `t` (the windows starting at `1..=t - h` of the
    /// history before `t`) that leave the range, as [`ForecastModel::analogue_path`] builds them.
    fn share_before(&self, t: usize) -> f64 {
        let n = t.saturating_sub(self.h);
        if n == 0 {
            return 0.0;
        }
        if self.changes.is_empty() {
            return self.left.get(n).copied().unwrap_or(0) as f64 / n as f64;
        }
        let last = t
            .checked_sub(1)
            .and_then(|i| level_at(self.anchors, self.history, i))
            .unwrap_or(0.0);
        let mut hits = 0usize;
        for (low, high) in self.changes.iter().take(n) {
            hits += usize::from(last + low < self.lo || last + high > self.hi);
        }
        hits as f64 / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arima::{self, Order};
    use crate::ets::{self, Component, HwSpec};

    fn noisy(n: usize) -> Vec<f64> {
        (0..n)
            .map(|t| 20.0 + ((t * 7919) % 11) as f64 + if t % 53 == 0 { 15.0 } else { 0.0 })
            .collect()
    }

    /// Brute force: every analogue path of `history[..t]` built and checked.
    fn analogue_share(m: &ForecastModel, t: usize, h: usize, lo: f64, hi: f64) -> f64 {
        let past = &m.history[..t];
        let n = t - h;
        let hits = (1..=n)
            .filter(|s| m.analogue_path(past, *s, h).iter().any(|v| outside(*v, lo, hi)))
            .count();
        hits as f64 / n as f64
    }

    #[test]
    fn at_the_end_of_the_sample_a_hindcast_is_the_model_itself() {
        let y = noisy(900);
        let a = ForecastModel::from_arima(&arima::fit(&y, Order { p: 2, d: 1, q: 1 }).unwrap(), 10).with_support_of(&y);
        let first = a.end() - a.history.len();
        assert_eq!(a.end(), y.len());
        assert_eq!(a.mean_from(a.end(), 10), a.mean);
        assert_eq!(a.innovations_before(a.end(), first), a.innovations);
        let spec = HwSpec {
            trend: Component::Additive,
            damped: true,
            seasonal: Component::Multiplicative,
            period: 24,
        };
        let hw = ForecastModel::from_holt_winters(ets::fit(&y, spec).unwrap(), 10).with_support_of(&y);
        assert!(hw.relative, "a positive series resamples relative errors");
        assert_eq!(hw.mean_from(hw.end(), 10), hw.mean);
        assert_eq!(hw.innovations_before(hw.end(), 0), hw.innovations);
        // Simulated from an earlier origin with no errors, the multiplicative model's path is its
        // point forecast from there.
        let mean = hw.mean_from(600, 10);
        let path = hw.model_path(&mean, &[0.0; 10], 600, false);
        for (p, m) in path.iter().zip(&mean) {
            assert!((p - m).abs() < 1e-9 * m.abs(), "{p} vs {m}");
        }
    }

    #[test]
    fn shares_are_those_of_every_path_and_outcomes_those_of_the_series() {
        let y = noisy(900);
        for anchored in [false, true] {
            let m = ForecastModel::from_arima(&arima::fit(&y, Order { p: 1, d: 0, q: 0 }).unwrap(), 10)
                .with_support_of(&y)
                .anchored(anchored);
            let (lo, hi) = (21.0, 31.0);
            let hc = m.hindcasts(10, lo, hi, 30);
            assert_eq!(hc.len(), 30);
            let (start, stop) = (450, 890);
            for (i, c) in hc.iter().enumerate() {
                let t = start + (stop - start) * i / 30;
                assert!(
                    (c.analogue - analogue_share(&m, t, 10, lo, hi)).abs() < 1e-12,
                    "anchored {anchored} at {t}"
                );
                assert_eq!(c.left, y[t..t + 10].iter().any(|v| outside(*v, lo, hi)));
                // The model share over every other block, each path built in full.
                let mean = m.mean_from(t, 10);
                let inn = m.innovations_before(t, 0);
                let mut e = vec![0.0; 10];
                let (mut hits, mut n) = (0, 0);
                for s in (0..inn.len() - 9).step_by(BLOCK_STRIDE) {
                    m.error_block(&inn, s, &mean, &mut e);
                    hits += usize::from(m.model_path(&mean, &e, t, true).iter().any(|v| outside(*v, lo, hi)));
                    n += 1;
                }
                assert_eq!(c.model, hits as f64 / n as f64);
            }
        }
        // Without a recorded history there is nothing to look back on.
        let bare = ForecastModel::from_arima(&arima::fit(&y, Order { p: 1, d: 0, q: 0 }).unwrap(), 10);
        assert!(bare.hindcasts(10, 21.0, 31.0, 30).is_empty());
    }

    #[test]
    fn counts_agree_with_the_paths_they_stand_for() {
        let y = noisy(900);
        let spec = HwSpec {
            trend: Component::Additive,
            damped: true,
            seasonal: Component::Multiplicative,
            period: 24,
        };
        let models = [
            ForecastModel::from_arima(&arima::fit(&y, Order { p: 1, d: 1, q: 1 }).unwrap(), 10)
                .with_support_of(&y)
                .anchored(true),
            ForecastModel::from_holt_winters(ets::fit(&y, spec).unwrap(), 10).with_support_of(&y),
            ForecastModel::from_arima(&arima::fit(&y, Order { p: 1, d: 0, q: 0 }).unwrap(), 10),
        ];
        for m in &models {
            // Bounds between grid values, on them, half-way between them, and one-sided.
            for (steps, (lo, hi)) in [
                (3, (19.5, 32.0)),
                (10, (19.5, 32.0)),
                (10, (21.0, 30.0)),
                (10, (22.5, 27.5)),
                (10, (f64::NEG_INFINITY, 29.0)),
            ] {
                let paths = m.bootstrap_paths(1001, 5);
                let mut expected = [(0, 0); 2];
                for (i, p) in paths.iter().enumerate() {
                    let half = usize::from(!m.innovations.is_empty() && m.history.len() > 11 && i % 2 == 1);
                    expected[half].0 += usize::from(p.iter().take(steps).any(|v| outside(*v, lo, hi)));
                    expected[half].1 += 1;
                }
                assert_eq!(m.bootstrap_counts(1001, 5, steps, (lo, hi)), expected, "{}", m.name);
            }
        }
    }
}
