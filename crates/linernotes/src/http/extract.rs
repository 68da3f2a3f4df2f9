//! What handlers take from a request, each read once here with its failures answered in the API's error
//! shape (400 `INVALID_ARGUMENT` naming what was expected): query parameters, path segments, JSON bodies,
//! the bearer token and the client's address and user agent.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use tower_http::timeout::TimeoutError;

use super::error::error_response;
use super::{ApiError, AppState};
use crate::domain::account::RequestContext;
use crate::service::accounts::Principal;
use crate::service::ServiceError;
use crate::support::net::ClientAddr;

/// Query parameters, read by name with messages that say what was expected.
pub struct Params(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(map) = Query::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                ApiError(ServiceError::invalid(format!(
                    "the query string could not be read: {}",
                    rejection.body_text()
                )))
            })?;
        Ok(Params(map))
    }
}

impl Params {
    /// A text parameter.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A boolean parameter (`true`/`false`/`1`/`0`), `false` when absent.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.text(name).map(str::trim) {
            None | Some("") | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(other) => Err(ApiError(ServiceError::invalid(format!(
                "{name} must be true or false, got '{other}'"
            )))),
        }
    }

    /// A non-negative integer parameter.
    pub fn number(&self, name: &str) -> Result<Option<u32>, ApiError> {
        match self.text(name).map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => text.parse::<u32>().map(Some).map_err(|_| {
                ApiError(ServiceError::invalid(format!(
                    "{name} must be a non-negative whole number, got '{text}'"
                )))
            }),
        }
    }
}

/// The path's segments (`{id}`, or `{id}` and `{item}`), as text for the service to parse.
pub struct Segments<T>(pub T);

impl<S, T> FromRequestParts<S> for Segments<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(segments) = Path::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                ApiError(ServiceError::invalid(format!(
                    "the ID in the path could not be read: {}; expected <namespace>:<value>",
                    rejection.body_text()
                )))
            })?;
        Ok(Segments(segments))
    }
}

/// A JSON body whose rejections are answered in the API's error shape (400 `INVALID_ARGUMENT`).
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) if timed_out(&rejection) => Err(error_response(
                StatusCode::REQUEST_TIMEOUT,
                "REQUEST_TIMEOUT",
                "the body did not arrive in time",
            )),
            Err(rejection) => {
                Err(ApiError(ServiceError::invalid(json_problem(&rejection))).into_response())
            }
        }
    }
}

/// Whether reading the body failed because it arrived too slowly.
fn timed_out(rejection: &JsonRejection) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = cause {
        if error.is::<TimeoutError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

fn json_problem(rejection: &JsonRejection) -> String {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "the body must be JSON (Content-Type: application/json)".into()
        }
        JsonRejection::BytesRejection(_) => {
            "the body could not be read (it may be larger than the server accepts)".into()
        }
        other => format!("the JSON body is invalid: {}", other.body_text()),
    }
}

/// The client's address (the socket peer, or whom a trusted proxy forwarded for) and user agent, for
/// throttling, sessions and audit entries.
pub struct Client(pub RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ClientAddr>()
            .map(|ClientAddr(ip)| *ip)
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(addr)| addr.ip())
            });
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        Ok(Client(RequestContext::new(ip, user_agent)))
    }
}

/// The raw `Authorization` header, checked by the accounts service.
pub struct Authorization(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Authorization {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Authorization(parts.headers.get(header::AUTHORIZATION).map(
            |v| v.to_str().map(str::to_owned).unwrap_or_default(),
        )))
    }
}

impl Authorization {
    /// The authenticated caller (401 without a valid token).
    pub async fn principal(&self, state: &AppState) -> Result<Principal, ApiError> {
        Ok(state.accounts.authenticate(self.0.as_deref()).await?)
    }

    /// The caller when a token was sent (it must then be valid), else `None`.
    pub async fn optional_principal(
        &self,
        state: &AppState,
    ) -> Result<Option<Principal>, ApiError> {
        match self.0 {
            Some(_) => self.principal(state).await.map(Some),
            None => Ok(None),
        }
    }
}
