//! `vane.v1.MetricsQuery`: validates a request, picks its listing and answers it through the
//! paging engine ([`crate::listing`]): a stream for lists, one page for the unary calls.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use vane_store::{AggregateQuery, AggregateRow, Page, Paged, SeriesQuery, SeriesRow, Store, StoreError};

use crate::ApiError;
use crate::analytics::{
    Analyses, AnalyticsScope, AutocorrelationPart, DecompositionPart, ForecastPart, StationarityPart, TimeRange, TrendCyclePart,
};
use crate::listing::{Listing, Pages, Streamed, collect, stream};
use crate::matcher::Selector;
use crate::pb;

/// The metrics query service over one store.
#[derive(Debug, Clone)]
pub(crate) struct MetricsService {
    store: Store,
}

impl MetricsService {
    pub(crate) fn new(store: Store) -> Self {
        MetricsService { store }
    }
}

#[tonic::async_trait]
impl pb::metrics_query_server::MetricsQuery for MetricsService {
    type ListSeriesStream = ReceiverStream<Result<pb::SeriesInfo, Status>>;
    type ListAggregatesStream = ReceiverStream<Result<pb::Aggregate, Status>>;
    type ListDecompositionStream = ReceiverStream<Result<pb::Decomposition, Status>>;
    type ListTrendCycleStream = ReceiverStream<Result<pb::TrendCycle, Status>>;
    type ListAutocorrelationStream = ReceiverStream<Result<pb::Autocorrelation, Status>>;

    async fn list_series(&self, request: Request<pb::ListSeriesRequest>) -> Result<Response<Self::ListSeriesStream>, Status> {
        let deadline = deadline_of(&request)?;
        let request = request.into_inner();
        let metric = match request.metric.as_str() {
            "" => None,
            name => Some(checked_metric(name)?),
        };
        let listing = SeriesListing {
            query: SeriesQuery { metric },
            selector: crate::matcher::selector_from_pb(&request.matchers)?,
        };
        let pages = Pages::new(request.page_size, &request.page_token, listing.filtered())?;
        Ok(Response::new(stream(self.store.clone(), listing, pages, deadline).await?))
    }

    async fn list_aggregates(&self, request: Request<pb::ListAggregatesRequest>) -> Result<Response<Self::ListAggregatesStream>, Status> {
        let deadline = deadline_of(&request)?;
        let request = request.into_inner();
        let metric = required_metric(&request.metric, "aggregates")?;
        let window = match request.window.as_str() {
            "" => None,
            window => {
                if vane_core::time::parse_duration(window).is_err() {
                    return Err(ApiError::InvalidArgument(format!("window {window:?} is not a duration such as 1h or 30m")).into());
                }
                Some(window.to_string())
            }
        };
        let listing = AggregateListing {
            query: AggregateQuery { metric, window },
            selector: crate::matcher::selector_from_pb(&request.matchers)?,
            as_of: TimeRange::from_pb(request.from_ms, request.to_ms)?,
        };
        let pages = Pages::new(request.page_size, &request.page_token, listing.filtered())?;
        Ok(Response::new(stream(self.store.clone(), listing, pages, deadline).await?))
    }

    async fn get_stationarity(&self, request: Request<pb::AnalyticsRequest>) -> Result<Response<pb::StationarityReply>, Status> {
        let deadline = deadline_of(&request)?;
        let request = request.into_inner();
        let listing = Analyses::<StationarityPart>::by_analysis_time(analytics_scope(&request, "stationarity")?);
        let pages = Pages::bounded(request.page_size, &request.page_token, listing.filtered())?;
        let (rows, next_page_token) = collect(&self.store, &listing, pages, deadline).await?;
        Ok(Response::new(pb::StationarityReply {
            rows: rows.into_iter().map(crate::analytics::stationarity).collect(),
            next_page_token,
        }))
    }

    async fn list_decomposition(&self, request: Request<pb::AnalyticsRequest>) -> Result<Response<Self::ListDecompositionStream>, Status> {
        let deadline = deadline_of(&request)?;
        let request = request.into_inner();
        let listing = Analyses::<DecompositionPart>::latest_with_points(analytics_scope(&request, "decomposition")?);
        self.stream_analyses(listing, &request, deadline).await
    }

    async fn list_trend_cycle(&self, request: Request<pb::AnalyticsRequest>) -> Result<Response<Self::ListTrendCycleStream>, Status> {
        let deadline = deadline_of(&request)?;
        let request = request.into_inner();
        let listing = Analyses::<TrendCyclePart>::latest_with_points(analytics_scope(&request, "trend/cycle")?);
        self.stream_analyses(listing, &request, deadline).await
    }

    async fn list_autocorrelation(
        &self,
        request: Request<pb::AnalyticsRequest>,
    ) -> Result<Response<Self::ListAutocorrelationStream>, Status> {
        let deadline = deadline_of(&request)?;
        let request = request.into_inner();
        let listing = Analyses::<AutocorrelationPart>::by_analysis_time(analytics_scope(&request, "autocorrelation")?);
        self.stream_analyses(listing, &request, deadline).await
    }

    async fn get_forecast(&self, request: Request<pb::AnalyticsRequest>) -> Result<Response<pb::ForecastReply>, Status> {
        let deadline = deadline_of(&request)?;
        let request = request.into_inner();
        let listing = Analyses::<ForecastPart>::by_analysis_time(analytics_scope(&request, "forecasts")?);
        let pages = Pages::bounded(request.page_size, &request.page_token, listing.filtered())?;
        let (rows, next_page_token) = collect(&self.store, &listing, pages, deadline).await?;
        Ok(Response::new(pb::ForecastReply {
            rows: rows.into_iter().map(crate::analytics::forecast).collect(),
            next_page_token,
        }))
    }
}

impl MetricsService {
    async fn stream_analyses<L: Streamed>(
        &self,
        listing: L,
        request: &pb::AnalyticsRequest,
        deadline: Option<Instant>,
    ) -> Result<Response<ReceiverStream<Result<L::Message, Status>>>, Status> {
        let pages = Pages::new(request.page_size, &request.page_token, listing.filtered())?;
        Ok(Response::new(stream(self.store.clone(), listing, pages, deadline).await?))
    }
}

/// Validates what every analytics call shares: the metric, the matchers and the time range.
fn analytics_scope(request: &pb::AnalyticsRequest, what: &str) -> Result<AnalyticsScope, ApiError> {
    Ok(AnalyticsScope {
        metric: required_metric(&request.metric, what)?,
        selector: crate::matcher::selector_from_pb(&request.matchers)?,
        range: TimeRange::from_pb(request.from_ms, request.to_ms)?,
    })
}

fn required_metric(name: &str, what: &str) -> Result<String, ApiError> {
    if name.is_empty() {
        return Err(ApiError::InvalidArgument(format!(
            "metric is required: name the metric whose {what} to list"
        )));
    }
    checked_metric(name)
}

fn checked_metric(name: &str) -> Result<String, ApiError> {
    if !vane_core::sample::is_metric_name(name) {
        return Err(ApiError::InvalidArgument(format!(
            "metric {name:?} is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)"
        )));
    }
    Ok(name.to_string())
}

/// The deadline the client set with `grpc-timeout`, if any.
pub(crate) fn deadline_of<T>(request: &Request<T>) -> Result<Option<Instant>, ApiError> {
    let Some(value) = request.metadata().get("grpc-timeout") else {
        return Ok(None);
    };
    let timeout = value
        .to_str()
        .ok()
        .and_then(parse_grpc_timeout)
        .ok_or_else(|| ApiError::InvalidArgument(format!("malformed grpc-timeout header {value:?}")))?;
    Ok(Instant::now().checked_add(timeout))
}

/// Parses gRPC's `TimeoutValue TimeoutUnit`: at most 8 digits, then H, M, S, m, u or n.
pub(crate) fn parse_grpc_timeout(text: &str) -> Option<Duration> {
    let unit = text.chars().last()?;
    let digits = text.get(..text.len().checked_sub(unit.len_utf8())?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        'H' => Duration::from_secs(amount.checked_mul(3600)?),
        'M' => Duration::from_secs(amount.checked_mul(60)?),
        'S' => Duration::from_secs(amount),
        'm' => Duration::from_millis(amount),
        'u' => Duration::from_micros(amount),
        'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

struct SeriesListing {
    query: SeriesQuery,
    selector: Selector,
}

impl Listing for SeriesListing {
    type Row = SeriesRow;

    fn fetch(&self, store: &Store, page: &Page) -> impl Future<Output = Result<Paged<SeriesRow>, StoreError>> + Send {
        store.list_series(&self.query, page)
    }

    fn selected(&self, row: &SeriesRow) -> bool {
        self.selector.matches(&row.metric, &row.labels)
    }

    fn filtered(&self) -> bool {
        !self.selector.is_empty()
    }
}

impl Streamed for SeriesListing {
    type Message = pb::SeriesInfo;

    fn message(&self, row: SeriesRow, next_page_token: String) -> pb::SeriesInfo {
        pb::SeriesInfo {
            series_id: row.series_id,
            metric: row.metric,
            labels: row.labels,
            first_seen_ms: row.first_seen_ms,
            last_seen_ms: row.last_seen_ms,
            next_page_token,
        }
    }
}

struct AggregateListing {
    query: AggregateQuery,
    selector: Selector,
    /// Keeps the rows whose `as_of_ms` is in it: the store has no time key for aggregates.
    as_of: TimeRange,
}

impl Listing for AggregateListing {
    type Row = AggregateRow;

    fn fetch(&self, store: &Store, page: &Page) -> impl Future<Output = Result<Paged<AggregateRow>, StoreError>> + Send {
        store.list_aggregates(&self.query, page)
    }

    fn selected(&self, row: &AggregateRow) -> bool {
        self.as_of.contains(row.as_of_ms) && self.selector.matches(&row.metric, &row.labels)
    }

    fn filtered(&self) -> bool {
        !self.selector.is_empty() || !self.as_of.is_unbounded()
    }
}

impl Streamed for AggregateListing {
    type Message = pb::Aggregate;

    fn message(&self, row: AggregateRow, next_page_token: String) -> pb::Aggregate {
        pb::Aggregate {
            series_id: row.series_id,
            metric: row.metric,
            labels: row.labels,
            window: row.window,
            max: row.max,
            min: row.min,
            mean: row.mean,
            std: row.std,
            count: row.count,
            first_ms: row.first_ms,
            last_ms: row.last_ms,
            as_of_ms: row.as_of_ms,
            next_page_token,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grpc_timeouts() {
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_grpc_timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("99999999u"), Some(Duration::from_micros(99_999_999)));
        assert_eq!(parse_grpc_timeout("7n"), Some(Duration::from_nanos(7)));
        for bad in ["", "S", "5", "5s", "123456789S", "-1S", "1.5S", "5é"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad}");
        }
    }
}
