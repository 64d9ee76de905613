//! The schemas in `schemas/`, made self-contained and fingerprinted.
//!
//! Schema files reference shared named types (`"type": "vane.Envelope"`). A fingerprint must cover
//! the whole shape, so before parsing, the first reference to each shared type is replaced by its
//! definition. The fingerprint is CRC-64-AVRO (Rabin) of the Parsing Canonical Form, as the Avro
//! specification defines for single-object encoding.

use std::sync::LazyLock;

use apache_avro::Schema;
use serde_json::Value;

use crate::EventsError;

/// Shared named types, by full name, with their schema text.
const SHARED: &[(&str, &str)] = &[
    ("vane.Envelope", include_str!("../../../schemas/envelope.avsc")),
    // The weather matcher's changelog carries the latest observation of each subscription.
    (
        "vane.weather.WeatherObservation",
        include_str!("../../../schemas/weather_observation.avsc"),
    ),
];

/// A parsed, self-contained schema and its fingerprint.
#[derive(Debug, Clone)]
pub struct Fingerprinted {
    pub schema: Schema,
    pub fingerprint: u64,
}

/// Parses schema text whose shared-type references are inlined first.
pub fn load(text: &str) -> Result<Fingerprinted, EventsError> {
    let mut json: Value = serde_json::from_str(text).map_err(|e| EventsError::Schema(e.to_string()))?;
    let mut pending: Vec<&str> = SHARED.iter().map(|(name, _)| *name).collect();
    inline_shared(&mut json, &mut pending)?;
    let schema = Schema::parse(&json).map_err(|e| EventsError::Schema(e.to_string()))?;
    let fingerprint = rabin(schema.canonical_form().as_bytes());
    Ok(Fingerprinted { schema, fingerprint })
}

/// Replaces the first reference to each still-pending shared type with its definition.
fn inline_shared(json: &mut Value, pending: &mut Vec<&str>) -> Result<(), EventsError> {
    match json {
        Value::String(name) => {
            if let Some(index) = pending.iter().position(|p| p == name) {
                let full_name = pending.remove(index);
                let text = SHARED.iter().find(|(n, _)| *n == full_name).map(|(_, t)| *t).unwrap_or("");
                let mut definition: Value = serde_json::from_str(text).map_err(|e| EventsError::Schema(e.to_string()))?;
                inline_shared(&mut definition, pending)?;
                *json = definition;
            }
        }
        Value::Array(items) => {
            for item in items {
                inline_shared(item, pending)?;
            }
        }
        Value::Object(fields) => {
            for (key, value) in fields.iter_mut() {
                if key == "type" || key == "fields" || key == "items" || key == "values" {
                    inline_shared(value, pending)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// CRC-64-AVRO, the fingerprint of the Avro specification's single-object encoding.
pub fn rabin(bytes: &[u8]) -> u64 {
    const EMPTY: u64 = 0xc15d_213a_a4d7_a795;
    static TABLE: LazyLock<[u64; 256]> = LazyLock::new(|| {
        let mut table = [0u64; 256];
        for (i, slot) in table.iter_mut().enumerate() {
            let mut fp = i as u64;
            for _ in 0..8 {
                fp = (fp >> 1) ^ (EMPTY & (fp & 1).wrapping_neg());
            }
            *slot = fp;
        }
        table
    });
    let mut fp = EMPTY;
    for byte in bytes {
        let index = ((fp ^ u64::from(*byte)) & 0xff) as usize;
        fp = (fp >> 8) ^ TABLE.get(index).copied().unwrap_or(0);
    }
    fp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rabin_matches_the_specification_examples() {
        // The fingerprint of the canonical form of the primitive schema "int"... checked against
        // apache-avro's own implementation below, and of the empty input being EMPTY.
        assert_eq!(rabin(b""), 0xc15d_213a_a4d7_a795);
        let int = Schema::parse_str("\"int\"").unwrap();
        let theirs = int.fingerprint::<apache_avro::rabin::Rabin>();
        assert_eq!(rabin(int.canonical_form().as_bytes()).to_le_bytes().to_vec(), theirs.bytes);
    }

    #[test]
    fn shared_types_are_inlined() {
        let loaded = load(include_str!("../../../schemas/metric_sample.avsc")).unwrap();
        let canonical = loaded.schema.canonical_form();
        assert!(canonical.contains("\"name\":\"vane.Envelope\""), "{canonical}");
        assert!(canonical.contains("occurred_at"));
    }
}
