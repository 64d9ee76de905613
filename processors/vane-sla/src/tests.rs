//! Tests of the SLA worker's processor: samples to statuses, violations and notifications;
//! forecasts to `violation likely`; silence to `no data`; restore from the changelog.

use std::collections::BTreeSet;

use vane_core::sla::{SlaDefinition, SlaStatus};
use vane_core::{Sample, SeriesIdentity};
use vane_events::analysis::ViolationForecast;
use vane_events::{Codec, Envelope, MetricSampleEvent, NotificationEvent, SeriesAnalysisEvent, SlaEvent, SlaEventKind};
use vane_stream::{OutRecord, Record, topics};

use super::*;
use crate::table::SlaTable;

const START: i64 = 1_700_000_000_000;

fn table_with(defs: &[SlaDefinition]) -> SharedSlaTable {
    let table = SlaTable::shared();
    for def in defs {
        table.write().unwrap().apply(def.clone(), false);
    }
    table
}

fn memory_sla() -> SlaDefinition {
    let mut def = SlaDefinition::new("sla-1", "memory", "mem", None, Some(100.0), 0);
    def.chat_id = Some(42);
    def
}

fn identity() -> SeriesIdentity {
    SeriesIdentity::new("mem".into(), [("instance".to_string(), "a".to_string())], &BTreeSet::new()).unwrap()
}

fn sample(ts: i64, value: f64, offset: u64) -> Record {
    let event = MetricSampleEvent {
        envelope: Envelope::new(ts, ts, "test"),
        sample: Sample::new(identity(), ts, value).unwrap(),
    };
    record(
        topics::METRICS_SAMPLES,
        identity().id().to_string(),
        Codec::<MetricSampleEvent>::new().unwrap().encode(&event),
        offset,
    )
}

fn record(topic: &str, key: String, value: Vec<u8>, offset: u64) -> Record {
    Record {
        topic: topic.into(),
        partition: 0,
        offset,
        timestamp_ms: 0,
        key: Some(key.into_bytes()),
        value,
        headers: vec![],
    }
}

fn analysis(at: i64, probability: f64) -> Record {
    let id = identity();
    let event = SeriesAnalysisEvent {
        envelope: Envelope::new(at, at, "test"),
        series_id: id.id(),
        name: id.name.clone(),
        labels: id.labels.clone(),
        analyzed_at_ms: at,
        compute_ms: 1.0,
        window_start_ms: at,
        window_end_ms: at,
        points: 0,
        timestamps_ms: vec![],
        values: vec![],
        aggregates: vec![],
        adf: None,
        hp: None,
        acf: None,
        pacf: None,
        decomposition: None,
        forecast: None,
        missing: Default::default(),
        violations: vec![ViolationForecast {
            sla_id: "sla-1".into(),
            min: None,
            max: Some(100.0),
            horizon_ms: 600_000,
            probability,
        }],
    };
    record(
        topics::METRICS_ANALYTICS,
        id.id().to_string(),
        Codec::<SeriesAnalysisEvent>::new().unwrap().encode(&event),
        0,
    )
}

/// Runs records through the processor as the runner does (one batch) and splits the outputs.
struct Outputs {
    events: Vec<SlaEvent>,
    notifications: Vec<NotificationEvent>,
    changelog: Vec<OutRecord>,
}

fn batch(p: &mut SlaProcessor, records: &[Record], now: i64) -> Outputs {
    let mut out = Vec::new();
    for r in records {
        p.process(r, now, &mut out).unwrap();
    }
    p.end_batch(now, &mut out);
    split(p, out)
}

fn split(p: &SlaProcessor, out: Vec<OutRecord>) -> Outputs {
    let pick = |topic: &'static str| out.iter().filter(move |r| r.topic == topic);
    Outputs {
        events: pick(topics::SLA_EVENTS)
            .map(|r| p.outputs.events.decode(&r.value).unwrap())
            .collect(),
        notifications: pick(topics::NOTIFICATIONS)
            .map(|r| p.outputs.notifications.decode(&r.value).unwrap())
            .collect(),
        changelog: pick(topics::SLA_STATE).cloned().collect(),
    }
}

fn kinds(events: &[SlaEvent]) -> Vec<(SlaEventKind, SlaStatus)> {
    events.iter().map(|e| (e.kind, e.status)).collect()
}

#[test]
fn a_violation_starts_and_ends_with_one_notification_each() {
    let mut p = SlaProcessor::new(SlaConfig::default(), table_with(&[memory_sla()])).unwrap();
    let first = batch(&mut p, &[sample(START, 50.0, 0)], START);
    assert_eq!(kinds(&first.events), [(SlaEventKind::Status, SlaStatus::Ok)]);
    assert!(first.notifications.is_empty());
    let bad = batch(
        &mut p,
        &[sample(START + 15_000, 120.0, 1), sample(START + 30_000, 130.0, 2)],
        START + 30_000,
    );
    assert_eq!(
        kinds(&bad.events),
        [
            (SlaEventKind::Status, SlaStatus::Violated),
            (SlaEventKind::Violation, SlaStatus::Violated),
            (SlaEventKind::Violation, SlaStatus::Violated)
        ]
    );
    assert_eq!(bad.events[0].previous, Some(SlaStatus::Ok));
    assert_eq!(bad.notifications.len(), 1);
    assert_eq!(bad.notifications[0].kind, "violation_started");
    assert_eq!(bad.changelog.len(), 1, "one changelog record per series per batch");
    let good = batch(&mut p, &[sample(START + 45_000, 80.0, 3)], START + 45_000);
    assert_eq!(kinds(&good.events), [(SlaEventKind::Status, SlaStatus::Ok)]);
    assert_eq!(good.notifications.len(), 1);
    assert!(
        good.notifications[0].text.contains("back in range after 30s"),
        "{}",
        good.notifications[0].text
    );
}

#[test]
fn a_restart_from_the_changelog_repeats_nothing() {
    let table = table_with(&[memory_sla()]);
    let mut p = SlaProcessor::new(SlaConfig::default(), table.clone()).unwrap();
    let records = [sample(START, 50.0, 0), sample(START + 15_000, 120.0, 1)];
    let before = batch(&mut p, &records, START + 15_000);
    assert_eq!(before.notifications.len(), 1);
    // The batch was written (events and changelog) but its offsets not committed: a new worker
    // restores the changelog and gets the same records again.
    let mut restarted = SlaProcessor::new(SlaConfig::default(), table).unwrap();
    for (offset, r) in before.changelog.iter().enumerate() {
        restarted
            .restore(&record(
                topics::SLA_STATE,
                String::from_utf8(r.key.clone()).unwrap(),
                r.value.clone(),
                offset as u64,
            ))
            .unwrap();
    }
    let again = batch(&mut restarted, &records, START + 20_000);
    assert!(again.events.is_empty() && again.notifications.is_empty());
    // And carries on from the restored status: the next good sample ends the violation.
    let next = batch(&mut restarted, &[sample(START + 30_000, 10.0, 2)], START + 30_000);
    assert_eq!(next.events[0].previous, Some(SlaStatus::Violated));
    assert_eq!(next.notifications[0].kind, "violation_ended");
}

#[test]
fn forecasts_warn_once_when_a_violation_becomes_likely() {
    let mut p = SlaProcessor::new(SlaConfig::default(), table_with(&[memory_sla()])).unwrap();
    batch(&mut p, &[sample(START, 50.0, 0)], START);
    let unlikely = batch(&mut p, &[analysis(START + 60_000, 0.1)], START + 60_000);
    assert_eq!(kinds(&unlikely.events), [(SlaEventKind::Forecast, SlaStatus::Ok)]);
    assert!(!unlikely.events[0].likely && unlikely.notifications.is_empty());
    let likely = batch(&mut p, &[analysis(START + 120_000, 0.8)], START + 120_000);
    assert!(likely.events[0].likely);
    assert_eq!(likely.events[0].probability, Some(0.8));
    assert_eq!(likely.notifications.len(), 1);
    assert!(
        likely.notifications[0].text.contains("80 % chance"),
        "{}",
        likely.notifications[0].text
    );
    let still = batch(&mut p, &[analysis(START + 180_000, 0.9)], START + 180_000);
    assert!(still.notifications.is_empty(), "no repeat while it stays likely");
}

#[test]
fn a_silent_series_becomes_no_data_and_unwatched_series_are_ignored() {
    let config = SlaConfig {
        no_data_after_ms: 60_000,
        ..SlaConfig::default()
    };
    let mut p = SlaProcessor::new(config, table_with(&[memory_sla()])).unwrap();
    batch(&mut p, &[sample(START, 150.0, 0)], START);
    let mut out = Vec::new();
    p.punctuate(START + 30_000, &mut out);
    assert!(out.is_empty());
    // A newer sample in the same status: the next punctuation refreshes the current value.
    batch(&mut p, &[sample(START + 40_000, 160.0, 1)], START + 40_000);
    p.punctuate(START + 45_000, &mut out);
    let refreshed = split(&p, std::mem::take(&mut out));
    assert_eq!(kinds(&refreshed.events), [(SlaEventKind::Status, SlaStatus::Violated)]);
    assert_eq!(refreshed.events[0].previous, Some(SlaStatus::Violated));
    assert_eq!(refreshed.events[0].value, Some(160.0));
    p.punctuate(START + 50_000, &mut out);
    assert!(out.is_empty(), "once per value");
    p.punctuate(START + 101_000, &mut out);
    p.end_batch(START + 101_000, &mut out);
    let silent = split(&p, out);
    assert_eq!(kinds(&silent.events), [(SlaEventKind::Status, SlaStatus::NoData)]);
    assert_eq!(silent.events[0].previous, Some(SlaStatus::Violated));
    assert_eq!(silent.changelog.len(), 1);
    // A series no SLA watches produces nothing.
    let mut other = SlaProcessor::new(SlaConfig::default(), table_with(&[])).unwrap();
    let nothing = batch(&mut other, &[sample(START, 1e9, 0)], START);
    assert!(nothing.events.is_empty() && nothing.changelog.is_empty());
}

#[test]
fn an_updated_range_judges_the_next_sample() {
    let table = table_with(&[memory_sla()]);
    let mut p = SlaProcessor::new(SlaConfig::default(), table.clone()).unwrap();
    let bad = batch(&mut p, &[sample(START, 150.0, 0)], START);
    assert_eq!(bad.events[0].status, SlaStatus::Violated);
    let mut wider = memory_sla();
    wider.max = Some(1_000.0);
    wider.revision = 2;
    table.write().unwrap().apply(wider, false);
    let ok = batch(&mut p, &[sample(START + 15_000, 150.0, 1)], START + 15_000);
    assert_eq!(kinds(&ok.events), [(SlaEventKind::Status, SlaStatus::Ok)]);
    // Deleted: nothing more.
    let mut deleted = memory_sla();
    deleted.revision = 3;
    table.write().unwrap().apply(deleted, true);
    let gone = batch(&mut p, &[sample(START + 30_000, 5_000.0, 2)], START + 30_000);
    assert!(gone.events.is_empty());
}
