//! The embedded log: Kafka's model (topics, partitions, offsets, consumer groups, compaction,
//! retention) in one process, durable in one directory.
//!
//! Layout under the data dir: `log/<topic>/<partition>/<base offset>.log` segment files,
//! `log/<topic>/topic.json` (partition count, compaction, retention), `groups/<group>.json`
//! (committed offsets) and a `LOCK` file held with an exclusive lock so that two instances
//! cannot share the directory. A producer's write is acknowledged after a group commit: one
//! fsync covers every batch that arrived while the previous fsync ran.

mod groups;
mod partition;
mod segment;
mod sync;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub use groups::EmbeddedConsumer;
use partition::Partition;

use crate::{OutRecord, Record, StreamError, TopicSpec};

/// Settings of the embedded log.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    pub dir: PathBuf,
    /// A new segment starts when the active one reaches this size.
    pub segment_bytes: u64,
}

impl EmbeddedConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        EmbeddedConfig {
            dir: dir.into(),
            segment_bytes: 128 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct TopicMeta {
    partitions: u32,
    compacted: bool,
    retention_ms: Option<u64>,
}

#[derive(Debug)]
pub(crate) struct Topic {
    pub spec: TopicSpec,
    pub partitions: Vec<Arc<Partition>>,
}

/// The embedded log; cheap to clone.
#[derive(Debug, Clone)]
pub struct EmbeddedLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    config: EmbeddedConfig,
    _lock: fs::File,
    topics: RwLock<HashMap<String, Arc<Topic>>>,
    syncer: sync::Syncer,
    pub groups: groups::Groups,
    /// Bumped after every group commit; consumers wait on it for new data.
    pub data_version: watch::Sender<u64>,
}

impl EmbeddedLog {
    /// Opens the log under `config.dir`, taking the directory lock and recovering every topic.
    pub fn open(config: EmbeddedConfig) -> Result<EmbeddedLog, StreamError> {
        let dir = &config.dir;
        fs::create_dir_all(dir.join("log")).map_err(|e| StreamError::io(dir, e))?;
        fs::create_dir_all(dir.join("groups")).map_err(|e| StreamError::io(dir, e))?;
        let lock_path = dir.join("LOCK");
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StreamError::io(&lock_path, e))?;
        if lock.try_lock().is_err() {
            return Err(StreamError::Locked(dir.display().to_string()));
        }
        let (data_version, _) = watch::channel(0);
        let inner = Arc::new(Inner {
            syncer: sync::Syncer::start(data_version.clone()),
            groups: groups::Groups::new(dir.join("groups")),
            topics: RwLock::new(HashMap::new()),
            data_version,
            _lock: lock,
            config,
        });
        let log = EmbeddedLog { inner };
        log.recover_topics()?;
        Ok(log)
    }

    fn log_dir(&self) -> PathBuf {
        self.inner.config.dir.join("log")
    }

    fn recover_topics(&self) -> Result<(), StreamError> {
        let log_dir = self.log_dir();
        for entry in fs::read_dir(&log_dir).map_err(|e| StreamError::io(&log_dir, e))? {
            let path = entry.map_err(|e| StreamError::io(&log_dir, e))?.path();
            let meta_path = path.join("topic.json");
            let Ok(text) = fs::read_to_string(&meta_path) else { continue };
            let meta: TopicMeta = serde_json::from_str(&text).map_err(|e| StreamError::Corrupt {
                path: meta_path.display().to_string(),
                position: 0,
                reason: e.to_string(),
            })?;
            let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let spec = TopicSpec {
                name,
                partitions: meta.partitions,
                compacted: meta.compacted,
                retention: meta.retention_ms.map(Duration::from_millis),
            };
            self.open_topic(spec, &path)?;
        }
        Ok(())
    }

    fn open_topic(&self, spec: TopicSpec, path: &Path) -> Result<Arc<Topic>, StreamError> {
        let mut partitions = Vec::new();
        for id in 0..spec.partitions {
            let partition = Partition::open(path.join(id.to_string()), &spec.name, id, self.inner.config.segment_bytes)?;
            partitions.push(Arc::new(partition));
        }
        let topic = Arc::new(Topic {
            spec: spec.clone(),
            partitions,
        });
        self.inner
            .topics
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(spec.name, Arc::clone(&topic));
        Ok(topic)
    }

    /// Creates the topics that do not exist yet. An existing topic keeps its partition count
    /// (as on Kafka); its compaction and retention follow the new spec.
    pub fn ensure_topics(&self, specs: &[TopicSpec]) -> Result<(), StreamError> {
        for spec in specs {
            let path = self.log_dir().join(&spec.name);
            let existing = self.topic(&spec.name).ok();
            let partitions = existing.as_ref().map_or(spec.partitions, |t| t.spec.partitions);
            let meta = TopicMeta {
                partitions,
                compacted: spec.compacted,
                retention_ms: spec.retention.map(|r| r.as_millis() as u64),
            };
            fs::create_dir_all(&path).map_err(|e| StreamError::io(&path, e))?;
            let meta_path = path.join("topic.json");
            let text = serde_json::to_string_pretty(&meta).unwrap_or_default();
            fs::write(&meta_path, text).map_err(|e| StreamError::io(&meta_path, e))?;
            match existing {
                Some(topic) => {
                    let mut updated = spec.clone();
                    updated.partitions = partitions;
                    let topic = Arc::new(Topic {
                        spec: updated,
                        partitions: topic.partitions.clone(),
                    });
                    self.inner
                        .topics
                        .write()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(spec.name.clone(), topic);
                }
                None => {
                    self.open_topic(spec.clone(), &path)?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn topic(&self, name: &str) -> Result<Arc<Topic>, StreamError> {
        let topics = self.inner.topics.read().unwrap_or_else(|p| p.into_inner());
        topics.get(name).cloned().ok_or_else(|| StreamError::UnknownTopic(name.to_string()))
    }

    pub(crate) fn partition(&self, topic: &str, partition: u32) -> Result<Arc<Partition>, StreamError> {
        let topic = self.topic(topic)?;
        topic
            .partitions
            .get(partition as usize)
            .cloned()
            .ok_or(StreamError::UnknownPartition {
                topic: topic.spec.name.clone(),
                partition,
                partitions: topic.spec.partitions,
            })
    }

    pub fn partition_count(&self, topic: &str) -> Result<u32, StreamError> {
        Ok(self.topic(topic)?.spec.partitions)
    }

    /// Appends the records and returns once they are on disk (group commit).
    pub async fn send(&self, records: &[OutRecord]) -> Result<(), StreamError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut by_partition: HashMap<(String, u32), Vec<&OutRecord>> = HashMap::new();
        for record in records {
            let partitions = self.partition_count(&record.topic)?;
            let partition = vane_core::partition::partition_for(&record.key, partitions);
            by_partition.entry((record.topic.clone(), partition)).or_default().push(record);
        }
        let mut written = Vec::with_capacity(by_partition.len());
        for ((topic, partition), batch) in by_partition {
            let partition = self.partition(&topic, partition)?;
            let (end, file) = partition.append(&batch)?;
            written.push((partition, end, file));
        }
        let ticket = self.inner.syncer.submit(written);
        self.inner.syncer.wait(ticket).await
    }

    /// One past the last readable offset of each partition of `topic`.
    pub fn end_offsets(&self, topic: &str) -> Result<Vec<u64>, StreamError> {
        Ok(self.topic(topic)?.partitions.iter().map(|p| p.end_offset()).collect())
    }

    /// Reads up to `max` records of one partition from `offset`; returns them and the next offset.
    pub fn fetch(&self, topic: &str, partition: u32, offset: u64, max: usize) -> Result<(Vec<Record>, u64), StreamError> {
        self.partition(topic, partition)?.read(offset, max)
    }

    /// A consumer in `group` (committed offsets, partitions shared among the group's members),
    /// or without a group (reads every partition from the start, commits nothing).
    pub fn consumer(&self, group: Option<&str>, topics: &[&str]) -> Result<EmbeddedConsumer, StreamError> {
        for topic in topics {
            self.topic(topic)?;
        }
        Ok(EmbeddedConsumer::new(self.clone(), group, topics))
    }

    /// Retention and compaction of every topic, given the current time.
    pub fn maintain(&self, now_ms: i64) -> Result<(), StreamError> {
        let topics: Vec<Arc<Topic>> = self
            .inner
            .topics
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for topic in topics {
            for partition in &topic.partitions {
                if let Some(retention) = topic.spec.retention {
                    let removed = partition.apply_retention(now_ms - retention.as_millis() as i64)?;
                    if removed > 0 {
                        tracing::info!(topic = %topic.spec.name, partition = partition.id, removed, "retention deleted log segments");
                    }
                }
                if topic.spec.compacted {
                    partition.compact()?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(crate) fn subscribe_data(&self) -> watch::Receiver<u64> {
        self.inner.data_version.subscribe()
    }
}
