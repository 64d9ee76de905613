//! Acceptance: kill -9 during ingestion, restart, and every acknowledged sample is in the log,
//! on both backends. "Acknowledged" is a 2xx answer to a remote-write request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use vane_ingest::remote_write::{self, proto};
use vane_stream::kafka::{KafkaConfig, KafkaLog};
use vane_stream::{Log, topics};
use vane_testkit::{Broker, VaneProcess};

/// One remote-write request: 10 series × 50 samples with timestamps unique to `request`.
fn request(request: u64) -> (Vec<u8>, Vec<(String, i64)>) {
    let mut timeseries = Vec::new();
    let mut expected = Vec::new();
    for series in 0..10 {
        let labels = vec![
            proto::Label {
                name: "__name__".into(),
                value: "crash_test_value".into(),
            },
            proto::Label {
                name: "series".into(),
                value: series.to_string(),
            },
        ];
        let samples: Vec<proto::Sample> = (0..50)
            .map(|i| proto::Sample {
                value: i as f64,
                timestamp: 1_700_000_000_000 + (request * 50 + i) as i64,
            })
            .collect();
        for sample in &samples {
            expected.push((series.to_string(), sample.timestamp));
        }
        timeseries.push(proto::TimeSeries { labels, samples });
    }
    (remote_write::encode(&proto::WriteRequest { timeseries }), expected)
}

/// Sends requests until told to stop; returns the samples of every acknowledged request.
fn load(addr: String, stop: Arc<AtomicBool>, acknowledged: Arc<Mutex<Vec<(String, i64)>>>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut sent = 0;
        while !stop.load(Ordering::Relaxed) {
            let (body, samples) = request(sent);
            sent += 1;
            let headers = [("Content-Encoding", "snappy"), ("Content-Type", "application/x-protobuf")];
            if let Ok((status, _)) = vane_testkit::http(&addr, "POST", "/api/v1/write", &headers, &body)
                && (200..300).contains(&status)
            {
                acknowledged.lock().unwrap().extend(samples);
            }
        }
        sent
    })
}

fn crash_while_loading(args: &[&str]) -> Vec<(String, i64)> {
    let vane = VaneProcess::start(VANE, args, &[]);
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let loader = load(vane.http_addr.clone(), Arc::clone(&stop), Arc::clone(&acknowledged));
    std::thread::sleep(Duration::from_secs(3));
    vane.kill9();
    stop.store(true, Ordering::Relaxed);
    let sent = loader.join().unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 500, "the load ran before the crash ({sent} requests)");
    acknowledged
}

fn assert_all_present(acknowledged: &[(String, i64)], events: &[vane_events::MetricSampleEvent]) {
    let stored: BTreeSet<(String, i64)> = events
        .iter()
        .map(|e| (e.sample.series.labels["series"].clone(), e.sample.timestamp_ms))
        .collect();
    let missing = acknowledged.iter().filter(|s| !stored.contains(s)).count();
    assert_eq!(missing, 0, "{missing} of {} acknowledged samples were lost", acknowledged.len());
}

#[test]
fn embedded_kill9_loses_no_acknowledged_sample() {
    let work = tempfile::tempdir().unwrap();
    let data_dir = work.path().to_str().unwrap().to_string();
    let args = [
        "up",
        "--data-dir",
        &data_dir,
        "--http-addr",
        "127.0.0.1:0",
        "--grpc-addr",
        "127.0.0.1:0",
    ];
    let acknowledged = crash_while_loading(&args);
    // Restart on the same data dir: recovery truncates any torn tail, then serves again.
    let restarted = VaneProcess::start(VANE, &args, &[]);
    let (status, _) = vane_testkit::http(&restarted.http_addr, "GET", "/healthz", &[], b"").unwrap();
    assert_eq!(status, 200);
    assert!(restarted.stop().success());
    let events = decode_samples(&embedded_records(work.path(), topics::METRICS_SAMPLES));
    assert_all_present(&acknowledged, &events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_kill9_loses_no_acknowledged_sample() {
    let Some(broker) = Broker::start_or_skip("kafka_kill9_loses_no_acknowledged_sample") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let data_dir = work.path().to_str().unwrap().to_string();
    let bootstrap = broker.bootstrap();
    let args = [
        "up",
        "--kafka",
        &bootstrap,
        "--data-dir",
        &data_dir,
        "--http-addr",
        "127.0.0.1:0",
        "--grpc-addr",
        "127.0.0.1:0",
    ];
    let acknowledged = tokio::task::spawn_blocking({
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        move || crash_while_loading(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap();
    let log = Log::Kafka(KafkaLog::connect(KafkaConfig::new(&bootstrap)).unwrap());
    log.ensure_topics(&topics::TopicLayout::default().specs()).await.unwrap();
    let expected = acknowledged.len();
    let records = read_until(&log, topics::METRICS_SAMPLES, Duration::from_secs(60), |r| r.len() >= expected).await;
    assert_all_present(&acknowledged, &decode_samples(&records));
}
