//! `GET album/{mbid}`: the album with every release, medium and track, and every artist its tracks
//! are credited to (Lidarr fails the whole album when a track's artist is missing from `artists`).
//! The album answers of searches and fingerprint lookups are built here too.

use axum::extract::{Path, State};
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;

use super::model::{self, AlbumParts, ArtistResource};
use super::{parse_mbid, respond, SkyError};
use crate::cache::CachedRecord;
use crate::domain::{Entity, EntityKind, Mbid};
use crate::http::AppState;
use crate::service::ServiceError;

/// Artists of one album looked up at once.
const ARTIST_LOOKUPS: usize = 8;

/// The longest an album or a search answer waits for an artist it could answer without.
pub const OPTIONAL_LOOKUP: std::time::Duration = std::time::Duration::from_secs(1);

/// `GET album/{mbid}`.
pub async fn album(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    respond(answer(&state, &id).await)
}

async fn answer(state: &AppState, id: &str) -> Result<Bytes, SkyError> {
    let mbid = parse_mbid(id)?;
    let record = album_record(state, mbid).await?;
    if let Some(body) = state.skyhook.get(EntityKind::Album, &record).await {
        return Ok(body);
    }
    let resource = build(state, &record, true).await?;
    let body = Bytes::from(
        serde_json::to_vec(&resource)
            .map_err(|e| SkyError::from_service(ServiceError::internal(e), ""))?,
    );
    state
        .skyhook
        .put(EntityKind::Album, &record, body.clone())
        .await;
    Ok(body)
}

/// The album's record, through the database-first service.
pub async fn album_record(state: &AppState, mbid: Mbid) -> Result<CachedRecord, SkyError> {
    state
        .metadata
        .get(EntityKind::Album, &mbid.to_entity_id().to_string(), false)
        .await
        .map_err(|e| SkyError::from_service(e, "Album not found"))
}

/// The album answer of `record`, with its releases when `with_releases`.
pub async fn build(
    state: &AppState,
    record: &CachedRecord,
    with_releases: bool,
) -> Result<model::AlbumResource, SkyError> {
    let Entity::Album(album) = &record.entity else {
        return Err(SkyError::from_service(
            ServiceError::internal("an album lookup answered another kind"),
            "",
        ));
    };
    let releases = if with_releases {
        state
            .metadata
            .album_releases(album.id)
            .await
            .map_err(SkyError::dependency)?
    } else {
        Vec::new()
    };
    let credited = model::album_artist_ids(album, &releases);
    let artists = artists(state, &credited).await?;
    let mut ids = vec![album.id];
    for release in &releases {
        ids.push(release.id);
        for track in release.media.iter().flat_map(|m| &m.tracks) {
            ids.extend(track.release_track_id);
            ids.extend(track.track_id);
        }
    }
    let merged = state
        .metadata
        .merged_into(&ids)
        .await
        .map_err(SkyError::dependency)?;
    model::album(AlbumParts {
        album,
        enriched: &record.enriched,
        releases: &releases,
        artists,
        merged: &merged,
    })
    .ok_or_else(|| {
        SkyError::dependency(ServiceError::new(
            crate::service::ErrorCode::Unavailable,
            format!("album {} is credited to no artist", album.id),
        ))
    })
}

/// The artists of an album: the first (its own artist) must be looked up; the others (track
/// artists of compilations) are looked up too, and one that cannot be fetched now, or within
/// [`OPTIONAL_LOOKUP`] (a compilation may credit dozens of artists MusicBrainz gives one a second;
/// their fetches go on in the background for the next read), is answered with its ID and credited
/// name, which is all Lidarr needs to list it.
async fn artists(
    state: &AppState,
    credited: &[(Mbid, String)],
) -> Result<Vec<ArtistResource>, SkyError> {
    let looked_up: Vec<_> = futures::stream::iter(credited.iter().cloned())
        .map(|(id, name)| {
            let state = state.clone();
            let first = credited.first().map(|(f, _)| *f) == Some(id);
            async move {
                let key = id.to_entity_id().to_string();
                let lookup = state.metadata.get(EntityKind::Artist, &key, false);
                let found = if first {
                    lookup.await
                } else {
                    tokio::time::timeout(OPTIONAL_LOOKUP, lookup)
                        .await
                        .unwrap_or_else(|_| {
                            Err(ServiceError::new(
                                crate::service::ErrorCode::Unavailable,
                                "still being fetched",
                            ))
                        })
                };
                (id, name, found)
            }
        })
        .buffered(ARTIST_LOOKUPS)
        .collect()
        .await;
    let ids: Vec<Mbid> = looked_up.iter().map(|(id, _, _)| *id).collect();
    let merged = state
        .metadata
        .merged_into(&ids)
        .await
        .map_err(SkyError::dependency)?;
    let mut artists = Vec::with_capacity(looked_up.len());
    for (index, (id, name, found)) in looked_up.into_iter().enumerate() {
        match found {
            Ok(record) => match &record.entity {
                Entity::Artist(artist) => {
                    let mut resource = model::artist(artist, &record.enriched, &merged, None);
                    // The credit names the artist by the MBID asked for; keep it when merged.
                    resource.id = id.to_string();
                    artists.push(resource);
                }
                _ => artists.push(model::credited_artist(id, &name)),
            },
            Err(err) if index == 0 => return Err(SkyError::dependency(err)),
            Err(err) => {
                tracing::debug!(%id, error = %err.message, "track artist answered by its credit");
                artists.push(model::credited_artist(id, &name));
            }
        }
    }
    Ok(artists)
}
