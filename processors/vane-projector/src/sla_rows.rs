//! From `vane.sla.definitions` and `vane.sla.events` records to SLA read-model rows: a definition
//! becomes its row (and, when deleted, the deletion of its status rows); a status event becomes a
//! status update and a transition, a violation event a violation row, a forecast event a forecast
//! update. Rows the store would refuse are refused here, so that they go to the dead-letter
//! topic instead of failing the batch. Pure.

use vane_events::{SlaDefinitionEvent, SlaEvent, SlaEventKind};
use vane_store::{SlaDefinitionRow, SlaStatusUpdate, SlaTransitionRow, SlaViolationRow};

/// The SLA rows of one batch, in the order of their records.
#[derive(Debug, Default)]
pub struct SlaRows {
    pub definitions: Vec<SlaDefinitionRow>,
    /// SLAs deleted in this batch: their status rows go.
    pub deleted: Vec<String>,
    pub status: Vec<SlaStatusUpdate>,
    pub violations: Vec<SlaViolationRow>,
    pub transitions: Vec<SlaTransitionRow>,
}

impl SlaRows {
    pub fn len(&self) -> usize {
        self.definitions.len() + self.status.len() + self.violations.len() + self.transitions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a definition, or says why it cannot be a row.
    pub(crate) fn add_definition(&mut self, event: SlaDefinitionEvent) -> Result<(), String> {
        let row = SlaDefinitionRow {
            definition: event.definition,
            deleted: event.deleted,
        };
        row.validate().map_err(|error| error.to_string())?;
        if row.deleted {
            self.deleted.push(row.definition.id.clone());
        }
        self.definitions.push(row);
        Ok(())
    }

    /// Adds the rows of one SLA event, or says why it cannot be rows.
    pub(crate) fn add_event(&mut self, event: SlaEvent) -> Result<(), String> {
        let series_id = event.series_id.to_string();
        match event.kind {
            SlaEventKind::Status => {
                let update = SlaStatusUpdate::Status {
                    sla_id: event.sla_id.clone(),
                    series_id: series_id.clone(),
                    metric: event.metric.clone(),
                    labels: event.labels.clone(),
                    status: event.status,
                    value: event.value,
                    at_ms: event.at_ms,
                };
                // A status event whose previous status is its own status refreshes the current
                // value (the worker sends one now and then); only a change is a transition.
                let refresh = event.previous == Some(event.status);
                let transition = SlaTransitionRow {
                    sla_id: event.sla_id,
                    at_ms: event.at_ms,
                    series_id,
                    metric: event.metric,
                    labels: event.labels,
                    from: event.previous,
                    to: event.status,
                    value: event.value,
                };
                update.validate().map_err(|error| error.to_string())?;
                transition.validate().map_err(|error| error.to_string())?;
                self.status.push(update);
                if !refresh {
                    self.transitions.push(transition);
                }
            }
            SlaEventKind::Violation => {
                let row = SlaViolationRow {
                    sla_id: event.sla_id,
                    at_ms: event.at_ms,
                    series_id,
                    metric: event.metric,
                    labels: event.labels,
                    // A sample without a value (NaN on the wire) still broke the range.
                    value: event.value.unwrap_or(f64::NAN),
                };
                row.validate().map_err(|error| error.to_string())?;
                self.violations.push(row);
            }
            SlaEventKind::Forecast => {
                let (Some(probability), Some(horizon_ms)) = (event.probability, event.horizon_ms) else {
                    return Err(format!(
                        "forecast event of SLA {} for series {series_id} without probability or horizon",
                        event.sla_id
                    ));
                };
                let update = SlaStatusUpdate::Forecast {
                    sla_id: event.sla_id,
                    series_id,
                    probability,
                    horizon_ms,
                    likely: event.likely,
                    at_ms: event.at_ms,
                };
                update.validate().map_err(|error| error.to_string())?;
                self.status.push(update);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use vane_core::SeriesId;
    use vane_core::sla::{SlaDefinition, SlaStatus};
    use vane_events::Envelope;

    use super::*;

    fn event(kind: SlaEventKind, status: SlaStatus) -> SlaEvent {
        SlaEvent {
            envelope: Envelope::new(1_000, 1_000, "test"),
            sla_id: "sla-1".into(),
            sla_name: "memory".into(),
            series_id: SeriesId(0xab),
            metric: "node_memory_MemFree_bytes".into(),
            labels: [("instance".to_string(), "a:9100".to_string())].into(),
            kind,
            at_ms: 1_000,
            status,
            previous: Some(SlaStatus::Pending),
            value: Some(5.0),
            probability: None,
            horizon_ms: None,
            likely: false,
        }
    }

    #[test]
    fn a_status_event_is_an_update_and_a_transition() {
        let mut rows = SlaRows::default();
        let mut refresh = event(SlaEventKind::Status, SlaStatus::Ok);
        refresh.previous = Some(SlaStatus::Ok);
        let mut refreshed = SlaRows::default();
        refreshed.add_event(refresh).unwrap();
        assert_eq!(
            (refreshed.status.len(), refreshed.transitions.len()),
            (1, 0),
            "a refresh is no transition"
        );
        rows.add_event(event(SlaEventKind::Status, SlaStatus::Violated)).unwrap();
        assert_eq!(rows.len(), 2);
        let SlaStatusUpdate::Status {
            series_id, status, value, ..
        } = &rows.status[0]
        else {
            panic!("{:?}", rows.status[0]);
        };
        assert_eq!(
            (series_id.as_str(), *status, *value),
            ("00000000000000ab", SlaStatus::Violated, Some(5.0))
        );
        let transition = &rows.transitions[0];
        assert_eq!(
            (transition.from, transition.to, transition.at_ms),
            (Some(SlaStatus::Pending), SlaStatus::Violated, 1_000)
        );
    }

    #[test]
    fn violations_and_forecasts_map_to_their_rows() {
        let mut rows = SlaRows::default();
        let mut violation = event(SlaEventKind::Violation, SlaStatus::Violated);
        violation.value = None;
        rows.add_event(violation).unwrap();
        assert!(rows.violations[0].value.is_nan());
        let mut forecast = event(SlaEventKind::Forecast, SlaStatus::Ok);
        forecast.probability = Some(0.8);
        forecast.horizon_ms = Some(600_000);
        forecast.likely = true;
        rows.add_event(forecast).unwrap();
        assert!(matches!(
            rows.status[0],
            SlaStatusUpdate::Forecast {
                probability: 0.8,
                horizon_ms: 600_000,
                likely: true,
                ..
            }
        ));
        assert!(rows.transitions.is_empty());
    }

    #[test]
    fn rows_the_store_would_refuse_are_refused_here() {
        let mut rows = SlaRows::default();
        let mut no_probability = event(SlaEventKind::Forecast, SlaStatus::Ok);
        no_probability.horizon_ms = Some(1);
        assert!(rows.add_event(no_probability).unwrap_err().contains("without probability"));
        let mut beyond_one = event(SlaEventKind::Forecast, SlaStatus::Ok);
        (beyond_one.probability, beyond_one.horizon_ms) = (Some(1.5), Some(1));
        assert!(rows.add_event(beyond_one).is_err());
        let mut no_metric = event(SlaEventKind::Status, SlaStatus::Ok);
        no_metric.metric = String::new();
        assert!(rows.add_event(no_metric).is_err());
        let mut no_sla = event(SlaEventKind::Violation, SlaStatus::Violated);
        no_sla.sla_id = String::new();
        assert!(rows.add_event(no_sla).is_err());
        assert!(rows.is_empty());

        let mut definition = SlaDefinitionEvent {
            envelope: Envelope::new(1_000, 1_000, "test"),
            definition: SlaDefinition::new("sla-1", "memory", "up", None, Some(1.0), 1_000),
            deleted: true,
        };
        rows.add_definition(definition.clone()).unwrap();
        assert_eq!(rows.deleted, ["sla-1"]);
        definition.definition.max = Some(f64::NAN);
        assert!(rows.add_definition(definition).is_err());
        assert_eq!(rows.definitions.len(), 1);
    }
}
