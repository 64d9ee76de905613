//! The SLA manager's API, shared by the gRPC service (`vane.v1.Sla`) and the JSON API on the HTTP
//! address: changes to definitions and every read.
//!
//! A change (create, update, delete) needs the admin token ([`SlaApi::authorize`] returns the
//! [`Admin`] proof that the change methods take), is validated in full, and is written as a
//! [`SlaDefinitionEvent`] on `vane.sla.definitions` (key = SLA id); the projector turns it into the
//! store's definition rows. Changes in one process are serialized, and what this process wrote is
//! merged over the store's answers until the store catches up ([`pending`]), so that a change is
//! judged against the latest revision and a client reads its own writes. Reads go to the store
//! ([`reads`]). I/O: the store and the log; the time comes from the injected clock.

mod convert;
mod grpc;
mod http;
mod pending;
mod pipeline;
pub(crate) mod reads;
pub mod spec;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use vane_core::sla::{SlaDefinition, looks_like_uuid};
use vane_events::{Codec, Envelope, SlaDefinitionEvent};
use vane_store::{SlaDefinitionRow, Store};
use vane_stream::runner::Clock;
use vane_stream::topics::SLA_DEFINITIONS;
use vane_stream::{Log, OutRecord};

pub(crate) use grpc::SlaService;
pub use http::sla_http_router;
use pending::Pending;
pub use spec::{SlaPatch, SlaSpec};

use crate::ApiError;

/// The envelope's `source` of the definitions the API writes.
const EVENT_SOURCE: &str = "api";

/// The SLA API over one store and one log; cheap to clone (gRPC and HTTP share one).
#[derive(Clone)]
pub struct SlaApi {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    log: Log,
    admin_token: Option<String>,
    clock: Arc<dyn Clock>,
    codec: Codec<SlaDefinitionEvent>,
    /// Held from reading the current revision to recording the written one.
    changes: tokio::sync::Mutex<()>,
    pending: Mutex<Pending>,
}

impl fmt::Debug for SlaApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlaApi")
            .field("store", &self.inner.store.backend())
            .field("log", &self.inner.log.backend())
            .field("admin_token", &self.inner.admin_token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// Proof that a call presented the admin token.
#[derive(Debug)]
pub(crate) struct Admin(());

impl SlaApi {
    /// The API over `store` (reads) and `log` (changes, on `vane.sla.definitions`, which must
    /// exist). Without an `admin_token` (or with an empty one) every change is refused.
    pub fn new(store: Store, log: Log, admin_token: Option<String>, clock: Arc<dyn Clock>) -> Result<SlaApi, ApiError> {
        let admin_token = admin_token.filter(|token| !token.trim().is_empty());
        if admin_token.is_none() {
            tracing::info!("no api.admin_token configured: SLA changes are disabled, reads are open");
        }
        Ok(SlaApi {
            inner: Arc::new(Inner {
                store,
                log,
                admin_token,
                clock,
                codec: Codec::new()?,
                changes: tokio::sync::Mutex::new(()),
                pending: Mutex::new(Pending::default()),
            }),
        })
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// Checks an `authorization` header value (`Bearer <token>`), in constant time.
    pub(crate) fn authorize(&self, authorization: Option<&str>) -> Result<Admin, ApiError> {
        let Some(expected) = &self.inner.admin_token else {
            return Err(ApiError::ChangesDisabled);
        };
        let Some(presented) = authorization else {
            return Err(ApiError::Unauthenticated(
                "SLA changes need the admin token: send the header `authorization: Bearer <token>`".into(),
            ));
        };
        let token = presented
            .strip_prefix("Bearer ")
            .or_else(|| presented.strip_prefix("bearer "))
            .map(str::trim);
        match token {
            Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => Ok(Admin(())),
            Some(_) => Err(ApiError::Unauthenticated("the admin token is wrong".into())),
            None => Err(ApiError::Unauthenticated(
                "the authorization header must be `Bearer <admin token>`".into(),
            )),
        }
    }

    /// Defines a new SLA: a fresh id, revision 1.
    pub(crate) async fn create(&self, _admin: &Admin, spec: SlaSpec) -> Result<SlaDefinitionRow, ApiError> {
        let _serialized = self.inner.changes.lock().await;
        let now_ms = self.now_ms();
        let definition = spec.into_definition(&uuid::Uuid::new_v4().to_string(), now_ms);
        self.check(&definition).await?;
        self.write(definition, false).await
    }

    /// Changes the fields `patch` sets: revision + 1, same id and creation time.
    pub(crate) async fn update(&self, _admin: &Admin, sla: &str, patch: SlaPatch) -> Result<SlaDefinitionRow, ApiError> {
        let _serialized = self.inner.changes.lock().await;
        let current = self.live(sla).await?;
        check_revision(&current.definition, patch.expected_revision)?;
        let mut definition = current.definition;
        patch.apply(&mut definition);
        definition.revision = definition.revision.saturating_add(1);
        definition.updated_at_ms = self.now_ms();
        self.check(&definition).await?;
        self.write(definition, false).await
    }

    /// Deletes an SLA: its last definition with `deleted` set, revision + 1.
    pub(crate) async fn delete(&self, _admin: &Admin, sla: &str, expected_revision: Option<i64>) -> Result<SlaDefinitionRow, ApiError> {
        let _serialized = self.inner.changes.lock().await;
        let current = self.live(sla).await?;
        check_revision(&current.definition, expected_revision)?;
        let mut definition = current.definition;
        definition.revision = definition.revision.saturating_add(1);
        definition.updated_at_ms = self.now_ms();
        self.write(definition, true).await
    }

    /// An SLA by id (deleted ones too) or by name (live ones only).
    pub(crate) async fn get(&self, sla: &str) -> Result<SlaDefinitionRow, ApiError> {
        self.lookup(sla).await?.ok_or_else(|| not_found(sla))
    }

    /// An SLA that is not deleted, for a change.
    async fn live(&self, sla: &str) -> Result<SlaDefinitionRow, ApiError> {
        let row = self.get(sla).await?;
        if row.deleted {
            return Err(ApiError::NotFound(format!("SLA {sla:?} ({}) was deleted", row.definition.name)));
        }
        Ok(row)
    }

    /// Every SLA ordered by name, deleted ones only when asked for.
    pub(crate) async fn list(&self, include_deleted: bool) -> Result<Vec<SlaDefinitionRow>, ApiError> {
        let stored = self.inner.store.list_slas(true).await?;
        let mut rows = self.pending().merge_all(stored);
        if !include_deleted {
            rows.retain(|row| !row.deleted);
        }
        Ok(rows)
    }

    async fn lookup(&self, sla: &str) -> Result<Option<SlaDefinitionRow>, ApiError> {
        let sla = sla.trim();
        if sla.is_empty() {
            return Err(ApiError::InvalidArgument("name the SLA: its id or its name".into()));
        }
        if looks_like_uuid(sla) {
            let stored = self.inner.store.get_sla(sla).await?;
            return Ok(self.pending().merge(sla, stored));
        }
        // By name: the store's live row of that name, or one this process wrote since, each as
        // of its latest revision (a rename or a delete may not be in the store yet).
        let mut candidates: Vec<String> = self.pending().ids_named(sla);
        if let Some(stored) = self.inner.store.get_sla(sla).await?
            && !candidates.contains(&stored.definition.id)
        {
            candidates.push(stored.definition.id);
        }
        for id in candidates {
            let stored = self.inner.store.get_sla(&id).await?;
            if let Some(row) = self.pending().merge(&id, stored)
                && !row.deleted
                && row.definition.name == sla
            {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    /// Validation, and the name unique among live SLAs.
    async fn check(&self, definition: &SlaDefinition) -> Result<(), ApiError> {
        if let Err(error) = definition.validate() {
            return Err(match error {
                vane_core::CoreError::InvalidSla(problems) => ApiError::InvalidSla(problems),
                other => ApiError::InvalidSla(vec![other.to_string()]),
            });
        }
        if let Some(other) = self.lookup(&definition.name).await?
            && other.definition.id != definition.id
        {
            return Err(ApiError::AlreadyExists(format!(
                "an SLA named {:?} already exists (id {}); pick another name or update that one",
                definition.name, other.definition.id
            )));
        }
        Ok(())
    }

    /// Writes the definition to the log and remembers it.
    async fn write(&self, definition: SlaDefinition, deleted: bool) -> Result<SlaDefinitionRow, ApiError> {
        let now_ms = self.now_ms();
        let event = SlaDefinitionEvent {
            envelope: Envelope::new(definition.updated_at_ms, now_ms, EVENT_SOURCE),
            definition,
            deleted,
        };
        let record = OutRecord::new(
            SLA_DEFINITIONS,
            event.definition.id.as_bytes(),
            self.inner.codec.encode(&event),
            event.definition.updated_at_ms,
        );
        self.inner.log.send(&[record]).await?;
        tracing::info!(
            sla_id = %event.definition.id,
            name = %event.definition.name,
            revision = event.definition.revision,
            deleted,
            "SLA definition written"
        );
        let row = SlaDefinitionRow {
            definition: event.definition,
            deleted,
        };
        self.pending().record(row.clone());
        Ok(row)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        // The map stays consistent whatever a panicking holder did: every method leaves it whole.
        self.inner.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn check_revision(current: &SlaDefinition, expected: Option<i64>) -> Result<(), ApiError> {
    match expected {
        Some(expected) if expected != current.revision => Err(ApiError::RevisionMismatch(format!(
            "SLA {:?} is at revision {}, not {expected}: read it again and retry",
            current.name, current.revision
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn not_found(sla: &str) -> ApiError {
    ApiError::NotFound(format!("no SLA has the id or name {sla:?}; `vane sla list` lists them"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"s3cret", b"s3cret "));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn a_stale_revision_is_refused() {
        let definition = SlaDefinition::new("id", "memory", "m", None, Some(1.0), 0);
        assert!(check_revision(&definition, None).is_ok());
        assert!(check_revision(&definition, Some(1)).is_ok());
        let error = check_revision(&definition, Some(2)).unwrap_err();
        assert!(error.to_string().contains("is at revision 1, not 2"), "{error}");
    }
}
