//! One embedded partition: its segment files, appends and reads.
//!
//! Appends are written to the page cache under the partition lock and become visible to readers
//! only when the group-commit thread has fsynced them (`durable`), which is also when producers
//! get their acknowledgement: a consumer never sees a record that a crash could take back.

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::segment::{self, Frame, Segment};
use crate::{OutRecord, Record, StreamError};

/// Reads at most this many bytes of a segment per fetch.
const FETCH_BYTES: usize = 1 << 20;

#[derive(Debug)]
pub struct Partition {
    pub topic: String,
    pub id: u32,
    dir: PathBuf,
    segment_bytes: u64,
    state: Mutex<State>,
    /// One past the last offset that is on disk (fsynced).
    durable: AtomicU64,
}

#[derive(Debug)]
struct State {
    /// Ascending by base offset; never empty; the last one is active.
    segments: Vec<Segment>,
    next_offset: u64,
}

impl Partition {
    /// Opens (or creates) the partition directory, recovering from a torn tail.
    pub fn open(dir: PathBuf, topic: &str, id: u32, segment_bytes: u64) -> Result<Partition, StreamError> {
        fs::create_dir_all(&dir).map_err(|e| StreamError::io(&dir, e))?;
        let mut bases = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| StreamError::io(&dir, e))? {
            let entry = entry.map_err(|e| StreamError::io(&dir, e))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(base) = name.strip_suffix(".log").and_then(|b| b.parse::<u64>().ok()) {
                bases.push(base);
            } else if name.ends_with(".compacting") {
                // Left over by a compaction interrupted before its rename: the original is intact.
                let _ = fs::remove_file(entry.path());
            }
        }
        bases.sort_unstable();
        let mut segments = Vec::new();
        for (i, base) in bases.iter().enumerate() {
            let last = i + 1 == bases.len();
            segments.push(Segment::open(dir.join(segment::file_name(*base)), *base, last, topic, id)?);
        }
        if segments.is_empty() {
            segments.push(Segment::create(&dir, 0)?);
        }
        let next_offset = segments.last().map_or(0, |s| s.next_offset);
        Ok(Partition {
            topic: topic.to_string(),
            id,
            dir,
            segment_bytes,
            state: Mutex::new(State { segments, next_offset }),
            durable: AtomicU64::new(next_offset),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes the records to the active segment (page cache) and returns the end offset and the
    /// file that the group-commit thread must fsync before the records count as written.
    pub fn append(&self, records: &[&OutRecord]) -> Result<(u64, Arc<fs::File>), StreamError> {
        let mut state = self.lock();
        let needs_roll = state.segments.last().is_some_and(|s| s.size >= self.segment_bytes);
        if needs_roll {
            if let Some(active) = state.segments.last() {
                active.file.sync_data().map_err(|e| StreamError::io(&active.path, e))?;
            }
            let segment = Segment::create(&self.dir, state.next_offset)?;
            state.segments.push(segment);
        }
        let mut offset = state.next_offset;
        let State { segments, next_offset } = &mut *state;
        let Some(active) = segments.last_mut() else {
            return Err(StreamError::Closed);
        };
        let mut buffer = Vec::with_capacity(records.len() * 128);
        let mut frames = Vec::with_capacity(records.len());
        for record in records {
            let start = buffer.len();
            segment::encode_frame(
                &mut buffer,
                offset,
                record.timestamp_ms,
                Some(&record.key),
                &record.value,
                &record.headers,
            );
            frames.push((offset, record.timestamp_ms, start, buffer.len() - start));
            offset += 1;
        }
        let position = active.size;
        if let Err(error) = active.file.write_all_at(&buffer, position) {
            // Leave no partial frames behind: a later shorter append would not cover them all.
            let _ = active.file.set_len(position);
            return Err(StreamError::io(&active.path, error));
        }
        for (record_offset, timestamp, start, len) in frames {
            active.note_appended(record_offset, timestamp, position + start as u64, len as u64);
        }
        *next_offset = offset;
        Ok((offset, Arc::clone(&active.file)))
    }

    /// Called by the group-commit thread once everything before `offset` is fsynced.
    pub fn mark_durable(&self, offset: u64) {
        self.durable.fetch_max(offset, Ordering::AcqRel);
    }

    /// One past the last readable offset (the high watermark).
    pub fn end_offset(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// Reads records with offset ≥ `from`, up to `max` records. Returns the records and the
    /// offset to read next (beyond compaction gaps and deleted segments).
    pub fn read(&self, from: u64, max: usize) -> Result<(Vec<Record>, u64), StreamError> {
        let end = self.end_offset();
        let mut from = from;
        let mut out = Vec::new();
        while from < end && out.len() < max {
            let (file, path, position, size, following_base) = {
                let state = self.lock();
                let index = state.segments.partition_point(|s| s.base_offset <= from).max(1) - 1;
                let Some(segment) = state.segments.get(index) else {
                    break;
                };
                from = from.max(segment.base_offset);
                let following_base = state.segments.get(index + 1).map(|s| s.base_offset);
                (
                    Arc::clone(&segment.file),
                    segment.path.clone(),
                    segment.position_for(from),
                    segment.size,
                    following_base,
                )
            };
            let before = out.len();
            let reached = read_frames(&file, &path, position, size, from, end, max, &self.topic, self.id, &mut out)?;
            if let Some(last) = out.last().filter(|_| out.len() > before) {
                from = last.offset + 1;
            } else if let Some(base) = following_base.filter(|base| reached && *base > from) {
                // Nothing left in this segment at or after `from` (a compaction gap): move on.
                from = base;
            } else {
                break;
            }
        }
        Ok((out, from))
    }

    /// Deletes closed segments whose newest record is older than `cutoff_ms`.
    pub fn apply_retention(&self, cutoff_ms: i64) -> Result<usize, StreamError> {
        let mut state = self.lock();
        let mut removed = 0;
        while state.segments.len() > 1 && state.segments.first().is_some_and(|s| s.max_timestamp_ms < cutoff_ms) {
            let segment = state.segments.remove(0);
            fs::remove_file(&segment.path).map_err(|e| StreamError::io(&segment.path, e))?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Rewrites closed segments keeping only the latest record of each key.
    pub fn compact(&self) -> Result<usize, StreamError> {
        let end = self.end_offset();
        let (records, _) = self.read(0, usize::MAX)?;
        let mut latest = std::collections::HashMap::new();
        for record in &records {
            latest.insert(record.key.clone(), record.offset);
        }
        let mut state = self.lock();
        let closed = state.segments.len().saturating_sub(1);
        let mut dropped = 0;
        for index in 0..closed {
            let Some(segment) = state.segments.get(index) else { break };
            let (base, next) = (segment.base_offset, segment.next_offset);
            if next > end {
                // Appended after the snapshot above: its records were not read, keep it whole.
                continue;
            }
            let in_segment: Vec<&Record> = records
                .iter()
                .filter(|r| r.offset >= base && r.offset < next && r.offset < end)
                .collect();
            let keep: Vec<&&Record> = in_segment.iter().filter(|r| latest.get(&r.key) == Some(&r.offset)).collect();
            if keep.len() == in_segment.len() {
                continue;
            }
            let temp = self.dir.join(format!("{}.compacting", segment::file_name(base)));
            let mut buffer = Vec::new();
            let mut frames = Vec::new();
            for record in &keep {
                let start = buffer.len();
                segment::encode_frame(
                    &mut buffer,
                    record.offset,
                    record.timestamp_ms,
                    record.key.as_deref(),
                    &record.value,
                    &record.headers,
                );
                frames.push((record.offset, record.timestamp_ms, start, buffer.len() - start));
            }
            fs::write(&temp, &buffer).map_err(|e| StreamError::io(&temp, e))?;
            fs::File::open(&temp)
                .and_then(|f| f.sync_all())
                .map_err(|e| StreamError::io(&temp, e))?;
            let path = self.dir.join(segment::file_name(base));
            fs::rename(&temp, &path).map_err(|e| StreamError::io(&path, e))?;
            let file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| StreamError::io(&path, e))?;
            let mut rewritten = Segment::create_from(path, Arc::new(file), base);
            for (offset, timestamp, start, len) in frames {
                rewritten.note_appended(offset, timestamp, start as u64, len as u64);
            }
            rewritten.next_offset = next;
            dropped += in_segment.len() - keep.len();
            if let Some(slot) = state.segments.get_mut(index) {
                *slot = rewritten;
            }
        }
        // Segments left empty are deleted (never the active one).
        let last = state.segments.len().saturating_sub(1);
        let mut index = 0;
        state.segments.retain(|segment| {
            let keep = index == last || segment.size > 0;
            index += 1;
            if !keep {
                let _ = fs::remove_file(&segment.path);
            }
            keep
        });
        Ok(dropped)
    }
}

impl Segment {
    fn create_from(path: PathBuf, file: Arc<fs::File>, base_offset: u64) -> Segment {
        let mut segment = Segment::create_empty_handle(path, file, base_offset);
        segment.next_offset = base_offset;
        segment
    }
}

/// Reads frames from `position` up to `size`, appending those with `from ≤ offset < end`.
/// Returns whether the end of the segment was reached.
#[allow(clippy::too_many_arguments)]
fn read_frames(
    file: &fs::File,
    path: &std::path::Path,
    mut position: u64,
    size: u64,
    from: u64,
    end: u64,
    max: usize,
    topic: &str,
    partition: u32,
    out: &mut Vec<Record>,
) -> Result<bool, StreamError> {
    let mut buffer = Vec::new();
    while position < size && out.len() < max {
        let want = ((size - position) as usize).min(FETCH_BYTES);
        buffer.resize(want, 0);
        file.read_exact_at(&mut buffer, position).map_err(|e| StreamError::io(path, e))?;
        let mut at = 0usize;
        loop {
            match segment::decode_frame(buffer.get(at..).unwrap_or_default(), topic, partition) {
                Frame::Complete(record, len) => {
                    at += len;
                    if record.offset >= end {
                        return Ok(false);
                    }
                    if record.offset >= from {
                        out.push(*record);
                        if out.len() >= max {
                            return Ok(position + at as u64 >= size);
                        }
                    }
                }
                Frame::Partial { needed } => {
                    if at == 0 {
                        if needed > segment::MAX_FRAME || position + needed as u64 > size {
                            return Err(StreamError::Corrupt {
                                path: path.display().to_string(),
                                position,
                                reason: "frame runs past the segment end".into(),
                            });
                        }
                        buffer.resize(needed, 0);
                        file.read_exact_at(&mut buffer, position).map_err(|e| StreamError::io(path, e))?;
                        continue;
                    }
                    break;
                }
                Frame::Corrupt(reason) => {
                    return Err(StreamError::Corrupt {
                        path: path.display().to_string(),
                        position: position + at as u64,
                        reason,
                    });
                }
            }
        }
        position += at as u64;
    }
    Ok(position >= size)
}
