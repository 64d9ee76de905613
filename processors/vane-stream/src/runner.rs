//! The consume → process → produce → commit loop, Kafka Streams style.
//!
//! A [`Processor`] is a synchronous function of one record and the current time that appends the
//! records it derives; it never does I/O. The loop reads a batch, runs the processor on each
//! record, writes every output (and a dead letter for every rejected record) and waits until all
//! are acknowledged, and only then commits the batch's offsets: a crash at any point replays the
//! batch, never loses it. Transient write errors are retried with capped exponential backoff.

use std::time::Duration;

use tokio::sync::watch;

use crate::dlq::DeadLetter;
use crate::metrics::{Assignment, Metrics, RoleMetrics};
use crate::{Log, OutRecord, Record, StreamError};

/// Why a processor refused a record: permanent, so the record goes to the dead-letter topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected(pub String);

impl<E: std::error::Error> From<E> for Rejected {
    fn from(error: E) -> Self {
        Rejected(error.to_string())
    }
}

/// A stateless (or in-memory-state) stream processor.
pub trait Processor: Send {
    /// Derives output records from one input record.
    fn process(&mut self, record: &Record, now_ms: i64, out: &mut Vec<OutRecord>) -> Result<(), Rejected>;

    /// Called on wall-clock time when the stream may be quiet (every `punctuate_every`).
    fn punctuate(&mut self, _now_ms: i64, _out: &mut Vec<OutRecord>) {}

    /// Called after every record of a batch was processed: processors that coalesce (emit one
    /// record per key per batch) emit here.
    fn end_batch(&mut self, _now_ms: i64, _out: &mut Vec<OutRecord>) {}

    /// The smallest offset of `partition` the processor still needs after a restart (its
    /// in-memory state is rebuilt by re-reading from there). `None`: nothing before the batch.
    fn oldest_needed(&self, _topic: &str, _partition: u32) -> Option<u64> {
        None
    }

    /// The partitions the consumer group assigns this replica now; called before the first
    /// batch and after every change (processors that shard work beyond their input use it).
    fn assigned(&mut self, _partitions: &[(String, u32)]) {}
}

/// The source of "now" for the loop (tests pass a fixed one).
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// Where and how a processor runs.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Role name, used as the consumer group suffix and the metrics label.
    pub role: &'static str,
    pub group: String,
    pub topics: Vec<String>,
    pub batch_size: usize,
    pub poll_timeout: Duration,
    pub punctuate_every: Option<Duration>,
}

impl RunnerConfig {
    pub fn new(role: &'static str, group: &str, topics: &[&str]) -> Self {
        RunnerConfig {
            role,
            group: group.to_string(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            batch_size: 10_000,
            poll_timeout: Duration::from_millis(200),
            punctuate_every: None,
        }
    }
}

/// Runs `processor` until `shutdown` turns true. Returns an error only for failures that a
/// retry cannot fix (the caller logs it and exits non-zero).
pub async fn run<P: Processor>(
    log: Log,
    config: RunnerConfig,
    mut processor: P,
    clock: &dyn Clock,
    metrics: &Metrics,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), StreamError> {
    let topics: Vec<&str> = config.topics.iter().map(String::as_str).collect();
    let mut consumer = log.consumer(Some(&config.group), &topics)?;
    let RoleMetrics {
        records_in,
        records_out,
        dead_letters,
        mut progress,
    } = RoleMetrics::new(metrics, config.role);
    let mut last_punctuation = clock.now_ms();
    let mut out = Vec::new();
    let mut assignment: Option<Assignment> = None;
    tracing::info!(role = config.role, group = %config.group, backend = log.backend(), "stream processor started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let records = tokio::select! {
            polled = consumer.poll(config.batch_size, config.poll_timeout) => polled?,
            _ = shutdown.changed() => break,
        };
        let now_assigned = progress.observe(&mut consumer).await;
        if assignment.as_ref() != Some(&now_assigned) {
            tracing::info!(role = config.role, partitions = now_assigned.len(), "partitions assigned");
            processor.assigned(&now_assigned);
            assignment = Some(now_assigned);
        }
        let now = clock.now_ms();
        out.clear();
        for record in &records {
            if let Err(Rejected(reason)) = processor.process(record, now, &mut out) {
                tracing::warn!(role = config.role, topic = %record.topic, partition = record.partition, offset = record.offset, %reason, "record sent to the dead-letter topic");
                dead_letters.inc();
                let key = record.key.clone().unwrap_or_default();
                out.push(DeadLetter::for_record(record, &reason, now).to_out_record(&key));
            }
        }
        processor.end_batch(now, &mut out);
        if let Some(every) = config.punctuate_every
            && now - last_punctuation >= every.as_millis() as i64
        {
            processor.punctuate(now, &mut out);
            last_punctuation = now;
        }
        send_with_retry(&log, &out, &mut shutdown).await?;
        records_in.add(records.len() as u64);
        records_out.add(out.len() as u64);
        let offsets: Vec<((String, u32), u64)> = crate::record::next_offsets(&records)
            .into_iter()
            .map(|((topic, partition), next)| {
                let needed = processor.oldest_needed(&topic, partition).map_or(next, |oldest| oldest.min(next));
                ((topic, partition), needed)
            })
            .collect();
        consumer.commit(&offsets)?;
    }
    progress.finish().await;
    consumer.close().await;
    tracing::info!(role = config.role, "stream processor stopped");
    Ok(())
}

/// Writes `records`, retrying transient failures with capped exponential backoff until they
/// succeed or shutdown is requested (then the batch is not committed and will be replayed).
pub async fn send_with_retry(log: &Log, records: &[OutRecord], shutdown: &mut watch::Receiver<bool>) -> Result<(), StreamError> {
    let mut backoff = Duration::from_millis(50);
    loop {
        match log.send(records).await {
            Ok(()) => return Ok(()),
            Err(error) if error.is_transient() => {
                tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "write to the log failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => return Err(StreamError::Closed),
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(error) => return Err(error),
        }
    }
}
