//! The one error type of the core crate. Every variant is a permanent input problem: retrying the
//! same input cannot help, so callers send it to the dead-letter topic or print it.

use thiserror::Error;

/// Why an input was rejected.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CoreError {
    #[error("invalid metric name {0:?}: must match [a-zA-Z_:][a-zA-Z0-9_:]*")]
    InvalidMetricName(String),
    #[error("invalid label name {0:?}: must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __")]
    InvalidLabelName(String),
    #[error("value {0} is not a finite number")]
    NonFiniteValue(f64),
    #[error("invalid timestamp {0:?}: expected Unix seconds, Unix milliseconds or RFC 3339")]
    InvalidTimestamp(String),
    #[error("timestamp {0} ms is outside the supported range (years 1970 to 9999)")]
    TimestampOutOfRange(i64),
    #[error("invalid duration {0:?}: expected a number with a unit, e.g. 500ms, 15s, 10m, 2h, 7d")]
    InvalidDuration(String),
    #[error("malformed JSON sample: {0}")]
    MalformedJson(String),
    #[error("missing field {0:?}")]
    MissingField(&'static str),
    #[error("timestamp {timestamp_ms} ms is ahead of the receiving clock ({now_ms} ms) by more than the allowed skew")]
    FutureTimestamp { timestamp_ms: i64, now_ms: i64 },
    #[error("{0}")]
    InvalidMatcher(String),
    #[error("invalid SLA: {}", .0.join("; "))]
    InvalidSla(Vec<String>),
    #[error("series limit reached: metric {metric:?} already has {limit} series")]
    SeriesLimit { metric: String, limit: usize },
}
