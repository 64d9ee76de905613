//! Joint future paths of a [`ForecastModel`]: Gaussian ones (the models' own assumption) and the
//! bootstrap mixture behind event probabilities, with the support (floor, ceiling, value grid)
//! of the fitted series.

use super::{ForecastModel, Paths};
use crate::ets::{despike_points, spike_band};
use crate::rng::Rng;

/// One-step errors kept for the bootstrap: a day of 5-minute points. Recent errors describe
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

/// Step `k` of the errors `e` through the psi weights: `sum_{j<=k} psi_j e_{k-j}`.
fn convolve(psi: &[f64], e: &[f64], k: usize) -> f64 {
    let mut s = 0.0;
    for (p, ev) in psi.iter().take(k + 1).zip(e.iter().take(k + 1).rev()) {
        s += p * ev;
    }
    s
}

/// Whether a raw model-path value leaves a range once it is held inside the support and snapped
/// to the grid. The snapped value is monotone in the raw one, so only a value strictly between
/// the two grid values around a bound needs the nearest-of-two choice [`snap`] makes; no search.
pub(super) struct RangeTest {
    lo: f64,
    hi: f64,
    support: (f64, f64),
    grid: bool,
    /// The grid values just below `lo` and at or above it.
    below: (Option<f64>, Option<f64>),
    /// The grid values at or below `hi` and just above it.
    above: (Option<f64>, Option<f64>),
}

impl RangeTest {
    fn outside(&self, v: f64) -> bool {
        let c = v.max(self.support.0).min(self.support.1);
        if !self.grid {
            return c < self.lo || c > self.hi;
        }
        // Snapped below lo: the grid value at or under c is below lo and c is nearer to it.
        let low = match self.below {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(a), Some(b)) => c <= a || (c < b && c - a <= b - c),
        };
        let high = match self.above {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(a), Some(b)) => c >= b || (c > a && c - a > b - c),
        };
        low || high
    }
}

/// The level at index `i` of the recorded history, taken without spikes where the model has
/// spike-free anchors ([`ForecastModel::anchored`]).
pub(super) fn level_at(anchors: &[f64], history: &[f64], i: usize) -> Option<f64> {
    anchors.get(i).or(history.get(i)).copied()
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
    /// themselves on quantised series and the mixture better than either (the violation
    /// probability then reweighs the halves by [`Self::hindcasts`]). Model paths stay inside
    /// the series' floor and ceiling and on its value grid. Without stored errors the model paths
    /// use normal draws.
    pub fn bootstrap_paths(&self, n: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = Rng::new(seed);
        let bootstrap = !self.innovations.is_empty();
        self.paths_with(n, &mut rng, bootstrap)
    }

    /// How many of the `n` paths of [`Self::bootstrap_paths`] (same `seed`, same draws) leave
    /// `[lo, hi]` within their first `steps` values, as `(left, paths)` for the model half and
    /// the analogue half, without building every path: a model path stops at its first step
    /// outside.
    pub fn bootstrap_counts(&self, n: usize, seed: u64, steps: usize, (lo, hi): (f64, f64)) -> [(usize, usize); 2] {
        let mut rng = Rng::new(seed);
        let h = self.horizon();
        let steps = steps.min(h);
        let k = self.innovations.len();
        let bootstrap = k > 0;
        let windows = self.history.len().saturating_sub(h) + 1;
        let outside = |v: &f64| *v < lo || *v > hi;
        let mean = self.mean.get(..steps).unwrap_or(&self.mean);
        let mut e = vec![0.0; h];
        let mut path = Vec::with_capacity(h);
        let mut counts = [(0usize, 0usize); 2];
        let test = self.range_test(lo, hi);
        for i in 0..n {
            let (half, left) = if bootstrap && self.history.len() > h + 1 && i % 2 == 1 {
                let s = ((rng.uniform() * windows as f64) as usize).clamp(1, windows - 1);
                let window = self.analogue_path(&self.history, s, h);
                (1, window.iter().take(steps).any(outside))
            } else if bootstrap {
                let starts = k.saturating_sub(h) + 1;
                let s = ((rng.uniform() * starts as f64) as usize).min(starts - 1);
                self.error_block(&self.innovations, s, &self.mean, &mut e);
                (0, self.model_path_leaves(mean, &e, self.end(), &test, &mut path))
            } else {
                e.iter_mut().for_each(|v| *v = rng.normal());
                (
                    0,
                    self.model_path(&self.mean, &e, self.end(), false).iter().take(steps).any(outside),
                )
            };
            if let Some((hits, total)) = counts.get_mut(half) {
                *hits += usize::from(left);
                *total += 1;
            }
        }
        counts
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
                out.push(self.analogue_path(&self.history, s, h));
                continue;
            }
            if bootstrap {
                // Consecutive errors keep what follows what (a drop after a spike).
                let starts = k.saturating_sub(h) + 1;
                let s = ((rng.uniform() * starts as f64) as usize).min(starts - 1);
                self.error_block(&self.innovations, s, &self.mean, &mut e);
            } else {
                e.iter_mut().for_each(|v| *v = rng.normal());
            }
            out.push(self.model_path(&self.mean, &e, self.end(), bootstrap));
        }
        out
    }

    /// The `h`-point analogue path starting at `s >= 1` of `history`: the window itself, or for
    /// an anchored model its changes from the point before, added to the last value (both levels
    /// without spikes, [`Self::anchored`]).
    pub(super) fn analogue_path(&self, history: &[f64], s: usize, h: usize) -> Vec<f64> {
        let window = history.get(s..s + h).unwrap_or(&[]);
        let level = |i: usize| level_at(&self.anchors, history, i);
        match (
            self.anchored,
            s.checked_sub(1).and_then(level),
            history.len().checked_sub(1).and_then(level),
        ) {
            (true, Some(base), Some(last)) => window.iter().map(|v| last + (v - base)).collect(),
            _ => window.to_vec(),
        }
    }

    /// Fills `e` with the block of `innovations` starting at `s` (wrapping), on the data's scale
    /// of the forecast `mean` when the innovations are relative.
    pub(super) fn error_block(&self, innovations: &[f64], s: usize, mean: &[f64], e: &mut [f64]) {
        let k = innovations.len();
        for (j, v) in e.iter_mut().enumerate() {
            *v = if k == 0 {
                0.0
            } else {
                innovations.get((s + j) % k).copied().unwrap_or(0.0)
            };
            if self.relative {
                *v *= mean.get(j).map_or(0.0, |m| m.abs());
            }
        }
    }

    /// One model path: the point forecast `mean` from observation `origin` of the fitted sample
    /// plus the errors `e` (standard normal, or on the data's scale when `bootstrap`) through the
    /// psi weights or the model's recursions; bootstrap paths are held inside the support.
    pub(super) fn model_path(&self, mean: &[f64], e: &[f64], origin: usize, bootstrap: bool) -> Vec<f64> {
        let mut path = Vec::with_capacity(mean.len());
        self.model_path_into(mean, e, origin, bootstrap, &mut path);
        path
    }

    /// [`Self::model_path`] written into `path` (cleared first).
    fn model_path_into(&self, mean: &[f64], e: &[f64], origin: usize, bootstrap: bool, path: &mut Vec<f64>) {
        path.clear();
        match &self.paths {
            Paths::Linear { psi, sigma } => {
                // Bootstrap draws are already on the data's scale.
                let sigma = if bootstrap { 1.0 } else { *sigma };
                for (k, m) in mean.iter().enumerate() {
                    path.push(m + sigma * convolve(psi, e, k));
                }
            }
            Paths::Simulated { model, sigma } => {
                let sigma = if bootstrap { 1.0 } else { *sigma };
                let mut it = e.iter().copied();
                path.extend(model.simulate_from(origin, mean.len(), sigma, &mut || it.next().unwrap_or(0.0)));
            }
        }
        if bootstrap {
            for v in path.iter_mut() {
                *v = self.in_support(*v);
            }
        }
    }

    /// The value a bootstrap path takes for `v`: inside the floor and ceiling, on the grid.
    fn in_support(&self, v: f64) -> f64 {
        let (lo, hi) = self.support;
        let v = v.max(lo.unwrap_or(f64::NEG_INFINITY)).min(hi.unwrap_or(f64::INFINITY));
        if self.grid.is_empty() { v } else { snap(&self.grid, v) }
    }

    /// Whether the bootstrap model path of [`Self::model_path`] leaves the range of `test`
    /// ([`Self::range_test`]); a linear model's path is built only up to the first step outside.
    /// `path` is scratch space.
    pub(super) fn model_path_leaves(&self, mean: &[f64], e: &[f64], origin: usize, test: &RangeTest, path: &mut Vec<f64>) -> bool {
        if let Paths::Linear { psi, .. } = &self.paths {
            for (k, m) in mean.iter().enumerate() {
                if test.outside(m + convolve(psi, e, k)) {
                    return true;
                }
            }
            return false;
        }
        self.model_path_into(mean, e, origin, true, path);
        path.iter().any(|v| *v < test.lo || *v > test.hi)
    }

    /// The test "is a raw bootstrap value, once inside the support and on the grid, outside
    /// `[lo, hi]`", prepared once per range.
    pub(super) fn range_test(&self, lo: f64, hi: f64) -> RangeTest {
        let (floor, ceiling) = self.support;
        let grid = &self.grid;
        let bracket = |i: usize| (i.checked_sub(1).and_then(|j| grid.get(j)).copied(), grid.get(i).copied());
        RangeTest {
            lo,
            hi,
            support: (floor.unwrap_or(f64::NEG_INFINITY), ceiling.unwrap_or(f64::INFINITY)),
            grid: !grid.is_empty(),
            below: bracket(grid.partition_point(|g| *g < lo)),
            above: bracket(grid.partition_point(|g| *g <= hi)),
        }
    }

    /// Makes the analogue paths changes from the last value rather than past levels: for a
    /// series the ADF test finds non-stationary (ARIMA `d > 0`), past levels are no guide. The
    /// levels are taken without the series' spikes (points the despiking rule of
    /// [`crate::ets::HoltWinters::despiked`] marks, replaced by their fitted values).
    pub fn anchored(mut self, yes: bool) -> Self {
        self.anchored = yes;
        self.anchors = if yes { self.spike_free_history() } else { Vec::new() };
        self
    }

    /// The recorded history with every point the model's one-step error marks as a spike
    /// ([`crate::ets::DESPIKE_THRESHOLD`]) replaced by its fitted value: the levels anchored
    /// analogue changes are measured from. Anchored to a spike, every analogue path would start
    /// out there and a range the series left for one point would look certain to be left again
    /// (seen on ec2_disk_write_bytes_1ef3de, docs/analytics.md). Empty when nothing is a spike.
    fn spike_free_history(&self) -> Vec<f64> {
        let (errors, offset) = self.errors();
        let (Some(first), Some(band)) = (self.end().checked_sub(self.history.len()), spike_band(errors)) else {
            return Vec::new();
        };
        let error = |i: usize| (first + i).checked_sub(offset).and_then(|j| errors.get(j)).copied();
        let (levels, spikes) = despike_points(&self.history, error, band);
        if spikes == 0 { Vec::new() } else { levels }
    }

    /// Records the floor and ceiling of the series the model was fitted to, for the bootstrap
    /// paths: a minimum (maximum) the series sits on for at least 1 % of its points (and 3
    /// points), such as zero bytes written or a quantised CPU floor, is a bound the paths do not
    /// cross. A minimum touched once is no bound. The history it records is also what
    /// [`ForecastModel::anchored`] paths start from; their spike-free levels are rebuilt here, so
    /// the two may be called in either order.
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
        if self.anchored {
            self.anchors = self.spike_free_history();
        }
        self
    }
}
