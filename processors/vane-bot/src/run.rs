//! The bot's loop: load the chats of `vane.users` to the end and follow them, then long-poll
//! Telegram's `getUpdates` and answer each text message with its command's reply. I/O: the log,
//! and Telegram's Bot API through teloxide.
//!
//! Telegram keeps an update until a `getUpdates` asks for the ones after it. The bot confirms a
//! batch with a short `getUpdates` before it acts on it: a command runs at most once (a crash
//! mid-batch loses the rest of it, and the user sends it again) — never twice, which matters for
//! `/unsubscribe 2`, whose meaning changes once it ran. Only one process may poll a bot: a
//! second one gets "terminated by other getUpdates request" and backs off; run one `bot` role.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use teloxide_core::payloads::GetUpdatesSetters;
use teloxide_core::requests::{Request, Requester};
use teloxide_core::types::{AllowedUpdate, Update, UpdateKind};
use tokio::sync::watch;
use vane_api::UsersApi;
use vane_events::{Codec, UserEvent};
use vane_notifier::sender::classify;
use vane_notifier::split::{TELEGRAM_TEXT_LIMIT, split_text};
use vane_notifier::{NotifierConfig, SendError, Sender, TelegramSender};
use vane_stream::global::{read_to_end, tail};
use vane_stream::metrics::{Counter, Metrics};
use vane_stream::{Log, Record, topics};

use crate::BotError;
use crate::directory::ChatDirectory;
use crate::handler::Handler;

/// How long one `getUpdates` waits for a message (Telegram allows up to 50 s).
pub const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(25);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Attempts at sending one reply.
const REPLY_ATTEMPTS: u32 = 3;

/// Answers chat commands until `shutdown` turns true. `telegram` gives the Bot API's URL and
/// the token (the notifier's); `poll_timeout` is the long poll's wait. Returns an error only
/// for what a retry cannot fix: a token Telegram refuses, a log that fails at start.
pub async fn run(
    log: Log,
    api: UsersApi,
    telegram: &NotifierConfig,
    poll_timeout: Duration,
    metrics: &Metrics,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), BotError> {
    let sender = TelegramSender::new(telegram)?;
    match sender.bot_name().await {
        Ok(name) => tracing::info!(bot = %name, "telegram bot found; answering commands"),
        Err(SendError::Unauthorized) => return Err(BotError::Token(telegram.api_url().to_string())),
        Err(error) => tracing::warn!(%error, "telegram not reachable at start; polling until it is"),
    }

    let chats = Arc::new(Mutex::new(ChatDirectory::default()));
    let codec: Codec<UserEvent> = Codec::new()?;
    let consumer = read_to_end(&log, topics::USERS, |record| apply(&codec, &chats, record)).await?;
    let linked = chats.lock().unwrap_or_else(PoisonError::into_inner).len();
    tracing::info!(linked_chats = linked, "chats loaded from vane.users");
    let follower = {
        let chats = Arc::clone(&chats);
        tail(
            consumer,
            "users",
            move |record| {
                apply(&codec, &chats, record);
                true
            },
            shutdown.clone(),
        )
    };

    let handler = Handler::new(api, chats);
    let counters = BotMetrics::new(metrics);
    let mut offset: Option<i32> = None;
    let mut backoff = Duration::from_secs(1);
    loop {
        if *shutdown.borrow() {
            break;
        }
        let mut request = sender
            .client()
            .get_updates()
            .timeout(u32::try_from(poll_timeout.as_secs()).unwrap_or(25))
            .allowed_updates([AllowedUpdate::Message]);
        if let Some(offset) = offset {
            request = request.offset(offset);
        }
        let polled = tokio::select! {
            polled = request.send() => polled,
            _ = shutdown.changed() => break,
        };
        match polled {
            Ok(updates) => {
                backoff = Duration::from_secs(1);
                if let Some(last) = updates.last() {
                    offset = Some(next_offset(last));
                    confirm(&sender, next_offset(last)).await;
                }
                for update in updates {
                    if let Some((chat_id, text)) = text_message(&update) {
                        counters.commands.inc();
                        let reply = handler.reply(chat_id, &text).await;
                        if send_reply(&sender, chat_id, &reply).await {
                            counters.replies.inc();
                        } else {
                            counters.failed.inc();
                        }
                    }
                }
            }
            Err(error) => {
                let error = classify(error);
                if error == SendError::Unauthorized {
                    return Err(BotError::Token(telegram.api_url().to_string()));
                }
                tracing::warn!(%error, retry_in_s = backoff.as_secs(), "getUpdates failed (another process polling this bot? only one bot role may run)");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => break,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    follower.abort();
    tracing::info!("bot stopped");
    Ok(())
}

/// Tells Telegram that the updates below `offset` were taken (a short `getUpdates` from there;
/// the updates it returns come again with the next long poll). Best effort: when it fails, the
/// next poll confirms them.
async fn confirm(sender: &TelegramSender, offset: i32) {
    let request = sender.client().get_updates().offset(offset).limit(1).timeout(0).send();
    match tokio::time::timeout(Duration::from_secs(5), request).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => tracing::debug!(error = %classify(error), "confirming updates failed; the next poll confirms them"),
        Err(_) => tracing::debug!("confirming updates timed out; the next poll confirms them"),
    }
}

/// Applies one record of `vane.users` to the chats; an undecodable one is skipped (the
/// projector sends those to the dead-letter topic).
fn apply(codec: &Codec<UserEvent>, chats: &Mutex<ChatDirectory>, record: &Record) {
    match codec.decode(&record.value) {
        Ok(event) => chats.lock().unwrap_or_else(PoisonError::into_inner).apply(&event),
        Err(error) => tracing::warn!(%error, offset = record.offset, "undecodable user event skipped by the bot"),
    }
}

fn next_offset(update: &Update) -> i32 {
    i32::try_from(update.id.0).unwrap_or(i32::MAX).saturating_add(1)
}

/// The chat and text of a text message; other updates are only confirmed.
fn text_message(update: &Update) -> Option<(i64, String)> {
    match &update.kind {
        UpdateKind::Message(message) => Some((message.chat.id.0, message.text()?.to_string())),
        _ => None,
    }
}

/// Sends `reply` (split when over Telegram's limit), waiting out 429s and retrying transient
/// failures a few times. Whether every part arrived.
async fn send_reply(sender: &TelegramSender, chat_id: i64, reply: &str) -> bool {
    for part in split_text(reply, TELEGRAM_TEXT_LIMIT) {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match sender.send_message(chat_id, &part).await {
                Ok(()) => break,
                Err(SendError::RetryAfter(wait)) if attempt < REPLY_ATTEMPTS => tokio::time::sleep(wait).await,
                Err(SendError::Transient(_)) if attempt < REPLY_ATTEMPTS => tokio::time::sleep(Duration::from_secs(1)).await,
                Err(error) => {
                    tracing::warn!(%error, chat_id, "bot reply not delivered");
                    return false;
                }
            }
        }
    }
    true
}

struct BotMetrics {
    commands: Counter,
    replies: Counter,
    failed: Counter,
}

impl BotMetrics {
    fn new(metrics: &Metrics) -> BotMetrics {
        BotMetrics {
            commands: metrics.counter("vane_bot_messages_total", "Chat messages the bot answered.", &[]),
            replies: metrics.counter("vane_bot_replies_total", "Bot replies delivered.", &[("outcome", "delivered")]),
            failed: metrics.counter("vane_bot_replies_total", "Bot replies delivered.", &[("outcome", "failed")]),
        }
    }
}
