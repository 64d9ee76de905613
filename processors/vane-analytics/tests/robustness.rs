//! Robustness: the whole analysis (`vane analyze`'s work) over many generated series of the
//! shapes real metrics take and of shapes that break numerical code (constant stretches, floors,
//! quantised values, spikes, huge and tiny scales, exponential growth, short series), each with
//! randomly chosen options. Whatever the input, the analysis must not panic, every number it
//! reports must be finite (serde would print a NaN as `null`, indistinguishable from "undefined"),
//! intervals must contain their point forecasts, probabilities must lie in [0, 1], and a section
//! left out must say why in `missing`.

// Test helpers may index and unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use vane_analytics::adf::{Autolag, Regression};
use vane_analytics::rng::Rng;
use vane_analytics::synthetic::{SHAPES, generate};
use vane_analytics::{AnalyzeOptions, Range, Report, Series, analyze};

/// Number of generated cases (each analysed with its own options) and the generator's seed;
/// `VANE_ROBUSTNESS_CASES` and `VANE_ROBUSTNESS_SEED` override them for a longer search.
const CASES: u64 = 400;
const SEED: u64 = 2026;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn options(y: &[f64], r: &mut Rng) -> AnalyzeOptions {
    let pick = |r: &mut Rng, k: usize| (r.next_u64() % k as u64) as usize;
    let mut o = AnalyzeOptions {
        horizon: 1 + pick(r, 30),
        period: if r.uniform() < 0.5 { None } else { Some(2 + pick(r, 40)) },
        autolag: [Autolag::Aic, Autolag::Bic, Autolag::TStat, Autolag::Fixed][pick(r, 4)],
        regression: [
            Regression::None,
            Regression::Constant,
            Regression::ConstantTrend,
            Regression::ConstantTrendSquared,
        ][pick(r, 4)],
        paths: 2_000,
        ..AnalyzeOptions::default()
    };
    if r.uniform() < 0.3 {
        o.maxlag = Some(pick(r, 20));
    }
    // A range around the series' own spread, sometimes one-sided.
    let mut sorted = y.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize];
    o.range = match pick(r, 4) {
        0 => None,
        1 => Some(Range {
            min: Some(at(0.05)),
            max: Some(at(0.95)),
        }),
        2 => Some(Range {
            min: None,
            max: Some(at(0.99)),
        }),
        _ => Some(Range {
            min: Some(at(0.5)),
            max: None,
        }),
    };
    o
}

/// Every property the report must have, whatever the input: the ones it lacks, described.
fn problems(report: &Report, options: &AnalyzeOptions) -> Vec<String> {
    let mut out = Vec::new();
    let text = format!("{report:?}");
    for bad in ["NaN", " inf", "[inf", "-inf"] {
        if let Some(at) = text.find(bad) {
            let from = text.floor_char_boundary(at.saturating_sub(120));
            out.push(format!("non-finite number: ...{}", &text[from..at + bad.len()]));
        }
    }
    for f in report.forecast.iter().chain(&report.forecasts) {
        if f.mean.len() != options.horizon {
            out.push(format!("{}: {} points for horizon {}", f.model, f.mean.len(), options.horizon));
        }
        for ((lo, m), hi) in f.lower.iter().zip(&f.mean).zip(&f.upper) {
            let slack = 1e-9 * m.abs().max(1.0);
            if !(*lo <= m + slack && *m <= hi + slack) {
                out.push(format!("{}: interval {lo} {m} {hi}", f.model));
            }
        }
    }
    if let Some(v) = &report.violation
        && !(0.0..=1.0).contains(&v.probability)
    {
        out.push(format!("probability {}", v.probability));
    }
    let said = |name: &str| report.missing.0.iter().any(|(k, why)| k == name && !why.is_empty());
    for (name, present) in [
        ("adf", report.adf.is_some()),
        ("hp", report.hp.is_some()),
        ("acf", report.acf.is_some()),
        ("pacf", report.pacf.is_some()),
        ("decomposition", report.decomposition.is_some()),
        ("stl", report.stl.is_some()),
        ("forecast", report.forecast.is_some()),
        ("violation", report.violation.is_some() || options.range.is_none()),
    ] {
        if !present && !said(name) {
            out.push(format!("{name} is missing without a reason"));
        }
    }
    out
}

#[test]
fn the_analysis_survives_every_shape_of_series() {
    let mut r = Rng::new(setting("VANE_ROBUSTNESS_SEED", SEED));
    let mut failures = Vec::new();
    for case in 0..setting("VANE_ROBUSTNESS_CASES", CASES) {
        let kind = (case as usize) % SHAPES;
        // Mostly a few hundred points; every fifth case short (2 to 40 points), every
        // twentieth long (1,000 to 3,000, daily seasons of 288 possible).
        let n = match case % 20 {
            19 => 1_000 + (r.next_u64() % 2_000) as usize,
            c if c % 5 == 4 => 2 + (r.next_u64() % 39) as usize,
            _ => 100 + (r.next_u64() % 500) as usize,
        };
        let y = generate(kind, n, &mut r);
        let o = options(&y, &mut r);
        // Every third series is scraped irregularly: repeated timestamps and gaps of a day.
        let irregular = case % 3 == 0;
        let timestamps = (0..n)
            .scan(1_700_000_000_i64, |t, _| {
                let step = match r.uniform() {
                    u if irregular && u < 0.05 => 0,
                    u if irregular && u < 0.07 => 86_400,
                    _ => 300,
                };
                *t += step;
                Some(*t)
            })
            .collect();
        let series = Series::new(timestamps, y).unwrap();
        let report = analyze(&series, &o, &mut || 0.0);
        let mut found = problems(&report, &o);
        // A hundred points of anything but a constant are enough for a forecast, and a forecast
        // with a range gives a probability: the analysis does not give up on odd shapes.
        if n >= 100 && kind != 2 {
            if report.forecast.is_none() {
                found.push(format!("no forecast: {:?}", report.missing));
            }
            if o.range.is_some() && report.violation.is_none() {
                found.push(format!("no violation probability: {:?}", report.missing));
            }
        }
        for p in found {
            failures.push(format!(
                "case {case} (kind {kind}, n {n}, period {:?}, horizon {}, {:?}/{:?}, range {:?}): {p}",
                o.period, o.horizon, o.regression, o.autolag, o.range
            ));
        }
    }
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}

/// A valid export, then mangled: any text must give a series or an error naming its line, never a
/// panic, and a series it gives must analyse.
#[test]
fn any_csv_text_parses_or_says_which_line_is_wrong() {
    let mut r = Rng::new(setting("VANE_ROBUSTNESS_SEED", SEED));
    let pick = |r: &mut Rng, k: usize| (r.next_u64() % k as u64) as usize;
    let odd_fields = [
        "",
        " ",
        "\"",
        "\"\"",
        "NaN",
        "inf",
        "-inf",
        "1e400",
        "-0",
        "0x10",
        "1,5",
        "１",
        "é",
        "\u{feff}",
        "9223372036854775807",
        "-9223372036854775808",
        "99999999999999999999",
        "1700000000.5",
        "-1e300",
        "2026-02-29 00:00:00",
        "2024-02-29T23:59:60Z",
        "2026-13-01 00:00:00",
        "2026-11-22T10:00:00+99:99",
        "2026-11-22T10:00:00.",
        "2026-11-22T10:00:00.123-05:30",
        "1e-320",
    ];
    let mut failures = Vec::new();
    for case in 0..setting("VANE_ROBUSTNESS_CASES", CASES) {
        let mut lines: Vec<String> = vec!["timestamp,value".into()];
        lines.extend((0..60).map(|i| format!("{},{}", 1_700_000_000 + 60 * i, (i % 7) as f64 * 1.5)));
        for _ in 0..1 + pick(&mut r, 4) {
            let at = pick(&mut r, lines.len());
            let field = odd_fields[pick(&mut r, odd_fields.len())];
            match pick(&mut r, 7) {
                0 => lines[at] = format!("{field},1.0"),
                1 => lines[at] = format!("{},{field}", 1_700_000_000 + 60 * at),
                2 => lines[at].push_str(&format!(",{field}")),
                3 => lines[at] = field.to_string(),
                4 => {
                    let cut = lines[at].floor_char_boundary(pick(&mut r, lines[at].len() + 1));
                    lines[at].truncate(cut);
                }
                5 => {
                    let other = pick(&mut r, lines.len());
                    lines.swap(at, other);
                }
                _ => lines.insert(at, String::new()),
            }
        }
        let eol = if case % 2 == 0 { "\n" } else { "\r\n" };
        let text = lines.join(eol);
        match vane_analytics::parse_csv(&text) {
            Ok(series) => {
                let o = AnalyzeOptions {
                    paths: 500,
                    ..AnalyzeOptions::default()
                };
                for p in problems(&analyze(&series, &o, &mut || 0.0), &o) {
                    failures.push(format!("case {case}: {p}\n{text}"));
                }
            }
            Err(e) => {
                let message = e.to_string();
                if !message.starts_with("csv line ") && message != "series is empty" {
                    failures.push(format!("case {case}: error without a line: {message}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}
