//! Time as vane reads it from the outside world.
//!
//! Timestamps arrive as Unix seconds (possibly fractional), Unix milliseconds, or RFC 3339
//! strings; everything inside vane is Unix milliseconds (`i64`). Durations in configuration are
//! written like Prometheus writes them (`500ms`, `15s`, `10m`, `2h`, `7d`, `1h30m`).
//! Pure functions only: nothing here reads the clock.

use std::time::Duration;

use crate::CoreError;

/// Numbers at or above this magnitude are taken as milliseconds, below as seconds:
/// 1e11 seconds is the year 5138, 1e11 milliseconds is March 1973.
const MILLIS_THRESHOLD: f64 = 1e11;
/// 9999-12-31T23:59:59.999Z, the last instant RFC 3339 can write.
const MAX_MILLIS: i64 = 253_402_300_799_999;

/// Interprets a JSON number as Unix seconds or milliseconds (see [`MILLIS_THRESHOLD`]).
pub fn millis_from_number(n: f64) -> Result<i64, CoreError> {
    if !n.is_finite() {
        return Err(CoreError::InvalidTimestamp(n.to_string()));
    }
    let millis = if n.abs() >= MILLIS_THRESHOLD { n } else { n * 1000.0 };
    let millis = millis.round();
    if !(0.0..=MAX_MILLIS as f64).contains(&millis) {
        return Err(CoreError::TimestampOutOfRange(millis as i64));
    }
    Ok(millis as i64)
}

/// Parses a timestamp given as text: a number (seconds or milliseconds) or RFC 3339.
pub fn millis_from_text(text: &str) -> Result<i64, CoreError> {
    let trimmed = text.trim();
    if let Ok(n) = trimmed.parse::<f64>() {
        return millis_from_number(n);
    }
    parse_rfc3339(trimmed)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]` (also with a space or lowercase `t`/`z`).
pub fn parse_rfc3339(text: &str) -> Result<i64, CoreError> {
    let bad = || CoreError::InvalidTimestamp(text.to_string());
    let bytes = text.as_bytes();
    if bytes.len() < 20 {
        return Err(bad());
    }
    let number = |from: usize, to: usize| -> Result<i64, CoreError> {
        let part = text.get(from..to).ok_or_else(bad)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse::<i64>().map_err(|_| bad())
    };
    let separators_ok = bytes.get(4) == Some(&b'-')
        && bytes.get(7) == Some(&b'-')
        && matches!(bytes.get(10), Some(b'T' | b't' | b' '))
        && bytes.get(13) == Some(&b':')
        && bytes.get(16) == Some(&b':');
    if !separators_ok {
        return Err(bad());
    }
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 60 {
        return Err(bad());
    }
    let mut rest = text.get(19..).ok_or_else(bad)?;
    let mut millis_fraction = 0i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let mut scale = 100;
        for b in fraction.bytes().take(digits.min(3)) {
            millis_fraction += i64::from(b - b'0') * scale;
            scale /= 10;
        }
        rest = fraction.get(digits..).ok_or_else(bad)?;
    }
    let offset_seconds = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return Err(bad()),
            };
            let zone = rest.get(1..).ok_or_else(bad)?;
            if zone.len() != 5 || zone.as_bytes().get(2) != Some(&b':') {
                return Err(bad());
            }
            let hours: i64 = zone.get(0..2).and_then(|h| h.parse().ok()).ok_or_else(bad)?;
            let minutes: i64 = zone.get(3..5).and_then(|m| m.parse().ok()).ok_or_else(bad)?;
            if hours > 23 || minutes > 59 {
                return Err(bad());
            }
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_seconds;
    let millis = seconds * 1000 + millis_fraction;
    if !(0..=MAX_MILLIS).contains(&millis) {
        return Err(CoreError::TimestampOutOfRange(millis));
    }
    Ok(millis)
}

/// Formats Unix milliseconds as RFC 3339 in UTC with millisecond precision.
pub fn format_rfc3339(millis: i64) -> String {
    let days = millis.div_euclid(86_400_000);
    let in_day = millis.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute) = (in_day / 3_600_000, in_day / 60_000 % 60);
    let (second, milli) = (in_day / 1000 % 60, in_day % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years, March-based years).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses a duration such as `500ms`, `15s`, `10m`, `2h`, `7d`, `1w` or `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, CoreError> {
    let bad = || CoreError::InvalidDuration(text.to_string());
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total_ms: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let amount: u64 = rest.get(..digits).and_then(|d| d.parse().ok()).ok_or_else(bad)?;
        rest = rest.get(digits..).ok_or_else(bad)?;
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = rest.get(..unit_len).ok_or_else(bad)?;
        rest = rest.get(unit_len..).ok_or_else(bad)?;
        let unit_ms: u64 = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            _ => return Err(bad()),
        };
        let part = amount.checked_mul(unit_ms).ok_or_else(bad)?;
        total_ms = total_ms.checked_add(part).ok_or_else(bad)?;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Writes a duration back the way [`parse_duration`] reads it (`90m` → `1h30m`).
pub fn format_duration(duration: Duration) -> String {
    let mut ms = duration.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400_000u128), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    if ms > 0 {
        out.push_str(&format!("{ms}ms"));
    }
    out
}

/// Serde helper: a `Duration` field written as `"10m"` in TOML and JSON.
pub mod serde_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_duration(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_seconds_or_milliseconds() {
        assert_eq!(millis_from_number(1_700_000_000.0).unwrap(), 1_700_000_000_000);
        assert_eq!(millis_from_number(1_700_000_000.25).unwrap(), 1_700_000_000_250);
        assert_eq!(millis_from_number(1_700_000_000_123.0).unwrap(), 1_700_000_000_123);
        assert!(millis_from_number(f64::NAN).is_err());
        assert!(millis_from_number(-5.0).is_err());
    }

    #[test]
    fn rfc3339_round_trips_and_honours_offsets() {
        let utc = parse_rfc3339("2023-11-14T22:13:20Z").unwrap();
        assert_eq!(utc, 1_700_000_000_000);
        assert_eq!(parse_rfc3339("2023-11-14T23:13:20+01:00").unwrap(), utc);
        assert_eq!(parse_rfc3339("2023-11-14 22:13:20.5z").unwrap(), utc + 500);
        assert_eq!(format_rfc3339(utc + 7), "2023-11-14T22:13:20.007Z");
        assert_eq!(parse_rfc3339(&format_rfc3339(951_782_400_123)).unwrap(), 951_782_400_123);
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z").unwrap(), 951_782_400_000);
    }

    #[test]
    fn rfc3339_rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "2023-13-01T00:00:00Z",
            "2023-02-30T00:00:00Z",
            "2023-01-01T00:00:00",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_timestamps_accept_all_three_forms() {
        assert_eq!(millis_from_text("1700000000").unwrap(), 1_700_000_000_000);
        assert_eq!(millis_from_text("1700000000000").unwrap(), 1_700_000_000_000);
        assert_eq!(millis_from_text("2023-11-14T22:13:20Z").unwrap(), 1_700_000_000_000);
    }

    #[test]
    fn durations_parse_and_format() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("ten minutes").is_err());
        assert!(parse_duration("5y").is_err());
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
    }

    #[test]
    fn civil_calendar_round_trips_over_centuries() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
