//! Acceptance of the Telegram bot (issue 7) through `vane up` with the fake Telegram Bot API and
//! the fake OpenWeatherMap: a user registers without a chat, asks `vane user link-code` for a
//! code and sends `/start CODE` to the bot; the chat is linked; `/subscribe Catania, IT: rain`
//! and `/list` work from the chat and agree with `vane subscriptions`; the rain alert arrives in
//! that chat; `/unsubscribe 1` deletes it; a chat nobody linked is told how to link and sees
//! nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

mod common;

use std::time::{Duration, Instant};

use common::{WeatherServer, cli, wait_for};
use vane_testkit::telegram::FakeTelegram;
use vane_testkit::weather::FakeWeather;

const ADA_CHAT: i64 = 4_242;
const STRANGER_CHAT: i64 = 999;

/// Types `text` into `chat` and waits for the bot's reply there.
fn say(telegram: &FakeTelegram, chat: i64, text: &str) -> String {
    let before = telegram.sent_to(chat).len();
    telegram.type_message(chat, text);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = telegram.sent_to(chat);
        if sent.len() > before {
            return sent[before].clone();
        }
        assert!(Instant::now() < deadline, "no reply to {text:?} in chat {chat}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_chat_linked_with_start_code_subscribes_lists_gets_the_alert_and_unsubscribes() {
    let weather = FakeWeather::start().unwrap();
    let telegram = FakeTelegram::start().unwrap();
    let work = tempfile::tempdir().unwrap();
    let server = WeatherServer::new(&work.path().join("vane-data"), &weather, &telegram);
    let grpc = server.grpc.clone();
    let vane = server.start();

    let password = [("VANE_PASSWORD", "correct horse battery staple")];
    cli(&grpc, &["user", "register", "--username", "ada"], &password);
    let token = cli(&grpc, &["user", "login", "--username", "ada"], &password)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let with_token = [("VANE_TOKEN", token.as_str())];
    let code = cli(&grpc, &["user", "link-code"], &with_token)["code"]
        .as_str()
        .unwrap()
        .to_string();

    let stranger = say(&telegram, STRANGER_CHAT, "/list");
    assert!(
        stranger.contains("not linked") && stranger.contains("vane user link-code"),
        "{stranger}"
    );
    let linked = say(&telegram, ADA_CHAT, &format!("/start {code}"));
    assert!(linked.contains("linked to ada"), "{linked}");
    assert_eq!(
        say(&telegram, ADA_CHAT, "/subscribe Catania, IT: rain"),
        "✅ Subscribed: Catania, IT: rain"
    );
    let listed = say(&telegram, ADA_CHAT, "/list");
    assert!(listed.starts_with("Your subscriptions:\n1. Catania, IT: rain (id "), "{listed}");
    let from_cli = cli(&grpc, &["subscriptions"], &with_token);
    let from_cli = from_cli.as_array().unwrap();
    assert_eq!(from_cli.len(), 1, "{from_cli:?}");
    assert_eq!(from_cli[0]["city_name"], "Catania");
    assert!(
        listed.contains(&from_cli[0]["id"].as_str().unwrap()[..8]),
        "the chat and the CLI list the same one"
    );

    // The alert goes to the chat the bot linked.
    weather.set_rain(Some(2.5));
    wait_for(Duration::from_secs(60), "the rain alert in ada's chat", || {
        telegram.sent_to(ADA_CHAT).iter().any(|m| m.starts_with("🌧 Rain in Catania"))
    });
    assert_eq!(
        telegram.sent_to(ADA_CHAT).iter().filter(|m| m.starts_with("🌧")).count(),
        1,
        "{:?}",
        telegram.sent_to(ADA_CHAT)
    );

    assert!(say(&telegram, ADA_CHAT, "/unsubscribe 1").starts_with("✅ Unsubscribed: Catania, IT: rain"));
    assert!(say(&telegram, ADA_CHAT, "/list").starts_with("You have no subscriptions."));
    assert!(cli(&grpc, &["subscriptions"], &with_token).as_array().is_none_or(Vec::is_empty));
    assert_eq!(
        telegram.sent_to(STRANGER_CHAT).len(),
        1,
        "the stranger got only the how-to-link reply"
    );
    assert!(vane.stop().success());
}
