//! End-to-end throughput of the metrics pipeline, embedded (a benchmark, not a test): samples
//! already on `vane.metrics.samples` → aggregates worker (1h/3h/12h windows) →
//! `vane.metrics.aggregates` → projector → SQLite read models, every batch committed only after
//! its outputs are durable. Reports samples/s from the first read to the last row projected.
//!
//! `cargo run --release -p vane --example pipeline_load -- --series 10000 --samples 2000000`

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use vane_aggregates::{AggregatesConfig, AggregatesProcessor};
use vane_core::{Sample, SeriesIdentity};
use vane_events::{Codec, Envelope, MetricSampleEvent};
use vane_store::Store;
use vane_stream::embedded::{EmbeddedConfig, EmbeddedLog};
use vane_stream::metrics::Metrics;
use vane_stream::runner::{self, RunnerConfig, SystemClock};
use vane_stream::{Log, OutRecord, topics};

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn counter(metrics: &Metrics, name: &str, role: &str) -> u64 {
    let text = metrics.render();
    let series = format!("{name}{{role=\"{role}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let series = arg(&args, "--series", 10_000);
    let samples = arg(&args, "--samples", 2_000_000);
    let dir = tempfile::tempdir()?;
    let log = Log::Embedded(EmbeddedLog::open(EmbeddedConfig::new(dir.path()))?);
    log.ensure_topics(&topics::TopicLayout::default().specs()).await?;
    let codec = Codec::<MetricSampleEvent>::new()?;
    let identities: Vec<SeriesIdentity> = (0..series)
        .map(|i| {
            SeriesIdentity::new(
                "node_memory_MemFree_bytes".into(),
                [("instance".to_string(), format!("host-{i}:9100"))],
                &Default::default(),
            )
        })
        .collect::<Result<_, _>>()?;
    let per_series = samples / series;
    let started_fill = Instant::now();
    let mut batch = Vec::with_capacity(50_000);
    for step in 0..per_series {
        for identity in &identities {
            let ts = 1_700_000_000_000 + step as i64 * 15_000;
            let sample = Sample::new(identity.clone(), ts, 1e9 + (step as f64).sin() * 1e6)?;
            let key = sample.series_id.to_string();
            let event = MetricSampleEvent {
                envelope: Envelope::new(ts, ts, "bench"),
                sample,
            };
            batch.push(OutRecord::new(topics::METRICS_SAMPLES, key, codec.encode(&event), ts));
            if batch.len() == 50_000 {
                log.send(&batch).await?;
                batch.clear();
            }
        }
    }
    log.send(&batch).await?;
    let total = per_series * series;
    println!(
        "filled {total} samples ({series} series × {per_series}) in {:.1} s",
        started_fill.elapsed().as_secs_f64()
    );

    let store = Store::open_embedded(dir.path())?;
    store.migrate().await?;
    let metrics = Metrics::new();
    let (stop, stopping) = watch::channel(false);
    let clock = Arc::new(SystemClock);
    let started = Instant::now();
    let aggregates = {
        let (log, metrics, stopping, clock) = (log.clone(), metrics.clone(), stopping.clone(), Arc::clone(&clock));
        let processor = AggregatesProcessor::new(AggregatesConfig::default())?;
        let mut config = RunnerConfig::new("aggregates", "vane-aggregates", &[topics::METRICS_SAMPLES]);
        config.batch_size = arg(&args, "--batch", 100_000) as usize;
        tokio::spawn(async move { runner::run(log, config, processor, clock.as_ref(), &metrics, stopping).await })
    };
    let projector = {
        let (log, store, metrics, stopping, clock) = (log.clone(), store.clone(), metrics.clone(), stopping.clone(), Arc::clone(&clock));
        tokio::spawn(async move { vane_projector::run(log, store, clock.as_ref(), &metrics, stopping).await })
    };
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let read = counter(&metrics, "vane_records_in_total", "aggregates");
        let produced = counter(&metrics, "vane_records_out_total", "aggregates");
        let projected = counter(&metrics, "vane_records_in_total", "projector");
        if read >= total && projected >= produced {
            break;
        }
    }
    let elapsed = started.elapsed();
    let events = counter(&metrics, "vane_records_out_total", "aggregates");
    stop.send(true)?;
    aggregates.await??;
    projector.await??;
    println!(
        "pipeline: {total} samples → {events} aggregate events → read models in {:.2} s = {:.0} samples/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
