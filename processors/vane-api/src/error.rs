//! The crate's one error type and the one place where errors become gRPC status codes (and,
//! through those, HTTP status codes for the JSON API).
//!
//! Server side: bad requests and bad page tokens are the client's to fix (INVALID_ARGUMENT), as
//! are unknown SLAs (NOT_FOUND), taken names (ALREADY_EXISTS), stale revisions (ABORTED) and
//! missing or wrong admin tokens (UNAUTHENTICATED); changes on a server without an admin token
//! are refused (FAILED_PRECONDITION); a transient store or log error may pass (UNAVAILABLE);
//! anything else is ours (INTERNAL, logged here and sent without detail). Client side: an
//! unreachable server and a refused request get messages that tell the user what to do.

use thiserror::Error;
use tonic::{Code, Status};
use vane_store::StoreError;
use vane_stream::StreamError;

/// What a change on a server without an admin token is told.
pub const NO_ADMIN_TOKEN: &str =
    "SLA changes are disabled on this server: set api.admin_token (in the config file, or VANE__API__ADMIN_TOKEN) to allow SLA changes";

#[derive(Debug, Error)]
pub enum ApiError {
    /// The request is malformed: the message says what to change.
    #[error("invalid request: {0}")]
    InvalidArgument(String),
    /// The page token is malformed or belongs to another listing.
    #[error("bad page token: {0}")]
    BadPageToken(String),
    /// An SLA definition with problems: every one of them, each written for the user.
    #[error("invalid SLA: {}", .0.join("; "))]
    InvalidSla(Vec<String>),
    /// No SLA has that id or name.
    #[error("{0}")]
    NotFound(String),
    /// Another SLA already has the name.
    #[error("{0}")]
    AlreadyExists(String),
    /// The change was made against another revision than the current one.
    #[error("{0}")]
    RevisionMismatch(String),
    /// A change without the admin token, or with a wrong one.
    #[error("{0}")]
    Unauthenticated(String),
    /// A change on a server that has no admin token configured.
    #[error("{}", NO_ADMIN_TOKEN)]
    ChangesDisabled,
    /// A user call on a server that has no JWT key configured.
    #[error("{}", crate::users::NO_JWT_KEY)]
    AuthDisabled,
    /// Too many failed logins for one username: the next attempt must wait.
    #[error("too many failed logins for this username; retry in {} s", (.retry_in_ms + 999) / 1000)]
    TooManyAttempts { retry_in_ms: i64 },
    /// A bug or a broken dependency (hashing, token encoding): logged, not sent.
    #[error("internal: {0}")]
    Internal(String),
    /// The log refused or failed a write.
    #[error("log: {0}")]
    Log(#[from] StreamError),
    /// An event schema failed to load (a build problem).
    #[error("events: {0}")]
    Events(#[from] vane_events::EventsError),
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
            ApiError::InvalidArgument(_) | ApiError::BadPageToken(_) | ApiError::BadAddress { .. } | ApiError::InvalidSla(_) => {
                Status::invalid_argument(error.to_string())
            }
            ApiError::NotFound(message) => Status::not_found(message),
            ApiError::AlreadyExists(message) => Status::already_exists(message),
            ApiError::RevisionMismatch(message) => Status::aborted(message),
            ApiError::Unauthenticated(message) => Status::unauthenticated(message),
            ApiError::ChangesDisabled => Status::failed_precondition(NO_ADMIN_TOKEN),
            ApiError::AuthDisabled => Status::failed_precondition(crate::users::NO_JWT_KEY),
            ApiError::TooManyAttempts { .. } => Status::resource_exhausted(error.to_string()),
            ApiError::Log(log) if log.is_transient() || matches!(log, StreamError::Closed) => {
                tracing::warn!(error = %log, "log unavailable while writing an SLA change");
                Status::unavailable("the log is unavailable; retry later")
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

/// The HTTP status of a gRPC code, for the JSON API.
pub(crate) fn http_status(code: Code) -> u16 {
    match code {
        Code::Ok => 200,
        Code::InvalidArgument | Code::OutOfRange => 400,
        Code::Unauthenticated => 401,
        Code::FailedPrecondition | Code::PermissionDenied => 403,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted => 409,
        Code::Unavailable | Code::ResourceExhausted => 503,
        Code::DeadlineExceeded => 504,
        _ => 500,
    }
}

fn describe_status(status: &Status) -> String {
    let message = status.message();
    match status.code() {
        Code::InvalidArgument | Code::NotFound | Code::AlreadyExists | Code::Aborted | Code::Unauthenticated | Code::FailedPrecondition => {
            message.to_string()
        }
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
    fn sla_errors_map_to_their_codes_and_http_statuses() {
        let cases = [
            (ApiError::InvalidSla(vec!["a".into(), "b".into()]), Code::InvalidArgument, 400),
            (ApiError::NotFound("no SLA x".into()), Code::NotFound, 404),
            (ApiError::AlreadyExists("taken".into()), Code::AlreadyExists, 409),
            (ApiError::RevisionMismatch("stale".into()), Code::Aborted, 409),
            (ApiError::Unauthenticated("wrong token".into()), Code::Unauthenticated, 401),
            (ApiError::ChangesDisabled, Code::FailedPrecondition, 403),
            (ApiError::Log(StreamError::Closed), Code::Unavailable, 503),
            (ApiError::Log(StreamError::UnknownTopic("t".into())), Code::Internal, 500),
        ];
        for (error, code, http) in cases {
            let status = Status::from(error);
            assert_eq!(status.code(), code, "{status:?}");
            assert_eq!(http_status(status.code()), http);
        }
        let status = Status::from(ApiError::InvalidSla(vec!["min 3 is above max 1".into(), "give a name".into()]));
        assert_eq!(status.message(), "invalid SLA: min 3 is above max 1; give a name");
        assert!(Status::from(ApiError::ChangesDisabled).message().contains("set api.admin_token"));
    }

    #[test]
    fn a_refusal_shows_the_servers_message() {
        let error = ApiError::from(Status::invalid_argument("invalid request: bad regex"));
        assert_eq!(error.to_string(), "invalid request: bad regex");
    }
}
