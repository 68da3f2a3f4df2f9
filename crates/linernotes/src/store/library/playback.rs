//! Playback state: [`PlaybackRepo`], one versioned row per user written by compare-and-set.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use super::{track_summary, PgLibraryRepo, TRACK_COLUMNS};
use crate::domain::library::{PlaybackState, PlaybackUpdate};
use crate::domain::Mbid;
use crate::store::{timed_query, StoreError};

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

/// Persistence of the playback state.
#[async_trait]
pub trait PlaybackRepo: Send + Sync {
    /// The stored playback state.
    async fn playback(&self, user_id: Uuid) -> Result<Option<PlaybackState>, StoreError>;
    /// Writes the playback state if `expected_version` is current.
    async fn update_playback(&self, write: PlaybackWrite<'_>)
        -> Result<PlaybackUpdate, StoreError>;
}

/// A stored state from a row of `playback_state` with the track columns.
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

#[async_trait]
impl PlaybackRepo for PgLibraryRepo {
    async fn playback(&self, user_id: Uuid) -> Result<Option<PlaybackState>, StoreError> {
        timed_query("library_playback", self.slow, async {
            let row = sqlx::query(&format!(
                "SELECT p.track_mbid, p.position_ms, p.device, p.version, p.updated_at, {TRACK_COLUMNS} \
                 FROM playback_state p LEFT JOIN track t ON t.mbid = p.track_mbid WHERE p.user_id = $1"
            ))
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(playback_state).transpose().map_err(StoreError::from)
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
                return Ok(PlaybackUpdate::Updated(playback_state(&row).map_err(StoreError::from)?));
            }
            let current = self.playback(write.user_id).await?.unwrap_or_default();
            Ok(PlaybackUpdate::Stale(current))
        })
        .await
    }
}
