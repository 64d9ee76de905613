//! `vane analyze FILE.csv`: reads the file, validates the flags, runs the analytics core and
//! prints the JSON contract of issue 4 (`--json`) or a report for people.

use std::time::Instant;

use anyhow::{Context as _, bail};
use vane_analytics::adf::{Autolag, Regression};
use vane_analytics::{AnalyzeOptions, MAX_HORIZON, Range, analyze, parse_csv, render_text};

use crate::cli::AnalyzeArgs;

pub fn run(args: &AnalyzeArgs) -> anyhow::Result<()> {
    let options = options(args)?;
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let series = parse_csv(&text).with_context(|| format!("{} is not a usable timestamp,value CSV", args.file.display()))?;
    let started = Instant::now();
    let mut stopwatch = || started.elapsed().as_secs_f64() * 1000.0;
    let report = analyze(&series, &options, &mut stopwatch);
    if args.json {
        println!("{}", serde_json::to_string(&report).context("cannot serialise the report")?);
    } else {
        print!("{}", render_text(&report));
    }
    Ok(())
}

fn options(args: &AnalyzeArgs) -> anyhow::Result<AnalyzeOptions> {
    let mut problems = Vec::new();
    let autolag = Autolag::parse(&args.autolag).unwrap_or_else(|| {
        problems.push(format!("--autolag {:?}: expected aic, bic, t-stat or none", args.autolag));
        Autolag::Aic
    });
    let regression = Regression::parse(&args.regression).unwrap_or_else(|| {
        problems.push(format!("--regression {:?}: expected c, ct, ctt or n", args.regression));
        Regression::Constant
    });
    if !(args.level > 0.0 && args.level < 1.0) {
        problems.push(format!("--level {}: must be between 0 and 1, e.g. 0.95", args.level));
    }
    if args.horizon == 0 || args.horizon > MAX_HORIZON {
        problems.push(format!("--horizon {}: must be between 1 and {MAX_HORIZON} points", args.horizon));
    }
    if !(args.lambda.is_finite() && args.lambda > 0.0) {
        problems.push(format!("--lambda {}: must be a positive number", args.lambda));
    }
    if args.period.is_some_and(|p| p < 2) {
        problems.push("--period must be at least 2".to_string());
    }
    let range = match &args.range {
        None => None,
        Some(text) => match parse_range(text) {
            Ok(range) => Some(range),
            Err(problem) => {
                problems.push(problem);
                None
            }
        },
    };
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(AnalyzeOptions {
        period: args.period,
        horizon: args.horizon,
        lambda: args.lambda,
        maxlag: args.maxlag,
        autolag,
        regression,
        level: args.level,
        range,
        ..AnalyzeOptions::default()
    })
}

fn parse_range(text: &str) -> Result<Range, String> {
    // The value may start with '-' (a negative MIN), so a flag right after --range arrives here.
    if text.starts_with("--") {
        return Err(format!(
            "--range needs a value MIN:MAX, but the next argument is the flag {text:?}; give the range first (e.g. --range 10:90 {text})"
        ));
    }
    let bad = || format!("--range {text:?}: expected MIN:MAX with numbers, either side may be empty (e.g. 10:90, :100, 0:)");
    let (low, high) = text.split_once(':').ok_or_else(bad)?;
    let bound = |side: &str| -> Result<Option<f64>, String> {
        if side.trim().is_empty() {
            return Ok(None);
        }
        side.trim().parse::<f64>().ok().filter(|v| v.is_finite()).map(Some).ok_or_else(bad)
    };
    let (min, max) = (bound(low)?, bound(high)?);
    if min.is_none() && max.is_none() {
        return Err(bad());
    }
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        return Err(format!("--range {text:?}: MIN is greater than MAX"));
    }
    Ok(Range { min, max })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_accept_open_sides_and_reject_nonsense() {
        let range = parse_range(":100").unwrap();
        assert_eq!((range.min, range.max), (None, Some(100.0)));
        let range = parse_range("1.5:2").unwrap();
        assert_eq!((range.min, range.max), (Some(1.5), Some(2.0)));
        assert!(parse_range(":").is_err());
        assert!(parse_range("5:1").is_err());
        assert!(parse_range("abc").is_err());
        let flag = parse_range("--json").unwrap_err();
        assert!(
            flag.contains("the flag \"--json\"") && flag.contains("--range 10:90 --json"),
            "{flag}"
        );
    }
}
