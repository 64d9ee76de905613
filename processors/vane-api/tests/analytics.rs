//! The analytics calls of `vane.v1.MetricsQuery` end to end: the real server over an embedded
//! store seeded with three analyses per series, the real tonic client. Latest versus history,
//! point ranges, absent parts, label matchers, pagination and refusals.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;

use common::{ANALYSIS_TIMES, Absent, FORECAST_STEPS, LOAD_SERIES, POINTS, absent, statistic};
use tonic::Code;
use vane_api::pb::{self, AnalyticsRequest, LabelMatcher, MatchOp};

type Client = pb::metrics_query_client::MetricsQueryClient<tonic::transport::Channel>;

fn request(from_ms: i64, to_ms: i64) -> AnalyticsRequest {
    AnalyticsRequest {
        metric: "node_load1".into(),
        from_ms,
        to_ms,
        ..Default::default()
    }
}

fn job_node() -> Vec<LabelMatcher> {
    vec![LabelMatcher {
        name: "job".into(),
        op: MatchOp::Equal.into(),
        value: "node".into(),
    }]
}

fn number(series_id: &str) -> usize {
    usize::from_str_radix(series_id, 16).unwrap()
}

/// The five calls, so that one test can drive each the same way.
#[derive(Debug, Clone, Copy)]
enum Call {
    Stationarity,
    Decomposition,
    TrendCycle,
    Autocorrelation,
    Forecast,
}

const CALLS: [Call; 5] = [
    Call::Stationarity,
    Call::Decomposition,
    Call::TrendCycle,
    Call::Autocorrelation,
    Call::Forecast,
];

/// One page of a call: `(series number, analyzed_at_ms)` per row, and the next page's token (for
/// streams, the last message's; every other message must have none).
async fn page(client: &mut Client, call: Call, request: AnalyticsRequest) -> Result<(Vec<(usize, i64)>, String), tonic::Status> {
    macro_rules! streamed {
        ($method:ident) => {{
            let mut stream = client.$method(request).await?.into_inner();
            let mut rows = Vec::new();
            let mut token = String::new();
            while let Some(row) = stream.message().await? {
                assert!(token.is_empty(), "a message before the last one has a token");
                token = row.next_page_token.clone();
                rows.push((number(&row.series_id), row.analyzed_at_ms));
            }
            Ok((rows, token))
        }};
    }
    match call {
        Call::Stationarity => {
            let reply = client.get_stationarity(request).await?.into_inner();
            let rows = reply.rows.iter().map(|row| (number(&row.series_id), row.analyzed_at_ms)).collect();
            Ok((rows, reply.next_page_token))
        }
        Call::Forecast => {
            let reply = client.get_forecast(request).await?.into_inner();
            let rows = reply.rows.iter().map(|row| (number(&row.series_id), row.analyzed_at_ms)).collect();
            Ok((rows, reply.next_page_token))
        }
        Call::Decomposition => streamed!(list_decomposition),
        Call::TrendCycle => streamed!(list_trend_cycle),
        Call::Autocorrelation => streamed!(list_autocorrelation),
    }
}

async fn stationarity(client: &mut Client, request: AnalyticsRequest) -> Vec<pb::Stationarity> {
    let reply = client.get_stationarity(request).await.unwrap().into_inner();
    assert!(reply.next_page_token.is_empty());
    reply.rows
}

async fn decomposition(client: &mut Client, request: AnalyticsRequest) -> Vec<pb::Decomposition> {
    let mut stream = client.list_decomposition(request).await.unwrap().into_inner();
    let mut rows = Vec::new();
    while let Some(row) = stream.message().await.unwrap() {
        rows.push(row);
    }
    rows
}

async fn trend_cycle(client: &mut Client, request: AnalyticsRequest) -> Vec<pb::TrendCycle> {
    let mut stream = client.list_trend_cycle(request).await.unwrap().into_inner();
    let mut rows = Vec::new();
    while let Some(row) = stream.message().await.unwrap() {
        rows.push(row);
    }
    rows
}

async fn autocorrelation(client: &mut Client, request: AnalyticsRequest) -> Vec<pb::Autocorrelation> {
    let mut stream = client.list_autocorrelation(request).await.unwrap().into_inner();
    let mut rows = Vec::new();
    while let Some(row) = stream.message().await.unwrap() {
        rows.push(row);
    }
    rows
}

#[tokio::test]
async fn stationarity_is_the_latest_per_series_or_the_history_in_a_range() {
    let server = common::start().await;
    let mut client = server.client().await;
    let latest = stationarity(&mut client, request(0, 0)).await;
    assert_eq!(latest.len(), LOAD_SERIES);
    for (i, row) in latest.iter().enumerate() {
        assert_eq!(number(&row.series_id), i, "ordered by series id");
        assert_eq!(row.analyzed_at_ms, 30_000);
        assert_eq!(row.labels, common::load_labels(i));
        assert_eq!((row.window_start_ms, row.window_end_ms, row.points_count), (1_000, 12_000, 12));
        if absent(i) == Absent::Stationarity {
            assert_eq!(row.missing, "too few points for adf");
            assert_eq!((row.statistic, row.regression.as_str()), (0.0, ""));
        } else {
            assert!(row.missing.is_empty(), "{row:?}");
            assert_eq!(row.statistic, statistic(i, 30_000));
            assert_eq!((row.used_lag, row.nobs, row.critical_5pct), (2, 9, -3.2));
            assert_eq!(
                (row.stationary, row.regression.as_str(), row.autolag.as_str()),
                (i.is_multiple_of(2), "c", "aic")
            );
        }
    }
    // History: every analysis in [from, to], by series then analysis time.
    for (from, to, times) in [
        (15_000, 30_000, vec![20_000, 30_000]),
        (20_000, 0, vec![20_000, 30_000]),
        (0, 10_000, vec![10_000]),
        (1, 0, ANALYSIS_TIMES.to_vec()),
        (10_001, 19_999, vec![]),
    ] {
        let rows = stationarity(&mut client, request(from, to)).await;
        let got: Vec<(usize, i64)> = rows.iter().map(|row| (number(&row.series_id), row.analyzed_at_ms)).collect();
        let want: Vec<(usize, i64)> = (0..LOAD_SERIES).flat_map(|i| times.iter().map(move |t| (i, *t))).collect();
        assert_eq!(got, want, "[{from}, {to}]");
        for row in rows.iter().filter(|row| row.missing.is_empty()) {
            assert_eq!(row.statistic, statistic(number(&row.series_id), row.analyzed_at_ms));
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn decomposition_and_trend_read_the_latest_analysis_and_trim_its_points() {
    let server = common::start().await;
    let mut client = server.client().await;
    let all = decomposition(&mut client, request(0, 0)).await;
    assert_eq!(all.len(), LOAD_SERIES);
    for (i, row) in all.iter().enumerate() {
        assert_eq!(row.analyzed_at_ms, 30_000);
        assert_eq!(row.points.len(), POINTS as usize, "the observed values are there even when missing");
        assert_eq!(row.points[0].observed, 1.0 + i as f64);
        if absent(i) == Absent::DecompositionAndForecast {
            assert_eq!(
                (row.missing.as_str(), row.period, row.model.as_str()),
                ("no seasonal period", 0, "")
            );
            assert!(row.points.iter().all(|p| p.trend.is_none() && p.seasonal.is_none()));
        } else {
            assert_eq!((row.missing.as_str(), row.period, row.model.as_str()), ("", 4, "additive"));
            assert_eq!(row.points[0].trend, None, "the moving average's ends are undefined");
            assert_eq!(row.points[2].trend, Some(3.0));
            assert_eq!(row.points[0].seasonal, Some(0.25));
        }
    }
    // A range picks points by their time, not analyses: still the latest analysis.
    let trimmed = decomposition(&mut client, request(3_000, 5_000)).await;
    assert_eq!(trimmed.len(), LOAD_SERIES);
    for row in &trimmed {
        assert_eq!(row.analyzed_at_ms, 30_000);
        let times: Vec<i64> = row.points.iter().map(|p| p.time_ms).collect();
        assert_eq!(times, vec![3_000, 4_000, 5_000]);
    }
    let tail = decomposition(&mut client, request(11_000, 0)).await;
    assert!(tail.iter().all(|row| row.points.len() == 2));

    let trend = trend_cycle(&mut client, request(0, 2_000)).await;
    assert_eq!(trend.len(), LOAD_SERIES);
    for (i, row) in trend.iter().enumerate() {
        if absent(i) == Absent::TrendCycleAndPacf {
            assert_eq!(row.missing, "not computed", "no reason recorded");
            assert_eq!(row.lambda, 0.0);
            assert!(row.points.is_empty());
        } else {
            assert!(row.missing.is_empty());
            assert_eq!(row.lambda, 1600.0);
            let times: Vec<i64> = row.points.iter().map(|p| p.time_ms).collect();
            assert_eq!(times, vec![1_000, 2_000]);
            let p = &row.points[1];
            assert_eq!((p.observed, p.trend, p.cycle), (2.0 + i as f64, 1.5 + i as f64, 0.5));
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn autocorrelation_and_forecasts_say_which_parts_are_missing() {
    let server = common::start().await;
    let mut client = server.client().await;
    let latest = autocorrelation(&mut client, request(0, 0)).await;
    assert_eq!(latest.len(), LOAD_SERIES);
    for (i, row) in latest.iter().enumerate() {
        match absent(i) {
            Absent::Autocorrelation => {
                assert_eq!(row.missing, "constant series");
                assert!(row.acf.is_empty() && row.confint_lower.is_empty() && row.pacf.is_empty());
            }
            Absent::TrendCycleAndPacf => {
                assert_eq!(row.missing, "singular matrix");
                assert_eq!(row.acf, vec![1.0, 0.5, 0.25]);
                assert!(row.pacf.is_empty());
            }
            _ => {
                assert!(row.missing.is_empty());
                assert_eq!(row.acf[0], 1.0, "lag 0 first");
                assert_eq!(row.confint_upper, vec![1.0, 0.9, 0.7]);
                assert_eq!(row.pacf, vec![1.0, 0.5, 0.0]);
            }
        }
    }
    let history = autocorrelation(&mut client, request(1, 0)).await;
    assert_eq!(history.len(), LOAD_SERIES * ANALYSIS_TIMES.len());

    let reply = client.get_forecast(request(0, 0)).await.unwrap().into_inner();
    assert_eq!(reply.rows.len(), LOAD_SERIES);
    for (i, row) in reply.rows.iter().enumerate() {
        if absent(i) == Absent::DecompositionAndForecast {
            assert_eq!(row.missing, "did not converge");
            assert!(row.points.is_empty() && row.model.is_empty());
        } else {
            assert!(row.missing.is_empty());
            assert_eq!((row.model.as_str(), row.level, row.fitted_at_ms), ("arima(1,0,0)", 0.95, 25_000));
            assert_eq!(row.points.len(), FORECAST_STEPS as usize);
            let p = &row.points[0];
            assert_eq!(
                (p.time_ms, p.mean, p.lower, p.upper),
                (13_000, i as f64, i as f64 - 1.0, i as f64 + 1.0)
            );
        }
    }
    let reply = client.get_forecast(request(20_000, 20_000)).await.unwrap().into_inner();
    assert_eq!(reply.rows.len(), LOAD_SERIES);
    assert!(reply.rows.iter().all(|row| row.analyzed_at_ms == 20_000));
    server.stop().await;
}

#[tokio::test]
async fn matchers_select_series_in_every_call() {
    let server = common::start().await;
    let mut client = server.client().await;
    let want: BTreeSet<usize> = (0..LOAD_SERIES).filter(|i| i.is_multiple_of(2)).collect();
    for call in CALLS {
        let (rows, token) = page(
            &mut client,
            call,
            AnalyticsRequest {
                matchers: job_node(),
                ..request(0, 0)
            },
        )
        .await
        .unwrap();
        assert!(token.is_empty());
        let got: BTreeSet<usize> = rows.iter().map(|(i, _)| *i).collect();
        assert_eq!(got, want, "{call:?}");
        assert_eq!(rows.len(), want.len(), "{call:?}");

        let anchored = LabelMatcher {
            name: "instance".into(),
            op: MatchOp::Regex.into(),
            value: "host-1".into(),
        };
        let (rows, _) = page(
            &mut client,
            call,
            AnalyticsRequest {
                matchers: vec![anchored],
                ..request(0, 0)
            },
        )
        .await
        .unwrap();
        assert_eq!(rows, vec![(1, 30_000)], "{call:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn pages_visit_every_selected_row_exactly_once_in_every_call() {
    let server = common::start().await;
    let mut client = server.client().await;
    for call in CALLS {
        for (page_size, matchers, from_ms) in [(4, job_node(), 0), (7, vec![], 0), (5, job_node(), 1), (1, vec![], 25_000)] {
            let base = AnalyticsRequest {
                matchers,
                ..request(from_ms, 0)
            };
            let (unpaged, _) = page(&mut client, call, base.clone()).await.unwrap();
            let mut seen = Vec::new();
            let mut token = String::new();
            let mut pages = 0;
            loop {
                let paged = AnalyticsRequest {
                    page_size,
                    page_token: token,
                    ..base.clone()
                };
                let (rows, next) = page(&mut client, call, paged).await.unwrap();
                pages += 1;
                assert!(rows.len() <= page_size as usize, "{call:?}: page of {}", rows.len());
                seen.extend(rows);
                token = next;
                if token.is_empty() {
                    break;
                }
                assert!(pages < 1_000, "pagination does not end");
            }
            assert_eq!(seen, unpaged, "{call:?}, page_size {page_size}, from {from_ms}");
            assert!(pages > 1, "{call:?}");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn bad_analytics_requests_are_invalid_arguments() {
    let server = common::start().await;
    let mut client = server.client().await;
    let (_, latest_token) = page(
        &mut client,
        Call::Stationarity,
        AnalyticsRequest {
            page_size: 1,
            ..request(0, 0)
        },
    )
    .await
    .unwrap();
    assert!(!latest_token.is_empty());
    let refused = [
        (
            AnalyticsRequest {
                metric: String::new(),
                ..request(0, 0)
            },
            "metric is required",
        ),
        (
            AnalyticsRequest {
                metric: "no-such metric".into(),
                ..request(0, 0)
            },
            "not a metric name",
        ),
        (request(20_000, 10_000), "after to_ms"),
        (request(-5, 0), "never negative"),
        (
            AnalyticsRequest {
                page_size: 10_001,
                ..request(0, 0)
            },
            "page_size",
        ),
        (
            AnalyticsRequest {
                matchers: vec![LabelMatcher {
                    name: "job".into(),
                    op: MatchOp::Regex.into(),
                    value: "(unclosed".into(),
                }],
                ..request(0, 0)
            },
            "bad regex",
        ),
        (
            AnalyticsRequest {
                page_token: "garbage".into(),
                ..request(0, 0)
            },
            "page token",
        ),
    ];
    for call in CALLS {
        for (bad, words) in &refused {
            let status = page(&mut client, call, bad.clone()).await.unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{call:?} {bad:?}: {status:?}");
            assert!(
                status.message().contains(words),
                "{call:?}: {words:?} not in {:?}",
                status.message()
            );
        }
    }
    // A token of the latest analyses does not page through the history.
    for call in [Call::Stationarity, Call::Autocorrelation, Call::Forecast] {
        let history = AnalyticsRequest {
            page_token: latest_token.clone(),
            ..request(1, 0)
        };
        let status = page(&mut client, call, history).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{call:?}");
    }
    server.stop().await;
}
