//! Rolling-origin backtest of vane's served forecast, for `reference/backtest.py` to put beside
//! statsmodels, augurs and statsforecast on the same origins.
//!
//! `cargo run --release -p vane-analytics --example backtest -- [--origins K] [--spacing S]
//! [--horizon H] FILE.csv... > vane_backtest.json`
//!
//! For each file and each origin `o = n - H - i S` (`i < K`), vane sees only the first `o`
//! points: it detects the period from them (as `vane analyze` does), fits its candidates and
//! forecasts `H` points with the served model. Prints one JSON object: per series the period, the
//! origins, the forecasts, the served model names and the wall time of each detect+fit+forecast.

use std::time::Instant;

use serde_json::json;
use vane_analytics::forecast::{ForecastOptions, fit_candidates};
use vane_analytics::parse_csv;
use vane_analytics::period::{detect_period_with_interval, median_interval};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut origins = 5usize;
    let mut spacing = 144usize;
    let mut horizon = 10usize;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--origins" => origins = args.next().ok_or("--origins needs a value")?.parse()?,
            "--spacing" => spacing = args.next().ok_or("--spacing needs a value")?.parse()?,
            "--horizon" => horizon = args.next().ok_or("--horizon needs a value")?.parse()?,
            _ => files.push(a),
        }
    }
    let mut out = Vec::new();
    for path in &files {
        let series = parse_csv(&std::fs::read_to_string(path)?)?;
        let x = series.values();
        let ts = series.timestamps();
        let n = x.len();
        let mut rows = Vec::new();
        for i in (0..origins).rev() {
            let Some(origin) = n.checked_sub(horizon + i * spacing) else {
                continue;
            };
            let start = Instant::now();
            let train = x.get(..origin).ok_or("origin past the end")?;
            let interval = median_interval(ts.get(..origin).ok_or("origin past the end")?);
            let period = detect_period_with_interval(train, interval).filter(|p| *p >= 2 && origin > 2 * p);
            let opts = ForecastOptions {
                horizon,
                period,
                max_pq: 2,
                d: None,
            };
            let c = fit_candidates(train, &opts)?;
            let served = c.models.get(c.served).ok_or("no served model")?;
            let ms = start.elapsed().as_secs_f64() * 1e3;
            rows.push(json!({
                "origin": origin,
                "period": period,
                "model": served.name,
                "forecast": served.mean,
                "ms": ms,
            }));
        }
        let name = std::path::Path::new(path).file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        eprintln!("{name}: {} origins", rows.len());
        out.push(json!({"series": name, "file": path, "n": n, "horizon": horizon, "origins": rows}));
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
