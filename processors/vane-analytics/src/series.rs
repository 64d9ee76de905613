//! The input model: a validated series of `(unix seconds, value)` points, and CSV parsing.
//!
//! The analysis treats a series as the ordered sequence of its values, like statsmodels; the
//! timestamps only serve the aggregate windows. Equal timestamps are kept (NAB repeats a
//! daylight-saving hour); a timestamp smaller than its predecessor is an error. Parsing is pure:
//! it works over a `&str` the caller has already read.

use crate::error::{AnalyticsError, MAX_MAGNITUDE, Result};

/// A validated time series: same lengths, finite values, non-decreasing timestamps.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    timestamps: Vec<i64>,
    values: Vec<f64>,
}

impl Series {
    /// Builds a series, checking lengths, finiteness and timestamp order. An empty series is an
    /// error.
    pub fn new(timestamps: Vec<i64>, values: Vec<f64>) -> Result<Self> {
        if timestamps.len() != values.len() {
            return Err(AnalyticsError::LengthMismatch {
                timestamps: timestamps.len(),
                values: values.len(),
            });
        }
        crate::error::check_finite(&values)?;
        let mut previous: Option<i64> = None;
        for (index, &timestamp) in timestamps.iter().enumerate() {
            if let Some(previous) = previous
                && timestamp < previous
            {
                return Err(AnalyticsError::DecreasingTimestamp {
                    index,
                    timestamp,
                    previous,
                });
            }
            previous = Some(timestamp);
        }
        Ok(Self { timestamps, values })
    }

    /// Builds a series from values alone, with timestamps 0, 1, 2, ... seconds.
    pub fn from_values(values: Vec<f64>) -> Result<Self> {
        let timestamps = (0..values.len() as i64).collect();
        Self::new(timestamps, values)
    }

    /// Timestamps in Unix seconds, non-decreasing.
    pub fn timestamps(&self) -> &[i64] {
        &self.timestamps
    }

    /// Values, all finite.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Number of points (never zero).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Always false: a [`Series`] is never empty.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Parses a `timestamp,value` CSV with a header line. Blank lines are skipped; a byte-order mark
/// and old Mac line endings (CR alone) are read too. The columns are the ones the header names
/// `timestamp` and `value` (any case), so an exported index column or extra columns do no harm;
/// a two-column header with other names is read in its order. Timestamps may be RFC 3339,
/// `YYYY-MM-DD HH:MM:SS` (taken as UTC) or Unix seconds ([`parse_timestamp`] also reads Unix
/// milliseconds).
pub fn parse_csv(text: &str) -> Result<Series> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut timestamps = Vec::new();
    let mut values = Vec::new();
    let mut columns: Option<(usize, usize)> = None;
    // The last data line's number and timestamp field, for an out-of-order message.
    let mut previous: Option<(usize, &str)> = None;
    // A CR inside a line (its CRLF end removed) ends a line too: old Mac files, or a mix.
    for (i, raw) in text.lines().flat_map(|line| line.split('\r')).enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(unquote).collect();
        let Some((ts_at, value_at)) = columns else {
            columns = Some(header_columns(&fields, line, line_no)?);
            continue;
        };
        let (Some(&ts), Some(&val)) = (fields.get(ts_at), fields.get(value_at)) else {
            return Err(AnalyticsError::Csv {
                line: line_no,
                reason: format!(
                    "expected a timestamp in column {} and a value in column {}",
                    ts_at + 1,
                    value_at + 1
                ),
            });
        };
        let timestamp = parse_timestamp(ts).ok_or_else(|| AnalyticsError::Csv {
            line: line_no,
            reason: format!("cannot parse timestamp {ts:?}"),
        })?;
        let value = val.parse::<f64>().map_err(|_| AnalyticsError::Csv {
            line: line_no,
            reason: format!("cannot parse value {val:?}"),
        })?;
        if let (Some(last), Some((before, before_ts))) = (timestamps.last(), previous)
            && *last > timestamp
        {
            return Err(AnalyticsError::Csv {
                line: line_no,
                reason: format!("timestamp {ts:?} is before {before_ts:?} on line {before}; sort the file by time"),
            });
        }
        previous = Some((line_no, ts));
        if !value.is_finite() || value.abs() > MAX_MAGNITUDE {
            return Err(AnalyticsError::Csv {
                line: line_no,
                reason: format!("value {val:?} is not a finite number within ±1e150"),
            });
        }
        timestamps.push(timestamp);
        values.push(value);
    }
    if columns.is_none() {
        return Err(AnalyticsError::Csv {
            line: 1,
            reason: "missing header".to_string(),
        });
    }
    Series::new(timestamps, values)
}

/// The timestamp and value columns of the header line `fields`.
fn header_columns(fields: &[&str], line: &str, line_no: usize) -> Result<(usize, usize)> {
    let error = |reason: String| AnalyticsError::Csv { line: line_no, reason };
    // A first field that reads as a time is data: taken as the header, that point would be
    // lost without a word.
    if fields.first().and_then(|f| parse_timestamp(f)).is_some() {
        return Err(error(format!(
            "expected a header line first, found data ({line:?}): add a line \"timestamp,value\" above it, \
             or if this is the header, give its columns names that are not numbers"
        )));
    }
    let named = |name: &str| fields.iter().position(|f| f.eq_ignore_ascii_case(name));
    match (named("timestamp"), named("value"), fields.len()) {
        (Some(ts), Some(value), _) => Ok((ts, value)),
        // Two columns: the one named is where it says, the other is the other one.
        (Some(ts), None, 2) => Ok((ts, 1 - ts)),
        (None, Some(value), 2) => Ok((1 - value, value)),
        (None, None, 2) => Ok((0, 1)),
        (_, _, 1) => Err(error("expected two fields: timestamp,value".to_string())),
        (ts, _, n) => {
            let missing = if ts.is_none() { "timestamp" } else { "value" };
            Err(error(format!(
                "no column named \"{missing}\" in the header ({line:?}, {n} columns): name the column to read \"{missing}\""
            )))
        }
    }
}

fn unquote(field: &str) -> &str {
    let f = field.trim();
    f.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(f)
}

/// Numbers at or above this magnitude are Unix milliseconds, below it seconds (as vane's ingest
/// reads them): 1e11 seconds is the year 5138, 1e11 milliseconds March 1973.
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// Largest millisecond timestamp read, 9999-12-31T23:59:59.999Z as in vane's ingest: a larger
/// number is in micro- or nanoseconds, and read as milliseconds it would be a date millions of
/// years ahead.
const MAX_MILLIS: i64 = 253_402_300_799_999;

/// Parses one timestamp to Unix seconds (fractions truncated toward negative infinity): RFC 3339,
/// `YYYY-MM-DD HH:MM:SS` (UTC), Unix seconds, or Unix milliseconds (a number of 1e11 or more).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if !t.contains('-') || t.starts_with('-') {
        // Unix seconds or milliseconds, possibly fractional such as 1700000000.5.
        if let Ok(n) = t.parse::<i64>() {
            return match n.unsigned_abs() {
                a if a < MILLIS_THRESHOLD.unsigned_abs() => Some(n),
                a if a <= MAX_MILLIS.unsigned_abs() => Some(n.div_euclid(1000)),
                _ => None,
            };
        }
        let n: f64 = t.parse().ok()?;
        let secs = if n.abs() >= MILLIS_THRESHOLD as f64 { n / 1000.0 } else { n };
        return (n.abs() <= MAX_MILLIS as f64).then(|| secs.floor() as i64);
    }
    parse_datetime(t)
}

fn parse_datetime(t: &str) -> Option<i64> {
    let bytes = t.as_bytes();
    if bytes.len() < 19 {
        return None;
    }
    let digits = |from: usize, to: usize| -> Option<i64> {
        let s = t.get(from..to)?;
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let year = digits(0, 4)?;
    let month = digits(5, 7)?;
    let day = digits(8, 10)?;
    let hour = digits(11, 13)?;
    let minute = digits(14, 16)?;
    let second = digits(17, 19)?;
    let seps = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    for (pos, want) in seps {
        if bytes.get(pos) != Some(&want) {
            return None;
        }
    }
    if !matches!(bytes.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = t.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = frac.get(n..)?;
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let body = rest.get(1..)?;
            let (h, m) = match body.len() {
                5 if body.as_bytes().get(2) == Some(&b':') => (body.get(0..2)?, body.get(3..5)?),
                4 => (body.get(0..2)?, body.get(2..4)?),
                2 => (body, "00"),
                _ => return None,
            };
            let h: i64 = h.parse().ok()?;
            let m: i64 = m.parse().ok()?;
            sign * (h * 3600 + m * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_three_timestamp_forms() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_timestamp("2014-02-14 14:30:00"), Some(1_392_388_200));
        assert_eq!(parse_timestamp("2014-02-14T14:30:00Z"), Some(1_392_388_200));
        assert_eq!(parse_timestamp("2014-02-14T15:30:00+01:00"), Some(1_392_388_200));
        assert_eq!(parse_timestamp("2014-02-14T14:30:00.250Z"), Some(1_392_388_200));
        assert_eq!(parse_timestamp("1392388200"), Some(1_392_388_200));
        assert_eq!(parse_timestamp("1392388200.7"), Some(1_392_388_200));
        assert_eq!(parse_timestamp("1392388200700"), Some(1_392_388_200));
        assert_eq!(parse_timestamp("1392388200700.5"), Some(1_392_388_200));
        assert_eq!(parse_timestamp("99999999999"), Some(99_999_999_999));
        assert_eq!(parse_timestamp("-1392388200500"), Some(-1_392_388_201));
        // Micro- and nanoseconds are no milliseconds: beyond the year 9999 as such.
        assert_eq!(parse_timestamp("253402300799999"), Some(253_402_300_799));
        assert_eq!(parse_timestamp("1700000000000000000"), None);
        assert_eq!(parse_timestamp("1700000000000000.5"), None);
        assert_eq!(parse_timestamp("-9223372036854775808"), None);
        assert_eq!(parse_timestamp("2000-02-30 00:00:00"), None);
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn csv_keeps_equal_timestamps_and_rejects_decreasing() {
        let ok = parse_csv("timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:00:00,2\n");
        assert_eq!(ok.map(|s| s.len()), Ok(2));
        // The file's line, for a reader to fix; a series built in code says its index.
        let bad = parse_csv("timestamp,value\n10,1\n9,2\n").unwrap_err().to_string();
        assert!(bad.starts_with("csv line 3") && bad.contains("sort the file"), "{bad}");
        assert_eq!(
            Series::new(vec![10, 9], vec![1.0, 2.0]),
            Err(AnalyticsError::DecreasingTimestamp {
                index: 1,
                timestamp: 9,
                previous: 10
            })
        );
    }

    #[test]
    fn csv_reports_bad_lines_and_non_finite_values() {
        let err = parse_csv("timestamp,value\n10,abc\n").err();
        assert!(matches!(err, Some(AnalyticsError::Csv { line: 2, .. })));
        let err = parse_csv("timestamp,value\n10,1\n11,NaN\n").err();
        assert!(matches!(err, Some(AnalyticsError::Csv { line: 3, .. })), "{err:?}");
        let err = parse_csv("timestamp,value\n10,1\n\n11,-1e300\n").unwrap_err().to_string();
        assert!(err.starts_with("csv line 4") && err.contains("1e150"), "{err}");
        let bad = parse_csv("timestamp,value\n10,1\n\n9,2\n").unwrap_err().to_string();
        assert!(bad.contains("\"9\" is before \"10\" on line 2"), "{bad}");
        // A file without its header would lose its first point: said, not skipped, even when
        // its first value is empty.
        let err = parse_csv("1700000000,\n1700000060,2\n").unwrap_err().to_string();
        assert!(err.starts_with("csv line 1") && err.contains("header"), "{err}");
        let err = parse_csv("10,1\n11,2\n").unwrap_err().to_string();
        assert!(err.starts_with("csv line 1") && err.contains("header"), "{err}");
        assert_eq!(parse_csv("timestamp,value\n"), Err(AnalyticsError::Empty));
        assert_eq!(
            parse_csv(""),
            Err(AnalyticsError::Csv {
                line: 1,
                reason: "missing header".into()
            })
        );
    }

    #[test]
    fn csv_finds_its_columns_by_name_and_reads_other_line_endings() {
        let read = |text: &str| parse_csv(text).map(|s| (s.timestamps().to_vec(), s.values().to_vec()));
        let expected = Ok((vec![10, 11], vec![1.5, 2.5]));
        // pandas' to_csv writes its index first; other columns may come before or after.
        assert_eq!(read(",timestamp,value\n0,10,1.5\n1,11,2.5\n"), expected);
        assert_eq!(read("Value,host,Timestamp\n1.5,a,10\n2.5,a,11\n"), expected);
        assert_eq!(read("time,v\n10,1.5\n11,2.5\n"), expected);
        // One of two columns named: the other is the other one, whatever its name.
        assert_eq!(read("value,time\n1.5,10\n2.5,11\n"), expected);
        assert_eq!(read("ts,timestamp\n1.5,10\n2.5,11\n"), expected);
        let err = parse_csv("id,time,v\n0,10,1.5\n").unwrap_err().to_string();
        assert!(
            err.starts_with("csv line 1") && err.contains("no column named \"timestamp\""),
            "{err}"
        );
        let err = parse_csv("timestamp,v,host\n10,1.5,a\n").unwrap_err().to_string();
        assert!(err.contains("no column named \"value\"") && err.contains("3 columns"), "{err}");
        let err = parse_csv(",timestamp,value\n0,10\n").unwrap_err().to_string();
        assert!(err.starts_with("csv line 2") && err.contains("column 3"), "{err}");
        // A byte-order mark does not hide a missing header; CR alone ends lines.
        let err = parse_csv("\u{feff}10,1.5\n11,2.5\n").unwrap_err().to_string();
        assert!(err.starts_with("csv line 1") && err.contains("header"), "{err}");
        assert_eq!(read("\u{feff}timestamp,value\r\n10,1.5\r\n11,2.5\r\n"), expected);
        assert_eq!(read("timestamp,value\r10,1.5\r11,2.5\r"), expected);
        assert_eq!(read("timestamp,value\r10,1.5\r11,2.5\n"), expected);
        assert_eq!(
            read("timestamp,value\n10000,1.5\n11000,2.5\n").map(|(t, _)| t),
            Ok(vec![10_000, 11_000])
        );
        assert_eq!(
            read("timestamp,value\n1392388200000,1.5\n").map(|(t, _)| t),
            Ok(vec![1_392_388_200])
        );
    }

    #[test]
    fn error_messages_are_lowercase_without_period() {
        let e = AnalyticsError::TooShort {
            what: "adf with maxlag 12".into(),
            needed: 30,
            given: 5,
        };
        let msg = e.to_string();
        assert_eq!(msg, "series too short for adf with maxlag 12: needs at least 30 values, has 5");
        assert!(!msg.ends_with('.'));
    }
}
