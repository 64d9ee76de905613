//! The one store interface projectors and the API see. Each backend is a variant; callers hold a
//! [`Store`] and never match on it.

use std::path::Path;

use crate::scylla::{ScyllaConfig, ScyllaStore};
use crate::sqlite::SqliteStore;
use crate::{AggregateQuery, AggregateRow, AnalysisQuery, AnalysisRow, Page, Paged, Removed, SeriesQuery, SeriesRow, StoreError};

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

    /// Empties every read model (`vane replay` starts from here).
    pub async fn wipe(&self) -> Result<(), StoreError> {
        match self {
            Store::Embedded(store) => store.wipe().await,
            Store::Scylla(store) => store.wipe().await,
        }
    }

    /// Retention: deletes series last seen before `cutoff_ms`, aggregates whose `as_of_ms` is
    /// before it, and history and latest analyses whose `analyzed_at_ms` is before it.
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
        if let Store::Embedded(embedded) = &store {
            let _ = std::fs::remove_dir_all(embedded.path().parent().unwrap_or(&dir));
        }
    }
}
