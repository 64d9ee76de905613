//! The stream runtime's error type, with whether a retry can help.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StreamError {
    #[error("i/o error on {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("data dir {0} is locked by another vane process; stop it or pick another --data-dir")]
    Locked(String),
    #[error("unknown topic {0:?}: create it at start-up (ensure_topics) first")]
    UnknownTopic(String),
    #[error("partition {partition} out of range for topic {topic:?} ({partitions} partitions)")]
    UnknownPartition { topic: String, partition: u32, partitions: u32 },
    #[error("corrupt log segment {path} at byte {position}: {reason}")]
    Corrupt { path: String, position: u64, reason: String },
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("kafka: topic {topic:?} cannot be created: {reason}")]
    TopicCreation { topic: String, reason: String },
    #[error("{0}")]
    Startup(String),
    #[error("the log is shutting down")]
    Closed,
}

impl StreamError {
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        StreamError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// Whether retrying the same operation later can succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            StreamError::Kafka(error) => !matches!(
                error.rdkafka_error_code(),
                Some(rdkafka::types::RDKafkaErrorCode::MessageSizeTooLarge) | Some(rdkafka::types::RDKafkaErrorCode::InvalidMessage)
            ),
            StreamError::Io { .. } => true,
            _ => false,
        }
    }
}
