//! Operations routes: `/healthz` (alive), `/readyz` (database reachable), `/metrics` (Prometheus) and
//! `/v1/status` (providers, database, cache).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ErrorBody;
use super::{ApiError, AppState};
use crate::domain::{DatabaseSetup, ReplicaStatus};
use crate::service::metadata::ServiceStatus;
use crate::service::{ErrorCode, ServiceError};

/// The operations routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics_text))
        .routes(routes!(status))
}

/// Prometheus' text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Metrics",
    responses(
        (status = 200, description = "Every metric in Prometheus' text format", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 503, description = "Another component of the process records the metrics", body = ErrorBody),
    )
)]
pub async fn metrics_text(State(state): State<AppState>) -> Response {
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

/// What `GET /v1/status` answers: the service's view, and how the database is deployed.
#[derive(Serialize, ToSchema)]
pub struct StatusAnswer {
    /// Providers, database reachability, cache.
    #[serde(flatten)]
    pub service: ServiceStatus,
    /// Which PostgreSQL, where its data lives, which binaries and version.
    pub database_setup: DatabaseSetup,
    /// Each read replica's health, lag and reads.
    pub replicas: Vec<ReplicaStatus>,
}

/// Providers, database and cache as an operator sees them.
#[utoipa::path(
    get,
    path = "/v1/status",
    tag = "operations",
    summary = "Status of providers, database and cache",
    responses((status = 200, description = "The status", body = StatusAnswer))
)]
pub async fn status(State(state): State<AppState>) -> Json<StatusAnswer> {
    Json(StatusAnswer {
        service: state.metadata.status().await,
        database_setup: (*state.database).clone(),
        replicas: (state.replicas)(),
    })
}

/// What `/healthz` answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// What `/readyz` answers when ready.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// Always `ready`.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// Always `ok`.
    #[schema(example = "ok")]
    pub database: &'static str,
}

/// The process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Liveness",
    responses((status = 200, description = "The process answers", body = Health))
)]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Readiness",
    responses(
        (status = 200, description = "The database answers", body = Readiness),
        (status = 503, description = "The database does not answer", body = ErrorBody),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.metadata.ready().await {
        Ok(()) => Json(Readiness {
            status: "ready",
            database: "ok",
        })
        .into_response(),
        Err(err) => ApiError(err).into_response(),
    }
}
