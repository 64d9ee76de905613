//! The Telegram roles: the notifier (delivers `vane.notifications`) and the bot (answers
//! `/start`, `/subscribe`, `/list`, `/unsubscribe`). Both need `telegram.token`; the bot also
//! needs the store, through the users API.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinSet;
use vane_api::UsersApi;
use vane_http::Health;
use vane_stream::Log;
use vane_stream::metrics::Metrics;
use vane_stream::runner::Clock;

use crate::cli::Role;
use crate::config::Config;
use crate::up::Roles;

const NO_TOKEN: &str = "needs a Telegram bot token: set telegram.token in the config file or VANE__TELEGRAM__TOKEN (from @BotFather)";

/// What the Telegram roles share with the others.
pub struct TelegramContext<'a> {
    pub log: &'a Log,
    pub metrics: &'a Metrics,
    pub health: &'a Health,
    pub clock: &'a Arc<dyn Clock>,
    pub stopping: &'a watch::Receiver<bool>,
}

/// Starts the notifier and the bot when `roles` include them and a token is configured.
pub fn spawn(
    tasks: &mut JoinSet<()>,
    context: &TelegramContext<'_>,
    config: &Config,
    roles: Roles,
    users: Option<&UsersApi>,
) -> anyhow::Result<()> {
    let Some(telegram) = &config.notifier else {
        match roles {
            Roles::One(Role::Notifier) => anyhow::bail!("the notifier {NO_TOKEN}"),
            Roles::One(Role::Bot) => anyhow::bail!("the bot {NO_TOKEN}"),
            Roles::All => tracing::info!("no telegram.token: notifications stay on vane.notifications, undelivered; no bot"),
            Roles::One(_) => {}
        }
        return Ok(());
    };
    if roles.includes(Role::Notifier) {
        let (log, metrics, health, clock, stopping, notifier) = (
            context.log.clone(),
            context.metrics.clone(),
            context.health.clone(),
            Arc::clone(context.clock),
            context.stopping.clone(),
            telegram.clone(),
        );
        tasks.spawn(async move {
            if let Err(error) = vane_notifier::run(log, notifier, clock.as_ref(), &metrics, stopping).await {
                tracing::error!(%error, role = "notifier", "role stopped");
                health.fail("notifier", &error.to_string());
            }
        });
    }
    if let (true, Some(users)) = (roles.includes(Role::Bot), users) {
        let (log, metrics, health, stopping, users, telegram) = (
            context.log.clone(),
            context.metrics.clone(),
            context.health.clone(),
            context.stopping.clone(),
            users.clone(),
            telegram.clone(),
        );
        tasks.spawn(async move {
            if let Err(error) = vane_bot::run(log, users, &telegram, vane_bot::DEFAULT_POLL_TIMEOUT, &metrics, stopping).await {
                tracing::error!(%error, role = "bot", "role stopped");
                health.fail("bot", &error.to_string());
            }
        });
    }
    Ok(())
}
