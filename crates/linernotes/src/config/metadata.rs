//! `metadata`: how long stored metadata stays fresh, how much of an artist's albums is listed, and
//! how other providers' data is merged in (languages, link threshold, per-field precedence).

use std::collections::BTreeMap;
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
    /// Preferred languages of summaries, most preferred first (language codes such as `en`).
    pub languages: Vec<String>,
    /// Lowest confidence (0 to 1) at which a fuzzy match links a provider's entity.
    pub match_threshold: f64,
    /// First delay before a failed enrichment is tried again, in seconds (doubled per failure, at
    /// most a day).
    pub enrichment_retry_secs: u64,
    /// Per entity type and field, the providers that may supply it, most preferred first.
    pub merge: MergeSettings,
}

/// Every enricher's name, as precedence lists may name them.
pub const ENRICHERS: [&str; 9] = [
    "coverartarchive",
    "fanarttv",
    "theaudiodb",
    "wikidata",
    "wikipedia",
    "deezer",
    "itunes",
    "discogs",
    "lrclib",
];

/// The fields a precedence list may be given for.
pub const MERGE_FIELDS: [&str; 15] = [
    "poster",
    "fanart",
    "logo",
    "banner",
    "cover",
    "back",
    "disc",
    "other",
    "bio",
    "previews",
    "bpm",
    "explicit",
    "popularity",
    "genre",
    "styles",
];

/// Per entity type, field → providers in order of preference. A field not listed takes every
/// provider, in the order they are configured.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MergeSettings {
    /// Artists.
    #[serde(default)]
    pub artist: BTreeMap<String, Vec<String>>,
    /// Albums.
    #[serde(default)]
    pub album: BTreeMap<String, Vec<String>>,
    /// Releases.
    #[serde(default)]
    pub release: BTreeMap<String, Vec<String>>,
    /// Tracks.
    #[serde(default)]
    pub track: BTreeMap<String, Vec<String>>,
    /// Labels.
    #[serde(default)]
    pub label: BTreeMap<String, Vec<String>>,
}

impl MergeSettings {
    /// The providers that may supply `field` of a `kind`, most preferred first; `None` when any may.
    pub fn precedence(&self, kind: EntityKind, field: &str) -> Option<&[String]> {
        self.for_kind(kind).get(field).map(Vec::as_slice)
    }

    fn for_kind(&self, kind: EntityKind) -> &BTreeMap<String, Vec<String>> {
        match kind {
            EntityKind::Artist => &self.artist,
            EntityKind::Album => &self.album,
            EntityKind::Release => &self.release,
            EntityKind::Track => &self.track,
            EntityKind::Label => &self.label,
        }
    }
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
        issues.check(
            !self.languages.is_empty() && self.languages.iter().all(|l| is_language_code(l)),
            "languages",
            format!(
                "must list language codes such as en or pt-br, got {:?}",
                self.languages
            ),
        );
        issues.check(
            (0.0..=1.0).contains(&self.match_threshold),
            "match_threshold",
            format!("must be between 0 and 1, got {}", self.match_threshold),
        );
        issues.range(
            "enrichment_retry_secs",
            self.enrichment_retry_secs,
            1,
            86_400,
        );
        for kind in EntityKind::ALL {
            for (field, providers) in self.merge.for_kind(kind) {
                let key = format!("merge.{kind}.{field}");
                issues.check(
                    MERGE_FIELDS.contains(&field.as_str()),
                    &key,
                    format!(
                        "is no mergeable field; expected one of {}",
                        MERGE_FIELDS.join(", ")
                    ),
                );
                for provider in providers {
                    issues.check(
                        ENRICHERS.contains(&provider.as_str()),
                        &key,
                        format!(
                            "'{provider}' is no provider; expected some of {}",
                            ENRICHERS.join(", ")
                        ),
                    );
                }
            }
        }
    }
}

/// A language code as Wikipedia names its editions: 2 to 3 letters, optionally a hyphenated variant.
pub fn is_language_code(code: &str) -> bool {
    let mut parts = code.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}
