//! Robustness of the analytics worker's job over every synthetic shape
//! (`vane_analytics::synthetic`): a window sliding over each series, analysed as the worker does
//! (the forecast model refitted at the first analysis and every fourth, refiltered in between),
//! with three SLA ranges. Every event must survive the Avro round trip unchanged, carry only
//! finite numbers (but NaN at the decomposition's undefined ends), keep its point forecasts inside their
//! intervals and its probabilities in [0, 1]; a series that is not constant gets a forecast and
//! a probability for every range at every analysis.

// Test helpers may index and unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use vane_analytics::rng::Rng;
use vane_analytics::synthetic::{SHAPES, generate};
use vane_analyzer::{AnalyzerConfig, CachedModel, Job, JobSettings, RangeCheck, run_job};
use vane_core::{Labels, SeriesId};
use vane_events::{Codec, SeriesAnalysisEvent};

/// One point a minute, a 12-hour window, moved on by five points per analysis.
const STEP_MS: i64 = 60_000;
const WINDOW: usize = 720;
const ANALYSES: usize = 8;
const MOVE: usize = 5;

/// The worker's defaults, with fewer simulated paths.
fn settings() -> JobSettings {
    JobSettings {
        interval_paths: 500,
        violation_paths: 1000,
        ..AnalyzerConfig::default().job
    }
}

/// Two-sided 5-95 %, upper 99 %, lower median: of the first window.
fn ranges(window: &[f64]) -> Vec<RangeCheck> {
    let mut sorted = window.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize];
    let range = |id: &str, min, max| RangeCheck {
        sla_id: id.into(),
        min,
        max,
    };
    vec![
        range("band", Some(at(0.05)), Some(at(0.95))),
        range("ceiling", None, Some(at(0.99))),
        range("floor", Some(at(0.5)), None),
    ]
}

/// What is wrong with one analysis' event.
fn problems(event: &SeriesAnalysisEvent, codec: &Codec<SeriesAnalysisEvent>, expect_all: bool, ranges: usize) -> Vec<String> {
    let mut out = Vec::new();
    // NaN marks the undefined ends of the decomposition's centred moving average (the event's
    // schema says so), and only there.
    let mut rest = event.clone();
    if let Some(d) = rest.decomposition.as_mut() {
        let ends = d.period as usize;
        for (name, part) in [("trend", &mut d.trend), ("resid", &mut d.resid)] {
            let n = part.len();
            if let Some(i) = (0..n).find(|i| part[*i].is_nan() && *i >= ends && *i + ends < n) {
                out.push(format!("decomposition {name} undefined at {i} of {n} (period {ends})"));
            }
            part.clear();
        }
    }
    let text = format!("{rest:?}");
    for bad in ["NaN", " inf", "[inf", "-inf"] {
        if let Some(at) = text.find(bad) {
            let from = text.floor_char_boundary(at.saturating_sub(120));
            out.push(format!("non-finite number: ...{}", &text[from..at + bad.len()]));
        }
    }
    // NaN != NaN: compare through the encoding, which is deterministic.
    let bytes = codec.encode(event);
    match codec.decode(&bytes) {
        Ok(back) if codec.encode(&back) == bytes => {}
        Ok(_) => out.push("the Avro round trip changed the event".into()),
        Err(e) => out.push(format!("the Avro round trip failed: {e}")),
    }
    if let Some(f) = &event.forecast {
        for ((lo, m), hi) in f.lower.iter().zip(&f.mean).zip(&f.upper) {
            let slack = 1e-9 * m.abs().max(1.0);
            if !(*lo <= m + slack && *m <= hi + slack) {
                out.push(format!("{}: interval {lo} {m} {hi}", f.model));
            }
        }
    } else if expect_all {
        out.push(format!("no forecast: {:?}", event.missing));
    }
    for v in &event.violations {
        if !(0.0..=1.0).contains(&v.probability) {
            out.push(format!("{}: probability {}", v.sla_id, v.probability));
        }
    }
    if expect_all && event.violations.len() != ranges {
        out.push(format!("{} probabilities for {ranges} ranges", event.violations.len()));
    }
    out
}

#[test]
fn the_worker_survives_every_shape_of_series() {
    let codec = Codec::<SeriesAnalysisEvent>::new().unwrap();
    let mut r = Rng::new(11);
    let mut failures = Vec::new();
    for kind in 0..SHAPES {
        let values = generate(kind, WINDOW + ANALYSES * MOVE, &mut r);
        let timestamps: Vec<i64> = (0..values.len() as i64).map(|i| 1_700_000_000_000 + i * STEP_MS).collect();
        let ranges = ranges(&values[..WINDOW]);
        let constant = values.iter().all(|v| *v == values[0]);
        let mut cached: Option<CachedModel> = None;
        for a in 0..ANALYSES {
            let span = a * MOVE..a * MOVE + WINDOW;
            let job = Job {
                series_id: SeriesId(kind as u64 + 1),
                name: format!("shape_{kind}"),
                labels: Labels::new(),
                analyzed_at_ms: timestamps[span.end - 1] + STEP_MS,
                timestamps_ms: timestamps[span.clone()].to_vec(),
                values: values[span].to_vec(),
                cached: cached.take(),
                refit: a % 4 == 0,
                include_points: a % 2 == 0,
                ranges: ranges.clone(),
            };
            let done = run_job(job, &settings(), &mut || 0.0);
            for p in problems(&done.event, &codec, !constant, ranges.len()) {
                failures.push(format!("shape {kind}, analysis {a} (refitted {}): {p}", done.refitted));
            }
            cached = done.cached;
        }
    }
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}
