//! The configuration file's shape: one struct per `[section]`, every key with its default and a
//! doc comment (docs/configuration.md lists them for users). Unknown keys are errors. Validation
//! into the typed [`crate::config::Config`] happens in `config.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The file's shape; every key is documented in docs/configuration.md.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct FileConfig {
    pub(crate) log: LogSection,
    pub(crate) kafka: KafkaSection,
    pub(crate) http: HttpSection,
    pub(crate) ingest: IngestSection,
    pub(crate) store: StoreSection,
    pub(crate) aggregates: AggregatesSection,
    pub(crate) grpc: GrpcSection,
    pub(crate) prometheus: PrometheusSection,
    pub(crate) analytics: AnalyticsSection,
    pub(crate) sla: SlaSection,
    pub(crate) api: ApiSection,
    pub(crate) telegram: TelegramSection,
    pub(crate) notifier: NotifierSection,
    pub(crate) weather: WeatherSection,
    pub(crate) auth: AuthSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct WeatherSection {
    /// OpenWeatherMap base URL.
    pub(crate) url: String,
    /// OpenWeatherMap API key; none: no poller. Secret: file or environment only.
    pub(crate) api_key: Option<String>,
    /// Each subscribed city is polled once per interval (the provider updates every 10 minutes).
    #[serde(with = "vane_core::time::serde_duration")]
    pub(crate) poll_interval: Duration,
    /// How often the matcher releases messages held by quiet hours or cooldowns.
    #[serde(with = "vane_core::time::serde_duration")]
    pub(crate) evaluate_every: Duration,
}

impl Default for WeatherSection {
    fn default() -> Self {
        WeatherSection {
            url: "https://api.openweathermap.org".into(),
            api_key: None,
            poll_interval: Duration::from_secs(600),
            evaluate_every: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AuthSection {
    /// Key that signs users' tokens (HS256); none: user calls are refused. Secret.
    pub(crate) jwt_secret: Option<String>,
    /// How long a login token is valid.
    #[serde(with = "vane_core::time::serde_duration")]
    pub(crate) token_ttl: Duration,
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            jwt_secret: None,
            token_ttl: Duration::from_secs(86_400),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TelegramSection {
    /// The bot's token from @BotFather; none: no notifier. Secret: file or environment only.
    pub(crate) token: Option<String>,
    /// Bot API base URL; empty: https://api.telegram.org.
    pub(crate) api_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct NotifierSection {
    /// Messages per second over all chats (Telegram: about 30).
    pub(crate) per_second: u32,
    /// Least time between two messages to one chat (Telegram: about 1 s).
    #[serde(with = "vane_core::time::serde_duration")]
    pub(crate) chat_interval: Duration,
    /// Messages per minute to one group chat (Telegram: 20).
    pub(crate) group_per_minute: u32,
    /// A notification that keeps failing transiently is given up (a `failed` delivery) after this.
    #[serde(with = "vane_core::time::serde_duration")]
    pub(crate) give_up_after: Duration,
}

impl Default for NotifierSection {
    fn default() -> Self {
        NotifierSection {
            per_second: 30,
            chat_interval: Duration::from_secs(1),
            group_per_minute: 20,
            give_up_after: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SlaSection {
    /// A series with no sample for this long (wall clock) is `no data` under its SLAs.
    #[serde(with = "vane_core::time::serde_duration")]
    pub(crate) no_data_after: Duration,
    /// A forecast probability of leaving the range at or above this is `violation likely`.
    pub(crate) likely_threshold: f64,
    /// How often the SLA worker checks for silent series.
    #[serde(with = "vane_core::time::serde_duration")]
    pub(crate) evaluate_every: Duration,
}

impl Default for SlaSection {
    fn default() -> Self {
        SlaSection {
            no_data_after: Duration::from_secs(300),
            likely_threshold: 0.5,
            evaluate_every: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ApiSection {
    /// Token that SLA changes must carry (`authorization: Bearer ...`); none: changes are
    /// refused. Secret: file or environment only.
    pub(crate) admin_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AnalyticsSection {
    /// How often each series is analysed.
    #[serde(with = "vane_core::time::serde_duration")]
    pub(crate) every: Duration,
    /// The rolling window analysed.
    #[serde(with = "vane_core::time::serde_duration")]
    pub(crate) window: Duration,
    /// How often forecast models are refitted (refiltered over the new points in between).
    #[serde(with = "vane_core::time::serde_duration")]
    pub(crate) refit_every: Duration,
    /// How often an analysis also ships its per-point parts (window, HP trend/cycle,
    /// decomposition) to the read models.
    #[serde(with = "vane_core::time::serde_duration")]
    pub(crate) points_every: Duration,
    /// Forecast horizon, turned into points from each series' sample interval.
    #[serde(with = "vane_core::time::serde_duration")]
    pub(crate) horizon: Duration,
    /// Analysis threads; 0: one less than the cores (at least one).
    pub(crate) threads: usize,
    /// Most recent points analysed when a window holds more.
    pub(crate) max_points: usize,
    /// Seasonal period in points for the decomposition and forecasts; 0: detected per series.
    pub(crate) period: usize,
    /// Hodrick-Prescott lambda.
    pub(crate) lambda: f64,
    /// Prediction interval coverage.
    pub(crate) level: f64,
}

impl Default for AnalyticsSection {
    fn default() -> Self {
        AnalyticsSection {
            every: Duration::from_secs(60),
            window: Duration::from_secs(12 * 3600),
            refit_every: Duration::from_secs(600),
            points_every: Duration::from_secs(600),
            horizon: Duration::from_secs(600),
            threads: 0,
            max_points: 8_640,
            period: 0,
            lambda: 1600.0,
            level: 0.95,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct PrometheusSection {
    /// Base URL of the Prometheus to pull from; empty: no puller.
    pub(crate) url: String,
    /// Series selectors to pull.
    pub(crate) selectors: Vec<String>,
    /// How often to pull.
    #[serde(with = "vane_core::time::serde_duration")]
    pub(crate) interval: Duration,
    /// How far back the first pull reaches.
    #[serde(with = "vane_core::time::serde_duration")]
    pub(crate) backfill: Duration,
}

impl Default for PrometheusSection {
    fn default() -> Self {
        PrometheusSection {
            url: String::new(),
            selectors: vane_prometheus::PullerConfig::default_selectors(),
            interval: Duration::from_secs(60),
            backfill: Duration::from_secs(12 * 3600),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct GrpcSection {
    /// Listen address of the gRPC API.
    pub(crate) addr: String,
}

impl Default for GrpcSection {
    fn default() -> Self {
        GrpcSection {
            addr: "127.0.0.1:50051".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct StoreSection {
    /// ScyllaDB contact points; empty means the embedded SQLite store in the data dir.
    pub(crate) scylla_uri: String,
    /// ScyllaDB keyspace.
    pub(crate) keyspace: String,
    /// Read-model rows not updated for this long are deleted.
    pub(crate) retention: String,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            scylla_uri: String::new(),
            keyspace: "vane".into(),
            retention: "30d".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AggregatesSection {
    /// Sliding windows, e.g. ["1h", "3h", "12h"].
    pub(crate) windows: Vec<String>,
    /// How much older than its series' newest sample a sample may arrive and still count.
    pub(crate) grace: String,
}

impl Default for AggregatesSection {
    fn default() -> Self {
        AggregatesSection {
            windows: vec!["1h".into(), "3h".into(), "12h".into()],
            grace: "5m".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct LogSection {
    /// Directory of the embedded log (and later the embedded store).
    pub(crate) data_dir: PathBuf,
    /// Partitions of topics vane creates.
    pub(crate) partitions: u32,
    /// Retention of raw topics (ingest, samples).
    pub(crate) raw_retention: String,
    /// Retention of derived topics (dead letters, ...).
    pub(crate) derived_retention: String,
    /// Embedded segment file size before a new one starts.
    pub(crate) segment_bytes: u64,
    /// How often the embedded log applies retention and compaction.
    pub(crate) maintenance_interval: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            data_dir: PathBuf::from("./vane-data"),
            partitions: 4,
            raw_retention: "2d".into(),
            derived_retention: "30d".into(),
            segment_bytes: 128 * 1024 * 1024,
            maintenance_interval: "1m".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct KafkaSection {
    /// Bootstrap servers; empty means the embedded log.
    pub(crate) brokers: String,
    /// Replication factor of the topics vane creates.
    pub(crate) replication_factor: i32,
    /// Extra librdkafka client properties.
    pub(crate) properties: BTreeMap<String, String>,
    /// Stable identity of this process for static group membership; default: derived from the
    /// host name and the data dir (unique per host, since the data dir is locked).
    pub(crate) instance_id: Option<String>,
}

impl Default for KafkaSection {
    fn default() -> Self {
        KafkaSection {
            brokers: String::new(),
            replication_factor: 1,
            properties: BTreeMap::new(),
            instance_id: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct HttpSection {
    pub(crate) addr: String,
    /// Bearer token required on /api/v1/write (secret: file or environment only).
    pub(crate) write_token: Option<String>,
    /// Basic-auth user and password required on /api/v1/write (password is a secret).
    pub(crate) write_username: Option<String>,
    pub(crate) write_password: Option<String>,
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            addr: "127.0.0.1:9464".into(),
            write_token: None,
            write_username: None,
            write_password: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct IngestSection {
    pub(crate) drop_labels: Vec<String>,
    pub(crate) max_series_per_metric: usize,
    /// Samples stamped further ahead of the receiving clock go to the dead-letter topic.
    #[serde(with = "vane_core::time::serde_duration")]
    pub(crate) max_future_skew: Duration,
}

impl Default for IngestSection {
    fn default() -> Self {
        IngestSection {
            drop_labels: Vec::new(),
            max_series_per_metric: 10_000,
            max_future_skew: Duration::from_secs(600),
        }
    }
}
