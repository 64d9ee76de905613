//! The one path from a validated sample to a record on `vane.metrics.samples`.

use std::collections::BTreeSet;

use vane_core::sample::SeriesLimiter;
use vane_core::{CoreError, Sample};
use vane_events::{Codec, Envelope, MetricSampleEvent};
use vane_stream::{OutRecord, topics};

use crate::{IngestError, trace};

/// Ingest settings (the `[ingest]` section of the config file).
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Labels removed before the series id is computed (e.g. Prometheus' external labels).
    pub drop_labels: BTreeSet<String>,
    /// New series of one metric name beyond this go to the dead-letter topic.
    pub max_series_per_metric: usize,
    /// Samples stamped further than this ahead of the receiving clock go to the dead-letter
    /// topic: a future timestamp would pin its series' windows and the log's retention.
    pub max_future_ms: i64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            drop_labels: BTreeSet::new(),
            max_series_per_metric: 10_000,
            max_future_ms: 10 * 60_000,
        }
    }
}

/// Validates, caps and encodes samples.
#[derive(Debug)]
pub struct Normaliser {
    config: IngestConfig,
    limiter: SeriesLimiter,
    codec: Codec<MetricSampleEvent>,
}

impl Normaliser {
    pub fn new(config: IngestConfig) -> Result<Self, IngestError> {
        let codec = Codec::new().map_err(|e| IngestError::Schema(e.to_string()))?;
        let limiter = SeriesLimiter::new(config.max_series_per_metric);
        Ok(Normaliser { config, limiter, codec })
    }

    pub fn config(&self) -> &IngestConfig {
        &self.config
    }

    pub fn codec(&self) -> &Codec<MetricSampleEvent> {
        &self.codec
    }

    /// The record for one sample, or why it is refused.
    pub fn to_record(&mut self, sample: Sample, source: &str, traceparent: Option<&[u8]>, now_ms: i64) -> Result<OutRecord, CoreError> {
        if sample.timestamp_ms > now_ms.saturating_add(self.config.max_future_ms) {
            return Err(CoreError::FutureTimestamp {
                timestamp_ms: sample.timestamp_ms,
                now_ms,
            });
        }
        self.limiter.admit(&sample)?;
        let key = sample.series_id.to_string();
        let event = MetricSampleEvent {
            envelope: Envelope::new(sample.timestamp_ms, now_ms, source),
            sample,
        };
        let value = self.codec.encode(&event);
        let traceparent = match traceparent.filter(|t| trace::is_traceparent(t)) {
            Some(existing) => existing.to_vec(),
            None => trace::new_traceparent().into_bytes(),
        };
        Ok(
            OutRecord::new(topics::METRICS_SAMPLES, key, value, event.envelope.occurred_at_ms)
                .with_header(topics::TRACEPARENT, traceparent),
        )
    }
}
