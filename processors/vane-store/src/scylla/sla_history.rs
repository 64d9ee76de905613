//! The ScyllaDB backend's SLA history: violations and transitions in one partition per SLA and
//! day, with `sla_days` listing the days that have rows, so that a time range (or an open one)
//! is a walk over a few day slices and no partition grows past a day of one SLA.
//!
//! Rows are keyed by `(sla_id, day, at_ms, series_id)` and written `USING TIMESTAMP at_ms × 1000`,
//! so a replay rewrites the same row and retention's tombstones (`cutoff × 1000 − 1`) remove
//! exactly the rows before the cutoff. Counts read the times (or targets) of the range and count
//! them here: a range of 12 hours is at most tens of thousands of small rows.

use std::collections::{BTreeMap, HashSet};

use scylla::deserialize::row::DeserializeRow;
use scylla::statement::prepared::PreparedStatement;
use vane_core::Labels;
use vane_core::sla::SlaStatus;

use super::ScyllaStore;
use super::rows::{scan, scan_with, write_batches};
use crate::StoreError;
use crate::model::{Page, Paged, paged_with};
use crate::sla::{
    SLA_TRANSITION_TOKEN, SLA_VIOLATION_TOKEN, SlaCounts, SlaRangeQuery, SlaTransitionRow, SlaViolationRow, TimeCursor, check_timeslice,
    finite_or_none, parse_status, slice_of,
};

const DAY_MS: i64 = 86_400_000;
/// `sla_days.kind` of each table.
const VIOLATIONS: &str = "violations";
const TRANSITIONS: &str = "transitions";

type ViolationValues = (String, i64, i64, String, String, Labels, f64, i64);
type TransitionValues = (String, i64, i64, String, String, Labels, Option<String>, String, Option<f64>, i64);
type DayValues = (String, &'static str, i64, i64, i64);
type StoredViolation = (String, i64, String, Option<String>, Option<Labels>, Option<f64>);
type StoredTransition = (
    String,
    i64,
    String,
    Option<String>,
    Option<Labels>,
    Option<String>,
    Option<String>,
    Option<f64>,
);

fn day_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(DAY_MS)
}

/// The newest time of each `(sla_id, day)` written, as `sla_days` rows grouped by SLA.
fn day_markers(kind: &'static str, days: BTreeMap<(String, i64), i64>) -> Vec<Vec<DayValues>> {
    let mut by_sla: BTreeMap<String, Vec<DayValues>> = BTreeMap::new();
    for ((sla_id, day), last_ms) in days {
        by_sla
            .entry(sla_id.clone())
            .or_default()
            .push((sla_id, kind, day, last_ms, last_ms.saturating_mul(1000)));
    }
    by_sla.into_values().collect()
}

pub(super) async fn upsert_violations(store: &ScyllaStore, rows: &[SlaViolationRow]) -> Result<(), StoreError> {
    let mut partitions: BTreeMap<(String, i64), Vec<ViolationValues>> = BTreeMap::new();
    let mut days: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for row in rows {
        row.validate()?;
        let key = (row.sla_id.clone(), day_of(row.at_ms));
        let last = days.entry(key.clone()).or_insert(row.at_ms);
        *last = (*last).max(row.at_ms);
        partitions.entry(key).or_default().push((
            row.sla_id.clone(),
            day_of(row.at_ms),
            row.at_ms,
            row.series_id.clone(),
            row.metric.clone(),
            row.labels.clone(),
            row.value,
            row.at_ms.saturating_mul(1000),
        ));
    }
    let prepared = store.prepared().await?;
    let groups = partitions.into_values().collect();
    write_batches(store, "upsert SLA violations", &prepared.sla.insert_violation, groups).await?;
    write_batches(store, "upsert SLA days", &prepared.sla.insert_day, day_markers(VIOLATIONS, days)).await
}

pub(super) async fn upsert_transitions(store: &ScyllaStore, rows: &[SlaTransitionRow]) -> Result<(), StoreError> {
    let mut partitions: BTreeMap<(String, i64), Vec<TransitionValues>> = BTreeMap::new();
    let mut days: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for row in rows {
        row.validate()?;
        let key = (row.sla_id.clone(), day_of(row.at_ms));
        let last = days.entry(key.clone()).or_insert(row.at_ms);
        *last = (*last).max(row.at_ms);
        partitions.entry(key).or_default().push((
            row.sla_id.clone(),
            day_of(row.at_ms),
            row.at_ms,
            row.series_id.clone(),
            row.metric.clone(),
            row.labels.clone(),
            row.from.map(|status| status.as_str().to_string()),
            row.to.as_str().to_string(),
            finite_or_none(row.value),
            row.at_ms.saturating_mul(1000),
        ));
    }
    let prepared = store.prepared().await?;
    let groups = partitions.into_values().collect();
    write_batches(store, "upsert SLA transitions", &prepared.sla.insert_transition, groups).await?;
    write_batches(store, "upsert SLA days", &prepared.sla.insert_day, day_markers(TRANSITIONS, days)).await
}

pub(super) async fn list_violations(store: &ScyllaStore, query: &SlaRangeQuery, page: &Page) -> Result<Paged<SlaViolationRow>, StoreError> {
    let limit = page.checked_limit()?;
    let cursor = TimeCursor::decode(SLA_VIOLATION_TOKEN, query, page)?;
    let prepared = store.prepared().await?;
    let to_row = |(sla_id, at_ms, series_id, metric, labels, value): StoredViolation| {
        Ok(SlaViolationRow {
            sla_id,
            at_ms,
            series_id,
            metric: metric.unwrap_or_default(),
            labels: labels.unwrap_or_default(),
            value: value.unwrap_or(f64::NAN),
        })
    };
    let walk = Walk {
        store,
        what: "list SLA violations",
        statement: &prepared.sla.list_violations,
        kind: VIOLATIONS,
    };
    let rows = walk.rows(query, &cursor, limit, to_row, |row: &SlaViolationRow| row.at_ms).await?;
    Ok(paged_with(rows, limit, |row| {
        TimeCursor::token(SLA_VIOLATION_TOKEN, &query.sla_id, row.at_ms, &row.series_id)
    }))
}

pub(super) async fn list_transitions(
    store: &ScyllaStore,
    query: &SlaRangeQuery,
    page: &Page,
) -> Result<Paged<SlaTransitionRow>, StoreError> {
    let limit = page.checked_limit()?;
    let cursor = TimeCursor::decode(SLA_TRANSITION_TOKEN, query, page)?;
    let prepared = store.prepared().await?;
    let to_row = |(sla_id, at_ms, series_id, metric, labels, from, to, value): StoredTransition| {
        let from = match from {
            Some(text) => Some(parse_status(&text)?),
            None => None,
        };
        let to = parse_status(to.as_deref().unwrap_or_default())?;
        Ok(SlaTransitionRow {
            sla_id,
            at_ms,
            series_id,
            metric: metric.unwrap_or_default(),
            labels: labels.unwrap_or_default(),
            from,
            to,
            value,
        })
    };
    let walk = Walk {
        store,
        what: "list SLA transitions",
        statement: &prepared.sla.list_transitions,
        kind: TRANSITIONS,
    };
    let rows = walk.rows(query, &cursor, limit, to_row, |row: &SlaTransitionRow| row.at_ms).await?;
    Ok(paged_with(rows, limit, |row| {
        TimeCursor::token(SLA_TRANSITION_TOKEN, &query.sla_id, row.at_ms, &row.series_id)
    }))
}

/// A walk over one SLA's days of one table, in time order.
struct Walk<'a> {
    store: &'a ScyllaStore,
    what: &'static str,
    statement: &'a PreparedStatement,
    kind: &'static str,
}

impl Walk<'_> {
    /// The days of the range that have rows.
    async fn days(&self, sla_id: &str, from_ms: i64, to_ms: i64) -> Result<Vec<i64>, StoreError> {
        let prepared = self.store.prepared().await?;
        let values = (sla_id, self.kind, day_of(from_ms), day_of(to_ms));
        let days: Vec<(i64,)> = scan_with(self.store, "list SLA days", &prepared.sla.days, values).await?;
        Ok(days.into_iter().map(|(day,)| day).collect())
    }

    /// Up to `limit + 1` rows after the cursor within the range. The lower bound joins the cursor
    /// (`(at_ms, series_id) > (from, "")` holds for every row at `from`, since series ids are not
    /// empty); the upper bound is checked here, as CQL cannot mix it with the tuple relation.
    async fn rows<R, T>(
        &self,
        query: &SlaRangeQuery,
        cursor: &TimeCursor,
        limit: u32,
        to_row: impl Fn(R) -> Result<T, StoreError>,
        at_of: impl Fn(&T) -> i64,
    ) -> Result<Vec<T>, StoreError>
    where
        R: for<'frame, 'metadata> DeserializeRow<'frame, 'metadata>,
    {
        let max = usize::try_from(limit).unwrap_or(usize::MAX).saturating_add(1);
        let (from, to) = query.bounds();
        let mut rows = Vec::new();
        if from > to {
            return Ok(rows);
        }
        let (start_ms, start_series) = (cursor.at_ms, cursor.series_id.as_str()).max((from, ""));
        for day in self.days(&query.sla_id, start_ms, to).await? {
            let fetch = i32::try_from(max - rows.len()).unwrap_or(i32::MAX);
            let stored: Vec<R> = self
                .store
                .select(self.what, self.statement, (&query.sla_id, day, start_ms, start_series, fetch))
                .await?;
            for stored in stored {
                let row = to_row(stored)?;
                if at_of(&row) > to {
                    return Ok(rows);
                }
                rows.push(row);
            }
            if rows.len() >= max {
                break;
            }
        }
        Ok(rows)
    }
}

pub(super) async fn counts(store: &ScyllaStore, query: &SlaRangeQuery, timeslice_ms: i64) -> Result<SlaCounts, StoreError> {
    check_timeslice(timeslice_ms)?;
    let (from, to) = query.bounds();
    let mut counts = SlaCounts::default();
    if from > to {
        return Ok(counts);
    }
    let prepared = store.prepared().await?;
    let violations = Walk {
        store,
        what: "count SLA violations",
        statement: &prepared.sla.violation_times,
        kind: VIOLATIONS,
    };
    let mut slices = HashSet::new();
    for day in violations.days(&query.sla_id, from, to).await? {
        let values = (&query.sla_id, day, from, to);
        let times: Vec<(i64,)> = scan_with(store, violations.what, violations.statement, values).await?;
        counts.violating_samples += times.len() as u64;
        slices.extend(times.into_iter().map(|(at_ms,)| slice_of(at_ms, timeslice_ms)));
    }
    counts.bad_slices = slices.len() as u64;
    let transitions = Walk {
        store,
        what: "count SLA episodes",
        statement: &prepared.sla.transition_targets,
        kind: TRANSITIONS,
    };
    for day in transitions.days(&query.sla_id, from, to).await? {
        let values = (&query.sla_id, day, from, to);
        let targets: Vec<(Option<String>,)> = scan_with(store, transitions.what, transitions.statement, values).await?;
        let violated = Some(SlaStatus::Violated.as_str());
        counts.episodes += targets.iter().filter(|(to,)| to.as_deref() == violated).count() as u64;
    }
    Ok(counts)
}

/// Deletes violations and transitions before the cutoff, and the day entries of days that end at
/// or before it; returns how many violations and transitions.
pub(super) async fn delete_older_than(store: &ScyllaStore, cutoff_ms: i64) -> Result<(u64, u64), StoreError> {
    let prepared = store.prepared().await?;
    let tombstone = cutoff_ms.saturating_mul(1000).saturating_sub(1);
    let old: Vec<(String, i64, i64, String)> = scan(store, "scan old SLA violations", &prepared.sla.old_violations, cutoff_ms).await?;
    let violations = old.len() as u64;
    let deletes = old.into_iter().map(|(sla, day, at, id)| (tombstone, sla, day, at, id)).collect();
    write_batches(store, "delete SLA violations", &prepared.sla.delete_violation, vec![deletes]).await?;

    let old: Vec<(String, i64, i64, String)> = scan(store, "scan old SLA transitions", &prepared.sla.old_transitions, cutoff_ms).await?;
    let transitions = old.len() as u64;
    let deletes = old.into_iter().map(|(sla, day, at, id)| (tombstone, sla, day, at, id)).collect();
    write_batches(store, "delete SLA transitions", &prepared.sla.delete_transition, vec![deletes]).await?;

    let old: Vec<(String, String, i64)> = scan(store, "scan old SLA days", &prepared.sla.old_days, day_of(cutoff_ms)).await?;
    let deletes = old.into_iter().map(|(sla, kind, day)| (tombstone, sla, kind, day)).collect();
    write_batches(store, "delete SLA days", &prepared.sla.delete_day, vec![deletes]).await?;
    Ok((violations, transitions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_floor_and_markers_keep_the_newest_time() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(DAY_MS - 1), 0);
        assert_eq!(day_of(-1), -1);
        let days = BTreeMap::from([(("a".to_string(), 3), 5), (("a".to_string(), 4), 9), (("b".to_string(), 4), 7)]);
        let groups = day_markers(VIOLATIONS, days);
        assert_eq!(groups.len(), 2);
        assert_eq!(
            groups[0],
            vec![("a".into(), VIOLATIONS, 3, 5, 5000), ("a".into(), VIOLATIONS, 4, 9, 9000)]
        );
    }
}
