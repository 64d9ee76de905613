//! `vane.v1.Sla` against the real server on an embedded store and an embedded log: changes are
//! validated, need the admin token and land on `vane.sla.definitions` exactly as answered; the
//! reads (status, violations, counts, budget, forecast) answer from rows written to the store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::sla::{EXPECTED_COUNTS, HOUR, MINUTE, NOW_MS, TOKEN, VIOLATIONS, admin, definition_of, seed_reads, start, with_token};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use vane_api::pb;
use vane_core::sla::{Budget, burn_rate, looks_like_uuid};

fn memory() -> pb::CreateSlaRequest {
    pb::CreateSlaRequest {
        name: "memory".into(),
        metric: "node_memory_MemFree_bytes".into(),
        matchers: vec![pb::LabelMatcher {
            name: "job".into(),
            op: pb::MatchOp::Equal.into(),
            value: "node".into(),
        }],
        max: Some(1e9),
        for_ms: Some(60_000),
        severity: pb::Severity::Critical.into(),
        chat_id: Some(-100),
        ..Default::default()
    }
}

#[tokio::test]
async fn changes_are_validated_and_written_to_the_definitions_topic() {
    let server = start(Some(TOKEN)).await;
    let mut client = server.client().await;

    let created = client.create_sla(admin(memory())).await.unwrap().into_inner();
    assert!(looks_like_uuid(&created.id), "{}", created.id);
    assert_eq!(
        (created.revision, created.created_at_ms, created.updated_at_ms),
        (1, NOW_MS, NOW_MS)
    );
    assert_eq!((created.budget_target, created.timeslice_ms), (0.99, 60_000));
    assert_eq!(created.severity, pb::Severity::Critical as i32);
    assert!(!created.deleted);

    // Read your own writes: nothing has been projected into the store yet.
    for sla in ["memory", created.id.as_str()] {
        let got = client.get_sla(pb::SlaRef { sla: sla.into() }).await.unwrap().into_inner();
        assert_eq!(got, created);
    }

    server.clock.set(NOW_MS + 1_000);
    let update = pb::UpdateSlaRequest {
        sla: "memory".into(),
        name: Some("memory-free".into()),
        max: Some(2e9),
        clear: vec![pb::SlaField::ChatId.into()],
        expected_revision: Some(1),
        ..Default::default()
    };
    let updated = client.update_sla(admin(update)).await.unwrap().into_inner();
    assert_eq!((updated.id.as_str(), updated.revision), (created.id.as_str(), 2));
    assert_eq!((updated.created_at_ms, updated.updated_at_ms), (NOW_MS, NOW_MS + 1_000));
    assert_eq!((updated.max, updated.chat_id, updated.for_ms), (Some(2e9), None, 60_000));
    assert_eq!(updated.matchers, created.matchers, "fields not given keep their values");
    let gone = client.get_sla(pb::SlaRef { sla: "memory".into() }).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound, "the old name is free again");

    // Names are unique among live SLAs, whether the store has caught up or not.
    let mut other = memory();
    other.name = "other".into();
    let other = client.create_sla(admin(other)).await.unwrap().into_inner();
    let mut taken = memory();
    taken.name = "memory-free".into();
    let error = client.create_sla(admin(taken)).await.unwrap_err();
    assert_eq!(error.code(), Code::AlreadyExists, "{error:?}");
    assert!(error.message().contains(&created.id), "{}", error.message());
    let rename = pb::UpdateSlaRequest {
        sla: "other".into(),
        name: Some("memory-free".into()),
        ..Default::default()
    };
    assert_eq!(client.update_sla(admin(rename)).await.unwrap_err().code(), Code::AlreadyExists);

    let stale = pb::DeleteSlaRequest {
        sla: "other".into(),
        expected_revision: Some(7),
    };
    assert_eq!(client.delete_sla(admin(stale)).await.unwrap_err().code(), Code::Aborted);
    let deleted = client
        .delete_sla(admin(pb::DeleteSlaRequest {
            sla: "other".into(),
            expected_revision: None,
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(deleted.deleted);
    assert_eq!(deleted.revision, 2);
    let by_id = client.get_sla(pb::SlaRef { sla: other.id.clone() }).await.unwrap().into_inner();
    assert!(by_id.deleted, "a deleted SLA stays readable by id");
    assert_eq!(
        client.get_sla(pb::SlaRef { sla: "other".into() }).await.unwrap_err().code(),
        Code::NotFound
    );
    let again = pb::UpdateSlaRequest {
        sla: other.id.clone(),
        max: Some(1.0),
        ..Default::default()
    };
    let error = client.update_sla(admin(again)).await.unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
    assert!(error.message().contains("was deleted"), "{}", error.message());

    // The log holds every change, keyed by SLA id, exactly as answered.
    let replies = [&created, &updated, &other, &deleted];
    let records = server.definitions().await;
    assert_eq!(records.len(), replies.len());
    for reply in replies {
        let (key, event) = records
            .iter()
            .find(|(_, event)| event.definition.id == reply.id && event.definition.revision == reply.revision)
            .unwrap_or_else(|| panic!("no record of {} revision {}", reply.id, reply.revision));
        assert_eq!(key, &reply.id);
        assert_eq!(event.definition, definition_of(reply));
        assert_eq!(event.deleted, reply.deleted);
        assert_eq!(event.envelope.source, "api");
    }

    // Once projected, the store answers the same.
    server.project().await;
    let listed = collect(
        client
            .list_slas(pb::ListSlasRequest { include_deleted: false })
            .await
            .unwrap()
            .into_inner(),
    )
    .await;
    assert_eq!(listed, std::slice::from_ref(&updated));
    let all = collect(
        client
            .list_slas(pb::ListSlasRequest { include_deleted: true })
            .await
            .unwrap()
            .into_inner(),
    )
    .await;
    let names: Vec<&str> = all.iter().map(|row| row.name.as_str()).collect();
    assert_eq!(names, ["memory-free", "other"]);
    assert_eq!(
        client.get_sla(pb::SlaRef { sla: "memory-free".into() }).await.unwrap().into_inner(),
        updated
    );
    server.stop().await;
}

async fn collect<T>(mut stream: tonic::Streaming<T>) -> Vec<T> {
    let mut rows = Vec::new();
    while let Some(row) = stream.message().await.unwrap() {
        rows.push(row);
    }
    rows
}

#[tokio::test]
async fn changes_need_the_admin_token_and_reads_do_not() {
    let server = start(Some(TOKEN)).await;
    let mut client = server.client().await;
    let error = client.create_sla(tonic::Request::new(memory())).await.unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);
    assert!(error.message().contains("authorization: Bearer"), "{}", error.message());
    let error = client.create_sla(with_token(memory(), "wrong")).await.unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);
    let mut basic = tonic::Request::new(memory());
    basic.metadata_mut().insert("authorization", "Basic YTpi".parse().unwrap());
    assert_eq!(client.create_sla(basic).await.unwrap_err().code(), Code::Unauthenticated);
    let delete = pb::DeleteSlaRequest {
        sla: "memory".into(),
        expected_revision: None,
    };
    assert_eq!(
        client.delete_sla(with_token(delete, "wrong")).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let listed = collect(client.list_slas(pb::ListSlasRequest::default()).await.unwrap().into_inner()).await;
    assert!(listed.is_empty());
    assert!(server.definitions().await.is_empty(), "a refused change writes nothing");
    server.stop().await;

    let closed = start(None).await;
    let mut client = closed.client().await;
    let error = client.create_sla(admin(memory())).await.unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition);
    assert!(error.message().contains("set api.admin_token"), "{}", error.message());
    let error = client.create_sla(tonic::Request::new(memory())).await.unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition, "never open by default");
    assert!(closed.definitions().await.is_empty());
    closed.stop().await;
}

#[tokio::test]
async fn invalid_requests_list_every_problem() {
    let server = start(Some(TOKEN)).await;
    let mut client = server.client().await;
    let bad = pb::CreateSlaRequest {
        name: "bad name!".into(),
        metric: "1bad".into(),
        matchers: vec![pb::LabelMatcher {
            name: "job".into(),
            op: pb::MatchOp::Regex.into(),
            value: "(".into(),
        }],
        min: Some(3.0),
        max: Some(1.0),
        budget_target: Some(1.5),
        ..Default::default()
    };
    let error = client.create_sla(admin(bad)).await.unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    for words in [
        "name \"bad name!\"",
        "metric \"1bad\"",
        "min 3 is above max 1",
        "budget target",
        "regex",
    ] {
        assert!(error.message().contains(words), "{words}: {}", error.message());
    }
    let mut bad_op = memory();
    bad_op.matchers[0].op = 99;
    bad_op.severity = 12;
    let error = client.create_sla(admin(bad_op)).await.unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(
        error.message().contains("unknown op 99") && error.message().contains("severity 12"),
        "{}",
        error.message()
    );

    client.create_sla(admin(memory())).await.unwrap();
    let contradictory = pb::UpdateSlaRequest {
        sla: "memory".into(),
        min: Some(1.0),
        clear: vec![pb::SlaField::Min.into()],
        ..Default::default()
    };
    let error = client.update_sla(admin(contradictory)).await.unwrap_err();
    assert!(error.message().contains("min is both set and cleared"), "{}", error.message());
    let inverted = pb::UpdateSlaRequest {
        sla: "memory".into(),
        min: Some(2e9),
        ..Default::default()
    };
    let error = client.update_sla(admin(inverted)).await.unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(
        error.message().contains("min 2000000000 is above max 1000000000"),
        "{}",
        error.message()
    );
    let unknown = pb::UpdateSlaRequest {
        sla: "nope".into(),
        max: Some(1.0),
        ..Default::default()
    };
    let error = client.update_sla(admin(unknown)).await.unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
    assert!(error.message().contains("\"nope\""), "{}", error.message());
    assert_eq!(
        client.get_sla(pb::SlaRef { sla: " ".into() }).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    let reversed = pb::ListViolationsRequest {
        sla: "memory".into(),
        from_ms: 20,
        to_ms: 10,
        ..Default::default()
    };
    assert_eq!(client.list_violations(reversed).await.unwrap_err().code(), Code::InvalidArgument);
    assert_eq!(server.definitions().await.len(), 1, "only the valid create was written");

    let mut health = HealthClient::new(server.channel().await);
    for service in ["vane.v1.Sla", "vane.v1.MetricsQuery", ""] {
        let answer = health
            .check(HealthCheckRequest { service: service.into() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.status, ServingStatus::Serving as i32, "{service:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn reads_answer_status_violations_counts_budget_and_forecast() {
    let server = start(Some(TOKEN)).await;
    let mut client = server.client().await;
    let sla = client.create_sla(admin(memory())).await.unwrap().into_inner();
    server.project().await;
    seed_reads(&server.store, &sla.id, &sla.metric).await;

    let request = |page_size, page_token: String| pb::ListSlaStatusRequest {
        sla: "memory".into(),
        page_size,
        page_token,
    };
    let first = collect(client.list_sla_status(request(2, String::new())).await.unwrap().into_inner()).await;
    assert_eq!(first.len(), 2);
    let token = first[1].next_page_token.clone();
    assert!(!token.is_empty());
    let second = collect(client.list_sla_status(request(2, token)).await.unwrap().into_inner()).await;
    assert_eq!(second.len(), 1);
    let statuses: Vec<(i32, Option<f64>)> = first.iter().chain(&second).map(|row| (row.status, row.value)).collect();
    assert_eq!(
        statuses,
        [
            (pb::SlaStatus::Ok as i32, Some(1.0)),
            (pb::SlaStatus::Violated as i32, Some(7.0)),
            (pb::SlaStatus::Violated as i32, Some(8.0))
        ]
    );
    assert!(first.iter().all(|row| row.sla_name == "memory" && row.sla_id == sla.id));
    assert_eq!(
        (first[1].probability, first[1].horizon_ms, first[1].likely),
        (Some(0.875), Some(10 * MINUTE), true)
    );
    let everything = collect(
        client
            .list_sla_status(pb::ListSlaStatusRequest::default())
            .await
            .unwrap()
            .into_inner(),
    )
    .await;
    assert_eq!(everything.len(), 3, "no SLA named: every SLA");

    let in_range = pb::ListViolationsRequest {
        sla: sla.id.clone(),
        from_ms: NOW_MS - 6 * HOUR,
        to_ms: NOW_MS,
        ..Default::default()
    };
    let violations = collect(client.list_violations(in_range).await.unwrap().into_inner()).await;
    let times: Vec<i64> = violations.iter().map(|row| row.at_ms).collect();
    let mut expected: Vec<i64> = VIOLATIONS.iter().map(|(_, at)| *at).filter(|at| *at >= NOW_MS - 6 * HOUR).collect();
    expected.sort_unstable();
    assert_eq!(times, expected);
    assert!(violations.iter().all(|row| row.value == 7.0 && row.labels["job"] == "node"));

    let counts = client
        .get_violation_counts(pb::SlaRef { sla: "memory".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(counts.as_of_ms, NOW_MS);
    let got: Vec<(&str, u64, u64, u64)> = counts
        .windows
        .iter()
        .map(|w| (w.window.as_str(), w.violating_samples, w.episodes, w.bad_slices))
        .collect();
    assert_eq!(got, EXPECTED_COUNTS);
    assert_eq!((counts.windows[1].from_ms, counts.windows[1].to_ms), (NOW_MS - 3 * HOUR, NOW_MS));

    let budget = client.get_budget(pb::SlaRef { sla: "memory".into() }).await.unwrap().into_inner();
    let definition = definition_of(&sla);
    let expected = Budget::of(&definition, 5);
    assert_eq!(budget.bad_slices, 5);
    assert_eq!(
        (budget.allowed_bad_slices, budget.remaining),
        (expected.allowed_bad_slices, expected.remaining)
    );
    assert!((budget.allowed_bad_slices - 432.0).abs() < 1e-9, "1 % of 30 days of minutes");
    assert_eq!(budget.burn_rate_1h, burn_rate(&definition, 1, HOUR));
    assert_eq!(budget.burn_rate_6h, burn_rate(&definition, 3, 6 * HOUR));
    assert!((budget.burn_rate_1h - 100.0 / 60.0).abs() < 1e-9);

    let forecast = client
        .get_violation_forecast(pb::GetViolationForecastRequest {
            sla: "memory".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(forecast.rows.len(), 1, "series without a forecast are left out");
    let row = &forecast.rows[0];
    assert_eq!(
        (row.probability, row.horizon_ms, row.likely, row.at_ms),
        (0.875, 10 * MINUTE, true, NOW_MS - MINUTE)
    );

    // A deleted SLA's history stays readable by id.
    client
        .delete_sla(admin(pb::DeleteSlaRequest {
            sla: "memory".into(),
            expected_revision: None,
        }))
        .await
        .unwrap();
    let history = pb::ListViolationsRequest {
        sla: sla.id.clone(),
        ..Default::default()
    };
    assert_eq!(
        collect(client.list_violations(history).await.unwrap().into_inner()).await.len(),
        VIOLATIONS.len()
    );
    server.stop().await;
}
