//! The embedded backend: one SQLite file, `<data dir>/store.sqlite`, in WAL mode.
//!
//! One writer connection (upserts, migrations, wipe, retention) and a few reader connections
//! (queries), so that a projector writing a large batch does not hold up the gRPC API: WAL lets
//! readers see the last committed state while the writer works. Every call runs on tokio's
//! blocking pool. `synchronous = NORMAL`: a power cut may lose the last transactions, which is
//! fine because the log is the source of truth and the projector's offsets are committed only
//! after its upserts return (a lost upsert is redelivered; a replay rebuilds everything).

mod analysis;
mod migrations;
mod rows;
mod sla;
mod users;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use crate::analysis::{AnalysisQuery, AnalysisRow};
use crate::model::{AggregateQuery, AggregateRow, Page, Paged, SeriesQuery, SeriesRow};
use crate::sla::{SlaCounts, SlaDefinitionRow, SlaRangeQuery, SlaStatusRow, SlaStatusUpdate, SlaTransitionRow, SlaViolationRow};
use crate::users::{LinkCodeRow, SubscriptionRow, UserRow};
use crate::{Removed, StoreError};

/// Reader connections: queries run concurrently up to this many.
const READERS: usize = 4;

/// The embedded store; cheap to clone.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Readers>,
}

#[derive(Debug)]
struct Readers {
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl SqliteStore {
    /// Opens (creating if needed) `<dir>/store.sqlite`. Call [`SqliteStore::migrate`] before use.
    pub fn open(dir: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|error| StoreError::io(dir, error))?;
        let path = dir.join("store.sqlite");
        let writer = Connection::open(&path)?;
        writer.busy_timeout(Duration::from_secs(5))?;
        // WAL is a property of the file: set once here, every later connection inherits it.
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!("{} refused WAL mode (got {mode})", path.display())));
        }
        writer.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;")?;
        let mut idle = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            idle.push(open_reader(&path)?);
        }
        Ok(SqliteStore {
            path,
            writer: Arc::new(Mutex::new(writer)),
            readers: Arc::new(Readers {
                idle: Mutex::new(idle),
                permits: Semaphore::new(READERS),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies the missing schema migrations; returns the schema version now in place.
    pub async fn migrate(&self) -> Result<i64, StoreError> {
        self.write(migrations::migrate).await
    }

    /// The schema version in place (0 before the first migration).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        self.write(|conn| migrations::current(conn)).await
    }

    pub async fn upsert_series(&self, rows: &[SeriesRow]) -> Result<(), StoreError> {
        let rows = rows.to_vec();
        self.write(move |conn| rows::upsert_series(conn, &rows)).await
    }

    pub async fn upsert_aggregates(&self, rows: &[AggregateRow]) -> Result<(), StoreError> {
        let rows = rows.to_vec();
        self.write(move |conn| rows::upsert_aggregates(conn, &rows)).await
    }

    pub async fn upsert_analyses(&self, rows: &[AnalysisRow]) -> Result<(), StoreError> {
        let rows = rows.to_vec();
        self.write(move |conn| analysis::upsert_analyses(conn, &rows)).await
    }

    pub async fn list_series(&self, query: &SeriesQuery, page: &Page) -> Result<Paged<SeriesRow>, StoreError> {
        let (query, page) = (query.clone(), page.clone());
        self.read(move |conn| rows::list_series(conn, &query, &page)).await
    }

    pub async fn list_aggregates(&self, query: &AggregateQuery, page: &Page) -> Result<Paged<AggregateRow>, StoreError> {
        let (query, page) = (query.clone(), page.clone());
        self.read(move |conn| rows::list_aggregates(conn, &query, &page)).await
    }

    pub async fn list_analyses(&self, query: &AnalysisQuery, page: &Page) -> Result<Paged<AnalysisRow>, StoreError> {
        let (query, page) = (query.clone(), page.clone());
        self.read(move |conn| analysis::list_analyses(conn, &query, &page)).await
    }

    pub async fn upsert_sla_definitions(&self, rows: &[SlaDefinitionRow]) -> Result<(), StoreError> {
        let rows = rows.to_vec();
        self.write(move |conn| sla::upsert_definitions(conn, &rows)).await
    }

    pub async fn get_sla(&self, id_or_name: &str) -> Result<Option<SlaDefinitionRow>, StoreError> {
        let key = id_or_name.to_string();
        self.read(move |conn| sla::get_definition(conn, &key)).await
    }

    pub async fn list_slas(&self, include_deleted: bool) -> Result<Vec<SlaDefinitionRow>, StoreError> {
        self.read(move |conn| sla::list_definitions(conn, include_deleted)).await
    }

    pub async fn upsert_sla_status(&self, updates: &[SlaStatusUpdate]) -> Result<(), StoreError> {
        let updates = updates.to_vec();
        self.write(move |conn| sla::upsert_status(conn, &updates)).await
    }

    pub async fn delete_sla_status(&self, sla_id: &str) -> Result<(), StoreError> {
        let sla_id = sla_id.to_string();
        self.write(move |conn| sla::delete_status(conn, &sla_id)).await
    }

    pub async fn list_sla_status(&self, sla_id: Option<&str>, page: &Page) -> Result<Paged<SlaStatusRow>, StoreError> {
        let (sla_id, page) = (sla_id.map(str::to_string), page.clone());
        self.read(move |conn| sla::list_status(conn, sla_id.as_deref(), &page)).await
    }

    pub async fn upsert_sla_violations(&self, rows: &[SlaViolationRow]) -> Result<(), StoreError> {
        let rows = rows.to_vec();
        self.write(move |conn| sla::upsert_violations(conn, &rows)).await
    }

    pub async fn upsert_sla_transitions(&self, rows: &[SlaTransitionRow]) -> Result<(), StoreError> {
        let rows = rows.to_vec();
        self.write(move |conn| sla::upsert_transitions(conn, &rows)).await
    }

    pub async fn list_sla_violations(&self, query: &SlaRangeQuery, page: &Page) -> Result<Paged<SlaViolationRow>, StoreError> {
        let (query, page) = (query.clone(), page.clone());
        self.read(move |conn| sla::list_violations(conn, &query, &page)).await
    }

    pub async fn list_sla_transitions(&self, query: &SlaRangeQuery, page: &Page) -> Result<Paged<SlaTransitionRow>, StoreError> {
        let (query, page) = (query.clone(), page.clone());
        self.read(move |conn| sla::list_transitions(conn, &query, &page)).await
    }

    pub async fn sla_counts(&self, query: &SlaRangeQuery, timeslice_ms: i64) -> Result<SlaCounts, StoreError> {
        let query = query.clone();
        self.read(move |conn| sla::counts(conn, &query, timeslice_ms)).await
    }

    pub async fn claim_username(&self, username: &str, user_id: &str) -> Result<bool, StoreError> {
        let (username, user_id) = (username.to_string(), user_id.to_string());
        self.write(move |conn| users::claim_username(conn, &username, &user_id)).await
    }

    pub async fn release_username(&self, username: &str, user_id: &str) -> Result<(), StoreError> {
        let (username, user_id) = (username.to_string(), user_id.to_string());
        self.write(move |conn| users::release_username(conn, &username, &user_id)).await
    }

    pub async fn upsert_users(&self, rows: &[UserRow]) -> Result<(), StoreError> {
        let rows = rows.to_vec();
        self.write(move |conn| users::upsert_users(conn, &rows)).await
    }

    pub async fn get_user(&self, user_id: &str) -> Result<Option<UserRow>, StoreError> {
        let user_id = user_id.to_string();
        self.read(move |conn| users::get_user(conn, &user_id)).await
    }

    pub async fn get_user_by_username(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let username = username.to_string();
        self.read(move |conn| users::get_user_by_username(conn, &username)).await
    }

    pub async fn put_link_code(&self, row: &LinkCodeRow) -> Result<(), StoreError> {
        let row = row.clone();
        self.write(move |conn| users::put_link_code(conn, &row)).await
    }

    pub async fn take_link_code(&self, code: &str, now_ms: i64) -> Result<Option<LinkCodeRow>, StoreError> {
        let code = code.to_string();
        self.write(move |conn| users::take_link_code(conn, &code, now_ms)).await
    }

    pub async fn upsert_subscriptions(&self, rows: &[SubscriptionRow]) -> Result<(), StoreError> {
        let rows = rows.to_vec();
        self.write(move |conn| users::upsert_subscriptions(conn, &rows)).await
    }

    pub async fn get_subscription(&self, subscription_id: &str) -> Result<Option<SubscriptionRow>, StoreError> {
        let subscription_id = subscription_id.to_string();
        self.read(move |conn| users::get_subscription(conn, &subscription_id)).await
    }

    pub async fn list_subscriptions(&self, user_id: &str) -> Result<Vec<SubscriptionRow>, StoreError> {
        let user_id = user_id.to_string();
        self.read(move |conn| users::list_subscriptions(conn, &user_id)).await
    }

    pub async fn wipe(&self) -> Result<(), StoreError> {
        self.write(rows::wipe).await
    }

    pub async fn delete_older_than(&self, cutoff_ms: i64) -> Result<Removed, StoreError> {
        self.write(move |conn| rows::delete_older_than(conn, cutoff_ms)).await
    }

    /// A trivial query, for `/healthz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }

    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let writer = Arc::clone(&self.writer);
        tokio::task::spawn_blocking(move || work(&mut lock(&writer))).await?
    }

    async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        // The semaphore is never closed, so acquiring only fails if it were; treat that as a bug.
        let _permit = readers
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Corrupt("reader pool closed".to_string()))?;
        let pool = Arc::clone(&readers);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            // A reader is missing only if a query panicked while holding it: open a new one.
            let idle = lock(&pool.idle).pop();
            let conn = match idle {
                Some(conn) => conn,
                None => open_reader(&path)?,
            };
            let result = work(&conn);
            lock(&pool.idle).push(conn);
            result
        })
        .await?
    }
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let reader = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    reader.busy_timeout(Duration::from_secs(5))?;
    Ok(reader)
}

/// A poisoned lock only means another call panicked; SQLite rolled its transaction back.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
