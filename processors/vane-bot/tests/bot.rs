//! The bot against the fake Telegram Bot API (real teloxide client, real HTTP long polling) on an
//! embedded store and log: an unlinked chat is told how to link; a wrong code is refused;
//! `/start CODE` links the chat ("chat linked" on `vane.users`); `/subscribe`, `/list` and
//! `/unsubscribe` act on that account only; a mistyped subscription gets the usage; after a
//! restart the chat is still linked (read back from `vane.users`) and nothing is answered twice.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use vane_api::{Caller, Registration, UsersApi};
use vane_bot::handler::NOT_LINKED;
use vane_notifier::{BotToken, NotifierConfig};
use vane_store::Store;
use vane_stream::Log;
use vane_stream::embedded::{EmbeddedConfig, EmbeddedLog};
use vane_stream::metrics::Metrics;
use vane_stream::runner::SystemClock;
use vane_stream::topics::TopicLayout;
use vane_testkit::telegram::FakeTelegram;

const ADA_CHAT: i64 = 555;
const OTHER_CHAT: i64 = 666;

struct Bot {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn start_bot(log: &Log, api: &UsersApi, telegram: &FakeTelegram) -> Bot {
    let mut config = NotifierConfig::new(BotToken::new("123456:TEST-token").unwrap());
    config.api_url = Some(telegram.url.clone());
    let (stop, stopping) = watch::channel(false);
    let (log, api) = (log.clone(), api.clone());
    let task = tokio::spawn(async move {
        vane_bot::run(log, api, &config, Duration::from_secs(1), &Metrics::new(), stopping)
            .await
            .unwrap();
    });
    Bot { stop, task }
}

/// Types `text` into `chat` and waits for the bot's next reply there.
async fn say(telegram: &FakeTelegram, chat: i64, text: &str) -> String {
    let before = telegram.sent_to(chat).len();
    telegram.type_message(chat, text);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let sent = telegram.sent_to(chat);
        if sent.len() > before {
            assert_eq!(sent.len(), before + 1, "one reply to {text:?}: {sent:?}");
            assert_eq!(telegram.unconfirmed(), 0, "{text:?} was confirmed before it was acted on");
            return sent[before].clone();
        }
        assert!(Instant::now() < deadline, "no reply to {text:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_link_with_a_code_and_manage_their_own_subscriptions() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_embedded(dir.path().join("store")).unwrap();
    store.migrate().await.unwrap();
    let log = Log::Embedded(EmbeddedLog::open(EmbeddedConfig::new(dir.path().join("log"))).unwrap());
    log.ensure_topics(&TopicLayout::default().specs()).await.unwrap();
    let api = UsersApi::new(
        store.clone(),
        log.clone(),
        Some("a-test-key-of-at-least-32-bytes!!".into()),
        3_600_000,
        Arc::new(SystemClock),
    )
    .unwrap();
    let ada = api
        .register(Registration {
            username: "ada".into(),
            password: "correct horse battery".into(),
            ..Registration::default()
        })
        .await
        .unwrap();
    let code = api
        .create_link_code(&Caller {
            user_id: ada.user_id.clone(),
        })
        .await
        .unwrap()
        .code;
    let telegram = FakeTelegram::start().unwrap();
    let bot = start_bot(&log, &api, &telegram);

    assert_eq!(say(&telegram, ADA_CHAT, "/list").await, NOT_LINKED);
    assert!(
        say(&telegram, ADA_CHAT, "/start NOTACODE")
            .await
            .contains("unknown or expired link code")
    );
    assert!(say(&telegram, ADA_CHAT, &format!("/start {code}")).await.contains("linked to ada"));
    assert_eq!(store.get_user(&ada.user_id).await.unwrap().unwrap().chat_id, Some(ADA_CHAT));
    assert!(
        say(&telegram, ADA_CHAT, &format!("/start {code}"))
            .await
            .contains("unknown or expired"),
        "codes work once"
    );

    assert_eq!(
        say(&telegram, ADA_CHAT, "/subscribe Catania, IT: rain, temp<0").await,
        "✅ Subscribed: Catania, IT: rain, temperature below 0 °C"
    );
    assert_eq!(
        say(&telegram, ADA_CHAT, "/subscribe catania, it: temp<0, rain").await,
        "You already have this subscription: Catania, IT: rain, temperature below 0 °C",
        "the same city and constraints, written differently, are not subscribed twice"
    );
    let mistyped = say(&telegram, ADA_CHAT, "/subscribe Catania, IT: hail").await;
    assert!(
        mistyped.contains("\"hail\" is not a constraint") && mistyped.contains("Usage: /subscribe"),
        "{mistyped}"
    );
    let invalid = say(&telegram, ADA_CHAT, "/subscribe Catania, IT: temp>99").await;
    assert!(invalid.starts_with("❌") && invalid.contains("plausible range"), "{invalid}");
    let listed = say(&telegram, ADA_CHAT, "/list").await;
    assert!(
        listed.starts_with("Your subscriptions:\n1. Catania, IT: rain, temperature below 0 °C (id "),
        "{listed}"
    );
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert_eq!(
        say(&telegram, OTHER_CHAT, "/unsubscribe 1").await,
        NOT_LINKED,
        "another chat cannot touch ada's"
    );
    assert_eq!(
        api.list_subscriptions(&Caller {
            user_id: ada.user_id.clone()
        })
        .await
        .unwrap()
        .len(),
        1
    );

    // A restart: the chat is read back from vane.users; answered messages stay answered.
    bot.stop.send(true).unwrap();
    bot.task.await.unwrap();
    assert_eq!(telegram.unconfirmed(), 0, "every answered update is confirmed");
    let answered = telegram.sent_to(ADA_CHAT).len();
    let bot = start_bot(&log, &api, &telegram);
    assert!(
        say(&telegram, ADA_CHAT, "/unsubscribe 2")
            .await
            .contains("no subscription number 2")
    );
    assert!(
        say(&telegram, ADA_CHAT, "/unsubscribe 1")
            .await
            .starts_with("✅ Unsubscribed: Catania, IT")
    );
    assert!(say(&telegram, ADA_CHAT, "/list").await.starts_with("You have no subscriptions."));
    assert_eq!(
        telegram.sent_to(ADA_CHAT).len(),
        answered + 3,
        "nothing answered twice after the restart"
    );
    bot.stop.send(true).unwrap();
    bot.task.await.unwrap();
}
