//! `GET search?type=artist|album|all&query=…` and `POST search/fingerprint`.
//!
//! Searches run through linernotes' own search (the local index, MusicBrainz when it has nothing)
//! and each hit is answered in full, as upstream does; a hit that cannot be fetched now is answered
//! by what the search knows of it (artists) or left out (albums). No hits is `200 []`, never a 404.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;

use super::model::{self, AlbumResource, ArtistResource, EntityResource};
use super::{album, json, param, query_params, SkyError};
use crate::domain::{Entity, EntityKind, Mbid, SearchHit};
use crate::http::AppState;
use crate::service::metadata::MAX_RECORDINGS;

/// Hits when `limit` is not given (upstream's default).
const DEFAULT_LIMIT: u32 = 10;
/// Most hits one search answers.
const MAX_LIMIT: u32 = 100;
/// Hits expanded at once.
const EXPANSIONS: usize = 4;
/// Albums a fingerprint lookup answers.
const FINGERPRINT_ALBUMS: usize = 5;

/// `GET search`.
pub async fn search(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    match run(&state, query.as_deref()).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn run(state: &AppState, query: Option<&str>) -> Result<Response, SkyError> {
    let params = query_params(query);
    let text: String = param(&params, "query")
        .unwrap_or_default()
        .chars()
        .filter(|c| *c != '\0')
        .collect();
    let text = match text.trim() {
        "" => return Err(SkyError::bad_request("No query provided")),
        "+" => "plus".to_owned(),
        "-" => "minus".to_owned(),
        other => other.to_owned(),
    };
    let kind = match param(&params, "type").map(str::trim) {
        None | Some("") => return Err(SkyError::bad_request("Type not provided")),
        Some(kind) => kind.to_ascii_lowercase(),
    };
    let limit = param(&params, "limit")
        .and_then(|l| l.trim().parse::<u32>().ok())
        .unwrap_or(DEFAULT_LIMIT)
        .clamp(1, MAX_LIMIT);
    let include_tracks =
        param(&params, "includeTracks").is_some_and(|v| matches!(v.trim(), "1" | "true" | "True"));
    let artist = param(&params, "artist")
        .map(str::trim)
        .filter(|a| !a.is_empty());
    match kind.as_str() {
        "artist" => Ok(json(&artists(state, &text, limit).await?)),
        "album" => Ok(json(
            &albums(state, &text, artist, limit, include_tracks).await?,
        )),
        "all" => {
            let albums = albums(state, &text, None, limit, false).await?;
            let artists = artists(state, &text, limit).await?;
            let entities: Vec<EntityResource> = albums
                .into_iter()
                .map(|album| EntityResource {
                    score: 0,
                    artist: None,
                    album: Some(album),
                })
                .chain(artists.into_iter().map(|artist| EntityResource {
                    score: 0,
                    artist: Some(artist),
                    album: None,
                }))
                .collect();
            Ok(json(&entities))
        }
        other => Err(SkyError::bad_request(format!(
            "Unsupported search type {other}"
        ))),
    }
}

/// The hits of one search of `kind`; a query the search refuses, or the provider finds nothing
/// for, has none.
async fn hits(
    state: &AppState,
    text: &str,
    kind: EntityKind,
    limit: u32,
) -> Result<Vec<SearchHit>, SkyError> {
    match state
        .metadata
        .search(text, Some(kind.as_str()), Some(limit), None)
        .await
    {
        Ok(page) => Ok(page.results),
        Err(err)
            if matches!(
                err.code,
                crate::service::ErrorCode::InvalidArgument | crate::service::ErrorCode::NotFound
            ) =>
        {
            Ok(Vec::new())
        }
        Err(err) => Err(SkyError::from_service(err, "")),
    }
}

/// Artist hits, each in full with an empty `Albums` (Lidarr reads the list when adding); a hit
/// not stored yet that cannot be fetched within [`album::OPTIONAL_LOOKUP`] is answered by what the
/// search knows of it (its fetch goes on in the background).
async fn artists(
    state: &AppState,
    text: &str,
    limit: u32,
) -> Result<Vec<ArtistResource>, SkyError> {
    let hits = hits(state, text, EntityKind::Artist, limit).await?;
    let ids: Vec<Mbid> = hits.iter().map(|h| h.id).collect();
    let merged = state
        .metadata
        .merged_into(&ids)
        .await
        .map_err(SkyError::dependency)?;
    Ok(futures::stream::iter(hits)
        .map(|hit| {
            let state = state.clone();
            let merged = &merged;
            async move {
                let key = hit.id.to_entity_id().to_string();
                let lookup = state.metadata.get(EntityKind::Artist, &key, false);
                let found = tokio::time::timeout(album::OPTIONAL_LOOKUP, lookup).await;
                let mut resource = match found.as_ref().map(|r| r.as_ref().map(|r| (&r.entity, r)))
                {
                    Ok(Ok((Entity::Artist(artist), record))) => {
                        model::artist(artist, &record.enriched, merged, None)
                    }
                    _ => {
                        let mut known = model::credited_artist(hit.id, &hit.name);
                        known.disambiguation = hit.disambiguation.clone().unwrap_or_default();
                        known
                    }
                };
                resource.albums = Some(Vec::new());
                resource
            }
        })
        .buffered(EXPANSIONS)
        .collect()
        .await)
}

/// Album hits in full (releases and tracks with `include_tracks`), those of `artist` first; a hit
/// that cannot be fetched now is left out.
async fn albums(
    state: &AppState,
    text: &str,
    artist: Option<&str>,
    limit: u32,
    include_tracks: bool,
) -> Result<Vec<AlbumResource>, SkyError> {
    let hits = hits(state, text, EntityKind::Album, limit).await?;
    let found = expand_albums(state, hits.iter().map(|h| h.id), include_tracks).await;
    let Some(artist) = artist.map(str::to_lowercase) else {
        return Ok(found);
    };
    let by_artist = |album: &AlbumResource| {
        album
            .artists
            .first()
            .is_some_and(|a| a.artistname.to_lowercase().contains(&artist))
    };
    let (mut first, rest): (Vec<_>, Vec<_>) = found.into_iter().partition(by_artist);
    first.extend(rest);
    Ok(first)
}

/// Each album in full, in order; those that cannot be fetched now are left out.
async fn expand_albums(
    state: &AppState,
    ids: impl Iterator<Item = Mbid>,
    with_releases: bool,
) -> Vec<AlbumResource> {
    let ids: Vec<Mbid> = ids.collect();
    futures::stream::iter(ids)
        .map(|id| {
            let state = state.clone();
            async move {
                let record = album::album_record(&state, id).await.ok()?;
                match album::build(&state, &record, with_releases).await {
                    Ok(found) => Some(found),
                    Err(err) => {
                        tracing::debug!(%id, error = ?err, "album hit left out");
                        None
                    }
                }
            }
        })
        .buffered(EXPANSIONS)
        .filter_map(|found| async move { found })
        .collect()
        .await
}

/// `POST search/fingerprint` with a JSON array of recording MBIDs: the albums whose releases hold
/// them best (the release whose track count is nearest the number of recordings, then the most
/// matched), at most five, in full. Only what is stored is searched.
pub async fn fingerprint(State(state): State<AppState>, body: Bytes) -> Response {
    let ids: Vec<String> = match serde_json::from_slice(&body) {
        Ok(ids) => ids,
        Err(_) => {
            return SkyError::bad_request("expected a JSON array of recording MBIDs")
                .into_response()
        }
    };
    if ids.is_empty() {
        return json(&Vec::<AlbumResource>::new());
    }
    if ids.len() > MAX_RECORDINGS {
        return SkyError::bad_request(format!("expected at most {MAX_RECORDINGS} recording MBIDs"))
            .into_response();
    }
    let mut recordings = Vec::with_capacity(ids.len());
    for id in &ids {
        match Mbid::parse(id.trim()) {
            Ok(mbid) => recordings.push(mbid),
            Err(_) => return SkyError::bad_request("Invalid UUID").into_response(),
        }
    }
    recordings.sort();
    recordings.dedup();
    let matches = match state.metadata.releases_with_recordings(&recordings).await {
        Ok(matches) => matches,
        Err(err) => return SkyError::from_service(err, "").into_response(),
    };
    let asked = recordings.len() as f64;
    let mut best: BTreeMap<Mbid, f64> = BTreeMap::new();
    for m in &matches {
        let tracks = m.tracks.max(1) as f64;
        let score = (tracks - asked).abs() + (1.0 - m.matched as f64 / tracks);
        best.entry(m.album)
            .and_modify(|s| *s = s.min(score))
            .or_insert(score);
    }
    let mut ranked: Vec<(Mbid, f64)> = best.into_iter().collect();
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    ranked.truncate(FINGERPRINT_ALBUMS);
    let albums = expand_albums(&state, ranked.into_iter().map(|(id, _)| id), true).await;
    json(&albums)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::ServiceError;

    #[test]
    fn service_errors_of_dependencies_never_answer_404() {
        let err = SkyError::dependency(ServiceError::not_found("gone"));
        assert_eq!(err.into_response().status(), 503);
    }
}
