//! The user library in PostgreSQL: [`LibraryRepo`] and [`PgLibraryRepo`].
//!
//! Concurrency rules, all enforced here:
//! - every playlist edit runs in one transaction that first locks the playlist row (`FOR UPDATE`), so
//!   edits of one playlist are serialised; items are ordered by a sparse `rank` and an item's position is
//!   its index in that order, so positions are always exactly 0..n-1 (see the migration for why ranks
//!   rather than shifted positions); when two neighbours leave no room, a window of ranks around the
//!   insertion point is re-spread with one set-based UPDATE, which the deferrable (not deferred) unique
//!   constraint on (playlist, rank) checks at the end of the statement;
//! - a play takes a transaction-scoped advisory lock on (user, track) before looking for a play inside
//!   the de-duplication window (in the `library_record_play` function of the migration, one round
//!   trip), so two concurrent reports of one play store it once;
//! - playback state changes only when the version given is the stored one (compare-and-set).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use super::timed_query;
use super::StoreError;
use crate::domain::library::{
    AddedItems, Favorite, FavoritePage, HistoryPage, Play, PlayCount, PlayStatus, PlaybackState,
    PlaybackUpdate, Playlist, PlaylistItem, PlaylistPage, PlaylistSummary, SearchHistoryEntry,
    TopArtist, TopTrack, TrackSummary,
};
use crate::domain::{EntityKind, Mbid};

/// Why a library write was refused (besides the database failing).
#[derive(Debug, thiserror::Error)]
pub enum LibraryStoreError {
    /// No playlist with this ID.
    #[error("no such playlist")]
    PlaylistNotFound,
    /// The playlist belongs to someone else; `public` tells whether the caller may at least see it.
    #[error("the playlist belongs to another user")]
    NotOwner {
        /// Whether the playlist is public.
        public: bool,
    },
    /// No item with this ID in this playlist.
    #[error("no such item in this playlist")]
    ItemNotFound,
    /// A position outside 0..=`max`.
    #[error("position {position} is out of range 0..={max}")]
    PositionOutOfRange {
        /// The position asked for.
        position: i64,
        /// The largest position allowed.
        max: i64,
    },
    /// The playlist would grow past its limit.
    #[error("a playlist holds at most {limit} items")]
    TooManyItems {
        /// The limit.
        limit: i64,
        /// Items in the playlist now.
        current: i64,
    },
    /// The user owns the most playlists allowed.
    #[error("a user owns at most {limit} playlists")]
    TooManyPlaylists {
        /// The limit.
        limit: i64,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for LibraryStoreError {
    fn from(err: sqlx::Error) -> Self {
        LibraryStoreError::Store(err.into())
    }
}

/// A new play.
#[derive(Debug, Clone)]
pub struct NewPlay<'a> {
    /// The listener.
    pub user_id: Uuid,
    /// The canonical track.
    pub track: Mbid,
    /// When it was played.
    pub played_at: DateTime<Utc>,
    /// How long it was listened to.
    pub duration_ms: Option<i64>,
    /// The reporting client.
    pub client: Option<&'a str>,
    /// When the server received it.
    pub recorded_at: DateTime<Utc>,
    /// Another play of the track within this window of `played_at` makes this one a duplicate.
    pub dedup_window: Duration,
}

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

/// A playback write.
#[derive(Debug, Clone)]
pub struct PlaybackWrite<'a> {
    /// Whose.
    pub user_id: Uuid,
    /// The canonical track.
    pub track: Mbid,
    /// Position in ms.
    pub position_ms: i64,
    /// The writing device.
    pub device: &'a str,
    /// The version the client read (0: nothing stored yet).
    pub expected_version: i64,
    /// Now.
    pub at: DateTime<Utc>,
}

/// Persistence of the user library.
#[async_trait]
pub trait LibraryRepo: Send + Sync {
    /// Adds a favourite (or keeps the existing one) and answers it.
    async fn add_favorite(
        &self,
        user_id: Uuid,
        entity: Mbid,
        kind: EntityKind,
        at: DateTime<Utc>,
    ) -> Result<Favorite, StoreError>;
    /// Removes a favourite, following a recorded redirect of `entity`; whether one was removed.
    async fn remove_favorite(&self, user_id: Uuid, entity: Mbid) -> Result<bool, StoreError>;
    /// A page of favourites, newest first, optionally of one kind.
    async fn list_favorites(
        &self,
        user_id: Uuid,
        kind: Option<EntityKind>,
        limit: i64,
        offset: i64,
    ) -> Result<FavoritePage, StoreError>;

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

    /// Stores a play unless the same user played the same track within the window.
    async fn record_play(&self, play: NewPlay<'_>) -> Result<PlayStatus, StoreError>;
    /// Plays strictly before `before`, newest first.
    async fn history(
        &self,
        user_id: Uuid,
        before: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<HistoryPage, StoreError>;
    /// Play counts per track, most played first.
    async fn play_counts(
        &self,
        user_id: Uuid,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<PlayCount>, StoreError>;
    /// The most played tracks since `since` (all time when `None`).
    async fn top_tracks(
        &self,
        user_id: Uuid,
        since: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<TopTrack>, StoreError>;
    /// The most played artists (by credited tracks) since `since`.
    async fn top_artists(
        &self,
        user_id: Uuid,
        since: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<TopArtist>, StoreError>;

    /// The stored playback state.
    async fn playback(&self, user_id: Uuid) -> Result<Option<PlaybackState>, StoreError>;
    /// Writes the playback state if `expected_version` is current.
    async fn update_playback(&self, write: PlaybackWrite<'_>)
        -> Result<PlaybackUpdate, StoreError>;

    /// Remembers a search.
    async fn record_search(
        &self,
        user_id: Uuid,
        query: &str,
        kind: EntityKind,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Remembered searches, newest first.
    async fn search_history(
        &self,
        user_id: Uuid,
        limit: i64,
    ) -> Result<Vec<SearchHistoryEntry>, StoreError>;
    /// Forgets every remembered search; how many there were.
    async fn clear_search_history(&self, user_id: Uuid) -> Result<u64, StoreError>;

    /// Everything in a user's library, as JSON (for the account export).
    async fn export(&self, user_id: Uuid) -> Result<serde_json::Value, StoreError>;
}

/// [`LibraryRepo`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgLibraryRepo {
    pool: PgPool,
    slow: Duration,
}

impl PgLibraryRepo {
    /// Wraps a pool; `slow` is the slow-query log threshold.
    pub fn new(pool: PgPool, slow: Duration) -> Self {
        Self { pool, slow }
    }
}

/// The display name of a favourite, whatever its kind.
const FAVORITE_NAME: &str = "COALESCE(ar.name, al.title, re.title, tr.title, la.name, '') AS name";
const FAVORITE_JOINS: &str =
    "LEFT JOIN artist ar ON f.kind = 'artist' AND ar.mbid = f.entity_mbid \
     LEFT JOIN album al ON f.kind = 'album' AND al.mbid = f.entity_mbid \
     LEFT JOIN release re ON f.kind = 'release' AND re.mbid = f.entity_mbid \
     LEFT JOIN track tr ON f.kind = 'track' AND tr.mbid = f.entity_mbid \
     LEFT JOIN label la ON f.kind = 'label' AND la.mbid = f.entity_mbid";

/// Track summary columns from `t` (a LEFT JOIN of `track`), for [`track_summary`].
const TRACK_COLUMNS: &str = "COALESCE(t.title, '') AS title, \
     COALESCE(t.artist_credit_name, '') AS artist_credit_name, t.length_ms";

const PLAYLIST_COLUMNS: &str =
    "id, name, description, public, owner_id, item_count, created_at, updated_at";

/// A timestamp rendered in the API's one format, inside SQL-built JSON.
fn ts(column: &str) -> String {
    format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
}

fn track_summary(row: &PgRow, mbid_column: &str) -> Result<TrackSummary, sqlx::Error> {
    Ok(TrackSummary {
        id: Mbid::from(row.try_get::<Uuid, _>(mbid_column)?),
        title: row.try_get("title")?,
        artist_credit_name: row.try_get("artist_credit_name")?,
        length_ms: row.try_get("length_ms")?,
    })
}

fn kind_of(text: &str) -> Result<EntityKind, StoreError> {
    text.parse::<EntityKind>()
        .map_err(|e| StoreError::Corrupt(format!("favorite kind: {e}")))
}

fn playlist_summary(row: &PgRow) -> Result<PlaylistSummary, sqlx::Error> {
    Ok(PlaylistSummary {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        public: row.try_get("public")?,
        owner_id: row.try_get("owner_id")?,
        total: i64::from(row.try_get::<i32, _>("item_count")?),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn playlist_item(row: &PgRow) -> Result<PlaylistItem, sqlx::Error> {
    Ok(PlaylistItem {
        item_id: row.try_get("item_id")?,
        position: row.try_get("position")?,
        track: track_summary(row, "track_mbid")?,
    })
}

fn playback_state(row: &PgRow) -> Result<PlaybackState, sqlx::Error> {
    let track = match row.try_get::<Option<Uuid>, _>("track_mbid")? {
        Some(_) => Some(track_summary(row, "track_mbid")?),
        None => None,
    };
    Ok(PlaybackState {
        track,
        position_ms: row.try_get("position_ms")?,
        device: Some(row.try_get("device")?),
        version: row.try_get("version")?,
        updated_at: Some(row.try_get("updated_at")?),
    })
}

/// The locked playlist an edit works on.
struct Locked {
    item_count: i64,
}

/// Locks a playlist row for the rest of `tx` and checks that `user_id` owns it.
async fn lock_owned(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    user_id: Uuid,
) -> Result<Locked, LibraryStoreError> {
    let row: Option<(Uuid, bool, i32)> = sqlx::query_as(
        "SELECT owner_id, public, item_count FROM playlist WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        None => Err(LibraryStoreError::PlaylistNotFound),
        Some((owner, public, _)) if owner != user_id => Err(LibraryStoreError::NotOwner { public }),
        Some((_, _, count)) => Ok(Locked {
            item_count: i64::from(count),
        }),
    }
}

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

/// The largest timestamp the history is read before when no bound is given.
fn end_of_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn store(err: sqlx::Error) -> StoreError {
    StoreError::from(err)
}

/// Plays per track of user `$1` since `$2` (`NULL`: all time). All time reads the maintained counts; a
/// period reads one index range of the history.
fn plays_per_track_sql(since: Option<DateTime<Utc>>) -> &'static str {
    match since {
        None => {
            "SELECT track_mbid, plays FROM play_count WHERE user_id = $1 AND $2::timestamptz IS NULL"
        }
        Some(_) => {
            "SELECT track_mbid, count(*) AS plays FROM play \
             WHERE user_id = $1 AND played_at >= $2 GROUP BY track_mbid"
        }
    }
}

#[async_trait]
impl LibraryRepo for PgLibraryRepo {
    async fn add_favorite(
        &self,
        user_id: Uuid,
        entity: Mbid,
        kind: EntityKind,
        at: DateTime<Utc>,
    ) -> Result<Favorite, StoreError> {
        timed_query("library_add_favorite", self.slow, async {
            let sql = format!(
                "WITH ins AS ( \
                   INSERT INTO favorite (user_id, entity_mbid, kind, created_at) VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (user_id, entity_mbid) DO NOTHING RETURNING 1) \
                 SELECT f.entity_mbid, f.kind, f.created_at, {FAVORITE_NAME} FROM ( \
                   SELECT entity_mbid, kind, created_at FROM favorite WHERE user_id = $1 AND entity_mbid = $2 \
                   UNION ALL SELECT $2, $3, $4 WHERE EXISTS (SELECT 1 FROM ins) \
                 ) f {FAVORITE_JOINS} LIMIT 1"
            );
            let row = sqlx::query(&sql)
                .bind(user_id)
                .bind(entity.as_uuid())
                .bind(kind.as_str())
                .bind(at)
                .fetch_one(&self.pool)
                .await?;
            Ok(Favorite {
                id: Mbid::from(row.try_get::<Uuid, _>("entity_mbid").map_err(store)?),
                kind: kind_of(&row.try_get::<String, _>("kind").map_err(store)?)?,
                name: row.try_get("name").map_err(store)?,
                added_at: row.try_get("created_at").map_err(store)?,
            })
        })
        .await
    }

    async fn remove_favorite(&self, user_id: Uuid, entity: Mbid) -> Result<bool, StoreError> {
        timed_query("library_remove_favorite", self.slow, async {
            let done = sqlx::query(
                "DELETE FROM favorite WHERE user_id = $1 AND entity_mbid IN \
                   ($2, (SELECT new_mbid FROM mbid_redirect WHERE old_mbid = $2))",
            )
            .bind(user_id)
            .bind(entity.as_uuid())
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn list_favorites(
        &self,
        user_id: Uuid,
        kind: Option<EntityKind>,
        limit: i64,
        offset: i64,
    ) -> Result<FavoritePage, StoreError> {
        timed_query("library_list_favorites", self.slow, async {
            let kind = kind.map(|k| k.as_str());
            let filter = if kind.is_some() {
                "f.user_id = $1 AND f.kind = $2"
            } else {
                "f.user_id = $1 AND $2::text IS NULL"
            };
            let total: i64 =
                sqlx::query_scalar(&format!("SELECT count(*) FROM favorite f WHERE {filter}"))
                    .bind(user_id)
                    .bind(kind)
                    .fetch_one(&self.pool)
                    .await?;
            let sql = format!(
                "SELECT f.entity_mbid, f.kind, f.created_at, {FAVORITE_NAME} FROM ( \
                   SELECT * FROM favorite f WHERE {filter} \
                   ORDER BY f.created_at DESC, f.entity_mbid LIMIT $3 OFFSET $4) f \
                 {FAVORITE_JOINS} ORDER BY f.created_at DESC, f.entity_mbid"
            );
            let rows = sqlx::query(&sql)
                .bind(user_id)
                .bind(kind)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
            let items = rows
                .iter()
                .map(|row| {
                    Ok(Favorite {
                        id: Mbid::from(row.try_get::<Uuid, _>("entity_mbid").map_err(store)?),
                        kind: kind_of(&row.try_get::<String, _>("kind").map_err(store)?)?,
                        name: row.try_get("name").map_err(store)?,
                        added_at: row.try_get("created_at").map_err(store)?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok(FavoritePage {
                items,
                total,
                offset,
            })
        })
        .await
    }

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
            let summary = playlist_summary(&row).map_err(store)?;
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
                .map_err(store)?;
            Ok(Some(Playlist {
                id: summary.id,
                name: summary.name,
                description: summary.description,
                public: summary.public,
                owner_id: summary.owner_id,
                items,
                total: summary.total,
            }))
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
                .map_err(store)?;
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
            let locked = lock_owned(&mut tx, id, user_id).await?;
            let count = locked.item_count;
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
            let locked = lock_owned(&mut tx, id, user_id).await?;
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
            let max = locked.item_count - 1;
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

    async fn record_play(&self, play: NewPlay<'_>) -> Result<PlayStatus, StoreError> {
        timed_query("library_record_play", self.slow, async {
            let window = chrono::Duration::from_std(play.dedup_window)
                .unwrap_or_else(|_| chrono::Duration::days(1));
            // One round trip: the function takes an advisory lock on (user, track) before it looks
            // for a play inside the window (see the migration), so concurrent reports store one play.
            let stored: bool =
                sqlx::query_scalar("SELECT library_record_play($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(play.user_id)
                    .bind(play.track.as_uuid())
                    .bind(play.played_at)
                    .bind(play.duration_ms)
                    .bind(play.client)
                    .bind(play.recorded_at)
                    .bind(play.played_at - window)
                    .bind(play.played_at + window)
                    .fetch_one(&self.pool)
                    .await?;
            Ok(if stored {
                PlayStatus::Recorded
            } else {
                PlayStatus::Deduplicated
            })
        })
        .await
    }

    async fn history(
        &self,
        user_id: Uuid,
        before: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<HistoryPage, StoreError> {
        timed_query("library_history", self.slow, async {
            let rows = sqlx::query(&format!(
                "SELECT p.track_mbid, p.played_at, p.duration_ms, p.client, {TRACK_COLUMNS} \
                 FROM (SELECT * FROM play WHERE user_id = $1 AND played_at < $2 \
                       ORDER BY played_at DESC LIMIT $3) p \
                 LEFT JOIN track t ON t.mbid = p.track_mbid ORDER BY p.played_at DESC"
            ))
            .bind(user_id)
            .bind(before.unwrap_or_else(end_of_time))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            let plays = rows
                .iter()
                .map(|row| {
                    Ok(Play {
                        track: track_summary(row, "track_mbid")?,
                        played_at: row.try_get("played_at")?,
                        duration_ms: row.try_get("duration_ms")?,
                        client: row.try_get("client")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
            let next_before = if i64::try_from(plays.len()).unwrap_or(0) == limit {
                plays.last().map(|p| p.played_at)
            } else {
                None
            };
            Ok(HistoryPage { plays, next_before })
        })
        .await
    }

    async fn play_counts(
        &self,
        user_id: Uuid,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<PlayCount>, StoreError> {
        timed_query("library_play_counts", self.slow, async {
            let rows = sqlx::query(&format!(
                "SELECT c.track_mbid, c.plays, c.last_played_at, {TRACK_COLUMNS} \
                 FROM (SELECT * FROM play_count WHERE user_id = $1 \
                       ORDER BY plays DESC, track_mbid LIMIT $2 OFFSET $3) c \
                 LEFT JOIN track t ON t.mbid = c.track_mbid ORDER BY c.plays DESC, c.track_mbid"
            ))
            .bind(user_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(PlayCount {
                        track: track_summary(row, "track_mbid")?,
                        plays: row.try_get("plays")?,
                        last_played_at: row.try_get("last_played_at")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(store)
        })
        .await
    }

    async fn top_tracks(
        &self,
        user_id: Uuid,
        since: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<TopTrack>, StoreError> {
        timed_query("library_top_tracks", self.slow, async {
            let counts = plays_per_track_sql(since);
            let rows = sqlx::query(&format!(
                "SELECT c.track_mbid, c.plays, {TRACK_COLUMNS} \
                 FROM (SELECT * FROM ({counts}) x ORDER BY plays DESC, track_mbid LIMIT $3) c \
                 LEFT JOIN track t ON t.mbid = c.track_mbid ORDER BY c.plays DESC, c.track_mbid"
            ))
            .bind(user_id)
            .bind(since)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(TopTrack {
                        track: track_summary(row, "track_mbid")?,
                        plays: row.try_get("plays")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(store)
        })
        .await
    }

    async fn top_artists(
        &self,
        user_id: Uuid,
        since: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<TopArtist>, StoreError> {
        timed_query("library_top_artists", self.slow, async {
            let counts = plays_per_track_sql(since);
            let rows = sqlx::query(&format!(
                "SELECT ac.artist_mbid, max(COALESCE(a.name, ac.name)) AS name, sum(c.plays)::bigint AS plays \
                 FROM ({counts}) c \
                 JOIN artist_credit ac ON ac.entity_mbid = c.track_mbid \
                 LEFT JOIN artist a ON a.mbid = ac.artist_mbid \
                 GROUP BY ac.artist_mbid ORDER BY plays DESC, ac.artist_mbid LIMIT $3"
            ))
            .bind(user_id)
            .bind(since)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(TopArtist {
                        id: Mbid::from(row.try_get::<Uuid, _>("artist_mbid")?),
                        name: row.try_get("name")?,
                        plays: row.try_get("plays")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(store)
        })
        .await
    }

    async fn playback(&self, user_id: Uuid) -> Result<Option<PlaybackState>, StoreError> {
        timed_query("library_playback", self.slow, async {
            let row = sqlx::query(&format!(
                "SELECT p.track_mbid, p.position_ms, p.device, p.version, p.updated_at, {TRACK_COLUMNS} \
                 FROM playback_state p LEFT JOIN track t ON t.mbid = p.track_mbid WHERE p.user_id = $1"
            ))
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(playback_state).transpose().map_err(store)
        })
        .await
    }

    async fn update_playback(
        &self,
        write: PlaybackWrite<'_>,
    ) -> Result<PlaybackUpdate, StoreError> {
        timed_query("library_update_playback", self.slow, async {
            // Compare-and-set: a first write claims version 0 (the insert loses to a concurrent one);
            // a later one must name the stored version (the row lock makes a concurrent writer re-check
            // it after the first one committed).
            let write_sql = if write.expected_version == 0 {
                "INSERT INTO playback_state (user_id, track_mbid, position_ms, device, version, updated_at) \
                 SELECT $1, $2, $3, $4, 1, $6 WHERE $5::bigint = 0 \
                 ON CONFLICT (user_id) DO NOTHING RETURNING *"
            } else {
                "UPDATE playback_state SET track_mbid = $2, position_ms = $3, device = $4, \
                 version = version + 1, updated_at = $6 WHERE user_id = $1 AND version = $5 RETURNING *"
            };
            let written = sqlx::query(&format!(
                "WITH w AS ({write_sql}) \
                 SELECT w.track_mbid, w.position_ms, w.device, w.version, w.updated_at, {TRACK_COLUMNS} \
                 FROM w LEFT JOIN track t ON t.mbid = w.track_mbid"
            ))
            .bind(write.user_id)
            .bind(write.track.as_uuid())
            .bind(write.position_ms)
            .bind(write.device)
            .bind(write.expected_version)
            .bind(write.at)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = written {
                return Ok(PlaybackUpdate::Updated(playback_state(&row).map_err(store)?));
            }
            let current = self.playback(write.user_id).await?.unwrap_or(PlaybackState {
                track: None,
                position_ms: 0,
                device: None,
                version: 0,
                updated_at: None,
            });
            Ok(PlaybackUpdate::Stale(current))
        })
        .await
    }

    async fn record_search(
        &self,
        user_id: Uuid,
        query: &str,
        kind: EntityKind,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        timed_query("library_record_search", self.slow, async {
            sqlx::query(
                "INSERT INTO search_history (user_id, query, entity_type, searched_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(user_id)
            .bind(query)
            .bind(kind.as_str())
            .bind(at)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    async fn search_history(
        &self,
        user_id: Uuid,
        limit: i64,
    ) -> Result<Vec<SearchHistoryEntry>, StoreError> {
        timed_query("library_search_history", self.slow, async {
            let rows: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT query, entity_type, searched_at FROM search_history WHERE user_id = $1 \
                 ORDER BY searched_at DESC, id DESC LIMIT $2",
            )
            .bind(user_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            rows.into_iter()
                .map(|(query, kind, searched_at)| {
                    Ok(SearchHistoryEntry {
                        query,
                        kind: kind_of(&kind)?,
                        searched_at,
                    })
                })
                .collect()
        })
        .await
    }

    async fn clear_search_history(&self, user_id: Uuid) -> Result<u64, StoreError> {
        timed_query("library_clear_search_history", self.slow, async {
            let done = sqlx::query("DELETE FROM search_history WHERE user_id = $1")
                .bind(user_id)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        })
        .await
    }

    async fn export(&self, user_id: Uuid) -> Result<serde_json::Value, StoreError> {
        timed_query("library_export", self.slow, async {
            let sql = format!(
                "SELECT json_build_object( \
                   'favorites', COALESCE((SELECT json_agg(json_build_object( \
                       'id', 'musicbrainz:' || f.entity_mbid, 'type', f.kind, 'added_at', {fav_at}) \
                       ORDER BY f.created_at DESC) FROM favorite f WHERE f.user_id = $1), '[]'::json), \
                   'playlists', COALESCE((SELECT json_agg(json_build_object( \
                       'id', p.id, 'name', p.name, 'description', p.description, 'public', p.public, \
                       'created_at', {pl_created}, 'updated_at', {pl_updated}, \
                       'items', COALESCE((SELECT json_agg(json_build_object( \
                           'item_id', i.id, 'position', i.position, \
                           'track_id', 'musicbrainz:' || i.track_mbid, 'added_at', {item_at}) \
                           ORDER BY i.position) FROM (SELECT *, row_number() OVER (ORDER BY rank) - 1 AS position \
                           FROM playlist_item WHERE playlist_id = p.id) i), '[]'::json)) \
                       ORDER BY p.created_at) FROM playlist p WHERE p.owner_id = $1), '[]'::json), \
                   'plays', COALESCE((SELECT json_agg(json_build_object( \
                       'track_id', 'musicbrainz:' || pl.track_mbid, 'played_at', {played_at}, \
                       'duration_ms', pl.duration_ms, 'client', pl.client) ORDER BY pl.played_at DESC) \
                       FROM play pl WHERE pl.user_id = $1), '[]'::json), \
                   'play_counts', COALESCE((SELECT json_agg(json_build_object( \
                       'track_id', 'musicbrainz:' || c.track_mbid, 'plays', c.plays, \
                       'last_played_at', {last_played}) ORDER BY c.plays DESC, c.track_mbid) \
                       FROM play_count c WHERE c.user_id = $1), '[]'::json), \
                   'playback', (SELECT json_build_object( \
                       'track_id', 'musicbrainz:' || s.track_mbid, 'position_ms', s.position_ms, \
                       'device', s.device, 'version', s.version, 'updated_at', {pb_at}) \
                       FROM playback_state s WHERE s.user_id = $1), \
                   'search_history', COALESCE((SELECT json_agg(json_build_object( \
                       'query', h.query, 'type', h.entity_type, 'searched_at', {searched_at}) \
                       ORDER BY h.searched_at DESC, h.id DESC) FROM search_history h WHERE h.user_id = $1), '[]'::json) \
                 )::jsonb",
                fav_at = ts("f.created_at"),
                pl_created = ts("p.created_at"),
                pl_updated = ts("p.updated_at"),
                item_at = ts("i.added_at"),
                played_at = ts("pl.played_at"),
                last_played = ts("c.last_played_at"),
                pb_at = ts("s.updated_at"),
                searched_at = ts("h.searched_at"),
            );
            let value: serde_json::Value = sqlx::query_scalar(&sql)
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?;
            Ok(value)
        })
        .await
    }
}
