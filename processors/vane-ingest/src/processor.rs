//! The ingest role on `vane.metrics.ingest`: JSON or Avro in, normalised samples out.
//!
//! A record that starts with Avro's single-object marker is decoded as a
//! `vane.metrics.MetricSample` (its series id is recomputed, never trusted); anything else is
//! read as the JSON form `{"name", "labels", "timestamp", "value"}`. The original key is ignored:
//! the output is re-keyed by series id (Kafka Streams' repartition pattern).

use vane_core::{Sample, SeriesIdentity, sample};
use vane_events::codec::looks_like_single_object;
use vane_stream::runner::{Processor, Rejected};
use vane_stream::{OutRecord, Record, topics};

use crate::{IngestError, Normaliser};

pub struct IngestProcessor {
    normaliser: Normaliser,
}

impl IngestProcessor {
    pub fn new(normaliser: Normaliser) -> Self {
        IngestProcessor { normaliser }
    }

    fn parse(&self, value: &[u8]) -> Result<Sample, IngestError> {
        let dropped = &self.normaliser.config().drop_labels;
        if looks_like_single_object(value) {
            let event = self.normaliser.codec().decode(value)?;
            let raw = event.sample.series;
            let series = SeriesIdentity::new(raw.name, raw.labels, dropped)?;
            return Ok(Sample::new(series, event.sample.timestamp_ms, event.sample.value)?);
        }
        Ok(sample::sample_from_json(value, dropped)?)
    }
}

impl Processor for IngestProcessor {
    fn process(&mut self, record: &Record, now_ms: i64, out: &mut Vec<OutRecord>) -> Result<(), Rejected> {
        let sample = self.parse(&record.value)?;
        let traceparent = record.header(topics::TRACEPARENT);
        out.push(self.normaliser.to_record(sample, "ingest", traceparent, now_ms)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IngestConfig;

    /// 2027-01-15: after the samples' timestamps (2023), as a receiving clock would be.
    const NOW: i64 = 1_800_000_000_000;

    fn record(value: &[u8]) -> Record {
        Record {
            topic: topics::METRICS_INGEST.into(),
            partition: 0,
            offset: 3,
            timestamp_ms: 0,
            key: Some(b"any".to_vec()),
            value: value.to_vec(),
            headers: vec![],
        }
    }

    #[test]
    fn json_is_rekeyed_by_series_id() {
        let mut processor = IngestProcessor::new(Normaliser::new(IngestConfig::default()).unwrap());
        let mut out = Vec::new();
        let json = br#"{"name":"up","labels":{"job":"node"},"timestamp":"2023-11-14T22:13:20Z","value":1}"#;
        processor.process(&record(json), NOW, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].topic, topics::METRICS_SAMPLES);
        assert_eq!(out[0].key, b"400563a4c71a66ef".to_vec());
        let event = processor.normaliser.codec().decode(&out[0].value).unwrap();
        assert_eq!((event.sample.timestamp_ms, event.sample.value), (1_700_000_000_000, 1.0));
        assert_eq!(event.envelope.recorded_at_ms, NOW);
        assert!(out[0].headers.iter().any(|(n, _)| n == topics::TRACEPARENT));
    }

    #[test]
    fn avro_input_is_accepted_and_its_series_id_recomputed() {
        let mut processor = IngestProcessor::new(Normaliser::new(IngestConfig::default()).unwrap());
        let mut out = Vec::new();
        let json = br#"{"name":"up","labels":{"job":"node"},"timestamp":1700000000,"value":2}"#;
        processor.process(&record(json), NOW, &mut out).unwrap();
        let avro = out.pop().unwrap().value;
        processor.process(&record(&avro), NOW, &mut out).unwrap();
        assert_eq!(out[0].key, b"400563a4c71a66ef".to_vec());
    }

    #[test]
    fn samples_from_the_future_are_rejected() {
        let mut processor = IngestProcessor::new(Normaliser::new(IngestConfig::default()).unwrap());
        let mut out = Vec::new();
        let json = br#"{"name":"up","timestamp":1700000000,"value":1}"#;
        let Rejected(reason) = processor
            .process(&record(json), 1_700_000_000_000 - 3_600_000, &mut out)
            .unwrap_err();
        assert!(reason.contains("ahead of the receiving clock"), "{reason}");
    }

    #[test]
    fn garbage_is_rejected_with_a_reason() {
        let mut processor = IngestProcessor::new(Normaliser::new(IngestConfig::default()).unwrap());
        let mut out = Vec::new();
        let Rejected(reason) = processor.process(&record(b"\xc3\x01garbage"), 0, &mut out).unwrap_err();
        assert!(reason.contains("avro"), "{reason}");
        let Rejected(reason) = processor.process(&record(b"{\"name\": 5}"), 0, &mut out).unwrap_err();
        assert!(reason.contains("malformed JSON"), "{reason}");
        assert!(out.is_empty());
    }
}
