//! Behaviour specific to the embedded backend: durability across reopen, the data-dir lock,
//! compaction and retention of segment files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

use std::time::Duration;

use vane_stream::embedded::{EmbeddedConfig, EmbeddedLog};
use vane_stream::{OutRecord, StreamError, TopicSpec};

fn small_segments(dir: &std::path::Path) -> EmbeddedConfig {
    let mut config = EmbeddedConfig::new(dir);
    config.segment_bytes = 2048;
    config
}

fn batch(topic: &str, keys: usize, round: usize, timestamp_ms: i64) -> Vec<OutRecord> {
    (0..keys)
        .map(|k| OutRecord::new(topic, format!("key-{k}"), format!("{k}:{round}").into_bytes(), timestamp_ms))
        .collect()
}

fn read_all(log: &EmbeddedLog, topic: &str) -> Vec<vane_stream::Record> {
    let mut all = Vec::new();
    for partition in 0..log.partition_count(topic).unwrap() {
        all.extend(log.fetch(topic, partition, 0, usize::MAX).unwrap().0);
    }
    all
}

#[tokio::test]
async fn acknowledged_records_survive_reopen_and_offsets_continue() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(small_segments(dir.path())).unwrap();
        log.ensure_topics(&[TopicSpec::new("t", 3)]).unwrap();
        for round in 0..20 {
            log.send(&batch("t", 10, round, 0)).await.unwrap();
        }
    }
    let log = EmbeddedLog::open(small_segments(dir.path())).unwrap();
    assert_eq!(read_all(&log, "t").len(), 200);
    let before = log.end_offsets("t").unwrap();
    log.send(&batch("t", 10, 99, 0)).await.unwrap();
    let after = log.end_offsets("t").unwrap();
    assert_eq!(after.iter().sum::<u64>(), before.iter().sum::<u64>() + 10);
    for partition in 0..3 {
        let (records, _) = log.fetch("t", partition, 0, usize::MAX).unwrap();
        for (i, record) in records.iter().enumerate() {
            assert_eq!(record.offset, i as u64, "offsets are dense and survive reopen");
        }
    }
}

#[test]
fn a_second_instance_cannot_open_the_same_dir() {
    let dir = tempfile::tempdir().unwrap();
    let _first = EmbeddedLog::open(EmbeddedConfig::new(dir.path())).unwrap();
    let second = EmbeddedLog::open(EmbeddedConfig::new(dir.path()));
    assert!(matches!(second, Err(StreamError::Locked(_))), "{second:?}");
}

#[tokio::test]
async fn compaction_keeps_only_the_latest_record_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(small_segments(dir.path())).unwrap();
    log.ensure_topics(&[TopicSpec::new("table", 1).compacted()]).unwrap();
    for round in 0..30 {
        log.send(&batch("table", 5, round, 0)).await.unwrap();
    }
    assert_eq!(read_all(&log, "table").len(), 150);
    log.maintain(0).unwrap();
    let after = read_all(&log, "table");
    // 2 KiB segments hold 50 of these records: offsets 0..100 are in closed segments, all
    // superseded by the active segment (100..150), which compaction never touches (as Kafka).
    assert_eq!(after.len(), 50, "compaction removed superseded records");
    assert!(after.iter().all(|r| r.offset >= 100));
    let mut latest = std::collections::BTreeMap::new();
    for record in &after {
        latest.insert(record.key.clone().unwrap(), record.value.clone());
    }
    for (key, value) in latest {
        let k = String::from_utf8(key).unwrap().trim_start_matches("key-").to_string();
        assert_eq!(value, format!("{k}:29").into_bytes());
    }
    let offsets: Vec<u64> = after.iter().map(|r| r.offset).collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "offsets keep their order");
    drop(log);
    let reopened = EmbeddedLog::open(small_segments(dir.path())).unwrap();
    assert_eq!(read_all(&reopened, "table").len(), after.len());
}

#[tokio::test]
async fn retention_deletes_old_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(small_segments(dir.path())).unwrap();
    log.ensure_topics(&[TopicSpec::new("raw", 1).retention(Duration::from_secs(3600))])
        .unwrap();
    let hour_ms = 3_600_000;
    for round in 0..20 {
        log.send(&batch("raw", 5, round, 0)).await.unwrap();
    }
    for round in 20..40 {
        log.send(&batch("raw", 5, round, 10 * hour_ms)).await.unwrap();
    }
    log.maintain(10 * hour_ms + 1).unwrap();
    let left = read_all(&log, "raw");
    assert!(left.len() < 200 && left.len() >= 100, "{} left", left.len());
    assert!(
        left.iter().filter(|r| r.timestamp_ms == 10 * hour_ms).count() == 100,
        "new records are all kept"
    );
}

#[tokio::test]
async fn progress_gauges_show_the_assignment_and_the_lag_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(EmbeddedConfig::new(dir.path())).unwrap();
    log.ensure_topics(&[TopicSpec::new("t", 2)]).unwrap();
    log.send(&batch("t", 10, 0, 0)).await.unwrap();
    let log = vane_stream::Log::Embedded(log);
    let metrics = vane_stream::metrics::Metrics::new();
    let mut progress = vane_stream::metrics::RoleMetrics::new(&metrics, "r").progress;
    let mut consumer = log.consumer(Some("g"), &["t"]).unwrap();
    let gauge = |name: &str| -> String {
        let text = metrics.render();
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{role=\"r\"}}")))
            .unwrap()
            .to_string();
        line.rsplit(' ').next().unwrap().to_string()
    };
    let records = consumer.poll(4, Duration::from_millis(100)).await.unwrap();
    assert_eq!(progress.observe(&mut consumer).await.len(), 2);
    // Measured right after the assignment, not after the lag interval.
    assert_eq!(gauge("vane_assigned_partitions"), "2");
    assert_eq!(gauge("vane_consumer_lag_records"), (10 - records.len()).to_string());
    // A second member takes a partition: measured again at once.
    let mut second = log.consumer(Some("g"), &["t"]).unwrap();
    second.poll(1, Duration::from_millis(100)).await.unwrap();
    consumer.poll(1, Duration::from_millis(100)).await.unwrap();
    let kept = progress.observe(&mut consumer).await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(gauge("vane_assigned_partitions"), "1");
    assert_eq!(gauge("vane_consumer_lag_records"), consumer.lag().await.unwrap().to_string());
}
