//! `vane.v1.Users` and `vane.v1.Subscriptions` over [`UsersApi`]: the bearer token from the
//! call's `authorization` metadata, requests into the service layer's types, rows into
//! `vane.v1` messages.

use tonic::{Request, Response, Status};
use vane_store::{SubscriptionRow, UserRow};

use super::subscriptions::SubscriptionRequest;
use super::{Registration, SettingsChange, UsersApi};
use crate::ApiError;
use crate::pb;

#[derive(Debug, Clone)]
pub(crate) struct UsersService {
    api: UsersApi,
}

impl UsersService {
    pub(crate) fn new(api: UsersApi) -> Self {
        UsersService { api }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SubscriptionsService {
    api: UsersApi,
}

impl SubscriptionsService {
    pub(crate) fn new(api: UsersApi) -> Self {
        SubscriptionsService { api }
    }
}

fn authorization<T>(request: &Request<T>) -> Option<String> {
    request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

pub(crate) fn user_info(row: UserRow) -> pb::UserInfo {
    pb::UserInfo {
        user_id: row.user_id,
        username: row.username,
        chat_id: row.chat_id,
        time_zone: row.time_zone,
        quiet_hours: row.quiet_hours.unwrap_or_default(),
        cooldown_ms: row.cooldown_ms,
        created_at_ms: row.created_at_ms,
        revision: row.revision,
    }
}

pub(crate) fn subscription(row: SubscriptionRow) -> pb::Subscription {
    pb::Subscription {
        id: row.subscription_id,
        city_name: row.city_name.unwrap_or_default(),
        country: row.country.unwrap_or_default(),
        lat: row.lat,
        lon: row.lon,
        constraints: row
            .constraints
            .into_iter()
            .map(|c| pb::WeatherConstraint {
                kind: c.kind,
                threshold: c.threshold,
            })
            .collect(),
        created_at_ms: row.created_at_ms,
        updated_at_ms: row.updated_at_ms,
        revision: row.revision,
    }
}

fn request_of(spec: Option<pb::SubscriptionSpec>) -> Result<SubscriptionRequest, ApiError> {
    let spec = spec.ok_or_else(|| ApiError::InvalidArgument("the subscription spec is missing".into()))?;
    Ok(SubscriptionRequest {
        city_name: Some(spec.city_name),
        country: Some(spec.country),
        lat: spec.lat,
        lon: spec.lon,
        constraints: spec.constraints.into_iter().map(|c| (c.kind, c.threshold)).collect(),
    })
}

#[tonic::async_trait]
impl pb::users_server::Users for UsersService {
    async fn register(&self, request: Request<pb::RegisterRequest>) -> Result<Response<pb::UserInfo>, Status> {
        let r = request.into_inner();
        let row = self
            .api
            .register(Registration {
                username: r.username,
                password: r.password,
                chat_id: r.chat_id,
                time_zone: Some(r.time_zone),
                quiet_hours: Some(r.quiet_hours),
                cooldown_ms: r.cooldown_ms,
            })
            .await?;
        Ok(Response::new(user_info(row)))
    }

    async fn login(&self, request: Request<pb::LoginRequest>) -> Result<Response<pb::LoginResponse>, Status> {
        let r = request.into_inner();
        let (token, expires_at_ms, user) = self.api.login(&r.username, &r.password).await?;
        Ok(Response::new(pb::LoginResponse {
            token,
            expires_at_ms,
            user_id: user.user_id,
        }))
    }

    async fn change_password(&self, request: Request<pb::ChangePasswordRequest>) -> Result<Response<pb::UserInfo>, Status> {
        let caller = self.api.authenticate(authorization(&request).as_deref()).await?;
        let r = request.into_inner();
        let row = self.api.change_password(&caller, &r.current_password, &r.new_password).await?;
        Ok(Response::new(user_info(row)))
    }

    async fn delete_account(&self, request: Request<pb::DeleteAccountRequest>) -> Result<Response<pb::DeleteAccountResponse>, Status> {
        let caller = self.api.authenticate(authorization(&request).as_deref()).await?;
        let (user, deleted) = self.api.delete_account(&caller).await?;
        Ok(Response::new(pb::DeleteAccountResponse {
            user_id: user.user_id,
            subscriptions_deleted: u32::try_from(deleted).unwrap_or(u32::MAX),
        }))
    }

    async fn create_link_code(&self, request: Request<pb::CreateLinkCodeRequest>) -> Result<Response<pb::LinkCode>, Status> {
        let caller = self.api.authenticate(authorization(&request).as_deref()).await?;
        let row = self.api.create_link_code(&caller).await?;
        Ok(Response::new(pb::LinkCode {
            code: row.code,
            expires_at_ms: row.expires_at_ms,
        }))
    }

    async fn update_settings(&self, request: Request<pb::UpdateSettingsRequest>) -> Result<Response<pb::UserInfo>, Status> {
        let caller = self.api.authenticate(authorization(&request).as_deref()).await?;
        let r = request.into_inner();
        let change = SettingsChange {
            time_zone: r.time_zone,
            quiet_hours: r.quiet_hours,
            cooldown_ms: r.cooldown_ms,
        };
        let row = self.api.update_settings(&caller, change).await?;
        Ok(Response::new(user_info(row)))
    }
}

#[tonic::async_trait]
impl pb::subscriptions_server::Subscriptions for SubscriptionsService {
    async fn create(&self, request: Request<pb::CreateSubscriptionRequest>) -> Result<Response<pb::Subscription>, Status> {
        let caller = self.api.authenticate(authorization(&request).as_deref()).await?;
        let spec = request_of(request.into_inner().spec)?;
        let row = self.api.create_subscription(&caller, spec).await?;
        Ok(Response::new(subscription(row)))
    }

    async fn update(&self, request: Request<pb::UpdateSubscriptionRequest>) -> Result<Response<pb::Subscription>, Status> {
        let caller = self.api.authenticate(authorization(&request).as_deref()).await?;
        let r = request.into_inner();
        let spec = request_of(r.spec)?;
        let row = self.api.update_subscription(&caller, &r.id, spec).await?;
        Ok(Response::new(subscription(row)))
    }

    async fn delete(&self, request: Request<pb::DeleteSubscriptionRequest>) -> Result<Response<pb::Subscription>, Status> {
        let caller = self.api.authenticate(authorization(&request).as_deref()).await?;
        let row = self.api.delete_subscription(&caller, &request.into_inner().id).await?;
        Ok(Response::new(subscription(row)))
    }

    async fn list(&self, request: Request<pb::ListSubscriptionsRequest>) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        let caller = self.api.authenticate(authorization(&request).as_deref()).await?;
        let rows = self.api.list_subscriptions(&caller).await?;
        Ok(Response::new(pb::ListSubscriptionsResponse {
            subscriptions: rows.into_iter().map(subscription).collect(),
        }))
    }
}
