//! The embedded store's SQL for analyses: the history (one row per analysis, no points) and the
//! latest analysis of each series (with its points), written together in one transaction.
//!
//! Order safety as for aggregates: the latest row is replaced only by a row whose version
//! ([`AnalysisRow::version`], the analysis time) is at least its own, so a replayed older analysis
//! lands in the history and leaves the latest alone. History rows are keyed by analysis time, so a
//! replay rewrites the same row with the same values.

use rusqlite::{Connection, Row, Transaction, params};

use crate::StoreError;
use crate::analysis::{AnalysisCursor, AnalysisDetail, AnalysisQuery, AnalysisRow, decode_points, encode_points};
use crate::model::{Page, Paged, paged_with};

const UPSERT_HISTORY: &str = "INSERT INTO analysis_history (metric, series_id, analyzed_at_ms, labels,
        window_start_ms, window_end_ms, points_count, compute_ms, detail)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
    ON CONFLICT (metric, series_id, analyzed_at_ms) DO UPDATE SET
        labels = excluded.labels, window_start_ms = excluded.window_start_ms,
        window_end_ms = excluded.window_end_ms, points_count = excluded.points_count,
        compute_ms = excluded.compute_ms, detail = excluded.detail";

const UPSERT_LATEST: &str = "INSERT INTO analysis_latest (metric, series_id, analyzed_at_ms, labels,
        window_start_ms, window_end_ms, points_count, compute_ms, detail, points, version)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
    ON CONFLICT (metric, series_id) DO UPDATE SET
        analyzed_at_ms = excluded.analyzed_at_ms, labels = excluded.labels,
        window_start_ms = excluded.window_start_ms, window_end_ms = excluded.window_end_ms,
        points_count = excluded.points_count, compute_ms = excluded.compute_ms,
        detail = excluded.detail, version = excluded.version,
        points = CASE WHEN length(excluded.points) = 0 THEN analysis_latest.points ELSE excluded.points END
    WHERE excluded.version >= analysis_latest.version";

/// The columns every listing reads, in the order [`analysis_from_row`] expects; the points come
/// last and only when asked for.
const COLUMNS: &str = "metric, series_id, analyzed_at_ms, labels, window_start_ms, window_end_ms, \
    points_count, compute_ms, detail";

pub(crate) fn upsert_analyses(conn: &mut Connection, rows: &[AnalysisRow]) -> Result<(), StoreError> {
    for row in rows {
        row.validate()?;
    }
    let tx = conn.transaction()?;
    {
        let mut history = tx.prepare_cached(UPSERT_HISTORY)?;
        let mut latest = tx.prepare_cached(UPSERT_LATEST)?;
        for row in rows {
            let labels = serde_json::to_string(&row.labels)
                .map_err(|error| StoreError::InvalidRow(format!("labels of {}: {error}", row.series_id)))?;
            let detail = serde_json::to_string(&row.detail)
                .map_err(|error| StoreError::InvalidRow(format!("detail of {}: {error}", row.series_id)))?;
            let points_count = i64::try_from(row.points_count)
                .map_err(|_| StoreError::InvalidRow(format!("points count of {} too large", row.series_id)))?;
            history.execute(params![
                row.metric,
                row.series_id,
                row.analyzed_at_ms,
                labels,
                row.window_start_ms,
                row.window_end_ms,
                points_count,
                row.compute_ms,
                detail,
            ])?;
            latest.execute(params![
                row.metric,
                row.series_id,
                row.analyzed_at_ms,
                labels,
                row.window_start_ms,
                row.window_end_ms,
                points_count,
                row.compute_ms,
                detail,
                encode_points(&row.points),
                row.version(),
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn list_analyses(conn: &Connection, query: &AnalysisQuery, page: &Page) -> Result<Paged<AnalysisRow>, StoreError> {
    let limit = page.checked_limit()?;
    let cursor = AnalysisCursor::decode(query, page)?;
    let fetch = i64::from(limit) + 1;
    let latest_only = query.latest_only();
    let rows = if latest_only {
        let points = if query.with_points { ", points" } else { "" };
        let sql = format!(
            "SELECT {COLUMNS}{points} FROM analysis_latest WHERE metric = ?1 AND series_id > ?2 \
             ORDER BY series_id LIMIT ?3"
        );
        let mut statement = conn.prepare_cached(&sql)?;
        let mapped = statement.query_map(params![query.metric, cursor.series_id, fetch], analysis_from_row)?;
        mapped.collect::<Result<Vec<_>, _>>()?
    } else {
        let sql = format!(
            "SELECT {COLUMNS} FROM analysis_history WHERE metric = ?1 \
             AND (series_id, analyzed_at_ms) > (?2, ?3) AND analyzed_at_ms BETWEEN ?4 AND ?5 \
             ORDER BY series_id, analyzed_at_ms LIMIT ?6"
        );
        let mut statement = conn.prepare_cached(&sql)?;
        let values = params![
            query.metric,
            cursor.series_id,
            cursor.analyzed_at_ms,
            query.from_ms.unwrap_or(i64::MIN),
            query.to_ms.unwrap_or(i64::MAX),
            fetch,
        ];
        let mapped = statement.query_map(values, analysis_from_row)?;
        mapped.collect::<Result<Vec<_>, _>>()?
    };
    let rows = rows.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(paged_with(rows, limit, |row| AnalysisCursor::of(row, latest_only)))
}

/// Maps one row of [`COLUMNS`] (and `points` when selected); the outer result is SQLite's, the
/// inner one ours (bad stored JSON or points).
fn analysis_from_row(row: &Row<'_>) -> rusqlite::Result<Result<AnalysisRow, StoreError>> {
    let series_id: String = row.get(1)?;
    let labels: String = row.get(3)?;
    let points_count: i64 = row.get(6)?;
    let detail: String = row.get(8)?;
    let points: Option<Vec<u8>> = if row.as_ref().column_count() > 9 { row.get(9)? } else { None };
    let stored = || -> Result<_, StoreError> {
        let labels =
            serde_json::from_str(&labels).map_err(|error| StoreError::Corrupt(format!("labels of series {series_id}: {error}")))?;
        let detail: AnalysisDetail = serde_json::from_str(&detail)
            .map_err(|error| StoreError::Corrupt(format!("analysis detail of series {series_id}: {error}")))?;
        let points_count =
            u64::try_from(points_count).map_err(|_| StoreError::Corrupt(format!("negative points count for series {series_id}")))?;
        let points = match &points {
            Some(bytes) => decode_points(bytes)?,
            None => Vec::new(),
        };
        Ok((labels, detail, points_count, points))
    };
    let (labels, detail, points_count, points) = match stored() {
        Ok(parts) => parts,
        Err(error) => return Ok(Err(error)),
    };
    Ok(Ok(AnalysisRow {
        metric: row.get(0)?,
        series_id,
        labels,
        analyzed_at_ms: row.get(2)?,
        window_start_ms: row.get(4)?,
        window_end_ms: row.get(5)?,
        points_count,
        compute_ms: row.get(7)?,
        detail,
        points,
    }))
}

/// Retention: analyses that ran before the cutoff, in the history and as the latest.
pub(crate) fn delete_older_than(tx: &Transaction<'_>, cutoff_ms: i64) -> Result<u64, StoreError> {
    let history = tx.execute("DELETE FROM analysis_history WHERE analyzed_at_ms < ?1", [cutoff_ms])?;
    let latest = tx.execute("DELETE FROM analysis_latest WHERE analyzed_at_ms < ?1", [cutoff_ms])?;
    Ok(history as u64 + latest as u64)
}

pub(crate) fn wipe(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute("DELETE FROM analysis_history", [])?;
    tx.execute("DELETE FROM analysis_latest", [])?;
    Ok(())
}
