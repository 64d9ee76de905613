//! The projector: reads `vane.metrics.aggregates`, `vane.metrics.analytics`,
//! `vane.sla.definitions`, `vane.sla.events`, `vane.users` and `vane.weather.subscriptions` and
//! writes the read models (series catalog,
//! aggregates per series and window, analyses per series by time and the latest analysis' points,
//! SLA definitions, status, violations and transitions, users with their username claims, weather
//! subscriptions per user) through the [`Store`], then commits the
//! offsets. Upserts are
//! idempotent and keep the newest version of each row, so redelivery, replay and out-of-order
//! events all converge to the same rows. [`replay`] rebuilds every read model from the log.

mod analysis_rows;
mod rows;
mod sla_rows;
mod user_rows;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use thiserror::Error;
use tokio::sync::watch;
use vane_store::{Store, StoreError};
use vane_stream::dlq::DeadLetter;
use vane_stream::metrics::{Metrics, RoleMetrics};
use vane_stream::runner::{Clock, send_with_retry};
use vane_stream::{Log, StreamError, topics};

pub use rows::{Batch, Codecs};
pub use sla_rows::SlaRows;
pub use user_rows::{NameChange, UserRows, subscription_row};

/// The topics projected into read models.
const TOPICS: &[&str] = &[
    topics::METRICS_AGGREGATES,
    topics::METRICS_ANALYTICS,
    topics::SLA_DEFINITIONS,
    topics::SLA_EVENTS,
    topics::USERS,
    topics::WEATHER_SUBSCRIPTIONS,
];

#[derive(Debug, Error)]
pub enum ProjectorError {
    #[error("log: {0}")]
    Stream(#[from] StreamError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("events schema: {0}")]
    Schema(String),
}

const GROUP: &str = "vane-projector";
/// A replay ends after this many empty polls (200 ms each) once every partition was read to its
/// end offset, or after `GIVE_UP_POLLS` empty polls in any case.
const QUIET_POLLS: u32 = 10;
const GIVE_UP_POLLS: u32 = 75;

/// Runs the projector until `shutdown` turns true.
pub async fn run(
    log: Log,
    store: Store,
    clock: &dyn Clock,
    metrics: &Metrics,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ProjectorError> {
    let codecs = Codecs::new().map_err(|e| ProjectorError::Schema(e.to_string()))?;
    let mut consumer = log.consumer(Some(GROUP), TOPICS)?;
    let RoleMetrics {
        records_in,
        dead_letters,
        mut progress,
        ..
    } = RoleMetrics::new(metrics, "projector");
    let rows_written = metrics.counter("vane_projector_rows_total", "Read-model rows upserted.", &[]);
    tracing::info!(backend = store.backend(), "projector started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let records = tokio::select! {
            polled = consumer.poll(20_000, Duration::from_millis(200)) => polled?,
            _ = shutdown.changed() => break,
        };
        progress.observe(&mut consumer).await;
        if records.is_empty() {
            continue;
        }
        let batch = Batch::from_records(&codecs, &records);
        if !batch.rejected.is_empty() {
            let now = clock.now_ms();
            let letters: Vec<_> = batch
                .rejected
                .iter()
                .map(|(record, reason)| {
                    DeadLetter::for_record(record, reason, now).to_out_record(record.key.as_deref().unwrap_or_default())
                })
                .collect();
            dead_letters.add(letters.len() as u64);
            send_with_retry(&log, &letters, &mut shutdown).await?;
        }
        write_with_retry(&store, &batch, &mut shutdown).await?;
        rows_written.add(batch.rows() as u64);
        records_in.add(records.len() as u64);
        consumer.commit(&batch.next_offsets)?;
    }
    progress.finish().await;
    consumer.close().await;
    tracing::info!("projector stopped");
    Ok(())
}

async fn write_with_retry(store: &Store, batch: &Batch, shutdown: &mut watch::Receiver<bool>) -> Result<(), ProjectorError> {
    let mut backoff = Duration::from_millis(50);
    loop {
        match write(store, batch).await {
            Ok(()) => return Ok(()),
            Err(error) if error.is_transient() => {
                tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "read-model write failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => return Err(ProjectorError::Stream(StreamError::Closed)),
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Writes a batch's rows. Definitions go before status updates, so that the status rows of an
/// SLA deleted in this batch are removed and not written again by its older events.
async fn write(store: &Store, batch: &Batch) -> Result<(), StoreError> {
    store.upsert_series(&batch.series).await?;
    store.upsert_aggregates(&batch.aggregates).await?;
    store.upsert_analyses(&batch.analyses).await?;
    write_users(store, &batch.users).await?;
    let sla = &batch.sla;
    if sla.is_empty() {
        return Ok(());
    }
    store.upsert_sla_definitions(&sla.definitions).await?;
    for sla_id in &sla.deleted {
        store.delete_sla_status(sla_id).await?;
    }
    store.upsert_sla_status(&sla.status).await?;
    store.upsert_sla_violations(&sla.violations).await?;
    store.upsert_sla_transitions(&sla.transitions).await
}

/// Users, then username claims and releases in record order (one user's events are on one
/// partition, so a registration is claimed before its deletion frees the name), then
/// subscriptions.
async fn write_users(store: &Store, rows: &UserRows) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    store.upsert_users(&rows.users).await?;
    for change in &rows.names {
        match change {
            NameChange::Release(username, user_id) => store.release_username(username, user_id).await?,
            NameChange::Claim(username, user_id) => {
                if !store.claim_username(username, user_id).await? {
                    // The API claims before it writes the event, so this is an older registration
                    // of a name that was freed and taken again: the current holder keeps it.
                    tracing::warn!(username, user_id, "username held by another user; registration not claimed");
                }
            }
        }
    }
    store.upsert_subscriptions(&rows.subscriptions).await
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayReport {
    pub events: u64,
    pub rows: u64,
    pub rejected: u64,
}

/// Wipes the read models and rebuilds them from every event still on the log (up to the end
/// offsets at the start of the replay).
pub async fn replay(log: &Log, store: &Store) -> Result<ReplayReport, ProjectorError> {
    let codecs = Codecs::new().map_err(|e| ProjectorError::Schema(e.to_string()))?;
    store.migrate().await?;
    store.wipe().await?;
    // Read until every partition reached the end offsets taken at the start and nothing new
    // arrived for a while: some Kafka-protocol brokers (tansu 0.6) report stale high watermarks,
    // so the quiet period, not the watermark alone, ends the replay.
    let mut ends: HashMap<(String, u32), u64> = HashMap::new();
    for topic in TOPICS {
        for (partition, end) in log.end_offsets(topic).await?.into_iter().enumerate() {
            ends.insert((topic.to_string(), partition as u32), end);
        }
    }
    let mut reached: HashSet<(String, u32)> = ends.iter().filter(|(_, end)| **end == 0).map(|(key, _)| key.clone()).collect();
    let mut reader = log.consumer(None, TOPICS)?;
    let mut report = ReplayReport {
        events: 0,
        rows: 0,
        rejected: 0,
    };
    let mut quiet_polls = 0;
    loop {
        let all_reached = reached.len() == ends.len();
        if (all_reached && quiet_polls >= QUIET_POLLS) || quiet_polls >= GIVE_UP_POLLS {
            break;
        }
        let records = reader.poll(20_000, Duration::from_millis(200)).await?;
        if records.is_empty() {
            quiet_polls += 1;
            continue;
        }
        quiet_polls = 0;
        for record in &records {
            let key = (record.topic.clone(), record.partition);
            if ends.get(&key).is_some_and(|end| record.offset + 1 >= *end) {
                reached.insert(key);
            }
        }
        let batch = Batch::from_records(&codecs, &records);
        write(store, &batch).await?;
        report.events += records.len() as u64;
        report.rows += batch.rows() as u64;
        report.rejected += batch.rejected.len() as u64;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use vane_core::SeriesId;
    use vane_core::sla::{SlaDefinition, SlaStatus};
    use vane_events::{Codec, Envelope, SlaDefinitionEvent, SlaEvent, SlaEventKind};
    use vane_store::{Page, SlaRangeQuery};
    use vane_stream::OutRecord;
    use vane_stream::embedded::{EmbeddedConfig, EmbeddedLog};
    use vane_stream::topics::TopicLayout;

    use super::*;

    fn definition(id: &str, name: &str, revision: i64, deleted: bool) -> OutRecord {
        let mut definition = SlaDefinition::new(id, name, "node_load1", None, Some(1.0), 1_000);
        definition.revision = revision;
        let event = SlaDefinitionEvent {
            envelope: Envelope::new(1_000, 1_000, "test"),
            definition,
            deleted,
        };
        OutRecord::new(topics::SLA_DEFINITIONS, id, Codec::new().unwrap().encode(&event), 1_000)
    }

    fn sla_event(sla_id: &str, kind: SlaEventKind, at_ms: i64, status: SlaStatus, previous: Option<SlaStatus>) -> OutRecord {
        let event = SlaEvent {
            envelope: Envelope::new(at_ms, at_ms, "test"),
            sla_id: sla_id.into(),
            sla_name: sla_id.into(),
            series_id: SeriesId(7),
            metric: "node_load1".into(),
            labels: Default::default(),
            kind,
            at_ms,
            status,
            previous,
            value: Some(2.5),
            probability: (kind == SlaEventKind::Forecast).then_some(0.75),
            horizon_ms: (kind == SlaEventKind::Forecast).then_some(600_000),
            likely: kind == SlaEventKind::Forecast,
        };
        OutRecord::new(topics::SLA_EVENTS, sla_id, Codec::new().unwrap().encode(&event), at_ms)
    }

    /// `vane replay` rebuilds the SLA read models from both SLA topics, drops what a deleted SLA
    /// left, and skips (counts) what cannot be decoded.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replay_rebuilds_the_sla_read_models() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::Embedded(EmbeddedLog::open(EmbeddedConfig::new(dir.path().join("log"))).unwrap());
        log.ensure_topics(&TopicLayout::default().specs()).await.unwrap();
        let store = Store::open_embedded(dir.path().join("store")).unwrap();
        let (ok, violated, pending) = (SlaStatus::Ok, SlaStatus::Violated, SlaStatus::Pending);
        let records = vec![
            sla_event("live", SlaEventKind::Status, 2_000, ok, None),
            sla_event("live", SlaEventKind::Status, 3_000, violated, Some(ok)),
            sla_event("live", SlaEventKind::Violation, 3_000, violated, None),
            sla_event("live", SlaEventKind::Violation, 4_000, violated, None),
            sla_event("live", SlaEventKind::Forecast, 5_000, violated, None),
            sla_event("gone", SlaEventKind::Status, 2_000, pending, None),
            OutRecord::new(topics::SLA_EVENTS, "live", b"garbage".to_vec(), 6_000),
            definition("live", "live-sla", 1, false),
            definition("gone", "gone-sla", 1, false),
            definition("gone", "gone-sla", 2, true),
        ];
        log.send(&records).await.unwrap();

        let report = replay(&log, &store).await.unwrap();
        assert_eq!((report.events, report.rejected), (10, 1), "{report:?}");
        assert_eq!(store.get_sla("live-sla").await.unwrap().map(|row| row.deleted), Some(false));
        assert_eq!(store.get_sla("gone").await.unwrap().map(|row| row.deleted), Some(true));
        let status = store.list_sla_status(None, &Page::first(10)).await.unwrap().rows;
        assert_eq!(status.len(), 1, "{status:?}");
        let row = &status[0];
        assert_eq!((row.sla_id.as_str(), row.status, row.since_ms), ("live", violated, 3_000));
        assert_eq!((row.probability, row.likely), (Some(0.75), true));
        let range = SlaRangeQuery {
            sla_id: "live".into(),
            from_ms: None,
            to_ms: None,
        };
        let violations = store.list_sla_violations(&range, &Page::first(10)).await.unwrap().rows;
        assert_eq!(violations.iter().map(|v| v.at_ms).collect::<Vec<_>>(), [3_000, 4_000]);
        let transitions = store.list_sla_transitions(&range, &Page::first(10)).await.unwrap().rows;
        assert_eq!(
            transitions.iter().map(|t| (t.from, t.to)).collect::<Vec<_>>(),
            [(None, ok), (Some(ok), violated)]
        );
        let counts = store.sla_counts(&range, 1_000).await.unwrap();
        assert_eq!((counts.violating_samples, counts.episodes, counts.bad_slices), (2, 1, 2));

        // A second replay wipes and ends with the same rows.
        let again = replay(&log, &store).await.unwrap();
        assert_eq!(again, report);
        assert_eq!(store.list_sla_status(None, &Page::first(10)).await.unwrap().rows, status);
    }

    fn user_event(id: &str, name: &str, change: vane_events::UserChange, revision: i64) -> OutRecord {
        let event = vane_events::UserEvent {
            envelope: Envelope::new(1_000, 1_000, "test"),
            change,
            user: vane_events::User {
                id: id.into(),
                username: name.into(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                chat_id: None,
                time_zone: "UTC".into(),
                quiet_hours: None,
                cooldown_ms: 0,
                created_at_ms: 1_000,
                revision,
            },
        };
        OutRecord::new(topics::USERS, id, Codec::new().unwrap().encode(&event), 1_000)
    }

    fn subscription_event(id: &str, user_id: &str, change: vane_events::SubscriptionChange, revision: i64) -> OutRecord {
        let event = vane_events::WeatherSubscriptionEvent {
            envelope: Envelope::new(1_000, 1_000, "test"),
            change,
            subscription: vane_events::WeatherSubscription {
                id: id.into(),
                user_id: user_id.into(),
                city_name: Some("Catania".into()),
                country: Some("IT".into()),
                constraints: vec![vane_events::WeatherConstraint {
                    kind: "rain".into(),
                    threshold: None,
                }],
                created_at_ms: 1_000,
                updated_at_ms: 1_000,
                revision,
                ..Default::default()
            },
        };
        OutRecord::new(topics::WEATHER_SUBSCRIPTIONS, id, Codec::new().unwrap().encode(&event), 1_000)
    }

    /// `vane replay` rebuilds users, their username claims and their subscriptions; a deleted
    /// user's name is free again and their deleted subscriptions are not listed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replay_rebuilds_users_claims_and_subscriptions() {
        use vane_events::{SubscriptionChange, UserChange};
        let dir = tempfile::tempdir().unwrap();
        let log = Log::Embedded(EmbeddedLog::open(EmbeddedConfig::new(dir.path().join("log"))).unwrap());
        log.ensure_topics(&TopicLayout::default().specs()).await.unwrap();
        let store = Store::open_embedded(dir.path().join("store")).unwrap();
        let records = vec![
            user_event("u1", "ada", UserChange::Registered, 1),
            user_event("u2", "bob", UserChange::Registered, 1),
            user_event("u2", "bob", UserChange::Deleted, 2),
            subscription_event("s1", "u1", SubscriptionChange::Created, 1),
            subscription_event("s2", "u1", SubscriptionChange::Created, 1),
            subscription_event("s2", "u1", SubscriptionChange::Deleted, 2),
            OutRecord::new(topics::USERS, "u3", b"garbage".to_vec(), 1_000),
        ];
        log.send(&records).await.unwrap();
        let report = replay(&log, &store).await.unwrap();
        assert_eq!((report.events, report.rejected), (7, 1), "{report:?}");
        assert_eq!(
            store.get_user_by_username("ada").await.unwrap().map(|u| u.user_id),
            Some("u1".into())
        );
        assert_eq!(store.get_user_by_username("bob").await.unwrap(), None);
        assert!(store.claim_username("bob", "u9").await.unwrap());
        assert!(!store.claim_username("ada", "u9").await.unwrap());
        let listed = store.list_subscriptions("u1").await.unwrap();
        assert_eq!(listed.iter().map(|s| s.subscription_id.as_str()).collect::<Vec<_>>(), ["s1"]);
    }
}
