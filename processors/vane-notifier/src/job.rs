//! One notification on its way to Telegram: its parts, how many went, the chat it goes to, how
//! often it was tried, and finally its outcome. The I/O loop asks it what to send and tells it
//! what happened; time is passed in. Pure.

use std::time::{Duration, Instant};

use vane_events::{DeliveryOutcome, Envelope, NotificationDeliveryEvent, NotificationEvent};

use crate::retry::{Next, RetryPolicy, SendError};
use crate::split::split_text;

/// The only channel this notifier serves.
pub const TELEGRAM: &str = "telegram";

/// How a notification ended; becomes a delivery event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub recipient: String,
    pub dedup_key: String,
    pub outcome: DeliveryOutcome,
    pub reason: Option<String>,
    /// Requests made.
    pub attempt: u32,
    /// Parts that reached Telegram.
    pub parts: u32,
}

impl Finished {
    fn failed(notification: &NotificationEvent, reason: String) -> Self {
        Finished {
            recipient: notification.recipient.clone(),
            dedup_key: notification.dedup_key.clone(),
            outcome: DeliveryOutcome::Failed,
            reason: Some(reason),
            attempt: 0,
            parts: 0,
        }
    }

    /// The delivery event for the deliveries topic.
    pub fn to_event(&self, now_ms: i64, source: &str) -> NotificationDeliveryEvent {
        NotificationDeliveryEvent {
            envelope: Envelope::new(now_ms, now_ms, source),
            recipient: self.recipient.clone(),
            dedup_key: self.dedup_key.clone(),
            outcome: self.outcome,
            reason: self.reason.clone(),
            attempt: self.attempt,
            parts: self.parts,
            at_ms: now_ms,
        }
    }
}

/// A notification being delivered.
#[derive(Debug, Clone)]
pub struct Job {
    recipient: String,
    dedup_key: String,
    target: i64,
    parts: Vec<String>,
    sent: usize,
    attempts: u32,
    /// Consecutive transient failures of the current part.
    failures: u32,
    first_try: Option<Instant>,
    not_before: Option<Instant>,
    note: Option<String>,
}

impl Job {
    /// The job for `notification`, its text split at `limit`; or its outcome right away when
    /// there is nothing that could be sent (another channel, a blank text).
    pub fn new(notification: &NotificationEvent, limit: usize) -> Result<Job, Finished> {
        if notification.channel != TELEGRAM {
            return Err(Finished::failed(
                notification,
                format!(
                    "unsupported channel {:?}: this notifier delivers to telegram only",
                    notification.channel
                ),
            ));
        }
        let parts = split_text(&notification.text, limit);
        if parts.is_empty() {
            return Err(Finished::failed(notification, "the text is empty".to_string()));
        }
        Ok(Job {
            recipient: notification.recipient.clone(),
            dedup_key: notification.dedup_key.clone(),
            target: notification.chat_id,
            parts,
            sent: 0,
            attempts: 0,
            failures: 0,
            first_try: None,
            not_before: None,
            note: None,
        })
    }

    pub fn dedup_key(&self) -> &str {
        &self.dedup_key
    }

    /// The chat the next part goes to.
    pub fn target(&self) -> i64 {
        self.target
    }

    /// How many parts the text was split into.
    pub fn part_count(&self) -> usize {
        self.parts.len()
    }

    /// No try before this (a backoff or a `retry_after`).
    pub fn not_before(&self) -> Option<Instant> {
        self.not_before
    }

    /// The part to send next.
    pub fn next_part(&self) -> Option<&str> {
        self.parts.get(self.sent).map(String::as_str)
    }

    /// Sends to `chat_id` from now on (a group known to have moved to a supergroup).
    pub fn redirect(&mut self, chat_id: i64) {
        if chat_id != self.target {
            self.note = Some(format!("chat {} migrated to {chat_id}", self.target));
            self.target = chat_id;
        }
    }

    /// A try of the next part starts at `now`.
    pub fn start_try(&mut self, now: Instant) {
        self.attempts = self.attempts.saturating_add(1);
        self.first_try.get_or_insert(now);
        self.not_before = None;
    }

    /// The part went through; the outcome once every part has.
    pub fn part_sent(&mut self) -> Option<Finished> {
        self.sent += 1;
        self.failures = 0;
        if self.sent < self.parts.len() {
            return None;
        }
        Some(self.finish(DeliveryOutcome::Delivered, self.note.clone()))
    }

    /// The try failed with `error` at `now`; the outcome if it is final.
    pub fn part_failed(&mut self, error: &SendError, now: Instant, policy: &RetryPolicy) -> Option<Finished> {
        if matches!(error, SendError::Unauthorized | SendError::Transient(_)) {
            self.failures = self.failures.saturating_add(1);
        }
        let elapsed = self.first_try.map_or(Duration::ZERO, |first| now.saturating_duration_since(first));
        match policy.next(error, self.failures, elapsed) {
            Next::RetryIn(wait) => {
                self.not_before = Some(now + wait);
                None
            }
            Next::Redirect(chat_id) if chat_id != self.target => {
                self.redirect(chat_id);
                None
            }
            Next::Redirect(chat_id) => Some(self.give_up(format!("telegram redirected chat {chat_id} to itself"))),
            Next::GiveUp(reason) => Some(self.give_up(reason)),
        }
    }

    fn give_up(&self, reason: String) -> Finished {
        let reason = if self.parts.len() > 1 {
            format!("part {} of {}: {reason}", self.sent + 1, self.parts.len())
        } else {
            reason
        };
        self.finish(DeliveryOutcome::Failed, Some(reason))
    }

    fn finish(&self, outcome: DeliveryOutcome, reason: Option<String>) -> Finished {
        Finished {
            recipient: self.recipient.clone(),
            dedup_key: self.dedup_key.clone(),
            outcome,
            reason,
            attempt: self.attempts,
            parts: u32::try_from(self.sent).unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::TELEGRAM_TEXT_LIMIT;

    fn notification(text: &str) -> NotificationEvent {
        NotificationEvent {
            envelope: Envelope::new(1_000, 1_000, "sla"),
            recipient: "telegram:42".into(),
            channel: "telegram".into(),
            chat_id: 42,
            text: text.into(),
            dedup_key: "sla:x:started:1000".into(),
            source: "sla".into(),
            subject_id: "x".into(),
            kind: "violation_started".into(),
            severity: None,
            at_ms: 1_000,
        }
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_short_text_is_delivered_in_one_try() {
        let t0 = Instant::now();
        let mut job = Job::new(&notification("hello"), TELEGRAM_TEXT_LIMIT).unwrap();
        assert_eq!(job.next_part(), Some("hello"));
        job.start_try(t0);
        let done = job.part_sent().unwrap();
        assert_eq!(done.outcome, DeliveryOutcome::Delivered);
        assert_eq!((done.attempt, done.parts, done.reason.clone()), (1, 1, None));
        let event = done.to_event(5_000, "notifier");
        assert_eq!((event.at_ms, event.envelope.source.as_str()), (5_000, "notifier"));
        assert_eq!(event.recipient, "telegram:42");
    }

    #[test]
    fn parts_go_in_order_and_a_retry_repeats_only_the_failed_part() {
        let t0 = Instant::now();
        let policy = RetryPolicy::default();
        let text = format!("{}\n{}", "a".repeat(3000), "b".repeat(2000));
        let mut job = Job::new(&notification(&text), TELEGRAM_TEXT_LIMIT).unwrap();
        assert_eq!(job.part_count(), 2);
        job.start_try(t0);
        assert!(job.part_sent().is_none());
        assert_eq!(job.next_part(), Some("b".repeat(2000).as_str()));
        job.start_try(t0 + s(1));
        assert!(
            job.part_failed(&SendError::Transient("timeout".into()), t0 + s(2), &policy)
                .is_none()
        );
        assert_eq!(job.not_before(), Some(t0 + s(3)));
        assert_eq!(job.next_part(), Some("b".repeat(2000).as_str()));
        job.start_try(t0 + s(3));
        let done = job.part_sent().unwrap();
        assert_eq!((done.outcome, done.attempt, done.parts), (DeliveryOutcome::Delivered, 3, 2));
    }

    #[test]
    fn retry_after_sets_the_next_try() {
        let t0 = Instant::now();
        let mut job = Job::new(&notification("hi"), TELEGRAM_TEXT_LIMIT).unwrap();
        job.start_try(t0);
        assert!(job.part_failed(&SendError::RetryAfter(s(5)), t0, &RetryPolicy::default()).is_none());
        assert_eq!(job.not_before(), Some(t0 + s(5)));
    }

    #[test]
    fn a_permanent_error_fails_with_telegrams_reason() {
        let t0 = Instant::now();
        let mut job = Job::new(&notification("hi"), TELEGRAM_TEXT_LIMIT).unwrap();
        job.start_try(t0);
        let error = SendError::Permanent("Forbidden: bot was blocked by the user".into());
        let done = job.part_failed(&error, t0, &RetryPolicy::default()).unwrap();
        assert_eq!(done.outcome, DeliveryOutcome::Failed);
        assert_eq!(done.reason.as_deref(), Some("Forbidden: bot was blocked by the user"));
        assert_eq!((done.attempt, done.parts), (1, 0));
    }

    #[test]
    fn transient_errors_give_up_at_the_deadline() {
        let t0 = Instant::now();
        let policy = RetryPolicy {
            initial_backoff: s(1),
            max_backoff: s(4),
            give_up_after: s(10),
        };
        let mut job = Job::new(&notification("hi"), TELEGRAM_TEXT_LIMIT).unwrap();
        let mut now = t0;
        let error = SendError::Transient("502 bad gateway".into());
        let done = loop {
            job.start_try(now);
            if let Some(done) = job.part_failed(&error, now, &policy) {
                break done;
            }
            now = job.not_before().unwrap();
        };
        // Tries at 0, 1, 3, 7 s; the next wait (4 s) would pass the 10 s deadline.
        assert_eq!(now, t0 + s(7));
        assert_eq!(done.attempt, 4);
        assert!(done.reason.unwrap().contains("502 bad gateway"));
    }

    #[test]
    fn a_migrated_group_gets_the_part_at_its_new_id() {
        let t0 = Instant::now();
        let mut job = Job::new(&notification("hi"), TELEGRAM_TEXT_LIMIT).unwrap();
        job.start_try(t0);
        assert!(
            job.part_failed(&SendError::Migrated(-100_555), t0, &RetryPolicy::default())
                .is_none()
        );
        assert_eq!(job.target(), -100_555);
        assert_eq!(job.not_before(), None);
        job.start_try(t0);
        let done = job.part_sent().unwrap();
        assert_eq!(done.outcome, DeliveryOutcome::Delivered);
        assert_eq!(done.reason.as_deref(), Some("chat 42 migrated to -100555"));
        // Telegram sending it back to the same chat is not followed in circles.
        let mut job = Job::new(&notification("hi"), TELEGRAM_TEXT_LIMIT).unwrap();
        job.start_try(t0);
        let done = job.part_failed(&SendError::Migrated(42), t0, &RetryPolicy::default()).unwrap();
        assert_eq!(done.outcome, DeliveryOutcome::Failed);
    }

    #[test]
    fn other_channels_and_blank_texts_fail_without_a_try() {
        let mut email = notification("hi");
        email.channel = "email".into();
        let done = Job::new(&email, TELEGRAM_TEXT_LIMIT).unwrap_err();
        assert_eq!((done.outcome, done.attempt), (DeliveryOutcome::Failed, 0));
        assert!(done.reason.unwrap().contains("email"));
        let done = Job::new(&notification("  \n "), TELEGRAM_TEXT_LIMIT).unwrap_err();
        assert_eq!(done.reason.as_deref(), Some("the text is empty"));
    }

    #[test]
    fn a_failure_after_some_parts_says_which_part() {
        let t0 = Instant::now();
        let text = format!("{}\n{}", "a".repeat(3000), "b".repeat(2000));
        let mut job = Job::new(&notification(&text), TELEGRAM_TEXT_LIMIT).unwrap();
        job.start_try(t0);
        job.part_sent();
        job.start_try(t0);
        let error = SendError::Permanent("Bad Request: message text is empty".into());
        let done = job.part_failed(&error, t0, &RetryPolicy::default()).unwrap();
        assert_eq!(done.reason.as_deref(), Some("part 2 of 2: Bad Request: message text is empty"));
        assert_eq!(done.parts, 1);
    }
}
