//! The ScyllaDB backend's SLA definitions and status rows (the history is in `sla_history`, the
//! prepared statements of every SLA table in `sla_statements`).
//!
//! Definitions are written `USING TIMESTAMP revision`, so the highest revision wins whatever order
//! the writes arrive in. Status rows follow rules last-write-wins cannot express (`since_ms` kept
//! while the status stays, forecasts only on existing rows), so an upsert reads the stored rows
//! of its batch, applies the updates in order in memory, skips rows that did not change and writes
//! the others whole, `USING TIMESTAMP max(updated_ms × 1000, stored write time + 1)`. The read is
//! not raced: `vane.sla.events` is keyed by SLA id, so one projector owns an SLA's rows at a time.

use std::collections::{BTreeMap, HashMap, HashSet};

use vane_core::Labels;

use super::ScyllaStore;
use super::rows::{scan, scan_with, write_batches};
use crate::StoreError;
use crate::model::{Page, Paged, paged_with};
use crate::sla::{
    SlaDefinitionRow, SlaStatusRow, SlaStatusUpdate, definition_row, finite_or_none, first_created, parse_status, status_cursor,
    status_token,
};

/// Keys per `IN (...)` read.
const IN_KEYS: usize = 100;
/// SLA ids read at once while walking every SLA's status.
const SLAS_PER_READ: i32 = 100;

type DefinitionValues = (String, String, i64, bool, String, i64);
type StatusValues = (
    String,
    String,
    String,
    Labels,
    String,
    Option<f64>,
    i64,
    i64,
    Option<f64>,
    Option<i64>,
    Option<i64>,
    bool,
    i64,
);
/// A stored status row as read; every column may be null in a row ScyllaDB half-deleted.
type StoredStatus = (
    String,
    String,
    Option<String>,
    Option<Labels>,
    Option<String>,
    Option<f64>,
    Option<i64>,
    Option<i64>,
    Option<f64>,
    Option<i64>,
    Option<i64>,
    Option<bool>,
);

/// A stored status row and `WRITETIME(updated_ms)`.
type StatusState = (
    String,
    String,
    Option<String>,
    Option<Labels>,
    Option<String>,
    Option<f64>,
    Option<i64>,
    Option<i64>,
    Option<f64>,
    Option<i64>,
    Option<i64>,
    Option<bool>,
    Option<i64>,
);

pub(super) async fn upsert_definitions(store: &ScyllaStore, rows: &[SlaDefinitionRow]) -> Result<(), StoreError> {
    let mut values: Vec<DefinitionValues> = Vec::with_capacity(rows.len());
    for row in rows {
        row.validate()?;
        let d = &row.definition;
        let json = serde_json::to_string(d).map_err(|error| StoreError::InvalidRow(format!("SLA {}: {error}", d.id)))?;
        values.push((d.id.clone(), d.name.clone(), d.revision, row.deleted, json, d.revision));
    }
    let prepared = store.prepared().await?;
    write_batches(store, "upsert SLA definitions", &prepared.sla.insert_definition, vec![values]).await
}

pub(super) async fn get_definition(store: &ScyllaStore, id_or_name: &str) -> Result<Option<SlaDefinitionRow>, StoreError> {
    let prepared = store.prepared().await?;
    let by_id: Vec<(String, Option<bool>)> = store
        .select("get SLA definition", &prepared.sla.get_definition, (id_or_name,))
        .await?;
    if let Some((json, deleted)) = by_id.into_iter().next() {
        return definition_row(&json, deleted.unwrap_or(false)).map(Some);
    }
    let mut best: Option<SlaDefinitionRow> = None;
    for row in all_definitions(store).await? {
        if row.deleted || row.definition.name != id_or_name {
            continue;
        }
        best = Some(match best {
            Some(seen) if first_created(&seen.definition) <= first_created(&row.definition) => seen,
            _ => row,
        });
    }
    Ok(best)
}

pub(super) async fn list_definitions(store: &ScyllaStore, include_deleted: bool) -> Result<Vec<SlaDefinitionRow>, StoreError> {
    let mut rows: Vec<SlaDefinitionRow> = all_definitions(store)
        .await?
        .into_iter()
        .filter(|row| include_deleted || !row.deleted)
        .collect();
    rows.sort_by(|a, b| (&a.definition.name, &a.definition.id).cmp(&(&b.definition.name, &b.definition.id)));
    Ok(rows)
}

async fn all_definitions(store: &ScyllaStore) -> Result<Vec<SlaDefinitionRow>, StoreError> {
    let prepared = store.prepared().await?;
    let stored: Vec<(Option<String>, String, Option<bool>)> =
        scan_with(store, "list SLA definitions", &prepared.sla.all_definitions, ()).await?;
    stored
        .into_iter()
        .map(|(_, json, deleted)| definition_row(&json, deleted.unwrap_or(false)))
        .collect()
}

pub(super) async fn upsert_status(store: &ScyllaStore, updates: &[SlaStatusUpdate]) -> Result<(), StoreError> {
    let mut by_sla: BTreeMap<&str, Vec<&SlaStatusUpdate>> = BTreeMap::new();
    for update in updates {
        update.validate()?;
        by_sla.entry(update.sla_id()).or_default().push(update);
    }
    let deleted = deleted_slas(store, by_sla.keys().copied()).await?;
    let prepared = store.prepared().await?;
    let mut writes: Vec<Vec<StatusValues>> = Vec::new();
    let mut markers: Vec<(String, i64, i64)> = Vec::new();
    for (sla_id, updates) in by_sla {
        if deleted.contains(sla_id) {
            continue;
        }
        let ids: Vec<&str> = updates
            .iter()
            .map(|update| update.series_id())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let stored = stored_status(store, sla_id, &ids).await?;
        let mut current: HashMap<String, SlaStatusRow> = stored.iter().map(|(id, (row, _))| (id.clone(), row.clone())).collect();
        for update in updates {
            apply(&mut current, update);
        }
        let mut values = Vec::new();
        let mut newest: Option<i64> = None;
        for (series_id, row) in current {
            let written_at = match stored.get(&series_id) {
                Some((before, _)) if *before == row => continue, // a replay: nothing changes
                Some((_, written_at)) => *written_at,
                None => i64::MIN,
            };
            let timestamp = row.updated_ms.saturating_mul(1000).max(written_at.saturating_add(1));
            newest = newest.max(Some(row.updated_ms));
            values.push(status_values(row, timestamp));
        }
        if let Some(updated_ms) = newest {
            markers.push((sla_id.to_string(), updated_ms, updated_ms.saturating_mul(1000)));
        }
        writes.push(values);
    }
    write_batches(store, "upsert SLA status", &prepared.sla.insert_status, writes).await?;
    write_batches(store, "upsert SLAs with status", &prepared.sla.insert_status_sla, vec![markers]).await
}

/// Applies one update to the rows in memory, by the rules of [`SlaStatusUpdate`].
fn apply(rows: &mut HashMap<String, SlaStatusRow>, update: &SlaStatusUpdate) {
    match update {
        SlaStatusUpdate::Status {
            sla_id,
            series_id,
            metric,
            labels,
            status,
            value,
            at_ms,
        } => {
            let row = rows.entry(series_id.clone()).or_insert_with(|| SlaStatusRow {
                sla_id: sla_id.clone(),
                series_id: series_id.clone(),
                metric: metric.clone(),
                labels: labels.clone(),
                status: *status,
                value: None,
                since_ms: *at_ms,
                updated_ms: *at_ms,
                probability: None,
                probability_at_ms: None,
                horizon_ms: None,
                likely: false,
            });
            if *at_ms < row.updated_ms {
                return;
            }
            if row.status != *status {
                row.since_ms = *at_ms;
            }
            row.metric.clone_from(metric);
            row.labels.clone_from(labels);
            row.status = *status;
            row.value = finite_or_none(*value);
            row.updated_ms = *at_ms;
        }
        SlaStatusUpdate::Forecast {
            series_id,
            probability,
            horizon_ms,
            likely,
            at_ms,
            ..
        } => {
            let Some(row) = rows.get_mut(series_id) else {
                return;
            };
            if row.probability_at_ms.is_some_and(|stored| *at_ms < stored) {
                return;
            }
            row.probability = Some(*probability);
            row.horizon_ms = Some(*horizon_ms);
            row.likely = *likely;
            row.probability_at_ms = Some(*at_ms);
        }
    }
}

fn status_values(row: SlaStatusRow, timestamp: i64) -> StatusValues {
    (
        row.sla_id,
        row.series_id,
        row.metric,
        row.labels,
        row.status.as_str().to_string(),
        row.value,
        row.since_ms,
        row.updated_ms,
        row.probability,
        row.probability_at_ms,
        row.horizon_ms,
        row.likely,
        timestamp,
    )
}

/// The ids among `sla_ids` whose definition is stored as deleted.
async fn deleted_slas<'a>(store: &ScyllaStore, sla_ids: impl Iterator<Item = &'a str>) -> Result<HashSet<String>, StoreError> {
    let prepared = store.prepared().await?;
    let ids: Vec<&str> = sla_ids.collect();
    let mut deleted = HashSet::new();
    for chunk in ids.chunks(IN_KEYS) {
        let found: Vec<(String, Option<bool>)> = store
            .select("read deleted SLAs", &prepared.sla.deleted_slas, (chunk.to_vec(),))
            .await?;
        deleted.extend(found.into_iter().filter(|(_, d)| d.unwrap_or(false)).map(|(id, _)| id));
    }
    Ok(deleted)
}

/// `series_id → (stored row, write time)` of the stored rows among `series_ids`.
async fn stored_status(store: &ScyllaStore, sla_id: &str, series_ids: &[&str]) -> Result<HashMap<String, (SlaStatusRow, i64)>, StoreError> {
    let prepared = store.prepared().await?;
    let mut stored = HashMap::new();
    for chunk in series_ids.chunks(IN_KEYS) {
        let found: Vec<StatusState> = store
            .select("read SLA status", &prepared.sla.status_state, (sla_id, chunk.to_vec()))
            .await?;
        for (a, b, c, d, e, f, g, h, i, j, k, l, written_at) in found {
            if let Some(row) = status_row((a, b, c, d, e, f, g, h, i, j, k, l))? {
                stored.insert(row.series_id.clone(), (row, written_at.unwrap_or(i64::MIN)));
            }
        }
    }
    Ok(stored)
}

/// A stored row, or `None` for the remains of a row without a status.
fn status_row(stored: StoredStatus) -> Result<Option<SlaStatusRow>, StoreError> {
    let (sla_id, series_id, metric, labels, status, value, since, updated, probability, probability_at_ms, horizon_ms, likely) = stored;
    let (Some(metric), Some(status), Some(since_ms), Some(updated_ms)) = (metric, status, since, updated) else {
        return Ok(None);
    };
    Ok(Some(SlaStatusRow {
        sla_id,
        series_id,
        metric,
        labels: labels.unwrap_or_default(),
        status: parse_status(&status)?,
        value,
        since_ms,
        updated_ms,
        probability,
        probability_at_ms,
        horizon_ms,
        likely: likely.unwrap_or(false),
    }))
}

pub(super) async fn delete_status(store: &ScyllaStore, sla_id: &str) -> Result<(), StoreError> {
    let prepared = store.prepared().await?;
    store
        .session
        .execute_unpaged(&prepared.sla.delete_status, (sla_id,))
        .await
        .map_err(|source| StoreError::execute("delete SLA status", source))?;
    store
        .session
        .execute_unpaged(&prepared.sla.delete_status_sla, (sla_id,))
        .await
        .map_err(|source| StoreError::execute("delete SLA with status", source))?;
    Ok(())
}

pub(super) async fn list_status(store: &ScyllaStore, sla_id: Option<&str>, page: &Page) -> Result<Paged<SlaStatusRow>, StoreError> {
    let limit = page.checked_limit()?;
    let cursor = status_cursor(sla_id, page)?;
    let fetch = usize::try_from(limit).unwrap_or(usize::MAX).saturating_add(1);
    let prepared = store.prepared().await?;
    let mut rows = Vec::new();
    if !cursor.group.is_empty() {
        rows = status_slice(store, &cursor.group, &cursor.series_id, fetch).await?;
    }
    if sla_id.is_none() {
        // Walk the SLAs with status rows in order: the rest of the cursor's, then whole ones.
        let mut sla = cursor.group.clone();
        'slas: while rows.len() < fetch {
            let ids: Vec<(String,)> = store
                .select("list SLAs with status", &prepared.sla.next_status_slas, (&sla, SLAS_PER_READ))
                .await?;
            if ids.is_empty() {
                break;
            }
            for (id,) in ids {
                let more = status_slice(store, &id, "", fetch - rows.len()).await?;
                rows.extend(more);
                sla = id;
                if rows.len() >= fetch {
                    break 'slas;
                }
            }
        }
    }
    Ok(paged_with(rows, limit, status_token))
}

async fn status_slice(store: &ScyllaStore, sla_id: &str, after: &str, max: usize) -> Result<Vec<SlaStatusRow>, StoreError> {
    let prepared = store.prepared().await?;
    let limit = i32::try_from(max).unwrap_or(i32::MAX);
    let stored: Vec<StoredStatus> = store
        .select("list SLA status", &prepared.sla.list_status, (sla_id, after, limit))
        .await?;
    let mut rows = Vec::with_capacity(stored.len());
    for row in stored {
        rows.extend(status_row(row)?);
    }
    Ok(rows)
}

/// Deletes status rows last updated before the cutoff, and the SLAs-with-status entries whose
/// latest update is; returns how many status rows.
pub(super) async fn delete_older_than(store: &ScyllaStore, cutoff_ms: i64) -> Result<u64, StoreError> {
    let prepared = store.prepared().await?;
    let tombstone = cutoff_ms.saturating_mul(1000).saturating_sub(1);
    let old: Vec<(String, String)> = scan(store, "scan old SLA status", &prepared.sla.old_status, cutoff_ms).await?;
    let removed = old.len() as u64;
    let deletes = old.into_iter().map(|(sla, id)| (tombstone, sla, id)).collect();
    write_batches(store, "delete old SLA status", &prepared.sla.delete_old_status, vec![deletes]).await?;
    // `sla_status_slas` keeps its entry: the SLA may still have rows that stay current (ok or
    // violated for longer than the retention); it goes with the SLA (`delete_sla_status`).
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vane_core::sla::SlaStatus;

    fn status(status: SlaStatus, at_ms: i64) -> SlaStatusUpdate {
        SlaStatusUpdate::Status {
            sla_id: "s".into(),
            series_id: "00000000000000ab".into(),
            metric: "m".into(),
            labels: Labels::new(),
            status,
            value: Some(f64::NAN),
            at_ms,
        }
    }

    fn forecast(probability: f64, at_ms: i64) -> SlaStatusUpdate {
        SlaStatusUpdate::Forecast {
            sla_id: "s".into(),
            series_id: "00000000000000ab".into(),
            probability,
            horizon_ms: 1,
            likely: true,
            at_ms,
        }
    }

    /// The in-memory rules match the embedded store's SQL (the conformance suite checks both
    /// against a server; this runs where no ScyllaDB does).
    #[test]
    fn updates_apply_in_order_by_the_status_rules() {
        let mut rows = HashMap::new();
        apply(&mut rows, &forecast(0.5, 5));
        assert!(rows.is_empty(), "a forecast never creates a row");
        for update in [status(SlaStatus::Ok, 10), status(SlaStatus::Ok, 20), status(SlaStatus::Pending, 15)] {
            apply(&mut rows, &update);
        }
        let row = &rows["00000000000000ab"];
        assert_eq!((row.status, row.since_ms, row.updated_ms, row.value), (SlaStatus::Ok, 10, 20, None));
        for update in [forecast(0.5, 30), forecast(0.9, 25), status(SlaStatus::Violated, 40)] {
            apply(&mut rows, &update);
        }
        let row = &rows["00000000000000ab"];
        assert_eq!((row.status, row.since_ms, row.updated_ms), (SlaStatus::Violated, 40, 40));
        assert_eq!((row.probability, row.probability_at_ms, row.likely), (Some(0.5), Some(30), true));
    }
}
