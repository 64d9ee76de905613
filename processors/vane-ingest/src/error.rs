//! The ingest crate's error type. All variants are permanent for the input at hand.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum IngestError {
    #[error("remote write body is not valid snappy (block format): {0}")]
    Snappy(#[from] snap::Error),
    #[error("remote write body is not a valid WriteRequest protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("remote write body of {0} bytes decompresses beyond the limit of {1} bytes")]
    TooLarge(usize, usize),
    #[error("invalid sample: {0}")]
    Sample(#[from] vane_core::CoreError),
    #[error("avro sample: {0}")]
    Avro(#[from] vane_events::EventsError),
    #[error("events schema: {0}")]
    Schema(String),
}
