//! The events crate's error type. Decoding errors are permanent for the record at hand (the
//! bytes will not change on a retry): callers send the record to the dead-letter topic.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum EventsError {
    #[error("record too short: needed {needed} more bytes at byte {at}")]
    Truncated { at: usize, needed: usize },
    #[error("not an Avro single-object record: the first two bytes are not C3 01")]
    NotSingleObject,
    #[error("unknown schema fingerprint {0:016x}: written by a schema this version does not know")]
    UnknownFingerprint(u64),
    #[error("invalid varint at byte {0}")]
    InvalidVarint(usize),
    #[error("negative length {length} at byte {at}")]
    NegativeLength { at: usize, length: i64 },
    #[error("invalid UTF-8 in a string at byte {0}")]
    InvalidUtf8(usize),
    #[error("{0} trailing bytes after the record")]
    TrailingBytes(usize),
    #[error("invalid field {field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("schema error: {0}")]
    Schema(String),
    #[error("resolving an older schema failed: {0}")]
    Resolution(#[from] Box<apache_avro::Error>),
}
