//! The weather crate's one error type. Everything here is about input (a provider's answer, an
//! ingest record, a subscription, a user's settings), so almost every variant is permanent: the
//! same bytes fail the same way, and callers send them to the dead-letter topic or show the
//! message to the user. Only some provider answers ([`WeatherError::is_transient`]) are worth a
//! retry.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum WeatherError {
    /// The provider answered 404 for the city asked about.
    #[error("unknown city {city}: the weather provider does not know it")]
    UnknownCity { city: String },
    /// The provider answered with an error code other than 404 (401 bad key, 429, 5xx, ...).
    #[error("weather provider error {code}: {message}")]
    Provider { code: u16, message: String },
    /// Not JSON, or JSON of the wrong shape (a string where a number belongs, an unknown field).
    #[error("malformed JSON: {0}")]
    MalformedJson(serde_json::Error),
    #[error("invalid observation: {}", .0.join("; "))]
    InvalidObservation(Vec<String>),
    #[error("invalid subscription: {}", .0.join("; "))]
    InvalidSubscription(Vec<String>),
    #[error("invalid city id {0:?}: expected name:<country>:<name> or geo:<lat>:<lon>")]
    InvalidCityId(String),
    #[error("unknown time zone {name:?}: expected an IANA name such as Europe/Rome")]
    UnknownTimeZone {
        name: String,
        #[source]
        source: jiff::Error,
    },
    #[error("invalid quiet hours {0:?}: expected HH:MM-HH:MM with different start and end")]
    InvalidQuietHours(String),
}

impl WeatherError {
    /// Whether asking again later can succeed: the provider's rate limit (429) and its server
    /// errors (5xx). Everything else fails the same way on every retry.
    pub fn is_transient(&self) -> bool {
        matches!(self, WeatherError::Provider { code, .. } if *code == 429 || *code >= 500)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rate_limits_and_server_errors_are_transient() {
        let provider = |code| WeatherError::Provider {
            code,
            message: String::new(),
        };
        assert!(provider(429).is_transient());
        assert!(provider(503).is_transient());
        assert!(!provider(401).is_transient());
        assert!(!WeatherError::UnknownCity { city: "Atlantis".into() }.is_transient());
        assert!(!WeatherError::InvalidObservation(vec!["x".into()]).is_transient());
    }
}
