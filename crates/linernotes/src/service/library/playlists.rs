//! Playlists: creating, reading, editing and deleting them and their items; ownership and visibility
//! answered as the module doc of the library service says.

use futures::stream::{self, StreamExt, TryStreamExt};
use uuid::Uuid;

use super::{page, text_field, LibraryService, DEFAULT_PAGE, MAX_PAGE};
use crate::domain::library::{AddedItems, Playlist, PlaylistItem, PlaylistPage, PlaylistSummary};
use crate::domain::{EntityKind, Mbid};
use crate::service::accounts::Principal;
use crate::service::{ErrorCode, ServiceError};
use crate::store::library::{LibraryStoreError, PlaylistChange};

/// Longest playlist name and description, in characters.
const MAX_NAME_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Track IDs resolved at once when adding to a playlist.
const RESOLVE_CONCURRENCY: usize = 8;

/// Changes to a playlist as a client sends them (unvalidated).
#[derive(Debug, Clone, Default)]
pub struct PlaylistEdit {
    /// New name.
    pub name: Option<String>,
    /// New description (empty clears).
    pub description: Option<String>,
    /// New visibility.
    pub public: Option<bool>,
}

/// Parses a playlist ID (a UUID).
fn playlist_id(text: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(text.trim()).map_err(|_| {
        ServiceError::invalid(format!(
            "'{text}' is not a playlist ID; expected a UUID such as 0b7c6f1e-2d3a-4c5b-8e9f-a0b1c2d3e4f5"
        ))
    })
}

/// Parses a playlist item ID (a positive whole number).
fn item_id(text: &str) -> Result<i64, ServiceError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ServiceError::invalid(format!(
                "'{text}' is not a playlist item ID; expected a positive whole number"
            ))
        })
}

/// The answer for a playlist that is missing or that the caller may not see.
fn playlist_not_found(id: Uuid) -> ServiceError {
    ServiceError::not_found(format!("no playlist {id}"))
}

/// Maps a refused write about playlist `id`.
fn playlist_error(id: Uuid, err: LibraryStoreError, item: Option<i64>) -> ServiceError {
    match err {
        // Someone else's private playlist is indistinguishable from a missing one.
        LibraryStoreError::PlaylistNotFound | LibraryStoreError::NotOwner { public: false } => {
            playlist_not_found(id)
        }
        LibraryStoreError::NotOwner { public: true } => ServiceError::new(
            ErrorCode::PermissionDenied,
            format!("playlist {id} belongs to another user; only its owner can change it"),
        ),
        LibraryStoreError::ItemNotFound => ServiceError::not_found(format!(
            "playlist {id} has no item {}",
            item.map_or_else(String::new, |i| i.to_string())
        )),
        LibraryStoreError::PositionOutOfRange { position, max } => {
            if max < 0 {
                ServiceError::invalid(format!(
                    "position {position} is out of range: the playlist is empty"
                ))
            } else {
                ServiceError::invalid(format!(
                    "position must be between 0 and {max}, got {position}"
                ))
            }
        }
        LibraryStoreError::TooManyItems { limit, current } => ServiceError::invalid(format!(
            "a playlist holds at most {limit} items; this one has {current}, so at most {} more can be added",
            (limit - current).max(0)
        )),
        LibraryStoreError::TooManyPlaylists { limit } => ServiceError::invalid(format!(
            "you own {limit} playlists, the most allowed; delete one to create another"
        )),
        LibraryStoreError::Store(err) => err.into(),
    }
}

impl LibraryService {
    /// Creates a playlist (private unless `public`).
    #[tracing::instrument(skip(self, principal, description), fields(user = %principal.user_id))]
    pub async fn create_playlist(
        &self,
        principal: &Principal,
        name: &str,
        description: Option<&str>,
        public: Option<bool>,
    ) -> Result<Playlist, ServiceError> {
        let name = text_field("name", name, MAX_NAME_CHARS, false, false)?;
        let description = text_field(
            "description",
            description.unwrap_or(""),
            MAX_DESCRIPTION_CHARS,
            true,
            true,
        )?;
        let summary = self
            .inner
            .repo
            .create_playlist(
                principal.user_id,
                &name,
                &description,
                public.unwrap_or(false),
                i64::from(self.inner.settings.max_playlists_per_user),
                self.now(),
            )
            .await
            .map_err(|e| playlist_error(Uuid::nil(), e, None))?;
        Ok(summary.with_items(Vec::new()))
    }

    /// The caller's playlists, newest first.
    pub async fn list_playlists(
        &self,
        principal: &Principal,
        limit: Option<u32>,
        offset: Option<u32>,
    ) -> Result<PlaylistPage, ServiceError> {
        let limit = page(limit, DEFAULT_PAGE, MAX_PAGE)?;
        Ok(self
            .inner
            .repo
            .list_playlists(principal.user_id, limit, i64::from(offset.unwrap_or(0)))
            .await?)
    }

    /// A playlist with its items in order (all of them unless `limit`/`offset` page them). Public ones
    /// are readable by anyone, even without a token; private ones only by their owner (404 for others).
    pub async fn get_playlist(
        &self,
        viewer: Option<&Principal>,
        id: &str,
        limit: Option<u32>,
        offset: Option<u32>,
    ) -> Result<Playlist, ServiceError> {
        let id = playlist_id(id)?;
        let max = self.inner.settings.max_playlist_items;
        let limit = page(Some(limit.unwrap_or(max)), max, max)?;
        let playlist = self
            .inner
            .repo
            .playlist(id, limit, i64::from(offset.unwrap_or(0)))
            .await?
            .ok_or_else(|| playlist_not_found(id))?;
        let owner = viewer.is_some_and(|v| v.user_id == playlist.owner_id);
        if playlist.public || owner {
            Ok(playlist)
        } else {
            Err(playlist_not_found(id))
        }
    }

    /// Renames, describes or changes the visibility of one of the caller's playlists.
    #[tracing::instrument(skip(self, principal, edit), fields(user = %principal.user_id))]
    pub async fn update_playlist(
        &self,
        principal: &Principal,
        id: &str,
        edit: PlaylistEdit,
    ) -> Result<PlaylistSummary, ServiceError> {
        let id = playlist_id(id)?;
        let change = PlaylistChange {
            name: edit
                .name
                .map(|n| text_field("name", &n, MAX_NAME_CHARS, false, false))
                .transpose()?,
            description: edit
                .description
                .map(|d| text_field("description", &d, MAX_DESCRIPTION_CHARS, true, true))
                .transpose()?,
            public: edit.public,
        };
        self.inner
            .repo
            .update_playlist(id, principal.user_id, change, self.now())
            .await
            .map_err(|e| playlist_error(id, e, None))
    }

    /// Deletes one of the caller's playlists with its items.
    #[tracing::instrument(skip(self, principal), fields(user = %principal.user_id))]
    pub async fn delete_playlist(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<(), ServiceError> {
        let id = playlist_id(id)?;
        self.inner
            .repo
            .delete_playlist(id, principal.user_id)
            .await
            .map_err(|e| playlist_error(id, e, None))
    }

    /// Adds tracks at `position` (the end when absent). Every ID is resolved first; then all are
    /// inserted in one transaction, or none.
    #[tracing::instrument(skip(self, principal, track_ids), fields(user = %principal.user_id, n = track_ids.len()))]
    pub async fn add_items(
        &self,
        principal: &Principal,
        id: &str,
        track_ids: &[String],
        position: Option<i64>,
    ) -> Result<AddedItems, ServiceError> {
        let id = playlist_id(id)?;
        let max_batch = self.inner.settings.max_tracks_per_add as usize;
        if track_ids.is_empty() {
            return Err(ServiceError::invalid(
                "track_ids must list at least one track ID",
            ));
        }
        if track_ids.len() > max_batch {
            return Err(ServiceError::invalid(format!(
                "at most {max_batch} tracks can be added at once, got {}",
                track_ids.len()
            )));
        }
        if let Some(position) = position {
            if position < 0 {
                return Err(ServiceError::invalid(format!(
                    "position must not be negative, got {position}"
                )));
            }
        }
        // Check access before resolving (which may ask MusicBrainz): a cheap read, then the edit
        // itself checks again under the lock.
        match self.inner.repo.playlist_access(id).await? {
            Some((owner, public)) if owner != principal.user_id => {
                return Err(playlist_error(
                    id,
                    LibraryStoreError::NotOwner { public },
                    None,
                ))
            }
            Some(_) => {}
            None => return Err(playlist_not_found(id)),
        }
        let owned: Vec<(usize, String)> = track_ids.iter().cloned().enumerate().collect();
        let tracks: Vec<Mbid> = stream::iter(owned)
            .map(|(i, track_id)| {
                let service = self.clone();
                async move {
                    service
                        .canonical(EntityKind::Track, &track_id)
                        .await
                        .map_err(|e| ServiceError {
                            message: format!("track_ids[{i}] ({track_id}): {}", e.message),
                            ..e
                        })
                }
            })
            .buffered(RESOLVE_CONCURRENCY)
            .try_collect()
            .await?;
        self.inner
            .repo
            .add_items(
                id,
                principal.user_id,
                &tracks,
                position,
                i64::from(self.inner.settings.max_playlist_items),
                self.now(),
            )
            .await
            .map_err(|e| playlist_error(id, e, None))
    }

    /// Removes one item of one of the caller's playlists.
    #[tracing::instrument(skip(self, principal), fields(user = %principal.user_id))]
    pub async fn remove_item(
        &self,
        principal: &Principal,
        id: &str,
        item: &str,
    ) -> Result<(), ServiceError> {
        let id = playlist_id(id)?;
        let item = item_id(item)?;
        self.inner
            .repo
            .remove_item(id, principal.user_id, item, self.now())
            .await
            .map_err(|e| playlist_error(id, e, Some(item)))
    }

    /// Moves one item to `position` (0-based, within the playlist).
    #[tracing::instrument(skip(self, principal), fields(user = %principal.user_id))]
    pub async fn move_item(
        &self,
        principal: &Principal,
        id: &str,
        item: &str,
        position: i64,
    ) -> Result<PlaylistItem, ServiceError> {
        let id = playlist_id(id)?;
        let item = item_id(item)?;
        self.inner
            .repo
            .move_item(id, principal.user_id, item, position, self.now())
            .await
            .map_err(|e| playlist_error(id, e, Some(item)))
    }
}
