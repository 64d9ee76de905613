//! vane's weather alerts, the runtime around the pure core of `vane-weather`:
//!
//! - [`ingest`]: the processor that validates what outside producers write to
//!   `vane.weather.ingest` (JSON or Avro) and re-keys it by city id onto
//!   `vane.weather.observations`; bad records go to the dead-letter topic;
//! - [`poller`]: asks OpenWeatherMap for the current weather of every subscribed city once per
//!   interval, however many subscribers, with exponential backoff per city on errors;
//! - [`worker`]: the matcher as a stream processor on `vane.weather.observations`, fed with the
//!   subscriptions (and the users' settings), writing notifications and its own changelog
//!   (`vane.weather.state`) in the same batch so that a restart sends nothing twice.
//!
//! I/O: the log (all of it) and HTTP to the weather provider (the poller). See docs/weather.md.

pub mod ingest;
pub mod poller;
pub mod schedule;
pub mod state;
pub mod worker;

use thiserror::Error;
use vane_events::EventsError;
use vane_stream::StreamError;

pub use ingest::WeatherIngestProcessor;
pub use poller::{ApiKey, PollerConfig, run_poller};
pub use worker::{MatcherConfig, TableChange, TableSender, WeatherMatcherProcessor, run_matcher, start_matcher};

/// Errors of the weather runtime that stop a role (everything per record goes to the DLQ or is
/// logged and retried instead).
#[derive(Debug, Error)]
pub enum WorkerError {
    #[error("log: {0}")]
    Stream(#[from] StreamError),
    #[error("events: {0}")]
    Events(#[from] EventsError),
    #[error("weather provider url {0:?} is not an http:// or https:// URL")]
    Url(String),
    #[error("http client: {0}")]
    Client(String),
}
