//! HTTP transport: linernotes' own JSON API under `/v1`, operations routes, and the server.
//!
//! Layout:
//! - this file: the router, request metrics, [`serve`];
//! - [`v1`]: linernotes' own API (metadata, accounts, library), one file per area; each further API
//!   surface (the compatibility APIs) gets a folder of its own beside it: [`ws2`] for MusicBrainz
//!   WS/2 under `/ws/2`;
//! - [`extract`]: what handlers take from a request (query parameters, path segments, JSON bodies,
//!   bearer token, client address), each read once with errors in the API's shape;
//! - [`error`]: [`ApiError`], the one JSON error body;
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics`, `/v1/status`;
//! - [`pages`]: the pages mailed links open (`/account/…`), for people rather than programs;
//! - [`openapi`]: the OpenAPI description of all of it, `/openapi.json`.
//!
//! Every route is registered with `utoipa_axum::routes!` from a handler's `#[utoipa::path]`, so what
//! is served and what is described are one list.

pub mod error;
pub mod extract;
pub mod guard;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod v1;
pub mod ws2;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower::ServiceExt;
use tower_http::timeout::RequestBodyTimeoutLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;

use crate::domain::{DatabaseSetup, ReplicaStatus};
use crate::service::{ServiceError, Services};
use crate::support::metrics::MetricsExporter;
use crate::support::net::{ClientAddr, GuardedListener, TrustedProxies};

/// What every handler can reach: the services (through `Deref`, as `state.metadata`) and the
/// metrics exposition.
#[derive(Clone)]
pub struct AppState {
    services: Services,
    metrics: MetricsExporter,
    /// Which PostgreSQL this instance uses, for `/v1/status`.
    database: Arc<DatabaseSetup>,
    /// The read replicas as their last checks saw them, for `/v1/status`.
    replicas: ReplicaStatuses,
}

/// Reads the replicas' current statuses.
pub type ReplicaStatuses = Arc<dyn Fn() -> Vec<ReplicaStatus> + Send + Sync>;

impl AppState {
    /// The state of a router serving `services` on the database `database`.
    pub fn new(services: Services, metrics: MetricsExporter, database: DatabaseSetup) -> Self {
        Self {
            services,
            metrics,
            database: Arc::new(database),
            replicas: Arc::new(Vec::new),
        }
    }

    /// Reports the read replicas through `replicas`.
    pub fn with_replicas(mut self, replicas: ReplicaStatuses) -> Self {
        self.replicas = replicas;
        self
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

/// Every route with its description.
pub fn described_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(v1::routes())
        .merge(ws2::routes())
        .merge(pages::routes())
        .merge(ops::routes())
        .routes(routes!(openapi::openapi_json))
}

/// Every route, without state, fallbacks or layers.
pub fn routes() -> Router<AppState> {
    described_routes().split_for_parts().0
}

/// The whole HTTP API.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    routes()
        .fallback(not_found)
        .method_not_allowed_fallback(guard::method_not_allowed)
        .layer(axum::middleware::from_fn(move |request, next| {
            guard::admit(max_body_bytes, request, next)
        }))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError(ServiceError::not_found(
        "no such route; see the README for the API (e.g. GET /v1/artists/{id})",
    ))
}

/// How long parts of a request may take to arrive.
#[derive(Debug, Clone, Copy)]
pub struct RequestDeadlines {
    /// The request head (and a new connection's first byte).
    pub header: Duration,
    /// The request body.
    pub body: Duration,
}

/// Serves HTTP (HTTP/1.1, and HTTP/2 with prior knowledge) on `listener` until `shutdown` completes,
/// then lets in-flight requests finish. A connection past the listener's limit waits; one that stays
/// silent, or sends its head or body too slowly, is closed (408 for a body). Handlers see the socket
/// peer's address (`ConnectInfo`) and the client's ([`ClientAddr`]: the peer, or whom a trusted proxy
/// forwarded for), which keys login throttling and goes into sessions and audit entries.
pub async fn serve(
    listener: GuardedListener,
    router: Router,
    deadlines: RequestDeadlines,
    proxies: TrustedProxies,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router.layer(RequestBodyTimeoutLayer::new(deadlines.body));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(deadlines.header)
        // Above what `guard` refuses in the JSON shape, so those limits answer first.
        .max_headers(256)
        .max_buf_size(1 << 20);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(deadlines.header)
        .keep_alive_timeout(deadlines.header);
    let connections = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let connection = tokio::select! {
            connection = listener.accept() => connection,
            () = &mut shutdown => break,
        };
        let peer = connection.peer();
        let proxies = proxies.clone();
        let service =
            router
                .clone()
                .map_request(move |mut request: axum::extract::Request<Incoming>| {
                    let forwarded_for = request
                        .headers()
                        .get("x-forwarded-for")
                        .and_then(|v| v.to_str().ok());
                    let client = ClientAddr(proxies.client(peer.ip(), forwarded_for));
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request.extensions_mut().insert(client);
                    request
                });
        let connections = connections.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let Some(connection) = connection.first_byte_within(deadlines.header).await else {
                return;
            };
            let serving = connections.serve_connection_with_upgrades(
                TokioIo::new(connection),
                TowerToHyperService::new(service),
            );
            if let Err(e) = watcher.watch(serving.into_owned()).await {
                tracing::debug!(error = %e, %peer, "HTTP connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
    Ok(())
}
