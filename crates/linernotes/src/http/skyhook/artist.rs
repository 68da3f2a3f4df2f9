//! `GET artist/{mbid}`: the artist with its complete album list (every release group it is first
//! credited on, unfiltered: Lidarr filters by its metadata profile and removes albums missing from
//! the list). A large artist's list is browsed from MusicBrainz page by page the first time; until
//! it is complete the answer is a 503, never a partial list.

use axum::extract::{Path, State};
use axum::response::Response;
use bytes::Bytes;

use super::{model, parse_mbid, respond, SkyError};
use crate::domain::{Entity, EntityKind, Mbid};
use crate::http::AppState;
use crate::service::ServiceError;

/// Artists that stand for no one in particular (`Various Artists`, `[unknown]`): answered with no
/// albums, as upstream, rather than their hundreds of thousands.
const SPECIAL_ARTISTS: [&str; 2] = [
    "89ad4ac3-39f7-470e-963a-56509c546377",
    "125ec42a-7229-4250-afc5-e057484327fe",
];

/// `GET artist/{mbid}`.
pub async fn artist(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    respond(answer(&state, &id).await)
}

async fn answer(state: &AppState, id: &str) -> Result<Bytes, SkyError> {
    let mbid = parse_mbid(id)?;
    let record = state
        .metadata
        .get(EntityKind::Artist, &mbid.to_entity_id().to_string(), false)
        .await
        .map_err(|e| SkyError::from_service(e, "Artist not found"))?;
    if let Some(body) = state.skyhook.get(EntityKind::Artist, &record).await {
        return Ok(body);
    }
    let Entity::Artist(artist) = &record.entity else {
        return Err(SkyError::from_service(
            ServiceError::internal("an artist lookup answered another kind"),
            "",
        ));
    };
    let special = SPECIAL_ARTISTS.contains(&artist.id.to_string().as_str());
    let albums = if special {
        Vec::new()
    } else {
        state
            .metadata
            .artist_discography(artist.id)
            .await
            .map_err(SkyError::dependency)?
            .albums
    };
    let album_ids: Vec<Mbid> = albums.iter().map(|a| a.id).collect();
    let mut ids = album_ids.clone();
    ids.push(artist.id);
    let merged = state
        .metadata
        .merged_into(&ids)
        .await
        .map_err(SkyError::dependency)?;
    let statuses = state
        .metadata
        .release_statuses(&album_ids)
        .await
        .map_err(SkyError::dependency)?;
    let list = model::artist_albums(artist.id, &albums, &statuses, &merged);
    let resource = model::artist(artist, &record.enriched, &merged, Some(list));
    let body = Bytes::from(
        serde_json::to_vec(&resource)
            .map_err(|e| SkyError::from_service(ServiceError::internal(e), ""))?,
    );
    state
        .skyhook
        .put(EntityKind::Artist, &record, body.clone())
        .await;
    Ok(body)
}
