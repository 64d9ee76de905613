//! vane's ingest: how raw samples from outside become normalised events.
//!
//! Two doors lead in. Prometheus remote write ([`remote_write`]: snappy-compressed protobuf over
//! HTTP; the HTTP server lives in `vane-http`) and the `vane.metrics.ingest` topic, which any
//! Kafka producer may write in JSON or Avro ([`IngestProcessor`]). Both go through one
//! [`Normaliser`]: validate, drop configured labels, cap series per metric, derive the series
//! id, encode as `vane.metrics.MetricSample` keyed by series id. No I/O here besides what the
//! stream runtime does with the records returned.

pub mod error;
pub mod normalise;
pub mod processor;
pub mod remote_write;
pub mod trace;

pub use error::IngestError;
pub use normalise::{IngestConfig, Normaliser};
pub use processor::IngestProcessor;
