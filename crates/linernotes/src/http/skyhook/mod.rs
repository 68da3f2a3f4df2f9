//! Lidarr's metadata API ("SkyHook" v0.4), as `api.lidarr.audio` serves it, so a Lidarr pointed at
//! linernotes (its `metadatasource` setting, or a reverse proxy standing in for the real host) reads
//! artists, albums and searches from linernotes' database-first service. The contract, with its
//! sources, is `shared/compat/SKYHOOK.md`.
//!
//! Layout:
//! - this file: the routes, served both at `/` and under `/api/v0.4/` (a custom `metadatasource`
//!   gets routes at its root; the DNS trick keeps the `/api/v0.4` path), `GET /`, `recent/*`, and
//!   the error bodies;
//! - [`artist`]: `artist/{mbid}` with the artist's complete album list;
//! - [`album`]: `album/{mbid}` with every release, medium and track, and the album answers that
//!   searches and fingerprints share;
//! - [`search`]: `search?type=artist|album|all` and `search/fingerprint`;
//! - [`model`]: the wire shapes with the live service's exact keys, and the conversions to them;
//! - [`cache`]: the encoded answers.
//!
//! Status codes are chosen so Lidarr never loses data: 404 only when MusicBrainz says the entity
//! does not exist (Lidarr deletes an artist on a 404 during a refresh), 503 with a JSON body while
//! something cannot be fetched yet, `200 []` for a search without hits, and every error a JSON
//! `{"error": "…"}` body (Lidarr refuses HTML bodies before it looks at the status).
//!
//! These routes are not in `/openapi.json`: their contract is Lidarr's, not linernotes' (other key
//! casing, another error body), and they are registered here rather than with `#[utoipa::path]`.

pub mod album;
pub mod artist;
pub mod cache;
pub mod model;
pub mod search;

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;

pub use cache::AnswerCache;

use crate::domain::Mbid;
use crate::http::AppState;
use crate::service::{ErrorCode, ServiceError};

/// The path prefixes the API is served under: the root (a custom `metadatasource`) and the live
/// service's own.
pub const PREFIXES: [&str; 2] = ["", "/api/v0.4"];

/// Every route of the API, under both prefixes.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/", get(root))
        .route("/api/v0.4", get(root))
        .route("/api/v0.4/", get(root));
    for prefix in PREFIXES {
        router = router
            .route(&format!("{prefix}/artist/{{mbid}}"), get(artist::artist))
            .route(&format!("{prefix}/album/{{mbid}}"), get(album::album))
            .route(&format!("{prefix}/search"), get(search::search))
            .route(
                &format!("{prefix}/search/fingerprint"),
                post(search::fingerprint),
            )
            .route(&format!("{prefix}/recent/artist"), get(recent))
            .route(&format!("{prefix}/recent/album"), get(recent));
    }
    router
}

/// An error answered as `{"error": "…"}`, the live service's body.
#[derive(Debug)]
pub struct SkyError {
    status: StatusCode,
    message: String,
    retry_after_secs: Option<u64>,
}

impl SkyError {
    /// A 400 naming what was expected.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// The answer to a failed lookup of the entity asked for: `not_found` (`Artist not found`) only
    /// when MusicBrainz says it does not exist; 503 while it cannot be fetched.
    pub fn from_service(err: ServiceError, not_found: &str) -> Self {
        let status = match err.code {
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::InvalidArgument => StatusCode::BAD_REQUEST,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        let message = match status {
            StatusCode::NOT_FOUND => not_found.to_owned(),
            StatusCode::INTERNAL_SERVER_ERROR => {
                tracing::error!(error = %err.message, "SkyHook request failed");
                "Internal server error".to_owned()
            }
            _ => err.message,
        };
        Self {
            status,
            message,
            retry_after_secs: err
                .retry_after_secs
                .or((status == StatusCode::SERVICE_UNAVAILABLE).then_some(RETRY_SECS)),
        }
    }

    /// The answer to a failed lookup of something the entity asked for needs (its artist, its
    /// album list): never a 404, which would make Lidarr delete the entity asked for.
    pub fn dependency(err: ServiceError) -> Self {
        match err.code {
            ErrorCode::NotFound | ErrorCode::InvalidArgument => {
                Self::from_service(ServiceError::new(ErrorCode::Unavailable, err.message), "")
            }
            _ => Self::from_service(err, ""),
        }
    }
}

/// The `Retry-After` of a 503 while something is being fetched.
const RETRY_SECS: u64 = 5;

impl IntoResponse for SkyError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message }).to_string();
        let mut response =
            (self.status, [(CONTENT_TYPE, "application/json")], body).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(RETRY_AFTER, secs.into());
        }
        response
    }
}

/// A JSON answer from bytes already encoded.
pub fn json_bytes(body: Bytes) -> Response {
    (StatusCode::OK, [(CONTENT_TYPE, "application/json")], body).into_response()
}

/// A JSON answer of `value`.
pub fn json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => json_bytes(Bytes::from(body)),
        Err(err) => SkyError::from_service(ServiceError::internal(err), "").into_response(),
    }
}

/// Answers `result`, encoded or as its error.
pub fn respond(result: Result<Bytes, SkyError>) -> Response {
    match result {
        Ok(body) => json_bytes(body),
        Err(err) => err.into_response(),
    }
}

/// The MBID in a path, or the live service's 400.
pub fn parse_mbid(text: &str) -> Result<Mbid, SkyError> {
    Mbid::parse(text.trim()).map_err(|_| SkyError::bad_request("Invalid UUID"))
}

/// The query string's parameters, decoded (`%20` and `+` both a space); a value that is not valid
/// UTF-8 is read lossily.
pub fn query_params(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of parameter `name` (case-insensitive, as Lidarr's own parsing is).
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `GET /`: what is serving.
async fn root() -> Response {
    json(&model::ServerInfo {
        version: env!("CARGO_PKG_VERSION"),
        branch: "linernotes",
        commit: "",
        replication_date: None,
    })
}

/// `GET recent/artist` and `recent/album`: always `limited`, so Lidarr refreshes on its own
/// schedule. linernotes fetches on demand and does not follow MusicBrainz's edits, so it cannot say
/// what changed; an empty unlimited list would tell Lidarr nothing changed. Never an error (Lidarr
/// fails on a missing `items`).
async fn recent(axum::extract::RawQuery(query): axum::extract::RawQuery) -> Response {
    let params = query_params(query.as_deref());
    let since = param(&params, "since")
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|secs| DateTime::<Utc>::from_timestamp(secs, 0))
        .unwrap_or_else(Utc::now);
    json(&model::RecentUpdates {
        since: since.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        count: 0,
        limited: true,
        items: Vec::new(),
    })
}
