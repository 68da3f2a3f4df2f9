//! Plays: [`PlayRepo`] records them (de-duplicated) and reads the history, the per-track counts and
//! the top lists.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::{track_summary, PgLibraryRepo, TRACK_COLUMNS};
use crate::domain::library::{HistoryPage, Play, PlayCount, PlayStatus, TopArtist, TopTrack};
use crate::domain::Mbid;
use crate::store::{timed_query, StoreError};

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

/// Persistence of plays and what is counted from them.
#[async_trait]
pub trait PlayRepo: Send + Sync {
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
}

/// The largest timestamp the history is read before when no bound is given.
fn end_of_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
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
impl PlayRepo for PgLibraryRepo {
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
                .map_err(StoreError::from)
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
                .map_err(StoreError::from)
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
                .map_err(StoreError::from)
        })
        .await
    }
}
