//! Library routes: `/v1/me/favorites*`, `/v1/me/playlists`, `/v1/playlists/*`,
//! `/v1/me/plays`, `/v1/me/history`, `/v1/me/top/*`, `/v1/me/play-counts`, `/v1/me/playback` and
//! `/v1/me/search-history`. Every route needs a bearer token except reading a public playlist.
//!
//! Bodies are JSON objects with unknown fields refused (400 in the API's error shape, like the account
//! routes). A stale playback update is a 409 `ABORTED` whose body carries the current state under
//! `current` beside the usual `error`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::domain::library::PlaybackUpdate;
use crate::http::extract::{Authorization, JsonBody, Params, Segments};
use crate::http::{ApiError, AppState};
use crate::service::library::{PlayReport, PlaybackReport, PlaylistEdit};
use crate::service::LibraryService;

/// The library routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/me/favorites", get(list_favorites))
        .route(
            "/v1/me/favorites/{id}",
            put(add_favorite).delete(remove_favorite),
        )
        .route(
            "/v1/me/playlists",
            post(create_playlist).get(list_playlists),
        )
        .route(
            "/v1/playlists/{playlist_id}",
            get(get_playlist)
                .patch(update_playlist)
                .delete(delete_playlist),
        )
        .route("/v1/playlists/{playlist_id}/items", post(add_items))
        .route(
            "/v1/playlists/{playlist_id}/items/{item_id}",
            axum::routing::delete(remove_item),
        )
        .route(
            "/v1/playlists/{playlist_id}/items/{item_id}/move",
            post(move_item),
        )
        .route("/v1/me/plays", post(record_play))
        .route("/v1/me/history", get(history))
        .route("/v1/me/play-counts", get(play_counts))
        .route("/v1/me/top/tracks", get(top_tracks))
        .route("/v1/me/top/artists", get(top_artists))
        .route("/v1/me/playback", get(playback).put(update_playback))
        .route(
            "/v1/me/search-history",
            get(search_history).delete(clear_search_history),
        )
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn library(state: &AppState) -> &LibraryService {
    &state.library
}

async fn add_favorite(
    State(state): State<AppState>,
    auth: Authorization,
    Segments(id): Segments<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let favorite = library(&state)
        .add_favorite(&principal, &id, params.text("type"))
        .await?;
    Ok(Json(favorite).into_response())
}

async fn remove_favorite(
    State(state): State<AppState>,
    auth: Authorization,
    Segments(id): Segments<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    library(&state)
        .remove_favorite(&principal, &id, params.text("type"))
        .await?;
    Ok(no_content())
}

async fn list_favorites(
    State(state): State<AppState>,
    auth: Authorization,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let page = library(&state)
        .list_favorites(
            &principal,
            params.text("type"),
            params.number("limit")?,
            params.number("offset")?,
        )
        .await?;
    Ok(Json(page).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreatePlaylistBody {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    public: Option<bool>,
}

async fn create_playlist(
    State(state): State<AppState>,
    auth: Authorization,
    JsonBody(body): JsonBody<CreatePlaylistBody>,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let playlist = library(&state)
        .create_playlist(
            &principal,
            &body.name,
            body.description.as_deref(),
            body.public,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(playlist)).into_response())
}

async fn list_playlists(
    State(state): State<AppState>,
    auth: Authorization,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let page = library(&state)
        .list_playlists(
            &principal,
            params.number("limit")?,
            params.number("offset")?,
        )
        .await?;
    Ok(Json(page).into_response())
}

async fn get_playlist(
    State(state): State<AppState>,
    auth: Authorization,
    Segments(id): Segments<String>,
    params: Params,
) -> Result<Response, ApiError> {
    // Public playlists need no token; a token that is sent must be valid.
    let viewer = auth.optional_principal(&state).await?;
    let playlist = library(&state)
        .get_playlist(
            viewer.as_ref(),
            &id,
            params.number("limit")?,
            params.number("offset")?,
        )
        .await?;
    Ok(Json(playlist).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdatePlaylistBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    public: Option<bool>,
}

async fn update_playlist(
    State(state): State<AppState>,
    auth: Authorization,
    Segments(id): Segments<String>,
    JsonBody(body): JsonBody<UpdatePlaylistBody>,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let summary = library(&state)
        .update_playlist(
            &principal,
            &id,
            PlaylistEdit {
                name: body.name,
                description: body.description,
                public: body.public,
            },
        )
        .await?;
    Ok(Json(summary).into_response())
}

async fn delete_playlist(
    State(state): State<AppState>,
    auth: Authorization,
    Segments(id): Segments<String>,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    library(&state).delete_playlist(&principal, &id).await?;
    Ok(no_content())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddItemsBody {
    track_ids: Vec<String>,
    #[serde(default)]
    position: Option<i64>,
}

async fn add_items(
    State(state): State<AppState>,
    auth: Authorization,
    Segments(id): Segments<String>,
    JsonBody(body): JsonBody<AddItemsBody>,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let added = library(&state)
        .add_items(&principal, &id, &body.track_ids, body.position)
        .await?;
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

async fn remove_item(
    State(state): State<AppState>,
    auth: Authorization,
    Segments((id, item)): Segments<(String, String)>,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    library(&state).remove_item(&principal, &id, &item).await?;
    Ok(no_content())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    position: i64,
}

async fn move_item(
    State(state): State<AppState>,
    auth: Authorization,
    Segments((id, item)): Segments<(String, String)>,
    JsonBody(body): JsonBody<MoveBody>,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let moved = library(&state)
        .move_item(&principal, &id, &item, body.position)
        .await?;
    Ok(Json(moved).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlayBody {
    track_id: String,
    #[serde(default)]
    played_at: Option<String>,
    #[serde(default)]
    duration_ms: Option<i64>,
    #[serde(default)]
    client: Option<String>,
}

async fn record_play(
    State(state): State<AppState>,
    auth: Authorization,
    JsonBody(body): JsonBody<PlayBody>,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let status = library(&state)
        .record_play(
            &principal,
            PlayReport {
                track_id: body.track_id,
                played_at: body.played_at,
                duration_ms: body.duration_ms,
                client: body.client,
            },
        )
        .await?;
    Ok(Json(json!({"status": status})).into_response())
}

async fn history(
    State(state): State<AppState>,
    auth: Authorization,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let page = library(&state)
        .history(&principal, params.text("before"), params.number("limit")?)
        .await?;
    Ok(Json(page).into_response())
}

async fn play_counts(
    State(state): State<AppState>,
    auth: Authorization,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let counts = library(&state)
        .play_counts(
            &principal,
            params.number("limit")?,
            params.number("offset")?,
        )
        .await?;
    Ok(Json(json!({"items": counts})).into_response())
}

async fn top_tracks(
    State(state): State<AppState>,
    auth: Authorization,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let top = library(&state)
        .top_tracks(&principal, params.text("period"), params.number("limit")?)
        .await?;
    Ok(Json(top).into_response())
}

async fn top_artists(
    State(state): State<AppState>,
    auth: Authorization,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let top = library(&state)
        .top_artists(&principal, params.text("period"), params.number("limit")?)
        .await?;
    Ok(Json(top).into_response())
}

async fn playback(
    State(state): State<AppState>,
    auth: Authorization,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let current = library(&state).playback(&principal).await?;
    Ok(Json(current).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaybackBody {
    track_id: String,
    position_ms: i64,
    device: String,
    version: i64,
}

async fn update_playback(
    State(state): State<AppState>,
    auth: Authorization,
    JsonBody(body): JsonBody<PlaybackBody>,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let sent = body.version;
    let outcome = library(&state)
        .update_playback(
            &principal,
            PlaybackReport {
                track_id: body.track_id,
                position_ms: body.position_ms,
                device: body.device,
                version: body.version,
            },
        )
        .await?;
    match outcome {
        PlaybackUpdate::Updated(state) => Ok(Json(state).into_response()),
        PlaybackUpdate::Stale(current) => {
            let err = LibraryService::stale_playback_error(&current, sent);
            let body = json!({
                "error": {"code": err.code.as_str(), "message": err.message},
                "current": current,
            });
            Ok((StatusCode::CONFLICT, Json(body)).into_response())
        }
    }
}

async fn search_history(
    State(state): State<AppState>,
    auth: Authorization,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let entries = library(&state)
        .search_history(&principal, params.number("limit")?)
        .await?;
    Ok(Json(json!({"items": entries})).into_response())
}

async fn clear_search_history(
    State(state): State<AppState>,
    auth: Authorization,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    library(&state).clear_search_history(&principal).await?;
    Ok(no_content())
}
