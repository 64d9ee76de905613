//! The weather ingest processor: records on `vane.weather.ingest` (any key) are JSON objects
//! (docs/weather.md, "The ingest JSON") or Avro `WeatherObservation` events in single-object
//! encoding (told apart by the Avro marker bytes). Each is validated into an observation and
//! written to `vane.weather.observations` keyed by its city id, the Kafka Streams repartition
//! pattern; a record that is not a valid observation is rejected with the reason and the
//! runner sends it to the dead-letter topic. No I/O: the runner feeds it.

use vane_events::codec::looks_like_single_object;
use vane_events::{Codec, EventsError, WeatherObservationEvent};
use vane_stream::runner::{Processor, Rejected, RunnerConfig};
use vane_stream::{OutRecord, Record, topics};
use vane_weather::{Observation, observation_from_json};

/// The envelope `source` of re-keyed observations.
pub const SOURCE: &str = "weather_ingest";
/// The runner role name (metrics label) and the default consumer group.
pub const ROLE: &str = "weather-ingest";
pub const GROUP: &str = "vane-weather-ingest";

/// The runner settings of the ingest: `vane.weather.ingest` in `group` ([`GROUP`] by default).
pub fn runner_config(group: &str) -> RunnerConfig {
    RunnerConfig::new(ROLE, group, &[topics::WEATHER_INGEST])
}

pub struct WeatherIngestProcessor {
    observations: Codec<WeatherObservationEvent>,
}

impl WeatherIngestProcessor {
    pub fn new() -> Result<WeatherIngestProcessor, EventsError> {
        Ok(WeatherIngestProcessor {
            observations: Codec::new()?,
        })
    }

    /// The observation a raw record holds, or why it holds none.
    pub fn read(&self, value: &[u8]) -> Result<Observation, Rejected> {
        if looks_like_single_object(value) {
            let event = self
                .observations
                .decode(value)
                .map_err(|e| Rejected(format!("undecodable Avro weather observation: {e}")))?;
            return Observation::from_event(&event).map_err(|e| Rejected(e.to_string()));
        }
        observation_from_json(value).map_err(|e| Rejected(e.to_string()))
    }
}

impl Processor for WeatherIngestProcessor {
    fn process(&mut self, record: &Record, now_ms: i64, out: &mut Vec<OutRecord>) -> Result<(), Rejected> {
        if record.topic != topics::WEATHER_INGEST {
            return Err(Rejected(format!("the weather ingest does not read topic {}", record.topic)));
        }
        let observation = self.read(&record.value)?;
        let event = observation.to_event(now_ms, SOURCE);
        let mut out_record = OutRecord::new(
            topics::WEATHER_OBSERVATIONS,
            observation.city_id.as_str(),
            self.observations.encode(&event),
            observation.observed_at_ms,
        );
        if let Some(trace) = record.header(topics::TRACEPARENT) {
            out_record = out_record.with_header(topics::TRACEPARENT, trace);
        }
        out.push(out_record);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: &[u8]) -> Record {
        Record {
            topic: topics::WEATHER_INGEST.into(),
            partition: 0,
            offset: 7,
            timestamp_ms: 0,
            key: Some(b"anything".to_vec()),
            value: value.to_vec(),
            headers: vec![(topics::TRACEPARENT.into(), b"00-abc-def-01".to_vec())],
        }
    }

    #[test]
    fn json_and_avro_are_rekeyed_by_city() {
        let mut ingest = WeatherIngestProcessor::new().unwrap();
        let json = br#"{"city": "Catania", "country": "IT", "time": 1700000000, "temperature": 14.2, "rain": 2.5}"#;
        let mut out = Vec::new();
        ingest.process(&record(json), 5, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].topic, topics::WEATHER_OBSERVATIONS);
        assert_eq!(out[0].key, b"name:it:catania");
        assert_eq!(out[0].timestamp_ms, 1_700_000_000_000);
        assert_eq!(out[0].headers.len(), 1, "the trace context travels on");
        let codec = Codec::<WeatherObservationEvent>::new().unwrap();
        let event = codec.decode(&out[0].value).unwrap();
        assert_eq!(event.rain_mm_1h, Some(2.5));
        assert_eq!(event.envelope.source, SOURCE);
        // The same observation as Avro, with a zero rain the ingest normalises away.
        let mut avro = event.clone();
        avro.rain_mm_1h = Some(0.0);
        ingest.process(&record(&codec.encode(&avro)), 5, &mut out).unwrap();
        assert_eq!(out[1].key, b"name:it:catania");
        assert_eq!(codec.decode(&out[1].value).unwrap().rain_mm_1h, None);
    }

    #[test]
    fn bad_records_are_rejected_with_the_reason() {
        let mut ingest = WeatherIngestProcessor::new().unwrap();
        let mut out = Vec::new();
        let cases: [(&[u8], &str); 4] = [
            (b"not json", "malformed JSON"),
            (br#"{"city": "Catania", "country": "IT", "time": 1, "temprature": 3}"#, "temprature"),
            (br#"{"city": "Catania", "country": "IT", "time": 1, "temperature": 287}"#, "287"),
            (&[0xc3, 0x01, 1, 2, 3], "undecodable Avro"),
        ];
        for (value, reason) in cases {
            let Err(Rejected(why)) = ingest.process(&record(value), 5, &mut out) else {
                panic!("accepted {value:?}")
            };
            assert!(why.contains(reason), "{why}");
        }
        assert!(out.is_empty());
        // Avro that decodes but does not validate.
        let json = br#"{"city": "Catania", "country": "IT", "time": 1, "temperature": 3}"#;
        ingest.process(&record(json), 5, &mut out).unwrap();
        let codec = Codec::<WeatherObservationEvent>::new().unwrap();
        let mut event = codec.decode(&out.remove(0).value).unwrap();
        event.city_id = "Catania".into();
        let Err(Rejected(why)) = ingest.process(&record(&codec.encode(&event)), 5, &mut out) else {
            panic!("accepted a bad city id")
        };
        assert!(why.contains("invalid city id"), "{why}");
    }
}
