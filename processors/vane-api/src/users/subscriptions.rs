//! Weather subscriptions of the caller: created, updated, deleted and listed. Each is checked by
//! the weather core (`Subscription::new`, which lists every problem), written as an event on
//! `vane.weather.subscriptions`, then upserted into the store. Another user's subscription is
//! answered as if it did not exist.

use vane_events::SubscriptionChange;
use vane_store::SubscriptionRow;
use vane_stream::OutRecord;
use vane_stream::topics::WEATHER_SUBSCRIPTIONS;
use vane_weather::{Constraint, Subscription, SubscriptionSpec, WeatherError};

use super::{Caller, EVENT_SOURCE, UsersApi};
use crate::ApiError;

/// A subscription as asked for: the city by name (and country) or by coordinates, constraints
/// as `(kind, threshold)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscriptionRequest {
    pub city_name: Option<String>,
    pub country: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub constraints: Vec<(String, Option<f64>)>,
}

impl UsersApi {
    /// Subscribes the caller: a fresh id, revision 1.
    pub async fn create_subscription(&self, caller: &Caller, request: SubscriptionRequest) -> Result<SubscriptionRow, ApiError> {
        let _serialized = self.inner.changes.lock().await;
        let now_ms = self.now_ms();
        let id = uuid::Uuid::new_v4().to_string();
        let subscription = checked(&id, &caller.user_id, request, now_ms, now_ms, 1)?;
        self.write_subscription(SubscriptionChange::Created, &subscription).await
    }

    /// Replaces the city and constraints of one of the caller's subscriptions.
    pub async fn update_subscription(&self, caller: &Caller, id: &str, request: SubscriptionRequest) -> Result<SubscriptionRow, ApiError> {
        let _serialized = self.inner.changes.lock().await;
        let current = self.own_subscription(caller, id).await?;
        let revision = current.revision.saturating_add(1);
        let subscription = checked(id, &caller.user_id, request, current.created_at_ms, self.now_ms(), revision)?;
        self.write_subscription(SubscriptionChange::Updated, &subscription).await
    }

    /// Deletes one of the caller's subscriptions (the record carries the last version).
    pub async fn delete_subscription(&self, caller: &Caller, id: &str) -> Result<SubscriptionRow, ApiError> {
        let _serialized = self.inner.changes.lock().await;
        let current = self.own_subscription(caller, id).await?;
        let request = SubscriptionRequest {
            city_name: current.city_name,
            country: current.country,
            lat: current.lat,
            lon: current.lon,
            constraints: current.constraints.into_iter().map(|c| (c.kind, c.threshold)).collect(),
        };
        let revision = current.revision.saturating_add(1);
        let subscription = checked(id, &caller.user_id, request, current.created_at_ms, self.now_ms(), revision)?;
        self.write_subscription(SubscriptionChange::Deleted, &subscription).await
    }

    /// The caller's live subscriptions, oldest first.
    pub async fn list_subscriptions(&self, caller: &Caller) -> Result<Vec<SubscriptionRow>, ApiError> {
        Ok(self.inner.store.list_subscriptions(&caller.user_id).await?)
    }

    async fn own_subscription(&self, caller: &Caller, id: &str) -> Result<SubscriptionRow, ApiError> {
        match self.inner.store.get_subscription(id).await? {
            Some(row) if row.user_id == caller.user_id && !row.deleted => Ok(row),
            _ => Err(ApiError::NotFound(format!(
                "you have no subscription {id:?}; `vane subscriptions` lists yours"
            ))),
        }
    }

    async fn write_subscription(&self, change: SubscriptionChange, subscription: &Subscription) -> Result<SubscriptionRow, ApiError> {
        let now_ms = self.now_ms();
        let event = subscription.to_event(change, now_ms, EVENT_SOURCE);
        let record = OutRecord::new(
            WEATHER_SUBSCRIPTIONS,
            subscription.id().as_bytes(),
            self.inner.subscriptions.encode(&event),
            now_ms,
        );
        self.inner.log.send(&[record]).await?;
        let row = vane_projector::subscription_row(event);
        self.inner.store.upsert_subscriptions(std::slice::from_ref(&row)).await?;
        tracing::info!(subscription_id = %row.subscription_id, user_id = %row.user_id, ?change, "subscription written");
        Ok(row)
    }
}

/// The request checked by the weather core, every problem listed.
fn checked(
    id: &str,
    user_id: &str,
    request: SubscriptionRequest,
    created_at_ms: i64,
    updated_at_ms: i64,
    revision: i64,
) -> Result<Subscription, ApiError> {
    let mut problems = Vec::new();
    let mut constraints = Vec::new();
    for (kind, threshold) in &request.constraints {
        match Constraint::from_parts(kind, *threshold) {
            Ok(constraint) => constraints.push(constraint),
            Err(problem) => problems.push(problem),
        }
    }
    let spec = SubscriptionSpec {
        id: id.to_string(),
        user_id: user_id.to_string(),
        city_name: request.city_name.filter(|name| !name.trim().is_empty()),
        country: request.country.filter(|country| !country.trim().is_empty()),
        lat: request.lat,
        lon: request.lon,
        constraints,
        created_at_ms,
        updated_at_ms,
        revision,
    };
    match Subscription::new(spec) {
        Ok(subscription) if problems.is_empty() => Ok(subscription),
        Ok(_) => Err(ApiError::InvalidArgument(format!("invalid subscription: {}", problems.join("; ")))),
        // The core's own problems are listed, not its message, which says "invalid subscription"
        // again.
        Err(WeatherError::InvalidSubscription(mut more)) => {
            problems.append(&mut more);
            Err(ApiError::InvalidArgument(format!("invalid subscription: {}", problems.join("; "))))
        }
        Err(error) => {
            problems.push(error.to_string());
            Err(ApiError::InvalidArgument(format!("invalid subscription: {}", problems.join("; "))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_listed() {
        let request = SubscriptionRequest {
            city_name: Some("Catania".into()),
            constraints: vec![("hail".into(), None), ("rain".into(), None)],
            ..Default::default()
        };
        let error = checked("s", "u", request, 1, 1, 1).unwrap_err().to_string();
        assert!(error.contains("hail"), "{error}");
        let none = SubscriptionRequest::default();
        let error = checked("s", "u", none, 1, 1, 1).unwrap_err().to_string();
        assert_eq!(
            error,
            "invalid request: invalid subscription: a city is needed: a name and a country, or a latitude and a longitude; \
             at least one constraint is needed (rain, snow, temp>N, temp<N, wind>N)"
        );
        let ok = SubscriptionRequest {
            city_name: Some("Catania".into()),
            country: Some("IT".into()),
            constraints: vec![("rain".into(), None)],
            ..Default::default()
        };
        assert!(checked("s", "u", ok, 1, 1, 1).is_ok());
    }
}
