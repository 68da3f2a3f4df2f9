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
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::library::{
    AddedItems, Favorite, FavoritePage, HistoryPage, Period, PlayCount, PlayStatus, PlaybackState,
    PlaybackUpdate, Playlist, PlaylistItem, PlaylistPage, PlaylistSummary, SearchHistoryEntry,
    TopArtist, TopList, TopTrack,
};
use crate::domain::EntityKind;
use crate::http::error::{ErrorBody, ErrorDetail};
use crate::http::extract::{Authorization, JsonBody, Params, Segments};
use crate::http::{ApiError, AppState};
use crate::service::library::{PlayReport, PlaybackReport, PlaylistEdit};
use crate::service::LibraryService;

/// The library routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_favorites))
        .routes(routes!(add_favorite, remove_favorite))
        .routes(routes!(create_playlist, list_playlists))
        .routes(routes!(get_playlist, update_playlist, delete_playlist))
        .routes(routes!(add_items))
        .routes(routes!(remove_item))
        .routes(routes!(move_item))
        .routes(routes!(record_play))
        .routes(routes!(history))
        .routes(routes!(play_counts))
        .routes(routes!(top_tracks))
        .routes(routes!(top_artists))
        .routes(routes!(playback, update_playback))
        .routes(routes!(search_history, clear_search_history))
}

/// What reporting a play answers.
#[derive(Serialize, ToSchema)]
struct PlayRecorded {
    /// Whether it was stored.
    status: PlayStatus,
}

/// Tracks with their play counts.
#[derive(Serialize, ToSchema)]
struct PlayCounts {
    /// Most played first.
    items: Vec<PlayCount>,
}

/// Remembered searches.
#[derive(Serialize, ToSchema)]
struct SearchHistory {
    /// Newest first.
    items: Vec<SearchHistoryEntry>,
}

/// A playback update that lost to a newer one: the error and the state that won.
#[derive(Serialize, ToSchema)]
struct StalePlayback {
    /// `ABORTED`, saying which version is current.
    error: ErrorDetail,
    /// The current state.
    current: PlaybackState,
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn library(state: &AppState) -> &LibraryService {
    &state.library
}

#[utoipa::path(
    put,
    path = "/v1/me/favorites/{id}",
    tag = "library",
    summary = "Add a favourite",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Any known ID of the entity, `<namespace>:<value>`", example = "musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da"),
        ("type" = Option<EntityKind>, Query, description = "The kind of entity (needed when the ID does not say)", example = "artist"),
    ),
    responses(
        (status = 200, description = "The favourite (adding it again changes nothing)", body = Favorite),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "No such entity", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    delete,
    path = "/v1/me/favorites/{id}",
    tag = "library",
    summary = "Remove a favourite",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Any known ID of the entity, `<namespace>:<value>`", example = "musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da"),
        ("type" = Option<EntityKind>, Query, description = "The kind of entity (needed when the ID does not say)", example = "artist"),
    ),
    responses(
        (status = 204, description = "It is not a favourite (any more)"),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    get,
    path = "/v1/me/favorites",
    tag = "library",
    summary = "List favourites",
    security(("bearer" = [])),
    params(
        ("type" = Option<EntityKind>, Query, description = "Only favourites of this kind"),
        ("limit" = Option<u32>, Query, description = "Page size"),
        ("offset" = Option<u32>, Query, description = "Items to skip"),
    ),
    responses(
        (status = 200, description = "A page of favourites, newest first", body = FavoritePage),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreatePlaylistBody {
    /// 1 to 100 characters.
    #[schema(example = "Road trip")]
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    public: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/v1/me/playlists",
    tag = "library",
    summary = "Create a playlist",
    security(("bearer" = [])),
    request_body = CreatePlaylistBody,
    responses(
        (status = 201, description = "The new playlist, with no items yet", body = Playlist),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    get,
    path = "/v1/me/playlists",
    tag = "library",
    summary = "List the caller's playlists",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "Page size"),
        ("offset" = Option<u32>, Query, description = "Items to skip"),
    ),
    responses(
        (status = 200, description = "A page of playlists, newest first", body = PlaylistPage),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    get,
    path = "/v1/playlists/{playlist_id}",
    tag = "library",
    summary = "Read a playlist (a public one needs no token)",
    security((), ("bearer" = [])),
    params(
        ("playlist_id" = Uuid, Path, description = "The playlist"),
        ("limit" = Option<u32>, Query, description = "Page size"),
        ("offset" = Option<u32>, Query, description = "Items to skip"),
    ),
    responses(
        (status = 200, description = "The playlist with a page of its items", body = Playlist),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "A token was sent but is not valid", body = ErrorBody),
        (status = 403, description = "The playlist is private and not the caller's", body = ErrorBody),
        (status = 404, description = "No such playlist", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdatePlaylistBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    public: Option<bool>,
}

#[utoipa::path(
    patch,
    path = "/v1/playlists/{playlist_id}",
    tag = "library",
    summary = "Rename, describe or publish a playlist",
    security(("bearer" = [])),
    params(
        ("playlist_id" = Uuid, Path, description = "The playlist"),
    ),
    request_body = UpdatePlaylistBody,
    responses(
        (status = 200, description = "The playlist as changed", body = PlaylistSummary),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The playlist is someone else's", body = ErrorBody),
        (status = 404, description = "No such playlist, or not the caller's", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    delete,
    path = "/v1/playlists/{playlist_id}",
    tag = "library",
    summary = "Delete a playlist",
    security(("bearer" = [])),
    params(
        ("playlist_id" = Uuid, Path, description = "The playlist"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The playlist is someone else's", body = ErrorBody),
        (status = 404, description = "No such playlist, or not the caller's", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
async fn delete_playlist(
    State(state): State<AppState>,
    auth: Authorization,
    Segments(id): Segments<String>,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    library(&state).delete_playlist(&principal, &id).await?;
    Ok(no_content())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AddItemsBody {
    track_ids: Vec<String>,
    #[serde(default)]
    position: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/v1/playlists/{playlist_id}/items",
    tag = "library",
    summary = "Add tracks to a playlist",
    security(("bearer" = [])),
    params(
        ("playlist_id" = Uuid, Path, description = "The playlist"),
    ),
    request_body = AddItemsBody,
    responses(
        (status = 201, description = "The items added and the playlist's new size", body = AddedItems),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The playlist is someone else's", body = ErrorBody),
        (status = 404, description = "No such playlist or track", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    delete,
    path = "/v1/playlists/{playlist_id}/items/{item_id}",
    tag = "library",
    summary = "Remove an item from a playlist",
    security(("bearer" = [])),
    params(
        ("playlist_id" = Uuid, Path, description = "The playlist"),
        ("item_id" = i64, Path, description = "The item of the playlist"),
    ),
    responses(
        (status = 204, description = "Removed; the items after it moved up"),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The playlist is someone else's", body = ErrorBody),
        (status = 404, description = "No such playlist or item", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
async fn remove_item(
    State(state): State<AppState>,
    auth: Authorization,
    Segments((id, item)): Segments<(String, String)>,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    library(&state).remove_item(&principal, &id, &item).await?;
    Ok(no_content())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    position: i64,
}

#[utoipa::path(
    post,
    path = "/v1/playlists/{playlist_id}/items/{item_id}/move",
    tag = "library",
    summary = "Move an item within a playlist",
    security(("bearer" = [])),
    params(
        ("playlist_id" = Uuid, Path, description = "The playlist"),
        ("item_id" = i64, Path, description = "The item of the playlist"),
    ),
    request_body = MoveBody,
    responses(
        (status = 200, description = "The item at its new position", body = PlaylistItem),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The playlist is someone else's", body = ErrorBody),
        (status = 404, description = "No such playlist or item", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
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

#[derive(Deserialize, ToSchema)]
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

#[utoipa::path(
    post,
    path = "/v1/me/plays",
    tag = "library",
    summary = "Report a play",
    security(("bearer" = [])),
    request_body = PlayBody,
    responses(
        (status = 200, description = "Whether the play was stored", body = PlayRecorded),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "No such track", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
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
    Ok(Json(PlayRecorded { status }).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/me/history",
    tag = "library",
    summary = "Listening history",
    security(("bearer" = [])),
    params(
        ("before" = Option<String>, Query, description = "Only plays before this time (RFC 3339), e.g. the `next_before` of the previous page"),
        ("limit" = Option<u32>, Query, description = "Page size"),
    ),
    responses(
        (status = 200, description = "A page of plays, newest first", body = HistoryPage),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    get,
    path = "/v1/me/play-counts",
    tag = "library",
    summary = "Play counts per track",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "Page size"),
        ("offset" = Option<u32>, Query, description = "Items to skip"),
    ),
    responses(
        (status = 200, description = "Tracks with their play counts, most played first", body = PlayCounts),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
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
    Ok(Json(PlayCounts { items: counts }).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/me/top/tracks",
    tag = "library",
    summary = "The most played tracks",
    security(("bearer" = [])),
    params(
        ("period" = Option<Period>, Query, description = "The window: 7d, 30d (when absent), 365d or all"),
        ("limit" = Option<u32>, Query, description = "Page size"),
    ),
    responses(
        (status = 200, description = "The top list", body = TopList<TopTrack>),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    get,
    path = "/v1/me/top/artists",
    tag = "library",
    summary = "The most played artists",
    security(("bearer" = [])),
    params(
        ("period" = Option<Period>, Query, description = "The window: 7d, 30d (when absent), 365d or all"),
        ("limit" = Option<u32>, Query, description = "Page size"),
    ),
    responses(
        (status = 200, description = "The top list", body = TopList<TopArtist>),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    get,
    path = "/v1/me/playback",
    tag = "library",
    summary = "Where the caller is listening",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The playback state", body = PlaybackState),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
async fn playback(
    State(state): State<AppState>,
    auth: Authorization,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let current = library(&state).playback(&principal).await?;
    Ok(Json(current).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PlaybackBody {
    /// The track, `<namespace>:<value>`.
    track_id: String,
    /// Position in the track, in milliseconds.
    #[schema(example = 42000)]
    position_ms: i64,
    /// The device reporting it.
    #[schema(example = "kitchen")]
    device: String,
    /// The version this update follows (0 for the first).
    #[schema(example = 0)]
    version: i64,
}

#[utoipa::path(
    put,
    path = "/v1/me/playback",
    tag = "library",
    summary = "Update where the caller is listening",
    security(("bearer" = [])),
    request_body = PlaybackBody,
    responses(
        (status = 200, description = "The new state", body = PlaybackState),
        (status = 409, description = "`version` was not the current one; nothing stored. The current state is under `current`", body = StalePlayback),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "No such track", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
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
            let body = StalePlayback {
                error: ErrorDetail {
                    code: err.code.as_str().to_owned(),
                    message: err.message,
                },
                current,
            };
            Ok((StatusCode::CONFLICT, Json(body)).into_response())
        }
    }
}

#[utoipa::path(
    get,
    path = "/v1/me/search-history",
    tag = "library",
    summary = "The caller's remembered searches",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "Page size"),
    ),
    responses(
        (status = 200, description = "Searches, newest first", body = SearchHistory),
        (status = 400, description = "A parameter or the body is malformed (the message says what was expected)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
async fn search_history(
    State(state): State<AppState>,
    auth: Authorization,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let entries = library(&state)
        .search_history(&principal, params.number("limit")?)
        .await?;
    Ok(Json(SearchHistory { items: entries }).into_response())
}

#[utoipa::path(
    delete,
    path = "/v1/me/search-history",
    tag = "library",
    summary = "Forget the caller's searches",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Forgotten"),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database (or, for an entity not stored yet, its provider) is unavailable", body = ErrorBody),
    )
)]
async fn clear_search_history(
    State(state): State<AppState>,
    auth: Authorization,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    library(&state).clear_search_history(&principal).await?;
    Ok(no_content())
}
