//! Sending one message: the [`Sender`] trait the delivery loop uses, and its Telegram
//! implementation on teloxide's Bot API client. The client posts JSON to
//! `<api url>/bot<token>/SendMessage`; Telegram's errors are sorted into [`SendError`] by what a
//! retry can do about them. I/O: HTTPS (or HTTP to a local fake) to the Bot API.

use std::future::Future;

use teloxide_core::errors::{ApiError, RequestError};
use teloxide_core::requests::{Request, Requester};
use teloxide_core::types::ChatId;
use teloxide_core::{Bot, net};

use crate::NotifierError;
use crate::config::NotifierConfig;
use crate::retry::SendError;

/// Sends plain-text messages to chats.
pub trait Sender: Send + Sync + 'static {
    /// Sends `text` (within Telegram's length limit) to `chat_id`.
    fn send_message(&self, chat_id: i64, text: &str) -> impl Future<Output = Result<(), SendError>> + Send;

    /// The bot's username (the Bot API's `getMe`): checks the token at start.
    fn bot_name(&self) -> impl Future<Output = Result<String, SendError>> + Send;
}

/// The Telegram Bot API through teloxide.
#[derive(Debug, Clone)]
pub struct TelegramSender {
    bot: Bot,
}

impl TelegramSender {
    /// A client for `config`'s API URL and token (teloxide's defaults: 5 s to connect, 17 s per
    /// request).
    pub fn new(config: &NotifierConfig) -> Result<Self, NotifierError> {
        let url = config.api_url();
        let url = url
            .parse()
            .map_err(|e| NotifierError::Config(format!("telegram api url {url:?}: {e}")))?;
        let client = net::default_reqwest_settings()
            .build()
            .map_err(|e| NotifierError::Config(format!("cannot build the HTTP client: {e}")))?;
        let bot = Bot::with_client(config.token.expose(), client).set_api_url(url);
        Ok(TelegramSender { bot })
    }

    /// teloxide's client, for calls beyond sending (the bot's `getUpdates`).
    pub fn client(&self) -> &Bot {
        &self.bot
    }
}

impl Sender for TelegramSender {
    async fn send_message(&self, chat_id: i64, text: &str) -> Result<(), SendError> {
        match self.bot.send_message(ChatId(chat_id), text).send().await {
            Ok(_) => Ok(()),
            Err(error) => Err(classify(error)),
        }
    }

    async fn bot_name(&self) -> Result<String, SendError> {
        match self.bot.get_me().send().await {
            Ok(me) => Ok(me.user.username.clone().unwrap_or_else(|| format!("bot {}", me.user.id))),
            Err(error) => Err(classify(error)),
        }
    }
}

/// Sorts teloxide's error by what a retry can do. teloxide keeps Telegram's description but not
/// the HTTP status; the descriptions start with the status' name (`Bad Request: ...`,
/// `Forbidden: ...`), which is what unknown ones are sorted by.
pub fn classify(error: RequestError) -> SendError {
    match error {
        RequestError::RetryAfter(seconds) => SendError::RetryAfter(seconds.duration()),
        RequestError::MigrateToChatId(chat) => SendError::Migrated(chat.0),
        RequestError::Api(ApiError::InvalidToken) => SendError::Unauthorized,
        RequestError::Api(ApiError::Unknown(description)) => {
            if description.starts_with("Bad Request") || description.starts_with("Forbidden") {
                SendError::Permanent(description)
            } else {
                SendError::Transient(format!("telegram answered: {description}"))
            }
        }
        // Another poller of the same bot; nothing to do with sending.
        RequestError::Api(ApiError::TerminatedByOtherGetUpdates) => SendError::Transient(error.to_string()),
        // Every other known API error is a 400 or 403 about this chat or this message.
        RequestError::Api(api) => SendError::Permanent(api.to_string()),
        RequestError::Network(source) => SendError::Transient(format!("network error: {source}")),
        RequestError::InvalidJson { raw, .. } => {
            let start: String = raw.chars().take(200).collect();
            SendError::Transient(format!("the answer is not the Bot API's JSON: {start:?}"))
        }
        RequestError::Io(source) => SendError::Transient(format!("i/o error: {source}")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use teloxide_core::types::Seconds;

    use super::*;

    #[test]
    fn telegram_errors_are_sorted_by_what_a_retry_can_do() {
        assert_eq!(
            classify(RequestError::RetryAfter(Seconds::from_seconds(3))),
            SendError::RetryAfter(Duration::from_secs(3))
        );
        assert_eq!(
            classify(RequestError::MigrateToChatId(ChatId(-1_000_000_007))),
            SendError::Migrated(-1_000_000_007)
        );
        assert_eq!(
            classify(RequestError::Api(ApiError::ChatNotFound)),
            SendError::Permanent("Bad Request: chat not found".into())
        );
        assert_eq!(
            classify(RequestError::Api(ApiError::BotBlocked)),
            SendError::Permanent("Forbidden: bot was blocked by the user".into())
        );
        assert_eq!(classify(RequestError::Api(ApiError::InvalidToken)), SendError::Unauthorized);
        assert!(matches!(
            classify(RequestError::Api(ApiError::Unknown("Bad Request: something new".into()))),
            SendError::Permanent(_)
        ));
        assert!(matches!(
            classify(RequestError::Api(ApiError::Unknown("Internal Server Error".into()))),
            SendError::Transient(_)
        ));
        let json = serde_json::from_str::<u8>("<html>").unwrap_err();
        assert!(matches!(
            classify(RequestError::InvalidJson {
                source: Arc::new(json),
                raw: "<html>502</html>".into()
            }),
            SendError::Transient(_)
        ));
    }
}
