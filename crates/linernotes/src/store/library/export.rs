//! The library's part of the account export: [`ExportRepo`], everything a user stored, built as one
//! JSON document by PostgreSQL in one statement (so it is one consistent snapshot).

use async_trait::async_trait;
use uuid::Uuid;

use super::PgLibraryRepo;
use crate::store::{timed_query, StoreError};

/// Reading a whole library for the account export.
#[async_trait]
pub trait ExportRepo: Send + Sync {
    /// Everything in a user's library, as JSON (for the account export).
    async fn export(&self, user_id: Uuid) -> Result<serde_json::Value, StoreError>;
}

/// A timestamp rendered in the API's one format, inside SQL-built JSON.
fn ts(column: &str) -> String {
    format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
}

#[async_trait]
impl ExportRepo for PgLibraryRepo {
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
