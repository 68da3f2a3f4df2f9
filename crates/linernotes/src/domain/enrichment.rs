//! What providers other than the catalogue add to an entity, and the merged view the API answers.
//!
//! Each enricher reports [`Facts`] about one entity (images, summaries, previews, links to its own
//! entities, attributes such as BPM); they are stored per entity and provider. Reads merge the facts of
//! every provider into [`Enriched`] by per-field precedence, and say in `sources` which provider
//! supplied each field.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::entity::format_timestamp;

/// What an image shows.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ImageType {
    /// An artist's picture.
    Poster,
    /// A wide background picture of an artist.
    Fanart,
    /// An artist's logo.
    Logo,
    /// A banner with the artist's name.
    Banner,
    /// A front cover.
    Cover,
    /// A back cover.
    Back,
    /// A picture of the disc itself.
    Disc,
    /// Booklets, spines, trays and the like.
    Other,
}

impl ImageType {
    /// Every type, artists' first, in the order answers list them.
    pub const ALL: [ImageType; 8] = [
        ImageType::Poster,
        ImageType::Fanart,
        ImageType::Logo,
        ImageType::Banner,
        ImageType::Cover,
        ImageType::Back,
        ImageType::Disc,
        ImageType::Other,
    ];

    /// The name on the API (`cover`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ImageType::Poster => "poster",
            ImageType::Fanart => "fanart",
            ImageType::Logo => "logo",
            ImageType::Banner => "banner",
            ImageType::Cover => "cover",
            ImageType::Back => "back",
            ImageType::Disc => "disc",
            ImageType::Other => "other",
        }
    }
}

/// One image of an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Image {
    /// What it shows.
    #[serde(rename = "type")]
    pub image_type: ImageType,
    /// The full-size image.
    pub url: String,
    /// Width in pixels, when the provider says.
    pub width: Option<u32>,
    /// Height in pixels, when the provider says.
    pub height: Option<u32>,
    /// Smaller renditions by their longest side in pixels (`"250"`, `"500"`, `"1200"`).
    #[serde(default)]
    pub thumbnails: BTreeMap<String, String>,
    /// The provider it came from.
    pub source: String,
}

/// A summary of an artist or album.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Bio {
    /// Plain text.
    pub summary: String,
    /// The page it was taken from, when any.
    pub url: Option<String>,
    /// Its language code (`en`).
    pub language: String,
    /// The provider it came from.
    pub source: String,
}

/// A short audio excerpt of a track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Preview {
    /// Where to play it (provider URLs may carry tokens that expire).
    pub url: String,
    /// The provider it came from.
    pub source: String,
}

/// How a link between a provider's entity and the canonical one was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkMethod {
    /// The catalogue's own ID (the provider is keyed by MBID).
    Mbid,
    /// A MusicBrainz URL relation names the provider's page.
    UrlRelation,
    /// The provider's track carries one of the recording's ISRCs.
    Isrc,
    /// The provider's release carries the release's barcode.
    Barcode,
    /// Normalised title, artist and duration or track count agree well enough.
    Fuzzy,
}

impl LinkMethod {
    /// The name on the API and in the store.
    pub fn as_str(&self) -> &'static str {
        match self {
            LinkMethod::Mbid => "mbid",
            LinkMethod::UrlRelation => "url_relation",
            LinkMethod::Isrc => "isrc",
            LinkMethod::Barcode => "barcode",
            LinkMethod::Fuzzy => "fuzzy",
        }
    }
}

/// The same entity on another platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Link {
    /// The platform (`deezer`, `wikidata`, …), also the namespace of `id`.
    pub platform: String,
    /// Its namespaced ID there (`deezer:3135556`).
    pub id: String,
    /// Its page there, when known.
    pub url: Option<String>,
    /// How the link was made.
    pub method: LinkMethod,
    /// How sure the link is, from 0 to 1 (1 for links through IDs).
    pub confidence: f64,
}

/// Where one merged field came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Source {
    /// The provider.
    pub provider: String,
    /// When linernotes fetched it from that provider.
    #[serde(with = "timestamp")]
    pub fetched_at: DateTime<Utc>,
    /// Data that disagreed and was therefore not merged, when any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
}

/// What one provider reported about one entity: stored per entity and provider, merged on reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Facts {
    /// Images, in the provider's order of preference.
    pub images: Vec<Image>,
    /// Summaries, one per language.
    pub bios: Vec<Bio>,
    /// Audio previews.
    pub previews: Vec<Preview>,
    /// The entity on other platforms.
    pub links: Vec<Link>,
    /// Wikipedia article titles by language code (what Wikidata knows, for Wikipedia to fetch).
    pub articles: BTreeMap<String, String>,
    /// Other values by field name (`bpm`, `explicit`, `popularity`, `genre`, `styles`).
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// What disagreed and was therefore left out.
    pub conflicts: Vec<String>,
}

impl Facts {
    /// Whether the provider reported nothing.
    pub fn is_empty(&self) -> bool {
        *self == Facts::default()
    }
}

/// The facts of one provider as stored, with when they were fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderFacts {
    /// The provider.
    pub provider: String,
    /// What it reported (empty when it knows nothing of the entity).
    pub facts: Facts,
    /// When it answered.
    pub fetched_at: DateTime<Utc>,
}

/// The merged view of every provider's facts, as answers carry it beside the catalogue's fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Enriched {
    /// Images grouped by type, the preferred one first within each type.
    pub images: Vec<Image>,
    /// The summary in the preferred language, when any provider has one.
    pub bio: Option<Bio>,
    /// Audio previews (tracks).
    pub previews: Vec<Preview>,
    /// The entity on other platforms.
    pub links: Vec<Link>,
    /// Other merged values by field name.
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Which provider supplied each field.
    pub sources: BTreeMap<String, Source>,
}

mod timestamp {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_timestamp(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// Values providers fill in when they have nothing (`"."`, `"null"`, `"N/A"`), which must not become
/// data.
pub fn is_junk(value: &str) -> bool {
    let trimmed = value.trim();
    trimmed.is_empty()
        || trimmed.chars().all(|c| c.is_ascii_punctuation())
        || ["null", "n/a", "na", "none", "undefined", "unknown", "-"]
            .iter()
            .any(|junk| trimmed.eq_ignore_ascii_case(junk))
}

/// `value` unless it is junk.
pub fn meaningful(value: Option<&str>) -> Option<String> {
    value.filter(|v| !is_junk(v)).map(|v| v.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_values_are_junk() {
        for junk in [".", "null", "N/A", "", "  ", "...", "-", "NULL"] {
            assert!(is_junk(junk), "{junk:?}");
        }
        for real in ["Baldur's Gate 3", "1", "A", "Null Island"] {
            assert!(!is_junk(real), "{real:?}");
        }
        assert_eq!(meaningful(Some(" Abbey Road ")), Some("Abbey Road".into()));
        assert_eq!(meaningful(Some("N/A")), None);
    }
}
