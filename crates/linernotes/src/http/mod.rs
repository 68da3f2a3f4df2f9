//! HTTP transport: JSON under `/v1`, `/healthz` (alive) and `/readyz` (database reachable).
//!
//! Layout:
//! - this file: the router, [`ApiError`] (the one JSON error body), query-parameter parsing, [`serve`];
//! - [`metadata`]: the metadata routes;
//! - [`accounts`]: the account, session and admin routes (issue 3);
//! - [`library`]: favourites, playlists, plays, history, playback, search history (issue 4).

pub mod accounts;
pub mod library;
pub mod metadata;

use std::collections::HashMap;
use std::future::Future;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;

use crate::service::{ErrorCode, ServiceError, Services};
use crate::support::metrics::MetricsExporter;

/// What every handler can reach: the services (through `Deref`, as `state.metadata`) and the
/// metrics exposition.
#[derive(Clone)]
pub struct AppState {
    services: Services,
    metrics: MetricsExporter,
}

impl AppState {
    /// The state of a router serving `services`.
    pub fn new(services: Services, metrics: MetricsExporter) -> Self {
        Self { services, metrics }
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

impl From<ErrorCode> for StatusCode {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::InvalidArgument => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::AlreadyExists | ErrorCode::Aborted => StatusCode::CONFLICT,
            ErrorCode::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error answered as `{"error": {"code": "…", "message": "…"}}` with the matching status.
#[derive(Debug)]
pub struct ApiError(pub ServiceError);

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        ApiError(err)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError(ServiceError::invalid(format!(
            "the query string could not be read: {}",
            rejection.body_text()
        )))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError(ServiceError::invalid(format!(
            "the ID in the path could not be read: {}; expected <namespace>:<value>",
            rejection.body_text()
        )))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from(self.0.code);
        let body = json!({"error": {"code": self.0.code.as_str(), "message": self.0.message}});
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = self.0.retry_after_secs {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// Query parameters, parsed by name with messages that say what was expected.
pub struct Params(HashMap<String, String>);

impl Params {
    /// Reads the query string (a malformed one is a 400).
    pub fn from_query(
        query: Result<Query<HashMap<String, String>>, QueryRejection>,
    ) -> Result<Self, ApiError> {
        Ok(Params(query?.0))
    }

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

/// The whole HTTP API.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .merge(metadata::routes())
        .merge(accounts::routes())
        .merge(library::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/v1/status", get(status))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(track_requests))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// Counts every request by route, method and status, with its latency.
async fn track_requests(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("linernotes_http_request_duration_seconds", "route" => route.clone(), "method" => method.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("linernotes_http_requests_total", "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    match state.metrics.render() {
        Some(text) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4",
            )],
            text,
        )
            .into_response(),
        None => ApiError(ServiceError::new(
            ErrorCode::Unavailable,
            "metrics are recorded by another component of this process",
        ))
        .into_response(),
    }
}

async fn status(State(state): State<AppState>) -> Json<crate::service::metadata::ServiceStatus> {
    Json(state.metadata.status().await)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.metadata.ready().await {
        Ok(()) => Json(json!({"status": "ready", "database": "ok"})).into_response(),
        Err(err) => ApiError(err).into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError(ServiceError::not_found(
        "no such route; see the README for the API (e.g. GET /v1/artists/{id})",
    ))
}

/// Serves HTTP on `listener` until `shutdown` completes, letting in-flight requests finish. Handlers
/// see the socket peer's address (`ConnectInfo`), which keys login throttling and goes into audit entries.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Small JSON answers must not wait for the client's delayed ACK (Nagle).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
