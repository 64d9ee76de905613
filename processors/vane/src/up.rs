//! Starting roles: the log backend, the HTTP server, the stream processors, the embedded log's
//! maintenance, and a graceful stop on SIGINT/SIGTERM (in-flight batches finish, offsets are
//! committed, Kafka's producer is flushed).

use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::watch;
use tokio::task::JoinSet;
use vane_aggregates::AggregatesProcessor;
use vane_analyzer::AnalyzerProcessor;
use vane_http::{Health, HttpState};
use vane_ingest::{IngestProcessor, Normaliser};
use vane_sla::SlaProcessor;
use vane_store::Store;
use vane_stream::embedded::{EmbeddedConfig, EmbeddedLog};
use vane_stream::kafka::KafkaLog;
use vane_stream::metrics::Metrics;
use vane_stream::runner::{self, Clock, Processor, RunnerConfig, SystemClock};
use vane_stream::{Log, topics};
use vane_weather_worker::WeatherIngestProcessor;

use crate::cli::Role;
use crate::config::Config;

/// Which roles this process runs.
#[derive(Debug, Clone, Copy)]
pub enum Roles {
    All,
    One(Role),
}

impl Roles {
    pub fn includes(self, role: Role) -> bool {
        match self {
            Roles::All => true,
            Roles::One(one) => one == role,
        }
    }
}

pub fn run(config: Config, roles: Roles) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config, roles))
}

/// Opens the read-model store of the configuration and brings its schema up to date.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = match &config.scylla {
        Some((uri, keyspace)) => Store::connect_scylla(uri, keyspace)
            .await
            .with_context(|| format!("cannot connect to ScyllaDB at {uri}"))?,
        None => {
            let dir = config.data_dir.clone();
            tokio::task::spawn_blocking(move || Store::open_embedded(dir))
                .await
                .context("store open panicked")?
                .with_context(|| format!("cannot open the embedded store in {}", config.data_dir.display()))?
        }
    };
    store.migrate().await.context("cannot create or upgrade the read-model schema")?;
    Ok(store)
}

/// Opens the log of the configuration and creates vane's topics when missing.
pub async fn open_log(config: &Config) -> anyhow::Result<Log> {
    let log = match &config.kafka {
        Some(kafka) => {
            Log::Kafka(KafkaLog::connect(kafka.clone()).with_context(|| format!("cannot create a Kafka client for {}", kafka.brokers))?)
        }
        None => {
            let mut embedded = EmbeddedConfig::new(&config.data_dir);
            embedded.segment_bytes = config.segment_bytes;
            let log = tokio::task::spawn_blocking(move || EmbeddedLog::open(embedded))
                .await
                .context("log recovery panicked")?;
            Log::Embedded(log.with_context(|| format!("cannot open the embedded log in {}", config.data_dir.display()))?)
        }
    };
    log.ensure_topics(&config.topics.specs())
        .await
        .context("cannot create vane's topics (is the broker reachable?)")?;
    Ok(log)
}

/// Holds the data dir's lock in Kafka mode too: it may hold the embedded store, and the default
/// Kafka instance id is derived from it, so two processes must not share it.
fn lock_data_dir(config: &Config) -> anyhow::Result<Option<std::fs::File>> {
    if config.kafka.is_none() {
        return Ok(None); // the embedded log takes the same lock itself
    }
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let path = config.data_dir.join("LOCK");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    if file.try_lock().is_err() {
        anyhow::bail!(
            "data dir {} is locked by another vane process; stop it or pick another --data-dir",
            config.data_dir.display()
        );
    }
    Ok(Some(file))
}

async fn serve(config: Config, roles: Roles) -> anyhow::Result<()> {
    let _lock = lock_data_dir(&config)?;
    let log = open_log(&config).await?;
    let metrics = Metrics::new();
    let health = Health::default();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (stop, stopping) = watch::channel(false);
    let mut tasks = JoinSet::new();

    let listener = tokio::net::TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("cannot listen on {} (--http-addr)", config.http_addr))?;
    let http_addr = listener.local_addr().context("no local address")?;
    let state = Arc::new(HttpState::new(
        log.clone(),
        Normaliser::new(config.ingest.clone())?,
        metrics.clone(),
        health.clone(),
        config.write_auth.clone(),
        Arc::clone(&clock),
        roles.includes(Role::Ingest),
    ));
    // The store is opened before the HTTP server starts: the API role's SLA endpoints live on
    // the HTTP address too.
    let needs_store = roles.includes(Role::Projector) || roles.includes(Role::Api) || roles.includes(Role::Bot);
    let store = if needs_store { Some(open_store(&config).await?) } else { None };
    let sla_api = match (&store, roles.includes(Role::Api)) {
        (Some(store), true) => {
            let token = config.admin_token.as_ref().map(|t| t.expose().to_string());
            Some(vane_api::SlaApi::new(store.clone(), log.clone(), token, Arc::clone(&clock)).context("cannot start the SLA API")?)
        }
        _ => None,
    };
    let mut router = vane_http::router(state);
    if let Some(api) = &sla_api {
        router = router.merge(vane_api::sla_http_router(api.clone()));
    }
    let mut http_stop = stopping.clone();
    tasks.spawn(async move {
        let shutdown = async move {
            let _ = http_stop.wait_for(|stop| *stop).await;
        };
        if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
            tracing::error!(%error, "http server failed");
        }
    });

    let shared = Shared {
        log: log.clone(),
        metrics: metrics.clone(),
        health: health.clone(),
        clock: Arc::clone(&clock),
        stopping: stopping.clone(),
    };
    if roles.includes(Role::Ingest) {
        let processor = IngestProcessor::new(Normaliser::new(config.ingest.clone())?);
        let runner_config = RunnerConfig::new("ingest", "vane-ingest", &[topics::METRICS_INGEST]);
        spawn_processor(&mut tasks, &shared, runner_config, processor);
        let weather = WeatherIngestProcessor::new().context("weather schemas")?;
        let runner_config = vane_weather_worker::ingest::runner_config(vane_weather_worker::ingest::GROUP);
        spawn_processor(&mut tasks, &shared, runner_config, weather);
    }
    if roles.includes(Role::Weather) {
        spawn_weather(&mut tasks, &shared, &config, roles)?;
    }

    match (&config.puller, roles) {
        (Some(puller), Roles::All | Roles::One(Role::Puller)) => {
            let normaliser = Normaliser::new(config.ingest.clone())?;
            let (log, metrics, health, clock, stopping, puller) = (
                log.clone(),
                metrics.clone(),
                health.clone(),
                Arc::clone(&clock),
                stopping.clone(),
                puller.clone(),
            );
            tasks.spawn(async move {
                if let Err(error) = vane_prometheus::run(log, normaliser, puller, clock.as_ref(), &metrics, stopping).await {
                    tracing::error!(%error, role = "puller", "role stopped");
                    health.fail("puller", &error.to_string());
                }
            });
        }
        (None, Roles::One(Role::Puller)) => {
            anyhow::bail!("the puller needs a Prometheus: pass --prometheus-url http://host:9090 (or set prometheus.url)")
        }
        _ => {}
    }

    if roles.includes(Role::Aggregates) {
        let processor = AggregatesProcessor::new(config.aggregates.clone()).context("aggregates schema")?;
        let mut runner_config = RunnerConfig::new("aggregates", "vane-aggregates", &[topics::METRICS_SAMPLES]);
        runner_config.punctuate_every = Some(std::time::Duration::from_secs(60));
        // Large batches let one event per series carry many samples (see docs/benchmarks.md).
        runner_config.batch_size = 100_000;
        spawn_processor(&mut tasks, &shared, runner_config, processor);
    }

    // The SLA definitions, a global table both the analytics and the SLA workers need.
    let sla_table = if roles.includes(Role::Analytics) || roles.includes(Role::Sla) {
        let (table, _follower) = vane_sla::follow::follow_definitions(&log, stopping.clone())
            .await
            .context("cannot load the SLA definitions")?;
        Some(table)
    } else {
        None
    };

    if roles.includes(Role::Analytics) {
        let mut processor = AnalyzerProcessor::new(config.analytics.clone()).context("cannot start the analysis threads")?;
        if let Some(table) = &sla_table {
            processor = processor.with_sla_table(table.clone());
        }
        let mut runner_config = RunnerConfig::new("analytics", "vane-analytics", &[topics::METRICS_SAMPLES]);
        // Finished analyses are collected and due ones queued on every punctuation.
        runner_config.punctuate_every = Some(std::time::Duration::from_millis(500));
        runner_config.batch_size = 100_000;
        spawn_processor(&mut tasks, &shared, runner_config, processor);
    }

    if let (Some(table), true) = (&sla_table, roles.includes(Role::Sla)) {
        let mut processor = SlaProcessor::new(config.sla.clone(), table.clone()).context("SLA schemas")?;
        let mut bad = 0u64;
        vane_stream::global::read_to_end(&log, topics::SLA_STATE, |record| {
            if let Err(error) = processor.restore(record) {
                bad += 1;
                tracing::warn!(%error, offset = record.offset, "undecodable SLA state skipped");
            }
        })
        .await
        .context("cannot restore the SLA worker's state")?;
        tracing::info!(pairs = processor.watched_count(), skipped = bad, "SLA worker state restored");
        let mut runner_config = RunnerConfig::new("sla", "vane-sla", &[topics::METRICS_SAMPLES, topics::METRICS_ANALYTICS]);
        runner_config.punctuate_every = Some(config.sla_evaluate_every);
        spawn_processor(&mut tasks, &shared, runner_config, processor);
    }

    let users_api = match (&store, roles.includes(Role::Api) || roles.includes(Role::Bot)) {
        (Some(store), true) => {
            let jwt = config.jwt_secret.as_ref().map(|s| s.expose().to_string());
            let ttl_ms = config.token_ttl.as_millis() as i64;
            Some(
                vane_api::UsersApi::new(store.clone(), log.clone(), jwt, ttl_ms, Arc::clone(&clock))
                    .context("cannot start the users API")?,
            )
        }
        _ => None,
    };
    let context = crate::telegram::TelegramContext {
        log: &log,
        metrics: &metrics,
        health: &health,
        clock: &clock,
        stopping: &stopping,
    };
    crate::telegram::spawn(&mut tasks, &context, &config, roles, users_api.as_ref())?;

    if let (Some(store), true) = (&store, roles.includes(Role::Api)) {
        let listener = tokio::net::TcpListener::bind(config.grpc_addr)
            .await
            .with_context(|| format!("cannot listen on {} (--grpc-addr)", config.grpc_addr))?;
        let grpc_addr = listener.local_addr().context("no local address")?;
        let (store, health, mut stopping) = (store.clone(), health.clone(), stopping.clone());
        let mut options = vane_api::ApiOptions::default();
        if let Some(api) = &sla_api {
            options = options.with_sla(api.clone());
        }
        if let Some(users) = &users_api {
            options = options.with_users(users.clone());
        }
        tasks.spawn(async move {
            let shutdown = async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            };
            if let Err(error) = vane_api::serve_with(store, listener, options, shutdown).await {
                tracing::error!(%error, role = "api", "role stopped");
                health.fail("api", &error.to_string());
            }
        });
        println!("vane: grpc listening on {grpc_addr}");
    }
    if let (Some(store), true) = (&store, roles.includes(Role::Projector)) {
        {
            let (log, store, metrics, health, clock, stopping) = (
                log.clone(),
                store.clone(),
                metrics.clone(),
                health.clone(),
                Arc::clone(&clock),
                stopping.clone(),
            );
            tasks.spawn(async move {
                if let Err(error) = vane_projector::run(log, store, clock.as_ref(), &metrics, stopping).await {
                    tracing::error!(%error, role = "projector", "role stopped");
                    health.fail("projector", &error.to_string());
                }
            });
        }
        let (store, clock, retention, mut stopping) = (store.clone(), Arc::clone(&clock), config.store_retention, stopping.clone());
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
                    _ = stopping.wait_for(|stop| *stop) => return,
                }
                let cutoff = clock.now_ms() - retention.as_millis() as i64;
                if let Err(error) = store.delete_older_than(cutoff).await {
                    tracing::warn!(%error, "read-model retention failed; retrying next hour");
                }
            }
        });
    }

    if let Log::Embedded(embedded) = &log {
        let (embedded, clock, every, mut stopping) = (embedded.clone(), Arc::clone(&clock), config.maintenance_interval, stopping.clone());
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stopping.wait_for(|stop| *stop) => return,
                }
                let (log, now) = (embedded.clone(), clock.now_ms());
                match tokio::task::spawn_blocking(move || log.maintain(now)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::warn!(%error, "log maintenance failed; retrying next interval"),
                    Err(error) => tracing::warn!(%error, "log maintenance panicked"),
                }
            }
        });
    }

    // Printed once every role is started: scripts and tests read this line to know that vane is
    // ready and, when --http-addr ends in :0, which port it got.
    println!("vane: http listening on {http_addr} (log: {})", log.backend());
    wait_for_signal().await;
    tracing::info!("stopping: finishing in-flight batches");
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    log.close();
    Ok(())
}

/// The weather role: the matcher always, the poller when an OpenWeatherMap key is configured.
fn spawn_weather(tasks: &mut JoinSet<()>, shared: &Shared, config: &Config, roles: Roles) -> anyhow::Result<()> {
    let (log, metrics, health, clock, stopping) = (
        shared.log.clone(),
        shared.metrics.clone(),
        shared.health.clone(),
        Arc::clone(&shared.clock),
        shared.stopping.clone(),
    );
    let matcher = config.weather_matcher.clone();
    tasks.spawn(async move {
        if let Err(error) = vane_weather_worker::run_matcher(log, matcher, clock.as_ref(), &metrics, stopping).await {
            tracing::error!(%error, role = "weather", "weather matcher stopped");
            health.fail("weather", &error.to_string());
        }
    });
    match (&config.weather_poller, roles) {
        (Some(poller), _) => {
            let (log, metrics, health, clock, stopping, poller) = (
                shared.log.clone(),
                shared.metrics.clone(),
                shared.health.clone(),
                Arc::clone(&shared.clock),
                shared.stopping.clone(),
                poller.clone(),
            );
            tasks.spawn(async move {
                if let Err(error) = vane_weather_worker::run_poller(log, poller, clock.as_ref(), &metrics, stopping).await {
                    tracing::error!(%error, role = "weather", "weather poller stopped");
                    health.fail("weather", &error.to_string());
                }
            });
        }
        (None, Roles::One(Role::Weather)) => {
            tracing::warn!("no weather.api_key: the poller is off; observations come only from vane.weather.ingest")
        }
        (None, _) => tracing::info!("no weather.api_key: the weather poller is off"),
    }
    Ok(())
}

/// What every stream-processor role shares.
struct Shared {
    log: Log,
    metrics: Metrics,
    health: Health,
    clock: Arc<dyn Clock>,
    stopping: watch::Receiver<bool>,
}

/// Runs `processor` under the consume → process → produce → commit loop; a failure marks the
/// role unhealthy.
fn spawn_processor<P: Processor + 'static>(tasks: &mut JoinSet<()>, shared: &Shared, config: RunnerConfig, processor: P) {
    let (log, metrics, health, clock, stopping) = (
        shared.log.clone(),
        shared.metrics.clone(),
        shared.health.clone(),
        Arc::clone(&shared.clock),
        shared.stopping.clone(),
    );
    tasks.spawn(async move {
        let role = config.role;
        if let Err(error) = runner::run(log, config, processor, clock.as_ref(), &metrics, stopping).await {
            tracing::error!(%error, role, "role stopped");
            health.fail(role, &error.to_string());
        }
    });
}

async fn wait_for_signal() {
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops vane");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

/// `vane replay`: wipes the read models and rebuilds them from the log.
pub fn replay(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let log = open_log(&config).await?;
        let store = open_store(&config).await?;
        let report = vane_projector::replay(&log, &store).await.context("replay failed")?;
        println!(
            "replayed {} events into {} read-model rows ({} undecodable, skipped)",
            report.events, report.rows, report.rejected
        );
        log.close();
        Ok(())
    })
}

/// `vane migrate`: creates or upgrades the read-model schema.
pub fn migrate(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = open_store(&config).await?;
        println!("read-model schema of the {} store is up to date", store.backend());
        Ok(())
    })
}
