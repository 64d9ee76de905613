//! The notifier's loop: read a batch of `vane.notifications`, drop what was already handled,
//! deliver the rest, write every outcome to `vane.notifications.deliveries`, and only then
//! commit the batch's offsets. A crash before the commit re-reads the batch; the deliveries
//! written before it stop those notifications from being sent again. I/O: the log, and
//! Telegram through the [`Sender`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use vane_events::{Codec, NotificationEvent};
use vane_stream::dlq::DeadLetter;
use vane_stream::metrics::{Metrics, RoleMetrics};
use vane_stream::runner::{Clock, send_with_retry};
use vane_stream::{Log, OutRecord, Record, next_offsets, topics};

use crate::NotifierError;
use crate::config::NotifierConfig;
use crate::dedup::Handled;
use crate::dispatch::{Dispatcher, NotifierMetrics};
use crate::follow::DeliveriesFollower;
use crate::job::Job;
use crate::retry::SendError;
use crate::sender::{Sender, TelegramSender};

const POLL: Duration = Duration::from_millis(200);
/// At start, how long the deliveries topic may yield nothing before its unread tail is skipped.
const START_IDLE: Duration = Duration::from_secs(30);
/// Before a batch, the same for what other replicas wrote since.
const BATCH_IDLE: Duration = Duration::from_secs(5);
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(600);

/// Delivers notifications to Telegram until `shutdown` turns true. Returns an error only for
/// what a retry cannot fix: a bad configuration, a token Telegram refuses at start, a log that
/// fails for good.
pub async fn run(
    log: Log,
    config: NotifierConfig,
    clock: &dyn Clock,
    metrics: &Metrics,
    shutdown: watch::Receiver<bool>,
) -> Result<(), NotifierError> {
    check(&config)?;
    let sender = TelegramSender::new(&config)?;
    run_with_sender(log, config, sender, clock, metrics, shutdown).await
}

/// [`run`] with another [`Sender`] (tests).
pub async fn run_with_sender<S: Sender>(
    log: Log,
    config: NotifierConfig,
    sender: S,
    clock: &dyn Clock,
    metrics: &Metrics,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), NotifierError> {
    check(&config)?;
    let codec: Codec<NotificationEvent> = Codec::new()?;
    match sender.bot_name().await {
        Ok(name) => tracing::info!(bot = %name, api_url = config.api_url(), "telegram bot found"),
        Err(SendError::Unauthorized) => return Err(NotifierError::Token(config.api_url().to_string())),
        Err(error) => tracing::warn!(%error, api_url = config.api_url(), "telegram not reachable at start; notifications wait for it"),
    }
    let mut role = RoleMetrics::new(metrics, "notifier");
    let counters = NotifierMetrics::new(metrics);
    let mut dispatcher = Dispatcher::new(Arc::new(sender), config.limits.clone(), config.retry.clone(), counters.clone())?;

    let mut handled = Handled::new();
    let mut follower = DeliveriesFollower::new(&log)?;
    let read = follower.catch_up(&log, &mut handled, START_IDLE).await?;
    tracing::info!(deliveries = read, dedup_keys = handled.len(), "handled notifications loaded");

    let mut consumer = log.consumer(Some(&config.group), &[topics::NOTIFICATIONS])?;
    let mut last_housekeeping = Instant::now();
    tracing::info!(group = %config.group, backend = log.backend(), "notifier started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let records = tokio::select! {
            polled = consumer.poll(config.batch_size, POLL) => polled?,
            _ = shutdown.changed() => break,
        };
        role.progress.observe(&mut consumer).await;
        if !records.is_empty() {
            follower.catch_up(&log, &mut handled, BATCH_IDLE).await?;
            let now_ms = clock.now_ms();
            let mut immediate = Vec::new();
            let mut jobs = Vec::new();
            for record in &records {
                match intake(record, &codec, &mut handled, config.text_limit, now_ms) {
                    Intake::Job(mut job) => {
                        dispatcher.follow_migrations(&mut job);
                        jobs.push(job);
                    }
                    Intake::Duplicate => counters.duplicates.inc(),
                    Intake::Finished(finished) => immediate.push(dispatcher.delivery_record(&finished, now_ms)),
                    Intake::Dead(letter) => {
                        role.dead_letters.inc();
                        immediate.push(letter);
                    }
                }
            }
            send_with_retry(&log, &immediate, &mut shutdown).await?;
            role.records_out.add(immediate.len() as u64);
            role.records_in.add(records.len() as u64);
            if !dispatcher.deliver(jobs, &log, clock, &mut shutdown).await? {
                break;
            }
            consumer.commit(&next_offsets(&records))?;
        }
        if last_housekeeping.elapsed() >= HOUSEKEEPING_EVERY {
            dispatcher.forget_idle();
            let cutoff = clock.now_ms().saturating_sub(config.dedup_window.as_millis() as i64);
            handled.forget_before(cutoff);
            last_housekeeping = Instant::now();
        }
    }
    role.progress.finish().await;
    consumer.close().await;
    tracing::info!("notifier stopped");
    Ok(())
}

fn check(config: &NotifierConfig) -> Result<(), NotifierError> {
    let problems = config.problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(NotifierError::Config(problems.join("; ")))
    }
}

/// What one record of `vane.notifications` turns into.
#[derive(Debug)]
pub enum Intake {
    /// Something to send.
    Job(Job),
    /// Its dedup key was handled before: nothing to do.
    Duplicate,
    /// Nothing can be sent (another channel, a blank text): a failed delivery right away.
    Finished(crate::job::Finished),
    /// Not a notification: a dead letter.
    Dead(OutRecord),
}

/// Decodes a record and claims its dedup key. Pure apart from the claim in `handled`.
pub fn intake(record: &Record, codec: &Codec<NotificationEvent>, handled: &mut Handled, text_limit: usize, now_ms: i64) -> Intake {
    let notification = match codec.decode(&record.value) {
        Ok(notification) => notification,
        Err(error) => {
            tracing::warn!(topic = %record.topic, partition = record.partition, offset = record.offset, %error, "undecodable notification sent to the dead-letter topic");
            let key = record.key.clone().unwrap_or_default();
            let reason = format!("undecodable notification: {error}");
            return Intake::Dead(DeadLetter::for_record(record, &reason, now_ms).to_out_record(&key));
        }
    };
    if !handled.claim(&notification.dedup_key, now_ms) {
        tracing::debug!(dedup_key = %notification.dedup_key, "notification already handled");
        return Intake::Duplicate;
    }
    match Job::new(&notification, text_limit) {
        Ok(job) => Intake::Job(job),
        Err(finished) => Intake::Finished(finished),
    }
}
