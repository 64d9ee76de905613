//! The weather poller: asks OpenWeatherMap's current-weather API about every city that has a
//! subscription, once per interval however many subscriptions share it, and writes each answer
//! to `vane.weather.observations` keyed by the city id it asked about.
//!
//! - Cities come from the subscriptions, read from the compacted `vane.weather.subscriptions` to
//!   its end at start and followed while polling.
//! - `GET {base}/data/2.5/weather?q={name},{country}&appid={key}&units=metric` (or
//!   `lat=..&lon=..`), read by `vane_weather::parse_current_weather`.
//! - Transient errors (network, timeouts, 429, 5xx) back off per city, exponentially from
//!   `min_backoff` up to `max_backoff`; a city the provider does not know (404) is logged and
//!   skipped until one of its subscriptions changes; other errors (401 bad key, a malformed
//!   answer) are logged and the city is asked again next interval.
//!
//! The schedule itself is pure ([`crate::schedule`]); this module does the HTTP and log I/O.

use std::fmt;
use std::time::Duration;

use tokio::sync::watch;
use vane_events::{Codec, SubscriptionChange, WeatherObservationEvent, WeatherSubscriptionEvent};
use vane_stream::metrics::{Counter, Metrics};
use vane_stream::ownership::Ownership;
use vane_stream::runner::{Clock, send_with_retry};
use vane_stream::{Consumer, Log, OutRecord, StreamError, next_offsets, topics};
use vane_weather::{City, CityId, Subscription, WeatherError, parse_current_weather};

use crate::WorkerError;
use crate::schedule::{Schedule, Timing};
use vane_stream::global::read_to_end;

/// The provider's API key: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// What the poller asks and how often.
#[derive(Debug, Clone)]
pub struct PollerConfig {
    /// The provider's base URL, e.g. `https://api.openweathermap.org` (tests: a local fake).
    pub base_url: String,
    pub api_key: ApiKey,
    /// Each city is asked at most once per interval (OpenWeatherMap updates every 10 minutes).
    pub interval: Duration,
    /// Wait after a city's first transient error; doubles with each further one.
    pub min_backoff: Duration,
    /// The longest wait after errors.
    pub max_backoff: Duration,
    /// One request's time limit.
    pub request_timeout: Duration,
    /// The envelope's `source`.
    pub source: String,
    /// The poller replicas' consumer group on `vane.weather.observations`: each replica polls
    /// the cities of the partitions the group assigns it.
    pub group: String,
}

impl PollerConfig {
    /// The defaults: every 10 minutes, backoff from 30 s to 30 minutes, 30 s per request.
    pub fn new(base_url: &str, api_key: ApiKey) -> PollerConfig {
        PollerConfig {
            base_url: base_url.to_string(),
            api_key,
            interval: Duration::from_secs(600),
            min_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(1800),
            request_timeout: Duration::from_secs(30),
            source: "weather_poller".to_string(),
            group: "vane-weather-poller".to_string(),
        }
    }
}

/// How one request ended, for the schedule and the metrics.
#[derive(Debug)]
enum Failure {
    Transient(String),
    UnknownCity(String),
    Permanent(String),
}

struct PollMetrics {
    ok: Counter,
    transient: Counter,
    unknown: Counter,
    failed: Counter,
}

impl PollMetrics {
    fn new(metrics: &Metrics) -> PollMetrics {
        let name = "vane_weather_polls_total";
        let help = "Requests to the weather provider, by outcome.";
        PollMetrics {
            ok: metrics.counter(name, help, &[("outcome", "ok")]),
            transient: metrics.counter(name, help, &[("outcome", "transient_error")]),
            unknown: metrics.counter(name, help, &[("outcome", "unknown_city")]),
            failed: metrics.counter(name, help, &[("outcome", "error")]),
        }
    }
}

/// Within a round of requests, how often the poller group is polled (Kafka drops a member that
/// does not poll for `max.poll.interval.ms`, 5 minutes by default).
const MEMBERSHIP_REFRESH: Duration = Duration::from_secs(10);

/// Polls until `shutdown` turns true.
pub async fn run_poller(
    log: Log,
    config: PollerConfig,
    clock: &dyn Clock,
    metrics: &Metrics,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), WorkerError> {
    let base = config.base_url.trim_end_matches('/').to_string();
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(WorkerError::Url(config.base_url.clone()));
    }
    let client = reqwest::Client::builder()
        .timeout(config.request_timeout)
        .build()
        .map_err(|e| WorkerError::Client(e.to_string()))?;
    let counters = PollMetrics::new(metrics);
    let subscriptions: Codec<WeatherSubscriptionEvent> = Codec::new()?;
    let observations: Codec<WeatherObservationEvent> = Codec::new()?;
    let mut schedule = Schedule::new(Timing {
        interval: config.interval,
        min_backoff: config.min_backoff,
        max_backoff: config.max_backoff,
    });
    let mut consumer = read_to_end(&log, topics::WEATHER_SUBSCRIPTIONS, |record| {
        apply(&mut schedule, &subscriptions, &record.value)
    })
    .await?;
    let partitions = log.partition_count(topics::WEATHER_OBSERVATIONS)?;
    let mut members = log.consumer(Some(&config.group), &[topics::WEATHER_OBSERVATIONS])?;
    tracing::info!(url = %base, cities = schedule.len(), interval_s = config.interval.as_secs(), group = %config.group, "weather poller started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        refresh_ownership(&mut members, &mut schedule, partitions).await;
        let mut refreshed = tokio::time::Instant::now();
        let now = clock.now_ms();
        let mut records = Vec::new();
        for (city_id, city) in schedule.due(now) {
            // A long round (a slow provider, many cities) must not look like a dead member to
            // the group: its poll is also the membership's sign of life.
            if refreshed.elapsed() >= MEMBERSHIP_REFRESH {
                refresh_ownership(&mut members, &mut schedule, partitions).await;
                refreshed = tokio::time::Instant::now();
                if !schedule.owns(&city_id) {
                    continue;
                }
            }
            let fetched = tokio::select! {
                fetched = fetch(&client, &base, &config.api_key, &city) => fetched,
                _ = shutdown.wait_for(|stop| *stop) => break,
            };
            // The interval and the backoff count from the answer.
            let now = clock.now_ms();
            match fetched {
                Ok(body) => match parse_current_weather(&body, &city) {
                    Ok(observation) => {
                        counters.ok.inc();
                        let event = observation.to_event(now, &config.source);
                        records.push(OutRecord::new(
                            topics::WEATHER_OBSERVATIONS,
                            city_id.as_str(),
                            observations.encode(&event),
                            observation.observed_at_ms,
                        ));
                        schedule.done(&city_id, now);
                    }
                    Err(error) => failed(&mut schedule, &counters, &city_id, now, classify(error)),
                },
                Err(failure) => failed(&mut schedule, &counters, &city_id, now, failure),
            }
        }
        if !records.is_empty() {
            match send_with_retry(&log, &records, &mut shutdown).await {
                Ok(()) => {}
                // Stopping while the log was unwritable: what was not written is polled again.
                Err(StreamError::Closed) if *shutdown.borrow() => break,
                Err(error) => return Err(error.into()),
            }
        }
        // Wait for the next due city, reading subscription changes meanwhile.
        let now = clock.now_ms();
        let wait_ms = schedule.next_due_ms().map_or(1_000, |due| due.saturating_sub(now).clamp(10, 1_000));
        let polled = tokio::select! {
            polled = consumer.poll(1_000, Duration::from_millis(wait_ms as u64)) => polled,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        match polled {
            Ok(changes) => {
                for record in &changes {
                    apply(&mut schedule, &subscriptions, &record.value);
                }
            }
            Err(error) => {
                tracing::warn!(%error, "reading weather subscriptions failed; retrying");
                tokio::time::sleep(Duration::from_millis(wait_ms as u64)).await;
            }
        }
    }
    members.close().await;
    tracing::info!("weather poller stopped");
    Ok(())
}

/// Keeps this replica in the poller group (the poll is its heartbeat; the observations it reads
/// are skipped and committed) and hands the group's current assignment to the schedule.
async fn refresh_ownership(members: &mut Consumer, schedule: &mut Schedule, partitions: u32) {
    match members.poll(10_000, Duration::from_millis(1)).await {
        Ok(records) if !records.is_empty() => {
            if let Err(error) = members.commit(&next_offsets(&records)) {
                tracing::debug!(%error, "poller group commit failed; the next one catches up");
            }
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "the poller's group poll failed; keeping the last assignment"),
    }
    let ownership = Ownership::from_assignment(topics::WEATHER_OBSERVATIONS, partitions, &members.assignment());
    let before = schedule.owned_count();
    schedule.set_ownership(ownership);
    let after = schedule.owned_count();
    if before != after {
        tracing::info!(
            owned_cities = after,
            of = schedule.len(),
            "weather poller's share of the cities changed"
        );
    }
}

fn apply(schedule: &mut Schedule, codec: &Codec<WeatherSubscriptionEvent>, value: &[u8]) {
    let event = match codec.decode(value) {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(%error, "undecodable weather subscription skipped");
            return;
        }
    };
    if event.change == SubscriptionChange::Deleted {
        schedule.remove(&event.subscription.id);
        return;
    }
    match Subscription::from_record(&event.subscription) {
        Ok(subscription) => schedule.upsert(&subscription),
        Err(error) => tracing::warn!(subscription = %event.subscription.id, %error, "invalid weather subscription skipped"),
    }
}

fn failed(schedule: &mut Schedule, counters: &PollMetrics, city: &CityId, now: i64, failure: Failure) {
    match failure {
        Failure::Transient(error) => {
            counters.transient.inc();
            let wait = schedule.failed(city, now);
            tracing::warn!(city = %city, %error, retry_in_ms = wait.as_millis() as u64, "weather provider failed; backing off");
        }
        Failure::UnknownCity(error) => {
            counters.unknown.inc();
            schedule.unknown(city);
            tracing::warn!(city = %city, %error, "unknown city: skipped until its subscriptions change");
        }
        Failure::Permanent(error) => {
            counters.failed.inc();
            schedule.done(city, now);
            tracing::warn!(city = %city, %error, "weather provider refused the request; asking again next interval");
        }
    }
}

fn classify(error: WeatherError) -> Failure {
    match error {
        WeatherError::UnknownCity { .. } => Failure::UnknownCity(error.to_string()),
        error if error.is_transient() => Failure::Transient(error.to_string()),
        error => Failure::Permanent(error.to_string()),
    }
}

/// The body of a 2xx answer (or of a 404, which the parser turns into an unknown city).
async fn fetch(client: &reqwest::Client, base: &str, key: &ApiKey, city: &City) -> Result<Vec<u8>, Failure> {
    let url = format!("{base}/data/2.5/weather");
    // The key is in the URL: errors are printed without it.
    let response = client
        .get(url)
        .query(&query(city, key))
        .send()
        .await
        .map_err(|e| Failure::Transient(e.without_url().to_string()))?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| Failure::Transient(e.without_url().to_string()))?;
    match status {
        200..=299 | 404 => Ok(body.to_vec()),
        429 | 500..=599 => Err(Failure::Transient(format!("http status {status}"))),
        _ => {
            let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
            Err(Failure::Permanent(format!("http status {status}: {text}")))
        }
    }
}

/// The query string of a current-weather request (reqwest encodes it).
fn query(city: &City, key: &ApiKey) -> Vec<(&'static str, String)> {
    let mut query = match city {
        City::Named { name, country } => vec![("q", format!("{name},{country}"))],
        City::At { lat, lon } => vec![("lat", format!("{lat}")), ("lon", format!("{lon}"))],
    };
    query.push(("appid", key.expose().to_string()));
    query.push(("units", "metric".to_string()));
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cities_are_asked_by_name_or_by_coordinates() {
        let key = ApiKey::new("k");
        let named = City::from_parts(Some("São Paulo"), Some("br"), None, None).unwrap();
        let q = |pairs: Vec<(&str, String)>| pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>();
        assert_eq!(q(query(&named, &key)), ["q=São Paulo,BR", "appid=k", "units=metric"]);
        let at = City::from_parts(None, None, Some(37.5022), Some(-15.0873)).unwrap();
        assert_eq!(q(query(&at, &key)), ["lat=37.5022", "lon=-15.0873", "appid=k", "units=metric"]);
    }

    #[test]
    fn the_key_is_never_printed() {
        let config = PollerConfig::new("https://api.openweathermap.org", ApiKey::new("s3cr3t"));
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(printed.contains("ApiKey(***)"));
        assert_eq!(config.api_key.expose(), "s3cr3t");
    }

    #[test]
    fn provider_errors_are_classified() {
        let unknown = WeatherError::UnknownCity { city: "Atlantis".into() };
        assert!(matches!(classify(unknown), Failure::UnknownCity(_)));
        let busy = WeatherError::Provider {
            code: 429,
            message: String::new(),
        };
        assert!(matches!(classify(busy), Failure::Transient(_)));
        let key = WeatherError::Provider {
            code: 401,
            message: "Invalid API key".into(),
        };
        assert!(matches!(classify(key), Failure::Permanent(_)));
    }
}
