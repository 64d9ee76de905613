#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! The notifier end to end against a local fake of the Telegram Bot API (an HTTP server in the
//! test that answers like Telegram: getMe with the full bot user, sendMessage with a message,
//! 429 with `retry_after`, 400 `chat not found`) and the embedded log in a temp dir, through the
//! public `run` with teloxide's client.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vane_events::{Codec, DeliveryOutcome, Envelope, NotificationDeliveryEvent, NotificationEvent};
use vane_notifier::{BotToken, NotifierConfig, NotifierError, Sender, TelegramSender};
use vane_stream::embedded::{EmbeddedConfig, EmbeddedLog};
use vane_stream::metrics::Metrics;
use vane_stream::runner::SystemClock;
use vane_stream::topics::{self, TopicLayout};
use vane_stream::{Log, OutRecord};

const TOKEN: &str = "123456:TEST-token_for_the_fake";

/// How the fake answers a sendMessage.
#[derive(Debug, Clone, Copy)]
enum Reply {
    TooManyRequests { retry_after: u64 },
    ChatNotFound,
}

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    chat_id: i64,
    text: String,
    at: Instant,
}

#[derive(Default)]
struct FakeState {
    seen: Vec<Seen>,
    /// Scripted answers per chat, used up in order; `always` answers every request.
    scripted: HashMap<i64, VecDeque<Reply>>,
    always: HashMap<i64, Reply>,
    next_message_id: i64,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<FakeState>>);

impl Fake {
    fn script(&self, chat_id: i64, replies: Vec<Reply>) {
        self.0.lock().unwrap().scripted.insert(chat_id, replies.into());
    }

    fn always(&self, chat_id: i64, reply: Reply) {
        self.0.lock().unwrap().always.insert(chat_id, reply);
    }

    fn sent(&self) -> Vec<Seen> {
        self.0
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|s| s.method == "SendMessage")
            .cloned()
            .collect()
    }

    fn calls(&self, method: &str) -> usize {
        self.0.lock().unwrap().seen.iter().filter(|s| s.method == method).count()
    }
}

fn telegram_error(status: StatusCode, description: &str, parameters: Option<Value>) -> (StatusCode, String) {
    let mut body = json!({"ok": false, "error_code": status.as_u16(), "description": description});
    if let Some(parameters) = parameters {
        body["parameters"] = parameters;
    }
    (status, body.to_string())
}

async fn bot_api(State(fake): State<Fake>, Path((bot, method)): Path<(String, String)>, body: Bytes) -> (StatusCode, String) {
    if bot != format!("bot{TOKEN}") {
        return telegram_error(StatusCode::NOT_FOUND, "Not Found", None);
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let chat_id = request["chat_id"].as_i64().unwrap_or(0);
    let text = request["text"].as_str().unwrap_or("").to_string();
    let mut state = fake.0.lock().unwrap();
    state.seen.push(Seen {
        method: method.clone(),
        chat_id,
        text: text.clone(),
        at: Instant::now(),
    });
    match method.as_str() {
        "GetMe" => (
            StatusCode::OK,
            json!({"ok": true, "result": {
                "id": 123456, "is_bot": true, "first_name": "vane", "username": "vane_test_bot",
                "can_join_groups": true, "can_read_all_group_messages": false,
                "supports_inline_queries": false, "can_connect_to_business": false,
                "has_main_web_app": false
            }})
            .to_string(),
        ),
        "SendMessage" => {
            let scripted = state.scripted.get_mut(&chat_id).and_then(VecDeque::pop_front);
            match scripted.or_else(|| state.always.get(&chat_id).copied()) {
                Some(Reply::TooManyRequests { retry_after }) => telegram_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("Too Many Requests: retry after {retry_after}"),
                    Some(json!({"retry_after": retry_after})),
                ),
                Some(Reply::ChatNotFound) => telegram_error(StatusCode::BAD_REQUEST, "Bad Request: chat not found", None),
                None => {
                    state.next_message_id += 1;
                    let chat = if chat_id < 0 {
                        json!({"id": chat_id, "type": "group", "title": "ops"})
                    } else {
                        json!({"id": chat_id, "type": "private", "first_name": "Ada"})
                    };
                    let message = json!({
                        "message_id": state.next_message_id, "date": 1_700_000_000, "chat": chat,
                        "from": {"id": 123456, "is_bot": true, "first_name": "vane", "username": "vane_test_bot"},
                        "text": text
                    });
                    (StatusCode::OK, json!({"ok": true, "result": message}).to_string())
                }
            }
        }
        _ => telegram_error(StatusCode::NOT_FOUND, "Not Found: method not found", None),
    }
}

/// Serves the fake under `/tg/` and returns its base URL, with a trailing slash as a user might
/// write it.
async fn serve(fake: Fake) -> String {
    let app = Router::new().route("/tg/{bot}/{method}", post(bot_api)).with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/tg/")
}

fn config(api_url: &str, token: &str) -> NotifierConfig {
    let mut config = NotifierConfig::new(BotToken::new(token).unwrap());
    config.api_url = Some(api_url.to_string());
    config
}

fn notification(chat_id: i64, key: &str, text: &str) -> NotificationEvent {
    NotificationEvent {
        envelope: Envelope::new(1_700_000_000_000, 1_700_000_000_000, "weather"),
        recipient: format!("telegram:{chat_id}"),
        channel: "telegram".into(),
        chat_id,
        text: text.into(),
        dedup_key: key.into(),
        source: "weather".into(),
        subject_id: "sub-1".into(),
        kind: "rain".into(),
        severity: None,
        at_ms: 1_700_000_000_000,
    }
}

async fn open_log(dir: &std::path::Path) -> Log {
    let log = Log::Embedded(EmbeddedLog::open(EmbeddedConfig::new(dir)).unwrap());
    log.ensure_topics(&TopicLayout::default().specs()).await.unwrap();
    log
}

async fn publish(log: &Log, notifications: &[NotificationEvent]) {
    let codec = Codec::<NotificationEvent>::new().unwrap();
    let records: Vec<OutRecord> = notifications
        .iter()
        .map(|n| OutRecord::new(topics::NOTIFICATIONS, n.recipient.as_bytes(), codec.encode(n), n.at_ms))
        .collect();
    log.send(&records).await.unwrap();
}

async fn deliveries(log: &Log) -> Vec<NotificationDeliveryEvent> {
    let codec = Codec::<NotificationDeliveryEvent>::new().unwrap();
    let total: u64 = log.end_offsets(topics::NOTIFICATION_DELIVERIES).await.unwrap().iter().sum();
    let mut consumer = log.consumer(None, &[topics::NOTIFICATION_DELIVERIES]).unwrap();
    let mut out = Vec::new();
    while (out.len() as u64) < total {
        let records = consumer.poll(1000, Duration::from_millis(100)).await.unwrap();
        assert!(!records.is_empty());
        out.extend(records.iter().map(|r| codec.decode(&r.value).unwrap()));
    }
    out
}

async fn wait_for_deliveries(log: &Log, count: usize) -> Vec<NotificationDeliveryEvent> {
    for _ in 0..300 {
        let found = deliveries(log).await;
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {count} deliveries after 15 s: {:?}", deliveries(log).await);
}

struct Notifier {
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), NotifierError>>,
}

fn start(log: &Log, config: NotifierConfig) -> Notifier {
    let (stop, stopping) = watch::channel(false);
    let log = log.clone();
    let task = tokio::spawn(async move { vane_notifier::run(log, config, &SystemClock, &Metrics::new(), stopping).await });
    Notifier { stop, task }
}

impl Notifier {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the notifier stops within 10 s")
            .unwrap()
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_dedup_key_is_sent_once_across_duplicates_and_a_restart() {
    let fake = Fake::default();
    let url = serve(fake.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    let rain = notification(100, "weather:sub-1:rain:start:1", "Rain in Catania: 2.5 mm/h");
    let wind = notification(-101, "weather:sub-2:wind:start:1", "Wind in Seattle: 16 m/s");
    // The same notification twice on the topic (a producer's retried write).
    publish(&log, &[rain.clone(), rain.clone(), wind]).await;
    let notifier = start(&log, config(&url, TOKEN));
    let first = wait_for_deliveries(&log, 2).await;
    notifier.stop().await;
    assert!(first.iter().all(|d| d.outcome == DeliveryOutcome::Delivered), "{first:?}");

    // After a restart: the duplicate again (as after a crash before the commit) and a new one.
    let cleared = notification(100, "weather:sub-1:rain:clear:2", "Rain in Catania stopped");
    publish(&log, &[rain, cleared]).await;
    let notifier = start(&log, config(&url, TOKEN));
    let all = wait_for_deliveries(&log, 3).await;
    // Time for a wrongly repeated send to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    notifier.stop().await;

    let mut texts: Vec<String> = fake.sent().into_iter().map(|s| s.text).collect();
    texts.sort();
    assert_eq!(
        texts,
        vec!["Rain in Catania stopped", "Rain in Catania: 2.5 mm/h", "Wind in Seattle: 16 m/s"]
    );
    assert_eq!(deliveries(&log).await.len(), 3, "{all:?}");
    let mut keys: Vec<&str> = all.iter().map(|d| d.dedup_key.as_str()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3);
    assert!(
        all.iter()
            .all(|d| d.outcome == DeliveryOutcome::Delivered && d.attempt == 1 && d.parts == 1)
    );
    let wind_delivery = all.iter().find(|d| d.dedup_key == "weather:sub-2:wind:start:1").unwrap();
    assert_eq!(wind_delivery.recipient, "telegram:-101");
    // getMe at each start checked the token, and teloxide took the fake's bot user.
    assert_eq!(fake.calls("GetMe"), 2);
    let sender = TelegramSender::new(&config(&url, TOKEN)).unwrap();
    assert_eq!(sender.bot_name().await.unwrap(), "vane_test_bot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_honoured_before_the_retry() {
    let fake = Fake::default();
    fake.script(200, vec![Reply::TooManyRequests { retry_after: 1 }]);
    let url = serve(fake.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    publish(&log, &[notification(200, "k-429", "CPU over 90% on web-1")]).await;
    let notifier = start(&log, config(&url, TOKEN));
    let found = wait_for_deliveries(&log, 1).await;
    notifier.stop().await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|s| s.chat_id == 200 && s.text == "CPU over 90% on web-1"));
    let waited = sent[1].at.duration_since(sent[0].at);
    assert!(waited >= Duration::from_secs(1), "retried after {waited:?}, before retry_after");
    assert_eq!(
        (found[0].outcome, found[0].attempt, found[0].parts),
        (DeliveryOutcome::Delivered, 2, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5000_character_text_is_sent_as_two_messages() {
    let fake = Fake::default();
    let url = serve(fake.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    // 50 lines of 99 characters and a line break.
    let text: String = (0..50)
        .map(|i| format!("{:<99}\n", format!("series {i}: value out of range")))
        .collect();
    assert_eq!(text.chars().count(), 5000);
    publish(&log, &[notification(300, "k-long", &text)]).await;
    let notifier = start(&log, config(&url, TOKEN));
    let found = wait_for_deliveries(&log, 1).await;
    notifier.stop().await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|s| s.chat_id == 300 && s.text.encode_utf16().count() <= 4096));
    // Cut at a line break, which is dropped; nothing else is lost or reordered.
    assert_eq!(format!("{}\n{}", sent[0].text, sent[1].text), text);
    // One message per second in a chat.
    assert!(sent[1].at.duration_since(sent[0].at) >= Duration::from_secs(1));
    assert_eq!(
        (found[0].outcome, found[0].attempt, found[0].parts),
        (DeliveryOutcome::Delivered, 2, 2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_not_found_is_one_failed_delivery_without_retry() {
    let fake = Fake::default();
    fake.always(404, Reply::ChatNotFound);
    let url = serve(fake.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    publish(
        &log,
        &[notification(404, "k-lost", "to nowhere"), notification(405, "k-ok", "fine")],
    )
    .await;
    let notifier = start(&log, config(&url, TOKEN));
    let found = wait_for_deliveries(&log, 2).await;
    // Time for a wrong retry (the first backoff is 1 s) to show up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    notifier.stop().await;
    let to_404: Vec<Seen> = fake.sent().into_iter().filter(|s| s.chat_id == 404).collect();
    assert_eq!(to_404.len(), 1, "{to_404:?}");
    let lost = found.iter().find(|d| d.dedup_key == "k-lost").unwrap();
    assert_eq!(lost.outcome, DeliveryOutcome::Failed);
    assert_eq!(lost.reason.as_deref(), Some("Bad Request: chat not found"));
    assert_eq!((lost.attempt, lost.parts), (1, 0));
    assert_eq!(deliveries(&log).await.len(), 2);
    let ok = found.iter().find(|d| d.dedup_key == "k-ok").unwrap();
    assert_eq!(ok.outcome, DeliveryOutcome::Delivered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_telegram_does_not_know_stops_the_start() {
    let fake = Fake::default();
    let url = serve(fake.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    let (_stop, stopping) = watch::channel(false);
    let result = vane_notifier::run(log, config(&url, "999:unknown"), &SystemClock, &Metrics::new(), stopping).await;
    let error = result.unwrap_err();
    assert!(matches!(error, NotifierError::Token(_)), "{error}");
    assert!(!error.to_string().contains("999:unknown"), "{error}");
}
