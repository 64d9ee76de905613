//! What `vane query stationarity|decomposition|trend|autocorrelation|forecast` prints: the JSON
//! of [`super::analytics_json`] with `--json`, tables for people otherwise. Stationarity is one
//! table, one line per analysis; the other parts are per point or per lag, so each series gets a
//! heading line (saying why the part is missing, when it is) and its own table. Pure: no I/O.

use std::collections::BTreeMap;

use vane_core::time::format_rfc3339;

use super::analytics_json;
use super::{Align, Table, labels_text, number};
use crate::{ApiError, pb};

/// `node_load1{job="node"}`, or the bare metric without labels.
fn series_name(metric: &str, labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        metric.to_string()
    } else {
        format!("{metric}{}", labels_text(labels))
    }
}

const NO_ROWS: &str = "no analyses match\n";

pub(crate) fn stationarity(rows: &[pb::Stationarity], json: bool) -> Result<String, ApiError> {
    if json {
        return analytics_json::stationarity(rows);
    }
    if rows.is_empty() {
        return Ok(NO_ROWS.to_string());
    }
    let mut table = Table::new(&[
        ("METRIC", Align::Left),
        ("LABELS", Align::Left),
        ("ANALYZED", Align::Left),
        ("POINTS", Align::Right),
        ("STATISTIC", Align::Right),
        ("P-VALUE", Align::Right),
        ("LAG", Align::Right),
        ("CRIT 5%", Align::Right),
        ("STATIONARY", Align::Left),
        ("MISSING", Align::Left),
    ]);
    for row in rows {
        let mut cells = vec![
            row.metric.clone(),
            labels_text(&row.labels),
            format_rfc3339(row.analyzed_at_ms),
            row.points_count.to_string(),
        ];
        if row.missing.is_empty() {
            cells.extend([
                number(row.statistic),
                number(row.pvalue),
                row.used_lag.to_string(),
                number(row.critical_5pct),
                if row.stationary { "yes" } else { "no" }.to_string(),
                String::new(),
            ]);
        } else {
            cells.extend(["-", "-", "-", "-", "-"].map(String::from));
            cells.push(row.missing.clone());
        }
        table.push(cells);
    }
    Ok(table.render())
}

pub(crate) fn decomposition(rows: &[pb::Decomposition], json: bool) -> Result<String, ApiError> {
    if json {
        return analytics_json::decomposition(rows);
    }
    let mut sections = Vec::new();
    for row in rows {
        let at = row.analyzed_at_ms;
        if !row.missing.is_empty() {
            sections.push(heading(
                &row.metric,
                &row.labels,
                at,
                &format!("decomposition missing: {}", row.missing),
            ));
            continue;
        }
        let mut table = Table::new(&[
            ("TIME", Align::Left),
            ("OBSERVED", Align::Right),
            ("TREND", Align::Right),
            ("SEASONAL", Align::Right),
            ("RESID", Align::Right),
        ]);
        for p in &row.points {
            table.push(vec![
                format_rfc3339(p.time_ms),
                number(p.observed),
                optional(p.trend),
                optional(p.seasonal),
                optional(p.resid),
            ]);
        }
        let what = format!("{} period {}", row.model, row.period);
        sections.push(heading(&row.metric, &row.labels, at, &what) + &table.render());
    }
    Ok(join(sections))
}

pub(crate) fn trend_cycle(rows: &[pb::TrendCycle], json: bool) -> Result<String, ApiError> {
    if json {
        return analytics_json::trend_cycle(rows);
    }
    let mut sections = Vec::new();
    for row in rows {
        let at = row.analyzed_at_ms;
        if !row.missing.is_empty() {
            sections.push(heading(
                &row.metric,
                &row.labels,
                at,
                &format!("trend/cycle missing: {}", row.missing),
            ));
            continue;
        }
        let mut table = Table::new(&[
            ("TIME", Align::Left),
            ("OBSERVED", Align::Right),
            ("TREND", Align::Right),
            ("CYCLE", Align::Right),
        ]);
        for p in &row.points {
            table.push(vec![
                format_rfc3339(p.time_ms),
                number(p.observed),
                number(p.trend),
                number(p.cycle),
            ]);
        }
        let what = format!("Hodrick-Prescott lambda {}", number(row.lambda));
        sections.push(heading(&row.metric, &row.labels, at, &what) + &table.render());
    }
    Ok(join(sections))
}

pub(crate) fn autocorrelation(rows: &[pb::Autocorrelation], json: bool) -> Result<String, ApiError> {
    if json {
        return analytics_json::autocorrelation(rows);
    }
    let mut sections = Vec::new();
    for row in rows {
        let what = match (row.missing.is_empty(), row.acf.is_empty()) {
            (true, _) => "autocorrelation".to_string(),
            (false, true) => format!("autocorrelation missing: {}", row.missing),
            (false, false) => format!("pacf missing: {}", row.missing),
        };
        let heading = heading(&row.metric, &row.labels, row.analyzed_at_ms, &what);
        if row.acf.is_empty() {
            sections.push(heading);
            continue;
        }
        let mut table = Table::new(&[
            ("LAG", Align::Right),
            ("ACF", Align::Right),
            ("LOWER", Align::Right),
            ("UPPER", Align::Right),
            ("PACF", Align::Right),
        ]);
        let cell = |values: &[f64], lag: usize| values.get(lag).copied().map(number).unwrap_or_else(|| "-".into());
        for (lag, acf) in row.acf.iter().enumerate() {
            table.push(vec![
                lag.to_string(),
                number(*acf),
                cell(&row.confint_lower, lag),
                cell(&row.confint_upper, lag),
                cell(&row.pacf, lag),
            ]);
        }
        sections.push(heading + &table.render());
    }
    Ok(join(sections))
}

pub(crate) fn forecast(rows: &[pb::Forecast], json: bool) -> Result<String, ApiError> {
    if json {
        return analytics_json::forecast(rows);
    }
    let mut sections = Vec::new();
    for row in rows {
        let at = row.analyzed_at_ms;
        if !row.missing.is_empty() {
            sections.push(heading(&row.metric, &row.labels, at, &format!("forecast missing: {}", row.missing)));
            continue;
        }
        let mut table = Table::new(&[
            ("TIME", Align::Left),
            ("MEAN", Align::Right),
            ("LOWER", Align::Right),
            ("UPPER", Align::Right),
        ]);
        for p in &row.points {
            table.push(vec![format_rfc3339(p.time_ms), number(p.mean), number(p.lower), number(p.upper)]);
        }
        let what = format!(
            "{} ({}% interval, fitted {})",
            row.model,
            number(row.level * 100.0),
            format_rfc3339(row.fitted_at_ms)
        );
        sections.push(heading(&row.metric, &row.labels, at, &what) + &table.render());
    }
    Ok(join(sections))
}

/// A series' heading line: its name, when it was analysed, then `what` (a description of the part,
/// or why it is missing).
fn heading(metric: &str, labels: &BTreeMap<String, String>, analyzed_at_ms: i64, what: &str) -> String {
    format!(
        "{}  analyzed {}  {what}\n",
        series_name(metric, labels),
        format_rfc3339(analyzed_at_ms)
    )
}

fn optional(value: Option<f64>) -> String {
    value.map(number).unwrap_or_else(|| "-".to_string())
}

/// Sections one blank line apart, or the sentence for none.
fn join(sections: Vec<String>) -> String {
    if sections.is_empty() {
        return NO_ROWS.to_string();
    }
    sections.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> BTreeMap<String, String> {
        [("job".to_string(), "node".to_string())].into()
    }

    #[test]
    fn absent_parts_are_null_in_json_and_say_why_in_tables() {
        let absent = pb::Stationarity {
            series_id: "00000000000000ab".into(),
            metric: "m".into(),
            labels: labels(),
            analyzed_at_ms: 5_000,
            points_count: 3,
            missing: "too few points".into(),
            ..Default::default()
        };
        let present = pb::Stationarity {
            statistic: -3.5,
            pvalue: 0.01,
            stationary: true,
            regression: "c".into(),
            missing: String::new(),
            ..absent.clone()
        };
        let text = stationarity(&[absent.clone(), present.clone()], true).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(value[0]["statistic"].is_null() && value[0]["stationary"].is_null());
        assert_eq!(value[0]["missing"], "too few points");
        assert_eq!(value[1]["statistic"], -3.5);
        assert!(value[1]["missing"].is_null());
        assert_eq!(value[1]["labels"]["job"], "node");
        assert_eq!(value[1]["analyzed_at"], 5_000);

        let table = stationarity(&[absent, present], false).unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].ends_with("too few points"), "{}", lines[1]);
        assert!(lines[2].contains("yes") && lines[2].contains("-3.5"), "{}", lines[2]);
    }

    #[test]
    fn per_point_parts_get_a_heading_and_a_table_per_series() {
        let row = pb::TrendCycle {
            series_id: "00000000000000ab".into(),
            metric: "m".into(),
            labels: labels(),
            analyzed_at_ms: 5_000,
            lambda: 1600.0,
            points: vec![
                pb::TrendCyclePoint {
                    time_ms: 1_000,
                    observed: 2.0,
                    trend: 1.5,
                    cycle: 0.5,
                },
                pb::TrendCyclePoint {
                    time_ms: 2_000,
                    observed: 3.0,
                    trend: 2.5,
                    cycle: 0.5,
                },
            ],
            missing: String::new(),
            next_page_token: "ignored".into(),
        };
        let missing_row = pb::TrendCycle {
            lambda: 0.0,
            points: vec![],
            missing: "too few points".into(),
            ..row.clone()
        };
        let text = trend_cycle(&[row.clone(), missing_row.clone()], false).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "m{job=\"node\"}  analyzed 1970-01-01T00:00:05.000Z  Hodrick-Prescott lambda 1600"
        );
        assert!(lines[1].starts_with("TIME") && lines[1].contains("CYCLE"));
        assert_eq!(lines.len(), 6, "{text}");
        assert_eq!(lines[4], "");
        assert!(lines[5].ends_with("trend/cycle missing: too few points"));

        let value: serde_json::Value = serde_json::from_str(&trend_cycle(&[row, missing_row], true).unwrap()).unwrap();
        assert_eq!(value[0]["points"][1]["time"], 2_000);
        assert_eq!(value[0]["lambda"], 1600.0);
        assert!(value[1]["lambda"].is_null());
        assert_eq!(value[1]["points"].as_array().unwrap().len(), 0);
        assert!(value[0].get("next_page_token").is_none());
        assert_eq!(trend_cycle(&[], false).unwrap(), NO_ROWS);
        assert_eq!(trend_cycle(&[], true).unwrap().trim(), "[]");
    }

    #[test]
    fn autocorrelation_tables_show_a_missing_pacf() {
        let row = pb::Autocorrelation {
            metric: "m".into(),
            analyzed_at_ms: 0,
            acf: vec![1.0, 0.5],
            confint_lower: vec![1.0, 0.1],
            confint_upper: vec![1.0, 0.9],
            pacf: vec![],
            missing: "singular".into(),
            ..Default::default()
        };
        let text = autocorrelation(&[row], false).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with("pacf missing: singular"), "{}", lines[0]);
        assert_eq!(lines.len(), 4);
        assert!(lines[3].trim_start().starts_with('1') && lines[3].ends_with('-'), "{}", lines[3]);
    }
}
