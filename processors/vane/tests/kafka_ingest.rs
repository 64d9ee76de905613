//! Acceptance on Kafka: garbage produced by an outside client to `vane.metrics.ingest` ends up on
//! `vane.dlq` (one dead letter each), valid records after it reach `vane.metrics.samples`, and
//! `/healthz` stays 200 throughout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

mod common;

use std::time::Duration;

use common::*;
use vane_stream::dlq::DeadLetter;
use vane_stream::kafka::{KafkaConfig, KafkaLog};
use vane_stream::{Log, OutRecord, topics};
use vane_testkit::{Broker, VaneProcess};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_goes_to_the_dead_letter_topic_and_valid_records_go_through() {
    let Some(broker) = Broker::start_or_skip("garbage_goes_to_the_dead_letter_topic") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let vane = VaneProcess::start(
        VANE,
        &[
            "up",
            "--kafka",
            &broker.bootstrap(),
            "--http-addr",
            "127.0.0.1:0",
            "--data-dir",
            work.path().to_str().unwrap(),
        ],
        &[],
    );
    let outside = Log::Kafka(KafkaLog::connect(KafkaConfig::new(&broker.bootstrap())).unwrap());
    outside
        .ensure_topics(&vane_stream::topics::TopicLayout::default().specs())
        .await
        .unwrap();

    let mut garbage = Vec::new();
    for i in 0..1000 {
        let value = match i % 4 {
            0 => b"\xc3\x01not avro at all".to_vec(),
            1 => format!("{{\"name\": \"up\", \"value\": {i}}}").into_bytes(),
            2 => vec![0xff, 0xfe, i as u8],
            _ => format!("{{\"name\": \"bad name!\", \"timestamp\": 1700000000, \"value\": {i}}}").into_bytes(),
        };
        garbage.push(OutRecord::new(topics::METRICS_INGEST, format!("g{i}"), value, 0));
    }
    outside.send(&garbage).await.unwrap();
    let mut valid = Vec::new();
    for i in 0..100 {
        let json = format!(
            "{{\"name\":\"node_filefd_allocated\",\"labels\":{{\"instance\":\"h{}\"}},\"timestamp\":{},\"value\":{i}}}",
            i % 5,
            1_700_000_000 + i
        );
        valid.push(OutRecord::new(topics::METRICS_INGEST, format!("v{i}"), json.into_bytes(), 0));
    }
    outside.send(&valid).await.unwrap();

    let dead = read_until(&outside, topics::DLQ, Duration::from_secs(90), |r| r.len() >= 1000).await;
    let samples = read_until(&outside, topics::METRICS_SAMPLES, Duration::from_secs(90), |r| r.len() >= 100).await;
    let (status, body) = vane_testkit::http(&vane.http_addr, "GET", "/healthz", &[], b"").unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));

    assert_eq!(dead.len(), 1000, "one dead letter per garbage record");
    for record in &dead {
        let letter: DeadLetter = serde_json::from_slice(&record.value).unwrap();
        assert_eq!(letter.source_topic, topics::METRICS_INGEST);
        assert!(letter.offset.is_some() && letter.partition.is_some() && !letter.reason.is_empty());
    }
    let decoded = decode_samples(&samples);
    assert_eq!(decoded.len(), 100);
    for (record, event) in samples.iter().zip(&decoded) {
        assert_eq!(
            record.key.as_deref(),
            Some(event.sample.series_id.to_string().as_bytes()),
            "re-keyed by series id"
        );
    }
    assert!(vane.stop().success());
}
