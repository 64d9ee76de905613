//! `vane.sla.SeriesSlaState` (schemas/sla_state.avsc): the SLA worker's state of one series under
//! every SLA that selects it, on the compacted changelog `vane.sla.state` keyed by series id. The
//! worker writes it after each batch and reads it back to rebuild its state after a restart or a
//! rebalance; nothing else reads it. Pure.

use vane_core::sla::SlaStatus;
use vane_core::{Labels, SeriesId};

use crate::binary::{self, Reader};
use crate::sample::Envelope;
use crate::sla::read_status;
use crate::{Event, EventsError};

/// One series' state under every SLA that selects it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSlaStateEvent {
    pub envelope: Envelope,
    pub series_id: SeriesId,
    /// The series' metric and labels (a restored series can be matched and reported before
    /// its next sample arrives).
    pub metric: String,
    pub labels: Labels,
    pub states: Vec<SlaSeriesState>,
}

/// One series under one SLA.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaSeriesState {
    pub sla_id: String,
    /// The definition's revision the state was judged under.
    pub revision: i64,
    pub status: SlaStatus,
    /// When the series entered `status`.
    pub since_ms: i64,
    /// When the series left the range, while it is out of range.
    pub pending_since_ms: Option<i64>,
    /// Time of the newest sample judged.
    pub last_at_ms: i64,
    pub last_value: Option<f64>,
    /// Wall-clock time the newest sample arrived (for no-data).
    pub last_seen_ms: i64,
    /// The newest forecast said a violation is likely.
    pub likely: bool,
}

impl Event for SeriesSlaStateEvent {
    const SCHEMA: &'static str = include_str!("../../../schemas/sla_state.avsc");

    fn write_body(&self, out: &mut Vec<u8>) {
        use binary::{put_long, put_optional};
        self.envelope.write(out);
        binary::put_string(out, &self.series_id.to_string());
        binary::put_string(out, &self.metric);
        binary::put_string_map(out, &self.labels);
        binary::put_array(out, &self.states, |out, s| {
            binary::put_string(out, &s.sla_id);
            put_long(out, s.revision);
            binary::put_string(out, s.status.as_str());
            put_long(out, s.since_ms);
            put_optional(out, s.pending_since_ms.as_ref(), |out, v| put_long(out, *v));
            put_long(out, s.last_at_ms);
            put_optional(out, s.last_value.as_ref(), |out, v| binary::put_double(out, *v));
            put_long(out, s.last_seen_ms);
            binary::put_bool(out, s.likely);
        });
    }

    fn read_body(reader: &mut Reader<'_>) -> Result<Self, EventsError> {
        let envelope = Envelope::read(reader)?;
        let series_id = reader.series_id()?;
        let metric = reader.string()?;
        let labels = reader.string_map()?;
        let states = reader.array(|r| {
            Ok(SlaSeriesState {
                sla_id: r.string()?,
                revision: r.long()?,
                status: read_status(r, "states.status")?,
                since_ms: r.long()?,
                pending_since_ms: r.optional("states.pending_since_ms", Reader::long)?,
                last_at_ms: r.long()?,
                last_value: r.optional("states.last_value", Reader::double)?,
                last_seen_ms: r.long()?,
                likely: r.bool()?,
            })
        })?;
        Ok(SeriesSlaStateEvent {
            envelope,
            series_id,
            metric,
            labels,
            states,
        })
    }
}

#[cfg(test)]
mod tests {
    use apache_avro::types::Value;

    use super::*;
    use crate::Codec;
    use crate::testing::{avro_read, avro_record, envelope_value, union};

    fn event() -> SeriesSlaStateEvent {
        let violated = SlaSeriesState {
            sla_id: "0b9f6c1e-3d2a-4c41-9a57-6a1f0f7f2b10".into(),
            revision: 2,
            status: SlaStatus::Violated,
            since_ms: 1_700_000_060_000,
            pending_since_ms: Some(1_700_000_000_000),
            last_at_ms: 1_700_000_090_000,
            last_value: Some(-1.5),
            last_seen_ms: 1_700_000_090_100,
            likely: true,
        };
        let no_data = SlaSeriesState {
            sla_id: "5a0d3c52-8f7e-4b0e-b1d8-0c6e2f1a9d33".into(),
            revision: 1,
            status: SlaStatus::NoData,
            since_ms: 1_700_000_500_000,
            pending_since_ms: None,
            last_at_ms: 1_700_000_090_000,
            last_value: None,
            last_seen_ms: 1_700_000_090_100,
            likely: false,
        };
        SeriesSlaStateEvent {
            envelope: Envelope::new(1_700_000_500_000, 1_700_000_500_001, "sla"),
            series_id: SeriesId(0xfeed),
            metric: "node_memory_MemFree_bytes".into(),
            labels: [("instance".to_string(), "a:9100".to_string())].into_iter().collect(),
            states: vec![violated, no_data],
        }
    }

    /// The event as apache-avro's value, built from the schema's field list, not the codec.
    fn value(event: &SeriesSlaStateEvent) -> Value {
        let states = event.states.iter().map(|s| {
            Value::Record(vec![
                ("sla_id".into(), Value::String(s.sla_id.clone())),
                ("revision".into(), Value::Long(s.revision)),
                ("status".into(), Value::String(s.status.as_str().into())),
                ("since_ms".into(), Value::TimestampMillis(s.since_ms)),
                ("pending_since_ms".into(), union(s.pending_since_ms.map(Value::TimestampMillis))),
                ("last_at_ms".into(), Value::TimestampMillis(s.last_at_ms)),
                ("last_value".into(), union(s.last_value.map(Value::Double))),
                ("last_seen_ms".into(), Value::TimestampMillis(s.last_seen_ms)),
                ("likely".into(), Value::Boolean(s.likely)),
            ])
        });
        Value::Record(vec![
            ("envelope".into(), envelope_value(&event.envelope)),
            ("series_id".into(), Value::String(event.series_id.to_string())),
            ("metric".into(), Value::String(event.metric.clone())),
            (
                "labels".into(),
                Value::Map(event.labels.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect()),
            ),
            ("states".into(), Value::Array(states.collect())),
        ])
    }

    #[test]
    fn round_trips_and_agrees_with_apache_avro_both_ways() {
        let codec = Codec::<SeriesSlaStateEvent>::new().unwrap();
        let mut empty = event();
        empty.states.clear();
        for original in [event(), empty] {
            let bytes = codec.encode(&original);
            assert_eq!(codec.decode(&bytes).unwrap(), original);
            assert_eq!(avro_read(&codec, &bytes), value(&original));
            assert_eq!(codec.decode(&avro_record(&codec, value(&original))).unwrap(), original);
        }
    }

    #[test]
    fn malformed_records_are_errors() {
        let codec = Codec::<SeriesSlaStateEvent>::new().unwrap();
        let bytes = codec.encode(&event());
        for cut in 0..bytes.len() {
            assert!(codec.decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let Value::Record(mut fields) = value(&event()) else { panic!() };
        let Value::Array(states) = &mut fields[4].1 else { panic!() };
        let Value::Record(second) = &mut states[1] else { panic!() };
        second[2].1 = Value::String("NO_DATA".into());
        let record = avro_record(&codec, Value::Record(fields));
        assert!(matches!(
            codec.decode(&record),
            Err(EventsError::InvalidField {
                field: "states.status",
                ..
            })
        ));
        let mut bytes = codec.encode(&event());
        let at = bytes.windows(16).position(|w| w == b"000000000000feed").unwrap();
        bytes[at] = b'x';
        assert!(matches!(
            codec.decode(&bytes),
            Err(EventsError::InvalidField { field: "series_id", .. })
        ));
    }
}
