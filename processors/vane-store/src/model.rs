//! The read-model rows, the queries over them and their pagination.
//!
//! Rows are plain data shaped for the queries: the series catalog is listed by metric name, the
//! aggregates by metric name and window. Both are ordered by their clustering columns, which is
//! also the order of the opaque page tokens. Pure: no I/O here.

use serde::{Deserialize, Serialize};
use vane_core::{Labels, SeriesId};

use crate::StoreError;

/// The largest page a query may ask for.
pub const MAX_PAGE_LIMIT: u32 = 10_000;

/// One series in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesRow {
    /// 16 lowercase hex digits ([`SeriesId`]'s display form).
    pub series_id: String,
    pub metric: String,
    pub labels: Labels,
    /// Event time of the earliest sample seen; upserts keep the minimum.
    pub first_seen_ms: i64,
    /// Event time of the latest sample seen; upserts keep the maximum.
    pub last_seen_ms: i64,
}

/// Aggregates of one series over one sliding window `(as_of − window, as_of]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateRow {
    pub series_id: String,
    pub metric: String,
    pub labels: Labels,
    /// The window's name as configured, e.g. `"1h"`.
    pub window: String,
    pub max: f64,
    pub min: f64,
    pub mean: f64,
    /// Sample standard deviation; `None` for a single sample.
    pub std: Option<f64>,
    pub count: u64,
    /// Event time of the first and last sample in the window.
    pub first_ms: i64,
    pub last_ms: i64,
    /// The series' latest event time when the row was computed: the row's version.
    pub as_of_ms: i64,
}

/// Above this count the version no longer tells two rows with the same `as_of_ms` apart.
const COUNT_TIE_BREAK: u64 = 999;

impl AggregateRow {
    /// The row's version, in microseconds: `as_of_ms` then, for rows with the same `as_of_ms`
    /// (late samples that arrived within the grace), the count, which only grows while `as_of`
    /// stands still. Both backends keep the row with the highest version; ScyllaDB uses it as the
    /// write timestamp.
    pub fn version(&self) -> i64 {
        let tie = i64::try_from(self.count.min(COUNT_TIE_BREAK)).unwrap_or(0);
        self.as_of_ms.saturating_mul(1000).saturating_add(tie)
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        check_key(&self.series_id, &self.metric)?;
        if self.window.is_empty() {
            return Err(StoreError::InvalidRow(format!("series {}: empty window", self.series_id)));
        }
        if [self.max, self.min, self.mean]
            .iter()
            .chain(self.std.iter())
            .any(|value| value.is_nan())
        {
            // SQLite cannot store NaN (it becomes NULL); the aggregates worker never emits one.
            return Err(StoreError::InvalidRow(format!("series {}: NaN aggregate", self.series_id)));
        }
        if i64::try_from(self.count).is_err() {
            return Err(StoreError::InvalidRow(format!(
                "series {}: count {} too large",
                self.series_id, self.count
            )));
        }
        Ok(())
    }
}

impl SeriesRow {
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        check_key(&self.series_id, &self.metric)?;
        if self.first_seen_ms > self.last_seen_ms {
            return Err(StoreError::InvalidRow(format!(
                "series {}: first_seen after last_seen",
                self.series_id
            )));
        }
        Ok(())
    }
}

pub(crate) fn check_key(series_id: &str, metric: &str) -> Result<(), StoreError> {
    let canonical = SeriesId::parse(series_id).map(|id| id.to_string());
    if canonical.as_deref() != Some(series_id) {
        return Err(StoreError::InvalidRow(format!(
            "series id {series_id:?} is not 16 lowercase hex digits"
        )));
    }
    if metric.is_empty() {
        return Err(StoreError::InvalidRow(format!("series {series_id}: empty metric name")));
    }
    Ok(())
}

/// Which series to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesQuery {
    /// One metric name, or every metric (ordered by name, then series id).
    pub metric: Option<String>,
}

/// Which aggregates to list: one metric, one window or every window (ordered by window, then
/// series id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateQuery {
    pub metric: String,
    pub window: Option<String>,
}

/// A page request: at most `limit` rows after the token a previous page returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub after: Option<String>,
}

impl Page {
    pub fn first(limit: u32) -> Page {
        Page { limit, after: None }
    }

    pub fn after(limit: u32, token: impl Into<String>) -> Page {
        Page {
            limit,
            after: Some(token.into()),
        }
    }

    pub(crate) fn checked_limit(&self) -> Result<u32, StoreError> {
        if self.limit == 0 || self.limit > MAX_PAGE_LIMIT {
            return Err(StoreError::InvalidPage(format!(
                "limit {} is not in 1..={MAX_PAGE_LIMIT}",
                self.limit
            )));
        }
        Ok(self.limit)
    }
}

/// Rows of one page and the token of the next one (`None` on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    pub rows: Vec<T>,
    pub next: Option<String>,
}

/// Where a page starts: strictly after `(group, series_id)`, where the group is the metric name
/// (series listing) or the window (aggregates listing). Encoded as `<kind>.<hex group>.<series id>`
/// so that a token is ASCII and survives URLs and gRPC metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub group: String,
    pub series_id: String,
}

impl Cursor {
    pub(crate) fn start() -> Cursor {
        Cursor {
            group: String::new(),
            series_id: String::new(),
        }
    }

    pub(crate) fn encode(&self, kind: char) -> String {
        let mut token = String::with_capacity(2 + self.group.len() * 2 + 1 + self.series_id.len());
        token.push(kind);
        token.push('.');
        for byte in self.group.bytes() {
            token.push_str(&format!("{byte:02x}"));
        }
        token.push('.');
        token.push_str(&self.series_id);
        token
    }

    /// The cursor a page starts from: the start, or after the token's position.
    pub(crate) fn decode(page: &Page, kind: char) -> Result<Cursor, StoreError> {
        match &page.after {
            Some(token) => Cursor::parse(token, kind),
            None => Ok(Cursor::start()),
        }
    }

    /// Parses a token that [`Cursor::encode`] made with `kind`.
    pub(crate) fn parse(token: &str, kind: char) -> Result<Cursor, StoreError> {
        let bad = || StoreError::InvalidPage(format!("malformed page token {token:?}"));
        let mut parts = token.splitn(3, '.');
        let (Some(k), Some(group_hex), Some(series_id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if k.len() != 1 || !k.starts_with(kind) || group_hex.len() % 2 != 0 || SeriesId::parse(series_id).is_none() {
            return Err(bad());
        }
        let mut bytes = Vec::with_capacity(group_hex.len() / 2);
        let mut chars = group_hex.as_bytes().chunks_exact(2);
        for pair in &mut chars {
            let text = std::str::from_utf8(pair).map_err(|_| bad())?;
            bytes.push(u8::from_str_radix(text, 16).map_err(|_| bad())?);
        }
        let group = String::from_utf8(bytes).map_err(|_| bad())?;
        Ok(Cursor {
            group,
            series_id: series_id.to_string(),
        })
    }
}

/// Token kinds: one per listing, so that a token of one listing is refused by another.
pub(crate) const SERIES_TOKEN: char = 's';
pub(crate) const AGGREGATE_TOKEN: char = 'a';

/// Latest analysis of each series (`<kind>.<hex metric>.<series id>`) and analysis history
/// (the same, then `.<analyzed_at_ms>`): see [`crate::analysis`].
pub(crate) const LATEST_ANALYSIS_TOKEN: char = 'l';
pub(crate) const ANALYSIS_HISTORY_TOKEN: char = 'h';

/// Cuts `rows` (fetched with one extra row) to the limit and computes the next token.
pub(crate) fn paged<T>(rows: Vec<T>, limit: u32, kind: char, cursor_of: impl Fn(&T) -> Cursor) -> Paged<T> {
    paged_with(rows, limit, |row| cursor_of(row).encode(kind))
}

/// [`paged`] for listings whose token is not a plain [`Cursor`].
pub(crate) fn paged_with<T>(mut rows: Vec<T>, limit: u32, token_of: impl Fn(&T) -> String) -> Paged<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return Paged { rows, next: None };
    }
    rows.truncate(limit);
    let next = rows.last().map(token_of);
    Paged { rows, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_refuses_other_kinds() {
        let cursor = Cursor {
            group: "node_cpu.seconds:total".into(),
            series_id: "00ff00ff00ff00ff".into(),
        };
        let token = cursor.encode(SERIES_TOKEN);
        assert!(token.is_ascii());
        assert_eq!(Cursor::decode(&Page::after(10, token.clone()), SERIES_TOKEN).unwrap(), cursor);
        assert!(Cursor::decode(&Page::after(10, token), AGGREGATE_TOKEN).is_err());
        for bad in [
            "",
            "s",
            "s.zz.00ff00ff00ff00ff",
            "s.6.00ff00ff00ff00ff",
            "s.61.xyz",
            "s.c3.00ff00ff00ff00ff",
        ] {
            assert!(Cursor::decode(&Page::after(10, bad), SERIES_TOKEN).is_err(), "{bad}");
        }
    }

    #[test]
    fn version_orders_by_as_of_then_count() {
        let row = |as_of_ms, count| AggregateRow {
            series_id: "0000000000000001".into(),
            metric: "m".into(),
            labels: Labels::new(),
            window: "1h".into(),
            max: 1.0,
            min: 1.0,
            mean: 1.0,
            std: None,
            count,
            first_ms: 0,
            last_ms: 0,
            as_of_ms,
        };
        assert!(row(2, 1).version() > row(1, 900).version());
        assert!(row(1, 2).version() > row(1, 1).version());
        assert_eq!(row(1, 5000).version(), row(1, 999).version());
    }

    #[test]
    fn invalid_rows_are_refused() {
        let good = SeriesRow {
            series_id: "00000000000000ab".into(),
            metric: "up".into(),
            labels: Labels::new(),
            first_seen_ms: 1,
            last_seen_ms: 2,
        };
        assert!(good.validate().is_ok());
        assert!(
            SeriesRow {
                series_id: "00000000000000AB".into(),
                ..good.clone()
            }
            .validate()
            .is_err()
        );
        assert!(
            SeriesRow {
                metric: String::new(),
                ..good.clone()
            }
            .validate()
            .is_err()
        );
        assert!(SeriesRow { first_seen_ms: 3, ..good }.validate().is_err());
    }
}
