//! Avro's binary encoding for the primitive and container types vane's schemas use: zig-zag
//! varint longs, little-endian doubles, length-prefixed strings and block-encoded maps. The
//! reader checks every length before it reads, so hostile bytes produce an error, not a panic.

use std::collections::BTreeMap;

use crate::EventsError;

/// Appends Avro binary values to a buffer.
pub fn put_long(out: &mut Vec<u8>, value: i64) {
    let mut n = ((value << 1) ^ (value >> 63)) as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

pub fn put_double(out: &mut Vec<u8>, value: f64) {
    out.extend_from_slice(&value.to_le_bytes());
}

pub fn put_string(out: &mut Vec<u8>, value: &str) {
    put_long(out, value.len() as i64);
    out.extend_from_slice(value.as_bytes());
}

pub fn put_bool(out: &mut Vec<u8>, value: bool) {
    out.push(u8::from(value));
}

/// A map of strings as one block followed by the zero-count terminator.
pub fn put_string_map(out: &mut Vec<u8>, map: &BTreeMap<String, String>) {
    if !map.is_empty() {
        put_long(out, map.len() as i64);
        for (key, value) in map {
            put_string(out, key);
            put_string(out, value);
        }
    }
    put_long(out, 0);
}

/// An array of doubles as one block followed by the zero-count terminator.
pub fn put_double_array(out: &mut Vec<u8>, values: &[f64]) {
    if !values.is_empty() {
        put_long(out, values.len() as i64);
        out.reserve(values.len() * 8);
        for value in values {
            put_double(out, *value);
        }
    }
    put_long(out, 0);
}

/// An array of longs as one block followed by the zero-count terminator.
pub fn put_long_array(out: &mut Vec<u8>, values: &[i64]) {
    if !values.is_empty() {
        put_long(out, values.len() as i64);
        for value in values {
            put_long(out, *value);
        }
    }
    put_long(out, 0);
}

/// An array as one block, each item written by `write`, followed by the zero-count terminator.
pub fn put_array<T>(out: &mut Vec<u8>, items: &[T], mut write: impl FnMut(&mut Vec<u8>, &T)) {
    if !items.is_empty() {
        put_long(out, items.len() as i64);
        for item in items {
            write(out, item);
        }
    }
    put_long(out, 0);
}

/// A `["null", T]` union: branch 0 for `None`, branch 1 then `write` for `Some`.
pub fn put_optional<T>(out: &mut Vec<u8>, value: Option<&T>, write: impl FnOnce(&mut Vec<u8>, &T)) {
    match value {
        None => put_long(out, 0),
        Some(value) => {
            put_long(out, 1);
            write(out, value);
        }
    }
}

/// Reads Avro binary values from a byte slice, checking bounds on every read.
pub struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, position: 0 }
    }

    pub fn position(&self) -> usize {
        self.position
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), EventsError> {
        match self.bytes.len() - self.position {
            0 => Ok(()),
            left => Err(EventsError::TrailingBytes(left)),
        }
    }

    pub fn take(&mut self, count: usize) -> Result<&'a [u8], EventsError> {
        let end = self.position.checked_add(count);
        match end.and_then(|end| self.bytes.get(self.position..end)) {
            Some(slice) => {
                self.position += count;
                Ok(slice)
            }
            None => Err(EventsError::Truncated {
                at: self.position,
                needed: count - (self.bytes.len() - self.position).min(count),
            }),
        }
    }

    pub fn long(&mut self) -> Result<i64, EventsError> {
        let start = self.position;
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self.take(1)?.first().ok_or(EventsError::InvalidVarint(start))?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        Err(EventsError::InvalidVarint(start))
    }

    pub fn double(&mut self) -> Result<f64, EventsError> {
        let bytes = self.take(8)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(f64::from_le_bytes(array))
    }

    pub fn bool(&mut self) -> Result<bool, EventsError> {
        Ok(self.take(1)?.first().is_some_and(|b| *b != 0))
    }

    fn length(&mut self) -> Result<usize, EventsError> {
        let at = self.position;
        let length = self.long()?;
        usize::try_from(length).map_err(|_| EventsError::NegativeLength { at, length })
    }

    pub fn string(&mut self) -> Result<String, EventsError> {
        let length = self.length()?;
        let at = self.position;
        let bytes = self.take(length)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| EventsError::InvalidUtf8(at))
    }

    /// A string field holding a [`vane_core::SeriesId`] (16 hex digits).
    pub fn series_id(&mut self) -> Result<vane_core::SeriesId, EventsError> {
        let text = self.string()?;
        vane_core::SeriesId::parse(&text).ok_or_else(|| EventsError::InvalidField {
            field: "series_id",
            reason: format!("{text:?} is not 16 hex digits"),
        })
    }

    /// A block-encoded array, each item read by `item`; a negative block count is followed by
    /// the block's size.
    pub fn array<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T, EventsError>) -> Result<Vec<T>, EventsError> {
        let mut items = Vec::new();
        loop {
            let mut count = self.long()?;
            if count == 0 {
                return Ok(items);
            }
            if count < 0 {
                count = count.checked_neg().ok_or(EventsError::InvalidVarint(self.position))?;
                self.long()?;
            }
            // Every item takes at least one byte: a count beyond the bytes left is hostile.
            let left = self.bytes.len() - self.position;
            if usize::try_from(count).map_or(true, |c| c > left) {
                return Err(EventsError::Truncated {
                    at: self.position,
                    needed: 1,
                });
            }
            items.reserve(count as usize);
            for _ in 0..count {
                items.push(item(self)?);
            }
        }
    }

    pub fn double_array(&mut self) -> Result<Vec<f64>, EventsError> {
        self.array(Self::double)
    }

    pub fn long_array(&mut self) -> Result<Vec<i64>, EventsError> {
        self.array(Self::long)
    }

    /// A `["null", T]` union.
    pub fn optional<T>(
        &mut self,
        field: &'static str,
        item: impl FnOnce(&mut Self) -> Result<T, EventsError>,
    ) -> Result<Option<T>, EventsError> {
        match self.long()? {
            0 => Ok(None),
            1 => item(self).map(Some),
            other => Err(EventsError::InvalidField {
                field,
                reason: format!("union branch {other}"),
            }),
        }
    }

    /// A block-encoded map of strings; a negative block count is followed by the block's size.
    pub fn string_map(&mut self) -> Result<BTreeMap<String, String>, EventsError> {
        let mut map = BTreeMap::new();
        loop {
            let mut count = self.long()?;
            if count == 0 {
                return Ok(map);
            }
            if count < 0 {
                count = -count;
                self.long()?;
            }
            for _ in 0..count {
                let key = self.string()?;
                let value = self.string()?;
                map.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longs_round_trip_through_zigzag() {
        for value in [0, 1, -1, 63, -64, 64, 1 << 40, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            put_long(&mut out, value);
            let mut reader = Reader::new(&out);
            assert_eq!(reader.long().unwrap(), value);
            reader.finish().unwrap();
        }
        let mut out = Vec::new();
        put_long(&mut out, -3);
        assert_eq!(out, vec![5]);
    }

    #[test]
    fn hostile_input_errors_instead_of_panicking() {
        assert!(Reader::new(&[0x80; 11]).long().is_err());
        assert!(Reader::new(&[]).double().is_err());
        let mut huge = Vec::new();
        put_long(&mut huge, 1 << 40);
        assert!(Reader::new(&huge).string().is_err());
        let mut negative = Vec::new();
        put_long(&mut negative, -4);
        assert!(matches!(Reader::new(&negative).string(), Err(EventsError::NegativeLength { .. })));
        assert!(Reader::new(&[2, 0xff]).string().is_err());
    }
}
