//! vane's weather alerts, the pure core: what an observation, a subscription and a constraint
//! are, how outside input becomes them, and how observations become Telegram messages.
//!
//! - [`city`]: a city by name and country or by coordinates, and its stable [`CityId`];
//! - [`observation`], [`owm`], [`ingest`]: observations, from OpenWeatherMap's current-weather
//!   answer or from the JSON outside producers write to `vane.weather.ingest`;
//! - [`constraint`], [`subscription`]: what a user subscribes to, checked once;
//! - [`user`]: a user's chat, time zone, quiet hours and cooldown, as the matcher needs them;
//! - [`matcher`]: the state machine per (subscription, constraint), cooldown and quiet hours;
//! - [`message`]: texts and dedup keys of the `vane.notifications` records it produces;
//! - [`events`]: to and from the Avro events of `vane-events`.
//!
//! Nothing here reads the clock, the disk or the network (the IANA time zone database is
//! compiled in): the poller, the API, the bot and the worker that feeds the matcher do the I/O
//! and pass time in. See docs/weather.md for the semantics.

pub mod city;
pub mod constraint;
pub mod error;
pub mod events;
pub mod ingest;
pub mod matcher;
pub mod message;
pub mod observation;
pub mod owm;
pub mod subscription;
pub mod user;

pub use city::{City, CityId};
pub use constraint::Constraint;
pub use error::WeatherError;
pub use ingest::observation_from_json;
pub use matcher::{Applied, Matcher, SubscriptionState, WatchState};
pub use message::MessageKind;
pub use observation::Observation;
pub use owm::parse_current_weather;
pub use subscription::{Subscription, SubscriptionSpec};
pub use user::{QuietHours, UserSettings};
