//! `vane user register|login|link-code|passwd|delete|settings`, `vane subscribe`,
//! `vane subscriptions` and `vane unsubscribe`: the flags, and functions that call the API and
//! return exactly what to print.
//!
//! Secrets are never required as flags (they would show in `ps` and shell histories): a password
//! not given with `--password` comes from `VANE_PASSWORD` or, failing that, from the first line
//! of standard input (no prompt, so scripts can pipe it); the token comes from `--token` or
//! `VANE_TOKEN` (`vane user login` prints it).

use std::io::BufRead as _;

use clap::{Args, Subcommand};
use serde_json::json;
use tonic::Request;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

use crate::client::{CALL_TIMEOUT, DEFAULT_GRPC_ADDR, connect_channel};
use crate::pb::subscriptions_client::SubscriptionsClient;
use crate::pb::users_client::UsersClient;
use crate::{ApiError, pb};

/// The environment variable the CLI reads the user's token from.
pub const TOKEN_ENV: &str = "VANE_TOKEN";
/// The environment variable the CLI reads a password from.
pub const PASSWORD_ENV: &str = "VANE_PASSWORD";
/// The environment variable `vane user passwd` reads the new password from.
pub const NEW_PASSWORD_ENV: &str = "VANE_NEW_PASSWORD";

/// Where the API is and how to print.
#[derive(Debug, Clone, Args)]
pub struct ClientFlags {
    /// Address of vane's gRPC API (host:port, `http://` optional).
    #[arg(long, global = true, env = "VANE_GRPC_ADDR", default_value = DEFAULT_GRPC_ADDR)]
    pub grpc_addr: String,
    /// Print one JSON value.
    #[arg(long, global = true)]
    pub json: bool,
    /// The token from `vane user login` (else VANE_TOKEN).
    #[arg(long, global = true, env = TOKEN_ENV, hide_env_values = true)]
    pub token: Option<String>,
}

/// Flags of `vane user <command>`.
#[derive(Debug, Clone, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
    #[command(flatten)]
    pub client: ClientFlags,
}

#[derive(Debug, Clone, Subcommand)]
pub enum UserCommand {
    /// Create an account (password from --password, VANE_PASSWORD or the first line of stdin).
    Register(RegisterArgs),
    /// Log in: prints the token to put in VANE_TOKEN.
    Login(LoginArgs),
    /// A one-time code for the Telegram bot: send it `/start <code>` within 10 minutes.
    LinkCode,
    /// Change the password (current: --password / VANE_PASSWORD / stdin line 1; new:
    /// --new-password / VANE_NEW_PASSWORD / stdin line 2).
    Passwd(PasswdArgs),
    /// Delete the account and every subscription of it.
    Delete,
    /// Change the time zone, quiet hours or cooldown of notifications.
    Settings(SettingsArgs),
}

#[derive(Debug, Clone, Args)]
pub struct RegisterArgs {
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub password: Option<String>,
    /// The Telegram chat to notify (or link it later with `vane user link-code`).
    #[arg(long, allow_negative_numbers = true)]
    pub chat_id: Option<i64>,
    /// IANA time zone for quiet hours (default UTC).
    #[arg(long)]
    pub time_zone: Option<String>,
    /// HH:MM-HH:MM in your time zone: notifications wait until they end.
    #[arg(long)]
    pub quiet_hours: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct PasswdArgs {
    #[arg(long)]
    pub password: Option<String>,
    #[arg(long)]
    pub new_password: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct SettingsArgs {
    #[arg(long)]
    pub time_zone: Option<String>,
    /// HH:MM-HH:MM, or "" to remove them.
    #[arg(long)]
    pub quiet_hours: Option<String>,
    /// Minimum time between two alerts of one subscription, in minutes.
    #[arg(long)]
    pub cooldown_minutes: Option<i64>,
}

/// Flags of `vane subscribe`.
#[derive(Debug, Clone, Args)]
pub struct SubscribeArgs {
    /// The city's name.
    #[arg(long)]
    pub city: Option<String>,
    /// ISO 3166 alpha-2 country code of the city.
    #[arg(long, conflicts_with_all = ["lat", "lon"])]
    pub country: Option<String>,
    #[arg(long, allow_negative_numbers = true, requires = "lon")]
    pub lat: Option<f64>,
    #[arg(long, allow_negative_numbers = true, requires = "lat")]
    pub lon: Option<f64>,
    /// Alert when the temperature rises above X °C.
    #[arg(long, allow_negative_numbers = true, value_name = "X")]
    pub temp_above: Option<f64>,
    /// Alert when the temperature falls below X °C.
    #[arg(long, allow_negative_numbers = true, value_name = "X")]
    pub temp_below: Option<f64>,
    /// Alert when it rains.
    #[arg(long)]
    pub rain: bool,
    /// Alert when it snows.
    #[arg(long)]
    pub snow: bool,
    /// Alert when the wind is above X m/s.
    #[arg(long, value_name = "X")]
    pub wind_above: Option<f64>,
    #[command(flatten)]
    pub client: ClientFlags,
}

/// Flags of `vane subscriptions`.
#[derive(Debug, Clone, Args)]
pub struct SubscriptionsArgs {
    #[command(flatten)]
    pub client: ClientFlags,
}

/// Flags of `vane unsubscribe`.
#[derive(Debug, Clone, Args)]
pub struct UnsubscribeArgs {
    /// The subscription's id (from `vane subscriptions`).
    pub id: String,
    #[command(flatten)]
    pub client: ClientFlags,
}

fn call<T>(message: T, token: Option<&str>) -> Result<Request<T>, ApiError> {
    let mut request = Request::new(message);
    request.set_timeout(CALL_TIMEOUT);
    if let Some(token) = token {
        let value = MetadataValue::try_from(format!("Bearer {}", token.trim()))
            .map_err(|_| ApiError::InvalidArgument("the token must be printable ASCII".into()))?;
        request.metadata_mut().insert("authorization", value);
    }
    Ok(request)
}

fn token(flags: &ClientFlags) -> Result<&str, ApiError> {
    flags
        .token
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ApiError::InvalidArgument(format!("this command needs your token: run `vane user login` and set {TOKEN_ENV}")))
}

/// Passwords not given as flags: from the environment, else one line each from stdin.
fn passwords(given: [Option<&String>; 2], env: [&str; 2], count: usize) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    for (flag, var) in given.into_iter().zip(env).take(count) {
        if let Some(value) = flag {
            out.push(value.clone());
            continue;
        }
        if let Ok(value) = std::env::var(var)
            && !value.is_empty()
        {
            out.push(value);
            continue;
        }
        match lines.next() {
            Some(Ok(line)) if !line.is_empty() => out.push(line.trim_end_matches('\r').to_string()),
            _ => {
                return Err(ApiError::InvalidArgument(format!(
                    "no password: pass --password, set {var} or write it on stdin"
                )));
            }
        }
    }
    Ok(out)
}

async fn users(addr: &str) -> Result<UsersClient<Channel>, ApiError> {
    Ok(UsersClient::new(connect_channel(addr).await?))
}

async fn subscriptions(addr: &str) -> Result<SubscriptionsClient<Channel>, ApiError> {
    Ok(SubscriptionsClient::new(connect_channel(addr).await?))
}

fn user_json(user: &pb::UserInfo) -> serde_json::Value {
    json!({
        "user_id": user.user_id,
        "username": user.username,
        "chat_id": user.chat_id,
        "time_zone": user.time_zone,
        "quiet_hours": (!user.quiet_hours.is_empty()).then_some(&user.quiet_hours),
        "cooldown_ms": user.cooldown_ms,
        "revision": user.revision,
    })
}

/// Runs `vane user <command>`; returns what to print.
pub async fn run_user(args: &UserArgs) -> Result<String, ApiError> {
    let flags = &args.client;
    let mut client = users(&flags.grpc_addr).await?;
    let user = match &args.command {
        UserCommand::Register(r) => {
            let password = passwords([r.password.as_ref(), None], [PASSWORD_ENV, NEW_PASSWORD_ENV], 1)?.concat();
            let request = pb::RegisterRequest {
                username: r.username.clone(),
                password,
                chat_id: r.chat_id,
                time_zone: r.time_zone.clone().unwrap_or_default(),
                quiet_hours: r.quiet_hours.clone().unwrap_or_default(),
                cooldown_ms: None,
            };
            client.register(call(request, None)?).await?.into_inner()
        }
        UserCommand::Login(l) => {
            let password = passwords([l.password.as_ref(), None], [PASSWORD_ENV, NEW_PASSWORD_ENV], 1)?.concat();
            let request = pb::LoginRequest {
                username: l.username.clone(),
                password,
            };
            let login = client.login(call(request, None)?).await?.into_inner();
            return Ok(if flags.json {
                format!(
                    "{}\n",
                    json!({"token": login.token, "expires_at_ms": login.expires_at_ms, "user_id": login.user_id})
                )
            } else {
                format!("{}\n", login.token)
            });
        }
        UserCommand::LinkCode => {
            let code = client
                .create_link_code(call(pb::CreateLinkCodeRequest {}, Some(token(flags)?))?)
                .await?
                .into_inner();
            return Ok(if flags.json {
                format!("{}\n", json!({"code": code.code, "expires_at_ms": code.expires_at_ms}))
            } else {
                format!("{}\nsend `/start {}` to the bot within 10 minutes\n", code.code, code.code)
            });
        }
        UserCommand::Passwd(p) => {
            let token = token(flags)?;
            let both = passwords([p.password.as_ref(), p.new_password.as_ref()], [PASSWORD_ENV, NEW_PASSWORD_ENV], 2)?;
            let [current, new] = <[String; 2]>::try_from(both).map_err(|_| ApiError::InvalidArgument("two passwords are needed".into()))?;
            let request = pb::ChangePasswordRequest {
                current_password: current,
                new_password: new,
            };
            client.change_password(call(request, Some(token))?).await?.into_inner()
        }
        UserCommand::Delete => {
            let gone = client
                .delete_account(call(pb::DeleteAccountRequest {}, Some(token(flags)?))?)
                .await?
                .into_inner();
            return Ok(if flags.json {
                format!(
                    "{}\n",
                    json!({"user_id": gone.user_id, "subscriptions_deleted": gone.subscriptions_deleted})
                )
            } else {
                format!("account deleted with {} subscription(s)\n", gone.subscriptions_deleted)
            });
        }
        UserCommand::Settings(s) => {
            let request = pb::UpdateSettingsRequest {
                time_zone: s.time_zone.clone(),
                quiet_hours: s.quiet_hours.clone(),
                cooldown_ms: s.cooldown_minutes.map(|m| m.saturating_mul(60_000)),
            };
            client.update_settings(call(request, Some(token(flags)?))?).await?.into_inner()
        }
    };
    Ok(if flags.json {
        format!("{}\n", user_json(&user))
    } else {
        format!("{} ({})\n", user.username, user.user_id)
    })
}

/// The spec `vane subscribe` asks for.
pub fn subscription_spec(args: &SubscribeArgs) -> pb::SubscriptionSpec {
    let mut constraints = Vec::new();
    let mut add = |kind: &str, threshold: Option<f64>| {
        constraints.push(pb::WeatherConstraint {
            kind: kind.to_string(),
            threshold,
        })
    };
    if let Some(x) = args.temp_above {
        add("temp_above", Some(x));
    }
    if let Some(x) = args.temp_below {
        add("temp_below", Some(x));
    }
    if args.rain {
        add("rain", None);
    }
    if args.snow {
        add("snow", None);
    }
    if let Some(x) = args.wind_above {
        add("wind_above", Some(x));
    }
    pb::SubscriptionSpec {
        city_name: args.city.clone().unwrap_or_default(),
        country: args.country.clone().unwrap_or_default(),
        lat: args.lat,
        lon: args.lon,
        constraints,
    }
}

fn describe(s: &pb::Subscription) -> String {
    let city = if s.city_name.is_empty() {
        format!("{:.4},{:.4}", s.lat.unwrap_or_default(), s.lon.unwrap_or_default())
    } else if s.country.is_empty() {
        s.city_name.clone()
    } else {
        format!("{}, {}", s.city_name, s.country)
    };
    let constraints: Vec<String> = s
        .constraints
        .iter()
        .map(|c| match c.threshold {
            Some(x) => format!("{} {x}", c.kind),
            None => c.kind.clone(),
        })
        .collect();
    format!("{}  {city}  {}", s.id, constraints.join(", "))
}

fn subscription_json(s: &pb::Subscription) -> serde_json::Value {
    let constraints: Vec<_> = s
        .constraints
        .iter()
        .map(|c| json!({"kind": c.kind, "threshold": c.threshold}))
        .collect();
    json!({
        "id": s.id,
        "city_name": (!s.city_name.is_empty()).then_some(&s.city_name),
        "country": (!s.country.is_empty()).then_some(&s.country),
        "lat": s.lat,
        "lon": s.lon,
        "constraints": constraints,
        "created_at_ms": s.created_at_ms,
        "revision": s.revision,
    })
}

/// Runs `vane subscribe`; returns what to print.
pub async fn run_subscribe(args: &SubscribeArgs) -> Result<String, ApiError> {
    let token = token(&args.client)?;
    let request = pb::CreateSubscriptionRequest {
        spec: Some(subscription_spec(args)),
    };
    let mut client = subscriptions(&args.client.grpc_addr).await?;
    let created = client.create(call(request, Some(token))?).await?.into_inner();
    Ok(if args.client.json {
        format!("{}\n", subscription_json(&created))
    } else {
        format!("subscribed: {}\n", describe(&created))
    })
}

/// Runs `vane subscriptions`; returns what to print.
pub async fn run_subscriptions(args: &SubscriptionsArgs) -> Result<String, ApiError> {
    let token = token(&args.client)?;
    let mut client = subscriptions(&args.client.grpc_addr).await?;
    let list = client.list(call(pb::ListSubscriptionsRequest {}, Some(token))?).await?.into_inner();
    if args.client.json {
        let rows: Vec<_> = list.subscriptions.iter().map(subscription_json).collect();
        return Ok(format!("{}\n", serde_json::Value::Array(rows)));
    }
    if list.subscriptions.is_empty() {
        return Ok("no subscriptions; add one with `vane subscribe --city NAME --rain`\n".to_string());
    }
    let mut out = String::new();
    for s in &list.subscriptions {
        out.push_str(&describe(s));
        out.push('\n');
    }
    Ok(out)
}

/// Runs `vane unsubscribe ID`; returns what to print.
pub async fn run_unsubscribe(args: &UnsubscribeArgs) -> Result<String, ApiError> {
    let token = token(&args.client)?;
    let mut client = subscriptions(&args.client.grpc_addr).await?;
    let request = pb::DeleteSubscriptionRequest { id: args.id.clone() };
    let gone = client.delete(call(request, Some(token))?).await?.into_inner();
    Ok(if args.client.json {
        format!("{}\n", subscription_json(&gone))
    } else {
        format!("unsubscribed: {}\n", describe(&gone))
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        subscribe: SubscribeArgs,
    }

    #[test]
    fn subscribe_flags_become_constraints() {
        let cli = Cli::try_parse_from(["vane", "--city", "Catania", "--country", "IT", "--rain", "--temp-below", "-2"]).unwrap();
        let spec = subscription_spec(&cli.subscribe);
        assert_eq!((spec.city_name.as_str(), spec.country.as_str()), ("Catania", "IT"));
        let kinds: Vec<_> = spec.constraints.iter().map(|c| (c.kind.as_str(), c.threshold)).collect();
        assert_eq!(kinds, [("temp_below", Some(-2.0)), ("rain", None)]);
        assert!(Cli::try_parse_from(["vane", "--city", "X", "--country", "IT", "--lat", "1", "--lon", "2"]).is_err());
        assert!(Cli::try_parse_from(["vane", "--lat", "1"]).is_err());
    }
}
