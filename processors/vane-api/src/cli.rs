//! `vane query <what>`: the flags, and [`run_query`], which calls the API and returns exactly what
//! to print (a JSON array with `--json`, aligned tables otherwise). The SLA kinds (`sla`,
//! `violations`, `budget`) are answered by [`crate::sla_cli`].
//!
//! The binary flattens [`QueryArgs`] into its `query` subcommand and prints the string; errors
//! come back as [`ApiError`]s whose messages are written for the user. [`run_query`] reads the
//! clock once, for `--since`; everything after that takes the time as an argument
//! ([`run_query_at`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};

use crate::client::{Client, DEFAULT_GRPC_ADDR};
use crate::matcher::Matcher;
use crate::render::analytics as render_analytics;
use crate::{ApiError, pb, render};

/// Which read model to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryKind {
    /// The series catalog: metric, labels, first and last sample seen.
    Series,
    /// Windowed aggregates of one metric (needs --metric): max, min, mean, std, count. A time
    /// range keeps the series whose aggregates were updated in it.
    Aggregates,
    /// Augmented Dickey-Fuller tests (needs --metric): the latest per series, or every analysis
    /// that ran in the time range.
    Stationarity,
    /// Seasonal decomposition of the latest analysis (needs --metric); a time range picks points.
    Decomposition,
    /// Hodrick-Prescott trend and cycle of the latest analysis (needs --metric); a time range
    /// picks points.
    Trend,
    /// Autocorrelations and partial autocorrelations (needs --metric): the latest per series, or
    /// every analysis that ran in the time range.
    Autocorrelation,
    /// Forecasts with prediction intervals (needs --metric): the latest per series, or every
    /// analysis that ran in the time range.
    Forecast,
    /// The live status of every series under an SLA (--sla), or under every SLA.
    Sla,
    /// The violating samples of an SLA (needs --sla) in the time range (default: all kept).
    Violations,
    /// The error budget and burn rates of an SLA (--sla), or of every SLA.
    Budget,
    /// Violating samples and episodes over the last 1h, 3h, 6h and 12h of an SLA (--sla), or of
    /// every SLA.
    Counts,
}

impl QueryKind {
    /// The command's name, for messages.
    fn name(self) -> &'static str {
        match self {
            QueryKind::Series => "series",
            QueryKind::Aggregates => "aggregates",
            QueryKind::Stationarity => "stationarity",
            QueryKind::Decomposition => "decomposition",
            QueryKind::Trend => "trend",
            QueryKind::Autocorrelation => "autocorrelation",
            QueryKind::Forecast => "forecast",
            QueryKind::Sla => "sla",
            QueryKind::Violations => "violations",
            QueryKind::Budget => "budget",
            QueryKind::Counts => "counts",
        }
    }
}

/// Flags of `vane query <what>`.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// What to list.
    #[arg(value_enum)]
    pub what: QueryKind,
    /// Metric name (required for everything but series).
    #[arg(long)]
    pub metric: Option<String>,
    /// Label matcher in PromQL syntax: `k=v`, `k!=v`, `k=~re`, `k!~re` (value may be quoted;
    /// regexes are fully anchored). Repeat to AND several.
    #[arg(long = "label", value_name = "MATCHER", value_parser = parse_matcher)]
    pub labels: Vec<Matcher>,
    /// The SLA, by id or name (sla, violations, budget).
    #[arg(long, value_name = "ID|NAME")]
    pub sla: Option<String>,
    /// Aggregate window, e.g. 1h (default: every window).
    #[arg(long)]
    pub window: Option<String>,
    /// The time range is the last D (e.g. 6h, 30m, 7d), up to now.
    #[arg(long, value_name = "D", value_parser = parse_since, conflicts_with_all = ["from", "to"])]
    pub since: Option<Duration>,
    /// Start of the time range (inclusive): RFC 3339 (2026-01-01T00:00:00Z) or Unix milliseconds.
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub from: Option<i64>,
    /// End of the time range (inclusive): RFC 3339 or Unix milliseconds.
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub to: Option<i64>,
    /// Address of vane's gRPC API (host:port, `http://` optional).
    #[arg(long, env = "VANE_GRPC_ADDR", default_value = DEFAULT_GRPC_ADDR)]
    pub grpc_addr: String,
    /// Print one JSON array, one object per row.
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn parse_matcher(text: &str) -> Result<Matcher, String> {
    Matcher::parse(text).map_err(|error| error.to_string())
}

pub(crate) fn parse_since(text: &str) -> Result<Duration, String> {
    vane_core::time::parse_duration(text).map_err(|_| format!("{text:?} is not a duration such as 6h, 30m or 7d"))
}

/// Unix milliseconds (digits only), or RFC 3339.
pub(crate) fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_err(|_| format!("{text:?} is too large for Unix milliseconds"));
    }
    vane_core::time::parse_rfc3339(text).map_err(|_| format!("{text:?} is neither RFC 3339 (2026-01-01T00:00:00Z) nor Unix milliseconds"))
}

/// The range's bounds as the API takes them, Unix milliseconds with 0 for unbounded: `--since D`
/// is `(now - D, unbounded)`. A given bound is never 0 (it would read as unbounded, and with no
/// bound at all the API answers the latest analyses instead of a range).
pub(crate) fn time_range(args: &QueryArgs, now_ms: i64) -> Result<(i64, i64), ApiError> {
    let (from, to) = match args.since {
        Some(since) => {
            let since_ms = i64::try_from(since.as_millis()).unwrap_or(i64::MAX);
            (Some(now_ms.saturating_sub(since_ms)), None)
        }
        None => (args.from, args.to),
    };
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ApiError::InvalidArgument(format!(
            "--from {} is after --to {}",
            vane_core::time::format_rfc3339(from),
            vane_core::time::format_rfc3339(to)
        )));
    }
    let wire = |bound: Option<i64>| bound.map_or(0, |ms| ms.max(1));
    Ok((wire(from), wire(to)))
}

pub(crate) fn has_time_range(args: &QueryArgs) -> bool {
    args.since.is_some() || args.from.is_some() || args.to.is_some()
}

/// Runs the query against the API and returns what to print (ending with a newline).
pub async fn run_query(args: &QueryArgs) -> Result<String, ApiError> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX));
    run_query_at(args, now_ms).await
}

/// [`run_query`] with the current time given (Unix milliseconds), for `--since`.
pub async fn run_query_at(args: &QueryArgs, now_ms: i64) -> Result<String, ApiError> {
    if args.window.is_some() && args.what != QueryKind::Aggregates {
        return Err(ApiError::InvalidArgument("--window applies to aggregates only".into()));
    }
    if args.sla.is_some()
        && !matches!(
            args.what,
            QueryKind::Sla | QueryKind::Violations | QueryKind::Budget | QueryKind::Counts
        )
    {
        return Err(ApiError::InvalidArgument(
            "--sla applies to `vane query sla`, `violations` and `budget` only".into(),
        ));
    }
    let json = args.json;
    match args.what {
        QueryKind::Sla | QueryKind::Violations | QueryKind::Budget | QueryKind::Counts => crate::sla_cli::run_query(args, now_ms).await,
        QueryKind::Series => {
            if has_time_range(args) {
                return Err(ApiError::InvalidArgument(
                    "--since, --from and --to do not apply to series: the catalog has no time range".into(),
                ));
            }
            let request = pb::ListSeriesRequest {
                metric: args.metric.clone().unwrap_or_default(),
                matchers: matchers(args),
                page_size: 0,
                page_token: String::new(),
            };
            let rows = Client::connect(&args.grpc_addr).await?.all_series(request).await?;
            if json {
                render::series_json(&rows)
            } else {
                Ok(render::series_table(&rows))
            }
        }
        QueryKind::Aggregates => {
            let scope = analytics_request(args, now_ms)?;
            let request = pb::ListAggregatesRequest {
                metric: scope.metric,
                matchers: scope.matchers,
                window: args.window.clone().unwrap_or_default(),
                page_size: 0,
                page_token: String::new(),
                from_ms: scope.from_ms,
                to_ms: scope.to_ms,
            };
            let rows = Client::connect(&args.grpc_addr).await?.all_aggregates(request).await?;
            if json {
                render::aggregates_json(&rows)
            } else {
                Ok(render::aggregates_table(&rows))
            }
        }
        QueryKind::Stationarity => {
            let request = analytics_request(args, now_ms)?;
            let rows = Client::connect(&args.grpc_addr).await?.all_stationarity(request).await?;
            render_analytics::stationarity(&rows, json)
        }
        QueryKind::Decomposition => {
            let request = analytics_request(args, now_ms)?;
            let rows = Client::connect(&args.grpc_addr).await?.all_decomposition(request).await?;
            render_analytics::decomposition(&rows, json)
        }
        QueryKind::Trend => {
            let request = analytics_request(args, now_ms)?;
            let rows = Client::connect(&args.grpc_addr).await?.all_trend_cycle(request).await?;
            render_analytics::trend_cycle(&rows, json)
        }
        QueryKind::Autocorrelation => {
            let request = analytics_request(args, now_ms)?;
            let rows = Client::connect(&args.grpc_addr).await?.all_autocorrelation(request).await?;
            render_analytics::autocorrelation(&rows, json)
        }
        QueryKind::Forecast => {
            let request = analytics_request(args, now_ms)?;
            let rows = Client::connect(&args.grpc_addr).await?.all_forecasts(request).await?;
            render_analytics::forecast(&rows, json)
        }
    }
}

fn matchers(args: &QueryArgs) -> Vec<pb::LabelMatcher> {
    args.labels.iter().map(crate::matcher::to_pb).collect()
}

/// The metric, matchers and time range of a query that needs a metric (aggregates take them
/// from here too).
fn analytics_request(args: &QueryArgs, now_ms: i64) -> Result<pb::AnalyticsRequest, ApiError> {
    let Some(metric) = args.metric.clone() else {
        return Err(ApiError::InvalidArgument(format!(
            "--metric is required for `vane query {}`",
            args.what.name()
        )));
    };
    let (from_ms, to_ms) = time_range(args, now_ms)?;
    Ok(pb::AnalyticsRequest {
        metric,
        matchers: matchers(args),
        from_ms,
        to_ms,
        page_size: 0,
        page_token: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::matcher::MatchOp;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        query: QueryArgs,
    }

    #[test]
    fn parses_the_contracts_flags() {
        let cli = Cli::try_parse_from([
            "vane",
            "aggregates",
            "--metric",
            "node_load1",
            "--label",
            "job=node",
            "--label",
            "instance=~\"host-.*\"",
            "--window",
            "1h",
            "--grpc-addr",
            "http://127.0.0.1:1",
            "--json",
        ])
        .unwrap();
        let query = cli.query;
        assert_eq!(query.what, QueryKind::Aggregates);
        assert_eq!(query.metric.as_deref(), Some("node_load1"));
        assert_eq!(query.labels.len(), 2);
        assert_eq!(query.labels[1].op, MatchOp::Regex);
        assert_eq!(query.labels[1].value, "host-.*");
        assert_eq!(query.window.as_deref(), Some("1h"));
        assert!(query.json);
    }

    #[test]
    fn a_bad_matcher_is_a_usage_error() {
        let error = Cli::try_parse_from(["vane", "series", "--label", "job~node"]).unwrap_err();
        assert!(error.to_string().contains("job~node"), "{error}");
    }

    #[test]
    fn parses_time_ranges() {
        let cli = Cli::try_parse_from([
            "vane",
            "stationarity",
            "--metric",
            "m",
            "--from",
            "2026-01-01T00:00:00Z",
            "--to",
            "1767229200000",
        ])
        .unwrap();
        assert_eq!(cli.query.from, Some(1_767_225_600_000));
        assert_eq!(cli.query.to, Some(1_767_229_200_000));
        assert_eq!(time_range(&cli.query, 5).unwrap(), (1_767_225_600_000, 1_767_229_200_000));

        let cli = Cli::try_parse_from(["vane", "forecast", "--metric", "m", "--since", "6h"]).unwrap();
        assert_eq!(cli.query.since, Some(Duration::from_secs(6 * 3600)));
        let now = 1_767_229_200_000;
        assert_eq!(time_range(&cli.query, now).unwrap(), (now - 6 * 3_600_000, 0));
        // A --since longer than the epoch still asks for a range, not for the latest analyses.
        assert_eq!(time_range(&cli.query, 1_000).unwrap(), (1, 0));

        let cli = Cli::try_parse_from(["vane", "trend", "--metric", "m", "--from", "20", "--to", "10"]).unwrap();
        let error = time_range(&cli.query, 0).unwrap_err();
        assert!(error.to_string().contains("is after --to"), "{error}");
        let cli = Cli::try_parse_from(["vane", "trend", "--metric", "m"]).unwrap();
        assert_eq!(time_range(&cli.query, 99).unwrap(), (0, 0));
    }

    #[test]
    fn bad_times_and_mixed_ranges_are_usage_errors() {
        for bad in [
            vec!["--since", "6h", "--from", "1"],
            vec!["--since", "soon"],
            vec!["--from", "yesterday"],
            vec!["--to", "-5"],
            vec!["--from", "99999999999999999999"],
        ] {
            let mut argv = vec!["vane", "trend", "--metric", "m"];
            argv.extend(bad.iter().copied());
            assert!(Cli::try_parse_from(&argv).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn misplaced_flags_are_refused_before_any_connection() {
        for (argv, words) in [
            (vec!["vane", "series", "--since", "1h"], "do not apply to series"),
            (
                vec!["vane", "forecast", "--metric", "m", "--window", "1h"],
                "--window applies to aggregates only",
            ),
            (vec!["vane", "decomposition"], "--metric is required for `vane query decomposition`"),
        ] {
            let mut argv = argv;
            argv.extend(["--grpc-addr", "127.0.0.1:1"]);
            let cli = Cli::try_parse_from(&argv).unwrap();
            let error = run_query(&cli.query).await.unwrap_err();
            assert!(error.to_string().contains(words), "{argv:?}: {error}");
        }
    }

    #[tokio::test]
    async fn aggregates_need_a_metric_before_any_connection() {
        let cli = Cli::try_parse_from(["vane", "aggregates", "--grpc-addr", "127.0.0.1:1"]).unwrap();
        let error = run_query(&cli.query).await.unwrap_err();
        assert!(error.to_string().contains("--metric is required"), "{error}");
    }
}
