//! vane's stream runtime: a Kafka-Streams-style loop over one log interface with two backends.
//!
//! - [`Log`]: topics with partitions and offsets, consumer groups with committed offsets,
//!   compacted topics and time retention; backed by [`embedded::EmbeddedLog`] (durable files under
//!   the data dir, group commit) or [`kafka::KafkaLog`] (rdkafka, `acks=all`).
//! - [`runner`]: consume → process → produce → commit, where a [`runner::Processor`] is a plain
//!   synchronous function of a record and the current time; records it rejects go to `vane.dlq`.
//! - [`metrics`]: counters and gauges rendered in Prometheus' text format.
//!
//! Processors never learn which backend they run on. I/O: files (embedded) or the network (Kafka).

pub mod dlq;
pub mod embedded;
pub mod error;
pub mod global;
pub mod kafka;
pub mod log;
pub mod metrics;
pub mod ownership;
pub mod rebuild;
pub mod record;
pub mod runner;
pub mod topics;

pub use error::StreamError;
pub use log::{Consumer, Log, Producer};
pub use record::{OutRecord, Record, TopicSpec, next_offsets};
