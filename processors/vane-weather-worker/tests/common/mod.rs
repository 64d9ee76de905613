//! Shared by the integration tests: the embedded log in a temp dir, a local fake of
//! OpenWeatherMap's current-weather API (an axum server answering like the provider: the
//! weather of a city, `cod` 404 for a city it does not know, 500 when told to), and helpers to
//! write subscriptions and users and read topics back.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;
use vane_events::{Codec, Envelope, NotificationEvent, SubscriptionChange, User, UserChange, UserEvent};
use vane_stream::embedded::{EmbeddedConfig, EmbeddedLog};
use vane_stream::global::read_to_end;
use vane_stream::topics::{self, TopicLayout};
use vane_stream::{Log, OutRecord, Record};
use vane_weather::{Constraint, Subscription, SubscriptionSpec};

pub const KEY: &str = "test-key";

/// How the fake answers about one city.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Rain(f64),
    Dry,
    Status(u16),
    NotFound,
}

#[derive(Default)]
struct FakeState {
    /// (the `q` asked, when).
    seen: Vec<(String, Instant)>,
    scripted: HashMap<String, VecDeque<Answer>>,
    always: HashMap<String, Answer>,
    answers: i64,
}

/// The fake provider; `q` values are `Name,CC` as the poller asks.
#[derive(Clone, Default)]
pub struct FakeWeather(Arc<Mutex<FakeState>>);

impl FakeWeather {
    pub fn always(&self, q: &str, answer: Answer) {
        self.0.lock().unwrap().always.insert(q.to_string(), answer);
    }

    pub fn script(&self, q: &str, answers: Vec<Answer>) {
        self.0.lock().unwrap().scripted.insert(q.to_string(), answers.into());
    }

    pub fn requests(&self, q: &str) -> Vec<Instant> {
        self.0
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|(s, _)| s == q)
            .map(|(_, at)| *at)
            .collect()
    }

    /// Starts the server on a free local port; returns its base URL.
    pub async fn serve(&self) -> String {
        let app = Router::new().route("/data/2.5/weather", get(weather)).with_state(self.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }
}

async fn weather(State(fake): State<FakeWeather>, Query(query): Query<HashMap<String, String>>) -> (StatusCode, String) {
    if query.get("appid").map(String::as_str) != Some(KEY) || query.get("units").map(String::as_str) != Some("metric") {
        return (
            StatusCode::UNAUTHORIZED,
            json!({"cod": 401, "message": "Invalid API key"}).to_string(),
        );
    }
    let q = query.get("q").cloned().unwrap_or_default();
    let mut state = fake.0.lock().unwrap();
    state.seen.push((q.clone(), Instant::now()));
    let scripted = state.scripted.get_mut(&q).and_then(VecDeque::pop_front);
    let answer = scripted.or_else(|| state.always.get(&q).copied()).unwrap_or(Answer::NotFound);
    state.answers += 1;
    let dt = 1_700_000_000 + state.answers * 600;
    let name = q.split(',').next().unwrap_or_default().to_string();
    match answer {
        Answer::Status(code) => (StatusCode::from_u16(code).unwrap(), "<html>upstream trouble</html>".to_string()),
        Answer::NotFound => (
            StatusCode::NOT_FOUND,
            json!({"cod": "404", "message": "city not found"}).to_string(),
        ),
        Answer::Rain(mm) => (
            StatusCode::OK,
            json!({"coord": {"lat": 37.5, "lon": 15.08}, "weather": [{"main": "Rain"}],
                   "main": {"temp": 14.2, "feels_like": 13.6, "humidity": 82},
                   "wind": {"speed": 4.1}, "rain": {"1h": mm}, "dt": dt,
                   "sys": {"country": "IT"}, "name": name, "cod": 200})
            .to_string(),
        ),
        Answer::Dry => (
            StatusCode::OK,
            json!({"coord": {"lat": 37.5, "lon": 15.08}, "weather": [{"main": "Clear"}],
                   "main": {"temp": 16.0, "feels_like": 15.2, "humidity": 60},
                   "wind": {"speed": 2.0}, "dt": dt, "sys": {"country": "IT"}, "name": name, "cod": 200})
            .to_string(),
        ),
    }
}

pub async fn open_log(dir: &std::path::Path) -> Log {
    let log = Log::Embedded(EmbeddedLog::open(EmbeddedConfig::new(dir)).unwrap());
    log.ensure_topics(&TopicLayout::default().specs()).await.unwrap();
    log
}

/// A rain subscription in an Italian city.
pub async fn subscribe(log: &Log, id: &str, user: &str, city: &str, revision: i64) {
    let subscription = Subscription::new(SubscriptionSpec {
        id: id.into(),
        user_id: user.into(),
        city_name: Some(city.into()),
        country: Some("IT".into()),
        constraints: vec![Constraint::Rain],
        revision,
        ..SubscriptionSpec::default()
    })
    .unwrap();
    let event = subscription.to_event(SubscriptionChange::Created, 1_700_000_000_000, "test");
    let codec = Codec::new().unwrap();
    log.send(&[OutRecord::new(topics::WEATHER_SUBSCRIPTIONS, id, codec.encode(&event), 0)])
        .await
        .unwrap();
}

/// A user with a linked chat, no quiet hours and no cooldown.
pub async fn add_user(log: &Log, id: &str, chat_id: i64) {
    let event = UserEvent {
        envelope: Envelope::new(1_700_000_000_000, 1_700_000_000_000, "test"),
        change: UserChange::ChatLinked,
        user: User {
            id: id.into(),
            username: id.into(),
            chat_id: Some(chat_id),
            time_zone: "UTC".into(),
            cooldown_ms: 0,
            revision: 2,
            ..User::default()
        },
    };
    let codec = Codec::new().unwrap();
    log.send(&[OutRecord::new(topics::USERS, id, codec.encode(&event), 0)])
        .await
        .unwrap();
}

/// Everything on a topic now.
pub async fn read(log: &Log, topic: &str) -> Vec<Record> {
    let mut records = Vec::new();
    read_to_end(log, topic, |r| records.push(r.clone())).await.unwrap();
    records
}

pub async fn notifications(log: &Log) -> Vec<NotificationEvent> {
    let codec = Codec::<NotificationEvent>::new().unwrap();
    let mut out: Vec<NotificationEvent> = read(log, topics::NOTIFICATIONS)
        .await
        .iter()
        .map(|r| codec.decode(&r.value).unwrap())
        .collect();
    out.sort_by_key(|n| n.at_ms);
    out
}

/// Waits until `check` holds (polling), failing the test after `limit`.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
