//! `metadata`: how long stored metadata stays fresh, and how much of an artist's albums is listed.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Issues;
use crate::domain::EntityKind;

/// How long stored metadata stays fresh.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataSettings {
    /// Freshness age per entity type, in seconds.
    pub freshness_secs: FreshnessSettings,
    /// Cap on release-group browse pages per artist.
    pub max_album_pages: u32,
}

/// Freshness age per entity type, in seconds.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FreshnessSettings {
    /// Artists.
    pub artist: u64,
    /// Albums (release groups).
    pub album: u64,
    /// Releases.
    pub release: u64,
    /// Tracks (recordings).
    pub track: u64,
    /// Labels.
    pub label: u64,
}

impl FreshnessSettings {
    /// The freshness age of one entity type.
    pub fn for_kind(&self, kind: EntityKind) -> Duration {
        Duration::from_secs(match kind {
            EntityKind::Artist => self.artist,
            EntityKind::Album => self.album,
            EntityKind::Release => self.release,
            EntityKind::Track => self.track,
            EntityKind::Label => self.label,
        })
    }
}

impl MetadataSettings {
    pub(super) fn check(&self, issues: &mut Issues) {
        for kind in EntityKind::ALL {
            let secs = self.freshness_secs.for_kind(kind).as_secs();
            issues.at_least(&format!("freshness_secs.{kind}"), secs, 1, " second");
        }
        issues.at_least("max_album_pages", self.max_album_pages, 1, "");
    }
}
