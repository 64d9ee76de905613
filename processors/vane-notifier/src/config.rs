//! The notifier's configuration, as the binary hands it over (it reads the file, the
//! environment and the flags). The bot token is a secret: it has no default, is read from a
//! file or the environment only, and never shows in `Debug` or in error messages.

use std::time::Duration;

use crate::retry::RetryPolicy;
use crate::split::TELEGRAM_TEXT_LIMIT;
use crate::throttle::RateLimits;

/// The Bot API's public address.
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// A Telegram bot token (`<bot id>:<secret>`, as BotFather prints it); never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(String);

impl BotToken {
    /// Checks the shape: digits, a colon, then letters, digits, `_` or `-` (it becomes part of
    /// every request's URL path). The error does not repeat the token.
    pub fn new(token: impl Into<String>) -> Result<Self, String> {
        let token = token.into();
        let token = token.trim().to_string();
        let valid = match token.split_once(':') {
            Some((id, secret)) => {
                !id.is_empty()
                    && id.bytes().all(|b| b.is_ascii_digit())
                    && !secret.is_empty()
                    && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            }
            None => false,
        };
        if !valid {
            return Err("the telegram bot token must be the bot id (digits), a colon and the secret (letters, digits, _ or -), as BotFather prints it".to_string());
        }
        Ok(BotToken(token))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// What the notifier needs.
#[derive(Debug, Clone)]
pub struct NotifierConfig {
    /// The Bot API's base URL; `None` is [`DEFAULT_API_URL`]. Tests point it at a local fake.
    pub api_url: Option<String>,
    /// The bot's token.
    pub token: BotToken,
    /// The consumer group on `vane.notifications`.
    pub group: String,
    /// Telegram's rate limits (lower them when another process sends with the same bot).
    pub limits: RateLimits,
    /// How transient failures are retried, and when they are given up.
    pub retry: RetryPolicy,
    /// Notifications read per batch; a batch's offsets are committed when all of it is done.
    pub batch_size: usize,
    /// How long a handled dedup key is remembered in memory (keys on the deliveries topic are
    /// remembered again at the next start, as far as its retention keeps them).
    pub dedup_window: Duration,
    /// Longest text of one message, in UTF-16 code units (Telegram's limit).
    pub text_limit: usize,
}

impl NotifierConfig {
    /// The defaults, with `token`.
    pub fn new(token: BotToken) -> Self {
        NotifierConfig {
            api_url: None,
            token,
            group: "vane-notifier".to_string(),
            limits: RateLimits::default(),
            retry: RetryPolicy::default(),
            batch_size: 500,
            dedup_window: Duration::from_secs(30 * 86_400),
            text_limit: TELEGRAM_TEXT_LIMIT,
        }
    }

    /// The base URL in use, without a trailing slash (teloxide would double it).
    pub fn api_url(&self) -> &str {
        self.api_url.as_deref().unwrap_or(DEFAULT_API_URL).trim_end_matches('/')
    }

    /// Every problem with the values, empty when they are usable.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let url = self.api_url();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(char::is_whitespace) {
            problems.push(format!(
                "telegram api url {url:?}: expected http:// or https:// and a host, e.g. {DEFAULT_API_URL}"
            ));
        }
        if self.group.trim().is_empty() {
            problems.push("notifier consumer group must not be empty".to_string());
        }
        if self.limits.per_second == 0 || self.limits.group_per_minute == 0 {
            problems.push("telegram rate limits must allow at least one message".to_string());
        }
        let retry = &self.retry;
        if retry.initial_backoff.is_zero() || retry.max_backoff < retry.initial_backoff {
            problems.push("notifier retry backoff: the first wait must be above zero and at most the longest".to_string());
        }
        if retry.give_up_after.is_zero() {
            problems.push("notifier give-up time must be above zero".to_string());
        }
        if self.batch_size == 0 {
            problems.push("notifier batch size must be at least 1".to_string());
        }
        if !(2..=TELEGRAM_TEXT_LIMIT).contains(&self.text_limit) {
            problems.push(format!("message text limit must be between 2 and {TELEGRAM_TEXT_LIMIT}"));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> BotToken {
        BotToken::new("123456:ABC-def_GHI").unwrap()
    }

    #[test]
    fn tokens_are_checked_and_never_printed() {
        let token = token();
        assert_eq!(format!("{token:?}"), "***");
        let config = NotifierConfig::new(token);
        assert!(!format!("{config:?}").contains("ABC-def"));
        for bad in ["", "abc", "123456:", ":abc", "12a:abc", "123:abc/def", "123:abc def"] {
            let error = BotToken::new(bad).unwrap_err();
            assert!(bad.is_empty() || !error.contains(bad), "{error}");
        }
        assert_eq!(BotToken::new(" 1:a\n").unwrap().expose(), "1:a");
    }

    #[test]
    fn defaults_are_usable_and_the_url_loses_its_trailing_slash() {
        let mut config = NotifierConfig::new(token());
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        assert_eq!(config.api_url(), "https://api.telegram.org");
        config.api_url = Some("http://127.0.0.1:8081/tg/".into());
        assert_eq!(config.api_url(), "http://127.0.0.1:8081/tg");
    }

    #[test]
    fn every_problem_is_listed() {
        let mut config = NotifierConfig::new(token());
        config.api_url = Some("api.telegram.org".into());
        config.batch_size = 0;
        config.limits.per_second = 0;
        config.retry.initial_backoff = Duration::ZERO;
        config.text_limit = 5000;
        assert_eq!(config.problems().len(), 5, "{:?}", config.problems());
    }
}
