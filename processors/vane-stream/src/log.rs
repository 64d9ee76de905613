//! The one log interface processors see. Each backend is a variant; a processor holds a [`Log`]
//! and never matches on it.

use std::time::Duration;

use crate::embedded::{EmbeddedConsumer, EmbeddedLog};
use crate::kafka::{KafkaConsumer, KafkaLog};
use crate::{OutRecord, Record, StreamError, TopicSpec};

/// A log backend; cheap to clone.
#[derive(Debug, Clone)]
pub enum Log {
    Embedded(EmbeddedLog),
    Kafka(KafkaLog),
}

/// Writing side of the log (a clone of the log; named for readability at call sites).
pub type Producer = Log;

impl Log {
    /// Creates the topics that are missing.
    pub async fn ensure_topics(&self, specs: &[TopicSpec]) -> Result<(), StreamError> {
        match self {
            Log::Embedded(log) => log.ensure_topics(specs),
            Log::Kafka(log) => log.ensure_topics(specs).await,
        }
    }

    /// Writes the records; returns once every one is acknowledged (durable).
    pub async fn send(&self, records: &[OutRecord]) -> Result<(), StreamError> {
        match self {
            Log::Embedded(log) => log.send(records).await,
            Log::Kafka(log) => log.send(records).await,
        }
    }

    pub fn partition_count(&self, topic: &str) -> Result<u32, StreamError> {
        match self {
            Log::Embedded(log) => log.partition_count(topic),
            Log::Kafka(log) => log.partition_count(topic),
        }
    }

    /// A consumer in a group (committed offsets, partitions shared with the group's other
    /// members) or, without a group, a reader of every partition from the start.
    pub fn consumer(&self, group: Option<&str>, topics: &[&str]) -> Result<Consumer, StreamError> {
        match self {
            Log::Embedded(log) => Ok(Consumer::Embedded(log.consumer(group, topics)?)),
            Log::Kafka(log) => Ok(Consumer::Kafka(log.consumer(group, topics)?)),
        }
    }

    /// One past the last offset of every partition of `topic` (the high watermarks).
    pub async fn end_offsets(&self, topic: &str) -> Result<Vec<u64>, StreamError> {
        match self {
            Log::Embedded(log) => log.end_offsets(topic),
            Log::Kafka(log) => log.end_offsets(topic).await,
        }
    }

    /// Which backend, for logs and `/healthz`.
    pub fn backend(&self) -> &'static str {
        match self {
            Log::Embedded(_) => "embedded",
            Log::Kafka(_) => "kafka",
        }
    }

    /// Flushes what is buffered (Kafka) before the process exits.
    pub fn close(&self) {
        if let Log::Kafka(log) = self {
            log.flush(Duration::from_secs(10));
        }
    }
}

/// A consumer of either backend.
#[derive(Debug)]
pub enum Consumer {
    Embedded(EmbeddedConsumer),
    Kafka(KafkaConsumer),
}

impl Consumer {
    /// Up to `max` records, waiting at most `timeout` for the first.
    pub async fn poll(&mut self, max: usize, timeout: Duration) -> Result<Vec<Record>, StreamError> {
        match self {
            Consumer::Embedded(consumer) => consumer.poll(max, timeout).await,
            Consumer::Kafka(consumer) => consumer.poll(max, timeout).await,
        }
    }

    /// Commits `(topic, partition) → next offset to read`.
    pub fn commit(&mut self, offsets: &[((String, u32), u64)]) -> Result<(), StreamError> {
        match self {
            Consumer::Embedded(consumer) => consumer.commit(offsets),
            Consumer::Kafka(consumer) => consumer.commit(offsets),
        }
    }

    pub fn assignment(&mut self) -> Vec<(String, u32)> {
        match self {
            Consumer::Embedded(consumer) => consumer.assignment(),
            Consumer::Kafka(consumer) => consumer.assignment(),
        }
    }

    /// Finishes pending commits before the consumer goes away (graceful shutdown).
    pub async fn close(&mut self) {
        if let Consumer::Kafka(consumer) = self {
            consumer.close().await;
        }
    }

    /// Records not yet read in the assigned partitions; `None` when the backend cannot tell.
    pub async fn lag(&self) -> Option<u64> {
        match self.lag_probe() {
            LagProbe::Ready(lag) => lag,
            LagProbe::Running(probe) => probe.await.ok().flatten(),
        }
    }

    /// Starts measuring the lag: known at once where it is local, or a task that asks the broker.
    pub fn lag_probe(&self) -> LagProbe {
        match self {
            Consumer::Embedded(consumer) => LagProbe::Ready(Some(consumer.lag())),
            Consumer::Kafka(consumer) => LagProbe::Running(consumer.lag_probe()),
        }
    }
}

/// A lag measurement: see [`Consumer::lag_probe`].
#[derive(Debug)]
pub enum LagProbe {
    /// Measured; `None` when the backend cannot tell.
    Ready(Option<u64>),
    /// Still asking the broker.
    Running(tokio::task::JoinHandle<Option<u64>>),
}
