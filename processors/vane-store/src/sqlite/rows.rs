//! The embedded store's SQL: idempotent upserts, keyset-paginated queries, wipe and retention.
//!
//! Upserts are order-safe: a series keeps the minimum `first_seen_ms` and the maximum
//! `last_seen_ms` ever written; an aggregate row is replaced only by a row whose version
//! ([`AggregateRow::version`]) is at least its own, so a replayed older row never overwrites a
//! newer one, and writing the same row twice leaves it as it was.

use rusqlite::{Connection, Row, params};

use crate::model::{AGGREGATE_TOKEN, AggregateQuery, AggregateRow, Cursor, Page, Paged, SERIES_TOKEN, SeriesQuery, SeriesRow, paged};
use crate::{Removed, StoreError};

const UPSERT_SERIES: &str = "INSERT INTO series (metric, series_id, labels, first_seen_ms, last_seen_ms)
    VALUES (?1, ?2, ?3, ?4, ?5)
    ON CONFLICT (metric, series_id) DO UPDATE SET
        labels = CASE WHEN excluded.last_seen_ms >= series.last_seen_ms THEN excluded.labels ELSE series.labels END,
        first_seen_ms = min(series.first_seen_ms, excluded.first_seen_ms),
        last_seen_ms = max(series.last_seen_ms, excluded.last_seen_ms)";

const UPSERT_AGGREGATE: &str = "INSERT INTO aggregates (metric, window_name, series_id, labels, max_value,
        min_value, mean_value, std_value, sample_count, first_ms, last_ms, as_of_ms, version)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
    ON CONFLICT (metric, window_name, series_id) DO UPDATE SET
        labels = excluded.labels, max_value = excluded.max_value, min_value = excluded.min_value,
        mean_value = excluded.mean_value, std_value = excluded.std_value,
        sample_count = excluded.sample_count, first_ms = excluded.first_ms, last_ms = excluded.last_ms,
        as_of_ms = excluded.as_of_ms, version = excluded.version
    WHERE excluded.version >= aggregates.version";

const SERIES_COLUMNS: &str = "metric, series_id, labels, first_seen_ms, last_seen_ms";
const AGGREGATE_COLUMNS: &str = "metric, window_name, series_id, labels, max_value, min_value, mean_value, \
    std_value, sample_count, first_ms, last_ms, as_of_ms";

pub(crate) fn upsert_series(conn: &mut Connection, rows: &[SeriesRow]) -> Result<(), StoreError> {
    for row in rows {
        row.validate()?;
    }
    let tx = conn.transaction()?;
    {
        let mut statement = tx.prepare_cached(UPSERT_SERIES)?;
        for row in rows {
            let labels = labels_json(row)?;
            statement.execute(params![row.metric, row.series_id, labels, row.first_seen_ms, row.last_seen_ms])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn upsert_aggregates(conn: &mut Connection, rows: &[AggregateRow]) -> Result<(), StoreError> {
    for row in rows {
        row.validate()?;
    }
    let tx = conn.transaction()?;
    {
        let mut statement = tx.prepare_cached(UPSERT_AGGREGATE)?;
        for row in rows {
            let labels = serde_json::to_string(&row.labels)
                .map_err(|error| StoreError::InvalidRow(format!("labels of {}: {error}", row.series_id)))?;
            let count = i64::try_from(row.count).map_err(|_| StoreError::InvalidRow(format!("count of {} too large", row.series_id)))?;
            statement.execute(params![
                row.metric,
                row.window,
                row.series_id,
                labels,
                row.max,
                row.min,
                row.mean,
                row.std,
                count,
                row.first_ms,
                row.last_ms,
                row.as_of_ms,
                row.version(),
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn labels_json(row: &SeriesRow) -> Result<String, StoreError> {
    serde_json::to_string(&row.labels).map_err(|error| StoreError::InvalidRow(format!("labels of {}: {error}", row.series_id)))
}

pub(crate) fn list_series(conn: &Connection, query: &SeriesQuery, page: &Page) -> Result<Paged<SeriesRow>, StoreError> {
    let limit = page.checked_limit()?;
    let cursor = Cursor::decode(page, SERIES_TOKEN)?;
    let fetch = i64::from(limit) + 1;
    let rows = match &query.metric {
        Some(metric) => {
            check_group(page, &cursor, metric)?;
            let sql = format!("SELECT {SERIES_COLUMNS} FROM series WHERE metric = ?1 AND series_id > ?2 ORDER BY series_id LIMIT ?3");
            let mut statement = conn.prepare_cached(&sql)?;
            let mapped = statement.query_map(params![metric, cursor.series_id, fetch], series_from_row)?;
            mapped.collect::<Result<Vec<_>, _>>()?
        }
        None => {
            let sql = format!(
                "SELECT {SERIES_COLUMNS} FROM series WHERE (metric, series_id) > (?1, ?2) \
                 ORDER BY metric, series_id LIMIT ?3"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let mapped = statement.query_map(params![cursor.group, cursor.series_id, fetch], series_from_row)?;
            mapped.collect::<Result<Vec<_>, _>>()?
        }
    };
    let rows = rows.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(paged(rows, limit, SERIES_TOKEN, |row| Cursor {
        group: row.metric.clone(),
        series_id: row.series_id.clone(),
    }))
}

pub(crate) fn list_aggregates(conn: &Connection, query: &AggregateQuery, page: &Page) -> Result<Paged<AggregateRow>, StoreError> {
    let limit = page.checked_limit()?;
    let cursor = Cursor::decode(page, AGGREGATE_TOKEN)?;
    let fetch = i64::from(limit) + 1;
    let rows = match &query.window {
        Some(window) => {
            check_group(page, &cursor, window)?;
            let sql = format!(
                "SELECT {AGGREGATE_COLUMNS} FROM aggregates WHERE metric = ?1 AND window_name = ?2 \
                 AND series_id > ?3 ORDER BY series_id LIMIT ?4"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let mapped = statement.query_map(params![query.metric, window, cursor.series_id, fetch], aggregate_from_row)?;
            mapped.collect::<Result<Vec<_>, _>>()?
        }
        None => {
            let sql = format!(
                "SELECT {AGGREGATE_COLUMNS} FROM aggregates WHERE metric = ?1 \
                 AND (window_name, series_id) > (?2, ?3) ORDER BY window_name, series_id LIMIT ?4"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let mapped = statement.query_map(params![query.metric, cursor.group, cursor.series_id, fetch], aggregate_from_row)?;
            mapped.collect::<Result<Vec<_>, _>>()?
        }
    };
    let rows = rows.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(paged(rows, limit, AGGREGATE_TOKEN, |row| Cursor {
        group: row.window.clone(),
        series_id: row.series_id.clone(),
    }))
}

/// A token from a listing of another metric or window would skip or repeat rows: refuse it.
fn check_group(page: &Page, cursor: &Cursor, expected: &str) -> Result<(), StoreError> {
    if page.after.is_some() && cursor.group != expected {
        return Err(StoreError::InvalidPage(format!(
            "token is for {:?}, not {expected:?}",
            cursor.group
        )));
    }
    Ok(())
}

/// Maps one row; the outer result is SQLite's, the inner one ours (bad stored JSON).
fn series_from_row(row: &Row<'_>) -> rusqlite::Result<Result<SeriesRow, StoreError>> {
    let labels: String = row.get(2)?;
    let series_id: String = row.get(1)?;
    let metric: String = row.get(0)?;
    let (first_seen_ms, last_seen_ms) = (row.get(3)?, row.get(4)?);
    Ok(parse_labels(&series_id, &labels).map(|labels| SeriesRow {
        series_id,
        metric,
        labels,
        first_seen_ms,
        last_seen_ms,
    }))
}

fn aggregate_from_row(row: &Row<'_>) -> rusqlite::Result<Result<AggregateRow, StoreError>> {
    let series_id: String = row.get(2)?;
    let labels: String = row.get(3)?;
    let count: i64 = row.get(8)?;
    let Ok(count) = u64::try_from(count) else {
        return Ok(Err(StoreError::Corrupt(format!("negative count for series {series_id}"))));
    };
    let labels = match parse_labels(&series_id, &labels) {
        Ok(labels) => labels,
        Err(error) => return Ok(Err(error)),
    };
    Ok(Ok(AggregateRow {
        metric: row.get(0)?,
        window: row.get(1)?,
        series_id,
        labels,
        max: row.get(4)?,
        min: row.get(5)?,
        mean: row.get(6)?,
        std: row.get(7)?,
        count,
        first_ms: row.get(9)?,
        last_ms: row.get(10)?,
        as_of_ms: row.get(11)?,
    }))
}

fn parse_labels(series_id: &str, json: &str) -> Result<vane_core::Labels, StoreError> {
    serde_json::from_str(json).map_err(|error| StoreError::Corrupt(format!("labels of series {series_id}: {error}")))
}

pub(crate) fn wipe(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM series", [])?;
    tx.execute("DELETE FROM aggregates", [])?;
    super::analysis::wipe(&tx)?;
    super::sla::wipe(&tx)?;
    super::users::wipe(&tx)?;
    tx.commit()?;
    Ok(())
}

pub(crate) fn delete_older_than(conn: &mut Connection, cutoff_ms: i64) -> Result<Removed, StoreError> {
    let tx = conn.transaction()?;
    let series = tx.execute("DELETE FROM series WHERE last_seen_ms < ?1", [cutoff_ms])?;
    let aggregates = tx.execute("DELETE FROM aggregates WHERE as_of_ms < ?1", [cutoff_ms])?;
    let analyses = super::analysis::delete_older_than(&tx, cutoff_ms)?;
    let (sla_status, sla_violations, sla_transitions) = super::sla::delete_older_than(&tx, cutoff_ms)?;
    tx.commit()?;
    Ok(Removed {
        series: series as u64,
        aggregates: aggregates as u64,
        analyses,
        sla_status,
        sla_violations,
        sla_transitions,
    })
}
