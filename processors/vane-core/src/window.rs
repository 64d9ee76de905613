//! Sliding event-time windows of one series: max, min, mean, sample std, count, first and last
//! sample time over `(t_last − w, t_last]` for several widths `w` at once.
//!
//! Samples usually arrive in time order: each one is appended in O(1) amortised (running sums of
//! values shifted by the series' first value, against cancellation; monotonic deques for max and
//! min). A sample up to `grace` older than the newest is inserted in place and the windows are
//! rebuilt from the buffer (rare). Older ones are refused as too late. The same timestamp twice
//! is one sample (the first one wins). The buffer keeps the widest window plus the grace, and
//! remembers the log offset of every sample, so that a worker can commit only what it no longer
//! needs and rebuild its windows by re-reading the log from there after a restart.

use std::collections::VecDeque;

/// One window width, e.g. `"1h"` = 3,600,000 ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowSpec {
    pub name: String,
    pub width_ms: i64,
}

/// The aggregates of one window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowStats {
    pub name: String,
    pub max: f64,
    pub min: f64,
    pub mean: f64,
    /// Sample standard deviation (n − 1), `None` for one sample.
    pub std: Option<f64>,
    pub count: u64,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// What happened to an offered sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    Accepted,
    /// Same timestamp as a sample already held: ignored.
    Duplicate,
    /// Older than the newest sample minus the grace.
    TooLate {
        newest_ms: i64,
    },
}

#[derive(Debug, Clone, Copy)]
struct Point {
    ts: i64,
    value: f64,
}

#[derive(Debug, Default, Clone)]
struct Running {
    /// Absolute sequence number of the window's first point.
    start: u64,
    count: u64,
    sum: f64,
    sum_squares: f64,
    /// (sequence, value), values decreasing (max) or increasing (min).
    max: VecDeque<(u64, f64)>,
    min: VecDeque<(u64, f64)>,
    removals: u64,
}

/// The windows of one series.
#[derive(Debug, Clone)]
pub struct SeriesWindows {
    specs: Vec<WindowSpec>,
    grace_ms: i64,
    points: VecDeque<Point>,
    /// Sequence number of `points[0]`.
    base: u64,
    shift: f64,
    running: Vec<Running>,
    newest_ms: i64,
    /// (offset, ts) of the held points in arrival order, which is offset order: its front is
    /// the smallest offset still needed.
    arrivals: VecDeque<(u64, i64)>,
}

impl SeriesWindows {
    pub fn new(specs: &[WindowSpec], grace_ms: i64) -> Self {
        SeriesWindows {
            specs: specs.to_vec(),
            grace_ms: grace_ms.max(0),
            points: VecDeque::new(),
            base: 0,
            shift: 0.0,
            running: vec![Running::default(); specs.len()],
            newest_ms: i64::MIN,
            arrivals: VecDeque::new(),
        }
    }

    pub fn newest_ms(&self) -> Option<i64> {
        (!self.points.is_empty()).then_some(self.newest_ms)
    }

    /// The smallest log offset among the samples still held.
    pub fn oldest_offset(&self) -> Option<u64> {
        self.arrivals.front().map(|(offset, _)| *offset)
    }

    fn widest(&self) -> i64 {
        self.specs.iter().map(|s| s.width_ms).max().unwrap_or(0)
    }

    /// Offers one sample read at `offset` of the log.
    pub fn offer(&mut self, ts: i64, value: f64, offset: u64) -> Offer {
        if self.points.is_empty() {
            self.shift = value;
            self.newest_ms = ts;
            self.arrivals.push_back((offset, ts));
            self.push_back(Point { ts, value });
            return Offer::Accepted;
        }
        if ts > self.newest_ms {
            self.newest_ms = ts;
            self.arrivals.push_back((offset, ts));
            self.push_back(Point { ts, value });
            self.trim();
            return Offer::Accepted;
        }
        if ts <= self.newest_ms - self.grace_ms {
            return Offer::TooLate { newest_ms: self.newest_ms };
        }
        let at = self.points.partition_point(|p| p.ts < ts);
        if self.points.get(at).is_some_and(|p| p.ts == ts) {
            return Offer::Duplicate;
        }
        self.points.insert(at, Point { ts, value });
        self.arrivals.push_back((offset, ts));
        self.rebuild();
        Offer::Accepted
    }

    fn point(&self, sequence: u64) -> Option<&Point> {
        self.points.get(usize::try_from(sequence.checked_sub(self.base)?).ok()?)
    }

    fn push_back(&mut self, point: Point) {
        let sequence = self.base + self.points.len() as u64;
        self.points.push_back(point);
        let shifted = point.value - self.shift;
        for running in &mut self.running {
            running.count += 1;
            running.sum += shifted;
            running.sum_squares += shifted * shifted;
            while running.max.back().is_some_and(|(_, v)| *v <= point.value) {
                running.max.pop_back();
            }
            running.max.push_back((sequence, point.value));
            while running.min.back().is_some_and(|(_, v)| *v >= point.value) {
                running.min.pop_back();
            }
            running.min.push_back((sequence, point.value));
        }
        self.advance_starts();
    }

    /// Moves every window's start past the points that fell out of `(newest − w, newest]`.
    fn advance_starts(&mut self) {
        let end = self.base + self.points.len() as u64;
        for index in 0..self.running.len() {
            let Some(width) = self.specs.get(index).map(|s| s.width_ms) else {
                continue;
            };
            let cutoff = self.newest_ms - width;
            let mut needs_recount = false;
            while let Some(running) = self.running.get(index) {
                let start = running.start.max(self.base);
                if start >= end {
                    break;
                }
                let Some(point) = self.point(start).copied() else { break };
                if point.ts > cutoff {
                    break;
                }
                let Some(running) = self.running.get_mut(index) else { break };
                let shifted = point.value - self.shift;
                running.start = start + 1;
                running.count -= 1;
                running.sum -= shifted;
                running.sum_squares -= shifted * shifted;
                running.removals += 1;
                while running.max.front().is_some_and(|(s, _)| *s < running.start) {
                    running.max.pop_front();
                }
                while running.min.front().is_some_and(|(s, _)| *s < running.start) {
                    running.min.pop_front();
                }
                needs_recount |= running.removals > running.count.max(64);
            }
            if needs_recount {
                self.recount(index);
            }
        }
    }

    /// Recomputes a window's sums from its points, bounding the drift of add/subtract.
    fn recount(&mut self, index: usize) {
        let Some(start) = self.running.get(index).map(|r| r.start.max(self.base)) else {
            return;
        };
        let (mut sum, mut sum_squares) = (0.0, 0.0);
        let skip = usize::try_from(start - self.base).unwrap_or(usize::MAX);
        for point in self.points.iter().skip(skip) {
            let shifted = point.value - self.shift;
            sum += shifted;
            sum_squares += shifted * shifted;
        }
        if let Some(running) = self.running.get_mut(index) {
            running.sum = sum;
            running.sum_squares = sum_squares;
            running.removals = 0;
        }
    }

    /// Drops points older than the widest window plus the grace.
    fn trim(&mut self) {
        let keep_after = self.newest_ms - self.widest() - self.grace_ms;
        let earliest_start = self.running.iter().map(|r| r.start).min().unwrap_or(self.base);
        while self.points.front().is_some_and(|p| p.ts <= keep_after) && self.base < earliest_start {
            self.points.pop_front();
            self.base += 1;
        }
        // Timestamps are unique among held points, so an arrival older than the oldest held
        // point has been dropped.
        let oldest_held = self.points.front().map_or(i64::MAX, |p| p.ts);
        while self.arrivals.front().is_some_and(|(_, ts)| *ts < oldest_held) {
            self.arrivals.pop_front();
        }
    }

    /// Rebuilds every window from the buffer (after an out-of-order insert).
    fn rebuild(&mut self) {
        let points: Vec<Point> = self.points.drain(..).collect();
        self.base = 0;
        self.running = vec![Running::default(); self.specs.len()];
        for point in points {
            self.push_back(point);
        }
    }

    /// The current aggregates of every window (empty before the first sample).
    pub fn stats(&self) -> Vec<WindowStats> {
        let mut out = Vec::with_capacity(self.specs.len());
        for (spec, running) in self.specs.iter().zip(&self.running) {
            if running.count == 0 {
                continue;
            }
            let (Some((_, max)), Some((_, min))) = (running.max.front(), running.min.front()) else {
                continue;
            };
            let first_ms = self.point(running.start.max(self.base)).map_or(self.newest_ms, |p| p.ts);
            let n = running.count as f64;
            let mean_shifted = running.sum / n;
            let std = (running.count > 1).then(|| ((running.sum_squares - running.sum * mean_shifted) / (n - 1.0)).max(0.0).sqrt());
            out.push(WindowStats {
                name: spec.name.clone(),
                max: *max,
                min: *min,
                mean: self.shift + mean_shifted,
                std,
                count: running.count,
                first_ms,
                last_ms: self.newest_ms,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<WindowSpec> {
        vec![
            WindowSpec {
                name: "1h".into(),
                width_ms: 3_600_000,
            },
            WindowSpec {
                name: "3h".into(),
                width_ms: 10_800_000,
            },
        ]
    }

    /// The definition, computed from scratch over the points of `(t_last − w, t_last]`.
    fn naive(points: &[(i64, f64)], width: i64) -> (f64, f64, f64, Option<f64>, u64) {
        let last = points.iter().map(|p| p.0).max().unwrap();
        let inside: Vec<f64> = points.iter().filter(|p| p.0 > last - width).map(|p| p.1).collect();
        let n = inside.len() as f64;
        let mean = inside.iter().sum::<f64>() / n;
        let std = (inside.len() > 1).then(|| (inside.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
        let max = inside.iter().cloned().fold(f64::MIN, f64::max);
        let min = inside.iter().cloned().fold(f64::MAX, f64::min);
        (max, min, mean, std, inside.len() as u64)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn matches_the_definition_on_a_long_stream_with_late_samples() {
        let mut windows = SeriesWindows::new(&specs(), 60_000);
        let mut held: Vec<(i64, f64)> = Vec::new();
        let mut state = 12345u64;
        for i in 0..20_000i64 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let noise = (state >> 11) as f64 / (1u64 << 53) as f64;
            let mut ts = i * 15_000;
            if i % 97 == 0 && i > 0 {
                ts -= 30_000 + 7; // late, within the grace
            }
            let value = 1.5e9 + 1e6 * (i as f64 / 500.0).sin() + 1e4 * noise;
            if windows.offer(ts, value, i as u64) == Offer::Accepted {
                held.push((ts, value));
            }
            if i % 1000 == 999 {
                for (spec, stats) in specs().iter().zip(windows.stats()) {
                    let (max, min, mean, std, count) = naive(&held, spec.width_ms);
                    assert_eq!(stats.count, count, "{} at {i}", spec.name);
                    assert_eq!((stats.max, stats.min), (max, min));
                    assert!(close(stats.mean, mean), "mean {} vs {mean}", stats.mean);
                    assert!(close(stats.std.unwrap(), std.unwrap()), "std {:?} vs {std:?}", stats.std);
                }
            }
        }
    }

    #[test]
    fn duplicates_and_too_late_samples_are_refused() {
        let mut windows = SeriesWindows::new(&specs(), 60_000);
        assert_eq!(windows.offer(1_000_000, 1.0, 0), Offer::Accepted);
        assert_eq!(windows.offer(1_000_000, 2.0, 1), Offer::Duplicate);
        assert_eq!(windows.offer(2_000_000, 3.0, 2), Offer::Accepted);
        assert_eq!(windows.offer(1_000_000, 9.0, 3), Offer::TooLate { newest_ms: 2_000_000 });
        assert_eq!(windows.offer(1_990_000, 5.0, 4), Offer::Accepted);
        let stats = windows.stats();
        assert_eq!(stats[0].count, 3);
        assert_eq!(
            (stats[0].max, stats[0].min, stats[0].first_ms, stats[0].last_ms),
            (5.0, 1.0, 1_000_000, 2_000_000)
        );
    }

    #[test]
    fn one_sample_has_no_std_and_windows_are_left_open() {
        let mut windows = SeriesWindows::new(&specs(), 0);
        windows.offer(0, 4.0, 0);
        assert_eq!(windows.stats()[0].std, None);
        windows.offer(3_600_000, 6.0, 1);
        let stats = windows.stats();
        assert_eq!(
            stats[0].count, 1,
            "the sample exactly 1h before t_last is outside (t_last − 1h, t_last]"
        );
        assert_eq!(stats[1].count, 2);
        assert_eq!(windows.oldest_offset(), Some(0));
    }

    #[test]
    fn the_oldest_offset_accounts_for_late_inserts() {
        let mut windows = SeriesWindows::new(
            &[WindowSpec {
                name: "1m".into(),
                width_ms: 60_000,
            }],
            30_000,
        );
        windows.offer(10_000, 1.0, 1);
        windows.offer(20_000, 1.0, 2);
        windows.offer(15_000, 1.0, 3); // late: offset 3 sits between ts 10s and 20s
        assert_eq!(windows.oldest_offset(), Some(1));
        windows.offer(101_000, 1.0, 4); // keeps (101 − 60 − 30, 101] = ts > 11s: 10s falls out
        assert_eq!(
            windows.oldest_offset(),
            Some(2),
            "offset 2 (ts 20s) is held, though ts 15s (offset 3) is older"
        );
    }

    #[test]
    fn the_buffer_forgets_what_no_window_needs() {
        let mut windows = SeriesWindows::new(&specs(), 0);
        for i in 0..2000u64 {
            windows.offer(i as i64 * 60_000, 1.0, i);
        }
        // 3h of one-minute samples: 180 held, offsets before them can be committed.
        assert_eq!(windows.stats()[1].count, 180);
        assert_eq!(windows.oldest_offset(), Some(2000 - 180));
    }
}
