//! The command line (a contract: see the design's "Command line" section).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "vane",
    version,
    about = "Event-sourced stream processor for metrics, SLAs and weather alerts"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every role in one process; embedded log under --data-dir unless --kafka is given.
    Up(ServerArgs),
    /// One role in this process (scale out by running more replicas).
    Run {
        #[arg(value_enum)]
        role: Role,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Query the read models through the gRPC API.
    Query(vane_api::QueryArgs),
    /// Define, change, delete and list SLAs through the gRPC API (changes read the admin token
    /// from VANE_ADMIN_TOKEN).
    Sla(vane_api::SlaArgs),
    /// Your account: register, login (prints the token for VANE_TOKEN), link-code, passwd, delete.
    User(vane_api::UserArgs),
    /// Subscribe to weather alerts for a city (needs VANE_TOKEN).
    Subscribe(vane_api::SubscribeArgs),
    /// List your weather subscriptions (needs VANE_TOKEN).
    Subscriptions(vane_api::SubscriptionsArgs),
    /// Delete one of your weather subscriptions (needs VANE_TOKEN).
    Unsubscribe(vane_api::UnsubscribeArgs),
    /// Rebuild every read model from the log (embedded: stop `vane up` first).
    Replay(ServerArgs),
    /// Create or upgrade the read-model schema (ScyllaDB keyspace and tables, or the SQLite file).
    Migrate(ServerArgs),
    /// Offline analysis of a `timestamp,value` CSV: aggregates, ADF, HP, ACF/PACF,
    /// decompositions, forecasts and (with --range) the probability of leaving a range.
    Analyze(AnalyzeArgs),
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// CSV file with a `timestamp,value` header (RFC 3339, `YYYY-MM-DD HH:MM:SS` UTC, or Unix seconds).
    pub file: PathBuf,
    /// Seasonal period in points (detected from the data when omitted).
    #[arg(long)]
    pub period: Option<usize>,
    /// Forecast horizon in points (1 to 1000).
    #[arg(long, default_value_t = 10)]
    pub horizon: usize,
    /// Hodrick-Prescott lambda.
    #[arg(long, default_value_t = 1600.0)]
    pub lambda: f64,
    /// ADF maximum lag (default 12·(n/100)^¼, as statsmodels).
    #[arg(long)]
    pub maxlag: Option<usize>,
    /// ADF lag selection: aic, bic, t-stat or none.
    #[arg(long, default_value = "aic")]
    pub autolag: String,
    /// ADF deterministic terms: c, ct, ctt or n.
    #[arg(long, default_value = "c")]
    pub regression: String,
    /// Prediction interval coverage, between 0 and 1.
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
    /// Allowed range MIN:MAX (either side may be empty, e.g. ":100"): adds the probability that
    /// any of the next H values falls outside. A negative MIN needs no quoting: "-5:5".
    #[arg(long, allow_hyphen_values = true, value_name = "MIN:MAX")]
    pub range: Option<String>,
    /// Print one JSON object instead of a report for people.
    #[arg(long)]
    pub json: bool,
}

/// The roles built so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Validates vane.metrics.ingest into vane.metrics.samples and serves remote write.
    Ingest,
    /// Sliding-window aggregates per series from vane.metrics.samples.
    Aggregates,
    /// The whole analysis of every series on a schedule, into vane.metrics.analytics.
    Analytics,
    /// Judges samples against the SLAs: statuses, violations, forecasts, notifications.
    Sla,
    /// Delivers vane.notifications to Telegram (needs telegram.token).
    Notifier,
    /// The Telegram bot: /start CODE, /subscribe, /list, /unsubscribe (needs telegram.token and
    /// the store; run exactly one).
    Bot,
    /// Weather: polls OpenWeatherMap for the subscribed cities (needs weather.api_key) and
    /// matches observations against the subscriptions.
    Weather,
    /// Writes derived events into the read models.
    Projector,
    /// The gRPC API over the read models.
    Api,
    /// Pulls raw samples of the configured selectors from Prometheus (needs --prometheus-url).
    Puller,
}

/// Flags shared by `up` and `run`; they override the config file and the environment.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Directory of the embedded log and store (default ./vane-data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Kafka bootstrap servers (host:port,...): use Kafka instead of the embedded log.
    #[arg(long)]
    pub kafka: Option<String>,
    /// ScyllaDB contact points (scylla://host:9042,host2): read models in ScyllaDB instead of SQLite.
    #[arg(long)]
    pub scylla: Option<String>,
    /// Prometheus to pull samples from (e.g. http://127.0.0.1:9090); `vane up` starts the puller
    /// only when this is set.
    #[arg(long)]
    pub prometheus_url: Option<String>,
    /// OpenWeatherMap base URL (default https://api.openweathermap.org; a local fake in tests).
    #[arg(long)]
    pub weather_url: Option<String>,
    /// Telegram Bot API base URL (default https://api.telegram.org; a local fake in tests).
    #[arg(long)]
    pub telegram_api_url: Option<String>,
    /// gRPC listen address (default 127.0.0.1:50051).
    #[arg(long)]
    pub grpc_addr: Option<String>,
    /// HTTP listen address for remote write, /metrics and /healthz (default 127.0.0.1:9464).
    #[arg(long)]
    pub http_addr: Option<String>,
    /// TOML configuration file; VANE__SECTION__KEY environment variables override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
}
