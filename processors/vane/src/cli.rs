//! The command line (a contract: see the design's "Command line" section).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "vane", version, about = "Event-sourced stream processor for metrics, SLAs and weather alerts")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every role in one process; embedded log under --data-dir unless --kafka is given.
    Up(ServerArgs),
    /// One role in this process (scale out by running more replicas).
    Run {
        #[arg(value_enum)]
        role: Role,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// The roles built so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Validates vane.metrics.ingest into vane.metrics.samples and serves remote write.
    Ingest,
}

/// Flags shared by `up` and `run`; they override the config file and the environment.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Directory of the embedded log and store (default ./vane-data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Kafka bootstrap servers (host:port,...): use Kafka instead of the embedded log.
    #[arg(long)]
    pub kafka: Option<String>,
    /// HTTP listen address for remote write, /metrics and /healthz (default 127.0.0.1:9464).
    #[arg(long)]
    pub http_addr: Option<String>,
    /// TOML configuration file; VANE__SECTION__KEY environment variables override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
}
