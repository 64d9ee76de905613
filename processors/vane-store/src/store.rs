//! The one store interface projectors and the API see. Each backend is a variant; callers hold a
//! [`Store`] and never match on it.

use std::path::Path;

use crate::scylla::{ScyllaConfig, ScyllaStore};
use crate::sqlite::SqliteStore;
use crate::users::{LinkCodeRow, SubscriptionRow, UserRow};
use crate::{
    AggregateQuery, AggregateRow, AnalysisQuery, AnalysisRow, Page, Paged, Removed, SeriesQuery, SeriesRow, SlaCounts, SlaDefinitionRow,
    SlaRangeQuery, SlaStatusRow, SlaStatusUpdate, SlaTransitionRow, SlaViolationRow, StoreError,
};

/// A read-model store; cheap to clone.
#[derive(Debug, Clone)]
pub enum Store {
    Embedded(SqliteStore),
    Scylla(ScyllaStore),
}

impl Store {
    /// The embedded store in `<dir>/store.sqlite` (created if missing).
    pub fn open_embedded(dir: impl AsRef<Path>) -> Result<Store, StoreError> {
        Ok(Store::Embedded(SqliteStore::open(dir)?))
    }

    /// Connects to ScyllaDB: `uri` is `scylla://host:port,host:port` (the scheme and the port,
    /// 9042, may be left out); the keyspace is created by [`Store::migrate`].
    pub async fn connect_scylla(uri: &str, keyspace: &str) -> Result<Store, StoreError> {
        Ok(Store::Scylla(ScyllaStore::connect(ScyllaConfig::from_uri(uri, keyspace)?).await?))
    }

    /// Creates or upgrades the schema (the embedded file, or the ScyllaDB keyspace and tables).
    /// Idempotent; returns the schema version now in place.
    pub async fn migrate(&self) -> Result<i64, StoreError> {
        match self {
            Store::Embedded(store) => store.migrate().await,
            Store::Scylla(store) => store.migrate().await,
        }
    }

    /// Upserts catalog rows in one transaction (embedded) or in per-partition batches (ScyllaDB).
    /// Keeps the smallest `first_seen_ms` and the largest `last_seen_ms` ever written.
    pub async fn upsert_series(&self, rows: &[SeriesRow]) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => store.upsert_series(rows).await,
            Store::Scylla(store) => store.upsert_series(rows).await,
        }
    }

    /// Upserts aggregate rows; a row with a lower [`AggregateRow::version`] than the stored one is
    /// ignored, so replays and redeliveries in any order converge to the newest row.
    pub async fn upsert_aggregates(&self, rows: &[AggregateRow]) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => store.upsert_aggregates(rows).await,
            Store::Scylla(store) => store.upsert_aggregates(rows).await,
        }
    }

    /// Writes each row to the analysis history (detail only, no points) and, when its version is
    /// newer than the stored one, as its series' latest analysis (detail + points). Idempotent and
    /// order-safe like the other upserts.
    pub async fn upsert_analyses(&self, rows: &[AnalysisRow]) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => store.upsert_analyses(rows).await,
            Store::Scylla(store) => store.upsert_analyses(rows).await,
        }
    }

    /// The catalog of one metric ordered by series id, or of every metric ordered by metric name
    /// then series id.
    pub async fn list_series(&self, query: &SeriesQuery, page: &Page) -> Result<Paged<SeriesRow>, StoreError> {
        match self {
            Store::Embedded(store) => store.list_series(query, page).await,
            Store::Scylla(store) => store.list_series(query, page).await,
        }
    }

    /// Aggregates of one metric, of one window ordered by series id, or of every window ordered by
    /// window name then series id.
    pub async fn list_aggregates(&self, query: &AggregateQuery, page: &Page) -> Result<Paged<AggregateRow>, StoreError> {
        match self {
            Store::Embedded(store) => store.list_aggregates(query, page).await,
            Store::Scylla(store) => store.list_aggregates(query, page).await,
        }
    }

    /// Analyses of one metric ordered by series id then analysis time ascending. With
    /// [`AnalysisQuery::latest_only`]: the latest analysis of each series (points included only
    /// when `query.with_points`, else an empty vec). Otherwise: the history rows whose
    /// `analyzed_at_ms` is within `[from_ms, to_ms]` (either bound optional; inclusive), points
    /// always empty. Keyset-paginated; a token of another listing (or of the other mode, or of
    /// another metric) is refused with [`StoreError::InvalidPage`].
    pub async fn list_analyses(&self, query: &AnalysisQuery, page: &Page) -> Result<Paged<AnalysisRow>, StoreError> {
        match self {
            Store::Embedded(store) => store.list_analyses(query, page).await,
            Store::Scylla(store) => store.list_analyses(query, page).await,
        }
    }

    /// Upserts SLA definitions keyed by id; a row whose revision is lower than the stored one is
    /// ignored (an equal revision is the same change written again).
    pub async fn upsert_sla_definitions(&self, rows: &[SlaDefinitionRow]) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => store.upsert_sla_definitions(rows).await,
            Store::Scylla(store) => store.upsert_sla_definitions(rows).await,
        }
    }

    /// The SLA with this id (deleted or not), or else the live SLA with this name.
    pub async fn get_sla(&self, id_or_name: &str) -> Result<Option<SlaDefinitionRow>, StoreError> {
        match self {
            Store::Embedded(store) => store.get_sla(id_or_name).await,
            Store::Scylla(store) => store.get_sla(id_or_name).await,
        }
    }

    /// Every SLA ordered by name (then id), deleted ones only when asked for. Not paginated:
    /// there are a few hundred at most.
    pub async fn list_slas(&self, include_deleted: bool) -> Result<Vec<SlaDefinitionRow>, StoreError> {
        match self {
            Store::Embedded(store) => store.list_slas(include_deleted).await,
            Store::Scylla(store) => store.list_slas(include_deleted).await,
        }
    }

    /// Applies status and forecast updates in order, by the rules of [`SlaStatusUpdate`]:
    /// idempotent, and an update older than the stored row is ignored.
    pub async fn upsert_sla_status(&self, updates: &[SlaStatusUpdate]) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => store.upsert_sla_status(updates).await,
            Store::Scylla(store) => store.upsert_sla_status(updates).await,
        }
    }

    /// Removes every status row of an SLA (when it is deleted).
    pub async fn delete_sla_status(&self, sla_id: &str) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => store.delete_sla_status(sla_id).await,
            Store::Scylla(store) => store.delete_sla_status(sla_id).await,
        }
    }

    /// Status rows of one SLA ordered by series id, or of every SLA ordered by SLA id then
    /// series id. Keyset-paginated; a token of another SLA or listing is refused.
    pub async fn list_sla_status(&self, sla_id: Option<&str>, page: &Page) -> Result<Paged<SlaStatusRow>, StoreError> {
        match self {
            Store::Embedded(store) => store.list_sla_status(sla_id, page).await,
            Store::Scylla(store) => store.list_sla_status(sla_id, page).await,
        }
    }

    /// Upserts violating samples, idempotent on `(sla_id, at_ms, series_id)`.
    pub async fn upsert_sla_violations(&self, rows: &[SlaViolationRow]) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => store.upsert_sla_violations(rows).await,
            Store::Scylla(store) => store.upsert_sla_violations(rows).await,
        }
    }

    /// Upserts status transitions, idempotent on `(sla_id, at_ms, series_id)`.
    pub async fn upsert_sla_transitions(&self, rows: &[SlaTransitionRow]) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => store.upsert_sla_transitions(rows).await,
            Store::Scylla(store) => store.upsert_sla_transitions(rows).await,
        }
    }

    /// One SLA's violations within the query's inclusive range, ordered by time then series id.
    pub async fn list_sla_violations(&self, query: &SlaRangeQuery, page: &Page) -> Result<Paged<SlaViolationRow>, StoreError> {
        match self {
            Store::Embedded(store) => store.list_sla_violations(query, page).await,
            Store::Scylla(store) => store.list_sla_violations(query, page).await,
        }
    }

    /// One SLA's transitions within the query's inclusive range, ordered by time then series id.
    pub async fn list_sla_transitions(&self, query: &SlaRangeQuery, page: &Page) -> Result<Paged<SlaTransitionRow>, StoreError> {
        match self {
            Store::Embedded(store) => store.list_sla_transitions(query, page).await,
            Store::Scylla(store) => store.list_sla_transitions(query, page).await,
        }
    }

    /// Violating samples, episodes (transitions to violated) and bad time slices of one SLA
    /// within the query's inclusive range; `timeslice_ms` must be positive.
    pub async fn sla_counts(&self, query: &SlaRangeQuery, timeslice_ms: i64) -> Result<SlaCounts, StoreError> {
        match self {
            Store::Embedded(store) => store.sla_counts(query, timeslice_ms).await,
            Store::Scylla(store) => store.sla_counts(query, timeslice_ms).await,
        }
    }

    /// Claims `username` for `user_id`: true when the name is now this user's (newly claimed, or
    /// already theirs), false when another user holds it. The arbiter of unique usernames: of two
    /// racing claims exactly one gets true (SQLite's primary key; ScyllaDB's `IF NOT EXISTS`).
    pub async fn claim_username(&self, username: &str, user_id: &str) -> Result<bool, StoreError> {
        match self {
            Store::Embedded(store) => store.claim_username(username, user_id).await,
            Store::Scylla(store) => store.claim_username(username, user_id).await,
        }
    }

    /// Frees `username` if `user_id` holds it (a deleted account); another holder is left alone.
    pub async fn release_username(&self, username: &str, user_id: &str) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => store.release_username(username, user_id).await,
            Store::Scylla(store) => store.release_username(username, user_id).await,
        }
    }

    /// Upserts users keyed by id; a row whose revision is lower than the stored one is ignored.
    pub async fn upsert_users(&self, rows: &[UserRow]) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => store.upsert_users(rows).await,
            Store::Scylla(store) => store.upsert_users(rows).await,
        }
    }

    /// The user with this id, deleted or not.
    pub async fn get_user(&self, user_id: &str) -> Result<Option<UserRow>, StoreError> {
        match self {
            Store::Embedded(store) => store.get_user(user_id).await,
            Store::Scylla(store) => store.get_user(user_id).await,
        }
    }

    /// The live user whose claimed username this is (none before the projector has written the
    /// user, or after the account is deleted).
    pub async fn get_user_by_username(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        match self {
            Store::Embedded(store) => store.get_user_by_username(username).await,
            Store::Scylla(store) => store.get_user_by_username(username).await,
        }
    }

    /// Stores a one-time link code (replacing one with the same code).
    pub async fn put_link_code(&self, row: &LinkCodeRow) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => store.put_link_code(row).await,
            Store::Scylla(store) => store.put_link_code(row).await,
        }
    }

    /// Redeems a link code: removes it and returns it when it existed and has not expired by
    /// `now_ms`. Of two racing takes of one code at most one gets it.
    pub async fn take_link_code(&self, code: &str, now_ms: i64) -> Result<Option<LinkCodeRow>, StoreError> {
        match self {
            Store::Embedded(store) => store.take_link_code(code, now_ms).await,
            Store::Scylla(store) => store.take_link_code(code, now_ms).await,
        }
    }

    /// Upserts weather subscriptions keyed by id; a row whose revision is lower than the stored one
    /// is ignored; deleted ones stay as flagged tombstones.
    pub async fn upsert_subscriptions(&self, rows: &[SubscriptionRow]) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => store.upsert_subscriptions(rows).await,
            Store::Scylla(store) => store.upsert_subscriptions(rows).await,
        }
    }

    /// The subscription with this id, deleted or not.
    pub async fn get_subscription(&self, subscription_id: &str) -> Result<Option<SubscriptionRow>, StoreError> {
        match self {
            Store::Embedded(store) => store.get_subscription(subscription_id).await,
            Store::Scylla(store) => store.get_subscription(subscription_id).await,
        }
    }

    /// The live subscriptions of one user, oldest first (a user has a handful: not paginated).
    pub async fn list_subscriptions(&self, user_id: &str) -> Result<Vec<SubscriptionRow>, StoreError> {
        match self {
            Store::Embedded(store) => store.list_subscriptions(user_id).await,
            Store::Scylla(store) => store.list_subscriptions(user_id).await,
        }
    }

    /// Empties every read model (`vane replay` starts from here).
    pub async fn wipe(&self) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => store.wipe().await,
            Store::Scylla(store) => store.wipe().await,
        }
    }

    /// Retention: deletes series last seen before `cutoff_ms`, aggregates whose `as_of_ms` is
    /// before it, history and latest analyses whose `analyzed_at_ms` is before it, SLA status
    /// rows last updated before it and SLA violations and transitions that happened before it.
    /// SLA definitions are never aged out.
    pub async fn delete_older_than(&self, cutoff_ms: i64) -> Result<Removed, StoreError> {
        match self {
            Store::Embedded(store) => store.delete_older_than(cutoff_ms).await,
            Store::Scylla(store) => store.delete_older_than(cutoff_ms).await,
        }
    }

    /// A trivial round trip, for `/healthz` and readiness.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => store.ping().await,
            Store::Scylla(store) => store.ping().await,
        }
    }

    /// Which backend, for logs and `/healthz`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Embedded(_) => "embedded",
            Store::Scylla(_) => "scylla",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync + 'static>() {}
    fn send<T: Send>(_: T) {}

    /// The gRPC API spawns handlers on tokio: the store and its futures must cross threads.
    #[test]
    fn store_and_its_futures_are_send() {
        send_sync::<Store>();
        send_sync::<StoreError>();
        let dir = std::env::temp_dir();
        let Ok(store) = Store::open_embedded(dir.join(format!("vane-store-send-{}", std::process::id()))) else {
            return;
        };
        let (query, page) = (SeriesQuery::default(), Page::first(1));
        send(store.list_series(&query, &page));
        send(store.list_aggregates(
            &AggregateQuery {
                metric: "m".into(),
                window: None,
            },
            &page,
        ));
        send(store.upsert_series(&[]));
        send(store.upsert_aggregates(&[]));
        send(store.upsert_analyses(&[]));
        send(store.list_analyses(&AnalysisQuery::default(), &page));
        send(store.migrate());
        send(store.wipe());
        send(store.delete_older_than(0));
        send(store.upsert_sla_definitions(&[]));
        send(store.get_sla("x"));
        send(store.list_slas(true));
        send(store.upsert_sla_status(&[]));
        send(store.delete_sla_status("x"));
        send(store.list_sla_status(None, &page));
        send(store.upsert_sla_violations(&[]));
        send(store.upsert_sla_transitions(&[]));
        let range = SlaRangeQuery::default();
        send(store.list_sla_violations(&range, &page));
        send(store.list_sla_transitions(&range, &page));
        send(store.sla_counts(&range, 60_000));
        send(store.claim_username("u", "id"));
        send(store.get_user_by_username("u"));
        send(store.take_link_code("c", 0));
        send(store.list_subscriptions("id"));
        if let Store::Embedded(embedded) = &store {
            let _ = std::fs::remove_dir_all(embedded.path().parent().unwrap_or(&dir));
        }
    }
}
