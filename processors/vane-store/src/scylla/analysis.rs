//! The ScyllaDB backend's analyses: history and latest rows written `USING TIMESTAMP version`
//! ([`AnalysisRow::version`]), so that the newest analysis of a series wins whatever order the
//! writes arrive in; listings by partition slices; retention by scan and timestamped delete.
//!
//! History rows are small (a JSON detail) and go in per-partition batches of
//! [`HISTORY_BATCH_ROWS`]; a latest row carries its points (up to ~160 kB for 2,880 points), so
//! each is written on its own to stay far below ScyllaDB's batch size limit. A history listing
//! walks the metric's series ids (from `analysis_latest`, which holds a row for every series that
//! has history: both are written together, and retention removes a latest row only when every
//! history row of its series is older still) and reads each series' time range as one slice.

use std::collections::BTreeMap;

use vane_core::Labels;

use super::ScyllaStore;
use super::rows::{scan, write_batches, write_batches_of};
use crate::StoreError;
use crate::analysis::{AnalysisCursor, AnalysisDetail, AnalysisQuery, AnalysisRow, decode_points, encode_points};
use crate::model::{Page, Paged, paged_with};

/// History rows per unlogged batch: a detail is a few kB, so this stays under the batch size
/// warning.
const HISTORY_BATCH_ROWS: usize = 16;
/// Series ids read at once while walking the history.
const SERIES_PER_READ: i32 = 100;

type HistoryValues = (String, String, i64, Labels, i64, i64, i64, f64, String, i64);
type LatestValues = (String, String, i64, Labels, i64, i64, i64, f64, String, Vec<u8>, i64, i64);
type LatestKeepPointsValues = (String, String, i64, Labels, i64, i64, i64, f64, String, i64, i64);
type StoredAnalysis = (String, String, i64, Option<Labels>, i64, i64, i64, f64, String);
type StoredLatest = (String, String, i64, Option<Labels>, i64, i64, i64, f64, String, Option<Vec<u8>>);

pub(super) async fn upsert_analyses(store: &ScyllaStore, rows: &[AnalysisRow]) -> Result<(), StoreError> {
    let mut history: BTreeMap<&str, Vec<HistoryValues>> = BTreeMap::new();
    let mut latest: Vec<LatestValues> = Vec::with_capacity(rows.len());
    let mut latest_keep_points: Vec<LatestKeepPointsValues> = Vec::new();
    for row in rows {
        row.validate()?;
        let detail =
            serde_json::to_string(&row.detail).map_err(|error| StoreError::InvalidRow(format!("detail of {}: {error}", row.series_id)))?;
        let points_count =
            i64::try_from(row.points_count).map_err(|_| StoreError::InvalidRow(format!("points count of {} too large", row.series_id)))?;
        history.entry(&row.metric).or_default().push((
            row.metric.clone(),
            row.series_id.clone(),
            row.analyzed_at_ms,
            row.labels.clone(),
            row.window_start_ms,
            row.window_end_ms,
            points_count,
            row.compute_ms,
            detail.clone(),
            row.version(),
        ));
        if row.points.is_empty() {
            latest_keep_points.push((
                row.metric.clone(),
                row.series_id.clone(),
                row.analyzed_at_ms,
                row.labels.clone(),
                row.window_start_ms,
                row.window_end_ms,
                points_count,
                row.compute_ms,
                detail,
                row.version(),
                row.version(),
            ));
            continue;
        }
        latest.push((
            row.metric.clone(),
            row.series_id.clone(),
            row.analyzed_at_ms,
            row.labels.clone(),
            row.window_start_ms,
            row.window_end_ms,
            points_count,
            row.compute_ms,
            detail,
            encode_points(&row.points),
            row.version(),
            row.version(),
        ));
    }
    let prepared = store.prepared().await?;
    let groups = history.into_values().collect();
    write_batches_of(
        store,
        "upsert analysis history",
        &prepared.insert_analysis_history,
        groups,
        HISTORY_BATCH_ROWS,
    )
    .await?;
    write_batches_of(
        store,
        "upsert latest analyses",
        &prepared.insert_analysis_latest_keep_points,
        vec![latest_keep_points],
        HISTORY_BATCH_ROWS,
    )
    .await?;
    write_batches_of(store, "upsert latest analyses", &prepared.insert_analysis_latest, vec![latest], 1).await
}

pub(super) async fn list_analyses(store: &ScyllaStore, query: &AnalysisQuery, page: &Page) -> Result<Paged<AnalysisRow>, StoreError> {
    let limit = page.checked_limit()?;
    let cursor = AnalysisCursor::decode(query, page)?;
    let fetch = usize::try_from(limit).unwrap_or(usize::MAX).saturating_add(1);
    let latest_only = query.latest_only();
    let rows = if latest_only {
        latest_slice(store, query, &cursor.series_id, fetch).await?
    } else {
        history_rows(store, query, &cursor, fetch).await?
    };
    Ok(paged_with(rows, limit, |row| AnalysisCursor::of(row, latest_only)))
}

async fn latest_slice(store: &ScyllaStore, query: &AnalysisQuery, after: &str, max: usize) -> Result<Vec<AnalysisRow>, StoreError> {
    let prepared = store.prepared().await?;
    let limit = i32::try_from(max).unwrap_or(i32::MAX);
    let values = (&query.metric, after, limit);
    if !query.with_points {
        let stored: Vec<StoredAnalysis> = store.select("list latest analyses", &prepared.list_latest_analyses, values).await?;
        return stored.into_iter().map(|row| analysis_row(row, None)).collect();
    }
    let stored: Vec<StoredLatest> = store
        .select("list latest analyses", &prepared.list_latest_analyses_with_points, values)
        .await?;
    let mut rows = Vec::with_capacity(stored.len());
    for (metric, series_id, at, labels, start, end, count, compute_ms, detail, points) in stored {
        let row = (metric, series_id, at, labels, start, end, count, compute_ms, detail);
        rows.push(analysis_row(row, Some(points.unwrap_or_default()))?);
    }
    Ok(rows)
}

/// History rows after the cursor within the query's range: the rest of the cursor's series,
/// then each following series in order, until `max` rows.
async fn history_rows(
    store: &ScyllaStore,
    query: &AnalysisQuery,
    cursor: &AnalysisCursor,
    max: usize,
) -> Result<Vec<AnalysisRow>, StoreError> {
    let prepared = store.prepared().await?;
    let from = query.from_ms.unwrap_or(i64::MIN);
    let to = query.to_ms.unwrap_or(i64::MAX);
    let mut rows = Vec::new();
    if from > to {
        return Ok(rows);
    }
    let mut series_id = cursor.series_id.clone();
    // The rest of the cursor's series; none when the cursor is at its last possible time.
    if !series_id.is_empty()
        && let Some(after) = cursor.analyzed_at_ms.checked_add(1)
    {
        rows = series_history(store, &query.metric, &series_id, from.max(after), to, max).await?;
    }
    'series: while rows.len() < max {
        let ids: Vec<(String,)> = store
            .select(
                "list analysed series",
                &prepared.next_analysed_series,
                (&query.metric, &series_id, SERIES_PER_READ),
            )
            .await?;
        if ids.is_empty() {
            break;
        }
        for (id,) in ids {
            let more = series_history(store, &query.metric, &id, from, to, max - rows.len()).await?;
            rows.extend(more);
            series_id = id;
            if rows.len() >= max {
                break 'series;
            }
        }
    }
    Ok(rows)
}

async fn series_history(
    store: &ScyllaStore,
    metric: &str,
    series_id: &str,
    from: i64,
    to: i64,
    max: usize,
) -> Result<Vec<AnalysisRow>, StoreError> {
    let prepared = store.prepared().await?;
    let limit = i32::try_from(max).unwrap_or(i32::MAX);
    let stored: Vec<StoredAnalysis> = store
        .select(
            "list analysis history",
            &prepared.list_series_analyses,
            (metric, series_id, from, to, limit),
        )
        .await?;
    stored.into_iter().map(|row| analysis_row(row, None)).collect()
}

fn analysis_row(stored: StoredAnalysis, points: Option<Vec<u8>>) -> Result<AnalysisRow, StoreError> {
    let (metric, series_id, analyzed_at_ms, labels, window_start_ms, window_end_ms, points_count, compute_ms, detail) = stored;
    let detail: AnalysisDetail =
        serde_json::from_str(&detail).map_err(|error| StoreError::Corrupt(format!("analysis detail of series {series_id}: {error}")))?;
    let points_count = u64::try_from(points_count).map_err(|_| StoreError::Corrupt(format!("negative points count for {series_id}")))?;
    let points = match points {
        Some(bytes) => decode_points(&bytes)?,
        None => Vec::new(),
    };
    Ok(AnalysisRow {
        series_id,
        metric,
        labels: labels.unwrap_or_default(),
        analyzed_at_ms,
        window_start_ms,
        window_end_ms,
        points_count,
        compute_ms,
        detail,
        points,
    })
}

/// Deletes history and latest analyses that ran before the cutoff, with a timestamp just below
/// it, so that an analysis written meanwhile for a later time survives; returns how many.
pub(super) async fn delete_older_than(store: &ScyllaStore, cutoff_ms: i64) -> Result<u64, StoreError> {
    let prepared = store.prepared().await?;
    let tombstone = cutoff_ms.saturating_mul(1000).saturating_sub(1);

    let old: Vec<(String, String, i64)> = scan(store, "scan old analyses", &prepared.old_analysis_history, cutoff_ms).await?;
    let history = old.len() as u64;
    let deletes = old.into_iter().map(|(metric, id, at)| (tombstone, metric, id, at)).collect();
    write_batches(store, "delete analyses", &prepared.delete_analysis_history, vec![deletes]).await?;

    let old: Vec<(String, String)> = scan(store, "scan old latest analyses", &prepared.old_analysis_latest, cutoff_ms).await?;
    let latest = old.len() as u64;
    let deletes = old.into_iter().map(|(metric, id)| (tombstone, metric, id)).collect();
    write_batches(store, "delete latest analyses", &prepared.delete_analysis_latest, vec![deletes]).await?;
    Ok(history + latest)
}
