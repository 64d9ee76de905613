//! Test helpers shared by the event modules' tests: apache-avro's view of records, to check the
//! hand-written codecs against an independent implementation.

use apache_avro::types::Value;

use crate::{Codec, Envelope, Event};

/// The envelope as apache-avro's value.
pub fn envelope_value(e: &Envelope) -> Value {
    Value::Record(vec![
        ("event_id".into(), Value::Uuid(e.event_id)),
        ("occurred_at".into(), Value::TimestampMillis(e.occurred_at_ms)),
        ("recorded_at".into(), Value::TimestampMillis(e.recorded_at_ms)),
        ("source".into(), Value::String(e.source.clone())),
    ])
}

/// `["null", T]` as apache-avro's value.
pub fn union(value: Option<Value>) -> Value {
    match value {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(value) => Value::Union(1, Box::new(value)),
    }
}

/// apache-avro's reading of the body of a record the hand codec wrote.
pub fn avro_read<E: Event>(codec: &Codec<E>, bytes: &[u8]) -> Value {
    let reader = apache_avro::reader::datum::GenericDatumReader::builder(codec.schema())
        .build()
        .unwrap();
    let mut body = &bytes[10..];
    let value = reader.read_value(&mut body).unwrap();
    assert!(body.is_empty(), "apache-avro left {} bytes", body.len());
    value
}

/// A single-object record whose body apache-avro wrote from `value`.
pub fn avro_record<E: Event>(codec: &Codec<E>, value: Value) -> Vec<u8> {
    #[allow(deprecated)]
    let body = apache_avro::to_avro_datum(codec.schema(), value).unwrap();
    let mut record = vec![0xc3, 0x01];
    record.extend_from_slice(&codec.fingerprint().to_le_bytes());
    record.extend_from_slice(&body);
    record
}
