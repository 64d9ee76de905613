//! Ingest throughput load generator (a benchmark, not a test). Modes:
//!
//! - `direct embedded|kafka:BROKERS`: the ingest path in-process — decode snappy+protobuf
//!   remote-write bodies, validate and normalise, encode Avro, append durably (group commit on
//!   the embedded log, `acks=all` on Kafka) — with `--concurrency` writers.
//! - `http ADDR`: POST remote-write bodies to a running `vane up` and count acknowledged samples.
//! - `bare-kafka BROKERS`: a bare rdkafka producer (`acks=all`) sending records of the same size,
//!   the baseline the Kafka figure is compared with.
//!
//! `cargo run --release -p vane --example ingest_load -- direct embedded --seconds 10`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::producer::{FutureProducer, FutureRecord};
use vane_ingest::remote_write::{self, proto};
use vane_ingest::{IngestConfig, Normaliser};
use vane_stream::embedded::{EmbeddedConfig, EmbeddedLog};
use vane_stream::kafka::{KafkaConfig, KafkaLog};
use vane_stream::{Log, OutRecord, topics};

const SERIES_PER_REQUEST: usize = 500;
const SAMPLES_PER_SERIES: usize = 10;

fn body(request: u64) -> Vec<u8> {
    let mut timeseries = Vec::with_capacity(SERIES_PER_REQUEST);
    for series in 0..SERIES_PER_REQUEST {
        let labels = vec![
            proto::Label {
                name: "__name__".into(),
                value: "node_filesystem_avail_bytes".into(),
            },
            proto::Label {
                name: "device".into(),
                value: format!("/dev/sd{series}"),
            },
            proto::Label {
                name: "instance".into(),
                value: "host-1:9100".into(),
            },
            proto::Label {
                name: "job".into(),
                value: "node".into(),
            },
        ];
        let samples = (0..SAMPLES_PER_SERIES)
            .map(|i| proto::Sample {
                value: (series * i) as f64,
                timestamp: 1_700_000_000_000 + (request as i64) * 15_000 + i as i64,
            })
            .collect();
        timeseries.push(proto::TimeSeries { labels, samples });
    }
    remote_write::encode(&proto::WriteRequest { timeseries })
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn report(what: &str, samples: u64, elapsed: Duration) {
    let rate = samples as f64 / elapsed.as_secs_f64();
    println!(
        "{what}: {samples} samples in {:.2} s = {:.0} samples/s",
        elapsed.as_secs_f64(),
        rate
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds = arg(&args, "--seconds", 10);
    let concurrency = arg(&args, "--concurrency", 4) as usize;
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new((0..64).map(body).collect());
    match (args.first().map(String::as_str), args.get(1)) {
        (Some("direct"), Some(target)) => direct(target, bodies, seconds, concurrency).await,
        (Some("http"), Some(addr)) => http(addr, bodies, seconds, concurrency),
        (Some("bare-kafka"), Some(brokers)) => bare_kafka(brokers, seconds).await,
        _ => anyhow::bail!(
            "usage: ingest_load direct embedded|kafka:BROKERS | http ADDR | bare-kafka BROKERS [--seconds N] [--concurrency N]"
        ),
    }
}

async fn direct(target: &str, bodies: Arc<Vec<Vec<u8>>>, seconds: u64, concurrency: usize) -> anyhow::Result<()> {
    let _dir;
    let log = if let Some(brokers) = target.strip_prefix("kafka:") {
        Log::Kafka(KafkaLog::connect(KafkaConfig::new(brokers))?)
    } else {
        _dir = tempfile::tempdir()?;
        Log::Embedded(EmbeddedLog::open(EmbeddedConfig::new(_dir.path()))?)
    };
    log.ensure_topics(&topics::TopicLayout::default().specs()).await?;
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (log, bodies, done) = (log.clone(), Arc::clone(&bodies), Arc::clone(&done));
        tasks.push(tokio::spawn(async move {
            let mut normaliser = Normaliser::new(IngestConfig::default()).expect("schema");
            let mut i = worker;
            while Instant::now() < deadline {
                let body = &bodies[i % bodies.len()];
                i += concurrency;
                let decoded = remote_write::decode(body, &Default::default()).expect("valid body");
                let count = decoded.samples.len() as u64;
                let traceparent = vane_ingest::trace::new_traceparent();
                let records: Vec<OutRecord> = decoded
                    .samples
                    .into_iter()
                    .map(|s| {
                        normaliser
                            .to_record(s, "bench", Some(traceparent.as_bytes()), i64::MAX / 2)
                            .expect("valid")
                    })
                    .collect();
                log.send(&records).await.expect("append");
                done.fetch_add(count, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    report(
        &format!("direct {target} (concurrency {concurrency})"),
        done.load(Ordering::Relaxed),
        started.elapsed(),
    );
    log.close();
    Ok(())
}

fn http(addr: &str, bodies: Arc<Vec<Vec<u8>>>, seconds: u64, concurrency: usize) -> anyhow::Result<()> {
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut threads = Vec::new();
    for worker in 0..concurrency {
        let (addr, bodies, done) = (addr.to_string(), Arc::clone(&bodies), Arc::clone(&done));
        threads.push(std::thread::spawn(move || {
            let mut i = worker;
            while Instant::now() < deadline {
                let headers = [("Content-Encoding", "snappy"), ("Content-Type", "application/x-protobuf")];
                let ok =
                    vane_testkit::http(&addr, "POST", "/api/v1/write", &headers, &bodies[i % bodies.len()]).is_ok_and(|(s, _)| s == 204);
                i += concurrency;
                if ok {
                    done.fetch_add((SERIES_PER_REQUEST * SAMPLES_PER_SERIES) as u64, Ordering::Relaxed);
                }
            }
        }));
    }
    for thread in threads {
        let _ = thread.join();
    }
    report(
        &format!("http {addr} (concurrency {concurrency})"),
        done.load(Ordering::Relaxed),
        started.elapsed(),
    );
    Ok(())
}

async fn bare_kafka(brokers: &str, seconds: u64) -> anyhow::Result<()> {
    let log = Log::Kafka(KafkaLog::connect(KafkaConfig::new(brokers))?);
    log.ensure_topics(&[vane_stream::TopicSpec::new("bench.bare", 4)]).await?;
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "500000")
        .create()?;
    // Same size as a MetricSample record: about 180 bytes of value, 16 of key.
    let value = vec![7u8; 180];
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut sent = 0u64;
    while Instant::now() < deadline {
        let mut deliveries = Vec::with_capacity(5000);
        for i in 0..5000u64 {
            let key = format!("{:016x}", (sent + i) % 5000);
            let record = FutureRecord::to("bench.bare").key(&key).payload(&value);
            match producer.send_result(record) {
                Ok(delivery) => deliveries.push(delivery),
                Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
        for delivery in deliveries {
            if let Ok(Ok(_)) = delivery.await {
                sent += 1;
            }
        }
    }
    report("bare rdkafka producer acks=all", sent, started.elapsed());
    Ok(())
}
