//! The fixture: an embedded store in a temporary directory with known rows, and the real server on
//! 127.0.0.1:0 over it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, dead_code)]

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use vane_api::ApiError;
use vane_api::pb::metrics_query_client::MetricsQueryClient;
use vane_core::Labels;
use vane_store::{AggregateRow, SeriesRow, Store};

/// Series of `node_load1`; even ones have `job="node"`, odd ones `job="other"`; every third one
/// has an `env` label.
pub const LOAD_SERIES: usize = 25;
/// Series of `up`.
pub const UP_SERIES: usize = 3;
/// Series of `many`: more than the server reads from the store in one page.
pub const MANY_SERIES: usize = 2_500;
/// Aggregate windows written for every `node_load1` series.
pub const WINDOWS: [&str; 2] = ["1h", "3h"];

pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ApiError>>>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub async fn client(&self) -> MetricsQueryClient<tonic::transport::Channel> {
        MetricsQueryClient::connect(self.url()).await.unwrap()
    }

    /// Stops the server and checks that it shut down cleanly.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

pub fn load_labels(i: usize) -> Labels {
    let mut labels = Labels::new();
    labels.insert("instance".into(), format!("host-{i}"));
    labels.insert("job".into(), if i.is_multiple_of(2) { "node" } else { "other" }.into());
    if i.is_multiple_of(3) {
        labels.insert("env".into(), "prod".into());
    }
    labels
}

fn series(id: usize, metric: &str, labels: Labels) -> SeriesRow {
    SeriesRow {
        series_id: format!("{id:016x}"),
        metric: metric.into(),
        labels,
        first_seen_ms: 1_000,
        last_seen_ms: 2_000 + i64::try_from(id).unwrap(),
    }
}

fn aggregate(id: usize, labels: Labels, window: &str) -> AggregateRow {
    let count = u64::try_from(id % 4 + 1).unwrap();
    AggregateRow {
        series_id: format!("{id:016x}"),
        metric: "node_load1".into(),
        labels,
        window: window.into(),
        max: id as f64 + 1.0,
        min: id as f64,
        mean: id as f64 + 0.5,
        std: (count > 1).then_some(0.25),
        count,
        first_ms: 1_000,
        last_ms: 2_000,
        as_of_ms: 2_000,
    }
}

/// Starts the real server over a freshly filled embedded store.
pub async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_embedded(dir.path()).unwrap();
    store.migrate().await.unwrap();
    let mut catalog = Vec::new();
    let mut aggregates = Vec::new();
    for i in 0..LOAD_SERIES {
        catalog.push(series(i, "node_load1", load_labels(i)));
        for window in WINDOWS {
            aggregates.push(aggregate(i, load_labels(i), window));
        }
    }
    for i in 0..UP_SERIES {
        catalog.push(series(1_000 + i, "up", load_labels(i)));
    }
    for i in 0..MANY_SERIES {
        catalog.push(series(10_000 + i, "many", load_labels(i)));
    }
    store.upsert_series(&catalog).await.unwrap();
    store.upsert_aggregates(&aggregates).await.unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(vane_api::serve(store, listener, async move {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
        task: Some(task),
        _dir: dir,
    }
}
