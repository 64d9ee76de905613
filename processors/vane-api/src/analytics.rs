//! The analytics listings: which analyses a request reads, and how an [`AnalysisRow`] becomes
//! each call's message.
//!
//! Every row is answered, also when the part asked for is absent from the analysis: its `missing`
//! field then carries the reason the analytics worker recorded (`detail.missing`), or "not
//! computed" when it recorded none, and its data is empty. Pure apart from the store read.

use std::future::Future;
use std::marker::PhantomData;

use vane_store::{AnalysisDetail, AnalysisPoint, AnalysisQuery, AnalysisRow, Page, Paged, Store, StoreError};

use crate::ApiError;
use crate::listing::{Listing, Streamed};
use crate::matcher::Selector;
use crate::pb;

/// The reason given when a part is absent and the analysis recorded no reason.
const NOT_COMPUTED: &str = "not computed";

/// An inclusive time range in Unix milliseconds; `None`: unbounded on that side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimeRange {
    pub(crate) from: Option<i64>,
    pub(crate) to: Option<i64>,
}

impl TimeRange {
    /// The wire form: 0 is unbounded; negative times and `from_ms > to_ms` are refused.
    pub(crate) fn from_pb(from_ms: i64, to_ms: i64) -> Result<TimeRange, ApiError> {
        if from_ms < 0 || to_ms < 0 {
            return Err(ApiError::InvalidArgument(format!(
                "from_ms {from_ms} / to_ms {to_ms}: times are Unix milliseconds, 0 for unbounded, never negative"
            )));
        }
        let bound = |ms: i64| (ms != 0).then_some(ms);
        let range = TimeRange {
            from: bound(from_ms),
            to: bound(to_ms),
        };
        if let (Some(from), Some(to)) = (range.from, range.to)
            && from > to
        {
            return Err(ApiError::InvalidArgument(format!(
                "from_ms {from} is after to_ms {to}: the range would be empty"
            )));
        }
        Ok(range)
    }

    pub(crate) fn is_unbounded(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    pub(crate) fn contains(&self, ms: i64) -> bool {
        self.from.is_none_or(|from| ms >= from) && self.to.is_none_or(|to| ms <= to)
    }
}

/// The validated parts of an `AnalyticsRequest`, before the call picks its listing.
pub(crate) struct AnalyticsScope {
    pub(crate) metric: String,
    pub(crate) selector: Selector,
    pub(crate) range: TimeRange,
}

/// Which analyses a call reads: the analysis-time range goes to the store, the matchers run
/// here, and a point-time range trims the points of decomposition and trend/cycle.
pub(crate) struct Analyses<P> {
    query: AnalysisQuery,
    selector: Selector,
    points: TimeRange,
    part: PhantomData<fn() -> P>,
}

impl<P> Analyses<P> {
    /// Analyses that ran in the range, or the latest of each series without one; no points.
    pub(crate) fn by_analysis_time(scope: AnalyticsScope) -> Analyses<P> {
        Analyses {
            query: AnalysisQuery {
                metric: scope.metric,
                from_ms: scope.range.from,
                to_ms: scope.range.to,
                with_points: false,
            },
            selector: scope.selector,
            points: TimeRange::default(),
            part: PhantomData,
        }
    }

    /// The latest analysis of each series with its points in the range.
    pub(crate) fn latest_with_points(scope: AnalyticsScope) -> Analyses<P> {
        Analyses {
            query: AnalysisQuery {
                metric: scope.metric,
                from_ms: None,
                to_ms: None,
                with_points: true,
            },
            selector: scope.selector,
            points: scope.range,
            part: PhantomData,
        }
    }
}

impl<P: 'static> Listing for Analyses<P> {
    type Row = AnalysisRow;

    fn fetch(&self, store: &Store, page: &Page) -> impl Future<Output = Result<Paged<AnalysisRow>, StoreError>> + Send {
        store.list_analyses(&self.query, page)
    }

    fn selected(&self, row: &AnalysisRow) -> bool {
        self.selector.matches(&row.metric, &row.labels)
    }

    fn filtered(&self) -> bool {
        !self.selector.is_empty()
    }
}

/// Marks the listings by the part they answer.
pub(crate) enum StationarityPart {}
pub(crate) enum DecompositionPart {}
pub(crate) enum TrendCyclePart {}
pub(crate) enum AutocorrelationPart {}
pub(crate) enum ForecastPart {}

/// Why `part` is absent from the analysis.
fn reason(detail: &AnalysisDetail, part: &str) -> String {
    detail.missing.get(part).map_or_else(|| NOT_COMPUTED.to_string(), Clone::clone)
}

pub(crate) fn stationarity(row: AnalysisRow) -> pb::Stationarity {
    let mut message = pb::Stationarity {
        series_id: row.series_id,
        metric: row.metric,
        labels: row.labels,
        analyzed_at_ms: row.analyzed_at_ms,
        window_start_ms: row.window_start_ms,
        window_end_ms: row.window_end_ms,
        points_count: row.points_count,
        ..Default::default()
    };
    let Some(adf) = row.detail.stationarity else {
        message.missing = reason(&row.detail, "adf");
        return message;
    };
    message.statistic = adf.statistic;
    message.pvalue = adf.pvalue;
    message.used_lag = adf.used_lag;
    message.nobs = adf.nobs;
    message.critical_1pct = adf.critical_1pct;
    message.critical_5pct = adf.critical_5pct;
    message.critical_10pct = adf.critical_10pct;
    message.stationary = adf.stationary;
    message.regression = adf.regression;
    message.autolag = adf.autolag;
    message
}

pub(crate) fn forecast(row: AnalysisRow) -> pb::Forecast {
    let mut message = pb::Forecast {
        series_id: row.series_id,
        metric: row.metric,
        labels: row.labels,
        analyzed_at_ms: row.analyzed_at_ms,
        ..Default::default()
    };
    let Some(forecast) = row.detail.forecast else {
        message.missing = reason(&row.detail, "forecast");
        return message;
    };
    message.model = forecast.model;
    message.level = forecast.level;
    message.fitted_at_ms = forecast.fitted_at_ms;
    message.points = forecast
        .steps
        .iter()
        .map(|step| pb::ForecastPoint {
            time_ms: step.time_ms,
            mean: step.mean,
            lower: step.lower,
            upper: step.upper,
        })
        .collect();
    message
}

impl Streamed for Analyses<DecompositionPart> {
    type Message = pb::Decomposition;

    fn message(&self, row: AnalysisRow, next_page_token: String) -> pb::Decomposition {
        let present = row.detail.period.is_some() || row.detail.decomposition_model.is_some();
        let missing = if present {
            String::new()
        } else {
            reason(&row.detail, "decomposition")
        };
        let mut points = Vec::new();
        for point in self.points_in_range(&row.points) {
            points.push(pb::DecompositionPoint {
                time_ms: point.time_ms,
                observed: point.value,
                trend: point.trend,
                seasonal: point.seasonal,
                resid: point.resid,
            });
        }
        pb::Decomposition {
            series_id: row.series_id,
            metric: row.metric,
            labels: row.labels,
            analyzed_at_ms: row.analyzed_at_ms,
            period: row.detail.period.unwrap_or_default(),
            model: row.detail.decomposition_model.unwrap_or_default(),
            points,
            missing,
            next_page_token,
        }
    }
}

impl Streamed for Analyses<TrendCyclePart> {
    type Message = pb::TrendCycle;

    fn message(&self, row: AnalysisRow, next_page_token: String) -> pb::TrendCycle {
        let mut message = pb::TrendCycle {
            series_id: row.series_id,
            metric: row.metric,
            labels: row.labels,
            analyzed_at_ms: row.analyzed_at_ms,
            next_page_token,
            ..Default::default()
        };
        let Some(lambda) = row.detail.hp_lambda else {
            message.missing = reason(&row.detail, "hp");
            return message;
        };
        message.lambda = lambda;
        for point in self.points_in_range(&row.points) {
            // The filter defines both components on every point; a point without them says
            // nothing about the trend.
            if let (Some(trend), Some(cycle)) = (point.hp_trend, point.hp_cycle) {
                message.points.push(pb::TrendCyclePoint {
                    time_ms: point.time_ms,
                    observed: point.value,
                    trend,
                    cycle,
                });
            }
        }
        message
    }
}

impl Streamed for Analyses<AutocorrelationPart> {
    type Message = pb::Autocorrelation;

    fn message(&self, mut row: AnalysisRow, next_page_token: String) -> pb::Autocorrelation {
        let mut message = pb::Autocorrelation {
            series_id: row.series_id,
            metric: row.metric,
            labels: row.labels,
            analyzed_at_ms: row.analyzed_at_ms,
            next_page_token,
            ..Default::default()
        };
        let Some(autocorrelation) = row.detail.autocorrelation.take() else {
            message.missing = reason(&row.detail, "acf");
            return message;
        };
        if autocorrelation.pacf.is_empty() {
            message.missing = reason(&row.detail, "pacf");
        }
        message.acf = autocorrelation.acf;
        message.confint_lower = autocorrelation.confint_lower;
        message.confint_upper = autocorrelation.confint_upper;
        message.pacf = autocorrelation.pacf;
        message
    }
}

impl<P> Analyses<P> {
    fn points_in_range<'a>(&self, points: &'a [AnalysisPoint]) -> impl Iterator<Item = &'a AnalysisPoint> + use<'a, P> {
        let range = self.points;
        points.iter().filter(move |point| range.contains(point.time_ms))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use vane_store::{Autocorrelation, Stationarity};

    use super::*;

    fn row(detail: AnalysisDetail, points: Vec<AnalysisPoint>) -> AnalysisRow {
        AnalysisRow {
            series_id: "00000000000000ab".into(),
            metric: "m".into(),
            labels: BTreeMap::new(),
            analyzed_at_ms: 5_000,
            window_start_ms: 1_000,
            window_end_ms: 3_000,
            points_count: 3,
            compute_ms: 1.0,
            detail,
            points,
        }
    }

    fn point(time_ms: i64, hp: bool) -> AnalysisPoint {
        AnalysisPoint {
            time_ms,
            value: 1.0,
            hp_trend: hp.then_some(0.75),
            hp_cycle: hp.then_some(0.25),
            trend: None,
            seasonal: Some(0.5),
            resid: None,
        }
    }

    fn scope(from_ms: i64, to_ms: i64) -> AnalyticsScope {
        AnalyticsScope {
            metric: "m".into(),
            selector: Selector::default(),
            range: TimeRange::from_pb(from_ms, to_ms).unwrap(),
        }
    }

    #[test]
    fn time_ranges_are_inclusive_and_zero_is_unbounded() {
        let range = TimeRange::from_pb(10, 20).unwrap();
        assert!(range.contains(10) && range.contains(20) && !range.contains(21) && !range.contains(9));
        assert!(TimeRange::from_pb(0, 0).unwrap().is_unbounded());
        assert!(TimeRange::from_pb(0, 5).unwrap().contains(-1_000));
        assert!(TimeRange::from_pb(20, 10).is_err());
        assert!(TimeRange::from_pb(-1, 0).is_err());
    }

    #[test]
    fn a_point_range_picks_the_latest_analysis_and_trims_its_points() {
        let listing = Analyses::<TrendCyclePart>::latest_with_points(scope(2_000, 3_000));
        assert!(listing.query.latest_only() && listing.query.with_points);
        let detail = AnalysisDetail {
            hp_lambda: Some(1600.0),
            ..Default::default()
        };
        let points = vec![point(1_000, true), point(2_000, true), point(3_000, false)];
        let message = listing.message(row(detail, points), "tok".into());
        assert_eq!(message.lambda, 1600.0);
        let times: Vec<i64> = message.points.iter().map(|p| p.time_ms).collect();
        assert_eq!(times, vec![2_000], "out of range, or without components");
        assert_eq!(message.next_page_token, "tok");
        assert!(message.missing.is_empty());
    }

    #[test]
    fn an_analysis_time_range_goes_to_the_store() {
        let listing = Analyses::<ForecastPart>::by_analysis_time(scope(0, 9));
        assert_eq!((listing.query.from_ms, listing.query.to_ms), (None, Some(9)));
        assert!(!listing.query.with_points);
    }

    #[test]
    fn absent_parts_say_why() {
        let mut detail = AnalysisDetail::default();
        detail.missing.insert("adf".into(), "too few points".into());
        let message = stationarity(row(detail.clone(), vec![]));
        assert_eq!(message.missing, "too few points");
        assert_eq!(message.points_count, 3);
        assert_eq!(forecast(row(detail.clone(), vec![])).missing, NOT_COMPUTED);
        let decomposition = Analyses::<DecompositionPart>::latest_with_points(scope(0, 0));
        let message = decomposition.message(row(detail.clone(), vec![point(1_000, false)]), String::new());
        assert_eq!(message.missing, NOT_COMPUTED);
        assert_eq!(message.points.len(), 1, "the observed values stay");

        detail.missing.insert("pacf".into(), "singular matrix".into());
        detail.autocorrelation = Some(Autocorrelation {
            acf: vec![1.0, 0.5],
            confint_lower: vec![1.0, 0.1],
            confint_upper: vec![1.0, 0.9],
            pacf: vec![],
        });
        detail.stationarity = Some(Stationarity {
            statistic: -3.5,
            pvalue: 0.01,
            used_lag: 2,
            nobs: 40,
            critical_1pct: -3.6,
            critical_5pct: -2.9,
            critical_10pct: -2.6,
            stationary: true,
            regression: "c".into(),
            autolag: "aic".into(),
        });
        let listing = Analyses::<AutocorrelationPart>::by_analysis_time(scope(0, 0));
        let message = listing.message(row(detail.clone(), vec![]), String::new());
        assert_eq!(message.missing, "singular matrix");
        assert_eq!(message.acf, vec![1.0, 0.5]);
        let message = stationarity(row(detail, vec![]));
        assert!(message.missing.is_empty());
        assert_eq!((message.statistic, message.nobs, message.regression.as_str()), (-3.5, 40, "c"));
    }
}
