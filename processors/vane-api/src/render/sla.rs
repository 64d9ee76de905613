//! What `vane sla ...` and `vane query sla|violations|budget` print: the JSON of
//! [`super::sla_json`] with `--json` (an object for one definition, an array otherwise), aligned
//! tables for people (times in RFC 3339). Pure: no I/O.

use std::collections::BTreeMap;

use vane_core::time::format_rfc3339;

use super::sla_json::{self, duration_text, matcher_text, severity_text, status_text};
use super::{Align, Table, labels_text, number};
use crate::{ApiError, pb};

fn to_json(value: &impl serde::Serialize) -> Result<String, ApiError> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// `node_load1{job="node"}`, or the bare metric without labels.
fn series_name(metric: &str, labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        metric.to_string()
    } else {
        format!("{metric}{}", labels_text(labels))
    }
}

/// `node_load1{job="node", env!=""}`: the metric and its matchers.
fn selector_text(row: &pb::SlaDefinition) -> String {
    if row.matchers.is_empty() {
        return row.metric.clone();
    }
    let matchers: Vec<String> = row.matchers.iter().map(matcher_text).collect();
    format!("{}{{{}}}", row.metric, matchers.join(", "))
}

/// `[0, 100]`, `[-∞, 5]`: the allowed range, bounds inclusive.
fn range_text(min: Option<f64>, max: Option<f64>) -> String {
    let lo = min.map_or_else(|| "-∞".to_string(), number);
    let hi = max.map_or_else(|| "+∞".to_string(), number);
    format!("[{lo}, {hi}]")
}

fn optional(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), number)
}

/// One definition: a JSON object, or a table of one row.
pub(crate) fn definition(row: &pb::SlaDefinition, json: bool) -> Result<String, ApiError> {
    if json {
        return to_json(&sla_json::definition(row));
    }
    Ok(definitions_table(std::slice::from_ref(row)))
}

/// A list of definitions: a JSON array, or a table.
pub(crate) fn definitions(rows: &[pb::SlaDefinition], json: bool) -> Result<String, ApiError> {
    if json {
        let objects: Vec<_> = rows.iter().map(sla_json::definition).collect();
        return to_json(&objects);
    }
    if rows.is_empty() {
        return Ok("no SLAs defined; create one with `vane sla create --name NAME --metric METRIC --max X`\n".to_string());
    }
    Ok(definitions_table(rows))
}

fn definitions_table(rows: &[pb::SlaDefinition]) -> String {
    let mut table = Table::new(&[
        ("NAME", Align::Left),
        ("ID", Align::Left),
        ("SELECTOR", Align::Left),
        ("RANGE", Align::Left),
        ("FOR", Align::Right),
        ("SEVERITY", Align::Left),
        ("BUDGET", Align::Left),
        ("CHAT", Align::Right),
        ("REV", Align::Right),
    ]);
    for row in rows {
        let mut name = row.name.clone();
        if row.deleted {
            name.push_str(" (deleted)");
        }
        let mut range = range_text(row.min, row.max);
        if let Some(margin) = row.recovery_margin {
            range.push_str(&format!(" ±{}", number(margin)));
        }
        table.push(vec![
            name,
            row.id.clone(),
            selector_text(row),
            range,
            duration_text(row.for_ms),
            severity_text(row.severity).to_string(),
            format!(
                "{}% of {} slices over {}",
                number(row.budget_target * 100.0),
                duration_text(row.timeslice_ms),
                duration_text(row.budget_window_ms)
            ),
            row.chat_id.map_or_else(|| "-".to_string(), |id| id.to_string()),
            row.revision.to_string(),
        ]);
    }
    table.render()
}

pub(crate) fn status(rows: &[pb::SeriesStatus], json: bool) -> Result<String, ApiError> {
    if json {
        let objects: Vec<_> = rows.iter().map(sla_json::status).collect();
        return to_json(&objects);
    }
    if rows.is_empty() {
        return Ok("no series under the SLA yet (the SLA worker reports a series at its first sample)\n".to_string());
    }
    let mut table = Table::new(&[
        ("SLA", Align::Left),
        ("SERIES", Align::Left),
        ("STATUS", Align::Left),
        ("VALUE", Align::Right),
        ("SINCE", Align::Left),
        ("P(VIOLATION)", Align::Right),
        ("WITHIN", Align::Right),
    ]);
    for row in rows {
        let likely = if row.likely { " likely" } else { "" };
        table.push(vec![
            row.sla_name.clone(),
            series_name(&row.metric, &row.labels),
            status_text(row.status).to_string(),
            optional(row.value),
            format_rfc3339(row.since_ms),
            row.probability
                .map_or_else(|| "-".to_string(), |p| format!("{}{likely}", number(p))),
            row.horizon_ms.map_or_else(|| "-".to_string(), duration_text),
        ]);
    }
    Ok(table.render())
}

pub(crate) fn violations(rows: &[pb::Violation], json: bool) -> Result<String, ApiError> {
    if json {
        let objects: Vec<_> = rows.iter().map(sla_json::violation).collect();
        return to_json(&objects);
    }
    if rows.is_empty() {
        return Ok("no violations in the range\n".to_string());
    }
    let mut table = Table::new(&[("TIME", Align::Left), ("SERIES", Align::Left), ("VALUE", Align::Right)]);
    for row in rows {
        table.push(vec![
            format_rfc3339(row.at_ms),
            series_name(&row.metric, &row.labels),
            number(row.value),
        ]);
    }
    Ok(table.render())
}

/// One row per SLA and window: violating samples, episodes and bad time slices.
pub(crate) fn counts(rows: &[pb::ViolationCounts], json: bool) -> Result<String, ApiError> {
    if json {
        let objects: Vec<_> = rows.iter().map(sla_json::counts).collect();
        return to_json(&objects);
    }
    if rows.is_empty() {
        return Ok("no SLAs defined\n".to_string());
    }
    let mut table = Table::new(&[
        ("SLA", Align::Left),
        ("WINDOW", Align::Right),
        ("VIOLATING SAMPLES", Align::Right),
        ("EPISODES", Align::Right),
        ("BAD SLICES", Align::Right),
    ]);
    for row in rows {
        for window in &row.windows {
            table.push(vec![
                row.sla_name.clone(),
                window.window.clone(),
                window.violating_samples.to_string(),
                window.episodes.to_string(),
                window.bad_slices.to_string(),
            ]);
        }
    }
    Ok(table.render())
}

pub(crate) fn budgets(rows: &[pb::Budget], json: bool) -> Result<String, ApiError> {
    if json {
        let objects: Vec<_> = rows.iter().map(sla_json::budget).collect();
        return to_json(&objects);
    }
    if rows.is_empty() {
        return Ok("no SLAs defined\n".to_string());
    }
    let mut table = Table::new(&[
        ("SLA", Align::Left),
        ("TARGET", Align::Right),
        ("WINDOW", Align::Right),
        ("SLICE", Align::Right),
        ("ALLOWED BAD", Align::Right),
        ("BAD", Align::Right),
        ("REMAINING", Align::Right),
        ("BURN 1H", Align::Right),
        ("BURN 6H", Align::Right),
    ]);
    for row in rows {
        table.push(vec![
            row.sla_name.clone(),
            format!("{}%", number(row.budget_target * 100.0)),
            duration_text(row.budget_window_ms),
            duration_text(row.timeslice_ms),
            number(row.allowed_bad_slices),
            row.bad_slices.to_string(),
            format!("{}%", number(row.remaining * 100.0)),
            number(row.burn_rate_1h),
            number(row.burn_rate_6h),
        ]);
    }
    Ok(table.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition_row(deleted: bool) -> pb::SlaDefinition {
        pb::SlaDefinition {
            id: "3f0c1d9e-0000-4000-8000-000000000001".into(),
            name: "memory".into(),
            metric: "node_memory_MemFree_bytes".into(),
            matchers: vec![pb::LabelMatcher {
                name: "job".into(),
                op: pb::MatchOp::Equal as i32,
                value: "node".into(),
            }],
            max: Some(1e9),
            for_ms: 60_000,
            severity: pb::Severity::Warning as i32,
            budget_target: 0.99,
            budget_window_ms: 30 * 86_400_000,
            timeslice_ms: 60_000,
            revision: 1,
            deleted,
            ..Default::default()
        }
    }

    #[test]
    fn definitions_print_as_a_table_or_json() {
        let text = definitions(&[definition_row(false), definition_row(true)], false).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("NAME"));
        assert!(lines[1].contains("node_memory_MemFree_bytes{job=\"node\"}"), "{text}");
        assert!(lines[1].contains("[-∞, 1000000000]"), "{text}");
        assert!(lines[1].contains("99% of 1m slices over 30d"), "{text}");
        assert!(lines[2].contains("memory (deleted)"));
        let json: serde_json::Value = serde_json::from_str(&definition(&definition_row(false), true).unwrap()).unwrap();
        assert_eq!(json["name"], "memory");
        assert_eq!(json["for"], "1m");
        assert!(definitions(&[], false).unwrap().contains("vane sla create"));
        assert_eq!(definitions(&[], true).unwrap().trim(), "[]");
    }

    #[test]
    fn status_and_violations_show_series_and_times() {
        let status_row = pb::SeriesStatus {
            sla_name: "memory".into(),
            metric: "m".into(),
            labels: [("job".to_string(), "node".to_string())].into(),
            status: pb::SlaStatus::Violated as i32,
            value: Some(2.5),
            since_ms: 1_000,
            probability: Some(0.75),
            horizon_ms: Some(600_000),
            likely: true,
            ..Default::default()
        };
        let text = status(std::slice::from_ref(&status_row), false).unwrap();
        assert!(
            text.contains("violated") && text.contains("0.75 likely") && text.contains("10m"),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&status(&[status_row], true).unwrap()).unwrap();
        assert_eq!(json[0]["status"], "violated");
        assert_eq!(json[0]["labels"]["job"], "node");
        assert_eq!(json[0]["horizon"], "10m");
        let violation = pb::Violation {
            at_ms: 2_000,
            metric: "m".into(),
            value: 7.0,
            ..Default::default()
        };
        let text = violations(std::slice::from_ref(&violation), false).unwrap();
        assert!(text.contains("1970-01-01T00:00:02.000Z"), "{text}");
        let json: serde_json::Value = serde_json::from_str(&violations(&[violation], true).unwrap()).unwrap();
        assert_eq!(json[0]["at"], 2_000);
        assert_eq!(json[0]["value"], 7.0);
    }

    #[test]
    fn counts_list_every_window() {
        let window = |name: &str, samples: u64| pb::WindowCounts {
            window: name.into(),
            from_ms: 0,
            to_ms: 1,
            violating_samples: samples,
            episodes: 1,
            bad_slices: 2,
        };
        let row = pb::ViolationCounts {
            sla_id: "id".into(),
            sla_name: "memory".into(),
            as_of_ms: 1,
            windows: vec![window("1h", 3), window("12h", 9)],
        };
        let text = counts(std::slice::from_ref(&row), false).unwrap();
        assert!(text.contains("memory") && text.contains("12h") && text.contains('9'), "{text}");
        let json: serde_json::Value = serde_json::from_str(&counts(&[row], true).unwrap()).unwrap();
        assert_eq!(json[0]["windows"][1]["violating_samples"], 9);
    }

    #[test]
    fn budgets_show_percentages() {
        let row = pb::Budget {
            sla_name: "memory".into(),
            budget_target: 0.99,
            budget_window_ms: 86_400_000,
            timeslice_ms: 60_000,
            allowed_bad_slices: 14.4,
            bad_slices: 36,
            remaining: -1.5,
            burn_rate_1h: 10.0,
            ..Default::default()
        };
        let text = budgets(std::slice::from_ref(&row), false).unwrap();
        assert!(text.contains("99%") && text.contains("-150%") && text.contains("14.4"), "{text}");
        let json: serde_json::Value = serde_json::from_str(&budgets(&[row], true).unwrap()).unwrap();
        assert_eq!(json[0]["budget_window"], "1d");
        assert_eq!(json[0]["remaining"], -1.5);
    }
}
