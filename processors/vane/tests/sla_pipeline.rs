//! Acceptance of the SLA manager (issue 6), as a new user would try it: a real node-exporter
//! scraped by a real Prometheus (Debian packages), `vane up --prometheus-url`, an SLA created with
//! `vane sla create` whose max is below node_memory_MemFree_bytes. It becomes `violated`; vane is
//! restarted in the middle of the violation; the SLA is updated to a range that holds and becomes
//! `ok`. The violations vane lists equal a recount from the samples in Prometheus, the counts
//! agree, the log holds no status change, violation or notification twice, and the notifier
//! delivered exactly one "violated" and one "back in range" message to a fake Telegram.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use vane_events::{Codec, NotificationEvent, SlaEvent, SlaEventKind};
use vane_stream::topics;
use vane_testkit::{VaneProcess, free_port};

const METRIC: &str = "node_memory_MemFree_bytes";
const TOKEN: &str = "acceptance-admin-token-0123456789";

/// `vane sla <args> --grpc-addr <grpc> --json` with the admin token, parsed.
fn sla(grpc: &str, args: &[&str]) -> Value {
    let output = Command::new(VANE)
        .arg("sla")
        .args(args)
        .args(["--grpc-addr", grpc, "--json"])
        .env("VANE_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "vane sla {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Polls `vane query sla --sla memfree` until every row has `status`; returns the rows.
fn wait_status(grpc: &str, status: &str, within: Duration) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let rows = query(grpc, &["sla", "--sla", "memfree"]);
        if !rows.is_empty() && rows.iter().all(|r| r["status"] == status) {
            return rows;
        }
        assert!(Instant::now() < deadline, "status never became {status}: {rows:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The current value of the metric's series from Prometheus (one series on this host).
fn current_value(prometheus: &str) -> f64 {
    let (status, body) = vane_testkit::http(prometheus, "GET", &format!("/api/v1/query?query={METRIC}"), &[], b"").unwrap();
    assert_eq!(status, 200);
    let json: Value = serde_json::from_slice(&body).unwrap();
    json["data"]["result"][0]["value"][1].as_str().unwrap().parse().unwrap()
}

/// Raw samples of the series in `[from_ms, to_ms]` from Prometheus' API.
fn samples(prometheus: &str, from_ms: i64, to_ms: i64) -> Vec<(i64, f64)> {
    let expr = format!("{METRIC}[{}ms]", to_ms - from_ms + 1);
    let path = format!("/api/v1/query?query={}&time={}.{:03}", encode(&expr), to_ms / 1000, to_ms % 1000);
    let (status, body) = vane_testkit::http(prometheus, "GET", &path, &[], b"").unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let json: Value = serde_json::from_slice(&body).unwrap();
    let result = json["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1, "one MemFree series: {json}");
    result[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                (pair[0].as_f64().unwrap() * 1000.0).round() as i64,
                pair[1].as_str().unwrap().parse().unwrap(),
            )
        })
        .filter(|(ts, _)| *ts >= from_ms && *ts <= to_ms)
        .collect()
}

#[test]
fn an_sla_on_memfree_violates_survives_a_restart_recovers_and_counts_match_prometheus() {
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
    let (_exporter, exporter_port) = start_node_exporter(&exporter_bin);
    let telegram = vane_testkit::telegram::FakeTelegram::start().unwrap();
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
        "--telegram-api-url",
        &telegram.url,
    ];
    let env = [
        ("VANE__TELEGRAM__TOKEN", "123456:acceptance-test-token"),
        ("VANE__PROMETHEUS__INTERVAL", "1s"),
        ("VANE__PROMETHEUS__SELECTORS", "[\"node_memory_MemFree_bytes\"]"),
        ("VANE__API__ADMIN_TOKEN", TOKEN),
        ("VANE__SLA__EVALUATE_EVERY", "1s"),
        ("VANE__ANALYTICS__EVERY", "2s"),
        ("VANE__ANALYTICS__HORIZON", "10s"),
    ];
    let vane = VaneProcess::start(VANE, &args, &env);
    let deadline = Instant::now() + Duration::from_secs(120);
    while query(&grpc, &["series", "--metric", METRIC]).is_empty() {
        assert!(Instant::now() < deadline, "the MemFree series never reached vane");
        std::thread::sleep(Duration::from_secs(1));
    }

    // Changes need the token: without it the CLI says so and nothing is created.
    let refused = Command::new(VANE).args(["sla", "list", "--grpc-addr", &grpc]).output().unwrap();
    assert!(refused.status.success(), "reads are open");
    let refused = Command::new(VANE)
        .args([
            "sla",
            "create",
            "--name",
            "x",
            "--metric",
            METRIC,
            "--max",
            "1",
            "--grpc-addr",
            &grpc,
        ])
        .env_remove("VANE_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("VANE_ADMIN_TOKEN"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // A max below the current value: violated within one evaluation interval (1 s pulls).
    let max = (current_value(&prometheus) / 2.0).floor();
    let created = sla(
        &grpc,
        &[
            "create",
            "--name",
            "memfree",
            "--metric",
            METRIC,
            "--max",
            &max.to_string(),
            "--chat-id",
            "42",
        ],
    );
    let sla_id = created["id"].as_str().unwrap().to_string();
    let started = Instant::now();
    let violated = wait_status(&grpc, "violated", Duration::from_secs(60));
    println!("violated {:?} after the SLA was created", started.elapsed());
    assert_eq!(violated.len(), 1, "one MemFree series");
    // The original REST API's read of an SLA and its status, on the HTTP address.
    let (code, body) = vane_testkit::http(&http, "GET", "/api/v1/slas/memfree", &[], b"").unwrap();
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["id"], sla_id.as_str());

    // Restart in the middle of the violation.
    std::thread::sleep(Duration::from_secs(4));
    assert!(vane.stop().success());
    let vane = VaneProcess::start(VANE, &args, &env);
    let before = query(&grpc, &["violations", "--sla", "memfree"]).len();
    let deadline = Instant::now() + Duration::from_secs(60);
    while query(&grpc, &["violations", "--sla", "memfree"]).len() < before + 3 {
        assert!(Instant::now() < deadline, "no new violations after the restart");
        std::thread::sleep(Duration::from_millis(500));
    }

    // A range that holds: ok again.
    let updated = sla(&grpc, &["update", "memfree", "--max", "1e15"]);
    assert_eq!(updated["revision"], 2);
    wait_status(&grpc, "ok", Duration::from_secs(60));
    let ok_at = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()) as i64;
    std::thread::sleep(Duration::from_secs(3));

    // Every violation is a Prometheus sample above the old max, and every Prometheus sample in
    // the violated span is one: an independent recount.
    let listed = query(&grpc, &["violations", "--sla", "memfree", "--since", "1h"]);
    let vane_violations: Vec<(i64, f64)> = listed
        .iter()
        .map(|v| (v["at"].as_i64().unwrap(), v["value"].as_f64().unwrap()))
        .collect();
    let (first, last) = (vane_violations.first().unwrap().0, vane_violations.last().unwrap().0);
    assert!(last < ok_at);
    let recount: Vec<(i64, f64)> = samples(&prometheus, first, last).into_iter().filter(|(_, v)| *v > max).collect();
    assert_eq!(vane_violations, recount, "vane's violations = Prometheus' samples above {max}");
    // The counts in one call agree with the list; one episode.
    let (code, body) = vane_testkit::http(&http, "GET", "/api/v1/slas/memfree/violations/counts", &[], b"").unwrap();
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let counts: Value = serde_json::from_slice(&body).unwrap();
    let windows = counts["windows"].as_array().unwrap();
    assert_eq!(
        windows.iter().map(|w| w["window"].as_str().unwrap()).collect::<Vec<_>>(),
        ["1h", "3h", "6h", "12h"]
    );
    for window in windows {
        assert_eq!(window["violating_samples"].as_u64().unwrap(), recount.len() as u64, "{window}");
        assert_eq!(window["episodes"], 1, "{window}");
    }
    // The same counts from the CLI.
    let cli_counts = query(&grpc, &["counts", "--sla", "memfree"]);
    for window in cli_counts[0]["windows"].as_array().unwrap() {
        assert_eq!(window["violating_samples"].as_u64().unwrap(), recount.len() as u64, "{window}");
        assert_eq!(window["episodes"], 1, "{window}");
    }

    // The notifier delivers both messages (one per chat per second at most).
    let deadline = Instant::now() + Duration::from_secs(30);
    while telegram.sent().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2)); // and nothing more

    // The log: no status change, violation or notification twice.
    assert!(vane.stop().success());
    let data_dir = std::path::Path::new(&data_dir);
    let codec = Codec::<SlaEvent>::new().unwrap();
    let events: Vec<SlaEvent> = embedded_records(data_dir, topics::SLA_EVENTS)
        .iter()
        .map(|r| codec.decode(&r.value).unwrap())
        .filter(|e| e.sla_id == sla_id)
        .collect();
    let violations: Vec<(String, i64)> = events
        .iter()
        .filter(|e| e.kind == SlaEventKind::Violation)
        .map(|e| (e.series_id.to_string(), e.at_ms))
        .collect();
    let unique: BTreeSet<&(String, i64)> = violations.iter().collect();
    assert_eq!(unique.len(), violations.len(), "a violation event twice");
    assert_eq!(violations.len(), recount.len());
    let changes: Vec<(Option<&str>, &str, i64)> = events
        .iter()
        .filter(|e| e.kind == SlaEventKind::Status && e.previous != Some(e.status))
        .map(|e| (e.previous.map(|p| p.as_str()), e.status.as_str(), e.at_ms))
        .collect();
    let kinds: Vec<(Option<&str>, &str)> = changes.iter().map(|(from, to, _)| (*from, *to)).collect();
    assert_eq!(kinds, [(None, "violated"), (Some("violated"), "ok")], "{changes:?}");
    let codec = Codec::<NotificationEvent>::new().unwrap();
    let notifications: Vec<NotificationEvent> = embedded_records(data_dir, topics::NOTIFICATIONS)
        .iter()
        .map(|r| codec.decode(&r.value).unwrap())
        .collect();
    let sent: Vec<&str> = notifications.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(sent, ["violation_started", "violation_ended"], "one notification each, none twice");
    assert!(notifications.iter().all(|n| n.recipient == "telegram:42"));
    // Delivered once each through the Bot API, the restart in between included.
    let delivered = telegram.sent();
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    assert!(delivered.iter().all(|m| m.chat_id == 42));
    assert!(delivered[0].text.contains("SLA memfree violated"), "{}", delivered[0].text);
    assert!(delivered[1].text.contains("SLA memfree back in range"), "{}", delivered[1].text);
}
