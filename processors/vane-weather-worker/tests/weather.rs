#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! The weather runtime end to end on the embedded log in a temp dir, with a local fake of
//! OpenWeatherMap: the poller, the matcher worker (restarted in between) and the ingest role.

mod common;

use std::time::Duration;

use common::{Answer, FakeWeather, KEY, add_user, notifications, open_log, read, subscribe, wait_for};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vane_events::{Codec, Envelope, WeatherObservationEvent};
use vane_stream::dlq::DeadLetter;
use vane_stream::metrics::Metrics;
use vane_stream::runner::{self, SystemClock};
use vane_stream::topics;
use vane_stream::{Log, OutRecord};
use vane_weather_worker::{ApiKey, MatcherConfig, PollerConfig, WeatherIngestProcessor, run_matcher, run_poller};

const LIMIT: Duration = Duration::from_secs(30);

fn poller_config(base: &str, interval: Duration) -> PollerConfig {
    let mut config = PollerConfig::new(base, ApiKey::new(KEY));
    config.interval = interval;
    config.min_backoff = Duration::from_millis(100);
    config.max_backoff = Duration::from_secs(1);
    config.request_timeout = Duration::from_secs(5);
    config
}

fn spawn_poller(log: &Log, config: PollerConfig, metrics: Metrics, shutdown: &watch::Receiver<bool>) -> JoinHandle<()> {
    let (log, shutdown) = (log.clone(), shutdown.clone());
    tokio::spawn(async move { run_poller(log, config, &SystemClock, &metrics, shutdown).await.unwrap() })
}

fn spawn_matcher(log: &Log, group: &str, shutdown: &watch::Receiver<bool>) -> JoinHandle<()> {
    spawn_matcher_with(log, group, shutdown, Metrics::new())
}

fn spawn_matcher_with(log: &Log, group: &str, shutdown: &watch::Receiver<bool>, metrics: Metrics) -> JoinHandle<()> {
    let config = MatcherConfig {
        group: group.to_string(),
        punctuate_every: Duration::from_millis(100),
        ..MatcherConfig::default()
    };
    let (log, shutdown) = (log.clone(), shutdown.clone());
    tokio::spawn(async move { run_matcher(log, config, &SystemClock, &metrics, shutdown).await.unwrap() })
}

async fn count_notifications(log: &Log) -> usize {
    notifications(log).await.len()
}

#[tokio::test]
async fn rain_in_catania_alerts_once_and_clears_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    let fake = FakeWeather::default();
    fake.always("Catania,IT", Answer::Rain(2.5));
    let base = fake.serve().await;
    subscribe(&log, "s1", "u1", "Catania", 1).await;
    add_user(&log, "u1", 42).await;
    let (stop, shutdown) = watch::channel(false);
    let poller = spawn_poller(&log, poller_config(&base, Duration::from_millis(150)), Metrics::new(), &shutdown);
    let matcher = spawn_matcher(&log, "vane-weather-matcher", &shutdown);

    wait_for("the alert", LIMIT, || async { count_notifications(&log).await >= 1 }).await;
    // It keeps raining for several more polls: nothing more is sent.
    let polled = fake.requests("Catania,IT").len();
    wait_for("more polls", LIMIT, || async { fake.requests("Catania,IT").len() >= polled + 4 }).await;
    let observed = read(&log, topics::WEATHER_OBSERVATIONS).await.len();
    assert!(observed >= 4, "{observed} observations");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count_notifications(&log).await, 1);

    fake.always("Catania,IT", Answer::Dry);
    wait_for("the cleared message", LIMIT, || async { count_notifications(&log).await >= 2 }).await;
    let polled = fake.requests("Catania,IT").len();
    wait_for("more polls", LIMIT, || async { fake.requests("Catania,IT").len() >= polled + 4 }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = notifications(&log).await;
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert_eq!(sent[0].text, "🌧 Rain in Catania, IT: 2.5 mm/h, 14.2 °C");
    assert_eq!(sent[1].text, "✅ No more rain in Catania, IT");
    for message in &sent {
        assert_eq!(message.recipient, "telegram:42");
        assert_eq!(message.subject_id, "s1");
    }
    assert_ne!(sent[0].dedup_key, sent[1].dedup_key);
    assert!(!read(&log, topics::WEATHER_STATE).await.is_empty(), "the matcher's changelog");

    stop.send(true).unwrap();
    poller.await.unwrap();
    matcher.await.unwrap();
}

fn observation(at_s: i64, rain: Option<f64>) -> OutRecord {
    observation_in("Catania", at_s, rain)
}

fn observation_in(city: &str, at_s: i64, rain: Option<f64>) -> OutRecord {
    let at_ms = at_s * 1000;
    let city_id = format!("name:it:{}", city.to_lowercase());
    let event = WeatherObservationEvent {
        envelope: Envelope::new(at_ms, at_ms, "test"),
        city_id: city_id.clone(),
        city: city.into(),
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
    let codec = Codec::new().unwrap();
    OutRecord::new(topics::WEATHER_OBSERVATIONS, city_id.as_str(), codec.encode(&event), at_ms)
}

#[tokio::test]
async fn a_restart_of_the_matcher_sends_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    subscribe(&log, "s1", "u1", "Catania", 1).await;
    add_user(&log, "u1", 42).await;
    let (stop, shutdown) = watch::channel(false);
    let first = spawn_matcher(&log, "first", &shutdown);
    log.send(&[observation(1_700_000_000, Some(2.5))]).await.unwrap();
    wait_for("the alert", LIMIT, || async { count_notifications(&log).await >= 1 }).await;
    stop.send(true).unwrap();
    first.await.unwrap();

    // A redelivery and more rain while it is down; a new consumer group re-reads the whole
    // topic, as a crash before any commit would.
    log.send(&[observation(1_700_000_000, Some(2.5)), observation(1_700_000_600, Some(1.0))])
        .await
        .unwrap();
    let (stop, shutdown) = watch::channel(false);
    let second = spawn_matcher(&log, "second", &shutdown);
    log.send(&[observation(1_700_001_200, None)]).await.unwrap();
    wait_for("the cleared message", LIMIT, || async { count_notifications(&log).await >= 2 }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = notifications(&log).await;
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert!(sent[0].text.starts_with("🌧 Rain in Catania"), "{}", sent[0].text);
    assert!(sent[1].text.starts_with("✅ No more rain"), "{}", sent[1].text);
    stop.send(true).unwrap();
    second.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_that_moves_to_another_matcher_replica_keeps_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    let cities = ["Catania", "Rome", "Naples", "Milan", "Turin", "Bari", "Palermo", "Genoa"];
    for (i, city) in cities.iter().enumerate() {
        subscribe(&log, &format!("s{i}"), &format!("u{i}"), city, 1).await;
        add_user(&log, &format!("u{i}"), 100 + i as i64).await;
    }
    let (stop_first, first_shutdown) = watch::channel(false);
    let (stop_second, second_shutdown) = watch::channel(false);
    let second_metrics = Metrics::new();
    let first = spawn_matcher_with(&log, "shared", &first_shutdown, Metrics::new());
    let second = spawn_matcher_with(&log, "shared", &second_shutdown, second_metrics.clone());
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    // Rain everywhere: one alert per city, each from the replica that owns it.
    let rain: Vec<OutRecord> = cities.iter().map(|c| observation_in(c, 1_700_000_000, Some(2.5))).collect();
    log.send(&rain).await.unwrap();
    wait_for("one alert per city", LIMIT, || async {
        count_notifications(&log).await >= cities.len()
    })
    .await;
    let second_read = second_metrics
        .render()
        .lines()
        .find_map(|l| {
            l.strip_prefix("vane_records_in_total{role=\"weather-matcher\"} ")
                .map(|n| n.parse::<u64>().unwrap())
        })
        .unwrap_or(0);
    assert!(
        second_read > 0 && second_read < cities.len() as u64,
        "the second replica owned some cities: {second_read}"
    );

    // The second replica leaves; the first takes its cities with the state it kept on standby:
    // more rain sends nothing, the end of the rain one "cleared" per city.
    stop_second.send(true).unwrap();
    second.await.unwrap();
    let more: Vec<OutRecord> = cities.iter().map(|c| observation_in(c, 1_700_000_600, Some(1.0))).collect();
    log.send(&more).await.unwrap();
    let dry: Vec<OutRecord> = cities.iter().map(|c| observation_in(c, 1_700_001_200, None)).collect();
    log.send(&dry).await.unwrap();
    wait_for("one cleared per city", LIMIT, || async {
        count_notifications(&log).await >= 2 * cities.len()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = notifications(&log).await;
    assert_eq!(sent.len(), 2 * cities.len(), "{sent:#?}");
    assert_eq!(sent.iter().filter(|n| n.text.starts_with("🌧 Rain in")).count(), cities.len());
    assert_eq!(sent.iter().filter(|n| n.text.starts_with("✅ No more rain")).count(), cities.len());
    stop_first.send(true).unwrap();
    first.await.unwrap();
}

#[tokio::test]
async fn each_city_is_polled_once_per_interval_however_many_subscribers() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    let fake = FakeWeather::default();
    fake.always("Catania,IT", Answer::Rain(2.5));
    fake.always("Rome,IT", Answer::Dry);
    let base = fake.serve().await;
    subscribe(&log, "s1", "u1", "Catania", 1).await;
    subscribe(&log, "s2", "u2", "Catania", 1).await;
    subscribe(&log, "s3", "u3", "Rome", 1).await;
    let (stop, shutdown) = watch::channel(false);
    let poller = spawn_poller(&log, poller_config(&base, Duration::from_secs(3600)), Metrics::new(), &shutdown);
    wait_for("both cities", LIMIT, || async {
        read(&log, topics::WEATHER_OBSERVATIONS).await.len() >= 2
    })
    .await;
    // A third subscriber of a city already polled changes nothing.
    subscribe(&log, "s4", "u4", "catania", 1).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(fake.requests("Catania,IT").len(), 1);
    assert_eq!(fake.requests("Rome,IT").len(), 1);
    let mut keys: Vec<Vec<u8>> = read(&log, topics::WEATHER_OBSERVATIONS)
        .await
        .into_iter()
        .map(|r| r.key.unwrap())
        .collect();
    keys.sort();
    assert_eq!(keys, [b"name:it:catania".to_vec(), b"name:it:rome".to_vec()]);
    stop.send(true).unwrap();
    poller.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_poller_replicas_split_the_cities_and_poll_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    let fake = FakeWeather::default();
    let cities = ["Catania", "Rome", "Naples", "Milan", "Turin", "Bari", "Palermo", "Genoa"];
    for city in cities {
        fake.always(&format!("{city},IT"), Answer::Dry);
    }
    let base = fake.serve().await;
    let (stop, shutdown) = watch::channel(false);
    let (first, second) = (Metrics::new(), Metrics::new());
    let pollers = [
        spawn_poller(&log, poller_config(&base, Duration::from_secs(3600)), first.clone(), &shutdown),
        spawn_poller(&log, poller_config(&base, Duration::from_secs(3600)), second.clone(), &shutdown),
    ];
    // Both join the group before there is anything to poll.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for (i, city) in cities.iter().enumerate() {
        subscribe(&log, &format!("s{i}"), "u1", city, 1).await;
    }
    wait_for("every city", LIMIT, || async {
        read(&log, topics::WEATHER_OBSERVATIONS).await.len() >= cities.len()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    for city in cities {
        assert_eq!(fake.requests(&format!("{city},IT")).len(), 1, "{city} polled once by one replica");
    }
    let ok = |metrics: &Metrics| {
        let rendered = metrics.render();
        rendered
            .lines()
            .find_map(|line| line.strip_prefix("vane_weather_polls_total{outcome=\"ok\"} "))
            .map_or(0, |n| n.parse::<usize>().unwrap())
    };
    assert_eq!(ok(&first) + ok(&second), cities.len());
    assert!(
        ok(&first) > 0 && ok(&second) > 0,
        "both replicas polled: {} and {}",
        ok(&first),
        ok(&second)
    );
    stop.send(true).unwrap();
    for poller in pollers {
        poller.await.unwrap();
    }
}

#[tokio::test]
async fn server_errors_back_off_exponentially() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    let fake = FakeWeather::default();
    fake.script("Catania,IT", vec![Answer::Status(500), Answer::Status(503), Answer::Status(429)]);
    fake.always("Catania,IT", Answer::Rain(2.5));
    let base = fake.serve().await;
    subscribe(&log, "s1", "u1", "Catania", 1).await;
    let (stop, shutdown) = watch::channel(false);
    let metrics = Metrics::new();
    let poller = spawn_poller(&log, poller_config(&base, Duration::from_secs(3600)), metrics.clone(), &shutdown);
    wait_for("the observation after the errors", LIMIT, || async {
        !read(&log, topics::WEATHER_OBSERVATIONS).await.is_empty()
    })
    .await;
    let at = fake.requests("Catania,IT");
    assert_eq!(at.len(), 4, "three errors and one answer");
    // Waits of 100, 200 and 400 ms. Lower bounds (a loaded machine only makes them longer),
    // less a margin for the millisecond clock and the time the answer took to travel back.
    for (i, least_ms) in [90u64, 180, 360].iter().enumerate() {
        let gap = at[i + 1] - at[i];
        assert!(gap >= Duration::from_millis(*least_ms), "gap {i} was {gap:?}");
    }
    let rendered = metrics.render();
    assert!(
        rendered.contains("vane_weather_polls_total{outcome=\"transient_error\"} 3"),
        "{rendered}"
    );
    stop.send(true).unwrap();
    poller.await.unwrap();
}

#[tokio::test]
async fn malformed_ingest_records_go_to_the_dlq() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    let codec = Codec::<WeatherObservationEvent>::new().unwrap();
    let avro = codec.decode(&observation(1_700_000_000, Some(1.0)).value).unwrap();
    let good_json = br#"{"city": "Seattle", "country": "US", "time": "2012-01-02T12:00:00Z", "temperature": 2.8, "rain": 10.9}"#;
    let misspelt = br#"{"city": "Seattle", "country": "US", "time": 1325505600, "temprature": 2.8}"#;
    log.send(&[
        OutRecord::new(topics::WEATHER_INGEST, "k1", good_json.to_vec(), 0),
        OutRecord::new(topics::WEATHER_INGEST, "k2", b"not json at all".to_vec(), 0),
        OutRecord::new(topics::WEATHER_INGEST, "k3", misspelt.to_vec(), 0),
        OutRecord::new(topics::WEATHER_INGEST, "k4", codec.encode(&avro), 0),
    ])
    .await
    .unwrap();
    let (stop, shutdown) = watch::channel(false);
    let runner_log = log.clone();
    let ingest = tokio::spawn(async move {
        let config = vane_weather_worker::ingest::runner_config(vane_weather_worker::ingest::GROUP);
        let processor = WeatherIngestProcessor::new().unwrap();
        runner::run(runner_log, config, processor, &SystemClock, &Metrics::new(), shutdown)
            .await
            .unwrap()
    });
    wait_for("two observations and two dead letters", LIMIT, || async {
        read(&log, topics::WEATHER_OBSERVATIONS).await.len() >= 2 && read(&log, topics::DLQ).await.len() >= 2
    })
    .await;
    let mut keys: Vec<Vec<u8>> = read(&log, topics::WEATHER_OBSERVATIONS)
        .await
        .into_iter()
        .map(|r| r.key.unwrap())
        .collect();
    keys.sort();
    assert_eq!(keys, [b"name:it:catania".to_vec(), b"name:us:seattle".to_vec()]);
    let mut reasons: Vec<(Vec<u8>, String)> = read(&log, topics::DLQ)
        .await
        .into_iter()
        .map(|r| {
            let letter: DeadLetter = serde_json::from_slice(&r.value).unwrap();
            assert_eq!(letter.source_topic, topics::WEATHER_INGEST);
            (r.key.unwrap(), letter.reason)
        })
        .collect();
    reasons.sort();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(reasons[0].0, b"k2");
    assert!(reasons[0].1.contains("malformed JSON"), "{}", reasons[0].1);
    assert_eq!(reasons[1].0, b"k3");
    assert!(reasons[1].1.contains("temprature"), "{}", reasons[1].1);
    stop.send(true).unwrap();
    ingest.await.unwrap();
}
