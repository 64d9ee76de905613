//! Prometheus remote write 1.0: a snappy-compressed (block format) protobuf `WriteRequest`.
//!
//! Staleness markers (the NaN with bits `0x7ff0000000000002` that Prometheus writes when a
//! series disappears) are not samples: they are counted and dropped. Other invalid samples are
//! returned with the reason so that the caller can dead-letter them.

use prost::Message as _;
use vane_core::{CoreError, Sample, SeriesIdentity};

use crate::IngestError;

/// Generated from proto/prometheus/remote.proto.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/prometheus.rs"));
}

/// Prometheus' staleness marker.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;
/// Largest decompressed body accepted (Prometheus sends at most a few MB).
pub const MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;

/// What one WriteRequest held.
#[derive(Debug, Default)]
pub struct Decoded {
    pub samples: Vec<Sample>,
    pub stale_markers: usize,
    /// Samples refused, with the raw series (name and labels as text) and the reason.
    pub invalid: Vec<(String, CoreError)>,
}

/// Decodes a request body.
pub fn decode(body: &[u8], dropped: &std::collections::BTreeSet<String>) -> Result<Decoded, IngestError> {
    let length = snap::raw::decompress_len(body)?;
    if length > MAX_DECOMPRESSED {
        return Err(IngestError::TooLarge(length, MAX_DECOMPRESSED));
    }
    let raw = snap::raw::Decoder::new().decompress_vec(body)?;
    let request = proto::WriteRequest::decode(raw.as_slice())?;
    let mut decoded = Decoded::default();
    for series in request.timeseries {
        let mut name = None;
        let mut labels = Vec::with_capacity(series.labels.len());
        for label in series.labels {
            if label.name == "__name__" {
                name = Some(label.value);
            } else {
                labels.push((label.name, label.value));
            }
        }
        let describe = |name: &Option<String>, labels: &[(String, String)]| format!("{}{labels:?}", name.as_deref().unwrap_or(""));
        let identity = match name.clone() {
            Some(n) => SeriesIdentity::new(n, labels.clone(), dropped),
            None => Err(CoreError::MissingField("__name__")),
        };
        let identity = match identity {
            Ok(identity) => identity,
            Err(error) => {
                decoded.invalid.push((describe(&name, &labels), error));
                continue;
            }
        };
        for sample in series.samples {
            if sample.value.to_bits() == STALE_NAN_BITS {
                decoded.stale_markers += 1;
                continue;
            }
            match Sample::new(identity.clone(), sample.timestamp, sample.value) {
                Ok(sample) => decoded.samples.push(sample),
                Err(error) => decoded.invalid.push((describe(&name, &labels), error)),
            }
        }
    }
    Ok(decoded)
}

/// Encodes a request the way Prometheus does (for tests and the load generator).
pub fn encode(request: &proto::WriteRequest) -> Vec<u8> {
    let raw = request.encode_to_vec();
    snap::raw::Encoder::new().compress_vec(&raw).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::proto::{Label, Sample as PbSample, TimeSeries, WriteRequest};
    use super::*;

    fn label(name: &str, value: &str) -> Label {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn decodes_samples_and_drops_staleness_markers() {
        let request = WriteRequest {
            timeseries: vec![
                TimeSeries {
                    labels: vec![
                        label("__name__", "node_memory_MemFree_bytes"),
                        label("instance", "a:9100"),
                        label("job", "node"),
                    ],
                    samples: vec![
                        PbSample {
                            value: 1.5e9,
                            timestamp: 1_700_000_000_000,
                        },
                        PbSample {
                            value: f64::from_bits(STALE_NAN_BITS),
                            timestamp: 1_700_000_015_000,
                        },
                    ],
                },
                TimeSeries {
                    labels: vec![label("job", "nameless")],
                    samples: vec![PbSample { value: 1.0, timestamp: 1 }],
                },
                TimeSeries {
                    labels: vec![label("__name__", "up")],
                    samples: vec![PbSample {
                        value: f64::INFINITY,
                        timestamp: 1,
                    }],
                },
            ],
        };
        let decoded = decode(&encode(&request), &Default::default()).unwrap();
        assert_eq!(decoded.samples.len(), 1);
        assert_eq!(decoded.samples[0].series.labels.len(), 2);
        assert_eq!(decoded.stale_markers, 1);
        assert_eq!(decoded.invalid.len(), 2);
    }

    #[test]
    fn garbage_bodies_are_errors() {
        assert!(matches!(
            decode(b"not snappy at all", &Default::default()),
            Err(IngestError::Snappy(_))
        ));
        let not_proto = snap::raw::Encoder::new().compress_vec(&[0xff; 20]).unwrap();
        assert!(matches!(decode(&not_proto, &Default::default()), Err(IngestError::Protobuf(_))));
    }
}
