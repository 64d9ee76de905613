//! The SLA worker's [`Processor`]: on `vane.metrics.samples` it judges every sample against the
//! SLAs watching its series (status transitions and violations on `vane.sla.events`,
//! notifications on `vane.notifications`); on `vane.metrics.analytics` (co-partitioned: both
//! keyed by series id) it turns the analysis' violation probabilities into forecast events and
//! `violation likely` notifications; on wall-clock punctuation silent series become `no data`.
//!
//! Its state (each series' status under each SLA) goes to the compacted changelog
//! `vane.sla.state` at the end of every batch, in the same acknowledged write as the events it
//! explains, and is restored from there before the worker starts: a restart neither repeats nor
//! loses a transition, a violation or a notification.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use vane_core::sla::SlaStatus;
use vane_core::{Labels, SeriesId};
use vane_events::{
    Codec, Envelope, EventsError, MetricSampleEvent, NotificationEvent, SeriesAnalysisEvent, SeriesSlaStateEvent, SlaEvent, SlaEventKind,
    SlaSeriesState,
};
use vane_stream::runner::{Processor, Rejected};
use vane_stream::{OutRecord, Record, topics};

use crate::evaluate::{self, Transition};
use crate::notify::{self, Details, NotificationKind, SeriesRef};
use crate::table::{ActiveSla, SharedSlaTable};

/// Settings of the SLA worker.
#[derive(Debug, Clone)]
pub struct SlaConfig {
    /// A series with no sample for this long (wall clock) is `no data`.
    pub no_data_after_ms: i64,
    /// A forecast probability at or above this is `violation likely`.
    pub likely_threshold: f64,
    /// The envelope's `source`.
    pub source: String,
}

impl Default for SlaConfig {
    fn default() -> Self {
        SlaConfig {
            no_data_after_ms: 300_000,
            likely_threshold: 0.5,
            source: "vane-sla".to_string(),
        }
    }
}

struct Watched {
    sla: Arc<ActiveSla>,
    state: Option<SlaSeriesState>,
    /// Sample time of the last status event sent (the read model's current value).
    reported_at_ms: i64,
}

/// How often a series' current value is refreshed in the status read model (a status event with
/// an unchanged status) while its status stays the same.
const VALUE_REFRESH_MS: i64 = 30_000;

struct SeriesEntry {
    metric: String,
    labels: Labels,
    /// The table version `watched` was matched against.
    table_version: Option<u64>,
    watched: Vec<Watched>,
    /// States restored from the changelog, waiting for the series to be matched.
    restored: Vec<SlaSeriesState>,
    /// Wall-clock time of the last sample (a series no SLA watches is forgotten when silent).
    touched_ms: i64,
}

impl SeriesEntry {
    fn new(metric: &str, labels: &Labels, touched_ms: i64) -> Self {
        SeriesEntry {
            metric: metric.to_string(),
            labels: labels.clone(),
            table_version: None,
            watched: Vec::new(),
            restored: Vec::new(),
            touched_ms,
        }
    }
}

pub struct SlaProcessor {
    config: SlaConfig,
    table: SharedSlaTable,
    samples: Codec<MetricSampleEvent>,
    analyses: Codec<SeriesAnalysisEvent>,
    outputs: OutputCodecs,
    states: Codec<SeriesSlaStateEvent>,
    series: HashMap<SeriesId, SeriesEntry>,
    dirty: HashSet<SeriesId>,
}

impl SlaProcessor {
    pub fn new(config: SlaConfig, table: SharedSlaTable) -> Result<Self, EventsError> {
        Ok(SlaProcessor {
            config,
            table,
            samples: Codec::new()?,
            analyses: Codec::new()?,
            outputs: OutputCodecs {
                events: Codec::new()?,
                notifications: Codec::new()?,
            },
            states: Codec::new()?,
            series: HashMap::new(),
            dirty: HashSet::new(),
        })
    }

    /// Restores one changelog record (read from `vane.sla.state` before the worker starts).
    pub fn restore(&mut self, record: &Record) -> Result<(), EventsError> {
        let event = self.states.decode(&record.value)?;
        let touched = event.states.iter().map(|s| s.last_seen_ms).max().unwrap_or(0);
        let entry = self
            .series
            .entry(event.series_id)
            .or_insert_with(|| SeriesEntry::new(&event.metric, &event.labels, touched));
        entry.watched.clear();
        entry.table_version = None;
        entry.restored = event.states;
        Ok(())
    }

    /// Series × SLA pairs currently judged.
    pub fn watched_count(&self) -> usize {
        self.series.values().map(|e| e.watched.len() + e.restored.len()).sum()
    }

    fn on_sample(&mut self, record: &Record, now_ms: i64, out: &mut Vec<OutRecord>) -> Result<(), Rejected> {
        let sample = self.samples.decode(&record.value)?.sample;
        let (table_version, matching) = {
            let table = self.table.read().map_err(|_| Rejected("SLA table lock poisoned".into()))?;
            let known = self.series.get(&sample.series_id).and_then(|e| e.table_version);
            if known == Some(table.version()) {
                (table.version(), None)
            } else {
                (table.version(), Some(table.watching(&sample.series.name, &sample.series.labels)))
            }
        };
        let entry = self
            .series
            .entry(sample.series_id)
            .or_insert_with(|| SeriesEntry::new(&sample.series.name, &sample.series.labels, now_ms));
        entry.touched_ms = now_ms;
        if let Some(matching) = matching {
            rematch(entry, matching);
            entry.table_version = Some(table_version);
        }
        if entry.watched.is_empty() {
            return Ok(());
        }
        let series = SeriesRef {
            id: sample.series_id,
            metric: &entry.metric,
            labels: &entry.labels,
        };
        let mut emit = Emitter::new(&self.config, &self.outputs, series, now_ms, out);
        let mut changed = false;
        for watched in &mut entry.watched {
            let def = &watched.sla.definition;
            let previous_since = watched.state.as_ref().map(|s| s.since_ms);
            let Some(judgement) = evaluate::judge(def, &mut watched.state, sample.timestamp_ms, sample.value, now_ms) else {
                continue;
            };
            changed = true;
            let Some(state) = watched.state.as_ref() else { continue };
            if let Some(transition) = judgement.transition {
                emit.transition(&watched.sla, state, transition, Some(sample.value), previous_since);
                watched.reported_at_ms = transition.at_ms;
            }
            if judgement.violating {
                emit.event(
                    &watched.sla,
                    state,
                    SlaEventKind::Violation,
                    sample.timestamp_ms,
                    Some(sample.value),
                    None,
                );
            }
        }
        if changed {
            self.dirty.insert(sample.series_id);
        }
        Ok(())
    }

    fn on_analysis(&mut self, record: &Record, now_ms: i64, out: &mut Vec<OutRecord>) -> Result<(), Rejected> {
        // Most analysed series have no SLA: skip them before paying for the decode.
        let key = record
            .key
            .as_deref()
            .and_then(|k| std::str::from_utf8(k).ok())
            .and_then(SeriesId::parse);
        if key.is_some_and(|id| self.series.get(&id).is_none_or(|e| e.watched.is_empty())) {
            return Ok(());
        }
        let analysis = self.analyses.decode(&record.value)?;
        let Some(entry) = self.series.get_mut(&analysis.series_id) else {
            return Ok(());
        };
        let series = SeriesRef {
            id: analysis.series_id,
            metric: &entry.metric,
            labels: &entry.labels,
        };
        let mut emit = Emitter::new(&self.config, &self.outputs, series, now_ms, out);
        let mut changed = false;
        for forecast in &analysis.violations {
            // Only a forecast for the range the SLA has now (an analysis queued before an update
            // judged the old one).
            let current = |w: &&mut Watched| {
                let def = &w.sla.definition;
                def.id == forecast.sla_id && def.min == forecast.min && def.max == forecast.max
            };
            let Some(watched) = entry.watched.iter_mut().find(current) else {
                continue;
            };
            let Some(state) = watched.state.as_mut() else { continue };
            let likely = forecast.probability >= self.config.likely_threshold;
            let at_ms = analysis.analyzed_at_ms;
            let value = state.last_value;
            let event = emit.build(&watched.sla, state, SlaEventKind::Forecast, at_ms, value, None);
            emit.push_event(SlaEvent {
                probability: Some(forecast.probability),
                horizon_ms: Some(forecast.horizon_ms),
                likely,
                ..event
            });
            if likely != state.likely {
                state.likely = likely;
                changed = true;
                // Warn only of what has not happened yet.
                if likely && state.status != SlaStatus::Violated {
                    let details = Details {
                        kind: NotificationKind::ViolationLikely,
                        at_ms,
                        value,
                        probability: Some((forecast.probability, forecast.horizon_ms)),
                        started_ms: None,
                    };
                    emit.notify(&watched.sla, details);
                }
            }
        }
        if changed {
            self.dirty.insert(analysis.series_id);
        }
        Ok(())
    }
}

/// Replaces the SLAs a series is judged under, keeping the state of those still watching it
/// (an updated range keeps the status until the next sample judges it).
fn rematch(entry: &mut SeriesEntry, matching: Vec<Arc<ActiveSla>>) {
    let mut old: HashMap<String, SlaSeriesState> = entry
        .watched
        .drain(..)
        .filter_map(|w| w.state)
        .chain(entry.restored.drain(..))
        .map(|s| (s.sla_id.clone(), s))
        .collect();
    entry.watched = matching
        .into_iter()
        .map(|sla| {
            let state = old.remove(&sla.definition.id);
            Watched {
                sla,
                state,
                reported_at_ms: 0,
            }
        })
        .collect();
}

/// Encoders of what the worker writes.
struct OutputCodecs {
    events: Codec<SlaEvent>,
    notifications: Codec<NotificationEvent>,
}

/// Builds and appends the worker's output records for one series.
struct Emitter<'a> {
    config: &'a SlaConfig,
    outputs: &'a OutputCodecs,
    series: SeriesRef<'a>,
    now_ms: i64,
    out: &'a mut Vec<OutRecord>,
}

impl<'a> Emitter<'a> {
    fn new(config: &'a SlaConfig, outputs: &'a OutputCodecs, series: SeriesRef<'a>, now_ms: i64, out: &'a mut Vec<OutRecord>) -> Self {
        Emitter {
            config,
            outputs,
            series,
            now_ms,
            out,
        }
    }

    fn build(
        &self,
        sla: &ActiveSla,
        state: &SlaSeriesState,
        kind: SlaEventKind,
        at_ms: i64,
        value: Option<f64>,
        previous: Option<SlaStatus>,
    ) -> SlaEvent {
        SlaEvent {
            envelope: Envelope::new(at_ms, self.now_ms, &self.config.source),
            sla_id: sla.definition.id.clone(),
            sla_name: sla.definition.name.clone(),
            series_id: self.series.id,
            metric: self.series.metric.to_string(),
            labels: self.series.labels.clone(),
            kind,
            at_ms,
            status: state.status,
            previous,
            value,
            probability: None,
            horizon_ms: None,
            likely: state.likely,
        }
    }

    fn push_event(&mut self, event: SlaEvent) {
        let at = event.at_ms;
        let key = event.sla_id.clone();
        self.out
            .push(OutRecord::new(topics::SLA_EVENTS, key, self.outputs.events.encode(&event), at));
    }

    fn event(
        &mut self,
        sla: &ActiveSla,
        state: &SlaSeriesState,
        kind: SlaEventKind,
        at_ms: i64,
        value: Option<f64>,
        previous: Option<SlaStatus>,
    ) {
        let event = self.build(sla, state, kind, at_ms, value, previous);
        self.push_event(event);
    }

    /// A status event, and the notification when a violation starts or ends.
    fn transition(&mut self, sla: &ActiveSla, state: &SlaSeriesState, t: Transition, value: Option<f64>, previous_since: Option<i64>) {
        self.event(sla, state, SlaEventKind::Status, t.at_ms, value, t.from);
        let kind = match (t.from, t.to) {
            (_, SlaStatus::Violated) => NotificationKind::ViolationStarted,
            (Some(SlaStatus::Violated), SlaStatus::Ok) => NotificationKind::ViolationEnded,
            _ => return,
        };
        let details = Details {
            kind,
            at_ms: t.at_ms,
            value,
            probability: None,
            started_ms: previous_since,
        };
        self.notify(sla, details);
    }

    fn notify(&mut self, sla: &ActiveSla, details: Details) {
        if let Some(message) = notify::notification(&sla.definition, self.series, details, self.now_ms, &self.config.source) {
            let key = message.recipient.clone();
            self.out.push(OutRecord::new(
                topics::NOTIFICATIONS,
                key,
                self.outputs.notifications.encode(&message),
                details.at_ms,
            ));
        }
    }
}

impl Processor for SlaProcessor {
    fn process(&mut self, record: &Record, now_ms: i64, out: &mut Vec<OutRecord>) -> Result<(), Rejected> {
        match record.topic.as_str() {
            topics::METRICS_SAMPLES => self.on_sample(record, now_ms, out),
            topics::METRICS_ANALYTICS => self.on_analysis(record, now_ms, out),
            other => Err(Rejected(format!("the SLA worker does not read topic {other}"))),
        }
    }

    /// Series are matched again after definitions changed; silent series become `no data`;
    /// silent series no SLA watches are forgotten.
    fn punctuate(&mut self, now_ms: i64, out: &mut Vec<OutRecord>) {
        if let Ok(table) = self.table.read() {
            for entry in self.series.values_mut() {
                if entry.table_version != Some(table.version()) {
                    rematch(entry, table.watching(&entry.metric, &entry.labels));
                    entry.table_version = Some(table.version());
                }
            }
        }
        let forget_after = self.config.no_data_after_ms;
        self.series
            .retain(|_, e| !(e.watched.is_empty() && e.restored.is_empty() && now_ms - e.touched_ms > forget_after));
        for (series_id, entry) in &mut self.series {
            let series = SeriesRef {
                id: *series_id,
                metric: &entry.metric,
                labels: &entry.labels,
            };
            let mut emit = Emitter::new(&self.config, &self.outputs, series, now_ms, out);
            let mut changed = false;
            for watched in &mut entry.watched {
                let Some(state) = watched.state.as_mut() else { continue };
                if let Some(t) = evaluate::silence(state, now_ms, self.config.no_data_after_ms) {
                    emit.event(&watched.sla, state, SlaEventKind::Status, t.at_ms, None, t.from);
                    changed = true;
                } else if state.status != SlaStatus::NoData && state.last_at_ms - watched.reported_at_ms >= VALUE_REFRESH_MS {
                    // Same status, newer value: previous = status marks a refresh, not a change.
                    emit.event(
                        &watched.sla,
                        state,
                        SlaEventKind::Status,
                        state.last_at_ms,
                        state.last_value,
                        Some(state.status),
                    );
                    watched.reported_at_ms = state.last_at_ms;
                }
            }
            if changed {
                self.dirty.insert(*series_id);
            }
        }
    }

    /// Writes the changed series' state to the changelog, in the same batch as its events.
    fn end_batch(&mut self, now_ms: i64, out: &mut Vec<OutRecord>) {
        for series_id in self.dirty.drain() {
            let Some(entry) = self.series.get(&series_id) else { continue };
            let states: Vec<SlaSeriesState> = entry
                .watched
                .iter()
                .filter_map(|w| w.state.clone())
                .chain(entry.restored.iter().cloned())
                .collect();
            let event = SeriesSlaStateEvent {
                envelope: Envelope::new(now_ms, now_ms, &self.config.source),
                series_id,
                metric: entry.metric.clone(),
                labels: entry.labels.clone(),
                states,
            };
            out.push(OutRecord::new(
                topics::SLA_STATE,
                series_id.to_string(),
                self.states.encode(&event),
                now_ms,
            ));
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
