//! Rows, queries and listing walks the SLA conformance suites share.

// Each suite uses part of the fixtures.
#![allow(dead_code)]

use std::collections::BTreeMap;

use vane_core::Labels;
use vane_core::matcher::{MatchOp, Matcher};
use vane_core::sla::{Severity, SlaDefinition, SlaStatus};
use vane_store::{
    Page, Paged, SlaDefinitionRow, SlaRangeQuery, SlaStatusRow, SlaStatusUpdate, SlaTransitionRow, SlaViolationRow, Store, StoreError,
};

pub const T0: i64 = 1_700_000_000_000;

pub fn id(n: u64) -> String {
    format!("{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

pub fn labels(n: u64) -> Labels {
    BTreeMap::from([
        ("instance".to_string(), format!("host-{n}:9100")),
        ("ünï".to_string(), "a,b=\"c\"".to_string()),
    ])
}

pub fn definition(sla_id: &str, name: &str, revision: i64, deleted: bool) -> SlaDefinitionRow {
    let mut d = SlaDefinition::new(sla_id, name, "node_memory_MemFree_bytes", Some(-1.5e-300), Some(1e12), T0);
    d.matchers = vec![Matcher {
        name: "instance".into(),
        op: MatchOp::Regex,
        value: "host-.*".into(),
    }];
    d.for_ms = 60_000;
    d.recovery_margin = Some(0.1);
    d.severity = Severity::Critical;
    d.chat_id = Some(-100_123);
    d.revision = revision;
    d.updated_at_ms = T0 + revision;
    SlaDefinitionRow { definition: d, deleted }
}

pub fn status(sla_id: &str, n: u64, status: SlaStatus, value: Option<f64>, at_ms: i64) -> SlaStatusUpdate {
    SlaStatusUpdate::Status {
        sla_id: sla_id.into(),
        series_id: id(n),
        metric: "m".into(),
        labels: labels(n),
        status,
        value,
        at_ms,
    }
}

pub fn forecast(sla_id: &str, n: u64, probability: f64, at_ms: i64) -> SlaStatusUpdate {
    SlaStatusUpdate::Forecast {
        sla_id: sla_id.into(),
        series_id: id(n),
        probability,
        horizon_ms: 600_000,
        likely: probability > 0.5,
        at_ms,
    }
}

pub fn violation(sla_id: &str, n: u64, at_ms: i64) -> SlaViolationRow {
    SlaViolationRow {
        sla_id: sla_id.into(),
        at_ms,
        series_id: id(n),
        metric: "m".into(),
        labels: labels(n),
        value: at_ms as f64 / 1000.0 + n as f64,
    }
}

pub fn transition(sla_id: &str, n: u64, at_ms: i64, from: Option<SlaStatus>, to: SlaStatus) -> SlaTransitionRow {
    SlaTransitionRow {
        sla_id: sla_id.into(),
        at_ms,
        series_id: id(n),
        metric: "m".into(),
        labels: labels(n),
        from,
        to,
        value: Some(n as f64),
    }
}

pub fn range(sla_id: &str, from_ms: Option<i64>, to_ms: Option<i64>) -> SlaRangeQuery {
    SlaRangeQuery {
        sla_id: sla_id.into(),
        from_ms,
        to_ms,
    }
}

/// Every page of a listing, following tokens; checks that every page but the last is full.
pub async fn walk<T, F, Fut>(limit: u32, list: F) -> Vec<T>
where
    F: Fn(Page) -> Fut,
    Fut: std::future::Future<Output = Result<Paged<T>, StoreError>>,
{
    let mut rows = Vec::new();
    let mut page = Page::first(limit);
    loop {
        let Paged { rows: got, next } = list(page).await.unwrap();
        assert!(got.len() <= limit as usize);
        let full = got.len() == limit as usize;
        rows.extend(got);
        match next {
            Some(token) => {
                assert!(full, "only the last page may be short");
                page = Page::after(limit, token);
            }
            None => return rows,
        }
    }
}

pub async fn statuses(store: &Store, sla_id: Option<&str>, limit: u32) -> Vec<SlaStatusRow> {
    walk(limit, |page| async move { store.list_sla_status(sla_id, &page).await }).await
}

pub async fn violations(store: &Store, query: &SlaRangeQuery, limit: u32) -> Vec<SlaViolationRow> {
    walk(limit, |page| async move { store.list_sla_violations(query, &page).await }).await
}

pub async fn transitions(store: &Store, query: &SlaRangeQuery, limit: u32) -> Vec<SlaTransitionRow> {
    walk(limit, |page| async move { store.list_sla_transitions(query, &page).await }).await
}
