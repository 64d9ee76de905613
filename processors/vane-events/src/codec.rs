//! Single-object encoding of events: `C3 01`, the 8-byte little-endian schema fingerprint, the
//! Avro binary body. One [`Codec`] per event type, built once at start-up.

use std::marker::PhantomData;

use crate::EventsError;
use crate::binary::Reader;
use crate::schema::{self, Fingerprinted};

const MARKER: [u8; 2] = [0xc3, 0x01];
const HEADER_LEN: usize = 10;

/// An event type with a schema in `schemas/` and a hand-written body codec for it.
pub trait Event: Sized {
    /// The current schema's text (shared types referenced by name).
    const SCHEMA: &'static str;
    /// Older versions of the schema that records on the log may still carry.
    const HISTORY: &'static [&'static str] = &[];
    /// Appends the Avro binary body in the current schema.
    fn write_body(&self, out: &mut Vec<u8>);
    /// Reads the Avro binary body written in the current schema.
    fn read_body(reader: &mut Reader<'_>) -> Result<Self, EventsError>;
}

/// Encoder and decoder of one event type.
#[derive(Debug)]
pub struct Codec<E> {
    current: Fingerprinted,
    history: Vec<Fingerprinted>,
    event: PhantomData<fn() -> E>,
}

impl<E: Event> Codec<E> {
    /// Parses and fingerprints the schemas; fails only if a schema file is broken.
    pub fn new() -> Result<Self, EventsError> {
        let current = schema::load(E::SCHEMA)?;
        let mut history = Vec::new();
        for text in E::HISTORY {
            history.push(schema::load(text)?);
        }
        Ok(Codec {
            current,
            history,
            event: PhantomData,
        })
    }

    /// Adds an older writer schema (tests build hypothetical old versions this way).
    #[doc(hidden)]
    pub fn history_for_tests(&mut self, older: Fingerprinted) {
        self.history.push(older);
    }

    pub fn fingerprint(&self) -> u64 {
        self.current.fingerprint
    }

    pub fn schema(&self) -> &apache_avro::Schema {
        &self.current.schema
    }

    pub fn encode(&self, event: &E) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        self.encode_into(event, &mut out);
        out
    }

    pub fn encode_into(&self, event: &E, out: &mut Vec<u8>) {
        out.extend_from_slice(&MARKER);
        out.extend_from_slice(&self.current.fingerprint.to_le_bytes());
        event.write_body(out);
    }

    /// Decodes a record written in the current schema or any known older one.
    pub fn decode(&self, bytes: &[u8]) -> Result<E, EventsError> {
        let fingerprint = header_fingerprint(bytes)?;
        let body = bytes.get(HEADER_LEN..).unwrap_or_default();
        if fingerprint == self.current.fingerprint {
            return read_all::<E>(body);
        }
        let Some(writer) = self.history.iter().find(|w| w.fingerprint == fingerprint) else {
            return Err(EventsError::UnknownFingerprint(fingerprint));
        };
        let mut cursor = body;
        let value = apache_avro::reader::datum::GenericDatumReader::builder(&writer.schema)
            .reader_schema(&self.current.schema)
            .build()
            .and_then(|reader| reader.read_value(&mut cursor))
            .map_err(Box::new)?;
        // Rare path (records from older versions): re-encode in the current schema so that the
        // one hand-written decoder reads it. `to_avro_datum` is deprecated in 0.22 in favour of
        // a writer type that does the same for a whole stream.
        #[allow(deprecated)]
        let upgraded = apache_avro::to_avro_datum(&self.current.schema, value).map_err(Box::new)?;
        read_all::<E>(&upgraded)
    }
}

fn read_all<E: Event>(body: &[u8]) -> Result<E, EventsError> {
    let mut reader = Reader::new(body);
    let event = E::read_body(&mut reader)?;
    reader.finish()?;
    Ok(event)
}

/// The fingerprint in a single-object header, or why the bytes are not one.
pub fn header_fingerprint(bytes: &[u8]) -> Result<u64, EventsError> {
    if bytes.get(..2) != Some(&MARKER[..]) {
        return Err(EventsError::NotSingleObject);
    }
    let Some(raw) = bytes.get(2..HEADER_LEN) else {
        return Err(EventsError::Truncated {
            at: bytes.len(),
            needed: HEADER_LEN - bytes.len(),
        });
    };
    let mut array = [0u8; 8];
    array.copy_from_slice(raw);
    Ok(u64::from_le_bytes(array))
}

/// Whether bytes start like a single-object Avro record (used to tell Avro from JSON on ingest).
pub fn looks_like_single_object(bytes: &[u8]) -> bool {
    bytes.get(..2) == Some(&MARKER[..])
}
