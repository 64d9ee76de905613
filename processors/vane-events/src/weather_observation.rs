//! `vane.weather.WeatherObservation` (schemas/weather_observation.avsc): one weather
//! observation of one city on `vane.weather.observations`, keyed by the city id. The fields are
//! plain wire data; `vane-weather` turns them into its checked `Observation` and back. Pure.

use crate::binary::{self, Reader};
use crate::sample::Envelope;
use crate::{Event, EventsError};

/// An observation on `vane.weather.observations`.
#[derive(Debug, Clone, PartialEq)]
pub struct WeatherObservationEvent {
    pub envelope: Envelope,
    /// `name:<country>:<name>` or `geo:<lat>:<lon>`; the record key.
    pub city_id: String,
    pub city: String,
    pub country: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub observed_at_ms: i64,
    pub temperature_c: f64,
    pub feels_like_c: Option<f64>,
    pub humidity_pct: Option<f64>,
    pub wind_ms: Option<f64>,
    pub rain_mm_1h: Option<f64>,
    pub snow_mm_1h: Option<f64>,
    pub conditions: Vec<String>,
}

fn put_optional_double(out: &mut Vec<u8>, value: Option<f64>) {
    binary::put_optional(out, value.as_ref(), |out, v| binary::put_double(out, *v));
}

impl Event for WeatherObservationEvent {
    const SCHEMA: &'static str = include_str!("../../../schemas/weather_observation.avsc");

    fn write_body(&self, out: &mut Vec<u8>) {
        use binary::put_string;
        self.envelope.write(out);
        put_string(out, &self.city_id);
        put_string(out, &self.city);
        binary::put_optional(out, self.country.as_ref(), |out, c| put_string(out, c));
        put_optional_double(out, self.lat);
        put_optional_double(out, self.lon);
        binary::put_long(out, self.observed_at_ms);
        binary::put_double(out, self.temperature_c);
        put_optional_double(out, self.feels_like_c);
        put_optional_double(out, self.humidity_pct);
        put_optional_double(out, self.wind_ms);
        put_optional_double(out, self.rain_mm_1h);
        put_optional_double(out, self.snow_mm_1h);
        binary::put_array(out, &self.conditions, |out, c| put_string(out, c));
    }

    fn read_body(reader: &mut Reader<'_>) -> Result<Self, EventsError> {
        Ok(WeatherObservationEvent {
            envelope: Envelope::read(reader)?,
            city_id: reader.string()?,
            city: reader.string()?,
            country: reader.optional("country", Reader::string)?,
            lat: reader.optional("lat", Reader::double)?,
            lon: reader.optional("lon", Reader::double)?,
            observed_at_ms: reader.long()?,
            temperature_c: reader.double()?,
            feels_like_c: reader.optional("feels_like_c", Reader::double)?,
            humidity_pct: reader.optional("humidity_pct", Reader::double)?,
            wind_ms: reader.optional("wind_ms", Reader::double)?,
            rain_mm_1h: reader.optional("rain_mm_1h", Reader::double)?,
            snow_mm_1h: reader.optional("snow_mm_1h", Reader::double)?,
            conditions: reader.array(Reader::string)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use apache_avro::types::Value;

    use super::*;
    use crate::Codec;
    use crate::testing::{avro_read, avro_record, envelope_value, union};

    fn event() -> WeatherObservationEvent {
        WeatherObservationEvent {
            envelope: Envelope::new(1_700_000_000_000, 1_700_000_000_450, "weather_poller"),
            city_id: "name:it:catania".into(),
            city: "Catania".into(),
            country: Some("IT".into()),
            lat: Some(37.5022),
            lon: Some(15.0873),
            observed_at_ms: 1_700_000_000_000,
            temperature_c: 14.2,
            feels_like_c: Some(13.61),
            humidity_pct: Some(82.0),
            wind_ms: Some(4.12),
            rain_mm_1h: Some(2.5),
            snow_mm_1h: None,
            conditions: vec!["rain".into(), "mist".into()],
        }
    }

    /// The other branch of every union, and an empty array.
    fn sparse() -> WeatherObservationEvent {
        WeatherObservationEvent {
            envelope: Envelope::new(0, 1, "ingest"),
            city_id: "geo:47.61:-122.33".into(),
            city: "47.61, -122.33".into(),
            country: None,
            lat: None,
            lon: None,
            observed_at_ms: 1_325_419_200_000,
            temperature_c: -2.1,
            feels_like_c: None,
            humidity_pct: None,
            wind_ms: None,
            rain_mm_1h: None,
            snow_mm_1h: Some(0.3),
            conditions: Vec::new(),
        }
    }

    /// The event as apache-avro's value, built from the schema's field list, not the codec.
    fn value(e: &WeatherObservationEvent) -> Value {
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

    #[test]
    fn round_trips_and_agrees_with_apache_avro_both_ways() {
        let codec = Codec::<WeatherObservationEvent>::new().unwrap();
        for original in [event(), sparse()] {
            let bytes = codec.encode(&original);
            assert_eq!(codec.decode(&bytes).unwrap(), original);
            assert_eq!(avro_read(&codec, &bytes), value(&original));
            assert_eq!(codec.decode(&avro_record(&codec, value(&original))).unwrap(), original);
        }
    }

    #[test]
    fn malformed_records_are_errors() {
        let codec = Codec::<WeatherObservationEvent>::new().unwrap();
        let bytes = codec.encode(&event());
        for cut in 0..bytes.len() {
            assert!(codec.decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(matches!(codec.decode(&extra), Err(EventsError::TrailingBytes(1))));
        // A union branch the schema does not have: snow_mm_1h's, just before the conditions.
        let mut original = event();
        original.conditions.clear();
        let mut bytes = codec.encode(&original);
        let branch = bytes.len() - 2;
        assert_eq!(bytes[branch], 0, "snow is absent");
        bytes[branch] = 4;
        assert!(matches!(
            codec.decode(&bytes),
            Err(EventsError::InvalidField { field: "snow_mm_1h", .. })
        ));
    }
}
