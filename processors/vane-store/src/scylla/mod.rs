//! The cluster backend: ScyllaDB through the `scylla` driver.
//!
//! Kept thin on purpose (no ScyllaDB runs on the development machines): the CQL lives in
//! [`cql`], the row logic in `rows`, and the conformance suite runs the same assertions here as on
//! the embedded backend whenever `VANE_TEST_SCYLLA_URI` is set. Statements are prepared once,
//! after the schema exists, and marked idempotent so the driver may retry them.

mod analysis;
mod cql;
mod rows;
mod sla;
mod sla_history;
mod sla_statements;
mod users;

use std::sync::Arc;
use std::time::Duration;

use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use tokio::sync::OnceCell;

use crate::analysis::{AnalysisQuery, AnalysisRow};
use crate::model::{AggregateQuery, AggregateRow, Page, Paged, SeriesQuery, SeriesRow};
use crate::sla::{SlaCounts, SlaDefinitionRow, SlaRangeQuery, SlaStatusRow, SlaStatusUpdate, SlaTransitionRow, SlaViolationRow};
use crate::users::{LinkCodeRow, SubscriptionRow, UserRow};
use crate::{Removed, StoreError};

/// Where the cluster is and which keyspace holds vane's tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScyllaConfig {
    /// `host:port` of one or more nodes; the driver discovers the rest.
    pub nodes: Vec<String>,
    /// A plain identifier (letters, digits, `_`; at most 48), created by `migrate`.
    pub keyspace: String,
    /// Replicas per datacenter for a keyspace that `migrate` creates (1 by default: the compose
    /// file starts one node; a production cluster sets 3).
    pub replication_factor: u32,
}

impl ScyllaConfig {
    /// Parses `scylla://host[:port][,host[:port]]...` (the scheme is optional; port 9042).
    pub fn from_uri(uri: &str, keyspace: &str) -> Result<ScyllaConfig, StoreError> {
        let bad = |reason: &str| StoreError::BadUri {
            uri: uri.to_string(),
            reason: reason.to_string(),
        };
        let rest = uri.strip_prefix("scylla://").unwrap_or(uri).trim_end_matches('/');
        if rest.contains(['/', '?', '@']) {
            return Err(bad("expected scylla://host:port[,host:port...] without path, query or credentials"));
        }
        let mut nodes = Vec::new();
        for host in rest.split(',').map(str::trim) {
            if host.is_empty() {
                return Err(bad("empty host"));
            }
            let has_port = host.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok());
            nodes.push(if has_port { host.to_string() } else { format!("{host}:9042") });
        }
        let valid = keyspace.len() <= 48
            && keyspace.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && keyspace.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(bad(&format!("keyspace {keyspace:?} must be letters, digits and _ (at most 48)")));
        }
        Ok(ScyllaConfig {
            nodes,
            keyspace: keyspace.to_ascii_lowercase(),
            replication_factor: 1,
        })
    }
}

/// The ScyllaDB store; cheap to clone.
#[derive(Clone)]
pub struct ScyllaStore {
    session: Arc<Session>,
    config: ScyllaConfig,
    prepared: Arc<OnceCell<Prepared>>,
}

impl std::fmt::Debug for ScyllaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScyllaStore").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Every statement of the query and write paths, prepared once.
#[derive(Debug)]
struct Prepared {
    series_state: PreparedStatement,
    insert_series: PreparedStatement,
    insert_metric_name: PreparedStatement,
    list_series: PreparedStatement,
    next_metric_names: PreparedStatement,
    insert_aggregate: PreparedStatement,
    list_aggregates_in_window: PreparedStatement,
    list_aggregates_all_windows: PreparedStatement,
    old_series: PreparedStatement,
    delete_series: PreparedStatement,
    old_metric_names: PreparedStatement,
    delete_metric_name: PreparedStatement,
    old_aggregates: PreparedStatement,
    delete_aggregate: PreparedStatement,
    insert_analysis_history: PreparedStatement,
    insert_analysis_latest: PreparedStatement,
    insert_analysis_latest_keep_points: PreparedStatement,
    list_latest_analyses: PreparedStatement,
    list_latest_analyses_with_points: PreparedStatement,
    next_analysed_series: PreparedStatement,
    list_series_analyses: PreparedStatement,
    old_analysis_history: PreparedStatement,
    delete_analysis_history: PreparedStatement,
    old_analysis_latest: PreparedStatement,
    delete_analysis_latest: PreparedStatement,
    sla: sla_statements::Statements,
    users: users::Statements,
}

impl ScyllaStore {
    /// Connects; the keyspace need not exist yet ([`ScyllaStore::migrate`] creates it).
    pub async fn connect(config: ScyllaConfig) -> Result<ScyllaStore, StoreError> {
        let session = SessionBuilder::new()
            .known_nodes(&config.nodes)
            .connection_timeout(Duration::from_secs(10))
            .build()
            .await
            .map_err(|error| StoreError::ScyllaConnect(Box::new(error)))?;
        Ok(ScyllaStore {
            session: Arc::new(session),
            config,
            prepared: Arc::new(OnceCell::new()),
        })
    }

    pub fn config(&self) -> &ScyllaConfig {
        &self.config
    }

    fn cql(&self, template: &str) -> String {
        cql::render(template, &self.config.keyspace, self.config.replication_factor)
    }

    /// Creates the keyspace and applies the missing migrations; returns the schema version.
    pub async fn migrate(&self) -> Result<i64, StoreError> {
        self.run("create keyspace", &self.cql(cql::CREATE_KEYSPACE)).await?;
        self.run("create schema_migrations", &self.cql(cql::CREATE_MIGRATIONS)).await?;
        let result = self
            .session
            .query_unpaged(self.cql(cql::APPLIED_MIGRATIONS), ())
            .await
            .map_err(|source| StoreError::execute("read schema_migrations", source))?;
        let rows = result
            .into_rows_result()
            .map_err(|e| StoreError::result("read schema_migrations", e))?;
        let mut current = 0;
        for row in rows.rows::<(i64,)>().map_err(|e| StoreError::result("read schema_migrations", e))? {
            let (version,) = row.map_err(|e| StoreError::result("read schema_migrations", e))?;
            current = current.max(version);
        }
        let latest = cql::MIGRATIONS.last().map_or(0, |(version, _)| *version);
        if current > latest {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known: latest,
            });
        }
        for (version, statements) in cql::MIGRATIONS {
            if *version <= current {
                continue;
            }
            for statement in *statements {
                self.run("migration", &self.cql(statement)).await?;
            }
            self.session
                .query_unpaged(self.cql(cql::RECORD_MIGRATION), (*version,))
                .await
                .map_err(|source| StoreError::execute("record migration", source))?;
            tracing::info!(version, keyspace = %self.config.keyspace, "applied store migration");
        }
        Ok(latest)
    }

    async fn run(&self, what: &'static str, statement: &str) -> Result<(), StoreError> {
        self.session
            .query_unpaged(statement.to_string(), ())
            .await
            .map_err(|source| StoreError::execute(what, source))?;
        Ok(())
    }

    async fn prepared(&self) -> Result<&Prepared, StoreError> {
        self.prepared.get_or_try_init(|| self.prepare_all()).await
    }

    async fn prepare_all(&self) -> Result<Prepared, StoreError> {
        Ok(Prepared {
            series_state: self.prepare("series state", cql::SERIES_STATE).await?,
            insert_series: self.prepare("insert series", cql::INSERT_SERIES).await?,
            insert_metric_name: self.prepare("insert metric name", cql::INSERT_METRIC_NAME).await?,
            list_series: self.prepare("list series", cql::LIST_SERIES).await?,
            next_metric_names: self.prepare("next metric names", cql::NEXT_METRIC_NAMES).await?,
            insert_aggregate: self.prepare("insert aggregate", cql::INSERT_AGGREGATE).await?,
            list_aggregates_in_window: self.prepare("list aggregates in window", &cql::list_aggregates_in_window()).await?,
            list_aggregates_all_windows: self.prepare("list aggregates", &cql::list_aggregates_all_windows()).await?,
            old_series: self.prepare("scan old series", cql::OLD_SERIES).await?,
            delete_series: self.prepare("delete series", cql::DELETE_SERIES).await?,
            old_metric_names: self.prepare("scan old metric names", cql::OLD_METRIC_NAMES).await?,
            delete_metric_name: self.prepare("delete metric name", cql::DELETE_METRIC_NAME).await?,
            old_aggregates: self.prepare("scan old aggregates", cql::OLD_AGGREGATES).await?,
            delete_aggregate: self.prepare("delete aggregate", cql::DELETE_AGGREGATE).await?,
            insert_analysis_history: self.prepare("insert analysis history", cql::INSERT_ANALYSIS_HISTORY).await?,
            insert_analysis_latest: self.prepare("insert latest analysis", cql::INSERT_ANALYSIS_LATEST).await?,
            insert_analysis_latest_keep_points: self
                .prepare("insert latest analysis without points", cql::INSERT_ANALYSIS_LATEST_KEEP_POINTS)
                .await?,
            list_latest_analyses: self.prepare("list latest analyses", &cql::list_latest_analyses()).await?,
            list_latest_analyses_with_points: self
                .prepare("list latest analyses with points", &cql::list_latest_analyses_with_points())
                .await?,
            next_analysed_series: self.prepare("next analysed series", cql::NEXT_ANALYSED_SERIES).await?,
            list_series_analyses: self.prepare("list analysis history", &cql::list_series_analyses()).await?,
            old_analysis_history: self.prepare("scan old analyses", cql::OLD_ANALYSIS_HISTORY).await?,
            delete_analysis_history: self.prepare("delete analysis", cql::DELETE_ANALYSIS_HISTORY).await?,
            old_analysis_latest: self.prepare("scan old latest analyses", cql::OLD_ANALYSIS_LATEST).await?,
            delete_analysis_latest: self.prepare("delete latest analysis", cql::DELETE_ANALYSIS_LATEST).await?,
            sla: sla_statements::Statements::prepare(self).await?,
            users: users::Statements::prepare(self).await?,
        })
    }

    async fn prepare(&self, what: &'static str, template: &str) -> Result<PreparedStatement, StoreError> {
        let mut statement = self
            .session
            .prepare(self.cql(template))
            .await
            .map_err(|source| StoreError::prepare(what, source))?;
        statement.set_is_idempotent(true);
        statement.set_page_size(1000);
        Ok(statement)
    }

    pub async fn upsert_series(&self, rows: &[SeriesRow]) -> Result<(), StoreError> {
        rows::upsert_series(self, rows).await
    }

    pub async fn upsert_aggregates(&self, rows: &[AggregateRow]) -> Result<(), StoreError> {
        rows::upsert_aggregates(self, rows).await
    }

    pub async fn upsert_analyses(&self, rows: &[AnalysisRow]) -> Result<(), StoreError> {
        analysis::upsert_analyses(self, rows).await
    }

    pub async fn list_series(&self, query: &SeriesQuery, page: &Page) -> Result<Paged<SeriesRow>, StoreError> {
        rows::list_series(self, query, page).await
    }

    pub async fn list_analyses(&self, query: &AnalysisQuery, page: &Page) -> Result<Paged<AnalysisRow>, StoreError> {
        analysis::list_analyses(self, query, page).await
    }

    pub async fn list_aggregates(&self, query: &AggregateQuery, page: &Page) -> Result<Paged<AggregateRow>, StoreError> {
        rows::list_aggregates(self, query, page).await
    }

    pub async fn upsert_sla_definitions(&self, rows: &[SlaDefinitionRow]) -> Result<(), StoreError> {
        sla::upsert_definitions(self, rows).await
    }

    pub async fn get_sla(&self, id_or_name: &str) -> Result<Option<SlaDefinitionRow>, StoreError> {
        sla::get_definition(self, id_or_name).await
    }

    pub async fn list_slas(&self, include_deleted: bool) -> Result<Vec<SlaDefinitionRow>, StoreError> {
        sla::list_definitions(self, include_deleted).await
    }

    pub async fn upsert_sla_status(&self, updates: &[SlaStatusUpdate]) -> Result<(), StoreError> {
        sla::upsert_status(self, updates).await
    }

    pub async fn delete_sla_status(&self, sla_id: &str) -> Result<(), StoreError> {
        sla::delete_status(self, sla_id).await
    }

    pub async fn list_sla_status(&self, sla_id: Option<&str>, page: &Page) -> Result<Paged<SlaStatusRow>, StoreError> {
        sla::list_status(self, sla_id, page).await
    }

    pub async fn upsert_sla_violations(&self, rows: &[SlaViolationRow]) -> Result<(), StoreError> {
        sla_history::upsert_violations(self, rows).await
    }

    pub async fn upsert_sla_transitions(&self, rows: &[SlaTransitionRow]) -> Result<(), StoreError> {
        sla_history::upsert_transitions(self, rows).await
    }

    pub async fn list_sla_violations(&self, query: &SlaRangeQuery, page: &Page) -> Result<Paged<SlaViolationRow>, StoreError> {
        sla_history::list_violations(self, query, page).await
    }

    pub async fn list_sla_transitions(&self, query: &SlaRangeQuery, page: &Page) -> Result<Paged<SlaTransitionRow>, StoreError> {
        sla_history::list_transitions(self, query, page).await
    }

    pub async fn sla_counts(&self, query: &SlaRangeQuery, timeslice_ms: i64) -> Result<SlaCounts, StoreError> {
        sla_history::counts(self, query, timeslice_ms).await
    }

    pub async fn claim_username(&self, username: &str, user_id: &str) -> Result<bool, StoreError> {
        users::claim_username(self, username, user_id).await
    }

    pub async fn release_username(&self, username: &str, user_id: &str) -> Result<(), StoreError> {
        users::release_username(self, username, user_id).await
    }

    pub async fn upsert_users(&self, rows: &[UserRow]) -> Result<(), StoreError> {
        users::upsert_users(self, rows).await
    }

    pub async fn get_user(&self, user_id: &str) -> Result<Option<UserRow>, StoreError> {
        users::get_user(self, user_id).await
    }

    pub async fn get_user_by_username(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        users::get_user_by_username(self, username).await
    }

    pub async fn put_link_code(&self, row: &LinkCodeRow) -> Result<(), StoreError> {
        users::put_link_code(self, row).await
    }

    pub async fn take_link_code(&self, code: &str, now_ms: i64) -> Result<Option<LinkCodeRow>, StoreError> {
        users::take_link_code(self, code, now_ms).await
    }

    pub async fn upsert_subscriptions(&self, rows: &[SubscriptionRow]) -> Result<(), StoreError> {
        users::upsert_subscriptions(self, rows).await
    }

    pub async fn get_subscription(&self, subscription_id: &str) -> Result<Option<SubscriptionRow>, StoreError> {
        users::get_subscription(self, subscription_id).await
    }

    pub async fn list_subscriptions(&self, user_id: &str) -> Result<Vec<SubscriptionRow>, StoreError> {
        users::list_subscriptions(self, user_id).await
    }

    pub async fn delete_older_than(&self, cutoff_ms: i64) -> Result<Removed, StoreError> {
        rows::delete_older_than(self, cutoff_ms).await
    }

    /// Truncates every read-model table (needs every node up).
    pub async fn wipe(&self) -> Result<(), StoreError> {
        for statement in cql::TRUNCATE {
            self.run("truncate", &self.cql(statement)).await?;
        }
        Ok(())
    }

    /// Drops the whole keyspace: for test teardown, never called by vane itself.
    pub async fn drop_keyspace(&self) -> Result<(), StoreError> {
        self.run("drop keyspace", &self.cql("DROP KEYSPACE IF EXISTS {ks}")).await
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run("ping", cql::PING).await
    }

    /// Runs a prepared statement and decodes every row of its (single) page.
    async fn select<R>(&self, what: &'static str, statement: &PreparedStatement, values: impl SerializeRow) -> Result<Vec<R>, StoreError>
    where
        R: for<'frame, 'metadata> scylla::deserialize::row::DeserializeRow<'frame, 'metadata>,
    {
        let result = self
            .session
            .execute_unpaged(statement, values)
            .await
            .map_err(|source| StoreError::execute(what, source))?;
        let rows = result.into_rows_result().map_err(|e| StoreError::result(what, e))?;
        let mut out = Vec::new();
        for row in rows.rows::<R>().map_err(|e| StoreError::result(what, e))? {
            out.push(row.map_err(|e| StoreError::result(what, e))?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse_with_or_without_scheme_and_port() {
        let config = ScyllaConfig::from_uri("scylla://a:9043,b", "vane").unwrap();
        assert_eq!(config.nodes, vec!["a:9043".to_string(), "b:9042".to_string()]);
        assert_eq!(
            ScyllaConfig::from_uri("127.0.0.1:9042/", "vane").unwrap().nodes,
            vec!["127.0.0.1:9042"]
        );
        assert!(ScyllaConfig::from_uri("scylla://", "vane").is_err());
        assert!(ScyllaConfig::from_uri("scylla://u:p@a", "vane").is_err());
        assert!(ScyllaConfig::from_uri("a", "vane; DROP").is_err());
        assert!(ScyllaConfig::from_uri("a", "1abc").is_err());
    }
}
