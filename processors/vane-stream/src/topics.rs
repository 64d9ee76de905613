//! The names of vane's topics (design: "Topics and events") and their default layout.

use std::time::Duration;

use crate::TopicSpec;

pub const METRICS_INGEST: &str = "vane.metrics.ingest";
pub const METRICS_SAMPLES: &str = "vane.metrics.samples";
pub const METRICS_AGGREGATES: &str = "vane.metrics.aggregates";
pub const METRICS_ANALYTICS: &str = "vane.metrics.analytics";
pub const SLA_DEFINITIONS: &str = "vane.sla.definitions";
pub const SLA_EVENTS: &str = "vane.sla.events";
/// The SLA worker's changelog (latest state of every series under every SLA), keyed by series id.
pub const SLA_STATE: &str = "vane.sla.state";
pub const NOTIFICATIONS: &str = "vane.notifications";
/// The notifier's outcome for each notification (delivered or failed), keyed by recipient; read
/// back at start so that no dedup key is sent twice.
pub const NOTIFICATION_DELIVERIES: &str = "vane.notifications.deliveries";
/// Users registered, chat linked, settings changed, deleted (compacted), keyed by user id.
pub const USERS: &str = "vane.users";
/// Weather subscriptions created, updated, deleted (compacted), keyed by subscription id.
pub const WEATHER_SUBSCRIPTIONS: &str = "vane.weather.subscriptions";
/// Raw weather observations from outside producers, JSON or Avro, any key.
pub const WEATHER_INGEST: &str = "vane.weather.ingest";
/// Validated weather observations, keyed by city id.
pub const WEATHER_OBSERVATIONS: &str = "vane.weather.observations";
/// The weather matcher's changelog (the state of every subscription), keyed by subscription id.
pub const WEATHER_STATE: &str = "vane.weather.state";
pub const DLQ: &str = "vane.dlq";

/// Header carrying the W3C trace context across topics.
pub const TRACEPARENT: &str = "traceparent";

const DAY: Duration = Duration::from_secs(86_400);

/// Topic layout: partitions and retention, from config.
#[derive(Debug, Clone)]
pub struct TopicLayout {
    pub partitions: u32,
    pub raw_retention: Duration,
    pub derived_retention: Duration,
}

impl Default for TopicLayout {
    fn default() -> Self {
        TopicLayout {
            partitions: 4,
            raw_retention: 2 * DAY,
            derived_retention: 30 * DAY,
        }
    }
}

impl TopicLayout {
    /// Every topic the roles built so far read or write.
    pub fn specs(&self) -> Vec<TopicSpec> {
        vec![
            TopicSpec::new(METRICS_INGEST, self.partitions).retention(self.raw_retention),
            TopicSpec::new(METRICS_SAMPLES, self.partitions).retention(self.raw_retention),
            TopicSpec::new(METRICS_AGGREGATES, self.partitions).retention(self.derived_retention),
            // Analyses are large and re-derivable from the samples for as long as those are kept.
            TopicSpec::new(METRICS_ANALYTICS, self.partitions).retention(self.raw_retention),
            TopicSpec::new(SLA_DEFINITIONS, self.partitions).compacted(),
            TopicSpec::new(SLA_EVENTS, self.partitions).retention(self.derived_retention),
            TopicSpec::new(SLA_STATE, self.partitions).compacted(),
            TopicSpec::new(NOTIFICATIONS, self.partitions).retention(self.derived_retention),
            // Kept as long as the notifications: a notification still on its topic can be re-read,
            // and its delivery must still be there to recognise it.
            TopicSpec::new(NOTIFICATION_DELIVERIES, self.partitions).retention(self.derived_retention),
            TopicSpec::new(USERS, self.partitions).compacted(),
            TopicSpec::new(WEATHER_SUBSCRIPTIONS, self.partitions).compacted(),
            TopicSpec::new(WEATHER_INGEST, self.partitions).retention(self.raw_retention),
            TopicSpec::new(WEATHER_OBSERVATIONS, self.partitions).retention(self.derived_retention),
            TopicSpec::new(WEATHER_STATE, self.partitions).compacted(),
            TopicSpec::new(DLQ, self.partitions).retention(self.derived_retention),
        ]
    }
}
