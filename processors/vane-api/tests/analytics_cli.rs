//! `vane query stationarity|decomposition|trend|autocorrelation|forecast` and the time-range flags
//! against the real server: what `run_query_at` prints, as JSON and as tables.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::{ANALYSIS_TIMES, LOAD_SERIES, WINDOWS};
use serde_json::Value;
use vane_api::{Matcher, QueryArgs, QueryKind, run_query_at};

/// The clock the tests run at: right after the latest analysis.
const NOW_MS: i64 = 30_000;

fn args(server: &common::Server, what: QueryKind) -> QueryArgs {
    QueryArgs {
        what,
        metric: Some("node_load1".into()),
        labels: Vec::new(),
        sla: None,
        window: None,
        since: None,
        from: None,
        to: None,
        grpc_addr: server.url(),
        json: true,
    }
}

async fn json(args: &QueryArgs) -> Vec<Value> {
    let printed = run_query_at(args, NOW_MS).await.unwrap();
    let value: Value = serde_json::from_str(&printed).unwrap();
    value.as_array().unwrap().clone()
}

fn has_keys(row: &Value, keys: &[&str]) {
    for key in ["series_id", "metric", "labels", "analyzed_at", "missing"].iter().chain(keys) {
        assert!(row.get(key).is_some(), "{key} missing in {row}");
    }
    assert!(row.get("next_page_token").is_none());
}

#[tokio::test]
async fn stationarity_prints_the_latest_or_the_last_hours() {
    let server = common::start().await;
    let mut query = args(&server, QueryKind::Stationarity);
    let rows = json(&query).await;
    assert_eq!(rows.len(), LOAD_SERIES);
    has_keys(
        &rows[0],
        &[
            "window_start",
            "window_end",
            "points_count",
            "statistic",
            "pvalue",
            "used_lag",
            "nobs",
            "critical_1pct",
            "critical_5pct",
            "critical_10pct",
            "stationary",
            "regression",
            "autolag",
        ],
    );
    assert!(rows[0]["missing"].is_null());
    assert_eq!(rows[1]["missing"], "too few points for adf");
    assert!(rows[1]["statistic"].is_null());

    // --since 15s at 30 s: the analyses of 20 s and 30 s.
    query.since = Some(Duration::from_secs(15));
    query.labels = vec![Matcher::parse("instance=host-0").unwrap()];
    let rows = json(&query).await;
    let times: Vec<i64> = rows.iter().map(|row| row["analyzed_at"].as_i64().unwrap()).collect();
    assert_eq!(times, vec![20_000, 30_000]);

    query.json = false;
    query.since = None;
    query.labels.clear();
    let table = run_query_at(&query, NOW_MS).await.unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("METRIC") && lines[0].contains("P-VALUE"), "{}", lines[0]);
    assert_eq!(lines.len(), 1 + LOAD_SERIES);
    assert!(lines[2].ends_with("too few points for adf"), "{}", lines[2]);
    server.stop().await;
}

#[tokio::test]
async fn decomposition_and_trend_take_a_point_range() {
    let server = common::start().await;
    let mut query = args(&server, QueryKind::Decomposition);
    query.from = Some(3_000);
    query.to = Some(5_000);
    let rows = json(&query).await;
    assert_eq!(rows.len(), LOAD_SERIES);
    has_keys(&rows[0], &["period", "model", "points"]);
    let points = rows[0]["points"].as_array().unwrap();
    assert_eq!(points.len(), 3);
    for key in ["time", "observed", "trend", "seasonal", "resid"] {
        assert!(points[0].get(key).is_some(), "{key} missing in {}", points[0]);
    }
    assert_eq!(points[0]["time"], 3_000);
    assert_eq!(rows[2]["missing"], "no seasonal period");
    assert!(rows[2]["period"].is_null());

    let mut trend = args(&server, QueryKind::Trend);
    trend.labels = vec![Matcher::parse("job=other").unwrap()];
    let rows = json(&trend).await;
    assert_eq!(rows.len(), LOAD_SERIES / 2);
    has_keys(&rows[0], &["lambda", "points"]);
    assert_eq!(rows[0]["points"].as_array().unwrap().len(), common::POINTS as usize);
    assert_eq!(rows[0]["points"][0]["cycle"], 0.5);
    // Series 3 has no filter and no recorded reason.
    assert_eq!(rows[1]["labels"]["instance"], "host-3");
    assert_eq!(rows[1]["missing"], "not computed");

    trend.json = false;
    trend.labels = vec![Matcher::parse("instance=host-0").unwrap()];
    let table = run_query_at(&trend, NOW_MS).await.unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("node_load1{") && lines[0].contains("lambda 1600"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("TIME"));
    assert_eq!(lines.len(), 2 + common::POINTS as usize);
    server.stop().await;
}

#[tokio::test]
async fn autocorrelation_and_forecasts_print_one_object_per_analysis() {
    let server = common::start().await;
    let mut query = args(&server, QueryKind::Autocorrelation);
    query.from = Some(1);
    let rows = json(&query).await;
    assert_eq!(rows.len(), LOAD_SERIES * ANALYSIS_TIMES.len());
    has_keys(&rows[0], &["acf", "confint_lower", "confint_upper", "pacf"]);
    assert_eq!(rows[0]["acf"][1], 0.5);

    let mut forecast = args(&server, QueryKind::Forecast);
    let rows = json(&forecast).await;
    assert_eq!(rows.len(), LOAD_SERIES);
    has_keys(&rows[0], &["model", "level", "fitted_at", "points"]);
    assert_eq!(rows[0]["points"][0]["upper"], 1.0);
    assert_eq!(rows[2]["missing"], "did not converge");
    assert!(rows[2]["model"].is_null());

    forecast.json = false;
    forecast.labels = vec![Matcher::parse("instance=~\"host-(0|2)\"").unwrap()];
    let table = run_query_at(&forecast, NOW_MS).await.unwrap();
    assert!(table.contains("arima(1,0,0) (95% interval"), "{table}");
    assert!(table.contains("forecast missing: did not converge"), "{table}");
    server.stop().await;
}

#[tokio::test]
async fn aggregates_keep_the_rows_updated_in_the_range() {
    let server = common::start().await;
    let mut query = args(&server, QueryKind::Aggregates);
    // Series i's aggregates are as of 2 000 + i ms.
    query.from = Some(2_010);
    assert_eq!(json(&query).await.len(), (LOAD_SERIES - 10) * WINDOWS.len());
    query.from = None;
    query.to = Some(2_004);
    query.window = Some("1h".into());
    assert_eq!(json(&query).await.len(), 5);
    query.to = None;
    query.since = Some(Duration::from_millis(NOW_MS as u64 - 2_020));
    assert_eq!(json(&query).await.len(), LOAD_SERIES - 20);
    server.stop().await;
}
