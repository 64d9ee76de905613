//! Store rows and core types into `vane.v1` messages. The JSON API renders these same messages
//! (see `render::sla`), so gRPC, HTTP and the CLI show one shape. Pure.

use vane_core::sla::{Severity, SlaStatus};
use vane_store::{SlaDefinitionRow, SlaStatusRow, SlaViolationRow};

use crate::pb;

pub(crate) fn severity(severity: Severity) -> pb::Severity {
    match severity {
        Severity::Info => pb::Severity::Info,
        Severity::Warning => pb::Severity::Warning,
        Severity::Critical => pb::Severity::Critical,
    }
}

pub(crate) fn status(status: SlaStatus) -> pb::SlaStatus {
    match status {
        SlaStatus::Ok => pb::SlaStatus::Ok,
        SlaStatus::Pending => pb::SlaStatus::Pending,
        SlaStatus::Violated => pb::SlaStatus::Violated,
        SlaStatus::NoData => pb::SlaStatus::NoData,
    }
}

pub(crate) fn definition(row: SlaDefinitionRow) -> pb::SlaDefinition {
    let def = row.definition;
    pb::SlaDefinition {
        matchers: def.matchers.iter().map(crate::matcher::to_pb).collect(),
        severity: severity(def.severity).into(),
        id: def.id,
        name: def.name,
        metric: def.metric,
        min: def.min,
        max: def.max,
        for_ms: def.for_ms,
        recovery_margin: def.recovery_margin,
        budget_target: def.budget_target,
        budget_window_ms: def.budget_window_ms,
        timeslice_ms: def.timeslice_ms,
        chat_id: def.chat_id,
        created_at_ms: def.created_at_ms,
        updated_at_ms: def.updated_at_ms,
        revision: def.revision,
        deleted: row.deleted,
    }
}

pub(crate) fn series_status(row: SlaStatusRow, sla_name: String, next_page_token: String) -> pb::SeriesStatus {
    pb::SeriesStatus {
        status: status(row.status).into(),
        sla_id: row.sla_id,
        sla_name,
        series_id: row.series_id,
        metric: row.metric,
        labels: row.labels,
        value: row.value,
        since_ms: row.since_ms,
        updated_ms: row.updated_ms,
        probability: row.probability,
        probability_at_ms: row.probability_at_ms,
        horizon_ms: row.horizon_ms,
        likely: row.likely,
        next_page_token,
    }
}

pub(crate) fn violation(row: SlaViolationRow, next_page_token: String) -> pb::Violation {
    pb::Violation {
        sla_id: row.sla_id,
        at_ms: row.at_ms,
        series_id: row.series_id,
        metric: row.metric,
        labels: row.labels,
        value: row.value,
        next_page_token,
    }
}

/// A status row that carries a forecast; `None` when the worker has made none for the series.
pub(crate) fn series_forecast(row: SlaStatusRow) -> Option<pb::SeriesForecast> {
    Some(pb::SeriesForecast {
        probability: row.probability?,
        horizon_ms: row.horizon_ms.unwrap_or(0),
        at_ms: row.probability_at_ms.unwrap_or(row.updated_ms),
        status: status(row.status).into(),
        series_id: row.series_id,
        metric: row.metric,
        labels: row.labels,
        likely: row.likely,
    })
}

#[cfg(test)]
mod tests {
    use vane_core::sla::SlaDefinition;

    use super::*;

    #[test]
    fn a_definition_keeps_every_field() {
        let mut def = SlaDefinition::new("id-1", "memory", "node_memory_MemFree_bytes", Some(1.0), None, 7);
        def.matchers = vec![vane_core::matcher::Matcher::parse("job=~\"n.*\"").unwrap()];
        def.severity = Severity::Critical;
        def.chat_id = Some(-5);
        def.revision = 3;
        let message = definition(SlaDefinitionRow {
            definition: def,
            deleted: true,
        });
        assert_eq!(message.severity, pb::Severity::Critical as i32);
        assert_eq!(message.matchers[0].op, pb::MatchOp::Regex as i32);
        assert_eq!((message.min, message.max, message.chat_id), (Some(1.0), None, Some(-5)));
        assert_eq!((message.revision, message.created_at_ms, message.deleted), (3, 7, true));
    }

    #[test]
    fn statuses_map_one_to_one() {
        for (core, wire) in [
            (SlaStatus::Ok, pb::SlaStatus::Ok),
            (SlaStatus::Pending, pb::SlaStatus::Pending),
            (SlaStatus::Violated, pb::SlaStatus::Violated),
            (SlaStatus::NoData, pb::SlaStatus::NoData),
        ] {
            assert_eq!(status(core), wire);
        }
    }
}
