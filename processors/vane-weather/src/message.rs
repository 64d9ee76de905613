//! The messages a subscriber gets: the text (city, values, units), and the notification that
//! carries it to `vane.notifications`, with a dedup key derived from what it reports, so that a
//! redelivered or re-derived message is recognised by the notifier. Pure.

use vane_events::{Envelope, NotificationEvent};

use crate::constraint::number;
use crate::{Constraint, Observation};

/// Whether a message says that a constraint started or stopped holding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Alert,
    Cleared,
}

impl MessageKind {
    /// The notification's `kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Alert => "weather_alert",
            MessageKind::Cleared => "weather_cleared",
        }
    }

    fn key_part(self) -> &'static str {
        match self {
            MessageKind::Alert => "alert",
            MessageKind::Cleared => "cleared",
        }
    }
}

/// What one message is about.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub subscription_id: &'a str,
    pub constraint: &'a Constraint,
    pub kind: MessageKind,
    /// The observation whose values the text shows (the latest one).
    pub observation: &'a Observation,
    /// When the constraint started (alert) or stopped (cleared) holding: the time of the
    /// observation that first showed it. The dedup key's time.
    pub since_ms: i64,
}

/// `weather:<subscription>:<constraint key>:<alert|cleared>:<since ms>`.
pub fn dedup_key(subscription_id: &str, constraint: &Constraint, kind: MessageKind, since_ms: i64) -> String {
    format!("weather:{subscription_id}:{}:{}:{since_ms}", constraint.key(), kind.key_part())
}

/// The text, e.g. `🌧 Rain in Catania, IT: 2.5 mm/h, 14.2 °C` and `✅ No more rain in Catania, IT`.
pub fn text(constraint: &Constraint, kind: MessageKind, obs: &Observation) -> String {
    let place = obs.label();
    let temp = number(obs.temperature_c);
    let wind = obs.wind_ms.map_or_else(|| "?".to_string(), number);
    match (constraint, kind) {
        (Constraint::Rain, MessageKind::Alert) => {
            format!("🌧 Rain in {place}: {} mm/h, {temp} °C", number(obs.rain_mm_1h.unwrap_or(0.0)))
        }
        (Constraint::Rain, MessageKind::Cleared) => format!("✅ No more rain in {place}"),
        (Constraint::Snow, MessageKind::Alert) => {
            format!("❄ Snow in {place}: {} mm/h, {temp} °C", number(obs.snow_mm_1h.unwrap_or(0.0)))
        }
        (Constraint::Snow, MessageKind::Cleared) => format!("✅ No more snow in {place}"),
        (Constraint::TempAbove(v), MessageKind::Alert) => {
            format!("🌡 {temp} °C in {place}, above {} °C{}", number(*v), feels_like(obs))
        }
        (Constraint::TempAbove(v), MessageKind::Cleared) => {
            format!("✅ {temp} °C in {place}, no longer above {} °C", number(*v))
        }
        (Constraint::TempBelow(v), MessageKind::Alert) => {
            format!("🥶 {temp} °C in {place}, below {} °C{}", number(*v), feels_like(obs))
        }
        (Constraint::TempBelow(v), MessageKind::Cleared) => {
            format!("✅ {temp} °C in {place}, no longer below {} °C", number(*v))
        }
        (Constraint::WindAbove(v), MessageKind::Alert) => {
            format!("💨 Wind in {place}: {wind} m/s, above {} m/s", number(*v))
        }
        (Constraint::WindAbove(v), MessageKind::Cleared) => {
            format!("✅ Wind in {place} down to {wind} m/s, no longer above {} m/s", number(*v))
        }
    }
}

fn feels_like(obs: &Observation) -> String {
    match obs.feels_like_c {
        Some(v) => format!(" (feels like {} °C)", number(v)),
        None => String::new(),
    }
}

/// The notification for Telegram chat `chat_id`, emitted at `at_ms`.
pub fn notification(message: &Message<'_>, chat_id: i64, at_ms: i64) -> NotificationEvent {
    NotificationEvent {
        envelope: Envelope::new(at_ms, at_ms, "weather"),
        recipient: format!("telegram:{chat_id}"),
        channel: "telegram".to_string(),
        chat_id,
        text: text(message.constraint, message.kind, message.observation),
        dedup_key: dedup_key(message.subscription_id, message.constraint, message.kind, message.since_ms),
        source: "weather".to_string(),
        subject_id: message.subscription_id.to_string(),
        kind: message.kind.as_str().to_string(),
        severity: None,
        at_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::tests::catania;

    #[test]
    fn texts_carry_the_city_the_values_and_the_units() {
        let obs = catania(0);
        let cases = [
            (Constraint::Rain, MessageKind::Alert, "🌧 Rain in Catania, IT: 2.5 mm/h, 14.2 °C"),
            (Constraint::Rain, MessageKind::Cleared, "✅ No more rain in Catania, IT"),
            (Constraint::Snow, MessageKind::Cleared, "✅ No more snow in Catania, IT"),
            (
                Constraint::TempAbove(10.0),
                MessageKind::Alert,
                "🌡 14.2 °C in Catania, IT, above 10 °C (feels like 13.6 °C)",
            ),
            (
                Constraint::TempBelow(15.5),
                MessageKind::Alert,
                "🥶 14.2 °C in Catania, IT, below 15.5 °C (feels like 13.6 °C)",
            ),
            (
                Constraint::TempBelow(0.0),
                MessageKind::Cleared,
                "✅ 14.2 °C in Catania, IT, no longer below 0 °C",
            ),
            (
                Constraint::WindAbove(3.0),
                MessageKind::Alert,
                "💨 Wind in Catania, IT: 4.1 m/s, above 3 m/s",
            ),
            (
                Constraint::WindAbove(8.0),
                MessageKind::Cleared,
                "✅ Wind in Catania, IT down to 4.1 m/s, no longer above 8 m/s",
            ),
        ];
        for (constraint, kind, expected) in cases {
            assert_eq!(text(&constraint, kind, &obs), expected);
        }
        let mut snowy = catania(0);
        snowy.snow_mm_1h = Some(0.75);
        snowy.temperature_c = -1.04;
        assert_eq!(
            text(&Constraint::Snow, MessageKind::Alert, &snowy),
            "❄ Snow in Catania, IT: 0.8 mm/h, -1 °C"
        );
    }

    #[test]
    fn notifications_are_addressed_and_keyed_by_what_they_report() {
        let obs = catania(1_700_000_000_000);
        let message = Message {
            subscription_id: "s1",
            constraint: &Constraint::TempBelow(-0.0),
            kind: MessageKind::Alert,
            observation: &obs,
            since_ms: 1_700_000_000_000,
        };
        let event = notification(&message, -100_123, 1_700_000_060_000);
        assert_eq!(event.recipient, "telegram:-100123");
        assert_eq!((event.chat_id, event.channel.as_str()), (-100_123, "telegram"));
        assert_eq!(event.dedup_key, "weather:s1:temp_below:0:alert:1700000000000");
        assert_eq!((event.source.as_str(), event.subject_id.as_str()), ("weather", "s1"));
        assert_eq!((event.kind.as_str(), event.severity.as_ref()), ("weather_alert", None));
        assert_eq!(event.at_ms, 1_700_000_060_000);
        let again = notification(&message, -100_123, 1_700_000_120_000);
        assert_eq!(again.dedup_key, event.dedup_key, "a re-derived message keeps its key");
        let cleared = Message {
            kind: MessageKind::Cleared,
            ..message
        };
        assert_ne!(notification(&cleared, -100_123, 0).dedup_key, event.dedup_key);
    }
}
