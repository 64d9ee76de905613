//! What the matcher needs to know about a user: where to send (the Telegram chat), when not to
//! (quiet hours in the user's IANA time zone) and how often at most (the cooldown). The users'
//! own events and read model live elsewhere; this is the part the matcher reads. Pure: the time
//! zone database is compiled in (jiff's bundled tzdb), nothing reads `/usr/share/zoneinfo`.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;

use crate::WeatherError;

/// The cooldown a user has until they choose another: one hour.
pub const DEFAULT_COOLDOWN_MS: i64 = 3_600_000;

/// A daily window of local time, `[start, end)`; it wraps past midnight when `start > end`
/// (`22:00-07:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    start: Time,
    end: Time,
}

impl QuietHours {
    /// Hours and minutes of the start and the end; they must differ.
    pub fn new(start: (i8, i8), end: (i8, i8)) -> Result<QuietHours, WeatherError> {
        let bad = || WeatherError::InvalidQuietHours(format!("{:02}:{:02}-{:02}:{:02}", start.0, start.1, end.0, end.1));
        let start = Time::new(start.0, start.1, 0, 0).map_err(|_| bad())?;
        let end = Time::new(end.0, end.1, 0, 0).map_err(|_| bad())?;
        if start == end {
            return Err(bad());
        }
        Ok(QuietHours { start, end })
    }

    /// Whether a local time of day falls inside the window.
    pub fn contains(&self, local: Time) -> bool {
        if self.start < self.end {
            self.start <= local && local < self.end
        } else {
            local >= self.start || local < self.end
        }
    }
}

/// `HH:MM-HH:MM`, e.g. `22:00-07:00`.
impl FromStr for QuietHours {
    type Err = WeatherError;

    fn from_str(text: &str) -> Result<QuietHours, WeatherError> {
        let bad = || WeatherError::InvalidQuietHours(text.to_string());
        let hm = |part: &str| -> Result<(i8, i8), WeatherError> {
            let (h, m) = part.trim().split_once(':').ok_or_else(bad)?;
            let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
            if !digits(h) || !digits(m) {
                return Err(bad());
            }
            Ok((h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?))
        };
        let (start, end) = text.split_once('-').ok_or_else(bad)?;
        QuietHours::new(hm(start)?, hm(end)?).map_err(|_| bad())
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start.hour(),
            self.start.minute(),
            self.end.hour(),
            self.end.minute()
        )
    }
}

/// A user as the matcher sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSettings {
    pub user_id: String,
    /// The linked Telegram chat; without one, messages wait (see the matcher).
    pub chat_id: Option<i64>,
    /// The zone quiet hours are read in.
    pub time_zone: TimeZone,
    pub quiet_hours: Option<QuietHours>,
    /// After an alert of a subscription, its next alert waits this long (see the matcher).
    pub cooldown_ms: i64,
}

impl UserSettings {
    /// UTC, no quiet hours, the default cooldown.
    pub fn new(user_id: &str, chat_id: Option<i64>) -> UserSettings {
        UserSettings {
            user_id: user_id.to_string(),
            chat_id,
            time_zone: TimeZone::UTC,
            quiet_hours: None,
            cooldown_ms: DEFAULT_COOLDOWN_MS,
        }
    }

    /// Sets the time zone by IANA name (`Europe/Rome`).
    pub fn with_time_zone(mut self, name: &str) -> Result<UserSettings, WeatherError> {
        self.time_zone = TimeZone::get(name).map_err(|source| WeatherError::UnknownTimeZone {
            name: name.to_string(),
            source,
        })?;
        Ok(self)
    }

    pub fn with_quiet_hours(mut self, quiet_hours: Option<QuietHours>) -> UserSettings {
        self.quiet_hours = quiet_hours;
        self
    }

    /// Negative cooldowns count as none.
    pub fn with_cooldown_ms(mut self, cooldown_ms: i64) -> UserSettings {
        self.cooldown_ms = cooldown_ms.max(0);
        self
    }

    /// When `at_ms` falls in the user's quiet hours, the instant they end; `None` otherwise.
    /// Local times that a DST change skips resolve forwards (jiff's "compatible" rule).
    pub fn quiet_until(&self, at_ms: i64) -> Option<i64> {
        let quiet = self.quiet_hours?;
        let now = Timestamp::from_millisecond(at_ms).ok()?;
        let local = self.time_zone.to_datetime(now);
        if !quiet.contains(local.time()) {
            return None;
        }
        let mut end_date = local.date();
        if quiet.start > quiet.end && local.time() >= quiet.start {
            end_date = end_date.tomorrow().ok()?;
        }
        let end = self.time_zone.to_timestamp(end_date.to_datetime(quiet.end)).ok()?;
        let end_ms = end.as_millisecond();
        (end_ms > at_ms).then_some(end_ms)
    }
}

#[cfg(test)]
mod tests {
    use vane_core::time::parse_rfc3339;

    use super::*;

    fn ms(text: &str) -> i64 {
        parse_rfc3339(text).unwrap()
    }

    #[test]
    fn quiet_hours_parse_print_and_wrap() {
        let night: QuietHours = "22:00-07:30".parse().unwrap();
        assert_eq!(night.to_string(), "22:00-07:30");
        assert!(night.contains(Time::new(23, 0, 0, 0).unwrap()));
        assert!(night.contains(Time::new(7, 29, 59, 0).unwrap()));
        assert!(!night.contains(Time::new(7, 30, 0, 0).unwrap()));
        assert!(!night.contains(Time::new(12, 0, 0, 0).unwrap()));
        let lunch: QuietHours = "12:00-13:00".parse().unwrap();
        assert!(lunch.contains(Time::new(12, 0, 0, 0).unwrap()));
        assert!(!lunch.contains(Time::new(13, 0, 0, 0).unwrap()));
        for bad in ["", "22-07", "22:00-22:00", "25:00-07:00", "22:00-7:00", "22:60-07:00", "22:00"] {
            assert!(bad.parse::<QuietHours>().is_err(), "{bad}");
        }
    }

    #[test]
    fn quiet_hours_are_read_in_the_users_zone() {
        let user = UserSettings::new("u1", Some(1))
            .with_time_zone("Europe/Rome")
            .unwrap()
            .with_quiet_hours(Some("22:00-07:00".parse().unwrap()));
        // 21:30 UTC in January is 22:30 in Rome: quiet until 07:00 Rome = 06:00 UTC.
        assert_eq!(user.quiet_until(ms("2024-01-15T21:30:00Z")), Some(ms("2024-01-16T06:00:00Z")));
        // 02:00 UTC is 03:00 in Rome, after midnight: the same day's 07:00.
        assert_eq!(user.quiet_until(ms("2024-01-16T02:00:00Z")), Some(ms("2024-01-16T06:00:00Z")));
        // In July Rome is UTC+2: 06:30 UTC is 08:30 there, not quiet.
        assert_eq!(user.quiet_until(ms("2024-07-16T06:30:00Z")), None);
        assert_eq!(user.quiet_until(ms("2024-07-16T04:30:00Z")), Some(ms("2024-07-16T05:00:00Z")));
        // The night the clocks go forward (31 March 2024, 02:00 → 03:00 in Rome).
        assert_eq!(user.quiet_until(ms("2024-03-30T23:00:00Z")), Some(ms("2024-03-31T05:00:00Z")));
        assert_eq!(UserSettings::new("u2", None).quiet_until(ms("2024-01-15T23:00:00Z")), None);
    }

    #[test]
    fn unknown_zones_are_errors() {
        let error = UserSettings::new("u1", None).with_time_zone("Mars/Olympus_Mons").unwrap_err();
        assert!(matches!(error, WeatherError::UnknownTimeZone { .. }));
        assert!(error.to_string().contains("Mars/Olympus_Mons"));
        assert_eq!(UserSettings::new("u1", None).with_cooldown_ms(-5).cooldown_ms, 0);
    }
}
