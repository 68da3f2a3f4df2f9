//! `library`: the user library's play de-duplication window and size limits.

use serde::{Deserialize, Serialize};

use super::Issues;

/// The user library: play de-duplication and size limits.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LibrarySettings {
    /// A play of the same track by the same user within this many seconds of another is de-duplicated.
    pub play_dedup_secs: u64,
    /// Items one playlist may hold.
    pub max_playlist_items: u32,
    /// Playlists one user may own.
    pub max_playlists_per_user: u32,
    /// Tracks one request may add to a playlist.
    pub max_tracks_per_add: u32,
    /// How far ahead of the server's clock a play's `played_at` may be, in seconds.
    pub max_future_play_secs: u64,
}

impl LibrarySettings {
    pub(super) fn check(&self, issues: &mut Issues) {
        issues.range("play_dedup_secs", self.play_dedup_secs, 0, 86_400);
        issues.range("max_playlist_items", self.max_playlist_items, 1, 1_000_000);
        issues.range(
            "max_playlists_per_user",
            self.max_playlists_per_user,
            1,
            1_000_000,
        );
        issues.range("max_tracks_per_add", self.max_tracks_per_add, 1, 10_000);
        issues.range("max_future_play_secs", self.max_future_play_secs, 0, 86_400);
    }
}
