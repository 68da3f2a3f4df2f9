//! The `linernotes.v1.LibraryService` adapter: read the bearer token from the call, call one
//! library method, convert the answer. A stale playback version is `ABORTED` with the current state in
//! the message.

use tonic::{Request, Response, Status};

use super::pb;
use crate::domain::format_timestamp;
use crate::domain::library::{
    Favorite, PlaybackState, PlaybackUpdate, Playlist, PlaylistItem, PlaylistSummary, TrackSummary,
};
use crate::service::accounts::Principal;
use crate::service::library::{PlayReport, PlaybackReport, PlaylistEdit};
use crate::service::{AccountService, LibraryService};

/// Serves `LibraryService` from the service layer.
#[derive(Clone)]
pub struct LibraryAdapter {
    library: LibraryService,
    accounts: AccountService,
}

impl LibraryAdapter {
    /// Wraps the services.
    pub fn new(library: LibraryService, accounts: AccountService) -> Self {
        Self { library, accounts }
    }

    async fn principal<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        super::auth::principal(&self.accounts, request).await
    }
}

fn empty(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty()).then_some(text)
}

fn track(t: TrackSummary) -> pb::TrackSummary {
    pb::TrackSummary {
        id: t.id.to_entity_id().to_string(),
        title: t.title,
        artist_credit_name: t.artist_credit_name.unwrap_or_default(),
        length_ms: t.length_ms,
    }
}

fn favorite(f: Favorite) -> pb::Favorite {
    pb::Favorite {
        id: f.id.to_entity_id().to_string(),
        r#type: f.kind.as_str().to_owned(),
        name: f.name,
        added_at: format_timestamp(f.added_at),
    }
}

fn item(i: PlaylistItem) -> pb::PlaylistItem {
    pb::PlaylistItem {
        item_id: i.item_id,
        position: i.position,
        track: Some(track(i.track)),
    }
}

fn playlist(p: Playlist) -> pb::Playlist {
    pb::Playlist {
        id: p.id.to_string(),
        name: p.name,
        description: p.description.unwrap_or_default(),
        public: p.public,
        owner_id: p.owner_id.to_string(),
        items: p.items.into_iter().map(item).collect(),
        total: p.total,
    }
}

fn summary(p: PlaylistSummary) -> pb::PlaylistSummary {
    pb::PlaylistSummary {
        id: p.id.to_string(),
        name: p.name,
        description: p.description.unwrap_or_default(),
        public: p.public,
        owner_id: p.owner_id.to_string(),
        total: p.total,
        created_at: format_timestamp(p.created_at),
        updated_at: format_timestamp(p.updated_at),
    }
}

fn playback(s: PlaybackState) -> pb::PlaybackState {
    pb::PlaybackState {
        track: s.track.map(track),
        position_ms: s.position_ms,
        device: s.device,
        version: s.version,
        updated_at: s.updated_at.map(format_timestamp),
    }
}

#[tonic::async_trait]
impl pb::library_service_server::LibraryService for LibraryAdapter {
    async fn add_favorite(
        &self,
        request: Request<pb::FavoriteRequest>,
    ) -> Result<Response<pb::Favorite>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let added = self
            .library
            .add_favorite(&principal, &r.id, empty(&r.r#type))
            .await?;
        Ok(Response::new(favorite(added)))
    }

    async fn remove_favorite(
        &self,
        request: Request<pb::FavoriteRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        self.library
            .remove_favorite(&principal, &r.id, empty(&r.r#type))
            .await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn list_favorites(
        &self,
        request: Request<pb::ListFavoritesRequest>,
    ) -> Result<Response<pb::ListFavoritesResponse>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let page = self
            .library
            .list_favorites(&principal, empty(&r.r#type), r.limit, Some(r.offset))
            .await?;
        Ok(Response::new(pb::ListFavoritesResponse {
            items: page.items.into_iter().map(favorite).collect(),
            total: page.total,
            offset: page.offset,
        }))
    }

    async fn create_playlist(
        &self,
        request: Request<pb::CreatePlaylistRequest>,
    ) -> Result<Response<pb::Playlist>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let created = self
            .library
            .create_playlist(&principal, &r.name, Some(&r.description), Some(r.public))
            .await?;
        Ok(Response::new(playlist(created)))
    }

    async fn list_playlists(
        &self,
        request: Request<pb::ListPlaylistsRequest>,
    ) -> Result<Response<pb::ListPlaylistsResponse>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let page = self
            .library
            .list_playlists(&principal, r.limit, Some(r.offset))
            .await?;
        Ok(Response::new(pb::ListPlaylistsResponse {
            playlists: page.playlists.into_iter().map(summary).collect(),
            total: page.total,
            offset: page.offset,
        }))
    }

    async fn get_playlist(
        &self,
        request: Request<pb::GetPlaylistRequest>,
    ) -> Result<Response<pb::Playlist>, Status> {
        // Public playlists need no token; a token that is sent must be valid.
        let viewer = super::auth::optional_principal(&self.accounts, &request).await?;
        let r = request.into_inner();
        let found = self
            .library
            .get_playlist(viewer.as_ref(), &r.playlist_id, r.limit, Some(r.offset))
            .await?;
        Ok(Response::new(playlist(found)))
    }

    async fn update_playlist(
        &self,
        request: Request<pb::UpdatePlaylistRequest>,
    ) -> Result<Response<pb::PlaylistSummary>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let updated = self
            .library
            .update_playlist(
                &principal,
                &r.playlist_id,
                PlaylistEdit {
                    name: r.name,
                    description: r.description,
                    public: r.public,
                },
            )
            .await?;
        Ok(Response::new(summary(updated)))
    }

    async fn delete_playlist(
        &self,
        request: Request<pb::PlaylistRef>,
    ) -> Result<Response<pb::Empty>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        self.library
            .delete_playlist(&principal, &r.playlist_id)
            .await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn add_playlist_items(
        &self,
        request: Request<pb::AddPlaylistItemsRequest>,
    ) -> Result<Response<pb::AddPlaylistItemsResponse>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let added = self
            .library
            .add_items(&principal, &r.playlist_id, &r.track_ids, r.position)
            .await?;
        Ok(Response::new(pb::AddPlaylistItemsResponse {
            items: added.items.into_iter().map(item).collect(),
            total: added.total,
        }))
    }

    async fn remove_playlist_item(
        &self,
        request: Request<pb::PlaylistItemRef>,
    ) -> Result<Response<pb::Empty>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        self.library
            .remove_item(&principal, &r.playlist_id, &r.item_id.to_string())
            .await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn move_playlist_item(
        &self,
        request: Request<pb::MovePlaylistItemRequest>,
    ) -> Result<Response<pb::PlaylistItem>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let moved = self
            .library
            .move_item(
                &principal,
                &r.playlist_id,
                &r.item_id.to_string(),
                r.position,
            )
            .await?;
        Ok(Response::new(item(moved)))
    }

    async fn record_play(
        &self,
        request: Request<pb::RecordPlayRequest>,
    ) -> Result<Response<pb::RecordPlayResponse>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let status = self
            .library
            .record_play(
                &principal,
                PlayReport {
                    track_id: r.track_id,
                    played_at: r.played_at,
                    duration_ms: r.duration_ms,
                    client: r.client,
                },
            )
            .await?;
        Ok(Response::new(pb::RecordPlayResponse {
            status: status.as_str().to_owned(),
        }))
    }

    async fn list_history(
        &self,
        request: Request<pb::ListHistoryRequest>,
    ) -> Result<Response<pb::ListHistoryResponse>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let page = self
            .library
            .history(&principal, empty(&r.before), r.limit)
            .await?;
        Ok(Response::new(pb::ListHistoryResponse {
            plays: page
                .plays
                .into_iter()
                .map(|p| pb::Play {
                    track: Some(track(p.track)),
                    played_at: format_timestamp(p.played_at),
                    duration_ms: p.duration_ms,
                    client: p.client,
                })
                .collect(),
            next_before: page.next_before.map(format_timestamp),
        }))
    }

    async fn list_play_counts(
        &self,
        request: Request<pb::ListPlayCountsRequest>,
    ) -> Result<Response<pb::ListPlayCountsResponse>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let counts = self
            .library
            .play_counts(&principal, r.limit, Some(r.offset))
            .await?;
        Ok(Response::new(pb::ListPlayCountsResponse {
            items: counts
                .into_iter()
                .map(|c| pb::PlayCount {
                    track: Some(track(c.track)),
                    plays: c.plays,
                    last_played_at: format_timestamp(c.last_played_at),
                })
                .collect(),
        }))
    }

    async fn top_tracks(
        &self,
        request: Request<pb::TopRequest>,
    ) -> Result<Response<pb::TopTracksResponse>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let top = self
            .library
            .top_tracks(&principal, empty(&r.period), r.limit)
            .await?;
        Ok(Response::new(pb::TopTracksResponse {
            period: top.period.as_str().to_owned(),
            items: top
                .items
                .into_iter()
                .map(|t| pb::TopTrack {
                    track: Some(track(t.track)),
                    plays: t.plays,
                })
                .collect(),
        }))
    }

    async fn top_artists(
        &self,
        request: Request<pb::TopRequest>,
    ) -> Result<Response<pb::TopArtistsResponse>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let top = self
            .library
            .top_artists(&principal, empty(&r.period), r.limit)
            .await?;
        Ok(Response::new(pb::TopArtistsResponse {
            period: top.period.as_str().to_owned(),
            items: top
                .items
                .into_iter()
                .map(|a| pb::TopArtist {
                    id: a.id.to_entity_id().to_string(),
                    name: a.name,
                    plays: a.plays,
                })
                .collect(),
        }))
    }

    async fn get_playback(
        &self,
        request: Request<pb::Empty>,
    ) -> Result<Response<pb::PlaybackState>, Status> {
        let principal = self.principal(&request).await?;
        let state = self.library.playback(&principal).await?;
        Ok(Response::new(playback(state)))
    }

    async fn update_playback(
        &self,
        request: Request<pb::UpdatePlaybackRequest>,
    ) -> Result<Response<pb::PlaybackState>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let sent = r.version;
        let outcome = self
            .library
            .update_playback(
                &principal,
                PlaybackReport {
                    track_id: r.track_id,
                    position_ms: r.position_ms,
                    device: r.device,
                    version: r.version,
                },
            )
            .await?;
        match outcome {
            PlaybackUpdate::Updated(state) => Ok(Response::new(playback(state))),
            PlaybackUpdate::Stale(current) => {
                Err(LibraryService::stale_playback_error(&current, sent).into())
            }
        }
    }

    async fn list_search_history(
        &self,
        request: Request<pb::ListSearchHistoryRequest>,
    ) -> Result<Response<pb::ListSearchHistoryResponse>, Status> {
        let principal = self.principal(&request).await?;
        let r = request.into_inner();
        let entries = self.library.search_history(&principal, r.limit).await?;
        Ok(Response::new(pb::ListSearchHistoryResponse {
            items: entries
                .into_iter()
                .map(|e| pb::SearchHistoryEntry {
                    query: e.query,
                    r#type: e.kind.as_str().to_owned(),
                    searched_at: format_timestamp(e.searched_at),
                })
                .collect(),
        }))
    }

    async fn clear_search_history(
        &self,
        request: Request<pb::Empty>,
    ) -> Result<Response<pb::Empty>, Status> {
        let principal = self.principal(&request).await?;
        self.library.clear_search_history(&principal).await?;
        Ok(Response::new(pb::Empty {}))
    }
}
