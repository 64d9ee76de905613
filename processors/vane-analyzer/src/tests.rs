//! Tests of the analytics worker's processor: windows, duplicates, schedule, offsets.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use vane_core::{Sample, SeriesIdentity};
use vane_events::Envelope;

use super::*;

const START: i64 = 1_700_000_000_000;

fn record(processor: &AnalyzerProcessor, series: &str, ts: i64, value: f64, offset: u64) -> Record {
    let identity = SeriesIdentity::new("m".into(), [("s".to_string(), series.to_string())], &BTreeSet::new()).unwrap();
    let event = MetricSampleEvent {
        envelope: Envelope::new(ts, ts, "test"),
        sample: Sample::new(identity, ts, value).unwrap(),
    };
    Record {
        topic: topics::METRICS_SAMPLES.into(),
        partition: 0,
        offset,
        timestamp_ms: ts,
        key: None,
        value: processor.samples.encode(&event),
        headers: vec![],
    }
}

fn config() -> AnalyzerConfig {
    AnalyzerConfig {
        every_ms: 1,
        threads: 2,
        window_ms: 3_600_000,
        ..AnalyzerConfig::default()
    }
}

/// Punctuates until `count` analyses came out (the pool works in the background).
fn analyses(processor: &mut AnalyzerProcessor, now_ms: i64, count: usize) -> Vec<SeriesAnalysisEvent> {
    let mut out: Vec<OutRecord> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while out.iter().filter(|r| r.topic == topics::METRICS_ANALYTICS).count() < count && Instant::now() < deadline {
        processor.punctuate(now_ms, &mut out);
        std::thread::sleep(Duration::from_millis(5));
    }
    out.iter()
        .filter(|r| r.topic == topics::METRICS_ANALYTICS)
        .map(|r| processor.analyses.decode(&r.value).unwrap())
        .collect()
}

#[test]
fn every_series_is_analysed_once_per_period_and_only_with_new_points() {
    let mut p = AnalyzerProcessor::new(config()).unwrap();
    let mut out = Vec::new();
    let mut offset = 0;
    let mut noise = 0x2545_f491_4f6c_dd1d_u64;
    for i in 0..200 {
        for series in ["a", "b"] {
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            let value = 10.0 + (noise % 1000) as f64 / 100.0 + if series == "b" { 100.0 } else { 0.0 } + i as f64 * 0.01;
            p.process(&record(&p, series, START + i * 15_000, value, offset), START, &mut out)
                .unwrap();
            offset += 1;
        }
    }
    p.end_batch(START, &mut out);
    let first = analyses(&mut p, START + 10, 2);
    assert_eq!(first.len(), 2);
    for event in &first {
        assert_eq!(event.timestamps_ms.len(), 200);
        assert!(event.adf.is_some(), "{:?}", event.missing);
        assert!(event.forecast.is_some(), "{:?}", event.missing);
        assert!(event.compute_ms >= 0.0);
    }
    assert_eq!(p.stats().refits, 2);
    // Nothing new: nothing queued.
    p.punctuate(START + 20, &mut out);
    assert_eq!(p.stats().in_flight, 0);
    // One new point on "a": only "a" again, its model refiltered, not refitted.
    p.process(&record(&p, "a", START + 200 * 15_000, 12.0, offset), START, &mut out)
        .unwrap();
    let again = analyses(&mut p, START + 30, 1);
    assert_eq!(again.len(), 1);
    assert!(again[0].forecast.is_some(), "{:?}", again[0].missing);
    // Per-point parts ship every 10 minutes: this one only describes its window.
    assert_eq!((again[0].points, again[0].timestamps_ms.len()), (201, 0));
    assert_eq!(p.stats().refits, 2);
    assert_eq!(again[0].forecast.as_ref().unwrap().fitted_at_ms, START + 10);
}

#[test]
fn duplicates_count_once_and_out_of_order_points_are_placed() {
    let mut p = AnalyzerProcessor::new(config()).unwrap();
    let mut out = Vec::new();
    for (offset, ts) in [0, 30_000, 15_000, 30_000, 45_000].into_iter().enumerate() {
        p.process(&record(&p, "a", START + ts, ts as f64, offset as u64), START, &mut out)
            .unwrap();
    }
    let events = analyses(&mut p, START + 10, 1);
    assert_eq!(events[0].timestamps_ms, vec![START, START + 15_000, START + 30_000, START + 45_000]);
    assert_eq!(events[0].values, vec![0.0, 15_000.0, 30_000.0, 45_000.0]);
}

#[test]
fn commits_keep_the_oldest_point_of_every_window() {
    let mut p = AnalyzerProcessor::new(config()).unwrap();
    let mut out = Vec::new();
    // "a" at offsets 0.., one point per 20 minutes: the one-hour window keeps the last three.
    for i in 0..6u64 {
        p.process(&record(&p, "a", START + i as i64 * 1_200_000, 1.0, i), START, &mut out)
            .unwrap();
    }
    p.end_batch(START, &mut out);
    assert_eq!(p.oldest_needed(topics::METRICS_SAMPLES, 0), Some(3));
    // A late point inside the window, arriving last: the window's front is now older, but the
    // oldest offset is still that of the earliest arrival.
    p.process(&record(&p, "a", START + 3 * 1_200_000 - 1, 1.0, 6), START, &mut out)
        .unwrap();
    p.end_batch(START, &mut out);
    assert_eq!(p.oldest_needed(topics::METRICS_SAMPLES, 0), Some(3));
    assert_eq!(p.oldest_needed(topics::METRICS_AGGREGATES, 0), None);
    // Silent for longer than the window: forgotten.
    p.punctuate(START + 2 * 3_600_000, &mut out);
    let _ = analyses(&mut p, START + 2 * 3_600_000, 1);
    p.punctuate(START + 2 * 3_600_000, &mut out);
    assert_eq!(p.series_count(), 0);
}

#[test]
fn analyses_carry_the_violation_probability_of_every_sla_on_the_series() {
    use vane_core::sla::SlaDefinition;
    let table = vane_sla::SlaTable::shared();
    {
        let mut t = table.write().unwrap();
        // Far below the series (≈ 10..20): certain; far above: impossible; another metric: absent.
        let mut certain = SlaDefinition::new("a-certain", "certain", "m", None, Some(-100.0), 0);
        certain.matchers = vec![vane_core::matcher::Matcher::parse("s=a").unwrap()];
        t.apply(certain, false);
        t.apply(
            SlaDefinition::new("b-impossible", "impossible", "m", Some(-1e9), Some(1e9), 0),
            false,
        );
        t.apply(SlaDefinition::new("c-other", "other", "other_metric", None, Some(0.0), 0), false);
    }
    let mut p = AnalyzerProcessor::new(config()).unwrap().with_sla_table(table);
    let mut out = Vec::new();
    for i in 0..120 {
        let value = 15.0 + (i as f64 * 0.7).sin();
        p.process(&record(&p, "a", START + i * 15_000, value, i as u64), START, &mut out)
            .unwrap();
    }
    let mut produced = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !produced.iter().any(|r: &OutRecord| r.topic == topics::METRICS_ANALYTICS) && Instant::now() < deadline {
        p.punctuate(START + 10, &mut produced);
        std::thread::sleep(Duration::from_millis(5));
    }
    let events: Vec<SeriesAnalysisEvent> = produced
        .iter()
        .filter(|r| r.topic == topics::METRICS_ANALYTICS)
        .map(|r| p.analyses.decode(&r.value).unwrap())
        .collect();
    let violations = &events[0].violations;
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert_eq!((violations[0].sla_id.as_str(), violations[0].probability), ("a-certain", 1.0));
    assert_eq!((violations[1].sla_id.as_str(), violations[1].probability), ("b-impossible", 0.0));
    // 10 minutes of 15-second steps.
    assert_eq!(violations[0].horizon_ms, 600_000);
    // The analysis' own compute time comes back as samples of vane's own series.
    let own: Vec<MetricSampleEvent> = produced
        .iter()
        .filter(|r| r.topic == topics::METRICS_SAMPLES)
        .map(|r| p.samples.decode(&r.value).unwrap())
        .collect();
    assert_eq!(own.len(), 2, "mean and max");
    assert!(
        own.iter()
            .all(|e| e.sample.series.name == COMPUTE_TIME_METRIC && e.sample.value > 0.0)
    );
}
