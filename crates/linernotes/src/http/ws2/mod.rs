//! MusicBrainz WS/2 (JSON, read-only) under `/ws/2`, so tools written for MusicBrainz (beets,
//! Picard, Jellyfin, musicbrainz_rs) can be pointed at linernotes.
//!
//! - this file: the routes, the request rules MusicBrainz applies (format, `inc`) and its error
//!   answers;
//! - [`list`]: browse and search (`/ws/2/{resource}?…`), `limit`/`offset`, search queries;
//! - [`render`]: the bodies — a stored MusicBrainz body cut to the requested incs, the browse and
//!   search envelopes, the error body.
//!
//! Lookups read through the metadata service like `/v1` (hot cache, database, one shared upstream
//! flight); browse and search read through it too. Every answer is JSON: a request that would get
//! XML from MusicBrainz (no `fmt=json` and no JSON `Accept`) is answered 406.

mod list;
pub mod render;

use axum::extract::{RawQuery, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ws2::{IncError, IncSet, Ws2Resource};
use crate::http::extract::Segments;
use crate::http::AppState;
use crate::service::metadata::Ws2Lookup;
use crate::service::{ErrorCode, ServiceError};

/// The `/ws/2` routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(lookup))
        .routes(routes!(browse_or_search))
        .routes(routes!(browse_or_search_slash))
}

/// MusicBrainz's error body: `{"error": "…", "help": "For usage, please see: …"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ws2Error {
    /// What went wrong (`Not Found`, or why the request was refused).
    #[schema(example = "Not Found")]
    pub error: String,
    /// Where MusicBrainz documents its web service.
    #[schema(example = "For usage, please see: https://musicbrainz.org/development/mmd")]
    pub help: String,
}

/// A WS/2 answer that is not a body: a status with MusicBrainz's error body.
#[derive(Debug)]
pub struct Ws2Failure {
    status: StatusCode,
    message: String,
}

impl Ws2Failure {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<ServiceError> for Ws2Failure {
    fn from(err: ServiceError) -> Self {
        let status = match err.code {
            ErrorCode::InvalidArgument => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::NotFound => return Self::new(StatusCode::NOT_FOUND, "Not Found"),
            // MusicBrainz answers its own rate limit with 503 too.
            ErrorCode::Unavailable | ErrorCode::ResourceExhausted => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => {
                return Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal server error; the details are in linernotes' log",
                )
            }
        };
        Self::new(status, err.message)
    }
}

impl From<IncError> for Ws2Failure {
    fn from(err: IncError) -> Self {
        Self::bad_request(err.to_string())
    }
}

impl IntoResponse for Ws2Failure {
    fn into_response(self) -> Response {
        json_response(
            self.status,
            Bytes::from(render::error(&self.message).to_string()),
        )
    }
}

/// A JSON answer as MusicBrainz sends it.
fn json_response(status: StatusCode, body: Bytes) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The query string's parameters, decoded as a form (`+` is a space, `%2B` a plus), in order.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: Option<&str>) -> Self {
        Query(
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// Every value of `name`.
    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// The first non-empty value of `name` (MusicBrainz ignores empty parameters).
    fn get(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().find(|value| !value.is_empty())
    }
}

/// Refuses a request that MusicBrainz would answer in XML: `fmt` wins, then `Accept`, where a
/// missing or `*/*` Accept means XML.
fn require_json(query: &Query, headers: &HeaderMap) -> Result<(), Ws2Failure> {
    const ONLY_JSON: &str =
        "Invalid format. linernotes serves the MusicBrainz web service in JSON \
                             only: include fmt=json in the query string, or send the header \
                             Accept: application/json";
    if let Some(fmt) = query.get("fmt") {
        return if fmt == "json" {
            Ok(())
        } else {
            Err(Ws2Failure::new(StatusCode::NOT_ACCEPTABLE, ONLY_JSON))
        };
    }
    let accept = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if accepts_json(&accept) {
        Ok(())
    } else {
        Err(Ws2Failure::new(StatusCode::NOT_ACCEPTABLE, ONLY_JSON))
    }
}

/// Whether an `Accept` header prefers JSON to XML: JSON named with a weight above 0 and at least
/// XML's (wildcards match XML first, as MusicBrainz lists it first).
fn accepts_json(accept: &str) -> bool {
    let mut json: Option<f32> = None;
    let mut xml: f32 = 0.0;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let weight = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "application/json" => json = Some(json.unwrap_or(0.0).max(weight)),
            "application/xml" | "application/*" | "*/*" => xml = xml.max(weight),
            _ => {}
        }
    }
    json.is_some_and(|json| json > 0.0 && json >= xml)
}

/// The resource of a path, or a 400 naming those linernotes serves.
fn resource(name: &str) -> Result<Ws2Resource, Ws2Failure> {
    Ws2Resource::parse(name).ok_or_else(|| {
        Ws2Failure::bad_request(format!(
            "{name} is not a resource linernotes serves; expected one of artist, release-group, \
             release, recording, label"
        ))
    })
}

/// Looks up one entity.
#[utoipa::path(
    get,
    path = "/ws/2/{resource}/{mbid}",
    tag = "musicbrainz-ws2",
    summary = "MusicBrainz WS/2 lookup",
    description = "The entity as MusicBrainz serves it for the requested incs (same keys, nesting, \
                   nulls and value types), from linernotes' database first. A merged MBID answers \
                   301 to the surviving one.",
    params(
        ("resource" = String, Path, description = "`artist`, `release-group`, `release`, `recording` or `label`", example = "artist"),
        ("mbid" = String, Path, description = "The MBID", example = "5b11f4ce-a62d-471e-81fc-a69a8278c7da"),
        ("inc" = Option<String>, Query, description = "Subqueries, joined with `+` or spaces (`aliases+tags`)"),
        ("fmt" = Option<String>, Query, description = "`json` (XML is not served)"),
        ("Accept" = Option<String>, Header, description = "`application/json` when `fmt` is not given"),
    ),
    responses(
        (status = 200, description = "The entity, in MusicBrainz's JSON", body = Object, content_type = "application/json; charset=utf-8"),
        (status = 301, description = "The MBID was merged; `Location` names the surviving one"),
        (status = 400, description = "Unknown resource, malformed MBID, or an unknown, repeated or dependent inc", body = Ws2Error, content_type = "application/json; charset=utf-8"),
        (status = 401, description = "A personal inc (`user-*`) was asked for", body = Ws2Error, content_type = "application/json; charset=utf-8"),
        (status = 404, description = "MusicBrainz does not know the MBID", body = Ws2Error, content_type = "application/json; charset=utf-8"),
        (status = 406, description = "XML was asked for (neither `fmt=json` nor a JSON `Accept`)", body = Ws2Error, content_type = "application/json; charset=utf-8"),
        (status = 503, description = "MusicBrainz is unavailable and nothing serving the request is stored", body = Ws2Error, content_type = "application/json; charset=utf-8"),
    )
)]
async fn lookup(
    State(state): State<AppState>,
    Segments((resource_name, mbid)): Segments<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Ws2Failure> {
    let resource = resource(&resource_name)?;
    let query = Query::parse(raw.as_deref());
    require_json(&query, &headers)?;
    let inc = IncSet::parse(resource, &query.all("inc"))?;
    match state
        .metadata
        .musicbrainz_body(resource, &mbid, &inc)
        .await?
    {
        Ws2Lookup::Body(body) => {
            let key = inc.to_string();
            let bytes = body.rendered(&key, |stored| {
                Bytes::from(render::lookup(resource, stored, &inc).to_string())
            });
            Ok(json_response(StatusCode::OK, bytes))
        }
        Ws2Lookup::Moved(canonical) => {
            let mut location = format!("/ws/2/{}/{}", resource.name(), canonical.as_uuid());
            if let Some(raw) = raw.filter(|r| !r.is_empty()) {
                location.push('?');
                location.push_str(&raw);
            }
            Ok((StatusCode::MOVED_PERMANENTLY, [(LOCATION, location)]).into_response())
        }
    }
}

/// Browses or searches one resource (`/ws/2/{resource}?query=…` or `?<linked>=<mbid>`).
#[utoipa::path(
    get,
    path = "/ws/2/{resource}",
    tag = "musicbrainz-ws2",
    summary = "MusicBrainz WS/2 browse or search",
    description = "With `query`: a search in MusicBrainz's envelope (`created`, `count`, `offset` \
                   and the results with their `score`), answered from linernotes' search index. \
                   With a linked entity (`release-group=` for releases, `artist=` for release \
                   groups, `release=` for recordings): a browse page in MusicBrainz's envelope \
                   (`<entity>-count`, `<entity>-offset`).",
    params(
        ("resource" = String, Path, description = "`artist`, `release-group`, `release`, `recording` or `label`", example = "release"),
        ("query" = Option<String>, Query, description = "Search text (Lucene fields such as `release:(…)` are read as words)"),
        ("release-group" = Option<String>, Query, description = "Browse the releases of this release group"),
        ("artist" = Option<String>, Query, description = "Browse the release groups of this artist"),
        ("release" = Option<String>, Query, description = "Browse the recordings of this release"),
        ("limit" = Option<String>, Query, description = "Page size, 1–100 (default 25)"),
        ("offset" = Option<String>, Query, description = "Results to skip"),
        ("inc" = Option<String>, Query, description = "Subqueries of each browsed entity"),
        ("fmt" = Option<String>, Query, description = "`json` (XML is not served)"),
        ("Accept" = Option<String>, Header, description = "`application/json` when `fmt` is not given"),
    ),
    responses(
        (status = 200, description = "The page, in MusicBrainz's JSON", body = Object, content_type = "application/json; charset=utf-8"),
        (status = 400, description = "Neither a query nor a linked entity, or a malformed parameter", body = Ws2Error, content_type = "application/json; charset=utf-8"),
        (status = 404, description = "The linked entity does not exist", body = Ws2Error, content_type = "application/json; charset=utf-8"),
        (status = 406, description = "XML was asked for (neither `fmt=json` nor a JSON `Accept`)", body = Ws2Error, content_type = "application/json; charset=utf-8"),
        (status = 503, description = "MusicBrainz is unavailable and nothing is stored", body = Ws2Error, content_type = "application/json; charset=utf-8"),
    )
)]
async fn browse_or_search(
    state: State<AppState>,
    segments: Segments<String>,
    raw: RawQuery,
    headers: HeaderMap,
) -> Result<Response, Ws2Failure> {
    list(state, segments, raw, headers).await
}

/// The same as `GET /ws/2/{resource}`, with the trailing slash some clients send.
#[utoipa::path(
    get,
    path = "/ws/2/{resource}/",
    tag = "musicbrainz-ws2",
    summary = "MusicBrainz WS/2 browse or search (trailing slash)",
    params(
        ("resource" = String, Path, description = "`artist`, `release-group`, `release`, `recording` or `label`", example = "release"),
        ("query" = Option<String>, Query, description = "Search text"),
        ("limit" = Option<String>, Query, description = "Page size, 1–100 (default 25)"),
        ("offset" = Option<String>, Query, description = "Results to skip"),
        ("fmt" = Option<String>, Query, description = "`json` (XML is not served)"),
    ),
    responses(
        (status = 200, description = "The page, in MusicBrainz's JSON", body = Object, content_type = "application/json; charset=utf-8"),
        (status = 400, description = "Neither a query nor a linked entity, or a malformed parameter", body = Ws2Error, content_type = "application/json; charset=utf-8"),
        (status = 404, description = "The linked entity does not exist", body = Ws2Error, content_type = "application/json; charset=utf-8"),
        (status = 406, description = "XML was asked for", body = Ws2Error, content_type = "application/json; charset=utf-8"),
        (status = 503, description = "MusicBrainz is unavailable and nothing is stored", body = Ws2Error, content_type = "application/json; charset=utf-8"),
    )
)]
async fn browse_or_search_slash(
    state: State<AppState>,
    segments: Segments<String>,
    raw: RawQuery,
    headers: HeaderMap,
) -> Result<Response, Ws2Failure> {
    list(state, segments, raw, headers).await
}

async fn list(
    State(state): State<AppState>,
    Segments(resource_name): Segments<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Ws2Failure> {
    let resource = resource(&resource_name)?;
    let query = Query::parse(raw.as_deref());
    require_json(&query, &headers)?;
    list::answer(&state, resource, &query).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_served_when_accept_prefers_it() {
        assert!(accepts_json("application/json"));
        assert!(accepts_json("application/json, */*;q=0.8"));
        assert!(accepts_json("application/xml;q=0.5, application/json"));
        assert!(!accepts_json(""));
        assert!(!accepts_json("*/*"));
        assert!(!accepts_json("application/xml"));
        assert!(!accepts_json("application/json;q=0"));
    }
}
