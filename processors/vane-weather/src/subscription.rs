//! A user's weather subscription: one city, one or more constraints. [`SubscriptionSpec`] is
//! what a request or a record says; [`Subscription::new`] checks it once, listing every
//! problem, and returns a value that is always valid. Pure.

use crate::{City, Constraint, WeatherError};

/// At most this many constraints per subscription.
pub const MAX_CONSTRAINTS: usize = 8;
/// Longest subscription or user id (UUIDs are 36).
pub const MAX_ID_LEN: usize = 128;

/// A subscription as given, not yet checked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SubscriptionSpec {
    /// Stable id (a UUID chosen by the API); the key on `vane.weather.subscriptions`.
    pub id: String,
    pub user_id: String,
    /// The city, either by name and country ...
    pub city_name: Option<String>,
    pub country: Option<String>,
    /// ... or by latitude and longitude.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub constraints: Vec<Constraint>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// Increases with every change; orders the versions of one subscription.
    pub revision: i64,
}

/// A checked subscription (see [`Subscription::new`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    id: String,
    user_id: String,
    city: City,
    constraints: Vec<Constraint>,
    created_at_ms: i64,
    updated_at_ms: i64,
    revision: i64,
}

impl Subscription {
    /// Checks everything and lists every problem: ids present, the city given one way and
    /// valid, one to [`MAX_CONSTRAINTS`] constraints with finite, plausible thresholds and no
    /// repeats, sane times and revision.
    pub fn new(spec: SubscriptionSpec) -> Result<Subscription, WeatherError> {
        Self::checked(spec, Vec::new())
    }

    /// As [`Subscription::new`], adding the problems of a record's constraints that could not
    /// even be read (which then do not count as missing).
    pub(crate) fn checked(spec: SubscriptionSpec, unreadable: Vec<String>) -> Result<Subscription, WeatherError> {
        let mut problems = Vec::new();
        for (what, id) in [("subscription id", &spec.id), ("user id", &spec.user_id)] {
            if id.trim().is_empty() {
                problems.push(format!("the {what} is empty"));
            } else if id.len() > MAX_ID_LEN {
                problems.push(format!("the {what} is {} bytes long; at most {MAX_ID_LEN}", id.len()));
            }
        }
        let city = match City::from_parts(spec.city_name.as_deref(), spec.country.as_deref(), spec.lat, spec.lon) {
            Ok(city) => Some(city),
            Err(mut city_problems) => {
                problems.append(&mut city_problems);
                None
            }
        };
        if spec.constraints.is_empty() && unreadable.is_empty() {
            problems.push("at least one constraint is needed (rain, snow, temp>N, temp<N, wind>N)".to_string());
        }
        if spec.constraints.len() > MAX_CONSTRAINTS {
            problems.push(format!("{} constraints; at most {MAX_CONSTRAINTS}", spec.constraints.len()));
        }
        problems.extend(unreadable);
        for (i, constraint) in spec.constraints.iter().enumerate() {
            problems.append(&mut constraint.problems());
            if spec.constraints.iter().take(i).any(|earlier| earlier.key() == constraint.key()) {
                problems.push(format!("constraint {constraint} is given twice"));
            }
        }
        if spec.created_at_ms < 0 || spec.updated_at_ms < spec.created_at_ms {
            problems.push(format!(
                "times out of order: created at {} ms, updated at {} ms",
                spec.created_at_ms, spec.updated_at_ms
            ));
        }
        if spec.revision < 0 {
            problems.push(format!("revision {} is negative", spec.revision));
        }
        match city {
            Some(city) if problems.is_empty() => Ok(Subscription {
                id: spec.id,
                user_id: spec.user_id,
                city,
                constraints: spec.constraints,
                created_at_ms: spec.created_at_ms,
                updated_at_ms: spec.updated_at_ms,
                revision: spec.revision,
            }),
            _ => Err(WeatherError::InvalidSubscription(problems)),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn city(&self) -> &City {
        &self.city
    }

    pub fn constraints(&self) -> &[Constraint] {
        &self.constraints
    }

    pub fn created_at_ms(&self) -> i64 {
        self.created_at_ms
    }

    pub fn updated_at_ms(&self) -> i64 {
        self.updated_at_ms
    }

    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// Back to the unchecked form, e.g. to apply a change and check again.
    pub fn to_spec(&self) -> SubscriptionSpec {
        let (city_name, country, lat, lon) = match &self.city {
            City::Named { name, country } => (Some(name.clone()), Some(country.clone()), None, None),
            City::At { lat, lon } => (None, None, Some(*lat), Some(*lon)),
        };
        SubscriptionSpec {
            id: self.id.clone(),
            user_id: self.user_id.clone(),
            city_name,
            country,
            lat,
            lon,
            constraints: self.constraints.clone(),
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
            revision: self.revision,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// "rain in Catania" for user u1.
    pub(crate) fn rain_in_catania(id: &str) -> SubscriptionSpec {
        SubscriptionSpec {
            id: id.into(),
            user_id: "u1".into(),
            city_name: Some("Catania".into()),
            country: Some("IT".into()),
            constraints: vec![Constraint::Rain],
            created_at_ms: 1_700_000_000_000,
            updated_at_ms: 1_700_000_000_000,
            revision: 1,
            ..SubscriptionSpec::default()
        }
    }

    fn problems(spec: SubscriptionSpec) -> Vec<String> {
        match Subscription::new(spec) {
            Err(WeatherError::InvalidSubscription(problems)) => problems,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_valid_subscription_keeps_what_it_was_given() {
        let mut spec = rain_in_catania("s1");
        spec.country = Some("it".into());
        spec.constraints.push(Constraint::TempBelow(0.0));
        let sub = Subscription::new(spec).unwrap();
        assert_eq!(sub.city().id().as_str(), "name:it:catania");
        assert_eq!(sub.constraints().len(), 2);
        assert_eq!(Subscription::new(sub.to_spec()).unwrap(), sub);
    }

    #[test]
    fn every_problem_is_listed() {
        let spec = SubscriptionSpec {
            id: String::new(),
            user_id: "u".repeat(MAX_ID_LEN + 1),
            city_name: Some("Catania".into()),
            lat: Some(1.0),
            lon: Some(2.0),
            constraints: vec![
                Constraint::TempAbove(f64::INFINITY),
                Constraint::WindAbove(500.0),
                Constraint::Rain,
                Constraint::Rain,
            ],
            created_at_ms: 10,
            updated_at_ms: 5,
            revision: -1,
            ..SubscriptionSpec::default()
        };
        let problems = problems(spec);
        assert_eq!(problems.len(), 8, "{problems:#?}");
        assert!(problems.iter().any(|p| p.contains("not both")));
        assert!(problems.iter().any(|p| p.contains("constraint rain is given twice")));
        assert!(problems.iter().any(|p| p.contains("temp_above threshold inf")));
    }

    #[test]
    fn no_constraint_and_no_city_are_refused() {
        let mut spec = rain_in_catania("s1");
        spec.constraints.clear();
        spec.city_name = None;
        spec.country = None;
        let problems = problems(spec);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[1].starts_with("at least one constraint"));
        let mut many = rain_in_catania("s1");
        many.constraints = (0..=MAX_CONSTRAINTS).map(|i| Constraint::TempAbove(i as f64)).collect();
        assert_eq!(self::problems(many).len(), 1);
    }
}
