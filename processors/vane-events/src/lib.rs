//! vane's events: Rust types for the Avro schemas in `schemas/`, and their wire format.
//!
//! Every record on an internal topic is Avro single-object encoding: the two marker bytes
//! `C3 01`, the schema's 8-byte CRC-64-AVRO (Rabin) fingerprint, then the Avro binary body. A
//! reader looks the fingerprint up: the current schema is decoded by a hand-written codec (the
//! hot path, checked against `apache-avro` in the tests); an older schema version from
//! `schemas/history/` is resolved to the current one by `apache-avro`'s schema resolution, so
//! that `vane replay` reads what older versions wrote. Pure: no I/O.

pub mod aggregates;
pub mod analysis;
pub mod binary;
pub mod codec;
pub mod delivery;
pub mod error;
pub mod notification;
pub mod sample;
pub mod schema;
pub mod sla;
pub mod sla_state;
#[cfg(test)]
mod testing;
pub mod user;
pub mod weather_observation;
pub mod weather_state;
pub mod weather_subscription;

pub use aggregates::SeriesAggregatesEvent;
pub use analysis::SeriesAnalysisEvent;
pub use codec::{Codec, Event};
pub use delivery::{DeliveryOutcome, NotificationDeliveryEvent};
pub use error::EventsError;
pub use notification::NotificationEvent;
pub use sample::{Envelope, MetricSampleEvent};
pub use sla::{SlaDefinitionEvent, SlaEvent, SlaEventKind};
pub use sla_state::{SeriesSlaStateEvent, SlaSeriesState};
pub use user::{User, UserChange, UserEvent};
pub use weather_observation::WeatherObservationEvent;
pub use weather_state::{ConstraintWatch, WeatherStateEvent};
pub use weather_subscription::{SubscriptionChange, WeatherConstraint, WeatherSubscription, WeatherSubscriptionEvent};
