//! The JSON of the SLA manager, one shape for the HTTP API and for `--json` in the CLI: built
//! from the `vane.v1` messages. Times are Unix milliseconds (`created_at`, `since`, `at`, ...),
//! durations are text as the flags take them (`"1m"`, `"30d"`), matchers are PromQL text
//! (`job="node"`). A definition's JSON is also what `POST`/`PUT /api/v1/slas` accept. Pure.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::pb;

/// `"1m"`, `"30d"`, `"1h30m"`; a negative duration (never written by vane) as `"-5ms"`.
pub(crate) fn duration_text(ms: i64) -> String {
    match u64::try_from(ms) {
        Ok(ms) => vane_core::time::format_duration(Duration::from_millis(ms)),
        Err(_) => format!("{ms}ms"),
    }
}

pub(crate) fn severity_text(severity: i32) -> &'static str {
    match pb::Severity::try_from(severity) {
        Ok(pb::Severity::Info) => "info",
        Ok(pb::Severity::Warning) => "warning",
        Ok(pb::Severity::Critical) => "critical",
        Ok(pb::Severity::Unspecified) | Err(_) => "unspecified",
    }
}

pub(crate) fn status_text(status: i32) -> &'static str {
    match pb::SlaStatus::try_from(status) {
        Ok(pb::SlaStatus::Ok) => "ok",
        Ok(pb::SlaStatus::Pending) => "pending",
        Ok(pb::SlaStatus::Violated) => "violated",
        Ok(pb::SlaStatus::NoData) => "no_data",
        Ok(pb::SlaStatus::Unspecified) | Err(_) => "unspecified",
    }
}

/// `job="node"`; a matcher with an op this client does not know shows the op's number.
pub(crate) fn matcher_text(matcher: &pb::LabelMatcher) -> String {
    match crate::matcher::from_pb(matcher) {
        Ok(matcher) => matcher.to_string(),
        Err(_) => format!("{}<op {}>{:?}", matcher.name, matcher.op, matcher.value),
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct DefinitionJson<'a> {
    id: &'a str,
    name: &'a str,
    metric: &'a str,
    matchers: Vec<String>,
    min: Option<f64>,
    max: Option<f64>,
    #[serde(rename = "for")]
    for_: String,
    recovery_margin: Option<f64>,
    severity: &'static str,
    budget_target: f64,
    budget_window: String,
    timeslice: String,
    chat_id: Option<i64>,
    created_at: i64,
    updated_at: i64,
    revision: i64,
    deleted: bool,
}

pub(crate) fn definition(row: &pb::SlaDefinition) -> DefinitionJson<'_> {
    DefinitionJson {
        id: &row.id,
        name: &row.name,
        metric: &row.metric,
        matchers: row.matchers.iter().map(matcher_text).collect(),
        min: row.min,
        max: row.max,
        for_: duration_text(row.for_ms),
        recovery_margin: row.recovery_margin,
        severity: severity_text(row.severity),
        budget_target: row.budget_target,
        budget_window: duration_text(row.budget_window_ms),
        timeslice: duration_text(row.timeslice_ms),
        chat_id: row.chat_id,
        created_at: row.created_at_ms,
        updated_at: row.updated_at_ms,
        revision: row.revision,
        deleted: row.deleted,
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct StatusJson<'a> {
    sla_id: &'a str,
    sla: &'a str,
    series_id: &'a str,
    metric: &'a str,
    labels: &'a BTreeMap<String, String>,
    status: &'static str,
    value: Option<f64>,
    since: i64,
    updated: i64,
    probability: Option<f64>,
    probability_at: Option<i64>,
    horizon: Option<String>,
    likely: bool,
}

pub(crate) fn status(row: &pb::SeriesStatus) -> StatusJson<'_> {
    StatusJson {
        sla_id: &row.sla_id,
        sla: &row.sla_name,
        series_id: &row.series_id,
        metric: &row.metric,
        labels: &row.labels,
        status: status_text(row.status),
        value: row.value,
        since: row.since_ms,
        updated: row.updated_ms,
        probability: row.probability,
        probability_at: row.probability_at_ms,
        horizon: row.horizon_ms.map(duration_text),
        likely: row.likely,
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ViolationJson<'a> {
    sla_id: &'a str,
    at: i64,
    series_id: &'a str,
    metric: &'a str,
    labels: &'a BTreeMap<String, String>,
    value: f64,
}

pub(crate) fn violation(row: &pb::Violation) -> ViolationJson<'_> {
    ViolationJson {
        sla_id: &row.sla_id,
        at: row.at_ms,
        series_id: &row.series_id,
        metric: &row.metric,
        labels: &row.labels,
        value: row.value,
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct WindowCountsJson<'a> {
    window: &'a str,
    from: i64,
    to: i64,
    violating_samples: u64,
    episodes: u64,
    bad_slices: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct CountsJson<'a> {
    sla_id: &'a str,
    sla: &'a str,
    as_of: i64,
    windows: Vec<WindowCountsJson<'a>>,
}

pub(crate) fn counts(row: &pb::ViolationCounts) -> CountsJson<'_> {
    CountsJson {
        sla_id: &row.sla_id,
        sla: &row.sla_name,
        as_of: row.as_of_ms,
        windows: row
            .windows
            .iter()
            .map(|window| WindowCountsJson {
                window: &window.window,
                from: window.from_ms,
                to: window.to_ms,
                violating_samples: window.violating_samples,
                episodes: window.episodes,
                bad_slices: window.bad_slices,
            })
            .collect(),
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct BudgetJson<'a> {
    sla_id: &'a str,
    sla: &'a str,
    as_of: i64,
    budget_target: f64,
    budget_window: String,
    timeslice: String,
    allowed_bad_slices: f64,
    bad_slices: u64,
    remaining: f64,
    burn_rate_1h: f64,
    burn_rate_6h: f64,
}

pub(crate) fn budget(row: &pb::Budget) -> BudgetJson<'_> {
    BudgetJson {
        sla_id: &row.sla_id,
        sla: &row.sla_name,
        as_of: row.as_of_ms,
        budget_target: row.budget_target,
        budget_window: duration_text(row.budget_window_ms),
        timeslice: duration_text(row.timeslice_ms),
        allowed_bad_slices: row.allowed_bad_slices,
        bad_slices: row.bad_slices,
        remaining: row.remaining,
        burn_rate_1h: row.burn_rate_1h,
        burn_rate_6h: row.burn_rate_6h,
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ForecastJson<'a> {
    sla_id: &'a str,
    sla: &'a str,
    series_id: &'a str,
    metric: &'a str,
    labels: &'a BTreeMap<String, String>,
    status: &'static str,
    probability: f64,
    horizon: String,
    likely: bool,
    at: i64,
}

pub(crate) fn forecasts(reply: &pb::ViolationForecast) -> Vec<ForecastJson<'_>> {
    reply
        .rows
        .iter()
        .map(|row| ForecastJson {
            sla_id: &reply.sla_id,
            sla: &reply.sla_name,
            series_id: &row.series_id,
            metric: &row.metric,
            labels: &row.labels,
            status: status_text(row.status),
            probability: row.probability,
            horizon: duration_text(row.horizon_ms),
            likely: row.likely,
            at: row.at_ms,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_enums_read_as_people_write_them() {
        assert_eq!(duration_text(60_000), "1m");
        assert_eq!(duration_text(30 * 86_400_000), "30d");
        assert_eq!(duration_text(0), "0s");
        assert_eq!(duration_text(-5), "-5ms");
        assert_eq!(severity_text(pb::Severity::Critical as i32), "critical");
        assert_eq!(status_text(pb::SlaStatus::NoData as i32), "no_data");
        assert_eq!(status_text(42), "unspecified");
        let matcher = pb::LabelMatcher {
            name: "job".into(),
            op: pb::MatchOp::Regex as i32,
            value: "node.*".into(),
        };
        assert_eq!(matcher_text(&matcher), "job=~\"node.*\"");
    }

    #[test]
    fn a_definitions_json_parses_back_as_a_request_body() {
        let message = pb::SlaDefinition {
            id: "3f0c1d9e-0000-4000-8000-000000000001".into(),
            name: "memory".into(),
            metric: "m".into(),
            matchers: vec![pb::LabelMatcher {
                name: "job".into(),
                op: pb::MatchOp::Equal as i32,
                value: "node".into(),
            }],
            max: Some(5.0),
            for_ms: 90_000,
            severity: pb::Severity::Info as i32,
            budget_target: 0.95,
            budget_window_ms: 86_400_000,
            timeslice_ms: 60_000,
            revision: 2,
            ..Default::default()
        };
        let text = serde_json::to_vec(&definition(&message)).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(value["for"], "1m30s");
        assert_eq!(value["matchers"][0], "job=\"node\"");
        assert!(value["min"].is_null());
        let spec = crate::sla::spec::SlaJson::parse(&text).unwrap().into_spec().unwrap();
        assert_eq!(spec.for_ms, Some(90_000));
        assert_eq!(spec.budget_window_ms, Some(86_400_000));
        assert_eq!(spec.matchers.len(), 1);
        assert_eq!((spec.min, spec.max), (None, Some(5.0)));
    }
}
