//! Metric samples: what they are, how raw input becomes one, and which series each belongs to.
//!
//! A series is a metric name plus a set of label pairs (Prometheus' data model). Its id is a
//! stable 64-bit FNV-1a hash of the name and the sorted pairs, after dropping the labels the
//! ingest config names (for example Prometheus' external labels, so that remote write and the
//! puller feed one series). The id is the record key on `vane.metrics.samples`, so one series
//! always lives on one partition.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{CoreError, time};

/// Label pairs, kept sorted by name.
pub type Labels = BTreeMap<String, String>;

/// Stable identity of one series: FNV-1a 64 over the name and the sorted label pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(pub u64);

impl fmt::Display for SeriesId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl SeriesId {
    /// Parses the 16-hex-digit form that [`fmt::Display`] writes.
    pub fn parse(text: &str) -> Option<SeriesId> {
        if text.len() != 16 {
            return None;
        }
        u64::from_str_radix(text, 16).ok().map(SeriesId)
    }
}

/// A metric name with its labels, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesIdentity {
    pub name: String,
    pub labels: Labels,
}

impl SeriesIdentity {
    /// Validates the name and labels. Labels with empty values are dropped (in Prometheus an
    /// empty label is the same as no label) and so are the labels in `dropped`.
    pub fn new(
        name: String,
        labels: impl IntoIterator<Item = (String, String)>,
        dropped: &BTreeSet<String>,
    ) -> Result<SeriesIdentity, CoreError> {
        if !is_metric_name(&name) {
            return Err(CoreError::InvalidMetricName(name));
        }
        let mut kept = Labels::new();
        for (key, value) in labels {
            if value.is_empty() || dropped.contains(&key) {
                continue;
            }
            if !is_label_name(&key) {
                return Err(CoreError::InvalidLabelName(key));
            }
            kept.insert(key, value);
        }
        Ok(SeriesIdentity { name, labels: kept })
    }

    /// The series id: FNV-1a 64 of `name 0xff (key 0xfe value 0xff)*`. The separators are bytes
    /// that never occur in UTF-8, so different label sets cannot produce the same byte string.
    pub fn id(&self) -> SeriesId {
        let mut hash = Fnv1a::new();
        hash.write(self.name.as_bytes());
        hash.write(&[0xff]);
        for (key, value) in &self.labels {
            hash.write(key.as_bytes());
            hash.write(&[0xfe]);
            hash.write(value.as_bytes());
            hash.write(&[0xff]);
        }
        SeriesId(hash.finish())
    }
}

struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Prometheus' metric name rule: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// Prometheus' label name rule `[a-zA-Z_][a-zA-Z0-9_]*`, without the reserved `__` prefix.
pub fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    !name.starts_with("__") && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// One normalised sample: a series, an event time and a finite value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub series: SeriesIdentity,
    pub series_id: SeriesId,
    pub timestamp_ms: i64,
    pub value: f64,
}

impl Sample {
    /// Builds a sample, rejecting non-finite values.
    pub fn new(series: SeriesIdentity, timestamp_ms: i64, value: f64) -> Result<Sample, CoreError> {
        if !value.is_finite() {
            return Err(CoreError::NonFiniteValue(value));
        }
        if !(0..=253_402_300_799_999).contains(&timestamp_ms) {
            return Err(CoreError::TimestampOutOfRange(timestamp_ms));
        }
        let series_id = series.id();
        Ok(Sample {
            series,
            series_id,
            timestamp_ms,
            value,
        })
    }
}

/// The JSON form outside producers write to `vane.metrics.ingest`:
/// `{"name": ..., "labels": {...}, "timestamp": ..., "value": ...}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSample {
    name: Option<String>,
    #[serde(default)]
    labels: HashMap<String, String>,
    timestamp: Option<serde_json::Value>,
    value: Option<serde_json::Value>,
}

/// Parses and validates one JSON sample.
pub fn sample_from_json(bytes: &[u8], dropped: &BTreeSet<String>) -> Result<Sample, CoreError> {
    let raw: JsonSample = serde_json::from_slice(bytes).map_err(|e| CoreError::MalformedJson(e.to_string()))?;
    let name = raw.name.ok_or(CoreError::MissingField("name"))?;
    let timestamp_ms = match raw.timestamp.ok_or(CoreError::MissingField("timestamp"))? {
        serde_json::Value::Number(n) => {
            let n = n.as_f64().ok_or_else(|| CoreError::InvalidTimestamp(n.to_string()))?;
            time::millis_from_number(n)?
        }
        serde_json::Value::String(text) => time::millis_from_text(&text)?,
        other => return Err(CoreError::InvalidTimestamp(other.to_string())),
    };
    let value = match raw.value.ok_or(CoreError::MissingField("value"))? {
        serde_json::Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        // Prometheus' HTTP API writes values as strings; accept that form too.
        serde_json::Value::String(text) => text
            .trim()
            .parse::<f64>()
            .map_err(|_| CoreError::MalformedJson(format!("value {text:?} is not a number")))?,
        other => return Err(CoreError::MalformedJson(format!("value {other} is not a number"))),
    };
    let series = SeriesIdentity::new(name, raw.labels, dropped)?;
    Sample::new(series, timestamp_ms, value)
}

/// Caps the number of distinct series per metric name, protecting against label explosions.
/// In memory and per worker: after a restart it relearns the series it sees.
#[derive(Debug)]
pub struct SeriesLimiter {
    limit: usize,
    seen: HashMap<String, HashSet<SeriesId>>,
}

impl SeriesLimiter {
    pub fn new(limit: usize) -> Self {
        SeriesLimiter {
            limit,
            seen: HashMap::new(),
        }
    }

    /// Admits a sample of a known series, or of a new one while its metric is under the limit.
    pub fn admit(&mut self, sample: &Sample) -> Result<(), CoreError> {
        let series = match self.seen.get_mut(&sample.series.name) {
            Some(series) => series,
            None => self.seen.entry(sample.series.name.clone()).or_default(),
        };
        if series.contains(&sample.series_id) {
            return Ok(());
        }
        if series.len() >= self.limit {
            return Err(CoreError::SeriesLimit {
                metric: sample.series.name.clone(),
                limit: self.limit,
            });
        }
        series.insert(sample.series_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(name: &str, labels: &[(&str, &str)]) -> SeriesIdentity {
        let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        SeriesIdentity::new(name.to_string(), labels, &BTreeSet::new()).unwrap()
    }

    #[test]
    fn series_id_ignores_label_order_and_empty_values() {
        let a = identity("up", &[("job", "node"), ("instance", "a:9100")]);
        let b = identity("up", &[("instance", "a:9100"), ("job", "node"), ("zone", "")]);
        assert_eq!(a.id(), b.id());
        assert_ne!(a.id(), identity("up", &[("job", "node")]).id());
        assert_ne!(identity("up", &[("a", "bc")]).id(), identity("up", &[("ab", "c")]).id());
    }

    #[test]
    fn series_id_is_stable_across_releases() {
        // Changing this value re-keys every stored series: never change it.
        assert_eq!(identity("up", &[("job", "node")]).id().to_string(), "400563a4c71a66ef");
    }

    #[test]
    fn dropped_labels_do_not_split_series() {
        let dropped: BTreeSet<String> = ["replica".to_string()].into();
        let a = SeriesIdentity::new("up".into(), [("replica".into(), "a".into())], &dropped).unwrap();
        assert_eq!(a.id(), identity("up", &[]).id());
    }

    #[test]
    fn names_are_validated() {
        assert!(SeriesIdentity::new("1up".into(), [], &BTreeSet::new()).is_err());
        let bad_label = [("__name__".to_string(), "x".to_string())];
        assert!(SeriesIdentity::new("up".into(), bad_label, &BTreeSet::new()).is_err());
        assert!(is_metric_name("node:cpu:rate5m"));
        assert!(!is_label_name("a-b"));
    }

    #[test]
    fn json_samples_accept_every_timestamp_form() {
        let none = BTreeSet::new();
        for ts in ["1700000000", "1700000000000", "\"2023-11-14T22:13:20Z\"", "\"1700000000\""] {
            let json = format!(r#"{{"name":"up","labels":{{"job":"n"}},"timestamp":{ts},"value":1.5}}"#);
            let sample = sample_from_json(json.as_bytes(), &none).unwrap();
            assert_eq!(sample.timestamp_ms, 1_700_000_000_000);
            assert_eq!(sample.value, 1.5);
        }
    }

    #[test]
    fn json_samples_reject_bad_input_with_reasons() {
        let none = BTreeSet::new();
        let cases = [
            ("not json", "malformed JSON"),
            (r#"{"labels":{},"timestamp":1,"value":1}"#, "missing field \"name\""),
            (r#"{"name":"up","value":1}"#, "missing field \"timestamp\""),
            (r#"{"name":"up","timestamp":"noon","value":1}"#, "invalid timestamp"),
            (r#"{"name":"up","timestamp":1,"value":"x"}"#, "not a number"),
            (r#"{"name":"up","timestamp":1,"value":1,"extra":2}"#, "unknown field"),
            (r#"{"name":"up","timestamp":1,"value":"NaN"}"#, "not a finite number"),
        ];
        for (input, reason) in cases {
            let error = sample_from_json(input.as_bytes(), &none).unwrap_err().to_string();
            assert!(error.contains(reason), "{input}: {error}");
        }
    }

    #[test]
    fn limiter_caps_new_series_but_admits_known_ones() {
        let mut limiter = SeriesLimiter::new(2);
        let sample = |v: &str| Sample::new(identity("m", &[("k", v)]), 0, 1.0).unwrap();
        assert!(limiter.admit(&sample("a")).is_ok());
        assert!(limiter.admit(&sample("b")).is_ok());
        assert!(limiter.admit(&sample("c")).is_err());
        assert!(limiter.admit(&sample("a")).is_ok());
    }
}
