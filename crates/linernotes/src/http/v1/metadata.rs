//! Metadata routes: `/v1/{artists,albums,releases,tracks,labels}/{id}`, `/v1/artists/{id}/albums` and
//! `/v1/search`.

use axum::extract::State;
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::metadata::is_language_code;
use crate::domain::enrichment::{Link, Lyrics};
use crate::domain::entity::{Album, AlbumPage, Artist, Label, Record, Release, Track};
use crate::domain::search::SearchPage;
use crate::domain::{EntityId, EntityKind};
use crate::http::error::ErrorBody;
use crate::http::extract::{Authorization, JsonBody, Params, Segments};
use crate::http::{ApiError, AppState};
use crate::service::metadata::Resolution;
use crate::service::ServiceError;

/// The metadata routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_artist))
        .routes(routes!(get_album))
        .routes(routes!(get_release))
        .routes(routes!(get_track))
        .routes(routes!(get_label))
        .routes(routes!(list_artist_albums))
        .routes(routes!(get_artist_links))
        .routes(routes!(get_album_links))
        .routes(routes!(get_release_links))
        .routes(routes!(get_track_links))
        .routes(routes!(get_label_links))
        .routes(routes!(resolve))
        .routes(routes!(get_lyrics))
        .routes(routes!(search))
}

/// The ID of an entity in the path, with its namespace.
const ENTITY_ID: &str = "Any known ID of the entity, `<namespace>:<value>` (`musicbrainz:<mbid>`, \
                         `isrc:<isrc>`, `barcode:<upc>`, …)";

/// Describes `GET /v1/<kind>s/{id}` and serves it through [`get_entity`].
macro_rules! entity_route {
    ($name:ident, $kind:expr, $path:literal, $body:ty, $what:literal, $summary:literal) => {
        #[doc = concat!("The ", $what, " with this ID, from the database first.")]
        #[utoipa::path(
            get,
            path = $path,
            tag = "metadata",
            operation_id = stringify!($name),
            summary = $summary,
            params(
                ("id" = String, Path, description = ENTITY_ID, example = "musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da"),
                ("refresh" = Option<bool>, Query, description = "Fetch it from the provider again now"),
                ("lang" = Option<String>, Query, description = "The language of summaries (`en`, `pt-br`); before `Accept-Language`"),
                ("Accept-Language" = Option<String>, Header, description = "The languages of summaries, by weight"),
            ),
            responses(
                (status = 200, description = concat!("The ", $what, ", with how fresh it is"), body = $body),
                (status = 400, description = "The ID or a parameter is malformed", body = ErrorBody),
                (status = 404, description = "No such entity, here or at the provider", body = ErrorBody),
                (status = 503, description = "The provider or the database is unavailable and nothing is stored", body = ErrorBody),
            )
        )]
        async fn $name(
            state: State<AppState>,
            segments: Segments<String>,
            params: Params,
            headers: HeaderMap,
        ) -> Result<Response, ApiError> {
            get_entity($kind, state, segments, params, headers).await
        }
    };
}

entity_route!(
    get_artist,
    EntityKind::Artist,
    "/v1/artists/{id}",
    Record<Artist>,
    "artist",
    "Look up an artist"
);
entity_route!(
    get_album,
    EntityKind::Album,
    "/v1/albums/{id}",
    Record<Album>,
    "album",
    "Look up an album"
);
entity_route!(
    get_release,
    EntityKind::Release,
    "/v1/releases/{id}",
    Record<Release>,
    "release",
    "Look up a release"
);
entity_route!(
    get_track,
    EntityKind::Track,
    "/v1/tracks/{id}",
    Record<Track>,
    "track",
    "Look up a track"
);
entity_route!(
    get_label,
    EntityKind::Label,
    "/v1/labels/{id}",
    Record<Label>,
    "label",
    "Look up a label"
);

async fn get_entity(
    kind: EntityKind,
    State(state): State<AppState>,
    Segments(id): Segments<String>,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let refresh = params.flag("refresh")?;
    let languages = preferred_languages(&params, &headers)?;
    let record = if languages.is_empty() {
        state.metadata.get(kind, &id, refresh).await?
    } else {
        state
            .metadata
            .get_in(kind, &id, refresh, &languages)
            .await?
    };
    let json = record
        .json()
        .map_err(|e| ServiceError::internal(format!("cannot serialize the {kind}: {e}")))?;
    Ok(([(CONTENT_TYPE, "application/json")], json).into_response())
}

/// Describes `GET /v1/<kind>s/{id}/links` and serves it through [`get_links`].
macro_rules! links_route {
    ($name:ident, $kind:expr, $path:literal, $what:literal) => {
        #[doc = concat!("Where the ", $what, " is on other platforms.")]
        #[utoipa::path(
            get,
            path = $path,
            tag = "metadata",
            operation_id = stringify!($name),
            summary = concat!("The ", $what, " on other platforms"),
            params(("id" = String, Path, description = ENTITY_ID, example = "musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da")),
            responses(
                (status = 200, description = "The canonical ID and the links", body = EntityLinks),
                (status = 400, description = "The ID is malformed", body = ErrorBody),
                (status = 404, description = "No such entity, here or at the provider", body = ErrorBody),
                (status = 503, description = "The provider or the database is unavailable and nothing is stored", body = ErrorBody),
            )
        )]
        async fn $name(
            state: State<AppState>,
            segments: Segments<String>,
        ) -> Result<Response, ApiError> {
            get_links($kind, state, segments).await
        }
    };
}

links_route!(
    get_artist_links,
    EntityKind::Artist,
    "/v1/artists/{id}/links",
    "artist"
);
links_route!(
    get_album_links,
    EntityKind::Album,
    "/v1/albums/{id}/links",
    "album"
);
links_route!(
    get_release_links,
    EntityKind::Release,
    "/v1/releases/{id}/links",
    "release"
);
links_route!(
    get_track_links,
    EntityKind::Track,
    "/v1/tracks/{id}/links",
    "track"
);
links_route!(
    get_label_links,
    EntityKind::Label,
    "/v1/labels/{id}/links",
    "label"
);

/// An entity's links to other platforms.
#[derive(Serialize, ToSchema)]
struct EntityLinks {
    /// The entity's canonical ID.
    id: EntityId,
    /// The entity on other platforms.
    links: Vec<Link>,
}

/// How each ID of a resolve request resolved.
#[derive(Serialize, ToSchema)]
struct Resolutions {
    /// One per ID, in the order given.
    results: Vec<Resolution>,
}

async fn get_links(
    kind: EntityKind,
    State(state): State<AppState>,
    Segments(id): Segments<String>,
) -> Result<Response, ApiError> {
    let (mbid, links) = state.metadata.links(kind, &id).await?;
    Ok(Json(EntityLinks {
        id: mbid.to_entity_id(),
        links,
    })
    .into_response())
}

/// `POST /v1/resolve`: `{"ids": [...], "type": "track"}` (type optional).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    /// 1 to 100 IDs, `<namespace>:<value>`.
    #[schema(example = json!(["musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da", "isrc:USRC17607839"]))]
    ids: Vec<String>,
    /// The kind of entity, when the IDs do not say (`artist`, `album`, `release`, `track`, `label`).
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// The canonical IDs of many IDs at once; an ID that is malformed or unknown is answered as such
/// in its place, not as an error of the whole request.
#[utoipa::path(
    post,
    path = "/v1/resolve",
    tag = "metadata",
    summary = "Resolve many IDs to canonical ones",
    request_body = ResolveBody,
    responses(
        (status = 200, description = "One result per ID, in order", body = Resolutions),
        (status = 400, description = "The body is malformed, lists no or over 100 IDs, or names an unknown type", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
async fn resolve(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ResolveBody>,
) -> Result<Response, ApiError> {
    let results = state
        .metadata
        .resolve_ids(&body.ids, body.kind.as_deref())
        .await?;
    Ok(Json(Resolutions { results }).into_response())
}

/// The plain and time-synced lyrics of a track. The first request for them waits for the lyrics
/// provider (at most its interactive deadline); later ones answer what is stored.
#[utoipa::path(
    get,
    path = "/v1/tracks/{id}/lyrics",
    tag = "metadata",
    summary = "A track's lyrics",
    params(("id" = String, Path, description = ENTITY_ID)),
    responses(
        (status = 200, description = "The lyrics, or that the track is instrumental", body = Lyrics),
        (status = 400, description = "The ID is malformed", body = ErrorBody),
        (status = 404, description = "No such track, or no lyrics known for it", body = ErrorBody),
        (status = 503, description = "The provider or the database is unavailable and nothing is stored", body = ErrorBody),
    )
)]
async fn get_lyrics(
    State(state): State<AppState>,
    Segments(id): Segments<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.metadata.lyrics(&id).await?).into_response())
}

/// A page of the artist's albums, earliest first.
#[utoipa::path(
    get,
    path = "/v1/artists/{id}/albums",
    tag = "metadata",
    summary = "List an artist's albums",
    params(
        ("id" = String, Path, description = ENTITY_ID, example = "musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da"),
        ("limit" = Option<u32>, Query, description = "Page size"),
        ("offset" = Option<u32>, Query, description = "Albums to skip"),
        ("refresh" = Option<bool>, Query, description = "Fetch the list from the provider again now"),
    ),
    responses(
        (status = 200, description = "A page of albums", body = AlbumPage),
        (status = 400, description = "The ID or a parameter is malformed", body = ErrorBody),
        (status = 404, description = "No such artist", body = ErrorBody),
        (status = 503, description = "The provider or the database is unavailable", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    get,
    path = "/v1/search",
    tag = "metadata",
    summary = "Search the catalogue",
    security((), ("bearer" = [])),
    params(
        ("q" = String, Query, description = "The search text (1 to 500 characters)", example = "nirvana"),
        ("type" = EntityKind, Query, description = "What to search for", example = "artist"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 100 (25 when absent)"),
        ("offset" = Option<u32>, Query, description = "Results to skip, at most 10000"),
    ),
    responses(
        (status = 200, description = "A page of results, best first", body = SearchPage),
        (status = 400, description = "A parameter is missing or malformed", body = ErrorBody),
        (status = 401, description = "A token was sent but is not valid", body = ErrorBody),
        (status = 503, description = "The provider or the database is unavailable", body = ErrorBody),
    )
)]
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

/// The languages a request prefers for summaries: `?lang=` (which must be a language code), else
/// `Accept-Language` by its weights (primary subtags, lower-case, `*` ignored); empty when neither.
fn preferred_languages(params: &Params, headers: &HeaderMap) -> Result<Vec<String>, ApiError> {
    if let Some(lang) = params.text("lang") {
        let lang = lang.trim().to_ascii_lowercase();
        if !is_language_code(&lang) {
            return Err(ServiceError::invalid(format!(
                "lang must be a language code such as en or pt-br, got '{lang}'"
            ))
            .into());
        }
        return Ok(vec![lang]);
    }
    let header = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Ok(accept_language(header))
}

/// The language codes of an `Accept-Language` header, most wanted first.
fn accept_language(header: &str) -> Vec<String> {
    let mut weighted: Vec<(String, f32)> = header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let tag = pieces.next()?.trim().to_ascii_lowercase();
            let primary = tag.split('-').next()?.to_owned();
            let weight = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            (is_language_code(&primary) && weight > 0.0).then_some((primary, weight))
        })
        .collect();
    weighted.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut languages: Vec<String> = Vec::new();
    for (language, _) in weighted {
        if !languages.contains(&language) {
            languages.push(language);
        }
    }
    languages
}

#[cfg(test)]
mod tests {
    use super::accept_language;

    #[test]
    fn accept_language_is_ordered_by_weight() {
        assert_eq!(
            accept_language("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.95, *;q=0.5"),
            ["fr", "de", "en"]
        );
        assert!(accept_language("").is_empty());
        assert!(accept_language("x-klingon;q=0").is_empty());
    }
}
