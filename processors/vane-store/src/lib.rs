//! vane's read-model store: one interface, [`Store`], over two backends.
//!
//! - [`sqlite::SqliteStore`]: the embedded backend, one SQLite file in the data dir (WAL mode,
//!   numbered migrations);
//! - [`scylla::ScyllaStore`]: the cluster backend, ScyllaDB tables shaped partition key +
//!   clustering key, prepared statements, its CQL in one file.
//!
//! Read models: the series catalog ([`SeriesRow`]), windowed aggregates ([`AggregateRow`]),
//! analyses ([`AnalysisRow`]: a history, and the latest of each series with its points) and SLAs
//! ([`SlaDefinitionRow`], [`SlaStatusRow`], [`SlaViolationRow`], [`SlaTransitionRow`]), users and
//! their weather subscriptions ([`UserRow`], [`LinkCodeRow`], [`SubscriptionRow`]).
//! Upserts are idempotent and order-safe, so that a projector may replay or redeliver any batch
//! in any order and still leave every row as the newest event made it (see `docs/store.md`).
//! Lists are keyset-paginated with opaque tokens. Projectors and the gRPC API never learn which
//! backend they run on. I/O: a file (embedded) or the network (ScyllaDB).

pub mod analysis;
pub mod error;
pub mod model;
pub mod scylla;
pub mod sla;
pub mod sqlite;
mod store;
pub mod users;

pub use analysis::{AnalysisDetail, AnalysisPoint, AnalysisQuery, AnalysisRow, Autocorrelation, Forecast, ForecastStep, Stationarity};
pub use error::StoreError;
pub use model::{AggregateQuery, AggregateRow, MAX_PAGE_LIMIT, Page, Paged, SeriesQuery, SeriesRow};
pub use sla::{SlaCounts, SlaDefinitionRow, SlaRangeQuery, SlaStatusRow, SlaStatusUpdate, SlaTransitionRow, SlaViolationRow};
pub use store::Store;
pub use users::{LinkCodeRow, SubscriptionConstraintRow, SubscriptionRow, UserRow};

/// What a retention pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub series: u64,
    pub aggregates: u64,
    /// Analyses removed from the history plus latest analyses removed.
    pub analyses: u64,
    /// SLA status rows last updated before the cutoff.
    pub sla_status: u64,
    pub sla_violations: u64,
    pub sla_transitions: u64,
}
