//! The embedded store's schema, as numbered migrations applied once each, in order.
//!
//! `schema_version` holds the number of every migration applied. A migration is never edited
//! once released: changes come as a new, higher number. Column names avoid SQL keywords
//! (`window`, `count`) and match the ScyllaDB tables in `scylla/cql.rs`.

use rusqlite::{Connection, OptionalExtension};

use crate::StoreError;

/// `(version, SQL)`, ascending.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (
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
    ),
    // Analyses. Rowid tables, unlike the others: a row holds a JSON detail of a few kB and the
    // latest one a points blob of up to ~160 kB, and SQLite advises WITHOUT ROWID for small rows
    // only. The index serves retention, which deletes by analysis time across every metric.
    (
        2,
        "CREATE TABLE analysis_history (
        metric          TEXT    NOT NULL,
        series_id       TEXT    NOT NULL,
        analyzed_at_ms  INTEGER NOT NULL,
        labels          TEXT    NOT NULL, -- JSON object, keys sorted
        window_start_ms INTEGER NOT NULL,
        window_end_ms   INTEGER NOT NULL,
        points_count    INTEGER NOT NULL,
        compute_ms      REAL    NOT NULL,
        detail          TEXT    NOT NULL, -- JSON AnalysisDetail
        PRIMARY KEY (metric, series_id, analyzed_at_ms)
    );
    CREATE INDEX analysis_history_by_time ON analysis_history (analyzed_at_ms);
    CREATE TABLE analysis_latest (
        metric          TEXT    NOT NULL,
        series_id       TEXT    NOT NULL,
        analyzed_at_ms  INTEGER NOT NULL,
        labels          TEXT    NOT NULL,
        window_start_ms INTEGER NOT NULL,
        window_end_ms   INTEGER NOT NULL,
        points_count    INTEGER NOT NULL,
        compute_ms      REAL    NOT NULL,
        detail          TEXT    NOT NULL,
        points          BLOB    NOT NULL, -- analysis::encode_points
        version         INTEGER NOT NULL, -- AnalysisRow::version
        PRIMARY KEY (metric, series_id)
    );",
    ),
    // SLAs. Definitions are few (hundreds) and read whole; the history tables are keyed so that
    // one SLA's rows in a time range are one index range, with an index by time for retention.
    (
        3,
        "CREATE TABLE sla_definitions (
        sla_id     TEXT    NOT NULL PRIMARY KEY,
        name       TEXT    NOT NULL,
        revision   INTEGER NOT NULL,
        deleted    INTEGER NOT NULL, -- 0 or 1
        definition TEXT    NOT NULL  -- JSON vane_core::sla::SlaDefinition
    );
    CREATE INDEX sla_definitions_by_name ON sla_definitions (name, deleted);
    CREATE TABLE sla_status (
        sla_id            TEXT    NOT NULL,
        series_id         TEXT    NOT NULL,
        metric            TEXT    NOT NULL,
        labels            TEXT    NOT NULL, -- JSON object, keys sorted
        status            TEXT    NOT NULL, -- SlaStatus::as_str
        value             REAL,
        since_ms          INTEGER NOT NULL,
        updated_ms        INTEGER NOT NULL,
        probability       REAL,
        probability_at_ms INTEGER,
        horizon_ms        INTEGER,
        likely            INTEGER NOT NULL, -- 0 or 1
        PRIMARY KEY (sla_id, series_id)
    ) WITHOUT ROWID;
    CREATE INDEX sla_status_by_time ON sla_status (updated_ms);
    CREATE TABLE sla_violations (
        sla_id    TEXT    NOT NULL,
        at_ms     INTEGER NOT NULL,
        series_id TEXT    NOT NULL,
        metric    TEXT    NOT NULL,
        labels    TEXT    NOT NULL,
        value     REAL, -- NULL for a NaN sample
        PRIMARY KEY (sla_id, at_ms, series_id)
    ) WITHOUT ROWID;
    CREATE INDEX sla_violations_by_time ON sla_violations (at_ms);
    CREATE TABLE sla_transitions (
        sla_id      TEXT    NOT NULL,
        at_ms       INTEGER NOT NULL,
        series_id   TEXT    NOT NULL,
        metric      TEXT    NOT NULL,
        labels      TEXT    NOT NULL,
        from_status TEXT,            -- NULL for a series' first status
        to_status   TEXT    NOT NULL,
        value       REAL,
        PRIMARY KEY (sla_id, at_ms, series_id)
    ) WITHOUT ROWID;
    CREATE INDEX sla_transitions_by_time ON sla_transitions (at_ms);",
    ),
    // Users and weather subscriptions. The `usernames` primary key is the arbiter of unique
    // usernames (the API claims a name here before it writes the "registered" event).
    (
        4,
        "CREATE TABLE users (
        user_id  TEXT    NOT NULL PRIMARY KEY,
        username TEXT    NOT NULL,
        revision INTEGER NOT NULL,
        deleted  INTEGER NOT NULL, -- 0 or 1
        detail   TEXT    NOT NULL  -- JSON UserRow
    ) WITHOUT ROWID;
    CREATE TABLE usernames (
        username TEXT NOT NULL PRIMARY KEY,
        user_id  TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE link_codes (
        code          TEXT    NOT NULL PRIMARY KEY,
        user_id       TEXT    NOT NULL,
        expires_at_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE subscriptions (
        subscription_id TEXT    NOT NULL PRIMARY KEY,
        user_id         TEXT    NOT NULL,
        revision        INTEGER NOT NULL,
        deleted         INTEGER NOT NULL, -- 0 or 1
        created_at_ms   INTEGER NOT NULL,
        detail          TEXT    NOT NULL  -- JSON SubscriptionRow
    ) WITHOUT ROWID;
    CREATE INDEX subscriptions_by_user ON subscriptions (user_id, deleted, created_at_ms);",
    ),
];

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

    /// A file made by a build that knew migration 1 only keeps its rows and gains the rest.
    #[test]
    fn an_older_file_is_upgraded_in_place() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)")
            .unwrap();
        let (version, sql) = MIGRATIONS[0];
        conn.execute_batch(sql).unwrap();
        conn.execute("INSERT INTO schema_version (version) VALUES (?1)", [version]).unwrap();
        conn.execute("INSERT INTO series VALUES ('up', '0000000000000001', '{}', 1, 2)", [])
            .unwrap();
        assert_eq!(current(&conn).unwrap(), 1);
        assert_eq!(migrate(&mut conn).unwrap(), latest());
        assert!(latest() >= 3);
        let kept: i64 = conn.query_row("SELECT count(*) FROM series", [], |row| row.get(0)).unwrap();
        assert_eq!(kept, 1);
        for table in [
            "analysis_latest",
            "sla_definitions",
            "sla_status",
            "sla_violations",
            "sla_transitions",
        ] {
            let empty: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| row.get(0))
                .unwrap();
            assert_eq!(empty, 0, "{table}");
        }
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
