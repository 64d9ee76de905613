//! Runtime metrics in Prometheus' text exposition format.
//!
//! Names follow Prometheus' guide (`vane_<thing>_<unit>`, `_total` on counters); label values
//! come from small fixed sets (roles, topics, reasons kinds), never from user data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::log::{Consumer, LagProbe};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Counter,
    Gauge,
}

#[derive(Debug)]
struct Family {
    help: &'static str,
    kind: Kind,
    series: BTreeMap<String, Arc<AtomicU64>>,
}

/// A registry of metrics; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    families: Arc<Mutex<BTreeMap<&'static str, Family>>>,
}

/// A monotonically increasing count.
#[derive(Debug, Clone)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (stored as an integer).
#[derive(Debug, Clone)]
pub struct Gauge(Arc<AtomicU64>);

impl Gauge {
    pub fn set(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Metrics {
    pub fn new() -> Self {
        Metrics::default()
    }

    fn cell(&self, name: &'static str, help: &'static str, kind: Kind, labels: &[(&str, &str)]) -> Arc<AtomicU64> {
        let mut rendered = String::new();
        for (i, (key, value)) in labels.iter().enumerate() {
            if i > 0 {
                rendered.push(',');
            }
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            let _ = write!(rendered, "{key}=\"{escaped}\"");
        }
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let family = families.entry(name).or_insert_with(|| Family {
            help,
            kind,
            series: BTreeMap::new(),
        });
        Arc::clone(family.series.entry(rendered).or_default())
    }

    pub fn counter(&self, name: &'static str, help: &'static str, labels: &[(&str, &str)]) -> Counter {
        Counter(self.cell(name, help, Kind::Counter, labels))
    }

    pub fn gauge(&self, name: &'static str, help: &'static str, labels: &[(&str, &str)]) -> Gauge {
        Gauge(self.cell(name, help, Kind::Gauge, labels))
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        for (name, family) in families.iter() {
            let kind = if family.kind == Kind::Counter { "counter" } else { "gauge" };
            let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} {kind}", family.help);
            for (labels, value) in &family.series {
                let value = value.load(Ordering::Relaxed);
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {value}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {value}");
                }
            }
        }
        out
    }
}

/// The metrics every log-consuming role reports, under its `role` label.
#[derive(Debug)]
pub struct RoleMetrics {
    pub records_in: Counter,
    pub records_out: Counter,
    pub dead_letters: Counter,
    pub progress: ConsumerProgress,
}

/// Topic and partition of every partition assigned to a consumer, sorted.
pub type Assignment = Vec<(String, u32)>;

/// How often a role measures its lag while its assignment stays the same.
pub const LAG_EVERY: Duration = Duration::from_secs(5);

/// A role's `vane_assigned_partitions` and `vane_consumer_lag_records`, measured together: when the
/// assignment changes and every [`LAG_EVERY`] otherwise, idle or not. So "partitions assigned and
/// no lag" tells an operator (or a test) that the role has caught up with the log, also after a
/// restart, when a Kafka group hands partitions back only after a while. When the backend cannot
/// tell the lag, both keep their last values and the next try is [`LAG_EVERY`] later.
///
/// A measurement that asks the broker runs beside the role's loop: it is collected by the first
/// [`observe`](Self::observe) after it ends, and dropped when the assignment changed meanwhile
/// (the new assignment is then measured as soon as it ends).
#[derive(Debug)]
pub struct ConsumerProgress {
    assigned: Gauge,
    lag: Gauge,
    /// The assignment and the time of the last measurement started.
    measured: Option<(Assignment, Instant)>,
    /// A measurement still asking the broker, with the assignment it is for.
    running: Option<(Assignment, JoinHandle<Option<u64>>)>,
}

impl ConsumerProgress {
    /// Call after every poll; returns the current assignment, sorted.
    pub async fn observe(&mut self, consumer: &mut Consumer) -> Assignment {
        let mut assignment = consumer.assignment();
        assignment.sort();
        if self.running.as_ref().is_some_and(|(_, probe)| probe.is_finished())
            && let Some((measured_for, probe)) = self.running.take()
        {
            let lag = match probe.await {
                Ok(lag) => lag,
                Err(error) => {
                    tracing::warn!(%error, "lag measurement failed; the gauges keep their last values");
                    None
                }
            };
            self.publish(&measured_for, lag, &assignment);
        }
        let due = self.running.is_none()
            && self
                .measured
                .as_ref()
                .is_none_or(|(before, at)| *before != assignment || at.elapsed() >= LAG_EVERY);
        if due {
            match consumer.lag_probe() {
                LagProbe::Ready(lag) => self.publish(&assignment, lag, &assignment),
                LagProbe::Running(probe) => self.running = Some((assignment.clone(), probe)),
            }
            self.measured = Some((assignment.clone(), Instant::now()));
        }
        assignment
    }

    /// Waits for a measurement still asking the broker (bounded by its request timeouts) and drops
    /// it. Call before closing the consumer: the measurement holds the consumer, so without this
    /// the group would see the process leave only once the measurement ends.
    pub async fn finish(&mut self) {
        if let Some((_, probe)) = self.running.take()
            && let Err(error) = probe.await
        {
            tracing::warn!(%error, "lag measurement failed at shutdown");
        }
    }

    /// Sets both gauges from a lag measured for `measured_for`, if that is still the assignment.
    fn publish(&self, measured_for: &[(String, u32)], lag: Option<u64>, assignment: &[(String, u32)]) {
        if let Some(lag) = lag
            && measured_for == assignment
        {
            self.lag.set(lag);
            self.assigned.set(assignment.len() as u64);
        }
    }
}

impl RoleMetrics {
    pub fn new(metrics: &Metrics, role: &str) -> Self {
        let role = [("role", role)];
        RoleMetrics {
            records_in: metrics.counter("vane_records_in_total", "Records read from the log by a role.", &role),
            records_out: metrics.counter("vane_records_out_total", "Records written to the log by a role.", &role),
            dead_letters: metrics.counter("vane_dlq_records_total", "Records sent to the dead-letter topic.", &role),
            progress: ConsumerProgress {
                assigned: metrics.gauge(
                    "vane_assigned_partitions",
                    "Partitions of the role's topics assigned to this process (0 until its group hands them over).",
                    &role,
                ),
                lag: metrics.gauge(
                    "vane_consumer_lag_records",
                    "Records in the assigned partitions not yet read.",
                    &role,
                ),
                measured: None,
                running: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::new();
        let c = metrics.counter("vane_records_in_total", "Records read.", &[("role", "ingest")]);
        c.add(3);
        metrics
            .counter("vane_records_in_total", "Records read.", &[("role", "ingest")])
            .inc();
        metrics.gauge("vane_consumer_lag_records", "Lag.", &[("role", "a\"b")]).set(7);
        let text = metrics.render();
        assert!(text.contains("# TYPE vane_records_in_total counter\n"), "{text}");
        assert!(text.contains("vane_records_in_total{role=\"ingest\"} 4\n"), "{text}");
        assert!(text.contains("vane_consumer_lag_records{role=\"a\\\"b\"} 7\n"), "{text}");
    }

    #[tokio::test]
    async fn finish_waits_for_a_running_measurement() {
        use std::sync::atomic::AtomicBool;
        let metrics = Metrics::new();
        let mut progress = RoleMetrics::new(&metrics, "doubler").progress;
        let ended = Arc::new(AtomicBool::new(false));
        let probe = tokio::task::spawn_blocking({
            let ended = Arc::clone(&ended);
            move || {
                // Long enough that a finish which did not wait would return first.
                std::thread::sleep(Duration::from_millis(50));
                ended.store(true, Ordering::SeqCst);
                Some(3)
            }
        });
        progress.running = Some((vec![("t".into(), 0)], probe));
        progress.finish().await;
        assert!(ended.load(Ordering::SeqCst), "finish returned before the measurement ended");
        assert!(progress.running.is_none());
    }
}
