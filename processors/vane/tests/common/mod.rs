//! Shared helpers of the binary's end-to-end tests: reading what vane wrote to its log.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code

use std::path::Path;
use std::time::{Duration, Instant};

use vane_events::{Codec, MetricSampleEvent};
use vane_stream::embedded::{EmbeddedConfig, EmbeddedLog};
use vane_stream::{Log, Record};

pub const VANE: &str = env!("CARGO_BIN_EXE_vane");

/// Every record of `topic` in a stopped embedded instance's data dir.
pub fn embedded_records(data_dir: &Path, topic: &str) -> Vec<Record> {
    let log = EmbeddedLog::open(EmbeddedConfig::new(data_dir)).expect("open the data dir after vane stopped");
    let mut all = Vec::new();
    for partition in 0..log.partition_count(topic).expect("topic exists") {
        all.extend(log.fetch(topic, partition, 0, usize::MAX).expect("fetch").0);
    }
    all
}

/// Reads `topic` from the start until `done(records)` or the timeout.
pub async fn read_until(log: &Log, topic: &str, timeout: Duration, done: impl Fn(&[Record]) -> bool) -> Vec<Record> {
    let mut reader = log.consumer(None, &[topic]).expect("reader");
    let deadline = Instant::now() + timeout;
    let mut all = Vec::new();
    while Instant::now() < deadline && !done(&all) {
        all.extend(reader.poll(10_000, Duration::from_millis(200)).await.expect("poll"));
    }
    all
}

pub fn decode_samples(records: &[Record]) -> Vec<MetricSampleEvent> {
    let codec = Codec::<MetricSampleEvent>::new().expect("codec");
    records
        .iter()
        .map(|r| codec.decode(&r.value).expect("samples topic holds valid Avro"))
        .collect()
}

/// Polls `url` on `addr` until the body satisfies `ok`.
pub fn wait_http(addr: &str, path: &str, timeout: Duration, ok: impl Fn(u16, &str) -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok((status, body)) = vane_testkit::http(addr, "GET", path, &[], b"")
            && ok(status, &String::from_utf8_lossy(&body))
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// The value of a metric line `name{labels} value` in /metrics output (0 when absent).
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or(0.0)
}

/// A child process killed (SIGKILL) when dropped.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's prometheus and prometheus-node-exporter, or `None` after saying why the test skips
/// (a failure instead when `VANE_REQUIRE_PROMETHEUS=1`, as in CI).
pub fn prometheus_peers() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let required = std::env::var_os("VANE_REQUIRE_PROMETHEUS").is_some_and(|v| v == "1");
    let prometheus = vane_testkit::find_binary("VANE_PROMETHEUS_BIN", "prometheus");
    let exporter = vane_testkit::find_binary("VANE_NODE_EXPORTER_BIN", "prometheus-node-exporter");
    match (prometheus, exporter) {
        (Some(p), Some(e)) => Some((p, e)),
        _ => {
            assert!(
                !required,
                "VANE_REQUIRE_PROMETHEUS=1 but prometheus or prometheus-node-exporter is not installed"
            );
            eprintln!("SKIPPED: prometheus and prometheus-node-exporter (Debian packages) are not installed; `.ci/run` installs them");
            None
        }
    }
}

/// Starts node-exporter on a free port; returns the guard and the port.
pub fn start_node_exporter(binary: &std::path::Path) -> (Killed, u16) {
    let port = vane_testkit::free_port();
    let child = std::process::Command::new(binary)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let guard = Killed(child);
    assert!(
        vane_testkit::wait_for_port(port, Duration::from_secs(20)),
        "node-exporter did not start"
    );
    (guard, port)
}

/// Starts Prometheus on `port` with `config_yaml`, its TSDB under `dir`.
pub fn start_prometheus(binary: &std::path::Path, dir: &Path, port: u16, config_yaml: &str) -> Killed {
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, config_yaml).unwrap();
    let child = std::process::Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = Killed(child);
    assert!(
        vane_testkit::wait_for_port(port, Duration::from_secs(30)),
        "prometheus did not start"
    );
    // Another process on the port would answer too: make sure ours is the one running.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        matches!(guard.0.try_wait(), Ok(None)),
        "prometheus exited at start (port {port} taken by another process?)"
    );
    guard
}

/// `vane query <args> --grpc-addr <grpc> --json`, parsed: one JSON value per row.
pub fn query(grpc: &str, args: &[&str]) -> Vec<serde_json::Value> {
    let output = std::process::Command::new(VANE)
        .arg("query")
        .args(args)
        .args(["--grpc-addr", grpc, "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "vane query failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&output.stdout)
        .expect("one JSON array")
        .as_array()
        .unwrap()
        .clone()
}

/// Percent-encodes a URL query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
