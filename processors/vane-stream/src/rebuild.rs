//! Bookkeeping for processors whose in-memory state is rebuilt from the log (windows of
//! samples): which offset of each partition a restart must re-read from, and which records a
//! rebalance delivers again. Pure.

use std::collections::HashMap;

/// Offsets of the input topic that a processor's state still needs, per partition.
#[derive(Debug, Clone, Default)]
pub struct RebuildOffsets {
    topic: &'static str,
    /// Smallest offset any held state came from, per partition.
    oldest: HashMap<u32, u64>,
    /// Highest offset processed per partition.
    processed: HashMap<u32, u64>,
}

impl RebuildOffsets {
    /// Bookkeeping for state read from `topic`.
    pub fn new(topic: &'static str) -> Self {
        RebuildOffsets {
            topic,
            oldest: HashMap::new(),
            processed: HashMap::new(),
        }
    }

    /// True the first time an offset of a partition is seen; false for a record a rebalance
    /// delivers again (from the committed, oldest needed, offset), which is already in the state.
    pub fn first_delivery(&mut self, partition: u32, offset: u64) -> bool {
        match self.processed.get(&partition) {
            Some(done) if offset <= *done => false,
            _ => {
                self.processed.insert(partition, offset);
                true
            }
        }
    }

    /// Recomputes the oldest needed offsets from `(partition, oldest offset held)` of every piece
    /// of state.
    pub fn recompute(&mut self, held: impl Iterator<Item = (u32, Option<u64>)>) {
        self.oldest.clear();
        for (partition, offset) in held {
            if let Some(offset) = offset {
                let entry = self.oldest.entry(partition).or_insert(offset);
                *entry = (*entry).min(offset);
            }
        }
    }

    /// What [`crate::runner::Processor::oldest_needed`] answers.
    pub fn oldest_needed(&self, topic: &str, partition: u32) -> Option<u64> {
        if topic != self.topic {
            return None;
        }
        self.oldest.get(&partition).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_smallest_offset_per_partition_and_skips_redeliveries() {
        let mut offsets = RebuildOffsets::new("t");
        assert!(offsets.first_delivery(0, 5));
        assert!(!offsets.first_delivery(0, 5));
        assert!(!offsets.first_delivery(0, 3));
        assert!(offsets.first_delivery(1, 3));
        offsets.recompute([(0, Some(7)), (0, Some(4)), (1, None), (2, Some(9))].into_iter());
        assert_eq!(offsets.oldest_needed("t", 0), Some(4));
        assert_eq!(offsets.oldest_needed("t", 1), None);
        assert_eq!(offsets.oldest_needed("t", 2), Some(9));
        assert_eq!(offsets.oldest_needed("other", 0), None);
    }
}
