//! vane's notifier: delivers the messages on `vane.notifications` (from the SLA worker and the
//! weather matcher) to Telegram, and records what became of each on
//! `vane.notifications.deliveries`.
//!
//! Guarantees: a dedup key is sent at most once across duplicates on the topic, restarts and
//! replicas (the set of handled keys is rebuilt from the deliveries topic), except when the
//! process dies between Telegram's answer and the log's acknowledgement of the delivery; every
//! notification taken ends in a `delivered` or `failed` delivery, written before its offset is
//! committed, so none is lost silently. Telegram's limits are kept (30 messages/s, 1/s per
//! chat, 20/min per group, `retry_after`), long texts are split, transient failures retried
//! with capped exponential backoff.
//!
//! The pure parts — [`split`], [`throttle`], [`retry`], [`dedup`], [`job`] — take time as an
//! argument; [`run`] is the I/O loop, talking to Telegram through a [`Sender`] (teloxide's
//! client in [`TelegramSender`]).

pub mod config;
pub mod dedup;
pub mod dispatch;
pub mod follow;
pub mod job;
pub mod retry;
pub mod run;
pub mod sender;
pub mod split;
pub mod throttle;

#[cfg(test)]
mod tests;

use thiserror::Error;
use vane_events::EventsError;
use vane_stream::StreamError;

pub use config::{BotToken, DEFAULT_API_URL, NotifierConfig};
pub use retry::{RetryPolicy, SendError};
pub use run::{run, run_with_sender};
pub use sender::{Sender, TelegramSender};
pub use throttle::RateLimits;

/// Why the notifier stopped. Transient trouble (Telegram down, a slow log) is retried inside
/// and never ends up here.
#[derive(Debug, Error)]
pub enum NotifierError {
    #[error("invalid notifier configuration: {0}")]
    Config(String),
    #[error("telegram at {0} refused the bot token (getMe answered Unauthorized); check the token")]
    Token(String),
    #[error("log: {0}")]
    Stream(#[from] StreamError),
    #[error("event schema: {0}")]
    Events(#[from] EventsError),
}
