//! The SLA definitions every worker needs, rebuilt from the compacted `vane.sla.definitions`
//! topic (a global table: each replica holds all of it), with each definition's selector
//! compiled once. Pure; [`crate::follow`] feeds it from the log.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use vane_core::Labels;
use vane_core::matcher::{MatchOp, Selector};
use vane_core::sla::SlaDefinition;

/// One live SLA with its compiled selector.
#[derive(Debug, Clone)]
pub struct ActiveSla {
    pub definition: SlaDefinition,
    selector: Selector,
}

impl ActiveSla {
    /// Whether the SLA watches the series `metric{labels}`.
    pub fn watches(&self, metric: &str, labels: &Labels) -> bool {
        self.definition.metric == metric && self.selector.matches(metric, labels)
    }
}

/// Every live SLA by id; `version` changes whenever the set or a definition does.
#[derive(Debug, Default)]
pub struct SlaTable {
    slas: HashMap<String, Arc<ActiveSla>>,
    /// SLA ids by metric name, then by one of their equality matchers: a series is matched only
    /// against the SLAs that can select it (10,000 SLAs told apart by a label cost one lookup
    /// per series, not 10,000 matcher checks).
    by_metric: HashMap<String, MetricIndex>,
    /// Highest revision seen per id, deleted ones included (an older record replayed after a
    /// newer one changes nothing).
    revisions: HashMap<String, i64>,
    version: u64,
}

/// The SLAs of one metric.
#[derive(Debug, Default)]
struct MetricIndex {
    /// label → value → ids of the SLAs with the matcher `label="value"`.
    by_label: HashMap<String, HashMap<String, Vec<String>>>,
    /// Ids of the SLAs without such a matcher: checked against every series.
    scan: Vec<String>,
}

impl MetricIndex {
    fn slot(&mut self, key: Option<&(String, String)>) -> &mut Vec<String> {
        match key {
            Some((label, value)) => self.by_label.entry(label.clone()).or_default().entry(value.clone()).or_default(),
            None => &mut self.scan,
        }
    }

    fn is_empty(&self) -> bool {
        self.scan.is_empty() && self.by_label.is_empty()
    }

    fn remove(&mut self, key: Option<&(String, String)>, id: &str) {
        self.slot(key).retain(|other| other != id);
        if let Some((label, value)) = key
            && let Some(values) = self.by_label.get_mut(label)
        {
            if values.get(value).is_some_and(Vec::is_empty) {
                values.remove(value);
            }
            if values.is_empty() {
                self.by_label.remove(label);
            }
        }
    }

    /// Ids of the SLAs that may select a series with `labels`.
    fn candidates<'a>(&'a self, labels: &'a Labels) -> impl Iterator<Item = &'a String> + 'a {
        let indexed = self
            .by_label
            .iter()
            .filter_map(|(label, values)| labels.get(label).and_then(|value| values.get(value)))
            .flatten();
        self.scan.iter().chain(indexed)
    }
}

/// The equality matcher an SLA is indexed by: the first `label="value"` with a non-empty value
/// (an empty value also matches a missing label, so it cannot be looked up).
fn index_key(definition: &SlaDefinition) -> Option<(String, String)> {
    definition
        .matchers
        .iter()
        .find(|m| m.op == MatchOp::Equal && !m.value.is_empty() && m.name != vane_core::matcher::METRIC_NAME_LABEL)
        .map(|m| (m.name.clone(), m.value.clone()))
}

/// The table shared by the follower task (writer) and the processors (readers).
pub type SharedSlaTable = Arc<RwLock<SlaTable>>;

impl SlaTable {
    pub fn shared() -> SharedSlaTable {
        Arc::new(RwLock::new(SlaTable::default()))
    }

    /// Applies one definition record. Returns false when it changed nothing (an older or the
    /// same revision) or its definition does not compile (the API validates, so only a foreign
    /// writer gets here; the record is skipped with a warning).
    pub fn apply(&mut self, definition: SlaDefinition, deleted: bool) -> bool {
        if self.revisions.get(&definition.id).is_some_and(|seen| *seen >= definition.revision) {
            return false;
        }
        self.revisions.insert(definition.id.clone(), definition.revision);
        self.remove(&definition.id);
        if !deleted {
            match definition.selector() {
                Ok(selector) => {
                    let key = index_key(&definition);
                    let index = self.by_metric.entry(definition.metric.clone()).or_default();
                    index.slot(key.as_ref()).push(definition.id.clone());
                    self.slas
                        .insert(definition.id.clone(), Arc::new(ActiveSla { definition, selector }));
                }
                Err(error) => {
                    tracing::warn!(sla = %definition.id, %error, "SLA definition skipped: its selector does not compile");
                }
            }
        }
        self.version += 1;
        true
    }

    fn remove(&mut self, id: &str) {
        if let Some(old) = self.slas.remove(id)
            && let Some(index) = self.by_metric.get_mut(&old.definition.metric)
        {
            index.remove(index_key(&old.definition).as_ref(), id);
            if index.is_empty() {
                self.by_metric.remove(&old.definition.metric);
            }
        }
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn len(&self) -> usize {
        self.slas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slas.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Arc<ActiveSla>> {
        self.slas.get(id)
    }

    /// The SLAs watching `metric{labels}`, ordered by id.
    pub fn watching(&self, metric: &str, labels: &Labels) -> Vec<Arc<ActiveSla>> {
        let Some(index) = self.by_metric.get(metric) else {
            return Vec::new();
        };
        let mut found: Vec<Arc<ActiveSla>> = index
            .candidates(labels)
            .filter_map(|id| self.slas.get(id))
            .filter(|sla| sla.watches(metric, labels))
            .cloned()
            .collect();
        found.sort_by(|a, b| a.definition.id.cmp(&b.definition.id));
        found
    }
}

#[cfg(test)]
mod tests {
    use vane_core::matcher::Matcher;

    use super::*;

    fn def(id: &str, revision: i64, matcher: Option<&str>) -> SlaDefinition {
        let mut d = SlaDefinition::new(id, &format!("sla-{id}"), "up", None, Some(1.0), 0);
        d.revision = revision;
        d.matchers = matcher.map(|m| vec![Matcher::parse(m).unwrap()]).unwrap_or_default();
        d
    }

    fn labels(job: &str) -> Labels {
        [("job".to_string(), job.to_string())].into_iter().collect()
    }

    #[test]
    fn newer_revisions_win_and_deletes_stick() {
        let mut table = SlaTable::default();
        assert!(table.apply(def("a", 2, Some("job=node")), false));
        assert!(!table.apply(def("a", 1, None), false), "older revision replayed");
        assert_eq!(table.watching("up", &labels("node")).len(), 1);
        assert!(table.watching("up", &labels("other")).is_empty());
        assert!(table.watching("down", &labels("node")).is_empty());
        assert!(table.apply(def("a", 3, None), true));
        assert!(table.is_empty());
        assert!(!table.apply(def("a", 2, None), false), "a delete is not undone by an older record");
        assert_eq!(table.version(), 2);
    }

    #[test]
    fn indexed_and_scanned_slas_are_both_found_and_removed() {
        let mut table = SlaTable::default();
        table.apply(def("eq", 1, Some("job=node")), false);
        table.apply(def("re", 1, Some("job=~no.*")), false);
        table.apply(def("empty", 1, Some("env=")), false);
        let ids =
            |t: &SlaTable, job: &str| -> Vec<String> { t.watching("up", &labels(job)).iter().map(|s| s.definition.id.clone()).collect() };
        assert_eq!(ids(&table, "node"), ["empty", "eq", "re"]);
        assert_eq!(ids(&table, "nomad"), ["empty", "re"]);
        table.apply(def("eq", 2, Some("job=other")), false);
        assert_eq!(ids(&table, "node"), ["empty", "re"]);
        assert_eq!(ids(&table, "other"), ["empty", "eq"]);
        table.apply(def("eq", 3, None), true);
        table.apply(def("re", 2, None), true);
        table.apply(def("empty", 2, None), true);
        assert!(table.by_metric.is_empty());
    }

    #[test]
    fn watching_is_ordered_by_id() {
        let mut table = SlaTable::default();
        for id in ["c", "a", "b"] {
            table.apply(def(id, 1, None), false);
        }
        let ids: Vec<String> = table.watching("up", &labels("x")).iter().map(|s| s.definition.id.clone()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }
}
