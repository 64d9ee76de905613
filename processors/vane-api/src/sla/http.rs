//! The SLA JSON API on the HTTP address ([`sla_http_router`], merged into the binary's HTTP
//! router): the same calls as `vane.v1.Sla`, answered with the JSON of `render::sla_json`.
//!
//! Changes need `authorization: Bearer <admin token>`. Errors are `{"error": "..."}` (plus
//! `"problems": [...]` for an invalid definition) with the status that the gRPC code maps to
//! (400, 401, 403, 404, 409, 503, 500). Lists answer at most `limit` rows (default and maximum
//! 10,000); when the listing goes on, the `x-next-page-token` header carries the token for
//! `page_token`.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use vane_store::MAX_PAGE_LIMIT;

use super::reads::{ForecastListing, StatusListing, ViolationListing};
use super::spec::SlaJson;
use super::{SlaApi, convert, pipeline, reads};
use crate::ApiError;
use crate::listing::{Listing, Pages, collect};
use crate::render::sla_json;

/// The header that carries the next page's token.
pub(crate) const NEXT_PAGE_HEADER: &str = "x-next-page-token";

/// The SLA routes (and the pipeline's execution time) over `api`, ready to merge into the
/// binary's HTTP router.
pub fn sla_http_router(api: SlaApi) -> Router {
    Router::new()
        .route("/api/v1/slas", get(list).post(create))
        .route("/api/v1/slas/{sla}", get(get_one).put(update).delete(remove))
        .route("/api/v1/slas/{sla}/status", get(status))
        .route("/api/v1/slas/{sla}/violations", get(violations))
        .route("/api/v1/slas/{sla}/violations/counts", get(counts))
        .route("/api/v1/slas/{sla}/budget", get(budget))
        .route("/api/v1/slas/{sla}/forecast", get(forecast))
        .route("/api/v1/pipeline/execution-time", get(pipeline::execution_time))
        .with_state(api)
}

/// An [`ApiError`] as a JSON response.
pub(crate) struct HttpError(ApiError);

impl From<ApiError> for HttpError {
    fn from(error: ApiError) -> Self {
        HttpError(error)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let problems = match &self.0 {
            ApiError::InvalidSla(problems) => Some(problems.clone()),
            _ => None,
        };
        // The one mapping (which also logs internal errors and hides their detail).
        let status = tonic::Status::from(self.0);
        let code = StatusCode::from_u16(crate::error::http_status(status.code())).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = match problems {
            Some(problems) => serde_json::json!({ "error": status.message(), "problems": problems }),
            None => serde_json::json!({ "error": status.message() }),
        };
        let mut response = (code, axum::Json(body)).into_response();
        if code == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub(crate) type Answer = Result<Response, HttpError>;

pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Answer {
    Ok((status, axum::Json(value)).into_response())
}

/// A list, with the next page's token in a header when the listing goes on.
fn page(value: &impl Serialize, next_page_token: &str) -> Answer {
    let mut response = json(StatusCode::OK, value)?;
    if !next_page_token.is_empty() {
        let token = HeaderValue::from_str(next_page_token)
            .map_err(|_| ApiError::BadPageToken("the store's page token is not a header value".into()))?;
        response.headers_mut().insert(NEXT_PAGE_HEADER, token);
    }
    Ok(response)
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok())
}

/// The query string, checked against the parameters a route takes.
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn new(query: Result<Query<HashMap<String, String>>, QueryRejection>, allowed: &[&str]) -> Result<Params, ApiError> {
        let Query(map) = query.map_err(|rejection| ApiError::InvalidArgument(format!("malformed query string: {rejection}")))?;
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                let takes = if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                };
                return Err(ApiError::InvalidArgument(format!(
                    "unknown query parameter {key:?}; this endpoint takes: {takes}"
                )));
            }
        }
        Ok(Params(map))
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.text(key) {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") | Some("") => Ok(true),
            Some(other) => Err(ApiError::InvalidArgument(format!("{key}={other:?}: expected true or false"))),
        }
    }

    fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, ApiError> {
        self.text(key)
            .map(|text| {
                text.parse()
                    .map_err(|_| ApiError::InvalidArgument(format!("{key}={text:?} is not a number")))
            })
            .transpose()
    }

    /// `limit` and `page_token` as a page of at most `limit` rows (default: the maximum).
    fn pages(&self, filtered: bool) -> Result<Pages, ApiError> {
        let limit = self.number::<u32>("limit")?.unwrap_or(MAX_PAGE_LIMIT);
        if limit == 0 {
            return Err(ApiError::InvalidArgument(format!("limit must be 1 to {MAX_PAGE_LIMIT}")));
        }
        Pages::bounded(limit, self.text("page_token").unwrap_or_default(), filtered)
    }

    /// `since=6h` (up to now), or `from` / `to` (RFC 3339 or Unix ms, either optional), as the
    /// wire's bounds (0: unbounded).
    pub(crate) fn range(&self, now_ms: i64, default_since_ms: Option<i64>) -> Result<(i64, i64), ApiError> {
        let time = |key: &str| -> Result<Option<i64>, ApiError> {
            self.text(key)
                .map(|text| crate::cli::parse_time(text).map_err(|reason| ApiError::InvalidArgument(format!("{key}: {reason}"))))
                .transpose()
        };
        let (from, to) = (time("from")?, time("to")?);
        let since = match self.text("since") {
            Some(text) => {
                if from.is_some() || to.is_some() {
                    return Err(ApiError::InvalidArgument("give either since or from/to, not both".into()));
                }
                let since = vane_core::time::parse_duration(text)
                    .map_err(|_| ApiError::InvalidArgument(format!("since={text:?} is not a duration such as 6h, 30m or 7d")))?;
                Some(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
            }
            None if from.is_none() && to.is_none() => default_since_ms,
            None => None,
        };
        let (from, to) = match since {
            Some(since_ms) => (Some(now_ms.saturating_sub(since_ms).max(1)), Some(now_ms)),
            None => (from, to),
        };
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(ApiError::InvalidArgument(format!("from {from} is after to {to}")));
        }
        Ok((from.unwrap_or(0), to.unwrap_or(0)))
    }
}

async fn list(State(api): State<SlaApi>, query: Result<Query<HashMap<String, String>>, QueryRejection>) -> Answer {
    let params = Params::new(query, &["include_deleted"])?;
    let rows = api.list(params.flag("include_deleted")?).await?;
    let messages: Vec<_> = rows.into_iter().map(convert::definition).collect();
    let objects: Vec<_> = messages.iter().map(sla_json::definition).collect();
    json(StatusCode::OK, &objects)
}

async fn create(State(api): State<SlaApi>, headers: HeaderMap, body: Bytes) -> Answer {
    let admin = api.authorize(authorization(&headers))?;
    let spec = SlaJson::parse(&body)?.into_spec()?;
    let message = convert::definition(api.create(&admin, spec).await?);
    let mut response = json(StatusCode::CREATED, &sla_json::definition(&message))?;
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/slas/{}", message.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn get_one(
    State(api): State<SlaApi>,
    Path(sla): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Answer {
    Params::new(query, &[])?;
    let message = convert::definition(api.get(&sla).await?);
    json(StatusCode::OK, &sla_json::definition(&message))
}

async fn update(State(api): State<SlaApi>, Path(sla): Path<String>, headers: HeaderMap, body: Bytes) -> Answer {
    let admin = api.authorize(authorization(&headers))?;
    let input = SlaJson::parse(&body)?;
    if let Some(id) = &input.id {
        let current = api.get(&sla).await?;
        if *id != current.definition.id {
            return Err(ApiError::InvalidArgument(format!(
                "the body's id {id:?} is not the id of SLA {sla:?} ({}); an SLA's id never changes",
                current.definition.id
            ))
            .into());
        }
    }
    let patch = input.into_patch()?;
    let message = convert::definition(api.update(&admin, &sla, patch).await?);
    json(StatusCode::OK, &sla_json::definition(&message))
}

async fn remove(
    State(api): State<SlaApi>,
    Path(sla): Path<String>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Answer {
    let admin = api.authorize(authorization(&headers))?;
    let params = Params::new(query, &["revision"])?;
    let message = convert::definition(api.delete(&admin, &sla, params.number("revision")?).await?);
    json(StatusCode::OK, &sla_json::definition(&message))
}

async fn status(
    State(api): State<SlaApi>,
    Path(sla): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Answer {
    let params = Params::new(query, &["limit", "page_token"])?;
    let sla = api.get(&sla).await?;
    let listing = StatusListing::new(&api, Some(&sla)).await?;
    let (rows, next) = collect(api.store(), &listing, params.pages(listing.filtered())?, None).await?;
    let messages: Vec<_> = rows
        .into_iter()
        .map(|row| convert::series_status(row, sla.definition.name.clone(), String::new()))
        .collect();
    let objects: Vec<_> = messages.iter().map(sla_json::status).collect();
    page(&objects, &next)
}

async fn violations(
    State(api): State<SlaApi>,
    Path(sla): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Answer {
    let params = Params::new(query, &["since", "from", "to", "limit", "page_token"])?;
    let (from_ms, to_ms) = params.range(api.now_ms(), None)?;
    let sla = api.get(&sla).await?;
    let listing = ViolationListing::new(&sla, from_ms, to_ms)?;
    let (rows, next) = collect(api.store(), &listing, params.pages(listing.filtered())?, None).await?;
    let messages: Vec<_> = rows.into_iter().map(|row| convert::violation(row, String::new())).collect();
    let objects: Vec<_> = messages.iter().map(sla_json::violation).collect();
    page(&objects, &next)
}

async fn counts(
    State(api): State<SlaApi>,
    Path(sla): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Answer {
    Params::new(query, &[])?;
    let sla = api.get(&sla).await?;
    let message = reads::violation_counts(api.store(), &sla, api.now_ms()).await?;
    json(StatusCode::OK, &sla_json::counts(&message))
}

async fn budget(
    State(api): State<SlaApi>,
    Path(sla): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Answer {
    Params::new(query, &[])?;
    let sla = api.get(&sla).await?;
    let message = reads::budget(api.store(), &sla, api.now_ms()).await?;
    json(StatusCode::OK, &sla_json::budget(&message))
}

async fn forecast(
    State(api): State<SlaApi>,
    Path(sla): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Answer {
    let params = Params::new(query, &["limit", "page_token"])?;
    let sla = api.get(&sla).await?;
    let listing = ForecastListing::new(&sla);
    let (rows, next) = collect(api.store(), &listing, params.pages(listing.filtered())?, None).await?;
    let reply = crate::pb::ViolationForecast {
        sla_id: sla.definition.id,
        sla_name: sla.definition.name,
        rows: rows.into_iter().filter_map(convert::series_forecast).collect(),
        next_page_token: String::new(),
    };
    page(&sla_json::forecasts(&reply), &next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)], allowed: &[&str]) -> Result<Params, ApiError> {
        let map = pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
        Params::new(Ok(Query(map)), allowed)
    }

    #[test]
    fn unknown_parameters_are_named() {
        let error = params(&[("sincе", "1h")], &["since"]).err().unwrap();
        assert!(error.to_string().contains("this endpoint takes: since"), "{error}");
        assert!(params(&[("x", "1")], &[]).err().unwrap().to_string().contains("takes: none"));
    }

    #[test]
    fn ranges_come_from_since_or_from_and_to() {
        let now = 100 * 3_600_000;
        let since = params(&[("since", "6h")], &["since"]).unwrap();
        assert_eq!(since.range(now, None).unwrap(), (94 * 3_600_000, now));
        let both = params(&[("from", "2026-01-01T00:00:00Z"), ("to", "1767229200000")], &["from", "to"]).unwrap();
        assert_eq!(both.range(now, None).unwrap(), (1_767_225_600_000, 1_767_229_200_000));
        let none = params(&[], &[]).unwrap();
        assert_eq!(none.range(now, None).unwrap(), (0, 0));
        assert_eq!(none.range(now, Some(3_600_000)).unwrap(), (99 * 3_600_000, now));
        for bad in [
            vec![("since", "6h"), ("from", "1")],
            vec![("since", "soon")],
            vec![("from", "yesterday")],
            vec![("from", "20"), ("to", "10")],
        ] {
            let params = params(&bad, &["since", "from", "to"]).unwrap();
            assert!(params.range(now, None).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn limits_and_flags_are_checked() {
        assert!(params(&[("limit", "0")], &["limit"]).unwrap().pages(false).is_err());
        assert!(params(&[("limit", "10001")], &["limit"]).unwrap().pages(false).is_err());
        assert!(params(&[("limit", "ten")], &["limit"]).unwrap().pages(false).is_err());
        assert!(params(&[("limit", "5")], &["limit"]).unwrap().pages(false).is_ok());
        let flags = params(&[("include_deleted", "true")], &["include_deleted"]).unwrap();
        assert!(flags.flag("include_deleted").unwrap());
        let bad = params(&[("include_deleted", "yes")], &["include_deleted"]).unwrap();
        assert!(bad.flag("include_deleted").is_err());
    }

    #[test]
    fn errors_are_json_with_the_mapped_status() {
        let response = HttpError(ApiError::InvalidSla(vec!["a".into(), "b".into()])).into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let response = HttpError(ApiError::Unauthenticated("no".into())).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(HttpError(ApiError::ChangesDisabled).into_response().status(), StatusCode::FORBIDDEN);
        assert_eq!(
            HttpError(ApiError::NotFound("x".into())).into_response().status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            HttpError(ApiError::AlreadyExists("x".into())).into_response().status(),
            StatusCode::CONFLICT
        );
    }
}
