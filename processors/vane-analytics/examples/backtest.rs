//! Rolling-origin backtest of vane's served forecast, for `reference/backtest.py` to put beside
//! statsmodels, augurs and statsforecast on the same origins.
//!
//! `cargo run --release -p vane-analytics --example backtest -- [--origins K] [--spacing S]
//! [--horizon H] FILE.csv... > vane_backtest.json`
//!
//! For each file and each origin `o = n - H - i S` (`i < K`), vane sees only the first `o`
//! points: it detects the period from them (as `vane analyze` does), fits its candidates and
//! forecasts `H` points with the served model. Prints one JSON object: per series the period, the
//! origins, the forecasts, the served model names, every candidate's forecast and backtest error
//! (`"candidates"`) and the wall time of each detect+fit+forecast.
//!
//! For the like-for-like comparison with statsmodels each origin also carries vane's forecasts
//! under statsmodels' configuration in `reference/backtest.py`: `"hw"`, Holt-Winters with damped
//! additive trend and additive season of the calendar period (`--hw-period`, default 288, one
//! day of 5-minute data), and `"arima"`, one forecast per order `"p,d,q"` (d in 0..=1, p and q in
//! 0..=`max_pq`) with its AIC, so the script can take the order statsmodels chose.

use std::time::Instant;

use serde_json::json;
use vane_analytics::arima::{self, Order};
use vane_analytics::ets::{self, Component, HwSpec};
use vane_analytics::forecast::{ForecastOptions, fit_candidates};
use vane_analytics::parse_csv;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut origins = 5usize;
    let mut spacing = 144usize;
    let mut horizon = 10usize;
    let mut hw_period = 288usize;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--origins" => origins = args.next().ok_or("--origins needs a value")?.parse()?,
            "--spacing" => spacing = args.next().ok_or("--spacing needs a value")?.parse()?,
            "--horizon" => horizon = args.next().ok_or("--horizon needs a value")?.parse()?,
            "--hw-period" => hw_period = args.next().ok_or("--hw-period needs a value")?.parse()?,
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
            let opts = ForecastOptions::detected(train, ts.get(..origin).ok_or("origin past the end")?, horizon);
            let c = fit_candidates(train, &opts)?;
            let served = c.models.get(c.served).ok_or("no served model")?;
            let ms = start.elapsed().as_secs_f64() * 1e3;
            let (hw, hw_ms) = like_for_like_hw(train, hw_period, horizon);
            let (arima, arima_ms) = like_for_like_arima(train, horizon);
            let candidates: Vec<_> = c
                .models
                .iter()
                .map(|m| json!({"model": m.name, "forecast": m.mean, "backtest_mae": m.backtest_mae}))
                .collect();
            rows.push(json!({
                "origin": origin,
                "period": opts.period,
                "model": served.name,
                "forecast": served.mean,
                "candidates": candidates,
                "ms": ms,
                "hw": hw,
                "hw_ms": hw_ms,
                "arima": arima,
                "arima_ms": arima_ms,
            }));
        }
        let name = std::path::Path::new(path).file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        eprintln!("{name}: {} origins", rows.len());
        out.push(json!({"series": name, "file": path, "n": n, "horizon": horizon, "origins": rows}));
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// Holt-Winters as statsmodels is configured in `reference/backtest.py`: damped additive trend,
/// additive season of period `period`. The forecast with the in-sample SSE and smoothing
/// parameters (or `null` when the fit fails), and its time.
fn like_for_like_hw(train: &[f64], period: usize, h: usize) -> (serde_json::Value, f64) {
    let start = Instant::now();
    let spec = HwSpec {
        trend: Component::Additive,
        damped: true,
        seasonal: Component::Additive,
        period,
    };
    let v = ets::fit(train, spec).ok().map(|m| {
        let p = &m.params;
        json!({
            "forecast": m.forecast_from(train.len(), h),
            "sse": m.sse,
            "alpha": p.alpha, "beta": p.beta, "gamma": p.gamma, "phi": p.phi,
        })
    });
    (json!(v), start.elapsed().as_secs_f64() * 1e3)
}

/// ARIMA(p, d, q) for d in 0..=1 and p, q in 0..=2 (statsmodels' search space in
/// `reference/backtest.py`): per order `"p,d,q"` the forecast, the AIC and the in-sample SSE (the
/// exact filter's one-step errors, as statsmodels' residuals), and the total time.
fn like_for_like_arima(train: &[f64], h: usize) -> (serde_json::Value, f64) {
    let start = Instant::now();
    let mut out = serde_json::Map::new();
    for d in 0..=1 {
        for p in 0..=2 {
            for q in 0..=2 {
                if let Ok(m) = arima::fit(train, Order { p, d, q }) {
                    out.insert(
                        format!("{p},{d},{q}"),
                        json!({"forecast": m.forecast_from(train.len(), h), "aic": m.aic(), "sse": m.innovation_sse()}),
                    );
                }
            }
        }
    }
    (serde_json::Value::Object(out), start.elapsed().as_secs_f64() * 1e3)
}
