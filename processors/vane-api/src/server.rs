//! The gRPC server: `vane.v1.MetricsQuery`, `vane.v1.Sla` when [`ApiOptions::sla`] is given,
//! `vane.v1.Users` and `vane.v1.Subscriptions` when [`ApiOptions::users`] is given, the
//! standard health service (`grpc.health.v1`) and the reflection service (`grpc.reflection.v1`),
//! on one listener.
//!
//! Health reports SERVING for each served `vane.v1` service and for the whole server ("") while
//! the store answers a ping, NOT_SERVING while it does not; a watchdog task pings it every few
//! seconds for as long as the server runs.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use vane_store::Store;

use crate::ApiError;
use crate::pb;
use crate::pb::metrics_query_server::MetricsQueryServer;
use crate::pb::sla_server::SlaServer;
use crate::pb::subscriptions_server::SubscriptionsServer;
use crate::pb::users_server::UsersServer;
use crate::service::MetricsService;
use crate::sla::{SlaApi, SlaService};
use crate::users::{SubscriptionsService, UsersApi, UsersService};

/// The full name of the metrics query service, as health checks and reflection know it.
pub const SERVICE_NAME: &str = "vane.v1.MetricsQuery";

/// The full name of the SLA service.
pub const SLA_SERVICE_NAME: &str = "vane.v1.Sla";

/// The full name of the users service.
pub const USERS_SERVICE_NAME: &str = "vane.v1.Users";

/// The full name of the weather subscriptions service.
pub const SUBSCRIPTIONS_SERVICE_NAME: &str = "vane.v1.Subscriptions";

/// What the server serves besides the metrics queries.
#[derive(Debug, Clone, Default)]
pub struct ApiOptions {
    /// The SLA manager (`vane.v1.Sla`); `None` serves the metrics queries only. Share the same
    /// [`SlaApi`] with [`crate::sla_http_router`] so that both see each other's changes at once.
    pub sla: Option<SlaApi>,
    /// Users and weather subscriptions (`vane.v1.Users`, `vane.v1.Subscriptions`).
    pub users: Option<UsersApi>,
}

impl ApiOptions {
    /// With the SLA service.
    pub fn with_sla(mut self, sla: SlaApi) -> Self {
        self.sla = Some(sla);
        self
    }

    /// With the users and subscriptions services.
    pub fn with_users(mut self, users: UsersApi) -> Self {
        self.users = Some(users);
        self
    }
}

/// How often the health watchdog pings the store.
const HEALTH_INTERVAL: Duration = Duration::from_secs(5);

/// The API's services, ready to be served by [`serve`] or mounted elsewhere
/// (`routes.into_axum_router()`).
#[derive(Debug)]
pub struct ApiRoutes {
    pub routes: Routes,
    /// Sets the health service's answers; [`watch_health`] keeps it in step with the store.
    pub health: ApiHealth,
}

/// The health reporter and the services it reports on.
#[derive(Debug, Clone)]
pub struct ApiHealth {
    pub reporter: HealthReporter,
    /// The `vane.v1` services served (the whole server, "", is reported too).
    pub services: Vec<&'static str>,
}

/// Builds the metrics query, health and reflection services over `store`. Health starts as
/// SERVING for [`SERVICE_NAME`] and "".
pub async fn router(store: Store) -> Result<ApiRoutes, ApiError> {
    router_with(store, ApiOptions::default()).await
}

/// [`router`] with the services `options` adds (the SLA service). Health starts as SERVING for
/// every service served and "".
pub async fn router_with(store: Store, options: ApiOptions) -> Result<ApiRoutes, ApiError> {
    let (reporter, health_service) = tonic_health::server::health_reporter();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let mut services = vec![SERVICE_NAME];
    let mut routes = Routes::new(MetricsQueryServer::new(MetricsService::new(store)));
    if let Some(sla) = options.sla {
        routes = routes.add_service(SlaServer::new(SlaService::new(sla)));
        services.push(SLA_SERVICE_NAME);
    }
    if let Some(users) = options.users {
        routes = routes
            .add_service(UsersServer::new(UsersService::new(users.clone())))
            .add_service(SubscriptionsServer::new(SubscriptionsService::new(users)));
        services.push(USERS_SERVICE_NAME);
        services.push(SUBSCRIPTIONS_SERVICE_NAME);
    }
    let routes = routes.add_service(health_service).add_service(reflection);
    let health = ApiHealth { reporter, services };
    set_health(&health, ServingStatus::Serving).await;
    Ok(ApiRoutes { routes, health })
}

/// Serves the API on `listener` until `shutdown` completes, then lets calls in flight finish.
pub async fn serve(store: Store, listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ApiError> {
    serve_with(store, listener, ApiOptions::default(), shutdown).await
}

/// [`serve`] with the services `options` adds (the SLA service).
pub async fn serve_with(
    store: Store,
    listener: TcpListener,
    options: ApiOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ApiError> {
    let local = listener.local_addr().ok();
    let ApiRoutes { routes, health } = router_with(store.clone(), options).await?;
    let watchdog = tokio::spawn(watch_health(store, health));
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    tracing::info!(addr = ?local, "gRPC API listening");
    let served = Server::builder()
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await;
    watchdog.abort();
    served?;
    Ok(())
}

/// Pings the store every few seconds and reports SERVING or NOT_SERVING accordingly. Runs until
/// aborted.
pub async fn watch_health(store: Store, health: ApiHealth) {
    let mut serving = true;
    let mut ticks = tokio::time::interval(HEALTH_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now_serving = match tokio::time::timeout(HEALTH_INTERVAL, store.ping()).await {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                tracing::warn!(%error, backend = store.backend(), "store ping failed; gRPC health is NOT_SERVING");
                false
            }
            Err(_) => {
                tracing::warn!(backend = store.backend(), "store ping timed out; gRPC health is NOT_SERVING");
                false
            }
        };
        if now_serving != serving {
            serving = now_serving;
            let status = if serving {
                tracing::info!(backend = store.backend(), "store answers again; gRPC health is SERVING");
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            set_health(&health, status).await;
        }
    }
}

async fn set_health(health: &ApiHealth, status: ServingStatus) {
    for service in &health.services {
        health.reporter.set_service_status(*service, status).await;
    }
    health.reporter.set_service_status("", status).await;
}
