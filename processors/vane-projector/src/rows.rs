//! From a batch of `SeriesAggregates`, `SeriesAnalysis` and SLA records to read-model rows,
//! coalesced: one aggregates row per (series, window) with the highest version, one catalog row
//! per series with the earliest first and latest last sighting, every analysis for the history
//! but the per-point arrays of the newest analysis of each series only; SLA rows in record order
//! (the store applies status updates in order); users and subscriptions in record order. Pure.

use std::collections::{BTreeMap, HashMap};

use vane_events::{
    Codec, EventsError, SeriesAggregatesEvent, SeriesAnalysisEvent, SlaDefinitionEvent, SlaEvent, UserEvent, WeatherSubscriptionEvent,
};
use vane_store::{AggregateRow, AnalysisRow, SeriesRow};
use vane_stream::{Record, topics};

use crate::analysis_rows::analysis_row;
use crate::sla_rows::SlaRows;
use crate::user_rows::UserRows;

/// The decoders of the topics the projector reads.
pub struct Codecs {
    aggregates: Codec<SeriesAggregatesEvent>,
    analyses: Codec<SeriesAnalysisEvent>,
    sla_definitions: Codec<SlaDefinitionEvent>,
    sla_events: Codec<SlaEvent>,
    users: Codec<UserEvent>,
    subscriptions: Codec<WeatherSubscriptionEvent>,
}

impl Codecs {
    pub fn new() -> Result<Codecs, EventsError> {
        Ok(Codecs {
            aggregates: Codec::new()?,
            analyses: Codec::new()?,
            sla_definitions: Codec::new()?,
            sla_events: Codec::new()?,
            users: Codec::new()?,
            subscriptions: Codec::new()?,
        })
    }
}

/// The rows of one batch, the records that could not be decoded, and the offsets to commit.
#[derive(Debug, Default)]
pub struct Batch {
    pub series: Vec<SeriesRow>,
    pub aggregates: Vec<AggregateRow>,
    pub analyses: Vec<AnalysisRow>,
    pub sla: SlaRows,
    pub users: UserRows,
    pub rejected: Vec<(Record, String)>,
    pub next_offsets: Vec<((String, u32), u64)>,
}

impl Batch {
    /// Rows written by this batch.
    pub fn rows(&self) -> usize {
        self.series.len() + self.aggregates.len() + self.analyses.len() + self.sla.len() + self.users.len()
    }

    pub fn from_records(codecs: &Codecs, records: &[Record]) -> Batch {
        let mut series: HashMap<String, SeriesRow> = HashMap::new();
        let mut aggregates: HashMap<(String, String), AggregateRow> = HashMap::new();
        let mut analyses: Vec<AnalysisRow> = Vec::new();
        let mut sla = SlaRows::default();
        let mut users = UserRows::default();
        let mut next: BTreeMap<(String, u32), u64> = BTreeMap::new();
        let mut rejected = Vec::new();
        for record in records {
            let entry = next.entry((record.topic.clone(), record.partition)).or_default();
            *entry = (*entry).max(record.offset + 1);
            if record.topic == topics::SLA_DEFINITIONS || record.topic == topics::SLA_EVENTS {
                let added = if record.topic == topics::SLA_DEFINITIONS {
                    codecs
                        .sla_definitions
                        .decode(&record.value)
                        .map_err(|e| e.to_string())
                        .and_then(|event| sla.add_definition(event))
                } else {
                    codecs
                        .sla_events
                        .decode(&record.value)
                        .map_err(|e| e.to_string())
                        .and_then(|event| sla.add_event(event))
                };
                if let Err(reason) = added {
                    rejected.push((record.clone(), reason));
                }
                continue;
            }
            if record.topic == topics::USERS || record.topic == topics::WEATHER_SUBSCRIPTIONS {
                let added = if record.topic == topics::USERS {
                    codecs
                        .users
                        .decode(&record.value)
                        .map_err(|e| e.to_string())
                        .and_then(|event| users.add_user(event))
                } else {
                    codecs
                        .subscriptions
                        .decode(&record.value)
                        .map_err(|e| e.to_string())
                        .and_then(|event| users.add_subscription(event))
                };
                if let Err(reason) = added {
                    rejected.push((record.clone(), reason));
                }
                continue;
            }
            if record.topic == topics::METRICS_ANALYTICS {
                match codecs
                    .analyses
                    .decode(&record.value)
                    .map_err(|e| e.to_string())
                    .and_then(analysis_row)
                {
                    Ok(row) => analyses.push(row),
                    Err(reason) => rejected.push((record.clone(), reason)),
                }
                continue;
            }
            let event = match codecs.aggregates.decode(&record.value) {
                Ok(event) => event,
                Err(error) => {
                    rejected.push((record.clone(), error.to_string()));
                    continue;
                }
            };
            if let Some(reason) = invalid(&event) {
                rejected.push((record.clone(), reason));
                continue;
            }
            let id = event.series_id.to_string();
            let first_seen = event.windows.iter().map(|w| w.first_ms).min().unwrap_or(event.as_of_ms);
            let row = series.entry(id.clone()).or_insert_with(|| SeriesRow {
                series_id: id.clone(),
                metric: event.name.clone(),
                labels: event.labels.clone(),
                first_seen_ms: first_seen,
                last_seen_ms: event.as_of_ms,
            });
            row.first_seen_ms = row.first_seen_ms.min(first_seen);
            row.last_seen_ms = row.last_seen_ms.max(event.as_of_ms);
            for window in event.windows {
                let candidate = AggregateRow {
                    series_id: id.clone(),
                    metric: event.name.clone(),
                    labels: event.labels.clone(),
                    window: window.name,
                    max: window.max,
                    min: window.min,
                    mean: window.mean,
                    std: window.std,
                    count: window.count,
                    first_ms: window.first_ms,
                    last_ms: window.last_ms,
                    as_of_ms: event.as_of_ms,
                };
                let key = (id.clone(), candidate.window.clone());
                match aggregates.get(&key) {
                    Some(existing) if existing.version() > candidate.version() => {}
                    _ => {
                        aggregates.insert(key, candidate);
                    }
                }
            }
        }
        // Only the newest analysis of a series becomes its latest: the others' points are dropped.
        let mut newest: HashMap<String, i64> = HashMap::new();
        for row in &analyses {
            let at = newest.entry(row.series_id.clone()).or_insert(row.analyzed_at_ms);
            *at = (*at).max(row.analyzed_at_ms);
        }
        for row in &mut analyses {
            if newest.get(&row.series_id).is_some_and(|at| *at > row.analyzed_at_ms) {
                row.points = Vec::new();
            }
        }
        Batch {
            series: series.into_values().collect(),
            aggregates: aggregates.into_values().collect(),
            analyses,
            sla,
            users,
            rejected,
            next_offsets: next.into_iter().collect(),
        }
    }
}

/// Why an event cannot become rows (the store would refuse them, and a refused batch must not
/// stop the projector), or `None`.
fn invalid(event: &SeriesAggregatesEvent) -> Option<String> {
    if event.name.is_empty() {
        return Some("aggregates event without a metric name".into());
    }
    for window in &event.windows {
        let values = [window.max, window.min, window.mean].into_iter().chain(window.std);
        if values.into_iter().any(|v| !v.is_finite()) {
            return Some(format!(
                "non-finite aggregate in window {} of series {}",
                window.name, event.series_id
            ));
        }
        if window.name.is_empty() {
            return Some(format!("window without a name in series {}", event.series_id));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use vane_core::SeriesId;
    use vane_core::window::WindowStats;
    use vane_events::Envelope;

    use super::*;

    fn record(codec: &Codec<SeriesAggregatesEvent>, offset: u64, as_of_ms: i64, count: u64) -> Record {
        let window = WindowStats {
            name: "1h".into(),
            max: 2.0,
            min: 1.0,
            mean: 1.5,
            std: None,
            count,
            first_ms: as_of_ms - 10,
            last_ms: as_of_ms,
        };
        let event = SeriesAggregatesEvent {
            envelope: Envelope::new(as_of_ms, as_of_ms, "test"),
            series_id: SeriesId(7),
            name: "up".into(),
            labels: Default::default(),
            as_of_ms,
            windows: vec![window],
        };
        Record {
            topic: "vane.metrics.aggregates".into(),
            partition: 2,
            offset,
            timestamp_ms: as_of_ms,
            key: None,
            value: codec.encode(&event),
            headers: vec![],
        }
    }

    #[test]
    fn coalesces_to_the_newest_version_whatever_the_order() {
        let codecs = Codecs::new().unwrap();
        let codec = &codecs.aggregates;
        let records = vec![record(codec, 5, 2_000, 3), record(codec, 6, 1_000, 9), record(codec, 7, 2_000, 4)];
        let batch = Batch::from_records(&codecs, &records);
        assert_eq!(batch.aggregates.len(), 1);
        assert_eq!((batch.aggregates[0].as_of_ms, batch.aggregates[0].count), (2_000, 4));
        assert_eq!(batch.series.len(), 1);
        assert_eq!((batch.series[0].first_seen_ms, batch.series[0].last_seen_ms), (990, 2_000));
        assert_eq!(batch.next_offsets, vec![(("vane.metrics.aggregates".to_string(), 2), 8)]);
    }

    #[test]
    fn undecodable_records_are_rejected_but_still_committed() {
        let codecs = Codecs::new().unwrap();
        let mut bad = record(&codecs.aggregates, 3, 1_000, 1);
        bad.value = b"garbage".to_vec();
        let batch = Batch::from_records(&codecs, &[bad]);
        assert!(batch.aggregates.is_empty());
        assert_eq!(batch.rejected.len(), 1);
        assert!(batch.rejected[0].1.contains("single-object"), "{}", batch.rejected[0].1);
        assert_eq!(batch.next_offsets, vec![(("vane.metrics.aggregates".to_string(), 2), 4)]);
    }
}
