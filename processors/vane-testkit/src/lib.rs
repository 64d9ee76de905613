//! Test support: real peers started as child processes, killed when dropped.
//!
//! The Kafka tests run against `tansu`, a Kafka-protocol broker (see the design). It is found
//! through `$VANE_TANSU_BIN` or `PATH`. Without it a test prints why it skipped, unless
//! `VANE_REQUIRE_KAFKA=1` (set by `.ci/run`), which turns a missing broker into a failure so
//! that CI cannot pass without having run the Kafka suite.

pub mod telegram;
pub mod weather;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Finds an executable by env override or on `PATH`.
pub fn find_binary(env_override: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_override) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
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
                .args([
                    "broker",
                    "--listener-url",
                    &url,
                    "--advertised-listener-url",
                    &url,
                    "--storage-engine",
                    "memory://tansu/",
                ])
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

/// A minimal HTTP/1.1 client for tests (one request per connection): returns status and body.
pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(response.get(..split).unwrap_or_default()).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let mut body = response.get(split + 4..).unwrap_or_default().to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Ok((status, body))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(data.get(..line_end).unwrap_or_default()).to_string();
        let Ok(size) = usize::from_str_radix(size_text.trim(), 16) else {
            break;
        };
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(data.get(start..start + size).unwrap_or_default());
        data = data.get(start + size + 2..).unwrap_or_default();
    }
    out
}

/// A `vane` process started for a test, killed when dropped.
#[derive(Debug)]
pub struct VaneProcess {
    pub child: Child,
    pub http_addr: String,
}

impl VaneProcess {
    /// Starts `binary args...` and waits for its "http listening on ADDR" line.
    pub fn start(binary: &str, args: &[&str], env: &[(&str, &str)]) -> VaneProcess {
        use std::io::{BufRead, BufReader};
        let mut command = Command::new(binary);
        command.args(args).stdout(Stdio::piped()).stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut lines = BufReader::new(stdout).lines();
        let http_addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(rest) = line.strip_prefix("vane: http listening on ") {
                        break rest.split_whitespace().next().unwrap_or_default().to_string();
                    }
                }
                _ => panic!("vane exited before listening"),
            }
        };
        std::thread::spawn(move || for _ in lines {});
        VaneProcess { child, http_addr }
    }

    /// SIGTERM and wait: the graceful path.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        self.child.wait().unwrap_or_else(|e| panic!("wait failed: {e}"))
    }

    /// SIGKILL: the crash path.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for VaneProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
