//! The paging engine behind every call: reads store pages, keeps the rows a listing selects and
//! hands them on with the token of the position after the page's last row.
//!
//! The first store page is read before the call is answered, so that a bad page token or an
//! unavailable store fails the call at once rather than in the middle of a stream. For streams the
//! rest is read by a task that feeds a bounded channel: a slow client holds the task at `send`,
//! and a client that goes away closes the channel and stops it. Unary calls collect one page in
//! the handler. Filters (label matchers, time ranges the store cannot apply) run here, in Rust:
//! the store pages by its clustering key only. Without filters a client page of `page_size` rows
//! is filled by reading store pages of at most the rows still missing, so the store's token after
//! the last row read is where the next client page starts. With filters the server reads full
//! store pages; when the client's page fills in the middle of one, it asks the store once more for
//! that page cut right after the last row sent, which yields the token of that position.

use std::future::Future;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use vane_store::{MAX_PAGE_LIMIT, Page, Paged, Store, StoreError};

use crate::ApiError;

/// Rows read from the store per page when the client's page is larger (or unlimited).
pub(crate) const STORE_PAGE: u32 = 1_000;

/// Messages buffered between the store reader and the client.
const CHANNEL_CAPACITY: usize = 256;

/// One listing: how to read a store page and which rows to keep.
pub(crate) trait Listing: Send + Sync + 'static {
    type Row: Send + 'static;
    fn fetch(&self, store: &Store, page: &Page) -> impl Future<Output = Result<Paged<Self::Row>, StoreError>> + Send;
    fn selected(&self, row: &Self::Row) -> bool;
    /// Whether `selected` may drop rows, so that store pages the size of the client's would not
    /// fill it.
    fn filtered(&self) -> bool;
}

/// A listing answered as a stream: each row becomes one message, the page's last one carrying
/// the token.
pub(crate) trait Streamed: Listing {
    type Message: Send + 'static;
    fn message(&self, row: Self::Row, next_page_token: String) -> Self::Message;
}

/// Where the client's page stands: its size (0: unlimited), the rows sent so far and the store
/// position to read from next.
pub(crate) struct Pages {
    size: u32,
    sent: u32,
    /// Where the store page being read started.
    after: Option<String>,
    /// Whether filters drop rows, so that store pages the size of the client's would not fill it.
    filtered: bool,
}

impl Pages {
    pub(crate) fn new(size: u32, token: &str, filtered: bool) -> Result<Pages, ApiError> {
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

    /// A unary call's page: `page_size` 0 means the largest page, not everything.
    pub(crate) fn bounded(size: u32, token: &str, filtered: bool) -> Result<Pages, ApiError> {
        let mut pages = Pages::new(size, token, filtered)?;
        if pages.size == 0 {
            pages.size = MAX_PAGE_LIMIT;
        }
        Ok(pages)
    }

    /// The next store page: without filters, never more rows than the client's page still lacks.
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
pub(crate) async fn within<T>(deadline: Option<Instant>, future: impl Future<Output = T>) -> Result<T, ApiError> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, future)
            .await
            .map_err(|_| ApiError::DeadlineExceeded),
        None => Ok(future.await),
    }
}

/// Where the selected rows go: a client's stream or a unary reply.
trait Emit<R> {
    fn emit(&mut self, row: R, next_page_token: String) -> impl Future<Output = Result<(), Stop>> + Send;
}

/// Sends each row as a message on the stream's channel.
struct ToChannel<'a, L: Streamed> {
    listing: &'a L,
    tx: &'a mpsc::Sender<Result<L::Message, Status>>,
    deadline: Option<Instant>,
}

impl<L: Streamed> Emit<L::Row> for ToChannel<'_, L> {
    fn emit(&mut self, row: L::Row, next_page_token: String) -> impl Future<Output = Result<(), Stop>> + Send {
        let message = self.listing.message(row, next_page_token);
        let (tx, deadline) = (self.tx, self.deadline);
        async move { within(deadline, tx.send(Ok(message))).await?.map_err(|_| Stop::ClientGone) }
    }
}

/// Keeps the rows and the token for a unary reply.
struct Collected<R> {
    rows: Vec<R>,
    next_page_token: String,
}

impl<R: Send> Emit<R> for Collected<R> {
    fn emit(&mut self, row: R, next_page_token: String) -> impl Future<Output = Result<(), Stop>> + Send {
        self.rows.push(row);
        self.next_page_token = next_page_token;
        std::future::ready(Ok(()))
    }
}

/// Reads the first page now, the rest in a task, and returns the stream of selected rows.
pub(crate) async fn stream<L: Streamed>(
    store: Store,
    listing: L,
    pages: Pages,
    deadline: Option<Instant>,
) -> Result<ReceiverStream<Result<L::Message, Status>>, ApiError> {
    let first = within(deadline, listing.fetch(&store, &pages.next_store_page())).await??;
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    tokio::spawn(async move {
        let mut out = ToChannel {
            listing: &listing,
            tx: &tx,
            deadline,
        };
        match produce(&store, &listing, pages, first, deadline, &mut out).await {
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

/// Reads one client page of selected rows, and the token of the next page (empty at the end).
pub(crate) async fn collect<L: Listing>(
    store: &Store,
    listing: &L,
    pages: Pages,
    deadline: Option<Instant>,
) -> Result<(Vec<L::Row>, String), ApiError> {
    let first = within(deadline, listing.fetch(store, &pages.next_store_page())).await??;
    let mut out = Collected {
        rows: Vec::new(),
        next_page_token: String::new(),
    };
    match produce(store, listing, pages, first, deadline, &mut out).await {
        Ok(()) => Ok((out.rows, out.next_page_token)),
        Err(Stop::Failed(error)) => Err(error),
        // Collecting never loses its client; the handler's caller is still waiting.
        Err(Stop::ClientGone) => Err(ApiError::DeadlineExceeded),
    }
}

async fn produce<L: Listing, E: Emit<L::Row>>(
    store: &Store,
    listing: &L,
    mut pages: Pages,
    first: Paged<L::Row>,
    deadline: Option<Instant>,
    out: &mut E,
) -> Result<(), Stop> {
    // A row is held back until the next one is found, so that the page's last row, which carries
    // the token, is known when it is emitted.
    let mut held: Option<L::Row> = None;
    let mut batch = first;
    let next_token = 'pages: loop {
        let read = batch.rows.len();
        for (index, row) in batch.rows.into_iter().enumerate() {
            if !listing.selected(&row) {
                continue;
            }
            if let Some(previous) = held.replace(row) {
                out.emit(previous, String::new()).await?;
            }
            pages.sent = pages.sent.saturating_add(1);
            if !pages.full() {
                continue;
            }
            if index + 1 == read {
                break 'pages batch.next.unwrap_or_default();
            }
            // Rows follow in this store page: the token of the position right after this row is
            // the one the store gives for the same page cut after it. (A row created in between,
            // before this one, would make the next page repeat this row once.)
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
        out.emit(last, next_token).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_unary_page_is_never_unlimited() {
        let mut pages = Pages::bounded(0, "", false).unwrap();
        pages.sent = MAX_PAGE_LIMIT;
        assert!(pages.full());
        assert!(Pages::bounded(MAX_PAGE_LIMIT + 1, "", false).is_err());
        assert!(!Pages::bounded(5, "", false).unwrap().full());
    }
}
