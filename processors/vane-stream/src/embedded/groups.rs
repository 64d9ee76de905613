//! Consumer groups of the embedded log: members, partition assignment and committed offsets.
//!
//! Every member of a group subscribes to the same topics; the group's partitions, sorted, go
//! round-robin to its members sorted by id, recomputed whenever a member joins or leaves (the
//! generation changes). Committed offsets are the next offset to read, kept in
//! `groups/<group>.json`, replaced atomically (write, then rename). A crash between a commit and
//! its file write replays a few records, which at-least-once allows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

use super::EmbeddedLog;
use crate::{Record, StreamError};

type TopicPartition = (String, u32);

#[derive(Debug, Default)]
struct Group {
    members: BTreeSet<u64>,
    generation: u64,
    committed: BTreeMap<String, BTreeMap<u32, u64>>,
    loaded: bool,
}

#[derive(Debug)]
pub struct Groups {
    dir: PathBuf,
    state: Mutex<(u64, HashMap<String, Group>)>,
}

impl Groups {
    pub fn new(dir: PathBuf) -> Self {
        Groups {
            dir,
            state: Mutex::new((0, HashMap::new())),
        }
    }

    fn with<T>(&self, name: &str, f: impl FnOnce(&mut Group, &mut u64) -> T) -> T {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (next_member, groups) = &mut *guard;
        let group = groups.entry(name.to_string()).or_default();
        if !group.loaded {
            let path = self.dir.join(format!("{name}.json"));
            if let Ok(text) = fs::read_to_string(&path) {
                match serde_json::from_str(&text) {
                    Ok(committed) => group.committed = committed,
                    Err(error) => {
                        tracing::warn!(path = %path.display(), %error, "unreadable committed offsets; the group starts from the beginning")
                    }
                }
            }
            group.loaded = true;
        }
        f(group, next_member)
    }

    fn join(&self, name: &str) -> u64 {
        self.with(name, |group, next_member| {
            *next_member += 1;
            group.members.insert(*next_member);
            group.generation += 1;
            *next_member
        })
    }

    fn leave(&self, name: &str, member: u64) {
        self.with(name, |group, _| {
            group.members.remove(&member);
            group.generation += 1;
        });
    }

    /// The member's partitions of `all`, the group generation and the committed offsets.
    fn assignment(&self, name: &str, member: u64, all: &[TopicPartition]) -> (u64, Vec<(TopicPartition, u64)>) {
        self.with(name, |group, _| {
            let members: Vec<u64> = group.members.iter().copied().collect();
            let me = members.iter().position(|m| *m == member).unwrap_or(0);
            let count = members.len().max(1);
            let mine = all
                .iter()
                .enumerate()
                .filter(|(i, _)| i % count == me)
                .map(|(_, tp)| {
                    let committed = group.committed.get(&tp.0).and_then(|p| p.get(&tp.1)).copied().unwrap_or(0);
                    (tp.clone(), committed)
                })
                .collect();
            (group.generation, mine)
        })
    }

    fn generation(&self, name: &str) -> u64 {
        self.with(name, |group, _| group.generation)
    }

    fn commit(&self, name: &str, offsets: &[(TopicPartition, u64)]) -> Result<(), StreamError> {
        let path = self.dir.join(format!("{name}.json"));
        let temp = self.dir.join(format!("{name}.json.tmp"));
        // Written and renamed under the lock: members of one group never interleave their files.
        self.with(name, |group, _| {
            for ((topic, partition), offset) in offsets {
                group.committed.entry(topic.clone()).or_default().insert(*partition, *offset);
            }
            let text = serde_json::to_string(&group.committed).unwrap_or_default();
            fs::write(&temp, text).map_err(|e| StreamError::io(&temp, e))?;
            fs::rename(&temp, &path).map_err(|e| StreamError::io(&path, e))
        })
    }
}

/// A consumer of the embedded log.
#[derive(Debug)]
pub struct EmbeddedConsumer {
    log: EmbeddedLog,
    group: Option<(String, u64)>,
    topics: Vec<String>,
    generation: Option<u64>,
    positions: Vec<(TopicPartition, u64)>,
    next: usize,
    data: watch::Receiver<u64>,
}

impl EmbeddedConsumer {
    pub(super) fn new(log: EmbeddedLog, group: Option<&str>, topics: &[&str]) -> Self {
        let group = group.map(|name| (name.to_string(), log.inner().groups.join(name)));
        let data = log.subscribe_data();
        EmbeddedConsumer {
            log,
            group,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            generation: None,
            positions: Vec::new(),
            next: 0,
            data,
        }
    }

    fn all_partitions(&self) -> Vec<TopicPartition> {
        let mut all = Vec::new();
        for topic in &self.topics {
            let count = self.log.partition_count(topic).unwrap_or(0);
            all.extend((0..count).map(|p| (topic.clone(), p)));
        }
        // Every member must see the same order, whatever order it listed its topics in.
        all.sort();
        all
    }

    /// Re-reads the assignment when the group changed; positions restart from committed offsets.
    fn refresh_assignment(&mut self) {
        match &self.group {
            Some((name, member)) => {
                let groups = &self.log.inner().groups;
                if self.generation == Some(groups.generation(name)) {
                    return;
                }
                let (generation, mine) = groups.assignment(name, *member, &self.all_partitions());
                self.generation = Some(generation);
                self.positions = mine;
            }
            None if self.generation.is_none() => {
                self.generation = Some(0);
                self.positions = self.all_partitions().into_iter().map(|tp| (tp, 0)).collect();
            }
            None => {}
        }
    }

    /// The partitions this consumer currently owns.
    pub fn assignment(&mut self) -> Vec<TopicPartition> {
        self.refresh_assignment();
        self.positions.iter().map(|(tp, _)| tp.clone()).collect()
    }

    /// Up to `max` records, waiting at most `timeout` for the first one.
    pub async fn poll(&mut self, max: usize, timeout: Duration) -> Result<Vec<Record>, StreamError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            self.data.borrow_and_update();
            self.refresh_assignment();
            let mut out = Vec::new();
            let count = self.positions.len();
            for step in 0..count {
                let index = (self.next + step) % count;
                let Some(((topic, partition), position)) = self.positions.get_mut(index) else {
                    continue;
                };
                let (records, next) = self.log.fetch(topic, *partition, *position, max - out.len())?;
                *position = next;
                out.extend(records);
                if out.len() >= max {
                    break;
                }
            }
            self.next = self.next.wrapping_add(1);
            if !out.is_empty() {
                return Ok(out);
            }
            let wait = tokio::time::timeout_at(deadline, self.data.changed()).await;
            match wait {
                Err(_) => return Ok(Vec::new()),
                Ok(Err(_)) => return Err(StreamError::Closed),
                Ok(Ok(())) => {}
            }
        }
    }

    /// Commits the next offsets to read. Partitions no longer assigned are ignored.
    pub fn commit(&mut self, offsets: &[(TopicPartition, u64)]) -> Result<(), StreamError> {
        let Some((name, _)) = &self.group else { return Ok(()) };
        let owned: Vec<(TopicPartition, u64)> = offsets
            .iter()
            .filter(|(tp, _)| self.positions.iter().any(|(mine, _)| mine == tp))
            .cloned()
            .collect();
        self.log.inner().groups.commit(name, &owned)
    }

    /// Records between this consumer's positions and the end of its partitions.
    pub fn lag(&self) -> u64 {
        let mut lag = 0;
        for ((topic, partition), position) in &self.positions {
            if let Ok(p) = self.log.partition(topic, *partition) {
                lag += p.end_offset().saturating_sub(*position);
            }
        }
        lag
    }
}

impl Drop for EmbeddedConsumer {
    fn drop(&mut self) {
        if let Some((name, member)) = &self.group {
            self.log.inner().groups.leave(name, *member);
        }
    }
}
