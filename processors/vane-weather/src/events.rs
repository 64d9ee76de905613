//! Between the checked weather types and their events in `vane-events`: observations on
//! `vane.weather.observations` and subscription changes on `vane.weather.subscriptions`.
//! Reading an event checks it as thoroughly as reading outside input (a record on the log may
//! come from an older or a buggy writer); a refused record goes to the dead-letter topic. Pure.

use vane_events::{
    Envelope, SubscriptionChange, WeatherConstraint, WeatherObservationEvent, WeatherSubscription, WeatherSubscriptionEvent,
};

use crate::{CityId, Constraint, Observation, Subscription, SubscriptionSpec, WeatherError};

impl Observation {
    /// The event for the observations topic; the envelope's event time is the observation's.
    pub fn to_event(&self, recorded_at_ms: i64, source: &str) -> WeatherObservationEvent {
        WeatherObservationEvent {
            envelope: Envelope::new(self.observed_at_ms, recorded_at_ms, source),
            city_id: self.city_id.to_string(),
            city: self.city.clone(),
            country: self.country.clone(),
            lat: self.lat,
            lon: self.lon,
            observed_at_ms: self.observed_at_ms,
            temperature_c: self.temperature_c,
            feels_like_c: self.feels_like_c,
            humidity_pct: self.humidity_pct,
            wind_ms: self.wind_ms,
            rain_mm_1h: self.rain_mm_1h,
            snow_mm_1h: self.snow_mm_1h,
            conditions: self.conditions.clone(),
        }
    }

    /// Reads an event back, checking the city id and every value.
    pub fn from_event(event: &WeatherObservationEvent) -> Result<Observation, WeatherError> {
        Observation {
            city_id: CityId::parse(&event.city_id)?,
            city: event.city.clone(),
            country: event.country.clone(),
            lat: event.lat,
            lon: event.lon,
            observed_at_ms: event.observed_at_ms,
            temperature_c: event.temperature_c,
            feels_like_c: event.feels_like_c,
            humidity_pct: event.humidity_pct,
            wind_ms: event.wind_ms,
            rain_mm_1h: event.rain_mm_1h,
            snow_mm_1h: event.snow_mm_1h,
            conditions: event.conditions.clone(),
        }
        .validate()
    }
}

impl Subscription {
    /// The event for the subscriptions topic, at `at_ms` (event and record time).
    pub fn to_event(&self, change: SubscriptionChange, at_ms: i64, source: &str) -> WeatherSubscriptionEvent {
        let spec = self.to_spec();
        let constraints = spec.constraints.iter().map(|c| WeatherConstraint {
            kind: c.kind().to_string(),
            threshold: c.threshold(),
        });
        WeatherSubscriptionEvent {
            envelope: Envelope::new(at_ms, at_ms, source),
            change,
            subscription: WeatherSubscription {
                id: spec.id,
                user_id: spec.user_id,
                city_name: spec.city_name,
                country: spec.country,
                lat: spec.lat,
                lon: spec.lon,
                constraints: constraints.collect(),
                created_at_ms: spec.created_at_ms,
                updated_at_ms: spec.updated_at_ms,
                revision: spec.revision,
            },
        }
    }

    /// Reads a record back, with every problem listed. A `DELETED` change needs no valid
    /// record: the consumer removes the id it carries.
    pub fn from_record(record: &WeatherSubscription) -> Result<Subscription, WeatherError> {
        let mut unreadable = Vec::new();
        let mut constraints = Vec::new();
        for c in &record.constraints {
            match Constraint::from_parts(&c.kind, c.threshold) {
                Ok(constraint) => constraints.push(constraint),
                Err(problem) => unreadable.push(problem),
            }
        }
        let spec = SubscriptionSpec {
            id: record.id.clone(),
            user_id: record.user_id.clone(),
            city_name: record.city_name.clone(),
            country: record.country.clone(),
            lat: record.lat,
            lon: record.lon,
            constraints,
            created_at_ms: record.created_at_ms,
            updated_at_ms: record.updated_at_ms,
            revision: record.revision,
        };
        Subscription::checked(spec, unreadable)
    }
}

#[cfg(test)]
mod tests {
    use vane_events::Codec;

    use super::*;
    use crate::observation::tests::catania;
    use crate::subscription::tests::rain_in_catania;

    #[test]
    fn observations_survive_the_log() {
        let codec = Codec::<WeatherObservationEvent>::new().unwrap();
        let obs = catania(1_700_000_000_000);
        let event = obs.to_event(1_700_000_000_500, "weather_poller");
        assert_eq!(event.envelope.occurred_at_ms, obs.observed_at_ms);
        let decoded = codec.decode(&codec.encode(&event)).unwrap();
        assert_eq!(Observation::from_event(&decoded).unwrap(), obs);
        let mut bad = event.clone();
        bad.city_id = "Catania".into();
        assert!(matches!(Observation::from_event(&bad), Err(WeatherError::InvalidCityId(_))));
        let mut bad = event;
        bad.temperature_c = f64::NAN;
        assert!(matches!(Observation::from_event(&bad), Err(WeatherError::InvalidObservation(_))));
    }

    #[test]
    fn subscriptions_survive_the_log() {
        let codec = Codec::<WeatherSubscriptionEvent>::new().unwrap();
        let mut spec = rain_in_catania("s1");
        spec.constraints
            .extend([Constraint::TempBelow(-2.5), Constraint::WindAbove(12.0), Constraint::Snow]);
        let sub = Subscription::new(spec).unwrap();
        let event = sub.to_event(SubscriptionChange::Created, 1_700_000_000_000, "api");
        let decoded = codec.decode(&codec.encode(&event)).unwrap();
        assert_eq!(decoded.change, SubscriptionChange::Created);
        assert_eq!(Subscription::from_record(&decoded.subscription).unwrap(), sub);
    }

    #[test]
    fn bad_records_list_every_problem() {
        let sub = Subscription::new(rain_in_catania("s1")).unwrap();
        let mut record = sub.to_event(SubscriptionChange::Updated, 0, "api").subscription;
        record.constraints = vec![
            WeatherConstraint {
                kind: "hail".into(),
                threshold: None,
            },
            WeatherConstraint {
                kind: "temp_above".into(),
                threshold: Some(400.0),
            },
        ];
        record.lat = Some(1.0);
        let Err(WeatherError::InvalidSubscription(problems)) = Subscription::from_record(&record) else {
            panic!("accepted")
        };
        assert_eq!(problems.len(), 3, "{problems:?}");
        record.constraints.truncate(1);
        record.lat = None;
        let Err(WeatherError::InvalidSubscription(problems)) = Subscription::from_record(&record) else {
            panic!("accepted")
        };
        assert_eq!(
            problems.len(),
            1,
            "an unreadable constraint is not also a missing one: {problems:?}"
        );
    }
}
