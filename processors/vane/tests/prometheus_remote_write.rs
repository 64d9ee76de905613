//! Acceptance: a real Prometheus (Debian package) scraping a real node-exporter remote-writes to
//! a real `vane up`; the samples land on `vane.metrics.samples`, staleness markers do not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure

mod common;

use std::time::Duration;

use common::*;
use vane_testkit::{VaneProcess, free_port};

#[test]
fn samples_from_prometheus_land_on_the_samples_topic_without_staleness_markers() {
    let Some((prometheus_bin, exporter_bin)) = prometheus_peers() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let data_dir = work.path().join("vane-data");
    let config = work.path().join("vane.toml");
    std::fs::write(&config, "[http]\nwrite_token = \"prom-s3cret\"\n").unwrap();
    let vane = VaneProcess::start(
        VANE,
        &[
            "up",
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--http-addr",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );

    let (exporter, exporter_port) = start_node_exporter(&exporter_bin);
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\nremote_write:\n  - url: http://{}/api/v1/write\n    authorization:\n      credentials: prom-s3cret\n    queue_config:\n      batch_send_deadline: 1s\n      min_backoff: 100ms\n",
        vane.http_addr
    );
    let _prometheus = start_prometheus(&prometheus_bin, work.path(), free_port(), &config);

    let addr = vane.http_addr.clone();
    let samples_arrived = wait_http(&addr, "/metrics", Duration::from_secs(90), |_, body| {
        metric_value(body, "vane_remote_write_samples_total") > 500.0
    });
    assert!(samples_arrived, "no samples reached vane through remote write");
    // A vanished target makes Prometheus write staleness markers for its series.
    drop(exporter);
    let stale_seen = wait_http(&addr, "/metrics", Duration::from_secs(90), |_, body| {
        metric_value(body, "vane_remote_write_stale_markers_total") > 0.0
    });
    assert!(stale_seen, "Prometheus never sent staleness markers");
    let (status, _) = vane_testkit::http(&addr, "POST", "/api/v1/write", &[("Authorization", "Bearer wrong")], b"x").unwrap();
    assert_eq!(status, 401, "remote write requires the configured token");

    assert!(vane.stop().success(), "vane stops cleanly on SIGTERM");
    let events = decode_samples(&embedded_records(&data_dir, vane_stream::topics::METRICS_SAMPLES));
    let free_memory: Vec<_> = events
        .iter()
        .filter(|e| e.sample.series.name == "node_memory_MemFree_bytes")
        .collect();
    assert!(!free_memory.is_empty(), "node_memory_MemFree_bytes samples are on the topic");
    assert!(
        free_memory
            .iter()
            .all(|e| e.sample.series.labels.get("job").map(String::as_str) == Some("node"))
    );
    assert!(
        events.iter().all(|e| e.sample.value.is_finite()),
        "no staleness marker (NaN) on the samples topic"
    );
    // Every sample came through remote write, but for vane's own analysis compute time, which
    // the analytics worker writes as a series of its own.
    assert!(
        events
            .iter()
            .all(|e| e.envelope.source == "remote_write" || e.sample.series.name == "vane_analysis_duration_seconds")
    );
    let filesystems: std::collections::BTreeSet<_> = events
        .iter()
        .filter(|e| e.sample.series.name == "node_filesystem_avail_bytes")
        .map(|e| e.sample.series_id)
        .collect();
    assert!(!filesystems.is_empty(), "one series per mountpoint");
}
