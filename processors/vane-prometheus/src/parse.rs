//! Prometheus' HTTP API answer to a range-vector instant query: `{"status": "success", "data":
//! {"resultType": "matrix", "result": [{"metric": {...}, "values": [[<unix s>, "<value>"], ...]}]}}`.
//! Pure.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::PullerError;

/// One series of the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSeries {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// (Unix milliseconds, value); staleness markers never appear in query answers.
    pub samples: Vec<(i64, f64)>,
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

/// Parses a matrix answer.
pub fn matrix(body: &[u8]) -> Result<Vec<RawSeries>, PullerError> {
    let answer: Answer = serde_json::from_slice(body).map_err(|e| PullerError::Parse(e.to_string()))?;
    if answer.status != "success" {
        return Err(PullerError::Parse(
            answer.error.unwrap_or_else(|| format!("status {}", answer.status)),
        ));
    }
    let data = answer.data.ok_or_else(|| PullerError::Parse("no data".into()))?;
    if data.result_type != "matrix" {
        return Err(PullerError::Parse(format!("expected a matrix, got {}", data.result_type)));
    }
    let mut out = Vec::with_capacity(data.result.len());
    for mut entry in data.result {
        let Some(name) = entry.metric.remove("__name__") else {
            return Err(PullerError::Parse(
                "a series without __name__: use a selector that keeps the metric name".into(),
            ));
        };
        let mut samples = Vec::with_capacity(entry.values.len());
        for (seconds, text) in entry.values {
            let value: f64 = text
                .parse()
                .map_err(|_| PullerError::Parse(format!("value {text:?} is not a number")))?;
            samples.push(((seconds * 1000.0).round() as i64, value));
        }
        out.push(RawSeries {
            name,
            labels: entry.metric,
            samples,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_matrix() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"up","job":"node"},"values":[[1700000000.123,"1"],[1700000015.123,"0"]]}]}}"#;
        let series = matrix(body).unwrap();
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].name, "up");
        assert_eq!(series[0].labels.get("job").map(String::as_str), Some("node"));
        assert_eq!(series[0].samples, vec![(1_700_000_000_123, 1.0), (1_700_000_015_123, 0.0)]);
    }

    #[test]
    fn errors_are_explained() {
        let error = matrix(br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#).unwrap_err();
        assert!(error.to_string().contains("parse error"));
        assert!(matrix(br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#).is_err());
        assert!(matrix(b"<html>").is_err());
        let nameless = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[]}]}}"#;
        assert!(matrix(nameless).unwrap_err().to_string().contains("__name__"));
    }
}
