//! How one series' samples move its status under one SLA: ok → pending (out of range for less
//! than `for`) → violated, back to ok once a value is inside the range by the recovery margin,
//! and `no data` when nothing arrived for longer than the no-data timeout (wall clock). Every
//! out-of-range sample is a violation; every status change is a transition; an episode starts
//! with each transition into `violated`. Pure.

use vane_core::sla::{SlaDefinition, SlaStatus};
use vane_events::SlaSeriesState;

/// A status change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition {
    /// `None` for the first status a series gets under an SLA.
    pub from: Option<SlaStatus>,
    pub to: SlaStatus,
    pub at_ms: i64,
}

/// What one sample did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judgement {
    /// The sample is outside the allowed range.
    pub violating: bool,
    pub transition: Option<Transition>,
}

/// Judges the sample `(at_ms, value)` that arrived at wall-clock `seen_ms`, updating `state`
/// (`None`: the series is new to the SLA). Returns `None` for a sample at or before the last
/// one judged: it was judged already (a redelivery after a restart) or is too late to move the
/// status.
pub fn judge(def: &SlaDefinition, state: &mut Option<SlaSeriesState>, at_ms: i64, value: f64, seen_ms: i64) -> Option<Judgement> {
    let violating = def.violated_by(value);
    let Some(current) = state else {
        let status = first_status(def, violating);
        *state = Some(SlaSeriesState {
            sla_id: def.id.clone(),
            revision: def.revision,
            status,
            since_ms: at_ms,
            pending_since_ms: (status == SlaStatus::Pending).then_some(at_ms),
            last_at_ms: at_ms,
            last_value: Some(value),
            last_seen_ms: seen_ms,
            likely: false,
        });
        return Some(Judgement {
            violating,
            transition: Some(Transition {
                from: None,
                to: status,
                at_ms,
            }),
        });
    };
    if at_ms <= current.last_at_ms {
        return None;
    }
    current.revision = def.revision;
    current.last_at_ms = at_ms;
    current.last_value = Some(value);
    current.last_seen_ms = seen_ms;
    let next = match current.status {
        SlaStatus::Ok | SlaStatus::NoData => first_status(def, violating),
        SlaStatus::Pending if !violating => SlaStatus::Ok,
        SlaStatus::Pending => {
            let since = current.pending_since_ms.unwrap_or(current.since_ms);
            if at_ms - since >= def.for_ms {
                SlaStatus::Violated
            } else {
                SlaStatus::Pending
            }
        }
        SlaStatus::Violated if def.recovered_by(value) => SlaStatus::Ok,
        SlaStatus::Violated => SlaStatus::Violated,
    };
    let transition = move_to(current, next, at_ms);
    Some(Judgement { violating, transition })
}

/// Wall-clock punctuation: a series silent for longer than `no_data_after_ms` goes to `no data`.
pub fn silence(state: &mut SlaSeriesState, now_ms: i64, no_data_after_ms: i64) -> Option<Transition> {
    if state.status == SlaStatus::NoData || now_ms - state.last_seen_ms <= no_data_after_ms {
        return None;
    }
    state.likely = false;
    move_to(state, SlaStatus::NoData, now_ms)
}

/// Status of a series not pending or violated before: out of range is pending, or violated at
/// once when the SLA has no pending period.
fn first_status(def: &SlaDefinition, violating: bool) -> SlaStatus {
    match (violating, def.for_ms) {
        (false, _) => SlaStatus::Ok,
        (true, 0) => SlaStatus::Violated,
        (true, _) => SlaStatus::Pending,
    }
}

fn move_to(state: &mut SlaSeriesState, next: SlaStatus, at_ms: i64) -> Option<Transition> {
    if next == state.status {
        return None;
    }
    let from = state.status;
    state.status = next;
    state.since_ms = at_ms;
    state.pending_since_ms = (next == SlaStatus::Pending).then_some(at_ms);
    Some(Transition {
        from: Some(from),
        to: next,
        at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sla(for_ms: i64, margin: Option<f64>) -> SlaDefinition {
        let mut d = SlaDefinition::new("id", "name", "m", Some(0.0), Some(10.0), 0);
        d.for_ms = for_ms;
        d.recovery_margin = margin;
        d
    }

    /// Feeds `(at, value)` samples and returns the statuses after each.
    fn statuses(def: &SlaDefinition, samples: &[(i64, f64)]) -> Vec<&'static str> {
        let mut state = None;
        samples
            .iter()
            .map(|(at, v)| {
                judge(def, &mut state, *at, *v, *at);
                state.as_ref().unwrap().status.as_str()
            })
            .collect()
    }

    #[test]
    fn without_pending_period_the_first_bad_sample_violates() {
        let def = sla(0, None);
        assert_eq!(
            statuses(&def, &[(1, 5.0), (2, 11.0), (3, 10.0), (4, -0.1)]),
            ["ok", "violated", "ok", "violated"]
        );
    }

    #[test]
    fn pending_lasts_for_the_period_and_clears_on_a_good_sample() {
        let def = sla(30, None);
        let seen = statuses(&def, &[(0, 20.0), (10, 20.0), (20, 5.0), (30, 20.0), (59, 20.0), (60, 20.0)]);
        assert_eq!(seen, ["pending", "pending", "ok", "pending", "pending", "violated"]);
    }

    #[test]
    fn recovery_waits_for_the_margin() {
        let def = sla(0, Some(1.0));
        assert_eq!(statuses(&def, &[(1, 11.0), (2, 9.5), (3, 9.0)]), ["violated", "violated", "ok"]);
    }

    #[test]
    fn every_bad_sample_is_a_violation_and_transitions_are_reported_once() {
        let def = sla(0, None);
        let mut state = None;
        let first = judge(&def, &mut state, 1, 11.0, 1).unwrap();
        assert!(first.violating);
        assert_eq!(first.transition.unwrap().from, None);
        let second = judge(&def, &mut state, 2, 12.0, 2).unwrap();
        assert!(second.violating && second.transition.is_none());
        assert!(
            judge(&def, &mut state, 2, 12.0, 3).is_none(),
            "a redelivered sample is not judged twice"
        );
        assert!(judge(&def, &mut state, 1, 5.0, 3).is_none(), "nor one older than the last");
    }

    #[test]
    fn silence_turns_into_no_data_and_data_brings_the_status_back() {
        let def = sla(0, None);
        let mut state = None;
        judge(&def, &mut state, 1_000, 11.0, 1_000);
        let s = state.as_mut().unwrap();
        s.likely = true;
        assert!(silence(s, 60_000, 60_000).is_none());
        let t = silence(s, 61_001, 60_000).unwrap();
        assert_eq!((t.from, t.to, t.at_ms), (Some(SlaStatus::Violated), SlaStatus::NoData, 61_001));
        assert!(!s.likely);
        assert!(silence(s, 99_000, 60_000).is_none());
        let back = judge(&def, &mut state, 100_000, 5.0, 100_000).unwrap().transition.unwrap();
        assert_eq!((back.from, back.to), (Some(SlaStatus::NoData), SlaStatus::Ok));
    }
}
