//! Records as both backends see them.

use std::time::Duration;

/// A record read from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
    /// The producer's timestamp (event time where the producer sets it), Unix milliseconds.
    pub timestamp_ms: i64,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Record {
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }
}

/// The offsets to commit after `records`: one past the last of each topic and partition.
pub fn next_offsets(records: &[Record]) -> Vec<((String, u32), u64)> {
    let mut next: std::collections::BTreeMap<(String, u32), u64> = std::collections::BTreeMap::new();
    for record in records {
        let entry = next.entry((record.topic.clone(), record.partition)).or_default();
        *entry = (*entry).max(record.offset + 1);
    }
    next.into_iter().collect()
}

/// A record to write. Its partition is derived from the key with
/// [`vane_core::partition::partition_for`], identically on both backends.
#[derive(Debug, Clone, PartialEq)]
pub struct OutRecord {
    pub topic: String,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub timestamp_ms: i64,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl OutRecord {
    pub fn new(topic: &str, key: impl Into<Vec<u8>>, value: Vec<u8>, timestamp_ms: i64) -> Self {
        OutRecord {
            topic: topic.to_string(),
            key: key.into(),
            value,
            timestamp_ms,
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// How a topic is created when missing.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: u32,
    /// Keep only the latest record per key (Kafka's `cleanup.policy=compact`).
    pub compacted: bool,
    /// Records older than this are deleted; `None` keeps them forever.
    pub retention: Option<Duration>,
}

impl TopicSpec {
    pub fn new(name: &str, partitions: u32) -> Self {
        TopicSpec {
            name: name.to_string(),
            partitions,
            compacted: false,
            retention: None,
        }
    }

    pub fn compacted(mut self) -> Self {
        self.compacted = true;
        self
    }

    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }
}
