//! Reading `vane.notifications.deliveries` back into the set of handled dedup keys: to its end
//! at start, and again before each batch (cheap when nothing new was written), so that keys
//! delivered by another replica before a rebalance are known too. I/O: the log.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;
use vane_events::{Codec, NotificationDeliveryEvent};
use vane_stream::{Consumer, Log, StreamError, topics};

use crate::dedup::Handled;

const POLL: Duration = Duration::from_millis(200);

/// A reader of the deliveries topic that remembers how far it got in each partition.
#[derive(Debug)]
pub struct DeliveriesFollower {
    consumer: Consumer,
    codec: Codec<NotificationDeliveryEvent>,
    /// Next offset to read, per partition.
    next: HashMap<u32, u64>,
}

impl DeliveriesFollower {
    pub fn new(log: &Log) -> Result<Self, StreamError> {
        let codec = Codec::new().map_err(|e| StreamError::Startup(e.to_string()))?;
        let consumer = log.consumer(None, &[topics::NOTIFICATION_DELIVERIES])?;
        Ok(DeliveriesFollower {
            consumer,
            codec,
            next: HashMap::new(),
        })
    }

    /// Reads every delivery up to the topic's current end into `handled`; returns how many were
    /// read. A partition from which nothing arrives for `idle` although its end is further (its
    /// tail was removed by retention, or the log is unreachable) is taken as read, with a
    /// warning, so that a broken tail delays the notifier instead of stopping it.
    pub async fn catch_up(&mut self, log: &Log, handled: &mut Handled, idle: Duration) -> Result<usize, StreamError> {
        let ends = log.end_offsets(topics::NOTIFICATION_DELIVERIES).await?;
        let mut pending: HashMap<u32, u64> = HashMap::new();
        for (partition, end) in ends.iter().enumerate() {
            let partition = u32::try_from(partition).unwrap_or(u32::MAX);
            if self.next.get(&partition).copied().unwrap_or(0) < *end {
                pending.insert(partition, *end);
            }
        }
        let mut read = 0;
        let mut last_progress = Instant::now();
        while !pending.is_empty() {
            if last_progress.elapsed() > idle {
                tracing::warn!(
                    topic = topics::NOTIFICATION_DELIVERIES,
                    partitions = pending.len(),
                    "deliveries topic did not yield records up to its end; going on with what was read"
                );
                for (partition, end) in pending.drain() {
                    self.next.insert(partition, end);
                }
                break;
            }
            let records = self.consumer.poll(10_000, POLL).await?;
            if !records.is_empty() {
                last_progress = Instant::now();
            }
            for record in records {
                read += 1;
                self.next.insert(record.partition, record.offset + 1);
                match self.codec.decode(&record.value) {
                    Ok(delivery) => handled.remember(delivery.dedup_key, delivery.at_ms),
                    Err(error) => tracing::warn!(
                        topic = topics::NOTIFICATION_DELIVERIES,
                        partition = record.partition,
                        offset = record.offset,
                        %error,
                        "undecodable delivery skipped"
                    ),
                }
                if pending.get(&record.partition).is_some_and(|end| record.offset + 1 >= *end) {
                    pending.remove(&record.partition);
                }
            }
        }
        Ok(read)
    }
}
