//! When the poller asks about which city: the cities of the current subscriptions, each polled
//! once per interval however many subscriptions share it, with exponential backoff per city
//! after transient errors, and cities the provider does not know set aside until one of their
//! subscriptions changes. With several poller replicas, each polls only the cities it owns: those
//! whose partition of `vane.weather.observations` (the city id's hash, as the log places the
//! observation) its consumer group assigns it ([`Schedule::set_ownership`]). Pure: time is an
//! argument.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use vane_stream::ownership::Ownership;
use vane_weather::{City, CityId, Subscription};

/// What the schedule needs from the poller's settings.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub interval: Duration,
    /// Wait after the first transient error; doubles with each further one.
    pub min_backoff: Duration,
    /// The longest wait after errors.
    pub max_backoff: Duration,
}

struct Polled {
    city: City,
    subscriptions: BTreeSet<String>,
    next_due_ms: i64,
    /// Transient failures since the last success.
    failures: u32,
    /// The provider answered 404: not asked again until a subscription of the city changes.
    unknown: bool,
}

pub struct Schedule {
    timing: Timing,
    /// `None`: every city (one replica, or before the group assigned anything).
    ownership: Option<Ownership>,
    cities: BTreeMap<CityId, Polled>,
    /// Subscription id → (city, revision).
    subscriptions: HashMap<String, (CityId, i64)>,
}

impl Schedule {
    pub fn new(timing: Timing) -> Schedule {
        Schedule {
            timing,
            ownership: None,
            cities: BTreeMap::new(),
            subscriptions: HashMap::new(),
        }
    }

    /// Adds or updates a subscription (an older or equal revision is ignored). A new city is
    /// due at once; a change to a city the provider did not know makes it worth asking again.
    pub fn upsert(&mut self, subscription: &Subscription) {
        let id = subscription.id().to_string();
        if let Some((_, revision)) = self.subscriptions.get(&id)
            && *revision >= subscription.revision()
        {
            return;
        }
        let city_id = subscription.city().id();
        // An update in the same city keeps the city's turn (once per interval stays true).
        if self.subscriptions.get(&id).is_some_and(|(held, _)| *held != city_id) {
            self.remove(&id);
        }
        let polled = self.cities.entry(city_id.clone()).or_insert_with(|| Polled {
            city: subscription.city().clone(),
            subscriptions: BTreeSet::new(),
            next_due_ms: i64::MIN,
            failures: 0,
            unknown: false,
        });
        polled.subscriptions.insert(id.clone());
        if polled.unknown {
            polled.unknown = false;
            polled.failures = 0;
            polled.next_due_ms = i64::MIN;
        }
        self.subscriptions.insert(id, (city_id, subscription.revision()));
    }

    /// Forgets a subscription; a city without subscriptions is no longer polled.
    pub fn remove(&mut self, id: &str) {
        let Some((city_id, _)) = self.subscriptions.remove(id) else {
            return;
        };
        if let Some(polled) = self.cities.get_mut(&city_id) {
            polled.subscriptions.remove(id);
            if polled.subscriptions.is_empty() {
                self.cities.remove(&city_id);
            }
        }
    }

    /// Polls only the cities in `owned` of `partitions` from now on. A city that becomes this
    /// replica's is due at once: when its previous owner last asked is not known here.
    pub fn set_ownership(&mut self, ownership: Ownership) {
        for (id, polled) in &mut self.cities {
            let was_owned = self.ownership.as_ref().is_none_or(|o| o.owns(id.as_str().as_bytes()));
            if !was_owned && ownership.owns(id.as_str().as_bytes()) {
                polled.next_due_ms = i64::MIN;
            }
        }
        self.ownership = Some(ownership);
    }

    /// Whether this replica polls `city` (every city without an ownership).
    pub fn owns(&self, city: &CityId) -> bool {
        self.ownership.as_ref().is_none_or(|o| o.owns(city.as_str().as_bytes()))
    }

    /// Cities this replica owns (all without an ownership).
    pub fn owned_count(&self) -> usize {
        self.cities.keys().filter(|id| self.owns(id)).count()
    }

    /// The cities to ask about now.
    pub fn due(&self, now_ms: i64) -> Vec<(CityId, City)> {
        let mut due = Vec::new();
        for (id, polled) in &self.cities {
            if !polled.unknown && polled.next_due_ms <= now_ms && self.owns(id) {
                due.push((id.clone(), polled.city.clone()));
            }
        }
        due
    }

    /// The earliest time a city is due, if any is polled.
    pub fn next_due_ms(&self) -> Option<i64> {
        self.cities
            .iter()
            .filter(|(id, p)| !p.unknown && self.owns(id))
            .map(|(_, p)| p.next_due_ms)
            .min()
    }

    /// An answer (or a permanent error other than an unknown city): next interval.
    pub fn done(&mut self, city: &CityId, now_ms: i64) {
        if let Some(polled) = self.cities.get_mut(city) {
            polled.failures = 0;
            polled.next_due_ms = now_ms.saturating_add(self.timing.interval.as_millis() as i64);
        }
    }

    /// A transient error: try again after the city's backoff, which doubles with every failure
    /// in a row up to the maximum. Returns the wait.
    pub fn failed(&mut self, city: &CityId, now_ms: i64) -> Duration {
        let Some(polled) = self.cities.get_mut(city) else {
            return Duration::ZERO;
        };
        polled.failures = polled.failures.saturating_add(1);
        let doublings = polled.failures.saturating_sub(1).min(30);
        let wait = self
            .timing
            .min_backoff
            .saturating_mul(1u32 << doublings)
            .min(self.timing.max_backoff);
        polled.next_due_ms = now_ms.saturating_add(wait.as_millis() as i64);
        wait
    }

    /// The provider does not know the city: skipped until a subscription of it changes.
    pub fn unknown(&mut self, city: &CityId) {
        if let Some(polled) = self.cities.get_mut(city) {
            polled.unknown = true;
        }
    }

    /// Cities polled (known or not).
    pub fn len(&self) -> usize {
        self.cities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cities.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use vane_weather::{Constraint, SubscriptionSpec};

    use super::*;

    fn sub(id: &str, city: &str, revision: i64) -> Subscription {
        Subscription::new(SubscriptionSpec {
            id: id.into(),
            user_id: "u1".into(),
            city_name: Some(city.into()),
            country: Some("IT".into()),
            constraints: vec![Constraint::Rain],
            revision,
            ..SubscriptionSpec::default()
        })
        .unwrap()
    }

    fn timing() -> Timing {
        Timing {
            interval: Duration::from_secs(600),
            min_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(60),
        }
    }

    #[test]
    fn one_poll_per_city_per_interval_however_many_subscribers() {
        let mut schedule = Schedule::new(timing());
        schedule.upsert(&sub("a", "Catania", 1));
        schedule.upsert(&sub("b", "catania ", 1));
        schedule.upsert(&sub("c", "Rome", 1));
        let due = schedule.due(0);
        assert_eq!(due.len(), 2, "{due:?}");
        for (city, _) in &due {
            schedule.done(city, 0);
        }
        assert!(schedule.due(599_999).is_empty());
        assert_eq!(schedule.next_due_ms(), Some(600_000));
        assert_eq!(schedule.due(600_000).len(), 2);
        // An update that keeps the city keeps its turn.
        schedule.upsert(&sub("c", "Rome", 2));
        assert!(schedule.due(599_999).is_empty());
        // Moving b to Rome keeps Catania (a still wants it); removing a drops it.
        schedule.upsert(&sub("b", "Rome", 2));
        schedule.upsert(&sub("b", "Naples", 1));
        assert_eq!(schedule.len(), 2, "an older revision is ignored");
        schedule.remove("a");
        assert_eq!(schedule.len(), 1);
        schedule.remove("unknown");
        schedule.remove("b");
        schedule.remove("c");
        assert!(schedule.is_empty());
        assert_eq!(schedule.next_due_ms(), None);
    }

    #[test]
    fn transient_errors_back_off_exponentially_up_to_the_cap() {
        let mut schedule = Schedule::new(timing());
        schedule.upsert(&sub("a", "Catania", 1));
        let city = schedule.due(0).remove(0).0;
        let waits: Vec<u64> = (0..5).map(|_| schedule.failed(&city, 0).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 60, 60]);
        assert!(schedule.due(59_999).is_empty());
        assert_eq!(schedule.due(60_000).len(), 1);
        schedule.done(&city, 60_000);
        assert_eq!(schedule.failed(&city, 60_000).as_secs(), 10, "a success resets the backoff");
    }

    #[test]
    fn replicas_split_the_cities_and_a_city_that_moves_is_due_at_once() {
        let cities = ["Catania", "Rome", "Naples", "Milan", "Turin", "Bari", "Palermo", "Genoa"];
        let mut replicas = [Schedule::new(timing()), Schedule::new(timing())];
        for schedule in &mut replicas {
            for (i, city) in cities.iter().enumerate() {
                schedule.upsert(&sub(&i.to_string(), city, 1));
            }
        }
        // Six partitions, three each: every city has exactly one owner.
        replicas[0].set_ownership(Ownership::new(6, BTreeSet::from([0, 2, 4])));
        replicas[1].set_ownership(Ownership::new(6, BTreeSet::from([1, 3, 5])));
        let mut polled: Vec<String> = Vec::new();
        for schedule in &mut replicas {
            for (id, _) in schedule.due(0) {
                schedule.done(&id, 0);
                polled.push(id.as_str().to_string());
            }
        }
        let total = polled.len();
        polled.sort();
        polled.dedup();
        assert_eq!((total, polled.len()), (cities.len(), cities.len()), "each city once: {polled:?}");
        assert!(replicas.iter().all(|s| s.owned_count() > 0 && s.owned_count() < cities.len()));
        // Replica 1 leaves: replica 0 takes every partition; its new cities are due now, its
        // own keep their turn.
        let before = replicas[0].owned_count();
        replicas[0].set_ownership(Ownership::new(6, (0..6).collect()));
        assert_eq!(replicas[0].due(1).len(), cities.len() - before);
        assert_eq!(replicas[0].next_due_ms(), Some(i64::MIN));
        // No partitions (a rebalance in progress): nothing is due.
        replicas[0].set_ownership(Ownership::new(6, BTreeSet::new()));
        assert!(replicas[0].due(i64::MAX).is_empty());
        assert_eq!(replicas[0].next_due_ms(), None);
    }

    #[test]
    fn unknown_cities_wait_for_a_change_of_their_subscriptions() {
        let mut schedule = Schedule::new(timing());
        schedule.upsert(&sub("a", "Atlantis", 1));
        let city = schedule.due(0).remove(0).0;
        schedule.unknown(&city);
        assert!(schedule.due(i64::MAX).is_empty());
        assert_eq!(schedule.next_due_ms(), None);
        schedule.upsert(&sub("a", "Atlantis", 1));
        assert!(schedule.due(i64::MAX).is_empty(), "the same revision is no change");
        schedule.upsert(&sub("b", "Atlantis", 1));
        assert_eq!(schedule.due(0).len(), 1, "a new subscription asks again");
    }
}
