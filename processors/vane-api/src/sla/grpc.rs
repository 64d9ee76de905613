//! `vane.v1.Sla` over [`SlaApi`]: reads the admin token from the call's `authorization` metadata,
//! converts requests into specs and answers with `vane.v1` messages; lists stream through the
//! paging engine with the client's deadline.

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::reads::{ForecastListing, StatusListing, ViolationListing};
use super::{SlaApi, convert, reads, spec};
use crate::listing::{Pages, collect, stream};
use crate::pb;
use crate::service::deadline_of;

/// The SLA service.
#[derive(Debug, Clone)]
pub(crate) struct SlaService {
    api: SlaApi,
}

impl SlaService {
    pub(crate) fn new(api: SlaApi) -> Self {
        SlaService { api }
    }
}

/// The `authorization` metadata, if it is text.
fn authorization<T>(request: &Request<T>) -> Option<&str> {
    request.metadata().get("authorization").and_then(|value| value.to_str().ok())
}

#[tonic::async_trait]
impl pb::sla_server::Sla for SlaService {
    type ListSlasStream = ReceiverStream<Result<pb::SlaDefinition, Status>>;
    type ListSlaStatusStream = ReceiverStream<Result<pb::SeriesStatus, Status>>;
    type ListViolationsStream = ReceiverStream<Result<pb::Violation, Status>>;

    async fn create_sla(&self, request: Request<pb::CreateSlaRequest>) -> Result<Response<pb::SlaDefinition>, Status> {
        let admin = self.api.authorize(authorization(&request))?;
        let spec = spec::spec_from_pb(request.into_inner())?;
        let row = self.api.create(&admin, spec).await?;
        Ok(Response::new(convert::definition(row)))
    }

    async fn update_sla(&self, request: Request<pb::UpdateSlaRequest>) -> Result<Response<pb::SlaDefinition>, Status> {
        let admin = self.api.authorize(authorization(&request))?;
        let request = request.into_inner();
        let sla = request.sla.clone();
        let patch = spec::patch_from_pb(request)?;
        let row = self.api.update(&admin, &sla, patch).await?;
        Ok(Response::new(convert::definition(row)))
    }

    async fn delete_sla(&self, request: Request<pb::DeleteSlaRequest>) -> Result<Response<pb::SlaDefinition>, Status> {
        let admin = self.api.authorize(authorization(&request))?;
        let request = request.into_inner();
        let row = self.api.delete(&admin, &request.sla, request.expected_revision).await?;
        Ok(Response::new(convert::definition(row)))
    }

    async fn get_sla(&self, request: Request<pb::SlaRef>) -> Result<Response<pb::SlaDefinition>, Status> {
        let row = self.api.get(&request.into_inner().sla).await?;
        Ok(Response::new(convert::definition(row)))
    }

    async fn list_slas(&self, request: Request<pb::ListSlasRequest>) -> Result<Response<Self::ListSlasStream>, Status> {
        let rows = self.api.list(request.into_inner().include_deleted).await?;
        // A few hundred definitions: all of them fit in the channel at once.
        let (tx, rx) = mpsc::channel(rows.len().max(1));
        for row in rows {
            if tx.try_send(Ok(convert::definition(row))).is_err() {
                break;
            }
        }
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn list_sla_status(&self, request: Request<pb::ListSlaStatusRequest>) -> Result<Response<Self::ListSlaStatusStream>, Status> {
        let deadline = deadline_of(&request)?;
        let request = request.into_inner();
        let sla = match request.sla.trim() {
            "" => None,
            sla => Some(self.api.get(sla).await?),
        };
        let listing = StatusListing::new(&self.api, sla.as_ref()).await?;
        let pages = Pages::new(request.page_size, &request.page_token, false)?;
        Ok(Response::new(stream(self.api.store().clone(), listing, pages, deadline).await?))
    }

    async fn list_violations(&self, request: Request<pb::ListViolationsRequest>) -> Result<Response<Self::ListViolationsStream>, Status> {
        let deadline = deadline_of(&request)?;
        let request = request.into_inner();
        let sla = self.api.get(&request.sla).await?;
        let listing = ViolationListing::new(&sla, request.from_ms, request.to_ms)?;
        let pages = Pages::new(request.page_size, &request.page_token, false)?;
        Ok(Response::new(stream(self.api.store().clone(), listing, pages, deadline).await?))
    }

    async fn get_violation_counts(&self, request: Request<pb::SlaRef>) -> Result<Response<pb::ViolationCounts>, Status> {
        let sla = self.api.get(&request.into_inner().sla).await?;
        Ok(Response::new(
            reads::violation_counts(self.api.store(), &sla, self.api.now_ms()).await?,
        ))
    }

    async fn get_budget(&self, request: Request<pb::SlaRef>) -> Result<Response<pb::Budget>, Status> {
        let sla = self.api.get(&request.into_inner().sla).await?;
        Ok(Response::new(reads::budget(self.api.store(), &sla, self.api.now_ms()).await?))
    }

    async fn get_violation_forecast(
        &self,
        request: Request<pb::GetViolationForecastRequest>,
    ) -> Result<Response<pb::ViolationForecast>, Status> {
        let deadline = deadline_of(&request)?;
        let request = request.into_inner();
        let sla = self.api.get(&request.sla).await?;
        let listing = ForecastListing::new(&sla);
        let pages = Pages::bounded(request.page_size, &request.page_token, true)?;
        let (rows, next_page_token) = collect(self.api.store(), &listing, pages, deadline).await?;
        Ok(Response::new(pb::ViolationForecast {
            sla_id: sla.definition.id,
            sla_name: sla.definition.name,
            rows: rows.into_iter().filter_map(convert::series_forecast).collect(),
            next_page_token,
        }))
    }
}
