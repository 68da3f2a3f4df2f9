//! Whole lists the compatibility APIs answer in one response, however long: every album of an
//! artist, every release of an album (with media and tracks). Each is browsed from the provider page
//! by page (100 per page, through the provider's rate limiter) the first time it is asked for, stored,
//! and answered from the database afterwards; a stale list is answered at once and refreshed in the
//! background. A list longer than the interactive deadline allows is still fetched to the end in the
//! background while the waiting client is told to retry (`UNAVAILABLE`), so a large artist costs one
//! 503 and then answers from the database. Concurrent requests for one list share one
//! synchronisation, whichever API asked.
//!
//! Beside them, what those APIs read of stored entities: the MBIDs merged into an entity, release
//! statuses per album, and the releases holding given recordings.

use std::collections::BTreeMap;
use std::future::Future;

use super::MetadataService;
use crate::domain::{AlbumPage, EntityKind, Mbid, Release};
use crate::providers::musicbrainz::BROWSE_PAGE_SIZE;
use crate::providers::{Priority, ProviderError};
use crate::service::{ErrorCode, ServiceError};
use crate::store::metadata::{AlbumListWrite, RecordingMatch, ReleaseListWrite};

/// One page of a provider list, whatever it lists.
struct Page<T> {
    /// What the page held that could be read.
    items: Vec<T>,
    /// How many elements it held, readable or not.
    received: i64,
    /// The list's total.
    total: i64,
    /// Request shape, stored with the raw body.
    request: String,
    /// The raw body.
    raw: serde_json::Value,
}

/// A whole provider list as [`MetadataService::browse_all`] read it.
struct Listed<T> {
    /// Every readable item.
    items: Vec<T>,
    /// Raw pages: (request shape, body).
    pages: Vec<(String, serde_json::Value)>,
    /// The provider's total.
    total: i64,
}

impl MetadataService {
    /// Every album of `artist` (a merged MBID lists the surviving artist's), earliest first, up to
    /// `metadata.max_album_pages` pages of the provider's list. Synchronised as
    /// [`MetadataService::list_artist_albums`] does.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn artist_discography(&self, artist: Mbid) -> Result<AlbumPage, ServiceError> {
        let limit = i64::from(self.inner.settings.max_album_pages) * BROWSE_PAGE_SIZE;
        self.artist_albums(artist, limit, 0, false).await
    }

    /// Every release of `album` (a release group; a merged MBID lists the surviving album's) with its
    /// media and tracks, earliest first.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn album_releases(&self, album: Mbid) -> Result<Vec<Release>, ServiceError> {
        let album = self
            .inner
            .repo
            .resolve(EntityKind::Album, &album.to_entity_id())
            .await?
            .unwrap_or(album);
        let stored = self.inner.repo.album_releases(album).await?;
        if let Some((releases, fetched_at)) = &stored {
            if self.is_stale(EntityKind::Release, *fetched_at) {
                let service = self.clone();
                self.inner.background.spawn(async move {
                    if let Err(err) = service.sync_releases(album, Priority::Background).await {
                        tracing::warn!(%album, error = %err, "background release-list refresh failed");
                    }
                });
            }
            return Ok(releases.clone());
        }
        let service = self.clone();
        self.within_deadline(
            &format!("the releases of album {}", album.to_entity_id()),
            async move { service.sync_releases(album, Priority::Interactive).await },
        )
        .await?;
        self.inner
            .repo
            .album_releases(album)
            .await?
            .map(|(releases, _)| releases)
            .ok_or_else(|| ServiceError::internal("release list missing right after it was stored"))
    }

    /// Fetches every page of an artist's albums (up to the configured cap) and stores the list.
    pub(super) async fn sync_albums(
        &self,
        artist: Mbid,
        priority: Priority,
    ) -> Result<(), ServiceError> {
        let inner = &self.inner;
        inner
            .album_syncs
            .run(artist, || async {
                let what = format!("the albums of artist {}", artist.to_entity_id());
                let mut listed = self
                    .browse_all(&what, |offset| async move {
                        let page = self
                            .catalogue()
                            .browse_artist_albums(artist, offset, priority)
                            .await?;
                        Ok(Page {
                            items: page.albums,
                            received: page.received,
                            total: page.total,
                            request: page.request,
                            raw: page.raw,
                        })
                    })
                    .await?;
                listed.items.sort_by_key(|a| a.id);
                listed.items.dedup_by_key(|a| a.id);
                inner
                    .repo
                    .save_artist_albums(AlbumListWrite {
                        artist,
                        albums: &listed.items,
                        total: listed.total,
                        pages: &listed.pages,
                        fetched_at: inner.clock.now(),
                    })
                    .await?;
                let ids: Vec<Mbid> = listed.items.iter().map(|a| a.id).collect();
                self.index_entities(EntityKind::Album, &ids, &[]).await;
                Ok(())
            })
            .await
    }

    /// Fetches every page of an album's releases (up to the configured cap) and stores the list.
    async fn sync_releases(&self, album: Mbid, priority: Priority) -> Result<(), ServiceError> {
        let inner = &self.inner;
        inner
            .release_syncs
            .run(album, || async {
                let what = format!("the releases of album {}", album.to_entity_id());
                let mut listed = self
                    .browse_all(&what, |offset| async move {
                        let page = self
                            .catalogue()
                            .browse_album_releases(album, offset, priority)
                            .await?;
                        Ok(Page {
                            items: page.releases,
                            received: page.received,
                            total: page.total,
                            request: page.request,
                            raw: page.raw,
                        })
                    })
                    .await?;
                listed.items.sort_by_key(|r| r.id);
                listed.items.dedup_by_key(|r| r.id);
                inner
                    .repo
                    .save_album_releases(ReleaseListWrite {
                        album,
                        releases: &listed.items,
                        total: listed.total,
                        pages: &listed.pages,
                        fetched_at: inner.clock.now(),
                    })
                    .await?;
                let ids: Vec<Mbid> = listed.items.iter().map(|r| r.id).collect();
                self.index_entities(EntityKind::Release, &ids, &[]).await;
                Ok(())
            })
            .await
    }

    /// Every page of one provider list about `what`, one after the other from offset 0, up to
    /// `metadata.max_album_pages` pages (a longer list is cut there, with a warning).
    async fn browse_all<T, Fut>(
        &self,
        what: &str,
        mut next: impl FnMut(i64) -> Fut,
    ) -> Result<Listed<T>, ServiceError>
    where
        Fut: Future<Output = Result<Page<T>, ProviderError>>,
    {
        let mut listed = Listed {
            items: Vec::new(),
            pages: Vec::new(),
            total: 0,
        };
        let mut offset = 0;
        for _ in 0..self.inner.settings.max_album_pages {
            let page = next(offset).await.map_err(self.catalogue_error(what))?;
            listed.total = page.total;
            offset += page.received;
            listed.items.extend(page.items);
            listed.pages.push((page.request, page.raw));
            if page.received == 0 || offset >= page.total {
                break;
            }
        }
        if offset < listed.total {
            tracing::warn!(
                what,
                total = listed.total,
                stored = offset,
                "list truncated at metadata.max_album_pages"
            );
        }
        Ok(listed)
    }

    /// The MBIDs recorded as merged into each of `mbids` (entities without any are absent).
    pub async fn merged_into(
        &self,
        mbids: &[Mbid],
    ) -> Result<BTreeMap<Mbid, Vec<Mbid>>, ServiceError> {
        Ok(self.inner.repo.merged_into(mbids).await?)
    }

    /// The distinct statuses of the stored releases of each of `albums` (albums whose releases were
    /// never stored are absent).
    pub async fn release_statuses(
        &self,
        albums: &[Mbid],
    ) -> Result<BTreeMap<Mbid, Vec<String>>, ServiceError> {
        Ok(self.inner.repo.release_statuses(albums).await?)
    }

    /// The stored releases holding any of `recordings` (1 to [`MAX_RECORDINGS`]), best match first.
    pub async fn releases_with_recordings(
        &self,
        recordings: &[Mbid],
    ) -> Result<Vec<RecordingMatch>, ServiceError> {
        if recordings.is_empty() || recordings.len() > MAX_RECORDINGS {
            return Err(ServiceError::new(
                ErrorCode::InvalidArgument,
                format!(
                    "expected 1 to {MAX_RECORDINGS} recording MBIDs, got {}",
                    recordings.len()
                ),
            ));
        }
        Ok(self.inner.repo.releases_with_recordings(recordings).await?)
    }
}

/// Most recordings one [`MetadataService::releases_with_recordings`] call may name.
pub const MAX_RECORDINGS: usize = 1000;
