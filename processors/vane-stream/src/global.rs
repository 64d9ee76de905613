//! Global tables: a role that needs all of a compacted topic (SLA definitions, subscriptions,
//! users, its own changelog) reads every partition of it to its current end before it starts, so
//! that its table is complete as of the start; the returned consumer then tails the topic.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::{Consumer, Log, Record, StreamError};

/// How long one poll waits for records.
pub const POLL: Duration = Duration::from_millis(200);
/// How long reading a topic to its end may take before the start fails.
const LOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// Reads every partition of `topic` from the start up to the end it has now, calling `apply` on
/// each record; returns the consumer, positioned after what was read.
pub async fn read_to_end(log: &Log, topic: &str, mut apply: impl FnMut(&Record)) -> Result<Consumer, StreamError> {
    let ends = log.end_offsets(topic).await?;
    let mut pending: HashMap<u32, u64> = ends
        .iter()
        .enumerate()
        .filter(|(_, end)| **end > 0)
        .map(|(partition, end)| (partition as u32, *end))
        .collect();
    let mut consumer = log.consumer(None, &[topic])?;
    let started = Instant::now();
    while !pending.is_empty() {
        if started.elapsed() > LOAD_TIMEOUT {
            return Err(StreamError::Startup(format!(
                "reading {topic} to its end took longer than {}s ({} partitions left); is the log reachable?",
                LOAD_TIMEOUT.as_secs(),
                pending.len()
            )));
        }
        for record in consumer.poll(10_000, POLL).await? {
            apply(&record);
            if pending.get(&record.partition).is_some_and(|end| record.offset + 1 >= *end) {
                pending.remove(&record.partition);
            }
        }
    }
    Ok(consumer)
}

/// Keeps reading `consumer` (positioned by [`read_to_end`]) in a task until `shutdown`, handing
/// each record to `apply`; `apply` returning false ends the task (its receiver is gone). A
/// failed poll is retried a second later; `what` names the table in the warning.
pub fn tail(
    mut consumer: Consumer,
    what: &'static str,
    mut apply: impl FnMut(&Record) -> bool + Send + 'static,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let polled = tokio::select! {
                polled = consumer.poll(1_000, POLL) => polled,
                _ = shutdown.changed() => break,
            };
            match polled {
                Ok(records) => {
                    if !records.iter().all(&mut apply) {
                        return;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, table = what, "reading a table's topic failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            if *shutdown.borrow() {
                break;
            }
        }
    })
}
