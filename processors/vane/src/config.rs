//! Server configuration, loaded once: built-in defaults, then the TOML file (`--config`), then
//! `VANE__<SECTION>__<KEY>` environment variables, then flags. Validation reports every problem
//! at once. Secrets (remote-write credentials) come only from the file or the environment and
//! are masked when printed.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use vane_aggregates::AggregatesConfig;
use vane_analyzer::AnalyzerConfig;
use vane_core::time::parse_duration;
use vane_core::window::WindowSpec;
use vane_http::WriteAuth;
use vane_ingest::IngestConfig;
use vane_notifier::{BotToken, NotifierConfig};
use vane_sla::SlaConfig;
use vane_stream::kafka::KafkaConfig;
use vane_stream::topics::TopicLayout;
use vane_weather_worker::{ApiKey, MatcherConfig, PollerConfig};

use crate::cli::{Role, ServerArgs};
use crate::config_file::{AnalyticsSection, FileConfig, NotifierSection, TelegramSection};

/// The validated configuration handed to the roles.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub kafka: Option<KafkaConfig>,
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    pub write_auth: WriteAuth,
    pub topics: TopicLayout,
    pub segment_bytes: u64,
    pub maintenance_interval: Duration,
    pub ingest: IngestConfig,
    /// ScyllaDB URI and keyspace, or `None` for the embedded store.
    pub scylla: Option<(String, String)>,
    pub store_retention: Duration,
    pub aggregates: AggregatesConfig,
    /// The puller's settings, when a Prometheus URL is configured.
    pub puller: Option<vane_prometheus::PullerConfig>,
    pub analytics: AnalyzerConfig,
    pub sla: SlaConfig,
    /// How often the SLA worker punctuates (no-data checks).
    pub sla_evaluate_every: Duration,
    /// Token SLA changes need; `None` refuses them.
    pub admin_token: Option<Secret>,
    /// The Telegram notifier's settings, when a bot token is configured.
    pub notifier: Option<NotifierConfig>,
    /// The weather poller's settings, when an API key is configured.
    pub weather_poller: Option<PollerConfig>,
    pub weather_matcher: MatcherConfig,
    /// Key signing users' tokens; `None` refuses user calls.
    pub jwt_secret: Option<Secret>,
    pub token_ttl: Duration,
}

/// A secret from the file or the environment; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Loads and validates the configuration for `up` (role `None`) or `run <role>`.
pub fn load(args: &ServerArgs, _role: Option<Role>) -> anyhow::Result<Config> {
    let mut table = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
            text.parse::<toml::Table>()
                .with_context(|| format!("config file {} is not valid TOML", path.display()))?
        }
        None => toml::Table::new(),
    };
    overlay_env(&mut table, std::env::vars())?;
    let file: FileConfig = toml::Value::Table(table)
        .try_into()
        .context("invalid configuration (file or VANE__ environment)")?;
    validate(file, args)
}

/// Applies `VANE__SECTION__KEY=value`: the value is read as TOML when it parses (numbers,
/// booleans, arrays) and as a string otherwise.
fn overlay_env(table: &mut toml::Table, vars: impl Iterator<Item = (String, String)>) -> anyhow::Result<()> {
    for (name, value) in vars {
        let Some(path) = name.strip_prefix("VANE__") else { continue };
        let parts: Vec<String> = path.split("__").map(str::to_lowercase).collect();
        let [section, key] = parts.as_slice() else {
            bail!("environment variable {name}: expected VANE__<SECTION>__<KEY>, e.g. VANE__HTTP__ADDR");
        };
        let parsed = format!("v = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(value));
        let entry = table
            .entry(section.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(section_table) = entry else {
            bail!("environment variable {name}: [{section}] is not a section");
        };
        section_table.insert(key.clone(), parsed);
    }
    Ok(())
}

fn validate(file: FileConfig, args: &ServerArgs) -> anyhow::Result<Config> {
    let mut problems = Vec::new();
    let mut duration = |field: &str, text: &str| match parse_duration(text) {
        Ok(d) if !d.is_zero() => d,
        Ok(_) => {
            problems.push(format!("{field} = {text:?}: must be longer than zero"));
            Duration::from_secs(1)
        }
        Err(e) => {
            problems.push(format!("{field}: {e}"));
            Duration::from_secs(1)
        }
    };
    let raw_retention = duration("log.raw_retention", &file.log.raw_retention);
    let store_retention = duration("store.retention", &file.store.retention);
    let derived_retention = duration("log.derived_retention", &file.log.derived_retention);
    let maintenance_interval = duration("log.maintenance_interval", &file.log.maintenance_interval);
    let grace = parse_duration(&file.aggregates.grace).unwrap_or_else(|e| {
        problems.push(format!("aggregates.grace: {e}"));
        Duration::ZERO
    });
    let mut windows = Vec::new();
    for name in &file.aggregates.windows {
        match parse_duration(name) {
            Ok(width) if !width.is_zero() => windows.push(WindowSpec {
                name: name.clone(),
                width_ms: width.as_millis() as i64,
            }),
            _ => problems.push(format!("aggregates.windows: {name:?} is not a duration such as 1h")),
        }
    }
    if windows.is_empty() && file.aggregates.windows.is_empty() {
        problems.push("aggregates.windows: give at least one window, e.g. [\"1h\"]".to_string());
    }
    if file.log.partitions == 0 || file.log.partitions > 1024 {
        problems.push(format!("log.partitions = {}: must be between 1 and 1024", file.log.partitions));
    }
    if file.log.segment_bytes < 4096 {
        problems.push(format!("log.segment_bytes = {}: must be at least 4096", file.log.segment_bytes));
    }
    let http_text = args.http_addr.clone().unwrap_or(file.http.addr);
    let http_addr = match http_text.parse::<SocketAddr>() {
        Ok(addr) => addr,
        Err(_) => {
            problems.push(format!(
                "http address {http_text:?}: expected IP:PORT, e.g. 127.0.0.1:9464 (port 0 picks a free one)"
            ));
            SocketAddr::from(([127, 0, 0, 1], 9464))
        }
    };
    let grpc_text = args.grpc_addr.clone().unwrap_or(file.grpc.addr);
    let grpc_addr = match grpc_text.parse::<SocketAddr>() {
        Ok(addr) => addr,
        Err(_) => {
            problems.push(format!(
                "grpc address {grpc_text:?}: expected IP:PORT, e.g. 127.0.0.1:50051 (port 0 picks a free one)"
            ));
            SocketAddr::from(([127, 0, 0, 1], 50051))
        }
    };
    let write_auth = match (file.http.write_token, file.http.write_username, file.http.write_password) {
        (None, None, None) => WriteAuth::None,
        (Some(token), None, None) if !token.is_empty() => WriteAuth::Bearer(token),
        (None, Some(username), Some(password)) if !username.is_empty() && !password.is_empty() => WriteAuth::Basic { username, password },
        _ => {
            problems.push("http: set either write_token, or both write_username and write_password (non-empty)".to_string());
            WriteAuth::None
        }
    };
    if file.ingest.max_series_per_metric == 0 {
        problems.push("ingest.max_series_per_metric must be at least 1".to_string());
    }
    let brokers = args.kafka.clone().unwrap_or(file.kafka.brokers);
    let kafka = if brokers.trim().is_empty() {
        None
    } else {
        if file.kafka.replication_factor < 1 && file.kafka.replication_factor != -1 {
            problems.push("kafka.replication_factor must be at least 1 (or -1 for the broker's default)".to_string());
        }
        let mut kafka = KafkaConfig::new(brokers.trim());
        kafka.replication_factor = file.kafka.replication_factor;
        kafka.properties = file.kafka.properties.into_iter().collect();
        let data_dir = args.data_dir.clone().unwrap_or(file.log.data_dir.clone());
        kafka.instance_id = Some(file.kafka.instance_id.clone().unwrap_or_else(|| default_instance_id(&data_dir)));
        Some(kafka)
    };
    let prometheus_url = args.prometheus_url.clone().unwrap_or(file.prometheus.url);
    let puller = if prometheus_url.trim().is_empty() {
        None
    } else {
        if !prometheus_url.starts_with("http://") {
            problems.push(format!(
                "prometheus url {prometheus_url:?}: expected http://host:port (https is not supported yet)"
            ));
        }
        if file.prometheus.selectors.is_empty() {
            problems.push("prometheus.selectors: give at least one selector, e.g. [\"node_memory_MemFree_bytes\"]".to_string());
        }
        if file.prometheus.interval.is_zero() {
            problems.push("prometheus.interval must be longer than zero".to_string());
        }
        Some(vane_prometheus::PullerConfig {
            url: prometheus_url.trim().to_string(),
            selectors: file.prometheus.selectors.clone(),
            interval: file.prometheus.interval,
            backfill: file.prometheus.backfill,
        })
    };
    let analytics = analytics_config(&file.analytics, &mut problems);
    let sla = &file.sla;
    if sla.no_data_after.is_zero() || sla.evaluate_every.is_zero() {
        problems.push("sla.no_data_after and sla.evaluate_every must be longer than zero".to_string());
    }
    if !(sla.likely_threshold > 0.0 && sla.likely_threshold <= 1.0) {
        problems.push(format!(
            "sla.likely_threshold = {}: must be above 0 and at most 1, e.g. 0.5",
            sla.likely_threshold
        ));
    }
    let notifier = notifier_config(&file.telegram, &file.notifier, args, &mut problems);
    let weather = &file.weather;
    let weather_url = args.weather_url.clone().unwrap_or(weather.url.clone());
    if !(weather_url.starts_with("http://") || weather_url.starts_with("https://")) {
        problems.push(format!(
            "weather url {weather_url:?}: expected http:// or https://, e.g. https://api.openweathermap.org"
        ));
    }
    if weather.poll_interval.is_zero() || weather.evaluate_every.is_zero() {
        problems.push("weather.poll_interval and weather.evaluate_every must be longer than zero".to_string());
    }
    let weather_poller = weather.api_key.as_deref().map(str::trim).map(|key| {
        if key.is_empty() {
            problems.push("weather.api_key is empty: set the OpenWeatherMap key, or leave it out to run without the poller".to_string());
        }
        let mut poller = PollerConfig::new(weather_url.trim(), ApiKey::new(key));
        poller.interval = weather.poll_interval;
        poller
    });
    let weather_matcher = MatcherConfig {
        punctuate_every: weather.evaluate_every,
        ..MatcherConfig::default()
    };
    let jwt_secret = match file.auth.jwt_secret.as_deref().map(str::trim) {
        None => None,
        Some(key) if key.len() >= 32 => Some(Secret(key.to_string())),
        Some(_) => {
            problems.push("auth.jwt_secret must be at least 32 characters (e.g. `openssl rand -hex 32`)".to_string());
            None
        }
    };
    if file.auth.token_ttl.is_zero() {
        problems.push("auth.token_ttl must be longer than zero".to_string());
    }
    let admin_token = match file.api.admin_token.as_deref().map(str::trim) {
        None => None,
        Some(token) if token.len() >= 16 => Some(Secret(token.to_string())),
        Some(_) => {
            problems.push("api.admin_token must be at least 16 characters (e.g. `openssl rand -hex 24`)".to_string());
            None
        }
    };
    let scylla_uri = args.scylla.clone().unwrap_or(file.store.scylla_uri);
    let scylla = (!scylla_uri.trim().is_empty()).then(|| (scylla_uri.trim().to_string(), file.store.keyspace.clone()));
    if !problems.is_empty() {
        bail!(
            "the configuration has {} problem(s):\n  - {}",
            problems.len(),
            problems.join("\n  - ")
        );
    }
    Ok(Config {
        data_dir: args.data_dir.clone().unwrap_or(file.log.data_dir),
        kafka,
        http_addr,
        grpc_addr,
        write_auth,
        topics: TopicLayout {
            partitions: file.log.partitions,
            raw_retention,
            derived_retention,
        },
        segment_bytes: file.log.segment_bytes,
        maintenance_interval,
        ingest: IngestConfig {
            drop_labels: file.ingest.drop_labels.into_iter().collect::<BTreeSet<_>>(),
            max_series_per_metric: file.ingest.max_series_per_metric,
            max_future_ms: file.ingest.max_future_skew.as_millis() as i64,
        },
        scylla,
        store_retention,
        aggregates: AggregatesConfig {
            windows,
            grace_ms: grace.as_millis() as i64,
        },
        puller,
        analytics,
        sla: SlaConfig {
            no_data_after_ms: file.sla.no_data_after.as_millis() as i64,
            likely_threshold: file.sla.likely_threshold,
            ..SlaConfig::default()
        },
        sla_evaluate_every: file.sla.evaluate_every,
        admin_token,
        notifier,
        weather_poller,
        weather_matcher,
        jwt_secret,
        token_ttl: file.auth.token_ttl,
    })
}

/// The notifier's settings when `telegram.token` is set (from the file or the environment).
fn notifier_config(
    telegram: &TelegramSection,
    section: &NotifierSection,
    args: &ServerArgs,
    problems: &mut Vec<String>,
) -> Option<NotifierConfig> {
    let token = telegram.token.as_deref()?.trim();
    let token = match BotToken::new(token) {
        Ok(token) => token,
        Err(problem) => {
            problems.push(format!("telegram.token: {problem}"));
            return None;
        }
    };
    let mut config = NotifierConfig::new(token);
    let url = args.telegram_api_url.clone().unwrap_or(telegram.api_url.clone());
    config.api_url = (!url.trim().is_empty()).then(|| url.trim().to_string());
    config.limits.per_second = section.per_second;
    config.limits.chat_interval = section.chat_interval;
    config.limits.group_per_minute = section.group_per_minute;
    config.retry.give_up_after = section.give_up_after;
    problems.extend(config.problems().into_iter().map(|p| format!("notifier: {p}")));
    Some(config)
}

fn analytics_config(section: &AnalyticsSection, problems: &mut Vec<String>) -> AnalyzerConfig {
    let mut config = AnalyzerConfig::default();
    for (field, value) in [
        ("every", section.every),
        ("window", section.window),
        ("refit_every", section.refit_every),
        ("points_every", section.points_every),
        ("horizon", section.horizon),
    ] {
        if value.is_zero() {
            problems.push(format!("analytics.{field} must be longer than zero"));
        }
    }
    if section.max_points < 3 {
        problems.push(format!("analytics.max_points = {}: must be at least 3", section.max_points));
    }
    if !(section.lambda > 0.0 && section.lambda.is_finite()) {
        problems.push(format!(
            "analytics.lambda = {}: must be a positive number, e.g. 1600",
            section.lambda
        ));
    }
    if !(section.level > 0.0 && section.level < 1.0) {
        problems.push(format!("analytics.level = {}: must be between 0 and 1, e.g. 0.95", section.level));
    }
    if section.period == 1 {
        problems.push("analytics.period = 1: a season needs at least 2 points (0 detects it per series)".to_string());
    }
    config.every_ms = section.every.as_millis() as i64;
    config.window_ms = section.window.as_millis() as i64;
    config.refit_every_ms = section.refit_every.as_millis() as i64;
    config.points_every_ms = section.points_every.as_millis() as i64;
    config.max_points = section.max_points;
    if section.threads > 0 {
        config.threads = section.threads;
    }
    config.job.horizon_ms = section.horizon.as_millis() as i64;
    config.job.options.period = (section.period >= 2).then_some(section.period);
    config.job.options.lambda = section.lambda;
    config.job.options.level = section.level;
    config
}

/// `<host>-<8 hex of the data dir's absolute path>`: stable across restarts of the same
/// deployment, different for two processes on one host (they cannot share a data dir).
fn default_instance_id(data_dir: &std::path::Path) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "vane".into());
    let absolute = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let mut hash: u32 = 0x811c_9dc5;
    for byte in absolute.to_string_lossy().bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    let host: String = host.trim().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    format!("{host}-{hash:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ServerArgs {
        ServerArgs {
            data_dir: None,
            kafka: None,
            scylla: None,
            prometheus_url: None,
            telegram_api_url: None,
            weather_url: None,
            grpc_addr: None,
            http_addr: None,
            config: None,
        }
    }

    fn from(toml_text: &str, env: &[(&str, &str)]) -> anyhow::Result<Config> {
        let mut table = toml_text.parse::<toml::Table>()?;
        overlay_env(&mut table, env.iter().map(|(k, v)| (k.to_string(), v.to_string())))?;
        validate(toml::Value::Table(table).try_into()?, &args())
    }

    #[test]
    fn defaults_are_embedded_on_localhost() {
        let config = from("", &[]).unwrap();
        assert!(config.kafka.is_none());
        assert_eq!(config.http_addr.to_string(), "127.0.0.1:9464");
        assert_eq!(config.topics.raw_retention, Duration::from_secs(2 * 86_400));
        assert_eq!(config.data_dir, PathBuf::from("./vane-data"));
    }

    #[test]
    fn environment_overrides_the_file() {
        let config = from(
            "[log]\npartitions = 2\n",
            &[
                ("VANE__LOG__PARTITIONS", "8"),
                ("VANE__KAFKA__BROKERS", "k:9092"),
                ("VANE__HTTP__WRITE_TOKEN", "t0ken"),
            ],
        )
        .unwrap();
        assert_eq!(config.topics.partitions, 8);
        assert_eq!(config.kafka.unwrap().brokers, "k:9092");
        assert_eq!(format!("{:?}", config.write_auth), "Bearer(***)");
        let with_token = from("", &[("VANE__API__ADMIN_TOKEN", "0123456789abcdef0123")]).unwrap();
        assert_eq!(with_token.admin_token.as_ref().unwrap().expose(), "0123456789abcdef0123");
        assert!(!format!("{with_token:?}").contains("0123456789abcdef"));
        assert!(from("[api]\nadmin_token = \"short\"\n", &[]).is_err());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let error = from(
            "[log]\npartitions = 0\nraw_retention = \"forever\"\n[http]\naddr = \"localhost\"\nwrite_username = \"u\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("4 problem(s)"), "{error}");
        assert!(
            error.contains("log.partitions")
                && error.contains("raw_retention")
                && error.contains("http address")
                && error.contains("write_password"),
            "{error}"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = from("[log]\npartitons = 3\n", &[]).unwrap_err();
        assert!(format!("{error:#}").contains("unknown field `partitons`"), "{error:#}");
    }
}
