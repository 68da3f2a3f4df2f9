//! Metadata routes: `/v1/{artists,albums,releases,tracks,labels}/{id}`, `/v1/artists/{id}/albums` and
//! `/v1/search`.

use axum::extract::State;
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use serde::Deserialize;
use serde_json::json;

use crate::config::metadata::is_language_code;
use crate::domain::EntityKind;
use crate::http::extract::{Authorization, JsonBody, Params, Segments};
use crate::http::{ApiError, AppState};
use crate::service::ServiceError;

/// The metadata routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/artists/{id}",
            get(|s, p, q, h| get_entity(EntityKind::Artist, s, p, q, h)),
        )
        .route(
            "/v1/albums/{id}",
            get(|s, p, q, h| get_entity(EntityKind::Album, s, p, q, h)),
        )
        .route(
            "/v1/releases/{id}",
            get(|s, p, q, h| get_entity(EntityKind::Release, s, p, q, h)),
        )
        .route(
            "/v1/tracks/{id}",
            get(|s, p, q, h| get_entity(EntityKind::Track, s, p, q, h)),
        )
        .route(
            "/v1/labels/{id}",
            get(|s, p, q, h| get_entity(EntityKind::Label, s, p, q, h)),
        )
        .route("/v1/artists/{id}/albums", get(list_artist_albums))
        .route(
            "/v1/artists/{id}/links",
            get(|s, p| get_links(EntityKind::Artist, s, p)),
        )
        .route(
            "/v1/albums/{id}/links",
            get(|s, p| get_links(EntityKind::Album, s, p)),
        )
        .route(
            "/v1/releases/{id}/links",
            get(|s, p| get_links(EntityKind::Release, s, p)),
        )
        .route(
            "/v1/tracks/{id}/links",
            get(|s, p| get_links(EntityKind::Track, s, p)),
        )
        .route(
            "/v1/labels/{id}/links",
            get(|s, p| get_links(EntityKind::Label, s, p)),
        )
        .route("/v1/resolve", post(resolve))
        .route("/v1/search", get(search))
}

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

async fn get_links(
    kind: EntityKind,
    State(state): State<AppState>,
    Segments(id): Segments<String>,
) -> Result<Response, ApiError> {
    let (mbid, links) = state.metadata.links(kind, &id).await?;
    Ok(Json(json!({"id": mbid.to_entity_id(), "links": links})).into_response())
}

/// `POST /v1/resolve`: `{"ids": [...], "type": "track"}` (type optional).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    ids: Vec<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

async fn resolve(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ResolveBody>,
) -> Result<Response, ApiError> {
    let results = state
        .metadata
        .resolve_ids(&body.ids, body.kind.as_deref())
        .await?;
    Ok(Json(json!({ "results": results })).into_response())
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
