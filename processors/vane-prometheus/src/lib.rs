//! The Prometheus puller: for each configured selector, asks Prometheus' HTTP API for the raw
//! samples since the last one seen (`<selector>[<window>]` as an instant query, which returns
//! the stored samples with their own timestamps, unlike `query_range`'s resampled steps), and
//! publishes them to `vane.metrics.samples` through the same normaliser as remote write. On the
//! first pull it backfills the whole window. A sample that also arrives by remote write has the
//! same series id and timestamp, so the windows count it once.
//!
//! [`parse`] is pure; [`run`] does the HTTP and log I/O.

pub mod parse;

use std::collections::HashMap;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use thiserror::Error;
use tokio::sync::watch;
use vane_core::SeriesId;
use vane_ingest::Normaliser;
use vane_stream::dlq::DeadLetter;
use vane_stream::metrics::Metrics;
use vane_stream::runner::{Clock, send_with_retry};
use vane_stream::{Log, StreamError};

#[derive(Debug, Error)]
pub enum PullerError {
    #[error("prometheus url {0:?} is not an http:// URL")]
    Url(String),
    #[error("request to prometheus failed: {0}")]
    Http(String),
    #[error("prometheus answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("unexpected answer from prometheus: {0}")]
    Parse(String),
    #[error("log: {0}")]
    Stream(#[from] StreamError),
}

/// What to pull and how often.
#[derive(Debug, Clone)]
pub struct PullerConfig {
    /// Base URL, e.g. `http://127.0.0.1:9090`.
    pub url: String,
    /// PromQL series selectors, e.g. `node_memory_MemFree_bytes` or `up{job="node"}`.
    pub selectors: Vec<String>,
    pub interval: Duration,
    /// How far back the first pull reaches.
    pub backfill: Duration,
}

impl PullerConfig {
    /// The five node-exporter metrics the original system monitored.
    pub fn default_selectors() -> Vec<String> {
        [
            "node_memory_MemFree_bytes",
            "node_memory_MemAvailable_bytes",
            "node_filesystem_free_bytes",
            "node_filesystem_avail_bytes",
            "node_filefd_allocated",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
}

fn encode_query(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Pulls until `shutdown` turns true.
pub async fn run(
    log: Log,
    mut normaliser: Normaliser,
    config: PullerConfig,
    clock: &dyn Clock,
    metrics: &Metrics,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), PullerError> {
    let base = config.url.trim_end_matches('/').to_string();
    if !base.starts_with("http://") {
        return Err(PullerError::Url(config.url.clone()));
    }
    let client: Client<HttpConnector, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let pulled = metrics.counter("vane_puller_samples_total", "Samples read from Prometheus by the puller.", &[]);
    let failures = metrics.counter("vane_puller_errors_total", "Failed pulls from Prometheus.", &[]);
    let dead = metrics.counter(
        "vane_dlq_records_total",
        "Records sent to the dead-letter topic.",
        &[("role", "puller")],
    );
    let mut newest: HashMap<SeriesId, i64> = HashMap::new();
    let mut last_pull: HashMap<String, i64> = HashMap::new();
    tracing::info!(url = %base, selectors = config.selectors.len(), "prometheus puller started");
    loop {
        for selector in &config.selectors {
            let now = clock.now_ms();
            let since = last_pull.get(selector).copied().unwrap_or(now - config.backfill.as_millis() as i64);
            // Overlap by two intervals: samples that Prometheus stored late are still seen.
            let window_s = ((now - since) / 1000 + 2 * config.interval.as_secs() as i64).max(1);
            let path = format!(
                "{base}/api/v1/query?query={}&time={}.{:03}",
                encode_query(&format!("{selector}[{window_s}s]")),
                now / 1000,
                now % 1000
            );
            match fetch(&client, &path).await.and_then(|body| parse::matrix(&body)) {
                Ok(series) => {
                    let mut records = Vec::new();
                    for raw in series {
                        let identity =
                            match vane_core::SeriesIdentity::new(raw.name.clone(), raw.labels.clone(), &normaliser.config().drop_labels) {
                                Ok(identity) => identity,
                                Err(error) => {
                                    dead.inc();
                                    let text = format!("{}{:?}", raw.name, raw.labels);
                                    records.push(
                                        DeadLetter::for_input("puller", text.as_bytes(), text.as_bytes(), &error.to_string(), now)
                                            .to_out_record(text.as_bytes()),
                                    );
                                    continue;
                                }
                            };
                        let series_id = identity.id();
                        for (timestamp_ms, value) in raw.samples {
                            if newest.get(&series_id).is_some_and(|seen| *seen >= timestamp_ms) {
                                continue;
                            }
                            let outcome = vane_core::Sample::new(identity.clone(), timestamp_ms, value)
                                .and_then(|sample| normaliser.to_record(sample, "puller", None, now));
                            match outcome {
                                Ok(record) => {
                                    newest.insert(series_id, timestamp_ms);
                                    records.push(record);
                                }
                                Err(error) => {
                                    dead.inc();
                                    tracing::warn!(%error, "pulled sample refused");
                                }
                            }
                        }
                    }
                    pulled.add(records.len() as u64);
                    send_with_retry(&log, &records, &mut shutdown).await?;
                    last_pull.insert(selector.clone(), now);
                }
                Err(error) => {
                    failures.inc();
                    tracing::warn!(%error, selector, "pull from prometheus failed; retrying next interval");
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(config.interval) => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    tracing::info!("prometheus puller stopped");
    Ok(())
}

async fn fetch(client: &Client<HttpConnector, Empty<Bytes>>, url: &str) -> Result<Vec<u8>, PullerError> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| PullerError::Url(e.to_string()))?;
    let request = tokio::time::timeout(Duration::from_secs(30), client.get(uri));
    let response = request
        .await
        .map_err(|_| PullerError::Http("timed out after 30 s".into()))?
        .map_err(|e| PullerError::Http(e.to_string()))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| PullerError::Http(e.to_string()))?
        .to_bytes()
        .to_vec();
    if status != 200 {
        return Err(PullerError::Status {
            status,
            body: String::from_utf8_lossy(&body).chars().take(300).collect(),
        });
    }
    Ok(body)
}
