//! Runs one chat message's command against the users API and says what happened: the reply
//! text. The chat proves the account: a chat linked with `/start CODE` acts for that account
//! (the same checks as the gRPC calls with its token, through [`UsersApi`]). I/O: the store and
//! the log, through the API.

use std::sync::{Arc, Mutex, PoisonError};

use vane_api::{ApiError, Caller, UsersApi};
use vane_store::SubscriptionRow;
use vane_weather::{City, Constraint};

use crate::command::{Command, Rejection, SUBSCRIBE_USAGE, Target, parse};
use crate::directory::ChatDirectory;

/// The reply to a chat that is not linked yet.
pub const NOT_LINKED: &str = "This chat is not linked to a vane account yet: run `vane user link-code` and send me /start CODE here.";

/// Shortest id prefix `/unsubscribe` accepts.
const MIN_ID_PREFIX: usize = 4;

/// Answers chat messages; cheap to clone.
#[derive(Debug, Clone)]
pub struct Handler {
    api: UsersApi,
    chats: Arc<Mutex<ChatDirectory>>,
}

impl Handler {
    /// A handler acting through `api`, with the chats of `chats` (kept current by the caller).
    pub fn new(api: UsersApi, chats: Arc<Mutex<ChatDirectory>>) -> Handler {
        Handler { api, chats }
    }

    /// The reply to `text` from `chat_id`.
    pub async fn reply(&self, chat_id: i64, text: &str) -> String {
        let command = match parse(text) {
            Ok(command) => command,
            Err(Rejection(reply)) => return reply,
        };
        match self.run(chat_id, command).await {
            Ok(reply) => reply,
            Err(error) => error_reply(&error),
        }
    }

    async fn run(&self, chat_id: i64, command: Command) -> Result<String, ApiError> {
        match command {
            Command::Welcome => Ok(format!(
                "Hi! I deliver vane's weather alerts. To link this chat to your account, run `vane user link-code` and send me /start CODE.\n\n{}",
                help()
            )),
            Command::Help => Ok(help()),
            Command::Link(code) => {
                let user = self.api.redeem_link_code(&code, chat_id).await?;
                self.directory().link(chat_id, &user.user_id);
                tracing::info!(user_id = %user.user_id, chat_id, "chat linked through the bot");
                Ok(format!(
                    "✅ This chat is linked to {}. Your alerts come here now; /subscribe to add one, /list to see yours.",
                    user.username
                ))
            }
            Command::Subscribe(request) => {
                let Some(caller) = self.caller(chat_id) else {
                    return Ok(NOT_LINKED.to_string());
                };
                // A repeated message (a resend, an update answered again after a crash) must
                // not subscribe twice.
                let wanted = identity(
                    request.city_name.as_deref(),
                    request.country.as_deref(),
                    request.lat,
                    request.lon,
                    request.constraints.iter().map(|(kind, threshold)| (kind.as_str(), *threshold)),
                );
                let existing = self.api.list_subscriptions(&caller).await?;
                if let Some(same) = existing.iter().find(|s| wanted.is_some() && identity_of(s) == wanted) {
                    return Ok(format!("You already have this subscription: {}", describe(same)));
                }
                let created = self.api.create_subscription(&caller, request).await?;
                Ok(format!("✅ Subscribed: {}", describe(&created)))
            }
            Command::List => {
                let Some(caller) = self.caller(chat_id) else {
                    return Ok(NOT_LINKED.to_string());
                };
                let subscriptions = self.api.list_subscriptions(&caller).await?;
                if subscriptions.is_empty() {
                    return Ok(format!("You have no subscriptions. {SUBSCRIBE_USAGE}"));
                }
                let lines: Vec<String> = subscriptions
                    .iter()
                    .enumerate()
                    .map(|(i, s)| format!("{}. {} (id {})", i + 1, describe(s), short_id(&s.subscription_id)))
                    .collect();
                Ok(format!("Your subscriptions:\n{}", lines.join("\n")))
            }
            Command::Unsubscribe(target) => {
                let Some(caller) = self.caller(chat_id) else {
                    return Ok(NOT_LINKED.to_string());
                };
                let subscriptions = self.api.list_subscriptions(&caller).await?;
                let id = resolve(&subscriptions, &target)?;
                let gone = self.api.delete_subscription(&caller, &id).await?;
                Ok(format!("✅ Unsubscribed: {}", describe(&gone)))
            }
        }
    }

    fn caller(&self, chat_id: i64) -> Option<Caller> {
        let user_id = self.directory().user_of(chat_id)?.to_string();
        Some(Caller { user_id })
    }

    fn directory(&self) -> std::sync::MutexGuard<'_, ChatDirectory> {
        self.chats.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn help() -> String {
    format!(
        "Commands:\n/start CODE — link this chat (CODE from `vane user link-code`)\n{SUBSCRIBE_USAGE}\n/list — your subscriptions\n/unsubscribe N — delete number N of /list (or give its id)\n/help — this text"
    )
}

/// The subscription `target` names among `subscriptions` (the caller's, oldest first, as
/// `/list` numbers them).
fn resolve(subscriptions: &[SubscriptionRow], target: &Target) -> Result<String, ApiError> {
    let not_found = |what: String| ApiError::NotFound(format!("you have no subscription {what}; /list shows yours"));
    match target {
        Target::Number(number) => subscriptions
            .get(number.saturating_sub(1))
            .map(|s| s.subscription_id.clone())
            .ok_or_else(|| not_found(format!("number {number}"))),
        Target::Id(id) => {
            if let Some(exact) = subscriptions.iter().find(|s| &s.subscription_id == id) {
                return Ok(exact.subscription_id.clone());
            }
            let matching: Vec<&SubscriptionRow> = subscriptions
                .iter()
                .filter(|s| id.len() >= MIN_ID_PREFIX && s.subscription_id.starts_with(id.as_str()))
                .collect();
            match matching.as_slice() {
                [one] => Ok(one.subscription_id.clone()),
                [] => Err(not_found(format!("with id {id:?}"))),
                _ => Err(ApiError::InvalidArgument(format!(
                    "{id:?} starts several of your subscriptions' ids; give more of it or its number in /list"
                ))),
            }
        }
    }
}

/// What makes two subscriptions the same: the city's id and the constraints' keys, sorted;
/// `None` when either does not validate (the API then says why).
fn identity<'a>(
    name: Option<&str>,
    country: Option<&str>,
    lat: Option<f64>,
    lon: Option<f64>,
    constraints: impl Iterator<Item = (&'a str, Option<f64>)>,
) -> Option<(String, Vec<String>)> {
    let city = City::from_parts(name, country, lat, lon).ok()?.id();
    let mut keys = constraints
        .map(|(kind, threshold)| Constraint::from_parts(kind, threshold).map(|c| c.key()).ok())
        .collect::<Option<Vec<String>>>()?;
    keys.sort();
    keys.dedup();
    Some((city.as_str().to_string(), keys))
}

fn identity_of(subscription: &SubscriptionRow) -> Option<(String, Vec<String>)> {
    identity(
        subscription.city_name.as_deref(),
        subscription.country.as_deref(),
        subscription.lat,
        subscription.lon,
        subscription.constraints.iter().map(|c| (c.kind.as_str(), c.threshold)),
    )
}

/// `Catania, IT: rain, temperature below 0 °C`.
fn describe(subscription: &SubscriptionRow) -> String {
    let place = City::from_parts(
        subscription.city_name.as_deref(),
        subscription.country.as_deref(),
        subscription.lat,
        subscription.lon,
    )
    .map(|city| city.label())
    .unwrap_or_else(|_| subscription.city_name.clone().unwrap_or_default());
    let constraints: Vec<String> = subscription
        .constraints
        .iter()
        .map(|c| match Constraint::from_parts(&c.kind, c.threshold) {
            Ok(constraint) => constraint.describe(),
            Err(_) => c.kind.clone(),
        })
        .collect();
    format!("{place}: {}", constraints.join(", "))
}

fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// What the chat is told when a command fails: the user's mistakes in full, vane's own trouble
/// without its details (those go to the log).
fn error_reply(error: &ApiError) -> String {
    match error {
        ApiError::Log(_) | ApiError::Store(_) | ApiError::Internal(_) | ApiError::Events(_) => {
            tracing::warn!(%error, "a bot command failed");
            "❌ vane could not do that just now; please try again in a minute.".to_string()
        }
        other => format!("❌ {other}"),
    }
}
