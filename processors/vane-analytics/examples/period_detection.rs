//! How often the seasonal period detector is right, on synthetic series with a known answer:
//! false periods on noise without a season (white noise, AR(0.9), a random walk) and on a floor
//! with rare spikes, and the period found on seasons of several shapes, periods and strengths in
//! unit noise and on spikes that repeat.
//!
//! `cargo run --release -p vane-analytics --example period_detection` (about 14 s; the numbers in
//! docs/analytics.md come from it).

use std::collections::BTreeMap;
use std::f64::consts::TAU;

use vane_analytics::period::{detect_period, detect_period_with_interval};
use vane_analytics::rng::Rng;

const TRIALS: usize = 200;

fn noise(kind: &str, n: usize, r: &mut Rng) -> Vec<f64> {
    let mut level = 0.0;
    (0..n)
        .map(|_| match kind {
            "white noise" => r.normal(),
            "AR(0.9)" => {
                level = 0.9 * level + r.normal();
                level
            }
            _ => {
                level += r.normal();
                level
            }
        })
        .collect()
}

fn wave(shape: &str, phase: f64) -> f64 {
    match shape {
        "sine" => (phase * TAU).sin(),
        "square" => {
            if phase < 0.5 {
                1.0
            } else {
                -1.0
            }
        }
        _ => 2.0 * phase - 1.0,
    }
}

fn main() {
    let mut r = Rng::new(1);
    println!("false periods in {TRIALS} series without a season:");
    for n in [300, 720, 2880, 4032] {
        let counts: Vec<String> = ["white noise", "AR(0.9)", "random walk"]
            .iter()
            .map(|kind| {
                let found = (0..TRIALS).filter(|_| detect_period(&noise(kind, n, &mut r)).is_some()).count();
                format!("{kind} {found}")
            })
            .collect();
        println!("  n {n}: {}", counts.join(", "));
    }
    println!("period 24 found, sine of amplitude A in unit noise, of {TRIALS}:");
    for n in [300, 720, 2880, 4032] {
        let counts: Vec<String> = [0.3, 0.5, 1.0, 3.0]
            .iter()
            .map(|a| {
                let found = (0..TRIALS)
                    .filter(|_| {
                        let y: Vec<f64> = (0..n).map(|t| a * (t as f64 * TAU / 24.0).sin() + r.normal()).collect();
                        detect_period(&y) == Some(24)
                    })
                    .count();
                format!("A {a}: {found}")
            })
            .collect();
        println!("  n {n}: {}", counts.join(", "));
    }
    println!("period found with 5-minute timestamps (so 288 is a day), amplitude 1 in unit noise, of 100:");
    for n in [1000, 4032] {
        for period in [7usize, 12, 50, 288] {
            for shape in ["sine", "square", "sawtooth"] {
                let mut wrong: BTreeMap<String, usize> = BTreeMap::new();
                let mut right = 0;
                for _ in 0..100 {
                    let y: Vec<f64> = (0..n)
                        .map(|t| wave(shape, (t % period) as f64 / period as f64) + r.normal())
                        .collect();
                    match detect_period_with_interval(&y, Some(300)) {
                        Some(p) if p == period => right += 1,
                        other => *wrong.entry(format!("{other:?}")).or_default() += 1,
                    }
                }
                println!("  n {n}, period {period}, {shape}: {right}; otherwise {wrong:?}");
            }
        }
    }
    println!("false periods in {TRIALS} floors with rare spikes (3 % of points, heights uniform; disk writes):");
    for n in [300, 1500, 4032] {
        let found = (0..TRIALS)
            .filter(|_| detect_period(&vane_analytics::synthetic::generate(9, n, &mut r)).is_some())
            .count();
        println!("  n {n}: {found}");
    }
    println!("period found in a floor with a spike every P points (each kept with probability 0.9, heights uniform), of {TRIALS}:");
    for (n, period) in [(1000, 12), (4032, 12), (1500, 288), (4032, 288)] {
        let found = (0..TRIALS)
            .filter(|_| {
                let y: Vec<f64> = (0..n)
                    .map(|t| {
                        let spike = t % period == 0 && r.uniform() < 0.9;
                        if spike {
                            1e6 * (0.5 + 0.5 * r.uniform())
                        } else {
                            10.0 * r.uniform()
                        }
                    })
                    .collect();
                detect_period(&y) == Some(period)
            })
            .count();
        println!("  n {n}, period {period}: {found}");
    }
}
