//! `vane.weather.SubscriptionChanged` (schemas/weather_subscription.avsc): a weather
//! subscription created, updated or deleted, on the compacted `vane.weather.subscriptions`
//! keyed by the subscription id. Constraints travel as a kind string and an optional
//! threshold; `vane-weather` checks them when it reads the record into a `Subscription`, so a
//! kind this version does not know is that crate's error, not a decoding error. Pure.

use crate::binary::{self, Reader};
use crate::sample::Envelope;
use crate::{Event, EventsError};

/// What happened to the subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionChange {
    Created,
    Updated,
    /// The record carries the last version, with a higher revision.
    Deleted,
}

impl SubscriptionChange {
    /// The Avro enum symbols, in schema order.
    const SYMBOLS: [SubscriptionChange; 3] = [
        SubscriptionChange::Created,
        SubscriptionChange::Updated,
        SubscriptionChange::Deleted,
    ];

    fn index(self) -> i64 {
        match self {
            SubscriptionChange::Created => 0,
            SubscriptionChange::Updated => 1,
            SubscriptionChange::Deleted => 2,
        }
    }
}

/// One constraint: `kind` is `temp_above`, `temp_below`, `rain`, `snow` or `wind_above`.
#[derive(Debug, Clone, PartialEq)]
pub struct WeatherConstraint {
    pub kind: String,
    pub threshold: Option<f64>,
}

/// The subscription: a city by name and country or by latitude and longitude, constraints.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WeatherSubscription {
    pub id: String,
    pub user_id: String,
    pub city_name: Option<String>,
    pub country: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub constraints: Vec<WeatherConstraint>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub revision: i64,
}

/// A change on `vane.weather.subscriptions`.
#[derive(Debug, Clone, PartialEq)]
pub struct WeatherSubscriptionEvent {
    pub envelope: Envelope,
    pub change: SubscriptionChange,
    pub subscription: WeatherSubscription,
}

impl Event for WeatherSubscriptionEvent {
    const SCHEMA: &'static str = include_str!("../../../schemas/weather_subscription.avsc");

    fn write_body(&self, out: &mut Vec<u8>) {
        use binary::{put_double, put_long, put_optional, put_string};
        let s = &self.subscription;
        self.envelope.write(out);
        put_long(out, self.change.index());
        put_string(out, &s.id);
        put_string(out, &s.user_id);
        put_optional(out, s.city_name.as_ref(), |out, v| put_string(out, v));
        put_optional(out, s.country.as_ref(), |out, v| put_string(out, v));
        put_optional(out, s.lat.as_ref(), |out, v| put_double(out, *v));
        put_optional(out, s.lon.as_ref(), |out, v| put_double(out, *v));
        binary::put_array(out, &s.constraints, |out, c| {
            put_string(out, &c.kind);
            put_optional(out, c.threshold.as_ref(), |out, v| put_double(out, *v));
        });
        put_long(out, s.created_at_ms);
        put_long(out, s.updated_at_ms);
        put_long(out, s.revision);
    }

    fn read_body(reader: &mut Reader<'_>) -> Result<Self, EventsError> {
        let envelope = Envelope::read(reader)?;
        let index = reader.long()?;
        let change = usize::try_from(index)
            .ok()
            .and_then(|i| SubscriptionChange::SYMBOLS.get(i).copied())
            .ok_or_else(|| EventsError::InvalidField {
                field: "change",
                reason: format!("enum index {index}"),
            })?;
        let subscription = WeatherSubscription {
            id: reader.string()?,
            user_id: reader.string()?,
            city_name: reader.optional("subscription.city_name", Reader::string)?,
            country: reader.optional("subscription.country", Reader::string)?,
            lat: reader.optional("subscription.lat", Reader::double)?,
            lon: reader.optional("subscription.lon", Reader::double)?,
            constraints: reader.array(|r| {
                Ok(WeatherConstraint {
                    kind: r.string()?,
                    threshold: r.optional("subscription.constraints.threshold", Reader::double)?,
                })
            })?,
            created_at_ms: reader.long()?,
            updated_at_ms: reader.long()?,
            revision: reader.long()?,
        };
        Ok(WeatherSubscriptionEvent {
            envelope,
            change,
            subscription,
        })
    }
}

#[cfg(test)]
mod tests {
    use apache_avro::types::Value;

    use super::*;
    use crate::Codec;
    use crate::testing::{avro_read, avro_record, envelope_value, union};

    fn event(change: SubscriptionChange) -> WeatherSubscriptionEvent {
        let constraint = |kind: &str, threshold| WeatherConstraint {
            kind: kind.into(),
            threshold,
        };
        WeatherSubscriptionEvent {
            envelope: Envelope::new(1_700_000_000_000, 1_700_000_000_001, "api"),
            change,
            subscription: WeatherSubscription {
                id: "3f1c2b7e-5d4a-4e8f-9a61-0c2d7b8e9f10".into(),
                user_id: "u-42".into(),
                city_name: Some("Catania".into()),
                country: Some("IT".into()),
                lat: None,
                lon: None,
                constraints: vec![
                    constraint("rain", None),
                    constraint("temp_below", Some(-2.5)),
                    constraint("wind_above", Some(12.0)),
                ],
                created_at_ms: 1_700_000_000_000,
                updated_at_ms: 1_700_000_100_000,
                revision: 2,
            },
        }
    }

    /// The event as apache-avro's value, built from the schema's field list, not the codec.
    fn value(e: &WeatherSubscriptionEvent) -> Value {
        let s = &e.subscription;
        let constraints = s.constraints.iter().map(|c| {
            Value::Record(vec![
                ("kind".into(), Value::String(c.kind.clone())),
                ("threshold".into(), union(c.threshold.map(Value::Double))),
            ])
        });
        let symbol = ["CREATED", "UPDATED", "DELETED"][e.change.index() as usize];
        Value::Record(vec![
            ("envelope".into(), envelope_value(&e.envelope)),
            ("change".into(), Value::Enum(e.change.index() as u32, symbol.into())),
            (
                "subscription".into(),
                Value::Record(vec![
                    ("id".into(), Value::String(s.id.clone())),
                    ("user_id".into(), Value::String(s.user_id.clone())),
                    ("city_name".into(), union(s.city_name.clone().map(Value::String))),
                    ("country".into(), union(s.country.clone().map(Value::String))),
                    ("lat".into(), union(s.lat.map(Value::Double))),
                    ("lon".into(), union(s.lon.map(Value::Double))),
                    ("constraints".into(), Value::Array(constraints.collect())),
                    ("created_at_ms".into(), Value::TimestampMillis(s.created_at_ms)),
                    ("updated_at_ms".into(), Value::TimestampMillis(s.updated_at_ms)),
                    ("revision".into(), Value::Long(s.revision)),
                ]),
            ),
        ])
    }

    #[test]
    fn round_trips_and_agrees_with_apache_avro_both_ways() {
        let codec = Codec::<WeatherSubscriptionEvent>::new().unwrap();
        let mut by_coordinates = event(SubscriptionChange::Deleted);
        by_coordinates.subscription.city_name = None;
        by_coordinates.subscription.country = None;
        by_coordinates.subscription.lat = Some(-33.8688);
        by_coordinates.subscription.lon = Some(151.2093);
        by_coordinates.subscription.constraints.clear();
        for original in [
            event(SubscriptionChange::Created),
            event(SubscriptionChange::Updated),
            by_coordinates,
        ] {
            let bytes = codec.encode(&original);
            assert_eq!(codec.decode(&bytes).unwrap(), original);
            assert_eq!(avro_read(&codec, &bytes), value(&original));
            assert_eq!(codec.decode(&avro_record(&codec, value(&original))).unwrap(), original);
        }
    }

    #[test]
    fn malformed_records_are_errors() {
        let codec = Codec::<WeatherSubscriptionEvent>::new().unwrap();
        let original = event(SubscriptionChange::Updated);
        let bytes = codec.encode(&original);
        for cut in 0..bytes.len() {
            assert!(codec.decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        // An enum index apache-avro would not write: the byte after the envelope.
        let mut envelope = Vec::new();
        original.envelope.write(&mut envelope);
        let mut bytes = codec.encode(&original);
        assert_eq!(bytes[10 + envelope.len()], 2, "zig-zag of index 1");
        bytes[10 + envelope.len()] = 6;
        assert!(matches!(
            codec.decode(&bytes),
            Err(EventsError::InvalidField { field: "change", .. })
        ));
        let mut extra = codec.encode(&original);
        extra.push(0);
        assert!(matches!(codec.decode(&extra), Err(EventsError::TrailingBytes(1))));
    }
}
