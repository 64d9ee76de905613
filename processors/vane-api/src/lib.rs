//! vane's gRPC API, the SLA JSON API, and the client behind `vane query`, `vane sla`, `vane user`
//! and `vane subscribe`. With a [`UsersApi`] ([`ApiOptions::with_users`]) it also answers
//! `vane.v1.Users` and `vane.v1.Subscriptions` (accounts with JWTs, weather subscriptions).
//!
//! The server side ([`serve`], [`router`]) answers `vane.v1.MetricsQuery` (proto/vane/v1) from the
//! read-model store: the series catalog, windowed aggregates and the analytics of each series. It
//! pages through the store, applies the label matchers in Rust and streams rows through a bounded
//! channel, so that a slow client slows the reader down instead of filling memory. With an
//! [`SlaApi`] ([`serve_with`], [`router_with`]) it also answers `vane.v1.Sla`, the SLA manager,
//! whose changes go to the log; [`sla_http_router`] serves the same calls as JSON on the HTTP
//! address. It also serves the standard health and reflection services. The client side
//! ([`QueryArgs`], [`run_query`], [`SlaArgs`], [`run_sla`]) is the part of `vane query` and
//! `vane sla` that talks to the server and renders what to print. I/O: TCP listeners (server) or a
//! TCP connection (client), the store through [`vane_store::Store`], the log through
//! [`vane_stream::Log`].

mod analytics;
pub mod cli;
pub mod client;
pub mod error;
mod listing;
pub mod matcher;
mod render;
pub mod server;
mod service;
pub mod sla;
pub mod sla_cli;
pub mod users;
pub mod users_cli;

pub use cli::{QueryArgs, QueryKind, run_query, run_query_at};
pub use client::{Client, DEFAULT_GRPC_ADDR};
pub use error::ApiError;
pub use matcher::Matcher;
pub use server::{
    ApiHealth, ApiOptions, ApiRoutes, SERVICE_NAME, SLA_SERVICE_NAME, SUBSCRIPTIONS_SERVICE_NAME, USERS_SERVICE_NAME, router, router_with,
    serve, serve_with,
};
pub use sla::{SlaApi, sla_http_router};
pub use sla_cli::{ADMIN_TOKEN_ENV, SlaArgs, SlaCommand, run_sla, run_sla_with};
pub use users::subscriptions::SubscriptionRequest;
pub use users::{Caller, DEFAULT_TOKEN_TTL_MS, NO_JWT_KEY, Registration, SettingsChange, UsersApi};
pub use users_cli::{
    PASSWORD_ENV, SubscribeArgs, SubscriptionsArgs, TOKEN_ENV, UnsubscribeArgs, UserArgs, UserCommand, run_subscribe, run_subscriptions,
    run_unsubscribe, run_user,
};

/// The generated `vane.v1` messages, server and client.
pub mod pb {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]
    tonic::include_proto!("vane.v1");

    /// The encoded file descriptor set of `vane.v1`, served by the reflection service.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("vane_v1_descriptor");
}
