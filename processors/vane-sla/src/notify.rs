//! The notifications an SLA sends to its Telegram chat: a violation starts, ends, or is likely
//! soon. Each carries a dedup key derived from what it reports (SLA, series, kind, time), so a
//! redelivered or re-derived notification is recognised by the notifier. Pure.

use vane_core::sla::SlaDefinition;
use vane_core::time::format_rfc3339;
use vane_core::{Labels, SeriesId};
use vane_events::{Envelope, NotificationEvent};

/// Why an SLA notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    ViolationStarted,
    ViolationEnded,
    ViolationLikely,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::ViolationStarted => "violation_started",
            NotificationKind::ViolationEnded => "violation_ended",
            NotificationKind::ViolationLikely => "violation_likely",
        }
    }
}

/// The series an SLA event is about.
#[derive(Debug, Clone, Copy)]
pub struct SeriesRef<'a> {
    pub id: SeriesId,
    pub metric: &'a str,
    pub labels: &'a Labels,
}

/// What the message says beyond the SLA and the series.
#[derive(Debug, Clone, Copy)]
pub struct Details {
    pub kind: NotificationKind,
    pub at_ms: i64,
    pub value: Option<f64>,
    /// For `ViolationLikely`: the probability and the horizon it covers.
    pub probability: Option<(f64, i64)>,
    /// For `ViolationEnded`: when the violation started.
    pub started_ms: Option<i64>,
}

/// The notification for `def`'s chat, or `None` when the SLA has no chat.
pub fn notification(def: &SlaDefinition, series: SeriesRef<'_>, details: Details, now_ms: i64, source: &str) -> Option<NotificationEvent> {
    let chat_id = def.chat_id?;
    let text = text(def, series, details);
    Some(NotificationEvent {
        envelope: Envelope::new(details.at_ms, now_ms, source),
        recipient: format!("telegram:{chat_id}"),
        channel: "telegram".to_string(),
        chat_id,
        text,
        dedup_key: format!("sla:{}:{}:{}:{}", def.id, series.id, details.kind.as_str(), details.at_ms),
        source: "sla".to_string(),
        subject_id: def.id.clone(),
        kind: details.kind.as_str().to_string(),
        severity: Some(def.severity.as_str().to_string()),
        at_ms: details.at_ms,
    })
}

/// `metric{a="1",b="2"}` as PromQL prints a series.
pub fn series_text(metric: &str, labels: &Labels) -> String {
    if labels.is_empty() {
        return metric.to_string();
    }
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{metric}{{{}}}", pairs.join(","))
}

fn text(def: &SlaDefinition, series: SeriesRef<'_>, d: Details) -> String {
    let what = series_text(series.metric, series.labels);
    let range = def.range_text();
    let value = d.value.map_or("no value".to_string(), |v| v.to_string());
    let when = format_rfc3339(d.at_ms);
    let severity = def.severity.as_str();
    match d.kind {
        NotificationKind::ViolationStarted => {
            format!(
                "🔴 SLA {} violated ({severity})\n{what} = {value}, allowed {range}\nsince {when}",
                def.name
            )
        }
        NotificationKind::ViolationEnded => {
            let lasted = d
                .started_ms
                .map(|start| format!(" after {}", vane_core::time::format_duration(duration_ms(d.at_ms - start))))
                .unwrap_or_default();
            format!(
                "✅ SLA {} back in range{lasted}\n{what} = {value}, allowed {range}\nat {when}",
                def.name
            )
        }
        NotificationKind::ViolationLikely => {
            let (probability, horizon_ms) = d.probability.unwrap_or((0.0, 0));
            format!(
                "⚠️ SLA {} likely to be violated ({severity})\n{:.0} % chance that {what} leaves {range} within {}\nlast value {value} at {when}",
                def.name,
                probability * 100.0,
                vane_core::time::format_duration(duration_ms(horizon_ms)),
            )
        }
    }
}

fn duration_ms(ms: i64) -> std::time::Duration {
    // Whole seconds read better in a message than milliseconds.
    std::time::Duration::from_secs(u64::try_from(ms / 1_000).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sla(chat: Option<i64>) -> SlaDefinition {
        let mut def = SlaDefinition::new("sla-1", "memory", "mem", None, Some(100.0), 0);
        def.chat_id = chat;
        def
    }

    fn details(kind: NotificationKind) -> Details {
        Details {
            kind,
            at_ms: 1_700_000_000_000,
            value: Some(120.0),
            probability: Some((0.734, 600_000)),
            started_ms: Some(1_700_000_000_000 - 90_000),
        }
    }

    #[test]
    fn an_sla_without_chat_sends_nothing() {
        let labels = Labels::new();
        let series = SeriesRef {
            id: SeriesId(7),
            metric: "mem",
            labels: &labels,
        };
        assert!(notification(&sla(None), series, details(NotificationKind::ViolationStarted), 0, "t").is_none());
    }

    #[test]
    fn messages_say_what_where_and_when_with_stable_dedup_keys() {
        let labels: Labels = [("instance".to_string(), "a:9100".to_string())].into_iter().collect();
        let series = SeriesRef {
            id: SeriesId(7),
            metric: "mem",
            labels: &labels,
        };
        let started = notification(&sla(Some(42)), series, details(NotificationKind::ViolationStarted), 5, "t").unwrap();
        assert_eq!(started.recipient, "telegram:42");
        assert!(started.text.contains("SLA memory violated"), "{}", started.text);
        assert!(
            started.text.contains("mem{instance=\"a:9100\"} = 120, allowed [-∞, 100]"),
            "{}",
            started.text
        );
        let again = notification(&sla(Some(42)), series, details(NotificationKind::ViolationStarted), 9, "t").unwrap();
        assert_eq!(started.dedup_key, again.dedup_key);
        let ended = notification(&sla(Some(42)), series, details(NotificationKind::ViolationEnded), 5, "t").unwrap();
        assert!(ended.text.contains("back in range after 1m30s"), "{}", ended.text);
        assert_ne!(ended.dedup_key, started.dedup_key);
        let likely = notification(&sla(Some(42)), series, details(NotificationKind::ViolationLikely), 5, "t").unwrap();
        assert!(likely.text.contains("73 % chance"), "{}", likely.text);
        assert!(likely.text.contains("within 10m"), "{}", likely.text);
    }
}
