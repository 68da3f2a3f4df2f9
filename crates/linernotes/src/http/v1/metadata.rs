//! Metadata routes: `/v1/{artists,albums,releases,tracks,labels}/{id}`, `/v1/artists/{id}/albums` and
//! `/v1/search`.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::domain::EntityKind;
use crate::http::extract::{Authorization, Params, Segments};
use crate::http::{ApiError, AppState};
use crate::service::ServiceError;

/// The metadata routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/artists/{id}",
            get(|s, p, q| get_entity(EntityKind::Artist, s, p, q)),
        )
        .route(
            "/v1/albums/{id}",
            get(|s, p, q| get_entity(EntityKind::Album, s, p, q)),
        )
        .route(
            "/v1/releases/{id}",
            get(|s, p, q| get_entity(EntityKind::Release, s, p, q)),
        )
        .route(
            "/v1/tracks/{id}",
            get(|s, p, q| get_entity(EntityKind::Track, s, p, q)),
        )
        .route(
            "/v1/labels/{id}",
            get(|s, p, q| get_entity(EntityKind::Label, s, p, q)),
        )
        .route("/v1/artists/{id}/albums", get(list_artist_albums))
        .route("/v1/search", get(search))
}

async fn get_entity(
    kind: EntityKind,
    State(state): State<AppState>,
    Segments(id): Segments<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let refresh = params.flag("refresh")?;
    let record = state.metadata.get(kind, &id, refresh).await?;
    let json = record
        .json()
        .map_err(|e| ServiceError::internal(format!("cannot serialize the {kind}: {e}")))?;
    Ok(([(CONTENT_TYPE, "application/json")], json).into_response())
}

async fn list_artist_albums(
    State(state): State<AppState>,
    Segments(id): Segments<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let page = state
        .metadata
        .list_artist_albums(
            &id,
            params.number("limit")?,
            params.number("offset")?.unwrap_or(0),
            params.flag("refresh")?,
        )
        .await?;
    Ok(Json(page).into_response())
}

/// Works without a token; with one (it must be valid), the search is remembered in the user's search
/// history when their settings allow it.
async fn search(
    State(state): State<AppState>,
    auth: Authorization,
    params: Params,
) -> Result<Response, ApiError> {
    let viewer = auth.optional_principal(&state).await?;
    let page = state
        .library
        .search(
            viewer.as_ref(),
            params.text("q").unwrap_or_default(),
            params.text("type"),
            params.number("limit")?,
            params.number("offset")?,
        )
        .await?;
    Ok(Json(page).into_response())
}
