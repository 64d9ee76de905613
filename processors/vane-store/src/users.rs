//! The users and weather subscriptions read models: users by id and by username (the login's
//! lookup), the username claims that keep usernames unique, the one-time link codes of the
//! Telegram deep link, and each user's weather subscriptions.
//!
//! Usernames are unique because the store arbitrates: the API claims a username with an insert
//! that fails when the name is taken (SQLite's primary key, ScyllaDB's `IF NOT EXISTS`) before it
//! writes the "registered" event, so of two racing registrations exactly one claim succeeds. Users
//! and subscriptions are upserted guarded by revision (an older revision never overwrites a newer
//! one) and deleted ones are kept as flagged tombstones, so that a replay in any order converges.
//! A row is stored as JSON next to the columns it is looked up by. Pure: no I/O here.

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Longest username, link code or id the store accepts.
const MAX_KEY: usize = 256;

/// One user as the last event left them (deleted ones are kept, flagged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRow {
    pub user_id: String,
    pub username: String,
    /// The argon2id hash in PHC string format.
    pub password_hash: String,
    /// The linked Telegram chat.
    pub chat_id: Option<i64>,
    /// IANA time zone name (`Europe/Rome`).
    pub time_zone: String,
    /// Quiet hours as `HH:MM-HH:MM` in the user's zone.
    pub quiet_hours: Option<String>,
    pub cooldown_ms: i64,
    pub created_at_ms: i64,
    /// The version: an upsert with a lower revision is ignored.
    pub revision: i64,
    pub deleted: bool,
}

/// A one-time code that links a Telegram chat to a user, valid until `expires_at_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkCodeRow {
    pub code: String,
    pub user_id: String,
    pub expires_at_ms: i64,
}

/// One constraint of a subscription: `kind` as in `vane-weather` (`rain`, `temp_above`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionConstraintRow {
    pub kind: String,
    pub threshold: Option<f64>,
}

/// One weather subscription as its last event left it (deleted ones are kept, flagged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRow {
    pub subscription_id: String,
    pub user_id: String,
    pub city_name: Option<String>,
    pub country: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub constraints: Vec<SubscriptionConstraintRow>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub revision: i64,
    pub deleted: bool,
}

pub(crate) fn check_key(what: &str, key: &str) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(StoreError::InvalidRow(format!(
            "{what} {key:?}: empty or longer than {MAX_KEY} bytes"
        )));
    }
    Ok(())
}

impl UserRow {
    /// Why the store would refuse this row: only what storing needs (the API validates the rest).
    pub fn validate(&self) -> Result<(), StoreError> {
        check_key("user id", &self.user_id)?;
        check_key("username", &self.username)?;
        Ok(())
    }
}

impl LinkCodeRow {
    pub fn validate(&self) -> Result<(), StoreError> {
        check_key("link code", &self.code)?;
        check_key("user id", &self.user_id)
    }
}

impl SubscriptionRow {
    pub fn validate(&self) -> Result<(), StoreError> {
        check_key("subscription id", &self.subscription_id)?;
        check_key("user id", &self.user_id)?;
        // JSON has no NaN or infinity: such a row would not read back.
        let numbers = [self.lat, self.lon].into_iter().chain(self.constraints.iter().map(|c| c.threshold));
        for value in numbers.flatten() {
            if !value.is_finite() {
                return Err(StoreError::InvalidRow(format!(
                    "subscription {}: non-finite number",
                    self.subscription_id
                )));
            }
        }
        Ok(())
    }
}

pub(crate) fn to_json<T: Serialize>(what: &str, id: &str, row: &T) -> Result<String, StoreError> {
    serde_json::to_string(row).map_err(|error| StoreError::InvalidRow(format!("{what} {id}: {error}")))
}

pub(crate) fn from_json<T: for<'de> Deserialize<'de>>(what: &str, json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|error| StoreError::Corrupt(format!("{what}: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_that_would_not_read_back_are_refused() {
        let mut row = SubscriptionRow {
            subscription_id: "s".into(),
            user_id: "u".into(),
            city_name: Some("Catania".into()),
            country: None,
            lat: None,
            lon: None,
            constraints: vec![SubscriptionConstraintRow {
                kind: "temp_above".into(),
                threshold: Some(f64::NAN),
            }],
            created_at_ms: 0,
            updated_at_ms: 0,
            revision: 1,
            deleted: false,
        };
        assert!(row.validate().is_err());
        row.constraints.clear();
        assert!(row.validate().is_ok());
        row.user_id.clear();
        assert!(row.validate().is_err());
    }
}
