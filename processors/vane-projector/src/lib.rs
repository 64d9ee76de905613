//! The projector: reads `vane.metrics.aggregates` and `vane.metrics.analytics` and writes the read
//! models (series catalog, aggregates per series and window, analyses per series by time and the
//! latest analysis' points) through the [`Store`], then commits the offsets. Upserts are
//! idempotent and keep the newest version of each row, so redelivery, replay and out-of-order
//! events all converge to the same rows. [`replay`] rebuilds every read model from the log.

mod analysis_rows;
mod rows;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use thiserror::Error;
use tokio::sync::watch;
use vane_store::{Store, StoreError};
use vane_stream::dlq::DeadLetter;
use vane_stream::metrics::{Metrics, RoleMetrics};
use vane_stream::runner::{Clock, send_with_retry};
use vane_stream::{Log, StreamError, topics};

pub use rows::{Batch, Codecs};

/// The topics projected into read models.
const TOPICS: &[&str] = &[topics::METRICS_AGGREGATES, topics::METRICS_ANALYTICS];

#[derive(Debug, Error)]
pub enum ProjectorError {
    #[error("log: {0}")]
    Stream(#[from] StreamError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("events schema: {0}")]
    Schema(String),
}

const GROUP: &str = "vane-projector";
/// A replay ends after this many empty polls (200 ms each) once every partition was read to its
/// end offset, or after `GIVE_UP_POLLS` empty polls in any case.
const QUIET_POLLS: u32 = 10;
const GIVE_UP_POLLS: u32 = 75;

/// Runs the projector until `shutdown` turns true.
pub async fn run(
    log: Log,
    store: Store,
    clock: &dyn Clock,
    metrics: &Metrics,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ProjectorError> {
    let codecs = Codecs::new().map_err(|e| ProjectorError::Schema(e.to_string()))?;
    let mut consumer = log.consumer(Some(GROUP), TOPICS)?;
    let RoleMetrics {
        records_in,
        dead_letters,
        lag,
        ..
    } = RoleMetrics::new(metrics, "projector");
    let rows_written = metrics.counter("vane_projector_rows_total", "Read-model rows upserted.", &[]);
    let mut last_lag = tokio::time::Instant::now();
    tracing::info!(backend = store.backend(), "projector started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let records = tokio::select! {
            polled = consumer.poll(20_000, Duration::from_millis(200)) => polled?,
            _ = shutdown.changed() => break,
        };
        if records.is_empty() {
            continue;
        }
        let batch = Batch::from_records(&codecs, &records);
        if !batch.rejected.is_empty() {
            let now = clock.now_ms();
            let letters: Vec<_> = batch
                .rejected
                .iter()
                .map(|(record, reason)| {
                    DeadLetter::for_record(record, reason, now).to_out_record(record.key.as_deref().unwrap_or_default())
                })
                .collect();
            dead_letters.add(letters.len() as u64);
            send_with_retry(&log, &letters, &mut shutdown).await?;
        }
        write_with_retry(&store, &batch, &mut shutdown).await?;
        rows_written.add(batch.rows() as u64);
        records_in.add(records.len() as u64);
        consumer.commit(&batch.next_offsets)?;
        if last_lag.elapsed() >= Duration::from_secs(5) {
            lag.set(consumer.lag().await);
            last_lag = tokio::time::Instant::now();
        }
    }
    consumer.close().await;
    tracing::info!("projector stopped");
    Ok(())
}

async fn write_with_retry(store: &Store, batch: &Batch, shutdown: &mut watch::Receiver<bool>) -> Result<(), ProjectorError> {
    let mut backoff = Duration::from_millis(50);
    loop {
        let outcome = async {
            store.upsert_series(&batch.series).await?;
            store.upsert_aggregates(&batch.aggregates).await?;
            store.upsert_analyses(&batch.analyses).await
        }
        .await;
        match outcome {
            Ok(()) => return Ok(()),
            Err(error) if error.is_transient() => {
                tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "read-model write failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => return Err(ProjectorError::Stream(StreamError::Closed)),
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayReport {
    pub events: u64,
    pub rows: u64,
    pub rejected: u64,
}

/// Wipes the read models and rebuilds them from every event still on the log (up to the end
/// offsets at the start of the replay).
pub async fn replay(log: &Log, store: &Store) -> Result<ReplayReport, ProjectorError> {
    let codecs = Codecs::new().map_err(|e| ProjectorError::Schema(e.to_string()))?;
    store.migrate().await?;
    store.wipe().await?;
    // Read until every partition reached the end offsets taken at the start and nothing new
    // arrived for a while: some Kafka-protocol brokers (tansu 0.6) report stale high watermarks,
    // so the quiet period, not the watermark alone, ends the replay.
    let mut ends: HashMap<(String, u32), u64> = HashMap::new();
    for topic in TOPICS {
        for (partition, end) in log.end_offsets(topic).await?.into_iter().enumerate() {
            ends.insert((topic.to_string(), partition as u32), end);
        }
    }
    let mut reached: HashSet<(String, u32)> = ends.iter().filter(|(_, end)| **end == 0).map(|(key, _)| key.clone()).collect();
    let mut reader = log.consumer(None, TOPICS)?;
    let mut report = ReplayReport {
        events: 0,
        rows: 0,
        rejected: 0,
    };
    let mut quiet_polls = 0;
    loop {
        let all_reached = reached.len() == ends.len();
        if (all_reached && quiet_polls >= QUIET_POLLS) || quiet_polls >= GIVE_UP_POLLS {
            break;
        }
        let records = reader.poll(20_000, Duration::from_millis(200)).await?;
        if records.is_empty() {
            quiet_polls += 1;
            continue;
        }
        quiet_polls = 0;
        for record in &records {
            let key = (record.topic.clone(), record.partition);
            if ends.get(&key).is_some_and(|end| record.offset + 1 >= *end) {
                reached.insert(key);
            }
        }
        let batch = Batch::from_records(&codecs, &records);
        store.upsert_series(&batch.series).await?;
        store.upsert_aggregates(&batch.aggregates).await?;
        store.upsert_analyses(&batch.analyses).await?;
        report.events += records.len() as u64;
        report.rows += batch.rows() as u64;
        report.rejected += batch.rejected.len() as u64;
    }
    Ok(report)
}
