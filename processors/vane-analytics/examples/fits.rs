//! Prints the in-sample SSE and fit time (best of 5) of vane's forecasting models on a CSV, for
//! comparison with `reference/time_statsmodels.py`: `cargo run --release -p vane-analytics
//! --example fits -- FILE.csv [PERIOD]`.

use std::time::Instant;

/// Runs `f` five times; returns the last result and the fastest time in milliseconds.
fn best_of_5<T>(mut f: impl FnMut() -> T) -> (T, f64) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..5 {
        let t = Instant::now();
        out = Some(f());
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
    }
    match out {
        Some(v) => (v, best),
        None => unreachable!("five runs"),
    }
}

use vane_analytics::ets::{self, Component, HwSpec};
use vane_analytics::{arima, parse_csv};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().ok_or("usage: fits FILE.csv [PERIOD]")?;
    let period: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(288);
    let x = parse_csv(&std::fs::read_to_string(path)?)?.values().to_vec();
    let specs = [
        HwSpec {
            trend: Component::Additive,
            damped: true,
            seasonal: Component::Additive,
            period,
        },
        HwSpec {
            trend: Component::Additive,
            damped: true,
            seasonal: Component::Multiplicative,
            period,
        },
        HwSpec {
            trend: Component::Additive,
            damped: true,
            seasonal: Component::None,
            period: 1,
        },
    ];
    for spec in specs {
        let (fit, ms) = best_of_5(|| ets::fit(&x, spec));
        match fit {
            Ok(m) => println!("{:60} {:9.2} ms  sse {:.6e}", spec.name(), ms, m.sse),
            Err(e) => println!("{:60} error: {e}", spec.name()),
        }
    }
    for d in [0, 1] {
        let (m, ms) = best_of_5(|| arima::search(&x, d, 2));
        let m = m?;
        println!(
            "{:60} {:9.2} ms  best {} sse {:.6e}",
            format!("arima search d={d}"),
            ms,
            m.name(),
            m.css
        );
    }
    let (m, ms) = best_of_5(|| arima::fit(&x, arima::Order { p: 1, d: 1, q: 1 }));
    println!("{:60} {:9.2} ms  sse {:.6e}", "arima(1,1,1)", ms, m?.css);
    Ok(())
}
