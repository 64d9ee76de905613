//! `vane.users.UserChanged` (schemas/user.avsc): a user registered, their Telegram chat linked,
//! password changed, settings changed or account deleted, on the compacted `vane.users` keyed by
//! the user id. Every record carries the whole user (with the argon2id hash, never a password),
//! so the newest revision is all the login read model and the weather matcher need. Pure.

use crate::binary::{self, Reader};
use crate::sample::Envelope;
use crate::{Event, EventsError};

/// What happened to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserChange {
    Registered,
    ChatLinked,
    PasswordChanged,
    SettingsChanged,
    /// The record carries the last version, with a higher revision.
    Deleted,
}

impl UserChange {
    /// The Avro enum symbols, in schema order.
    const SYMBOLS: [UserChange; 5] = [
        UserChange::Registered,
        UserChange::ChatLinked,
        UserChange::PasswordChanged,
        UserChange::SettingsChanged,
        UserChange::Deleted,
    ];

    fn index(self) -> i64 {
        match self {
            UserChange::Registered => 0,
            UserChange::ChatLinked => 1,
            UserChange::PasswordChanged => 2,
            UserChange::SettingsChanged => 3,
            UserChange::Deleted => 4,
        }
    }
}

/// The user after the change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    pub id: String,
    pub username: String,
    /// argon2id in PHC string format.
    pub password_hash: String,
    pub chat_id: Option<i64>,
    /// IANA time zone name.
    pub time_zone: String,
    /// `HH:MM-HH:MM` in the user's zone.
    pub quiet_hours: Option<String>,
    pub cooldown_ms: i64,
    pub created_at_ms: i64,
    pub revision: i64,
}

/// A change on `vane.users`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserEvent {
    pub envelope: Envelope,
    pub change: UserChange,
    pub user: User,
}

impl Event for UserEvent {
    const SCHEMA: &'static str = include_str!("../../../schemas/user.avsc");

    fn write_body(&self, out: &mut Vec<u8>) {
        use binary::{put_long, put_optional, put_string};
        let u = &self.user;
        self.envelope.write(out);
        put_long(out, self.change.index());
        put_string(out, &u.id);
        put_string(out, &u.username);
        put_string(out, &u.password_hash);
        put_optional(out, u.chat_id.as_ref(), |out, v| put_long(out, *v));
        put_string(out, &u.time_zone);
        put_optional(out, u.quiet_hours.as_ref(), |out, v| put_string(out, v));
        put_long(out, u.cooldown_ms);
        put_long(out, u.created_at_ms);
        put_long(out, u.revision);
    }

    fn read_body(reader: &mut Reader<'_>) -> Result<Self, EventsError> {
        let envelope = Envelope::read(reader)?;
        let index = reader.long()?;
        let change = usize::try_from(index)
            .ok()
            .and_then(|i| UserChange::SYMBOLS.get(i).copied())
            .ok_or_else(|| EventsError::InvalidField {
                field: "change",
                reason: format!("enum index {index}"),
            })?;
        let user = User {
            id: reader.string()?,
            username: reader.string()?,
            password_hash: reader.string()?,
            chat_id: reader.optional("user.chat_id", Reader::long)?,
            time_zone: reader.string()?,
            quiet_hours: reader.optional("user.quiet_hours", Reader::string)?,
            cooldown_ms: reader.long()?,
            created_at_ms: reader.long()?,
            revision: reader.long()?,
        };
        Ok(UserEvent { envelope, change, user })
    }
}

#[cfg(test)]
mod tests {
    use apache_avro::types::Value;

    use super::*;
    use crate::Codec;
    use crate::testing::{avro_read, avro_record, envelope_value, union};

    fn event(change: UserChange) -> UserEvent {
        UserEvent {
            envelope: Envelope::new(1_700_000_000_000, 1_700_000_000_001, "api"),
            change,
            user: User {
                id: "0b7c5e9a-1d2f-4a3b-8c4d-5e6f7a8b9c0d".into(),
                username: "ada".into(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
                chat_id: Some(-1_001_234_567_890),
                time_zone: "Europe/Rome".into(),
                quiet_hours: Some("22:00-07:00".into()),
                cooldown_ms: 3_600_000,
                created_at_ms: 1_700_000_000_000,
                revision: 3,
            },
        }
    }

    /// The event as apache-avro's value, built from the schema's field list, not the codec.
    fn value(e: &UserEvent) -> Value {
        let u = &e.user;
        let symbol = ["REGISTERED", "CHAT_LINKED", "PASSWORD_CHANGED", "SETTINGS_CHANGED", "DELETED"][e.change.index() as usize];
        Value::Record(vec![
            ("envelope".into(), envelope_value(&e.envelope)),
            ("change".into(), Value::Enum(e.change.index() as u32, symbol.into())),
            (
                "user".into(),
                Value::Record(vec![
                    ("id".into(), Value::String(u.id.clone())),
                    ("username".into(), Value::String(u.username.clone())),
                    ("password_hash".into(), Value::String(u.password_hash.clone())),
                    ("chat_id".into(), union(u.chat_id.map(Value::Long))),
                    ("time_zone".into(), Value::String(u.time_zone.clone())),
                    ("quiet_hours".into(), union(u.quiet_hours.clone().map(Value::String))),
                    ("cooldown_ms".into(), Value::Long(u.cooldown_ms)),
                    ("created_at_ms".into(), Value::TimestampMillis(u.created_at_ms)),
                    ("revision".into(), Value::Long(u.revision)),
                ]),
            ),
        ])
    }

    #[test]
    fn round_trips_and_agrees_with_apache_avro_both_ways() {
        let codec = Codec::<UserEvent>::new().unwrap();
        let mut bare = event(UserChange::Registered);
        bare.user.chat_id = None;
        bare.user.quiet_hours = None;
        let mut all = vec![bare];
        all.extend(UserChange::SYMBOLS.map(event));
        for original in all {
            let bytes = codec.encode(&original);
            assert_eq!(codec.decode(&bytes).unwrap(), original);
            assert_eq!(avro_read(&codec, &bytes), value(&original));
            assert_eq!(codec.decode(&avro_record(&codec, value(&original))).unwrap(), original);
        }
    }

    #[test]
    fn malformed_records_are_errors() {
        let codec = Codec::<UserEvent>::new().unwrap();
        let original = event(UserChange::ChatLinked);
        let bytes = codec.encode(&original);
        for cut in 0..bytes.len() {
            assert!(codec.decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut envelope = Vec::new();
        original.envelope.write(&mut envelope);
        let mut bytes = codec.encode(&original);
        assert_eq!(bytes[10 + envelope.len()], 2, "zig-zag of index 1");
        bytes[10 + envelope.len()] = 10;
        assert!(matches!(
            codec.decode(&bytes),
            Err(EventsError::InvalidField { field: "change", .. })
        ));
        let mut extra = codec.encode(&original);
        extra.push(0);
        assert!(matches!(codec.decode(&extra), Err(EventsError::TrailingBytes(1))));
    }
}
