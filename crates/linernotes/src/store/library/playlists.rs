//! Playlists and their items: [`PlaylistRepo`], with the sparse-rank helpers that keep positions
//! 0..n-1 without shifting rows.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};
use uuid::Uuid;

use super::{track_summary, LibraryStoreError, PgLibraryRepo, TRACK_COLUMNS};
use crate::domain::library::{AddedItems, Playlist, PlaylistItem, PlaylistPage, PlaylistSummary};
use crate::domain::{known, Mbid};
use crate::store::{timed_query, StoreError};

/// Changes to a playlist's own fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PlaylistChange {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New visibility.
    pub public: Option<bool>,
}

/// Persistence of playlists. Every edit checks ownership under the playlist's row lock.
#[async_trait]
pub trait PlaylistRepo: Send + Sync {
    /// Creates a playlist unless the owner has `max_playlists` already.
    async fn create_playlist(
        &self,
        owner_id: Uuid,
        name: &str,
        description: &str,
        public: bool,
        max_playlists: i64,
        at: DateTime<Utc>,
    ) -> Result<PlaylistSummary, LibraryStoreError>;
    /// A playlist with `limit` items from position `offset`, read in one snapshot.
    async fn playlist(
        &self,
        id: Uuid,
        limit: i64,
        offset: i64,
    ) -> Result<Option<Playlist>, StoreError>;
    /// The owner and visibility of a playlist (`None`: no such playlist).
    async fn playlist_access(&self, id: Uuid) -> Result<Option<(Uuid, bool)>, StoreError>;
    /// A page of a user's playlists, newest first.
    async fn list_playlists(
        &self,
        owner_id: Uuid,
        limit: i64,
        offset: i64,
    ) -> Result<PlaylistPage, StoreError>;
    /// Changes a playlist of `user_id`.
    async fn update_playlist(
        &self,
        id: Uuid,
        user_id: Uuid,
        change: PlaylistChange,
        at: DateTime<Utc>,
    ) -> Result<PlaylistSummary, LibraryStoreError>;
    /// Deletes a playlist of `user_id` with its items.
    async fn delete_playlist(&self, id: Uuid, user_id: Uuid) -> Result<(), LibraryStoreError>;
    /// Inserts tracks at `position` (the end when `None`), shifting later items.
    async fn add_items(
        &self,
        id: Uuid,
        user_id: Uuid,
        tracks: &[Mbid],
        position: Option<i64>,
        max_items: i64,
        at: DateTime<Utc>,
    ) -> Result<AddedItems, LibraryStoreError>;
    /// Removes one item, closing the gap.
    async fn remove_item(
        &self,
        id: Uuid,
        user_id: Uuid,
        item_id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), LibraryStoreError>;
    /// Moves one item to `position`, shifting the items between.
    async fn move_item(
        &self,
        id: Uuid,
        user_id: Uuid,
        item_id: i64,
        position: i64,
        at: DateTime<Utc>,
    ) -> Result<PlaylistItem, LibraryStoreError>;
}

/// The `playlist` columns [`playlist_summary`] reads.
const PLAYLIST_COLUMNS: &str =
    "id, name, description, public, owner_id, item_count, created_at, updated_at";

/// A playlist without items from a row of [`PLAYLIST_COLUMNS`].
fn playlist_summary(row: &PgRow) -> Result<PlaylistSummary, sqlx::Error> {
    Ok(PlaylistSummary {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: known(row.try_get("description")?),
        public: row.try_get("public")?,
        owner_id: row.try_get("owner_id")?,
        total: i64::from(row.try_get::<i32, _>("item_count")?),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// An item from a row with `item_id`, `position` and the track columns of `track_mbid`.
fn playlist_item(row: &PgRow) -> Result<PlaylistItem, sqlx::Error> {
    Ok(PlaylistItem {
        item_id: row.try_get("item_id")?,
        position: row.try_get("position")?,
        track: track_summary(row, "track_mbid")?,
    })
}

/// Locks a playlist row for the rest of `tx` and checks that `user_id` owns it; answers how many items
/// it holds, which no one else can change until `tx` ends.
async fn lock_owned(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    user_id: Uuid,
) -> Result<i64, LibraryStoreError> {
    let row: Option<(Uuid, bool, i32)> = sqlx::query_as(
        "SELECT owner_id, public, item_count FROM playlist WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        None => Err(LibraryStoreError::PlaylistNotFound),
        Some((owner, public, _)) if owner != user_id => Err(LibraryStoreError::NotOwner { public }),
        Some((_, _, count)) => Ok(i64::from(count)),
    }
}

/// Records an edit of the locked playlist: its item count changes by `delta`, its date to `at`.
async fn touch(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    delta: i64,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE playlist SET item_count = item_count + $2::integer, updated_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(delta)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Distance between consecutive ranks when there is room (appends, re-spread playlists).
const RANK_GAP: i64 = 1 << 32;
/// Items re-spread around an insertion point at first; the window grows fourfold until it has room.
const RESPREAD_WINDOW: i64 = 32;

/// The rank of the item at `index` (0-based, in rank order).
async fn rank_at(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    index: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT rank FROM playlist_item WHERE playlist_id = $1 ORDER BY rank OFFSET $2 LIMIT 1",
    )
    .bind(id)
    .bind(index)
    .fetch_optional(&mut **tx)
    .await
}

/// The ranks of the items just before and at `position` (`None` past either end), in one query.
async fn neighbours(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    position: i64,
    count: i64,
) -> Result<(Option<i64>, Option<i64>), sqlx::Error> {
    if position == 0 {
        return Ok((None, rank_at(tx, id, 0).await?.filter(|_| count > 0)));
    }
    let ranks: Vec<i64> = sqlx::query_scalar(
        "SELECT rank FROM playlist_item WHERE playlist_id = $1 ORDER BY rank OFFSET $2 LIMIT 2",
    )
    .bind(id)
    .bind(position - 1)
    .fetch_all(&mut **tx)
    .await?;
    let next = if position >= count {
        None
    } else {
        ranks.get(1).copied()
    };
    Ok((ranks.first().copied(), next))
}

/// `n` increasing ranks strictly between `prev` and `next` (open ends extend by [`RANK_GAP`]), or
/// `None` when they leave no room.
fn ranks_between(prev: Option<i64>, next: Option<i64>, n: i64) -> Option<Vec<i64>> {
    let ranks: Vec<i64> = match (prev, next) {
        (None, None) => (1..=n)
            .map(|k| k.checked_mul(RANK_GAP))
            .collect::<Option<_>>()?,
        (Some(a), None) => (1..=n)
            .map(|k| k.checked_mul(RANK_GAP).and_then(|d| a.checked_add(d)))
            .collect::<Option<_>>()?,
        (None, Some(b)) => (1..=n)
            .map(|k| {
                (n + 1 - k)
                    .checked_mul(RANK_GAP)
                    .and_then(|d| b.checked_sub(d))
            })
            .collect::<Option<_>>()?,
        (Some(a), Some(b)) => {
            let step = (i128::from(b) - i128::from(a)) / (i128::from(n) + 1);
            if step < 1 {
                return None;
            }
            let step = i64::try_from(step).ok()?;
            (1..=n).map(|k| a + step * k).collect()
        }
    };
    Some(ranks)
}

/// Ranks for `n` items inserted at `position` of a playlist of `count` items (locked by the caller),
/// re-spreading the ranks around `position` when its neighbours leave no room.
async fn insert_ranks(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    position: i64,
    n: i64,
    count: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut window = RESPREAD_WINDOW.max(n);
    loop {
        let (prev, next) = neighbours(tx, id, position, count).await?;
        if let Some(ranks) = ranks_between(prev, next, n) {
            return Ok(ranks);
        }
        respread(tx, id, position, n, count, window).await?;
        window = window.saturating_mul(4);
    }
}

/// Spreads the ranks of the items within `window` positions of `position` evenly between the ranks of
/// the items just outside the window (or the whole playlist [`RANK_GAP`] apart once the window covers
/// it), when that leaves room for `n` more items between any two of them; otherwise leaves them.
async fn respread(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    position: i64,
    n: i64,
    count: i64,
    window: i64,
) -> Result<(), sqlx::Error> {
    let first = (position - window).max(0);
    let end = (position + window).min(count);
    if first == 0 && end == count {
        sqlx::query(
            "UPDATE playlist_item i SET rank = r.rn * $2 FROM ( \
               SELECT id, row_number() OVER (ORDER BY rank) AS rn FROM playlist_item \
               WHERE playlist_id = $1) r WHERE i.id = r.id",
        )
        .bind(id)
        .bind(RANK_GAP)
        .execute(&mut **tx)
        .await?;
        return Ok(());
    }
    let len = end - first;
    let low = if first == 0 {
        rank_at(tx, id, 0)
            .await?
            .map(|r| r.saturating_sub(RANK_GAP.saturating_mul(len + 1)))
    } else {
        rank_at(tx, id, first - 1).await?
    };
    let high = if end == count {
        rank_at(tx, id, count - 1)
            .await?
            .map(|r| r.saturating_add(RANK_GAP.saturating_mul(len + 1)))
    } else {
        rank_at(tx, id, end).await?
    };
    let (Some(low), Some(high)) = (low, high) else {
        return Ok(());
    };
    let step = (i128::from(high) - i128::from(low)) / (i128::from(len) + 1);
    if step <= i128::from(n) + 1 {
        return Ok(());
    }
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    sqlx::query(
        "UPDATE playlist_item i SET rank = $4 + r.rn * $5 FROM ( \
           SELECT id, row_number() OVER (ORDER BY rank) AS rn FROM ( \
             SELECT id, rank FROM playlist_item WHERE playlist_id = $1 \
             ORDER BY rank OFFSET $2 LIMIT $3) w) r WHERE i.id = r.id",
    )
    .bind(id)
    .bind(first)
    .bind(len)
    .bind(low)
    .bind(step)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl PlaylistRepo for PgLibraryRepo {
    async fn create_playlist(
        &self,
        owner_id: Uuid,
        name: &str,
        description: &str,
        public: bool,
        max_playlists: i64,
        at: DateTime<Utc>,
    ) -> Result<PlaylistSummary, LibraryStoreError> {
        timed_query("library_create_playlist", self.slow, async {
            let mut tx = self.pool.begin().await?;
            // Serialises creations by one owner, so the limit holds under concurrent requests.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('playlists:' || $1::text, 0))")
                .bind(owner_id)
                .execute(&mut *tx)
                .await?;
            let owned: i64 = sqlx::query_scalar("SELECT count(*) FROM playlist WHERE owner_id = $1")
                .bind(owner_id)
                .fetch_one(&mut *tx)
                .await?;
            if owned >= max_playlists {
                return Err(LibraryStoreError::TooManyPlaylists {
                    limit: max_playlists,
                });
            }
            let row = sqlx::query(&format!(
                "INSERT INTO playlist (owner_id, name, description, public, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING {PLAYLIST_COLUMNS}"
            ))
            .bind(owner_id)
            .bind(name)
            .bind(description)
            .bind(public)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            let summary = playlist_summary(&row)?;
            tx.commit().await?;
            Ok(summary)
        })
        .await
    }

    async fn playlist(
        &self,
        id: Uuid,
        limit: i64,
        offset: i64,
    ) -> Result<Option<Playlist>, StoreError> {
        timed_query("library_playlist", self.slow, async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
            let Some(row) = sqlx::query(&format!(
                "SELECT {PLAYLIST_COLUMNS} FROM playlist WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            else {
                return Ok(None);
            };
            let summary = playlist_summary(&row).map_err(StoreError::from)?;
            // A position is an index in rank order: a page is OFFSET/LIMIT over the rank index.
            let rows = sqlx::query(&format!(
                "SELECT i.item_id, i.position, i.track_mbid, {TRACK_COLUMNS} FROM ( \
                   SELECT p.id AS item_id, p.track_mbid, \
                          ($2 + row_number() OVER (ORDER BY p.rank) - 1)::integer AS position \
                   FROM (SELECT id, track_mbid, rank FROM playlist_item WHERE playlist_id = $1 \
                         ORDER BY rank OFFSET $2 LIMIT $3) p) i \
                 LEFT JOIN track t ON t.mbid = i.track_mbid ORDER BY i.position"
            ))
            .bind(id)
            .bind(offset)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            let items = rows
                .iter()
                .map(playlist_item)
                .collect::<Result<Vec<_>, _>>()
                .map_err(StoreError::from)?;
            Ok(Some(summary.with_items(items)))
        })
        .await
    }

    async fn playlist_access(&self, id: Uuid) -> Result<Option<(Uuid, bool)>, StoreError> {
        timed_query("library_playlist_access", self.slow, async {
            Ok(
                sqlx::query_as("SELECT owner_id, public FROM playlist WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?,
            )
        })
        .await
    }

    async fn list_playlists(
        &self,
        owner_id: Uuid,
        limit: i64,
        offset: i64,
    ) -> Result<PlaylistPage, StoreError> {
        timed_query("library_list_playlists", self.slow, async {
            let total: i64 =
                sqlx::query_scalar("SELECT count(*) FROM playlist WHERE owner_id = $1")
                    .bind(owner_id)
                    .fetch_one(&self.pool)
                    .await?;
            let rows = sqlx::query(&format!(
                "SELECT {PLAYLIST_COLUMNS} FROM playlist WHERE owner_id = $1 \
                 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
            ))
            .bind(owner_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
            let playlists = rows
                .iter()
                .map(playlist_summary)
                .collect::<Result<Vec<_>, _>>()
                .map_err(StoreError::from)?;
            Ok(PlaylistPage {
                playlists,
                total,
                offset,
            })
        })
        .await
    }

    async fn update_playlist(
        &self,
        id: Uuid,
        user_id: Uuid,
        change: PlaylistChange,
        at: DateTime<Utc>,
    ) -> Result<PlaylistSummary, LibraryStoreError> {
        timed_query("library_update_playlist", self.slow, async {
            let mut tx = self.pool.begin().await?;
            lock_owned(&mut tx, id, user_id).await?;
            let row = sqlx::query(&format!(
                "UPDATE playlist SET name = COALESCE($2, name), description = COALESCE($3, description), \
                 public = COALESCE($4, public), updated_at = $5 WHERE id = $1 RETURNING {PLAYLIST_COLUMNS}"
            ))
            .bind(id)
            .bind(change.name)
            .bind(change.description)
            .bind(change.public)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            let summary = playlist_summary(&row)?;
            tx.commit().await?;
            Ok(summary)
        })
        .await
    }

    async fn delete_playlist(&self, id: Uuid, user_id: Uuid) -> Result<(), LibraryStoreError> {
        timed_query("library_delete_playlist", self.slow, async {
            let mut tx = self.pool.begin().await?;
            lock_owned(&mut tx, id, user_id).await?;
            sqlx::query("DELETE FROM playlist WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn add_items(
        &self,
        id: Uuid,
        user_id: Uuid,
        tracks: &[Mbid],
        position: Option<i64>,
        max_items: i64,
        at: DateTime<Utc>,
    ) -> Result<AddedItems, LibraryStoreError> {
        timed_query("library_add_items", self.slow, async {
            let mut tx = self.pool.begin().await?;
            let count = lock_owned(&mut tx, id, user_id).await?;
            let n = i64::try_from(tracks.len()).unwrap_or(i64::MAX);
            if count.saturating_add(n) > max_items {
                return Err(LibraryStoreError::TooManyItems {
                    limit: max_items,
                    current: count,
                });
            }
            let position = position.unwrap_or(count);
            if !(0..=count).contains(&position) {
                return Err(LibraryStoreError::PositionOutOfRange {
                    position,
                    max: count,
                });
            }
            let ranks = insert_ranks(&mut tx, id, position, n, count).await?;
            let uuids: Vec<Uuid> = tracks.iter().map(Mbid::as_uuid).collect();
            let rows = sqlx::query(&format!(
                "WITH ins AS ( \
                   INSERT INTO playlist_item (playlist_id, track_mbid, rank, added_at) \
                   SELECT $1, x.mbid, x.rank, $4 \
                   FROM unnest($3::uuid[], $5::bigint[]) WITH ORDINALITY AS x(mbid, rank, ord) \
                   RETURNING id, rank, track_mbid) \
                 SELECT ins.id AS item_id, \
                        ($2 + row_number() OVER (ORDER BY ins.rank) - 1)::integer AS position, \
                        ins.track_mbid, {TRACK_COLUMNS} \
                 FROM ins LEFT JOIN track t ON t.mbid = ins.track_mbid ORDER BY ins.rank"
            ))
            .bind(id)
            .bind(position)
            .bind(&uuids)
            .bind(at)
            .bind(&ranks)
            .fetch_all(&mut *tx)
            .await?;
            touch(&mut tx, id, n, at).await?;
            let items = rows
                .iter()
                .map(playlist_item)
                .collect::<Result<Vec<_>, _>>()?;
            tx.commit().await?;
            Ok(AddedItems {
                items,
                total: count + n,
            })
        })
        .await
    }

    async fn remove_item(
        &self,
        id: Uuid,
        user_id: Uuid,
        item_id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), LibraryStoreError> {
        timed_query("library_remove_item", self.slow, async {
            let mut tx = self.pool.begin().await?;
            lock_owned(&mut tx, id, user_id).await?;
            // Later items move up by one by themselves: a position is an index in rank order.
            let removed =
                sqlx::query("DELETE FROM playlist_item WHERE id = $2 AND playlist_id = $1")
                    .bind(id)
                    .bind(item_id)
                    .execute(&mut *tx)
                    .await?;
            if removed.rows_affected() == 0 {
                return Err(LibraryStoreError::ItemNotFound);
            }
            touch(&mut tx, id, -1, at).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn move_item(
        &self,
        id: Uuid,
        user_id: Uuid,
        item_id: i64,
        position: i64,
        at: DateTime<Utc>,
    ) -> Result<PlaylistItem, LibraryStoreError> {
        timed_query("library_move_item", self.slow, async {
            let mut tx = self.pool.begin().await?;
            let count = lock_owned(&mut tx, id, user_id).await?;
            let item: Option<(Uuid, DateTime<Utc>, i64)> = sqlx::query_as(
                "SELECT track_mbid, added_at, rank FROM playlist_item WHERE id = $2 AND playlist_id = $1",
            )
            .bind(id)
            .bind(item_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((track, added_at, rank)) = item else {
                return Err(LibraryStoreError::ItemNotFound);
            };
            let max = count - 1;
            if !(0..=max).contains(&position) {
                return Err(LibraryStoreError::PositionOutOfRange { position, max });
            }
            let from: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM playlist_item WHERE playlist_id = $1 AND rank < $2",
            )
            .bind(id)
            .bind(rank)
            .fetch_one(&mut *tx)
            .await?;
            if from != position {
                // A move is the item taken out and put back at its new position, keeping its ID and
                // date: one row rewritten, whatever the distance.
                sqlx::query("DELETE FROM playlist_item WHERE id = $1")
                    .bind(item_id)
                    .execute(&mut *tx)
                    .await?;
                let ranks = insert_ranks(&mut tx, id, position, 1, max).await?;
                let new_rank = ranks.first().copied().unwrap_or(rank);
                sqlx::query(
                    "INSERT INTO playlist_item (id, playlist_id, track_mbid, rank, added_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(item_id)
                .bind(id)
                .bind(track)
                .bind(new_rank)
                .bind(added_at)
                .execute(&mut *tx)
                .await?;
            }
            touch(&mut tx, id, 0, at).await?;
            let row = sqlx::query(&format!(
                "SELECT i.id AS item_id, $2::integer AS position, i.track_mbid, {TRACK_COLUMNS} \
                 FROM playlist_item i LEFT JOIN track t ON t.mbid = i.track_mbid WHERE i.id = $1"
            ))
            .bind(item_id)
            .bind(position)
            .fetch_one(&mut *tx)
            .await?;
            let item = playlist_item(&row)?;
            tx.commit().await?;
            Ok(item)
        })
        .await
    }
}
