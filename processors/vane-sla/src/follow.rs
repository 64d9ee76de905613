//! The SLA worker's I/O beyond the runner: the definitions table follows the compacted
//! `vane.sla.definitions` topic (read to its end before the worker starts, then tailed), and the
//! worker's changelog is read back from `vane.sla.state` before it starts.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use vane_events::{Codec, SlaDefinitionEvent};
use vane_stream::{Consumer, Log, Record, StreamError, topics};

use crate::table::{SharedSlaTable, SlaTable};

const POLL: Duration = Duration::from_millis(200);
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

/// Loads the SLA definitions to the end of their topic, then keeps following it in a task until
/// `shutdown`. The returned table is complete as of the call.
pub async fn follow_definitions(log: &Log, mut shutdown: watch::Receiver<bool>) -> Result<(SharedSlaTable, JoinHandle<()>), StreamError> {
    let codec: Codec<SlaDefinitionEvent> = Codec::new().map_err(|e| StreamError::Startup(e.to_string()))?;
    let table = SlaTable::shared();
    let apply = {
        let table = table.clone();
        move |record: &Record| match codec.decode(&record.value) {
            Ok(event) => {
                if let Ok(mut table) = table.write() {
                    table.apply(event.definition, event.deleted);
                }
            }
            Err(error) => {
                tracing::warn!(offset = record.offset, partition = record.partition, %error, "undecodable SLA definition skipped")
            }
        }
    };
    let mut apply = apply;
    let mut consumer = read_to_end(log, topics::SLA_DEFINITIONS, &mut apply).await?;
    let count = table.read().map(|t| t.len()).unwrap_or(0);
    tracing::info!(slas = count, "SLA definitions loaded");
    let task = tokio::spawn(async move {
        loop {
            let polled = tokio::select! {
                polled = consumer.poll(1_000, POLL) => polled,
                _ = shutdown.changed() => break,
            };
            match polled {
                Ok(records) => records.iter().for_each(&mut apply),
                Err(error) => {
                    tracing::warn!(%error, "reading SLA definitions failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            if *shutdown.borrow() {
                break;
            }
        }
    });
    Ok((table, task))
}
