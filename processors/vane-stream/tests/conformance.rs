//! One behaviour, two backends: every test here runs against the embedded log and against a real
//! Kafka-protocol broker (tansu, started by the harness; skipped with a reason when absent).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use vane_stream::embedded::{EmbeddedConfig, EmbeddedLog};
use vane_stream::kafka::{KafkaConfig, KafkaLog};
use vane_stream::runner::{self, Processor, Rejected, RunnerConfig, SystemClock};
use vane_stream::{Consumer, Log, OutRecord, Record, TopicSpec, metrics::Metrics};
use vane_testkit::Broker;

/// Runs `$body(log, topic_prefix)` on both backends.
macro_rules! conformance {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                let dir = tempfile::tempdir().unwrap();
                let log = Log::Embedded(EmbeddedLog::open(EmbeddedConfig::new(dir.path())).unwrap());
                ($body)(log, "e").await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn kafka() {
                let Some(broker) = Broker::start_or_skip(stringify!($name)) else {
                    return;
                };
                let log = Log::Kafka(KafkaLog::connect(KafkaConfig::new(&broker.bootstrap())).unwrap());
                ($body)(log, "k").await;
            }
        }
    };
}

fn records(topic: &str, keys: usize, per_key: usize) -> Vec<OutRecord> {
    let mut out = Vec::new();
    for i in 0..per_key {
        for k in 0..keys {
            let value = format!("{k}:{i}").into_bytes();
            out.push(
                OutRecord::new(topic, format!("key-{k}"), value, 1_700_000_000_000 + i as i64)
                    .with_header("traceparent", format!("00-{k}-{i}")),
            );
        }
    }
    out
}

async fn drain(consumer: &mut Consumer, expected: usize, timeout: Duration) -> Vec<Record> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    while got.len() < expected && Instant::now() < deadline {
        got.extend(consumer.poll(1000, Duration::from_millis(200)).await.unwrap());
    }
    got
}

fn next_offsets(records: &[Record]) -> Vec<((String, u32), u64)> {
    let mut next: BTreeMap<(String, u32), u64> = BTreeMap::new();
    for r in records {
        let e = next.entry((r.topic.clone(), r.partition)).or_default();
        *e = (*e).max(r.offset + 1);
    }
    next.into_iter().collect()
}

conformance!(
    round_trip_keeps_key_order_headers_and_timestamps,
    |log: Log, p: &'static str| async move {
        let topic = format!("{p}.round-trip");
        log.ensure_topics(&[TopicSpec::new(&topic, 4)]).await.unwrap();
        let sent = records(&topic, 8, 50);
        log.send(&sent).await.unwrap();
        let mut consumer = log.consumer(Some(&format!("{p}-g1")), &[&topic]).unwrap();
        let got = drain(&mut consumer, sent.len(), Duration::from_secs(30)).await;
        assert_eq!(got.len(), sent.len());
        let mut per_key: HashMap<Vec<u8>, Vec<String>> = HashMap::new();
        let mut partition_of_key: HashMap<Vec<u8>, u32> = HashMap::new();
        for r in &got {
            let key = r.key.clone().unwrap();
            assert_eq!(
                *partition_of_key.entry(key.clone()).or_insert(r.partition),
                r.partition,
                "a key moved partitions"
            );
            assert_eq!(r.partition, vane_core::partition::partition_for(&key, 4));
            per_key.entry(key).or_default().push(String::from_utf8(r.value.clone()).unwrap());
            let (k, i) = std::str::from_utf8(&r.value).unwrap().split_once(':').unwrap();
            assert_eq!(r.header("traceparent").unwrap(), format!("00-{k}-{i}").as_bytes());
            assert_eq!(r.timestamp_ms, 1_700_000_000_000 + i.parse::<i64>().unwrap());
        }
        for (key, values) in per_key {
            let k = std::str::from_utf8(&key).unwrap().trim_start_matches("key-").to_string();
            let expected: Vec<String> = (0..50).map(|i| format!("{k}:{i}")).collect();
            assert_eq!(values, expected, "order within a key");
        }
    }
);

conformance!(committed_offsets_are_resumed_by_the_group, |log: Log, p: &'static str| async move {
    let topic = format!("{p}.resume");
    let group = format!("{p}-resume");
    log.ensure_topics(&[TopicSpec::new(&topic, 2)]).await.unwrap();
    log.send(&records(&topic, 4, 25)).await.unwrap();
    let first = {
        let mut consumer = log.consumer(Some(&group), &[&topic]).unwrap();
        let got = drain(&mut consumer, 100, Duration::from_secs(30)).await;
        assert_eq!(got.len(), 100);
        consumer.commit(&next_offsets(&got)).unwrap();
        // Let an asynchronous commit reach the broker before the member leaves.
        tokio::time::sleep(Duration::from_millis(500)).await;
        got.len()
    };
    log.send(&records(&topic, 4, 5)).await.unwrap();
    let mut consumer = log.consumer(Some(&group), &[&topic]).unwrap();
    let got = drain(&mut consumer, 20, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let extra = consumer.poll(1000, Duration::from_millis(300)).await.unwrap();
    assert_eq!(
        (first, got.len() + extra.len()),
        (100, 20),
        "the new member starts at the committed offsets"
    );
});

conformance!(
    two_members_split_partitions_and_read_everything_once,
    |log: Log, p: &'static str| async move {
        let topic = format!("{p}.split");
        let group = format!("{p}-split");
        log.ensure_topics(&[TopicSpec::new(&topic, 4)]).await.unwrap();
        let mut a = log.consumer(Some(&group), &[&topic]).unwrap();
        let mut b = log.consumer(Some(&group), &[&topic]).unwrap();
        // Wait for the group to settle: both members own partitions and together own all four.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            a.poll(10, Duration::from_millis(100)).await.unwrap();
            b.poll(10, Duration::from_millis(100)).await.unwrap();
            let (pa, pb) = (a.assignment(), b.assignment());
            let all: BTreeSet<_> = pa.iter().chain(pb.iter()).collect();
            if !pa.is_empty() && !pb.is_empty() && all.len() == 4 && pa.len() + pb.len() == 4 {
                break;
            }
            assert!(Instant::now() < deadline, "group never settled: {pa:?} {pb:?}");
        }
        let sent = records(&topic, 16, 10);
        log.send(&sent).await.unwrap();
        let mut seen = BTreeSet::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while seen.len() < sent.len() && Instant::now() < deadline {
            for consumer in [&mut a, &mut b] {
                for r in consumer.poll(1000, Duration::from_millis(100)).await.unwrap() {
                    assert!(seen.insert((r.partition, r.offset)), "a record was delivered twice");
                }
            }
        }
        assert_eq!(seen.len(), sent.len());
    }
);

conformance!(
    compacted_topics_rebuild_the_latest_value_per_key,
    |log: Log, p: &'static str| async move {
        let topic = format!("{p}.table");
        log.ensure_topics(&[TopicSpec::new(&topic, 2).compacted()]).await.unwrap();
        log.send(&records(&topic, 5, 4)).await.unwrap();
        if let Log::Embedded(embedded) = &log {
            embedded.maintain(i64::MAX).unwrap();
        }
        let mut reader = log.consumer(None, &[&topic]).unwrap();
        let got = drain(&mut reader, 20, Duration::from_secs(10)).await;
        let mut table = BTreeMap::new();
        for r in got {
            table.insert(r.key.unwrap(), r.value);
        }
        assert_eq!(table.len(), 5);
        for (key, value) in table {
            let k = std::str::from_utf8(&key).unwrap().trim_start_matches("key-");
            assert_eq!(value, format!("{k}:3").into_bytes());
        }
    }
);

/// Forwards records whose value is a number to `<topic>.out`; rejects the rest.
struct Doubler {
    out_topic: String,
}

impl Processor for Doubler {
    fn process(&mut self, record: &Record, _now: i64, out: &mut Vec<OutRecord>) -> Result<(), Rejected> {
        let text = std::str::from_utf8(&record.value)?;
        let n: i64 = text.parse().map_err(|_| Rejected(format!("{text:?} is not a number")))?;
        out.push(OutRecord::new(
            &self.out_topic,
            record.key.clone().unwrap_or_default(),
            (n * 2).to_string().into_bytes(),
            record.timestamp_ms,
        ));
        Ok(())
    }
}

conformance!(
    runner_forwards_good_records_and_dead_letters_bad_ones,
    |log: Log, p: &'static str| async move {
        let (input, output) = (format!("{p}.in"), format!("{p}.in.out"));
        let mut specs = vec![TopicSpec::new(&input, 2), TopicSpec::new(&output, 2)];
        specs.push(TopicSpec::new(vane_stream::topics::DLQ, 2));
        log.ensure_topics(&specs).await.unwrap();
        let mut batch = Vec::new();
        for i in 0..200 {
            let value = if i % 4 == 0 { format!("garbage-{i}") } else { i.to_string() };
            batch.push(OutRecord::new(&input, format!("k{i}"), value.into_bytes(), 0));
        }
        log.send(&batch).await.unwrap();
        let (stop, shutdown) = watch::channel(false);
        let metrics = Metrics::new();
        let config = RunnerConfig::new("doubler", &format!("{p}-doubler"), &[&input]);
        let worker = {
            let log = log.clone();
            let metrics = metrics.clone();
            let out_topic = output.clone();
            tokio::spawn(async move { runner::run(log, config, Doubler { out_topic }, &SystemClock, &metrics, shutdown).await })
        };
        let mut outputs = log.consumer(Some(&format!("{p}-check-out")), &[&output]).unwrap();
        let got = drain(&mut outputs, 150, Duration::from_secs(60)).await;
        let mut dlq = log.consumer(Some(&format!("{p}-check-dlq")), &[vane_stream::topics::DLQ]).unwrap();
        let dead = drain(&mut dlq, 50, Duration::from_secs(60)).await;
        // The role says it has caught up: both partitions, nothing left to read (on Kafka the
        // lag is measured beside the loop and shows up a poll later).
        let caught_up = "vane_assigned_partitions{role=\"doubler\"} 2\n";
        let no_lag = "vane_consumer_lag_records{role=\"doubler\"} 0\n";
        let deadline = Instant::now() + Duration::from_secs(30);
        while !(metrics.render().contains(caught_up) && metrics.render().contains(no_lag)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let text = metrics.render();
        assert!(text.contains(caught_up) && text.contains(no_lag), "{text}");
        stop.send(true).unwrap();
        worker.await.unwrap().unwrap();
        assert_eq!(got.len(), 150);
        assert_eq!(dead.len(), 50);
        let letter: vane_stream::dlq::DeadLetter = serde_json::from_slice(&dead[0].value).unwrap();
        assert!(letter.reason.contains("is not a number"), "{}", letter.reason);
        assert_eq!(letter.source_topic, input);
        assert!(metrics.render().contains("vane_dlq_records_total{role=\"doubler\"} 50"));
    }
);
