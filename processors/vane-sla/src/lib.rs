//! vane's SLA manager, worker side.
//!
//! - [`table`]: the SLA definitions as a global table rebuilt from `vane.sla.definitions`;
//! - [`evaluate`]: how samples move a series' status (ok, pending, violated, no data);
//! - [`notify`]: the notifications a violation's start, end or likelihood sends;
//! - [`processor`]: the stream processor joining samples and analyses with the definitions;
//! - [`follow`]: the task that keeps the table in step with the log (the only I/O here).

pub mod evaluate;
pub mod follow;
pub mod notify;
pub mod processor;
pub mod table;

pub use processor::{SlaConfig, SlaProcessor};
pub use table::{SharedSlaTable, SlaTable};
