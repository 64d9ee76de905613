//! Seasonal period detection from the autocorrelation of the linearly detrended series.
//!
//! The detector looks for the highest local maximum of the ACF after the ACF first drops below
//! zero, up to lag n/2, and accepts it when it is clearly above noise (Bartlett's white-noise
//! bound, and at least 0.1). When several peaks come close (multiples of the same period), the
//! smallest lag whose peak reaches 90 % of the best wins, so daily data with a weekly pattern is
//! still reported as daily. With timestamps, a result within 10 % of an hour, a day or a week
//! of the sampling interval snaps to it. Cost O(n * n/2) in the worst case; 4,032 points take a few ms.

#![allow(clippy::indexing_slicing)] // lags stay below n/2, checked on entry

use crate::error::check_varying;

/// Detected period in samples, or `None` when no clear seasonality is found.
pub fn detect_period(x: &[f64]) -> Option<usize> {
    check_varying(x).ok()?;
    let n = x.len();
    if n < 8 {
        return None;
    }
    // Remove the least-squares line so a trend does not mask the cycle.
    let nf = n as f64;
    let tm = (nf - 1.0) / 2.0;
    let ym = x.iter().sum::<f64>() / nf;
    let mut sxy = 0.0;
    let mut sxx = 0.0;
    for (t, v) in x.iter().enumerate() {
        let dt = t as f64 - tm;
        sxy += dt * (v - ym);
        sxx += dt * dt;
    }
    let slope = sxy / sxx;
    let d: Vec<f64> = x.iter().enumerate().map(|(t, v)| v - ym - slope * (t as f64 - tm)).collect();
    let c0: f64 = d.iter().map(|v| v * v).sum();
    if c0 <= 0.0 {
        return None;
    }
    let max_lag = n / 2;
    let mut r = vec![0.0; max_lag + 1];
    for (k, rk) in r.iter_mut().enumerate() {
        let mut s = 0.0;
        for t in 0..n - k {
            s += d[t] * d[t + k];
        }
        *rk = s / c0;
    }
    let start = (1..max_lag).find(|&k| r[k] < 0.0)?;
    let threshold = (2.0 / nf.sqrt()).max(0.1);
    let mut peaks = Vec::new();
    for k in start.max(2)..max_lag {
        if r[k] > r[k - 1] && r[k] >= r[k + 1] && r[k] > threshold {
            peaks.push((k, r[k]));
        }
    }
    let best = peaks.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    peaks.into_iter().find(|p| p.1 >= 0.9 * best).map(|p| p.0)
}

/// Like [`detect_period`], then snaps the result to a calendar period (hour, day, week) of the
/// sampling interval `interval_secs` when it is within 5 % of one: ACF peaks of noisy daily data
/// wander by a sample or two (289 instead of 288 at five-minute sampling).
pub fn detect_period_with_interval(x: &[f64], interval_secs: Option<i64>) -> Option<usize> {
    let p = detect_period(x)?;
    let Some(dt) = interval_secs.filter(|d| *d > 0) else {
        return Some(p);
    };
    for cal in [3600i64, 86_400, 604_800] {
        if cal % dt != 0 {
            continue;
        }
        let c = (cal / dt) as usize;
        if c >= 2 && (p as f64 - c as f64).abs() <= 0.1 * c as f64 && 2 * c <= x.len() {
            return Some(c);
        }
    }
    Some(p)
}

/// Median spacing of the timestamps in seconds, ignoring repeated timestamps.
pub fn median_interval(timestamps: &[i64]) -> Option<i64> {
    let mut d: Vec<i64> = timestamps
        .windows(2)
        .filter_map(|w| w.get(1)?.checked_sub(*w.first()?))
        .filter(|d| *d > 0)
        .collect();
    if d.is_empty() {
        return None;
    }
    d.sort_unstable();
    d.get(d.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn finds_known_periods_in_noisy_series() {
        for period in [7usize, 12, 24, 50] {
            let mut rng = Rng::new(period as u64);
            let x: Vec<f64> = (0..20 * period)
                .map(|t| {
                    let phase = 2.0 * std::f64::consts::PI * t as f64 / period as f64;
                    10.0 + 0.01 * t as f64 + 3.0 * phase.sin() + rng.normal()
                })
                .collect();
            assert_eq!(detect_period(&x), Some(period), "period {period}");
        }
    }

    #[test]
    fn snaps_to_calendar_periods() {
        let mut rng = Rng::new(11);
        let x: Vec<f64> = (0..4032)
            .map(|t| (std::f64::consts::TAU * t as f64 / 288.0).sin() + 2.0 * rng.normal())
            .collect();
        assert_eq!(detect_period_with_interval(&x, Some(300)), Some(288));
        assert_eq!(median_interval(&[0, 300, 300, 600, 900]), Some(300));
    }

    #[test]
    fn white_noise_has_no_period() {
        let mut rng = Rng::new(9);
        let x: Vec<f64> = (0..1000).map(|_| rng.normal()).collect();
        assert_eq!(detect_period(&x), None);
    }
}
