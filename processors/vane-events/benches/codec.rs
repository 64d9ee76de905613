//! Encode and decode cost of one metric sample event.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

use std::collections::BTreeSet;

use criterion::{Criterion, criterion_group, criterion_main};
use vane_core::{Sample, SeriesIdentity};
use vane_events::{Codec, Envelope, MetricSampleEvent};

fn sample_event() -> MetricSampleEvent {
    let labels = [
        ("device".to_string(), "/dev/sda1".to_string()),
        ("fstype".to_string(), "ext4".to_string()),
        ("instance".to_string(), "localhost:9100".to_string()),
        ("job".to_string(), "node".to_string()),
        ("mountpoint".to_string(), "/".to_string()),
    ];
    let series = SeriesIdentity::new("node_filesystem_free_bytes".into(), labels, &BTreeSet::new()).unwrap();
    MetricSampleEvent {
        envelope: Envelope::new(1_700_000_000_000, 1_700_000_000_050, "remote_write"),
        sample: Sample::new(series, 1_700_000_000_000, 1.5e10).unwrap(),
    }
}

fn codec(c: &mut Criterion) {
    let codec = Codec::<MetricSampleEvent>::new().unwrap();
    let event = sample_event();
    let bytes = codec.encode(&event);
    let mut buffer = Vec::with_capacity(256);
    c.bench_function("metric_sample_encode", |b| {
        b.iter(|| {
            buffer.clear();
            codec.encode_into(&event, &mut buffer);
            buffer.len()
        })
    });
    c.bench_function("metric_sample_decode", |b| b.iter(|| codec.decode(&bytes).unwrap()));
}

criterion_group!(benches, codec);
criterion_main!(benches);
