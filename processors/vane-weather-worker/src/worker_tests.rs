//! Tests of the matcher worker's processor: batches as the runner runs them, restores, table
//! changes through the channel, users read from their events.

use vane_events::{Envelope, User};
use vane_weather::{Constraint, SubscriptionSpec};

use super::*;

const T0: i64 = 1_700_000_000_000;

fn rain_in_catania() -> Subscription {
    Subscription::new(SubscriptionSpec {
        id: "s1".into(),
        user_id: "u1".into(),
        city_name: Some("Catania".into()),
        country: Some("IT".into()),
        constraints: vec![Constraint::Rain],
        revision: 1,
        ..SubscriptionSpec::default()
    })
    .unwrap()
}

fn record(topic: &str, value: Vec<u8>) -> Record {
    Record {
        topic: topic.into(),
        partition: 0,
        offset: 0,
        timestamp_ms: 0,
        key: None,
        value,
        headers: Vec::new(),
    }
}

fn observation(at_ms: i64, rain: Option<f64>) -> Record {
    let event = WeatherObservationEvent {
        envelope: Envelope::new(at_ms, at_ms, "test"),
        city_id: "name:it:catania".into(),
        city: "Catania".into(),
        country: Some("IT".into()),
        lat: None,
        lon: None,
        observed_at_ms: at_ms,
        temperature_c: 14.2,
        feels_like_c: None,
        humidity_pct: None,
        wind_ms: None,
        rain_mm_1h: rain,
        snow_mm_1h: None,
        conditions: Vec::new(),
    };
    record(topics::WEATHER_OBSERVATIONS, Codec::new().unwrap().encode(&event))
}

fn processor() -> WeatherMatcherProcessor {
    let mut processor = WeatherMatcherProcessor::new(MatcherConfig::default()).unwrap();
    processor.apply(TableChange::Subscription(rain_in_catania()));
    processor.apply(TableChange::User(UserSettings::new("u1", Some(42)).with_cooldown_ms(0)));
    processor
}

/// Runs one batch of records through the processor as the runner does.
fn batch(processor: &mut WeatherMatcherProcessor, records: &[Record]) -> Vec<OutRecord> {
    let mut out = Vec::new();
    for record in records {
        processor.process(record, T0, &mut out).unwrap();
    }
    processor.end_batch(T0, &mut out);
    out
}

fn on(out: &[OutRecord], topic: &str) -> usize {
    out.iter().filter(|r| r.topic == topic).count()
}

#[test]
fn notifications_and_state_go_out_together_and_a_restore_repeats_nothing() {
    let mut first = processor();
    let out = batch(&mut first, &[observation(T0, Some(2.5))]);
    assert_eq!(on(&out, topics::NOTIFICATIONS), 1, "{out:?}");
    assert_eq!(out[0].key, b"telegram:42");
    let states: Vec<Record> = out
        .iter()
        .filter(|r| r.topic == topics::WEATHER_STATE)
        .map(|r| record(topics::WEATHER_STATE, r.value.clone()))
        .collect();
    assert_eq!(states.len(), 1);
    assert_eq!(on(&batch(&mut first, &[observation(T0, Some(2.5))]), topics::NOTIFICATIONS), 0);

    // A new worker restores the changelog: the redelivered batch is stale, the end of the
    // rain is told once.
    let mut second = processor();
    assert!(second.restore(&states[0]).unwrap());
    let out = batch(&mut second, &[observation(T0, Some(2.5))]);
    assert_eq!(on(&out, topics::NOTIFICATIONS), 0, "{out:?}");
    let out = batch(&mut second, &[observation(T0 + 600_000, None)]);
    assert_eq!(on(&out, topics::NOTIFICATIONS), 1);
    assert_eq!(on(&out, topics::WEATHER_STATE), 1);

    // A deleted subscription's changelog entry is emptied.
    second.apply(TableChange::SubscriptionDeleted("s1".into()));
    let mut out = Vec::new();
    second.punctuate(T0 + 700_000, &mut out);
    assert_eq!(on(&out, topics::WEATHER_STATE), 1);
    let event = Codec::<WeatherStateEvent>::new().unwrap().decode(&out[0].value).unwrap();
    assert!(event.watches.is_empty() && event.latest.is_none());
}

#[test]
fn messages_wait_for_a_chat_sent_through_the_channel() {
    let mut processor = WeatherMatcherProcessor::new(MatcherConfig::default()).unwrap();
    processor.apply(TableChange::Subscription(rain_in_catania()));
    assert_eq!(on(&batch(&mut processor, &[observation(T0, Some(2.5))]), topics::NOTIFICATIONS), 0);
    processor
        .changes()
        .send(TableChange::User(UserSettings::new("u1", Some(7))))
        .unwrap();
    let mut out = Vec::new();
    processor.punctuate(T0 + 1_000, &mut out);
    assert_eq!(on(&out, topics::NOTIFICATIONS), 1, "{out:?}");
    assert_eq!(on(&out, topics::WEATHER_STATE), 1);
    let wrong = record(topics::WEATHER_INGEST, Vec::new());
    assert!(processor.process(&wrong, T0, &mut out).is_err());
    let garbage = record(topics::WEATHER_OBSERVATIONS, b"{}".to_vec());
    assert!(processor.process(&garbage, T0, &mut out).is_err());
}

#[test]
fn users_are_read_from_their_events() {
    let codec = Codec::<UserEvent>::new().unwrap();
    let user = User {
        id: "u1".into(),
        username: "ada".into(),
        chat_id: Some(42),
        time_zone: "Europe/Rome".into(),
        quiet_hours: Some("22:00-07:00".into()),
        cooldown_ms: 0,
        revision: 3,
        ..User::default()
    };
    let event = |change, user: User| {
        let event = UserEvent {
            envelope: Envelope::new(T0, T0, "api"),
            change,
            user,
        };
        record(topics::USERS, codec.encode(&event))
    };
    let Some(TableChange::User(settings)) = decode_user(&codec, &event(UserChange::SettingsChanged, user.clone())) else {
        panic!("not a user")
    };
    assert_eq!(settings.chat_id, Some(42));
    assert_eq!(settings.quiet_hours.map(|q| q.to_string()).as_deref(), Some("22:00-07:00"));
    assert_eq!(settings.cooldown_ms, 0);
    let odd = User {
        time_zone: "Mars/Olympus".into(),
        quiet_hours: Some("late".into()),
        ..user.clone()
    };
    let Some(TableChange::User(settings)) = decode_user(&codec, &event(UserChange::Registered, odd)) else {
        panic!("a user with odd settings must still get messages")
    };
    assert_eq!(settings.quiet_hours, None);
    assert!(matches!(
        decode_user(&codec, &event(UserChange::Deleted, user)),
        Some(TableChange::UserDeleted(id)) if id == "u1"
    ));
    assert!(decode_user(&codec, &record(topics::USERS, b"junk".to_vec())).is_none());
}
