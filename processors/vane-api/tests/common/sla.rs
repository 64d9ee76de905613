//! The SLA fixture: an embedded store and an embedded log in a temporary directory, a clock that
//! tests move, and the real gRPC server (with `vane.v1.Sla`) and HTTP router on 127.0.0.1:0 over
//! them. Also: reading back what the API wrote on `vane.sla.definitions`, applying it to the store
//! as the projector would, a small HTTP client, and read-model rows with known counts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use vane_api::pb;
use vane_api::pb::sla_client::SlaClient;
use vane_api::{ApiOptions, SlaApi};
use vane_core::Labels;
use vane_core::matcher::{MatchOp, Matcher};
use vane_core::sla::{Severity, SlaDefinition, SlaStatus};
use vane_events::{Codec, SlaDefinitionEvent};
use vane_store::{SlaDefinitionRow, SlaStatusUpdate, SlaTransitionRow, SlaViolationRow, Store};
use vane_stream::Log;
use vane_stream::embedded::{EmbeddedConfig, EmbeddedLog};
use vane_stream::runner::Clock;
use vane_stream::topics::{SLA_DEFINITIONS, TopicLayout};

pub const TOKEN: &str = "s3cret-admin-token";

/// 2026-01-01T00:00:00Z: a whole minute, so that time slices are easy to count.
pub const NOW_MS: i64 = 1_767_225_600_000;
pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;

/// A clock the test sets.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl TestClock {
    pub fn set(&self, now_ms: i64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct SlaServer {
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    pub store: Store,
    pub log: Log,
    pub clock: Arc<TestClock>,
    stops: Vec<oneshot::Sender<()>>,
    grpc_task: Option<JoinHandle<Result<(), vane_api::ApiError>>>,
    http_task: Option<JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

/// Starts the gRPC server and the HTTP router over a fresh store and log, with `admin_token`.
pub async fn start(admin_token: Option<&str>) -> SlaServer {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_embedded(dir.path().join("store")).unwrap();
    store.migrate().await.unwrap();
    let log = Log::Embedded(EmbeddedLog::open(EmbeddedConfig::new(dir.path().join("log"))).unwrap());
    log.ensure_topics(&TopicLayout::default().specs()).await.unwrap();
    let clock = Arc::new(TestClock(AtomicI64::new(NOW_MS)));
    let api = SlaApi::new(store.clone(), log.clone(), admin_token.map(str::to_string), clock.clone()).unwrap();

    let grpc_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc = grpc_listener.local_addr().unwrap();
    let (grpc_stop, grpc_stopped) = oneshot::channel::<()>();
    let grpc_task = tokio::spawn(vane_api::serve_with(
        store.clone(),
        grpc_listener,
        ApiOptions::default().with_sla(api.clone()),
        async move {
            let _ = grpc_stopped.await;
        },
    ));

    let http_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = http_listener.local_addr().unwrap();
    let (http_stop, http_stopped) = oneshot::channel::<()>();
    let router = vane_api::sla_http_router(api);
    let http_task = tokio::spawn(async move {
        axum::serve(http_listener, router)
            .with_graceful_shutdown(async move {
                let _ = http_stopped.await;
            })
            .await
    });
    SlaServer {
        grpc,
        http,
        store,
        log,
        clock,
        stops: vec![grpc_stop, http_stop],
        grpc_task: Some(grpc_task),
        http_task: Some(http_task),
        _dir: dir,
    }
}

/// A request with `authorization: Bearer <token>`.
pub fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// A request with the fixture's admin token.
pub fn admin<T>(message: T) -> tonic::Request<T> {
    with_token(message, TOKEN)
}

/// What an HTTP call answered.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    /// Header names in lowercase.
    pub headers: BTreeMap<String, String>,
    pub body: serde_json::Value,
}

impl SlaServer {
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    pub async fn channel(&self) -> Channel {
        tonic::transport::Endpoint::from_shared(self.grpc_url())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub async fn client(&self) -> SlaClient<Channel> {
        SlaClient::new(self.channel().await)
    }

    /// Every record on `vane.sla.definitions`, decoded, with its key, in offset order per
    /// partition.
    pub async fn definitions(&self) -> Vec<(String, SlaDefinitionEvent)> {
        let codec = Codec::<SlaDefinitionEvent>::new().unwrap();
        let total: u64 = self.log.end_offsets(SLA_DEFINITIONS).await.unwrap().iter().sum();
        let mut consumer = self.log.consumer(None, &[SLA_DEFINITIONS]).unwrap();
        let mut records = Vec::new();
        while (records.len() as u64) < total {
            let batch = consumer.poll(1_000, Duration::from_secs(5)).await.unwrap();
            assert!(!batch.is_empty(), "the log holds {total} records but gave {}", records.len());
            records.extend(batch);
        }
        records
            .into_iter()
            .map(|record| {
                let key = String::from_utf8(record.key.unwrap()).unwrap();
                (key, codec.decode(&record.value).unwrap())
            })
            .collect()
    }

    /// Applies every definition record to the store, as the projector does.
    pub async fn project(&self) {
        let rows: Vec<SlaDefinitionRow> = self
            .definitions()
            .await
            .into_iter()
            .map(|(_, event)| SlaDefinitionRow {
                definition: event.definition,
                deleted: event.deleted,
            })
            .collect();
        self.store.upsert_sla_definitions(&rows).await.unwrap();
    }

    /// One HTTP/1.1 call (one connection); the body parsed as JSON (null when empty).
    pub async fn http(&self, method: &str, path: &str, token: Option<&str>, body: &str) -> HttpReply {
        let mut stream = TcpStream::connect(self.http).await.unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.http,
            body.len()
        );
        if let Some(token) = token {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response))
            .await
            .unwrap()
            .unwrap();
        let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(response[..split].to_vec()).unwrap();
        let mut lines = head.lines();
        let status = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
        let headers: BTreeMap<String, String> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
            .collect();
        assert!(
            !headers.get("transfer-encoding").is_some_and(|v| v.contains("chunked")),
            "JSON answers carry a content-length"
        );
        let body = &response[split + 4..];
        let body = if body.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(body).unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {}", String::from_utf8_lossy(body)))
        };
        HttpReply { status, headers, body }
    }

    /// Stops both servers and checks that they shut down cleanly.
    pub async fn stop(mut self) {
        for stop in self.stops.drain(..) {
            let _ = stop.send(());
        }
        if let Some(task) = self.grpc_task.take() {
            task.await.unwrap().unwrap();
        }
        if let Some(task) = self.http_task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

/// The core definition a reply describes (the inverse of the server's conversion).
pub fn definition_of(reply: &pb::SlaDefinition) -> SlaDefinition {
    let op = |op: i32| match pb::MatchOp::try_from(op).unwrap() {
        pb::MatchOp::Equal => MatchOp::Equal,
        pb::MatchOp::NotEqual => MatchOp::NotEqual,
        pb::MatchOp::Regex => MatchOp::Regex,
        pb::MatchOp::NotRegex => MatchOp::NotRegex,
    };
    SlaDefinition {
        id: reply.id.clone(),
        name: reply.name.clone(),
        metric: reply.metric.clone(),
        matchers: reply
            .matchers
            .iter()
            .map(|m| Matcher {
                name: m.name.clone(),
                op: op(m.op),
                value: m.value.clone(),
            })
            .collect(),
        min: reply.min,
        max: reply.max,
        for_ms: reply.for_ms,
        recovery_margin: reply.recovery_margin,
        severity: match pb::Severity::try_from(reply.severity).unwrap() {
            pb::Severity::Info => Severity::Info,
            pb::Severity::Critical => Severity::Critical,
            _ => Severity::Warning,
        },
        budget_target: reply.budget_target,
        budget_window_ms: reply.budget_window_ms,
        timeslice_ms: reply.timeslice_ms,
        chat_id: reply.chat_id,
        created_at_ms: reply.created_at_ms,
        updated_at_ms: reply.updated_at_ms,
        revision: reply.revision,
    }
}

pub fn series_labels(i: usize) -> Labels {
    let mut labels = Labels::new();
    labels.insert("instance".into(), format!("host-{i}"));
    labels.insert("job".into(), "node".into());
    labels
}

pub fn series_id(i: usize) -> String {
    format!("{:016x}", 0xa000 + i)
}

/// Violations (series, time) written by [`seed_reads`]: in the 1h, 3h, 6h and 12h windows
/// before [`NOW_MS`] there are 3, 4, 5 and 6 samples in 1, 2, 3 and 4 one-minute slices; the one
/// 20 hours back is outside every window but inside the default 30-day budget window (5 bad
/// slices in it).
pub const VIOLATIONS: [(usize, i64); 7] = [
    (1, NOW_MS - 10 * MINUTE),
    (1, NOW_MS - 10 * MINUTE + 10_000),
    (2, NOW_MS - 10 * MINUTE + 20_000),
    (1, NOW_MS - 2 * HOUR),
    (1, NOW_MS - 5 * HOUR),
    (1, NOW_MS - 11 * HOUR),
    (1, NOW_MS - 20 * HOUR),
];

/// Expected (window, violating samples, episodes, bad slices) at [`NOW_MS`].
pub const EXPECTED_COUNTS: [(&str, u64, u64, u64); 4] = [("1h", 3, 2, 1), ("3h", 4, 3, 2), ("6h", 5, 3, 3), ("12h", 6, 4, 4)];

/// Status of series 0 (ok), 1 (violated, with a likely forecast) and 2 (violated), the
/// violations above and transitions giving the episodes above, under `sla_id`.
pub async fn seed_reads(store: &Store, sla_id: &str, metric: &str) {
    let status = |i: usize, status: SlaStatus, value: f64, at_ms: i64| SlaStatusUpdate::Status {
        sla_id: sla_id.to_string(),
        series_id: series_id(i),
        metric: metric.to_string(),
        labels: series_labels(i),
        status,
        value: Some(value),
        at_ms,
    };
    store
        .upsert_sla_status(&[
            status(0, SlaStatus::Ok, 1.0, NOW_MS - MINUTE),
            status(1, SlaStatus::Violated, 7.0, NOW_MS - 12 * MINUTE),
            status(2, SlaStatus::Violated, 8.0, NOW_MS - 10 * MINUTE),
            SlaStatusUpdate::Forecast {
                sla_id: sla_id.to_string(),
                series_id: series_id(1),
                probability: 0.875,
                horizon_ms: 10 * MINUTE,
                likely: true,
                at_ms: NOW_MS - MINUTE,
            },
        ])
        .await
        .unwrap();
    let violations: Vec<SlaViolationRow> = VIOLATIONS
        .iter()
        .map(|&(i, at_ms)| SlaViolationRow {
            sla_id: sla_id.to_string(),
            at_ms,
            series_id: series_id(i),
            metric: metric.to_string(),
            labels: series_labels(i),
            value: 7.0,
        })
        .collect();
    store.upsert_sla_violations(&violations).await.unwrap();
    let transition = |i: usize, at_ms: i64, from: SlaStatus, to: SlaStatus| SlaTransitionRow {
        sla_id: sla_id.to_string(),
        at_ms,
        series_id: series_id(i),
        metric: metric.to_string(),
        labels: series_labels(i),
        from: Some(from),
        to,
        value: Some(7.0),
    };
    store
        .upsert_sla_transitions(&[
            transition(1, NOW_MS - 11 * HOUR - 30 * MINUTE, SlaStatus::Ok, SlaStatus::Violated),
            transition(1, NOW_MS - 2 * HOUR, SlaStatus::Ok, SlaStatus::Violated),
            transition(1, NOW_MS - HOUR - 30 * MINUTE, SlaStatus::Violated, SlaStatus::Ok),
            transition(1, NOW_MS - 12 * MINUTE, SlaStatus::Ok, SlaStatus::Violated),
            transition(2, NOW_MS - 11 * MINUTE, SlaStatus::Ok, SlaStatus::Pending),
            transition(2, NOW_MS - 10 * MINUTE, SlaStatus::Pending, SlaStatus::Violated),
        ])
        .await
        .unwrap();
}
