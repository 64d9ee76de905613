//! Every CQL statement the ScyllaDB backend runs, in one place.
//!
//! `{ks}` stands for the keyspace (validated as a plain identifier before it is substituted) and
//! `{rf}` for the replication factor. Tables mirror the embedded schema (`sqlite/migrations.rs`):
//! same column names, same clustering order, so both backends page identically.
//!
//! - `series`: partition `metric`, clustering `series_id`: one metric's catalog is one slice.
//! - `metric_names`: one partition (`bucket = 0`) clustering every metric name, so that listing
//!   the catalog of every metric walks metric names in order without a full scan.
//! - `aggregates`: partition `metric`, clustering `(window_name, series_id)`: one metric's
//!   aggregates for one window, or for all windows, is one slice of one partition.
//! - `analysis_history`: partition `metric`, clustering `(series_id, analyzed_at_ms)`: one
//!   series' analyses in a time range is one slice.
//! - `analysis_latest`: partition `metric`, clustering `series_id`: the latest analysis of each
//!   series, with its points (a blob); its series ids also drive the walk over the history.
//!
//! Writes carry `USING TIMESTAMP` (microseconds) so that ScyllaDB's last-write-wins keeps the
//! newest row whatever order writes arrive in; deletes carry one too, so that a retention pass
//! removes only what was written before the cutoff (see docs/store.md).

pub(crate) const CREATE_KEYSPACE: &str = "CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = \
    {'class': 'NetworkTopologyStrategy', 'replication_factor': {rf}}";

pub(crate) const CREATE_MIGRATIONS: &str =
    "CREATE TABLE IF NOT EXISTS {ks}.schema_migrations (version bigint PRIMARY KEY, applied_at timestamp)";
pub(crate) const APPLIED_MIGRATIONS: &str = "SELECT version FROM {ks}.schema_migrations";
pub(crate) const RECORD_MIGRATION: &str = "INSERT INTO {ks}.schema_migrations (version, applied_at) VALUES (?, toTimestamp(now()))";

/// `(version, statements)`, ascending. Each statement is idempotent on its own (`IF NOT EXISTS`),
/// so a migration interrupted half-way is simply run again.
pub(crate) const MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            "CREATE TABLE IF NOT EXISTS {ks}.series (
            metric text,
            series_id text,
            labels frozen<map<text, text>>,
            first_seen_ms bigint,
            last_seen_ms bigint,
            PRIMARY KEY ((metric), series_id)
        ) WITH CLUSTERING ORDER BY (series_id ASC)",
            "CREATE TABLE IF NOT EXISTS {ks}.metric_names (
            bucket int,
            metric text,
            last_seen_ms bigint,
            PRIMARY KEY ((bucket), metric)
        ) WITH CLUSTERING ORDER BY (metric ASC)",
            "CREATE TABLE IF NOT EXISTS {ks}.aggregates (
            metric text,
            window_name text,
            series_id text,
            labels frozen<map<text, text>>,
            max_value double,
            min_value double,
            mean_value double,
            std_value double,
            sample_count bigint,
            first_ms bigint,
            last_ms bigint,
            as_of_ms bigint,
            PRIMARY KEY ((metric), window_name, series_id)
        ) WITH CLUSTERING ORDER BY (window_name ASC, series_id ASC)",
        ],
    ),
    (
        2,
        &[
            "CREATE TABLE IF NOT EXISTS {ks}.analysis_history (
            metric text,
            series_id text,
            analyzed_at_ms bigint,
            labels frozen<map<text, text>>,
            window_start_ms bigint,
            window_end_ms bigint,
            points_count bigint,
            compute_ms double,
            detail text,
            PRIMARY KEY ((metric), series_id, analyzed_at_ms)
        ) WITH CLUSTERING ORDER BY (series_id ASC, analyzed_at_ms ASC)",
            "CREATE TABLE IF NOT EXISTS {ks}.analysis_latest (
            metric text,
            series_id text,
            analyzed_at_ms bigint,
            labels frozen<map<text, text>>,
            window_start_ms bigint,
            window_end_ms bigint,
            points_count bigint,
            compute_ms double,
            detail text,
            points blob,
            version bigint,
            PRIMARY KEY ((metric), series_id)
        ) WITH CLUSTERING ORDER BY (series_id ASC)",
        ],
    ),
];

pub(crate) const TRUNCATE: &[&str] = &[
    "TRUNCATE TABLE {ks}.series",
    "TRUNCATE TABLE {ks}.metric_names",
    "TRUNCATE TABLE {ks}.aggregates",
    "TRUNCATE TABLE {ks}.analysis_history",
    "TRUNCATE TABLE {ks}.analysis_latest",
];

pub(crate) const PING: &str = "SELECT release_version FROM system.local";

// Series catalog.
pub(crate) const SERIES_STATE: &str = "SELECT series_id, first_seen_ms, last_seen_ms, WRITETIME(last_seen_ms) \
    FROM {ks}.series WHERE metric = ? AND series_id IN ?";
pub(crate) const INSERT_SERIES: &str = "INSERT INTO {ks}.series \
    (metric, series_id, labels, first_seen_ms, last_seen_ms) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?";
pub(crate) const INSERT_METRIC_NAME: &str =
    "INSERT INTO {ks}.metric_names (bucket, metric, last_seen_ms) VALUES (0, ?, ?) USING TIMESTAMP ?";
pub(crate) const LIST_SERIES: &str = "SELECT metric, series_id, labels, first_seen_ms, last_seen_ms \
    FROM {ks}.series WHERE metric = ? AND series_id > ? LIMIT ?";
pub(crate) const NEXT_METRIC_NAMES: &str = "SELECT metric FROM {ks}.metric_names WHERE bucket = 0 AND metric > ? LIMIT ?";

// Aggregates.
pub(crate) const INSERT_AGGREGATE: &str = "INSERT INTO {ks}.aggregates \
    (metric, window_name, series_id, labels, max_value, min_value, mean_value, std_value, sample_count, \
    first_ms, last_ms, as_of_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?";
const AGGREGATE_COLUMNS: &str = "metric, window_name, series_id, labels, max_value, min_value, mean_value, \
    std_value, sample_count, first_ms, last_ms, as_of_ms";
pub(crate) fn list_aggregates_in_window() -> String {
    format!("SELECT {AGGREGATE_COLUMNS} FROM {{ks}}.aggregates WHERE metric = ? AND window_name = ? AND series_id > ? LIMIT ?")
}
pub(crate) fn list_aggregates_all_windows() -> String {
    format!("SELECT {AGGREGATE_COLUMNS} FROM {{ks}}.aggregates WHERE metric = ? AND (window_name, series_id) > (?, ?) LIMIT ?")
}

// Analyses. Both inserts carry `USING TIMESTAMP AnalysisRow::version()`.
pub(crate) const INSERT_ANALYSIS_HISTORY: &str = "INSERT INTO {ks}.analysis_history \
    (metric, series_id, analyzed_at_ms, labels, window_start_ms, window_end_ms, points_count, compute_ms, \
    detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?";
pub(crate) const INSERT_ANALYSIS_LATEST: &str = "INSERT INTO {ks}.analysis_latest \
    (metric, series_id, analyzed_at_ms, labels, window_start_ms, window_end_ms, points_count, compute_ms, \
    detail, points, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?";
/// A latest analysis without points keeps the points already stored (the worker ships them on a
/// slower cadence than the analyses): the insert leaves the `points` column alone.
pub(crate) const INSERT_ANALYSIS_LATEST_KEEP_POINTS: &str = "INSERT INTO {ks}.analysis_latest \
    (metric, series_id, analyzed_at_ms, labels, window_start_ms, window_end_ms, points_count, compute_ms, \
    detail, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?";
const ANALYSIS_COLUMNS: &str = "metric, series_id, analyzed_at_ms, labels, window_start_ms, window_end_ms, \
    points_count, compute_ms, detail";
pub(crate) fn list_latest_analyses() -> String {
    format!("SELECT {ANALYSIS_COLUMNS} FROM {{ks}}.analysis_latest WHERE metric = ? AND series_id > ? LIMIT ?")
}
pub(crate) fn list_latest_analyses_with_points() -> String {
    format!("SELECT {ANALYSIS_COLUMNS}, points FROM {{ks}}.analysis_latest WHERE metric = ? AND series_id > ? LIMIT ?")
}
pub(crate) const NEXT_ANALYSED_SERIES: &str = "SELECT series_id FROM {ks}.analysis_latest WHERE metric = ? AND series_id > ? LIMIT ?";
pub(crate) fn list_series_analyses() -> String {
    format!(
        "SELECT {ANALYSIS_COLUMNS} FROM {{ks}}.analysis_history WHERE metric = ? AND series_id = ? \
         AND analyzed_at_ms >= ? AND analyzed_at_ms <= ? LIMIT ?"
    )
}

// Retention: full scans (a background job, not a query path), then deletes with a timestamp just
// below the cutoff so that anything written for a newer event survives.
pub(crate) const OLD_SERIES: &str = "SELECT metric, series_id FROM {ks}.series WHERE last_seen_ms < ? ALLOW FILTERING";
pub(crate) const DELETE_SERIES: &str = "DELETE FROM {ks}.series USING TIMESTAMP ? WHERE metric = ? AND series_id = ?";
pub(crate) const OLD_METRIC_NAMES: &str = "SELECT metric FROM {ks}.metric_names WHERE bucket = 0 AND last_seen_ms < ? ALLOW FILTERING";
pub(crate) const DELETE_METRIC_NAME: &str = "DELETE FROM {ks}.metric_names USING TIMESTAMP ? WHERE bucket = 0 AND metric = ?";
pub(crate) const OLD_AGGREGATES: &str = "SELECT metric, window_name, series_id FROM {ks}.aggregates WHERE as_of_ms < ? ALLOW FILTERING";
pub(crate) const DELETE_AGGREGATE: &str =
    "DELETE FROM {ks}.aggregates USING TIMESTAMP ? WHERE metric = ? AND window_name = ? AND series_id = ?";

pub(crate) const OLD_ANALYSIS_HISTORY: &str =
    "SELECT metric, series_id, analyzed_at_ms FROM {ks}.analysis_history WHERE analyzed_at_ms < ? ALLOW FILTERING";
pub(crate) const DELETE_ANALYSIS_HISTORY: &str =
    "DELETE FROM {ks}.analysis_history USING TIMESTAMP ? WHERE metric = ? AND series_id = ? AND analyzed_at_ms = ?";
pub(crate) const OLD_ANALYSIS_LATEST: &str = "SELECT metric, series_id FROM {ks}.analysis_latest WHERE analyzed_at_ms < ? ALLOW FILTERING";
pub(crate) const DELETE_ANALYSIS_LATEST: &str = "DELETE FROM {ks}.analysis_latest USING TIMESTAMP ? WHERE metric = ? AND series_id = ?";

/// Substitutes the keyspace (and replication factor) into a statement.
pub(crate) fn render(template: &str, keyspace: &str, replication_factor: u32) -> String {
    template.replace("{ks}", keyspace).replace("{rf}", &replication_factor.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statement_names_its_keyspace() {
        let mut all: Vec<String> = vec![
            SERIES_STATE.into(),
            INSERT_SERIES.into(),
            INSERT_METRIC_NAME.into(),
            LIST_SERIES.into(),
            NEXT_METRIC_NAMES.into(),
            INSERT_AGGREGATE.into(),
            list_aggregates_in_window(),
            list_aggregates_all_windows(),
            OLD_SERIES.into(),
            DELETE_SERIES.into(),
            OLD_METRIC_NAMES.into(),
            DELETE_METRIC_NAME.into(),
            OLD_AGGREGATES.into(),
            DELETE_AGGREGATE.into(),
            INSERT_ANALYSIS_HISTORY.into(),
            INSERT_ANALYSIS_LATEST.into(),
            INSERT_ANALYSIS_LATEST_KEEP_POINTS.into(),
            list_latest_analyses(),
            list_latest_analyses_with_points(),
            NEXT_ANALYSED_SERIES.into(),
            list_series_analyses(),
            OLD_ANALYSIS_HISTORY.into(),
            DELETE_ANALYSIS_HISTORY.into(),
            OLD_ANALYSIS_LATEST.into(),
            DELETE_ANALYSIS_LATEST.into(),
        ];
        all.extend(TRUNCATE.iter().map(|s| s.to_string()));
        all.extend(
            MIGRATIONS
                .iter()
                .flat_map(|(_, statements)| statements.iter().map(|s| s.to_string())),
        );
        for statement in all {
            let rendered = render(&statement, "vane_test", 1);
            assert!(rendered.contains("vane_test."), "{rendered}");
            assert!(!rendered.contains('{') || rendered.contains("'class'"), "{rendered}");
        }
        assert_eq!(INSERT_AGGREGATE.matches('?').count(), 13);
        assert_eq!(INSERT_ANALYSIS_HISTORY.matches('?').count(), 10);
        assert_eq!(INSERT_ANALYSIS_LATEST.matches('?').count(), 12);
        assert_eq!(INSERT_ANALYSIS_LATEST_KEEP_POINTS.matches('?').count(), 11);
        // Both analysis tables have every column the listings read.
        for column in ANALYSIS_COLUMNS.split(", ").map(str::trim) {
            assert!(
                MIGRATIONS.iter().any(|(v, s)| *v == 2 && s.iter().all(|t| t.contains(column))),
                "{column}"
            );
        }
        assert!(render(CREATE_KEYSPACE, "k", 3).contains("'replication_factor': 3"));
    }
}
