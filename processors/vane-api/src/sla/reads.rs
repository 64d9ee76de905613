//! The SLA reads: live status, violation history and forecasts as paged listings over the store
//! (through the paging engine, [`crate::listing`]), and the counts and error budget computed
//! from [`vane_store::Store::sla_counts`] at the clock's "now".

use std::collections::HashMap;
use std::future::Future;

use vane_core::sla::{Budget, burn_rate};
use vane_store::{Page, Paged, SlaDefinitionRow, SlaRangeQuery, SlaStatusRow, SlaViolationRow, Store, StoreError};

use super::SlaApi;
use super::convert;
use crate::ApiError;
use crate::listing::{Listing, Streamed};
use crate::pb;

const HOUR_MS: i64 = 3_600_000;

/// The windows of the violation counts, in the order they are answered.
pub(crate) const COUNT_WINDOWS: [(&str, i64); 4] = [("1h", HOUR_MS), ("3h", 3 * HOUR_MS), ("6h", 6 * HOUR_MS), ("12h", 12 * HOUR_MS)];

/// The burn rates' lookbacks.
const BURN_SHORT_MS: i64 = HOUR_MS;
const BURN_LONG_MS: i64 = 6 * HOUR_MS;

/// The status of every series under one SLA (or every SLA), ordered by SLA id then series id.
pub(crate) struct StatusListing {
    sla_id: Option<String>,
    /// SLA id → name, for the messages.
    names: HashMap<String, String>,
}

impl StatusListing {
    /// Under one SLA, or under every SLA (`None`; names from every definition, deleted ones too).
    pub(crate) async fn new(api: &SlaApi, sla: Option<&SlaDefinitionRow>) -> Result<StatusListing, ApiError> {
        let rows = match sla {
            Some(row) => vec![row.clone()],
            None => api.list(true).await?,
        };
        let names = rows.into_iter().map(|row| (row.definition.id, row.definition.name)).collect();
        Ok(StatusListing {
            sla_id: sla.map(|row| row.definition.id.clone()),
            names,
        })
    }

    pub(crate) fn name_of(&self, sla_id: &str) -> String {
        self.names.get(sla_id).cloned().unwrap_or_default()
    }
}

impl Listing for StatusListing {
    type Row = SlaStatusRow;

    fn fetch(&self, store: &Store, page: &Page) -> impl Future<Output = Result<Paged<SlaStatusRow>, StoreError>> + Send {
        store.list_sla_status(self.sla_id.as_deref(), page)
    }

    fn selected(&self, _row: &SlaStatusRow) -> bool {
        true
    }

    fn filtered(&self) -> bool {
        false
    }
}

impl Streamed for StatusListing {
    type Message = pb::SeriesStatus;

    fn message(&self, row: SlaStatusRow, next_page_token: String) -> pb::SeriesStatus {
        let name = self.name_of(&row.sla_id);
        convert::series_status(row, name, next_page_token)
    }
}

/// The series of one SLA that have a forecast, ordered by series id.
pub(crate) struct ForecastListing {
    sla_id: String,
}

impl ForecastListing {
    pub(crate) fn new(sla: &SlaDefinitionRow) -> ForecastListing {
        ForecastListing {
            sla_id: sla.definition.id.clone(),
        }
    }
}

impl Listing for ForecastListing {
    type Row = SlaStatusRow;

    fn fetch(&self, store: &Store, page: &Page) -> impl Future<Output = Result<Paged<SlaStatusRow>, StoreError>> + Send {
        store.list_sla_status(Some(&self.sla_id), page)
    }

    fn selected(&self, row: &SlaStatusRow) -> bool {
        row.probability.is_some()
    }

    fn filtered(&self) -> bool {
        true
    }
}

/// The violating samples of one SLA in a time range, ordered by time then series id.
pub(crate) struct ViolationListing {
    query: SlaRangeQuery,
}

impl ViolationListing {
    /// `from_ms` / `to_ms` as on the wire: 0 is unbounded; negative or reversed is refused.
    pub(crate) fn new(sla: &SlaDefinitionRow, from_ms: i64, to_ms: i64) -> Result<ViolationListing, ApiError> {
        let range = crate::analytics::TimeRange::from_pb(from_ms, to_ms)?;
        Ok(ViolationListing {
            query: SlaRangeQuery {
                sla_id: sla.definition.id.clone(),
                from_ms: range.from,
                to_ms: range.to,
            },
        })
    }
}

impl Listing for ViolationListing {
    type Row = SlaViolationRow;

    fn fetch(&self, store: &Store, page: &Page) -> impl Future<Output = Result<Paged<SlaViolationRow>, StoreError>> + Send {
        store.list_sla_violations(&self.query, page)
    }

    fn selected(&self, _row: &SlaViolationRow) -> bool {
        true
    }

    fn filtered(&self) -> bool {
        false
    }
}

impl Streamed for ViolationListing {
    type Message = pb::Violation;

    fn message(&self, row: SlaViolationRow, next_page_token: String) -> pb::Violation {
        convert::violation(row, next_page_token)
    }
}

/// `[now - window_ms, now]` of one SLA.
fn last(sla: &SlaDefinitionRow, window_ms: i64, now_ms: i64) -> SlaRangeQuery {
    SlaRangeQuery {
        sla_id: sla.definition.id.clone(),
        from_ms: Some(now_ms.saturating_sub(window_ms)),
        to_ms: Some(now_ms),
    }
}

/// Violating samples, episodes and bad slices over the last 1h, 3h, 6h and 12h.
pub(crate) async fn violation_counts(store: &Store, sla: &SlaDefinitionRow, now_ms: i64) -> Result<pb::ViolationCounts, ApiError> {
    let mut windows = Vec::with_capacity(COUNT_WINDOWS.len());
    for (name, window_ms) in COUNT_WINDOWS {
        let query = last(sla, window_ms, now_ms);
        let counts = store.sla_counts(&query, sla.definition.timeslice_ms).await?;
        windows.push(pb::WindowCounts {
            window: name.to_string(),
            from_ms: query.from_ms.unwrap_or_default(),
            to_ms: now_ms,
            violating_samples: counts.violating_samples,
            episodes: counts.episodes,
            bad_slices: counts.bad_slices,
        });
    }
    Ok(pb::ViolationCounts {
        sla_id: sla.definition.id.clone(),
        sla_name: sla.definition.name.clone(),
        as_of_ms: now_ms,
        windows,
    })
}

/// The error budget over the SLA's window and the burn rates over 1h and 6h.
pub(crate) async fn budget(store: &Store, sla: &SlaDefinitionRow, now_ms: i64) -> Result<pb::Budget, ApiError> {
    let def = &sla.definition;
    let window = store.sla_counts(&last(sla, def.budget_window_ms, now_ms), def.timeslice_ms).await?;
    let short = store.sla_counts(&last(sla, BURN_SHORT_MS, now_ms), def.timeslice_ms).await?;
    let long = store.sla_counts(&last(sla, BURN_LONG_MS, now_ms), def.timeslice_ms).await?;
    let budget = Budget::of(def, window.bad_slices);
    Ok(pb::Budget {
        sla_id: def.id.clone(),
        sla_name: def.name.clone(),
        as_of_ms: now_ms,
        budget_target: def.budget_target,
        budget_window_ms: def.budget_window_ms,
        timeslice_ms: def.timeslice_ms,
        allowed_bad_slices: budget.allowed_bad_slices,
        bad_slices: budget.bad_slices,
        remaining: budget.remaining,
        burn_rate_1h: burn_rate(def, short.bad_slices, BURN_SHORT_MS),
        burn_rate_6h: burn_rate(def, long.bad_slices, BURN_LONG_MS),
    })
}

#[cfg(test)]
mod tests {
    use vane_core::sla::SlaDefinition;

    use super::*;

    #[test]
    fn windows_end_now() {
        let row = SlaDefinitionRow {
            definition: SlaDefinition::new("id", "n", "m", None, Some(1.0), 0),
            deleted: false,
        };
        let query = last(&row, 3 * HOUR_MS, 10 * HOUR_MS);
        assert_eq!((query.from_ms, query.to_ms), (Some(7 * HOUR_MS), Some(10 * HOUR_MS)));
        assert_eq!(COUNT_WINDOWS.map(|(name, _)| name), ["1h", "3h", "6h", "12h"]);
        let range = ViolationListing::new(&row, 0, 5).unwrap().query;
        assert_eq!((range.from_ms, range.to_ms), (None, Some(5)));
        assert!(ViolationListing::new(&row, 6, 5).is_err());
    }
}
