//! `POST /api/v1/weather/observations`: the HTTP door to `vane.weather.ingest` for outside
//! producers (in embedded mode the only one; with Kafka any producer may write the topic too).
//!
//! The body is one observation in the ingest JSON (docs/weather.md), or several, one per line.
//! Every non-empty line goes unchanged onto `vane.weather.ingest` — keyed by its city id when it
//! names one, so that a city's observations keep their order — and the ingest role validates it
//! there, sending what it cannot accept to `vane.dlq` with the reason, as for any producer. The
//! answer comes after the log acknowledged every line: 202 with how many were taken and, checked
//! here with the same parser, which lines will be dead-lettered and why; 503 when the log is
//! unavailable (nothing was taken: send it again). Same credentials as remote write.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use vane_stream::{OutRecord, topics};
use vane_weather::observation_from_json;

use crate::HttpState;

/// Key of lines that name no city (they are dead-lettered by the ingest role).
const NO_CITY_KEY: &str = "unknown-city";

pub(crate) async fn ingest(State(state): State<Arc<HttpState>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refusal) = state.auth.refusal(&headers, "the weather ingest") {
        return refusal;
    }
    let now = state.clock.now_ms();
    let mut records = Vec::new();
    let mut invalid = Vec::new();
    for (index, line) in body.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let key = match observation_from_json(line) {
            Ok(observation) => observation.city_id.as_str().to_string(),
            Err(error) => {
                invalid.push(json!({"line": index + 1, "reason": error.to_string()}));
                NO_CITY_KEY.to_string()
            }
        };
        records.push(OutRecord::new(topics::WEATHER_INGEST, key.as_bytes(), line.to_vec(), now));
    }
    if records.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            "no observation in the body: send the ingest JSON, one observation per line\n",
        )
            .into_response();
    }
    match state.log.send(&records).await {
        Ok(()) => {
            let body = json!({"accepted": records.len(), "invalid": invalid});
            (StatusCode::ACCEPTED, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
        }
        Err(error) => {
            tracing::warn!(%error, "weather observations not acknowledged by the log");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("log unavailable, nothing taken: {error}\n"),
            )
                .into_response()
        }
    }
}
