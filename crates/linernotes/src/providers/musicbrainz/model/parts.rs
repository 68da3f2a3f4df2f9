//! The parts MusicBrainz entities share: common keys, tags, URL relations, life spans, aliases and
//! artist credits.

use serde::Deserialize;

use crate::domain::{Alias, CreditedArtist, LifeSpan, Mbid, TagCount, UrlRelation};

use super::*;

/// Keys every core entity may carry.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct RawCommon {
    pub(super) id: Option<String>,
    pub(super) disambiguation: Option<String>,
    pub(super) genres: Option<Vec<RawTag>>,
    pub(super) tags: Option<Vec<RawTag>>,
    pub(super) relations: Option<Vec<RawRelation>>,
}

/// [`RawCommon`] converted.
pub(super) struct Common {
    pub(super) id: Mbid,
    pub(super) disambiguation: Option<String>,
    pub(super) genres: Vec<TagCount>,
    pub(super) tags: Vec<TagCount>,
    pub(super) urls: Vec<UrlRelation>,
}

impl RawCommon {
    /// Converts the shared keys of a top-level `entity`, which must have a valid `id`.
    pub(super) fn convert(self, entity: &str) -> Result<Common, ParseError> {
        let id = match self.id {
            None => {
                return Err(ParseError(format!(
                    "expected a MusicBrainz {entity} with an \"id\""
                )))
            }
            Some(id) => Mbid::parse(&id).map_err(|e| {
                ParseError(format!(
                    "expected a MusicBrainz {entity} with a valid \"id\": {e}"
                ))
            })?,
        };
        Ok(Common {
            id,
            disambiguation: text(self.disambiguation),
            genres: convert_all(self.genres, RawTag::convert),
            tags: convert_all(self.tags, RawTag::convert),
            urls: convert_all(self.relations, RawRelation::convert),
        })
    }
}

/// A nested reference: an area, a credited artist, a label, a release group, a recording.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct RawRef {
    pub(super) id: Option<String>,
    pub(super) name: Option<String>,
}

/// `{"name", "count"}` of a genre or tag.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct RawTag {
    pub(super) name: Option<String>,
    pub(super) count: Option<i32>,
}

impl RawTag {
    pub(super) fn convert(self) -> Option<TagCount> {
        Some(TagCount {
            name: text(self.name)?,
            count: self.count.unwrap_or(0),
        })
    }
}

/// A relation; only those to a URL are kept.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(super) struct RawRelation {
    pub(super) target_type: Option<String>,
    #[serde(rename = "type")]
    pub(super) relation_type: Option<String>,
    pub(super) url: Option<RawUrl>,
}

/// The `url` target of a relation.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct RawUrl {
    pub(super) resource: Option<String>,
}

impl RawRelation {
    pub(super) fn convert(self) -> Option<UrlRelation> {
        if self.target_type.as_deref() != Some("url") {
            return None;
        }
        Some(UrlRelation {
            relation_type: text(self.relation_type)?,
            url: text(self.url?.resource)?,
        })
    }
}

/// `{"begin", "end", "ended"}`; `ended` is `null` in search results.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct RawLifeSpan {
    pub(super) begin: Option<String>,
    pub(super) end: Option<String>,
    pub(super) ended: Option<bool>,
}

impl RawLifeSpan {
    pub(super) fn convert(self) -> LifeSpan {
        LifeSpan {
            begin: text(self.begin),
            end: text(self.end),
            ended: self.ended,
        }
    }
}

/// An alias of an artist or label.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(super) struct RawAlias {
    pub(super) name: Option<String>,
    pub(super) sort_name: Option<String>,
    pub(super) locale: Option<String>,
    pub(super) primary: Option<bool>,
    #[serde(rename = "type")]
    pub(super) alias_type: Option<String>,
}

impl RawAlias {
    pub(super) fn convert(self) -> Option<Alias> {
        Some(Alias {
            name: text(self.name)?,
            sort_name: text(self.sort_name),
            locale: text(self.locale),
            primary: self.primary,
            alias_type: text(self.alias_type),
        })
    }
}

/// One element of an `artist-credit` array.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(super) struct RawCredit {
    pub(super) name: Option<String>,
    pub(super) joinphrase: Option<String>,
    pub(super) artist: Option<RawRef>,
}

impl RawCredit {
    pub(super) fn convert(self) -> Option<CreditedArtist> {
        let artist = self.artist?;
        Some(CreditedArtist {
            artist_id: mbid(artist.id)?,
            name: text(self.name).or_else(|| text(artist.name))?,
            join_phrase: self.joinphrase.unwrap_or_default(),
        })
    }
}

/// An `artist-credit` array converted; elements without a valid artist MBID are left out.
pub(super) fn credits(raw: Option<Vec<RawCredit>>) -> Vec<CreditedArtist> {
    convert_all(raw, RawCredit::convert)
}
