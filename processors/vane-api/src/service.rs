//! `vane.v1.MetricsQuery`: validates a request, then streams the selected rows page by page.
//!
//! The first store page is read before the call is answered, so that a bad page token or an
//! unavailable store fails the call at once rather than in the middle of a stream. The rest is
//! read by a task that feeds a bounded channel: a slow client holds the task at `send`, and a
//! client that goes away closes the channel and stops it. Label matchers run here, in Rust: the
//! store pages by its clustering key only. Without matchers a client page of `page_size` rows is
//! filled by reading store pages of at most the rows still missing, so the store's token after
//! the last row read is where the next client page starts. With matchers the server reads full
//! store pages; when the client's page fills in the middle of one, it asks the store once more for
//! that page cut right after the last row sent, which yields the token of that position.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use vane_store::{AggregateQuery, AggregateRow, MAX_PAGE_LIMIT, Page, Paged, SeriesQuery, SeriesRow, Store, StoreError};

use crate::ApiError;
use crate::matcher::Selector;
use crate::pb;

/// Rows read from the store per page when the client's page is larger (or unlimited).
const STORE_PAGE: u32 = 1_000;

/// Messages buffered between the store reader and the client.
const CHANNEL_CAPACITY: usize = 256;

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

    async fn list_series(&self, request: Request<pb::ListSeriesRequest>) -> Result<Response<Self::ListSeriesStream>, Status> {
        let deadline = deadline_of(&request)?;
        let request = request.into_inner();
        let metric = match request.metric.as_str() {
            "" => None,
            name => Some(checked_metric(name)?),
        };
        let listing = SeriesListing {
            query: SeriesQuery { metric },
            selector: Selector::from_pb(&request.matchers)?,
        };
        let pages = Pages::new(request.page_size, &request.page_token, !listing.selector.is_empty())?;
        Ok(Response::new(stream(self.store.clone(), listing, pages, deadline).await?))
    }

    async fn list_aggregates(&self, request: Request<pb::ListAggregatesRequest>) -> Result<Response<Self::ListAggregatesStream>, Status> {
        let deadline = deadline_of(&request)?;
        let request = request.into_inner();
        if request.metric.is_empty() {
            return Err(ApiError::InvalidArgument("metric is required: name the metric whose aggregates to list".into()).into());
        }
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
            query: AggregateQuery {
                metric: checked_metric(&request.metric)?,
                window,
            },
            selector: Selector::from_pb(&request.matchers)?,
        };
        let pages = Pages::new(request.page_size, &request.page_token, !listing.selector.is_empty())?;
        Ok(Response::new(stream(self.store.clone(), listing, pages, deadline).await?))
    }
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
fn deadline_of<T>(request: &Request<T>) -> Result<Option<Instant>, ApiError> {
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

/// One of the two listings: how to read a store page, which rows to keep, how to send a row.
trait Listing: Send + Sync + 'static {
    type Row: Send + 'static;
    type Message: Send + 'static;
    fn fetch(&self, store: &Store, page: &Page) -> impl Future<Output = Result<Paged<Self::Row>, StoreError>> + Send;
    fn selected(&self, row: &Self::Row) -> bool;
    fn message(row: Self::Row, next_page_token: String) -> Self::Message;
}

struct SeriesListing {
    query: SeriesQuery,
    selector: Selector,
}

impl Listing for SeriesListing {
    type Row = SeriesRow;
    type Message = pb::SeriesInfo;

    fn fetch(&self, store: &Store, page: &Page) -> impl Future<Output = Result<Paged<SeriesRow>, StoreError>> + Send {
        store.list_series(&self.query, page)
    }

    fn selected(&self, row: &SeriesRow) -> bool {
        self.selector.matches(&row.metric, &row.labels)
    }

    fn message(row: SeriesRow, next_page_token: String) -> pb::SeriesInfo {
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
}

impl Listing for AggregateListing {
    type Row = AggregateRow;
    type Message = pb::Aggregate;

    fn fetch(&self, store: &Store, page: &Page) -> impl Future<Output = Result<Paged<AggregateRow>, StoreError>> + Send {
        store.list_aggregates(&self.query, page)
    }

    fn selected(&self, row: &AggregateRow) -> bool {
        self.selector.matches(&row.metric, &row.labels)
    }

    fn message(row: AggregateRow, next_page_token: String) -> pb::Aggregate {
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

/// Where the client's page stands: its size (0: unlimited), the rows sent so far and the store
/// position to read from next.
struct Pages {
    size: u32,
    sent: u32,
    /// Where the store page being read started.
    after: Option<String>,
    /// Whether matchers drop rows, so that store pages the size of the client's would not fill it.
    filtered: bool,
}

impl Pages {
    fn new(size: u32, token: &str, filtered: bool) -> Result<Pages, ApiError> {
        if size > MAX_PAGE_LIMIT {
            return Err(ApiError::InvalidArgument(format!(
                "page_size {size} is too large: at most {MAX_PAGE_LIMIT}, or 0 for everything in one stream"
            )));
        }
        let after = (!token.is_empty()).then(|| token.to_string());
        Ok(Pages {
            size,
            sent: 0,
            after,
            filtered,
        })
    }

    /// The next store page: without matchers, never more rows than the client's page still lacks.
    fn next_store_page(&self) -> Page {
        let limit = match self.size {
            0 => STORE_PAGE,
            _ if self.filtered => STORE_PAGE,
            size => size.saturating_sub(self.sent).clamp(1, STORE_PAGE),
        };
        Page {
            limit,
            after: self.after.clone(),
        }
    }

    fn full(&self) -> bool {
        self.size != 0 && self.sent >= self.size
    }
}

/// Why the reader stopped early.
enum Stop {
    /// The client went away: nobody to tell.
    ClientGone,
    Failed(ApiError),
}

impl From<ApiError> for Stop {
    fn from(error: ApiError) -> Self {
        Stop::Failed(error)
    }
}

impl From<StoreError> for Stop {
    fn from(error: StoreError) -> Self {
        Stop::Failed(error.into())
    }
}

/// Awaits `future`, but not past the deadline.
async fn within<T>(deadline: Option<Instant>, future: impl Future<Output = T>) -> Result<T, ApiError> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, future)
            .await
            .map_err(|_| ApiError::DeadlineExceeded),
        None => Ok(future.await),
    }
}

/// Reads the first page now, the rest in a task, and returns the stream of selected rows.
async fn stream<L: Listing>(
    store: Store,
    listing: L,
    pages: Pages,
    deadline: Option<Instant>,
) -> Result<ReceiverStream<Result<L::Message, Status>>, ApiError> {
    let first = within(deadline, listing.fetch(&store, &pages.next_store_page())).await??;
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    tokio::spawn(async move {
        match produce(&store, &listing, pages, first, deadline, &tx).await {
            Ok(()) | Err(Stop::ClientGone) => {}
            Err(Stop::Failed(ApiError::DeadlineExceeded)) => {
                // The client has given up by now; tell it only if there is room.
                let _ = tx.try_send(Err(ApiError::DeadlineExceeded.into()));
            }
            Err(Stop::Failed(error)) => {
                let _ = within(deadline, tx.send(Err(error.into()))).await;
            }
        }
    });
    Ok(ReceiverStream::new(rx))
}

async fn produce<L: Listing>(
    store: &Store,
    listing: &L,
    mut pages: Pages,
    first: Paged<L::Row>,
    deadline: Option<Instant>,
    tx: &mpsc::Sender<Result<L::Message, Status>>,
) -> Result<(), Stop> {
    // A row is held back until the next one is found, so that the page's last message, which
    // carries the token, is known when it is sent.
    let mut held: Option<L::Row> = None;
    let mut batch = first;
    let next_token = 'pages: loop {
        let read = batch.rows.len();
        for (index, row) in batch.rows.into_iter().enumerate() {
            if !listing.selected(&row) {
                continue;
            }
            if let Some(previous) = held.replace(row) {
                send(tx, L::message(previous, String::new()), deadline).await?;
            }
            pages.sent = pages.sent.saturating_add(1);
            if !pages.full() {
                continue;
            }
            if index + 1 == read {
                break 'pages batch.next.unwrap_or_default();
            }
            // Rows follow in this store page: the token of the position right after this row is
            // the one the store gives for the same page cut after it. (A series created in
            // between, before this row, would make the next page repeat this row once.)
            let cut = Page {
                limit: u32::try_from(index + 1).unwrap_or(STORE_PAGE),
                after: pages.after.clone(),
            };
            let cut = within(deadline, listing.fetch(store, &cut)).await??;
            break 'pages cut.next.unwrap_or_default();
        }
        match batch.next {
            None => break String::new(),
            Some(token) => {
                pages.after = Some(token);
                batch = within(deadline, listing.fetch(store, &pages.next_store_page())).await??;
            }
        }
    };
    if let Some(last) = held {
        send(tx, L::message(last, next_token), deadline).await?;
    }
    Ok(())
}

async fn send<M>(tx: &mpsc::Sender<Result<M, Status>>, message: M, deadline: Option<Instant>) -> Result<(), Stop> {
    within(deadline, tx.send(Ok(message))).await?.map_err(|_| Stop::ClientGone)
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

    #[test]
    fn store_pages_never_overshoot_the_clients_page() {
        let mut pages = Pages::new(2_500, "", false).unwrap();
        assert_eq!(pages.next_store_page().limit, STORE_PAGE);
        pages.sent = 2_000;
        assert_eq!(pages.next_store_page().limit, 500);
        pages.sent = 2_500;
        assert!(pages.full());
        let mut filtered = Pages::new(10, "", true).unwrap();
        filtered.sent = 9;
        assert_eq!(filtered.next_store_page().limit, STORE_PAGE, "matchers may drop most rows");
        let unlimited = Pages::new(0, "tok", false).unwrap();
        assert_eq!(unlimited.next_store_page(), Page::after(STORE_PAGE, "tok"));
        assert!(!unlimited.full());
        assert!(Pages::new(MAX_PAGE_LIMIT + 1, "", false).is_err());
    }
}
