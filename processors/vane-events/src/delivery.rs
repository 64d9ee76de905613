//! `vane.notifications.NotificationDelivery` (schemas/notification_delivery.avsc): what the
//! notifier did with one notification, on `vane.notifications.deliveries` keyed by recipient.
//! The notifier reads these back at start, so a dedup key that has an outcome is never sent
//! again. Pure.

use crate::binary::{self, Reader};
use crate::sample::Envelope;
use crate::{Event, EventsError};

/// How a notification ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryOutcome {
    /// Every part of the text reached Telegram.
    Delivered,
    /// Given up (a permanent error, or retries ran out); not retried.
    Failed,
}

impl DeliveryOutcome {
    /// The Avro enum symbols, in schema order.
    const SYMBOLS: [DeliveryOutcome; 2] = [DeliveryOutcome::Delivered, DeliveryOutcome::Failed];

    fn index(self) -> i64 {
        match self {
            DeliveryOutcome::Delivered => 0,
            DeliveryOutcome::Failed => 1,
        }
    }

    /// `delivered` or `failed`, for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Failed => "failed",
        }
    }
}

/// One notification's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationDeliveryEvent {
    pub envelope: Envelope,
    /// The notification's recipient, e.g. `telegram:<chat id>`; the record key.
    pub recipient: String,
    pub dedup_key: String,
    pub outcome: DeliveryOutcome,
    /// Failed: why. Delivered: a note (e.g. the chat migrated to a supergroup), usually `None`.
    pub reason: Option<String>,
    /// Requests made for this notification (Avro `int`; larger values are written as its max).
    pub attempt: u32,
    /// Messages that reached Telegram (Avro `int`, as `attempt`).
    pub parts: u32,
    pub at_ms: i64,
}

impl Event for NotificationDeliveryEvent {
    const SCHEMA: &'static str = include_str!("../../../schemas/notification_delivery.avsc");

    fn write_body(&self, out: &mut Vec<u8>) {
        use binary::put_string;
        self.envelope.write(out);
        put_string(out, &self.recipient);
        put_string(out, &self.dedup_key);
        binary::put_long(out, self.outcome.index());
        binary::put_optional(out, self.reason.as_ref(), |out, s| put_string(out, s));
        put_int(out, self.attempt);
        put_int(out, self.parts);
        binary::put_long(out, self.at_ms);
    }

    fn read_body(reader: &mut Reader<'_>) -> Result<Self, EventsError> {
        let envelope = Envelope::read(reader)?;
        let recipient = reader.string()?;
        let dedup_key = reader.string()?;
        let index = reader.long()?;
        let outcome = usize::try_from(index)
            .ok()
            .and_then(|i| DeliveryOutcome::SYMBOLS.get(i).copied())
            .ok_or_else(|| EventsError::InvalidField {
                field: "outcome",
                reason: format!("enum index {index}"),
            })?;
        Ok(NotificationDeliveryEvent {
            envelope,
            recipient,
            dedup_key,
            outcome,
            reason: reader.optional("reason", Reader::string)?,
            attempt: read_count(reader, "attempt")?,
            parts: read_count(reader, "parts")?,
            at_ms: reader.long()?,
        })
    }
}

/// An Avro `int` holding a count: clamped to `i32::MAX`.
fn put_int(out: &mut Vec<u8>, value: u32) {
    binary::put_long(out, i64::from(value.min(i32::MAX as u32)));
}

/// An Avro `int` holding a count: must be in `0..=i32::MAX`.
fn read_count(reader: &mut Reader<'_>, field: &'static str) -> Result<u32, EventsError> {
    let value = reader.long()?;
    match i32::try_from(value).ok().and_then(|v| u32::try_from(v).ok()) {
        Some(count) => Ok(count),
        None => Err(EventsError::InvalidField {
            field,
            reason: format!("{value} is not a count"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use apache_avro::types::Value;

    use super::*;
    use crate::Codec;
    use crate::testing::{avro_read, avro_record, envelope_value, union};

    fn event() -> NotificationDeliveryEvent {
        NotificationDeliveryEvent {
            envelope: Envelope::new(1_700_000_000_500, 1_700_000_000_500, "notifier"),
            recipient: "telegram:-100123".into(),
            dedup_key: "sla:0b9f6c1e:000000000000abc:violation_started:1700000000000".into(),
            outcome: DeliveryOutcome::Delivered,
            reason: None,
            attempt: 3,
            parts: 2,
            at_ms: 1_700_000_000_500,
        }
    }

    fn failed() -> NotificationDeliveryEvent {
        NotificationDeliveryEvent {
            outcome: DeliveryOutcome::Failed,
            reason: Some("Bad Request: chat not found".into()),
            attempt: 1,
            parts: 0,
            ..event()
        }
    }

    /// The event as apache-avro's value, built from the schema's field list, not the codec.
    fn value(event: &NotificationDeliveryEvent) -> Value {
        let string = |s: &String| Value::String(s.clone());
        let (index, symbol) = match event.outcome {
            DeliveryOutcome::Delivered => (0, "DELIVERED"),
            DeliveryOutcome::Failed => (1, "FAILED"),
        };
        Value::Record(vec![
            ("envelope".into(), envelope_value(&event.envelope)),
            ("recipient".into(), string(&event.recipient)),
            ("dedup_key".into(), string(&event.dedup_key)),
            ("outcome".into(), Value::Enum(index, symbol.into())),
            ("reason".into(), union(event.reason.as_ref().map(string))),
            ("attempt".into(), Value::Int(event.attempt as i32)),
            ("parts".into(), Value::Int(event.parts as i32)),
            ("at_ms".into(), Value::TimestampMillis(event.at_ms)),
        ])
    }

    #[test]
    fn round_trips_and_agrees_with_apache_avro_both_ways() {
        let codec = Codec::<NotificationDeliveryEvent>::new().unwrap();
        for original in [event(), failed()] {
            let bytes = codec.encode(&original);
            assert_eq!(codec.decode(&bytes).unwrap(), original);
            assert_eq!(avro_read(&codec, &bytes), value(&original));
            assert_eq!(codec.decode(&avro_record(&codec, value(&original))).unwrap(), original);
        }
    }

    #[test]
    fn counts_beyond_an_avro_int_are_clamped() {
        let codec = Codec::<NotificationDeliveryEvent>::new().unwrap();
        let mut huge = event();
        huge.attempt = u32::MAX;
        let decoded = codec.decode(&codec.encode(&huge)).unwrap();
        assert_eq!(decoded.attempt, i32::MAX as u32);
        let mut expected = huge.clone();
        expected.attempt = i32::MAX as u32;
        assert_eq!(avro_read(&codec, &codec.encode(&huge)), value(&expected));
    }

    #[test]
    fn malformed_records_are_errors() {
        let codec = Codec::<NotificationDeliveryEvent>::new().unwrap();
        let original = failed();
        let bytes = codec.encode(&original);
        for cut in 0..bytes.len() {
            assert!(codec.decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(matches!(codec.decode(&extra), Err(EventsError::TrailingBytes(1))));

        // The tail after the outcome: reason, attempt, parts, at_ms.
        let mut tail = Vec::new();
        binary::put_optional(&mut tail, original.reason.as_ref(), |out, s| binary::put_string(out, s));
        put_int(&mut tail, original.attempt);
        put_int(&mut tail, original.parts);
        binary::put_long(&mut tail, original.at_ms);
        let outcome_at = bytes.len() - tail.len() - 1;
        assert_eq!(bytes[outcome_at], 2, "zigzag of enum index 1");
        let mut bad_enum = bytes.clone();
        bad_enum[outcome_at] = 4;
        assert!(matches!(
            codec.decode(&bad_enum),
            Err(EventsError::InvalidField { field: "outcome", .. })
        ));

        // A negative attempt count, which apache-avro could write but no notifier does.
        let mut negative = value(&original);
        if let Value::Record(fields) = &mut negative {
            fields[5].1 = Value::Int(-1);
        }
        assert!(matches!(
            codec.decode(&avro_record(&codec, negative)),
            Err(EventsError::InvalidField { field: "attempt", .. })
        ));
    }
}
