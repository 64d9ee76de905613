//! Golden tests of the forecasting fits: vane's in-sample SSE must be no worse than statsmodels'
//! by more than 1 % (the criterion) on every golden series.
//!
//! The expected SSEs are the `sse` objects of `tests/golden/*.json`, written by
//! `reference/generate.py` from statsmodels' `ExponentialSmoothing(...).fit()` (damped additive
//! trend; additive, multiplicative or no season; estimated initial state) and
//! `ARIMA(x, order=(1, 1, 1)).fit()` (residuals after the first, against vane's exact-filter
//! one-step errors, `Arima::innovation_sse`).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use serde_json::Value;
use vane_analytics::arima::{self, Order};
use vane_analytics::ets::{self, Component, HwSpec};
use vane_analytics::parse_csv;

const FILES: [(&str, usize); 5] = [
    ("ec2_cpu_utilization_24ae8d", 288),
    ("rds_cpu_utilization_e47b3b", 288),
    ("elb_request_count_8c0756", 288),
    ("synthetic_season24", 24),
    ("synthetic_rw12", 12),
];

fn load(name: &str) -> (Vec<f64>, Value) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let csv = std::fs::read_to_string(dir.join("data").join(format!("{name}.csv"))).unwrap();
    let golden = std::fs::read_to_string(dir.join("golden").join(format!("{name}.json"))).unwrap();
    let g: Value = serde_json::from_str(&golden).unwrap();
    (parse_csv(&csv).unwrap().values().to_vec(), g["sse"].clone())
}

fn check(name: &str, what: &str, vane: f64, statsmodels: f64, failures: &mut Vec<String>) {
    let ratio = vane / statsmodels;
    println!("{name} {what}: vane {vane:.10e} statsmodels {statsmodels:.10e} ratio {ratio:.5}");
    if ratio.is_nan() || ratio > 1.01 {
        failures.push(format!("{name} {what}: ratio {ratio:.5}"));
    }
}

#[test]
fn holt_winters_and_arima_sse_within_one_percent_of_statsmodels() {
    let mut failures = Vec::new();
    for (name, period) in FILES {
        let (x, sse) = load(name);
        let mut additive = None;
        for (key, seasonal) in [
            ("hw_add_damped_add", Component::Additive),
            ("hw_add_damped_mul", Component::Multiplicative),
            ("hw_add_damped_none", Component::None),
        ] {
            let Some(expected) = sse[key].as_f64() else {
                // statsmodels skipped it (a multiplicative season needs positive data).
                assert!(seasonal == Component::Multiplicative, "{name} {key} missing");
                continue;
            };
            let spec = HwSpec {
                trend: Component::Additive,
                damped: true,
                seasonal,
                period,
            };
            let fit = ets::fit(&x, spec).unwrap();
            check(name, key, fit.sse, expected, &mut failures);
            if seasonal == Component::Additive {
                additive = Some(fit);
            } else if seasonal == Component::Multiplicative {
                // As the analysis fits it: seeded by the additive fit.
                let seeded = ets::fit_seeded(&x, spec, additive.as_ref()).unwrap();
                check(name, "hw_add_damped_mul (seeded)", seeded.sse, expected, &mut failures);
            }
        }
        let m = arima::fit(&x, Order { p: 1, d: 1, q: 1 }).unwrap();
        let innovations = m.innovation_sse().unwrap();
        check(name, "arima_111", innovations, sse["arima_111"].as_f64().unwrap(), &mut failures);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
