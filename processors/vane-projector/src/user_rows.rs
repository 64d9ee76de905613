//! From `vane.users` and `vane.weather.subscriptions` records to the users and subscriptions
//! read models: every user event becomes its user row (the record carries the whole user); a
//! "registered" one also claims the username again (a no-op on the live path, where the API
//! claimed it first; what rebuilds the claims on a replay) and a "deleted" one frees it. Every
//! subscription event becomes its subscription row, a deleted one a tombstone. Rows the store
//! would refuse are refused here, so that they go to the dead-letter topic. Pure.

use vane_events::{SubscriptionChange, UserChange, UserEvent, WeatherSubscriptionEvent};
use vane_store::{SubscriptionConstraintRow, SubscriptionRow, UserRow};

/// A username claimed by a registration or freed by a deletion: `(username, user_id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameChange {
    Claim(String, String),
    Release(String, String),
}

/// The users and subscriptions rows of one batch, in the order of their records.
#[derive(Debug, Default)]
pub struct UserRows {
    pub users: Vec<UserRow>,
    /// Username claims (registrations) and releases (deleted accounts), in record order.
    pub names: Vec<NameChange>,
    pub subscriptions: Vec<SubscriptionRow>,
}

impl UserRows {
    pub fn len(&self) -> usize {
        self.users.len() + self.subscriptions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a user event, or says why it cannot be a row.
    pub(crate) fn add_user(&mut self, event: UserEvent) -> Result<(), String> {
        let u = event.user;
        let row = UserRow {
            user_id: u.id,
            username: u.username,
            password_hash: u.password_hash,
            chat_id: u.chat_id,
            time_zone: u.time_zone,
            quiet_hours: u.quiet_hours,
            cooldown_ms: u.cooldown_ms,
            created_at_ms: u.created_at_ms,
            revision: u.revision,
            deleted: event.change == UserChange::Deleted,
        };
        row.validate().map_err(|error| error.to_string())?;
        match event.change {
            UserChange::Registered => self.names.push(NameChange::Claim(row.username.clone(), row.user_id.clone())),
            UserChange::Deleted => self.names.push(NameChange::Release(row.username.clone(), row.user_id.clone())),
            UserChange::ChatLinked | UserChange::PasswordChanged | UserChange::SettingsChanged => {}
        }
        self.users.push(row);
        Ok(())
    }

    /// Adds a subscription event, or says why it cannot be a row.
    pub(crate) fn add_subscription(&mut self, event: WeatherSubscriptionEvent) -> Result<(), String> {
        let row = subscription_row(event);
        row.validate().map_err(|error| error.to_string())?;
        self.subscriptions.push(row);
        Ok(())
    }
}

/// The read-model row a subscription event leaves (the API writes the same row right after the
/// event, for read-your-writes).
pub fn subscription_row(event: WeatherSubscriptionEvent) -> SubscriptionRow {
    let s = event.subscription;
    SubscriptionRow {
        subscription_id: s.id,
        user_id: s.user_id,
        city_name: s.city_name,
        country: s.country,
        lat: s.lat,
        lon: s.lon,
        constraints: s
            .constraints
            .into_iter()
            .map(|c| SubscriptionConstraintRow {
                kind: c.kind,
                threshold: c.threshold,
            })
            .collect(),
        created_at_ms: s.created_at_ms,
        updated_at_ms: s.updated_at_ms,
        revision: s.revision,
        deleted: event.change == SubscriptionChange::Deleted,
    }
}
