//! Where the weather is: a city given by name and country, or by latitude and longitude, and the
//! stable [`CityId`] that keys it on `vane.weather.observations`.
//!
//! The id follows the way the city was given, so that a subscription and the observations made
//! for it meet on the same key:
//! - by name: `name:<country>:<name>`, the country's ISO 3166 alpha-2 code in lowercase and the
//!   name trimmed, lowercased and with runs of whitespace collapsed to one space (diacritics are
//!   kept: "Sao Paulo" and "São Paulo" are two cities). `Catania, IT` → `name:it:catania`.
//! - by coordinates: `geo:<lat>:<lon>`, both rounded to 2 decimals (about 1.1 km), so that points
//!   a few hundred metres apart share one poll. `37.5022, 15.0873` → `geo:37.50:15.09`.
//!
//! Pure.

use std::fmt;

use crate::WeatherError;

/// Longest city name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A city, validated by [`City::from_parts`].
#[derive(Debug, Clone, PartialEq)]
pub enum City {
    /// A name and an ISO 3166 alpha-2 country code (uppercase).
    Named { name: String, country: String },
    /// Latitude and longitude in degrees.
    At { lat: f64, lon: f64 },
}

/// The key of a city on the observations topic (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CityId(String);

impl CityId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Reads an id back (from an event), checking its shape.
    pub fn parse(text: &str) -> Result<CityId, WeatherError> {
        let bad = || WeatherError::InvalidCityId(text.to_string());
        if let Some(rest) = text.strip_prefix("name:") {
            let (country, name) = rest.split_once(':').ok_or_else(bad)?;
            let country_ok = country.len() == 2 && country.bytes().all(|b| b.is_ascii_lowercase());
            if !country_ok || name.is_empty() || name != normalise_name(name) {
                return Err(bad());
            }
        } else if let Some(rest) = text.strip_prefix("geo:") {
            let (lat, lon) = rest.split_once(':').ok_or_else(bad)?;
            let lat: f64 = lat.parse().map_err(|_| bad())?;
            let lon: f64 = lon.parse().map_err(|_| bad())?;
            if geo_id(lat, lon) != text {
                return Err(bad());
            }
        } else {
            return Err(bad());
        }
        Ok(CityId(text.to_string()))
    }
}

impl fmt::Display for CityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl City {
    /// A city from the optional parts a request or a record carries: either a name and a
    /// country, or a latitude and a longitude, never both. Trims the name and uppercases the
    /// country; every problem is listed.
    pub fn from_parts(name: Option<&str>, country: Option<&str>, lat: Option<f64>, lon: Option<f64>) -> Result<City, Vec<String>> {
        let named = name.is_some() || country.is_some();
        let located = lat.is_some() || lon.is_some();
        let mut problems = Vec::new();
        if named && located {
            problems.push("give the city either by name and country or by latitude and longitude, not both".to_string());
            return Err(problems);
        }
        if !named && !located {
            problems.push("a city is needed: a name and a country, or a latitude and a longitude".to_string());
            return Err(problems);
        }
        let city = if named {
            if name.is_none() {
                problems.push("the city name is missing".to_string());
            }
            if country.is_none() {
                problems.push("the country is missing (an ISO 3166 alpha-2 code such as IT)".to_string());
            }
            City::Named {
                name: tidy_name(name.unwrap_or_default()),
                country: country.unwrap_or_default().trim().to_ascii_uppercase(),
            }
        } else {
            if lat.is_none() {
                problems.push("the latitude is missing".to_string());
            }
            if lon.is_none() {
                problems.push("the longitude is missing".to_string());
            }
            City::At {
                lat: lat.unwrap_or_default(),
                lon: lon.unwrap_or_default(),
            }
        };
        if problems.is_empty() {
            problems = city.problems();
        }
        if problems.is_empty() { Ok(city) } else { Err(problems) }
    }

    /// What is wrong with the city, if anything.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match self {
            City::Named { name, country } => {
                let chars = name.chars().count();
                if name.trim().is_empty() {
                    problems.push("the city name is empty".to_string());
                } else if chars > MAX_NAME_CHARS {
                    problems.push(format!("the city name has {chars} characters; at most {MAX_NAME_CHARS}"));
                }
                if name.chars().any(char::is_control) {
                    problems.push("the city name contains control characters".to_string());
                }
                if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                    problems.push(format!("country {country:?} is not an ISO 3166 alpha-2 code such as IT"));
                }
            }
            City::At { lat, lon } => {
                if !(lat.is_finite() && (-90.0..=90.0).contains(lat)) {
                    problems.push(format!("latitude {lat} is not between -90 and 90"));
                }
                if !(lon.is_finite() && (-180.0..=180.0).contains(lon)) {
                    problems.push(format!("longitude {lon} is not between -180 and 180"));
                }
            }
        }
        problems
    }

    /// The stable id (see the module doc).
    pub fn id(&self) -> CityId {
        match self {
            City::Named { name, country } => CityId(format!("name:{}:{}", country.to_ascii_lowercase(), normalise_name(name))),
            City::At { lat, lon } => CityId(geo_id(*lat, *lon)),
        }
    }

    /// How messages name the city: `Catania, IT`, or `37.50, 15.09`.
    pub fn label(&self) -> String {
        match self {
            City::Named { name, country } => format!("{name}, {country}"),
            City::At { lat, lon } => format!("{:.2}, {:.2}", round2(*lat), round2(*lon)),
        }
    }
}

/// Trimmed, with runs of whitespace collapsed to one space (case kept, for display).
pub(crate) fn tidy_name(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The name part of a named city's id.
fn normalise_name(name: &str) -> String {
    tidy_name(&name.to_lowercase())
}

/// Rounded to 2 decimals, without a negative zero (so `-0.001` and `0.001` share an id).
fn round2(x: f64) -> f64 {
    let rounded = (x * 100.0).round() / 100.0;
    if rounded == 0.0 { 0.0 } else { rounded }
}

fn geo_id(lat: f64, lon: f64) -> String {
    format!("geo:{:.2}:{:.2}", round2(lat), round2(lon))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_normalised() {
        let a = City::from_parts(Some("  Catania "), Some("it"), None, None).unwrap();
        let b = City::from_parts(Some("CATANIA"), Some("IT"), None, None).unwrap();
        assert_eq!(a.id().as_str(), "name:it:catania");
        assert_eq!(a.id(), b.id());
        assert_eq!(a.label(), "Catania, IT");
        let spaced = City::from_parts(Some("New \t York"), Some("US"), None, None).unwrap();
        assert_eq!(spaced.id().as_str(), "name:us:new york");
        assert_eq!(spaced.label(), "New York, US");
        let at = City::from_parts(None, None, Some(37.5022), Some(15.0873)).unwrap();
        assert_eq!(at.id().as_str(), "geo:37.50:15.09");
        assert_eq!(at.label(), "37.50, 15.09");
        let near = City::At { lat: 37.498, lon: 15.091 };
        assert_eq!(near.id(), at.id());
        assert_eq!(City::At { lat: -0.001, lon: 0.001 }.id().as_str(), "geo:0.00:0.00");
    }

    #[test]
    fn ids_parse_back_and_bad_ones_are_refused() {
        for city in [
            City::from_parts(Some("São Paulo"), Some("BR"), None, None).unwrap(),
            City::At {
                lat: -33.8688,
                lon: 151.2093,
            },
            City::At { lat: -0.004, lon: 0.0 },
        ] {
            assert_eq!(CityId::parse(city.id().as_str()).unwrap(), city.id());
        }
        for bad in [
            "",
            "catania",
            "name:ita:catania",
            "name:IT:catania",
            "name:it:",
            "name:it:Catania",
            "geo:1:2",
            "geo:x:y",
        ] {
            assert!(CityId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_problem_is_listed() {
        let both = City::from_parts(Some("Catania"), Some("IT"), Some(1.0), Some(2.0)).unwrap_err();
        assert!(both[0].contains("not both"), "{both:?}");
        let neither = City::from_parts(None, None, None, None).unwrap_err();
        assert!(neither[0].contains("a city is needed"), "{neither:?}");
        let half = City::from_parts(Some("Catania"), None, None, None).unwrap_err();
        assert!(half[0].contains("country is missing"), "{half:?}");
        let bad = City::from_parts(None, None, Some(91.0), Some(f64::NAN)).unwrap_err();
        assert_eq!(bad.len(), 2, "{bad:?}");
        let only_lat = City::from_parts(None, None, Some(1.0), None).unwrap_err();
        assert!(only_lat[0].contains("longitude is missing"));
        let names = City::from_parts(Some(" "), Some("Italy"), None, None).unwrap_err();
        assert_eq!(names.len(), 2, "{names:?}");
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        assert!(City::from_parts(Some(&long), Some("IT"), None, None).is_err());
    }
}
