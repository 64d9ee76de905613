//! vane's HTTP adapter (axum): `POST /api/v1/write` (Prometheus remote write),
//! `POST /api/v1/weather/observations` (weather observations from outside producers, see
//! [`weather`]), `GET /metrics` (Prometheus text format) and `GET /healthz`.
//!
//! Remote write answers 2xx only after every sample of the request is acknowledged by the log
//! (on disk for the embedded log, `acks=all` on Kafka), so Prometheus' retry on 5xx never loses
//! a sample. Invalid samples and undecodable bodies go to `vane.dlq` with the reason; an
//! undecodable body gets 400 (Prometheus does not retry 4xx), a log failure 503 (it retries).

mod auth;
mod health;
mod weather;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use vane_ingest::{Normaliser, remote_write};
use vane_stream::dlq::DeadLetter;
use vane_stream::metrics::{Counter, Metrics};
use vane_stream::runner::Clock;
use vane_stream::{Log, OutRecord};

pub use auth::WriteAuth;
pub use health::Health;

/// Everything the handlers share.
pub struct HttpState {
    pub log: Log,
    pub normaliser: Mutex<Normaliser>,
    pub metrics: Metrics,
    pub health: Health,
    pub auth: WriteAuth,
    pub clock: Arc<dyn Clock>,
    /// Whether this process serves remote write (the ingest role) or only /metrics and /healthz.
    pub remote_write: bool,
    counters: Counters,
}

impl HttpState {
    pub fn new(
        log: Log,
        normaliser: Normaliser,
        metrics: Metrics,
        health: Health,
        auth: WriteAuth,
        clock: Arc<dyn Clock>,
        remote_write: bool,
    ) -> Self {
        let counters = Counters::new(&metrics);
        HttpState {
            log,
            normaliser: Mutex::new(normaliser),
            metrics,
            health,
            auth,
            clock,
            remote_write,
            counters,
        }
    }
}

struct Counters {
    samples: Counter,
    stale: Counter,
    dead: Counter,
}

impl Counters {
    fn new(metrics: &Metrics) -> Self {
        let role = [("role", "remote_write")];
        Counters {
            samples: metrics.counter("vane_remote_write_samples_total", "Samples accepted by remote write.", &[]),
            stale: metrics.counter(
                "vane_remote_write_stale_markers_total",
                "Staleness markers received and dropped.",
                &[],
            ),
            dead: metrics.counter("vane_dlq_records_total", "Records sent to the dead-letter topic.", &role),
        }
    }
}

/// The router for a role's HTTP address.
pub fn router(state: Arc<HttpState>) -> Router {
    let mut router = Router::new().route("/metrics", get(metrics)).route("/healthz", get(healthz));
    if state.remote_write {
        router = router
            .route("/api/v1/write", post(write))
            .route("/api/v1/weather/observations", post(weather::ingest))
            .layer(DefaultBodyLimit::max(32 * 1024 * 1024));
    }
    router.with_state(state)
}

async fn metrics(State(state): State<Arc<HttpState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
        .into_response()
}

async fn healthz(State(state): State<Arc<HttpState>>) -> Response {
    let (healthy, body) = state.health.report(state.log.backend());
    let code = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn write(State(state): State<Arc<HttpState>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refusal) = state.auth.refusal(&headers, "remote write") {
        return refusal;
    }
    let counters = &state.counters;
    let now = state.clock.now_ms();
    let mut records: Vec<OutRecord> = Vec::new();
    let outcome = {
        let mut normaliser = state.normaliser.lock().unwrap_or_else(|p| p.into_inner());
        match remote_write::decode(&body, &normaliser.config().drop_labels) {
            Err(error) => Err(error.to_string()),
            Ok(decoded) => {
                counters.stale.add(decoded.stale_markers as u64);
                for (series, error) in decoded.invalid {
                    let letter = DeadLetter::for_input("remote_write", series.as_bytes(), series.as_bytes(), &error.to_string(), now);
                    records.push(letter.to_out_record(series.as_bytes()));
                    counters.dead.inc();
                }
                // One request is one trace: its samples share the trace context.
                let traceparent = vane_ingest::trace::new_traceparent();
                let mut accepted = 0u64;
                for sample in decoded.samples {
                    let series = format!("{}{:?}", sample.series.name, sample.series.labels);
                    match normaliser.to_record(sample, "remote_write", Some(traceparent.as_bytes()), now) {
                        Ok(record) => {
                            records.push(record);
                            accepted += 1;
                        }
                        Err(error) => {
                            records.push(
                                DeadLetter::for_input("remote_write", series.as_bytes(), series.as_bytes(), &error.to_string(), now)
                                    .to_out_record(series.as_bytes()),
                            );
                            counters.dead.inc();
                        }
                    }
                }
                Ok(accepted)
            }
        }
    };
    let accepted = match outcome {
        Ok(accepted) => accepted,
        Err(reason) => {
            tracing::warn!(%reason, bytes = body.len(), "undecodable remote write request sent to the dead-letter topic");
            let letter = DeadLetter::for_input("remote_write", b"", &body, &reason, now);
            counters.dead.inc();
            if let Err(error) = state.log.send(&[letter.to_out_record(b"")]).await {
                tracing::error!(%error, "cannot write the dead letter");
            }
            return (StatusCode::BAD_REQUEST, format!("{reason}\n")).into_response();
        }
    };
    match state.log.send(&records).await {
        Ok(()) => {
            counters.samples.add(accepted);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => {
            tracing::warn!(%error, "remote write batch not acknowledged by the log; Prometheus will retry");
            (StatusCode::SERVICE_UNAVAILABLE, format!("log unavailable: {error}\n")).into_response()
        }
    }
}
