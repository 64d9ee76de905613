//! Acceptance, pure part: four years of Seattle weather (shared/data/weather/seattle-weather.csv,
//! NOAA daily data as shipped by vega_datasets) replayed as one ingest JSON record per day at
//! 12:00 UTC — temperature = temp_min, rain = precipitation when it is above zero (snow instead
//! when the weather column says snow), wind — through the ingest parser and the matcher, for the
//! subscriptions "rain" and "temperature below 0 °C", without cooldown or quiet hours. The
//! notifications must be exactly what a count straight from the CSV predicts: one alert on the
//! first day of every maximal run of days on which the constraint holds, one "cleared" on the
//! day after every run that ends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use vane_core::time::parse_rfc3339;
use vane_weather::{Constraint, Matcher, Subscription, SubscriptionSpec, UserSettings, observation_from_json};

const CHAT: i64 = 4242;

struct Day {
    noon_ms: i64,
    precipitation: f64,
    temp_min: f64,
    wind: f64,
    weather: String,
}

/// The CSV, read with nothing but `split(',')`: `date,precipitation,temp_max,temp_min,wind,weather`.
fn days() -> Vec<Day> {
    // A copy of the team's shared data (shared/data/weather), so that a fresh clone has it.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/seattle-weather.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("date,precipitation,temp_max,temp_min,wind,weather"));
    let mut days = Vec::new();
    for line in lines {
        let cols: Vec<&str> = line.split(',').collect();
        assert_eq!(cols.len(), 6, "{line}");
        days.push(Day {
            noon_ms: parse_rfc3339(&format!("{}T12:00:00Z", cols[0].replace('/', "-"))).unwrap(),
            precipitation: cols[1].parse().unwrap(),
            temp_min: cols[3].parse().unwrap(),
            wind: cols[4].parse().unwrap(),
            weather: cols[5].to_string(),
        });
    }
    days
}

/// The record an outside producer would write to `vane.weather.ingest` for the day.
fn ingest_record(day: &Day) -> String {
    let wet = day.precipitation > 0.0;
    let snow = wet && day.weather == "snow";
    let mut fields = vec![
        r#""city":"Seattle","country":"US""#.to_string(),
        format!(r#""time":{}"#, day.noon_ms / 1000),
        format!(r#""temperature":{}"#, day.temp_min),
        format!(r#""wind":{}"#, day.wind),
        format!(r#""conditions":["{}"]"#, day.weather),
    ];
    if wet {
        fields.push(format!(r#""{}":{}"#, if snow { "snow" } else { "rain" }, day.precipitation));
    }
    format!("{{{}}}", fields.join(","))
}

/// One alert per start of a run of `true`, one "cleared" per end, at the day it happens.
fn expected(days: &[Day], holds: impl Fn(&Day) -> bool) -> Vec<(&'static str, i64)> {
    let mut messages = Vec::new();
    let mut previous = false;
    for day in days {
        let now = holds(day);
        if now && !previous {
            messages.push(("weather_alert", day.noon_ms));
        }
        if !now && previous {
            messages.push(("weather_cleared", day.noon_ms));
        }
        previous = now;
    }
    messages
}

fn subscription(id: &str, constraint: Constraint) -> Subscription {
    Subscription::new(SubscriptionSpec {
        id: id.into(),
        user_id: "seattle-user".into(),
        city_name: Some("Seattle".into()),
        country: Some("US".into()),
        constraints: vec![constraint],
        revision: 1,
        ..SubscriptionSpec::default()
    })
    .unwrap()
}

#[test]
fn seattle_notifications_match_the_runs_in_the_csv() {
    let days = days();
    assert_eq!(days.len(), 1461, "2012-01-01 to 2015-12-31");
    let mut matcher = Matcher::new();
    matcher.upsert_user(UserSettings::new("seattle-user", Some(CHAT)).with_cooldown_ms(0));
    matcher.upsert_subscription(subscription("rain", Constraint::Rain));
    matcher.upsert_subscription(subscription("frost", "temp<0".parse().unwrap()));

    let mut sent = Vec::new();
    for day in &days {
        let observation = observation_from_json(ingest_record(day).as_bytes()).unwrap();
        let applied = matcher.observe(&observation, &mut sent);
        assert_eq!((applied.subscriptions, applied.stale), (2, 0));
    }
    assert_eq!(matcher.waiting(), 0);

    let of = |id: &str| -> Vec<(&'static str, i64)> {
        let mine = sent.iter().filter(|n| n.subject_id == id);
        mine.map(|n| {
            (
                if n.kind == "weather_alert" {
                    "weather_alert"
                } else {
                    "weather_cleared"
                },
                n.at_ms,
            )
        })
        .collect()
    };
    let rain = expected(&days, |d| d.precipitation > 0.0 && d.weather != "snow");
    let frost = expected(&days, |d| d.temp_min < 0.0);
    assert_eq!(of("rain"), rain);
    assert_eq!(of("frost"), frost);

    // The numbers, as counted from the CSV by hand (awk) when the test was written.
    let count = |list: &[(&str, i64)], kind: &str| list.iter().filter(|(k, _)| *k == kind).count();
    println!(
        "rain: {} alerts, {} cleared; frost: {} alerts, {} cleared",
        count(&rain, "weather_alert"),
        count(&rain, "weather_cleared"),
        count(&frost, "weather_alert"),
        count(&frost, "weather_cleared")
    );
    assert_eq!((count(&rain, "weather_alert"), count(&rain, "weather_cleared")), RAIN_RUNS);
    assert_eq!((count(&frost, "weather_alert"), count(&frost, "weather_cleared")), FROST_RUNS);

    // Every message is addressed, keyed and worded as the matcher promises.
    for n in &sent {
        assert_eq!(
            (n.recipient.as_str(), n.chat_id, n.source.as_str()),
            ("telegram:4242", CHAT, "weather")
        );
        let kind = if n.kind == "weather_alert" { "alert" } else { "cleared" };
        let key = if n.subject_id == "rain" { "rain" } else { "temp_below:0" };
        assert_eq!(n.dedup_key, format!("weather:{}:{key}:{kind}:{}", n.subject_id, n.at_ms));
    }
    let first_rain = sent.iter().find(|n| n.subject_id == "rain").unwrap();
    assert_eq!(first_rain.text, "🌧 Rain in Seattle, US: 10.9 mm/h, 2.8 °C", "2012-01-02");
    let first_frost = sent.iter().find(|n| n.subject_id == "frost").unwrap();
    assert!(
        first_frost.text.starts_with("🥶 ") && first_frost.text.ends_with("in Seattle, US, below 0 °C"),
        "{}",
        first_frost.text
    );
}

/// (runs, runs that end) of rain days (precipitation > 0, weather not snow) in the CSV, counted
/// with awk: every rain run ends before 2015-12-31.
const RAIN_RUNS: (usize, usize) = (208, 208);
/// The same for days with temp_min < 0: the last run is still going on 2015-12-31 (-2.1 °C).
const FROST_RUNS: (usize, usize) = (23, 22);
