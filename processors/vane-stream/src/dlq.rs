//! Dead letters: a record a processor rejected, written to `vane.dlq` as JSON with the reason,
//! where it came from and the original key and payload (base64), keyed by the original key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::{OutRecord, Record, topics};

/// The JSON body of a dead letter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub reason: String,
    pub source_topic: String,
    pub partition: Option<u32>,
    pub offset: Option<u64>,
    /// Base64 of the original key, when there was one.
    pub key: Option<String>,
    /// Base64 of the original payload.
    pub payload: String,
    /// When vane rejected it, Unix milliseconds.
    pub time_ms: i64,
}

impl DeadLetter {
    /// A dead letter for a record read from a topic.
    pub fn for_record(record: &Record, reason: &str, now_ms: i64) -> Self {
        DeadLetter {
            reason: reason.to_string(),
            source_topic: record.topic.clone(),
            partition: Some(record.partition),
            offset: Some(record.offset),
            key: record.key.as_ref().map(|k| STANDARD.encode(k)),
            payload: STANDARD.encode(&record.value),
            time_ms: now_ms,
        }
    }

    /// A dead letter for input that arrived outside the log (e.g. remote write).
    pub fn for_input(source: &str, key: &[u8], payload: &[u8], reason: &str, now_ms: i64) -> Self {
        DeadLetter {
            reason: reason.to_string(),
            source_topic: source.to_string(),
            partition: None,
            offset: None,
            key: Some(STANDARD.encode(key)),
            payload: STANDARD.encode(payload),
            time_ms: now_ms,
        }
    }

    pub fn to_out_record(&self, original_key: &[u8]) -> OutRecord {
        let value = serde_json::to_vec(self).unwrap_or_default();
        OutRecord::new(topics::DLQ, original_key.to_vec(), value, self.time_ms)
    }
}
