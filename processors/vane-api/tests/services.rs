//! The services around the query API and the `vane query` client: health, reflection, and
//! `run_query`'s output against the real server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{LOAD_SERIES, UP_SERIES};
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use vane_api::{Matcher, QueryArgs, QueryKind, run_query};

fn args(server_url: String, what: QueryKind) -> QueryArgs {
    QueryArgs {
        what,
        metric: None,
        labels: Vec::new(),
        sla: None,
        window: None,
        since: None,
        from: None,
        to: None,
        grpc_addr: server_url,
        json: true,
    }
}

#[tokio::test]
async fn health_says_serving_for_the_service_and_the_server() {
    let server = common::start().await;
    let mut health = HealthClient::new(server.channel().await);
    for service in ["vane.v1.MetricsQuery", ""] {
        let answer = health
            .check(HealthCheckRequest { service: service.into() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.status, ServingStatus::Serving as i32, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "vane.v1.Nothing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    server.stop().await;
}

async fn reflect(server: &common::Server, request: MessageRequest) -> MessageResponse {
    let mut client = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    answers.next().await.unwrap().unwrap().message_response.unwrap()
}

#[tokio::test]
async fn reflection_lists_and_describes_the_service() {
    let server = common::start().await;
    let MessageResponse::ListServicesResponse(list) = reflect(&server, MessageRequest::ListServices(String::new())).await else {
        panic!("not a list of services");
    };
    let names: Vec<String> = list.service.into_iter().map(|service| service.name).collect();
    assert!(names.contains(&"vane.v1.MetricsQuery".to_string()), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health".to_string()), "{names:?}");

    let answer = reflect(&server, MessageRequest::FileContainingSymbol("vane.v1.MetricsQuery".into())).await;
    let MessageResponse::FileDescriptorResponse(files) = answer else {
        panic!("no file descriptor: {answer:?}");
    };
    assert!(!files.file_descriptor_proto.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn query_json_is_one_array_with_the_contracts_fields() {
    let server = common::start().await;
    let mut query = args(server.addr.to_string(), QueryKind::Aggregates);
    query.metric = Some("node_load1".into());
    query.window = Some("1h".into());
    query.labels = vec![Matcher::parse("job=node").unwrap()];
    let printed = run_query(&query).await.unwrap();
    let value: serde_json::Value = serde_json::from_str(&printed).unwrap();
    let rows = value.as_array().unwrap();
    assert_eq!(rows.len(), LOAD_SERIES.div_ceil(2));
    for row in rows {
        let object = row.as_object().unwrap();
        for key in [
            "metric", "labels", "window", "max", "min", "mean", "std", "count", "first", "last", "as_of",
        ] {
            assert!(object.contains_key(key), "{key} missing in {row}");
        }
        assert_eq!(row["metric"], "node_load1");
        assert_eq!(row["labels"]["job"], "node");
        assert_eq!(row["window"], "1h");
        assert!(row["count"].is_u64() && row["first"].is_i64() && row["last"].is_i64());
        assert!(row["std"].is_null() || row["std"].is_f64());
    }
    assert!(rows[0]["std"].is_null(), "one sample: std is null");

    let mut series = args(server.url(), QueryKind::Series);
    series.metric = Some("up".into());
    let value: serde_json::Value = serde_json::from_str(&run_query(&series).await.unwrap()).unwrap();
    let rows = value.as_array().unwrap();
    assert_eq!(rows.len(), UP_SERIES);
    for key in ["series_id", "metric", "labels", "first_seen", "last_seen"] {
        assert!(rows[0].get(key).is_some(), "{key} missing in {}", rows[0]);
    }
    server.stop().await;
}

#[tokio::test]
async fn query_table_lists_every_row_under_a_header() {
    let server = common::start().await;
    let mut query = args(server.url(), QueryKind::Aggregates);
    query.metric = Some("node_load1".into());
    query.json = false;
    let printed = run_query(&query).await.unwrap();
    let lines: Vec<&str> = printed.lines().collect();
    assert!(lines[0].starts_with("METRIC") && lines[0].contains("MEAN"), "{}", lines[0]);
    assert_eq!(lines.len(), 1 + LOAD_SERIES * common::WINDOWS.len());
    server.stop().await;
}

#[tokio::test]
async fn query_errors_tell_the_user_what_to_do() {
    let server = common::start().await;
    let mut query = args(server.url(), QueryKind::Aggregates);
    query.metric = Some("node_load1".into());
    query.labels = vec![Matcher::parse("job=~(unclosed").unwrap()];
    let refused = run_query(&query).await.unwrap_err().to_string();
    assert!(refused.contains("bad regex") && refused.contains("job=~"), "{refused}");
    server.stop().await;

    // Nothing listens on a port that was just released.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let free = listener.local_addr().unwrap();
    drop(listener);
    let unreachable = run_query(&args(free.to_string(), QueryKind::Series)).await.unwrap_err().to_string();
    assert!(
        unreachable.contains("vane up") && unreachable.contains("--grpc-addr"),
        "{unreachable}"
    );
}
