//! Label matchers with PromQL's semantics: parsing `k=v`, `k!=v`, `k=~re`, `k!~re` (the CLI's
//! `--label`, SLA selectors) and checking compiled matchers against a series' metric and labels.
//!
//! Regular expressions are fully anchored (`^(?:re)$`), as in PromQL; a missing label compares as
//! the empty string; the name `__name__` stands for the metric name. Pure: no I/O.

use std::fmt;

use crate::{CoreError, Labels};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

/// At most this many matchers per request.
pub const MAX_MATCHERS: usize = 64;

/// A compiled regex may take at most this much memory: a request cannot make the server build a
/// huge automaton.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The label that stands for the metric name.
pub const METRIC_NAME_LABEL: &str = "__name__";

/// How a matcher compares a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatchOp {
    #[serde(rename = "=")]
    Equal,
    #[serde(rename = "!=")]
    NotEqual,
    #[serde(rename = "=~")]
    Regex,
    #[serde(rename = "!~")]
    NotRegex,
}

impl MatchOp {
    pub fn symbol(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One label matcher as typed by a user or sent over the wire (not yet compiled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.symbol(), self.value)
    }
}

impl Matcher {
    /// Parses PromQL's matcher syntax: `name` `=`|`!=`|`=~`|`!~` `value`, where the value may be
    /// written bare or in double or single quotes (with `\"`, `\'` and `\\` escapes inside).
    pub fn parse(text: &str) -> Result<Matcher, CoreError> {
        let bad = |reason: &str| CoreError::InvalidMatcher(format!("label matcher {text:?}: {reason}"));
        let text_trimmed = text.trim();
        let name_len = text_trimmed
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text_trimmed.len());
        let (name, rest) = text_trimmed.split_at(name_len);
        if !is_matcher_name(name) {
            return Err(bad("expected a label name, then =, !=, =~ or !~, then a value"));
        }
        let rest = rest.trim_start();
        let mut op = None;
        for candidate in [MatchOp::NotEqual, MatchOp::Regex, MatchOp::NotRegex, MatchOp::Equal] {
            if let Some(value) = rest.strip_prefix(candidate.symbol()) {
                op = Some((candidate, value));
                break;
            }
        }
        let Some((op, value)) = op else {
            return Err(bad("expected =, !=, =~ or !~ after the label name"));
        };
        let value = unquote(value.trim_start()).map_err(|reason| bad(&reason))?;
        Ok(Matcher {
            name: name.to_string(),
            op,
            value,
        })
    }

    /// Compiles the matcher; a bad regex is an invalid argument that quotes the regex.
    pub fn compile(&self) -> Result<CompiledMatcher, CoreError> {
        let test = match self.op {
            MatchOp::Equal => Test::Equal(self.value.clone()),
            MatchOp::NotEqual => Test::NotEqual(self.value.clone()),
            MatchOp::Regex | MatchOp::NotRegex => {
                let regex = RegexBuilder::new(&format!("^(?:{})$", self.value))
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|error| {
                        // The regex crate's message quotes the anchored pattern over several lines; its last
                        // line says what is wrong.
                        let text = error.to_string();
                        let last = text.lines().last().unwrap_or_default().trim();
                        let reason = last.strip_prefix("error: ").unwrap_or(last).to_string();
                        CoreError::InvalidMatcher(format!("label matcher {self}: bad regex: {reason}"))
                    })?;
                if self.op == MatchOp::Regex {
                    Test::Regex(regex)
                } else {
                    Test::NotRegex(regex)
                }
            }
        };
        Ok(CompiledMatcher {
            name: self.name.clone(),
            test,
        })
    }
}

/// A label name, or `__name__` for the metric name.
pub fn is_matcher_name(name: &str) -> bool {
    name == METRIC_NAME_LABEL || crate::sample::is_label_name(name)
}

/// Strips one pair of matching quotes and their escapes; a bare value is taken as it is.
fn unquote(value: &str) -> Result<String, String> {
    let Some(quote) = value.chars().next().filter(|c| *c == '"' || *c == '\'') else {
        return Ok(value.to_string());
    };
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().skip(1);
    while let Some(c) = chars.next() {
        if c == quote {
            if chars.next().is_some() {
                return Err("text after the closing quote".to_string());
            }
            return Ok(out);
        }
        if c == '\\' {
            match chars.next() {
                Some(escaped) => out.push(escaped),
                None => break,
            }
            continue;
        }
        out.push(c);
    }
    Err("missing closing quote".to_string())
}

#[derive(Debug, Clone)]
enum Test {
    Equal(String),
    NotEqual(String),
    Regex(Regex),
    NotRegex(Regex),
}

/// A matcher ready to test rows.
#[derive(Debug, Clone)]
pub struct CompiledMatcher {
    name: String,
    test: Test,
}

impl CompiledMatcher {
    pub fn matches(&self, metric: &str, labels: &Labels) -> bool {
        let value = if self.name == METRIC_NAME_LABEL {
            metric
        } else {
            labels.get(&self.name).map(String::as_str).unwrap_or("")
        };
        match &self.test {
            Test::Equal(expected) => value == expected,
            Test::NotEqual(expected) => value != expected,
            Test::Regex(regex) => regex.is_match(value),
            Test::NotRegex(regex) => !regex.is_match(value),
        }
    }
}

/// Every matcher of a request, compiled; a row is selected when all of them hold.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    matchers: Vec<CompiledMatcher>,
}

impl Selector {
    /// Validates and compiles matchers.
    pub fn new(matchers: &[Matcher]) -> Result<Selector, CoreError> {
        if matchers.len() > MAX_MATCHERS {
            return Err(CoreError::InvalidMatcher(format!(
                "{} label matchers; at most {MAX_MATCHERS} are allowed",
                matchers.len()
            )));
        }
        let mut compiled = Vec::with_capacity(matchers.len());
        for matcher in matchers {
            compiled.push(matcher.compile()?);
        }
        Ok(Selector { matchers: compiled })
    }

    /// No matchers: every row is selected.
    pub fn is_empty(&self) -> bool {
        self.matchers.is_empty()
    }

    pub fn matches(&self, metric: &str, labels: &Labels) -> bool {
        self.matchers.iter().all(|matcher| matcher.matches(metric, labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn m(name: &str, op: MatchOp, value: &str) -> Matcher {
        Matcher {
            name: name.into(),
            op,
            value: value.into(),
        }
    }

    #[test]
    fn parses_the_four_operators() {
        assert_eq!(Matcher::parse("job=node").unwrap(), m("job", MatchOp::Equal, "node"));
        assert_eq!(Matcher::parse("job!=node").unwrap(), m("job", MatchOp::NotEqual, "node"));
        assert_eq!(Matcher::parse("job=~no.*").unwrap(), m("job", MatchOp::Regex, "no.*"));
        assert_eq!(Matcher::parse("job!~no.*").unwrap(), m("job", MatchOp::NotRegex, "no.*"));
    }

    #[test]
    fn parses_quotes_spaces_and_empty_values() {
        assert_eq!(
            Matcher::parse(r#"job="node exporter""#).unwrap(),
            m("job", MatchOp::Equal, "node exporter")
        );
        assert_eq!(
            Matcher::parse(r#" job = "a\"b\\c" "#).unwrap(),
            m("job", MatchOp::Equal, r#"a"b\c"#)
        );
        assert_eq!(Matcher::parse("mode=~'idle|user'").unwrap(), m("mode", MatchOp::Regex, "idle|user"));
        assert_eq!(Matcher::parse("env=").unwrap(), m("env", MatchOp::Equal, ""));
        assert_eq!(Matcher::parse(r#"env!="""#).unwrap(), m("env", MatchOp::NotEqual, ""));
        assert_eq!(Matcher::parse("path=/a=b").unwrap(), m("path", MatchOp::Equal, "/a=b"));
    }

    #[test]
    fn refuses_malformed_matchers() {
        for bad in ["", "=v", "1job=v", "job", "job~v", "job<v", r#"job="open"#, r#"job="a"b"#, "jo-b=v"] {
            let error = Matcher::parse(bad).unwrap_err();
            assert!(matches!(error, CoreError::InvalidMatcher(_)), "{bad}: {error}");
        }
    }

    #[test]
    fn display_round_trips_through_parse() {
        for text in ["job=node", r#"a!~"x\"y""#, "b=~'.+'"] {
            let matcher = Matcher::parse(text).unwrap();
            assert_eq!(Matcher::parse(&matcher.to_string()).unwrap(), matcher);
        }
    }

    #[test]
    fn regexes_are_anchored_and_missing_labels_are_empty() {
        let row = labels(&[("job", "node"), ("mode", "idle")]);
        assert!(!m("job", MatchOp::Regex, "no").compile().unwrap().matches("up", &row));
        assert!(m("job", MatchOp::Regex, "no.*").compile().unwrap().matches("up", &row));
        assert!(m("job", MatchOp::NotRegex, "no").compile().unwrap().matches("up", &row));
        assert!(m("env", MatchOp::Equal, "").compile().unwrap().matches("up", &row));
        assert!(!m("env", MatchOp::NotEqual, "").compile().unwrap().matches("up", &row));
        assert!(m("env", MatchOp::Regex, ".*").compile().unwrap().matches("up", &row));
        assert!(!m("env", MatchOp::Regex, ".+").compile().unwrap().matches("up", &row));
        assert!(m("__name__", MatchOp::Regex, "u.").compile().unwrap().matches("up", &row));
        assert!(m("mode", MatchOp::Regex, "idle|user").compile().unwrap().matches("up", &row));
    }

    #[test]
    fn a_bad_regex_is_an_invalid_argument_naming_the_matcher() {
        let error = m("job", MatchOp::Regex, "(unclosed").compile().unwrap_err();
        let CoreError::InvalidMatcher(message) = error else {
            panic!("{error:?}");
        };
        assert!(message.contains("job=~\"(unclosed\""), "{message}");
        assert!(message.contains("bad regex"), "{message}");
    }

    #[test]
    fn selector_ands_its_matchers_and_limits_their_number() {
        let selector = Selector::new(&[m("job", MatchOp::Equal, "node"), m("mode", MatchOp::NotEqual, "idle")]).unwrap();
        assert!(selector.matches("x", &labels(&[("job", "node"), ("mode", "user")])));
        assert!(!selector.matches("x", &labels(&[("job", "node"), ("mode", "idle")])));
        let too_many = vec![m("a", MatchOp::Equal, ""); MAX_MATCHERS + 1];
        assert!(Selector::new(&too_many).is_err());
    }
}
