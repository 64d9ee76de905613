//! OpenWeatherMap's current-weather answer (`/data/2.5/weather?units=metric`) as an
//! [`Observation`]. The poller does the HTTP request; this only reads the body. Pure.
//!
//! What is read: `main.temp`, `main.feels_like`, `main.humidity`, `wind.speed`, `rain.1h` and
//! `snow.1h` (present only when non-zero; a body with only `3h` counts a third of it per hour),
//! `weather[].main` as the condition words, `dt` (Unix seconds) as the observation time,
//! `coord`, `name` and `sys.country`. The observation is keyed by the city that was *asked*
//! for, not the station that answered, so that it reaches that city's subscribers. Errors come
//! back as `{"cod": "404", "message": "city not found"}` (`cod` is a string in errors and a
//! number in answers): 404 is [`WeatherError::UnknownCity`], anything else
//! [`WeatherError::Provider`].

use serde::Deserialize;
use serde_json::Value;

use crate::{City, Observation, WeatherError};

#[derive(Deserialize)]
struct Answer {
    cod: Option<Value>,
    message: Option<Value>,
    coord: Option<Coord>,
    #[serde(default)]
    weather: Vec<Condition>,
    main: Option<Main>,
    wind: Option<Wind>,
    rain: Option<Precipitation>,
    snow: Option<Precipitation>,
    dt: Option<i64>,
    sys: Option<Sys>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Coord {
    lat: Option<f64>,
    lon: Option<f64>,
}

#[derive(Deserialize)]
struct Condition {
    main: Option<String>,
}

#[derive(Deserialize)]
struct Main {
    temp: Option<f64>,
    feels_like: Option<f64>,
    humidity: Option<f64>,
}

#[derive(Deserialize)]
struct Wind {
    speed: Option<f64>,
}

#[derive(Deserialize)]
struct Precipitation {
    #[serde(rename = "1h")]
    one_hour: Option<f64>,
    #[serde(rename = "3h")]
    three_hours: Option<f64>,
}

#[derive(Deserialize)]
struct Sys {
    country: Option<String>,
}

/// Reads the provider's answer to a question about `asked`.
pub fn parse_current_weather(body: &[u8], asked: &City) -> Result<Observation, WeatherError> {
    let answer: Answer = serde_json::from_slice(body).map_err(WeatherError::MalformedJson)?;
    if let Some(code) = answer.cod.as_ref().and_then(status_code)
        && code != 200
    {
        if code == 404 {
            return Err(WeatherError::UnknownCity { city: asked.label() });
        }
        let message = match answer.message {
            Some(Value::String(text)) => text,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        return Err(WeatherError::Provider { code, message });
    }
    let mut problems = Vec::new();
    let temperature = answer.main.as_ref().and_then(|m| m.temp);
    if temperature.is_none() {
        problems.push("the answer has no main.temp".to_string());
    }
    if answer.dt.is_none() {
        problems.push("the answer has no dt".to_string());
    }
    let (Some(temperature_c), Some(dt)) = (temperature, answer.dt) else {
        return Err(WeatherError::InvalidObservation(problems));
    };
    let mut conditions: Vec<String> = Vec::new();
    for condition in &answer.weather {
        if let Some(word) = &condition.main {
            let word = word.trim().to_lowercase();
            if !word.is_empty() && !conditions.contains(&word) {
                conditions.push(word);
            }
        }
    }
    let (asked_name, asked_country) = match asked {
        City::Named { name, country } => (name.clone(), Some(country.clone())),
        City::At { .. } => (asked.label(), None),
    };
    let city = answer.name.filter(|n| !n.trim().is_empty()).unwrap_or(asked_name);
    let country = answer.sys.and_then(|s| s.country).filter(|c| !c.is_empty()).or(asked_country);
    let coord = answer.coord.unwrap_or(Coord { lat: None, lon: None });
    let main = answer.main;
    Observation {
        city_id: asked.id(),
        city,
        country: country.map(|c| c.to_ascii_uppercase()),
        lat: coord.lat,
        lon: coord.lon,
        observed_at_ms: dt.saturating_mul(1000),
        temperature_c,
        feels_like_c: main.as_ref().and_then(|m| m.feels_like),
        humidity_pct: main.as_ref().and_then(|m| m.humidity),
        wind_ms: answer.wind.and_then(|w| w.speed),
        rain_mm_1h: answer.rain.and_then(hourly),
        snow_mm_1h: answer.snow.and_then(hourly),
        conditions,
    }
    .validate()
}

/// `cod` as a number, whether it came as `404` or `"404"`.
fn status_code(cod: &Value) -> Option<u16> {
    match cod {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn hourly(p: Precipitation) -> Option<f64> {
    p.one_hour.or(p.three_hours.map(|mm| mm / 3.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAIN: &str = r#"{"coord":{"lon":15.0873,"lat":37.5022},"weather":[{"id":501,"main":"Rain","description":"moderate rain","icon":"10d"},{"id":701,"main":"Mist","description":"mist","icon":"50d"}],"base":"stations","main":{"temp":14.2,"feels_like":13.61,"temp_min":13.1,"temp_max":15.0,"pressure":1012,"humidity":82,"sea_level":1012,"grnd_level":1001},"visibility":9000,"wind":{"speed":4.12,"deg":200,"gust":7.2},"rain":{"1h":2.5},"clouds":{"all":75},"dt":1700000000,"sys":{"type":2,"id":2001,"country":"IT","sunrise":1699940000,"sunset":1699977000},"timezone":3600,"id":2525068,"name":"Catania","cod":200}"#;

    fn catania() -> City {
        City::Named {
            name: "catania".into(),
            country: "IT".into(),
        }
    }

    #[test]
    fn a_rainy_answer_becomes_an_observation() {
        let obs = parse_current_weather(RAIN.as_bytes(), &catania()).unwrap();
        assert_eq!(obs.city_id.as_str(), "name:it:catania");
        assert_eq!((obs.city.as_str(), obs.country.as_deref()), ("Catania", Some("IT")));
        assert_eq!((obs.lat, obs.lon), (Some(37.5022), Some(15.0873)));
        assert_eq!(obs.observed_at_ms, 1_700_000_000_000);
        assert_eq!(obs.temperature_c, 14.2);
        assert_eq!(obs.feels_like_c, Some(13.61));
        assert_eq!(obs.humidity_pct, Some(82.0));
        assert_eq!(obs.wind_ms, Some(4.12));
        assert_eq!((obs.rain_mm_1h, obs.snow_mm_1h), (Some(2.5), None));
        assert_eq!(obs.conditions, vec!["rain", "mist"]);
    }

    #[test]
    fn dry_answers_have_no_rain_and_coordinates_key_by_the_question() {
        let dry = r#"{"coord":{"lon":15.09,"lat":37.5},"weather":[{"main":"Clear"}],"main":{"temp":-3,"feels_like":-7.5,"humidity":40},"wind":{"speed":1},"snow":{"3h":0.9},"dt":1700000600,"sys":{"country":"IT"},"name":"","cod":200}"#;
        let asked = City::At {
            lat: 37.5022,
            lon: 15.0873,
        };
        let obs = parse_current_weather(dry.as_bytes(), &asked).unwrap();
        assert_eq!(obs.city_id.as_str(), "geo:37.50:15.09");
        assert_eq!(obs.city, "37.50, 15.09");
        assert_eq!(obs.rain_mm_1h, None);
        assert!((obs.snow_mm_1h.unwrap() - 0.3).abs() < 1e-12);
    }

    #[test]
    fn provider_errors_are_typed() {
        let unknown = parse_current_weather(br#"{"cod":"404","message":"city not found"}"#, &catania());
        assert!(
            matches!(&unknown, Err(WeatherError::UnknownCity { city }) if city == "catania, IT"),
            "{unknown:?}"
        );
        let key = parse_current_weather(br#"{"cod":401,"message":"Invalid API key"}"#, &catania());
        assert!(matches!(&key, Err(WeatherError::Provider { code: 401, message }) if message == "Invalid API key"));
        assert!(!key.unwrap_err().is_transient());
        let busy = parse_current_weather(br#"{"cod":"429","message":"too many"}"#, &catania()).unwrap_err();
        assert!(busy.is_transient());
    }

    #[test]
    fn broken_answers_are_errors_not_panics() {
        assert!(matches!(
            parse_current_weather(b"<html>", &catania()),
            Err(WeatherError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_current_weather(br#"{"main":{"temp":"warm"},"dt":1}"#, &catania()),
            Err(WeatherError::MalformedJson(_))
        ));
        let Err(WeatherError::InvalidObservation(problems)) = parse_current_weather(br#"{"cod":200}"#, &catania()) else {
            panic!("accepted an empty answer")
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
        // Kelvin by mistake (units=metric forgotten) is caught by the plausible range.
        let kelvin = RAIN.replace("\"temp\":14.2", "\"temp\":287.35");
        assert!(matches!(
            parse_current_weather(kelvin.as_bytes(), &catania()),
            Err(WeatherError::InvalidObservation(_))
        ));
    }
}
