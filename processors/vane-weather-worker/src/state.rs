//! The matcher's per-subscription state to and from its changelog event on `vane.weather.state`.
//! Pure.

use vane_events::{ConstraintWatch, Envelope, WeatherStateEvent};
use vane_weather::{Observation, SubscriptionState, WatchState};

/// The changelog event of one subscription's state (`None`: the subscription was deleted, and
/// the event says so with no latest observation and no watches).
pub fn to_event(subscription_id: &str, state: Option<&SubscriptionState>, now_ms: i64, source: &str) -> WeatherStateEvent {
    let mut event = WeatherStateEvent {
        envelope: Envelope::new(now_ms, now_ms, source),
        subscription_id: subscription_id.to_string(),
        latest: None,
        last_alert_at_ms: None,
        watches: Vec::new(),
    };
    if let Some(state) = state {
        event.latest = state.latest.as_ref().map(|obs| obs.to_event(now_ms, source));
        event.last_alert_at_ms = state.last_alert_ms;
        for (key, watch) in &state.watches {
            event.watches.push(ConstraintWatch {
                constraint: key.clone(),
                holds: watch.holds,
                since_ms: watch.since_ms,
                told: watch.told,
            });
        }
    }
    event
}

/// The state an event saved. A latest observation that no longer validates is dropped (the
/// next observation takes its place) rather than losing the rest of the state.
pub fn from_event(event: &WeatherStateEvent) -> SubscriptionState {
    let latest = match event.latest.as_ref().map(Observation::from_event) {
        Some(Ok(obs)) => Some(obs),
        Some(Err(error)) => {
            tracing::warn!(subscription = %event.subscription_id, %error, "saved observation refused; state kept without it");
            None
        }
        None => None,
    };
    let watches = event
        .watches
        .iter()
        .map(|w| {
            let state = WatchState {
                holds: w.holds,
                since_ms: w.since_ms,
                told: w.told,
            };
            (w.constraint.clone(), state)
        })
        .collect();
    SubscriptionState {
        latest,
        last_alert_ms: event.last_alert_at_ms,
        watches,
    }
}

#[cfg(test)]
mod tests {
    use vane_events::Codec;
    use vane_weather::CityId;

    use super::*;

    #[test]
    fn states_survive_the_changelog() {
        let obs = Observation {
            city_id: CityId::parse("name:it:catania").unwrap(),
            city: "Catania".into(),
            country: Some("IT".into()),
            lat: None,
            lon: None,
            observed_at_ms: 1_700_000_000_000,
            temperature_c: 14.2,
            feels_like_c: None,
            humidity_pct: None,
            wind_ms: Some(3.0),
            rain_mm_1h: Some(2.5),
            snow_mm_1h: None,
            conditions: vec!["rain".into()],
        };
        let state = SubscriptionState {
            latest: Some(obs),
            last_alert_ms: Some(1_700_000_000_000),
            watches: vec![(
                "rain".into(),
                WatchState {
                    holds: true,
                    since_ms: 1_700_000_000_000,
                    told: true,
                },
            )],
        };
        let codec = Codec::<WeatherStateEvent>::new().unwrap();
        let event = to_event("s1", Some(&state), 5, "weather_matcher");
        let back = codec.decode(&codec.encode(&event)).unwrap();
        assert_eq!(from_event(&back), state);
        let deleted = to_event("s1", None, 5, "weather_matcher");
        assert_eq!(from_event(&deleted), SubscriptionState::default());
        let mut bad = event;
        if let Some(latest) = bad.latest.as_mut() {
            latest.temperature_c = f64::NAN;
        }
        let kept = from_event(&bad);
        assert_eq!(kept.latest, None);
        assert_eq!(kept.watches, state.watches);
    }
}
