//! The loop against a scripted sender and the embedded log: retries, giving up, shutdown in the
//! middle of a batch, dead letters, other channels, migrated groups, a refused token.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use vane_events::{Codec, DeliveryOutcome, Envelope, NotificationDeliveryEvent, NotificationEvent};
use vane_stream::embedded::{EmbeddedConfig, EmbeddedLog};
use vane_stream::metrics::Metrics;
use vane_stream::runner::SystemClock;
use vane_stream::topics::{self, TopicLayout};
use vane_stream::{Log, OutRecord};

use crate::{BotToken, NotifierConfig, NotifierError, RetryPolicy, SendError, Sender, run_with_sender};

type Script = HashMap<i64, VecDeque<Result<(), SendError>>>;

/// A sender that answers from a script per chat (then success) and notes every call.
#[derive(Clone, Default)]
struct Scripted {
    answers: Arc<Mutex<Script>>,
    calls: Arc<Mutex<Vec<(i64, String)>>>,
    refuse_token: bool,
}

impl Scripted {
    fn script(&self, chat_id: i64, answers: Vec<Result<(), SendError>>) {
        self.answers.lock().unwrap().insert(chat_id, answers.into());
    }

    fn calls(&self) -> Vec<(i64, String)> {
        self.calls.lock().unwrap().clone()
    }
}

impl Sender for Scripted {
    async fn send_message(&self, chat_id: i64, text: &str) -> Result<(), SendError> {
        self.calls.lock().unwrap().push((chat_id, text.to_string()));
        let next = self.answers.lock().unwrap().get_mut(&chat_id).and_then(VecDeque::pop_front);
        next.unwrap_or(Ok(()))
    }

    async fn bot_name(&self) -> Result<String, SendError> {
        if self.refuse_token {
            Err(SendError::Unauthorized)
        } else {
            Ok("vane_test_bot".into())
        }
    }
}

fn config() -> NotifierConfig {
    let mut config = NotifierConfig::new(BotToken::new("1:test").unwrap());
    config.limits.chat_interval = Duration::from_millis(10);
    config.limits.per_second = 1000;
    config.retry = RetryPolicy {
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(80),
        give_up_after: Duration::from_secs(30),
    };
    config
}

fn notification(chat_id: i64, key: &str, text: &str) -> NotificationEvent {
    NotificationEvent {
        envelope: Envelope::new(1_000, 1_000, "sla"),
        recipient: format!("telegram:{chat_id}"),
        channel: "telegram".into(),
        chat_id,
        text: text.into(),
        dedup_key: key.into(),
        source: "sla".into(),
        subject_id: "s".into(),
        kind: "violation_started".into(),
        severity: None,
        at_ms: 1_000,
    }
}

async fn open_log(dir: &std::path::Path) -> Log {
    let log = Log::Embedded(EmbeddedLog::open(EmbeddedConfig::new(dir)).unwrap());
    let layout = TopicLayout {
        partitions: 2,
        ..TopicLayout::default()
    };
    log.ensure_topics(&layout.specs()).await.unwrap();
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

async fn read_all(log: &Log, topic: &str) -> Vec<Vec<u8>> {
    let ends = log.end_offsets(topic).await.unwrap();
    let total: u64 = ends.iter().sum();
    let mut consumer = log.consumer(None, &[topic]).unwrap();
    let mut values = Vec::new();
    while (values.len() as u64) < total {
        let records = consumer.poll(1000, Duration::from_millis(100)).await.unwrap();
        assert!(!records.is_empty(), "{topic} ends short of its end offsets");
        values.extend(records.into_iter().map(|r| r.value));
    }
    values
}

async fn deliveries(log: &Log) -> Vec<NotificationDeliveryEvent> {
    let codec = Codec::<NotificationDeliveryEvent>::new().unwrap();
    read_all(log, topics::NOTIFICATION_DELIVERIES)
        .await
        .iter()
        .map(|v| codec.decode(v).unwrap())
        .collect()
}

struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), NotifierError>>,
}

fn start(log: &Log, config: NotifierConfig, sender: Scripted) -> Running {
    let (stop, stopping) = watch::channel(false);
    let log = log.clone();
    let task = tokio::spawn(async move {
        let metrics = Metrics::new();
        run_with_sender(log, config, sender, &SystemClock, &metrics, stopping).await
    });
    Running { stop, task }
}

impl Running {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the notifier stops within 10 s")
            .unwrap()
            .unwrap();
    }
}

async fn wait_for_deliveries(log: &Log, count: usize) -> Vec<NotificationDeliveryEvent> {
    for _ in 0..200 {
        let found = deliveries(log).await;
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {count} deliveries after 10 s: {:?}", deliveries(log).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_until_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    let sender = Scripted::default();
    let timeout = || Err(SendError::Transient("timed out".into()));
    sender.script(7, vec![timeout(), timeout()]);
    publish(&log, &[notification(7, "k1", "disk full"), notification(8, "k2", "cpu hot")]).await;
    let running = start(&log, config(), sender.clone());
    let found = wait_for_deliveries(&log, 2).await;
    running.stop().await;
    let k1 = found.iter().find(|d| d.dedup_key == "k1").unwrap();
    assert_eq!((k1.outcome, k1.attempt, k1.parts), (DeliveryOutcome::Delivered, 3, 1));
    let to_7 = sender.calls().iter().filter(|(chat, _)| *chat == 7).count();
    assert_eq!(to_7, 3);
    // Chat 8 was not held up behind chat 7's retries.
    let calls = sender.calls();
    let first_to_8 = calls.iter().position(|(chat, _)| *chat == 8).unwrap();
    assert!(first_to_8 < 2, "{calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_failing_past_the_deadline_is_a_failed_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    let sender = Scripted::default();
    sender.script(7, (0..100).map(|_| Err(SendError::Transient("502 bad gateway".into()))).collect());
    let mut config = config();
    config.retry.give_up_after = Duration::from_millis(300);
    publish(&log, &[notification(7, "k1", "disk full")]).await;
    let running = start(&log, config, sender.clone());
    let found = wait_for_deliveries(&log, 1).await;
    running.stop().await;
    assert_eq!(found[0].outcome, DeliveryOutcome::Failed);
    let reason = found[0].reason.clone().unwrap();
    assert!(
        reason.starts_with("gave up after") && reason.contains("502 bad gateway"),
        "{reason}"
    );
    assert_eq!(found[0].attempt as usize, sender.calls().len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_in_the_middle_of_a_batch_leaves_it_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    let first = Scripted::default();
    first.script(7, vec![Err(SendError::RetryAfter(Duration::from_secs(20)))]);
    publish(&log, &[notification(7, "k1", "disk full")]).await;
    let running = start(&log, config(), first.clone());
    for _ in 0..100 {
        if !first.calls().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Stopping does not wait out the 20 s retry_after, and records nothing.
    running.stop().await;
    assert_eq!(first.calls().len(), 1);
    assert!(deliveries(&log).await.is_empty());
    // The next start reads the uncommitted notification again and delivers it.
    let second = Scripted::default();
    let running = start(&log, config(), second.clone());
    let found = wait_for_deliveries(&log, 1).await;
    running.stop().await;
    assert_eq!(found[0].outcome, DeliveryOutcome::Delivered);
    assert_eq!(second.calls(), vec![(7, "disk full".to_string())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_and_other_channels_are_recorded_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    let mut email = notification(7, "k-email", "hello");
    email.channel = "email".into();
    publish(&log, &[email, notification(7, "k-blank", " \n ")]).await;
    log.send(&[OutRecord::new(
        topics::NOTIFICATIONS,
        b"telegram:7".to_vec(),
        b"not avro".to_vec(),
        5,
    )])
    .await
    .unwrap();
    publish(&log, &[notification(7, "k-ok", "fine")]).await;
    let sender = Scripted::default();
    let running = start(&log, config(), sender.clone());
    let found = wait_for_deliveries(&log, 3).await;
    running.stop().await;
    let outcome = |key: &str| {
        let d = found.iter().find(|d| d.dedup_key == key).unwrap();
        (d.outcome, d.attempt)
    };
    assert_eq!(outcome("k-email"), (DeliveryOutcome::Failed, 0));
    assert_eq!(outcome("k-blank"), (DeliveryOutcome::Failed, 0));
    assert_eq!(outcome("k-ok"), (DeliveryOutcome::Delivered, 1));
    assert_eq!(sender.calls(), vec![(7, "fine".to_string())]);
    let dead = read_all(&log, topics::DLQ).await;
    assert_eq!(dead.len(), 1);
    let letter: serde_json::Value = serde_json::from_slice(&dead[0]).unwrap();
    assert!(
        letter["reason"].as_str().unwrap().starts_with("undecodable notification"),
        "{letter}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migrated_group_is_followed_for_later_notifications_too() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    let sender = Scripted::default();
    sender.script(-5, vec![Err(SendError::Migrated(-1_000_000_005))]);
    publish(&log, &[notification(-5, "k1", "one")]).await;
    let running = start(&log, config(), sender.clone());
    wait_for_deliveries(&log, 1).await;
    publish(&log, &[notification(-5, "k2", "two")]).await;
    let found = wait_for_deliveries(&log, 2).await;
    running.stop().await;
    assert_eq!(
        sender.calls(),
        vec![
            (-5, "one".to_string()),
            (-1_000_000_005, "one".to_string()),
            (-1_000_000_005, "two".to_string())
        ]
    );
    assert!(found.iter().all(|d| d.outcome == DeliveryOutcome::Delivered));
    assert_eq!(found[0].reason.as_deref(), Some("chat -5 migrated to -1000000005"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    let sender = Scripted {
        refuse_token: true,
        ..Scripted::default()
    };
    let (_stop, stopping) = watch::channel(false);
    let result = run_with_sender(log, config(), sender, &SystemClock, &Metrics::new(), stopping).await;
    assert!(matches!(result, Err(NotifierError::Token(_))), "{result:?}");
}
