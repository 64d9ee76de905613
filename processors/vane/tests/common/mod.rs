//! Shared helpers of the binary's end-to-end tests: reading what vane wrote to its log, running
//! the CLI against a running `vane up`, and starting `vane up` beside the weather and Telegram fakes.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use vane_events::{Codec, MetricSampleEvent};
use vane_stream::embedded::{EmbeddedConfig, EmbeddedLog};
use vane_stream::{Log, Record};
use vane_testkit::VaneProcess;
use vane_testkit::telegram::FakeTelegram;
use vane_testkit::weather::FakeWeather;

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

/// `vane <args> --grpc-addr <grpc> --json` with `env` added: the finished process, whatever its
/// exit code.
pub fn cli_output(grpc: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    std::process::Command::new(VANE)
        .args(args)
        .args(["--grpc-addr", grpc, "--json"])
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// [`cli_output`] that must succeed: its stdout as JSON (`Null` when it printed nothing).
pub fn cli(grpc: &str, args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let output = cli_output(grpc, args, env);
    assert!(
        output.status.success(),
        "vane {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null)
}

/// Polls `done` every 200 ms; panics with `what` when it is still false after `within`.
pub fn wait_for(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out after {within:?}: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until the fake Telegram has sent at least `count` messages.
pub fn wait_messages(telegram: &FakeTelegram, count: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while telegram.sent().len() < count {
        assert!(Instant::now() < deadline, "expected {count} messages, got {:?}", telegram.sent());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `vane up` on the embedded log in `data_dir`, with the fake OpenWeatherMap and the fake
/// Telegram, polling and evaluating every second, users' tokens signed by a test key. Start it
/// (again) with [`WeatherServer::start`].
#[derive(Debug, Clone)]
pub struct WeatherServer {
    pub grpc: String,
    pub data_dir: std::path::PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl WeatherServer {
    pub fn new(data_dir: &Path, weather: &FakeWeather, telegram: &FakeTelegram) -> WeatherServer {
        let grpc = format!("127.0.0.1:{}", vane_testkit::free_port());
        let http = format!("127.0.0.1:{}", vane_testkit::free_port());
        let data = data_dir.to_str().unwrap();
        let args = [
            "up",
            "--data-dir",
            data,
            "--http-addr",
            &http,
            "--grpc-addr",
            &grpc,
            "--weather-url",
            &weather.url,
            "--telegram-api-url",
            &telegram.url,
        ];
        let env = [
            ("VANE__WEATHER__API_KEY", "fake-owm-key"),
            ("VANE__WEATHER__POLL_INTERVAL", "1s"),
            ("VANE__WEATHER__EVALUATE_EVERY", "1s"),
            ("VANE__AUTH__JWT_SECRET", "an-acceptance-test-secret-of-32-chars-or-more"),
            ("VANE__TELEGRAM__TOKEN", "123456:acceptance-test-token"),
        ];
        let args = args.iter().map(|a| a.to_string()).collect();
        WeatherServer {
            grpc,
            data_dir: data_dir.to_path_buf(),
            args,
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    /// Sets (or replaces) an environment variable of the server.
    pub fn with_env(mut self, key: &str, value: &str) -> WeatherServer {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Leaves an environment variable out (e.g. the API key: no poller).
    pub fn without_env(mut self, key: &str) -> WeatherServer {
        self.env.retain(|(k, _)| k != key);
        self
    }

    /// Starts `vane up` and waits until it serves HTTP.
    pub fn start(&self) -> VaneProcess {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        VaneProcess::start(VANE, &args, &env)
    }
}
