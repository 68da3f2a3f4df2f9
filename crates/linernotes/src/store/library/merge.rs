//! Following an MBID merge: [`follow_merge`], the one place that moves user data to a surviving MBID.

use sqlx::PgConnection;

use crate::domain::Mbid;
use crate::store::StoreError;

/// Moves the user library from a merged MBID to the surviving one: favourites (one per user and
/// entity, the earlier date kept), playlist items (same positions; a playlist that held both IDs lists
/// the track twice, as its owner placed it twice), plays, per-track play counts (summed) and playback
/// states.
///
/// This is the one place that moves user data to a surviving MBID; whatever learns of a merge (the
/// metadata write that records a redirect, a MusicBrainz dump import) calls it. Call it on the
/// connection of the transaction that records the redirect, so the library never points at an MBID
/// whose redirect is not stored, nor the other way round.
pub async fn follow_merge(conn: &mut PgConnection, old: Mbid, new: Mbid) -> Result<(), StoreError> {
    let statements = [
        "INSERT INTO favorite (user_id, entity_mbid, kind, created_at) \
         SELECT user_id, $2, kind, created_at FROM favorite WHERE entity_mbid = $1 \
         ON CONFLICT (user_id, entity_mbid) DO UPDATE \
         SET created_at = LEAST(favorite.created_at, EXCLUDED.created_at)",
        "DELETE FROM favorite WHERE entity_mbid = $1",
        "UPDATE playlist_item SET track_mbid = $2 WHERE track_mbid = $1",
        "UPDATE play SET track_mbid = $2 WHERE track_mbid = $1",
        "INSERT INTO play_count (user_id, track_mbid, plays, last_played_at) \
         SELECT user_id, $2, plays, last_played_at FROM play_count WHERE track_mbid = $1 \
         ON CONFLICT (user_id, track_mbid) DO UPDATE SET plays = play_count.plays + EXCLUDED.plays, \
         last_played_at = GREATEST(play_count.last_played_at, EXCLUDED.last_played_at)",
        "DELETE FROM play_count WHERE track_mbid = $1",
        "UPDATE playback_state SET track_mbid = $2 WHERE track_mbid = $1",
    ];
    for sql in statements {
        sqlx::query(sql)
            .bind(old.as_uuid())
            .bind(new.as_uuid())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
