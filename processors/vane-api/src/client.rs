//! Thin clients over the generated ones ([`Client`] for the metrics queries, [`SlaClient`] for
//! the SLA manager): connect with a clear error when nothing listens, and read whole listings page
//! by page, each page one call with its own deadline.

use std::time::Duration;

use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Streaming};

use crate::ApiError;
use crate::pb;
use crate::pb::metrics_query_client::MetricsQueryClient;
use crate::pb::sla_client::SlaClient as GeneratedSlaClient;

/// Rows per call when a client reads a whole listing.
const CLIENT_PAGE: u32 = 1_000;

/// How long one call (one page) may take.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(30);

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest message the client accepts: a page of 1,000 forecasts or one series' decomposition
/// over a long window can pass tonic's default of 4 MiB.
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// The default address of the API, as `vane up` binds it.
pub const DEFAULT_GRPC_ADDR: &str = "127.0.0.1:50051";

/// A connected metrics query client.
#[derive(Debug, Clone)]
pub struct Client {
    inner: MetricsQueryClient<Channel>,
}

/// `host:port` or a URL: `http://` is added when no scheme is given.
pub fn endpoint_uri(addr: &str) -> String {
    let addr = addr.trim();
    if addr.contains("://") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    }
}

/// A channel to the API at `addr` (`host:port`, with or without `http://`).
pub(crate) async fn connect_channel(addr: &str) -> Result<Channel, ApiError> {
    let uri = endpoint_uri(addr);
    let endpoint = Endpoint::from_shared(uri.clone()).map_err(|error| ApiError::BadAddress {
        addr: addr.to_string(),
        reason: error.to_string(),
    })?;
    endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(|source| ApiError::Unreachable {
            addr: uri,
            cause: crate::error::root_cause(&source),
            source,
        })
}

impl Client {
    /// Connects to the API at `addr` (`host:port`, with or without `http://`).
    pub async fn connect(addr: &str) -> Result<Client, ApiError> {
        let channel = connect_channel(addr).await?;
        Ok(Client {
            inner: MetricsQueryClient::new(channel).max_decoding_message_size(MAX_MESSAGE_BYTES),
        })
    }

    /// Every series that the request selects, however many pages that takes.
    pub async fn all_series(&mut self, mut request: pb::ListSeriesRequest) -> Result<Vec<pb::SeriesInfo>, ApiError> {
        request.page_size = CLIENT_PAGE;
        let mut rows = Vec::new();
        loop {
            let stream = self.inner.list_series(call(&request)).await?.into_inner();
            match drain(stream, &mut rows, |row| &row.next_page_token).await? {
                Some(next) => request.page_token = next,
                None => return Ok(rows),
            }
        }
    }

    /// Every aggregate row that the request selects, however many pages that takes.
    pub async fn all_aggregates(&mut self, mut request: pb::ListAggregatesRequest) -> Result<Vec<pb::Aggregate>, ApiError> {
        request.page_size = CLIENT_PAGE;
        let mut rows = Vec::new();
        loop {
            let stream = self.inner.list_aggregates(call(&request)).await?.into_inner();
            match drain(stream, &mut rows, |row| &row.next_page_token).await? {
                Some(next) => request.page_token = next,
                None => return Ok(rows),
            }
        }
    }

    /// Every stationarity row that the request selects, however many pages that takes.
    pub async fn all_stationarity(&mut self, mut request: pb::AnalyticsRequest) -> Result<Vec<pb::Stationarity>, ApiError> {
        request.page_size = CLIENT_PAGE;
        let mut rows = Vec::new();
        loop {
            let reply = self.inner.get_stationarity(call(&request)).await?.into_inner();
            rows.extend(reply.rows);
            if reply.next_page_token.is_empty() {
                return Ok(rows);
            }
            request.page_token = reply.next_page_token;
        }
    }

    /// Every series' decomposition that the request selects, however many pages that takes.
    pub async fn all_decomposition(&mut self, mut request: pb::AnalyticsRequest) -> Result<Vec<pb::Decomposition>, ApiError> {
        request.page_size = CLIENT_PAGE;
        let mut rows = Vec::new();
        loop {
            let stream = self.inner.list_decomposition(call(&request)).await?.into_inner();
            match drain(stream, &mut rows, |row| &row.next_page_token).await? {
                Some(next) => request.page_token = next,
                None => return Ok(rows),
            }
        }
    }

    /// Every series' trend and cycle that the request selects, however many pages that takes.
    pub async fn all_trend_cycle(&mut self, mut request: pb::AnalyticsRequest) -> Result<Vec<pb::TrendCycle>, ApiError> {
        request.page_size = CLIENT_PAGE;
        let mut rows = Vec::new();
        loop {
            let stream = self.inner.list_trend_cycle(call(&request)).await?.into_inner();
            match drain(stream, &mut rows, |row| &row.next_page_token).await? {
                Some(next) => request.page_token = next,
                None => return Ok(rows),
            }
        }
    }

    /// Every autocorrelation row that the request selects, however many pages that takes.
    pub async fn all_autocorrelation(&mut self, mut request: pb::AnalyticsRequest) -> Result<Vec<pb::Autocorrelation>, ApiError> {
        request.page_size = CLIENT_PAGE;
        let mut rows = Vec::new();
        loop {
            let stream = self.inner.list_autocorrelation(call(&request)).await?.into_inner();
            match drain(stream, &mut rows, |row| &row.next_page_token).await? {
                Some(next) => request.page_token = next,
                None => return Ok(rows),
            }
        }
    }

    /// Every forecast that the request selects, however many pages that takes.
    pub async fn all_forecasts(&mut self, mut request: pb::AnalyticsRequest) -> Result<Vec<pb::Forecast>, ApiError> {
        request.page_size = CLIENT_PAGE;
        let mut rows = Vec::new();
        loop {
            let reply = self.inner.get_forecast(call(&request)).await?.into_inner();
            rows.extend(reply.rows);
            if reply.next_page_token.is_empty() {
                return Ok(rows);
            }
            request.page_token = reply.next_page_token;
        }
    }

    /// The generated client, for calls this wrapper does not cover.
    pub fn raw(&mut self) -> &mut MetricsQueryClient<Channel> {
        &mut self.inner
    }
}

/// A connected SLA client, with the admin token for changes when one is given.
#[derive(Debug, Clone)]
pub struct SlaClient {
    inner: GeneratedSlaClient<Channel>,
    admin_token: Option<String>,
}

impl SlaClient {
    /// Connects to the API at `addr`; `admin_token` is sent with changes only.
    pub async fn connect(addr: &str, admin_token: Option<String>) -> Result<SlaClient, ApiError> {
        let channel = connect_channel(addr).await?;
        Ok(SlaClient {
            inner: GeneratedSlaClient::new(channel).max_decoding_message_size(MAX_MESSAGE_BYTES),
            admin_token,
        })
    }

    /// A change's call: its deadline and, when there is one, the admin token.
    fn change<T: Clone>(&self, request: &T) -> Result<Request<T>, ApiError> {
        let mut call = call(request);
        if let Some(token) = &self.admin_token {
            let value = MetadataValue::try_from(format!("Bearer {}", token.trim()))
                .map_err(|_| ApiError::InvalidArgument("the admin token must be printable ASCII".into()))?;
            call.metadata_mut().insert("authorization", value);
        }
        Ok(call)
    }

    pub async fn create(&mut self, request: pb::CreateSlaRequest) -> Result<pb::SlaDefinition, ApiError> {
        let call = self.change(&request)?;
        Ok(self.inner.create_sla(call).await?.into_inner())
    }

    pub async fn update(&mut self, request: pb::UpdateSlaRequest) -> Result<pb::SlaDefinition, ApiError> {
        let call = self.change(&request)?;
        Ok(self.inner.update_sla(call).await?.into_inner())
    }

    pub async fn delete(&mut self, request: pb::DeleteSlaRequest) -> Result<pb::SlaDefinition, ApiError> {
        let call = self.change(&request)?;
        Ok(self.inner.delete_sla(call).await?.into_inner())
    }

    pub async fn get(&mut self, sla: &str) -> Result<pb::SlaDefinition, ApiError> {
        let request = pb::SlaRef { sla: sla.to_string() };
        Ok(self.inner.get_sla(call(&request)).await?.into_inner())
    }

    pub async fn list(&mut self, include_deleted: bool) -> Result<Vec<pb::SlaDefinition>, ApiError> {
        let request = pb::ListSlasRequest { include_deleted };
        let mut stream = self.inner.list_slas(call(&request)).await?.into_inner();
        let mut rows = Vec::new();
        while let Some(row) = stream.message().await? {
            rows.push(row);
        }
        Ok(rows)
    }

    /// The status of every series under `sla` (empty: every SLA), however many pages it takes.
    pub async fn all_status(&mut self, sla: &str) -> Result<Vec<pb::SeriesStatus>, ApiError> {
        let mut request = pb::ListSlaStatusRequest {
            sla: sla.to_string(),
            page_size: CLIENT_PAGE,
            page_token: String::new(),
        };
        let mut rows = Vec::new();
        loop {
            let stream = self.inner.list_sla_status(call(&request)).await?.into_inner();
            match drain(stream, &mut rows, |row| &row.next_page_token).await? {
                Some(next) => request.page_token = next,
                None => return Ok(rows),
            }
        }
    }

    /// Every violation the request selects, however many pages it takes.
    pub async fn all_violations(&mut self, mut request: pb::ListViolationsRequest) -> Result<Vec<pb::Violation>, ApiError> {
        request.page_size = CLIENT_PAGE;
        let mut rows = Vec::new();
        loop {
            let stream = self.inner.list_violations(call(&request)).await?.into_inner();
            match drain(stream, &mut rows, |row| &row.next_page_token).await? {
                Some(next) => request.page_token = next,
                None => return Ok(rows),
            }
        }
    }

    pub async fn counts(&mut self, sla: &str) -> Result<pb::ViolationCounts, ApiError> {
        let request = pb::SlaRef { sla: sla.to_string() };
        Ok(self.inner.get_violation_counts(call(&request)).await?.into_inner())
    }

    pub async fn budget(&mut self, sla: &str) -> Result<pb::Budget, ApiError> {
        let request = pb::SlaRef { sla: sla.to_string() };
        Ok(self.inner.get_budget(call(&request)).await?.into_inner())
    }

    /// The generated client, for calls this wrapper does not cover.
    pub fn raw(&mut self) -> &mut GeneratedSlaClient<Channel> {
        &mut self.inner
    }
}

/// One page's call, with its own deadline.
fn call<T: Clone>(request: &T) -> Request<T> {
    let mut call = Request::new(request.clone());
    call.set_timeout(CALL_TIMEOUT);
    call
}

/// Appends a page's messages to `rows`; the token of the next page, if the listing goes on.
async fn drain<M>(mut stream: Streaming<M>, rows: &mut Vec<M>, token: impl Fn(&M) -> &String) -> Result<Option<String>, ApiError> {
    let mut next = String::new();
    while let Some(row) = stream.message().await? {
        next.clone_from(token(&row));
        rows.push(row);
    }
    Ok((!next.is_empty()).then_some(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_get_a_scheme_when_they_have_none() {
        assert_eq!(endpoint_uri("127.0.0.1:50051"), "http://127.0.0.1:50051");
        assert_eq!(endpoint_uri(" localhost:1 "), "http://localhost:1");
        assert_eq!(endpoint_uri("http://127.0.0.1:50051"), "http://127.0.0.1:50051");
        assert_eq!(endpoint_uri("https://vane.example:443"), "https://vane.example:443");
    }
}
