//! One segment file of an embedded partition: a sequence of checksummed frames.
//!
//! Frame: `u32 body length | u32 CRC-32 of the body | body`, little-endian, where the body is
//! `u64 offset | i64 timestamp | i32 key length (-1: none) | key | u32 value length | value |
//! u16 header count | (u16 name length | name | u32 value length | value)*`. A torn write after a
//! kill -9 leaves a short or mis-checksummed last frame; opening the segment truncates it (that
//! record was never acknowledged, because acknowledgement waits for the fsync).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{Record, StreamError};

const FRAME_HEADER: usize = 8;
/// One sparse index entry per this many bytes of frames.
const INDEX_EVERY_BYTES: u64 = 64 * 1024;
/// Refuses frames larger than this when reading, so a corrupt length cannot allocate gigabytes.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

/// Metadata of one segment file, kept in memory.
#[derive(Debug)]
pub struct Segment {
    pub base_offset: u64,
    pub path: PathBuf,
    pub file: Arc<File>,
    /// Bytes of valid frames.
    pub size: u64,
    /// One past the last offset in the segment (`base_offset` when empty).
    pub next_offset: u64,
    pub max_timestamp_ms: i64,
    /// Sparse (offset, byte position) pairs, ascending.
    index: Vec<(u64, u64)>,
    bytes_since_index: u64,
}

/// Appends the frame of one record to `out`.
pub fn encode_frame(out: &mut Vec<u8>, offset: u64, timestamp_ms: i64, key: Option<&[u8]>, value: &[u8], headers: &[(String, Vec<u8>)]) {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_HEADER]);
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&timestamp_ms.to_le_bytes());
    match key {
        Some(key) => {
            out.extend_from_slice(&(key.len() as i32).to_le_bytes());
            out.extend_from_slice(key);
        }
        None => out.extend_from_slice(&(-1i32).to_le_bytes()),
    }
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(value);
    out.extend_from_slice(&(headers.len() as u16).to_le_bytes());
    for (name, header) in headers {
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(header);
    }
    let body_len = (out.len() - start - FRAME_HEADER) as u32;
    let crc = crc32fast::hash(out.get(start + FRAME_HEADER..).unwrap_or_default());
    let mut header = [0u8; FRAME_HEADER];
    header[..4].copy_from_slice(&body_len.to_le_bytes());
    header[4..].copy_from_slice(&crc.to_le_bytes());
    if let Some(slot) = out.get_mut(start..start + FRAME_HEADER) {
        slot.copy_from_slice(&header);
    }
}

/// Outcome of parsing one frame at the start of a buffer.
pub enum Frame {
    /// A complete frame: the record and the frame's total length.
    Complete(Box<Record>, usize),
    /// The buffer ends inside the frame; `needed` bytes would hold the whole frame.
    Partial { needed: usize },
    /// The checksum or a length does not match.
    Corrupt(String),
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

/// Parses the frame at the start of `buf`.
pub fn decode_frame(buf: &[u8], topic: &str, partition: u32) -> Frame {
    let mut header = Cursor { bytes: buf, at: 0 };
    let (Some(len), Some(crc)) = (header.array::<4>(), header.array::<4>()) else {
        return Frame::Partial { needed: FRAME_HEADER };
    };
    let body_len = u32::from_le_bytes(len) as usize;
    if body_len > MAX_FRAME {
        return Frame::Corrupt(format!("frame length {body_len} exceeds the limit"));
    }
    let Some(body) = buf.get(FRAME_HEADER..FRAME_HEADER + body_len) else {
        return Frame::Partial {
            needed: FRAME_HEADER + body_len,
        };
    };
    if crc32fast::hash(body) != u32::from_le_bytes(crc) {
        return Frame::Corrupt("checksum mismatch".to_string());
    }
    match decode_body(body, topic, partition) {
        Some(record) => Frame::Complete(Box::new(record), FRAME_HEADER + body_len),
        None => Frame::Corrupt("malformed frame body".to_string()),
    }
}

fn decode_body(body: &[u8], topic: &str, partition: u32) -> Option<Record> {
    let mut c = Cursor { bytes: body, at: 0 };
    let offset = u64::from_le_bytes(c.array()?);
    let timestamp_ms = i64::from_le_bytes(c.array()?);
    let key_len = i32::from_le_bytes(c.array()?);
    let key = if key_len < 0 {
        None
    } else {
        Some(c.take(key_len as usize)?.to_vec())
    };
    let value_len = u32::from_le_bytes(c.array()?) as usize;
    let value = c.take(value_len)?.to_vec();
    let count = u16::from_le_bytes(c.array()?);
    let mut headers = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let name_len = usize::from(u16::from_le_bytes(c.array()?));
        let name = String::from_utf8(c.take(name_len)?.to_vec()).ok()?;
        let header_len = u32::from_le_bytes(c.array()?) as usize;
        headers.push((name, c.take(header_len)?.to_vec()));
    }
    if c.at != body.len() {
        return None;
    }
    Some(Record {
        topic: topic.to_string(),
        partition,
        offset,
        timestamp_ms,
        key,
        value,
        headers,
    })
}

/// File name of the segment starting at `base_offset`.
pub fn file_name(base_offset: u64) -> String {
    format!("{base_offset:020}.log")
}

impl Segment {
    /// Creates an empty segment file.
    pub fn create(dir: &Path, base_offset: u64) -> Result<Segment, StreamError> {
        let path = dir.join(file_name(base_offset));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| StreamError::io(&path, e))?;
        Ok(Segment::empty(path, Arc::new(file), base_offset))
    }

    /// A handle on an existing, empty-as-far-as-the-index-knows file.
    pub fn create_empty_handle(path: PathBuf, file: Arc<File>, base_offset: u64) -> Segment {
        Segment::empty(path, file, base_offset)
    }

    fn empty(path: PathBuf, file: Arc<File>, base_offset: u64) -> Segment {
        Segment {
            base_offset,
            path,
            file,
            size: 0,
            next_offset: base_offset,
            max_timestamp_ms: i64::MIN,
            index: Vec::new(),
            bytes_since_index: INDEX_EVERY_BYTES,
        }
    }

    /// Opens a segment, rebuilding its index; a torn tail is truncated when `repair` is set
    /// (the last segment) and is an error otherwise.
    pub fn open(path: PathBuf, base_offset: u64, repair: bool, topic: &str, partition: u32) -> Result<Segment, StreamError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| StreamError::io(&path, e))?;
        let length = file.metadata().map_err(|e| StreamError::io(&path, e))?.len();
        let mut segment = Segment::empty(path, Arc::new(file), base_offset);
        let mut position = 0u64;
        let mut buffer = Vec::new();
        while position < length {
            let want = ((length - position) as usize).min(1 << 20);
            buffer.resize(want, 0);
            segment
                .file
                .read_exact_at(&mut buffer, position)
                .map_err(|e| StreamError::io(&segment.path, e))?;
            let mut at = 0usize;
            let mut progressed = false;
            while position + (at as u64) < length {
                match decode_frame(buffer.get(at..).unwrap_or_default(), topic, partition) {
                    Frame::Complete(record, len) => {
                        segment.note_appended(record.offset, record.timestamp_ms, position + at as u64, len as u64);
                        at += len;
                        progressed = true;
                    }
                    Frame::Partial { needed } => {
                        if position + at as u64 + needed as u64 > length {
                            return segment.torn(position + at as u64, repair, "incomplete frame");
                        }
                        if !progressed && needed > buffer.len() {
                            buffer.resize(needed, 0);
                            segment
                                .file
                                .read_exact_at(&mut buffer, position)
                                .map_err(|e| StreamError::io(&segment.path, e))?;
                            continue;
                        }
                        break;
                    }
                    Frame::Corrupt(reason) => return segment.torn(position + at as u64, repair, &reason),
                }
            }
            position += at as u64;
        }
        Ok(segment)
    }

    fn torn(mut self, position: u64, repair: bool, reason: &str) -> Result<Segment, StreamError> {
        if !repair {
            return Err(StreamError::Corrupt {
                path: self.path.display().to_string(),
                position,
                reason: reason.to_string(),
            });
        }
        tracing::warn!(path = %self.path.display(), position, reason, "truncating the unacknowledged tail of a log segment");
        self.file.set_len(position).map_err(|e| StreamError::io(&self.path, e))?;
        self.file.sync_all().map_err(|e| StreamError::io(&self.path, e))?;
        self.size = position;
        Ok(self)
    }

    /// Records that a frame of `len` bytes for `offset` now ends the segment.
    pub fn note_appended(&mut self, offset: u64, timestamp_ms: i64, position: u64, len: u64) {
        if self.bytes_since_index >= INDEX_EVERY_BYTES {
            self.index.push((offset, position));
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += len;
        self.size = position + len;
        self.next_offset = offset + 1;
        self.max_timestamp_ms = self.max_timestamp_ms.max(timestamp_ms);
    }

    /// The byte position to start scanning from to find `offset`.
    pub fn position_for(&self, offset: u64) -> u64 {
        let at = self.index.partition_point(|(o, _)| *o <= offset);
        match at.checked_sub(1).and_then(|i| self.index.get(i)) {
            Some((_, position)) => *position,
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_detect_damage() {
        let mut buf = Vec::new();
        let headers = vec![("traceparent".to_string(), b"00-abc".to_vec())];
        encode_frame(&mut buf, 7, 1234, Some(b"key"), b"value", &headers);
        let Frame::Complete(record, len) = decode_frame(&buf, "t", 2) else {
            panic!("not complete")
        };
        assert_eq!(len, buf.len());
        assert_eq!((record.offset, record.timestamp_ms, record.partition), (7, 1234, 2));
        assert_eq!(record.key.as_deref(), Some(&b"key"[..]));
        assert_eq!(record.header("traceparent"), Some(&b"00-abc"[..]));
        assert!(matches!(decode_frame(&buf[..buf.len() - 1], "t", 0), Frame::Partial { .. }));
        let mut flipped = buf.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(decode_frame(&flipped, "t", 0), Frame::Corrupt(_)));
    }

    #[test]
    fn torn_tail_is_truncated_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(0));
        let mut buf = Vec::new();
        encode_frame(&mut buf, 0, 1, None, b"a", &[]);
        encode_frame(&mut buf, 1, 2, None, b"b", &[]);
        let whole = buf.len();
        encode_frame(&mut buf, 2, 3, None, b"c", &[]);
        std::fs::write(&path, &buf[..buf.len() - 3]).unwrap();
        assert!(Segment::open(path.clone(), 0, false, "t", 0).is_err());
        let segment = Segment::open(path.clone(), 0, true, "t", 0).unwrap();
        assert_eq!((segment.size as usize, segment.next_offset), (whole, 2));
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, whole);
    }
}
