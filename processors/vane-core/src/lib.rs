//! vane's pure core: the rules every other crate builds on, without I/O.
//!
//! - [`sample`]: what a metric sample is, how raw input (JSON, remote write) becomes one, and
//!   how its series id is derived;
//! - [`time`]: timestamps (Unix seconds, milliseconds, RFC 3339) and durations such as `"10m"`;
//! - [`partition`]: the key → partition function shared by both log backends;
//! - [`matcher`]: PromQL label matchers (query filters, SLA selectors);
//! - [`sla`]: what an SLA is (definition, validation, statuses) and how a sample is judged.
//!
//! Nothing here reads the clock, the disk or the network: time is passed in.

pub mod error;
pub mod matcher;
pub mod partition;
pub mod sample;
pub mod sla;
pub mod time;
pub mod window;

pub use error::CoreError;
pub use sample::{Labels, Sample, SeriesId, SeriesIdentity};
