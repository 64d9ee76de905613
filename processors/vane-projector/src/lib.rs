//! The projector: reads `vane.metrics.aggregates` and writes the read models (series catalog and
//! aggregates per series and window) through the [`Store`], then commits the offsets. Upserts are
//! idempotent and keep the newest version of each row, so redelivery, replay and out-of-order
//! events all converge to the same rows. [`replay`] rebuilds every read model from the log.

mod rows;

use std::time::Duration;

use thiserror::Error;
use tokio::sync::watch;
use vane_events::{Codec, SeriesAggregatesEvent};
use vane_store::{Store, StoreError};
use vane_stream::dlq::DeadLetter;
use vane_stream::metrics::{Metrics, RoleMetrics};
use vane_stream::runner::{Clock, send_with_retry};
use vane_stream::{Log, StreamError, topics};

pub use rows::Batch;

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
    let codec = Codec::<SeriesAggregatesEvent>::new().map_err(|e| ProjectorError::Schema(e.to_string()))?;
    let mut consumer = log.consumer(Some(GROUP), &[topics::METRICS_AGGREGATES])?;
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
        let batch = Batch::from_records(&codec, &records);
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
        rows_written.add((batch.series.len() + batch.aggregates.len()) as u64);
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
            store.upsert_aggregates(&batch.aggregates).await
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
    let codec = Codec::<SeriesAggregatesEvent>::new().map_err(|e| ProjectorError::Schema(e.to_string()))?;
    store.migrate().await?;
    store.wipe().await?;
    // Read until every partition reached the end offsets taken at the start and nothing new
    // arrived for a while: some Kafka-protocol brokers (tansu 0.6) report stale high watermarks,
    // so the quiet period, not the watermark alone, ends the replay.
    let ends = log.end_offsets(topics::METRICS_AGGREGATES).await?;
    let mut reached: Vec<bool> = ends.iter().map(|end| *end == 0).collect();
    let mut reader = log.consumer(None, &[topics::METRICS_AGGREGATES])?;
    let mut report = ReplayReport {
        events: 0,
        rows: 0,
        rejected: 0,
    };
    let mut quiet_polls = 0;
    loop {
        let all_reached = reached.iter().all(|r| *r);
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
            let end = ends.get(record.partition as usize).copied().unwrap_or(0);
            if record.offset + 1 >= end
                && let Some(flag) = reached.get_mut(record.partition as usize)
            {
                *flag = true;
            }
        }
        let batch = Batch::from_records(&codec, &records);
        store.upsert_series(&batch.series).await?;
        store.upsert_aggregates(&batch.aggregates).await?;
        report.events += records.len() as u64;
        report.rows += (batch.series.len() + batch.aggregates.len()) as u64;
        report.rejected += batch.rejected.len() as u64;
    }
    Ok(report)
}
