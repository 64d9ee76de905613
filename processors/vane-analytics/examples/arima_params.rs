//! Prints vane's ARIMA estimates (exact likelihood and CSS) as JSON lines for comparison with
//! `reference/arima_params.py`: `cargo run --release -p vane-analytics --example arima_params --
//! FILE.csv [N] P,D,Q...` (the first `N` points; all when `N` is 0 or missing).

use std::time::Instant;

use vane_analytics::{arima, parse_csv};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().ok_or("usage: arima_params FILE.csv N P,D,Q...")?;
    let x = parse_csv(&std::fs::read_to_string(path)?)?.values().to_vec();
    let n: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(0);
    let x = if n > 0 { x.get(..n).unwrap_or(&x) } else { &x };
    for spec in args.iter().skip(2) {
        let o: Vec<usize> = spec.split(',').map(|v| v.parse()).collect::<Result<_, _>>()?;
        let [p, d, q] = o[..] else {
            return Err(format!("bad order {spec}").into());
        };
        let order = arima::Order { p, d, q };
        let t = Instant::now();
        let m = arima::fit(x, order)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let c = arima::fit_css(x, order)?;
        println!(
            "{}",
            serde_json::json!({"order": [p, d, q], "ar": m.ar, "ma": m.ma, "mean": m.mean, "css": m.css, "ms": ms,
                "css_ar": c.ar, "css_ma": c.ma, "css_mean": c.mean})
        );
    }
    Ok(())
}
