//! From a batch of `SeriesAggregates` records to read-model rows, coalesced: one aggregates row
//! per (series, window) with the highest version, one catalog row per series with the earliest
//! first and latest last sighting. Pure.

use std::collections::{BTreeMap, HashMap};

use vane_events::{Codec, SeriesAggregatesEvent};
use vane_store::{AggregateRow, SeriesRow};
use vane_stream::Record;

/// The rows of one batch, the records that could not be decoded, and the offsets to commit.
#[derive(Debug, Default)]
pub struct Batch {
    pub series: Vec<SeriesRow>,
    pub aggregates: Vec<AggregateRow>,
    pub rejected: Vec<(Record, String)>,
    pub next_offsets: Vec<((String, u32), u64)>,
}

impl Batch {
    pub fn from_records(codec: &Codec<SeriesAggregatesEvent>, records: &[Record]) -> Batch {
        let mut series: HashMap<String, SeriesRow> = HashMap::new();
        let mut aggregates: HashMap<(String, String), AggregateRow> = HashMap::new();
        let mut next: BTreeMap<(String, u32), u64> = BTreeMap::new();
        let mut rejected = Vec::new();
        for record in records {
            let entry = next.entry((record.topic.clone(), record.partition)).or_default();
            *entry = (*entry).max(record.offset + 1);
            let event = match codec.decode(&record.value) {
                Ok(event) => event,
                Err(error) => {
                    rejected.push((record.clone(), error.to_string()));
                    continue;
                }
            };
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
        Batch {
            series: series.into_values().collect(),
            aggregates: aggregates.into_values().collect(),
            rejected,
            next_offsets: next.into_iter().collect(),
        }
    }
}
