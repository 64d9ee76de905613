//! What a failed send means for the next try: Telegram's `retry_after` is waited out, transient
//! failures are retried with capped exponential backoff until a deadline, permanent ones are
//! final at once. Pure.

use std::time::Duration;

/// Why a message did not go through, sorted by what a retry can do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// 429 Too Many Requests: try again after this long.
    #[error("rate limited by telegram: retry after {}s", .0.as_secs())]
    RetryAfter(Duration),
    /// The group became a supergroup with this id: the same message goes there.
    #[error("the group moved to the supergroup {0}")]
    Migrated(i64),
    /// Telegram refused the bot's token (401, or 404 for the bot URL): a configuration problem
    /// that affects every chat, so it is retried rather than blamed on the chat.
    #[error("telegram refused the bot token (check the token and the api url)")]
    Unauthorized,
    /// Might work later: a network error, a timeout, a 5xx, an answer that is not the Bot
    /// API's JSON.
    #[error("{0}")]
    Transient(String),
    /// Will not work however often it is tried: a 400 (chat not found, empty text) or a 403
    /// (bot blocked or kicked). The text is Telegram's description.
    #[error("{0}")]
    Permanent(String),
}

/// How transient failures are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first transient failure; doubled after each further one.
    pub initial_backoff: Duration,
    /// The longest wait between two tries.
    pub max_backoff: Duration,
    /// A notification still failing this long after its first try is given up (a `failed`
    /// delivery with the last error).
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            give_up_after: Duration::from_secs(3600),
        }
    }
}

/// What to do after a failed try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Try again after this long.
    RetryIn(Duration),
    /// Send again at once to this chat.
    Redirect(i64),
    /// Final: give up with this reason.
    GiveUp(String),
}

impl RetryPolicy {
    /// The wait after the `failures`-th consecutive transient failure (1 for the first).
    pub fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.initial_backoff
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// The decision after `error`, given the transient failures so far (this one included) and
    /// the time since the notification's first try.
    pub fn next(&self, error: &SendError, failures: u32, elapsed: Duration) -> Next {
        let wait = match error {
            SendError::Permanent(reason) => return Next::GiveUp(reason.clone()),
            SendError::Migrated(chat_id) => return Next::Redirect(*chat_id),
            SendError::RetryAfter(wait) => *wait,
            SendError::Unauthorized | SendError::Transient(_) => self.backoff(failures),
        };
        if elapsed + wait > self.give_up_after {
            return Next::GiveUp(format!("gave up after {}s of retries: {error}", elapsed.as_secs()));
        }
        Next::RetryIn(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let waits: Vec<u64> = (1..=9).map(|n| policy.backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(policy.backoff(u32::MAX), s(60));
        assert_eq!(policy.backoff(0), s(1));
    }

    #[test]
    fn permanent_errors_are_final_at_once() {
        let policy = RetryPolicy::default();
        let error = SendError::Permanent("Bad Request: chat not found".into());
        assert_eq!(policy.next(&error, 1, s(0)), Next::GiveUp("Bad Request: chat not found".into()));
    }

    #[test]
    fn retry_after_is_waited_out_exactly() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.next(&SendError::RetryAfter(s(7)), 1, s(0)), Next::RetryIn(s(7)));
    }

    #[test]
    fn transient_errors_back_off_until_the_deadline() {
        let policy = RetryPolicy::default();
        let error = SendError::Transient("connection refused".into());
        assert_eq!(policy.next(&error, 3, s(10)), Next::RetryIn(s(4)));
        assert_eq!(policy.next(&SendError::Unauthorized, 1, s(0)), Next::RetryIn(s(1)));
        match policy.next(&error, 20, s(3590)) {
            Next::GiveUp(reason) => assert!(reason.contains("connection refused"), "{reason}"),
            other => panic!("expected to give up, got {other:?}"),
        }
        // A long retry_after past the deadline gives up too rather than waiting beyond it.
        assert!(matches!(policy.next(&SendError::RetryAfter(s(600)), 1, s(3500)), Next::GiveUp(_)));
    }

    #[test]
    fn a_migrated_group_is_sent_to_again_at_once() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.next(&SendError::Migrated(-100_987), 0, s(0)), Next::Redirect(-100_987));
    }
}
