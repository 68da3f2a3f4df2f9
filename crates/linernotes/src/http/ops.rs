//! Operations routes: `/healthz` (alive), `/readyz` (database reachable), `/metrics` (Prometheus) and
//! `/v1/status` (providers, database, cache).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::{ApiError, AppState};
use crate::domain::{DatabaseSetup, ReplicaStatus};
use crate::service::metadata::ServiceStatus;
use crate::service::{ErrorCode, ServiceError};

/// `GET /metrics`: Prometheus' text format.
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
#[derive(serde::Serialize)]
pub struct StatusAnswer {
    /// Providers, database reachability, cache.
    #[serde(flatten)]
    pub service: ServiceStatus,
    /// Which PostgreSQL, where its data lives, which binaries and version.
    pub database_setup: DatabaseSetup,
    /// Each read replica's health, lag and reads.
    pub replicas: Vec<ReplicaStatus>,
}

/// `GET /v1/status`: providers, database and cache as an operator sees them.
pub async fn status(State(state): State<AppState>) -> Json<StatusAnswer> {
    Json(StatusAnswer {
        service: state.metadata.status().await,
        database_setup: (*state.database).clone(),
        replicas: (state.replicas)(),
    })
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.metadata.ready().await {
        Ok(()) => Json(json!({"status": "ready", "database": "ok"})).into_response(),
        Err(err) => ApiError(err).into_response(),
    }
}
