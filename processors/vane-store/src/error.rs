//! The store's error type, with whether a retry can help.
//!
//! Transient: the database is busy, unreachable, overloaded or timed out; the projector retries
//! those with backoff. Permanent: a bad row, a bad query or page token, a missing schema (run `vane
//! migrate`), a bug; those go to the DLQ or stop start-up with the message.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("i/o error on {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot connect to scylladb: {0}")]
    ScyllaConnect(#[source] Box<scylla::errors::NewSessionError>),
    #[error("scylladb: cannot prepare {what}: {source}")]
    ScyllaPrepare {
        what: &'static str,
        source: Box<scylla::errors::PrepareError>,
    },
    #[error("scylladb: {what} failed: {source}")]
    ScyllaExecute {
        what: &'static str,
        source: Box<scylla::errors::ExecutionError>,
    },
    #[error("scylladb: unexpected result of {what}: {source}")]
    ScyllaResult {
        what: &'static str,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("bad scylladb uri {uri:?}: {reason}")]
    BadUri { uri: String, reason: String },
    #[error("invalid row: {0}")]
    InvalidRow(String),
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    #[error("invalid page: {0}")]
    InvalidPage(String),
    #[error("corrupt stored row: {0}")]
    Corrupt(String),
    #[error("schema version {found} is newer than this vane knows ({known}); upgrade vane")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("the store's worker thread failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

impl StoreError {
    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    pub(crate) fn execute(what: &'static str, source: scylla::errors::ExecutionError) -> Self {
        StoreError::ScyllaExecute {
            what,
            source: Box::new(source),
        }
    }

    pub(crate) fn prepare(what: &'static str, source: scylla::errors::PrepareError) -> Self {
        StoreError::ScyllaPrepare {
            what,
            source: Box::new(source),
        }
    }

    pub(crate) fn result(what: &'static str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::ScyllaResult {
            what,
            source: Box::new(source),
        }
    }

    /// Whether retrying the same operation later can succeed.
    pub fn is_transient(&self) -> bool {
        use scylla::errors::{ExecutionError, PrepareError};
        match self {
            StoreError::Io { .. } | StoreError::ScyllaConnect(_) => true,
            StoreError::Sqlite(error) => matches!(
                error.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            StoreError::ScyllaPrepare { source, .. } => match source.as_ref() {
                PrepareError::AllAttemptsFailed { first_attempt } => attempt_is_transient(first_attempt),
                _ => true,
            },
            StoreError::ScyllaExecute { source, .. } => match source.as_ref() {
                ExecutionError::BadQuery(_) => false,
                ExecutionError::LastAttemptError(attempt) => attempt_is_transient(attempt),
                _ => true,
            },
            _ => false,
        }
    }
}

fn attempt_is_transient(error: &scylla::errors::RequestAttemptError) -> bool {
    use scylla::errors::{DbError, RequestAttemptError};
    match error {
        RequestAttemptError::DbError(db, _) => matches!(
            db,
            DbError::Unavailable { .. }
                | DbError::Overloaded
                | DbError::IsBootstrapping
                | DbError::TruncateError
                | DbError::ReadTimeout { .. }
                | DbError::WriteTimeout { .. }
                | DbError::ReadFailure { .. }
                | DbError::WriteFailure { .. }
                | DbError::RateLimitReached { .. }
                | DbError::ServerError
        ),
        RequestAttemptError::SerializationError(_) | RequestAttemptError::CqlRequestSerialization(_) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_permanent_and_io_is_transient() {
        assert!(!StoreError::InvalidRow("x".into()).is_transient());
        assert!(!StoreError::InvalidPage("x".into()).is_transient());
        assert!(!StoreError::InvalidQuery("x".into()).is_transient());
        assert!(StoreError::io("/x", std::io::Error::other("disk")).is_transient());
        let busy = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(5), None);
        assert!(StoreError::Sqlite(busy).is_transient());
    }
}
