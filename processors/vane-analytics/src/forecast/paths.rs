//! Joint future paths of a [`ForecastModel`]: Gaussian ones (the models' own assumption) and the
//! bootstrap mixture behind event probabilities, with the support (floor, ceiling, value grid)
//! of the fitted series.

use super::{ForecastModel, Paths};
use crate::rng::Rng;

/// One-step errors kept for the bootstrap: a week of 5-minute points. Recent errors describe
/// the current noise better than the whole history.
pub const INNOVATION_WINDOW: usize = 288;

/// Points whose distinct values make the grid of a discrete series: two weeks of 5-minute data.
const GRID_WINDOW: usize = 4032;

/// The value of sorted `grid` nearest to `v`.
fn snap(grid: &[f64], v: f64) -> f64 {
    let i = grid.partition_point(|g| *g < v);
    match (i.checked_sub(1).and_then(|j| grid.get(j)), grid.get(i)) {
        (Some(a), Some(b)) => {
            if v - a <= b - v {
                *a
            } else {
                *b
            }
        }
        (Some(a), None) => *a,
        (None, Some(b)) => *b,
        (None, None) => v,
    }
}

pub(super) fn recent(errors: &[f64]) -> Vec<f64> {
    errors
        .get(errors.len().saturating_sub(INNOVATION_WINDOW)..)
        .unwrap_or(errors)
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect()
}

impl ForecastModel {
    /// `n` joint future paths of the forecast horizon with Gaussian errors (the model's own
    /// assumption, behind its intervals), reproducible from `seed`.
    pub fn sample_paths(&self, n: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = Rng::new(seed);
        self.paths_with(n, &mut rng, false)
    }

    /// `n` joint future paths for event probabilities, reproducible from `seed`. Half are model
    /// paths whose one-step errors are blocks of consecutive recent in-sample errors (a block
    /// bootstrap) instead of normal draws: real series have heavy-tailed, skewed, clustered
    /// errors (mostly quiet, sometimes a spike and its aftermath), which a normal law with the
    /// same variance spreads over every step. The other half, once [`Self::with_support_of`] has
    /// recorded the series, are its own recent windows of the same length (analogues): the
    /// calibration backtest in docs/analytics.md found the model paths alone too sure of
    /// themselves on quantised series and the mixture better than either. Model paths stay inside
    /// the series' floor and ceiling and on its value grid. Without stored errors the model paths
    /// use normal draws.
    pub fn bootstrap_paths(&self, n: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = Rng::new(seed);
        let bootstrap = !self.innovations.is_empty();
        self.paths_with(n, &mut rng, bootstrap)
    }

    /// Paths with standard-normal draws, or, when `bootstrap`, with a block of consecutive
    /// recent innovations starting at a random point and values held inside the support.
    fn paths_with(&self, n: usize, rng: &mut Rng, bootstrap: bool) -> Vec<Vec<f64>> {
        let h = self.horizon();
        let k = self.innovations.len();
        let mut out = Vec::with_capacity(n);
        let mut e = vec![0.0; h];
        let windows = self.history.len().saturating_sub(h) + 1;
        for i in 0..n {
            if bootstrap && self.history.len() > h + 1 && i % 2 == 1 {
                // Analogue: what the series itself did over a recent window of h points; for a
                // non-stationary series, the changes it made, from its last value.
                let s = ((rng.uniform() * windows as f64) as usize).clamp(1, windows - 1);
                let window = self.history.get(s..s + h).unwrap_or(&[]);
                let path = match (self.anchored, self.history.get(s - 1), self.history.last()) {
                    (true, Some(base), Some(last)) => window.iter().map(|v| last + (v - base)).collect(),
                    _ => window.to_vec(),
                };
                out.push(path);
                continue;
            }
            if bootstrap {
                // Consecutive errors keep what follows what (a drop after a spike).
                let starts = k.saturating_sub(h) + 1;
                let s = ((rng.uniform() * starts as f64) as usize).min(starts - 1);
                for (j, v) in e.iter_mut().enumerate() {
                    *v = self.innovations.get((s + j) % k).copied().unwrap_or(0.0);
                    if self.relative {
                        *v *= self.mean.get(j).map_or(0.0, |m| m.abs());
                    }
                }
            } else {
                e.iter_mut().for_each(|v| *v = rng.normal());
            }
            let mut path = match &self.paths {
                Paths::Linear { psi, sigma } => {
                    // Bootstrap draws are already on the data's scale.
                    let sigma = if bootstrap { 1.0 } else { *sigma };
                    let mut path = Vec::with_capacity(h);
                    for (k, m) in self.mean.iter().enumerate() {
                        let mut s = 0.0;
                        for j in 0..=k {
                            if let (Some(p), Some(ev)) = (psi.get(j), e.get(k - j)) {
                                s += p * ev;
                            }
                        }
                        path.push(m + sigma * s);
                    }
                    path
                }
                Paths::Simulated { model, sigma } => {
                    let sigma = if bootstrap { 1.0 } else { *sigma };
                    let mut it = e.iter().copied();
                    model.simulate(h, sigma, &mut || it.next().unwrap_or(0.0))
                }
            };
            if bootstrap {
                let (lo, hi) = self.support;
                for v in &mut path {
                    *v = v.max(lo.unwrap_or(f64::NEG_INFINITY)).min(hi.unwrap_or(f64::INFINITY));
                    if !self.grid.is_empty() {
                        *v = snap(&self.grid, *v);
                    }
                }
            }
            out.push(path);
        }
        out
    }

    /// Makes the analogue paths changes from the last value rather than past levels: for a
    /// series the ADF test finds non-stationary (ARIMA `d > 0`), past levels are no guide.
    pub fn anchored(mut self, yes: bool) -> Self {
        self.anchored = yes;
        self
    }

    /// Records the floor and ceiling of the series the model was fitted to, for the bootstrap
    /// paths: a minimum (maximum) the series sits on for at least 1 % of its points (and 3
    /// points), such as zero bytes written or a quantised CPU floor, is a bound the paths do not
    /// cross. A minimum touched once is no bound.
    pub fn with_support_of(mut self, y: &[f64]) -> Self {
        let needed = (y.len() / 100).max(3);
        let lo = y.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let at = |b: f64| y.iter().filter(|v| **v == b).count();
        self.support = (
            (lo.is_finite() && at(lo) >= needed).then_some(lo),
            (hi.is_finite() && at(hi) >= needed).then_some(hi),
        );
        // A series that takes few distinct values (quantised CPU, counts) keeps taking them: a
        // path value between two of them is read as the nearer one.
        let window = y.get(y.len().saturating_sub(GRID_WINDOW)..).unwrap_or(y);
        self.history = window.to_vec();
        let mut values: Vec<f64> = window.to_vec();
        values.sort_by(f64::total_cmp);
        values.dedup();
        if values.len() * 4 <= window.len() {
            self.grid = values;
        }
        // A positive series' errors scale with its level (request counts, CPU): resample them
        // relative to the one-step forecast and rescale by the point forecast of each step.
        let k = self.innovations.len();
        if lo > 0.0 && k > 0 && k <= y.len() {
            let tail = y.get(y.len() - k..).unwrap_or(&[]);
            let rel: Vec<f64> = tail
                .iter()
                .zip(&self.innovations)
                .filter_map(|(v, e)| {
                    let fitted = v - e;
                    (fitted > 0.0).then(|| e / fitted)
                })
                .collect();
            if rel.len() * 10 >= k * 9 {
                self.innovations = rel;
                self.relative = true;
            }
        }
        self
    }
}
