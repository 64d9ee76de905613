//! Test support: real peers started as child processes, killed when dropped.
//!
//! The Kafka tests run against `tansu`, a Kafka-protocol broker (see the design). It is found
//! through `$VANE_TANSU_BIN` or `PATH`. Without it a test prints why it skipped, unless
//! `VANE_REQUIRE_KAFKA=1` (set by `.ci/run`), which turns a missing broker into a failure so
//! that CI cannot pass without having run the Kafka suite.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

/// Finds an executable by env override or on `PATH`.
pub fn find_binary(env_override: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_override) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}

/// Waits until something accepts TCP connections on `port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A tansu broker with in-memory storage on a free port.
#[derive(Debug)]
pub struct Broker {
    child: Child,
    pub port: u16,
}

impl Broker {
    /// Starts a broker, or returns `None` (after printing why) when tansu is not installed and
    /// `VANE_REQUIRE_KAFKA` is not set. Panics when it is required but missing or fails to start.
    pub fn start_or_skip(test: &str) -> Option<Broker> {
        let required = std::env::var_os("VANE_REQUIRE_KAFKA").is_some_and(|v| v == "1");
        let Some(binary) = find_binary("VANE_TANSU_BIN", "tansu") else {
            assert!(!required, "VANE_REQUIRE_KAFKA=1 but no tansu binary on PATH or in VANE_TANSU_BIN");
            eprintln!("SKIPPED {test} on Kafka: no Kafka-protocol broker (tansu) on PATH; `.ci/run` installs it");
            return None;
        };
        for _attempt in 0..3 {
            let port = free_port();
            let url = format!("tcp://127.0.0.1:{port}");
            let spawned = Command::new(&binary)
                .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url, "--storage-engine", "memory://tansu/"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let Ok(child) = spawned else { continue };
            let broker = Broker { child, port };
            if wait_for_port(port, Duration::from_secs(20)) {
                return Some(broker);
            }
        }
        panic!("tansu at {} did not start listening", binary.display());
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
