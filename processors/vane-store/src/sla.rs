//! The SLA read models: definitions (the admin's SLAs, by id and by name), the live status of
//! each series under each SLA (with its latest violation forecast), and the history of violating
//! samples and status transitions of each SLA by time, with the counts the API's budget and
//! summaries need.
//!
//! Rows are plain data; a definition is stored as the JSON of [`SlaDefinition`] next to the
//! columns it is looked up by. Status upserts carry rules (an older update never overwrites a
//! newer one, `since_ms` survives updates that keep the status) that both backends implement; see
//! `docs/store.md`. Pure: no I/O here.

use serde::{Deserialize, Serialize};
use vane_core::Labels;
use vane_core::sla::{SlaDefinition, SlaStatus};

use crate::StoreError;
use crate::model::{Cursor, Page, check_key};

/// One SLA definition as the API last wrote it (deleted ones are kept, flagged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaDefinitionRow {
    pub definition: SlaDefinition,
    pub deleted: bool,
}

/// The status of one series under one SLA, with the latest forecast of a violation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaStatusRow {
    pub sla_id: String,
    pub series_id: String,
    pub metric: String,
    pub labels: Labels,
    pub status: SlaStatus,
    /// The value that set the status (`None` for no data; a NaN value is stored as `None`).
    pub value: Option<f64>,
    /// Since when the series has had this status.
    pub since_ms: i64,
    /// Time of the status event last applied: the row's version.
    pub updated_ms: i64,
    /// Probability of a violation within `horizon_ms` of `probability_at_ms`, once forecast.
    pub probability: Option<f64>,
    pub probability_at_ms: Option<i64>,
    pub horizon_ms: Option<i64>,
    /// The forecast crossed the "violation likely" threshold.
    pub likely: bool,
}

/// A change to the status read model, applied in the order given.
#[derive(Debug, Clone, PartialEq)]
pub enum SlaStatusUpdate {
    /// A status event: upserts the row when `at_ms` is at least the stored `updated_ms`;
    /// `since_ms` becomes `at_ms` when the status differs from the stored one, else it is kept;
    /// the forecast columns are left alone. Ignored for an SLA whose definition is deleted.
    Status {
        sla_id: String,
        series_id: String,
        metric: String,
        labels: Labels,
        status: SlaStatus,
        value: Option<f64>,
        at_ms: i64,
    },
    /// A forecast: sets the forecast columns of an existing row when `at_ms` is at least the
    /// stored `probability_at_ms`; never creates a row.
    Forecast {
        sla_id: String,
        series_id: String,
        probability: f64,
        horizon_ms: i64,
        likely: bool,
        at_ms: i64,
    },
}

/// One violating sample of one series under one SLA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaViolationRow {
    pub sla_id: String,
    /// Sample time.
    pub at_ms: i64,
    pub series_id: String,
    pub metric: String,
    pub labels: Labels,
    /// The sample's value (NaN breaks every range and is kept as NaN).
    pub value: f64,
}

/// One status change of one series under one SLA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaTransitionRow {
    pub sla_id: String,
    pub at_ms: i64,
    pub series_id: String,
    pub metric: String,
    pub labels: Labels,
    pub from: Option<SlaStatus>,
    pub to: SlaStatus,
    /// The value that caused it (a NaN value is stored as `None`).
    pub value: Option<f64>,
}

/// Violations or transitions of one SLA with `from_ms ≤ at_ms ≤ to_ms` (either bound optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaRangeQuery {
    pub sla_id: String,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl SlaRangeQuery {
    pub(crate) fn bounds(&self) -> (i64, i64) {
        (self.from_ms.unwrap_or(i64::MIN), self.to_ms.unwrap_or(i64::MAX))
    }
}

/// What happened under one SLA in a time range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlaCounts {
    /// Violating samples.
    pub violating_samples: u64,
    /// Transitions to `violated`: violation episodes that started in the range.
    pub episodes: u64,
    /// Distinct time slices (`floor(at_ms / timeslice_ms)`) with at least one violating sample.
    pub bad_slices: u64,
}

impl SlaDefinitionRow {
    /// Why the store would refuse this row, if it would. Only what storing needs: the API
    /// validates the definition itself, and an older definition must stay storable when the rules
    /// grow stricter.
    pub fn validate(&self) -> Result<(), StoreError> {
        let d = &self.definition;
        if d.id.is_empty() || d.name.is_empty() {
            return Err(StoreError::InvalidRow(format!("SLA {:?} ({:?}): empty id or name", d.id, d.name)));
        }
        // JSON has no NaN or infinity: such a definition would not read back.
        let numbers = [d.min, d.max, d.recovery_margin, Some(d.budget_target)];
        if numbers.iter().flatten().any(|v| !v.is_finite()) {
            return Err(StoreError::InvalidRow(format!("SLA {}: non-finite number", d.id)));
        }
        Ok(())
    }
}

impl SlaStatusUpdate {
    pub fn sla_id(&self) -> &str {
        match self {
            SlaStatusUpdate::Status { sla_id, .. } | SlaStatusUpdate::Forecast { sla_id, .. } => sla_id,
        }
    }

    pub fn series_id(&self) -> &str {
        match self {
            SlaStatusUpdate::Status { series_id, .. } | SlaStatusUpdate::Forecast { series_id, .. } => series_id,
        }
    }

    /// Why the store would refuse this update, if it would.
    pub fn validate(&self) -> Result<(), StoreError> {
        match self {
            SlaStatusUpdate::Status {
                sla_id, series_id, metric, ..
            } => {
                check_sla_id(sla_id)?;
                check_key(series_id, metric)
            }
            SlaStatusUpdate::Forecast {
                sla_id,
                series_id,
                probability,
                ..
            } => {
                check_sla_id(sla_id)?;
                check_key(series_id, "-")?;
                if !(0.0..=1.0).contains(probability) {
                    return Err(StoreError::InvalidRow(format!(
                        "SLA {sla_id}, series {series_id}: probability {probability} is not in [0, 1]"
                    )));
                }
                Ok(())
            }
        }
    }
}

impl SlaViolationRow {
    pub fn validate(&self) -> Result<(), StoreError> {
        check_sla_id(&self.sla_id)?;
        check_key(&self.series_id, &self.metric)
    }
}

impl SlaTransitionRow {
    pub fn validate(&self) -> Result<(), StoreError> {
        check_sla_id(&self.sla_id)?;
        check_key(&self.series_id, &self.metric)
    }
}

fn check_sla_id(sla_id: &str) -> Result<(), StoreError> {
    if sla_id.is_empty() {
        return Err(StoreError::InvalidRow("empty SLA id".to_string()));
    }
    Ok(())
}

/// Two live SLAs share a name only after a race between two creations; the first created wins,
/// the same on both backends.
pub(crate) fn first_created(definition: &SlaDefinition) -> (i64, &str) {
    (definition.created_at_ms, definition.id.as_str())
}

/// A stored definition: its JSON and the deleted flag.
pub(crate) fn definition_row(json: &str, deleted: bool) -> Result<SlaDefinitionRow, StoreError> {
    let definition = serde_json::from_str(json).map_err(|error| StoreError::Corrupt(format!("SLA definition: {error}")))?;
    Ok(SlaDefinitionRow { definition, deleted })
}

/// A stored status text.
pub(crate) fn parse_status(text: &str) -> Result<SlaStatus, StoreError> {
    SlaStatus::parse(text).map_err(|_| StoreError::Corrupt(format!("unknown SLA status {text:?}")))
}

/// SQLite turns a NaN into NULL: store `Some(NaN)` as `None` on both backends alike.
pub(crate) fn finite_or_none(value: Option<f64>) -> Option<f64> {
    value.filter(|v| !v.is_nan())
}

/// `floor(at_ms / timeslice_ms)`, the time slice of a sample.
pub(crate) fn slice_of(at_ms: i64, timeslice_ms: i64) -> i64 {
    at_ms.div_euclid(timeslice_ms.max(1))
}

pub(crate) fn check_timeslice(timeslice_ms: i64) -> Result<(), StoreError> {
    if timeslice_ms <= 0 {
        return Err(StoreError::InvalidQuery(format!(
            "time slice must be positive, got {timeslice_ms} ms"
        )));
    }
    Ok(())
}

/// Token kinds of the SLA listings (see [`crate::model`] for the others).
pub(crate) const SLA_STATUS_TOKEN: char = 'q';
pub(crate) const SLA_VIOLATION_TOKEN: char = 'v';
pub(crate) const SLA_TRANSITION_TOKEN: char = 't';

/// Where a page of status rows starts: strictly after `(sla_id, series_id)`. With one SLA asked
/// for, a token of another SLA is refused.
pub(crate) fn status_cursor(sla_id: Option<&str>, page: &Page) -> Result<Cursor, StoreError> {
    let mut cursor = Cursor::decode(page, SLA_STATUS_TOKEN)?;
    if let Some(sla_id) = sla_id {
        if page.after.is_none() {
            cursor.group = sla_id.to_string();
        } else if cursor.group != sla_id {
            return Err(StoreError::InvalidPage(format!(
                "token is for SLA {:?}, not {sla_id:?}",
                cursor.group
            )));
        }
    }
    Ok(cursor)
}

pub(crate) fn status_token(row: &SlaStatusRow) -> String {
    Cursor {
        group: row.sla_id.clone(),
        series_id: row.series_id.clone(),
    }
    .encode(SLA_STATUS_TOKEN)
}

/// Where a page of violations or transitions starts: strictly after `(at_ms, series_id)` of one
/// SLA. Token `<kind>.<hex SLA id>.<series id>.<at_ms>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimeCursor {
    pub at_ms: i64,
    pub series_id: String,
}

impl TimeCursor {
    pub(crate) fn token(kind: char, sla_id: &str, at_ms: i64, series_id: &str) -> String {
        let cursor = Cursor {
            group: sla_id.to_string(),
            series_id: series_id.to_string(),
        };
        format!("{}.{at_ms}", cursor.encode(kind))
    }

    pub(crate) fn decode(kind: char, query: &SlaRangeQuery, page: &Page) -> Result<TimeCursor, StoreError> {
        let Some(token) = &page.after else {
            return Ok(TimeCursor {
                at_ms: i64::MIN,
                series_id: String::new(),
            });
        };
        let bad = || StoreError::InvalidPage(format!("malformed page token {token:?}"));
        let (rest, at) = token.rsplit_once('.').ok_or_else(bad)?;
        let at_ms = at.parse::<i64>().map_err(|_| bad())?;
        let cursor = Cursor::parse(rest, kind)?;
        if cursor.group != query.sla_id {
            return Err(StoreError::InvalidPage(format!(
                "token is for SLA {:?}, not {:?}",
                cursor.group, query.sla_id
            )));
        }
        Ok(TimeCursor {
            at_ms,
            series_id: cursor.series_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_cursors_round_trip_per_kind_and_sla() {
        let query = SlaRangeQuery {
            sla_id: "0b0e-ü".into(),
            ..SlaRangeQuery::default()
        };
        for at in [i64::MIN, -5, 0, 1_700_000_000_000, i64::MAX] {
            let token = TimeCursor::token(SLA_VIOLATION_TOKEN, &query.sla_id, at, "00ff00ff00ff00ff");
            assert!(token.is_ascii());
            let cursor = TimeCursor::decode(SLA_VIOLATION_TOKEN, &query, &Page::after(1, token.clone())).unwrap();
            assert_eq!((cursor.at_ms, cursor.series_id.as_str()), (at, "00ff00ff00ff00ff"));
            assert!(TimeCursor::decode(SLA_TRANSITION_TOKEN, &query, &Page::after(1, token.clone())).is_err());
            let other = SlaRangeQuery {
                sla_id: "other".into(),
                ..query.clone()
            };
            assert!(TimeCursor::decode(SLA_VIOLATION_TOKEN, &other, &Page::after(1, token)).is_err());
        }
        let start = TimeCursor::decode(SLA_VIOLATION_TOKEN, &query, &Page::first(1)).unwrap();
        assert_eq!((start.at_ms, start.series_id.as_str()), (i64::MIN, ""));
    }

    #[test]
    fn slices_floor_negative_times() {
        assert_eq!(slice_of(59_999, 60_000), 0);
        assert_eq!(slice_of(60_000, 60_000), 1);
        assert_eq!(slice_of(-1, 60_000), -1);
        assert!(check_timeslice(0).is_err());
    }

    #[test]
    fn forecasts_outside_zero_one_are_refused() {
        let forecast = |probability| SlaStatusUpdate::Forecast {
            sla_id: "s".into(),
            series_id: "00000000000000ab".into(),
            probability,
            horizon_ms: 600_000,
            likely: false,
            at_ms: 0,
        };
        assert!(forecast(0.5).validate().is_ok());
        assert!(forecast(f64::NAN).validate().is_err());
        assert!(forecast(1.5).validate().is_err());
        let mut definition = SlaDefinitionRow {
            definition: SlaDefinition::new("id", "name", "up", None, Some(1.0), 0),
            deleted: false,
        };
        assert!(definition.validate().is_ok());
        definition.definition.min = Some(f64::NEG_INFINITY);
        assert!(definition.validate().is_err());
    }
}
