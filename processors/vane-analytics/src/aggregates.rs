//! Aggregates over trailing time windows: max, min, mean, sample standard deviation and count.
//!
//! A window of width `w` covers the timestamps in `(t_last - w, t_last]`, where `t_last` is the
//! series' last timestamp. Timestamps are sorted (checked by [`Series`]), so the window start is
//! a binary search and each window costs one pass over its points: linear in n.

use serde::Serialize;

use crate::series::Series;

/// Statistics of the values inside one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowStats {
    /// Largest value.
    pub max: f64,
    /// Smallest value.
    pub min: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (divisor n - 1); `None` when fewer than two points.
    pub std: Option<f64>,
    /// Number of points in the window.
    pub count: usize,
}

/// A trailing window: a label for the report (`"1h"`) and its width in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Key used in the report, e.g. `"1h"`.
    pub label: String,
    /// Width in seconds; must be positive.
    pub seconds: i64,
}

impl Window {
    /// A window of `hours` hours labelled `"{hours}h"`.
    pub fn hours(hours: i64) -> Self {
        Self {
            label: format!("{hours}h"),
            seconds: hours * 3600,
        }
    }

    /// The default windows of the contract: 1h, 3h, 12h.
    pub fn defaults() -> Vec<Self> {
        vec![Self::hours(1), Self::hours(3), Self::hours(12)]
    }
}

/// Statistics of the window `(t_last - seconds, t_last]`. A series always has a last point, so
/// the window is never empty when `seconds > 0`; with `seconds <= 0` it is `None`.
pub fn window_stats(series: &Series, seconds: i64) -> Option<WindowStats> {
    let ts = series.timestamps();
    let last = *ts.last()?;
    let start = last.saturating_sub(seconds);
    let first = ts.partition_point(|&t| t <= start);
    let values = series.values().get(first..)?;
    stats_of(values)
}

/// Max, min, mean and sample standard deviation of a non-empty slice (two-pass, like numpy).
pub fn stats_of(values: &[f64]) -> Option<WindowStats> {
    let first = *values.first()?;
    let mut max = first;
    let mut min = first;
    let mut sum = 0.0;
    for &v in values {
        max = max.max(v);
        min = min.min(v);
        sum += v;
    }
    let count = values.len();
    let mean = sum / count as f64;
    let std = if count < 2 {
        None
    } else {
        let mut ss = 0.0;
        for &v in values {
            let d = v - mean;
            ss += d * d;
        }
        Some((ss / (count - 1) as f64).sqrt())
    };
    Some(WindowStats {
        max,
        min,
        mean,
        std,
        count,
    })
}

/// Statistics for each window, in the given order.
pub fn aggregates(series: &Series, windows: &[Window]) -> Vec<(String, Option<WindowStats>)> {
    let mut out = Vec::with_capacity(windows.len());
    for w in windows {
        out.push((w.label.clone(), window_stats(series, w.seconds)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_open_on_the_left_and_closed_on_the_right() {
        let s = Series::new(vec![0, 1800, 3600, 5400, 7200], vec![1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        let w = window_stats(&s, 3600).unwrap();
        // (3600, 7200] holds 5400 and 7200.
        assert_eq!(w.count, 2);
        assert_eq!(w.max, 5.0);
        assert_eq!(w.min, 4.0);
        assert_eq!(w.mean, 4.5);
        assert!((w.std.unwrap() - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-15);
    }

    #[test]
    fn single_point_window_has_null_std() {
        let s = Series::new(vec![0, 10_000], vec![1.0, 2.0]).unwrap();
        let w = window_stats(&s, 3600).unwrap();
        assert_eq!(w.count, 1);
        assert_eq!(w.std, None);
    }

    #[test]
    fn equal_timestamps_are_all_counted() {
        let s = Series::new(vec![0, 100, 100], vec![1.0, 2.0, 3.0]).unwrap();
        assert_eq!(window_stats(&s, 50).unwrap().count, 2);
    }
}
