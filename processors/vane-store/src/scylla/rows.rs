//! The ScyllaDB backend's row logic: upserts as per-partition unlogged batches run concurrently,
//! keyset-paginated slices, retention by scan and timestamped delete.
//!
//! Order safety comes from write timestamps, not from reads: an aggregate row is written with
//! `USING TIMESTAMP version` ([`AggregateRow::version`]), so the newest row wins whatever order
//! the writes arrive in. A series row must keep the *minimum* `first_seen_ms`, which
//! last-write-wins cannot express, so series upserts read the stored row first, merge, skip the
//! write when nothing changes, and otherwise write with a timestamp above the stored one. One
//! projector owns a series at a time (series are partitioned by id), so that read is not raced.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use scylla::response::{PagingState, PagingStateResponse};
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use tokio::task::JoinSet;
use vane_core::Labels;

use super::ScyllaStore;
use crate::model::{AGGREGATE_TOKEN, AggregateQuery, AggregateRow, Cursor, Page, Paged, SERIES_TOKEN, SeriesQuery, SeriesRow, paged};
use crate::{Removed, StoreError};

/// Statements per unlogged batch: batches stay within one partition and well under ScyllaDB's
/// batch size warning.
const BATCH_ROWS: usize = 64;
/// Batches in flight at once per upsert call.
const IN_FLIGHT: usize = 16;
/// Keys per `IN (...)` read of stored series.
const IN_KEYS: usize = 100;

type SeriesValues = (String, String, Labels, i64, i64, i64);
type AggregateValues = (String, String, String, Labels, f64, f64, f64, Option<f64>, i64, i64, i64, i64, i64);

pub(super) async fn upsert_aggregates(store: &ScyllaStore, rows: &[AggregateRow]) -> Result<(), StoreError> {
    let mut by_metric: BTreeMap<&str, Vec<AggregateValues>> = BTreeMap::new();
    for row in rows {
        row.validate()?;
        let count = i64::try_from(row.count).map_err(|_| StoreError::InvalidRow("count too large".into()))?;
        by_metric.entry(&row.metric).or_default().push((
            row.metric.clone(),
            row.window.clone(),
            row.series_id.clone(),
            row.labels.clone(),
            row.max,
            row.min,
            row.mean,
            row.std,
            count,
            row.first_ms,
            row.last_ms,
            row.as_of_ms,
            row.version(),
        ));
    }
    let prepared = store.prepared().await?;
    write_batches(
        store,
        "upsert aggregates",
        &prepared.insert_aggregate,
        by_metric.into_values().collect(),
    )
    .await
}

pub(super) async fn upsert_series(store: &ScyllaStore, rows: &[SeriesRow]) -> Result<(), StoreError> {
    // Merge duplicates within the batch first, so that each key is read and written once.
    let mut merged: BTreeMap<(&str, &str), SeriesRow> = BTreeMap::new();
    for row in rows {
        row.validate()?;
        match merged.get_mut(&(row.metric.as_str(), row.series_id.as_str())) {
            Some(seen) => merge(seen, row.first_seen_ms, row.last_seen_ms, &row.labels),
            None => {
                merged.insert((&row.metric, &row.series_id), row.clone());
            }
        }
    }
    let prepared = store.prepared().await?;
    let mut by_metric: BTreeMap<String, Vec<SeriesRow>> = BTreeMap::new();
    for ((metric, _), row) in merged {
        by_metric.entry(metric.to_string()).or_default().push(row);
    }
    let mut writes: Vec<Vec<SeriesValues>> = Vec::new();
    let mut names: Vec<Vec<(String, i64, i64)>> = Vec::new();
    for (metric, mut rows) in by_metric {
        let last = rows.iter().map(|row| row.last_seen_ms).max().unwrap_or(0);
        names.push(vec![(metric.clone(), last, last.saturating_mul(1000))]);
        let stored = stored_series(store, &metric, &rows).await?;
        let mut values = Vec::new();
        for row in &mut rows {
            let mut timestamp = row.last_seen_ms.saturating_mul(1000);
            if let Some(&(first, last, written_at)) = stored.get(&row.series_id) {
                let before = (first, last);
                let labels = row.labels.clone();
                let mut current = SeriesRow {
                    first_seen_ms: first,
                    last_seen_ms: last,
                    ..row.clone()
                };
                merge(&mut current, row.first_seen_ms, row.last_seen_ms, &labels);
                if (current.first_seen_ms, current.last_seen_ms) == before {
                    continue; // a replay or redelivery: the stored row already says as much
                }
                *row = current;
                timestamp = row.last_seen_ms.saturating_mul(1000).max(written_at.saturating_add(1));
            }
            values.push((
                row.metric.clone(),
                row.series_id.clone(),
                row.labels.clone(),
                row.first_seen_ms,
                row.last_seen_ms,
                timestamp,
            ));
        }
        writes.push(values);
    }
    write_batches(store, "upsert series", &prepared.insert_series, writes).await?;
    write_batches(store, "upsert metric names", &prepared.insert_metric_name, names).await
}

/// Folds another sighting of a series into `row`: earliest first, latest last (and its labels).
fn merge(row: &mut SeriesRow, first_seen_ms: i64, last_seen_ms: i64, labels: &Labels) {
    row.first_seen_ms = row.first_seen_ms.min(first_seen_ms);
    if last_seen_ms >= row.last_seen_ms {
        row.last_seen_ms = last_seen_ms;
        row.labels = labels.clone();
    }
}

/// `series_id → (first_seen_ms, last_seen_ms, write time)` of the stored rows among `rows`.
async fn stored_series(store: &ScyllaStore, metric: &str, rows: &[SeriesRow]) -> Result<HashMap<String, (i64, i64, i64)>, StoreError> {
    let prepared = store.prepared().await?;
    let mut stored = HashMap::new();
    for chunk in rows.chunks(IN_KEYS) {
        let ids: Vec<&str> = chunk.iter().map(|row| row.series_id.as_str()).collect();
        let found: Vec<(String, i64, i64, i64)> = store.select("read stored series", &prepared.series_state, (metric, ids)).await?;
        for (series_id, first, last, written_at) in found {
            stored.insert(series_id, (first, last, written_at));
        }
    }
    Ok(stored)
}

/// Runs one unlogged batch per chunk of each group (a group is one partition's statements),
/// at most [`IN_FLIGHT`] at a time; fails with the first error.
pub(super) async fn write_batches<V>(
    store: &ScyllaStore,
    what: &'static str,
    statement: &PreparedStatement,
    groups: Vec<Vec<V>>,
) -> Result<(), StoreError>
where
    V: SerializeRow + Clone + Send + Sync + 'static,
{
    write_batches_of(store, what, statement, groups, BATCH_ROWS).await
}

/// [`write_batches`] with at most `rows_per_batch` statements per batch, for large rows.
pub(super) async fn write_batches_of<V>(
    store: &ScyllaStore,
    what: &'static str,
    statement: &PreparedStatement,
    groups: Vec<Vec<V>>,
    rows_per_batch: usize,
) -> Result<(), StoreError>
where
    V: SerializeRow + Clone + Send + Sync + 'static,
{
    let mut tasks = JoinSet::new();
    for group in groups {
        for chunk in group.chunks(rows_per_batch.max(1)) {
            while tasks.len() >= IN_FLIGHT {
                join_one(&mut tasks, what).await?;
            }
            let mut batch = Batch::new(BatchType::Unlogged);
            for _ in chunk {
                batch.append_statement(statement.clone());
            }
            batch.set_is_idempotent(true);
            let session = Arc::clone(&store.session);
            let values = chunk.to_vec();
            tasks.spawn(async move { session.batch(&batch, values).await.map(|_| ()) });
        }
    }
    while !tasks.is_empty() {
        join_one(&mut tasks, what).await?;
    }
    Ok(())
}

async fn join_one(tasks: &mut JoinSet<Result<(), scylla::errors::ExecutionError>>, what: &'static str) -> Result<(), StoreError> {
    match tasks.join_next().await {
        Some(joined) => joined?.map_err(|source| StoreError::execute(what, source)),
        None => Ok(()),
    }
}

type StoredSeries = (String, String, Option<Labels>, i64, i64);
type StoredAggregate = (
    String,
    String,
    String,
    Option<Labels>,
    f64,
    f64,
    f64,
    Option<f64>,
    i64,
    i64,
    i64,
    i64,
);

fn series_row((metric, series_id, labels, first_seen_ms, last_seen_ms): StoredSeries) -> SeriesRow {
    SeriesRow {
        series_id,
        metric,
        labels: labels.unwrap_or_default(),
        first_seen_ms,
        last_seen_ms,
    }
}

fn aggregate_row(stored: StoredAggregate) -> Result<AggregateRow, StoreError> {
    let (metric, window, series_id, labels, max, min, mean, std, count, first_ms, last_ms, as_of_ms) = stored;
    let count = u64::try_from(count).map_err(|_| StoreError::Corrupt(format!("negative count for {series_id}")))?;
    let labels = labels.unwrap_or_default();
    Ok(AggregateRow {
        series_id,
        metric,
        labels,
        window,
        max,
        min,
        mean,
        std,
        count,
        first_ms,
        last_ms,
        as_of_ms,
    })
}

pub(super) async fn list_series(store: &ScyllaStore, query: &SeriesQuery, page: &Page) -> Result<Paged<SeriesRow>, StoreError> {
    let limit = page.checked_limit()?;
    let cursor = Cursor::decode(page, SERIES_TOKEN)?;
    let fetch = usize::try_from(limit).unwrap_or(usize::MAX).saturating_add(1);
    let prepared = store.prepared().await?;
    let mut rows = Vec::new();
    match &query.metric {
        Some(metric) => {
            if page.after.is_some() && &cursor.group != metric {
                return Err(StoreError::InvalidPage(format!("token is for {:?}, not {metric:?}", cursor.group)));
            }
            rows = series_slice(store, metric, &cursor.series_id, fetch).await?;
        }
        None => {
            // Walk metric names in order: the rest of the cursor's metric, then whole metrics.
            let mut metric = cursor.group.clone();
            if !metric.is_empty() {
                rows = series_slice(store, &metric, &cursor.series_id, fetch).await?;
            }
            'names: while rows.len() < fetch {
                let names: Vec<(String,)> = store
                    .select("list metric names", &prepared.next_metric_names, (&metric, 100_i32))
                    .await?;
                if names.is_empty() {
                    break;
                }
                for (name,) in names {
                    let more = series_slice(store, &name, "", fetch - rows.len()).await?;
                    rows.extend(more);
                    metric = name;
                    if rows.len() >= fetch {
                        break 'names;
                    }
                }
            }
        }
    }
    Ok(paged(rows, limit, SERIES_TOKEN, |row| Cursor {
        group: row.metric.clone(),
        series_id: row.series_id.clone(),
    }))
}

async fn series_slice(store: &ScyllaStore, metric: &str, after: &str, max: usize) -> Result<Vec<SeriesRow>, StoreError> {
    let prepared = store.prepared().await?;
    let limit = i32::try_from(max).unwrap_or(i32::MAX);
    let stored: Vec<StoredSeries> = store.select("list series", &prepared.list_series, (metric, after, limit)).await?;
    Ok(stored.into_iter().map(series_row).collect())
}

pub(super) async fn list_aggregates(store: &ScyllaStore, query: &AggregateQuery, page: &Page) -> Result<Paged<AggregateRow>, StoreError> {
    let limit = page.checked_limit()?;
    let cursor = Cursor::decode(page, AGGREGATE_TOKEN)?;
    let fetch = i32::try_from(limit).unwrap_or(i32::MAX).saturating_add(1);
    let prepared = store.prepared().await?;
    let stored: Vec<StoredAggregate> = match &query.window {
        Some(window) => {
            if page.after.is_some() && &cursor.group != window {
                return Err(StoreError::InvalidPage(format!("token is for {:?}, not {window:?}", cursor.group)));
            }
            let values = (&query.metric, window, &cursor.series_id, fetch);
            store.select("list aggregates", &prepared.list_aggregates_in_window, values).await?
        }
        None => {
            let values = (&query.metric, &cursor.group, &cursor.series_id, fetch);
            store
                .select("list aggregates", &prepared.list_aggregates_all_windows, values)
                .await?
        }
    };
    let rows = stored.into_iter().map(aggregate_row).collect::<Result<Vec<_>, _>>()?;
    Ok(paged(rows, limit, AGGREGATE_TOKEN, |row| Cursor {
        group: row.window.clone(),
        series_id: row.series_id.clone(),
    }))
}

/// Scans for rows older than the cutoff and deletes each with a timestamp just below the cutoff,
/// so that a row rewritten for a newer event meanwhile survives.
pub(super) async fn delete_older_than(store: &ScyllaStore, cutoff_ms: i64) -> Result<Removed, StoreError> {
    let prepared = store.prepared().await?;
    let tombstone = cutoff_ms.saturating_mul(1000).saturating_sub(1);

    let old: Vec<(String, String)> = scan(store, "scan old series", &prepared.old_series, cutoff_ms).await?;
    let series = old.len() as u64;
    let deletes = old.into_iter().map(|(metric, id)| (tombstone, metric, id)).collect();
    write_batches(store, "delete series", &prepared.delete_series, vec![deletes]).await?;

    let names: Vec<(String,)> = scan(store, "scan old metric names", &prepared.old_metric_names, cutoff_ms).await?;
    let deletes = names.into_iter().map(|(metric,)| (tombstone, metric)).collect();
    write_batches(store, "delete metric names", &prepared.delete_metric_name, vec![deletes]).await?;

    let old: Vec<(String, String, String)> = scan(store, "scan old aggregates", &prepared.old_aggregates, cutoff_ms).await?;
    let aggregates = old.len() as u64;
    let deletes = old
        .into_iter()
        .map(|(metric, window, id)| (tombstone, metric, window, id))
        .collect();
    write_batches(store, "delete aggregates", &prepared.delete_aggregate, vec![deletes]).await?;
    let analyses = super::analysis::delete_older_than(store, cutoff_ms).await?;
    let sla_status = super::sla::delete_older_than(store, cutoff_ms).await?;
    let (sla_violations, sla_transitions) = super::sla_history::delete_older_than(store, cutoff_ms).await?;
    Ok(Removed {
        series,
        aggregates,
        analyses,
        sla_status,
        sla_violations,
        sla_transitions,
    })
}

/// Every row of a multi-page query whose one value is the cutoff.
pub(super) async fn scan<R>(
    store: &ScyllaStore,
    what: &'static str,
    statement: &PreparedStatement,
    cutoff_ms: i64,
) -> Result<Vec<R>, StoreError>
where
    R: for<'frame, 'metadata> scylla::deserialize::row::DeserializeRow<'frame, 'metadata>,
{
    scan_with(store, what, statement, (cutoff_ms,)).await
}

/// Every row of a multi-page query.
pub(super) async fn scan_with<R, V>(
    store: &ScyllaStore,
    what: &'static str,
    statement: &PreparedStatement,
    values: V,
) -> Result<Vec<R>, StoreError>
where
    R: for<'frame, 'metadata> scylla::deserialize::row::DeserializeRow<'frame, 'metadata>,
    V: SerializeRow,
{
    let mut out = Vec::new();
    let mut paging = PagingState::start();
    loop {
        let (result, next) = store
            .session
            .execute_single_page(statement, &values, paging)
            .await
            .map_err(|source| StoreError::execute(what, source))?;
        let rows = result.into_rows_result().map_err(|e| StoreError::result(what, e))?;
        for row in rows.rows::<R>().map_err(|e| StoreError::result(what, e))? {
            out.push(row.map_err(|e| StoreError::result(what, e))?);
        }
        match next {
            PagingStateResponse::HasMorePages { state } => paging = state,
            PagingStateResponse::NoMorePages => return Ok(out),
        }
    }
}
