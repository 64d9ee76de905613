//! `vane analyze` as other tools call it: the JSON contract, and clear errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

use std::process::Command;

const VANE: &str = env!("CARGO_BIN_EXE_vane");

#[test]
fn json_output_follows_the_contract() {
    let csv = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vane-analytics/tests/data/ec2_cpu_utilization_24ae8d.csv"
    );
    let output = Command::new(VANE)
        .args(["analyze", csv, "--json", "--range", ":60", "--horizon", "12"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stdout is one JSON value");
    for key in [
        "n",
        "aggregates",
        "adf",
        "hp",
        "acf",
        "acf_confint",
        "pacf",
        "decomposition",
        "stl",
        "forecast",
        "forecasts",
        "violation",
        "missing",
        "timings_ms",
    ] {
        assert!(report.get(key).is_some(), "missing key {key}");
    }
    let n = report["n"].as_u64().unwrap() as usize;
    assert_eq!(report["hp"]["trend"].as_array().unwrap().len(), n);
    assert_eq!(report["forecast"]["mean"].as_array().unwrap().len(), 12);
    let probability = report["violation"]["probability"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&probability));
    assert!(report["aggregates"]["1h"]["count"].as_u64().unwrap() > 0);
}

#[test]
fn bad_files_and_flags_fail_with_a_message() {
    let output = Command::new(VANE).args(["analyze", "/nonexistent.csv"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read /nonexistent.csv"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.csv");
    std::fs::write(&file, "timestamp,value\n2024-01-01 00:00:00,1\n").unwrap();
    let output = Command::new(VANE)
        .args([
            "analyze",
            file.to_str().unwrap(),
            "--regression",
            "quadratic",
            "--level",
            "2",
            "--horizon",
            "100000",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("--regression") && stderr.contains("--level"), "{stderr}");
    assert!(stderr.contains("--horizon 100000: must be between 1 and 1000"), "{stderr}");
}

#[test]
fn a_negative_minimum_and_a_deterministic_series() {
    // A strict alternation between -1 and 1: ADF and PACF are undefined and say why, the rest is
    // there, and a range with a negative minimum needs no quoting.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alternating.csv");
    let mut text = String::from("timestamp,value\n");
    for i in 0..200 {
        text.push_str(&format!("{},{}\n", 1_700_000_000 + 60 * i, if i % 2 == 0 { -1 } else { 1 }));
    }
    std::fs::write(&file, &text).unwrap();
    let output = Command::new(VANE)
        .args(["analyze", file.to_str().unwrap(), "--json", "--range", "-0.5:2"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report["adf"].is_null() && report["pacf"].is_null(), "{report}");
    for section in ["adf", "pacf"] {
        let why = report["missing"][section].as_str().unwrap();
        assert!(why.contains("undefined for this series"), "{section}: {why}");
    }
    assert_eq!(report["violation"]["min"], -0.5);
    assert!(report["forecast"]["mean"].is_array() && report["hp"]["trend"].is_array());
    // The same file without its header is refused at line 1, not read one point short.
    let headless = dir.path().join("headless.csv");
    std::fs::write(&headless, text.split_once('\n').unwrap().1).unwrap();
    let output = Command::new(VANE).args(["analyze", headless.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("csv line 1") && stderr.contains("header"),
        "{stderr}"
    );
}
