//! The fixture: an embedded store in a temporary directory with known rows, and the real server on
//! 127.0.0.1:0 over it.
//!
//! Analyses: every `node_load1` series was analysed at each of [`ANALYSIS_TIMES`]; the latest
//! carries [`POINTS`] points. Which parts are absent depends on the series' number (see
//! [`Absent`]), the same in every analysis.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, dead_code)]

pub mod sla;

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use vane_api::ApiError;
use vane_api::pb::metrics_query_client::MetricsQueryClient;
use vane_core::Labels;
use vane_store::{
    AggregateRow, AnalysisDetail, AnalysisPoint, AnalysisRow, Autocorrelation, Forecast, ForecastStep, SeriesRow, Stationarity, Store,
};

/// Series of `node_load1`; even ones have `job="node"`, odd ones `job="other"`; every third one
/// has an `env` label.
pub const LOAD_SERIES: usize = 25;
/// Series of `up`.
pub const UP_SERIES: usize = 3;
/// Series of `many`: more than the server reads from the store in one page.
pub const MANY_SERIES: usize = 2_500;
/// Aggregate windows written for every `node_load1` series.
pub const WINDOWS: [&str; 2] = ["1h", "3h"];

/// When each `node_load1` series was analysed (Unix ms); the last is the latest.
pub const ANALYSIS_TIMES: [i64; 3] = [10_000, 20_000, 30_000];
/// Points of the latest analysis, at 1 s, 2 s, ... 12 s.
pub const POINTS: i64 = 12;
/// Forecast steps, after the last point.
pub const FORECAST_STEPS: i64 = 3;

/// Which parts of series `i`'s analyses are absent, and the reason recorded (None: no reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absent {
    Nothing,
    /// i % 5 == 1: no ADF test ("too few points for adf").
    Stationarity,
    /// i % 5 == 2: no decomposition ("no seasonal period") and no forecast ("did not converge").
    DecompositionAndForecast,
    /// i % 5 == 3: no HP filter (no reason recorded) and no pacf ("singular matrix").
    TrendCycleAndPacf,
    /// i % 5 == 4: no autocorrelations ("constant series").
    Autocorrelation,
}

pub fn absent(i: usize) -> Absent {
    match i % 5 {
        1 => Absent::Stationarity,
        2 => Absent::DecompositionAndForecast,
        3 => Absent::TrendCycleAndPacf,
        4 => Absent::Autocorrelation,
        _ => Absent::Nothing,
    }
}

/// The ADF statistic of series `i` analysed at `at`: tells rows apart.
pub fn statistic(i: usize, at: i64) -> f64 {
    -(i as f64) - at as f64 / 100_000.0
}

pub fn analysis(i: usize, at: i64, with_points: bool) -> AnalysisRow {
    let absent = absent(i);
    let mut detail = AnalysisDetail::default();
    if absent == Absent::Stationarity {
        detail.missing.insert("adf".into(), "too few points for adf".into());
    } else {
        detail.stationarity = Some(Stationarity {
            statistic: statistic(i, at),
            pvalue: 0.01,
            used_lag: 2,
            nobs: 9,
            critical_1pct: -4.3,
            critical_5pct: -3.2,
            critical_10pct: -2.7,
            stationary: i.is_multiple_of(2),
            regression: "c".into(),
            autolag: "aic".into(),
        });
    }
    if absent == Absent::DecompositionAndForecast {
        detail.missing.insert("decomposition".into(), "no seasonal period".into());
        detail.missing.insert("forecast".into(), "did not converge".into());
    } else {
        detail.period = Some(4);
        detail.decomposition_model = Some("additive".into());
        detail.forecast = Some(Forecast {
            model: "arima(1,0,0)".into(),
            level: 0.95,
            fitted_at_ms: at - 5_000,
            steps: (1..=FORECAST_STEPS)
                .map(|k| ForecastStep {
                    time_ms: (POINTS + k) * 1_000,
                    mean: i as f64,
                    lower: i as f64 - 1.0,
                    upper: i as f64 + 1.0,
                })
                .collect(),
        });
    }
    if absent == Absent::TrendCycleAndPacf {
        detail.missing.insert("pacf".into(), "singular matrix".into());
    } else {
        detail.hp_lambda = Some(1600.0);
    }
    if absent == Absent::Autocorrelation {
        detail.missing.insert("acf".into(), "constant series".into());
    } else {
        detail.autocorrelation = Some(Autocorrelation {
            acf: vec![1.0, 0.5, 0.25],
            confint_lower: vec![1.0, 0.1, -0.2],
            confint_upper: vec![1.0, 0.9, 0.7],
            pacf: if absent == Absent::TrendCycleAndPacf {
                vec![]
            } else {
                vec![1.0, 0.5, 0.0]
            },
        });
    }
    let hp = detail.hp_lambda.is_some();
    let decomposed = detail.period.is_some();
    let points = (1..=POINTS)
        .map(|k| {
            let inner = (3..=POINTS - 2).contains(&k);
            AnalysisPoint {
                time_ms: k * 1_000,
                value: k as f64 + i as f64,
                hp_trend: hp.then_some(k as f64 + i as f64 - 0.5),
                hp_cycle: hp.then_some(0.5),
                trend: (decomposed && inner).then_some(k as f64),
                seasonal: decomposed.then_some(0.25),
                resid: (decomposed && inner).then_some(i as f64 - 0.25),
            }
        })
        .collect();
    AnalysisRow {
        series_id: format!("{i:016x}"),
        metric: "node_load1".into(),
        labels: load_labels(i),
        analyzed_at_ms: at,
        window_start_ms: 1_000,
        window_end_ms: POINTS * 1_000,
        points_count: u64::try_from(POINTS).unwrap(),
        compute_ms: 1.5,
        detail,
        points: if with_points { points } else { Vec::new() },
    }
}

pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ApiError>>>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub async fn client(&self) -> MetricsQueryClient<tonic::transport::Channel> {
        MetricsQueryClient::connect(self.url()).await.unwrap()
    }

    /// Stops the server and checks that it shut down cleanly.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

pub fn load_labels(i: usize) -> Labels {
    let mut labels = Labels::new();
    labels.insert("instance".into(), format!("host-{i}"));
    labels.insert("job".into(), if i.is_multiple_of(2) { "node" } else { "other" }.into());
    if i.is_multiple_of(3) {
        labels.insert("env".into(), "prod".into());
    }
    labels
}

fn series(id: usize, metric: &str, labels: Labels) -> SeriesRow {
    SeriesRow {
        series_id: format!("{id:016x}"),
        metric: metric.into(),
        labels,
        first_seen_ms: 1_000,
        last_seen_ms: 2_000 + i64::try_from(id).unwrap(),
    }
}

fn aggregate(id: usize, labels: Labels, window: &str) -> AggregateRow {
    let count = u64::try_from(id % 4 + 1).unwrap();
    AggregateRow {
        series_id: format!("{id:016x}"),
        metric: "node_load1".into(),
        labels,
        window: window.into(),
        max: id as f64 + 1.0,
        min: id as f64,
        mean: id as f64 + 0.5,
        std: (count > 1).then_some(0.25),
        count,
        first_ms: 1_000,
        last_ms: 2_000,
        as_of_ms: 2_000 + i64::try_from(id).unwrap(),
    }
}

/// Starts the real server over a freshly filled embedded store.
pub async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_embedded(dir.path()).unwrap();
    store.migrate().await.unwrap();
    let mut catalog = Vec::new();
    let mut aggregates = Vec::new();
    for i in 0..LOAD_SERIES {
        catalog.push(series(i, "node_load1", load_labels(i)));
        for window in WINDOWS {
            aggregates.push(aggregate(i, load_labels(i), window));
        }
    }
    for i in 0..UP_SERIES {
        catalog.push(series(1_000 + i, "up", load_labels(i)));
    }
    for i in 0..MANY_SERIES {
        catalog.push(series(10_000 + i, "many", load_labels(i)));
    }
    store.upsert_series(&catalog).await.unwrap();
    store.upsert_aggregates(&aggregates).await.unwrap();
    let mut analyses = Vec::new();
    for i in 0..LOAD_SERIES {
        for at in ANALYSIS_TIMES {
            analyses.push(analysis(i, at, true));
        }
    }
    store.upsert_analyses(&analyses).await.unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(vane_api::serve(store, listener, async move {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
        task: Some(task),
        _dir: dir,
    }
}
