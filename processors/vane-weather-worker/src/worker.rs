//! The weather matcher as a stream processor on `vane.weather.observations` (keyed by city id).
//! It holds a [`vane_weather::Matcher`] fed with two global tables: the subscriptions, read from
//! the compacted `vane.weather.subscriptions` to its end before the worker starts and then
//! followed, and the users' settings (chat, time zone, quiet hours, cooldown) from the compacted
//! `vane.users`, loaded and followed the same way. Changes reach the processor through a channel
//! ([`TableSender`]) it drains before each record and at each punctuation, so the processor
//! itself stays synchronous and I/O free.
//!
//! Notifications go to `vane.notifications` keyed by recipient; the state of every subscription
//! they touched goes to the compacted changelog `vane.weather.state` in the same batch, and is
//! restored before the worker starts (after the subscriptions): a redelivered observation is
//! stale for the restored state, and a told alert is not told again. Punctuation moves the
//! matcher's time to the wall clock (quiet hours and cooldowns end, users get their chat).
//!
//! Replicas: each owns the cities of the observation partitions its group assigns it, releases
//! held messages only for those, and keeps a standby copy of the others' state by following the
//! changelog (records about cities it does not own are applied; its own echoes are not), so a
//! partition that moves finds its new owner with the state its previous owner last wrote.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use vane_events::{
    Codec, EventsError, NotificationEvent, SubscriptionChange, UserChange, UserEvent, WeatherObservationEvent, WeatherStateEvent,
    WeatherSubscriptionEvent,
};
use vane_stream::metrics::Metrics;
use vane_stream::ownership::Ownership;
use vane_stream::runner::{self, Clock, Processor, Rejected, RunnerConfig};
use vane_stream::{Consumer, Log, OutRecord, Record, topics};
use vane_weather::{CityId, Matcher, Observation, QuietHours, Subscription, SubscriptionState, UserSettings};

use crate::{WorkerError, state};
use vane_stream::global::{read_to_end, tail};

/// The runner role name (metrics label) and the default consumer group.
pub const ROLE: &str = "weather-matcher";
pub const GROUP: &str = "vane-weather-matcher";

/// Settings of the matcher worker.
#[derive(Debug, Clone)]
pub struct MatcherConfig {
    /// The consumer group on `vane.weather.observations`.
    pub group: String,
    /// How often wall-clock time moves the matcher on (quiet hours, cooldowns, new chats).
    pub punctuate_every: Duration,
    /// The envelope's `source`.
    pub source: String,
}

impl Default for MatcherConfig {
    fn default() -> Self {
        MatcherConfig {
            group: GROUP.to_string(),
            punctuate_every: Duration::from_secs(5),
            source: "weather_matcher".to_string(),
        }
    }
}

/// A change of one of the matcher's tables.
#[derive(Debug, Clone)]
pub enum TableChange {
    Subscription(Subscription),
    SubscriptionDeleted(String),
    User(UserSettings),
    UserDeleted(String),
    /// Another replica's changelog record (standby state).
    State(Box<WeatherStateEvent>),
}

/// Where table changes are sent to a running matcher.
pub type TableSender = mpsc::UnboundedSender<TableChange>;

pub struct WeatherMatcherProcessor {
    config: MatcherConfig,
    matcher: Matcher,
    /// The processor's own index of subscriptions by city: whose state an observation changes.
    by_city: HashMap<CityId, BTreeSet<String>>,
    cities: HashMap<String, CityId>,
    /// Subscriptions whose state changed since the last changelog write.
    dirty: BTreeSet<String>,
    /// Deleted subscriptions whose changelog entry must be emptied.
    deleted: BTreeSet<String>,
    sender: TableSender,
    changes: mpsc::UnboundedReceiver<TableChange>,
    /// Partitions of `vane.weather.observations`.
    partitions: u32,
    /// The ones this replica owns; `None` before the group assigned any.
    owned: Option<Ownership>,
    observations: Codec<WeatherObservationEvent>,
    notifications: Codec<NotificationEvent>,
    states: Codec<WeatherStateEvent>,
    subscriptions: Codec<WeatherSubscriptionEvent>,
    messages: Vec<NotificationEvent>,
}

impl WeatherMatcherProcessor {
    pub fn new(config: MatcherConfig) -> Result<WeatherMatcherProcessor, EventsError> {
        let (sender, changes) = mpsc::unbounded_channel();
        Ok(WeatherMatcherProcessor {
            config,
            matcher: Matcher::new(),
            by_city: HashMap::new(),
            cities: HashMap::new(),
            dirty: BTreeSet::new(),
            deleted: BTreeSet::new(),
            sender,
            changes,
            partitions: 1,
            owned: None,
            observations: Codec::new()?,
            notifications: Codec::new()?,
            states: Codec::new()?,
            subscriptions: Codec::new()?,
            messages: Vec::new(),
        })
    }

    /// A sender of table changes to this processor (also after it was moved into the runner).
    pub fn changes(&self) -> TableSender {
        self.sender.clone()
    }

    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Applies a change at once (while loading, before the runner starts).
    pub fn apply(&mut self, change: TableChange) {
        match change {
            TableChange::Subscription(subscription) => {
                let id = subscription.id().to_string();
                let city = subscription.city().id();
                if self.matcher.upsert_subscription(subscription) {
                    self.unindex(&id);
                    self.by_city.entry(city.clone()).or_default().insert(id.clone());
                    self.cities.insert(id.clone(), city);
                    self.deleted.remove(&id);
                    self.dirty.insert(id);
                }
            }
            TableChange::SubscriptionDeleted(id) => {
                if self.matcher.remove_subscription(&id) {
                    self.unindex(&id);
                    self.dirty.remove(&id);
                    self.deleted.insert(id);
                }
            }
            TableChange::User(user) => self.matcher.upsert_user(user),
            TableChange::UserDeleted(id) => self.matcher.remove_user(&id),
            TableChange::State(event) => {
                let Some(city) = self.cities.get(&event.subscription_id) else {
                    return;
                };
                let theirs = state::from_event(&event);
                let observed = |state: &SubscriptionState| state.latest.as_ref().map(|o| o.observed_at_ms);
                let ours = self.matcher.state(&event.subscription_id);
                // Another replica's city, or a state about a newer observation than this one
                // applied (a previous owner that was still finishing).
                if !self.is_owner(city) || observed(&theirs) > ours.as_ref().and_then(observed) {
                    self.matcher.restore(&event.subscription_id, theirs);
                }
            }
        }
    }

    /// How many partitions `vane.weather.observations` has (where a city's observations go).
    pub fn set_partitions(&mut self, partitions: u32) {
        self.partitions = partitions.max(1);
    }

    /// Whether the group assigned this replica the city's partition (`false` before any
    /// assignment: then every replica keeps every replica's state).
    fn is_owner(&self, city: &CityId) -> bool {
        self.owned.as_ref().is_some_and(|owned| owned.owns(city.as_str().as_bytes()))
    }

    /// Reads one record of `vane.weather.subscriptions` into a change; a record that does not
    /// decode or validate is logged and skipped (the API validated it; the table must load).
    pub fn subscription_change(&self, record: &Record) -> Option<TableChange> {
        decode_subscription(&self.subscriptions, record)
    }

    /// Restores one changelog record of `vane.weather.state` (after the subscriptions were
    /// loaded); `false` when it is about a subscription that no longer exists.
    pub fn restore(&mut self, record: &Record) -> Result<bool, EventsError> {
        let event = self.states.decode(&record.value)?;
        let restored = self.matcher.restore(&event.subscription_id, state::from_event(&event));
        // Restoring is not a change: nothing to write back.
        self.dirty.remove(&event.subscription_id);
        Ok(restored)
    }

    fn drain_changes(&mut self) {
        while let Ok(change) = self.changes.try_recv() {
            self.apply(change);
        }
    }

    fn unindex(&mut self, id: &str) {
        let Some(city) = self.cities.remove(id) else { return };
        if let Some(ids) = self.by_city.get_mut(&city) {
            ids.remove(id);
            if ids.is_empty() {
                self.by_city.remove(&city);
            }
        }
    }

    /// Sends the messages the matcher produced, marking their subscriptions for the changelog.
    fn emit(&mut self, out: &mut Vec<OutRecord>) {
        for message in self.messages.drain(..) {
            self.dirty.insert(message.subject_id.clone());
            let key = message.recipient.clone();
            out.push(OutRecord::new(
                topics::NOTIFICATIONS,
                key,
                self.notifications.encode(&message),
                message.at_ms,
            ));
        }
    }

    /// Writes the changed subscriptions' state, in the same batch as the messages.
    fn write_states(&mut self, now_ms: i64, out: &mut Vec<OutRecord>) {
        for id in std::mem::take(&mut self.dirty) {
            let Some(state) = self.matcher.state(&id) else { continue };
            let event = state::to_event(&id, Some(&state), now_ms, &self.config.source);
            out.push(OutRecord::new(
                topics::WEATHER_STATE,
                id.as_str(),
                self.states.encode(&event),
                now_ms,
            ));
        }
        for id in std::mem::take(&mut self.deleted) {
            let event = state::to_event(&id, None, now_ms, &self.config.source);
            out.push(OutRecord::new(
                topics::WEATHER_STATE,
                id.as_str(),
                self.states.encode(&event),
                now_ms,
            ));
        }
    }
}

fn decode_subscription(codec: &Codec<WeatherSubscriptionEvent>, record: &Record) -> Option<TableChange> {
    let event = match codec.decode(&record.value) {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(partition = record.partition, offset = record.offset, %error, "undecodable weather subscription skipped");
            return None;
        }
    };
    if event.change == SubscriptionChange::Deleted {
        return Some(TableChange::SubscriptionDeleted(event.subscription.id));
    }
    match Subscription::from_record(&event.subscription) {
        Ok(subscription) => Some(TableChange::Subscription(subscription)),
        Err(error) => {
            tracing::warn!(partition = record.partition, offset = record.offset, subscription = %event.subscription.id, %error, "invalid weather subscription skipped");
            None
        }
    }
}

/// Reads one record of `vane.users` into the settings the matcher needs. A time zone or quiet
/// hours that do not parse (the API checks them) are logged and left at UTC / none, so that the
/// user still gets messages.
pub fn decode_user(codec: &Codec<UserEvent>, record: &Record) -> Option<TableChange> {
    let event = match codec.decode(&record.value) {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(partition = record.partition, offset = record.offset, %error, "undecodable user skipped");
            return None;
        }
    };
    let user = event.user;
    if event.change == UserChange::Deleted {
        return Some(TableChange::UserDeleted(user.id));
    }
    let mut settings = UserSettings::new(&user.id, user.chat_id).with_cooldown_ms(user.cooldown_ms);
    if !user.time_zone.is_empty() {
        match settings.clone().with_time_zone(&user.time_zone) {
            Ok(zoned) => settings = zoned,
            Err(error) => tracing::warn!(user = %user.id, %error, "user's time zone refused; UTC instead"),
        }
    }
    if let Some(text) = user.quiet_hours.as_deref() {
        match text.parse::<QuietHours>() {
            Ok(quiet) => settings = settings.with_quiet_hours(Some(quiet)),
            Err(error) => tracing::warn!(user = %user.id, %error, "user's quiet hours refused; none instead"),
        }
    }
    Some(TableChange::User(settings))
}

impl Processor for WeatherMatcherProcessor {
    fn process(&mut self, record: &Record, _now_ms: i64, out: &mut Vec<OutRecord>) -> Result<(), Rejected> {
        if record.topic != topics::WEATHER_OBSERVATIONS {
            return Err(Rejected(format!("the weather matcher does not read topic {}", record.topic)));
        }
        self.drain_changes();
        let event = self.observations.decode(&record.value)?;
        let observation = Observation::from_event(&event)?;
        let applied = self.matcher.observe(&observation, &mut self.messages);
        if applied.subscriptions > 0
            && let Some(ids) = self.by_city.get(&observation.city_id)
        {
            self.dirty.extend(ids.iter().cloned());
        }
        self.emit(out);
        Ok(())
    }

    fn assigned(&mut self, partitions: &[(String, u32)]) {
        // What other replicas wrote so far is applied under the old ownership first.
        self.drain_changes();
        self.owned = Some(Ownership::from_assignment(
            topics::WEATHER_OBSERVATIONS,
            self.partitions,
            partitions,
        ));
    }

    fn punctuate(&mut self, now_ms: i64, out: &mut Vec<OutRecord>) {
        self.drain_changes();
        // Before any assignment (a lone matcher, tests) every city is this one's to release.
        let owned = &self.owned;
        self.matcher.advance_cities(now_ms, &mut self.messages, |city| {
            owned.as_ref().is_none_or(|owned| owned.owns(city.as_str().as_bytes()))
        });
        self.emit(out);
        self.write_states(now_ms, out);
    }

    fn end_batch(&mut self, now_ms: i64, out: &mut Vec<OutRecord>) {
        self.write_states(now_ms, out);
    }
}

/// Loads the subscriptions and the users to the end of their topics, then the matcher's
/// changelog, and starts tasks that keep following both tables until `shutdown`. The processor
/// is complete as of the call; give it to [`vane_stream::runner::run`] (or use [`run_matcher`]).
pub async fn start_matcher(
    log: &Log,
    config: MatcherConfig,
    shutdown: watch::Receiver<bool>,
) -> Result<(WeatherMatcherProcessor, Vec<JoinHandle<()>>), WorkerError> {
    let mut processor = WeatherMatcherProcessor::new(config)?;
    processor.set_partitions(log.partition_count(topics::WEATHER_OBSERVATIONS)?);
    let subscriptions = read_to_end(log, topics::WEATHER_SUBSCRIPTIONS, |record| {
        if let Some(change) = processor.subscription_change(record) {
            processor.apply(change);
        }
    })
    .await?;
    let users_codec: Codec<UserEvent> = Codec::new()?;
    let users = read_to_end(log, topics::USERS, |record| {
        if let Some(change) = decode_user(&users_codec, record) {
            processor.apply(change);
        }
    })
    .await?;
    let (mut restored, mut orphaned) = (0usize, 0usize);
    let states = read_to_end(log, topics::WEATHER_STATE, |record| match processor.restore(record) {
        Ok(true) => restored += 1,
        Ok(false) => orphaned += 1,
        Err(error) => tracing::warn!(partition = record.partition, offset = record.offset, %error, "undecodable weather state skipped"),
    })
    .await?;
    // Loading is not a change: the changelog already says what the matcher holds.
    processor.dirty.clear();
    processor.deleted.clear();
    tracing::info!(
        cities = processor.matcher.cities().count(),
        restored,
        orphaned,
        "weather subscriptions, users and matcher state loaded"
    );
    let codec: Codec<WeatherSubscriptionEvent> = Codec::new()?;
    let states_codec: Codec<WeatherStateEvent> = Codec::new()?;
    let tasks = vec![
        follow(
            subscriptions,
            move |r| decode_subscription(&codec, r),
            processor.changes(),
            shutdown.clone(),
        ),
        follow(users, move |r| decode_user(&users_codec, r), processor.changes(), shutdown.clone()),
        follow(states, move |r| decode_state(&states_codec, r), processor.changes(), shutdown),
    ];
    Ok((processor, tasks))
}

/// Reads one changelog record for the standby state; an undecodable one is skipped.
fn decode_state(codec: &Codec<WeatherStateEvent>, record: &Record) -> Option<TableChange> {
    match codec.decode(&record.value) {
        Ok(event) => Some(TableChange::State(Box::new(event))),
        Err(error) => {
            tracing::warn!(partition = record.partition, offset = record.offset, %error, "undecodable weather state skipped");
            None
        }
    }
}

/// Tails a table's topic, sending each change to the processor.
fn follow(
    consumer: Consumer,
    decode: impl Fn(&Record) -> Option<TableChange> + Send + 'static,
    sender: TableSender,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tail(
        consumer,
        "weather",
        move |record| decode(record).is_none_or(|change| sender.send(change).is_ok()),
        shutdown,
    )
}

/// The runner settings of the matcher: `vane.weather.observations` in `config.group`.
pub fn runner_config(config: &MatcherConfig) -> RunnerConfig {
    let mut runner_config = RunnerConfig::new(ROLE, &config.group, &[topics::WEATHER_OBSERVATIONS]);
    runner_config.punctuate_every = Some(config.punctuate_every);
    runner_config
}

/// Loads, then runs the matcher until `shutdown`.
pub async fn run_matcher(
    log: Log,
    config: MatcherConfig,
    clock: &dyn Clock,
    metrics: &Metrics,
    shutdown: watch::Receiver<bool>,
) -> Result<(), WorkerError> {
    let runner_config = runner_config(&config);
    let (processor, followers) = start_matcher(&log, config, shutdown.clone()).await?;
    let result = runner::run(log, runner_config, processor, clock, metrics, shutdown).await;
    for follower in followers {
        follower.abort();
    }
    result.map_err(WorkerError::from)
}

#[cfg(test)]
#[path = "worker_tests.rs"]
mod tests;
