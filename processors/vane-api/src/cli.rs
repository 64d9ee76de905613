//! `vane query series|aggregates`: the flags, and [`run_query`], which calls the API and returns
//! exactly what to print (a JSON array with `--json`, an aligned table otherwise).
//!
//! The binary flattens [`QueryArgs`] into its `query` subcommand and prints the string; errors
//! come back as [`ApiError`]s whose messages are written for the user.

use clap::{Args, ValueEnum};

use crate::client::{Client, DEFAULT_GRPC_ADDR};
use crate::matcher::Matcher;
use crate::{ApiError, pb, render};

/// Which read model to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryKind {
    /// The series catalog: metric, labels, first and last sample seen.
    Series,
    /// Windowed aggregates of one metric (needs --metric): max, min, mean, std, count.
    Aggregates,
}

/// Flags of `vane query <what>`.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// What to list.
    #[arg(value_enum)]
    pub what: QueryKind,
    /// Metric name (required for aggregates).
    #[arg(long)]
    pub metric: Option<String>,
    /// Label matcher in PromQL syntax: `k=v`, `k!=v`, `k=~re`, `k!~re` (value may be quoted;
    /// regexes are fully anchored). Repeat to AND several.
    #[arg(long = "label", value_name = "MATCHER", value_parser = parse_matcher)]
    pub labels: Vec<Matcher>,
    /// Aggregate window, e.g. 1h (default: every window).
    #[arg(long)]
    pub window: Option<String>,
    /// Address of vane's gRPC API (host:port, `http://` optional).
    #[arg(long, env = "VANE_GRPC_ADDR", default_value = DEFAULT_GRPC_ADDR)]
    pub grpc_addr: String,
    /// Print one JSON array, one object per row.
    #[arg(long)]
    pub json: bool,
}

fn parse_matcher(text: &str) -> Result<Matcher, String> {
    Matcher::parse(text).map_err(|error| error.to_string())
}

/// Runs the query against the API and returns what to print (ending with a newline).
pub async fn run_query(args: &QueryArgs) -> Result<String, ApiError> {
    let matchers: Vec<pb::LabelMatcher> = args.labels.iter().map(Matcher::to_pb).collect();
    match args.what {
        QueryKind::Series => {
            if args.window.is_some() {
                return Err(ApiError::InvalidArgument("--window applies to aggregates only".into()));
            }
            let request = pb::ListSeriesRequest {
                metric: args.metric.clone().unwrap_or_default(),
                matchers,
                page_size: 0,
                page_token: String::new(),
            };
            let rows = Client::connect(&args.grpc_addr).await?.all_series(request).await?;
            if args.json {
                render::series_json(&rows)
            } else {
                Ok(render::series_table(&rows))
            }
        }
        QueryKind::Aggregates => {
            let Some(metric) = args.metric.clone() else {
                return Err(ApiError::InvalidArgument("--metric is required for `vane query aggregates`".into()));
            };
            let request = pb::ListAggregatesRequest {
                metric,
                matchers,
                window: args.window.clone().unwrap_or_default(),
                page_size: 0,
                page_token: String::new(),
            };
            let rows = Client::connect(&args.grpc_addr).await?.all_aggregates(request).await?;
            if args.json {
                render::aggregates_json(&rows)
            } else {
                Ok(render::aggregates_table(&rows))
            }
        }
    }
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

    #[tokio::test]
    async fn aggregates_need_a_metric_before_any_connection() {
        let cli = Cli::try_parse_from(["vane", "aggregates", "--grpc-addr", "127.0.0.1:1"]).unwrap();
        let error = run_query(&cli.query).await.unwrap_err();
        assert!(error.to_string().contains("--metric is required"), "{error}");
    }
}
