//! What `vane query` prints: the JSON contract (one array, one object per row, times in Unix
//! milliseconds) and aligned tables for people (times in RFC 3339). This file renders the series
//! catalog and the aggregates and holds the table helpers; [`analytics`] renders the analytics.
//! Pure: no I/O.

pub(crate) mod analytics;
mod analytics_json;
pub(crate) mod sla;
pub(crate) mod sla_json;

use std::collections::BTreeMap;

use serde::Serialize;
use vane_core::time::format_rfc3339;

use crate::{ApiError, pb};

#[derive(Serialize)]
struct SeriesJson<'a> {
    series_id: &'a str,
    metric: &'a str,
    labels: &'a BTreeMap<String, String>,
    first_seen: i64,
    last_seen: i64,
}

#[derive(Serialize)]
struct AggregateJson<'a> {
    series_id: &'a str,
    metric: &'a str,
    labels: &'a BTreeMap<String, String>,
    window: &'a str,
    max: f64,
    min: f64,
    mean: f64,
    std: Option<f64>,
    count: u64,
    first: i64,
    last: i64,
    as_of: i64,
}

pub(crate) fn series_json(rows: &[pb::SeriesInfo]) -> Result<String, ApiError> {
    let objects: Vec<SeriesJson<'_>> = rows
        .iter()
        .map(|row| SeriesJson {
            series_id: &row.series_id,
            metric: &row.metric,
            labels: &row.labels,
            first_seen: row.first_seen_ms,
            last_seen: row.last_seen_ms,
        })
        .collect();
    Ok(serde_json::to_string_pretty(&objects)? + "\n")
}

pub(crate) fn aggregates_json(rows: &[pb::Aggregate]) -> Result<String, ApiError> {
    let objects: Vec<AggregateJson<'_>> = rows
        .iter()
        .map(|row| AggregateJson {
            series_id: &row.series_id,
            metric: &row.metric,
            labels: &row.labels,
            window: &row.window,
            max: row.max,
            min: row.min,
            mean: row.mean,
            std: row.std,
            count: row.count,
            first: row.first_ms,
            last: row.last_ms,
            as_of: row.as_of_ms,
        })
        .collect();
    Ok(serde_json::to_string_pretty(&objects)? + "\n")
}

pub(crate) fn series_table(rows: &[pb::SeriesInfo]) -> String {
    if rows.is_empty() {
        return "no series match\n".to_string();
    }
    let mut table = Table::new(&[
        ("METRIC", Align::Left),
        ("LABELS", Align::Left),
        ("FIRST SEEN", Align::Left),
        ("LAST SEEN", Align::Left),
    ]);
    for row in rows {
        table.push(vec![
            row.metric.clone(),
            labels_text(&row.labels),
            format_rfc3339(row.first_seen_ms),
            format_rfc3339(row.last_seen_ms),
        ]);
    }
    table.render()
}

pub(crate) fn aggregates_table(rows: &[pb::Aggregate]) -> String {
    if rows.is_empty() {
        return "no aggregates match\n".to_string();
    }
    let mut table = Table::new(&[
        ("METRIC", Align::Left),
        ("LABELS", Align::Left),
        ("WINDOW", Align::Left),
        ("COUNT", Align::Right),
        ("MIN", Align::Right),
        ("MAX", Align::Right),
        ("MEAN", Align::Right),
        ("STD", Align::Right),
        ("LAST SAMPLE", Align::Left),
    ]);
    for row in rows {
        table.push(vec![
            row.metric.clone(),
            labels_text(&row.labels),
            row.window.clone(),
            row.count.to_string(),
            number(row.min),
            number(row.max),
            number(row.mean),
            row.std.map(number).unwrap_or_else(|| "-".to_string()),
            format_rfc3339(row.last_ms),
        ]);
    }
    table.render()
}

/// Up to 6 significant digits, without trailing zeros; plain integers stay plain.
pub(crate) fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let magnitude = if value == 0.0 { 0 } else { value.abs().log10().floor() as i32 };
    if !(-4..15).contains(&magnitude) {
        return format!("{value:.5e}");
    }
    let decimals = usize::try_from(5 - magnitude).unwrap_or(0);
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// `{job="node", mode="idle"}` (values escaped as Rust strings), `{}` for none.
pub(crate) fn labels_text(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(name, value)| format!("{name}={value:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

#[derive(Clone, Copy)]
pub(crate) enum Align {
    Left,
    Right,
}

/// Columns padded to their widest cell, two spaces apart.
pub(crate) struct Table {
    headers: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(headers: &[(&'static str, Align)]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    pub(crate) fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|(name, _)| name.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.headers.iter().map(|(name, _)| (*name).to_string()).collect();
        for cells in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for ((cell, width), (_, align)) in cells.iter().zip(&widths).zip(&self.headers) {
                if !line.is_empty() {
                    line.push_str("  ");
                }
                match align {
                    Align::Left => line.push_str(&format!("{cell:<width$}")),
                    Align::Right => line.push_str(&format!("{cell:>width$}")),
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aggregate(std: Option<f64>) -> pb::Aggregate {
        pb::Aggregate {
            series_id: "00000000000000ab".into(),
            metric: "node_load1".into(),
            labels: [("job".to_string(), "node".to_string())].into(),
            window: "1h".into(),
            max: 2.5,
            min: 0.125,
            mean: 1.0,
            std,
            count: 3,
            first_ms: 1_000,
            last_ms: 2_000,
            as_of_ms: 2_000,
            next_page_token: "ignored".into(),
        }
    }

    #[test]
    fn aggregate_json_has_the_contracts_fields() {
        let text = aggregates_json(&[aggregate(None), aggregate(Some(0.5))]).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let rows = value.as_array().unwrap();
        assert_eq!(rows.len(), 2);
        let first = rows[0].as_object().unwrap();
        let keys: Vec<&str> = first.keys().map(String::as_str).collect();
        for key in [
            "series_id",
            "metric",
            "labels",
            "window",
            "max",
            "min",
            "mean",
            "std",
            "count",
            "first",
            "last",
            "as_of",
        ] {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
        assert!(!keys.contains(&"next_page_token"));
        assert!(first["std"].is_null());
        assert_eq!(rows[1]["std"], 0.5);
        assert_eq!(first["labels"]["job"], "node");
        assert_eq!(first["last"], 2_000);
    }

    #[test]
    fn empty_results_are_an_empty_array_or_a_sentence() {
        assert_eq!(series_json(&[]).unwrap().trim(), "[]");
        assert_eq!(series_table(&[]), "no series match\n");
    }

    #[test]
    fn tables_align_their_columns() {
        let mut wide = aggregate(Some(0.5));
        wide.metric = "a_much_longer_metric_name".into();
        let text = aggregates_table(&[aggregate(None), wide]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let column = |line: &str| line.find("{job").unwrap();
        assert_eq!(column(lines[1]), column(lines[2]));
        assert!(lines[0].starts_with("METRIC"));
        assert!(lines[1].contains("1970-01-01T00:00:02.000Z"));
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.125), "0.125");
        assert_eq!(number(1.0 / 3.0), "0.333333");
        assert_eq!(number(123456.789), "123457");
        assert_eq!(number(-2.5), "-2.5");
        assert_eq!(number(1e-9), "1.00000e-9");
        assert_eq!(number(0.0), "0");
    }
}
