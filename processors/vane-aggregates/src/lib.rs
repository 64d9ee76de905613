//! The windowed-aggregates worker: a [`Processor`] on `vane.metrics.samples` that keeps, per
//! series, the sliding windows of [`vane_core::window`] and emits one `SeriesAggregates` event
//! per series per batch (coalesced) on `vane.metrics.aggregates`.
//!
//! Its state is rebuilt from the log: it asks the runner to commit only up to the oldest sample
//! any window still holds, so after a restart or a partition move the same samples are read again
//! and the windows come back exactly. Re-emitted events carry older `as_of` values, which the
//! read models' upserts ignore. Samples older than the newest of their series minus the grace go
//! to the dead-letter topic; the same (series, timestamp) twice counts once. No I/O.

use std::collections::{HashMap, HashSet};

use vane_core::window::{Offer, SeriesWindows, WindowSpec};
use vane_core::{Labels, SeriesId, time};
use vane_events::{Codec, Envelope, MetricSampleEvent, SeriesAggregatesEvent};
use vane_stream::rebuild::RebuildOffsets;
use vane_stream::runner::{Processor, Rejected};
use vane_stream::{OutRecord, Record, topics};

/// Settings of the aggregates worker.
#[derive(Debug, Clone)]
pub struct AggregatesConfig {
    pub windows: Vec<WindowSpec>,
    /// How much older than a series' newest sample a sample may be and still count.
    pub grace_ms: i64,
}

impl Default for AggregatesConfig {
    fn default() -> Self {
        let window = |name: &str, hours: i64| WindowSpec {
            name: name.to_string(),
            width_ms: hours * 3_600_000,
        };
        AggregatesConfig {
            windows: vec![window("1h", 1), window("3h", 3), window("12h", 12)],
            grace_ms: 5 * 60_000,
        }
    }
}

struct SeriesState {
    windows: SeriesWindows,
    name: String,
    labels: Labels,
    partition: u32,
    /// Wall-clock time of the last sample, for forgetting silent series.
    touched_ms: i64,
    traceparent: Option<Vec<u8>>,
}

pub struct AggregatesProcessor {
    config: AggregatesConfig,
    samples: Codec<MetricSampleEvent>,
    aggregates: Codec<SeriesAggregatesEvent>,
    series: HashMap<SeriesId, SeriesState>,
    dirty: HashSet<SeriesId>,
    /// Records already seen must not be offered again after a rebalance (they would be refused
    /// as late once trimmed).
    offsets: RebuildOffsets,
}

impl AggregatesProcessor {
    pub fn new(config: AggregatesConfig) -> Result<Self, vane_events::EventsError> {
        Ok(AggregatesProcessor {
            config,
            samples: Codec::new()?,
            aggregates: Codec::new()?,
            series: HashMap::new(),
            dirty: HashSet::new(),
            offsets: RebuildOffsets::new(topics::METRICS_SAMPLES),
        })
    }

    fn widest_ms(&self) -> i64 {
        self.config.windows.iter().map(|w| w.width_ms).max().unwrap_or(0)
    }

    /// Series currently held in memory.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    fn recompute_oldest(&mut self) {
        let held = self.series.values().map(|state| (state.partition, state.windows.oldest_offset()));
        self.offsets.recompute(held);
    }
}

impl Processor for AggregatesProcessor {
    fn process(&mut self, record: &Record, now_ms: i64, _out: &mut Vec<OutRecord>) -> Result<(), Rejected> {
        if !self.offsets.first_delivery(record.partition, record.offset) {
            return Ok(());
        }
        let event = self.samples.decode(&record.value)?;
        let sample = event.sample;
        let (specs, grace) = (&self.config.windows, self.config.grace_ms);
        let state = self.series.entry(sample.series_id).or_insert_with(|| SeriesState {
            windows: SeriesWindows::new(specs, grace),
            name: sample.series.name.clone(),
            labels: sample.series.labels.clone(),
            partition: record.partition,
            touched_ms: now_ms,
            traceparent: None,
        });
        state.touched_ms = now_ms;
        state.partition = record.partition;
        match state.windows.offer(sample.timestamp_ms, sample.value, record.offset) {
            Offer::Accepted => {
                state.traceparent = record.header(topics::TRACEPARENT).map(<[u8]>::to_vec);
                self.dirty.insert(sample.series_id);
                Ok(())
            }
            Offer::Duplicate => Ok(()),
            Offer::TooLate { newest_ms } => Err(Rejected(format!(
                "late sample: {} is more than the grace ({} ms) older than the series' newest sample {}",
                time::format_rfc3339(sample.timestamp_ms),
                self.config.grace_ms,
                time::format_rfc3339(newest_ms)
            ))),
        }
    }

    fn end_batch(&mut self, now_ms: i64, out: &mut Vec<OutRecord>) {
        for series_id in self.dirty.drain() {
            let Some(state) = self.series.get(&series_id) else { continue };
            let Some(as_of_ms) = state.windows.newest_ms() else { continue };
            let event = SeriesAggregatesEvent {
                envelope: Envelope::new(as_of_ms, now_ms, "aggregates"),
                series_id,
                name: state.name.clone(),
                labels: state.labels.clone(),
                as_of_ms,
                windows: state.windows.stats(),
            };
            let mut record = OutRecord::new(
                topics::METRICS_AGGREGATES,
                series_id.to_string(),
                self.aggregates.encode(&event),
                as_of_ms,
            );
            if let Some(traceparent) = &state.traceparent {
                record = record.with_header(topics::TRACEPARENT, traceparent.clone());
            }
            out.push(record);
        }
        self.recompute_oldest();
    }

    /// Forgets series that have been silent (wall clock) for longer than the widest window plus
    /// the grace: nothing of them is needed any more.
    fn punctuate(&mut self, now_ms: i64, _out: &mut Vec<OutRecord>) {
        let horizon = self.widest_ms() + self.config.grace_ms;
        self.series.retain(|_, state| now_ms - state.touched_ms <= horizon);
        self.recompute_oldest();
    }

    fn oldest_needed(&self, topic: &str, partition: u32) -> Option<u64> {
        self.offsets.oldest_needed(topic, partition)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use vane_core::{Sample, SeriesIdentity};

    use super::*;

    fn record(processor: &AggregatesProcessor, series: &str, ts: i64, value: f64, offset: u64) -> Record {
        let identity = SeriesIdentity::new("m".into(), [("s".to_string(), series.to_string())], &BTreeSet::new()).unwrap();
        let event = MetricSampleEvent {
            envelope: Envelope::new(ts, ts, "test"),
            sample: Sample::new(identity, ts, value).unwrap(),
        };
        Record {
            topic: topics::METRICS_SAMPLES.into(),
            partition: 1,
            offset,
            timestamp_ms: ts,
            key: None,
            value: processor.samples.encode(&event),
            headers: vec![],
        }
    }

    #[test]
    fn one_event_per_series_per_batch_with_every_window() {
        let mut processor = AggregatesProcessor::new(AggregatesConfig::default()).unwrap();
        let mut out = Vec::new();
        for i in 0..10 {
            for (k, series) in ["a", "b"].into_iter().enumerate() {
                let r = record(
                    &processor,
                    series,
                    1_700_000_000_000 + i * 15_000,
                    i as f64,
                    (2 * i) as u64 + k as u64,
                );
                processor.process(&r, 0, &mut out).unwrap();
            }
        }
        processor.end_batch(0, &mut out);
        assert_eq!(out.len(), 2);
        let event = processor.aggregates.decode(&out[0].value).unwrap();
        assert_eq!(event.windows.len(), 3);
        assert_eq!(event.windows[0].count, 10);
        assert_eq!((event.windows[0].max, event.windows[0].min, event.windows[0].mean), (9.0, 0.0, 4.5));
        assert_eq!(out[0].key, event.series_id.to_string().into_bytes());
        assert_eq!(processor.oldest_needed(topics::METRICS_SAMPLES, 1), Some(0));
    }

    #[test]
    fn late_samples_are_rejected_and_duplicates_ignored() {
        let mut processor = AggregatesProcessor::new(AggregatesConfig::default()).unwrap();
        let mut out = Vec::new();
        let base = 1_700_000_000_000;
        processor
            .process(&record(&processor, "a", base + 3_600_000, 1.0, 0), 0, &mut out)
            .unwrap();
        processor
            .process(&record(&processor, "a", base + 3_600_000, 1.0, 1), 0, &mut out)
            .unwrap();
        let Rejected(reason) = processor.process(&record(&processor, "a", base, 1.0, 2), 0, &mut out).unwrap_err();
        assert!(reason.starts_with("late sample"), "{reason}");
        processor.end_batch(0, &mut out);
        let event = processor.aggregates.decode(&out[0].value).unwrap();
        assert_eq!(event.windows[0].count, 1);
    }

    #[test]
    fn redelivered_records_are_skipped() {
        let mut processor = AggregatesProcessor::new(AggregatesConfig::default()).unwrap();
        let mut out = Vec::new();
        let base = 1_700_000_000_000;
        processor.process(&record(&processor, "a", base, 1.0, 0), 0, &mut out).unwrap();
        processor
            .process(&record(&processor, "a", base + 7_200_000, 1.0, 1), 0, &mut out)
            .unwrap();
        // A rebalance re-delivers offset 0: already counted, not "late".
        processor.process(&record(&processor, "a", base, 1.0, 0), 0, &mut out).unwrap();
        processor.end_batch(0, &mut out);
        assert!(out.iter().all(|r| r.topic == topics::METRICS_AGGREGATES));
    }

    #[test]
    fn silent_series_are_forgotten() {
        let mut processor = AggregatesProcessor::new(AggregatesConfig::default()).unwrap();
        let mut out = Vec::new();
        processor.process(&record(&processor, "a", 1_000, 1.0, 0), 0, &mut out).unwrap();
        processor.punctuate(13 * 3_600_000, &mut out);
        assert_eq!(processor.series_count(), 0);
        assert_eq!(processor.oldest_needed(topics::METRICS_SAMPLES, 1), None);
    }
}
