//! The crate's one error type and the one place where errors become gRPC status codes.
//!
//! Server side: bad requests and bad page tokens are the client's to fix (INVALID_ARGUMENT), a
//! transient store error may pass (UNAVAILABLE), anything else is ours (INTERNAL, logged here and
//! sent without detail). Client side: an unreachable server and a refused request get messages
//! that tell the user what to do.

use thiserror::Error;
use tonic::{Code, Status};
use vane_store::StoreError;

#[derive(Debug, Error)]
pub enum ApiError {
    /// The request is malformed: the message says what to change.
    #[error("invalid request: {0}")]
    InvalidArgument(String),
    /// The page token is malformed or belongs to another listing.
    #[error("bad page token: {0}")]
    BadPageToken(String),
    /// The client's deadline passed before the answer was complete.
    #[error("deadline exceeded")]
    DeadlineExceeded,
    #[error("store: {0}")]
    Store(#[source] StoreError),
    #[error("cannot serve gRPC: {0}")]
    Serve(#[from] tonic::transport::Error),
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// `--grpc-addr` is not an address.
    #[error("bad --grpc-addr {addr:?}: {reason}")]
    BadAddress { addr: String, reason: String },
    /// Nothing answers at the address.
    #[error(
        "cannot reach the vane API at {addr} ({cause}); start it with `vane up` (or `vane run api`) or point --grpc-addr / VANE_GRPC_ADDR at it"
    )]
    Unreachable {
        addr: String,
        /// The innermost cause, e.g. "Connection refused (os error 111)".
        cause: String,
        #[source]
        source: tonic::transport::Error,
    },
    /// The server refused or failed a call.
    #[error("{}", describe_status(.0))]
    Rpc(Box<Status>),
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::InvalidPage(reason) => ApiError::BadPageToken(reason),
            other => ApiError::Store(other),
        }
    }
}

impl From<Status> for ApiError {
    fn from(status: Status) -> Self {
        ApiError::Rpc(Box::new(status))
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::InvalidArgument(_) | ApiError::BadPageToken(_) | ApiError::BadAddress { .. } => {
                Status::invalid_argument(error.to_string())
            }
            ApiError::DeadlineExceeded => Status::deadline_exceeded("the request's deadline passed"),
            ApiError::Store(store) if store.is_transient() => {
                tracing::warn!(error = %store, "store unavailable while answering a query");
                Status::unavailable("the read-model store is unavailable; retry later")
            }
            ApiError::Rpc(status) => *status,
            other => {
                tracing::error!(error = %other, "internal error while answering a query");
                Status::internal("internal error; see the server's log")
            }
        }
    }
}

/// The innermost error of a chain: "transport error" alone tells the user nothing.
pub(crate) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

fn describe_status(status: &Status) -> String {
    let message = status.message();
    match status.code() {
        Code::InvalidArgument => message.to_string(),
        Code::Unavailable => format!("the vane API is unavailable: {message}"),
        Code::DeadlineExceeded => "the query took too long (deadline exceeded)".to_string(),
        code => format!("the vane API answered {code:?}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_maps_to_its_code() {
        let status = Status::from(ApiError::InvalidArgument("metric is required".into()));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "invalid request: metric is required");
        let status = Status::from(ApiError::from(StoreError::InvalidPage("malformed page token".into())));
        assert_eq!(status.code(), Code::InvalidArgument);
        let transient = StoreError::Io {
            path: "/x".into(),
            source: std::io::Error::other("disk"),
        };
        assert_eq!(Status::from(ApiError::from(transient)).code(), Code::Unavailable);
        let internal = Status::from(ApiError::from(StoreError::Corrupt("secret detail".into())));
        assert_eq!(internal.code(), Code::Internal);
        assert!(!internal.message().contains("secret"));
        assert_eq!(Status::from(ApiError::DeadlineExceeded).code(), Code::DeadlineExceeded);
    }

    #[test]
    fn a_refusal_shows_the_servers_message() {
        let error = ApiError::from(Status::invalid_argument("invalid request: bad regex"));
        assert_eq!(error.to_string(), "invalid request: bad regex");
    }
}
