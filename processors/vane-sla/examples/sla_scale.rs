//! Scale benchmark of the SLA worker (issue 6): N SLAs, each on its own series receiving one
//! sample per second (N samples/s in all), through the embedded log and the real runner; how long
//! after a sample is written its status change is readable on `vane.sla.events`.
//!
//! `cargo run --release -p vane-sla --example sla_scale -- [SLAS] [SECONDS]`
//!
//! Every sample flips its series between in range and out of range, so every sample is a status
//! transition (the worst case: each one is a status event, half of them also a violation, and
//! each series' state goes to the changelog). A producer task writes one batch per 100 ms (1/10
//! of every series each time, paced by the wall clock); the worker runs as `vane run sla` does;
//! a reader tails `vane.sla.events` and takes, for every status event, `read time − sample
//! timestamp` (the sample is stamped when written). Prints p50/p90/p99/max of that lag over the
//! run after a 5-second warm-up, and the throughput actually reached.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use vane_core::sla::SlaDefinition;
use vane_core::{Sample, SeriesIdentity};
use vane_events::{Codec, Envelope, MetricSampleEvent, SlaDefinitionEvent, SlaEvent, SlaEventKind};
use vane_sla::{SlaConfig, SlaProcessor};
use vane_stream::embedded::{EmbeddedConfig, EmbeddedLog};
use vane_stream::metrics::Metrics;
use vane_stream::runner::{self, Clock, RunnerConfig, SystemClock};
use vane_stream::topics::{self, TopicLayout};
use vane_stream::{Log, OutRecord};

fn identity(series: usize) -> SeriesIdentity {
    SeriesIdentity::new("bench_value".into(), [("series".to_string(), series.to_string())], &BTreeSet::new()).unwrap()
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let slas: usize = args.next().map_or(10_000, |a| a.parse().unwrap());
    let seconds: u64 = args.next().map_or(60, |a| a.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let log = Log::Embedded(EmbeddedLog::open(EmbeddedConfig::new(dir.path())).unwrap());
    log.ensure_topics(&TopicLayout::default().specs()).await.unwrap();
    let clock = SystemClock;

    // The SLAs: one per series, allowed range [0, 10].
    let definitions: Codec<SlaDefinitionEvent> = Codec::new().unwrap();
    let now = clock.now_ms();
    let records: Vec<OutRecord> = (0..slas)
        .map(|i| {
            let mut def = SlaDefinition::new(
                &format!("bench-{i:05}"),
                &format!("bench-{i}"),
                "bench_value",
                Some(0.0),
                Some(10.0),
                now,
            );
            def.matchers = vec![vane_core::matcher::Matcher::parse(&format!("series={i}")).unwrap()];
            let event = SlaDefinitionEvent {
                envelope: Envelope::new(now, now, "bench"),
                definition: def,
                deleted: false,
            };
            OutRecord::new(topics::SLA_DEFINITIONS, format!("bench-{i:05}"), definitions.encode(&event), now)
        })
        .collect();
    log.send(&records).await.unwrap();

    let (stop, stopping) = watch::channel(false);
    let (table, _follower) = vane_sla::follow::follow_definitions(&log, stopping.clone()).await.unwrap();
    assert_eq!(table.read().unwrap().len(), slas);
    let processor = SlaProcessor::new(SlaConfig::default(), table).unwrap();
    let mut config = RunnerConfig::new("sla", "vane-sla", &[topics::METRICS_SAMPLES, topics::METRICS_ANALYTICS]);
    config.punctuate_every = Some(Duration::from_secs(5));
    let metrics = Metrics::new();
    let worker = {
        let (log, stopping) = (log.clone(), stopping.clone());
        tokio::spawn(async move { runner::run(log, config, processor, &SystemClock, &metrics, stopping).await })
    };

    // The producer: every 100 ms a tenth of the series, each series once a second.
    let producer = {
        let log = log.clone();
        tokio::spawn(async move {
            let codec: Codec<MetricSampleEvent> = Codec::new().unwrap();
            let identities: Vec<SeriesIdentity> = (0..slas).map(identity).collect();
            let started = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let mut written = 0u64;
            let mut round = 0u64;
            while started.elapsed() < Duration::from_secs(seconds) {
                tick.tick().await;
                let slot = (round % 10) as usize;
                let second = round / 10;
                let ts = SystemClock.now_ms();
                let batch: Vec<OutRecord> = identities
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % 10 == slot)
                    .map(|(_, id)| {
                        // Alternates in range (5) and out of range (20) every second.
                        let value = if second.is_multiple_of(2) { 5.0 } else { 20.0 };
                        let sample = Sample::new(id.clone(), ts, value).unwrap();
                        let key = sample.series_id.to_string();
                        let event = MetricSampleEvent {
                            envelope: Envelope::new(ts, ts, "bench"),
                            sample,
                        };
                        OutRecord::new(topics::METRICS_SAMPLES, key, codec.encode(&event), ts)
                    })
                    .collect();
                written += batch.len() as u64;
                log.send(&batch).await.unwrap();
                round += 1;
            }
            (written, started.elapsed())
        })
    };

    // The reader: lag of every status event.
    let events: Codec<SlaEvent> = Codec::new().unwrap();
    let mut reader = log.consumer(None, &[topics::SLA_EVENTS]).unwrap();
    let started = clock.now_ms();
    let warm_up_until = started + 5_000;
    let mut lags = Vec::new();
    let mut to_worker = Vec::new();
    let mut statuses = 0u64;
    let mut violations = 0u64;
    while !producer.is_finished() {
        for record in reader.poll(50_000, Duration::from_millis(20)).await.unwrap() {
            let read_at = clock.now_ms();
            let event = events.decode(&record.value).unwrap();
            match event.kind {
                SlaEventKind::Status => {
                    statuses += 1;
                    if event.at_ms >= warm_up_until {
                        lags.push(read_at - event.at_ms);
                        to_worker.push(event.envelope.recorded_at_ms - event.at_ms);
                    }
                }
                SlaEventKind::Violation => violations += 1,
                SlaEventKind::Forecast => {}
            }
        }
    }
    let (written, elapsed) = producer.await.unwrap();
    let _ = stop.send(true);
    let _ = worker.await;
    lags.sort_unstable();
    to_worker.sort_unstable();
    println!(
        "{slas} SLAs, {written} samples in {:.1} s ({:.0} samples/s written); {statuses} status events, {violations} violations",
        elapsed.as_secs_f64(),
        written as f64 / elapsed.as_secs_f64()
    );
    println!(
        "status lag after warm-up ({} events): p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
        lags.len(),
        percentile(&lags, 0.50),
        percentile(&lags, 0.90),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or(0)
    );
    println!(
        "of which until the worker processed the sample: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
        percentile(&to_worker, 0.50),
        percentile(&to_worker, 0.90),
        percentile(&to_worker, 0.99),
        to_worker.last().copied().unwrap_or(0)
    );
}
