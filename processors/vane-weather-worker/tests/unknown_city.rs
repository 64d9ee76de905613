#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! An unknown city (404 from the fake OpenWeatherMap) is logged once and skipped until one of
//! its subscriptions changes, while the other cities keep being polled. Its own test binary:
//! it captures the log lines with a thread-local subscriber.

mod common;

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Answer, FakeWeather, KEY, open_log, subscribe, wait_for};
use tokio::sync::watch;
use vane_stream::metrics::Metrics;
use vane_stream::runner::SystemClock;
use vane_weather_worker::{ApiKey, PollerConfig, run_poller};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_unknown_city_is_skipped_with_a_log_line() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let log = open_log(dir.path()).await;
    let fake = FakeWeather::default();
    fake.always("Catania,IT", Answer::Rain(2.5));
    fake.always("Atlantis,IT", Answer::NotFound);
    let base = fake.serve().await;
    subscribe(&log, "s1", "u1", "Catania", 1).await;
    subscribe(&log, "s2", "u2", "Atlantis", 1).await;
    let mut config = PollerConfig::new(&base, ApiKey::new(KEY));
    config.interval = Duration::from_millis(100);
    let (stop, shutdown) = watch::channel(false);
    let poller_log = log.clone();
    let poller = tokio::spawn(async move {
        run_poller(poller_log, config, &SystemClock, &Metrics::new(), shutdown)
            .await
            .unwrap()
    });
    wait_for("Catania polled again and again", Duration::from_secs(30), || async {
        fake.requests("Catania,IT").len() >= 5
    })
    .await;
    assert_eq!(fake.requests("Atlantis,IT").len(), 1);
    let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = logged.lines().filter(|l| l.contains("unknown city")).collect();
    assert_eq!(lines.len(), 1, "{logged}");
    assert!(lines[0].contains("name:it:atlantis") && lines[0].contains("WARN"), "{}", lines[0]);
    assert!(!logged.contains(KEY), "the API key is never logged");

    // The user fixes the subscription (a new revision): the city is asked about again.
    subscribe(&log, "s2", "u2", "Atlantis", 2).await;
    wait_for("Atlantis asked again", Duration::from_secs(30), || async {
        fake.requests("Atlantis,IT").len() >= 2
    })
    .await;
    stop.send(true).unwrap();
    poller.await.unwrap();
}
