//! The definitions this API process wrote that the store may not show yet.
//!
//! A change goes to the log; the projector writes it into the store a moment later. Until then
//! the store still answers the previous revision, so a create followed at once by an update (or a
//! second create with the same name) would be judged against stale rows. The API therefore keeps
//! what it wrote and merges it over what the store answers, by revision: the higher revision of an
//! id wins, and an entry is forgotten once the store shows its revision. Only changes made through
//! this process are covered (several API replicas each see their own). Pure.

use std::collections::HashMap;

use vane_store::SlaDefinitionRow;

/// Entries kept at most; past that the oldest are forgotten (the store has caught up with them
/// unless the projector is stopped, and then reads are stale anyway).
const MAX_ENTRIES: usize = 10_000;

/// Written definitions by SLA id, with the order they were written in.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    by_id: HashMap<String, (u64, SlaDefinitionRow)>,
    written: u64,
}

impl Pending {
    /// Remembers a definition just written to the log.
    pub(crate) fn record(&mut self, row: SlaDefinitionRow) {
        self.written = self.written.wrapping_add(1);
        self.by_id.insert(row.definition.id.clone(), (self.written, row));
        if self.by_id.len() > MAX_ENTRIES {
            let oldest = self.by_id.iter().min_by_key(|(_, (order, _))| *order).map(|(id, _)| id.clone());
            if let Some(id) = oldest {
                self.by_id.remove(&id);
            }
        }
    }

    /// The newer of the store's row and the written one for the same id; forgets the written one
    /// when the store has caught up.
    pub(crate) fn merge(&mut self, id: &str, stored: Option<SlaDefinitionRow>) -> Option<SlaDefinitionRow> {
        let Some((_, written)) = self.by_id.get(id) else {
            return stored;
        };
        match stored {
            Some(stored) if stored.definition.revision >= written.definition.revision => {
                self.by_id.remove(id);
                Some(stored)
            }
            _ => Some(written.clone()),
        }
    }

    /// Ids of written definitions that are named `name` and not deleted.
    pub(crate) fn ids_named(&self, name: &str) -> Vec<String> {
        self.by_id
            .values()
            .filter(|(_, row)| !row.deleted && row.definition.name == name)
            .map(|(_, row)| row.definition.id.clone())
            .collect()
    }

    /// Every stored row merged with the written ones (those the store does not have yet
    /// included), ordered by name then id.
    pub(crate) fn merge_all(&mut self, stored: Vec<SlaDefinitionRow>) -> Vec<SlaDefinitionRow> {
        let mut merged: HashMap<String, SlaDefinitionRow> = HashMap::with_capacity(stored.len());
        for row in stored {
            let id = row.definition.id.clone();
            if let Some(row) = self.merge(&id, Some(row)) {
                merged.insert(id, row);
            }
        }
        for (_, row) in self.by_id.values() {
            merged.entry(row.definition.id.clone()).or_insert_with(|| row.clone());
        }
        let mut rows: Vec<SlaDefinitionRow> = merged.into_values().collect();
        rows.sort_by(|a, b| {
            a.definition
                .name
                .cmp(&b.definition.name)
                .then_with(|| a.definition.id.cmp(&b.definition.id))
        });
        rows
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_id.len()
    }
}

#[cfg(test)]
mod tests {
    use vane_core::sla::SlaDefinition;

    use super::*;

    fn row(id: &str, name: &str, revision: i64, deleted: bool) -> SlaDefinitionRow {
        let mut definition = SlaDefinition::new(id, name, "m", None, Some(1.0), 0);
        definition.revision = revision;
        SlaDefinitionRow { definition, deleted }
    }

    #[test]
    fn the_higher_revision_wins_and_caught_up_entries_go() {
        let mut pending = Pending::default();
        pending.record(row("a", "first", 2, false));
        assert_eq!(
            pending.merge("a", Some(row("a", "old", 1, false))).unwrap().definition.name,
            "first"
        );
        assert_eq!(pending.merge("a", None).unwrap().definition.revision, 2);
        assert_eq!(pending.len(), 1);
        assert_eq!(
            pending.merge("a", Some(row("a", "stored", 2, false))).unwrap().definition.name,
            "stored"
        );
        assert_eq!(pending.len(), 0, "the store caught up");
        assert!(pending.merge("b", None).is_none());
    }

    #[test]
    fn lists_include_unprojected_writes_and_names_skip_deleted_ones() {
        let mut pending = Pending::default();
        pending.record(row("b", "new", 1, false));
        pending.record(row("c", "gone", 4, true));
        let rows = pending.merge_all(vec![row("a", "zeta", 1, false), row("c", "gone", 3, false)]);
        let names: Vec<(&str, bool)> = rows.iter().map(|r| (r.definition.name.as_str(), r.deleted)).collect();
        assert_eq!(names, [("gone", true), ("new", false), ("zeta", false)]);
        assert_eq!(pending.ids_named("new"), ["b"]);
        assert!(pending.ids_named("gone").is_empty());
    }

    #[test]
    fn the_oldest_entries_are_forgotten_past_the_cap() {
        let mut pending = Pending::default();
        for i in 0..=MAX_ENTRIES {
            pending.record(row(&format!("id-{i}"), "n", 1, false));
        }
        assert_eq!(pending.len(), MAX_ENTRIES);
        assert!(pending.merge("id-0", None).is_none());
        assert!(pending.merge(&format!("id-{MAX_ENTRIES}"), None).is_some());
    }
}
