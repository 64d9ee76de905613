//! `vane.notifications.Notification` (schemas/notification.avsc): a message for one recipient on
//! `vane.notifications`, keyed by recipient. Producers (the SLA worker, the weather puller) write
//! the finished text; the notifier only delivers it, at most once per `dedup_key`. Pure.

use crate::binary::{self, Reader};
use crate::sample::Envelope;
use crate::{Event, EventsError};

#[derive(Debug, Clone, PartialEq)]
pub struct NotificationEvent {
    pub envelope: Envelope,
    /// Channel and address, e.g. `telegram:<chat id>`; the record key.
    pub recipient: String,
    /// e.g. `telegram`.
    pub channel: String,
    pub chat_id: i64,
    pub text: String,
    /// The notifier sends each key at most once.
    pub dedup_key: String,
    /// Who asked for it: `sla` or `weather`.
    pub source: String,
    /// The SLA id or the weather subscription id.
    pub subject_id: String,
    /// e.g. `violation_started`, `violation_ended`, `violation_likely`.
    pub kind: String,
    pub severity: Option<String>,
    pub at_ms: i64,
}

impl Event for NotificationEvent {
    const SCHEMA: &'static str = include_str!("../../../schemas/notification.avsc");

    fn write_body(&self, out: &mut Vec<u8>) {
        use binary::put_string;
        self.envelope.write(out);
        put_string(out, &self.recipient);
        put_string(out, &self.channel);
        binary::put_long(out, self.chat_id);
        put_string(out, &self.text);
        put_string(out, &self.dedup_key);
        put_string(out, &self.source);
        put_string(out, &self.subject_id);
        put_string(out, &self.kind);
        binary::put_optional(out, self.severity.as_ref(), |out, s| put_string(out, s));
        binary::put_long(out, self.at_ms);
    }

    fn read_body(reader: &mut Reader<'_>) -> Result<Self, EventsError> {
        Ok(NotificationEvent {
            envelope: Envelope::read(reader)?,
            recipient: reader.string()?,
            channel: reader.string()?,
            chat_id: reader.long()?,
            text: reader.string()?,
            dedup_key: reader.string()?,
            source: reader.string()?,
            subject_id: reader.string()?,
            kind: reader.string()?,
            severity: reader.optional("severity", Reader::string)?,
            at_ms: reader.long()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use apache_avro::types::Value;

    use super::*;
    use crate::Codec;
    use crate::testing::{avro_read, avro_record, envelope_value, union};

    fn event() -> NotificationEvent {
        NotificationEvent {
            envelope: Envelope::new(1_700_000_000_000, 1_700_000_000_010, "sla"),
            recipient: "telegram:-100123".into(),
            channel: "telegram".into(),
            chat_id: -100_123,
            text: "disk-free violated: node_filesystem_free_bytes{device=\"sda1\"} = 5e8 (min 1e9) ⚠".into(),
            dedup_key: "sla:0b9f6c1e:000000000000abc:violation_started:1700000000000".into(),
            source: "sla".into(),
            subject_id: "0b9f6c1e-3d2a-4c41-9a57-6a1f0f7f2b10".into(),
            kind: "violation_started".into(),
            severity: Some("critical".into()),
            at_ms: 1_700_000_000_000,
        }
    }

    /// The event as apache-avro's value, built from the schema's field list, not the codec.
    fn value(event: &NotificationEvent) -> Value {
        let string = |s: &String| Value::String(s.clone());
        Value::Record(vec![
            ("envelope".into(), envelope_value(&event.envelope)),
            ("recipient".into(), string(&event.recipient)),
            ("channel".into(), string(&event.channel)),
            ("chat_id".into(), Value::Long(event.chat_id)),
            ("text".into(), string(&event.text)),
            ("dedup_key".into(), string(&event.dedup_key)),
            ("source".into(), string(&event.source)),
            ("subject_id".into(), string(&event.subject_id)),
            ("kind".into(), string(&event.kind)),
            ("severity".into(), union(event.severity.as_ref().map(string))),
            ("at_ms".into(), Value::TimestampMillis(event.at_ms)),
        ])
    }

    #[test]
    fn round_trips_and_agrees_with_apache_avro_both_ways() {
        let codec = Codec::<NotificationEvent>::new().unwrap();
        let mut weather = event();
        weather.source = "weather".into();
        weather.kind = "forecast".into();
        weather.severity = None;
        for original in [event(), weather] {
            let bytes = codec.encode(&original);
            assert_eq!(codec.decode(&bytes).unwrap(), original);
            assert_eq!(avro_read(&codec, &bytes), value(&original));
            assert_eq!(codec.decode(&avro_record(&codec, value(&original))).unwrap(), original);
        }
    }

    #[test]
    fn malformed_records_are_errors() {
        let codec = Codec::<NotificationEvent>::new().unwrap();
        let mut original = event();
        let bytes = codec.encode(&original);
        for cut in 0..bytes.len() {
            assert!(codec.decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        // A union branch the schema does not have: the byte before at_ms.
        original.severity = None;
        let mut bytes = codec.encode(&original);
        let mut at = Vec::new();
        binary::put_long(&mut at, original.at_ms);
        let branch = bytes.len() - at.len() - 1;
        assert_eq!(bytes[branch], 0);
        bytes[branch] = 4;
        assert!(matches!(
            codec.decode(&bytes),
            Err(EventsError::InvalidField { field: "severity", .. })
        ));
        let mut extra = codec.encode(&event());
        extra.push(0);
        assert!(matches!(codec.decode(&extra), Err(EventsError::TrailingBytes(1))));
    }
}
