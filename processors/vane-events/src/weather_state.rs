//! `vane.weather.WeatherSubscriptionState` (schemas/weather_state.avsc): the weather matcher's
//! state of one subscription, on the compacted changelog `vane.weather.state` keyed by
//! subscription id. The matcher writes it in the same batch as the notifications it explains and
//! reads it back before it starts, so that a restart sends nothing twice; nothing else reads it.
//! A deleted subscription gets a record without `latest` and `watches`. Pure.

use crate::binary::{self, Reader};
use crate::sample::Envelope;
use crate::{Event, EventsError, WeatherObservationEvent};

/// One subscription's matcher state.
#[derive(Debug, Clone, PartialEq)]
pub struct WeatherStateEvent {
    pub envelope: Envelope,
    /// The record key.
    pub subscription_id: String,
    /// The latest observation applied.
    pub latest: Option<WeatherObservationEvent>,
    /// When the subscription's latest alert was sent (the cooldown's start).
    pub last_alert_at_ms: Option<i64>,
    pub watches: Vec<ConstraintWatch>,
}

/// One (subscription, constraint)'s state.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstraintWatch {
    /// The constraint's key (`rain`, `temp_below:0`, ...).
    pub constraint: String,
    pub holds: bool,
    pub since_ms: i64,
    pub told: bool,
}

impl Event for WeatherStateEvent {
    const SCHEMA: &'static str = include_str!("../../../schemas/weather_state.avsc");

    fn write_body(&self, out: &mut Vec<u8>) {
        self.envelope.write(out);
        binary::put_string(out, &self.subscription_id);
        binary::put_optional(out, self.latest.as_ref(), |out, obs| obs.write_body(out));
        binary::put_optional(out, self.last_alert_at_ms.as_ref(), |out, v| binary::put_long(out, *v));
        binary::put_array(out, &self.watches, |out, w| {
            binary::put_string(out, &w.constraint);
            binary::put_bool(out, w.holds);
            binary::put_long(out, w.since_ms);
            binary::put_bool(out, w.told);
        });
    }

    fn read_body(reader: &mut Reader<'_>) -> Result<Self, EventsError> {
        Ok(WeatherStateEvent {
            envelope: Envelope::read(reader)?,
            subscription_id: reader.string()?,
            latest: reader.optional("latest", WeatherObservationEvent::read_body)?,
            last_alert_at_ms: reader.optional("last_alert_at", Reader::long)?,
            watches: reader.array(|r| {
                Ok(ConstraintWatch {
                    constraint: r.string()?,
                    holds: r.bool()?,
                    since_ms: r.long()?,
                    told: r.bool()?,
                })
            })?,
        })
    }
}

#[cfg(test)]
mod tests {
    use apache_avro::types::Value;

    use super::*;
    use crate::Codec;
    use crate::testing::{avro_read, avro_record, envelope_value, union};

    fn observation() -> WeatherObservationEvent {
        WeatherObservationEvent {
            envelope: Envelope::new(1_700_000_000_000, 1_700_000_000_450, "weather_poller"),
            city_id: "name:it:catania".into(),
            city: "Catania".into(),
            country: Some("IT".into()),
            lat: None,
            lon: Some(15.0873),
            observed_at_ms: 1_700_000_000_000,
            temperature_c: 14.2,
            feels_like_c: None,
            humidity_pct: Some(82.0),
            wind_ms: None,
            rain_mm_1h: Some(2.5),
            snow_mm_1h: None,
            conditions: vec!["rain".into()],
        }
    }

    fn event() -> WeatherStateEvent {
        WeatherStateEvent {
            envelope: Envelope::new(1_700_000_000_000, 1_700_000_000_500, "weather_matcher"),
            subscription_id: "3f1c".into(),
            latest: Some(observation()),
            last_alert_at_ms: Some(1_700_000_000_000),
            watches: vec![
                ConstraintWatch {
                    constraint: "rain".into(),
                    holds: true,
                    since_ms: 1_700_000_000_000,
                    told: true,
                },
                ConstraintWatch {
                    constraint: "temp_below:0".into(),
                    holds: false,
                    since_ms: 0,
                    told: false,
                },
            ],
        }
    }

    /// A deleted subscription's record.
    fn empty() -> WeatherStateEvent {
        WeatherStateEvent {
            envelope: Envelope::new(5, 6, "weather_matcher"),
            subscription_id: "gone".into(),
            latest: None,
            last_alert_at_ms: None,
            watches: Vec::new(),
        }
    }

    fn observation_value(e: &WeatherObservationEvent) -> Value {
        let double = |v: Option<f64>| union(v.map(Value::Double));
        Value::Record(vec![
            ("envelope".into(), envelope_value(&e.envelope)),
            ("city_id".into(), Value::String(e.city_id.clone())),
            ("city".into(), Value::String(e.city.clone())),
            ("country".into(), union(e.country.clone().map(Value::String))),
            ("lat".into(), double(e.lat)),
            ("lon".into(), double(e.lon)),
            ("observed_at".into(), Value::TimestampMillis(e.observed_at_ms)),
            ("temperature_c".into(), Value::Double(e.temperature_c)),
            ("feels_like_c".into(), double(e.feels_like_c)),
            ("humidity_pct".into(), double(e.humidity_pct)),
            ("wind_ms".into(), double(e.wind_ms)),
            ("rain_mm_1h".into(), double(e.rain_mm_1h)),
            ("snow_mm_1h".into(), double(e.snow_mm_1h)),
            (
                "conditions".into(),
                Value::Array(e.conditions.iter().cloned().map(Value::String).collect()),
            ),
        ])
    }

    /// The event as apache-avro's value, built from the schema's field list, not the codec.
    fn value(e: &WeatherStateEvent) -> Value {
        let watches = e.watches.iter().map(|w| {
            Value::Record(vec![
                ("constraint".into(), Value::String(w.constraint.clone())),
                ("holds".into(), Value::Boolean(w.holds)),
                ("since".into(), Value::TimestampMillis(w.since_ms)),
                ("told".into(), Value::Boolean(w.told)),
            ])
        });
        Value::Record(vec![
            ("envelope".into(), envelope_value(&e.envelope)),
            ("subscription_id".into(), Value::String(e.subscription_id.clone())),
            ("latest".into(), union(e.latest.as_ref().map(observation_value))),
            ("last_alert_at".into(), union(e.last_alert_at_ms.map(Value::TimestampMillis))),
            ("watches".into(), Value::Array(watches.collect())),
        ])
    }

    #[test]
    fn round_trips_and_agrees_with_apache_avro_both_ways() {
        let codec = Codec::<WeatherStateEvent>::new().unwrap();
        for original in [event(), empty()] {
            let bytes = codec.encode(&original);
            assert_eq!(codec.decode(&bytes).unwrap(), original);
            assert_eq!(avro_read(&codec, &bytes), value(&original));
            assert_eq!(codec.decode(&avro_record(&codec, value(&original))).unwrap(), original);
        }
    }

    #[test]
    fn the_observation_inside_is_the_observation_schema() {
        let state = Codec::<WeatherStateEvent>::new().unwrap();
        let canonical = state.schema().canonical_form();
        assert!(canonical.contains("\"name\":\"vane.weather.WeatherObservation\""), "{canonical}");
        assert_eq!(canonical.matches("\"name\":\"vane.Envelope\"").count(), 1, "{canonical}");
        assert!(canonical.contains("observed_at"));
    }

    #[test]
    fn malformed_records_are_errors() {
        let codec = Codec::<WeatherStateEvent>::new().unwrap();
        let bytes = codec.encode(&event());
        for cut in 0..bytes.len() {
            assert!(codec.decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = bytes;
        extra.push(0);
        assert!(matches!(codec.decode(&extra), Err(EventsError::TrailingBytes(1))));
    }
}
