//! `vane.metrics.SeriesAggregates` (schemas/metric_aggregates.avsc): one series' window
//! aggregates, produced by the aggregates worker and projected into the read models.

use vane_core::window::WindowStats;
use vane_core::{Labels, SeriesId};

use crate::binary::{self, Reader};
use crate::sample::Envelope;
use crate::{Event, EventsError};

#[derive(Debug, Clone, PartialEq)]
pub struct SeriesAggregatesEvent {
    pub envelope: Envelope,
    pub series_id: SeriesId,
    pub name: String,
    pub labels: Labels,
    pub as_of_ms: i64,
    pub windows: Vec<WindowStats>,
}

impl Event for SeriesAggregatesEvent {
    const SCHEMA: &'static str = include_str!("../../../schemas/metric_aggregates.avsc");

    fn write_body(&self, out: &mut Vec<u8>) {
        self.envelope.write(out);
        binary::put_string(out, &self.series_id.to_string());
        binary::put_string(out, &self.name);
        binary::put_string_map(out, &self.labels);
        binary::put_long(out, self.as_of_ms);
        if !self.windows.is_empty() {
            binary::put_long(out, self.windows.len() as i64);
            for window in &self.windows {
                binary::put_string(out, &window.name);
                binary::put_double(out, window.max);
                binary::put_double(out, window.min);
                binary::put_double(out, window.mean);
                match window.std {
                    None => binary::put_long(out, 0),
                    Some(std) => {
                        binary::put_long(out, 1);
                        binary::put_double(out, std);
                    }
                }
                binary::put_long(out, window.count as i64);
                binary::put_long(out, window.first_ms);
                binary::put_long(out, window.last_ms);
            }
        }
        binary::put_long(out, 0);
    }

    fn read_body(reader: &mut Reader<'_>) -> Result<Self, EventsError> {
        let envelope = Envelope::read(reader)?;
        let series_id = reader.series_id()?;
        let name = reader.string()?;
        let labels = reader.string_map()?;
        let as_of_ms = reader.long()?;
        let mut windows = Vec::new();
        loop {
            let mut count = reader.long()?;
            if count == 0 {
                break;
            }
            if count < 0 {
                count = -count;
                reader.long()?;
            }
            for _ in 0..count {
                let name = reader.string()?;
                let (max, min, mean) = (reader.double()?, reader.double()?, reader.double()?);
                let std = match reader.long()? {
                    0 => None,
                    1 => Some(reader.double()?),
                    other => {
                        return Err(EventsError::InvalidField {
                            field: "windows.std",
                            reason: format!("union branch {other}"),
                        });
                    }
                };
                let count = u64::try_from(reader.long()?).map_err(|_| EventsError::InvalidField {
                    field: "windows.count",
                    reason: "negative".into(),
                })?;
                windows.push(WindowStats {
                    name,
                    max,
                    min,
                    mean,
                    std,
                    count,
                    first_ms: reader.long()?,
                    last_ms: reader.long()?,
                });
            }
        }
        Ok(SeriesAggregatesEvent {
            envelope,
            series_id,
            name,
            labels,
            as_of_ms,
            windows,
        })
    }
}

#[cfg(test)]
mod tests {
    use apache_avro::types::Value;

    use super::*;
    use crate::Codec;

    fn event() -> SeriesAggregatesEvent {
        let window = |name: &str, std| WindowStats {
            name: name.into(),
            max: 9.0,
            min: 1.0,
            mean: 4.5,
            std,
            count: 7,
            first_ms: 10,
            last_ms: 20,
        };
        SeriesAggregatesEvent {
            envelope: Envelope::new(20, 25, "aggregates"),
            series_id: SeriesId(0xabc),
            name: "up".into(),
            labels: [("job".to_string(), "node".to_string())].into(),
            as_of_ms: 20,
            windows: vec![window("1h", Some(2.5)), window("3h", None)],
        }
    }

    #[test]
    fn round_trips_and_agrees_with_apache_avro() {
        let codec = Codec::<SeriesAggregatesEvent>::new().unwrap();
        let original = event();
        let bytes = codec.encode(&original);
        assert_eq!(codec.decode(&bytes).unwrap(), original);
        let reader = apache_avro::reader::datum::GenericDatumReader::builder(codec.schema())
            .build()
            .unwrap();
        let value = reader.read_value(&mut &bytes[10..]).unwrap();
        let Value::Record(fields) = value else { panic!("not a record") };
        let windows = &fields.iter().find(|(n, _)| n == "windows").unwrap().1;
        let Value::Array(items) = windows else { panic!("not an array") };
        assert_eq!(items.len(), 2);
        let Value::Record(second) = &items[1] else { panic!() };
        assert_eq!(
            second.iter().find(|(n, _)| n == "std").unwrap().1,
            Value::Union(0, Box::new(Value::Null))
        );
    }

    #[test]
    fn truncated_records_are_errors() {
        let codec = Codec::<SeriesAggregatesEvent>::new().unwrap();
        let bytes = codec.encode(&event());
        for cut in 0..bytes.len() {
            assert!(codec.decode(&bytes[..cut]).is_err());
        }
    }
}
