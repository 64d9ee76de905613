//! The embedded store's SQL for SLAs: definitions guarded by revision, status rows upserted by the
//! rules of [`SlaStatusUpdate`] in one statement each, violations and transitions keyed by
//! `(sla_id, at_ms, series_id)` so that a replay rewrites the same row, and the counts.
//!
//! Every upsert call is one transaction, applying its rows in the order given.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use vane_core::Labels;
use vane_core::sla::SlaStatus;

use crate::StoreError;
use crate::model::{Page, Paged, paged_with};
use crate::sla::{
    SLA_TRANSITION_TOKEN, SLA_VIOLATION_TOKEN, SlaCounts, SlaDefinitionRow, SlaRangeQuery, SlaStatusRow, SlaStatusUpdate, SlaTransitionRow,
    SlaViolationRow, TimeCursor, check_timeslice, definition_row, finite_or_none, first_created, parse_status, status_cursor, status_token,
};

const UPSERT_DEFINITION: &str = "INSERT INTO sla_definitions (sla_id, name, revision, deleted, definition)
    VALUES (?1, ?2, ?3, ?4, ?5)
    ON CONFLICT (sla_id) DO UPDATE SET
        name = excluded.name, revision = excluded.revision, deleted = excluded.deleted,
        definition = excluded.definition
    WHERE excluded.revision >= sla_definitions.revision";

/// A status event: `since_ms` moves only when the status changes (the right-hand sides read the
/// stored row, whatever the order of the assignments); an SLA deleted meanwhile gets no rows.
const UPSERT_STATUS: &str = "INSERT INTO sla_status (sla_id, series_id, metric, labels, status, value,
        since_ms, updated_ms, likely)
    SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 0
    WHERE NOT EXISTS (SELECT 1 FROM sla_definitions WHERE sla_id = ?1 AND deleted = 1)
    ON CONFLICT (sla_id, series_id) DO UPDATE SET
        metric = excluded.metric, labels = excluded.labels, status = excluded.status,
        value = excluded.value, updated_ms = excluded.updated_ms,
        since_ms = CASE WHEN sla_status.status = excluded.status THEN sla_status.since_ms ELSE excluded.since_ms END
    WHERE excluded.updated_ms >= sla_status.updated_ms";

const UPDATE_FORECAST: &str = "UPDATE sla_status
    SET probability = ?3, horizon_ms = ?4, likely = ?5, probability_at_ms = ?6
    WHERE sla_id = ?1 AND series_id = ?2 AND (probability_at_ms IS NULL OR probability_at_ms <= ?6)";

const UPSERT_VIOLATION: &str = "INSERT INTO sla_violations (sla_id, at_ms, series_id, metric, labels, value)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
    ON CONFLICT (sla_id, at_ms, series_id) DO UPDATE SET
        metric = excluded.metric, labels = excluded.labels, value = excluded.value";

const UPSERT_TRANSITION: &str = "INSERT INTO sla_transitions (sla_id, at_ms, series_id, metric, labels,
        from_status, to_status, value)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
    ON CONFLICT (sla_id, at_ms, series_id) DO UPDATE SET
        metric = excluded.metric, labels = excluded.labels, from_status = excluded.from_status,
        to_status = excluded.to_status, value = excluded.value";

const STATUS_COLUMNS: &str = "sla_id, series_id, metric, labels, status, value, since_ms, updated_ms, \
    probability, probability_at_ms, horizon_ms, likely";

pub(crate) fn upsert_definitions(conn: &mut Connection, rows: &[SlaDefinitionRow]) -> Result<(), StoreError> {
    for row in rows {
        row.validate()?;
    }
    let tx = conn.transaction()?;
    {
        let mut statement = tx.prepare_cached(UPSERT_DEFINITION)?;
        for row in rows {
            let d = &row.definition;
            let json = serde_json::to_string(d).map_err(|error| StoreError::InvalidRow(format!("SLA {}: {error}", d.id)))?;
            statement.execute(params![d.id, d.name, d.revision, row.deleted, json])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn get_definition(conn: &Connection, id_or_name: &str) -> Result<Option<SlaDefinitionRow>, StoreError> {
    let by_id = conn
        .prepare_cached("SELECT definition, deleted FROM sla_definitions WHERE sla_id = ?1")?
        .query_row([id_or_name], |row| Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?)))
        .optional()?;
    if let Some((json, deleted)) = by_id {
        return definition_row(&json, deleted).map(Some);
    }
    let mut statement = conn.prepare_cached("SELECT definition FROM sla_definitions WHERE name = ?1 AND deleted = 0")?;
    let found = statement.query_map([id_or_name], |row| row.get::<_, String>(0))?;
    let mut best: Option<SlaDefinitionRow> = None;
    for json in found {
        let row = definition_row(&json?, false)?;
        best = Some(match best {
            Some(seen) if first_created(&seen.definition) <= first_created(&row.definition) => seen,
            _ => row,
        });
    }
    Ok(best)
}

pub(crate) fn list_definitions(conn: &Connection, include_deleted: bool) -> Result<Vec<SlaDefinitionRow>, StoreError> {
    let sql = if include_deleted {
        "SELECT definition, deleted FROM sla_definitions ORDER BY name, sla_id"
    } else {
        "SELECT definition, deleted FROM sla_definitions WHERE deleted = 0 ORDER BY name, sla_id"
    };
    let mut statement = conn.prepare_cached(sql)?;
    let found = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?)))?;
    let mut rows = Vec::new();
    for pair in found {
        let (json, deleted) = pair?;
        rows.push(definition_row(&json, deleted)?);
    }
    Ok(rows)
}

pub(crate) fn upsert_status(conn: &mut Connection, updates: &[SlaStatusUpdate]) -> Result<(), StoreError> {
    for update in updates {
        update.validate()?;
    }
    let tx = conn.transaction()?;
    {
        let mut status = tx.prepare_cached(UPSERT_STATUS)?;
        let mut forecast = tx.prepare_cached(UPDATE_FORECAST)?;
        for update in updates {
            match update {
                SlaStatusUpdate::Status {
                    sla_id,
                    series_id,
                    metric,
                    labels,
                    status: to,
                    value,
                    at_ms,
                } => {
                    let labels = labels_json(series_id, labels)?;
                    status.execute(params![
                        sla_id,
                        series_id,
                        metric,
                        labels,
                        to.as_str(),
                        finite_or_none(*value),
                        at_ms
                    ])?;
                }
                SlaStatusUpdate::Forecast {
                    sla_id,
                    series_id,
                    probability,
                    horizon_ms,
                    likely,
                    at_ms,
                } => {
                    forecast.execute(params![sla_id, series_id, probability, horizon_ms, likely, at_ms])?;
                }
            }
        }
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn delete_status(conn: &mut Connection, sla_id: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM sla_status WHERE sla_id = ?1", [sla_id])?;
    Ok(())
}

pub(crate) fn list_status(conn: &Connection, sla_id: Option<&str>, page: &Page) -> Result<Paged<SlaStatusRow>, StoreError> {
    let limit = page.checked_limit()?;
    let cursor = status_cursor(sla_id, page)?;
    let fetch = i64::from(limit) + 1;
    let rows = match sla_id {
        Some(sla_id) => {
            let sql = format!("SELECT {STATUS_COLUMNS} FROM sla_status WHERE sla_id = ?1 AND series_id > ?2 ORDER BY series_id LIMIT ?3");
            let mut statement = conn.prepare_cached(&sql)?;
            let mapped = statement.query_map(params![sla_id, cursor.series_id, fetch], status_from_row)?;
            mapped.collect::<Result<Vec<_>, _>>()?
        }
        None => {
            let sql = format!(
                "SELECT {STATUS_COLUMNS} FROM sla_status WHERE (sla_id, series_id) > (?1, ?2) \
                 ORDER BY sla_id, series_id LIMIT ?3"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let mapped = statement.query_map(params![cursor.group, cursor.series_id, fetch], status_from_row)?;
            mapped.collect::<Result<Vec<_>, _>>()?
        }
    };
    let rows = rows.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(paged_with(rows, limit, status_token))
}

fn status_from_row(row: &Row<'_>) -> rusqlite::Result<Result<SlaStatusRow, StoreError>> {
    let series_id: String = row.get(1)?;
    let labels: String = row.get(3)?;
    let status: String = row.get(4)?;
    let parsed = parse_labels(&series_id, &labels).and_then(|labels| Ok((labels, parse_status(&status)?)));
    let (labels, status) = match parsed {
        Ok(parts) => parts,
        Err(error) => return Ok(Err(error)),
    };
    Ok(Ok(SlaStatusRow {
        sla_id: row.get(0)?,
        series_id,
        metric: row.get(2)?,
        labels,
        status,
        value: row.get(5)?,
        since_ms: row.get(6)?,
        updated_ms: row.get(7)?,
        probability: row.get(8)?,
        probability_at_ms: row.get(9)?,
        horizon_ms: row.get(10)?,
        likely: row.get(11)?,
    }))
}

pub(crate) fn upsert_violations(conn: &mut Connection, rows: &[SlaViolationRow]) -> Result<(), StoreError> {
    for row in rows {
        row.validate()?;
    }
    let tx = conn.transaction()?;
    {
        let mut statement = tx.prepare_cached(UPSERT_VIOLATION)?;
        for row in rows {
            let labels = labels_json(&row.series_id, &row.labels)?;
            statement.execute(params![row.sla_id, row.at_ms, row.series_id, row.metric, labels, row.value])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn upsert_transitions(conn: &mut Connection, rows: &[SlaTransitionRow]) -> Result<(), StoreError> {
    for row in rows {
        row.validate()?;
    }
    let tx = conn.transaction()?;
    {
        let mut statement = tx.prepare_cached(UPSERT_TRANSITION)?;
        for row in rows {
            let labels = labels_json(&row.series_id, &row.labels)?;
            statement.execute(params![
                row.sla_id,
                row.at_ms,
                row.series_id,
                row.metric,
                labels,
                row.from.map(SlaStatus::as_str),
                row.to.as_str(),
                finite_or_none(row.value),
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn list_violations(conn: &Connection, query: &SlaRangeQuery, page: &Page) -> Result<Paged<SlaViolationRow>, StoreError> {
    let sql = "SELECT sla_id, at_ms, series_id, metric, labels, value FROM sla_violations \
        WHERE sla_id = ?1 AND (at_ms, series_id) > (?2, ?3) AND at_ms BETWEEN ?4 AND ?5 \
        ORDER BY at_ms, series_id LIMIT ?6";
    let map = |row: &Row<'_>| -> rusqlite::Result<Result<SlaViolationRow, StoreError>> {
        let series_id: String = row.get(2)?;
        let labels: String = row.get(4)?;
        let labels = match parse_labels(&series_id, &labels) {
            Ok(labels) => labels,
            Err(error) => return Ok(Err(error)),
        };
        let value: Option<f64> = row.get(5)?;
        Ok(Ok(SlaViolationRow {
            sla_id: row.get(0)?,
            at_ms: row.get(1)?,
            series_id,
            metric: row.get(3)?,
            labels,
            value: value.unwrap_or(f64::NAN),
        }))
    };
    list_in_range(conn, sql, SLA_VIOLATION_TOKEN, query, page, map, |row| (row.at_ms, &row.series_id))
}

pub(crate) fn list_transitions(conn: &Connection, query: &SlaRangeQuery, page: &Page) -> Result<Paged<SlaTransitionRow>, StoreError> {
    let sql = "SELECT sla_id, at_ms, series_id, metric, labels, from_status, to_status, value FROM sla_transitions \
        WHERE sla_id = ?1 AND (at_ms, series_id) > (?2, ?3) AND at_ms BETWEEN ?4 AND ?5 \
        ORDER BY at_ms, series_id LIMIT ?6";
    let map = |row: &Row<'_>| -> rusqlite::Result<Result<SlaTransitionRow, StoreError>> {
        let series_id: String = row.get(2)?;
        let labels: String = row.get(4)?;
        let from: Option<String> = row.get(5)?;
        let to: String = row.get(6)?;
        let parsed = || -> Result<(Labels, Option<SlaStatus>, SlaStatus), StoreError> {
            let from = match from {
                Some(text) => Some(parse_status(&text)?),
                None => None,
            };
            Ok((parse_labels(&series_id, &labels)?, from, parse_status(&to)?))
        };
        let (labels, from, to) = match parsed() {
            Ok(parts) => parts,
            Err(error) => return Ok(Err(error)),
        };
        Ok(Ok(SlaTransitionRow {
            sla_id: row.get(0)?,
            at_ms: row.get(1)?,
            series_id,
            metric: row.get(3)?,
            labels,
            from,
            to,
            value: row.get(7)?,
        }))
    };
    list_in_range(conn, sql, SLA_TRANSITION_TOKEN, query, page, map, |row| (row.at_ms, &row.series_id))
}

/// One page of an SLA's rows in a time range, ordered by `(at_ms, series_id)`: `sql` takes the
/// SLA id, the cursor, the bounds and the limit.
fn list_in_range<T>(
    conn: &Connection,
    sql: &str,
    kind: char,
    query: &SlaRangeQuery,
    page: &Page,
    map: impl FnMut(&Row<'_>) -> rusqlite::Result<Result<T, StoreError>>,
    key: impl Fn(&T) -> (i64, &String),
) -> Result<Paged<T>, StoreError> {
    let limit = page.checked_limit()?;
    let cursor = TimeCursor::decode(kind, query, page)?;
    let (from, to) = query.bounds();
    let mut statement = conn.prepare_cached(sql)?;
    let values = params![query.sla_id, cursor.at_ms, cursor.series_id, from, to, i64::from(limit) + 1];
    let mapped = statement.query_map(values, map)?;
    let rows = mapped.collect::<Result<Vec<_>, _>>()?;
    let rows = rows.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(paged_with(rows, limit, |row| {
        let (at_ms, series_id) = key(row);
        TimeCursor::token(kind, &query.sla_id, at_ms, series_id)
    }))
}

pub(crate) fn counts(conn: &Connection, query: &SlaRangeQuery, timeslice_ms: i64) -> Result<SlaCounts, StoreError> {
    check_timeslice(timeslice_ms)?;
    let (from, to) = query.bounds();
    // floor(at_ms / slice) for negative times too: SQLite's `/` and `%` truncate toward zero.
    let (samples, slices): (i64, i64) = conn
        .prepare_cached(
            "SELECT count(*), count(DISTINCT (at_ms - ((at_ms % ?4) + ?4) % ?4) / ?4) FROM sla_violations \
             WHERE sla_id = ?1 AND at_ms BETWEEN ?2 AND ?3",
        )?
        .query_row(params![query.sla_id, from, to, timeslice_ms], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let episodes: i64 = conn
        .prepare_cached("SELECT count(*) FROM sla_transitions WHERE sla_id = ?1 AND at_ms BETWEEN ?2 AND ?3 AND to_status = ?4")?
        .query_row(params![query.sla_id, from, to, SlaStatus::Violated.as_str()], |row| row.get(0))?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(SlaCounts {
        violating_samples: count(samples),
        episodes: count(episodes),
        bad_slices: count(slices),
    })
}

fn labels_json(series_id: &str, labels: &Labels) -> Result<String, StoreError> {
    serde_json::to_string(labels).map_err(|error| StoreError::InvalidRow(format!("labels of {series_id}: {error}")))
}

fn parse_labels(series_id: &str, json: &str) -> Result<Labels, StoreError> {
    serde_json::from_str(json).map_err(|error| StoreError::Corrupt(format!("labels of series {series_id}: {error}")))
}

/// Retention: status rows that went `no data` before the cutoff (a series that stays ok or
/// violated sends no new status, so its row stays current), and violations and transitions that
/// happened before it; definitions stay. Returns `(status, violations, transitions)` removed.
pub(crate) fn delete_older_than(tx: &Transaction<'_>, cutoff_ms: i64) -> Result<(u64, u64, u64), StoreError> {
    let status = tx.execute(
        "DELETE FROM sla_status WHERE updated_ms < ?1 AND status = ?2",
        params![cutoff_ms, SlaStatus::NoData.as_str()],
    )?;
    let violations = tx.execute("DELETE FROM sla_violations WHERE at_ms < ?1", [cutoff_ms])?;
    let transitions = tx.execute("DELETE FROM sla_transitions WHERE at_ms < ?1", [cutoff_ms])?;
    Ok((status as u64, violations as u64, transitions as u64))
}

pub(crate) fn wipe(tx: &Transaction<'_>) -> Result<(), StoreError> {
    for table in ["sla_definitions", "sla_status", "sla_violations", "sla_transitions"] {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    Ok(())
}
