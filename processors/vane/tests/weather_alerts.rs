//! Acceptance of the weather alerts (issue 7), as a new user would try them without internet:
//! local fakes of OpenWeatherMap and of the Telegram Bot API, `vane up --weather-url ...
//! --telegram-api-url ...`. Register (with a chat id), log in, subscribe to "rain in Catania";
//! the fake reports rain: exactly one message with the expected text, delivered after the 429
//! the fake Telegram answers first; vane restarts while it rains: nothing again; the rain
//! stops: exactly one "cleared" message.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{VANE, WeatherServer, cli, wait_messages};
use vane_testkit::telegram::FakeTelegram;
use vane_testkit::weather::FakeWeather;

#[test]
fn rain_in_catania_alerts_once_survives_a_restart_and_clears_once() {
    let weather = FakeWeather::start().unwrap();
    let telegram = FakeTelegram::start().unwrap();
    let work = tempfile::tempdir().unwrap();
    let server = WeatherServer::new(&work.path().join("vane-data"), &weather, &telegram);
    let grpc = server.grpc.clone();
    let vane = server.start();

    let password = [("VANE_PASSWORD", "correct horse battery staple")];
    cli(&grpc, &["user", "register", "--username", "ada", "--chat-id", "42"], &password);
    let login = cli(&grpc, &["user", "login", "--username", "ada"], &password);
    let token = login["token"].as_str().unwrap().to_string();
    let with_token = [("VANE_TOKEN", token.as_str())];
    cli(&grpc, &["subscribe", "--city", "Catania", "--country", "IT", "--rain"], &with_token);
    // A wrong password is a clear error, not a crash.
    let wrong = Command::new(VANE)
        .args(["user", "login", "--username", "ada", "--grpc-addr", &grpc])
        .env("VANE_PASSWORD", "not the password")
        .output()
        .unwrap();
    assert!(!wrong.status.success());

    // Dry weather for a few polls: nothing.
    let deadline = Instant::now() + Duration::from_secs(60);
    while weather.answers() < 3 {
        assert!(Instant::now() < deadline, "Catania was never polled");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(telegram.sent().is_empty());

    // Rain: one alert, delivered after a 429 with retry_after.
    telegram.refuse_next(1);
    weather.set_rain(Some(2.5));
    wait_messages(&telegram, 1, Duration::from_secs(60));
    assert_eq!(telegram.refused(), 1, "the 429 was answered and honoured");
    let sent = telegram.sent();
    assert_eq!(sent[0].chat_id, 42);
    assert_eq!(sent[0].text, "🌧 Rain in Catania, IT: 2.5 mm/h, 14.2 °C");

    // A restart while it rains sends nothing again.
    assert!(vane.stop().success());
    let polled = weather.answers();
    let vane = server.start();
    let deadline = Instant::now() + Duration::from_secs(60);
    while weather.answers() < polled + 3 {
        assert!(Instant::now() < deadline, "no polls after the restart");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(telegram.sent().len(), 1, "{:?}", telegram.sent());

    // The rain stops: one "cleared".
    weather.set_rain(None);
    wait_messages(&telegram, 2, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(3));
    let sent = telegram.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[1].text, "✅ No more rain in Catania, IT");
    assert!(vane.stop().success());
}
