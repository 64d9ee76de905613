//! The embedded store's schema, as numbered migrations applied once each, in order.
//!
//! `schema_version` holds the number of every migration applied. A migration is never edited
//! once released: changes come as a new, higher number. Column names avoid SQL keywords
//! (`window`, `count`) and match the ScyllaDB tables in `scylla/cql.rs`.

use rusqlite::{Connection, OptionalExtension};

use crate::StoreError;

/// `(version, SQL)`, ascending.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[(
    1,
    "CREATE TABLE series (
        metric        TEXT    NOT NULL,
        series_id     TEXT    NOT NULL,
        labels        TEXT    NOT NULL, -- JSON object, keys sorted
        first_seen_ms INTEGER NOT NULL,
        last_seen_ms  INTEGER NOT NULL,
        PRIMARY KEY (metric, series_id)
    ) WITHOUT ROWID;
    CREATE TABLE aggregates (
        metric       TEXT    NOT NULL,
        window_name  TEXT    NOT NULL,
        series_id    TEXT    NOT NULL,
        labels       TEXT    NOT NULL,
        max_value    REAL    NOT NULL,
        min_value    REAL    NOT NULL,
        mean_value   REAL    NOT NULL,
        std_value    REAL,             -- NULL for a single sample
        sample_count INTEGER NOT NULL,
        first_ms     INTEGER NOT NULL,
        last_ms      INTEGER NOT NULL,
        as_of_ms     INTEGER NOT NULL,
        version      INTEGER NOT NULL, -- AggregateRow::version
        PRIMARY KEY (metric, window_name, series_id)
    ) WITHOUT ROWID;",
)];

/// The newest schema this build knows.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |(version, _)| *version)
}

/// Applies the missing migrations, each in its own transaction; a no-op when up to date.
pub(crate) fn migrate(conn: &mut Connection) -> Result<i64, StoreError> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)")?;
    let current = current(conn)?;
    if current > latest() {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: latest(),
        });
    }
    for (version, sql) in MIGRATIONS {
        if *version <= current {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute("INSERT INTO schema_version (version) VALUES (?1)", [version])?;
        tx.commit()?;
        tracing::info!(version, "applied store migration");
    }
    Ok(latest())
}

/// The highest migration applied, 0 for a new file.
pub(crate) fn current(conn: &Connection) -> Result<i64, StoreError> {
    let exists: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if exists.is_none() {
        return Ok(0);
    }
    let version: Option<i64> = conn.query_row("SELECT max(version) FROM schema_version", [], |row| row.get(0))?;
    Ok(version.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_ascend_and_apply_once() {
        let mut previous = 0;
        for (version, _) in MIGRATIONS {
            assert!(*version > previous);
            previous = *version;
        }
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(current(&conn).unwrap(), 0);
        assert_eq!(migrate(&mut conn).unwrap(), latest());
        assert_eq!(migrate(&mut conn).unwrap(), latest());
        let applied: i64 = conn.query_row("SELECT count(*) FROM schema_version", [], |row| row.get(0)).unwrap();
        assert_eq!(applied, i64::try_from(MIGRATIONS.len()).unwrap());
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute("INSERT INTO schema_version (version) VALUES (?1)", [latest() + 1])
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::SchemaTooNew { .. })));
    }
}
