//! What the compatibility APIs read beside single entities: an album's stored release list (browsed
//! from the provider page by page), the MBIDs merged into an entity, the release statuses of albums,
//! and the albums whose releases hold given recordings.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::PgPool;
use uuid::Uuid;

use super::read::{decode_entity, select_sql};
use super::write::{raw_pages, write_entity_rows};
use super::{canonical_mbid, StoreError};
use crate::domain::{Entity, EntityKind, Mbid, Release};

/// One synchronised release list of an album.
#[derive(Debug, Clone)]
pub struct ReleaseListWrite<'a> {
    /// The album (release group).
    pub album: Mbid,
    /// Every release of the album, as listed.
    pub releases: &'a [Release],
    /// The provider's total count.
    pub total: i64,
    /// Raw pages: (request shape, body).
    pub pages: &'a [(String, serde_json::Value)],
    /// Fetch time.
    pub fetched_at: DateTime<Utc>,
}

/// A release that holds some of the recordings asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingMatch {
    /// The album (release group) of the release.
    pub album: Mbid,
    /// The release.
    pub release: Mbid,
    /// Tracks on the release.
    pub tracks: i64,
    /// How many of the recordings asked about it holds.
    pub matched: i64,
}

static ALBUM_RELEASES_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} WHERE k.album_mbid = $1 ORDER BY k.date NULLS LAST, k.title, e.mbid",
        select_sql(EntityKind::Release)
    )
});

/// The stored releases of `album` and when its list was synchronised; `None` when it never was.
pub(super) async fn album_releases(
    pool: PgPool,
    album: Mbid,
) -> Result<Option<(Vec<Release>, DateTime<Utc>)>, StoreError> {
    let album = canonical_mbid(&pool, album).await?;
    let synced: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT fetched_at FROM album_release_list WHERE album_mbid = $1")
            .bind(album.as_uuid())
            .fetch_optional(&pool)
            .await?;
    let Some(fetched_at) = synced else {
        return Ok(None);
    };
    let rows = sqlx::query(&ALBUM_RELEASES_SQL)
        .bind(album.as_uuid())
        .fetch_all(&pool)
        .await?;
    let releases = rows
        .iter()
        .map(
            |row| match decode_entity(EntityKind::Release, row)?.entity {
                Entity::Release(release) => Ok(release),
                _ => Err(StoreError::Corrupt(
                    "release row decoded as another kind".into(),
                )),
            },
        )
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((releases, fetched_at)))
}

/// Stores an album's release list in one transaction: each release as a summary (releases already
/// stored in full keep their data) and the raw pages.
pub(super) async fn save_album_releases(
    pool: &PgPool,
    write: ReleaseListWrite<'_>,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let pages = raw_pages(write.pages);
    // The upsert locks the list's row, so two synchronisations of one list take turns.
    sqlx::query(
        "INSERT INTO album_release_list (album_mbid, total, raw_pages, fetched_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (album_mbid) DO UPDATE SET total = EXCLUDED.total, \
             raw_pages = EXCLUDED.raw_pages, fetched_at = EXCLUDED.fetched_at",
    )
    .bind(write.album.as_uuid())
    .bind(i32::try_from(write.total).unwrap_or(i32::MAX))
    .bind(Json(&pages))
    .bind(write.fetched_at)
    .execute(&mut *tx)
    .await?;
    for release in write.releases {
        write_entity_rows(
            &mut tx,
            &Entity::Release(release.clone()),
            false,
            write.fetched_at,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The MBIDs recorded as merged into each of `mbids`, oldest record first.
pub(super) async fn merged_into(
    pool: PgPool,
    mbids: &[Mbid],
) -> Result<BTreeMap<Mbid, Vec<Mbid>>, StoreError> {
    let ids: Vec<Uuid> = mbids.iter().map(|m| m.as_uuid()).collect();
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT new_mbid, old_mbid FROM mbid_redirect WHERE new_mbid = ANY($1) \
         ORDER BY recorded_at, old_mbid",
    )
    .bind(&ids)
    .fetch_all(&pool)
    .await?;
    let mut merged: BTreeMap<Mbid, Vec<Mbid>> = BTreeMap::new();
    for (new, old) in rows {
        merged
            .entry(Mbid::from(new))
            .or_default()
            .push(Mbid::from(old));
    }
    Ok(merged)
}

/// The distinct statuses of the stored releases of each of `albums` (albums without stored releases
/// are absent).
pub(super) async fn release_statuses(
    pool: PgPool,
    albums: &[Mbid],
) -> Result<BTreeMap<Mbid, Vec<String>>, StoreError> {
    let ids: Vec<Uuid> = albums.iter().map(|m| m.as_uuid()).collect();
    let rows: Vec<(Uuid, Vec<String>)> = sqlx::query_as(
        "SELECT album_mbid, array_agg(DISTINCT status ORDER BY status) FROM release \
         WHERE album_mbid = ANY($1) AND status IS NOT NULL GROUP BY album_mbid",
    )
    .bind(&ids)
    .fetch_all(&pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(album, statuses)| (Mbid::from(album), statuses))
        .collect())
}

/// The stored releases holding any of `recordings`, with their track counts and how many of the
/// recordings each holds, best match first.
pub(super) async fn releases_with_recordings(
    pool: PgPool,
    recordings: &[Mbid],
) -> Result<Vec<RecordingMatch>, StoreError> {
    let ids: Vec<Uuid> = recordings.iter().map(|m| m.as_uuid()).collect();
    let rows: Vec<(Uuid, Uuid, i64, i64)> = sqlx::query_as(
        "SELECT r.album_mbid, r.mbid, \
                (SELECT count(*) FROM release_track a WHERE a.release_mbid = r.mbid), \
                count(DISTINCT t.recording_mbid) \
         FROM release_track t JOIN release r ON r.mbid = t.release_mbid \
         WHERE t.recording_mbid = ANY($1) AND r.album_mbid IS NOT NULL \
         GROUP BY r.album_mbid, r.mbid \
         ORDER BY count(DISTINCT t.recording_mbid) DESC, r.mbid \
         LIMIT 500",
    )
    .bind(&ids)
    .fetch_all(&pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(album, release, tracks, matched)| RecordingMatch {
            album: Mbid::from(album),
            release: Mbid::from(release),
            tracks,
            matched,
        })
        .collect())
}
