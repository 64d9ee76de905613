//! Delivering one batch of jobs: each chat's jobs go in order, one request in flight per chat,
//! different chats in parallel, every request within the rate limits; each outcome is written
//! to the deliveries topic (and acknowledged) as soon as it is known, so that a crash repeats as
//! little as possible. I/O: the sender and the log.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;
use tokio::task::{Id, JoinSet};
use vane_events::{Codec, DeliveryOutcome, NotificationDeliveryEvent};
use vane_stream::metrics::{Counter, Metrics};
use vane_stream::runner::{Clock, send_with_retry};
use vane_stream::{Log, OutRecord, topics};

use crate::NotifierError;
use crate::job::{Finished, Job};
use crate::retry::{RetryPolicy, SendError};
use crate::sender::Sender;
use crate::throttle::{RateLimits, Throttle};

/// The `source` of the notifier's events.
pub const SOURCE: &str = "notifier";

/// The notifier's counters.
#[derive(Debug, Clone)]
pub struct NotifierMetrics {
    pub messages: Counter,
    pub delivered: Counter,
    pub failed: Counter,
    pub duplicates: Counter,
    pub rate_limited: Counter,
    pub transient: Counter,
    pub records_out: Counter,
}

impl NotifierMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        let deliveries = |outcome| {
            metrics.counter(
                "vane_notifier_deliveries_total",
                "Notifications the notifier finished, by outcome.",
                &[("outcome", outcome)],
            )
        };
        let retries = |reason| {
            metrics.counter(
                "vane_notifier_retries_total",
                "Requests to Telegram that were tried again, by reason.",
                &[("reason", reason)],
            )
        };
        NotifierMetrics {
            messages: metrics.counter("vane_notifier_messages_total", "Messages Telegram accepted.", &[]),
            delivered: deliveries("delivered"),
            failed: deliveries("failed"),
            duplicates: metrics.counter(
                "vane_notifier_duplicates_total",
                "Notifications skipped because their dedup key was already handled.",
                &[],
            ),
            rate_limited: retries("rate_limited"),
            transient: retries("transient"),
            records_out: metrics.counter(
                "vane_records_out_total",
                "Records written to the log by a role.",
                &[("role", "notifier")],
            ),
        }
    }
}

/// What a dispatcher keeps from batch to batch.
pub struct Dispatcher<S> {
    sender: Arc<S>,
    throttle: Throttle,
    policy: RetryPolicy,
    /// Groups Telegram told us moved to a supergroup: old id → new id.
    migrations: HashMap<i64, i64>,
    codec: Codec<NotificationDeliveryEvent>,
    metrics: NotifierMetrics,
}

impl<S: Sender> Dispatcher<S> {
    pub fn new(sender: Arc<S>, limits: RateLimits, policy: RetryPolicy, metrics: NotifierMetrics) -> Result<Self, NotifierError> {
        Ok(Dispatcher {
            sender,
            throttle: Throttle::new(limits),
            policy,
            migrations: HashMap::new(),
            codec: Codec::new()?,
            metrics,
        })
    }

    /// The delivery record for an outcome, counted.
    pub fn delivery_record(&self, finished: &Finished, now_ms: i64) -> OutRecord {
        match finished.outcome {
            DeliveryOutcome::Delivered => self.metrics.delivered.inc(),
            DeliveryOutcome::Failed => {
                self.metrics.failed.inc();
                tracing::warn!(
                    recipient = %finished.recipient,
                    dedup_key = %finished.dedup_key,
                    reason = finished.reason.as_deref().unwrap_or(""),
                    attempt = finished.attempt,
                    "notification not delivered"
                );
            }
        }
        let event = finished.to_event(now_ms, SOURCE);
        OutRecord::new(
            topics::NOTIFICATION_DELIVERIES,
            finished.recipient.as_bytes(),
            self.codec.encode(&event),
            now_ms,
        )
    }

    /// Points a new job at its group's new id when the group is known to have moved.
    pub fn follow_migrations(&self, job: &mut Job) {
        if let Some(to) = self.migrations.get(&job.target()) {
            job.redirect(*to);
        }
    }

    /// Forgets rate-limit bookkeeping of idle chats.
    pub fn forget_idle(&mut self) {
        self.throttle.forget_idle(Instant::now());
    }

    /// Delivers `jobs`; true when every one has its outcome on the log, false when shutdown
    /// interrupted the batch (requests in flight are finished and recorded first; the rest is
    /// left for the next start, which re-reads the uncommitted notifications).
    pub async fn deliver(
        &mut self,
        jobs: Vec<Job>,
        log: &Log,
        clock: &dyn Clock,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<bool, NotifierError> {
        let mut queues: BTreeMap<i64, VecDeque<Job>> = BTreeMap::new();
        for job in jobs {
            queues.entry(job.target()).or_default().push_back(job);
        }
        let mut in_flight: JoinSet<Result<(), SendError>> = JoinSet::new();
        let mut busy: HashMap<Id, i64> = HashMap::new();
        let mut stopping = false;
        loop {
            if !stopping && *shutdown.borrow() {
                stopping = true;
            }
            let mut wake: Option<Instant> = None;
            if !stopping {
                wake = self.launch_ready(&mut queues, &mut in_flight, &mut busy);
            }
            if in_flight.is_empty() && (stopping || queues.is_empty()) {
                return Ok(!stopping);
            }
            let sleep_until = tokio::time::Instant::from_std(wake.unwrap_or_else(Instant::now));
            tokio::select! {
                Some(joined) = in_flight.join_next_with_id(), if !in_flight.is_empty() => {
                    let mut done = Vec::new();
                    self.settle(joined, &mut queues, &mut busy, &mut done);
                    while let Some(joined) = in_flight.try_join_next_with_id() {
                        self.settle(joined, &mut queues, &mut busy, &mut done);
                    }
                    self.write(&done, log, clock, shutdown).await?;
                }
                _ = tokio::time::sleep_until(sleep_until), if wake.is_some() && !stopping => {}
                _ = shutdown.changed(), if !stopping => stopping = true,
                else => {}
            }
        }
    }

    /// Starts a request for every idle chat whose next part may go now; returns the earliest
    /// moment another may.
    fn launch_ready(
        &mut self,
        queues: &mut BTreeMap<i64, VecDeque<Job>>,
        in_flight: &mut JoinSet<Result<(), SendError>>,
        busy: &mut HashMap<Id, i64>,
    ) -> Option<Instant> {
        let now = Instant::now();
        let mut wake: Option<Instant> = None;
        for (queue, jobs) in queues.iter_mut() {
            if busy.values().any(|q| q == queue) {
                continue;
            }
            let Some(job) = jobs.front_mut() else { continue };
            let target = job.target();
            let ready = self.throttle.ready_at(target, now).max(job.not_before().unwrap_or(now));
            if ready > now {
                wake = Some(wake.map_or(ready, |w| w.min(ready)));
                continue;
            }
            let Some(text) = job.next_part().map(str::to_string) else {
                // Unreachable: a job leaves its queue when its last part went.
                tracing::error!(dedup_key = job.dedup_key(), "job without a part to send dropped");
                jobs.pop_front();
                continue;
            };
            self.throttle.record(target, now);
            job.start_try(now);
            let sender = Arc::clone(&self.sender);
            let handle = in_flight.spawn(async move { sender.send_message(target, &text).await });
            busy.insert(handle.id(), *queue);
        }
        queues.retain(|_, jobs| !jobs.is_empty());
        wake
    }

    /// Applies one finished request to its job; a job that reached its outcome leaves its queue.
    fn settle(
        &mut self,
        joined: Result<(Id, Result<(), SendError>), tokio::task::JoinError>,
        queues: &mut BTreeMap<i64, VecDeque<Job>>,
        busy: &mut HashMap<Id, i64>,
        done: &mut Vec<Finished>,
    ) {
        let (id, result) = match joined {
            Ok((id, result)) => (id, result),
            Err(error) => (error.id(), Err(SendError::Transient(format!("send task failed: {error}")))),
        };
        let Some(queue) = busy.remove(&id) else { return };
        let Some(jobs) = queues.get_mut(&queue) else { return };
        let Some(job) = jobs.front_mut() else { return };
        let now = Instant::now();
        let finished = match result {
            Ok(()) => {
                self.metrics.messages.inc();
                job.part_sent()
            }
            Err(error) => {
                match &error {
                    SendError::RetryAfter(wait) => {
                        self.metrics.rate_limited.inc();
                        self.throttle.block(job.target(), now + *wait);
                        tracing::info!(
                            chat_id = job.target(),
                            retry_after_s = wait.as_secs(),
                            "telegram asked to slow down"
                        );
                    }
                    SendError::Migrated(to) => {
                        self.migrations.insert(job.target(), *to);
                    }
                    SendError::Unauthorized | SendError::Transient(_) => {
                        self.metrics.transient.inc();
                        tracing::warn!(chat_id = job.target(), %error, "sending to telegram failed; retrying");
                    }
                    SendError::Permanent(_) => {}
                }
                job.part_failed(&error, now, &self.policy)
            }
        };
        if let Some(finished) = finished {
            done.push(finished);
            jobs.pop_front();
            if jobs.is_empty() {
                queues.remove(&queue);
            }
        }
    }

    /// Writes the outcomes and waits for the log's acknowledgement.
    async fn write(
        &self,
        done: &[Finished],
        log: &Log,
        clock: &dyn Clock,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), NotifierError> {
        if done.is_empty() {
            return Ok(());
        }
        let now_ms = clock.now_ms();
        let records: Vec<OutRecord> = done.iter().map(|f| self.delivery_record(f, now_ms)).collect();
        send_with_retry(log, &records, shutdown).await?;
        self.metrics.records_out.add(records.len() as u64);
        Ok(())
    }
}
