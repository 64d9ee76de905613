//! One weather observation of one city at one time, in metric units, as it travels on
//! `vane.weather.observations` (keyed by [`CityId`]). Made by [`crate::owm`] from the provider's
//! answer or by [`crate::ingest`] from an outside producer's JSON; both end in
//! [`Observation::validate`], so every observation the matcher sees has finite values in
//! plausible ranges. Pure.

use crate::{CityId, WeatherError};

/// Plausible ranges. Generous on purpose: they catch unit mistakes (Kelvin, km/h, Fahrenheit
/// extremes) and garbage, not records.
pub const TEMPERATURE_RANGE_C: (f64, f64) = (-100.0, 70.0);
pub const WIND_RANGE_MS: (f64, f64) = (0.0, 150.0);
pub const PRECIPITATION_RANGE_MM: (f64, f64) = (0.0, 1000.0);
/// At most this many condition words, each at most [`MAX_CONDITION_CHARS`] characters.
pub const MAX_CONDITIONS: usize = 16;
pub const MAX_CONDITION_CHARS: usize = 64;
/// The last instant RFC 3339 can write, 9999-12-31T23:59:59.999Z.
const MAX_TIME_MS: i64 = 253_402_300_799_999;

#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub city_id: CityId,
    /// Display name (`Catania`), or the coordinates when the producer gave no name.
    pub city: String,
    /// ISO 3166 alpha-2, uppercase, when known.
    pub country: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// When the weather was measured (the provider's `dt`), Unix milliseconds.
    pub observed_at_ms: i64,
    pub temperature_c: f64,
    pub feels_like_c: Option<f64>,
    pub humidity_pct: Option<f64>,
    /// Wind speed; `None` when the producer did not measure it.
    pub wind_ms: Option<f64>,
    /// Rain over the last hour; present only when non-zero (as the provider sends it).
    pub rain_mm_1h: Option<f64>,
    /// Snow over the last hour (water equivalent); present only when non-zero.
    pub snow_mm_1h: Option<f64>,
    /// Lowercase condition words (`rain`, `clouds`, `snow`, ...).
    pub conditions: Vec<String>,
}

impl Observation {
    /// `Catania, IT`, or just the city when the country is unknown.
    pub fn label(&self) -> String {
        match &self.country {
            Some(country) => format!("{}, {country}", self.city),
            None => self.city.clone(),
        }
    }

    /// Normalises (zero rain or snow becomes absent, condition words trimmed and lowercased)
    /// and checks every value, listing every problem.
    pub fn validate(mut self) -> Result<Observation, WeatherError> {
        if self.rain_mm_1h == Some(0.0) {
            self.rain_mm_1h = None;
        }
        if self.snow_mm_1h == Some(0.0) {
            self.snow_mm_1h = None;
        }
        self.conditions = self.conditions.iter().map(|c| c.trim().to_lowercase()).collect();
        let problems = self.problems();
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(WeatherError::InvalidObservation(problems))
        }
    }

    /// What is wrong with the observation, if anything.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.city.trim().is_empty() {
            problems.push("the city name is empty".to_string());
        }
        if let Some(country) = &self.country
            && (country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()))
        {
            problems.push(format!("country {country:?} is not an ISO 3166 alpha-2 code such as IT"));
        }
        if let Some(lat) = self.lat
            && !(lat.is_finite() && (-90.0..=90.0).contains(&lat))
        {
            problems.push(format!("latitude {lat} is not between -90 and 90"));
        }
        if let Some(lon) = self.lon
            && !(lon.is_finite() && (-180.0..=180.0).contains(&lon))
        {
            problems.push(format!("longitude {lon} is not between -180 and 180"));
        }
        if !(0..=MAX_TIME_MS).contains(&self.observed_at_ms) {
            problems.push(format!(
                "time {} ms is outside the supported range (years 1970 to 9999)",
                self.observed_at_ms
            ));
        }
        check(&mut problems, "temperature", Some(self.temperature_c), TEMPERATURE_RANGE_C, "°C");
        check(
            &mut problems,
            "feels-like temperature",
            self.feels_like_c,
            TEMPERATURE_RANGE_C,
            "°C",
        );
        check(&mut problems, "humidity", self.humidity_pct, (0.0, 100.0), "%");
        check(&mut problems, "wind", self.wind_ms, WIND_RANGE_MS, "m/s");
        check(&mut problems, "rain", self.rain_mm_1h, PRECIPITATION_RANGE_MM, "mm");
        check(&mut problems, "snow", self.snow_mm_1h, PRECIPITATION_RANGE_MM, "mm");
        if self.conditions.len() > MAX_CONDITIONS {
            problems.push(format!("{} conditions; at most {MAX_CONDITIONS}", self.conditions.len()));
        }
        for condition in &self.conditions {
            if condition.is_empty() || condition.chars().count() > MAX_CONDITION_CHARS || condition.chars().any(char::is_control) {
                problems.push(format!(
                    "condition {condition:?} is not a word of 1 to {MAX_CONDITION_CHARS} characters"
                ));
            }
        }
        problems
    }
}

fn check(problems: &mut Vec<String>, what: &str, value: Option<f64>, (low, high): (f64, f64), unit: &str) {
    let Some(value) = value else { return };
    if !value.is_finite() {
        problems.push(format!("{what} {value} is not a finite number"));
    } else if !(low..=high).contains(&value) {
        problems.push(format!(
            "{what} {value} {unit} is outside the plausible range {low} to {high} {unit}"
        ));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::City;

    /// A rainy observation in Catania, for tests across the crate.
    pub(crate) fn catania(at_ms: i64) -> Observation {
        Observation {
            city_id: City::Named {
                name: "Catania".into(),
                country: "IT".into(),
            }
            .id(),
            city: "Catania".into(),
            country: Some("IT".into()),
            lat: Some(37.5022),
            lon: Some(15.0873),
            observed_at_ms: at_ms,
            temperature_c: 14.2,
            feels_like_c: Some(13.6),
            humidity_pct: Some(82.0),
            wind_ms: Some(4.1),
            rain_mm_1h: Some(2.5),
            snow_mm_1h: None,
            conditions: vec!["rain".into()],
        }
    }

    #[test]
    fn zero_precipitation_is_absent_and_conditions_are_tidied() {
        let mut obs = catania(1_700_000_000_000);
        obs.rain_mm_1h = Some(0.0);
        obs.snow_mm_1h = Some(0.0);
        obs.conditions = vec![" Rain ".into()];
        let obs = obs.validate().unwrap();
        assert_eq!((obs.rain_mm_1h, obs.snow_mm_1h), (None, None));
        assert_eq!(obs.conditions, vec!["rain"]);
        assert_eq!(obs.label(), "Catania, IT");
    }

    #[test]
    fn implausible_values_are_listed_together() {
        let mut obs = catania(-1);
        obs.temperature_c = 287.0;
        obs.humidity_pct = Some(120.0);
        obs.wind_ms = Some(f64::NAN);
        obs.rain_mm_1h = Some(-1.0);
        obs.lat = Some(100.0);
        obs.country = Some("Italy".into());
        obs.conditions = vec![String::new()];
        let Err(WeatherError::InvalidObservation(problems)) = obs.validate() else {
            panic!("accepted")
        };
        assert_eq!(problems.len(), 8, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("temperature 287 °C is outside")), "{problems:?}");
        assert!(
            problems.iter().any(|p| p.contains("wind NaN is not a finite number")),
            "{problems:?}"
        );
    }
}
