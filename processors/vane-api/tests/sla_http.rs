//! The SLA JSON API (`sla_http_router`) over real HTTP: create, read, update and delete with the
//! admin token, JSON errors with their statuses, the records on `vane.sla.definitions`, the reads
//! over rows written to the store, and the pipeline's execution time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::sla::{EXPECTED_COUNTS, HOUR, MINUTE, NOW_MS, TOKEN, seed_reads, start};
use serde_json::json;
use vane_store::{AggregateRow, AnalysisDetail, AnalysisPoint, AnalysisRow};

const MEMORY: &str = r#"{"name": "memory", "metric": "node_memory_MemFree_bytes", "matchers": ["job=\"node\""],
    "max": 1e9, "for": "1m", "severity": "critical", "chat_id": -100}"#;

#[tokio::test]
async fn definitions_are_created_read_updated_and_deleted() {
    let server = start(Some(TOKEN)).await;

    let created = server.http("POST", "/api/v1/slas", Some(TOKEN), MEMORY).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let sla = created.body;
    let id = sla["id"].as_str().unwrap().to_string();
    assert_eq!(created.headers["location"], format!("/api/v1/slas/{id}"));
    assert_eq!(sla["name"], "memory");
    assert_eq!(sla["matchers"], json!(["job=\"node\""]));
    assert_eq!(
        (sla["for"].as_str(), sla["budget_window"].as_str(), sla["timeslice"].as_str()),
        (Some("1m"), Some("30d"), Some("1m"))
    );
    assert_eq!(
        (sla["severity"].as_str(), sla["revision"].as_i64(), sla["created_at"].as_i64()),
        (Some("critical"), Some(1), Some(NOW_MS))
    );
    assert!(sla["min"].is_null());

    let by_name = server.http("GET", "/api/v1/slas/memory", None, "").await;
    assert_eq!((by_name.status, &by_name.body), (200, &sla));
    let listed = server.http("GET", "/api/v1/slas", None, "").await;
    assert_eq!(listed.body, json!([sla.clone()]));

    // What a GET printed can be sent back with changes; absent fields keep their values, null
    // removes an optional one, `revision` guards against a concurrent change.
    server.clock.set(NOW_MS + 5_000);
    let mut edited = sla.clone();
    edited["max"] = json!(2e9);
    edited["chat_id"] = json!(null);
    let updated = server
        .http("PUT", &format!("/api/v1/slas/{id}"), Some(TOKEN), &edited.to_string())
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(
        (updated.body["revision"].as_i64(), updated.body["updated_at"].as_i64()),
        (Some(2), Some(NOW_MS + 5_000))
    );
    assert_eq!((updated.body["max"].as_f64(), updated.body["chat_id"].is_null()), (Some(2e9), true));
    assert_eq!(updated.body["created_at"], NOW_MS);
    let partial = server
        .http("PUT", "/api/v1/slas/memory", Some(TOKEN), r#"{"min": 10, "severity": "info"}"#)
        .await;
    assert_eq!(partial.status, 200, "{:?}", partial.body);
    assert_eq!(
        (partial.body["min"].as_f64(), partial.body["max"].as_f64()),
        (Some(10.0), Some(2e9))
    );
    let stale = server.http("PUT", "/api/v1/slas/memory", Some(TOKEN), &edited.to_string()).await;
    assert_eq!(stale.status, 409, "revision 1 is stale: {:?}", stale.body);
    assert!(stale.body["error"].as_str().unwrap().contains("is at revision 3, not 1"));
    let moved = server
        .http(
            "PUT",
            "/api/v1/slas/memory",
            Some(TOKEN),
            r#"{"id": "3f0c1d9e-0000-4000-8000-000000000001"}"#,
        )
        .await;
    assert_eq!(moved.status, 400);
    assert!(moved.body["error"].as_str().unwrap().contains("never changes"));

    let duplicate = server.http("POST", "/api/v1/slas", Some(TOKEN), MEMORY).await;
    assert_eq!(duplicate.status, 409);
    assert!(duplicate.body["error"].as_str().unwrap().contains("already exists"));

    let deleted = server.http("DELETE", "/api/v1/slas/memory?revision=3", Some(TOKEN), "").await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(
        (deleted.body["deleted"].as_bool(), deleted.body["revision"].as_i64()),
        (Some(true), Some(4))
    );
    assert_eq!(server.http("GET", "/api/v1/slas/memory", None, "").await.status, 404);
    assert_eq!(
        server.http("GET", &format!("/api/v1/slas/{id}"), None, "").await.body["deleted"],
        true
    );
    assert_eq!(server.http("GET", "/api/v1/slas", None, "").await.body, json!([]));
    let with_deleted = server.http("GET", "/api/v1/slas?include_deleted=true", None, "").await;
    assert_eq!(with_deleted.body.as_array().unwrap().len(), 1);

    // The log holds each change as answered.
    let records = server.definitions().await;
    let revisions: Vec<(i64, bool, Option<f64>, Option<f64>)> = records
        .iter()
        .map(|(key, event)| {
            assert_eq!(key, &id);
            (event.definition.revision, event.deleted, event.definition.min, event.definition.max)
        })
        .collect();
    assert_eq!(
        revisions,
        [
            (1, false, None, Some(1e9)),
            (2, false, None, Some(2e9)),
            (3, false, Some(10.0), Some(2e9)),
            (4, true, Some(10.0), Some(2e9))
        ]
    );
    assert_eq!(records[1].1.definition.chat_id, None);
    assert_eq!(records[2].1.definition.severity, vane_core::sla::Severity::Info);
    server.stop().await;
}

#[tokio::test]
async fn errors_are_json_with_the_right_status() {
    let server = start(Some(TOKEN)).await;
    let no_token = server.http("POST", "/api/v1/slas", None, MEMORY).await;
    assert_eq!(no_token.status, 401);
    assert_eq!(no_token.headers["www-authenticate"], "Bearer");
    assert!(no_token.body["error"].as_str().unwrap().contains("admin token"));
    assert_eq!(server.http("POST", "/api/v1/slas", Some("wrong"), MEMORY).await.status, 401);
    assert_eq!(server.http("DELETE", "/api/v1/slas/memory", Some("wrong"), "").await.status, 401);

    let malformed = server.http("POST", "/api/v1/slas", Some(TOKEN), "{\"name\": ").await;
    assert_eq!(malformed.status, 400);
    assert!(malformed.body["error"].as_str().unwrap().contains("malformed JSON body"));
    let typo = server
        .http("POST", "/api/v1/slas", Some(TOKEN), r#"{"name": "x", "metric": "m", "mx": 5}"#)
        .await;
    assert_eq!(typo.status, 400);
    assert!(typo.body["error"].as_str().unwrap().contains("unknown field `mx`"));
    let invalid = server
        .http(
            "POST",
            "/api/v1/slas",
            Some(TOKEN),
            r#"{"name": "bad name", "metric": "1m", "min": 5, "max": 1, "for": "2d"}"#,
        )
        .await;
    assert_eq!(invalid.status, 400);
    let problems = invalid.body["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(invalid.body["error"].as_str().unwrap().starts_with("invalid SLA: "));
    let bad_duration = server
        .http(
            "POST",
            "/api/v1/slas",
            Some(TOKEN),
            r#"{"name": "x", "metric": "m", "max": 1, "for": "soon"}"#,
        )
        .await;
    assert_eq!(bad_duration.status, 400);
    assert_eq!(
        bad_duration.body["problems"],
        json!(["for \"soon\" is not a duration such as 30s, 5m, 1h or 30d"])
    );

    assert_eq!(server.http("GET", "/api/v1/slas/nope", None, "").await.status, 404);
    let unknown = server.http("GET", "/api/v1/slas/nope/budget", None, "").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body["error"].as_str().unwrap().contains("vane sla list"));
    assert_eq!(server.http("PUT", "/api/v1/slas/nope", Some(TOKEN), "{}").await.status, 404);

    assert_eq!(server.http("POST", "/api/v1/slas", Some(TOKEN), MEMORY).await.status, 201);
    let param = server.http("GET", "/api/v1/slas/memory/violations?sinse=1h", None, "").await;
    assert_eq!(param.status, 400);
    assert!(param.body["error"].as_str().unwrap().contains("since, from, to, limit, page_token"));
    let range = server.http("GET", "/api/v1/slas/memory/violations?since=1h&from=1", None, "").await;
    assert_eq!(range.status, 400);
    assert_eq!(server.http("GET", "/api/v1/slas/memory/status?limit=0", None, "").await.status, 400);
    assert_eq!(
        server
            .http("GET", "/api/v1/slas/memory/status?page_token=garbage", None, "")
            .await
            .status,
        400
    );
    assert_eq!(server.definitions().await.len(), 1, "only the valid create was written");
    server.stop().await;

    let closed = start(None).await;
    let refused = closed.http("POST", "/api/v1/slas", Some(TOKEN), MEMORY).await;
    assert_eq!(refused.status, 403);
    assert!(refused.body["error"].as_str().unwrap().contains("set api.admin_token"));
    assert_eq!(closed.http("GET", "/api/v1/slas", None, "").await.status, 200, "reads stay open");
    closed.stop().await;
}

#[tokio::test]
async fn reads_answer_from_the_store() {
    let server = start(Some(TOKEN)).await;
    let created = server.http("POST", "/api/v1/slas", Some(TOKEN), MEMORY).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    seed_reads(&server.store, &id, "node_memory_MemFree_bytes").await;

    let status = server.http("GET", "/api/v1/slas/memory/status?limit=2", None, "").await;
    assert_eq!(status.status, 200);
    assert_eq!(status.body.as_array().unwrap().len(), 2);
    let token = status.headers["x-next-page-token"].clone();
    let rest = server
        .http("GET", &format!("/api/v1/slas/memory/status?limit=2&page_token={token}"), None, "")
        .await;
    assert_eq!(rest.body.as_array().unwrap().len(), 1);
    assert!(!rest.headers.contains_key("x-next-page-token"));
    let second = &status.body[1];
    assert_eq!(
        (second["status"].as_str(), second["value"].as_f64(), second["sla"].as_str()),
        (Some("violated"), Some(7.0), Some("memory"))
    );
    assert_eq!(
        (
            second["probability"].as_f64(),
            second["horizon"].as_str(),
            second["likely"].as_bool()
        ),
        (Some(0.875), Some("10m"), Some(true))
    );
    assert_eq!(second["since"], NOW_MS - 12 * MINUTE);

    let recent = server.http("GET", "/api/v1/slas/memory/violations?since=1h", None, "").await;
    let times: Vec<i64> = recent
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["at"].as_i64().unwrap())
        .collect();
    assert_eq!(
        times,
        [NOW_MS - 10 * MINUTE, NOW_MS - 10 * MINUTE + 10_000, NOW_MS - 10 * MINUTE + 20_000]
    );
    assert_eq!(recent.body[0]["labels"]["job"], "node");
    let window = format!("/api/v1/slas/{id}/violations?from={}&to={}", NOW_MS - 6 * HOUR, NOW_MS - HOUR);
    assert_eq!(server.http("GET", &window, None, "").await.body.as_array().unwrap().len(), 2);
    let all = server.http("GET", "/api/v1/slas/memory/violations", None, "").await;
    assert_eq!(all.body.as_array().unwrap().len(), 7, "no range: every violation kept");

    let counts = server.http("GET", "/api/v1/slas/memory/violations/counts", None, "").await;
    assert_eq!(
        (counts.body["as_of"].as_i64(), counts.body["sla"].as_str()),
        (Some(NOW_MS), Some("memory"))
    );
    let windows: Vec<(String, u64, u64, u64)> = counts.body["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["window"].as_str().unwrap().to_string(),
                w["violating_samples"].as_u64().unwrap(),
                w["episodes"].as_u64().unwrap(),
                w["bad_slices"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64, u64, u64)> = EXPECTED_COUNTS.iter().map(|(w, s, e, b)| ((*w).to_string(), *s, *e, *b)).collect();
    assert_eq!(windows, expected);

    let budget = server.http("GET", "/api/v1/slas/memory/budget", None, "").await.body;
    assert_eq!(
        (budget["bad_slices"].as_u64(), budget["budget_window"].as_str()),
        (Some(5), Some("30d"))
    );
    assert!((budget["allowed_bad_slices"].as_f64().unwrap() - 432.0).abs() < 1e-9);
    assert!((budget["remaining"].as_f64().unwrap() - (1.0 - 5.0 / 432.0)).abs() < 1e-9);
    assert!((budget["burn_rate_6h"].as_f64().unwrap() - 3.0 / 360.0 / 0.01).abs() < 1e-9);

    let forecast = server.http("GET", "/api/v1/slas/memory/forecast", None, "").await.body;
    assert_eq!(forecast.as_array().unwrap().len(), 1);
    assert_eq!(
        (forecast[0]["probability"].as_f64(), forecast[0]["at"].as_i64()),
        (Some(0.875), Some(NOW_MS - MINUTE))
    );
    server.stop().await;
}

#[tokio::test]
async fn the_pipelines_execution_time_comes_from_its_own_series() {
    let server = start(Some(TOKEN)).await;
    let metric = "vane_analysis_duration_seconds";
    let mut labels = vane_core::Labels::new();
    labels.insert("instance".into(), "vane".into());
    // One sample a minute over 14 hours: 12 hours of them are in the default range.
    let points: Vec<AnalysisPoint> = (0..14 * 60)
        .map(|k| AnalysisPoint {
            time_ms: NOW_MS - 14 * HOUR + (k + 1) * MINUTE,
            value: 0.25,
            hp_trend: None,
            hp_cycle: None,
            trend: None,
            seasonal: None,
            resid: None,
        })
        .collect();
    let analysis = AnalysisRow {
        series_id: "00000000000000aa".into(),
        metric: metric.into(),
        labels: labels.clone(),
        analyzed_at_ms: NOW_MS,
        window_start_ms: points[0].time_ms,
        window_end_ms: NOW_MS,
        points_count: points.len() as u64,
        compute_ms: 3.0,
        detail: AnalysisDetail::default(),
        points,
    };
    server.store.upsert_analyses(&[analysis]).await.unwrap();
    let aggregate = AggregateRow {
        series_id: "00000000000000aa".into(),
        metric: metric.into(),
        labels,
        window: "12h".into(),
        max: 0.5,
        min: 0.125,
        mean: 0.25,
        std: Some(0.01),
        count: 720,
        first_ms: NOW_MS - 12 * HOUR,
        last_ms: NOW_MS,
        as_of_ms: NOW_MS,
    };
    server.store.upsert_aggregates(&[aggregate]).await.unwrap();

    let reply = server.http("GET", "/api/v1/pipeline/execution-time", None, "").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        (reply.body["metric"].as_str(), reply.body["from"].as_i64()),
        (Some(metric), Some(NOW_MS - 12 * HOUR))
    );
    let series = &reply.body["series"][0];
    assert_eq!(
        series["samples"].as_array().unwrap().len(),
        12 * 60 + 1,
        "both ends of the range are in it"
    );
    assert_eq!(
        (series["mean"].as_f64(), series["aggregates"][0]["window"].as_str()),
        (Some(0.25), Some("12h"))
    );
    let hour = server.http("GET", "/api/v1/pipeline/execution-time?since=1h", None, "").await;
    assert_eq!(hour.body["series"][0]["samples"].as_array().unwrap().len(), 61);
    assert_eq!(
        server
            .http("GET", "/api/v1/pipeline/execution-time?window=1h", None, "")
            .await
            .status,
        400
    );
    server.stop().await;
}
