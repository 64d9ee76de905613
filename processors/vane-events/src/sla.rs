//! The SLA manager's events: `vane.sla.SlaDefinitionChanged` (schemas/sla_definition.avsc), the
//! API's definitions on the compacted definitions topic, and `vane.sla.SlaEvent`
//! (schemas/sla_event.avsc), the worker's status changes, violating samples and forecasts. The
//! worker's changelog is in [`crate::sla_state`]. Statuses, severities and matcher operators
//! travel as strings; decoding one this version does not know is an invalid field. Pure.

use vane_core::matcher::{MatchOp, Matcher};
use vane_core::sla::{Severity, SlaDefinition, SlaStatus};
use vane_core::{Labels, SeriesId};

use crate::binary::{self, Reader};
use crate::sample::Envelope;
use crate::{Event, EventsError};

/// A created, changed or deleted SLA on `vane.sla.definitions`, keyed by the SLA id.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaDefinitionEvent {
    pub envelope: Envelope,
    pub definition: SlaDefinition,
    /// The SLA was deleted; `definition` is its last version, with a higher revision.
    pub deleted: bool,
}

/// What an [`SlaEvent`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaEventKind {
    /// The series' status changed (`previous` → `status`).
    Status,
    /// A sample of a violated series.
    Violation,
    /// The chance that the series leaves the range within `horizon_ms`.
    Forecast,
}

impl SlaEventKind {
    /// The Avro enum symbols, in schema order.
    const SYMBOLS: [SlaEventKind; 3] = [SlaEventKind::Status, SlaEventKind::Violation, SlaEventKind::Forecast];

    fn index(self) -> i64 {
        match self {
            SlaEventKind::Status => 0,
            SlaEventKind::Violation => 1,
            SlaEventKind::Forecast => 2,
        }
    }
}

/// One series under one SLA on `vane.sla.events`, keyed by the SLA id.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaEvent {
    pub envelope: Envelope,
    pub sla_id: String,
    pub sla_name: String,
    pub series_id: SeriesId,
    pub metric: String,
    pub labels: Labels,
    pub kind: SlaEventKind,
    /// The sample's time; wall-clock time for no-data changes and forecasts.
    pub at_ms: i64,
    /// The status after the event.
    pub status: SlaStatus,
    /// The status before a status change; `None` for a series seen for the first time.
    pub previous: Option<SlaStatus>,
    pub value: Option<f64>,
    pub probability: Option<f64>,
    pub horizon_ms: Option<i64>,
    pub likely: bool,
}

/// A status string, or an invalid `field`.
pub(crate) fn read_status(reader: &mut Reader<'_>, field: &'static str) -> Result<SlaStatus, EventsError> {
    let text = reader.string()?;
    SlaStatus::parse(&text).map_err(|_| EventsError::InvalidField {
        field,
        reason: format!("unknown status {text:?}"),
    })
}

fn read_op(reader: &mut Reader<'_>) -> Result<MatchOp, EventsError> {
    let text = reader.string()?;
    for op in [MatchOp::Equal, MatchOp::NotEqual, MatchOp::Regex, MatchOp::NotRegex] {
        if op.symbol() == text {
            return Ok(op);
        }
    }
    Err(EventsError::InvalidField {
        field: "definition.matchers.op",
        reason: format!("{text:?} is not one of =, !=, =~, !~"),
    })
}

fn read_definition(reader: &mut Reader<'_>) -> Result<SlaDefinition, EventsError> {
    let id = reader.string()?;
    let name = reader.string()?;
    let metric = reader.string()?;
    let matchers = reader.array(|r| {
        Ok(Matcher {
            name: r.string()?,
            op: read_op(r)?,
            value: r.string()?,
        })
    })?;
    let min = reader.optional("definition.min", Reader::double)?;
    let max = reader.optional("definition.max", Reader::double)?;
    let for_ms = reader.long()?;
    let recovery_margin = reader.optional("definition.recovery_margin", Reader::double)?;
    let severity_text = reader.string()?;
    let severity = Severity::parse(&severity_text).map_err(|_| EventsError::InvalidField {
        field: "definition.severity",
        reason: format!("unknown severity {severity_text:?}"),
    })?;
    Ok(SlaDefinition {
        id,
        name,
        metric,
        matchers,
        min,
        max,
        for_ms,
        recovery_margin,
        severity,
        budget_target: reader.double()?,
        budget_window_ms: reader.long()?,
        timeslice_ms: reader.long()?,
        chat_id: reader.optional("definition.chat_id", Reader::long)?,
        created_at_ms: reader.long()?,
        updated_at_ms: reader.long()?,
        revision: reader.long()?,
    })
}

impl Event for SlaDefinitionEvent {
    const SCHEMA: &'static str = include_str!("../../../schemas/sla_definition.avsc");

    fn write_body(&self, out: &mut Vec<u8>) {
        use binary::{put_double, put_long, put_optional, put_string};
        let d = &self.definition;
        self.envelope.write(out);
        binary::put_bool(out, self.deleted);
        put_string(out, &d.id);
        put_string(out, &d.name);
        put_string(out, &d.metric);
        binary::put_array(out, &d.matchers, |out, m| {
            put_string(out, &m.name);
            put_string(out, m.op.symbol());
            put_string(out, &m.value);
        });
        put_optional(out, d.min.as_ref(), |out, v| put_double(out, *v));
        put_optional(out, d.max.as_ref(), |out, v| put_double(out, *v));
        put_long(out, d.for_ms);
        put_optional(out, d.recovery_margin.as_ref(), |out, v| put_double(out, *v));
        put_string(out, d.severity.as_str());
        put_double(out, d.budget_target);
        put_long(out, d.budget_window_ms);
        put_long(out, d.timeslice_ms);
        put_optional(out, d.chat_id.as_ref(), |out, v| put_long(out, *v));
        put_long(out, d.created_at_ms);
        put_long(out, d.updated_at_ms);
        put_long(out, d.revision);
    }

    fn read_body(reader: &mut Reader<'_>) -> Result<Self, EventsError> {
        let envelope = Envelope::read(reader)?;
        let deleted = reader.bool()?;
        let definition = read_definition(reader)?;
        Ok(SlaDefinitionEvent {
            envelope,
            definition,
            deleted,
        })
    }
}

impl Event for SlaEvent {
    const SCHEMA: &'static str = include_str!("../../../schemas/sla_event.avsc");

    fn write_body(&self, out: &mut Vec<u8>) {
        use binary::{put_double, put_long, put_optional, put_string};
        self.envelope.write(out);
        put_string(out, &self.sla_id);
        put_string(out, &self.sla_name);
        put_string(out, &self.series_id.to_string());
        put_string(out, &self.metric);
        binary::put_string_map(out, &self.labels);
        put_long(out, self.kind.index());
        put_long(out, self.at_ms);
        put_string(out, self.status.as_str());
        put_optional(out, self.previous.as_ref(), |out, s| put_string(out, s.as_str()));
        put_optional(out, self.value.as_ref(), |out, v| put_double(out, *v));
        put_optional(out, self.probability.as_ref(), |out, v| put_double(out, *v));
        put_optional(out, self.horizon_ms.as_ref(), |out, v| put_long(out, *v));
        binary::put_bool(out, self.likely);
    }

    fn read_body(reader: &mut Reader<'_>) -> Result<Self, EventsError> {
        let envelope = Envelope::read(reader)?;
        let sla_id = reader.string()?;
        let sla_name = reader.string()?;
        let series_id = reader.series_id()?;
        let metric = reader.string()?;
        let labels = reader.string_map()?;
        let index = reader.long()?;
        let kind = usize::try_from(index)
            .ok()
            .and_then(|i| SlaEventKind::SYMBOLS.get(i).copied())
            .ok_or_else(|| EventsError::InvalidField {
                field: "kind",
                reason: format!("enum index {index}"),
            })?;
        Ok(SlaEvent {
            envelope,
            sla_id,
            sla_name,
            series_id,
            metric,
            labels,
            kind,
            at_ms: reader.long()?,
            status: read_status(reader, "status")?,
            previous: reader.optional("previous", |r| read_status(r, "previous"))?,
            value: reader.optional("value", Reader::double)?,
            probability: reader.optional("probability", Reader::double)?,
            horizon_ms: reader.optional("horizon_ms", Reader::long)?,
            likely: reader.bool()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use apache_avro::types::Value;

    use super::*;
    use crate::Codec;
    use crate::testing::{avro_read, avro_record, envelope_value, union};

    fn definition_event() -> SlaDefinitionEvent {
        let mut definition = SlaDefinition::new(
            "0b9f6c1e-3d2a-4c41-9a57-6a1f0f7f2b10",
            "disk-free",
            "node_filesystem_free_bytes",
            Some(1e9),
            None,
            1_700_000_000_000,
        );
        let ops = [MatchOp::Equal, MatchOp::NotEqual, MatchOp::Regex, MatchOp::NotRegex];
        for (i, op) in ops.into_iter().enumerate() {
            definition.matchers.push(Matcher {
                name: format!("label{i}"),
                op,
                value: "sd.*".into(),
            });
        }
        definition.for_ms = 60_000;
        definition.recovery_margin = Some(0.5);
        definition.severity = Severity::Critical;
        definition.chat_id = Some(-100_123);
        definition.updated_at_ms = 1_700_000_100_000;
        definition.revision = 3;
        SlaDefinitionEvent {
            envelope: Envelope::new(1_700_000_100_000, 1_700_000_100_001, "api"),
            definition,
            deleted: false,
        }
    }

    /// The event as apache-avro's value, built from the schema's field list, not the codec.
    fn definition_value(event: &SlaDefinitionEvent) -> Value {
        let d = &event.definition;
        let matchers = d.matchers.iter().map(|m| {
            Value::Record(vec![
                ("name".into(), Value::String(m.name.clone())),
                ("op".into(), Value::String(m.op.symbol().into())),
                ("value".into(), Value::String(m.value.clone())),
            ])
        });
        let definition = Value::Record(vec![
            ("id".into(), Value::String(d.id.clone())),
            ("name".into(), Value::String(d.name.clone())),
            ("metric".into(), Value::String(d.metric.clone())),
            ("matchers".into(), Value::Array(matchers.collect())),
            ("min".into(), union(d.min.map(Value::Double))),
            ("max".into(), union(d.max.map(Value::Double))),
            ("for_ms".into(), Value::Long(d.for_ms)),
            ("recovery_margin".into(), union(d.recovery_margin.map(Value::Double))),
            ("severity".into(), Value::String(d.severity.as_str().into())),
            ("budget_target".into(), Value::Double(d.budget_target)),
            ("budget_window_ms".into(), Value::Long(d.budget_window_ms)),
            ("timeslice_ms".into(), Value::Long(d.timeslice_ms)),
            ("chat_id".into(), union(d.chat_id.map(Value::Long))),
            ("created_at_ms".into(), Value::TimestampMillis(d.created_at_ms)),
            ("updated_at_ms".into(), Value::TimestampMillis(d.updated_at_ms)),
            ("revision".into(), Value::Long(d.revision)),
        ]);
        Value::Record(vec![
            ("envelope".into(), envelope_value(&event.envelope)),
            ("deleted".into(), Value::Boolean(event.deleted)),
            ("definition".into(), definition),
        ])
    }

    fn sla_event(kind: SlaEventKind) -> SlaEvent {
        SlaEvent {
            envelope: Envelope::new(60_000, 60_005, "sla"),
            sla_id: "0b9f6c1e-3d2a-4c41-9a57-6a1f0f7f2b10".into(),
            sla_name: "disk-free".into(),
            series_id: SeriesId(0xabc),
            metric: "node_filesystem_free_bytes".into(),
            labels: [("device".to_string(), "sda1".to_string())].into(),
            kind,
            at_ms: 1_700_000_000_000,
            status: SlaStatus::Violated,
            previous: Some(SlaStatus::Pending),
            value: Some(5e8),
            probability: None,
            horizon_ms: None,
            likely: false,
        }
    }

    fn sla_event_value(event: &SlaEvent) -> Value {
        let labels = event.labels.iter().map(|(k, v)| (k.clone(), Value::String(v.clone())));
        let symbol = ["STATUS", "VIOLATION", "FORECAST"][event.kind.index() as usize];
        Value::Record(vec![
            ("envelope".into(), envelope_value(&event.envelope)),
            ("sla_id".into(), Value::String(event.sla_id.clone())),
            ("sla_name".into(), Value::String(event.sla_name.clone())),
            ("series_id".into(), Value::String(event.series_id.to_string())),
            ("metric".into(), Value::String(event.metric.clone())),
            ("labels".into(), Value::Map(labels.collect())),
            ("kind".into(), Value::Enum(event.kind.index() as u32, symbol.into())),
            ("at_ms".into(), Value::TimestampMillis(event.at_ms)),
            ("status".into(), Value::String(event.status.as_str().into())),
            ("previous".into(), union(event.previous.map(|s| Value::String(s.as_str().into())))),
            ("value".into(), union(event.value.map(Value::Double))),
            ("probability".into(), union(event.probability.map(Value::Double))),
            ("horizon_ms".into(), union(event.horizon_ms.map(Value::Long))),
            ("likely".into(), Value::Boolean(event.likely)),
        ])
    }

    #[test]
    fn definitions_agree_with_apache_avro_both_ways() {
        let codec = Codec::<SlaDefinitionEvent>::new().unwrap();
        let original = definition_event();
        let bytes = codec.encode(&original);
        assert_eq!(codec.decode(&bytes).unwrap(), original);
        assert_eq!(avro_read(&codec, &bytes), definition_value(&original));
        // The other branches of every union, written by apache-avro, read by the hand codec.
        let mut other = definition_event();
        other.deleted = true;
        other.definition.matchers.clear();
        other.definition.min = None;
        other.definition.max = Some(-2.5);
        other.definition.recovery_margin = None;
        other.definition.chat_id = None;
        other.definition.severity = Severity::Info;
        let record = avro_record(&codec, definition_value(&other));
        assert_eq!(codec.decode(&record).unwrap(), other);
        assert_eq!(codec.decode(&codec.encode(&other)).unwrap(), other);
    }

    #[test]
    fn sla_events_agree_with_apache_avro_both_ways() {
        let codec = Codec::<SlaEvent>::new().unwrap();
        let mut forecast = sla_event(SlaEventKind::Forecast);
        forecast.status = SlaStatus::Ok;
        forecast.previous = None;
        forecast.value = None;
        forecast.probability = Some(0.8);
        forecast.horizon_ms = Some(3_600_000);
        forecast.likely = true;
        let mut no_data = sla_event(SlaEventKind::Status);
        no_data.status = SlaStatus::NoData;
        no_data.previous = Some(SlaStatus::Ok);
        no_data.value = None;
        for original in [sla_event(SlaEventKind::Violation), forecast, no_data] {
            let bytes = codec.encode(&original);
            assert_eq!(codec.decode(&bytes).unwrap(), original);
            let value = sla_event_value(&original);
            assert_eq!(avro_read(&codec, &bytes), value);
            assert_eq!(codec.decode(&avro_record(&codec, value)).unwrap(), original);
        }
    }

    #[test]
    fn unknown_strings_and_enum_indexes_are_invalid_fields() {
        let codec = Codec::<SlaDefinitionEvent>::new().unwrap();
        let invalid = |result: Result<SlaDefinitionEvent, EventsError>| match result {
            Err(EventsError::InvalidField { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        };
        let Value::Record(mut fields) = definition_value(&definition_event()) else {
            panic!()
        };
        let Value::Record(definition) = &mut fields[2].1 else { panic!() };
        let Value::Array(matchers) = &mut definition[3].1 else { panic!() };
        let Value::Record(matcher) = &mut matchers[1] else { panic!() };
        matcher[1].1 = Value::String("==".into());
        let record = avro_record(&codec, Value::Record(fields.clone()));
        assert_eq!(invalid(codec.decode(&record)), "definition.matchers.op");
        let Value::Record(definition) = &mut fields[2].1 else { panic!() };
        let Value::Array(matchers) = &mut definition[3].1 else { panic!() };
        matchers.clear();
        definition[8].1 = Value::String("fatal".into());
        assert_eq!(
            invalid(codec.decode(&avro_record(&codec, Value::Record(fields)))),
            "definition.severity"
        );

        let codec = Codec::<SlaEvent>::new().unwrap();
        let Value::Record(mut fields) = sla_event_value(&sla_event(SlaEventKind::Status)) else {
            panic!()
        };
        fields[8].1 = Value::String("broken".into());
        let record = avro_record(&codec, Value::Record(fields));
        assert!(matches!(
            codec.decode(&record),
            Err(EventsError::InvalidField { field: "status", .. })
        ));
        // An enum index apache-avro would not write: patch the kind byte after the labels.
        let event = sla_event(SlaEventKind::Forecast);
        let mut prefix = Vec::new();
        event.envelope.write(&mut prefix);
        for text in [&event.sla_id, &event.sla_name, &event.series_id.to_string(), &event.metric] {
            binary::put_string(&mut prefix, text);
        }
        binary::put_string_map(&mut prefix, &event.labels);
        let mut bytes = codec.encode(&event);
        assert_eq!(bytes[10 + prefix.len()], 4, "zig-zag of index 2");
        bytes[10 + prefix.len()] = 6;
        assert!(matches!(codec.decode(&bytes), Err(EventsError::InvalidField { field: "kind", .. })));
    }

    #[test]
    fn truncated_records_are_errors() {
        let definitions = Codec::<SlaDefinitionEvent>::new().unwrap();
        let bytes = definitions.encode(&definition_event());
        for cut in 0..bytes.len() {
            assert!(definitions.decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let events = Codec::<SlaEvent>::new().unwrap();
        let bytes = events.encode(&sla_event(SlaEventKind::Violation));
        for cut in 0..bytes.len() {
            assert!(events.decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}
