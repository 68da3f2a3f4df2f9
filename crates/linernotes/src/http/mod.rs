//! HTTP transport: linernotes' own JSON API under `/v1`, operations routes, and the server.
//!
//! Layout:
//! - this file: the router, request metrics, [`serve`];
//! - [`v1`]: linernotes' own API (metadata, accounts, library), one file per area; each further API
//!   surface (the compatibility APIs) gets a folder of its own beside it;
//! - [`extract`]: what handlers take from a request (query parameters, path segments, JSON bodies,
//!   bearer token, client address), each read once with errors in the API's shape;
//! - [`error`]: [`ApiError`], the one JSON error body;
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics`, `/v1/status`.

pub mod error;
pub mod extract;
pub mod ops;
pub mod v1;

use std::future::Future;

use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

pub use error::ApiError;

use crate::service::{ServiceError, Services};
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

/// The whole HTTP API.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .merge(v1::routes())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics_text))
        .route("/v1/status", get(ops::status))
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
