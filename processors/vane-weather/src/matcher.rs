//! The matcher: observations in, messages out. One small state machine per (subscription,
//! constraint), and per user a cooldown and quiet hours. Synchronous and pure: time is the
//! observations' own time, moved on by [`Matcher::advance`] (wall-clock punctuation) when no
//! observation comes; the runtime feeds it, tests call it directly.
//!
//! Each (subscription, constraint) keeps two booleans: whether the constraint **holds** on the
//! latest observation of the city, and what the user was last **told** (an alert: it holds; a
//! "cleared" message, or nothing yet: it does not). A message is *due* while the two differ, and
//! it reports the current truth, with the latest values. A due message is sent at once unless
//! - the user has no linked chat (it waits for one),
//! - it is the user's quiet hours (it waits for their end), or
//! - it is an alert and the subscription is cooling down: an alert of the same subscription was
//!   sent at an earlier time `t0` and now is before `t0 + cooldown`. Alerts decided at the same
//!   instant go out together; "cleared" messages never wait for a cooldown.
//!
//! Because a message is computed from the truth when it is finally sent, everything that
//! happens while it waits collapses to the latest state: rain that starts and stops inside quiet
//! hours (or inside a cooldown) sends nothing; rain that starts, stops and starts again sends
//! one alert. The dedup key is (subscription, constraint, kind, time of the observation at which
//! the truth took its current value), so re-deriving a message from the same observations gives
//! the same key.
//!
//! Observations older than (or as old as) the latest one applied to a subscription are stale
//! and ignored: a redelivery cannot flip a state back.

use std::collections::{BTreeMap, BTreeSet};

use vane_events::NotificationEvent;

use crate::message::{self, Message, MessageKind};
use crate::{CityId, Observation, Subscription, UserSettings};

/// One (subscription, constraint)'s state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WatchState {
    /// The constraint held on the latest observation that had the value.
    pub holds: bool,
    /// Time of the observation at which `holds` took its current value (0 before any change).
    pub since_ms: i64,
    /// The user was last told that the constraint holds.
    pub told: bool,
}

/// One subscription's state, to save in a changelog and restore after a restart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SubscriptionState {
    /// The latest observation applied; its values go into messages sent later.
    pub latest: Option<Observation>,
    /// When the subscription's latest alert was sent (the cooldown's start).
    pub last_alert_ms: Option<i64>,
    /// By constraint key ([`crate::Constraint::key`]).
    pub watches: Vec<(String, WatchState)>,
}

/// What one observation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    /// Subscriptions of the city that took the observation.
    pub subscriptions: usize,
    /// Subscriptions that had seen a newer (or the same) observation already.
    pub stale: usize,
}

struct Watched {
    subscription: Subscription,
    /// One per constraint, in the subscription's order.
    watches: Vec<WatchState>,
    latest: Option<Observation>,
    last_alert_ms: Option<i64>,
}

impl Watched {
    fn has_due(&self) -> bool {
        self.watches.iter().any(|w| w.holds != w.told)
    }
}

#[derive(Default)]
pub struct Matcher {
    /// The latest time given (observation or punctuation); never goes back.
    clock_ms: Option<i64>,
    subscriptions: BTreeMap<String, Watched>,
    by_city: BTreeMap<CityId, BTreeSet<String>>,
    users: BTreeMap<String, UserSettings>,
    /// Subscriptions with a message due but not sent.
    due: BTreeSet<String>,
}

impl Matcher {
    pub fn new() -> Matcher {
        Matcher::default()
    }

    /// Adds or replaces a user's settings; waiting messages follow them from the next call.
    pub fn upsert_user(&mut self, user: UserSettings) {
        self.users.insert(user.user_id.clone(), user);
    }

    pub fn remove_user(&mut self, user_id: &str) {
        self.users.remove(user_id);
    }

    /// Adds a subscription or replaces an older revision of it (a revision not newer than the
    /// one held is ignored: `false`). An update in the same city keeps the state of the
    /// constraints it keeps; dropped constraints and a change of city end their state without a
    /// message. New constraints are judged from the next observation on.
    pub fn upsert_subscription(&mut self, subscription: Subscription) -> bool {
        let id = subscription.id().to_string();
        if let Some(held) = self.subscriptions.get(&id)
            && held.subscription.revision() >= subscription.revision()
        {
            return false;
        }
        let fresh = vec![WatchState::default(); subscription.constraints().len()];
        let watched = match self.subscriptions.remove(&id) {
            Some(previous) if previous.subscription.city().id() == subscription.city().id() => {
                let mut watches = fresh;
                for (constraint, state) in subscription.constraints().iter().zip(watches.iter_mut()) {
                    let mut old = previous.subscription.constraints().iter().zip(&previous.watches);
                    if let Some((_, kept)) = old.find(|(c, _)| c.key() == constraint.key()) {
                        *state = *kept;
                    }
                }
                Watched {
                    subscription,
                    watches,
                    latest: previous.latest,
                    last_alert_ms: previous.last_alert_ms,
                }
            }
            previous => {
                if let Some(previous) = previous {
                    self.unindex(&id, &previous.subscription.city().id());
                }
                Watched {
                    subscription,
                    watches: fresh,
                    latest: None,
                    last_alert_ms: None,
                }
            }
        };
        self.by_city.entry(watched.subscription.city().id()).or_default().insert(id.clone());
        self.mark(&id, watched.has_due());
        self.subscriptions.insert(id, watched);
        true
    }

    /// Forgets a subscription (deleted): no message.
    pub fn remove_subscription(&mut self, id: &str) -> bool {
        let Some(previous) = self.subscriptions.remove(id) else {
            return false;
        };
        self.unindex(id, &previous.subscription.city().id());
        self.due.remove(id);
        true
    }

    pub fn subscription(&self, id: &str) -> Option<&Subscription> {
        self.subscriptions.get(id).map(|w| &w.subscription)
    }

    /// The cities with at least one subscription: what the poller polls.
    pub fn cities(&self) -> impl Iterator<Item = &CityId> {
        self.by_city.keys()
    }

    /// Applies an observation to its city's subscriptions and sends what is due.
    pub fn observe(&mut self, obs: &Observation, out: &mut Vec<NotificationEvent>) -> Applied {
        let now = self.tick(obs.observed_at_ms);
        let mut applied = Applied::default();
        let Some(ids) = self.by_city.get(&obs.city_id) else {
            return applied;
        };
        for id in ids {
            let Some(watched) = self.subscriptions.get_mut(id) else {
                continue;
            };
            if watched.latest.as_ref().is_some_and(|l| obs.observed_at_ms <= l.observed_at_ms) {
                applied.stale += 1;
                continue;
            }
            applied.subscriptions += 1;
            for (constraint, state) in watched.subscription.constraints().iter().zip(watched.watches.iter_mut()) {
                if let Some(holds) = constraint.evaluate(obs)
                    && holds != state.holds
                {
                    state.holds = holds;
                    state.since_ms = obs.observed_at_ms;
                }
            }
            watched.latest = Some(obs.clone());
            let user = self.users.get(watched.subscription.user_id());
            if flush(watched, user, now, out) {
                self.due.insert(id.clone());
            } else {
                self.due.remove(id);
            }
        }
        applied
    }

    /// Moves time on to `now_ms` (if later) and sends the waiting messages that can go now.
    pub fn advance(&mut self, now_ms: i64, out: &mut Vec<NotificationEvent>) {
        self.advance_cities(now_ms, out, |_| true);
    }

    /// [`Matcher::advance`] for the subscriptions of the cities `owns` accepts only (a replica
    /// releases the messages of its own cities; the others' are another replica's to send).
    pub fn advance_cities(&mut self, now_ms: i64, out: &mut Vec<NotificationEvent>, owns: impl Fn(&CityId) -> bool) {
        let now = self.tick(now_ms);
        let mut done = Vec::new();
        for id in &self.due {
            let Some(watched) = self.subscriptions.get_mut(id) else {
                done.push(id.clone());
                continue;
            };
            if !owns(&watched.subscription.city().id()) {
                continue;
            }
            let user = self.users.get(watched.subscription.user_id());
            if !flush(watched, user, now, out) {
                done.push(id.clone());
            }
        }
        for id in done {
            self.due.remove(&id);
        }
    }

    /// The earliest time at which a waiting message could go out (the end of quiet hours or of
    /// a cooldown), for the runtime's timer; `None` when nothing waits for time (messages of
    /// users without a chat wait for the chat, not the clock).
    pub fn next_wakeup(&self) -> Option<i64> {
        let now = self.clock_ms?;
        let mut earliest: Option<i64> = None;
        for id in &self.due {
            let Some(watched) = self.subscriptions.get(id) else { continue };
            let Some(user) = self.users.get(watched.subscription.user_id()) else {
                continue;
            };
            if user.chat_id.is_none() {
                continue;
            }
            let mut at = user.quiet_until(now).unwrap_or(now);
            let alert_due = watched.watches.iter().any(|w| w.holds && !w.told);
            if alert_due && let Some(last) = watched.last_alert_ms {
                at = at.max(last.saturating_add(user.cooldown_ms));
            }
            earliest = Some(earliest.map_or(at, |e| e.min(at)));
        }
        earliest
    }

    /// How many messages wait (quiet hours, cooldown, no chat).
    pub fn waiting(&self) -> usize {
        let mut count = 0;
        for id in &self.due {
            if let Some(watched) = self.subscriptions.get(id) {
                count += watched.watches.iter().filter(|w| w.holds != w.told).count();
            }
        }
        count
    }

    /// A subscription's state, for a changelog.
    pub fn state(&self, id: &str) -> Option<SubscriptionState> {
        let watched = self.subscriptions.get(id)?;
        let constraints = watched.subscription.constraints().iter();
        Some(SubscriptionState {
            latest: watched.latest.clone(),
            last_alert_ms: watched.last_alert_ms,
            watches: constraints.zip(&watched.watches).map(|(c, w)| (c.key(), *w)).collect(),
        })
    }

    /// Puts back a saved state of a subscription already upserted (watches matched by
    /// constraint key); `false` when the subscription is unknown.
    pub fn restore(&mut self, id: &str, state: SubscriptionState) -> bool {
        let Some(watched) = self.subscriptions.get_mut(id) else {
            return false;
        };
        for (constraint, watch) in watched.subscription.constraints().iter().zip(watched.watches.iter_mut()) {
            if let Some((_, saved)) = state.watches.iter().find(|(key, _)| *key == constraint.key()) {
                *watch = *saved;
            }
        }
        watched.latest = state.latest;
        watched.last_alert_ms = state.last_alert_ms;
        let due = watched.has_due();
        self.mark(id, due);
        true
    }

    fn tick(&mut self, at_ms: i64) -> i64 {
        let now = self.clock_ms.map_or(at_ms, |clock| clock.max(at_ms));
        self.clock_ms = Some(now);
        now
    }

    fn mark(&mut self, id: &str, due: bool) {
        if due {
            self.due.insert(id.to_string());
        } else {
            self.due.remove(id);
        }
    }

    fn unindex(&mut self, id: &str, city: &CityId) {
        if let Some(ids) = self.by_city.get_mut(city) {
            ids.remove(id);
            if ids.is_empty() {
                self.by_city.remove(city);
            }
        }
    }
}

/// Sends what is due for one subscription at `now` if the user can be told; returns whether
/// something is still due.
fn flush(watched: &mut Watched, user: Option<&UserSettings>, now: i64, out: &mut Vec<NotificationEvent>) -> bool {
    let Some((user, chat_id)) = user.and_then(|u| u.chat_id.map(|chat| (u, chat))) else {
        return watched.has_due();
    };
    let Some(latest) = watched.latest.as_ref() else {
        return watched.has_due();
    };
    if user.quiet_until(now).is_some() {
        return watched.has_due();
    }
    let cooling = watched
        .last_alert_ms
        .is_some_and(|last| now > last && now < last.saturating_add(user.cooldown_ms));
    let mut alerted = false;
    for (constraint, state) in watched.subscription.constraints().iter().zip(watched.watches.iter_mut()) {
        if state.holds == state.told || (state.holds && cooling) {
            continue;
        }
        let kind = if state.holds { MessageKind::Alert } else { MessageKind::Cleared };
        let message = Message {
            subscription_id: watched.subscription.id(),
            constraint,
            kind,
            observation: latest,
            since_ms: state.since_ms,
        };
        out.push(message::notification(&message, chat_id, now));
        state.told = state.holds;
        alerted |= state.holds;
    }
    if alerted {
        watched.last_alert_ms = Some(now);
    }
    watched.has_due()
}
