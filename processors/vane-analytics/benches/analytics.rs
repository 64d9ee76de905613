//! Criterion benchmarks of each routine and of the whole analysis of a 4,032-point NAB series
//! (`tests/data/ec2_cpu_utilization_24ae8d.csv`, period 288). Run with
//! `CARGO_TARGET_DIR=/work/cache/target-analytics cargo bench -p vane-analytics --bench analytics`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use vane_analytics::acf::{acf, acf_confint, pacf};
use vane_analytics::adf::{AdfOptions, adfuller};
use vane_analytics::aggregates::{Window, aggregates};
use vane_analytics::decompose::{DecompositionModel, seasonal_decompose};
use vane_analytics::ets::{self, Component, HwSpec};
use vane_analytics::forecast::{ForecastOptions, fit_candidates};
use vane_analytics::hp::hpfilter;
use vane_analytics::period::detect_period;
use vane_analytics::stl::{StlOptions, stl};
use vane_analytics::violation::DEFAULT_PATHS;
use vane_analytics::{
    AnalyzeOptions, Range, analyze, arima, calibrate, parse_csv, violation_probability, violation_probability_calibrated,
};

fn bench(c: &mut Criterion) {
    let text = include_str!("../tests/data/ec2_cpu_utilization_24ae8d.csv");
    let series = parse_csv(text).unwrap();
    let x = series.values().to_vec();
    let mut g = c.benchmark_group("nab_4032");
    g.sample_size(10);
    g.bench_function("parse_csv", |b| b.iter(|| parse_csv(black_box(text)).unwrap()));
    g.bench_function("aggregates", |b| b.iter(|| aggregates(black_box(&series), &Window::defaults())));
    g.bench_function("adf", |b| b.iter(|| adfuller(black_box(&x), &AdfOptions::default()).unwrap()));
    g.bench_function("hp", |b| b.iter(|| hpfilter(black_box(&x), 1600.0).unwrap()));
    g.bench_function("acf_pacf", |b| {
        b.iter(|| {
            let r = acf(black_box(&x), None).unwrap();
            let ci = acf_confint(&r, x.len(), 0.05);
            (r, ci, pacf(&x, None).unwrap())
        })
    });
    g.bench_function("decompose", |b| {
        b.iter(|| seasonal_decompose(black_box(&x), 288, DecompositionModel::Additive).unwrap())
    });
    g.bench_function("stl", |b| b.iter(|| stl(black_box(&x), &StlOptions::new(288)).unwrap()));
    g.bench_function("detect_period", |b| b.iter(|| detect_period(black_box(&x))));
    let floor = vane_analytics::synthetic::generate(9, x.len(), &mut vane_analytics::rng::Rng::new(1));
    g.bench_function("detect_period_spiky_floor", |b| b.iter(|| detect_period(black_box(&floor))));
    let spec = HwSpec {
        trend: Component::Additive,
        damped: true,
        seasonal: Component::Additive,
        period: 288,
    };
    g.bench_function("holt_winters_add_damped_add288", |b| {
        b.iter(|| ets::fit(black_box(&x), spec).unwrap())
    });
    g.bench_function("arima_111", |b| {
        b.iter(|| arima::fit(black_box(&x), arima::Order { p: 1, d: 1, q: 1 }).unwrap())
    });
    g.bench_function("forecast_candidates", |b| {
        b.iter(|| {
            fit_candidates(
                black_box(&x),
                &ForecastOptions {
                    horizon: 10,
                    period: Some(288),
                    max_pq: 2,
                    d: None,
                },
            )
            .unwrap()
        })
    });
    // One SLA's probability as the analyzer computes it every minute, from the served model.
    let served = {
        let c = fit_candidates(
            &x,
            &ForecastOptions {
                horizon: 10,
                period: Some(288),
                max_pq: 2,
                d: None,
            },
        )
        .unwrap();
        c.models.get(c.served).cloned().unwrap()
    };
    // Around the recent values (most paths leave early) and a bound the series never reaches
    // (the whole analysis below uses it; every path in full), with the report's 20,000 paths
    // and the analyzer's 2,000 (`violation_paths`).
    for (name, min, max) in [("", Some(0.07), Some(0.14)), ("_never_left", None, Some(80.0))] {
        for paths in [DEFAULT_PATHS, 2000] {
            g.bench_function(format!("violation_probability{name}_{paths}"), |b| {
                b.iter(|| violation_probability(black_box(&served), min, max, 10, paths, 7).unwrap())
            });
        }
        // Between refits the analyzer keeps each range's calibration: only the paths are left.
        let kept = calibrate(&served, min, max, 10).unwrap();
        g.bench_function(format!("violation_probability_kept_calibration{name}_2000"), |b| {
            b.iter(|| violation_probability_calibrated(black_box(&served), min, max, 10, 2000, 7, &kept).unwrap())
        });
    }
    let opts = AnalyzeOptions {
        period: Some(288),
        range: Some(Range {
            min: None,
            max: Some(80.0),
        }),
        ..AnalyzeOptions::default()
    };
    g.bench_function("analyze_whole", |b| b.iter(|| analyze(black_box(&series), &opts, &mut || 0.0)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
