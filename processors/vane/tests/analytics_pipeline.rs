//! Acceptance of the metrics analytics pipeline (issue 5), as a new user would try it: a real
//! node-exporter scraped by a real Prometheus (Debian packages), `vane up --prometheus-url` pulling
//! the five default metrics. Every analytics query (stationarity, decomposition, trend,
//! autocorrelation, forecast) returns a row for every series of the five metrics, one per
//! device/mountpoint; and for one series the analytics served equal `vane analyze` run on the
//! same samples exported from Prometheus, within the parity tolerances.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use vane_testkit::{VaneProcess, free_port};

const METRICS: [&str; 5] = [
    "node_memory_MemFree_bytes",
    "node_memory_MemAvailable_bytes",
    "node_filesystem_free_bytes",
    "node_filesystem_avail_bytes",
    "node_filefd_allocated",
];
const KINDS: [&str; 5] = ["stationarity", "decomposition", "trend", "autocorrelation", "forecast"];
/// Points a series needs before every part of its analysis can be computed (period 5).
const ENOUGH: u64 = 40;

fn series_ids(grpc: &str, metric: &str) -> BTreeSet<String> {
    query(grpc, &["series", "--metric", metric])
        .iter()
        .map(|s| s["series_id"].as_str().unwrap().to_string())
        .collect()
}

fn relative_close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * a.abs().max(b.abs()).max(1e-12)
}

/// The raw samples of one series in `[from_ms, to_ms]`, from Prometheus' HTTP API.
fn export(prometheus: &str, metric: &str, labels: &serde_json::Map<String, Value>, from_ms: i64, to_ms: i64) -> Vec<(i64, f64)> {
    let selector: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap())).collect();
    let expr = format!("{metric}{{{}}}[{}ms]", selector.join(","), to_ms - from_ms);
    let path = format!("/api/v1/query?query={}&time={}.{:03}", encode(&expr), to_ms / 1000, to_ms % 1000);
    let (status, body) = vane_testkit::http(prometheus, "GET", &path, &[], b"").unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let json: Value = serde_json::from_slice(&body).unwrap();
    let result = json["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1, "{expr}: {json}");
    result[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            let ts = (pair[0].as_f64().unwrap() * 1000.0).round() as i64;
            (ts, pair[1].as_str().unwrap().parse().unwrap())
        })
        .filter(|(ts, _)| *ts >= from_ms)
        .collect()
}

#[test]
fn every_series_of_the_five_metrics_is_analysed_and_matches_vane_analyze() {
    let Some((prometheus_bin, exporter_bin)) = prometheus_peers() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let data_dir = work.path().join("vane-data").to_str().unwrap().to_string();
    let grpc = format!("127.0.0.1:{}", free_port());
    let http = format!("127.0.0.1:{}", free_port());
    let prometheus_port = free_port();
    let prometheus = format!("127.0.0.1:{prometheus_port}");
    let prometheus_url = format!("http://{prometheus}");

    let (exporter, exporter_port) = start_node_exporter(&exporter_bin);
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n"
    );
    let _prometheus_process = start_prometheus(&prometheus_bin, work.path(), prometheus_port, &config);
    let args = [
        "up",
        "--data-dir",
        &data_dir,
        "--http-addr",
        &http,
        "--grpc-addr",
        &grpc,
        "--prometheus-url",
        &prometheus_url,
    ];
    // The default selectors (the five metrics); a fast schedule, a fixed period so that short
    // test series get a decomposition, per-point parts with every analysis.
    let env = [
        ("VANE__PROMETHEUS__INTERVAL", "1s"),
        ("VANE__ANALYTICS__EVERY", "2s"),
        ("VANE__ANALYTICS__PERIOD", "5"),
        ("VANE__ANALYTICS__POINTS_EVERY", "1s"),
        ("VANE__ANALYTICS__HORIZON", "10s"),
    ];
    let vane = VaneProcess::start(VANE, &args, &env);

    // Every series of every metric gets a row in every analytics query, with enough points.
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut ready = false;
    while !ready {
        assert!(Instant::now() < deadline, "not every series was analysed in time");
        std::thread::sleep(Duration::from_secs(2));
        ready = METRICS.iter().all(|metric| {
            let ids = series_ids(&grpc, metric);
            !ids.is_empty()
                && KINDS.iter().all(|kind| {
                    let rows = query(&grpc, &[kind, "--metric", metric]);
                    let seen: BTreeSet<String> = rows.iter().map(|r| r["series_id"].as_str().unwrap().to_string()).collect();
                    seen == ids
                })
                && query(&grpc, &["stationarity", "--metric", metric])
                    .iter()
                    .all(|r| r["points_count"].as_u64().unwrap() >= ENOUGH)
        });
    }
    let filesystems = series_ids(&grpc, "node_filesystem_free_bytes");
    assert!(!filesystems.is_empty(), "one series per device/mountpoint");

    // Stop the samples (node-exporter down; Prometheus keeps what it has) and let the last
    // analyses settle, so that the served analysis and the export cover the same samples.
    drop(exporter);
    let metric = "node_memory_MemFree_bytes";
    let mut last = query(&grpc, &["stationarity", "--metric", metric]);
    loop {
        std::thread::sleep(Duration::from_secs(6));
        let again = query(&grpc, &["stationarity", "--metric", metric]);
        let points_again = query(&grpc, &["trend", "--metric", metric]);
        if again == last && points_again.iter().zip(&again).all(|(p, s)| p["analyzed_at"] == s["analyzed_at"]) {
            break;
        }
        last = again;
    }

    // Memory changes every second: every part is present for it.
    for kind in KINDS {
        for row in query(&grpc, &[kind, "--metric", metric]) {
            assert!(row["missing"].is_null(), "{kind} of {metric} missing: {row}");
        }
    }

    // Parity for one series: export its window from Prometheus and run `vane analyze` on it.
    let served = &last[0];
    let (from_ms, to_ms) = (served["window_start"].as_i64().unwrap(), served["window_end"].as_i64().unwrap());
    let labels = served["labels"].as_object().unwrap().clone();
    let samples = export(&prometheus, metric, &labels, from_ms, to_ms);
    assert_eq!(samples.len() as u64, served["points_count"].as_u64().unwrap(), "the same window");
    let csv = work.path().join("series.csv");
    let mut text = String::from("timestamp,value\n");
    for (ts, value) in &samples {
        text.push_str(&format!("{},{value}\n", ts.div_euclid(1000)));
    }
    std::fs::write(&csv, text).unwrap();
    let output = Command::new(VANE)
        .args(["analyze", csv.to_str().unwrap(), "--period", "5", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let offline: Value = serde_json::from_slice(&output.stdout).unwrap();

    let series_id = served["series_id"].as_str().unwrap();
    let one = |kind: &str| -> Value {
        query(&grpc, &[kind, "--metric", metric])
            .into_iter()
            .find(|r| r["series_id"] == series_id)
            .unwrap()
    };
    // ADF: statistic 1e-8 relative, p-value 1e-6 absolute, same lags and nobs.
    let adf = &offline["adf"];
    assert!(relative_close(
        served["statistic"].as_f64().unwrap(),
        adf["statistic"].as_f64().unwrap(),
        1e-8
    ));
    assert!((served["pvalue"].as_f64().unwrap() - adf["pvalue"].as_f64().unwrap()).abs() <= 1e-6);
    assert_eq!(served["used_lag"], adf["usedlag"]);
    assert_eq!(served["nobs"], adf["nobs"]);
    // HP trend and cycle, point by point.
    let trend = one("trend");
    let points = trend["points"].as_array().unwrap();
    assert_eq!(points.len(), samples.len());
    for (i, point) in points.iter().enumerate() {
        assert_eq!(point["time"].as_i64().unwrap(), samples[i].0);
        assert!(relative_close(
            point["trend"].as_f64().unwrap(),
            offline["hp"]["trend"][i].as_f64().unwrap(),
            1e-8
        ));
        let cycle = (point["cycle"].as_f64().unwrap(), offline["hp"]["cycle"][i].as_f64().unwrap());
        assert!((cycle.0 - cycle.1).abs() <= 1e-8 * samples[i].1.abs(), "cycle {cycle:?}");
    }
    // Classical decomposition (period 5), undefined ends included.
    let decomposition = one("decomposition");
    for (i, point) in decomposition["points"].as_array().unwrap().iter().enumerate() {
        for part in ["trend", "seasonal", "resid"] {
            let expected = &offline["decomposition"][part][i];
            match expected.as_f64() {
                None => assert!(point[part].is_null(), "{part}[{i}]"),
                Some(value) => {
                    let scale = samples[i].1.abs();
                    assert!((point[part].as_f64().unwrap() - value).abs() <= 1e-8 * scale, "{part}[{i}]");
                }
            }
        }
    }
    // Autocorrelation and partial autocorrelation, lag by lag.
    let acf = one("autocorrelation");
    for name in ["acf", "pacf"] {
        let (ours, theirs) = (acf[name].as_array().unwrap(), offline[name].as_array().unwrap());
        assert_eq!(ours.len(), theirs.len(), "{name} lags");
        for (a, b) in ours.iter().zip(theirs) {
            assert!((a.as_f64().unwrap() - b.as_f64().unwrap()).abs() <= 1e-8, "{name}");
        }
    }
    // The forecast: 10 s at 1 s steps, intervals around the mean, after the window.
    let forecast = one("forecast");
    let steps = forecast["points"].as_array().unwrap();
    assert_eq!(steps.len(), 10, "{forecast}");
    for step in steps {
        assert!(step["time"].as_i64().unwrap() > to_ms);
        let (lo, mean, hi) = (
            step["lower"].as_f64().unwrap(),
            step["mean"].as_f64().unwrap(),
            step["upper"].as_f64().unwrap(),
        );
        assert!(lo <= mean && mean <= hi, "{step}");
    }
    assert!(!forecast["model"].as_str().unwrap().is_empty());
    assert!(vane.stop().success());
}
