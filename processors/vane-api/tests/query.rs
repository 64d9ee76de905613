//! `vane.v1.MetricsQuery` end to end: the real server over an embedded store, the real tonic
//! client. Streaming, label matchers, pagination and the refusals of bad requests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;

use common::{LOAD_SERIES, MANY_SERIES, UP_SERIES, WINDOWS, load_labels};
use tonic::Code;
use vane_api::pb::{self, LabelMatcher, ListAggregatesRequest, ListSeriesRequest, MatchOp};

type Client = pb::metrics_query_client::MetricsQueryClient<tonic::transport::Channel>;

fn matcher(name: &str, op: MatchOp, value: &str) -> LabelMatcher {
    LabelMatcher {
        name: name.into(),
        op: op.into(),
        value: value.into(),
    }
}

async fn series(client: &mut Client, request: ListSeriesRequest) -> Result<Vec<pb::SeriesInfo>, tonic::Status> {
    let mut stream = client.list_series(request).await?.into_inner();
    let mut rows = Vec::new();
    while let Some(row) = stream.message().await? {
        rows.push(row);
    }
    Ok(rows)
}

async fn aggregates(client: &mut Client, request: ListAggregatesRequest) -> Result<Vec<pb::Aggregate>, tonic::Status> {
    let mut stream = client.list_aggregates(request).await?.into_inner();
    let mut rows = Vec::new();
    while let Some(row) = stream.message().await? {
        rows.push(row);
    }
    Ok(rows)
}

fn load_aggregates(window: &str, matchers: Vec<LabelMatcher>) -> ListAggregatesRequest {
    ListAggregatesRequest {
        metric: "node_load1".into(),
        matchers,
        window: window.into(),
        ..Default::default()
    }
}

/// The `instance` numbers of the rows, to compare with what the labels predict.
fn instances(rows: &[pb::Aggregate]) -> BTreeSet<usize> {
    rows.iter()
        .map(|row| row.labels["instance"].trim_start_matches("host-").parse().unwrap())
        .collect()
}

fn expected(keep: impl Fn(usize) -> bool) -> BTreeSet<usize> {
    (0..LOAD_SERIES).filter(|i| keep(*i)).collect()
}

#[tokio::test]
async fn streams_every_series_across_store_pages() {
    let server = common::start().await;
    let mut client = server.client().await;
    let all = series(&mut client, ListSeriesRequest::default()).await.unwrap();
    assert_eq!(all.len(), LOAD_SERIES + UP_SERIES + MANY_SERIES);
    let ids: BTreeSet<&str> = all.iter().map(|row| row.series_id.as_str()).collect();
    assert_eq!(ids.len(), all.len(), "a row was streamed twice");
    assert!(all.iter().all(|row| row.next_page_token.is_empty()), "page_size 0 streams one page");
    let metrics: Vec<&str> = all.iter().map(|row| row.metric.as_str()).collect();
    let mut sorted = metrics.clone();
    sorted.sort_unstable();
    assert_eq!(metrics, sorted, "ordered by metric name");

    let up = series(
        &mut client,
        ListSeriesRequest {
            metric: "up".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(up.len(), UP_SERIES);
    assert_eq!(up[0].labels, load_labels(0));
    assert_eq!(up[0].first_seen_ms, 1_000);
    server.stop().await;
}

#[tokio::test]
async fn aggregates_carry_the_rows_fields_and_filter_by_window() {
    let server = common::start().await;
    let mut client = server.client().await;
    let every_window = aggregates(&mut client, load_aggregates("", vec![])).await.unwrap();
    assert_eq!(every_window.len(), LOAD_SERIES * WINDOWS.len());
    let one_hour = aggregates(&mut client, load_aggregates("1h", vec![])).await.unwrap();
    assert_eq!(one_hour.len(), LOAD_SERIES);
    assert!(one_hour.iter().all(|row| row.window == "1h"));
    let first = &one_hour[0];
    assert_eq!(first.series_id, "0000000000000000");
    assert_eq!((first.min, first.max, first.mean, first.count), (0.0, 1.0, 0.5, 1));
    assert_eq!(first.std, None, "one sample has no standard deviation");
    assert_eq!(one_hour[1].std, Some(0.25));
    assert_eq!((first.first_ms, first.last_ms, first.as_of_ms), (1_000, 2_000, 2_000));
    server.stop().await;
}

#[tokio::test]
async fn matchers_follow_promql() {
    let server = common::start().await;
    let mut client = server.client().await;
    let cases: Vec<(Vec<LabelMatcher>, BTreeSet<usize>)> = vec![
        (vec![matcher("job", MatchOp::Equal, "node")], expected(|i| i % 2 == 0)),
        (vec![matcher("job", MatchOp::NotEqual, "node")], expected(|i| i % 2 == 1)),
        // Anchored: `host-1` alone does not match `host-12`.
        (vec![matcher("instance", MatchOp::Regex, "host-1")], expected(|i| i == 1)),
        (
            vec![matcher("instance", MatchOp::Regex, "host-1.*")],
            expected(|i| i == 1 || (10..20).contains(&i)),
        ),
        (
            vec![matcher("instance", MatchOp::NotRegex, "host-1.*")],
            expected(|i| i != 1 && !(10..20).contains(&i)),
        ),
        // A missing label is "".
        (vec![matcher("env", MatchOp::Equal, "")], expected(|i| i % 3 != 0)),
        (vec![matcher("env", MatchOp::NotEqual, "")], expected(|i| i % 3 == 0)),
        (vec![matcher("env", MatchOp::Regex, "prod|")], expected(|_| true)),
        // Matchers AND together.
        (
            vec![matcher("job", MatchOp::Equal, "node"), matcher("env", MatchOp::Equal, "prod")],
            expected(|i| i % 6 == 0),
        ),
        (vec![matcher("__name__", MatchOp::Regex, "node_.*")], expected(|_| true)),
    ];
    for (matchers, want) in cases {
        let described = format!("{matchers:?}");
        let rows = aggregates(&mut client, load_aggregates("1h", matchers)).await.unwrap();
        assert_eq!(rows.len(), want.len(), "{described}");
        assert_eq!(instances(&rows), want, "{described}");
    }
    server.stop().await;
}

#[tokio::test]
async fn pages_visit_every_selected_row_exactly_once() {
    let server = common::start().await;
    let mut client = server.client().await;
    for (page_size, matchers) in [
        (4, vec![matcher("job", MatchOp::Equal, "node")]),
        (7, vec![]),
        (1, vec![matcher("instance", MatchOp::Regex, "host-2.")]),
    ] {
        let unpaged = aggregates(&mut client, load_aggregates("", matchers.clone())).await.unwrap();
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            let mut request = load_aggregates("", matchers.clone());
            request.page_size = page_size;
            request.page_token = token;
            let page = aggregates(&mut client, request).await.unwrap();
            pages += 1;
            assert!(page.len() <= page_size as usize, "page of {} rows", page.len());
            let (last, rest) = match page.split_last() {
                Some(split) => split,
                None => break,
            };
            assert!(
                rest.iter().all(|row| row.next_page_token.is_empty()),
                "only the last message has a token"
            );
            seen.extend(page.iter().map(|row| (row.window.clone(), row.series_id.clone())));
            token = last.next_page_token.clone();
            if token.is_empty() {
                break;
            }
            assert!(pages < 1_000, "pagination does not end");
        }
        let want: Vec<(String, String)> = unpaged.iter().map(|row| (row.window.clone(), row.series_id.clone())).collect();
        assert_eq!(seen, want, "page_size {page_size}");
        assert!(pages > 1);
    }
    server.stop().await;
}

#[tokio::test]
async fn a_large_series_listing_pages_through_the_store() {
    let server = common::start().await;
    let mut client = server.client().await;
    let mut seen = BTreeSet::new();
    let mut token = String::new();
    loop {
        let page = series(
            &mut client,
            ListSeriesRequest {
                metric: "many".into(),
                matchers: vec![matcher("job", MatchOp::Equal, "node")],
                page_size: 1_000,
                page_token: token,
            },
        )
        .await
        .unwrap();
        for row in &page {
            assert!(seen.insert(row.series_id.clone()), "{} twice", row.series_id);
        }
        token = page.last().map(|row| row.next_page_token.clone()).unwrap_or_default();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen.len(), MANY_SERIES / 2);
    server.stop().await;
}

#[tokio::test]
async fn bad_requests_are_invalid_arguments_with_a_clear_message() {
    let server = common::start().await;
    let mut client = server.client().await;
    let refused = [
        (
            load_aggregates("1h", vec![matcher("job", MatchOp::Regex, "(unclosed")]),
            "bad regex",
        ),
        (
            load_aggregates("1h", vec![matcher("job-name", MatchOp::Equal, "x")]),
            "not a label name",
        ),
        (load_aggregates("soon", vec![]), "not a duration"),
        (
            ListAggregatesRequest {
                metric: String::new(),
                ..load_aggregates("1h", vec![])
            },
            "metric is required",
        ),
        (
            ListAggregatesRequest {
                page_size: 10_001,
                ..load_aggregates("1h", vec![])
            },
            "page_size",
        ),
        (
            ListAggregatesRequest {
                from_ms: 2_010,
                to_ms: 2_000,
                ..load_aggregates("1h", vec![])
            },
            "after to_ms",
        ),
        (
            ListAggregatesRequest {
                page_token: "garbage".into(),
                ..load_aggregates("1h", vec![])
            },
            "page token",
        ),
    ];
    for (request, words) in refused {
        let status = aggregates(&mut client, request.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}: {status:?}");
        assert!(status.message().contains(words), "{words:?} not in {:?}", status.message());
    }
    let unknown_op = ListSeriesRequest {
        matchers: vec![LabelMatcher {
            name: "job".into(),
            op: 17,
            value: "x".into(),
        }],
        ..Default::default()
    };
    let status = series(&mut client, unknown_op).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    // A series token is refused by the aggregates listing.
    let page = series(
        &mut client,
        ListSeriesRequest {
            page_size: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let foreign = ListAggregatesRequest {
        page_token: page[0].next_page_token.clone(),
        ..load_aggregates("1h", vec![])
    };
    assert!(!foreign.page_token.is_empty());
    assert_eq!(aggregates(&mut client, foreign).await.unwrap_err().code(), Code::InvalidArgument);
    server.stop().await;
}
