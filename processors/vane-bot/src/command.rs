//! What a chat message asks the bot: the commands and their arguments, parsed from the text.
//! Pure.
//!
//! ```text
//! /start CODE                               link this chat to the account that made CODE
//! /subscribe Catania, IT: rain, temp<0      a city by name and country (or `37.5, 15.08`),
//!                                           then constraints: rain, snow, temp>N, temp<N, wind>N
//! /list                                     your subscriptions, numbered
//! /unsubscribe 2                            by number in /list, or by id (or its first 8 characters)
//! /help
//! ```
//!
//! In groups Telegram appends the bot's name (`/list@vane_bot`); it is dropped.

use vane_api::SubscriptionRequest;
use vane_weather::Constraint;

/// How to use `/subscribe`, shown with its errors and in `/help`.
pub const SUBSCRIBE_USAGE: &str = "/subscribe CITY, COUNTRY: CONSTRAINTS — e.g. /subscribe Catania, IT: rain, temp<0 \
     (or coordinates: /subscribe 37.5, 15.08: wind>10). Constraints: rain, snow, temp>N, temp<N (°C), wind>N (m/s)";

/// One parsed message.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `/start` without a code: how to link the chat.
    Welcome,
    /// `/start CODE`.
    Link(String),
    Subscribe(SubscriptionRequest),
    List,
    /// `/unsubscribe N|ID`.
    Unsubscribe(Target),
    Help,
}

/// Which subscription `/unsubscribe` means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Its 1-based number in `/list`.
    Number(usize),
    /// Its id, or a prefix of it.
    Id(String),
}

/// Why a message is not a command the bot can run; the text is the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection(pub String);

/// Parses a message. Texts that are not commands get the help's pointer.
pub fn parse(text: &str) -> Result<Command, Rejection> {
    let text = text.trim();
    let Some(command) = text.strip_prefix('/') else {
        return Err(Rejection("I understand commands only; send /help to see them.".to_string()));
    };
    let (name, rest) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
    let name = name.split('@').next().unwrap_or_default().to_ascii_lowercase();
    let rest = rest.trim();
    match name.as_str() {
        "start" if rest.is_empty() => Ok(Command::Welcome),
        "start" => Ok(Command::Link(rest.to_string())),
        "subscribe" => parse_subscription(rest).map(Command::Subscribe),
        "list" | "subscriptions" => Ok(Command::List),
        "unsubscribe" => parse_target(rest).map(Command::Unsubscribe),
        "help" => Ok(Command::Help),
        other => Err(Rejection(format!("Unknown command /{other}; send /help to see the commands."))),
    }
}

/// `CITY, COUNTRY: CONSTRAINTS` or `LAT, LON: CONSTRAINTS`.
fn parse_subscription(text: &str) -> Result<SubscriptionRequest, Rejection> {
    let usage = |problem: &str| Rejection(format!("{problem}\nUsage: {SUBSCRIBE_USAGE}"));
    let Some((place, constraints)) = text.split_once(':') else {
        return Err(usage("Say the city, a colon, then what to watch for."));
    };
    let mut request = place_request(place).ok_or_else(|| usage("Name the city before the colon."))?;
    let mut problems = Vec::new();
    for part in constraints.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<Constraint>() {
            Ok(constraint) => request.constraints.push((constraint.kind().to_string(), constraint.threshold())),
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        return Err(usage(&problems.join("; ")));
    }
    if request.constraints.is_empty() {
        return Err(usage("Say what to watch for after the colon."));
    }
    Ok(request)
}

/// The place part: two numbers are coordinates, otherwise a name and an optional country.
fn place_request(place: &str) -> Option<SubscriptionRequest> {
    let (first, second) = match place.rsplit_once(',') {
        Some((first, second)) => (first.trim(), Some(second.trim())),
        None => (place.trim(), None),
    };
    if first.is_empty() {
        return None;
    }
    let coordinates = second.and_then(|second| Some((first.parse::<f64>().ok()?, second.parse::<f64>().ok()?)));
    Some(match coordinates {
        Some((lat, lon)) => SubscriptionRequest {
            lat: Some(lat),
            lon: Some(lon),
            ..SubscriptionRequest::default()
        },
        None => SubscriptionRequest {
            city_name: Some(first.to_string()),
            country: second.filter(|c| !c.is_empty()).map(str::to_string),
            ..SubscriptionRequest::default()
        },
    })
}

fn parse_target(text: &str) -> Result<Target, Rejection> {
    if text.is_empty() {
        return Err(Rejection(
            "Which one? Send /unsubscribe with its number from /list (or its id).".to_string(),
        ));
    }
    match text.parse::<usize>() {
        Ok(0) => Err(Rejection("Numbers in /list start at 1.".to_string())),
        Ok(number) => Ok(Target::Number(number)),
        Err(_) => Ok(Target::Id(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, country: Option<&str>, constraints: &[(&str, Option<f64>)]) -> SubscriptionRequest {
        SubscriptionRequest {
            city_name: Some(name.to_string()),
            country: country.map(str::to_string),
            constraints: constraints.iter().map(|(k, t)| (k.to_string(), *t)).collect(),
            ..SubscriptionRequest::default()
        }
    }

    #[test]
    fn commands_are_recognised_with_or_without_the_bots_name() {
        assert_eq!(parse("/start"), Ok(Command::Welcome));
        assert_eq!(parse("/start AB12CD34"), Ok(Command::Link("AB12CD34".into())));
        assert_eq!(parse("/list@vane_bot"), Ok(Command::List));
        assert_eq!(parse("  /HELP "), Ok(Command::Help));
        assert_eq!(parse("/unsubscribe 2"), Ok(Command::Unsubscribe(Target::Number(2))));
        assert_eq!(
            parse("/unsubscribe 3f2a9c1e"),
            Ok(Command::Unsubscribe(Target::Id("3f2a9c1e".into())))
        );
        assert!(parse("/unsubscribe").unwrap_err().0.contains("number from /list"));
        assert!(parse("/unsubscribe 0").is_err());
        assert!(parse("hello").unwrap_err().0.contains("/help"));
        assert!(parse("/weather").unwrap_err().0.contains("Unknown command /weather"));
    }

    #[test]
    fn subscriptions_name_a_place_then_constraints() {
        assert_eq!(
            parse("/subscribe Catania, IT: rain, temp < 0"),
            Ok(Command::Subscribe(request(
                "Catania",
                Some("IT"),
                &[("rain", None), ("temp_below", Some(0.0))]
            )))
        );
        assert_eq!(
            parse("/subscribe New York, US: wind>10"),
            Ok(Command::Subscribe(request("New York", Some("US"), &[("wind_above", Some(10.0))])))
        );
        assert_eq!(
            parse("/subscribe Catania: snow"),
            Ok(Command::Subscribe(request("Catania", None, &[("snow", None)])))
        );
        let Ok(Command::Subscribe(at)) = parse("/subscribe 37.5, 15.08: temp>30") else {
            panic!("coordinates")
        };
        assert_eq!((at.lat, at.lon, at.city_name), (Some(37.5), Some(15.08), None));
    }

    #[test]
    fn a_bad_subscription_says_what_is_wrong_and_how_to_write_it() {
        for (text, problem) in [
            ("/subscribe Catania rain", "a colon"),
            ("/subscribe : rain", "Name the city"),
            ("/subscribe Catania, IT:", "what to watch for"),
            ("/subscribe Catania, IT: hail, temp>x", "\"hail\" is not a constraint"),
        ] {
            let Rejection(reply) = parse(text).unwrap_err();
            assert!(reply.contains(problem), "{text}: {reply}");
            assert!(reply.contains("Usage: /subscribe"), "{text}: {reply}");
        }
    }
}
