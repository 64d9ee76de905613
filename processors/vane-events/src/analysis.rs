//! `vane.metrics.SeriesAnalysis` (schemas/metric_analysis.avsc): one analysis of one series over
//! its rolling window, produced by the analytics worker and projected into the analytics read
//! models. Per-point arrays are aligned with `timestamps_ms`; NaN marks an undefined point.

use std::collections::BTreeMap;

use vane_core::{Labels, SeriesId};

use crate::binary::{self, Reader};
use crate::sample::Envelope;
use crate::{Event, EventsError};

#[derive(Debug, Clone, PartialEq)]
pub struct SeriesAnalysisEvent {
    pub envelope: Envelope,
    pub series_id: SeriesId,
    pub name: String,
    pub labels: Labels,
    pub analyzed_at_ms: i64,
    pub compute_ms: f64,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    pub points: u64,
    /// The window's points; empty when this analysis does not ship the per-point parts.
    pub timestamps_ms: Vec<i64>,
    pub values: Vec<f64>,
    pub aggregates: Vec<AnalysisWindow>,
    pub adf: Option<DickeyFuller>,
    pub hp: Option<HodrickPrescott>,
    pub acf: Option<Autocorrelation>,
    pub pacf: Option<Vec<f64>>,
    pub decomposition: Option<Decomposition>,
    pub forecast: Option<Forecast>,
    /// Part name → why it is `None`.
    pub missing: BTreeMap<String, String>,
    /// How likely each SLA range on the series is left within the forecast horizon.
    pub violations: Vec<ViolationForecast>,
}

/// Probability that an SLA's range is left within the horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct ViolationForecast {
    pub sla_id: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub horizon_ms: i64,
    pub probability: f64,
}

/// Statistics of a trailing window ending at the last point.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisWindow {
    pub window: String,
    pub max: f64,
    pub min: f64,
    pub mean: f64,
    pub std: Option<f64>,
    pub count: u64,
}

/// Augmented Dickey-Fuller test.
#[derive(Debug, Clone, PartialEq)]
pub struct DickeyFuller {
    pub statistic: f64,
    pub pvalue: f64,
    pub used_lag: u64,
    pub nobs: u64,
    pub critical_1pct: f64,
    pub critical_5pct: f64,
    pub critical_10pct: f64,
    pub stationary: bool,
    pub regression: String,
    pub autolag: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HodrickPrescott {
    pub lambda: f64,
    pub trend: Vec<f64>,
    pub cycle: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Autocorrelation {
    pub acf: Vec<f64>,
    pub confint_lower: Vec<f64>,
    pub confint_upper: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decomposition {
    pub model: String,
    pub period: u64,
    pub trend: Vec<f64>,
    pub seasonal: Vec<f64>,
    pub resid: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub model: String,
    pub level: f64,
    pub fitted_at_ms: i64,
    pub step_ms: i64,
    pub mean: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

fn count(reader: &mut Reader<'_>, field: &'static str) -> Result<u64, EventsError> {
    u64::try_from(reader.long()?).map_err(|_| EventsError::InvalidField {
        field,
        reason: "negative".into(),
    })
}

impl Event for SeriesAnalysisEvent {
    const SCHEMA: &'static str = include_str!("../../../schemas/metric_analysis.avsc");
    const HISTORY: &'static [&'static str] = &[include_str!("../../../schemas/history/metric_analysis.v1.avsc")];

    fn write_body(&self, out: &mut Vec<u8>) {
        use binary::{put_bool, put_double, put_double_array, put_long, put_optional, put_string};
        self.envelope.write(out);
        put_string(out, &self.series_id.to_string());
        put_string(out, &self.name);
        binary::put_string_map(out, &self.labels);
        put_long(out, self.analyzed_at_ms);
        put_double(out, self.compute_ms);
        put_long(out, self.window_start_ms);
        put_long(out, self.window_end_ms);
        put_long(out, self.points as i64);
        binary::put_long_array(out, &self.timestamps_ms);
        put_double_array(out, &self.values);
        if !self.aggregates.is_empty() {
            put_long(out, self.aggregates.len() as i64);
            for w in &self.aggregates {
                put_string(out, &w.window);
                put_double(out, w.max);
                put_double(out, w.min);
                put_double(out, w.mean);
                put_optional(out, w.std.as_ref(), |out, v| put_double(out, *v));
                put_long(out, w.count as i64);
            }
        }
        put_long(out, 0);
        put_optional(out, self.adf.as_ref(), |out, a| {
            put_double(out, a.statistic);
            put_double(out, a.pvalue);
            put_long(out, a.used_lag as i64);
            put_long(out, a.nobs as i64);
            put_double(out, a.critical_1pct);
            put_double(out, a.critical_5pct);
            put_double(out, a.critical_10pct);
            put_bool(out, a.stationary);
            put_string(out, &a.regression);
            put_string(out, &a.autolag);
        });
        put_optional(out, self.hp.as_ref(), |out, h| {
            put_double(out, h.lambda);
            put_double_array(out, &h.trend);
            put_double_array(out, &h.cycle);
        });
        put_optional(out, self.acf.as_ref(), |out, a| {
            put_double_array(out, &a.acf);
            put_double_array(out, &a.confint_lower);
            put_double_array(out, &a.confint_upper);
        });
        put_optional(out, self.pacf.as_ref(), |out, p| put_double_array(out, p));
        put_optional(out, self.decomposition.as_ref(), |out, d| {
            put_string(out, &d.model);
            put_long(out, d.period as i64);
            put_double_array(out, &d.trend);
            put_double_array(out, &d.seasonal);
            put_double_array(out, &d.resid);
        });
        put_optional(out, self.forecast.as_ref(), |out, f| {
            put_string(out, &f.model);
            put_double(out, f.level);
            put_long(out, f.fitted_at_ms);
            put_long(out, f.step_ms);
            put_double_array(out, &f.mean);
            put_double_array(out, &f.lower);
            put_double_array(out, &f.upper);
        });
        binary::put_string_map(out, &self.missing);
        binary::put_array(out, &self.violations, |out, v| {
            put_string(out, &v.sla_id);
            put_optional(out, v.min.as_ref(), |out, x| put_double(out, *x));
            put_optional(out, v.max.as_ref(), |out, x| put_double(out, *x));
            put_long(out, v.horizon_ms);
            put_double(out, v.probability);
        });
    }

    fn read_body(reader: &mut Reader<'_>) -> Result<Self, EventsError> {
        let envelope = Envelope::read(reader)?;
        let series_id = reader.series_id()?;
        let name = reader.string()?;
        let labels = reader.string_map()?;
        let analyzed_at_ms = reader.long()?;
        let compute_ms = reader.double()?;
        let window_start_ms = reader.long()?;
        let window_end_ms = reader.long()?;
        let points = count(reader, "points")?;
        let timestamps_ms = reader.long_array()?;
        let values = reader.double_array()?;
        let aggregates = reader.array(|r| {
            Ok(AnalysisWindow {
                window: r.string()?,
                max: r.double()?,
                min: r.double()?,
                mean: r.double()?,
                std: r.optional("aggregates.std", Reader::double)?,
                count: count(r, "aggregates.count")?,
            })
        })?;
        let adf = reader.optional("adf", |r| {
            Ok(DickeyFuller {
                statistic: r.double()?,
                pvalue: r.double()?,
                used_lag: count(r, "adf.used_lag")?,
                nobs: count(r, "adf.nobs")?,
                critical_1pct: r.double()?,
                critical_5pct: r.double()?,
                critical_10pct: r.double()?,
                stationary: r.bool()?,
                regression: r.string()?,
                autolag: r.string()?,
            })
        })?;
        let hp = reader.optional("hp", |r| {
            Ok(HodrickPrescott {
                lambda: r.double()?,
                trend: r.double_array()?,
                cycle: r.double_array()?,
            })
        })?;
        let acf = reader.optional("acf", |r| {
            Ok(Autocorrelation {
                acf: r.double_array()?,
                confint_lower: r.double_array()?,
                confint_upper: r.double_array()?,
            })
        })?;
        let pacf = reader.optional("pacf", Reader::double_array)?;
        let decomposition = reader.optional("decomposition", |r| {
            Ok(Decomposition {
                model: r.string()?,
                period: count(r, "decomposition.period")?,
                trend: r.double_array()?,
                seasonal: r.double_array()?,
                resid: r.double_array()?,
            })
        })?;
        let forecast = reader.optional("forecast", |r| {
            Ok(Forecast {
                model: r.string()?,
                level: r.double()?,
                fitted_at_ms: r.long()?,
                step_ms: r.long()?,
                mean: r.double_array()?,
                lower: r.double_array()?,
                upper: r.double_array()?,
            })
        })?;
        let missing = reader.string_map()?;
        let violations = reader.array(|r| {
            Ok(ViolationForecast {
                sla_id: r.string()?,
                min: r.optional("violations.min", Reader::double)?,
                max: r.optional("violations.max", Reader::double)?,
                horizon_ms: r.long()?,
                probability: r.double()?,
            })
        })?;
        if timestamps_ms.len() != values.len() {
            return Err(EventsError::InvalidField {
                field: "values",
                reason: format!("{} values for {} timestamps", values.len(), timestamps_ms.len()),
            });
        }
        Ok(SeriesAnalysisEvent {
            envelope,
            series_id,
            name,
            labels,
            analyzed_at_ms,
            compute_ms,
            window_start_ms,
            window_end_ms,
            points,
            timestamps_ms,
            values,
            aggregates,
            adf,
            hp,
            acf,
            pacf,
            decomposition,
            forecast,
            missing,
            violations,
        })
    }
}

#[cfg(test)]
mod tests {
    use apache_avro::types::Value;

    use super::*;
    use crate::Codec;

    fn event() -> SeriesAnalysisEvent {
        SeriesAnalysisEvent {
            envelope: Envelope::new(20, 25, "analytics"),
            series_id: SeriesId(0xabc),
            name: "node_filefd_allocated".into(),
            labels: [("instance".to_string(), "a:9100".to_string())].into(),
            analyzed_at_ms: 60_000,
            compute_ms: 2.5,
            window_start_ms: 1_000,
            window_end_ms: 3_000,
            points: 3,
            timestamps_ms: vec![1_000, 2_000, 3_000],
            values: vec![1.0, 2.0, 4.0],
            aggregates: vec![AnalysisWindow {
                window: "1h".into(),
                max: 4.0,
                min: 1.0,
                mean: 7.0 / 3.0,
                std: Some(1.5),
                count: 3,
            }],
            adf: Some(DickeyFuller {
                statistic: -3.1,
                pvalue: 0.02,
                used_lag: 1,
                nobs: 2,
                critical_1pct: -3.9,
                critical_5pct: -2.9,
                critical_10pct: -2.6,
                stationary: true,
                regression: "c".into(),
                autolag: "aic".into(),
            }),
            hp: Some(HodrickPrescott {
                lambda: 1600.0,
                trend: vec![1.1, 2.1, 3.1],
                cycle: vec![-0.1, -0.1, 0.9],
            }),
            acf: None,
            pacf: Some(vec![1.0, 0.5]),
            decomposition: Some(Decomposition {
                model: "additive".into(),
                period: 2,
                trend: vec![f64::NAN, 2.0, f64::NAN],
                seasonal: vec![0.5, -0.5, 0.5],
                resid: vec![f64::NAN, 0.5, f64::NAN],
            }),
            forecast: Some(Forecast {
                model: "arima(1,1,0)".into(),
                level: 0.95,
                fitted_at_ms: 0,
                step_ms: 1_000,
                mean: vec![5.0, 6.0],
                lower: vec![4.0, 4.5],
                upper: vec![6.0, 7.5],
            }),
            missing: [("acf".to_string(), "series too short".to_string())].into(),
            violations: vec![ViolationForecast {
                sla_id: "sla-1".into(),
                min: None,
                max: Some(9.0),
                horizon_ms: 600_000,
                probability: 0.25,
            }],
        }
    }

    /// NaN != NaN: compare through the encoding, which is deterministic.
    fn same(a: &SeriesAnalysisEvent, b: &SeriesAnalysisEvent) -> bool {
        let codec = Codec::<SeriesAnalysisEvent>::new().unwrap();
        codec.encode(a) == codec.encode(b)
    }

    #[test]
    fn round_trips_and_agrees_with_apache_avro() {
        let codec = Codec::<SeriesAnalysisEvent>::new().unwrap();
        let original = event();
        let bytes = codec.encode(&original);
        let decoded = codec.decode(&bytes).unwrap();
        assert!(same(&decoded, &original));
        assert_eq!(decoded.missing, original.missing);
        assert!(decoded.decomposition.unwrap().trend[0].is_nan());
        let reader = apache_avro::reader::datum::GenericDatumReader::builder(codec.schema())
            .build()
            .unwrap();
        let value = reader.read_value(&mut &bytes[10..]).unwrap();
        let Value::Record(fields) = value else { panic!("not a record") };
        let field = |name: &str| fields.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(field("acf"), Value::Union(0, Box::new(Value::Null)));
        let Value::Union(1, forecast) = field("forecast") else {
            panic!("no forecast")
        };
        let Value::Record(forecast) = *forecast else { panic!() };
        assert_eq!(forecast.iter().find(|(n, _)| n == "step_ms").unwrap().1, Value::Long(1_000));
    }

    /// A record written before the violations were added reads as one without them.
    #[test]
    fn reads_v1_records_without_violations() {
        let codec = Codec::<SeriesAnalysisEvent>::new().unwrap();
        let v1 = crate::schema::load(include_str!("../../../schemas/history/metric_analysis.v1.avsc")).unwrap();
        let mut current = event();
        // The v1 body is the v2 body without the trailing empty-array terminator of violations.
        current.violations.clear();
        let mut bytes = codec.encode(&current);
        bytes.pop();
        bytes.splice(2..10, v1.fingerprint.to_le_bytes());
        let decoded = codec.decode(&bytes).unwrap();
        assert!(decoded.violations.is_empty());
        assert!(same(&decoded, &current));
    }

    #[test]
    fn truncated_or_misaligned_records_are_errors() {
        let codec = Codec::<SeriesAnalysisEvent>::new().unwrap();
        let bytes = codec.encode(&event());
        for cut in 0..bytes.len() {
            assert!(codec.decode(&bytes[..cut]).is_err());
        }
        let mut bad = event();
        bad.values.pop();
        assert!(codec.decode(&codec.encode(&bad)).is_err());
    }
}
