//! Golden tests: every routine against statsmodels' output for the same input.
//!
//! The expected numbers are in `tests/golden/*.json`, written by `reference/generate.py` from the
//! CSVs in `tests/data`. Tolerances are the issue's: relative 1e-8 for ADF statistic, HP, ACF,
//! PACF, classical decomposition and aggregates; absolute 1e-6 for the ADF p-value; 1e-6 for STL.
//! "Relative" is measured against the larger of |expected| and a floor of 1e-6 times the largest
//! |expected| in the same vector, so values that are zero up to rounding (an ACF crossing zero, a
//! cycle near zero) do not demand more digits than the inputs carry.

// Test helpers may panic on malformed golden files: that is a test failure, as it should be.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::needless_range_loop)]

use std::path::PathBuf;

use serde_json::Value;
use vane_analytics::acf::{acf, acf_confint, pacf};
use vane_analytics::adf::{AdfOptions, Autolag, Regression, adfuller};
use vane_analytics::aggregates::window_stats;
use vane_analytics::decompose::{DecompositionModel, seasonal_decompose};
use vane_analytics::hp::hpfilter;
use vane_analytics::stl::{StlOptions, stl};
use vane_analytics::{Series, parse_csv};

const FILES: [&str; 5] = [
    "ec2_cpu_utilization_24ae8d",
    "rds_cpu_utilization_e47b3b",
    "elb_request_count_8c0756",
    "synthetic_season24",
    "synthetic_rw12",
];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(name: &str) -> (Series, Value) {
    let csv = std::fs::read_to_string(crate_dir().join("tests/data").join(format!("{name}.csv"))).unwrap();
    let golden = std::fs::read_to_string(crate_dir().join("tests/golden").join(format!("{name}.json"))).unwrap();
    (parse_csv(&csv).unwrap(), serde_json::from_str(&golden).unwrap())
}

fn floats(v: &Value) -> Vec<Option<f64>> {
    v.as_array().unwrap().iter().map(Value::as_f64).collect()
}

/// Largest scaled error between `actual` and `expected`; both must agree on which are null.
fn worst(actual: &[Option<f64>], expected: &[Option<f64>]) -> f64 {
    assert_eq!(actual.len(), expected.len(), "lengths differ");
    let scale = expected.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut worst = 0.0f64;
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        match (a, e) {
            (Some(a), Some(e)) => {
                let denom = e.abs().max(1e-6 * scale).max(f64::MIN_POSITIVE);
                worst = worst.max((a - e).abs() / denom);
            }
            (None, None) => {}
            _ => panic!("null mismatch at {i}: {a:?} vs {e:?}"),
        }
    }
    worst
}

fn some(v: &[f64]) -> Vec<Option<f64>> {
    v.iter().map(|x| Some(*x)).collect()
}

fn check(label: &str, actual: &[Option<f64>], expected: &[Option<f64>], tol: f64) {
    let w = worst(actual, expected);
    eprintln!("{label}: worst relative error {w:.3e}");
    assert!(w <= tol, "{label}: worst relative error {w:e} above {tol:e}");
}

#[test]
fn aggregates_match_numpy() {
    for name in FILES {
        let (s, g) = load(name);
        for (label, secs) in [("1h", 3600), ("3h", 10_800), ("12h", 43_200), ("2d", 172_800)] {
            let e = &g["aggregates"][label];
            let a = window_stats(&s, secs).unwrap();
            assert_eq!(a.count as u64, e["count"].as_u64().unwrap(), "{name} {label}");
            let got = [Some(a.max), Some(a.min), Some(a.mean), a.std];
            let want = [e["max"].as_f64(), e["min"].as_f64(), e["mean"].as_f64(), e["std"].as_f64()];
            check(&format!("{name} aggregates {label}"), &got, &want, 1e-8);
        }
    }
}

#[test]
fn adf_matches_statsmodels() {
    for name in FILES {
        let (s, g) = load(name);
        for case in g["adf"].as_array().unwrap() {
            let opts = AdfOptions {
                maxlag: case["maxlag"].as_u64().map(|m| m as usize),
                regression: Regression::parse(case["regression"].as_str().unwrap()).unwrap(),
                autolag: Autolag::parse(case["autolag"].as_str().unwrap()).unwrap(),
            };
            let r = adfuller(s.values(), &opts).unwrap();
            let label = format!("{name} adf {opts:?}");
            assert_eq!(r.usedlag as u64, case["usedlag"].as_u64().unwrap(), "{label}");
            assert_eq!(r.nobs as u64, case["nobs"].as_u64().unwrap(), "{label}");
            check(&label, &[Some(r.statistic)], &[case["statistic"].as_f64()], 1e-8);
            let pv = case["pvalue"].as_f64().unwrap();
            assert!((r.pvalue - pv).abs() <= 1e-6, "{label}: pvalue {} vs {pv}", r.pvalue);
            let crit = &case["critical"];
            check(
                &format!("{label} critical"),
                &[Some(r.critical.one), Some(r.critical.five), Some(r.critical.ten)],
                &[crit["1%"].as_f64(), crit["5%"].as_f64(), crit["10%"].as_f64()],
                1e-12,
            );
        }
    }
}

#[test]
fn acf_and_pacf_match_statsmodels() {
    for name in FILES {
        let (s, g) = load(name);
        let r = acf(s.values(), None).unwrap();
        check(&format!("{name} acf"), &some(&r), &floats(&g["acf"]), 1e-8);
        let ci = acf_confint(&r, s.len(), 0.05);
        let lo: Vec<f64> = ci.iter().map(|c| c[0]).collect();
        let hi: Vec<f64> = ci.iter().map(|c| c[1]).collect();
        let rows = g["acf_confint"].as_array().unwrap();
        let elo: Vec<Option<f64>> = rows.iter().map(|r| r[0].as_f64()).collect();
        let ehi: Vec<Option<f64>> = rows.iter().map(|r| r[1].as_f64()).collect();
        check(&format!("{name} acf confint lo"), &some(&lo), &elo, 1e-8);
        check(&format!("{name} acf confint hi"), &some(&hi), &ehi, 1e-8);
        let p = pacf(s.values(), None).unwrap();
        check(&format!("{name} pacf"), &some(&p), &floats(&g["pacf"]), 1e-8);
    }
}

fn long(s: &Series, g: &Value) -> Vec<f64> {
    s.values()[..g["long"].as_u64().unwrap() as usize].to_vec()
}

#[test]
fn hp_matches_statsmodels() {
    for name in FILES {
        let (s, g) = load(name);
        let x = long(&s, &g);
        for (lambda, key) in [(1600.0, "hp_1600"), (100.0, "hp_100")] {
            let r = hpfilter(&x, lambda).unwrap();
            check(&format!("{name} {key}"), &some(&r.trend), &floats(&g[key]), 1e-8);
        }
    }
}

#[test]
fn classical_decomposition_matches_statsmodels() {
    for name in FILES {
        let (s, g) = load(name);
        let x = long(&s, &g);
        let period = g["period"].as_u64().unwrap() as usize;
        for (model, key) in [
            (DecompositionModel::Additive, "decompose_additive"),
            (DecompositionModel::Multiplicative, "decompose_multiplicative"),
        ] {
            if g[key].is_null() {
                continue;
            }
            let d = seasonal_decompose(&x, period, model).unwrap();
            check(&format!("{name} {key} trend"), &d.trend, &floats(&g[key]["trend"]), 1e-8);
            check(
                &format!("{name} {key} seasonal"),
                &d.seasonal[..period],
                &floats(&g[key]["seasonal"]),
                1e-8,
            );
            for t in 0..x.len() {
                if let (Some(tr), Some(se), Some(re)) = (d.trend[t], d.seasonal[t], d.resid[t]) {
                    let back = match model {
                        DecompositionModel::Additive => tr + se + re,
                        DecompositionModel::Multiplicative => tr * se * re,
                    };
                    assert!((back - x[t]).abs() <= 1e-9 * x[t].abs().max(1.0));
                } else {
                    assert!(d.trend[t].is_none() && d.resid[t].is_none());
                }
            }
        }
    }
}

#[test]
fn stl_matches_statsmodels() {
    for name in FILES {
        let (s, g) = load(name);
        let x = long(&s, &g);
        let period = g["period"].as_u64().unwrap() as usize;
        for (robust, key) in [(false, "stl"), (true, "stl_robust")] {
            let o = StlOptions {
                robust,
                ..StlOptions::new(period)
            };
            let r = stl(&x, &o).unwrap();
            check(&format!("{name} {key} trend"), &some(&r.trend), &floats(&g[key]["trend"]), 1e-6);
            check(
                &format!("{name} {key} seasonal"),
                &some(&r.seasonal),
                &floats(&g[key]["seasonal"]),
                1e-6,
            );
        }
    }
}
