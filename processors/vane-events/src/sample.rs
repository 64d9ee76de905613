//! `vane.metrics.MetricSample` (schemas/metric_sample.avsc) and the shared envelope
//! (schemas/envelope.avsc).

use vane_core::{Sample, SeriesIdentity};

use crate::binary::{self, Reader};
use crate::{Event, EventsError};

/// The envelope every event carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub event_id: uuid::Uuid,
    pub occurred_at_ms: i64,
    pub recorded_at_ms: i64,
    pub source: String,
}

impl Envelope {
    /// A new envelope with a fresh random id.
    pub fn new(occurred_at_ms: i64, recorded_at_ms: i64, source: &str) -> Self {
        Envelope {
            event_id: uuid::Uuid::new_v4(),
            occurred_at_ms,
            recorded_at_ms,
            source: source.to_string(),
        }
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let mut id = uuid::Uuid::encode_buffer();
        binary::put_string(out, self.event_id.hyphenated().encode_lower(&mut id));
        binary::put_long(out, self.occurred_at_ms);
        binary::put_long(out, self.recorded_at_ms);
        binary::put_string(out, &self.source);
    }

    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<Self, EventsError> {
        let id = reader.string()?;
        let event_id = uuid::Uuid::parse_str(&id).map_err(|e| EventsError::InvalidField {
            field: "envelope.event_id",
            reason: e.to_string(),
        })?;
        Ok(Envelope {
            event_id,
            occurred_at_ms: reader.long()?,
            recorded_at_ms: reader.long()?,
            source: reader.string()?,
        })
    }
}

/// A sample on `vane.metrics.samples`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSampleEvent {
    pub envelope: Envelope,
    pub sample: Sample,
}

impl Event for MetricSampleEvent {
    const SCHEMA: &'static str = include_str!("../../../schemas/metric_sample.avsc");

    fn write_body(&self, out: &mut Vec<u8>) {
        self.envelope.write(out);
        binary::put_string(out, &self.sample.series_id.to_string());
        binary::put_string(out, &self.sample.series.name);
        binary::put_string_map(out, &self.sample.series.labels);
        binary::put_long(out, self.sample.timestamp_ms);
        binary::put_double(out, self.sample.value);
    }

    fn read_body(reader: &mut Reader<'_>) -> Result<Self, EventsError> {
        let envelope = Envelope::read(reader)?;
        let series_id = reader.series_id()?;
        let name = reader.string()?;
        let labels = reader.string_map()?;
        let timestamp_ms = reader.long()?;
        let value = reader.double()?;
        let sample = Sample {
            series: SeriesIdentity { name, labels },
            series_id,
            timestamp_ms,
            value,
        };
        Ok(MetricSampleEvent { envelope, sample })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use apache_avro::types::Value;

    use super::*;
    use crate::Codec;

    fn event() -> MetricSampleEvent {
        let labels = [("device".to_string(), "sda1".to_string()), ("job".to_string(), "node".to_string())];
        let series = SeriesIdentity::new("node_filesystem_free_bytes".into(), labels, &BTreeSet::new()).unwrap();
        MetricSampleEvent {
            envelope: Envelope::new(1_700_000_000_000, 1_700_000_000_050, "remote_write"),
            sample: Sample::new(series, 1_700_000_000_000, 12345.5).unwrap(),
        }
    }

    #[test]
    fn round_trips() {
        let codec = Codec::<MetricSampleEvent>::new().unwrap();
        let original = event();
        assert_eq!(codec.decode(&codec.encode(&original)).unwrap(), original);
    }

    #[test]
    fn hand_codec_agrees_with_apache_avro() {
        let codec = Codec::<MetricSampleEvent>::new().unwrap();
        let original = event();
        let bytes = codec.encode(&original);
        let mut body = &bytes[10..];
        let reader = apache_avro::reader::datum::GenericDatumReader::builder(codec.schema())
            .build()
            .unwrap();
        let value = reader.read_value(&mut body).unwrap();
        let Value::Record(fields) = value else { panic!("not a record") };
        let get = |name: &str| fields.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(get("name"), Value::String("node_filesystem_free_bytes".into()));
        assert_eq!(get("value"), Value::Double(12345.5));
        assert_eq!(get("timestamp"), Value::TimestampMillis(1_700_000_000_000));
        assert_eq!(get("series_id"), Value::String(original.sample.series_id.to_string()));
        // And the other way: apache-avro's encoding of that value decodes with the hand codec to
        // the same event (not byte-equal: apache-avro writes map entries in hash order).
        #[allow(deprecated)]
        let reencoded = apache_avro::to_avro_datum(codec.schema(), Value::Record(fields)).unwrap();
        let mut record = bytes[..10].to_vec();
        record.extend_from_slice(&reencoded);
        assert_eq!(codec.decode(&record).unwrap(), original);
    }

    #[test]
    fn older_writer_schema_is_resolved() {
        // A hypothetical v0 without labels: the current schema's default ({}) fills them in.
        let old_text = include_str!("../../../schemas/metric_sample.avsc").replace(
            r#"{"name": "labels", "type": {"type": "map", "values": "string"}, "default": {}, "doc": "Label pairs without the name and without empty values."},"#,
            "",
        );
        assert!(!old_text.contains("\"labels\""));
        let old = crate::schema::load(&old_text).unwrap();
        let mut current = Codec::<MetricSampleEvent>::new().unwrap();
        current.history_for_tests(old.clone());
        let original = event();
        let mut body = Vec::new();
        original.envelope.write(&mut body);
        binary::put_string(&mut body, &original.sample.series_id.to_string());
        binary::put_string(&mut body, &original.sample.series.name);
        binary::put_long(&mut body, original.sample.timestamp_ms);
        binary::put_double(&mut body, original.sample.value);
        let mut record = vec![0xc3, 0x01];
        record.extend_from_slice(&old.fingerprint.to_le_bytes());
        record.extend_from_slice(&body);
        let decoded = current.decode(&record).unwrap();
        assert!(decoded.sample.series.labels.is_empty());
        assert_eq!(decoded.sample.value, original.sample.value);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let codec = Codec::<MetricSampleEvent>::new().unwrap();
        let bytes = codec.encode(&event());
        for cut in 0..bytes.len() {
            assert!(codec.decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(matches!(codec.decode(b"{\"name\":1}"), Err(EventsError::NotSingleObject)));
        let mut unknown = bytes.clone();
        unknown[2] ^= 0xff;
        assert!(matches!(codec.decode(&unknown), Err(EventsError::UnknownFingerprint(_))));
    }
}
