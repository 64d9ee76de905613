//! `vane sla create|update|delete|list` and the SLA kinds of `vane query` (`sla`, `violations`,
//! `budget`): the flags, and functions that call the API and return exactly what to print.
//!
//! The admin token is never a flag (it would show in `ps` and shell histories): [`run_sla`] reads
//! it from the environment, `VANE_ADMIN_TOKEN`, and [`run_sla_with`] takes it as an argument.
//! Reads need no token.

use clap::{Args, Subcommand, ValueEnum};

use crate::cli::{QueryArgs, QueryKind, parse_matcher, parse_since};
use crate::client::{DEFAULT_GRPC_ADDR, SlaClient};
use crate::matcher::Matcher;
use crate::render::sla as render;
use crate::{ApiError, pb};

/// The environment variable the CLI reads the admin token from.
pub const ADMIN_TOKEN_ENV: &str = "VANE_ADMIN_TOKEN";

/// Flags of `vane sla <command>`.
#[derive(Debug, Clone, Args)]
pub struct SlaArgs {
    #[command(subcommand)]
    pub command: SlaCommand,
    /// Address of vane's gRPC API (host:port, `http://` optional).
    #[arg(long, global = true, env = "VANE_GRPC_ADDR", default_value = DEFAULT_GRPC_ADDR)]
    pub grpc_addr: String,
    /// Print JSON: the definition's object (create, update, delete) or an array (list).
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SlaCommand {
    /// Define an SLA: an allowed range on the series of a metric (needs VANE_ADMIN_TOKEN).
    Create(CreateArgs),
    /// Change an SLA's fields; the flags not given keep their values (needs VANE_ADMIN_TOKEN).
    Update(UpdateArgs),
    /// Delete an SLA; its violation history stays (needs VANE_ADMIN_TOKEN).
    Delete(DeleteArgs),
    /// List the SLAs.
    List(ListArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// Unique name: 1 to 64 of letters, digits, `_`, `.`, `-`.
    #[arg(long)]
    pub name: String,
    /// The metric watched.
    #[arg(long)]
    pub metric: String,
    #[command(flatten)]
    pub fields: SlaFields,
}

#[derive(Debug, Clone, Args)]
pub struct UpdateArgs {
    /// The SLA's id or name.
    #[arg(value_name = "ID|NAME")]
    pub sla: String,
    /// A new name.
    #[arg(long)]
    pub name: Option<String>,
    /// A new metric.
    #[arg(long)]
    pub metric: Option<String>,
    #[command(flatten)]
    pub fields: SlaFields,
    /// Remove an optional field (repeat for several); `labels` removes every matcher.
    #[arg(long, value_enum, value_name = "FIELD")]
    pub clear: Vec<ClearField>,
    /// Apply only if the SLA is still at this revision.
    #[arg(long)]
    pub revision: Option<i64>,
}

#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    /// The SLA's id or name.
    #[arg(value_name = "ID|NAME")]
    pub sla: String,
    /// Delete only if the SLA is still at this revision.
    #[arg(long)]
    pub revision: Option<i64>,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Also list deleted SLAs.
    #[arg(long)]
    pub include_deleted: bool,
}

/// The fields `create` and `update` share.
#[derive(Debug, Clone, Default, Args)]
pub struct SlaFields {
    /// Label matcher in PromQL syntax (`k=v`, `k!=v`, `k=~re`, `k!~re`); repeat to AND several.
    /// On update, the matchers given replace the SLA's.
    #[arg(long = "label", value_name = "MATCHER", value_parser = parse_matcher)]
    pub labels: Vec<Matcher>,
    /// Lowest allowed value (inclusive).
    #[arg(long, allow_negative_numbers = true)]
    pub min: Option<f64>,
    /// Highest allowed value (inclusive).
    #[arg(long, allow_negative_numbers = true)]
    pub max: Option<f64>,
    /// Pending period: how long a series stays out of range before it is violated (e.g. 1m).
    #[arg(long = "for", value_name = "D", value_parser = parse_millis)]
    pub for_ms: Option<i64>,
    /// Hysteresis: a violated series is ok again only this far inside the range.
    #[arg(long, allow_negative_numbers = true)]
    pub recovery_margin: Option<f64>,
    /// How bad a violation is.
    #[arg(long, value_enum)]
    pub severity: Option<SeverityArg>,
    /// Share of good time slices over the budget window, e.g. 0.99.
    #[arg(long)]
    pub budget_target: Option<f64>,
    /// The error budget's window, e.g. 30d.
    #[arg(long, value_name = "D", value_parser = parse_millis)]
    pub budget_window: Option<i64>,
    /// The error budget's time slice, e.g. 1m.
    #[arg(long, value_name = "D", value_parser = parse_millis)]
    pub timeslice: Option<i64>,
    /// Telegram chat told about violations (group chats are negative).
    #[arg(long, allow_negative_numbers = true)]
    pub chat_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Info,
    Warning,
    Critical,
}

impl SeverityArg {
    fn to_pb(self) -> pb::Severity {
        match self {
            SeverityArg::Info => pb::Severity::Info,
            SeverityArg::Warning => pb::Severity::Warning,
            SeverityArg::Critical => pb::Severity::Critical,
        }
    }
}

/// The optional fields `vane sla update --clear` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClearField {
    Min,
    Max,
    RecoveryMargin,
    ChatId,
    /// Every label matcher.
    Labels,
}

fn parse_millis(text: &str) -> Result<i64, String> {
    let duration = parse_since(text)?;
    i64::try_from(duration.as_millis()).map_err(|_| format!("{text:?} is too long"))
}

fn matchers(labels: &[Matcher]) -> Vec<pb::LabelMatcher> {
    labels.iter().map(crate::matcher::to_pb).collect()
}

/// The create request the flags describe.
pub fn create_request(args: &CreateArgs) -> pb::CreateSlaRequest {
    let fields = &args.fields;
    pb::CreateSlaRequest {
        name: args.name.clone(),
        metric: args.metric.clone(),
        matchers: matchers(&fields.labels),
        min: fields.min,
        max: fields.max,
        for_ms: fields.for_ms,
        recovery_margin: fields.recovery_margin,
        severity: fields.severity.map_or(pb::Severity::Unspecified, SeverityArg::to_pb).into(),
        budget_target: fields.budget_target,
        budget_window_ms: fields.budget_window,
        timeslice_ms: fields.timeslice,
        chat_id: fields.chat_id,
    }
}

/// The update request the flags describe; nothing to change is a usage error.
pub fn update_request(args: &UpdateArgs) -> Result<pb::UpdateSlaRequest, ApiError> {
    let fields = &args.fields;
    let clear_labels = args.clear.contains(&ClearField::Labels);
    if clear_labels && !fields.labels.is_empty() {
        return Err(ApiError::InvalidArgument("--label and --clear labels contradict each other".into()));
    }
    let clear: Vec<i32> = args
        .clear
        .iter()
        .filter_map(|field| match field {
            ClearField::Min => Some(pb::SlaField::Min),
            ClearField::Max => Some(pb::SlaField::Max),
            ClearField::RecoveryMargin => Some(pb::SlaField::RecoveryMargin),
            ClearField::ChatId => Some(pb::SlaField::ChatId),
            ClearField::Labels => None,
        })
        .map(Into::into)
        .collect();
    let request = pb::UpdateSlaRequest {
        sla: args.sla.clone(),
        name: args.name.clone(),
        metric: args.metric.clone(),
        replace_matchers: clear_labels || !fields.labels.is_empty(),
        matchers: matchers(&fields.labels),
        min: fields.min,
        max: fields.max,
        for_ms: fields.for_ms,
        recovery_margin: fields.recovery_margin,
        severity: fields.severity.map_or(pb::Severity::Unspecified, SeverityArg::to_pb).into(),
        budget_target: fields.budget_target,
        budget_window_ms: fields.budget_window,
        timeslice_ms: fields.timeslice,
        chat_id: fields.chat_id,
        clear,
        expected_revision: args.revision,
    };
    let unchanged = pb::UpdateSlaRequest {
        sla: request.sla.clone(),
        expected_revision: request.expected_revision,
        ..Default::default()
    };
    if request == unchanged {
        return Err(ApiError::InvalidArgument(
            "nothing to change: give the flags to change (e.g. --max 5) or --clear FIELD".into(),
        ));
    }
    Ok(request)
}

/// Runs `vane sla ...` with the admin token from `VANE_ADMIN_TOKEN`; returns what to print.
pub async fn run_sla(args: &SlaArgs) -> Result<String, ApiError> {
    let token = std::env::var(ADMIN_TOKEN_ENV).ok().filter(|token| !token.trim().is_empty());
    run_sla_with(args, token).await
}

/// [`run_sla`] with the admin token given.
pub async fn run_sla_with(args: &SlaArgs, admin_token: Option<String>) -> Result<String, ApiError> {
    let json = args.json;
    let has_token = admin_token.is_some();
    let changed = match &args.command {
        SlaCommand::List(list) => {
            let rows = SlaClient::connect(&args.grpc_addr, None).await?.list(list.include_deleted).await?;
            return render::definitions(&rows, json);
        }
        SlaCommand::Create(create) => {
            let request = create_request(create);
            SlaClient::connect(&args.grpc_addr, admin_token).await?.create(request).await
        }
        SlaCommand::Update(update) => {
            let request = update_request(update)?;
            SlaClient::connect(&args.grpc_addr, admin_token).await?.update(request).await
        }
        SlaCommand::Delete(delete) => {
            let request = pb::DeleteSlaRequest {
                sla: delete.sla.clone(),
                expected_revision: delete.revision,
            };
            SlaClient::connect(&args.grpc_addr, admin_token).await?.delete(request).await
        }
    };
    match changed {
        Ok(row) => render::definition(&row, json),
        Err(ApiError::Rpc(status)) if status.code() == tonic::Code::Unauthenticated && !has_token => Err(ApiError::InvalidArgument(
            format!("{}; set {ADMIN_TOKEN_ENV} to the server's api.admin_token", status.message()),
        )),
        Err(error) => Err(error),
    }
}

/// `vane query sla|violations|budget`: what to print, at `now_ms` (for `--since`).
pub(crate) async fn run_query(args: &QueryArgs, now_ms: i64) -> Result<String, ApiError> {
    let what = match args.what {
        QueryKind::Sla => "sla",
        QueryKind::Violations => "violations",
        QueryKind::Budget => "budget",
        QueryKind::Counts => "counts",
        _ => return Err(ApiError::InvalidArgument("not an SLA query".into())),
    };
    if args.metric.is_some() || !args.labels.is_empty() {
        return Err(ApiError::InvalidArgument(format!(
            "--metric and --label do not apply to `vane query {what}`: name the SLA with --sla ID|NAME"
        )));
    }
    let sla = args.sla.clone().unwrap_or_default();
    if args.what != QueryKind::Violations && crate::cli::has_time_range(args) {
        return Err(ApiError::InvalidArgument(format!(
            "--since, --from and --to do not apply to `vane query {what}`: it reads the current state"
        )));
    }
    match args.what {
        QueryKind::Violations => {
            if sla.is_empty() {
                return Err(ApiError::InvalidArgument(
                    "--sla is required for `vane query violations`: name the SLA by id or name".into(),
                ));
            }
            let (from_ms, to_ms) = crate::cli::time_range(args, now_ms)?;
            let request = pb::ListViolationsRequest {
                sla,
                from_ms,
                to_ms,
                page_size: 0,
                page_token: String::new(),
            };
            let rows = SlaClient::connect(&args.grpc_addr, None).await?.all_violations(request).await?;
            render::violations(&rows, args.json)
        }
        QueryKind::Budget => {
            let mut client = SlaClient::connect(&args.grpc_addr, None).await?;
            let mut rows = Vec::new();
            for name in sla_names(&mut client, sla).await? {
                rows.push(client.budget(&name).await?);
            }
            render::budgets(&rows, args.json)
        }
        QueryKind::Counts => {
            let mut client = SlaClient::connect(&args.grpc_addr, None).await?;
            let mut rows = Vec::new();
            for name in sla_names(&mut client, sla).await? {
                rows.push(client.counts(&name).await?);
            }
            render::counts(&rows, args.json)
        }
        _ => {
            let rows = SlaClient::connect(&args.grpc_addr, None).await?.all_status(&sla).await?;
            render::status(&rows, args.json)
        }
    }
}

/// The SLA named on the command line, or every defined one.
async fn sla_names(client: &mut SlaClient, sla: String) -> Result<Vec<String>, ApiError> {
    if sla.is_empty() {
        Ok(client.list(false).await?.into_iter().map(|row| row.id).collect())
    } else {
        Ok(vec![sla])
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        sla: SlaArgs,
    }

    fn parse(argv: &[&str]) -> SlaArgs {
        let mut full = vec!["vane"];
        full.extend_from_slice(argv);
        Cli::try_parse_from(full).unwrap().sla
    }

    /// The binary's shape: `vane query ...` and `vane sla ...` side by side.
    #[derive(Debug, Parser)]
    struct Binary {
        #[command(subcommand)]
        command: BinaryCommand,
    }

    #[derive(Debug, Subcommand)]
    enum BinaryCommand {
        Query(QueryArgs),
        Sla(SlaArgs),
    }

    #[test]
    fn mounts_as_a_subcommand_of_the_binary() {
        use clap::CommandFactory;
        Binary::command().debug_assert();
        let parsed = Binary::try_parse_from(["vane", "sla", "list", "--json", "--grpc-addr", "127.0.0.1:1"]).unwrap();
        let BinaryCommand::Sla(args) = parsed.command else {
            panic!("not sla")
        };
        assert!(args.json && matches!(args.command, SlaCommand::List(_)));
        let parsed = Binary::try_parse_from(["vane", "sla", "--json", "delete", "memory"]).unwrap();
        let BinaryCommand::Sla(args) = parsed.command else {
            panic!("not sla")
        };
        assert!(args.json && matches!(args.command, SlaCommand::Delete(_)));
        let parsed = Binary::try_parse_from(["vane", "query", "violations", "--sla", "memory", "--since", "6h"]).unwrap();
        let BinaryCommand::Query(args) = parsed.command else {
            panic!("not query")
        };
        assert_eq!((args.what, args.sla.as_deref()), (QueryKind::Violations, Some("memory")));
    }

    #[test]
    fn create_takes_the_contracts_flags() {
        let args = parse(&[
            "create",
            "--name",
            "memory",
            "--metric",
            "node_memory_MemFree_bytes",
            "--label",
            "job=node",
            "--min",
            "-5",
            "--max",
            "1e9",
            "--for",
            "1m",
            "--recovery-margin",
            "0.5",
            "--severity",
            "critical",
            "--budget-target",
            "0.999",
            "--budget-window",
            "7d",
            "--timeslice",
            "30s",
            "--chat-id",
            "-100123",
            "--json",
        ]);
        assert!(args.json);
        let SlaCommand::Create(create) = &args.command else {
            panic!("not create")
        };
        let request = create_request(create);
        assert_eq!(request.name, "memory");
        assert_eq!(request.matchers.len(), 1);
        assert_eq!((request.min, request.max), (Some(-5.0), Some(1e9)));
        assert_eq!(request.for_ms, Some(60_000));
        assert_eq!(request.severity, pb::Severity::Critical as i32);
        assert_eq!(
            (request.budget_window_ms, request.timeslice_ms),
            (Some(7 * 86_400_000), Some(30_000))
        );
        assert_eq!(request.chat_id, Some(-100_123));
    }

    #[test]
    fn update_sends_only_what_changes() {
        let args = parse(&[
            "update",
            "memory",
            "--max",
            "10",
            "--clear",
            "min",
            "--clear",
            "labels",
            "--revision",
            "3",
        ]);
        let SlaCommand::Update(update) = &args.command else {
            panic!("not update")
        };
        let request = update_request(update).unwrap();
        assert_eq!(request.sla, "memory");
        assert_eq!(request.max, Some(10.0));
        assert!(request.min.is_none() && request.name.is_none());
        assert_eq!(request.clear, [pb::SlaField::Min as i32]);
        assert!(request.replace_matchers && request.matchers.is_empty());
        assert_eq!(request.expected_revision, Some(3));

        let args = parse(&["update", "memory"]);
        let SlaCommand::Update(update) = &args.command else {
            panic!("not update")
        };
        assert!(update_request(update).unwrap_err().to_string().contains("nothing to change"));
        let args = parse(&["update", "memory", "--label", "a=b", "--clear", "labels"]);
        let SlaCommand::Update(update) = &args.command else {
            panic!("not update")
        };
        assert!(update_request(update).is_err());
    }

    #[test]
    fn usage_errors_name_the_flag() {
        for (argv, words) in [
            (vec!["vane", "create", "--metric", "m"], "--name"),
            (vec!["vane", "create", "--name", "n", "--metric", "m", "--for", "soon"], "soon"),
            (
                vec!["vane", "create", "--name", "n", "--metric", "m", "--severity", "fatal"],
                "fatal",
            ),
            (vec!["vane", "create", "--name", "n", "--metric", "m", "--label", "job~x"], "job~x"),
            (vec!["vane", "delete"], "ID|NAME"),
            (vec!["vane", "update", "x", "--clear", "name"], "name"),
        ] {
            let error = Cli::try_parse_from(&argv).unwrap_err().to_string();
            assert!(error.contains(words), "{argv:?}: {error}");
        }
        assert!(Cli::try_parse_from(["vane", "create", "--name", "n", "--metric", "m", "--admin-token", "x"]).is_err());
    }
}
