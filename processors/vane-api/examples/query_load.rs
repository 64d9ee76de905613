//! gRPC query latency under load (a benchmark, not a test): an open-loop generator that starts
//! `--rate` ListAggregates calls per second against a running vane (`--grpc-addr`), each for one
//! series picked by a label matcher (or, with `--all`, the whole metric), and reports latency
//! percentiles. Open loop: a slow answer does not slow the arrival rate down.
//!
//! `cargo run --release -p vane-api --example query_load -- --grpc-addr 127.0.0.1:50051 --rate 1000 --seconds 20`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // benchmark code

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vane_api::client::Client;
use vane_api::pb;

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = arg(&args, "--grpc-addr").unwrap_or("127.0.0.1:50051").to_string();
    let rate: u64 = arg(&args, "--rate").and_then(|v| v.parse().ok()).unwrap_or(1000);
    let seconds: u64 = arg(&args, "--seconds").and_then(|v| v.parse().ok()).unwrap_or(20);
    let metric = arg(&args, "--metric").unwrap_or("node_filesystem_avail_bytes").to_string();
    let label = arg(&args, "--label").unwrap_or("device").to_string();
    let all = args.iter().any(|a| a == "--all");

    let mut client = Client::connect(&addr).await.expect("connect");
    let series = client
        .all_series(pb::ListSeriesRequest {
            metric: metric.clone(),
            ..Default::default()
        })
        .await
        .expect("series");
    let values: Vec<String> = series.iter().filter_map(|s| s.labels.get(&label).cloned()).collect();
    assert!(!values.is_empty(), "no series of {metric} with label {label}: feed vane first");
    let raw = client.raw().clone();
    let latencies = Arc::new(Mutex::new(Vec::with_capacity((rate * seconds) as usize)));
    let errors = Arc::new(Mutex::new(0u64));
    let mut ticker = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::new();
    let mut i = 0usize;
    while started.elapsed() < Duration::from_secs(seconds) {
        ticker.tick().await;
        let mut raw = raw.clone();
        let matchers = if all {
            vec![]
        } else {
            vec![pb::LabelMatcher {
                name: label.clone(),
                op: pb::MatchOp::Equal as i32,
                value: values[i % values.len()].clone(),
            }]
        };
        i += 1;
        let request = pb::ListAggregatesRequest {
            metric: metric.clone(),
            matchers,
            window: "1h".into(),
            ..Default::default()
        };
        let (latencies, errors) = (Arc::clone(&latencies), Arc::clone(&errors));
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let outcome = async {
                let mut stream = raw.list_aggregates(request).await?.into_inner();
                let mut rows = 0;
                while stream.message().await?.is_some() {
                    rows += 1;
                }
                Ok::<usize, tonic::Status>(rows)
            }
            .await;
            match outcome {
                Ok(rows) if rows > 0 => latencies.lock().unwrap().push(sent.elapsed()),
                _ => *errors.lock().unwrap() += 1,
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed();
    let mut latencies = latencies.lock().unwrap().clone();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{} calls in {:.1} s ({:.0}/s), {} errors; latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        errors.lock().unwrap(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        pct(0.999).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );
}
