//! Scale benchmark of the analytics worker (issue 5): how many series it keeps analysed per
//! minute with 12-hour windows of 15-second samples (2,880 points), and whether refiltering
//! between refits keeps the forecasts as accurate as refitting every minute.
//!
//! `cargo run --release -p vane-analyzer --example analytics_scale -- [SERIES] [MINUTES] [THREADS]`
//!
//! Feeds SERIES synthetic series (daily-ish season, trend, noise; each its own seed) through the
//! real processor, then simulates MINUTES minutes: every minute four new samples per series and
//! one punctuation, waiting until every analysis of that minute came back. The first minute fits
//! every model (cold start); later minutes refit the series whose model is 10 minutes old and
//! refilter the rest, as in production. Prints the wall time per minute and series per minute.
//! Then, on 40 series, compares the mean absolute error of the served 10-minute forecast
//! (refit every 10 minutes) with refitting every minute, over 20 minutes of held-out samples.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use vane_analyzer::{AnalyzerConfig, AnalyzerProcessor, Job, run_job};
use vane_core::{Labels, Sample, SeriesId, SeriesIdentity};
use vane_events::{Codec, Envelope, MetricSampleEvent};
use vane_stream::runner::Processor;
use vane_stream::{Record, topics};

const STEP_MS: i64 = 15_000;
const WINDOW: usize = 2_880;
const START: i64 = 1_700_000_000_000;

/// A reproducible series: season of 240 points (an hour), slow trend, AR(1) noise.
struct Generator {
    state: u64,
    level: f64,
    amplitude: f64,
    noise: f64,
}

impl Generator {
    fn new(seed: u64) -> Self {
        let mut g = Generator {
            state: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            level: 0.0,
            amplitude: 0.0,
            noise: 0.0,
        };
        g.level = 1_000.0 + 1_000.0 * g.uniform();
        g.amplitude = 50.0 * g.uniform();
        g
    }

    fn uniform(&mut self) -> f64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state >> 11) as f64 / (1u64 << 53) as f64
    }

    fn value(&mut self, i: i64) -> f64 {
        let gauss = (0..4).map(|_| self.uniform()).sum::<f64>() - 2.0;
        self.noise = 0.7 * self.noise + 10.0 * gauss;
        self.level + 0.01 * i as f64 + self.amplitude * ((i % 240) as f64 / 240.0 * std::f64::consts::TAU).sin() + self.noise
    }
}

fn record(codec: &Codec<MetricSampleEvent>, series: usize, i: i64, value: f64, offset: u64) -> Record {
    let identity = SeriesIdentity::new("bench".into(), [("series".to_string(), series.to_string())], &BTreeSet::new()).unwrap();
    let ts = START + i * STEP_MS;
    let event = MetricSampleEvent {
        envelope: Envelope::new(ts, ts, "bench"),
        sample: Sample::new(identity, ts, value).unwrap(),
    };
    Record {
        topic: topics::METRICS_SAMPLES.into(),
        partition: 0,
        offset,
        timestamp_ms: ts,
        key: None,
        value: codec.encode(&event),
        headers: vec![],
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let series: usize = args.get(1).map_or(2_000, |a| a.parse().expect("SERIES"));
    let minutes: i64 = args.get(2).map_or(12, |a| a.parse().expect("MINUTES"));
    let config = AnalyzerConfig::default();
    let threads: usize = args.get(3).map_or(config.threads, |a| a.parse().expect("THREADS"));
    let config = AnalyzerConfig { threads, ..config };
    println!("{series} series x {WINDOW} points, {threads} analysis thread(s), {minutes} simulated minutes");

    let codec = Codec::<MetricSampleEvent>::new().unwrap();
    let mut processor = AnalyzerProcessor::new(config.clone()).unwrap();
    let mut generators: Vec<Generator> = (0..series).map(|s| Generator::new(s as u64 + 1)).collect();
    let mut out = Vec::new();
    let mut offset = 0u64;
    for i in 0..WINDOW as i64 {
        for (s, g) in generators.iter_mut().enumerate() {
            let value = g.value(i);
            processor
                .process(&record(&codec, s, i, value, offset), START + i * STEP_MS, &mut out)
                .unwrap();
            offset += 1;
        }
    }
    let mut next_index = WINDOW as i64;
    let mut steady = Vec::new();
    for minute in 0..minutes {
        if minute > 0 {
            for _ in 0..4 {
                for (s, g) in generators.iter_mut().enumerate() {
                    let value = g.value(next_index);
                    processor
                        .process(
                            &record(&codec, s, next_index, value, offset),
                            START + next_index * STEP_MS,
                            &mut out,
                        )
                        .unwrap();
                    offset += 1;
                }
                next_index += 1;
            }
        }
        let now = START + next_index * STEP_MS + 60_000;
        let before = processor.stats();
        let started = Instant::now();
        out.clear();
        processor.punctuate(now, &mut out);
        let mut bytes = 0usize;
        loop {
            let stats = processor.stats();
            if stats.in_flight == 0 && stats.analyses > before.analyses {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
            processor.punctuate(now, &mut out);
        }
        bytes += out.iter().map(|r| r.value.len()).sum::<usize>();
        let wall = started.elapsed().as_secs_f64();
        let stats = processor.stats();
        let analysed = stats.analyses - before.analyses;
        let refits = stats.refits - before.refits;
        println!(
            "minute {minute:>2}: {analysed} analyses ({refits} refits) in {wall:.2} s = {:.0} series/min; {:.1} KB per event",
            analysed as f64 * 60.0 / wall,
            bytes as f64 / analysed.max(1) as f64 / 1024.0
        );
        if minute > 0 {
            steady.push((analysed, refits, wall));
        }
    }
    let (count, refits, wall) = steady.iter().fold((0, 0, 0.0), |(c, r, w), (a, f, t)| (c + a, r + f, w + t));
    if count > 0 {
        println!(
            "after the cold start (minutes 1..{}): {count} analyses, {refits} refits ({:.1} %), {:.0} series kept analysed per minute ({:.2} ms per analysis per thread)",
            minutes - 1,
            refits as f64 * 100.0 / count as f64,
            count as f64 * 60.0 / wall,
            wall * 1e3 * threads as f64 / count as f64
        );
    }
    accuracy(&config);
}

/// Served forecast error: refit every 10 minutes (refilter in between) vs refit every minute.
fn accuracy(config: &AnalyzerConfig) {
    let (series, minutes) = (40usize, 20i64);
    let horizon = 40usize;
    let mut errors = [0.0f64; 2];
    let mut counted = 0usize;
    let mut timing = [0.0f64; 2];
    for s in 0..series {
        let mut g = Generator::new(10_000 + s as u64);
        let total = WINDOW + (minutes as usize + 1) * 4 + horizon;
        let values: Vec<f64> = (0..total as i64).map(|i| g.value(i)).collect();
        let mut cached = [None, None];
        for minute in 0..minutes {
            let end = WINDOW + minute as usize * 4;
            let start = end - WINDOW;
            for (policy, slot) in cached.iter_mut().enumerate() {
                let fitted_age = slot.as_ref().map_or(i64::MAX, |c: &vane_analyzer::CachedModel| {
                    (START + end as i64 * STEP_MS) - c.fitted_at_ms
                });
                let refit = policy == 1 || fitted_age >= config.refit_every_ms;
                let job = Job {
                    series_id: SeriesId(s as u64),
                    name: "bench".into(),
                    labels: Labels::new(),
                    analyzed_at_ms: START + end as i64 * STEP_MS,
                    timestamps_ms: (start..end).map(|i| START + i as i64 * STEP_MS).collect(),
                    values: values[start..end].to_vec(),
                    cached: slot.take(),
                    refit,
                    include_points: true,
                    ranges: Vec::new(),
                };
                let clock = Instant::now();
                let done = run_job(job, &config.job, &mut || clock.elapsed().as_secs_f64() * 1e3);
                timing[policy] += done.event.compute_ms;
                if let Some(f) = &done.event.forecast {
                    let actual = &values[end..end + f.mean.len()];
                    errors[policy] += f.mean.iter().zip(actual).map(|(m, a)| (m - a).abs()).sum::<f64>() / f.mean.len() as f64;
                    if policy == 0 {
                        counted += 1;
                    }
                }
                *slot = done.cached;
            }
        }
    }
    let runs = (series as i64 * minutes) as f64;
    println!(
        "accuracy over {series} series x {minutes} minutes: forecast MAE refit every 10 min {:.3}, refit every minute {:.3} (ratio {:.4}); mean compute {:.2} ms vs {:.2} ms",
        errors[0] / counted as f64,
        errors[1] / counted as f64,
        errors[0] / errors[1],
        timing[0] / runs,
        timing[1] / runs
    );
}
