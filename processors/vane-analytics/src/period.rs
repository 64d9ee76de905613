//! Seasonal period detection from the autocorrelation of the linearly detrended series.
//!
//! The detector looks for local maxima of the ACF after it first drops below zero, up to lag n/2,
//! that are significant against noise with the series' own short-range correlation: above `z s` and
//! 0.1, with `z` the one-sided 5 % point with a Bonferroni correction over the lags searched and
//! `s` the smaller of two noise levels of the ACF at long lags: that of an AR(1) (Bartlett:
//! `sqrt((1 + phi^2) / (1 - phi^2) / n)`) with the lag-1 autocorrelation `phi` of the series less
//! its mean at each phase of the highest peak's lag, and the robust spread of the ACF over the lags
//! searched (at least white noise's `1 / sqrt(n)`). (A white-noise bound alone reported a period
//! for 68 % of 300-point white-noise series and 70-95 % of AR(0.9) ones; docs/analytics.md.) Of
//! those peaks the smallest lag reaching 90 % of the highest is taken, so daily data with a weekly
//! pattern is reported as daily, then two corrections against noise: a divisor of it whose own peak
//! is nearly as high is preferred (noise can lift the peak at 2 or 3 periods above the first), and
//! the lag within 10 % whose multiples line up best with the ACF wins (the peak itself lands a lag
//! or two off: 23 or 25 for 24). A peak must clear the threshold also without its two largest
//! lagged products (less what those come to at a typical lag), so that two pairs of rare spikes
//! that happen to lie the same distance apart make no period. With timestamps, a result within 10 %
//! of an hour, a day or a week of the sampling interval snaps to it. Cost O(n * n/2) in the worst
//! case; 4,032 points take about 3 ms (benches `detect_period*`).

#![allow(clippy::indexing_slicing)] // lags stay below n/2, checked on entry

use crate::acf::lag_products;
use crate::error::check_varying;
use crate::forecast::quantile_unsorted;
use crate::normal::norm_ppf;

/// Familywise false-alarm rate of the peak test over all lags searched.
const FALSE_ALARM: f64 = 0.05;

/// Detected period in samples, or `None` when no clear seasonality is found.
pub fn detect_period(x: &[f64]) -> Option<usize> {
    check_varying(x).ok()?;
    let n = x.len();
    if n < 8 {
        return None;
    }
    // Remove the least-squares line so a trend does not mask the cycle.
    let nf = n as f64;
    let d = detrended(x);
    let c0: f64 = d.iter().map(|v| v * v).sum();
    // A straight line leaves only rounding, which has patterns of its own (0.1 steps repeat
    // every 5): no cycle to find.
    let mean = x.iter().sum::<f64>() / nf;
    let total: f64 = x.iter().map(|v| (v - mean).powi(2)).sum();
    if c0 <= 1e-20 * total {
        return None;
    }
    let max_lag = n / 2;
    let r: Vec<f64> = lag_products(&d, max_lag).iter().map(|s| s / c0).collect();
    let start = (1..max_lag).find(|&k| r[k] < 0.0)?.max(2);
    let lags = max_lag.saturating_sub(start).max(1) as f64;
    let z = norm_ppf(1.0 - FALSE_ALARM / lags);
    let white = 1.0 / nf.sqrt();
    let mut peaks: Vec<(usize, f64)> = (start..max_lag)
        .filter(|&k| r[k] > r[k - 1] && r[k] >= r[k + 1] && r[k] > (z * white).max(0.1))
        .map(|k| (k, r[k]))
        .collect();
    // The noise the peaks must stand out of: that of an AR(1) with the lag-1 autocorrelation
    // left once the highest peak's cycle is taken out (a strong season is smooth, and its own
    // lag-1 correlation is no noise; a persistent series stays persistent), or the spread of
    // the ACF itself over the lags searched when that is smaller (a series whose correlation
    // dies out faster than an AR(1)'s: NAB's iio NetworkIn and its lag-202 peak), never below
    // white noise's.
    let highest = peaks.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))?.0;
    let phi = lag1_without_cycle(x, highest, c0).clamp(0.0, 0.99);
    let factor = (1.0 + phi * phi) / (1.0 - phi * phi);
    let spread = robust_sd(r.get(start..max_lag).unwrap_or(&[])).max(white);
    let threshold = (z * (factor / nf).sqrt().min(spread)).max(0.1);
    // A peak must also clear it without the excess of its few largest products over theirs at
    // a typical lag: a few coincidences of spikes are no cycle.
    let typical = typical_largest_products(&d, start, max_lag);
    let without_coincidences = |(lag, height): (usize, f64)| height - (largest_products(&d, lag) - typical).max(0.0) / c0;
    peaks.retain(|p| p.1 > threshold && without_coincidences(*p) > threshold);
    let best = peaks.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let first = peaks.into_iter().find(|p| p.1 >= 0.9 * best).map(|p| p.0)?;
    let period = fundamental(&r, first, start, |lag| without_coincidences((lag, r[lag])) > threshold);
    Some(best_aligned(&r, period, n))
}

/// Lag-1 autocorrelation of the series `x` less a cycle of `period` and a line, fitted together
/// (each phase centred on its own mean, in time and in value, then one common slope); 0 when they
/// explain all but 1 % of the detrended series' variance `total` (a trend plus an exact season, a
/// counter that resets every `period` points, a square wave), where no noise is left to measure.
fn lag1_without_cycle(x: &[f64], period: usize, total: f64) -> f64 {
    let mut sums = vec![(0.0, 0.0); period];
    let mut counts = vec![0usize; period];
    for (t, v) in x.iter().enumerate() {
        let (st, sv) = &mut sums[t % period];
        *st += t as f64;
        *sv += v;
        counts[t % period] += 1;
    }
    let centred: Vec<(f64, f64)> = x
        .iter()
        .enumerate()
        .map(|(t, v)| {
            let (st, sv) = sums[t % period];
            let c = counts[t % period].max(1) as f64;
            (t as f64 - st / c, v - sv / c)
        })
        .collect();
    let stt: f64 = centred.iter().map(|(ct, _)| ct * ct).sum();
    let slope = if stt > 0.0 {
        centred.iter().map(|(ct, cv)| ct * cv).sum::<f64>() / stt
    } else {
        0.0
    };
    let e: Vec<f64> = centred.iter().map(|(ct, cv)| cv - slope * ct).collect();
    let c0: f64 = e.iter().map(|v| v * v).sum();
    if c0 <= 0.01 * total {
        return 0.0;
    }
    e.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / c0
}

/// Lagged products a peak must stand without: a peak that rests on this many coincidences or
/// fewer is no period, so a pattern of spikes needs at least three pairs one period apart (four
/// spikes in a row). A smooth cycle, whose peak is the sum of many products, loses nothing to it.
const COINCIDENCES: usize = 2;

/// Sum of the [`COINCIDENCES`] largest products `d[t] d[t + lag]`: in a floor with rare spikes
/// (disk writes) two pairs of spikes that happen to lie `lag` apart make an ACF peak that clears
/// a threshold set for sums of many small products.
fn largest_products(d: &[f64], lag: usize) -> f64 {
    let mut top = [0.0f64; COINCIDENCES];
    for (a, b) in d.iter().zip(d.iter().skip(lag)) {
        let p = a * b;
        if p > top[COINCIDENCES - 1] {
            top[COINCIDENCES - 1] = p;
            top.sort_by(|x, y| y.total_cmp(x));
        }
    }
    top.iter().sum()
}

/// Median over up to 64 lags evenly spread over `start..max_lag` of [`largest_products`]: what
/// the largest products come to at a lag without a cycle.
fn typical_largest_products(d: &[f64], start: usize, max_lag: usize) -> f64 {
    let span = max_lag.saturating_sub(start).max(1);
    let mut sums: Vec<f64> = (0..span.min(64))
        .map(|i| largest_products(d, start + i * span / span.min(64)))
        .collect();
    quantile_unsorted(&mut sums, 0.5)
}

/// `x` less its least-squares line.
fn detrended(x: &[f64]) -> Vec<f64> {
    let nf = x.len() as f64;
    let tm = (nf - 1.0) / 2.0;
    let ym = x.iter().sum::<f64>() / nf;
    let mut sxy = 0.0;
    let mut sxx = 0.0;
    for (t, v) in x.iter().enumerate() {
        let dt = t as f64 - tm;
        sxy += dt * (v - ym);
        sxx += dt * dt;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    x.iter().enumerate().map(|(t, v)| v - ym - slope * (t as f64 - tm)).collect()
}

/// 1.4826 times the median absolute deviation from the median: a standard deviation that a few
/// peaks do not move.
fn robust_sd(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let centre = quantile_unsorted(&mut values.to_vec(), 0.5);
    1.4826 * quantile_unsorted(&mut values.iter().map(|v| (v - centre).abs()).collect::<Vec<_>>(), 0.5)
}

/// The smallest divisor of the peak lag `k` (`k / j` for `j` up to 10, to the nearest lag) whose
/// own peak is significant (`stands`) and at least 80 % as high: noise can make a multiple of the
/// period the highest peak.
fn fundamental(r: &[f64], k: usize, start: usize, stands: impl Fn(usize) -> bool) -> usize {
    for j in (2..=10usize).rev() {
        let f = (k as f64 / j as f64).round() as usize;
        if f < start.max(2) + 1 {
            continue;
        }
        let near = (f - 1..=f + 1)
            .filter_map(|l| Some((l, *r.get(l)?)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((lag, height)) = near
            && height >= 0.8 * r[k]
            && stands(lag)
        {
            return lag;
        }
    }
    k
}

/// The lag within 10 % of `k` whose first ten multiples have the highest [`alignment`].
fn best_aligned(r: &[f64], k: usize, n: usize) -> usize {
    let max_lag = r.len() - 1;
    let spread = (k / 10).max(1);
    (k.saturating_sub(spread).max(2)..=(k + spread).min(max_lag))
        .max_by(|a, b| alignment(r, *a, n).total_cmp(&alignment(r, *b, n)))
        .unwrap_or(k)
}

/// Mean autocorrelation at the first ten multiples of `p` within the ACF's lags, each undone of
/// the estimator's taper toward long lags ([`unbiased`]).
fn alignment(r: &[f64], p: usize, n: usize) -> f64 {
    let reps = ((r.len() - 1) / p).clamp(1, 10);
    (1..=reps).map(|j| unbiased(r, j * p, n)).sum::<f64>() / reps as f64
}

/// `r[lag] n / (n - lag)`: the biased ACF estimate scaled back up (0 past the end).
fn unbiased(r: &[f64], lag: usize, n: usize) -> f64 {
    r.get(lag).map_or(0.0, |v| v * n as f64 / (n - lag).max(1) as f64)
}

/// Like [`detect_period`], then snaps the result to a calendar period (hour, day, week) of the
/// sampling interval `interval_secs` when it is within 10 % of one: ACF peaks of noisy daily data
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
    fn a_strong_smooth_season_is_no_persistence() {
        // Amplitude 10 over noise of 0.3: the lag-1 autocorrelation is 0.98, which as an AR(1)
        // would hide every peak; less the cycle it is the noise's.
        let mut rng = Rng::new(4);
        let x: Vec<f64> = (0..600)
            .map(|t| 100.0 + 10.0 * (std::f64::consts::TAU * t as f64 / 40.0).sin() + 0.3 * rng.normal())
            .collect();
        assert_eq!(detect_period(&x), Some(40));
    }

    #[test]
    fn exact_cycles_on_a_trend_are_found() {
        // Nothing but a cycle and a line: no noise is left to hide the peaks behind.
        let sine: Vec<f64> = (0..600)
            .map(|t| 0.05 * t as f64 + 10.0 * (std::f64::consts::TAU * t as f64 / 40.0).sin())
            .collect();
        assert_eq!(detect_period(&sine), Some(40));
        let counter: Vec<f64> = (0..1500).map(|t| ((t % 97) * 15) as f64).collect();
        assert_eq!(detect_period(&counter), Some(97));
        let square: Vec<f64> = (0..600)
            .map(|t| if (t / 5) % 2 == 0 { 3.0 } else { 7.0 } + 0.01 * t as f64)
            .collect();
        assert_eq!(detect_period(&square), Some(10));
    }

    #[test]
    fn a_straight_line_in_floating_point_has_no_period() {
        // 0.1 steps are not exact in binary: what the fitted line leaves is rounding, with a
        // pattern of its own.
        let line: Vec<f64> = (0..1000).map(|t| 0.1 * t as f64 + 7.0).collect();
        assert_eq!(detect_period(&line), None);
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
    fn noise_has_no_period() {
        // White noise, a strongly autocorrelated AR(0.9) and a random walk: their ACFs wander
        // above a white-noise bound at some long lag in most samples (the detector before this
        // test reported a period for most of them).
        let mut false_periods = [0usize; 3];
        for seed in 0..20 {
            let mut rng = Rng::new(seed);
            let white: Vec<f64> = (0..720).map(|_| rng.normal()).collect();
            let mut a = 0.0;
            let ar: Vec<f64> = (0..720)
                .map(|_| {
                    a = 0.9 * a + rng.normal();
                    a
                })
                .collect();
            let mut w = 0.0;
            let walk: Vec<f64> = (0..720)
                .map(|_| {
                    w += rng.normal();
                    w
                })
                .collect();
            false_periods[0] += usize::from(detect_period(&white).is_some());
            false_periods[1] += usize::from(detect_period(&ar).is_some());
            false_periods[2] += usize::from(detect_period(&walk).is_some());
        }
        // About 2 % for AR(0.9) at this length (examples/period_detection.rs); it was 95 %.
        assert!(
            false_periods.iter().all(|f| *f <= 2),
            "white, AR(0.9), walk: {false_periods:?} of 20"
        );
    }

    #[test]
    fn a_weak_season_is_found_at_its_period_not_a_neighbour_or_a_multiple() {
        // A sine of amplitude 1 (or 0.5) in unit noise: the ACF peak often lands at 23 or 25, and
        // the highest peak at 48 or 72; the detector still says 24.
        for seed in 0..10 {
            let mut rng = Rng::new(100 + seed);
            let x: Vec<f64> = (0..2880)
                .map(|t| (std::f64::consts::TAU * t as f64 / 24.0).sin() + rng.normal())
                .collect();
            assert_eq!(detect_period(&x), Some(24), "amplitude 1, seed {seed}");
        }
        let mut found = 0;
        for seed in 0..20 {
            let mut rng = Rng::new(200 + seed);
            let x: Vec<f64> = (0..4032)
                .map(|t| 0.5 * (std::f64::consts::TAU * t as f64 / 24.0).sin() + rng.normal())
                .collect();
            found += usize::from(detect_period(&x) == Some(24));
        }
        assert!(found >= 14, "amplitude 0.5: {found} of 20");
    }

    #[test]
    fn a_few_spikes_a_period_apart_are_no_period_but_a_spike_every_period_is() {
        // A zero floor with rare spikes (disk writes): two pairs of spikes that happen to lie the
        // same distance apart made a period on most such series (141 of 200 at this length,
        // examples/period_detection.rs), now on almost none.
        // (Three spikes a day apart are two pairs, and no longer a period: this job has four in
        // a row.)
        let mut false_periods = 0;
        for seed in 0..10 {
            let x = crate::synthetic::generate(9, 1500, &mut Rng::new(300 + seed));
            false_periods += usize::from(detect_period(&x).is_some());
        }
        assert_eq!(false_periods, 0, "of 10");
        // A daily job: a spike every 288 points over five and a bit days, one of them missing.
        let job: Vec<f64> = (0..1500)
            .map(|t| if t % 288 == 17 && t / 288 != 2 { 1e6 } else { (t * 7 % 11) as f64 })
            .collect();
        assert_eq!(detect_period(&job), Some(288));
    }
}
