//! The user library in PostgreSQL: [`LibraryRepo`] and [`PgLibraryRepo`].
//!
//! Layout: this file holds the error type, the repository, the one trait the service holds and the
//! track columns every concern joins; each concern has its own trait and file:
//! - `favorites.rs`: [`FavoriteRepo`];
//! - `playlists.rs`: [`PlaylistRepo`], with the sparse-rank helpers;
//! - `plays.rs`: [`PlayRepo`]: plays, history, play counts, top tracks and artists;
//! - `playback.rs`: [`PlaybackRepo`];
//! - `search_history.rs`: [`SearchHistoryRepo`];
//! - `export.rs`: [`ExportRepo`], the library's part of the account export;
//! - `merge.rs`: [`follow_merge`], moving user data when MusicBrainz merges two entities.
//!
//! Concurrency rules, all enforced in this module:
//! - every playlist edit runs in one transaction that first locks the playlist row (`FOR UPDATE`), so
//!   edits of one playlist are serialised; items are ordered by a sparse `rank` and an item's position is
//!   its index in that order, so positions are always exactly 0..n-1 (see the migration for why ranks
//!   rather than shifted positions); when two neighbours leave no room, a window of ranks around the
//!   insertion point is re-spread with one set-based UPDATE, which the deferrable (not deferred) unique
//!   constraint on (playlist, rank) checks at the end of the statement;
//! - a play takes a transaction-scoped advisory lock on (user, track) before looking for a play inside
//!   the de-duplication window (in the `library_record_play` function of the migration, one round
//!   trip), so two concurrent reports of one play store it once;
//! - playback state changes only when the version given is the stored one (compare-and-set);
//! - an MBID merge moves the user data in the transaction that records the redirect.

mod export;
mod favorites;
mod merge;
mod playback;
mod playlists;
mod plays;
mod search_history;

use std::time::Duration;

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::StoreError;
use crate::domain::library::TrackSummary;
use crate::domain::{known, EntityKind, Mbid};

pub use export::ExportRepo;
pub use favorites::FavoriteRepo;
pub use merge::follow_merge;
pub use playback::{PlaybackRepo, PlaybackWrite};
pub use playlists::{PlaylistChange, PlaylistRepo};
pub use plays::{NewPlay, PlayRepo};
pub use search_history::SearchHistoryRepo;

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

/// Persistence of the whole user library: every concern's repository in one object, so the service
/// holds one `Arc<dyn LibraryRepo>`. Implemented by everything that implements all of them.
pub trait LibraryRepo:
    FavoriteRepo + PlaylistRepo + PlayRepo + PlaybackRepo + SearchHistoryRepo + ExportRepo
{
}

impl<T> LibraryRepo for T where
    T: FavoriteRepo + PlaylistRepo + PlayRepo + PlaybackRepo + SearchHistoryRepo + ExportRepo
{
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

/// Track summary columns from `t` (a LEFT JOIN of `track`), for [`track_summary`]. A LEFT JOIN, so an
/// entry whose track row is gone still shows, with an empty title.
const TRACK_COLUMNS: &str = "COALESCE(t.title, '') AS title, \
     COALESCE(t.artist_credit_name, '') AS artist_credit_name, t.length_ms";

/// A track summary from a row with [`TRACK_COLUMNS`], its ID read from `mbid_column`.
fn track_summary(row: &PgRow, mbid_column: &str) -> Result<TrackSummary, sqlx::Error> {
    Ok(TrackSummary {
        id: Mbid::from(row.try_get::<Uuid, _>(mbid_column)?),
        title: row.try_get("title")?,
        artist_credit_name: known(row.try_get("artist_credit_name")?),
        length_ms: row.try_get("length_ms")?,
    })
}

/// Parses an entity kind stored as text.
fn kind_of(text: &str) -> Result<EntityKind, StoreError> {
    text.parse::<EntityKind>()
        .map_err(|e| StoreError::Corrupt(format!("favorite kind: {e}")))
}
