#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Acceptance through the runtime: four years of Seattle weather (shared/data/weather/, copied
//! to processors/vane-weather/tests/data/) written to `vane.weather.ingest` as one JSON record per
//! day at 12:00 UTC (temperature = temp_min, rain = precipitation when above zero, snow instead
//! on snow days, wind), through the ingest role and the matcher worker on the embedded log, for
//! "rain" and "temperature below 0 °C". The notifications on `vane.notifications` must be what a
//! count straight from the CSV predicts: one alert per maximal run of days on which the
//! constraint holds, one "cleared" per run that ends (rain 208/208, frost 23/22).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{add_user, notifications, open_log, wait_for};
use tokio::sync::watch;
use vane_core::time::parse_rfc3339;
use vane_events::{Codec, SubscriptionChange};
use vane_stream::metrics::Metrics;
use vane_stream::runner::{self, SystemClock};
use vane_stream::{OutRecord, topics};
use vane_weather::{Constraint, Subscription, SubscriptionSpec};
use vane_weather_worker::{MatcherConfig, WeatherIngestProcessor, ingest, run_matcher};

struct Day {
    noon_s: i64,
    precipitation: f64,
    temp_min: f64,
    wind: f64,
    weather: String,
}

/// `date,precipitation,temp_max,temp_min,wind,weather`, read with `split(',')`.
fn days() -> Vec<Day> {
    // The copy kept with the core's tests (a fresh clone has no sibling shared/ folder).
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vane-weather/tests/data/seattle-weather.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut days = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let noon = format!("{}T12:00:00Z", cols[0].replace('/', "-"));
        days.push(Day {
            noon_s: parse_rfc3339(&noon).unwrap() / 1000,
            precipitation: cols[1].parse().unwrap(),
            temp_min: cols[3].parse().unwrap(),
            wind: cols[4].parse().unwrap(),
            weather: cols[5].to_string(),
        });
    }
    days
}

fn ingest_record(day: &Day) -> String {
    let wet = day.precipitation > 0.0;
    let snow = wet && day.weather == "snow";
    let mut fields = vec![
        r#""city":"Seattle","country":"US""#.to_string(),
        format!(r#""time":{}"#, day.noon_s),
        format!(r#""temperature":{}"#, day.temp_min),
        format!(r#""wind":{}"#, day.wind),
    ];
    if wet {
        fields.push(format!(r#""{}":{}"#, if snow { "snow" } else { "rain" }, day.precipitation));
    }
    format!("{{{}}}", fields.join(","))
}

/// ("alert" | "cleared", day in ms) at every start and end of a run of days on which `holds`.
fn expected(days: &[Day], holds: impl Fn(&Day) -> bool) -> Vec<(String, i64)> {
    let mut messages = Vec::new();
    let mut previous = false;
    for day in days {
        let now = holds(day);
        if now != previous {
            messages.push((if now { "alert" } else { "cleared" }.to_string(), day.noon_s * 1000));
        }
        previous = now;
    }
    messages
}

fn subscription(id: &str, constraint: Constraint) -> OutRecord {
    let subscription = Subscription::new(SubscriptionSpec {
        id: id.into(),
        user_id: "seattle-user".into(),
        city_name: Some("Seattle".into()),
        country: Some("US".into()),
        constraints: vec![constraint],
        revision: 1,
        ..SubscriptionSpec::default()
    })
    .unwrap();
    let event = subscription.to_event(SubscriptionChange::Created, 0, "test");
    OutRecord::new(topics::WEATHER_SUBSCRIPTIONS, id, Codec::new().unwrap().encode(&event), 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seattle_through_the_ingest_topic_gives_one_message_per_run_start_and_end() {
    let days = days();
    assert_eq!(days.len(), 1461);
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    log.send(&[
        subscription("rain", Constraint::Rain),
        subscription("frost", Constraint::TempBelow(0.0)),
    ])
    .await
    .unwrap();
    add_user(&log, "seattle-user", 4242).await;
    // One key for the city, as a producer replaying a city's history must use: records of one
    // key stay in order, and an observation older than one already applied is ignored.
    let records: Vec<OutRecord> = days
        .iter()
        .map(|day| OutRecord::new(topics::WEATHER_INGEST, "seattle", ingest_record(day).into_bytes(), 0))
        .collect();
    log.send(&records).await.unwrap();

    let (stop, shutdown) = watch::channel(false);
    let (ingest_log, ingest_shutdown) = (log.clone(), shutdown.clone());
    let ingest_task = tokio::spawn(async move {
        let processor = WeatherIngestProcessor::new().unwrap();
        let config = ingest::runner_config(ingest::GROUP);
        runner::run(ingest_log, config, processor, &SystemClock, &Metrics::new(), ingest_shutdown)
            .await
            .unwrap()
    });
    let (matcher_log, matcher_shutdown) = (log.clone(), shutdown.clone());
    let matcher_task = tokio::spawn(async move {
        run_matcher(
            matcher_log,
            MatcherConfig::default(),
            &SystemClock,
            &Metrics::new(),
            matcher_shutdown,
        )
        .await
        .unwrap()
    });

    let rain = expected(&days, |d| d.precipitation > 0.0 && d.weather != "snow");
    let frost = expected(&days, |d| d.temp_min < 0.0);
    let total = rain.len() + frost.len();
    assert_eq!(total, 208 + 208 + 23 + 22);
    wait_for("every notification", Duration::from_secs(120), || async {
        notifications(&log).await.len() >= total
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = notifications(&log).await;
    assert_eq!(sent.len(), total);
    // What each message reports, read back from its dedup key
    // `weather:<subscription>:<constraint>:<alert|cleared>:<ms>`.
    let of = |id: &str| -> Vec<(String, i64)> {
        let mut mine: Vec<(String, i64)> = sent
            .iter()
            .filter(|n| n.subject_id == id)
            .map(|n| {
                let parts: Vec<&str> = n.dedup_key.rsplitn(3, ':').collect();
                (parts[1].to_string(), parts[0].parse().unwrap())
            })
            .collect();
        mine.sort_by_key(|(_, at)| *at);
        mine
    };
    assert_eq!(of("rain"), rain);
    assert_eq!(of("frost"), frost);
    assert!(sent.iter().all(|n| n.recipient == "telegram:4242"));

    stop.send(true).unwrap();
    ingest_task.await.unwrap();
    matcher_task.await.unwrap();
}
