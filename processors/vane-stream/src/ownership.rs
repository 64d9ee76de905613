//! Which keys a replica owns: those whose partition of a topic (the log's own key → partition
//! function) its consumer group assigns it. Roles that talk to an outside endpoint (the weather
//! poller) or release work on a timer (the weather matcher) use it to act only on their share.
//! Pure.

use std::collections::BTreeSet;

use vane_core::partition::partition_for;

/// The partitions of one topic this replica holds, out of how many the topic has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    partitions: u32,
    owned: BTreeSet<u32>,
}

impl Ownership {
    pub fn new(partitions: u32, owned: BTreeSet<u32>) -> Ownership {
        Ownership {
            partitions: partitions.max(1),
            owned,
        }
    }

    /// The partitions of `topic` in a consumer's assignment.
    pub fn from_assignment(topic: &str, partitions: u32, assignment: &[(String, u32)]) -> Ownership {
        let owned = assignment.iter().filter(|(t, _)| t == topic).map(|(_, p)| *p).collect();
        Ownership::new(partitions, owned)
    }

    /// Whether records keyed `key` go to a partition this replica holds.
    pub fn owns(&self, key: &[u8]) -> bool {
        self.owned.contains(&partition_for(key, self.partitions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_halves_own_every_key_once() {
        let assignment = |parts: &[u32]| parts.iter().map(|p| ("t".to_string(), *p)).collect::<Vec<_>>();
        let first = Ownership::from_assignment("t", 4, &assignment(&[0, 2]));
        let second = Ownership::from_assignment("t", 4, &assignment(&[1, 3]));
        let other_topic = Ownership::from_assignment("u", 4, &assignment(&[0, 1, 2, 3]));
        for key in ["name:it:catania", "name:it:rome", "name:us:seattle", "geo:37.50:15.09"] {
            assert!(first.owns(key.as_bytes()) != second.owns(key.as_bytes()), "{key}");
            assert!(!other_topic.owns(key.as_bytes()));
        }
    }
}
