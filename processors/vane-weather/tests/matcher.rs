//! The matcher's promises, scenario by scenario: one alert when a constraint starts holding and
//! one "cleared" when it stops; the cooldown; quiet hours in the user's zone with collapsing;
//! messages waiting for a linked chat; subscription updates and deletes; restarts from a saved
//! state; and the invariants over long random weather.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use vane_core::time::parse_rfc3339;
use vane_events::NotificationEvent;
use vane_weather::{City, Constraint, Matcher, Observation, Subscription, SubscriptionSpec, UserSettings};

const T0: i64 = 1_700_000_000_000;
const MIN: i64 = 60_000;
const CHAT: i64 = -100_123;

fn ms(text: &str) -> i64 {
    parse_rfc3339(text).unwrap()
}

fn catania() -> City {
    City::Named {
        name: "Catania".into(),
        country: "IT".into(),
    }
}

/// Catania at `at_ms`, with `rain` mm in the last hour (0 for none) and 14.2 °C.
fn obs(at_ms: i64, rain: f64) -> Observation {
    Observation {
        city_id: catania().id(),
        city: "Catania".into(),
        country: Some("IT".into()),
        lat: Some(37.5022),
        lon: Some(15.0873),
        observed_at_ms: at_ms,
        temperature_c: 14.2,
        feels_like_c: Some(13.6),
        humidity_pct: Some(80.0),
        wind_ms: Some(4.1),
        rain_mm_1h: (rain > 0.0).then_some(rain),
        snow_mm_1h: None,
        conditions: Vec::new(),
    }
}

fn subscription(id: &str, revision: i64, constraints: Vec<Constraint>) -> Subscription {
    Subscription::new(SubscriptionSpec {
        id: id.into(),
        user_id: "u1".into(),
        city_name: Some("Catania".into()),
        country: Some("IT".into()),
        constraints,
        created_at_ms: T0,
        updated_at_ms: T0,
        revision,
        ..SubscriptionSpec::default()
    })
    .unwrap()
}

fn matcher(user: UserSettings, constraints: Vec<Constraint>) -> Matcher {
    let mut matcher = Matcher::new();
    matcher.upsert_user(user);
    assert!(matcher.upsert_subscription(subscription("s1", 1, constraints)));
    matcher
}

fn no_cooldown() -> UserSettings {
    UserSettings::new("u1", Some(CHAT)).with_cooldown_ms(0)
}

/// Feeds one observation, returns what it sent.
fn feed(matcher: &mut Matcher, observation: Observation) -> Vec<NotificationEvent> {
    let mut out = Vec::new();
    matcher.observe(&observation, &mut out);
    out
}

fn advance(matcher: &mut Matcher, now_ms: i64) -> Vec<NotificationEvent> {
    let mut out = Vec::new();
    matcher.advance(now_ms, &mut out);
    out
}

fn texts(sent: &[NotificationEvent]) -> Vec<&str> {
    sent.iter().map(|n| n.text.as_str()).collect()
}

#[test]
fn rain_alerts_once_and_clears_once() {
    let mut m = matcher(no_cooldown(), vec![Constraint::Rain]);
    let sent = feed(&mut m, obs(T0, 2.5));
    assert_eq!(texts(&sent), ["🌧 Rain in Catania, IT: 2.5 mm/h, 14.2 °C"]);
    let alert = &sent[0];
    assert_eq!((alert.recipient.as_str(), alert.chat_id), ("telegram:-100123", CHAT));
    assert_eq!((alert.kind.as_str(), alert.subject_id.as_str()), ("weather_alert", "s1"));
    assert_eq!(alert.dedup_key, format!("weather:s1:rain:alert:{T0}"));
    assert!(feed(&mut m, obs(T0 + 10 * MIN, 3.0)).is_empty(), "still raining: no second alert");
    assert!(feed(&mut m, obs(T0 + 20 * MIN, 0.4)).is_empty());
    // A redelivered older observation is stale: it does not flip the state back.
    let mut out = Vec::new();
    let applied = m.observe(&obs(T0 + 5 * MIN, 0.0), &mut out);
    assert_eq!((applied.subscriptions, applied.stale, out.len()), (0, 1, 0));
    let sent = feed(&mut m, obs(T0 + 30 * MIN, 0.0));
    assert_eq!(texts(&sent), ["✅ No more rain in Catania, IT"]);
    assert_eq!(sent[0].kind, "weather_cleared");
    assert_eq!(sent[0].dedup_key, format!("weather:s1:rain:cleared:{}", T0 + 30 * MIN));
    assert!(feed(&mut m, obs(T0 + 40 * MIN, 0.0)).is_empty(), "still dry: no second clear");
    assert_eq!(m.waiting(), 0);
    // Observations of another city reach nobody here.
    let mut elsewhere = obs(T0 + 50 * MIN, 5.0);
    elsewhere.city_id = City::Named {
        name: "Palermo".into(),
        country: "IT".into(),
    }
    .id();
    assert!(feed(&mut m, elsewhere).is_empty());
}

#[test]
fn the_cooldown_holds_back_a_new_alert_of_the_same_subscription() {
    let user = UserSettings::new("u1", Some(CHAT)).with_cooldown_ms(60 * MIN);
    let mut m = matcher(user, vec![Constraint::Rain, Constraint::TempBelow(10.0)]);
    assert_eq!(feed(&mut m, obs(T0, 1.0)).len(), 1, "the first alert goes at once");
    assert_eq!(
        texts(&feed(&mut m, obs(T0 + 10 * MIN, 0.0))),
        ["✅ No more rain in Catania, IT"],
        "clears never wait"
    );
    assert!(feed(&mut m, obs(T0 + 20 * MIN, 1.0)).is_empty(), "rain again within the hour: held");
    assert_eq!((m.waiting(), m.next_wakeup()), (1, Some(T0 + 60 * MIN)));
    assert!(
        feed(&mut m, obs(T0 + 30 * MIN, 0.0)).is_empty(),
        "stopped while held: nothing to say"
    );
    assert_eq!((m.waiting(), m.next_wakeup()), (0, None));
    // Another constraint of the same subscription is held back too.
    let mut cold = obs(T0 + 40 * MIN, 2.0);
    cold.temperature_c = 8.0;
    assert!(feed(&mut m, cold).is_empty());
    assert_eq!(m.waiting(), 2);
    assert!(advance(&mut m, T0 + 60 * MIN - 1).is_empty());
    let sent = advance(&mut m, T0 + 60 * MIN);
    assert_eq!(
        texts(&sent),
        [
            "🌧 Rain in Catania, IT: 2 mm/h, 8 °C",
            "🥶 8 °C in Catania, IT, below 10 °C (feels like 13.6 °C)"
        ],
        "both at the end of the cooldown, together"
    );
    assert!(sent.iter().all(|n| n.at_ms == T0 + 60 * MIN));
    assert_eq!(sent[0].dedup_key, format!("weather:s1:rain:alert:{}", T0 + 40 * MIN));
    // The cooldown restarted with those alerts.
    feed(&mut m, obs(T0 + 70 * MIN, 0.0));
    assert!(feed(&mut m, obs(T0 + 80 * MIN, 1.0)).is_empty());
    assert_eq!(m.next_wakeup(), Some(T0 + 120 * MIN));
}

#[test]
fn quiet_hours_hold_messages_and_collapse_them() {
    let user = no_cooldown()
        .with_time_zone("Europe/Rome")
        .unwrap()
        .with_quiet_hours(Some("22:00-07:00".parse().unwrap()));
    let mut m = matcher(user, vec![Constraint::Rain]);
    // Night 1 (Rome is UTC+1 in January): rain starts and stops inside quiet hours.
    assert!(feed(&mut m, obs(ms("2024-01-15T21:30:00Z"), 1.0)).is_empty());
    assert_eq!(m.next_wakeup(), Some(ms("2024-01-16T06:00:00Z")));
    assert!(feed(&mut m, obs(ms("2024-01-15T23:00:00Z"), 0.0)).is_empty());
    assert!(
        advance(&mut m, ms("2024-01-16T06:00:00Z")).is_empty(),
        "a start and a clear inside: nothing"
    );
    // Night 2: rain starts inside and is still there at the end: one alert with the latest values.
    assert!(feed(&mut m, obs(ms("2024-01-16T22:00:00Z"), 1.0)).is_empty());
    assert!(feed(&mut m, obs(ms("2024-01-17T03:00:00Z"), 4.0)).is_empty());
    assert!(advance(&mut m, ms("2024-01-17T05:59:59Z")).is_empty());
    let sent = advance(&mut m, ms("2024-01-17T06:00:00Z"));
    assert_eq!(texts(&sent), ["🌧 Rain in Catania, IT: 4 mm/h, 14.2 °C"]);
    assert_eq!(sent[0].at_ms, ms("2024-01-17T06:00:00Z"));
    assert_eq!(sent[0].dedup_key, format!("weather:s1:rain:alert:{}", ms("2024-01-16T22:00:00Z")));
    // Night 3: told "rain" before; it stops, starts and stops again inside: one clear at the end.
    for (at, rain) in [
        ("2024-01-17T21:30:00Z", 0.0),
        ("2024-01-17T23:00:00Z", 2.0),
        ("2024-01-18T01:00:00Z", 0.0),
    ] {
        assert!(feed(&mut m, obs(ms(at), rain)).is_empty(), "{at}");
    }
    // The end of quiet hours passes unnoticed until the next observation: it sends then.
    let sent = feed(&mut m, obs(ms("2024-01-18T08:00:00Z"), 0.0));
    assert_eq!(texts(&sent), ["✅ No more rain in Catania, IT"]);
    assert_eq!(sent[0].dedup_key, format!("weather:s1:rain:cleared:{}", ms("2024-01-18T01:00:00Z")));
    // Night 4: rain at 21:00 in Rome, before quiet hours, is told at once; it stops and starts
    // again inside, so nothing changed by the end.
    assert_eq!(feed(&mut m, obs(ms("2024-01-18T20:00:00Z"), 1.0)).len(), 1);
    assert!(feed(&mut m, obs(ms("2024-01-18T22:00:00Z"), 0.0)).is_empty());
    assert!(feed(&mut m, obs(ms("2024-01-19T02:00:00Z"), 1.0)).is_empty());
    assert_eq!(texts(&advance(&mut m, ms("2024-01-19T06:00:00Z"))), Vec::<&str>::new());
}

#[test]
fn a_late_observation_keys_by_its_own_time_and_sends_at_the_clock() {
    let mut m = matcher(no_cooldown(), vec![Constraint::Rain]);
    assert!(advance(&mut m, T0 + 10 * MIN).is_empty());
    let sent = feed(&mut m, obs(T0 + 2 * MIN, 1.0));
    assert_eq!(sent[0].at_ms, T0 + 10 * MIN, "time never goes back");
    assert_eq!(sent[0].dedup_key, format!("weather:s1:rain:alert:{}", T0 + 2 * MIN));
}

#[test]
fn messages_wait_for_a_linked_chat() {
    let mut m = matcher(UserSettings::new("u1", None).with_cooldown_ms(0), vec![Constraint::Rain]);
    assert!(feed(&mut m, obs(T0, 1.0)).is_empty());
    assert_eq!((m.waiting(), m.next_wakeup()), (1, None));
    m.remove_user("u1");
    assert!(advance(&mut m, T0 + MIN).is_empty(), "an unknown user cannot be told either");
    m.upsert_user(no_cooldown());
    let sent = advance(&mut m, T0 + 2 * MIN);
    assert_eq!(texts(&sent), ["🌧 Rain in Catania, IT: 1 mm/h, 14.2 °C"]);
    assert_eq!(sent[0].dedup_key, format!("weather:s1:rain:alert:{T0}"));
}

#[test]
fn updates_keep_the_state_of_kept_constraints_and_deletes_forget() {
    let mut m = matcher(no_cooldown(), vec![Constraint::Rain]);
    assert_eq!(feed(&mut m, obs(T0, 1.0)).len(), 1);
    assert!(
        !m.upsert_subscription(subscription("s1", 1, vec![Constraint::Snow])),
        "same revision: ignored"
    );
    assert!(m.upsert_subscription(subscription("s1", 2, vec![Constraint::Rain, Constraint::TempBelow(20.0)])));
    let sent = feed(&mut m, obs(T0 + 10 * MIN, 1.0));
    assert_eq!(
        texts(&sent),
        ["🥶 14.2 °C in Catania, IT, below 20 °C (feels like 13.6 °C)"],
        "the new constraint fires, the kept one does not repeat"
    );
    // Moving the subscription to another city starts over, silently.
    let mut palermo = subscription("s1", 3, vec![Constraint::Rain]).to_spec();
    palermo.city_name = Some("Palermo".into());
    assert!(m.upsert_subscription(Subscription::new(palermo).unwrap()));
    assert_eq!(m.cities().map(|c| c.as_str()).collect::<Vec<_>>(), ["name:it:palermo"]);
    assert!(feed(&mut m, obs(T0 + 20 * MIN, 0.0)).is_empty(), "Catania is no longer watched");
    assert!(m.remove_subscription("s1"));
    assert!(!m.remove_subscription("s1"));
    assert_eq!(m.cities().count(), 0);
}

#[test]
fn a_restored_state_repeats_nothing() {
    let mut before = matcher(no_cooldown(), vec![Constraint::Rain]);
    assert_eq!(feed(&mut before, obs(T0, 1.0)).len(), 1);
    let saved = before.state("s1").unwrap();
    assert_eq!(saved.watches.len(), 1);

    let mut after = matcher(no_cooldown(), vec![Constraint::Rain]);
    assert!(after.restore("s1", saved));
    assert!(!after.restore("nope", Default::default()));
    assert!(feed(&mut after, obs(T0, 1.0)).is_empty(), "the redelivered observation is stale");
    assert!(
        feed(&mut after, obs(T0 + 10 * MIN, 1.0)).is_empty(),
        "no second alert after the restart"
    );
    let cleared_after = feed(&mut after, obs(T0 + 20 * MIN, 0.0));
    feed(&mut before, obs(T0 + 10 * MIN, 1.0));
    let cleared_before = feed(&mut before, obs(T0 + 20 * MIN, 0.0));
    assert_eq!(cleared_after.len(), 1);
    assert_eq!(cleared_after[0].dedup_key, cleared_before[0].dedup_key);
    assert_eq!(cleared_after[0].text, cleared_before[0].text);
}

/// A small deterministic generator (64-bit LCG), so failures replay.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[test]
fn random_weather_keeps_the_invariants() {
    let constraints = vec![Constraint::Rain, Constraint::TempBelow(10.0)];
    for seed in 0..40u64 {
        let mut rng = Lcg(seed);
        let cooldown = [0, 30 * MIN, 90 * MIN][(seed % 3) as usize];
        let quiet = seed % 2 == 1;
        let mut user = UserSettings::new("u1", Some(CHAT)).with_cooldown_ms(cooldown);
        if quiet {
            user = user
                .with_time_zone("America/New_York")
                .unwrap()
                .with_quiet_hours(Some("23:00-06:30".parse().unwrap()));
        }
        let mut m = matcher(user.clone(), constraints.clone());
        let (mut raining, mut cold) = (false, false);
        let mut truth: Vec<(i64, [bool; 2])> = Vec::new();
        let mut sent = Vec::new();
        let mut held = false;
        let mut at = ms("2024-03-09T00:00:00Z");
        for _ in 0..600 {
            at += (5 + rng.next() % 20) as i64 * MIN;
            raining ^= rng.chance(15);
            cold ^= rng.chance(10);
            let mut o = obs(at, if raining { 1.5 } else { 0.0 });
            o.temperature_c = if cold { 3.0 } else { 15.0 };
            m.observe(&o, &mut sent);
            truth.push((at, [raining, cold]));
            if rng.chance(20) {
                m.advance(at + MIN, &mut sent);
            }
            held |= m.waiting() > 0;
        }
        assert!(sent.len() > 20, "seed {seed}: only {} messages", sent.len());
        assert_eq!(held, cooldown > 0 || quiet, "seed {seed}: messages held");
        // Hour by hour for a day: every held message goes out.
        for hour in 1..=24 {
            m.advance(at + hour * 60 * MIN, &mut sent);
        }
        assert_eq!(m.waiting(), 0, "seed {seed}");
        let mut alerts: Vec<&NotificationEvent> = Vec::new();
        for (i, constraint) in constraints.iter().enumerate() {
            let mine: Vec<&NotificationEvent> = sent
                .iter()
                .filter(|n| n.dedup_key.contains(&format!(":{}:", constraint.key())))
                .collect();
            // Alert, cleared, alert, ...: never two of a kind in a row.
            for (j, n) in mine.iter().enumerate() {
                let expected = if j % 2 == 0 { "weather_alert" } else { "weather_cleared" };
                assert_eq!(n.kind, expected, "seed {seed}, {constraint}, message {j}");
            }
            // In the end the user knows the final truth.
            let told = mine.last().is_some_and(|n| n.kind == "weather_alert");
            assert_eq!(told, truth.last().unwrap().1[i], "seed {seed}, {constraint}");
            // No key twice.
            let mut keys: Vec<&str> = mine.iter().map(|n| n.dedup_key.as_str()).collect();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), mine.len(), "seed {seed}");
            if cooldown == 0 && !quiet {
                // Without cooldown or quiet hours the messages are exactly the changes of truth.
                let mut changes = 0;
                let mut previous = false;
                for (_, holds) in &truth {
                    changes += usize::from(holds[i] != previous);
                    previous = holds[i];
                }
                assert_eq!(mine.len(), changes, "seed {seed}, {constraint}");
            }
            alerts.extend(mine.iter().filter(|n| n.kind == "weather_alert"));
        }
        for n in &sent {
            assert_eq!(
                user.quiet_until(n.at_ms),
                None,
                "seed {seed}: sent during quiet hours at {}",
                n.at_ms
            );
        }
        alerts.sort_by_key(|n| n.at_ms);
        let times: Vec<i64> = alerts.iter().map(|n| n.at_ms).collect();
        for pair in times.windows(2) {
            assert!(
                pair[1] == pair[0] || pair[1] - pair[0] >= cooldown,
                "seed {seed}: alerts at {pair:?} within the cooldown"
            );
        }
    }
}
