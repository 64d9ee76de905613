//! The prepared statements of the SLA tables (their CQL is in `cql`), prepared once with the
//! rest of the ScyllaDB backend's statements.

use scylla::statement::prepared::PreparedStatement;

use super::ScyllaStore;
use super::cql;
use crate::StoreError;

/// The prepared statements of the SLA tables.
#[derive(Debug)]
pub(super) struct Statements {
    pub(super) insert_definition: PreparedStatement,
    pub(super) get_definition: PreparedStatement,
    pub(super) all_definitions: PreparedStatement,
    pub(super) deleted_slas: PreparedStatement,
    pub(super) status_state: PreparedStatement,
    pub(super) insert_status: PreparedStatement,
    pub(super) insert_status_sla: PreparedStatement,
    pub(super) list_status: PreparedStatement,
    pub(super) next_status_slas: PreparedStatement,
    pub(super) delete_status: PreparedStatement,
    pub(super) delete_status_sla: PreparedStatement,
    pub(super) old_status: PreparedStatement,
    pub(super) delete_old_status: PreparedStatement,
    pub(super) insert_violation: PreparedStatement,
    pub(super) insert_transition: PreparedStatement,
    pub(super) insert_day: PreparedStatement,
    pub(super) days: PreparedStatement,
    pub(super) list_violations: PreparedStatement,
    pub(super) list_transitions: PreparedStatement,
    pub(super) violation_times: PreparedStatement,
    pub(super) transition_targets: PreparedStatement,
    pub(super) old_violations: PreparedStatement,
    pub(super) delete_violation: PreparedStatement,
    pub(super) old_transitions: PreparedStatement,
    pub(super) delete_transition: PreparedStatement,
    pub(super) old_days: PreparedStatement,
    pub(super) delete_day: PreparedStatement,
}

impl Statements {
    pub(super) async fn prepare(store: &ScyllaStore) -> Result<Statements, StoreError> {
        Ok(Statements {
            insert_definition: store.prepare("insert SLA definition", cql::INSERT_SLA_DEFINITION).await?,
            get_definition: store.prepare("get SLA definition", cql::GET_SLA_DEFINITION).await?,
            all_definitions: store.prepare("list SLA definitions", cql::ALL_SLA_DEFINITIONS).await?,
            deleted_slas: store.prepare("read deleted SLAs", cql::DELETED_SLAS).await?,
            status_state: store.prepare("read SLA status", &cql::sla_status_state()).await?,
            insert_status: store.prepare("insert SLA status", &cql::insert_sla_status()).await?,
            insert_status_sla: store.prepare("insert SLA with status", cql::INSERT_SLA_STATUS_SLA).await?,
            list_status: store.prepare("list SLA status", &cql::list_sla_status()).await?,
            next_status_slas: store.prepare("next SLAs with status", cql::NEXT_STATUS_SLAS).await?,
            delete_status: store.prepare("delete SLA status", cql::DELETE_SLA_STATUS).await?,
            delete_status_sla: store.prepare("delete SLA with status", cql::DELETE_SLA_STATUS_SLA).await?,
            old_status: store.prepare("scan old SLA status", cql::OLD_SLA_STATUS).await?,
            delete_old_status: store.prepare("delete old SLA status", cql::DELETE_OLD_SLA_STATUS).await?,
            insert_violation: store.prepare("insert SLA violation", cql::INSERT_SLA_VIOLATION).await?,
            insert_transition: store.prepare("insert SLA transition", cql::INSERT_SLA_TRANSITION).await?,
            insert_day: store.prepare("insert SLA day", cql::INSERT_SLA_DAY).await?,
            days: store.prepare("list SLA days", cql::SLA_DAYS).await?,
            list_violations: store.prepare("list SLA violations", cql::LIST_SLA_VIOLATIONS).await?,
            list_transitions: store.prepare("list SLA transitions", cql::LIST_SLA_TRANSITIONS).await?,
            violation_times: store.prepare("count SLA violations", cql::SLA_VIOLATION_TIMES).await?,
            transition_targets: store.prepare("count SLA episodes", cql::SLA_TRANSITION_TARGETS).await?,
            old_violations: store.prepare("scan old SLA violations", cql::OLD_SLA_VIOLATIONS).await?,
            delete_violation: store.prepare("delete SLA violation", cql::DELETE_SLA_VIOLATION).await?,
            old_transitions: store.prepare("scan old SLA transitions", cql::OLD_SLA_TRANSITIONS).await?,
            delete_transition: store.prepare("delete SLA transition", cql::DELETE_SLA_TRANSITION).await?,
            old_days: store.prepare("scan old SLA days", cql::OLD_SLA_DAYS).await?,
            delete_day: store.prepare("delete SLA day", cql::DELETE_SLA_DAY).await?,
        })
    }
}
