//! The analytics worker: a [`Processor`] on `vane.metrics.samples` that keeps every series'
//! rolling window (default 12 h) and, on a schedule (default every minute per series, spread
//! over the minute by series id), runs the analytics core's whole analysis of it on a thread
//! pool, off the async reactor. Each analysis is one `SeriesAnalysis` event on
//! `vane.metrics.analytics`, with its compute time.
//!
//! The forecast model is refitted on a slower cadence (default every 10 minutes); the analyses
//! in between refilter it over the new window, which keeps the served forecast current for the
//! cost of one pass. Its state is rebuilt from the log: the runner commits only up to the oldest
//! sample any window still holds. The same (series, timestamp) twice is one sample, so the
//! remote-write receiver and the Prometheus puller may feed the same series.

mod job;
mod pool;

use std::collections::{HashMap, VecDeque};

use vane_analytics::AnalyzeOptions;
use vane_core::sample::{Sample, SeriesIdentity};
use vane_core::{Labels, SeriesId};
use vane_events::{Codec, Envelope, MetricSampleEvent, SeriesAnalysisEvent};
use vane_sla::SharedSlaTable;
use vane_stream::rebuild::RebuildOffsets;
use vane_stream::runner::{Processor, Rejected};
use vane_stream::{OutRecord, Record, topics};

pub use job::{CachedModel, Done, Job, JobSettings, KeptCalibration, RangeCheck, median_step_ms, run as run_job};

/// The series of vane's own analysis compute time (seconds per analysis; `stat` is `mean` or
/// `max` over the analyses finished in the last schedule period).
pub const COMPUTE_TIME_METRIC: &str = "vane_analysis_duration_seconds";
use pool::Pool;

/// Settings of the analytics worker.
#[derive(Debug, Clone)]
pub struct AnalyzerConfig {
    /// How often each series is analysed.
    pub every_ms: i64,
    /// The rolling window analysed, back from the series' newest sample.
    pub window_ms: i64,
    /// How often the forecast model's parameters are estimated again (on average: each refit
    /// interval is jittered by ±25 % per series so that refits do not come in waves).
    pub refit_every_ms: i64,
    /// How often an analysis ships the per-point parts (window, HP, decomposition): they are
    /// ~150 KB for 2,880 points, the rest of an analysis ~2 KB.
    pub points_every_ms: i64,
    /// Analysis threads.
    pub threads: usize,
    /// Most recent points analysed when a window holds more.
    pub max_points: usize,
    /// Analysis settings (period, lambda, level, ADF options, forecast horizon).
    pub job: JobSettings,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        AnalyzerConfig {
            every_ms: 60_000,
            window_ms: 12 * 3_600_000,
            refit_every_ms: 600_000,
            points_every_ms: 600_000,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1)),
            max_points: 8_640,
            job: JobSettings {
                options: AnalyzeOptions {
                    stl: false,
                    ..AnalyzeOptions::default()
                },
                horizon_ms: 600_000,
                max_horizon: 120,
                interval_paths: 1000,
                violation_paths: 2000,
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Point {
    time_ms: i64,
    value: f64,
    offset: u64,
}

struct SeriesState {
    name: String,
    labels: Labels,
    partition: u32,
    points: VecDeque<Point>,
    /// Smallest log offset among `points` (what a restart must re-read from).
    oldest_offset: Option<u64>,
    /// `points` are in offset order as well as time order (no out-of-order insert is held), so
    /// the front holds the smallest offset.
    offsets_ordered: bool,
    /// Wall-clock time of the last sample, for forgetting silent series.
    touched_ms: i64,
    /// New points since the last analysis was queued.
    dirty: bool,
    in_flight: bool,
    due_ms: i64,
    cached: Option<CachedModel>,
    /// When the per-point parts were last shipped.
    points_shipped_ms: Option<i64>,
    /// The SLA ranges on the series, as of the SLA table's version.
    ranges: Vec<RangeCheck>,
    ranges_version: Option<u64>,
}

/// Counts since start, for logs and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnalyzerStats {
    pub analyses: u64,
    pub refits: u64,
    pub in_flight: u64,
}

pub struct AnalyzerProcessor {
    config: AnalyzerConfig,
    samples: Codec<MetricSampleEvent>,
    analyses: Codec<SeriesAnalysisEvent>,
    series: HashMap<SeriesId, SeriesState>,
    offsets: RebuildOffsets,
    pool: Pool,
    stats: AnalyzerStats,
    sla_table: Option<SharedSlaTable>,
    /// Compute times (ms) of the analyses finished since the last compute-time samples.
    compute_ms: Vec<f64>,
    compute_reported_ms: Option<i64>,
}

impl AnalyzerProcessor {
    pub fn new(config: AnalyzerConfig) -> Result<Self, std::io::Error> {
        let codec_error = |e: vane_events::EventsError| std::io::Error::other(e.to_string());
        Ok(AnalyzerProcessor {
            pool: Pool::new(config.threads, config.job.clone())?,
            config,
            samples: Codec::new().map_err(codec_error)?,
            analyses: Codec::new().map_err(codec_error)?,
            series: HashMap::new(),
            offsets: RebuildOffsets::new(topics::METRICS_SAMPLES),
            stats: AnalyzerStats::default(),
            sla_table: None,
            compute_ms: Vec::new(),
            compute_reported_ms: None,
        })
    }

    /// Computes, in every analysis, the probability that each SLA range on the series is left
    /// within the forecast horizon.
    pub fn with_sla_table(mut self, table: SharedSlaTable) -> Self {
        self.sla_table = Some(table);
        self
    }

    /// Once per schedule period: the mean and max compute time of the analyses finished in it,
    /// as samples of [`COMPUTE_TIME_METRIC`] (so an SLA can watch vane's own pipeline).
    fn report_compute_time(&mut self, now_ms: i64, out: &mut Vec<OutRecord>) {
        let due = self.compute_reported_ms.is_none_or(|at| now_ms - at >= self.config.every_ms);
        if !due || self.compute_ms.is_empty() {
            return;
        }
        self.compute_reported_ms = Some(now_ms);
        let mean = self.compute_ms.iter().sum::<f64>() / self.compute_ms.len() as f64;
        let max = self.compute_ms.iter().copied().fold(0.0, f64::max);
        self.compute_ms.clear();
        for (stat, ms) in [("mean", mean), ("max", max)] {
            let labels = [("stat".to_string(), stat.to_string())];
            let sample = SeriesIdentity::new(COMPUTE_TIME_METRIC.to_string(), labels, &Default::default())
                .and_then(|series| Sample::new(series, now_ms, ms / 1_000.0));
            let Ok(sample) = sample else { continue };
            let key = sample.series_id.to_string();
            let event = MetricSampleEvent {
                envelope: Envelope::new(now_ms, now_ms, "analytics"),
                sample,
            };
            out.push(OutRecord::new(topics::METRICS_SAMPLES, key, self.samples.encode(&event), now_ms));
        }
    }

    /// Series currently held in memory.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    pub fn stats(&self) -> AnalyzerStats {
        self.stats
    }

    fn recompute_oldest(&mut self) {
        self.offsets
            .recompute(self.series.values().map(|state| (state.partition, state.oldest_offset)));
    }

    /// Emits the finished analyses and puts their models back.
    fn collect(&mut self, out: &mut Vec<OutRecord>) {
        for done in self.pool.finished() {
            self.stats.analyses += 1;
            self.stats.in_flight = self.stats.in_flight.saturating_sub(1);
            if done.refitted {
                self.stats.refits += 1;
            }
            self.compute_ms.push(done.event.compute_ms);
            if let Some(state) = self.series.get_mut(&done.series_id) {
                state.in_flight = false;
                state.cached = done.cached;
            }
            let at = done.event.analyzed_at_ms;
            out.push(OutRecord::new(
                topics::METRICS_ANALYTICS,
                done.series_id.to_string(),
                self.analyses.encode(&done.event),
                at,
            ));
        }
    }

    /// Queues the analyses that are due.
    fn schedule(&mut self, now_ms: i64) {
        let refit_every = self.config.refit_every_ms;
        let points_every = self.config.points_every_ms;
        let every = self.config.every_ms.max(1);
        let table = self.sla_table.as_ref().and_then(|t| t.read().ok());
        for (series_id, state) in &mut self.series {
            if !state.dirty || state.in_flight || state.due_ms > now_ms || state.points.is_empty() {
                continue;
            }
            if let Some(table) = &table
                && state.ranges_version != Some(table.version())
            {
                state.ranges = table
                    .watching(&state.name, &state.labels)
                    .iter()
                    .map(|sla| RangeCheck {
                        sla_id: sla.definition.id.clone(),
                        min: sla.definition.min,
                        max: sla.definition.max,
                    })
                    .collect();
                state.ranges_version = Some(table.version());
            }
            let cached = state.cached.take();
            let refit = cached
                .as_ref()
                .is_none_or(|c| now_ms - c.fitted_at_ms >= jittered(refit_every, *series_id, c.fitted_at_ms));
            // Jittered like refits, so that series started together do not ship together.
            let include_points = state
                .points_shipped_ms
                .is_none_or(|at| now_ms - at >= jittered(points_every, *series_id, at));
            let job = Job {
                series_id: *series_id,
                name: state.name.clone(),
                labels: state.labels.clone(),
                analyzed_at_ms: now_ms,
                timestamps_ms: state.points.iter().map(|p| p.time_ms).collect(),
                values: state.points.iter().map(|p| p.value).collect(),
                cached,
                refit,
                include_points,
                ranges: state.ranges.clone(),
            };
            if !self.pool.submit(job) {
                tracing::error!("analysis threads are gone; analyses stop");
                return;
            }
            state.dirty = false;
            state.in_flight = true;
            if include_points {
                state.points_shipped_ms = Some(now_ms);
            }
            state.due_ms = now_ms + every;
            self.stats.in_flight += 1;
        }
    }
}

/// `every_ms` scaled by a factor in [0.75, 1.25) that depends on the series and the last fit.
fn jittered(every_ms: i64, series_id: SeriesId, fitted_at_ms: i64) -> i64 {
    let mixed = (series_id.0 ^ fitted_at_ms as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let fraction = (mixed >> 11) as f64 / (1u64 << 53) as f64;
    (every_ms as f64 * (0.75 + 0.5 * fraction)) as i64
}

/// Where in the schedule period a series falls: spreads the analyses over the period.
fn phase_ms(series_id: SeriesId, every_ms: i64) -> i64 {
    (series_id.0 % every_ms.max(1) as u64) as i64
}

impl Processor for AnalyzerProcessor {
    fn process(&mut self, record: &Record, now_ms: i64, _out: &mut Vec<OutRecord>) -> Result<(), Rejected> {
        if !self.offsets.first_delivery(record.partition, record.offset) {
            return Ok(());
        }
        let sample = self.samples.decode(&record.value)?.sample;
        let every = self.config.every_ms;
        let state = self.series.entry(sample.series_id).or_insert_with(|| SeriesState {
            name: sample.series.name.clone(),
            labels: sample.series.labels.clone(),
            partition: record.partition,
            points: VecDeque::new(),
            oldest_offset: None,
            offsets_ordered: true,
            touched_ms: now_ms,
            dirty: false,
            in_flight: false,
            due_ms: now_ms + phase_ms(sample.series_id, every),
            cached: None,
            points_shipped_ms: None,
            ranges: Vec::new(),
            ranges_version: None,
        });
        state.touched_ms = now_ms;
        state.partition = record.partition;
        let point = Point {
            time_ms: sample.timestamp_ms,
            value: sample.value,
            offset: record.offset,
        };
        let newest = state.points.back().map_or(i64::MIN, |p| p.time_ms);
        if point.time_ms > newest {
            state.points.push_back(point);
        } else {
            // Out of order: same timestamp is the same sample; older than the window is of no use.
            match state.points.binary_search_by_key(&point.time_ms, |p| p.time_ms) {
                Ok(_) => return Ok(()),
                Err(_) if point.time_ms <= newest - self.config.window_ms => return Ok(()),
                Err(at) => {
                    state.points.insert(at, point);
                    state.offsets_ordered = false;
                }
            }
        }
        state.oldest_offset = Some(state.oldest_offset.map_or(point.offset, |o| o.min(point.offset)));
        let newest = state.points.back().map_or(point.time_ms, |p| p.time_ms);
        let mut popped = false;
        while state.points.front().is_some_and(|p| p.time_ms <= newest - self.config.window_ms)
            || state.points.len() > self.config.max_points
        {
            state.points.pop_front();
            popped = true;
        }
        if popped {
            state.oldest_offset = if state.offsets_ordered {
                state.points.front().map(|p| p.offset)
            } else {
                state.points.iter().map(|p| p.offset).min()
            };
        }
        state.dirty = true;
        Ok(())
    }

    fn end_batch(&mut self, _now_ms: i64, _out: &mut Vec<OutRecord>) {
        self.recompute_oldest();
    }

    /// Emits finished analyses, queues due ones, and forgets series silent (wall clock) for longer
    /// than the window.
    fn punctuate(&mut self, now_ms: i64, out: &mut Vec<OutRecord>) {
        self.collect(out);
        self.report_compute_time(now_ms, out);
        self.schedule(now_ms);
        let window = self.config.window_ms;
        let before = self.series.len();
        self.series
            .retain(|_, state| state.in_flight || now_ms - state.touched_ms <= window);
        if self.series.len() != before {
            self.recompute_oldest();
        }
    }

    fn oldest_needed(&self, topic: &str, partition: u32) -> Option<u64> {
        self.offsets.oldest_needed(topic, partition)
    }
}

#[cfg(test)]
mod tests;
