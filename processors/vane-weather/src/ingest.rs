//! The JSON that outside producers write to `vane.weather.ingest`, read into an
//! [`Observation`]. One JSON object per record, any key. Pure.
//!
//! ```json
//! {"city": "Seattle", "country": "US", "lat": 47.61, "lon": -122.33,
//!  "time": "2012-01-02T12:00:00Z", "temperature": 2.8, "feels_like": 0.5, "humidity": 90,
//!  "wind": 4.5, "rain": 10.9, "snow": 0, "conditions": ["rain"]}
//! ```
//!
//! | field | unit | |
//! |---|---|---|
//! | `city`, `country` | name, ISO 3166 alpha-2 | with both, the city id is `name:<country>:<name>` |
//! | `lat`, `lon` | degrees | without `city` and `country`, the id is `geo:<lat>:<lon>` (2 decimals) |
//! | `time` | Unix seconds or milliseconds (number or string), or RFC 3339 | required |
//! | `temperature` | °C | required |
//! | `feels_like` | °C | optional |
//! | `humidity` | % | optional |
//! | `wind` | m/s | optional; a wind constraint keeps its state while it is missing |
//! | `rain`, `snow` | mm over the last hour | optional; missing or 0 means none |
//! | `conditions` | words | optional, e.g. `["rain"]` |
//!
//! Unknown fields are refused (a `temp_f` or a misspelt `temprature` would otherwise pass
//! unnoticed), and every problem of a record is listed at once.

use serde::Deserialize;
use serde_json::Value;
use vane_core::time;

use crate::city::tidy_name;
use crate::{City, Observation, WeatherError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    city: Option<String>,
    country: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    time: Option<Value>,
    temperature: Option<f64>,
    feels_like: Option<f64>,
    humidity: Option<f64>,
    wind: Option<f64>,
    rain: Option<f64>,
    snow: Option<f64>,
    #[serde(default)]
    conditions: Vec<String>,
}

/// Reads one ingest record (the shape is in the module doc).
pub fn observation_from_json(bytes: &[u8]) -> Result<Observation, WeatherError> {
    let record: Record = serde_json::from_slice(bytes).map_err(WeatherError::MalformedJson)?;
    let mut problems = Vec::new();
    let city = match (&record.city, &record.country) {
        (Some(name), Some(country)) => City::from_parts(Some(name), Some(country), None, None),
        _ => match (record.lat, record.lon) {
            (Some(lat), Some(lon)) => City::from_parts(None, None, Some(lat), Some(lon)),
            _ => Err(vec!["a city is needed: city and country, or lat and lon".to_string()]),
        },
    };
    let city = match city {
        Ok(city) => Some(city),
        Err(mut city_problems) => {
            problems.append(&mut city_problems);
            None
        }
    };
    let observed_at_ms = match &record.time {
        None => {
            problems.push("missing field \"time\"".to_string());
            None
        }
        Some(value) => match time_ms(value) {
            Ok(ms) => Some(ms),
            Err(problem) => {
                problems.push(problem);
                None
            }
        },
    };
    if record.temperature.is_none() {
        problems.push("missing field \"temperature\"".to_string());
    }
    // Without a usable city, time or temperature the values are still checked, so that one
    // answer lists every problem; the stand-ins below never leave this function.
    let (city_id, name, country, lat, lon) = match &city {
        Some(City::Named { name, country }) => (
            city.as_ref().map(City::id),
            name.clone(),
            Some(country.clone()),
            record.lat,
            record.lon,
        ),
        Some(at @ City::At { .. }) => {
            let name = record.city.as_deref().map(tidy_name).filter(|n| !n.is_empty());
            let country = record.country.as_deref().map(|c| c.trim().to_ascii_uppercase());
            (Some(at.id()), name.unwrap_or_else(|| at.label()), country, record.lat, record.lon)
        }
        None => (None, "?".to_string(), None, None, None),
    };
    let observation = Observation {
        city_id: city_id.unwrap_or_else(|| City::At { lat: 0.0, lon: 0.0 }.id()),
        city: name,
        country,
        lat,
        lon,
        observed_at_ms: observed_at_ms.unwrap_or(0),
        temperature_c: record.temperature.unwrap_or(0.0),
        feels_like_c: record.feels_like,
        humidity_pct: record.humidity,
        wind_ms: record.wind,
        rain_mm_1h: record.rain,
        snow_mm_1h: record.snow,
        conditions: record.conditions,
    };
    match observation.validate() {
        Ok(observation) if problems.is_empty() => Ok(observation),
        Ok(_) => Err(WeatherError::InvalidObservation(problems)),
        Err(WeatherError::InvalidObservation(mut more)) => {
            problems.append(&mut more);
            Err(WeatherError::InvalidObservation(problems))
        }
        Err(other) => Err(other),
    }
}

fn time_ms(value: &Value) -> Result<i64, String> {
    let parsed = match value {
        Value::Number(n) => match n.as_f64() {
            Some(n) => time::millis_from_number(n),
            None => return Err(format!("time {n} is not a number")),
        },
        Value::String(text) => time::millis_from_text(text),
        other => return Err(format!("time {other} is neither a number nor a string")),
    };
    parsed.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(json: &str) -> Vec<String> {
        match observation_from_json(json.as_bytes()) {
            Err(WeatherError::InvalidObservation(problems)) => problems,
            other => panic!("{json}: {other:?}"),
        }
    }

    #[test]
    fn every_time_form_gives_the_same_observation() {
        for time in [
            "1325505600",
            "1325505600000",
            "\"2012-01-02T12:00:00Z\"",
            "\"2012-01-02T13:00:00+01:00\"",
            "\"1325505600\"",
        ] {
            let json = format!(r#"{{"city":" Seattle","country":"us","time":{time},"temperature":2.8,"wind":4.5,"rain":10.9}}"#);
            let obs = observation_from_json(json.as_bytes()).unwrap();
            assert_eq!(obs.observed_at_ms, 1_325_505_600_000, "{time}");
            assert_eq!(obs.city_id.as_str(), "name:us:seattle");
            assert_eq!(obs.label(), "Seattle, US");
            assert_eq!((obs.rain_mm_1h, obs.snow_mm_1h, obs.wind_ms), (Some(10.9), None, Some(4.5)));
        }
    }

    #[test]
    fn coordinates_alone_key_by_position_and_keep_a_name_if_given() {
        let obs = observation_from_json(br#"{"lat":47.6062,"lon":-122.3321,"time":0,"temperature":1,"conditions":["Fog"]}"#).unwrap();
        assert_eq!(obs.city_id.as_str(), "geo:47.61:-122.33");
        assert_eq!(obs.label(), "47.61, -122.33");
        assert_eq!(obs.conditions, vec!["fog"]);
        let named = observation_from_json(br#"{"city":"Seattle","lat":47.6062,"lon":-122.3321,"time":0,"temperature":1}"#).unwrap();
        assert_eq!(named.city_id.as_str(), "geo:47.61:-122.33");
        assert_eq!(named.label(), "Seattle");
        // Both ways: the name wins for the id, the coordinates are kept.
        let both = observation_from_json(br#"{"city":"Seattle","country":"US","lat":47.6,"lon":-122.3,"time":0,"temperature":1}"#).unwrap();
        assert_eq!(both.city_id.as_str(), "name:us:seattle");
        assert_eq!(both.lat, Some(47.6));
    }

    #[test]
    fn bad_records_list_every_problem() {
        assert_eq!(
            problems(r#"{"city":"Seattle"}"#),
            vec![
                "a city is needed: city and country, or lat and lon",
                "missing field \"time\"",
                "missing field \"temperature\""
            ]
        );
        let many = problems(r#"{"city":"Seattle","country":"USA","time":"noon","temperature":500,"rain":-2}"#);
        assert_eq!(many.len(), 4, "{many:?}");
        assert!(many[1].contains("invalid timestamp"), "{many:?}");
        let values = problems(r#"{"lat":10,"lon":10,"time":1,"temperature":500,"rain":-2,"humidity":101}"#);
        assert_eq!(values.len(), 3, "{values:?}");
        assert!(problems(r#"{"lat":100,"lon":10,"time":1,"temperature":5}"#)[0].contains("latitude 100"));
    }

    #[test]
    fn malformed_json_and_unknown_fields_are_refused() {
        for bad in [
            "",
            "[1]",
            r#"{"city":"Seattle","country":"US","time":1,"temperature":"warm"}"#,
            r#"{"city":"Seattle","country":"US","time":1,"temperature":5,"temp_f":41}"#,
            r#"{"city":"Seattle","country":"US","time":1,"temperature":1e999}"#,
        ] {
            assert!(
                matches!(observation_from_json(bad.as_bytes()), Err(WeatherError::MalformedJson(_))),
                "{bad}"
            );
        }
        let error = observation_from_json(br#"{"time":1,"temperature":5,"temprature":6}"#).unwrap_err();
        assert!(error.to_string().contains("unknown field `temprature`"), "{error}");
    }
}
