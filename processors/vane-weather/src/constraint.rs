//! What a subscriber wants to hear about: temperature above or below a value, rain, snow, wind
//! above a value; and whether one observation satisfies it. Pure.
//!
//! Comparisons are strict: `TempBelow(0.0)` holds at -0.1 °C and not at 0 °C. Rain and snow
//! hold when the last hour's amount is above zero (the condition words are not consulted).
//! An observation without a wind speed says nothing about a wind constraint
//! ([`Constraint::evaluate`] is `None`), so its state is kept.

use std::fmt;
use std::str::FromStr;

use crate::Observation;

/// Thresholds outside these ranges are refused: no weather on Earth reaches them.
pub const TEMPERATURE_THRESHOLD_RANGE_C: (f64, f64) = (-90.0, 60.0);
pub const WIND_THRESHOLD_RANGE_MS: (f64, f64) = (0.0, 115.0);

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Constraint {
    /// Temperature strictly above the value, °C.
    TempAbove(f64),
    /// Temperature strictly below the value, °C.
    TempBelow(f64),
    /// Any rain over the last hour.
    Rain,
    /// Any snow over the last hour.
    Snow,
    /// Wind speed strictly above the value, m/s.
    WindAbove(f64),
}

impl Constraint {
    /// The name on the wire: `temp_above`, `temp_below`, `rain`, `snow`, `wind_above`.
    pub fn kind(&self) -> &'static str {
        match self {
            Constraint::TempAbove(_) => "temp_above",
            Constraint::TempBelow(_) => "temp_below",
            Constraint::Rain => "rain",
            Constraint::Snow => "snow",
            Constraint::WindAbove(_) => "wind_above",
        }
    }

    pub fn threshold(&self) -> Option<f64> {
        match self {
            Constraint::TempAbove(v) | Constraint::TempBelow(v) | Constraint::WindAbove(v) => Some(*v),
            Constraint::Rain | Constraint::Snow => None,
        }
    }

    /// Reads the wire form back; the threshold must be present exactly for the kinds that have
    /// one. Range checks are [`Constraint::problems`]'s.
    pub fn from_parts(kind: &str, threshold: Option<f64>) -> Result<Constraint, String> {
        let constraint = match (kind, threshold) {
            ("temp_above", Some(v)) => Constraint::TempAbove(v),
            ("temp_below", Some(v)) => Constraint::TempBelow(v),
            ("wind_above", Some(v)) => Constraint::WindAbove(v),
            ("rain", None) => Constraint::Rain,
            ("snow", None) => Constraint::Snow,
            ("temp_above" | "temp_below" | "wind_above", None) => return Err(format!("constraint {kind} needs a threshold")),
            ("rain" | "snow", Some(v)) => return Err(format!("constraint {kind} takes no threshold, got {v}")),
            _ => {
                return Err(format!(
                    "unknown constraint {kind:?}: expected temp_above, temp_below, rain, snow or wind_above"
                ));
            }
        };
        Ok(constraint)
    }

    /// Identifies the constraint within a subscription (`temp_below:0`, `rain`): the matcher's
    /// state and the dedup keys follow it, so a subscription update that keeps a constraint
    /// keeps its state.
    pub fn key(&self) -> String {
        match self.threshold() {
            // `+ 0.0` turns -0 into 0, so that -0 and 0 are one constraint.
            Some(v) => format!("{}:{}", self.kind(), v + 0.0),
            None => self.kind().to_string(),
        }
    }

    /// What is wrong with the constraint, if anything.
    pub fn problems(&self) -> Vec<String> {
        let (range, unit) = match self {
            Constraint::TempAbove(_) | Constraint::TempBelow(_) => (TEMPERATURE_THRESHOLD_RANGE_C, "°C"),
            Constraint::WindAbove(_) => (WIND_THRESHOLD_RANGE_MS, "m/s"),
            Constraint::Rain | Constraint::Snow => return Vec::new(),
        };
        let Some(v) = self.threshold() else { return Vec::new() };
        let (low, high) = range;
        if !v.is_finite() {
            vec![format!("{} threshold {v} is not a finite number", self.kind())]
        } else if !(low..=high).contains(&v) {
            vec![format!(
                "{} threshold {v} {unit} is outside the plausible range {low} to {high} {unit}",
                self.kind()
            )]
        } else {
            Vec::new()
        }
    }

    /// Whether the observation satisfies the constraint; `None` when it lacks the value.
    pub fn evaluate(&self, obs: &Observation) -> Option<bool> {
        match self {
            Constraint::TempAbove(v) => Some(obs.temperature_c > *v),
            Constraint::TempBelow(v) => Some(obs.temperature_c < *v),
            Constraint::Rain => Some(obs.rain_mm_1h.is_some_and(|mm| mm > 0.0)),
            Constraint::Snow => Some(obs.snow_mm_1h.is_some_and(|mm| mm > 0.0)),
            Constraint::WindAbove(v) => obs.wind_ms.map(|w| w > *v),
        }
    }

    /// For people: `rain`, `temperature below 0 °C`, `wind above 10 m/s`.
    pub fn describe(&self) -> String {
        match self {
            Constraint::TempAbove(v) => format!("temperature above {} °C", number(*v)),
            Constraint::TempBelow(v) => format!("temperature below {} °C", number(*v)),
            Constraint::Rain => "rain".to_string(),
            Constraint::Snow => "snow".to_string(),
            Constraint::WindAbove(v) => format!("wind above {} m/s", number(*v)),
        }
    }
}

/// The short form the CLI and the bot accept: `rain`, `snow`, `temp>30`, `temp<-5`, `wind>10`.
impl FromStr for Constraint {
    type Err = String;

    fn from_str(text: &str) -> Result<Constraint, String> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
        let threshold = |rest: &str| -> Result<f64, String> {
            rest.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{text:?}: {rest:?} is not a number"))
        };
        let constraint = if compact == "rain" {
            Constraint::Rain
        } else if compact == "snow" {
            Constraint::Snow
        } else if let Some(rest) = compact.strip_prefix("temp>") {
            Constraint::TempAbove(threshold(rest)?)
        } else if let Some(rest) = compact.strip_prefix("temp<") {
            Constraint::TempBelow(threshold(rest)?)
        } else if let Some(rest) = compact.strip_prefix("wind>") {
            Constraint::WindAbove(threshold(rest)?)
        } else {
            return Err(format!(
                "{text:?} is not a constraint: expected rain, snow, temp>N, temp<N or wind>N"
            ));
        };
        Ok(constraint)
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Constraint::TempAbove(v) => write!(f, "temp>{}", v + 0.0),
            Constraint::TempBelow(v) => write!(f, "temp<{}", v + 0.0),
            Constraint::Rain => f.write_str("rain"),
            Constraint::Snow => f.write_str("snow"),
            Constraint::WindAbove(v) => write!(f, "wind>{}", v + 0.0),
        }
    }
}

/// A value for a message: at most one decimal, no trailing `.0`, no `-0`.
pub fn number(v: f64) -> String {
    let rounded = (v * 10.0).round() / 10.0 + 0.0;
    let text = format!("{rounded:.1}");
    match text.strip_suffix(".0") {
        Some(whole) => whole.to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::tests::catania;

    #[test]
    fn thresholds_are_strict_and_missing_wind_is_unknown() {
        let mut obs = catania(0);
        obs.temperature_c = 0.0;
        assert_eq!(Constraint::TempBelow(0.0).evaluate(&obs), Some(false));
        assert_eq!(Constraint::TempAbove(0.0).evaluate(&obs), Some(false));
        obs.temperature_c = -0.1;
        assert_eq!(Constraint::TempBelow(0.0).evaluate(&obs), Some(true));
        assert_eq!(Constraint::Rain.evaluate(&obs), Some(true));
        assert_eq!(Constraint::Snow.evaluate(&obs), Some(false));
        assert_eq!(Constraint::WindAbove(4.1).evaluate(&obs), Some(false));
        assert_eq!(Constraint::WindAbove(4.0).evaluate(&obs), Some(true));
        obs.wind_ms = None;
        obs.rain_mm_1h = None;
        assert_eq!(Constraint::WindAbove(4.0).evaluate(&obs), None);
        assert_eq!(Constraint::Rain.evaluate(&obs), Some(false));
    }

    #[test]
    fn short_forms_and_wire_forms_round_trip() {
        for text in ["rain", "snow", "temp>30", "temp<-5.5", "wind>10", "temp<0"] {
            let constraint: Constraint = text.parse().unwrap();
            assert_eq!(constraint.to_string(), text);
            assert_eq!(
                Constraint::from_parts(constraint.kind(), constraint.threshold()).unwrap(),
                constraint
            );
        }
        assert_eq!(" Temp < -0 ".parse::<Constraint>().unwrap().to_string(), "temp<0");
        assert_eq!(Constraint::TempBelow(-0.0).key(), Constraint::TempBelow(0.0).key());
        assert_eq!(Constraint::TempBelow(0.0).key(), "temp_below:0");
        assert_eq!(Constraint::WindAbove(12.5).key(), "wind_above:12.5");
        for bad in ["hail", "temp>", "temp>warm", "temp=3", "wind<3", "temp>inf", "temp>NaN"] {
            assert!(bad.parse::<Constraint>().is_err(), "{bad}");
        }
        assert!(Constraint::from_parts("rain", Some(1.0)).is_err());
        assert!(Constraint::from_parts("temp_above", None).is_err());
        assert!(Constraint::from_parts("hail", None).unwrap_err().contains("unknown constraint"));
    }

    #[test]
    fn implausible_thresholds_are_problems() {
        assert!(Constraint::TempAbove(30.0).problems().is_empty());
        assert!(Constraint::Rain.problems().is_empty());
        assert_eq!(Constraint::TempAbove(300.0).problems().len(), 1);
        assert_eq!(Constraint::TempBelow(f64::NAN).problems().len(), 1);
        assert_eq!(Constraint::WindAbove(-1.0).problems().len(), 1);
        assert!(Constraint::WindAbove(-1.0).problems()[0].contains("m/s"));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(14.24), "14.2");
        assert_eq!(number(14.0), "14");
        assert_eq!(number(-0.04), "0");
        assert_eq!(number(-2.06), "-2.1");
        assert_eq!(Constraint::TempBelow(0.0).describe(), "temperature below 0 °C");
    }
}
