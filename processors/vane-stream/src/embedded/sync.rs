//! Group commit: one background thread fsyncs every file written since its last round, then
//! publishes the new durable offsets and wakes the producers and consumers waiting for them.
//! Producers that arrive while an fsync runs share the next one, so throughput grows with load
//! while each write still waits for its own data to reach the disk.

use std::collections::HashMap;
use std::fs::File;
use std::sync::{Arc, Condvar, Mutex};

use tokio::sync::watch;

use super::partition::Partition;
use crate::StreamError;

type Written = Vec<(Arc<Partition>, u64, Arc<File>)>;

#[derive(Debug, Default)]
struct Pending {
    ticket: u64,
    writes: Vec<(Arc<Partition>, u64, Arc<File>)>,
    failed: Option<String>,
    closed: bool,
}

#[derive(Debug)]
pub struct Syncer {
    pending: Arc<(Mutex<Pending>, Condvar)>,
    synced: watch::Receiver<(u64, Option<String>)>,
}

impl Syncer {
    pub fn start(data_version: watch::Sender<u64>) -> Syncer {
        let pending = Arc::new((Mutex::new(Pending::default()), Condvar::new()));
        let (synced_tx, synced) = watch::channel((0u64, None));
        let shared = Arc::clone(&pending);
        std::thread::Builder::new()
            .name("vane-log-sync".into())
            .spawn(move || sync_loop(&shared, &synced_tx, &data_version))
            .map_err(|e| tracing::error!(%e, "cannot start the log sync thread"))
            .ok();
        Syncer { pending, synced }
    }

    /// Queues written data for the next fsync round; returns the ticket to wait for.
    pub fn submit(&self, written: Written) -> u64 {
        let (lock, wake) = &*self.pending;
        let mut pending = lock.lock().unwrap_or_else(|p| p.into_inner());
        pending.ticket += 1;
        pending.writes.extend(written);
        wake.notify_one();
        pending.ticket
    }

    /// Waits until the round that covers `ticket` has fsynced.
    pub async fn wait(&self, ticket: u64) -> Result<(), StreamError> {
        let mut synced = self.synced.clone();
        let state = synced
            .wait_for(|(done, failed)| *done >= ticket || failed.is_some())
            .await
            .map_err(|_| StreamError::Closed)?;
        match &state.1 {
            Some(reason) => Err(StreamError::io("log", std::io::Error::other(reason.clone()))),
            None => Ok(()),
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        let (lock, wake) = &*self.pending;
        lock.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
        wake.notify_one();
    }
}

fn sync_loop(pending: &(Mutex<Pending>, Condvar), synced: &watch::Sender<(u64, Option<String>)>, data_version: &watch::Sender<u64>) {
    let (lock, wake) = pending;
    loop {
        let (ticket, writes) = {
            let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
            while state.writes.is_empty() {
                if state.closed {
                    return;
                }
                state = wake.wait(state).unwrap_or_else(|p| p.into_inner());
            }
            if let Some(reason) = state.failed.clone() {
                synced.send_replace((0, Some(reason)));
                return;
            }
            (state.ticket, std::mem::take(&mut state.writes))
        };
        let mut files: HashMap<*const File, &Arc<File>> = HashMap::new();
        let mut ends: HashMap<*const Partition, (&Arc<Partition>, u64)> = HashMap::new();
        for (partition, end, file) in &writes {
            files.insert(Arc::as_ptr(file), file);
            let entry = ends.entry(Arc::as_ptr(partition)).or_insert((partition, *end));
            entry.1 = entry.1.max(*end);
        }
        for file in files.values() {
            if let Err(error) = file.sync_data() {
                tracing::error!(%error, "fsync of the embedded log failed; the log stops accepting writes");
                lock.lock().unwrap_or_else(|p| p.into_inner()).failed = Some(error.to_string());
                synced.send_replace((0, Some(error.to_string())));
                return;
            }
        }
        for (partition, end) in ends.values() {
            partition.mark_durable(*end);
        }
        synced.send_replace((ticket, None));
        data_version.send_modify(|v| *v += 1);
    }
}
