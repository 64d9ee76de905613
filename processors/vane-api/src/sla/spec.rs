//! What a change asks for, whichever way it came in: [`SlaSpec`] (a new SLA, defaults not yet
//! applied) and [`SlaPatch`] (the fields an update sets or clears), built from the gRPC requests
//! or from the JSON API's body. Conversion collects every problem it finds (an unknown severity,
//! a malformed matcher or duration) before the definition's own validation runs. Pure.

use serde::{Deserialize, Deserializer};
use vane_core::matcher::Matcher;
use vane_core::sla::{DEFAULT_BUDGET_TARGET, DEFAULT_BUDGET_WINDOW_MS, DEFAULT_TIMESLICE_MS, Severity, SlaDefinition};

use crate::{ApiError, pb};

/// A new SLA as asked for; `None` takes the default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlaSpec {
    pub name: String,
    pub metric: String,
    pub matchers: Vec<Matcher>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub for_ms: Option<i64>,
    pub recovery_margin: Option<f64>,
    pub severity: Option<Severity>,
    pub budget_target: Option<f64>,
    pub budget_window_ms: Option<i64>,
    pub timeslice_ms: Option<i64>,
    pub chat_id: Option<i64>,
}

impl SlaSpec {
    /// The definition with the defaults filled in: revision 1, created and updated `now_ms`.
    pub fn into_definition(self, id: &str, now_ms: i64) -> SlaDefinition {
        let mut definition = SlaDefinition::new(id, &self.name, &self.metric, self.min, self.max, now_ms);
        definition.matchers = self.matchers;
        definition.for_ms = self.for_ms.unwrap_or(0);
        definition.recovery_margin = self.recovery_margin;
        definition.severity = self.severity.unwrap_or_default();
        definition.budget_target = self.budget_target.unwrap_or(DEFAULT_BUDGET_TARGET);
        definition.budget_window_ms = self.budget_window_ms.unwrap_or(DEFAULT_BUDGET_WINDOW_MS);
        definition.timeslice_ms = self.timeslice_ms.unwrap_or(DEFAULT_TIMESLICE_MS);
        definition.chat_id = self.chat_id;
        definition
    }
}

/// The fields an update changes: `None` keeps a field, `Some(None)` removes an optional one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlaPatch {
    pub name: Option<String>,
    pub metric: Option<String>,
    pub matchers: Option<Vec<Matcher>>,
    pub min: Option<Option<f64>>,
    pub max: Option<Option<f64>>,
    pub for_ms: Option<i64>,
    pub recovery_margin: Option<Option<f64>>,
    pub severity: Option<Severity>,
    pub budget_target: Option<f64>,
    pub budget_window_ms: Option<i64>,
    pub timeslice_ms: Option<i64>,
    pub chat_id: Option<Option<i64>>,
    /// Apply only to this revision (optimistic concurrency).
    pub expected_revision: Option<i64>,
}

impl SlaPatch {
    /// Writes the changed fields into `definition` (identity, times and revision untouched).
    pub fn apply(&self, definition: &mut SlaDefinition) {
        if let Some(name) = &self.name {
            definition.name.clone_from(name);
        }
        if let Some(metric) = &self.metric {
            definition.metric.clone_from(metric);
        }
        if let Some(matchers) = &self.matchers {
            definition.matchers.clone_from(matchers);
        }
        if let Some(min) = self.min {
            definition.min = min;
        }
        if let Some(max) = self.max {
            definition.max = max;
        }
        if let Some(for_ms) = self.for_ms {
            definition.for_ms = for_ms;
        }
        if let Some(margin) = self.recovery_margin {
            definition.recovery_margin = margin;
        }
        if let Some(severity) = self.severity {
            definition.severity = severity;
        }
        if let Some(target) = self.budget_target {
            definition.budget_target = target;
        }
        if let Some(window) = self.budget_window_ms {
            definition.budget_window_ms = window;
        }
        if let Some(timeslice) = self.timeslice_ms {
            definition.timeslice_ms = timeslice;
        }
        if let Some(chat_id) = self.chat_id {
            definition.chat_id = chat_id;
        }
    }
}

/// Problems found while converting a request, reported all at once.
#[derive(Debug, Default)]
struct Problems(Vec<String>);

impl Problems {
    fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ApiError::InvalidSla(self.0))
        }
    }
}

fn severity_from_pb(value: i32, problems: &mut Problems) -> Option<Severity> {
    match pb::Severity::try_from(value) {
        Ok(pb::Severity::Unspecified) => None,
        Ok(pb::Severity::Info) => Some(Severity::Info),
        Ok(pb::Severity::Warning) => Some(Severity::Warning),
        Ok(pb::Severity::Critical) => Some(Severity::Critical),
        Err(_) => {
            problems.0.push(format!("severity {value} is not one of INFO, WARNING, CRITICAL"));
            None
        }
    }
}

fn matchers_from_pb(matchers: &[pb::LabelMatcher], problems: &mut Problems) -> Vec<Matcher> {
    let mut out = Vec::with_capacity(matchers.len());
    for matcher in matchers {
        match crate::matcher::from_pb(matcher) {
            Ok(matcher) => out.push(matcher),
            Err(ApiError::InvalidArgument(reason)) => problems.0.push(reason),
            Err(other) => problems.0.push(other.to_string()),
        }
    }
    out
}

/// A create request, checked for what the definition's validation cannot see.
pub fn spec_from_pb(request: pb::CreateSlaRequest) -> Result<SlaSpec, ApiError> {
    let mut problems = Problems::default();
    let spec = SlaSpec {
        matchers: matchers_from_pb(&request.matchers, &mut problems),
        severity: severity_from_pb(request.severity, &mut problems),
        name: request.name,
        metric: request.metric,
        min: request.min,
        max: request.max,
        for_ms: request.for_ms,
        recovery_margin: request.recovery_margin,
        budget_target: request.budget_target,
        budget_window_ms: request.budget_window_ms,
        timeslice_ms: request.timeslice_ms,
        chat_id: request.chat_id,
    };
    problems.finish(spec)
}

/// An update request; a field both set and cleared is a problem.
pub fn patch_from_pb(request: pb::UpdateSlaRequest) -> Result<SlaPatch, ApiError> {
    let mut problems = Problems::default();
    let mut patch = SlaPatch {
        matchers: request.replace_matchers.then(|| matchers_from_pb(&request.matchers, &mut problems)),
        severity: severity_from_pb(request.severity, &mut problems),
        name: request.name,
        metric: request.metric,
        min: request.min.map(Some),
        max: request.max.map(Some),
        for_ms: request.for_ms,
        recovery_margin: request.recovery_margin.map(Some),
        budget_target: request.budget_target,
        budget_window_ms: request.budget_window_ms,
        timeslice_ms: request.timeslice_ms,
        chat_id: request.chat_id.map(Some),
        expected_revision: request.expected_revision,
    };
    if !request.replace_matchers && !request.matchers.is_empty() {
        problems
            .0
            .push("matchers given without replace_matchers: set it to replace the SLA's matchers".to_string());
    }
    for field in &request.clear {
        let (name, set) = match pb::SlaField::try_from(*field) {
            Ok(pb::SlaField::Min) => ("min", patch.min.replace(None).is_some()),
            Ok(pb::SlaField::Max) => ("max", patch.max.replace(None).is_some()),
            Ok(pb::SlaField::RecoveryMargin) => ("recovery_margin", patch.recovery_margin.replace(None).is_some()),
            Ok(pb::SlaField::ChatId) => ("chat_id", patch.chat_id.replace(None).is_some()),
            Ok(pb::SlaField::Unspecified) | Err(_) => {
                problems
                    .0
                    .push(format!("clear: {field} is not one of MIN, MAX, RECOVERY_MARGIN, CHAT_ID"));
                continue;
            }
        };
        if set {
            problems.0.push(format!("{name} is both set and cleared"));
        }
    }
    problems.finish(patch)
}

/// One matcher in the JSON API: PromQL text (`job="node"`) or `{"name", "op", "value"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum MatcherJson {
    Text(String),
    Object(Matcher),
}

/// The JSON body of `POST /api/v1/slas` and `PUT /api/v1/slas/{sla}`: the fields of an SLA as the
/// API prints them. Durations are text (`"1m"`, `"30d"`). On PUT an absent field keeps its value
/// and `null` removes an optional one. The read-only fields are accepted so that what a GET
/// printed can be sent back: on PUT, `revision` is the revision the change applies to and `id`
/// must be the SLA's; otherwise they are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaJson {
    name: Option<String>,
    metric: Option<String>,
    matchers: Option<Vec<MatcherJson>>,
    #[serde(default, deserialize_with = "nullable")]
    min: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    max: Option<Option<f64>>,
    #[serde(rename = "for")]
    for_: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    recovery_margin: Option<Option<f64>>,
    severity: Option<String>,
    budget_target: Option<f64>,
    budget_window: Option<String>,
    timeslice: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    chat_id: Option<Option<i64>>,
    pub(crate) id: Option<String>,
    pub(crate) revision: Option<i64>,
    #[allow(dead_code)]
    created_at: Option<i64>,
    #[allow(dead_code)]
    updated_at: Option<i64>,
    #[allow(dead_code)]
    deleted: Option<bool>,
}

/// Tells `"field": null` (Some(None)) from an absent field (None).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

impl SlaJson {
    /// Parses a request body; a malformed one is refused with serde's message (field, line,
    /// column).
    pub fn parse(body: &[u8]) -> Result<SlaJson, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::InvalidArgument(
                "the body must be a JSON object with the SLA's fields, e.g. {\"name\": \"memory\", \"metric\": \"node_memory_MemFree_bytes\", \"max\": 1e9}".into(),
            ));
        }
        serde_json::from_slice(body).map_err(|error| ApiError::InvalidArgument(format!("malformed JSON body: {error}")))
    }

    /// The body of a create: name and metric are required (validation says so when missing).
    pub fn into_spec(self) -> Result<SlaSpec, ApiError> {
        let mut problems = Problems::default();
        let patch = self.into_patch_with(&mut problems);
        let spec = SlaSpec {
            name: patch.name.unwrap_or_default(),
            metric: patch.metric.unwrap_or_default(),
            matchers: patch.matchers.unwrap_or_default(),
            min: patch.min.flatten(),
            max: patch.max.flatten(),
            for_ms: patch.for_ms,
            recovery_margin: patch.recovery_margin.flatten(),
            severity: patch.severity,
            budget_target: patch.budget_target,
            budget_window_ms: patch.budget_window_ms,
            timeslice_ms: patch.timeslice_ms,
            chat_id: patch.chat_id.flatten(),
        };
        problems.finish(spec)
    }

    /// The body of an update.
    pub fn into_patch(self) -> Result<SlaPatch, ApiError> {
        let mut problems = Problems::default();
        let patch = self.into_patch_with(&mut problems);
        problems.finish(patch)
    }

    fn into_patch_with(self, problems: &mut Problems) -> SlaPatch {
        let mut duration = |field: &str, text: Option<String>| -> Option<i64> {
            let text = text?;
            match vane_core::time::parse_duration(&text) {
                Ok(duration) => Some(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)),
                Err(_) => {
                    problems
                        .0
                        .push(format!("{field} {text:?} is not a duration such as 30s, 5m, 1h or 30d"));
                    None
                }
            }
        };
        let for_ms = duration("for", self.for_);
        let budget_window_ms = duration("budget_window", self.budget_window);
        let timeslice_ms = duration("timeslice", self.timeslice);
        let severity = self.severity.and_then(|text| match Severity::parse(&text) {
            Ok(severity) => Some(severity),
            Err(vane_core::CoreError::InvalidSla(reasons)) => {
                problems.0.extend(reasons);
                None
            }
            Err(other) => {
                problems.0.push(other.to_string());
                None
            }
        });
        let matchers = self.matchers.map(|matchers| {
            let mut out = Vec::with_capacity(matchers.len());
            for matcher in matchers {
                match matcher {
                    MatcherJson::Object(matcher) => out.push(matcher),
                    MatcherJson::Text(text) => match Matcher::parse(&text) {
                        Ok(matcher) => out.push(matcher),
                        Err(error) => problems.0.push(error.to_string()),
                    },
                }
            }
            out
        });
        SlaPatch {
            name: self.name,
            metric: self.metric,
            matchers,
            min: self.min,
            max: self.max,
            for_ms,
            recovery_margin: self.recovery_margin,
            severity,
            budget_target: self.budget_target,
            budget_window_ms,
            timeslice_ms,
            chat_id: self.chat_id,
            expected_revision: self.revision,
        }
    }
}

#[cfg(test)]
mod tests {
    use vane_core::matcher::MatchOp;

    use super::*;

    #[test]
    fn a_spec_gets_the_defaults() {
        let spec = SlaSpec {
            name: "memory".into(),
            metric: "node_memory_MemFree_bytes".into(),
            max: Some(1e9),
            ..SlaSpec::default()
        };
        let definition = spec.into_definition("3f0c1d9e-0000-4000-8000-000000000001", 5);
        assert_eq!(definition.revision, 1);
        assert_eq!((definition.created_at_ms, definition.updated_at_ms), (5, 5));
        assert_eq!(definition.budget_target, DEFAULT_BUDGET_TARGET);
        assert_eq!(definition.timeslice_ms, DEFAULT_TIMESLICE_MS);
        assert_eq!(definition.severity, Severity::Warning);
        assert!(definition.validate().is_ok());
    }

    #[test]
    fn json_bodies_parse_durations_matchers_and_nulls() {
        let body = br#"{"name": "memory", "metric": "m", "matchers": ["job=node", {"name": "env", "op": "!=", "value": ""}],
            "max": 10, "for": "1m", "severity": "critical", "budget_window": "7d", "timeslice": "30s", "chat_id": -100}"#;
        let spec = SlaJson::parse(body).unwrap().into_spec().unwrap();
        assert_eq!(spec.matchers.len(), 2);
        assert_eq!(spec.matchers[1].op, MatchOp::NotEqual);
        assert_eq!(
            (spec.for_ms, spec.budget_window_ms, spec.timeslice_ms),
            (Some(60_000), Some(7 * 86_400_000), Some(30_000))
        );
        assert_eq!(spec.severity, Some(Severity::Critical));
        assert_eq!((spec.min, spec.max, spec.chat_id), (None, Some(10.0), Some(-100)));

        let patch = SlaJson::parse(br#"{"min": null, "max": 5, "revision": 3}"#)
            .unwrap()
            .into_patch()
            .unwrap();
        assert_eq!((patch.min, patch.max, patch.chat_id), (Some(None), Some(Some(5.0)), None));
        assert_eq!(patch.expected_revision, Some(3));
        assert!(patch.name.is_none() && patch.matchers.is_none());
    }

    #[test]
    fn json_problems_are_listed_together() {
        let body = br#"{"name": "x", "for": "soon", "severity": "fatal", "matchers": ["job~node"]}"#;
        let Err(ApiError::InvalidSla(problems)) = SlaJson::parse(body).unwrap().into_spec() else {
            panic!("expected problems");
        };
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("for \"soon\""), "{problems:?}");
        let error = SlaJson::parse(br#"{"mx": 5}"#).unwrap_err();
        assert!(error.to_string().contains("unknown field `mx`"), "{error}");
        assert!(SlaJson::parse(b" ").is_err());
        assert!(SlaJson::parse(b"[1]").is_err());
    }

    #[test]
    fn update_requests_refuse_set_and_cleared_fields() {
        let request = pb::UpdateSlaRequest {
            sla: "memory".into(),
            max: Some(5.0),
            clear: vec![pb::SlaField::Max.into(), pb::SlaField::Min.into(), 99],
            severity: 7,
            ..Default::default()
        };
        let Err(ApiError::InvalidSla(problems)) = patch_from_pb(request) else {
            panic!("expected problems");
        };
        assert_eq!(problems.len(), 3, "{problems:?}");
        let request = pb::UpdateSlaRequest {
            sla: "memory".into(),
            clear: vec![pb::SlaField::ChatId.into()],
            replace_matchers: true,
            ..Default::default()
        };
        let patch = patch_from_pb(request).unwrap();
        assert_eq!(patch.chat_id, Some(None));
        assert_eq!(patch.matchers, Some(Vec::new()));
        let mut definition = SlaDefinition::new("id", "n", "m", None, Some(1.0), 0);
        definition.chat_id = Some(5);
        definition.matchers = vec![Matcher::parse("a=b").unwrap()];
        patch.apply(&mut definition);
        assert_eq!(definition.chat_id, None);
        assert!(definition.matchers.is_empty());
        assert_eq!(definition.max, Some(1.0));
    }
}
