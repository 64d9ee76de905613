//! What an SLA is: an allowed range on the series a selector picks, judged sample by sample,
//! with a pending period, an optional recovery margin and a time-slice error budget (OpenSLO's
//! `Timeslices`). Validation lists every problem at once. Pure.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::CoreError;
use crate::matcher::{MAX_MATCHERS, Matcher, Selector};
use crate::sample::is_metric_name;

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60 * SECOND_MS;
const DAY_MS: i64 = 86_400 * SECOND_MS;

/// Default budget target: 99 % of the time slices good.
pub const DEFAULT_BUDGET_TARGET: f64 = 0.99;
/// Default budget window: 30 days, the read models' default retention.
pub const DEFAULT_BUDGET_WINDOW_MS: i64 = 30 * DAY_MS;
/// Default time slice: one minute.
pub const DEFAULT_TIMESLICE_MS: i64 = MINUTE_MS;
/// Longest name.
pub const MAX_NAME_LEN: usize = 64;

/// How bad a violation of the SLA is (carried into notifications).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Result<Severity, CoreError> {
        match text {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "critical" => Ok(Severity::Critical),
            other => Err(CoreError::InvalidSla(vec![format!(
                "severity {other:?} is not one of info, warning, critical"
            )])),
        }
    }
}

/// The state of one series under one SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaStatus {
    /// The last sample was in range (or the series recovered).
    Ok,
    /// Out of range for less than the pending period.
    Pending,
    /// Out of range for at least the pending period.
    Violated,
    /// No sample for longer than the no-data timeout.
    NoData,
}

impl SlaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SlaStatus::Ok => "ok",
            SlaStatus::Pending => "pending",
            SlaStatus::Violated => "violated",
            SlaStatus::NoData => "no_data",
        }
    }

    pub fn parse(text: &str) -> Result<SlaStatus, CoreError> {
        match text {
            "ok" => Ok(SlaStatus::Ok),
            "pending" => Ok(SlaStatus::Pending),
            "violated" => Ok(SlaStatus::Violated),
            "no_data" => Ok(SlaStatus::NoData),
            other => Err(CoreError::InvalidSla(vec![format!("unknown SLA status {other:?}")])),
        }
    }
}

impl fmt::Display for SlaStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One SLA as defined by an administrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaDefinition {
    /// Stable id (a UUID chosen by the API); the key on every SLA topic.
    pub id: String,
    /// Unique human name: 1–64 of `A-Za-z0-9_.-`, not shaped like a UUID.
    pub name: String,
    /// Metric the SLA watches.
    pub metric: String,
    /// Label matchers narrowing the metric's series (all must hold).
    #[serde(default)]
    pub matchers: Vec<Matcher>,
    /// Lowest allowed value (inclusive).
    pub min: Option<f64>,
    /// Highest allowed value (inclusive).
    pub max: Option<f64>,
    /// How long a series stays out of range (pending) before it counts as violated.
    #[serde(default)]
    pub for_ms: i64,
    /// Hysteresis: a violated series is ok again only once it is this far inside the range.
    #[serde(default)]
    pub recovery_margin: Option<f64>,
    #[serde(default)]
    pub severity: Severity,
    /// Share of time slices that must be good over the budget window, in (0, 1).
    pub budget_target: f64,
    pub budget_window_ms: i64,
    pub timeslice_ms: i64,
    /// Telegram chat told about violations, if any.
    #[serde(default)]
    pub chat_id: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// Increases with every change; orders the definition's versions.
    pub revision: i64,
}

impl SlaDefinition {
    /// A definition with the defaults for everything but what identifies it and its range.
    pub fn new(id: &str, name: &str, metric: &str, min: Option<f64>, max: Option<f64>, now_ms: i64) -> SlaDefinition {
        SlaDefinition {
            id: id.to_string(),
            name: name.to_string(),
            metric: metric.to_string(),
            matchers: Vec::new(),
            min,
            max,
            for_ms: 0,
            recovery_margin: None,
            severity: Severity::Warning,
            budget_target: DEFAULT_BUDGET_TARGET,
            budget_window_ms: DEFAULT_BUDGET_WINDOW_MS,
            timeslice_ms: DEFAULT_TIMESLICE_MS,
            chat_id: None,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            revision: 1,
        }
    }

    /// Every problem of the definition, or `Ok`.
    pub fn validate(&self) -> Result<(), CoreError> {
        let mut problems = Vec::new();
        if let Err(problem) = check_name(&self.name) {
            problems.push(problem);
        }
        if self.id.trim().is_empty() {
            problems.push("id must not be empty".to_string());
        }
        if !is_metric_name(&self.metric) {
            problems.push(format!("metric {:?} is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", self.metric));
        }
        if self.matchers.len() > MAX_MATCHERS {
            problems.push(format!("{} label matchers; at most {MAX_MATCHERS}", self.matchers.len()));
        }
        for matcher in &self.matchers {
            if let Err(error) = matcher.compile() {
                problems.push(error.to_string());
            }
        }
        check_range(self.min, self.max, self.recovery_margin, &mut problems);
        if self.for_ms < 0 || self.for_ms > DAY_MS {
            problems.push(format!("for must be between 0s and 1d, got {} ms", self.for_ms));
        }
        if !(self.budget_target > 0.0 && self.budget_target < 1.0) {
            problems.push(format!(
                "budget target must be above 0 and below 1 (e.g. 0.99), got {}",
                self.budget_target
            ));
        }
        if self.timeslice_ms < SECOND_MS || self.timeslice_ms > DAY_MS {
            problems.push(format!("time slice must be between 1s and 1d, got {} ms", self.timeslice_ms));
        }
        if self.budget_window_ms < self.timeslice_ms || self.budget_window_ms > 365 * DAY_MS {
            problems.push(format!(
                "budget window must be at least one time slice and at most 365d, got {} ms",
                self.budget_window_ms
            ));
        }
        if self.chat_id == Some(0) {
            problems.push("chat id 0 is not a Telegram chat".to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CoreError::InvalidSla(problems))
        }
    }

    /// The compiled selector of the SLA's series (the metric name plus its matchers).
    pub fn selector(&self) -> Result<Selector, CoreError> {
        Selector::new(&self.matchers)
    }

    /// Whether a sample's value breaks the range (bounds inclusive: `min ≤ value ≤ max` is fine).
    /// NaN breaks every range.
    pub fn violated_by(&self, value: f64) -> bool {
        value.is_nan() || self.min.is_some_and(|min| value < min) || self.max.is_some_and(|max| value > max)
    }

    /// Whether a value lets a violated series recover: inside the range by the recovery margin.
    pub fn recovered_by(&self, value: f64) -> bool {
        let margin = self.recovery_margin.unwrap_or(0.0);
        !value.is_nan() && self.min.is_none_or(|min| value >= min + margin) && self.max.is_none_or(|max| value <= max - margin)
    }

    /// The range as people write it: `[min, max]` with `-∞` / `+∞` for a missing bound.
    pub fn range_text(&self) -> String {
        let lo = self.min.map_or("-∞".to_string(), |v| v.to_string());
        let hi = self.max.map_or("+∞".to_string(), |v| v.to_string());
        format!("[{lo}, {hi}]")
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(format!("name must be 1 to {MAX_NAME_LEN} characters, got {}", name.len()));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err(format!("name {name:?} may only contain letters, digits, '_', '.' and '-'"));
    }
    if looks_like_uuid(name) {
        return Err(format!("name {name:?} looks like an SLA id; pick a name that is not a UUID"));
    }
    Ok(())
}

fn check_range(min: Option<f64>, max: Option<f64>, margin: Option<f64>, problems: &mut Vec<String>) {
    if min.is_none() && max.is_none() {
        problems.push("give at least one of min and max".to_string());
    }
    for (what, bound) in [("min", min), ("max", max)] {
        if let Some(value) = bound
            && !value.is_finite()
        {
            problems.push(format!("{what} must be a finite number, got {value}"));
        }
    }
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        problems.push(format!("min {lo} is above max {hi}"));
    }
    if let Some(margin) = margin {
        if !(margin.is_finite() && margin >= 0.0) {
            problems.push(format!("recovery margin must be a finite number ≥ 0, got {margin}"));
        } else if let (Some(lo), Some(hi)) = (min, max)
            && 2.0 * margin > hi - lo
        {
            problems.push(format!(
                "recovery margin {margin} leaves no value to recover to inside [{lo}, {hi}]"
            ));
        }
    }
}

/// Whether `text` has the shape of a UUID (8-4-4-4-12 hex digits).
pub fn looks_like_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Error budget of one SLA at one moment, from the count of bad time slices.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    /// Bad slices allowed over the window: `(1 − target) × slices in the window`.
    pub allowed_bad_slices: f64,
    /// Bad slices (any violating sample) in the window.
    pub bad_slices: u64,
    /// `1 − bad / allowed`: 1 untouched, 0 spent, negative overspent.
    pub remaining: f64,
}

impl Budget {
    /// The budget over `def`'s window given the bad slices in it.
    pub fn of(def: &SlaDefinition, bad_slices: u64) -> Budget {
        let slices = (def.budget_window_ms / def.timeslice_ms.max(1)).max(1) as f64;
        let allowed_bad_slices = (1.0 - def.budget_target) * slices;
        Budget {
            allowed_bad_slices,
            bad_slices,
            remaining: 1.0 - bad_slices as f64 / allowed_bad_slices,
        }
    }
}

/// Burn rate over a lookback: the share of bad slices in it divided by the share the budget
/// allows (1 burns the budget exactly over the window; Sloth and Pyrra alert at 14.4 over 1h).
pub fn burn_rate(def: &SlaDefinition, bad_slices: u64, lookback_ms: i64) -> f64 {
    let slices = (lookback_ms / def.timeslice_ms.max(1)).max(1) as f64;
    (bad_slices as f64 / slices) / (1.0 - def.budget_target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::MatchOp;

    fn sla(min: Option<f64>, max: Option<f64>) -> SlaDefinition {
        SlaDefinition::new(
            "3f0c1d9e-0000-4000-8000-000000000001",
            "memory",
            "node_memory_MemFree_bytes",
            min,
            max,
            0,
        )
    }

    #[test]
    fn bounds_are_inclusive_and_nan_violates() {
        let def = sla(Some(1.0), Some(2.0));
        assert!(!def.violated_by(1.0) && !def.violated_by(2.0) && !def.violated_by(1.5));
        assert!(def.violated_by(0.999) && def.violated_by(2.001) && def.violated_by(f64::NAN));
        let only_max = sla(None, Some(5.0));
        assert!(!only_max.violated_by(-1e300) && only_max.violated_by(5.1));
    }

    #[test]
    fn recovery_needs_the_margin_inside_the_range() {
        let mut def = sla(Some(0.0), Some(10.0));
        assert!(def.recovered_by(10.0));
        def.recovery_margin = Some(1.0);
        assert!(!def.recovered_by(9.5) && def.recovered_by(9.0) && !def.recovered_by(0.5) && def.recovered_by(5.0));
    }

    #[test]
    fn validation_lists_every_problem() {
        let mut def = sla(Some(3.0), Some(1.0));
        def.name = "bad name!".into();
        def.metric = "1bad".into();
        def.budget_target = 1.0;
        def.for_ms = -1;
        def.matchers = vec![Matcher {
            name: "job".into(),
            op: MatchOp::Regex,
            value: "(".into(),
        }];
        let CoreError::InvalidSla(problems) = def.validate().unwrap_err() else {
            panic!("wrong error");
        };
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert!(sla(None, None).validate().is_err());
        assert!(sla(Some(f64::INFINITY), None).validate().is_err());
        let mut uuid_named = sla(Some(1.0), None);
        uuid_named.name = "3f0c1d9e-0000-4000-8000-000000000001".into();
        assert!(uuid_named.validate().is_err());
        let mut wide_margin = sla(Some(0.0), Some(1.0));
        wide_margin.recovery_margin = Some(0.6);
        assert!(wide_margin.validate().is_err());
        assert!(sla(Some(0.0), Some(1.0)).validate().is_ok());
    }

    #[test]
    fn budget_and_burn_rate_follow_the_timeslice_definition() {
        let mut def = sla(None, Some(1.0));
        def.budget_window_ms = DAY_MS;
        def.timeslice_ms = MINUTE_MS;
        def.budget_target = 0.99;
        // 1,440 slices a day, 14.4 may be bad.
        let budget = Budget::of(&def, 0);
        assert!((budget.allowed_bad_slices - 14.4).abs() < 1e-9 && budget.remaining == 1.0);
        assert!((Budget::of(&def, 36).remaining - (1.0 - 36.0 / 14.4)).abs() < 1e-12);
        // 6 bad minutes of the last hour: 10 % bad against 1 % allowed.
        assert!((burn_rate(&def, 6, 3_600_000) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn serde_round_trips_a_definition() {
        let mut def = sla(Some(0.5), None);
        def.matchers = vec![Matcher::parse("job=~\"node.*\"").unwrap()];
        def.chat_id = Some(-100);
        let json = serde_json::to_string(&def).unwrap();
        assert!(json.contains("\"op\":\"=~\""), "{json}");
        assert_eq!(serde_json::from_str::<SlaDefinition>(&json).unwrap(), def);
    }
}
