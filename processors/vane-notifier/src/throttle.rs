//! Telegram's rate limits as bookkeeping: when may the next message to a chat go? Telegram asks
//! bots to stay under about 30 messages per second overall, one message per second in a chat,
//! and 20 messages per minute in a group (negative chat ids are groups, supergroups and
//! channels); a 429 answer's `retry_after` closes a chat for that long. Sends are spaced evenly
//! (1/30 s apart by default) rather than in bursts, because requests that leave together arrive
//! bunched with the next ones and it is Telegram's count that matters. Time is passed in, so the
//! bookkeeping is pure; the caller records every send it makes.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The limits the notifier keeps (defaults: Telegram's published ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Messages per second over all chats.
    pub per_second: u32,
    /// Least time between two messages to one chat.
    pub chat_interval: Duration,
    /// Messages per minute to one group chat.
    pub group_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_second: 30,
            chat_interval: Duration::from_secs(1),
            group_per_minute: 20,
        }
    }
}

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

/// The latest send times, at most `capacity` of them, for a sliding-window limit.
#[derive(Debug, Clone, Default)]
struct Window {
    sends: VecDeque<Instant>,
}

impl Window {
    /// When one more send keeps `capacity` per `width`.
    fn ready_at(&self, capacity: u32, width: Duration, now: Instant) -> Instant {
        let capacity = capacity.max(1) as usize;
        if self.sends.len() < capacity {
            return now;
        }
        // The send `capacity` places back must have left the window.
        let oldest = self.sends.len() - capacity;
        self.sends.get(oldest).map_or(now, |at| (*at + width).max(now))
    }

    fn record(&mut self, at: Instant, capacity: u32) {
        self.sends.push_back(at);
        while self.sends.len() > capacity.max(1) as usize {
            self.sends.pop_front();
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Chat {
    last: Option<Instant>,
    minute: Window,
    blocked_until: Option<Instant>,
}

/// Who was sent what when, for the limits.
#[derive(Debug, Clone)]
pub struct Throttle {
    limits: RateLimits,
    global: Window,
    chats: HashMap<i64, Chat>,
}

/// Telegram's convention: groups, supergroups and channels have negative ids.
pub fn is_group(chat_id: i64) -> bool {
    chat_id < 0
}

impl Throttle {
    pub fn new(limits: RateLimits) -> Self {
        Throttle {
            limits,
            global: Window::default(),
            chats: HashMap::new(),
        }
    }

    /// The earliest moment (not before `now`) a message to `chat_id` keeps every limit.
    pub fn ready_at(&self, chat_id: i64, now: Instant) -> Instant {
        let mut ready = self.global.ready_at(self.limits.per_second, SECOND, now);
        // Evenly spaced rather than in bursts of a second's worth: requests that leave together
        // can arrive bunched with the next second's, and the limit is Telegram's count.
        if let Some(last) = self.global.sends.back() {
            ready = ready.max(*last + SECOND / self.limits.per_second.max(1));
        }
        if let Some(chat) = self.chats.get(&chat_id) {
            if let Some(last) = chat.last {
                ready = ready.max(last + self.limits.chat_interval);
            }
            if is_group(chat_id) {
                ready = ready.max(chat.minute.ready_at(self.limits.group_per_minute, MINUTE, now));
            }
            if let Some(until) = chat.blocked_until {
                ready = ready.max(until);
            }
        }
        ready
    }

    /// Notes a message sent to `chat_id` at `at` (times passed in never go backwards).
    pub fn record(&mut self, chat_id: i64, at: Instant) {
        self.global.record(at, self.limits.per_second);
        let chat = self.chats.entry(chat_id).or_default();
        chat.last = Some(at);
        if is_group(chat_id) {
            chat.minute.record(at, self.limits.group_per_minute);
        }
    }

    /// Telegram answered 429: nothing goes to `chat_id` before `until`.
    pub fn block(&mut self, chat_id: i64, until: Instant) {
        let chat = self.chats.entry(chat_id).or_default();
        chat.blocked_until = Some(chat.blocked_until.map_or(until, |b| b.max(until)));
    }

    /// Forgets chats that no limit constrains any more at `now`, so that memory follows the
    /// chats of the last minute, not every chat ever served.
    pub fn forget_idle(&mut self, now: Instant) {
        let horizon = self.limits.chat_interval.max(MINUTE);
        self.chats.retain(|_, chat| {
            let recent = chat.last.is_some_and(|last| last + horizon > now);
            let blocked = chat.blocked_until.is_some_and(|until| until > now);
            recent || blocked
        });
    }

    /// Chats with bookkeeping.
    pub fn tracked_chats(&self) -> usize {
        self.chats.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn one_message_per_second_per_chat() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(RateLimits::default());
        assert_eq!(throttle.ready_at(42, t0), t0);
        throttle.record(42, t0);
        assert_eq!(throttle.ready_at(42, t0 + ms(10)), t0 + ms(1000));
        // Another chat is held back only by the global spacing (1/30 s).
        assert_eq!(throttle.ready_at(43, t0 + ms(10)), t0 + SECOND / 30);
        assert_eq!(throttle.ready_at(43, t0 + ms(40)), t0 + ms(40));
        assert_eq!(throttle.ready_at(42, t0 + ms(1500)), t0 + ms(1500));
    }

    #[test]
    fn thirty_messages_per_second_overall_evenly_spaced() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(RateLimits::default());
        let gap = SECOND / 30;
        let mut at = t0;
        for chat in 0..30 {
            let ready = throttle.ready_at(chat, at);
            assert_eq!(ready, t0 + gap * chat as u32, "chat {chat}");
            throttle.record(chat, ready);
            at = ready;
        }
        // The 31st goes a second after the first.
        assert_eq!(throttle.ready_at(100, at), t0 + SECOND);
        // Sends late after a pause may not bunch either: the window still holds 30 per second.
        let mut burst = Throttle::new(RateLimits {
            per_second: 3,
            ..RateLimits::default()
        });
        let third = SECOND / 3;
        for chat in 0..3 {
            burst.record(chat, t0 + third * chat as u32);
        }
        assert_eq!(burst.ready_at(9, t0 + ms(700)), t0 + SECOND);
    }

    #[test]
    fn twenty_messages_per_minute_per_group() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(RateLimits::default());
        let group = -100_123;
        let mut at = t0;
        for _ in 0..20 {
            at = throttle.ready_at(group, at);
            throttle.record(group, at);
        }
        // 20 sends a second apart, the last at 19 s; the 21st waits for the first to be a
        // minute old.
        assert_eq!(at, t0 + s(19));
        assert_eq!(throttle.ready_at(group, at), t0 + s(60));
        // A private chat with the same history is held back by the per-chat interval only.
        let mut private = Throttle::new(RateLimits::default());
        let mut at = t0;
        for _ in 0..20 {
            at = private.ready_at(7, at);
            private.record(7, at);
        }
        assert_eq!(private.ready_at(7, at), t0 + s(20));
    }

    #[test]
    fn retry_after_closes_the_chat_until_then() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(RateLimits::default());
        throttle.record(42, t0);
        throttle.block(42, t0 + s(5));
        assert_eq!(throttle.ready_at(42, t0 + ms(1200)), t0 + s(5));
        // A shorter block does not shorten a longer one.
        throttle.block(42, t0 + s(2));
        assert_eq!(throttle.ready_at(42, t0 + ms(1200)), t0 + s(5));
        assert_eq!(throttle.ready_at(43, t0 + ms(1200)), t0 + ms(1200));
    }

    #[test]
    fn idle_chats_are_forgotten() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(RateLimits::default());
        throttle.record(1, t0);
        throttle.record(-2, t0);
        throttle.block(3, t0 + s(120));
        throttle.forget_idle(t0 + s(30));
        assert_eq!(throttle.tracked_chats(), 3);
        throttle.forget_idle(t0 + s(61));
        assert_eq!(throttle.tracked_chats(), 1);
        assert_eq!(throttle.ready_at(3, t0 + s(61)), t0 + s(120));
    }
}
