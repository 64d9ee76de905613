//! `vane`: parse the command line, load the configuration once, dispatch, exit with a code.

mod analyze;
mod cli;
mod config;
mod config_file;
mod telegram;
mod up;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing();
    let outcome = match cli.command {
        cli::Command::Up(args) => config::load(&args, None).and_then(|config| up::run(config, up::Roles::All)),
        cli::Command::Run { role, server } => config::load(&server, Some(role)).and_then(|config| up::run(config, up::Roles::One(role))),
        cli::Command::Query(args) => query(&args),
        cli::Command::Sla(args) => sla(&args),
        cli::Command::User(args) => client(vane_api::run_user(&args)),
        cli::Command::Subscribe(args) => client(vane_api::run_subscribe(&args)),
        cli::Command::Subscriptions(args) => client(vane_api::run_subscriptions(&args)),
        cli::Command::Unsubscribe(args) => client(vane_api::run_unsubscribe(&args)),
        cli::Command::Replay(args) => config::load(&args, None).and_then(up::replay),
        cli::Command::Migrate(args) => config::load(&args, None).and_then(up::migrate),
        cli::Command::Analyze(args) => analyze::run(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn query(args: &vane_api::QueryArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let output = runtime.block_on(vane_api::run_query(args))?;
    print!("{output}");
    Ok(())
}

fn sla(args: &vane_api::SlaArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let output = runtime.block_on(vane_api::run_sla(args))?;
    print!("{output}");
    Ok(())
}

/// Runs one client call and prints what it returns.
fn client(call: impl std::future::Future<Output = Result<String, vane_api::ApiError>>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let output = runtime.block_on(call)?;
    print!("{output}");
    Ok(())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VANE_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
