//! Synthetic series of the shapes metrics take and of shapes that break numerical code, for the
//! robustness tests of this crate and of the analytics worker: noise and random walks, constant
//! stretches, floors with spikes, quantised values, counters (ramps, resets, near 2^64), strict
//! alternations, square waves, seasons, level shifts, scales from 1e-90 to 1e140. Deterministic
//! for a given [`Rng`].

use crate::rng::Rng;

/// How many shapes [`generate`] knows.
pub const SHAPES: usize = 22;

/// `n` points of shape `kind` (0 to [`SHAPES`] - 1; larger values give the last shape).
pub fn generate(kind: usize, n: usize, r: &mut Rng) -> Vec<f64> {
    let t = |i: usize| i as f64;
    match kind {
        // White noise and a random walk.
        0 => (0..n).map(|_| r.normal()).collect(),
        1 => (0..n)
            .scan(0.0, |s, _| {
                *s += r.normal();
                Some(*s)
            })
            .collect(),
        // Constant, and constant with one blip.
        2 => vec![42.0; n],
        3 => (0..n).map(|i| if i == n / 2 { 43.0 } else { 42.0 }).collect(),
        // Quantised CPU: two values.
        4 => (0..n).map(|_| if r.uniform() < 0.8 { 0.066 } else { 0.132 }).collect(),
        // Byte counters at 1e12 and ratios at 1e-12.
        5 => (0..n).map(|i| 1e12 + 1e9 * (r.normal() + (t(i) / 7.0).sin())).collect(),
        6 => (0..n).map(|i| 1e-12 * (2.0 + r.normal() * 0.1 + (t(i) / 5.0).cos())).collect(),
        // A falling negative trend, and exponential growth.
        7 => (0..n).map(|i| -0.5 * t(i) + r.normal()).collect(),
        8 => (0..n).map(|i| 1.02_f64.powf(t(i)) * (1.0 + 0.01 * r.normal())).collect(),
        // A zero floor with sparse large spikes (disk writes).
        9 => (0..n).map(|_| if r.uniform() < 0.03 { 1e6 * r.uniform() } else { 0.0 }).collect(),
        // A season of 24 with noise, and a season of 24 that is multiplicative and positive.
        10 => (0..n)
            .map(|i| (t(i) * std::f64::consts::TAU / 24.0).sin() * 5.0 + r.normal())
            .collect(),
        11 => (0..n)
            .map(|i| (10.0 + 0.05 * t(i)) * (1.5 + (t(i) * std::f64::consts::TAU / 24.0).sin()) + r.uniform())
            .collect(),
        // Alternating +-1, a level shift half way, counts that are mostly zero.
        12 => (0..n).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect(),
        13 => (0..n).map(|i| if i < n / 2 { 10.0 } else { 1000.0 } + r.normal()).collect(),
        14 => (0..n).map(|_| if r.uniform() < 0.1 { 1.0 } else { 0.0 }).collect(),
        // Counters: a perfect ramp (uptime, +300 every step), one with resets, and a square wave.
        15 => (0..n).map(|i| 300.0 * t(i)).collect(),
        16 => (0..n).map(|i| ((i % 97) * 15) as f64).collect(),
        17 => (0..n).map(|i| if (i / 5) % 2 == 0 { 3.0 } else { 7.0 }).collect(),
        // A 64-bit byte counter near its top, where f64 steps are 2048 apart.
        18 => (0..n).map(|i| 1.8e19 + 5e3 * t(i) + 1e4 * r.uniform()).collect(),
        // At the edges of the magnitudes the analysis takes (1e150 and 1e-100).
        19 => (0..n).map(|i| 1e140 * (3.0 + r.normal() + (t(i) / 9.0).sin())).collect(),
        20 => (0..n).map(|i| 1e-90 * (3.0 + r.normal() + (t(i) / 9.0).sin())).collect(),
        // A series that ends flat after noise (the ADF case seen on a live metric).
        _ => (0..n).map(|i| if i < n * 2 / 3 { 5e9 + 1e7 * r.normal() } else { 5e9 }).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_has_its_length_and_is_finite_and_repeatable() {
        for kind in 0..SHAPES {
            for n in [0, 1, 2, 50, 301] {
                let y = generate(kind, n, &mut Rng::new(1));
                assert_eq!(y.len(), n, "shape {kind}");
                assert!(y.iter().all(|v| v.is_finite()), "shape {kind}");
                assert_eq!(y, generate(kind, n, &mut Rng::new(1)), "shape {kind}");
            }
        }
        // Distinct shapes are distinct series.
        let all: Vec<Vec<f64>> = (0..SHAPES).map(|k| generate(k, 64, &mut Rng::new(2))).collect();
        for (i, a) in all.iter().enumerate() {
            assert!(all.iter().skip(i + 1).all(|b| b != a), "shape {i} repeats another");
        }
    }
}
