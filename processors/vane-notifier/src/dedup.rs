//! The dedup keys the notifier has handled: every key with a delivery on
//! `vane.notifications.deliveries` (delivered or failed), plus the keys of the batch in hand.
//! A key in the set is never sent again. Memory is bounded by forgetting keys older than the
//! dedup window (by default the topics' retention, past which the notification cannot be read
//! again either). Pure.

use std::collections::HashMap;

/// Dedup keys with the time (Unix ms) they were handled.
#[derive(Debug, Clone, Default)]
pub struct Handled {
    keys: HashMap<String, i64>,
}

impl Handled {
    pub fn new() -> Self {
        Handled::default()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.keys.contains_key(key)
    }

    /// Claims `key`; false when it was already handled (the caller then sends nothing).
    pub fn claim(&mut self, key: &str, at_ms: i64) -> bool {
        if self.keys.contains_key(key) {
            return false;
        }
        self.keys.insert(key.to_string(), at_ms);
        true
    }

    /// Notes a key read from the deliveries topic (keeps the earliest time seen).
    pub fn remember(&mut self, key: String, at_ms: i64) {
        let entry = self.keys.entry(key).or_insert(at_ms);
        *entry = (*entry).min(at_ms);
    }

    /// Forgets keys handled before `cutoff_ms`; returns how many.
    pub fn forget_before(&mut self, cutoff_ms: i64) -> usize {
        let before = self.keys.len();
        self.keys.retain(|_, at| *at >= cutoff_ms);
        before - self.keys.len()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_claimed_once() {
        let mut handled = Handled::new();
        assert!(handled.claim("sla:a:1", 10));
        assert!(!handled.claim("sla:a:1", 20));
        assert!(handled.contains("sla:a:1"));
        assert!(!handled.contains("sla:a:2"));
    }

    #[test]
    fn remembered_keys_block_claims() {
        let mut handled = Handled::new();
        handled.remember("weather:x".into(), 50);
        handled.remember("weather:x".into(), 40);
        assert!(!handled.claim("weather:x", 60));
        assert_eq!(handled.len(), 1);
    }

    #[test]
    fn old_keys_are_forgotten() {
        let mut handled = Handled::new();
        handled.remember("old".into(), 100);
        handled.claim("new", 200);
        assert_eq!(handled.forget_before(150), 1);
        assert!(!handled.contains("old"));
        assert!(handled.contains("new"));
        assert!(!handled.is_empty());
    }
}
