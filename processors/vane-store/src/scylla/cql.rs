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
//! - `sla_definitions`: one partition (`bucket = 0`) clustering every SLA by id: a few hundred
//!   rows, read whole to list or to find one by name.
//! - `sla_status`: partition `sla_id`, clustering `series_id`; `sla_status_slas` (one partition)
//!   lists the SLAs that have status rows, so that listing every SLA's status walks them in order.
//! - `sla_violations`, `sla_transitions`: partition `(sla_id, day)`, clustering
//!   `(at_ms, series_id)`: a day of one SLA is one slice and no partition outgrows a day;
//!   `sla_days` (partition `sla_id`, clustering `(kind, day)`) lists the days that have rows.
//! - `users` (partition `user_id`), `usernames` (partition `username`: the claims, written by
//!   lightweight transaction), `link_codes` (partition `code`), `subscriptions` (partition
//!   `subscription_id`) and `user_subscriptions` (partition `user_id`, clustering
//!   `subscription_id`: one user's subscriptions are one partition).
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
    (
        3,
        &[
            "CREATE TABLE IF NOT EXISTS {ks}.sla_definitions (
            bucket int,
            sla_id text,
            name text,
            revision bigint,
            deleted boolean,
            definition text,
            PRIMARY KEY ((bucket), sla_id)
        ) WITH CLUSTERING ORDER BY (sla_id ASC)",
            "CREATE TABLE IF NOT EXISTS {ks}.sla_status (
            sla_id text,
            series_id text,
            metric text,
            labels frozen<map<text, text>>,
            status text,
            value double,
            since_ms bigint,
            updated_ms bigint,
            probability double,
            probability_at_ms bigint,
            horizon_ms bigint,
            likely boolean,
            PRIMARY KEY ((sla_id), series_id)
        ) WITH CLUSTERING ORDER BY (series_id ASC)",
            "CREATE TABLE IF NOT EXISTS {ks}.sla_status_slas (
            bucket int,
            sla_id text,
            updated_ms bigint,
            PRIMARY KEY ((bucket), sla_id)
        ) WITH CLUSTERING ORDER BY (sla_id ASC)",
            "CREATE TABLE IF NOT EXISTS {ks}.sla_violations (
            sla_id text,
            day bigint,
            at_ms bigint,
            series_id text,
            metric text,
            labels frozen<map<text, text>>,
            value double,
            PRIMARY KEY ((sla_id, day), at_ms, series_id)
        ) WITH CLUSTERING ORDER BY (at_ms ASC, series_id ASC)",
            "CREATE TABLE IF NOT EXISTS {ks}.sla_transitions (
            sla_id text,
            day bigint,
            at_ms bigint,
            series_id text,
            metric text,
            labels frozen<map<text, text>>,
            from_status text,
            to_status text,
            value double,
            PRIMARY KEY ((sla_id, day), at_ms, series_id)
        ) WITH CLUSTERING ORDER BY (at_ms ASC, series_id ASC)",
            "CREATE TABLE IF NOT EXISTS {ks}.sla_days (
            sla_id text,
            kind text,
            day bigint,
            last_ms bigint,
            PRIMARY KEY ((sla_id), kind, day)
        ) WITH CLUSTERING ORDER BY (kind ASC, day ASC)",
        ],
    ),
    (
        4,
        &[
            "CREATE TABLE IF NOT EXISTS {ks}.users (
            user_id text PRIMARY KEY,
            username text,
            revision bigint,
            deleted boolean,
            detail text
        )",
            "CREATE TABLE IF NOT EXISTS {ks}.usernames (
            username text PRIMARY KEY,
            user_id text
        )",
            "CREATE TABLE IF NOT EXISTS {ks}.link_codes (
            code text PRIMARY KEY,
            user_id text,
            expires_at_ms bigint
        )",
            "CREATE TABLE IF NOT EXISTS {ks}.subscriptions (
            subscription_id text PRIMARY KEY,
            user_id text,
            revision bigint,
            deleted boolean,
            detail text
        )",
            "CREATE TABLE IF NOT EXISTS {ks}.user_subscriptions (
            user_id text,
            subscription_id text,
            deleted boolean,
            detail text,
            PRIMARY KEY ((user_id), subscription_id)
        ) WITH CLUSTERING ORDER BY (subscription_id ASC)",
        ],
    ),
];

pub(crate) const TRUNCATE: &[&str] = &[
    "TRUNCATE TABLE {ks}.series",
    "TRUNCATE TABLE {ks}.metric_names",
    "TRUNCATE TABLE {ks}.aggregates",
    "TRUNCATE TABLE {ks}.analysis_history",
    "TRUNCATE TABLE {ks}.analysis_latest",
    "TRUNCATE TABLE {ks}.sla_definitions",
    "TRUNCATE TABLE {ks}.sla_status",
    "TRUNCATE TABLE {ks}.sla_status_slas",
    "TRUNCATE TABLE {ks}.sla_violations",
    "TRUNCATE TABLE {ks}.sla_transitions",
    "TRUNCATE TABLE {ks}.sla_days",
    "TRUNCATE TABLE {ks}.users",
    "TRUNCATE TABLE {ks}.usernames",
    "TRUNCATE TABLE {ks}.link_codes",
    "TRUNCATE TABLE {ks}.subscriptions",
    "TRUNCATE TABLE {ks}.user_subscriptions",
];

// Users and subscriptions (scylla/users.rs). Username claims and link-code takes are
// lightweight transactions; users and subscriptions are versioned by `USING TIMESTAMP revision`.
pub(crate) const INSERT_USER: &str = "INSERT INTO {ks}.users (user_id, username, revision, deleted, detail) \
    VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?";
pub(crate) const GET_USER: &str = "SELECT detail FROM {ks}.users WHERE user_id = ?";
pub(crate) const CLAIM_USERNAME: &str = "INSERT INTO {ks}.usernames (username, user_id) VALUES (?, ?) IF NOT EXISTS";
pub(crate) const USERNAME_OWNER: &str = "SELECT user_id FROM {ks}.usernames WHERE username = ?";
pub(crate) const RELEASE_USERNAME: &str = "DELETE FROM {ks}.usernames WHERE username = ? IF user_id = ?";
/// A code outlives its expiry by a day at most: then ScyllaDB drops it.
pub(crate) const INSERT_LINK_CODE: &str = "INSERT INTO {ks}.link_codes (code, user_id, expires_at_ms) VALUES (?, ?, ?) \
    IF NOT EXISTS USING TTL 86400";
pub(crate) const GET_LINK_CODE: &str = "SELECT user_id, expires_at_ms FROM {ks}.link_codes WHERE code = ?";
pub(crate) const TAKE_LINK_CODE: &str = "DELETE FROM {ks}.link_codes WHERE code = ? IF EXISTS";
pub(crate) const INSERT_SUBSCRIPTION: &str = "INSERT INTO {ks}.subscriptions \
    (subscription_id, user_id, revision, deleted, detail) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?";
pub(crate) const INSERT_USER_SUBSCRIPTION: &str = "INSERT INTO {ks}.user_subscriptions \
    (user_id, subscription_id, deleted, detail) VALUES (?, ?, ?, ?) USING TIMESTAMP ?";
pub(crate) const GET_SUBSCRIPTION: &str = "SELECT detail FROM {ks}.subscriptions WHERE subscription_id = ?";
pub(crate) const USER_SUBSCRIPTIONS: &str = "SELECT detail, deleted FROM {ks}.user_subscriptions WHERE user_id = ?";

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

// SLA definitions, written `USING TIMESTAMP revision` so that the highest revision wins.
pub(crate) const INSERT_SLA_DEFINITION: &str = "INSERT INTO {ks}.sla_definitions \
    (bucket, sla_id, name, revision, deleted, definition) VALUES (0, ?, ?, ?, ?, ?) USING TIMESTAMP ?";
pub(crate) const GET_SLA_DEFINITION: &str = "SELECT definition, deleted FROM {ks}.sla_definitions WHERE bucket = 0 AND sla_id = ?";
pub(crate) const ALL_SLA_DEFINITIONS: &str = "SELECT name, definition, deleted FROM {ks}.sla_definitions WHERE bucket = 0";
pub(crate) const DELETED_SLAS: &str = "SELECT sla_id, deleted FROM {ks}.sla_definitions WHERE bucket = 0 AND sla_id IN ?";

// SLA status: read, merged by the store, written whole `USING TIMESTAMP` above the stored one.
pub(crate) const SLA_STATUS_COLUMNS: &str = "sla_id, series_id, metric, labels, status, value, since_ms, updated_ms, \
    probability, probability_at_ms, horizon_ms, likely";
pub(crate) fn sla_status_state() -> String {
    format!("SELECT {SLA_STATUS_COLUMNS}, WRITETIME(updated_ms) FROM {{ks}}.sla_status WHERE sla_id = ? AND series_id IN ?")
}
pub(crate) fn insert_sla_status() -> String {
    format!("INSERT INTO {{ks}}.sla_status ({SLA_STATUS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?")
}
pub(crate) const INSERT_SLA_STATUS_SLA: &str =
    "INSERT INTO {ks}.sla_status_slas (bucket, sla_id, updated_ms) VALUES (0, ?, ?) USING TIMESTAMP ?";
pub(crate) fn list_sla_status() -> String {
    format!("SELECT {SLA_STATUS_COLUMNS} FROM {{ks}}.sla_status WHERE sla_id = ? AND series_id > ? LIMIT ?")
}
pub(crate) const NEXT_STATUS_SLAS: &str = "SELECT sla_id FROM {ks}.sla_status_slas WHERE bucket = 0 AND sla_id > ? LIMIT ?";
pub(crate) const DELETE_SLA_STATUS: &str = "DELETE FROM {ks}.sla_status WHERE sla_id = ?";
pub(crate) const DELETE_SLA_STATUS_SLA: &str = "DELETE FROM {ks}.sla_status_slas WHERE bucket = 0 AND sla_id = ?";

// SLA violations and transitions, by day, written `USING TIMESTAMP at_ms × 1000`.
pub(crate) const INSERT_SLA_VIOLATION: &str = "INSERT INTO {ks}.sla_violations \
    (sla_id, day, at_ms, series_id, metric, labels, value) VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?";
pub(crate) const INSERT_SLA_TRANSITION: &str = "INSERT INTO {ks}.sla_transitions \
    (sla_id, day, at_ms, series_id, metric, labels, from_status, to_status, value) \
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?";
pub(crate) const INSERT_SLA_DAY: &str = "INSERT INTO {ks}.sla_days (sla_id, kind, day, last_ms) VALUES (?, ?, ?, ?) USING TIMESTAMP ?";
pub(crate) const SLA_DAYS: &str = "SELECT day FROM {ks}.sla_days WHERE sla_id = ? AND kind = ? AND day >= ? AND day <= ?";
pub(crate) const LIST_SLA_VIOLATIONS: &str = "SELECT sla_id, at_ms, series_id, metric, labels, value FROM {ks}.sla_violations \
    WHERE sla_id = ? AND day = ? AND (at_ms, series_id) > (?, ?) LIMIT ?";
pub(crate) const LIST_SLA_TRANSITIONS: &str = "SELECT sla_id, at_ms, series_id, metric, labels, from_status, to_status, value \
    FROM {ks}.sla_transitions WHERE sla_id = ? AND day = ? AND (at_ms, series_id) > (?, ?) LIMIT ?";
pub(crate) const SLA_VIOLATION_TIMES: &str =
    "SELECT at_ms FROM {ks}.sla_violations WHERE sla_id = ? AND day = ? AND at_ms >= ? AND at_ms <= ?";
pub(crate) const SLA_TRANSITION_TARGETS: &str =
    "SELECT to_status FROM {ks}.sla_transitions WHERE sla_id = ? AND day = ? AND at_ms >= ? AND at_ms <= ?";

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

pub(crate) const OLD_SLA_STATUS: &str =
    "SELECT sla_id, series_id FROM {ks}.sla_status WHERE updated_ms < ? AND status = 'no_data' ALLOW FILTERING";
pub(crate) const DELETE_OLD_SLA_STATUS: &str = "DELETE FROM {ks}.sla_status USING TIMESTAMP ? WHERE sla_id = ? AND series_id = ?";
pub(crate) const OLD_SLA_VIOLATIONS: &str = "SELECT sla_id, day, at_ms, series_id FROM {ks}.sla_violations WHERE at_ms < ? ALLOW FILTERING";
pub(crate) const DELETE_SLA_VIOLATION: &str =
    "DELETE FROM {ks}.sla_violations USING TIMESTAMP ? WHERE sla_id = ? AND day = ? AND at_ms = ? AND series_id = ?";
pub(crate) const OLD_SLA_TRANSITIONS: &str =
    "SELECT sla_id, day, at_ms, series_id FROM {ks}.sla_transitions WHERE at_ms < ? ALLOW FILTERING";
pub(crate) const DELETE_SLA_TRANSITION: &str =
    "DELETE FROM {ks}.sla_transitions USING TIMESTAMP ? WHERE sla_id = ? AND day = ? AND at_ms = ? AND series_id = ?";
/// Days that end at or before the cutoff (`day < floor(cutoff / day)`).
pub(crate) const OLD_SLA_DAYS: &str = "SELECT sla_id, kind, day FROM {ks}.sla_days WHERE day < ? ALLOW FILTERING";
pub(crate) const DELETE_SLA_DAY: &str = "DELETE FROM {ks}.sla_days USING TIMESTAMP ? WHERE sla_id = ? AND kind = ? AND day = ?";

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
            INSERT_SLA_DEFINITION.into(),
            GET_SLA_DEFINITION.into(),
            ALL_SLA_DEFINITIONS.into(),
            DELETED_SLAS.into(),
            sla_status_state(),
            insert_sla_status(),
            INSERT_SLA_STATUS_SLA.into(),
            list_sla_status(),
            NEXT_STATUS_SLAS.into(),
            DELETE_SLA_STATUS.into(),
            DELETE_SLA_STATUS_SLA.into(),
            INSERT_SLA_VIOLATION.into(),
            INSERT_SLA_TRANSITION.into(),
            INSERT_SLA_DAY.into(),
            SLA_DAYS.into(),
            LIST_SLA_VIOLATIONS.into(),
            LIST_SLA_TRANSITIONS.into(),
            SLA_VIOLATION_TIMES.into(),
            SLA_TRANSITION_TARGETS.into(),
            OLD_SLA_STATUS.into(),
            DELETE_OLD_SLA_STATUS.into(),
            OLD_SLA_VIOLATIONS.into(),
            DELETE_SLA_VIOLATION.into(),
            OLD_SLA_TRANSITIONS.into(),
            DELETE_SLA_TRANSITION.into(),
            OLD_SLA_DAYS.into(),
            DELETE_SLA_DAY.into(),
        ];
        all.extend(
            [
                INSERT_USER,
                GET_USER,
                CLAIM_USERNAME,
                USERNAME_OWNER,
                RELEASE_USERNAME,
                INSERT_LINK_CODE,
                GET_LINK_CODE,
                TAKE_LINK_CODE,
                INSERT_SUBSCRIPTION,
                INSERT_USER_SUBSCRIPTION,
                GET_SUBSCRIPTION,
                USER_SUBSCRIPTIONS,
            ]
            .map(String::from),
        );
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
        assert_eq!(insert_sla_status().matches('?').count(), 13);
        assert_eq!(INSERT_SLA_DEFINITION.matches('?').count(), 6);
        assert_eq!(INSERT_SLA_VIOLATION.matches('?').count(), 8);
        assert_eq!(INSERT_SLA_TRANSITION.matches('?').count(), 10);
        // The status table has every column the store reads and writes.
        for column in SLA_STATUS_COLUMNS.split(", ").map(str::trim) {
            assert!(
                MIGRATIONS
                    .iter()
                    .any(|(v, s)| *v == 3 && s.iter().any(|t| t.contains("sla_status (") && t.contains(column))),
                "{column}"
            );
        }
        assert!(render(CREATE_KEYSPACE, "k", 3).contains("'replication_factor': 3"));
    }
}
