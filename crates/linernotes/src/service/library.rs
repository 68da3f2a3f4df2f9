//! The user library (issue 4): favourites, playlists, listening history with de-duplication, top
//! lists, playback state and search history.
//!
//! Policy lives here:
//! - every method acts for the [`Principal`] that [`AccountService::authenticate`] returned; a private
//!   playlist of someone else is answered exactly like a missing one (404), a public one may be read
//!   by anyone (even without a token) but changed only by its owner (403);
//! - every entity ID is parsed and resolved to its canonical MBID through [`MetadataService::get`]
//!   (which fetches and stores the entity when it is not stored yet) before anything is written, and a
//!   batch is resolved completely before its one transaction, so nothing is stored half-way;
//! - plays and searches are stored only when the user's settings keep that history;
//! - limits come from [`LibrarySettings`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use uuid::Uuid;

use super::accounts::{ExportSection, Principal};
use super::{AccountService, ErrorCode, MetadataService, ServiceError};
use crate::config::LibrarySettings;
use crate::domain::library::{
    AddedItems, Favorite, FavoritePage, HistoryPage, Period, PlayCount, PlayStatus, PlaybackState,
    PlaybackUpdate, Playlist, PlaylistItem, PlaylistPage, PlaylistSummary, SearchHistoryEntry,
    TopArtist, TopList, TopTrack,
};
use crate::domain::{EntityId, EntityKind, Mbid, Namespace, SearchPage, SearchQuery};
use crate::store::library::{LibraryStoreError, NewPlay, PlaybackWrite, PlaylistChange};
use crate::store::LibraryRepo;
use crate::support::Clock;

/// Default and largest page of favourites and playlists.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;
/// Default and largest page of history.
const DEFAULT_HISTORY: u32 = 50;
const MAX_HISTORY: u32 = 500;
/// Default and largest top list.
const DEFAULT_TOP: u32 = 25;
const MAX_TOP: u32 = 200;
/// Longest playlist name and description, in characters.
const MAX_NAME_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Longest device and client names, in characters.
const MAX_DEVICE_CHARS: usize = 100;
/// Track IDs resolved at once when adding to a playlist.
const RESOLVE_CONCURRENCY: usize = 8;

/// The library service. Cheap to clone.
#[derive(Clone)]
pub struct LibraryService {
    inner: Arc<Inner>,
}

struct Inner {
    repo: Arc<dyn LibraryRepo>,
    metadata: MetadataService,
    accounts: AccountService,
    settings: LibrarySettings,
    clock: Arc<dyn Clock>,
}

/// A play as a client reports it (unparsed).
#[derive(Debug, Clone, Default)]
pub struct PlayReport {
    /// The track's ID (any namespace that identifies tracks).
    pub track_id: String,
    /// RFC 3339; now when absent.
    pub played_at: Option<String>,
    /// Milliseconds listened.
    pub duration_ms: Option<i64>,
    /// The client's name.
    pub client: Option<String>,
}

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

/// A playback update as a client sends it.
#[derive(Debug, Clone, Default)]
pub struct PlaybackReport {
    /// The current track.
    pub track_id: String,
    /// Position in ms.
    pub position_ms: i64,
    /// The device's name.
    pub device: String,
    /// The version the client last read (0 when it read none).
    pub version: i64,
}

fn page(limit: Option<u32>, default: u32, max: u32) -> Result<i64, ServiceError> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ServiceError::invalid(format!(
            "limit must be between 1 and {max}, got {limit}"
        )));
    }
    Ok(i64::from(limit))
}

fn playlist_id(text: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(text.trim()).map_err(|_| {
        ServiceError::invalid(format!(
            "'{text}' is not a playlist ID; expected a UUID such as 0b7c6f1e-2d3a-4c5b-8e9f-a0b1c2d3e4f5"
        ))
    })
}

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

fn kind_param(kind: Option<&str>) -> Result<Option<EntityKind>, ServiceError> {
    match kind.map(str::trim) {
        None | Some("") => Ok(None),
        Some(kind) => kind
            .parse::<EntityKind>()
            .map(Some)
            .map_err(|e| ServiceError::invalid(format!("type: {e}"))),
    }
}

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

fn text_field(
    name: &str,
    value: &str,
    max: usize,
    allow_empty: bool,
) -> Result<String, ServiceError> {
    let value = value.trim();
    if value.is_empty() && !allow_empty {
        return Err(ServiceError::invalid(format!("{name} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(ServiceError::invalid(format!(
            "{name} must be at most {max} characters"
        )));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ServiceError::invalid(format!(
            "{name} must not contain control characters"
        )));
    }
    Ok(value.to_owned())
}

impl LibraryService {
    /// Wires the service to its store, the metadata service (ID resolution), the accounts service
    /// (privacy settings), its settings and the clock.
    pub fn new(
        repo: Arc<dyn LibraryRepo>,
        metadata: MetadataService,
        accounts: AccountService,
        settings: LibrarySettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                repo,
                metadata,
                accounts,
                settings,
                clock,
            }),
        }
    }

    /// The part of the account export this library contributes (register it with
    /// [`AccountService::add_export_section`]).
    pub fn export_section(&self) -> Arc<dyn ExportSection> {
        Arc::new(LibraryExport {
            repo: self.inner.repo.clone(),
        })
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// The canonical MBID of an entity of `kind` known by `id`, fetching it when not stored.
    async fn canonical(&self, kind: EntityKind, id: &str) -> Result<Mbid, ServiceError> {
        let record = self.inner.metadata.get(kind, id, false).await?;
        Ok(record.entity.mbid())
    }

    // ----- favourites -----

    /// The kind a favourite ID stands for: `type` when given, else implied by an ISRC or barcode.
    fn favorite_kind(id: &str, kind: Option<&str>) -> Result<EntityKind, ServiceError> {
        if let Some(kind) = kind_param(kind)? {
            return Ok(kind);
        }
        let parsed = EntityId::parse(id).map_err(|e| ServiceError::invalid(e.to_string()))?;
        match parsed.namespace() {
            Namespace::Isrc => Ok(EntityKind::Track),
            Namespace::Barcode => Ok(EntityKind::Release),
            _ => Err(ServiceError::invalid(
                "type is required for this ID: one of artist, album, release, track, label",
            )),
        }
    }

    /// Adds a favourite (idempotent: adding twice keeps one, with its first date).
    #[tracing::instrument(skip(self, principal), fields(user = %principal.user_id))]
    pub async fn add_favorite(
        &self,
        principal: &Principal,
        id: &str,
        kind: Option<&str>,
    ) -> Result<Favorite, ServiceError> {
        let kind = Self::favorite_kind(id, kind)?;
        let mbid = self.canonical(kind, id).await?;
        Ok(self
            .inner
            .repo
            .add_favorite(principal.user_id, mbid, kind, self.now())
            .await?)
    }

    /// Removes a favourite (idempotent). An MBID needs no type; other IDs are resolved like adding.
    #[tracing::instrument(skip(self, principal), fields(user = %principal.user_id))]
    pub async fn remove_favorite(
        &self,
        principal: &Principal,
        id: &str,
        kind: Option<&str>,
    ) -> Result<(), ServiceError> {
        let parsed = EntityId::parse(id).map_err(|e| ServiceError::invalid(e.to_string()))?;
        let kind = kind_param(kind)?;
        let mbid = match parsed.as_mbid() {
            Some(mbid) => mbid,
            None => {
                let kind = match kind {
                    Some(kind) => kind,
                    None => Self::favorite_kind(id, None)?,
                };
                self.canonical(kind, id).await?
            }
        };
        self.inner
            .repo
            .remove_favorite(principal.user_id, mbid)
            .await?;
        Ok(())
    }

    /// A page of favourites, newest first, optionally of one `type`.
    pub async fn list_favorites(
        &self,
        principal: &Principal,
        kind: Option<&str>,
        limit: Option<u32>,
        offset: Option<u32>,
    ) -> Result<FavoritePage, ServiceError> {
        let kind = kind_param(kind)?;
        let limit = page(limit, DEFAULT_PAGE, MAX_PAGE)?;
        Ok(self
            .inner
            .repo
            .list_favorites(
                principal.user_id,
                kind,
                limit,
                i64::from(offset.unwrap_or(0)),
            )
            .await?)
    }

    // ----- playlists -----

    /// Creates a playlist (private unless `public`).
    #[tracing::instrument(skip(self, principal, description), fields(user = %principal.user_id))]
    pub async fn create_playlist(
        &self,
        principal: &Principal,
        name: &str,
        description: Option<&str>,
        public: Option<bool>,
    ) -> Result<Playlist, ServiceError> {
        let name = text_field("name", name, MAX_NAME_CHARS, false)?;
        let description = text_field(
            "description",
            description.unwrap_or(""),
            MAX_DESCRIPTION_CHARS,
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
        Ok(Playlist {
            id: summary.id,
            name: summary.name,
            description: summary.description,
            public: summary.public,
            owner_id: summary.owner_id,
            items: Vec::new(),
            total: 0,
        })
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
                .map(|n| text_field("name", &n, MAX_NAME_CHARS, false))
                .transpose()?,
            description: edit
                .description
                .map(|d| text_field("description", &d, MAX_DESCRIPTION_CHARS, true))
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

    // ----- listening history -----

    /// Records a play. Answers `deduplicated` when the same track was played within
    /// `library.play_dedup_secs`, and `ignored` when the user keeps no listening history.
    #[tracing::instrument(skip(self, principal, report), fields(user = %principal.user_id))]
    pub async fn record_play(
        &self,
        principal: &Principal,
        report: PlayReport,
    ) -> Result<PlayStatus, ServiceError> {
        let now = self.now();
        let played_at = match report.played_at.as_deref().map(str::trim) {
            None | Some("") => now,
            Some(text) => DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ServiceError::invalid(format!(
                        "played_at '{text}' is not an RFC 3339 timestamp such as 2026-11-27T18:30:00Z"
                    ))
                })?,
        };
        let ahead = i64::try_from(self.inner.settings.max_future_play_secs).unwrap_or(i64::MAX);
        if played_at > now + chrono::Duration::seconds(ahead) {
            return Err(ServiceError::invalid(format!(
                "played_at is in the future (more than {ahead} seconds ahead of the server's clock)"
            )));
        }
        if let Some(duration) = report.duration_ms {
            if duration < 0 {
                return Err(ServiceError::invalid(format!(
                    "duration_ms must not be negative, got {duration}"
                )));
            }
        }
        let client = report
            .client
            .as_deref()
            .map(|c| text_field("client", c, MAX_DEVICE_CHARS, true))
            .transpose()?
            .filter(|c| !c.is_empty());
        let track = self.canonical(EntityKind::Track, &report.track_id).await?;
        let settings = self
            .inner
            .accounts
            .privacy_settings(principal.user_id)
            .await?;
        if !settings.keep_listening_history {
            return Ok(PlayStatus::Ignored);
        }
        Ok(self
            .inner
            .repo
            .record_play(NewPlay {
                user_id: principal.user_id,
                track,
                played_at,
                duration_ms: report.duration_ms,
                client: client.as_deref(),
                recorded_at: now,
                dedup_window: std::time::Duration::from_secs(self.inner.settings.play_dedup_secs),
            })
            .await?)
    }

    /// A page of history before `before` (RFC 3339; newest when absent), newest first.
    pub async fn history(
        &self,
        principal: &Principal,
        before: Option<&str>,
        limit: Option<u32>,
    ) -> Result<HistoryPage, ServiceError> {
        let limit = page(limit, DEFAULT_HISTORY, MAX_HISTORY)?;
        let before = match before.map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(
                DateTime::parse_from_rfc3339(text)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        ServiceError::invalid(format!(
                            "before '{text}' is not an RFC 3339 timestamp such as 2026-11-27T18:30:00Z"
                        ))
                    })?,
            ),
        };
        Ok(self
            .inner
            .repo
            .history(principal.user_id, before, limit)
            .await?)
    }

    /// Play counts per track, most played first.
    pub async fn play_counts(
        &self,
        principal: &Principal,
        limit: Option<u32>,
        offset: Option<u32>,
    ) -> Result<Vec<PlayCount>, ServiceError> {
        let limit = page(limit, DEFAULT_PAGE, MAX_PAGE)?;
        Ok(self
            .inner
            .repo
            .play_counts(principal.user_id, limit, i64::from(offset.unwrap_or(0)))
            .await?)
    }

    /// The most played tracks of a period (`7d`, `30d` (default), `365d`, `all`).
    pub async fn top_tracks(
        &self,
        principal: &Principal,
        period: Option<&str>,
        limit: Option<u32>,
    ) -> Result<TopList<TopTrack>, ServiceError> {
        let period = Period::parse(period).map_err(ServiceError::invalid)?;
        let limit = page(limit, DEFAULT_TOP, MAX_TOP)?;
        let items = self
            .inner
            .repo
            .top_tracks(principal.user_id, period.since(self.now()), limit)
            .await?;
        Ok(TopList { period, items })
    }

    /// The most played artists of a period.
    pub async fn top_artists(
        &self,
        principal: &Principal,
        period: Option<&str>,
        limit: Option<u32>,
    ) -> Result<TopList<TopArtist>, ServiceError> {
        let period = Period::parse(period).map_err(ServiceError::invalid)?;
        let limit = page(limit, DEFAULT_TOP, MAX_TOP)?;
        let items = self
            .inner
            .repo
            .top_artists(principal.user_id, period.since(self.now()), limit)
            .await?;
        Ok(TopList { period, items })
    }

    // ----- playback state -----

    /// The caller's playback state (version 0 and no track before the first update).
    pub async fn playback(&self, principal: &Principal) -> Result<PlaybackState, ServiceError> {
        Ok(self
            .inner
            .repo
            .playback(principal.user_id)
            .await?
            .unwrap_or(PlaybackState {
                track: None,
                position_ms: 0,
                device: None,
                version: 0,
                updated_at: None,
            }))
    }

    /// Writes the playback state if `version` is the current one; otherwise answers the current state
    /// as [`PlaybackUpdate::Stale`] (transports answer 409 / `ABORTED` with it).
    #[tracing::instrument(skip(self, principal, report), fields(user = %principal.user_id))]
    pub async fn update_playback(
        &self,
        principal: &Principal,
        report: PlaybackReport,
    ) -> Result<PlaybackUpdate, ServiceError> {
        if report.position_ms < 0 {
            return Err(ServiceError::invalid(format!(
                "position_ms must not be negative, got {}",
                report.position_ms
            )));
        }
        if report.version < 0 {
            return Err(ServiceError::invalid(format!(
                "version must not be negative, got {}",
                report.version
            )));
        }
        let device = text_field("device", &report.device, MAX_DEVICE_CHARS, false)?;
        let track = self.canonical(EntityKind::Track, &report.track_id).await?;
        Ok(self
            .inner
            .repo
            .update_playback(PlaybackWrite {
                user_id: principal.user_id,
                track,
                position_ms: report.position_ms,
                device: &device,
                expected_version: report.version,
                at: self.now(),
            })
            .await?)
    }

    /// The message of a stale playback update, naming the current state.
    pub fn stale_playback_error(current: &PlaybackState, sent: i64) -> ServiceError {
        let state = serde_json::to_string(current).unwrap_or_default();
        ServiceError::new(
            ErrorCode::Aborted,
            format!(
                "the playback state changed: version {sent} is not the current version {}; \
                 read it again and retry. Current state: {state}",
                current.version
            ),
        )
    }

    // ----- search history -----

    /// Searches through the metadata service; when the caller is authenticated and keeps search
    /// history, the search is remembered.
    #[tracing::instrument(skip(self, viewer))]
    pub async fn search(
        &self,
        viewer: Option<&Principal>,
        text: &str,
        kind: Option<&str>,
        limit: Option<u32>,
        offset: Option<u32>,
    ) -> Result<SearchPage, ServiceError> {
        let page = self
            .inner
            .metadata
            .search(text, kind, limit, offset)
            .await?;
        if let Some(viewer) = viewer {
            let query =
                SearchQuery::parse(text, kind, limit, offset).map_err(ServiceError::invalid)?;
            let settings = self.inner.accounts.privacy_settings(viewer.user_id).await?;
            if settings.keep_search_history {
                self.inner
                    .repo
                    .record_search(viewer.user_id, &query.text, query.kind, self.now())
                    .await?;
            }
        }
        Ok(page)
    }

    /// Remembered searches, newest first.
    pub async fn search_history(
        &self,
        principal: &Principal,
        limit: Option<u32>,
    ) -> Result<Vec<SearchHistoryEntry>, ServiceError> {
        let limit = page(limit, DEFAULT_HISTORY, MAX_HISTORY)?;
        Ok(self
            .inner
            .repo
            .search_history(principal.user_id, limit)
            .await?)
    }

    /// Forgets every remembered search of the caller; how many there were.
    pub async fn clear_search_history(&self, principal: &Principal) -> Result<u64, ServiceError> {
        Ok(self
            .inner
            .repo
            .clear_search_history(principal.user_id)
            .await?)
    }
}

/// The library's section of the account export.
struct LibraryExport {
    repo: Arc<dyn LibraryRepo>,
}

#[async_trait::async_trait]
impl ExportSection for LibraryExport {
    fn name(&self) -> &'static str {
        "library"
    }

    async fn export(&self, user_id: Uuid) -> Result<serde_json::Value, ServiceError> {
        Ok(self.repo.export(user_id).await?)
    }
}
