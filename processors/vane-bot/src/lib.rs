//! vane's Telegram bot: `/start CODE` links a chat to the account that made the code with
//! `vane user link-code`; `/subscribe`, `/list` and `/unsubscribe` manage that account's weather
//! subscriptions; `/help` lists them. The alerts themselves are the notifier's.
//!
//! The pure parts — [`command`] (what a message asks) and [`directory`] (which account a chat
//! belongs to, from `vane.users`) — have no I/O; [`handler`] runs a command through the users
//! API; [`run`] long-polls Telegram. One replica: Telegram lets one process poll a bot.

pub mod command;
pub mod directory;
pub mod handler;
pub mod run;

use thiserror::Error;
use vane_events::EventsError;
use vane_notifier::NotifierError;
use vane_stream::StreamError;

pub use directory::ChatDirectory;
pub use handler::Handler;
pub use run::{DEFAULT_POLL_TIMEOUT, run};

/// Why the bot stopped. Telegram being down is retried inside and never ends up here.
#[derive(Debug, Error)]
pub enum BotError {
    #[error("telegram at {0} refused the bot token (getMe or getUpdates answered Unauthorized); check the token")]
    Token(String),
    #[error("telegram client: {0}")]
    Telegram(#[from] NotifierError),
    #[error("log: {0}")]
    Stream(#[from] StreamError),
    #[error("event schema: {0}")]
    Events(#[from] EventsError),
}
