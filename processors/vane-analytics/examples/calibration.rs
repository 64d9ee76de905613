//! Calibration backtest of the range-violation probability on held-out windows of real series.
//!
//! `cargo run --release -p vane-analytics --example calibration -- [--origins K] [--horizon H]
//! [--events OUT.json] [--halves] FILE.csv...` (`--events` writes every event with the three
//! probabilities, for `reference/check_baseline.py`; with `--halves` each event also carries the
//! shares of the served model's model and analogue paths that left the range and its hindcasts,
//! so that other ways of weighing the two halves can be scored offline)
//!
//! For each file, `K` origins spread evenly over the second half of the series. At each origin
//! the models see only the points before it; three ranges are set from the last day (288 points)
//! of that history: the 5-95 % and 1-99 % quantile bands and an upper-only bound at the 99 %
//! quantile. The event is "one of the next `H` points leaves the range". Three forecasts of its
//! probability are scored by the Brier score:
//!
//! - vane: the served model's joint-path probability ([`violation_probability`], 4,000 paths,
//!   its two halves weighed by the model's hindcasts at 120 earlier origins of the history);
//! - historical rate: the share of all `H`-point windows of the history that left the range;
//! - ARIMA(1,1,1) independent steps (what the original system did): normal marginals from the
//!   model's intervals, combined as `1 - prod(1 - p_i)`.
//!
//! Prints markdown: the Brier score per series and method, vane's difference from the better
//! baseline with its standard error, and a pooled reliability table (predicted probability in ten
//! bins against the observed frequency).
//!
//! The standard error is that of the mean paired difference of squared errors, with the events
//! of one origin taken together (its three ranges share one future, so they are not independent
//! draws): `sqrt(K / (K - 1) * sum_o (S_o - n_o m)^2) / N` for the per-origin sums `S_o` of the
//! `n_o` differences there and their mean `m`, over `N` events at `K` origins. A difference within
//! about two standard errors of zero is one that other origins of the same series could reverse.

// Method indices run over METHODS (three) and every event has three probabilities.
#![allow(clippy::indexing_slicing)]

use vane_analytics::arima::{self, Order};
use vane_analytics::forecast::{ForecastModel, ForecastOptions, fit_candidates, quantile};
use vane_analytics::normal::norm_cdf;
use vane_analytics::parse_csv;
use vane_analytics::violation::hindcast_origins;
use vane_analytics::violation_probability;

const DAY: usize = 288;
const METHODS: [&str; 3] = ["vane (joint paths)", "historical rate", "ARIMA(1,1,1) independent"];

struct Event {
    probs: [f64; 3],
    hit: bool,
    /// File, origin and range, for `--events`.
    file: String,
    origin: usize,
    range: (Option<f64>, Option<f64>),
    /// With `--halves`: the shares of the served model's model and analogue paths that left the
    /// range (`None` for a half without paths, which `violation_probability` then ignores).
    shares: Option<(Option<f64>, Option<f64>)>,
    /// With `--halves`: the served model's hindcasts as (model share, analogue share, left).
    hindcasts: Vec<(f64, f64, bool)>,
}

fn outside(v: f64, lo: Option<f64>, hi: Option<f64>) -> bool {
    lo.is_some_and(|l| v < l) || hi.is_some_and(|h| v > h)
}

/// Share of the `h`-point windows of `x` with a value outside the range.
fn historical_rate(x: &[f64], h: usize, lo: Option<f64>, hi: Option<f64>) -> f64 {
    let flags: Vec<bool> = x.iter().map(|v| outside(*v, lo, hi)).collect();
    let windows = flags.windows(h);
    let total = windows.len();
    let hits = windows.filter(|w| w.iter().any(|f| *f)).count();
    if total == 0 { 0.0 } else { hits as f64 / total as f64 }
}

/// `1 - prod(1 - p_i)` with `p_i` the normal probability that step `i` is outside.
fn independent_steps(m: &ForecastModel, h: usize, lo: Option<f64>, hi: Option<f64>) -> f64 {
    // The 68.27 % interval's half width is one standard deviation.
    let (_, upper) = m.intervals(0.682_689_492_137_085_9);
    let mut inside = 1.0;
    for (mean, up) in m.mean.iter().zip(&upper).take(h) {
        let sd = (up - mean).max(1e-300);
        let below = lo.map_or(0.0, |l| norm_cdf((l - mean) / sd));
        let above = hi.map_or(0.0, |u| 1.0 - norm_cdf((u - mean) / sd));
        inside *= (1.0 - below - above).max(0.0);
    }
    1.0 - inside
}

/// Mean paired difference of squared errors between methods `a` and `b` over `events`, and its
/// standard error with the events of one origin taken together.
fn paired_difference(events: &[Event], a: usize, b: usize) -> (f64, f64) {
    // Per origin: the sum of the differences and the number of events.
    let mut per_origin: Vec<((&str, usize), f64, f64)> = Vec::new();
    for e in events {
        let hit = f64::from(u8::from(e.hit));
        let d = (e.probs[a] - hit).powi(2) - (e.probs[b] - hit).powi(2);
        match per_origin.last_mut() {
            Some((key, sum, count)) if *key == (e.file.as_str(), e.origin) => {
                *sum += d;
                *count += 1.0;
            }
            _ => per_origin.push(((e.file.as_str(), e.origin), d, 1.0)),
        }
    }
    let (n, k) = (events.len().max(1) as f64, per_origin.len() as f64);
    let mean = per_origin.iter().map(|(_, d, _)| d).sum::<f64>() / n;
    let centred: f64 = per_origin.iter().map(|(_, d, count)| (d - count * mean).powi(2)).sum();
    let se = if k > 1.0 { (k / (k - 1.0) * centred).sqrt() / n } else { f64::NAN };
    (mean, se)
}

/// `difference ± se (z SE)`, or without the `z` when the standard error is not positive.
fn with_error((diff, se): (f64, f64)) -> String {
    if se > 0.0 {
        format!("{diff:+.4} ± {se:.4} ({:+.1} SE)", diff / se)
    } else {
        format!("{diff:+.4} ± {se:.4}")
    }
}

fn brier(events: &[Event], k: usize) -> f64 {
    let s: f64 = events.iter().map(|e| (e.probs[k] - f64::from(u8::from(e.hit))).powi(2)).sum();
    s / events.len().max(1) as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut origins = 40usize;
    let mut horizon = 10usize;
    let mut events_out: Option<String> = None;
    let mut files = Vec::new();
    let mut halves = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--origins" => origins = args.next().ok_or("--origins needs a value")?.parse()?,
            "--horizon" => horizon = args.next().ok_or("--horizon needs a value")?.parse()?,
            "--halves" => halves = true,
            "--events" => events_out = Some(args.next().ok_or("--events needs a path")?),
            _ => files.push(a),
        }
    }
    let mut all: Vec<Event> = Vec::new();
    println!(
        "| series | events | violations | {} | vane best? | vane - better baseline (± 1 SE) |",
        METHODS.join(" | ")
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut wins = 0;
    for path in &files {
        let series = parse_csv(&std::fs::read_to_string(path)?)?;
        let x = series.values();
        let ts = series.timestamps();
        let n = x.len();
        let first = n / 2;
        let last = n - horizon;
        let mut events = Vec::new();
        for i in 0..origins {
            let origin = first + (last - first) * i / origins.max(1);
            let train = x.get(..origin).ok_or("origin past the end")?;
            let future = x.get(origin..origin + horizon).ok_or("origin past the end")?;
            let opts = ForecastOptions::detected(train, ts.get(..origin).ok_or("origin past the end")?, horizon);
            let c = fit_candidates(train, &opts)?;
            let served = c.models.get(c.served).ok_or("no served model")?;
            let baseline = ForecastModel::from_arima(&arima::fit(train, Order { p: 1, d: 1, q: 1 })?, horizon);
            let mut recent = train.get(origin.saturating_sub(DAY)..).ok_or("short history")?.to_vec();
            recent.sort_by(f64::total_cmp);
            let q = |p: f64| quantile(&recent, p);
            let ranges = [
                (Some(q(0.05)), Some(q(0.95))),
                (Some(q(0.01)), Some(q(0.99))),
                (None, Some(q(0.99))),
            ];
            for (lo, hi) in ranges {
                let v = violation_probability(served, lo, hi, horizon, 4000, 0x5eed + i as u64)?;
                let (shares, hindcasts) = if halves {
                    let (l, u) = (lo.unwrap_or(f64::NEG_INFINITY), hi.unwrap_or(f64::INFINITY));
                    let [model, analogue] = served.bootstrap_counts(4000, 0x5eed + i as u64, horizon, (l, u));
                    let share = |(left, paths): (usize, usize)| (paths > 0).then(|| left as f64 / paths as f64);
                    let hindcasts = served.hindcasts(horizon, l, u, hindcast_origins(horizon));
                    (
                        Some((share(model), share(analogue))),
                        hindcasts.iter().map(|h| (h.model, h.analogue, h.left)).collect(),
                    )
                } else {
                    (None, Vec::new())
                };
                let hit = future.iter().any(|v| outside(*v, lo, hi));
                events.push(Event {
                    probs: [
                        v.probability,
                        historical_rate(train, horizon, lo, hi),
                        independent_steps(&baseline, horizon, lo, hi),
                    ],
                    hit,
                    file: path.clone(),
                    origin,
                    range: (lo, hi),
                    shares,
                    hindcasts,
                });
            }
        }
        let scores: Vec<f64> = (0..3).map(|k| brier(&events, k)).collect();
        let best = scores.first().is_some_and(|v| scores.iter().skip(1).all(|o| v < o));
        wins += usize::from(best);
        let name = std::path::Path::new(path).file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        let hits = events.iter().filter(|e| e.hit).count();
        let cells: Vec<String> = scores.iter().map(|s| format!("{s:.4}")).collect();
        let baseline = if scores[1] <= scores[2] { 1 } else { 2 };
        let difference = with_error(paired_difference(&events, 0, baseline));
        println!(
            "| {name} | {} | {hits} | {} | {} | {difference} |",
            events.len(),
            cells.join(" | "),
            if best { "yes" } else { "no" },
        );
        all.extend(events);
    }
    if let Some(out) = events_out {
        let rows: Vec<serde_json::Value> = all
            .iter()
            .map(|e| {
                serde_json::json!({"file": e.file, "origin": e.origin, "min": e.range.0, "max": e.range.1,
                    "horizon": horizon, "vane": e.probs[0], "historical": e.probs[1], "arima111": e.probs[2], "hit": e.hit,
                    "shares": e.shares, "hindcasts": e.hindcasts})
            })
            .collect();
        std::fs::write(out, serde_json::to_string(&rows)?)?;
    }
    let pooled: Vec<String> = (0..3).map(|k| format!("{:.4}", brier(&all, k))).collect();
    let hits = all.iter().filter(|e| e.hit).count();
    let baseline = if brier(&all, 1) <= brier(&all, 2) { 1 } else { 2 };
    let difference = with_error(paired_difference(&all, 0, baseline));
    println!(
        "| **all** | {} | {hits} | {} | {wins} of {} series | {difference} |",
        all.len(),
        pooled.join(" | "),
        files.len(),
    );
    println!();
    println!("Reliability (pooled): events per bin of predicted probability, mean predicted, observed frequency");
    println!();
    println!(
        "| bin | {} |",
        METHODS.map(|m| format!("{m}: n / predicted / observed")).join(" | ")
    );
    println!("|---|---|---|---|");
    for b in 0..10 {
        let (lo, hi) = (b as f64 / 10.0, (b + 1) as f64 / 10.0);
        let mut cells = Vec::new();
        for k in 0..3 {
            let inbin: Vec<&Event> = all
                .iter()
                .filter(|e| e.probs[k] >= lo && (e.probs[k] < hi || (b == 9 && e.probs[k] <= 1.0)))
                .collect();
            if inbin.is_empty() {
                cells.push("0 / - / -".to_string());
                continue;
            }
            let m = inbin.len() as f64;
            let pred = inbin.iter().map(|e| e.probs[k]).sum::<f64>() / m;
            let obs = inbin.iter().filter(|e| e.hit).count() as f64 / m;
            cells.push(format!("{} / {pred:.2} / {obs:.2}", inbin.len()));
        }
        println!("| {lo:.1}-{hi:.1} | {} |", cells.join(" | "));
    }
    Ok(())
}
