//! Users and weather subscriptions: the service layer behind `vane.v1.Users` and
//! `vane.v1.Subscriptions` (and, later, the Telegram bot's commands).
//!
//! Changes are validated in full, then written as events: [`UserEvent`] on `vane.users` (key =
//! user id) and [`WeatherSubscriptionEvent`] on `vane.weather.subscriptions` (key = subscription
//! id). After the log accepted an event, the same row is upserted into the store at once (the
//! upserts are revision-guarded and idempotent, so the projector writing it again changes
//! nothing): a user can log in right after registering and sees a new subscription in the next
//! list. Usernames stay unique because the store arbitrates: a registration first claims the name
//! ([`Store::claim_username`], an insert that fails on a taken name), then writes its event; of
//! two racing registrations exactly one claim succeeds. Changes in one process are serialized.
//! I/O: the store and the log; time comes from the injected clock.

pub mod auth;
mod grpc;
pub mod subscriptions;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use vane_events::{Codec, Envelope, User, UserChange, UserEvent, WeatherSubscriptionEvent};
use vane_store::{LinkCodeRow, Store, UserRow};
use vane_stream::runner::Clock;
use vane_stream::topics::USERS;
use vane_stream::{Log, OutRecord};
use vane_weather::{QuietHours, UserSettings};

use self::auth::{LoginThrottle, Tokens};
use crate::ApiError;
pub(crate) use grpc::{SubscriptionsService, UsersService};

/// What a user call on a server without a JWT key is told.
pub const NO_JWT_KEY: &str =
    "user accounts are disabled on this server: set auth.jwt_secret (in the config file, or VANE__AUTH__JWT_SECRET) to enable them";

/// The envelope's `source` of the events the API writes.
const EVENT_SOURCE: &str = "api";
/// A link code is valid this long.
pub const LINK_CODE_TTL_MS: i64 = 10 * 60 * 1_000;
/// Tokens last this long unless configured otherwise.
pub const DEFAULT_TOKEN_TTL_MS: i64 = 24 * 60 * 60 * 1_000;

/// A new account, as asked for.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub username: String,
    pub password: String,
    pub chat_id: Option<i64>,
    /// IANA name; `None` or empty is UTC.
    pub time_zone: Option<String>,
    /// `HH:MM-HH:MM`; `None` or empty is none.
    pub quiet_hours: Option<String>,
    pub cooldown_ms: Option<i64>,
}

/// A change of settings: `None` keeps the current value; an empty quiet-hours string removes them.
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    pub time_zone: Option<String>,
    pub quiet_hours: Option<String>,
    pub cooldown_ms: Option<i64>,
}

/// A token's holder, proven by [`UsersApi::authenticate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
}

/// The users and subscriptions API over one store and one log; cheap to clone.
#[derive(Clone)]
pub struct UsersApi {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    log: Log,
    tokens: Option<Tokens>,
    clock: Arc<dyn Clock>,
    users: Codec<UserEvent>,
    subscriptions: Codec<WeatherSubscriptionEvent>,
    changes: tokio::sync::Mutex<()>,
    throttle: Mutex<LoginThrottle>,
    /// A hash of nothing, verified against when the username is unknown, so that an unknown
    /// name takes as long to refuse as a wrong password.
    decoy: tokio::sync::OnceCell<String>,
}

impl fmt::Debug for UsersApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsersApi")
            .field("store", &self.inner.store.backend())
            .field("log", &self.inner.log.backend())
            .field("tokens", &self.inner.tokens)
            .finish_non_exhaustive()
    }
}

impl UsersApi {
    /// The API over `store` and `log` (`vane.users` and `vane.weather.subscriptions` must exist).
    /// Without a `jwt_key` (or with an empty one) every user call is refused with [`NO_JWT_KEY`];
    /// tokens last `token_ttl_ms` ([`DEFAULT_TOKEN_TTL_MS`] is a sensible default).
    pub fn new(store: Store, log: Log, jwt_key: Option<String>, token_ttl_ms: i64, clock: Arc<dyn Clock>) -> Result<UsersApi, ApiError> {
        let tokens = jwt_key
            .filter(|key| !key.trim().is_empty())
            .map(|key| Tokens::new(&key, token_ttl_ms));
        if tokens.is_none() {
            tracing::info!("no auth.jwt_secret configured: user accounts and subscriptions are disabled");
        }
        Ok(UsersApi {
            inner: Arc::new(Inner {
                store,
                log,
                tokens,
                clock,
                users: Codec::new()?,
                subscriptions: Codec::new()?,
                changes: tokio::sync::Mutex::new(()),
                throttle: Mutex::new(LoginThrottle::default()),
                decoy: tokio::sync::OnceCell::new(),
            }),
        })
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    fn tokens(&self) -> Result<&Tokens, ApiError> {
        self.inner.tokens.as_ref().ok_or(ApiError::AuthDisabled)
    }

    /// Checks an `authorization` header value (`Bearer <token>`): a valid, unexpired token of a
    /// user that still exists.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, ApiError> {
        let tokens = self.tokens()?;
        let Some(presented) = authorization else {
            return Err(ApiError::Unauthenticated(
                "this call needs your token: log in with `vane user login` and send `authorization: Bearer <token>` (VANE_TOKEN)".into(),
            ));
        };
        let token = presented
            .strip_prefix("Bearer ")
            .or_else(|| presented.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| ApiError::Unauthenticated("the authorization header must be `Bearer <token>`".into()))?;
        let (user_id, stamp) = tokens.verify(token, self.now_ms())?;
        match self.inner.store.get_user(&user_id).await? {
            Some(user) if !user.deleted && auth::password_stamp(&user.password_hash) == stamp => Ok(Caller { user_id }),
            Some(user) if !user.deleted => Err(ApiError::Unauthenticated(
                "the password changed since this token was issued; log in again with `vane user login`".into(),
            )),
            _ => Err(ApiError::Unauthenticated("the token's account no longer exists".into())),
        }
    }

    /// Registers a user: validated, the name claimed in the store, then the event.
    pub async fn register(&self, registration: Registration) -> Result<UserRow, ApiError> {
        self.tokens()?;
        let Registration {
            username,
            password,
            chat_id,
            time_zone,
            quiet_hours,
            cooldown_ms,
        } = registration;
        let mut problems = auth::username_problems(&username);
        problems.extend(auth::password_problems(&password));
        let time_zone = time_zone.filter(|tz| !tz.trim().is_empty()).unwrap_or_else(|| "UTC".to_string());
        let quiet_hours = quiet_hours.filter(|q| !q.trim().is_empty());
        problems.extend(settings_problems(&time_zone, quiet_hours.as_deref(), cooldown_ms));
        if !problems.is_empty() {
            return Err(ApiError::InvalidArgument(problems.join("; ")));
        }
        let password_hash = auth::hash_password(password).await?;
        let _serialized = self.inner.changes.lock().await;
        let now_ms = self.now_ms();
        let user_id = uuid::Uuid::new_v4().to_string();
        if !self.inner.store.claim_username(&username, &user_id).await? {
            return Err(ApiError::AlreadyExists(format!(
                "the username {username:?} is taken; choose another"
            )));
        }
        let row = UserRow {
            user_id: user_id.clone(),
            username: username.clone(),
            password_hash,
            chat_id,
            time_zone,
            quiet_hours,
            cooldown_ms: cooldown_ms.unwrap_or(vane_weather::user::DEFAULT_COOLDOWN_MS),
            created_at_ms: now_ms,
            revision: 1,
            deleted: false,
        };
        if let Err(error) = self.write_user(UserChange::Registered, &row).await {
            // Nothing was written: give the name back so that a retry can have it.
            if let Err(release) = self.inner.store.release_username(&username, &user_id).await {
                tracing::warn!(%release, username, "cannot release the username of a failed registration");
            }
            return Err(error);
        }
        tracing::info!(user_id, username, "user registered");
        Ok(row)
    }

    /// A token for the right username and password. After repeated failures for one username,
    /// attempts are refused until an exponentially growing wait has passed.
    pub async fn login(&self, username: &str, password: &str) -> Result<(String, i64, UserRow), ApiError> {
        let tokens = self.tokens()?;
        let now_ms = self.now_ms();
        if let Some(until) = self.throttle().blocked_until(username, now_ms) {
            return Err(ApiError::TooManyAttempts {
                retry_in_ms: until - now_ms,
            });
        }
        let user = self.inner.store.get_user_by_username(username).await?;
        let verified = match &user {
            Some(user) => auth::verify_password(password.to_string(), user.password_hash.clone()).await?,
            None => {
                let decoy = self
                    .inner
                    .decoy
                    .get_or_try_init(|| auth::hash_password(uuid::Uuid::new_v4().to_string()))
                    .await?;
                auth::verify_password(password.to_string(), decoy.clone()).await?;
                false
            }
        };
        match user {
            Some(user) if verified => {
                self.throttle().succeeded(username);
                let (token, expires_at_ms) = tokens.issue(&user.user_id, &auth::password_stamp(&user.password_hash), now_ms)?;
                Ok((token, expires_at_ms, user))
            }
            _ => {
                self.throttle().failed(username, self.now_ms());
                Err(ApiError::Unauthenticated("wrong username or password".into()))
            }
        }
    }

    /// Changes the caller's password after checking the current one.
    pub async fn change_password(&self, caller: &Caller, current: &str, new: &str) -> Result<UserRow, ApiError> {
        let problems = auth::password_problems(new);
        if !problems.is_empty() {
            return Err(ApiError::InvalidArgument(problems.join("; ")));
        }
        let user = self.live_user(&caller.user_id).await?;
        if !auth::verify_password(current.to_string(), user.password_hash.clone()).await? {
            return Err(ApiError::Unauthenticated("the current password is wrong".into()));
        }
        let password_hash = auth::hash_password(new.to_string()).await?;
        self.change_user(caller, UserChange::PasswordChanged, move |user| user.password_hash = password_hash)
            .await
    }

    /// Changes the caller's time zone, quiet hours or cooldown.
    pub async fn update_settings(&self, caller: &Caller, change: SettingsChange) -> Result<UserRow, ApiError> {
        let current = self.live_user(&caller.user_id).await?;
        let time_zone = change.time_zone.clone().unwrap_or(current.time_zone);
        let quiet_hours = match change.quiet_hours.clone() {
            Some(q) if q.trim().is_empty() => None,
            Some(q) => Some(q),
            None => current.quiet_hours,
        };
        let problems = settings_problems(&time_zone, quiet_hours.as_deref(), change.cooldown_ms);
        if !problems.is_empty() {
            return Err(ApiError::InvalidArgument(problems.join("; ")));
        }
        let cooldown_ms = change.cooldown_ms;
        self.change_user(caller, UserChange::SettingsChanged, move |user| {
            user.time_zone = time_zone;
            user.quiet_hours = quiet_hours;
            if let Some(cooldown_ms) = cooldown_ms {
                user.cooldown_ms = cooldown_ms;
            }
        })
        .await
    }

    /// A one-time code for the bot's `/start <code>`, valid [`LINK_CODE_TTL_MS`].
    pub async fn create_link_code(&self, caller: &Caller) -> Result<LinkCodeRow, ApiError> {
        self.live_user(&caller.user_id).await?;
        let row = LinkCodeRow {
            code: auth::new_link_code(),
            user_id: caller.user_id.clone(),
            expires_at_ms: self.now_ms().saturating_add(LINK_CODE_TTL_MS),
        };
        self.inner.store.put_link_code(&row).await?;
        Ok(row)
    }

    /// Redeems a link code from the bot's `/start <code>`: links `chat_id` to the code's user
    /// ("chat linked" on `vane.users`). A code works once, before it expires.
    pub async fn redeem_link_code(&self, code: &str, chat_id: i64) -> Result<UserRow, ApiError> {
        let unknown = || ApiError::NotFound("unknown or expired link code; run `vane user link-code` for a new one".into());
        if !auth::is_link_code(code) {
            return Err(unknown());
        }
        let Some(taken) = self.inner.store.take_link_code(code, self.now_ms()).await? else {
            return Err(unknown());
        };
        let caller = Caller { user_id: taken.user_id };
        self.change_user(&caller, UserChange::ChatLinked, move |user| user.chat_id = Some(chat_id))
            .await
    }

    /// Deletes the caller's account and every subscription of theirs (a deleted event each), and
    /// frees the username. Returns the user and how many subscriptions were deleted.
    pub async fn delete_account(&self, caller: &Caller) -> Result<(UserRow, usize), ApiError> {
        let subscriptions = self.inner.store.list_subscriptions(&caller.user_id).await?;
        let mut deleted = 0;
        for subscription in subscriptions {
            self.delete_subscription(caller, &subscription.subscription_id).await?;
            deleted += 1;
        }
        let user = self.change_user(caller, UserChange::Deleted, |user| user.deleted = true).await?;
        self.inner.store.release_username(&user.username, &user.user_id).await?;
        tracing::info!(user_id = %user.user_id, subscriptions = deleted, "account deleted");
        Ok((user, deleted))
    }

    async fn live_user(&self, user_id: &str) -> Result<UserRow, ApiError> {
        match self.inner.store.get_user(user_id).await? {
            Some(user) if !user.deleted => Ok(user),
            _ => Err(ApiError::NotFound("the account no longer exists".into())),
        }
    }

    /// Applies `change` to the caller's current row, revision + 1, and writes it.
    async fn change_user(&self, caller: &Caller, kind: UserChange, change: impl FnOnce(&mut UserRow)) -> Result<UserRow, ApiError> {
        let _serialized = self.inner.changes.lock().await;
        let mut user = self.live_user(&caller.user_id).await?;
        change(&mut user);
        user.revision = user.revision.saturating_add(1);
        self.write_user(kind, &user).await?;
        Ok(user)
    }

    async fn write_user(&self, change: UserChange, row: &UserRow) -> Result<(), ApiError> {
        let now_ms = self.now_ms();
        let event = UserEvent {
            envelope: Envelope::new(now_ms, now_ms, EVENT_SOURCE),
            change,
            user: User {
                id: row.user_id.clone(),
                username: row.username.clone(),
                password_hash: row.password_hash.clone(),
                chat_id: row.chat_id,
                time_zone: row.time_zone.clone(),
                quiet_hours: row.quiet_hours.clone(),
                cooldown_ms: row.cooldown_ms,
                created_at_ms: row.created_at_ms,
                revision: row.revision,
            },
        };
        let record = OutRecord::new(USERS, row.user_id.as_bytes(), self.inner.users.encode(&event), now_ms);
        self.inner.log.send(&[record]).await?;
        self.inner.store.upsert_users(std::slice::from_ref(row)).await?;
        Ok(())
    }

    fn throttle(&self) -> std::sync::MutexGuard<'_, LoginThrottle> {
        self.inner.throttle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every problem with a time zone, quiet hours (`HH:MM-HH:MM`) and cooldown.
fn settings_problems(time_zone: &str, quiet_hours: Option<&str>, cooldown_ms: Option<i64>) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(error) = UserSettings::new("check", None).with_time_zone(time_zone) {
        problems.push(error.to_string());
    }
    if let Some(text) = quiet_hours
        && parse_quiet_hours(text).is_none()
    {
        problems.push(format!("quiet hours {text:?} are not HH:MM-HH:MM with two different times"));
    }
    if cooldown_ms.is_some_and(|ms| !(0..=7 * 24 * 3_600_000).contains(&ms)) {
        problems.push("the cooldown must be between 0 and 7 days".to_string());
    }
    problems
}

/// `HH:MM-HH:MM` as quiet hours.
pub fn parse_quiet_hours(text: &str) -> Option<QuietHours> {
    let (start, end) = text.trim().split_once('-')?;
    let time = |t: &str| -> Option<(i8, i8)> {
        let (h, m) = t.trim().split_once(':')?;
        Some((h.parse().ok()?, m.parse().ok()?))
    };
    QuietHours::new(time(start)?, time(end)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_in_full() {
        assert!(settings_problems("Europe/Rome", Some("22:00-07:00"), Some(0)).is_empty());
        assert_eq!(settings_problems("Mars/Olympus", Some("25:00-07:00"), Some(-1)).len(), 3);
        assert!(parse_quiet_hours("07:00-07:00").is_none());
        assert!(parse_quiet_hours("22:30 - 06:15").is_some());
    }
}
