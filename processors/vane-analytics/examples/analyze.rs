//! Runs the whole analysis of a CSV file and prints the report: `cargo run --release -p
//! vane-analytics --example analyze -- FILE.csv [--json] [--period N] [--range MIN:MAX]`.
//! A development aid; the real command is `vane analyze`.

use std::time::Instant;

use vane_analytics::{AnalyzeOptions, Range, analyze, parse_csv, render_text};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .ok_or("usage: analyze FILE.csv [--json] [--period N] [--range MIN:MAX]")?;
    let mut opts = AnalyzeOptions::default();
    let mut json = false;
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--period" => opts.period = Some(it.next().ok_or("--period needs a value")?.parse()?),
            "--range" => {
                let v = it.next().ok_or("--range needs MIN:MAX")?;
                let (lo, hi) = v.split_once(':').ok_or("--range needs MIN:MAX")?;
                let p = |s: &str| {
                    if s.is_empty() { Ok(None) } else { s.parse::<f64>().map(Some) }
                };
                opts.range = Some(Range { min: p(lo)?, max: p(hi)? });
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let series = parse_csv(&std::fs::read_to_string(path)?)?;
    let start = Instant::now();
    let report = analyze(&series, &opts, &mut || start.elapsed().as_secs_f64() * 1000.0);
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", render_text(&report));
    }
    Ok(())
}
