//! The Kafka backend through `rdkafka` (bundled librdkafka): any Kafka-protocol broker.
//!
//! Producers use `acks=all` and the same key → partition function as the embedded log (Kafka's
//! murmur2), so a write is acknowledged when the broker has it on every in-sync replica.
//! Consumers never auto-commit: the runner commits after a batch's outputs are acknowledged.
//! Topics are created at start-up when missing; no Kafka transactions are used, so any broker
//! that speaks the protocol (Apache Kafka, Redpanda, tansu) works.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use crate::{OutRecord, Record, StreamError, TopicSpec};

/// Settings of the Kafka backend.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// `host:port[,host:port...]`
    pub brokers: String,
    /// Replication factor of topics vane creates.
    pub replication_factor: i32,
    /// Extra librdkafka properties (e.g. `security.protocol`), applied to every client.
    pub properties: Vec<(String, String)>,
    /// Stable identity of this process across restarts. When set, consumers use static group
    /// membership (`group.instance.id = <instance>-<group>`): a restarted process takes its
    /// partitions back at once instead of waiting for the broker to expire its old session
    /// (which some Kafka-protocol brokers do not do while the group is otherwise steady).
    pub instance_id: Option<String>,
}

impl KafkaConfig {
    pub fn new(brokers: &str) -> Self {
        KafkaConfig {
            brokers: brokers.to_string(),
            replication_factor: 1,
            properties: Vec::new(),
            instance_id: None,
        }
    }

    fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

/// The Kafka log; cheap to clone.
#[derive(Clone)]
pub struct KafkaLog {
    config: KafkaConfig,
    producer: FutureProducer,
    partitions: Arc<RwLock<HashMap<String, u32>>>,
}

impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaLog").field("brokers", &self.config.brokers).finish()
    }
}

impl KafkaLog {
    pub fn connect(config: KafkaConfig) -> Result<KafkaLog, StreamError> {
        let producer: FutureProducer = config
            .client()
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .set("batch.num.messages", "10000")
            .set("queue.buffering.max.messages", "500000")
            .set("message.timeout.ms", "30000")
            .create()?;
        Ok(KafkaLog {
            config,
            producer,
            partitions: Arc::new(RwLock::new(HashMap::new())),
        })
    }

    /// Creates missing topics and learns the partition count of every topic in `specs`.
    pub async fn ensure_topics(&self, specs: &[TopicSpec]) -> Result<(), StreamError> {
        let admin: AdminClient<DefaultClientContext> = self.config.client().create()?;
        let retention: Vec<String> = specs
            .iter()
            .map(|s| s.retention.map_or("-1".to_string(), |r| r.as_millis().to_string()))
            .collect();
        let mut new_topics = Vec::new();
        for (spec, retention) in specs.iter().zip(&retention) {
            let mut topic = NewTopic::new(
                &spec.name,
                spec.partitions as i32,
                TopicReplication::Fixed(self.config.replication_factor),
            );
            topic = topic.set("cleanup.policy", if spec.compacted { "compact" } else { "delete" });
            topic = topic.set("retention.ms", retention);
            new_topics.push(topic);
        }
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        for result in admin.create_topics(&new_topics, &options).await? {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(StreamError::TopicCreation {
                        topic,
                        reason: code.to_string(),
                    });
                }
            }
        }
        for spec in specs {
            let count = self.fetch_partition_count(&spec.name).await?;
            self.partitions
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(spec.name.clone(), count);
        }
        Ok(())
    }

    async fn fetch_partition_count(&self, topic: &str) -> Result<u32, StreamError> {
        let producer = self.producer.clone();
        let name = topic.to_string();
        let metadata = tokio::task::spawn_blocking(move || producer.client().fetch_metadata(Some(&name), Duration::from_secs(10)))
            .await
            .map_err(|_| StreamError::Closed)??;
        let count = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map_or(0, |t| t.partitions().len() as u32);
        if count == 0 {
            return Err(StreamError::UnknownTopic(topic.to_string()));
        }
        Ok(count)
    }

    pub fn partition_count(&self, topic: &str) -> Result<u32, StreamError> {
        let partitions = self.partitions.read().unwrap_or_else(|p| p.into_inner());
        partitions
            .get(topic)
            .copied()
            .ok_or_else(|| StreamError::UnknownTopic(topic.to_string()))
    }

    /// High watermark of every partition of `topic`.
    pub async fn end_offsets(&self, topic: &str) -> Result<Vec<u64>, StreamError> {
        let partitions = self.partition_count(topic)?;
        let producer = self.producer.clone();
        let name = topic.to_string();
        tokio::task::spawn_blocking(move || {
            let mut ends = Vec::with_capacity(partitions as usize);
            for partition in 0..partitions {
                let (_, high) = producer
                    .client()
                    .fetch_watermarks(&name, partition as i32, Duration::from_secs(10))?;
                ends.push(high.max(0) as u64);
            }
            Ok(ends)
        })
        .await
        .map_err(|_| StreamError::Closed)?
    }

    /// Produces the records and waits for every delivery report.
    pub async fn send(&self, records: &[OutRecord]) -> Result<(), StreamError> {
        let mut deliveries = Vec::with_capacity(records.len());
        for record in records {
            let partition = vane_core::partition::partition_for(&record.key, self.partition_count(&record.topic)?);
            let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
            for (name, value) in &record.headers {
                headers = headers.insert(Header {
                    key: name,
                    value: Some(value),
                });
            }
            let mut future_record = FutureRecord::to(&record.topic)
                .key(&record.key)
                .payload(&record.value)
                .partition(partition as i32)
                .timestamp(record.timestamp_ms)
                .headers(headers);
            loop {
                match self.producer.send_result(future_record) {
                    Ok(delivery) => {
                        deliveries.push(delivery);
                        break;
                    }
                    Err((rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        future_record = back;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((error, _)) => return Err(error.into()),
                }
            }
        }
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) => return Err(error.into()),
                Err(_) => return Err(StreamError::Closed),
            }
        }
        Ok(())
    }

    /// A consumer in `group` (or a group of its own that never commits) subscribed to `topics`.
    pub fn consumer(&self, group: Option<&str>, topics: &[&str]) -> Result<KafkaConsumer, StreamError> {
        let reader_group;
        let group_id = match group {
            Some(group) => group,
            None => {
                reader_group = format!("vane-reader-{}", std::process::id());
                &reader_group
            }
        };
        let mut client = self.config.client();
        if let (Some(instance), Some(group)) = (&self.config.instance_id, group) {
            client.set("group.instance.id", format!("{instance}-{group}"));
        }
        let consumer: StreamConsumer = client
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            .set("enable.partition.eof", "false")
            .create()?;
        consumer.subscribe(topics)?;
        Ok(KafkaConsumer {
            consumer: Arc::new(consumer),
            commits: group.is_some(),
            last_commits: HashMap::new(),
        })
    }

    /// Waits for outstanding deliveries (graceful shutdown).
    pub fn flush(&self, timeout: Duration) {
        if let Err(error) = self.producer.flush(timeout) {
            tracing::warn!(%error, "kafka producer flush did not finish");
        }
    }
}

/// A consumer of the Kafka backend.
pub struct KafkaConsumer {
    consumer: Arc<StreamConsumer>,
    commits: bool,
    last_commits: HashMap<(String, u32), u64>,
}

impl std::fmt::Debug for KafkaConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConsumer").finish()
    }
}

impl KafkaConsumer {
    /// Up to `max` records, waiting at most `timeout` for the first one.
    pub async fn poll(&mut self, max: usize, timeout: Duration) -> Result<Vec<Record>, StreamError> {
        let mut out = Vec::new();
        let first = match tokio::time::timeout(timeout, self.consumer.recv()).await {
            Err(_) => return Ok(out),
            Ok(Err(KafkaError::MessageConsumption(code))) => {
                // Not fatal (e.g. a partition not known yet right after topic creation).
                tracing::warn!(%code, "kafka consumption error; continuing");
                return Ok(out);
            }
            Ok(message) => message?,
        };
        out.push(to_record(&first));
        drop(first);
        while out.len() < max {
            match tokio::time::timeout(Duration::from_millis(1), self.consumer.recv()).await {
                Ok(Ok(message)) => out.push(to_record(&message)),
                Ok(Err(KafkaError::MessageConsumption(code))) => {
                    tracing::warn!(%code, "kafka consumption error; continuing");
                    break;
                }
                Ok(Err(error)) => return Err(error.into()),
                Err(_) => break,
            }
        }
        Ok(out)
    }

    /// Commits the next offsets to read.
    pub fn commit(&mut self, offsets: &[((String, u32), u64)]) -> Result<(), StreamError> {
        if !self.commits || offsets.is_empty() {
            return Ok(());
        }
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in offsets {
            list.add_partition_offset(topic, *partition as i32, Offset::Offset(*offset as i64))?;
        }
        self.consumer.commit(&list, CommitMode::Async)?;
        for ((topic, partition), offset) in offsets {
            self.last_commits.insert((topic.clone(), *partition), *offset);
        }
        Ok(())
    }

    /// Commits the latest offsets synchronously (at shutdown: an asynchronous commit still in
    /// flight when the process exits would be lost, and its batch replayed).
    pub async fn close(&mut self) {
        if !self.commits || self.last_commits.is_empty() {
            return;
        }
        // Only partitions still owned: a revoked one's offset belongs to its new owner now.
        let owned = self.assignment();
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in &self.last_commits {
            if !owned.iter().any(|(t, p)| t == topic && p == partition) {
                continue;
            }
            if list
                .add_partition_offset(topic, *partition as i32, Offset::Offset(*offset as i64))
                .is_err()
            {
                return;
            }
        }
        let consumer = Arc::clone(&self.consumer);
        let outcome = tokio::task::spawn_blocking(move || consumer.commit(&list, CommitMode::Sync)).await;
        if let Ok(Err(error)) = outcome {
            tracing::warn!(%error, "final offset commit failed; the last batch will be read again");
        }
    }

    /// The partitions currently assigned by the group coordinator.
    pub fn assignment(&self) -> Vec<(String, u32)> {
        match self.consumer.assignment() {
            Ok(list) => list
                .elements()
                .iter()
                .map(|e| (e.topic().to_string(), e.partition() as u32))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Records between the read positions and the high watermarks of the assignment, `None`
    /// when the broker cannot tell. librdkafka knows a partition's position only once it has
    /// handed out a record from it; before that (after an assignment, with nothing new to read)
    /// the position is the committed offset, or the low watermark when the group has committed
    /// none (`auto.offset.reset = earliest`).
    ///
    /// The broker requests run on a blocking thread; the handle resolves to the lag, so a caller
    /// can keep polling while they take (up to 2 s per request on a slow broker).
    pub fn lag_probe(&self) -> tokio::task::JoinHandle<Option<u64>> {
        let consumer = Arc::clone(&self.consumer);
        tokio::task::spawn_blocking(move || {
            let timeout = Duration::from_secs(2);
            let positions = consumer.position().ok()?;
            let mut committed = None;
            let mut lag = 0u64;
            for element in positions.elements() {
                let (topic, partition) = (element.topic(), element.partition());
                let (low, high) = consumer.fetch_watermarks(topic, partition, timeout).ok()?;
                let position = match element.offset() {
                    Offset::Offset(n) => n,
                    _ => {
                        if committed.is_none() {
                            committed = Some(consumer.committed(timeout).ok()?);
                        }
                        let offset = committed
                            .as_ref()
                            .and_then(|list| list.find_partition(topic, partition))
                            .map(|e| e.offset());
                        match offset {
                            Some(Offset::Offset(n)) => n,
                            _ => low,
                        }
                    }
                };
                lag += (high - position).max(0) as u64;
            }
            Some(lag)
        })
    }
}

fn to_record<M: Message>(message: &M) -> Record {
    let mut headers = Vec::new();
    if let Some(raw) = message.headers() {
        for header in raw.iter() {
            headers.push((header.key.to_string(), header.value.unwrap_or_default().to_vec()));
        }
    }
    Record {
        topic: message.topic().to_string(),
        partition: message.partition().max(0) as u32,
        offset: message.offset().max(0) as u64,
        timestamp_ms: message.timestamp().to_millis().unwrap_or(0),
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().unwrap_or_default().to_vec(),
        headers,
    }
}
