//! The SLA definitions table follows the compacted `vane.sla.definitions` topic: read to its end
//! before the workers start ([`vane_stream::global::read_to_end`]), then tailed.

use tokio::sync::watch;
use tokio::task::JoinHandle;
use vane_events::{Codec, SlaDefinitionEvent};
use vane_stream::global::{read_to_end, tail};
use vane_stream::{Log, Record, StreamError, topics};

use crate::table::{SharedSlaTable, SlaTable};

/// Loads the SLA definitions to the end of their topic, then keeps following it in a task until
/// `shutdown`. The returned table is complete as of the call.
pub async fn follow_definitions(log: &Log, shutdown: watch::Receiver<bool>) -> Result<(SharedSlaTable, JoinHandle<()>), StreamError> {
    let codec: Codec<SlaDefinitionEvent> = Codec::new().map_err(|e| StreamError::Startup(e.to_string()))?;
    let table = SlaTable::shared();
    let apply = {
        let table = table.clone();
        move |record: &Record| match codec.decode(&record.value) {
            Ok(event) => {
                if let Ok(mut table) = table.write() {
                    table.apply(event.definition, event.deleted);
                }
            }
            Err(error) => {
                tracing::warn!(offset = record.offset, partition = record.partition, %error, "undecodable SLA definition skipped")
            }
        }
    };
    let mut apply = apply;
    let consumer = read_to_end(log, topics::SLA_DEFINITIONS, &mut apply).await?;
    let count = table.read().map(|t| t.len()).unwrap_or(0);
    tracing::info!(slas = count, "SLA definitions loaded");
    let task = tail(
        consumer,
        "SLA definitions",
        move |record| {
            apply(record);
            true
        },
        shutdown,
    );
    Ok((table, task))
}
