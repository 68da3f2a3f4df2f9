//! Search requests and answers.

use serde::{Deserialize, Serialize};

use super::id::{EntityKind, Mbid};

/// A validated search request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The query text, trimmed, 1–[`SearchQuery::MAX_QUERY_CHARS`] characters.
    pub text: String,
    /// What to search for.
    pub kind: EntityKind,
    /// Page size, 1–[`SearchQuery::MAX_LIMIT`].
    pub limit: u32,
    /// Results to skip.
    pub offset: u32,
}

impl SearchQuery {
    /// The largest page size.
    pub const MAX_LIMIT: u32 = 100;
    /// The page size when none is given.
    pub const DEFAULT_LIMIT: u32 = 25;
    /// The longest query text accepted, in characters.
    pub const MAX_QUERY_CHARS: usize = 500;
    /// The largest offset accepted (the provider pages no further).
    pub const MAX_OFFSET: u32 = 10_000;

    /// Validates a search request; every message names what was expected.
    pub fn parse(
        text: &str,
        kind: Option<&str>,
        limit: Option<u32>,
        offset: Option<u32>,
    ) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("q (the search text) is required and must not be blank".into());
        }
        if text.chars().count() > Self::MAX_QUERY_CHARS {
            return Err(format!(
                "q (the search text) must be at most {} characters",
                Self::MAX_QUERY_CHARS
            ));
        }
        if text.chars().any(|c| c.is_control()) {
            return Err("q (the search text) must not contain control characters".into());
        }
        let kind = match kind.map(str::trim) {
            None | Some("") => {
                return Err(
                    "type is required; expected one of artist, album, release, track, label".into(),
                )
            }
            Some(kind) => kind.parse::<EntityKind>()?,
        };
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(format!(
                "limit must be between 1 and {}, got {limit}",
                Self::MAX_LIMIT
            ));
        }
        let offset = offset.unwrap_or(0);
        if offset > Self::MAX_OFFSET {
            return Err(format!(
                "offset must be between 0 and {}, got {offset}",
                Self::MAX_OFFSET
            ));
        }
        Ok(SearchQuery {
            text: text.to_owned(),
            kind,
            limit,
            offset,
        })
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchHit {
    /// The entity's canonical ID.
    pub id: Mbid,
    /// Its kind (`artist`, `album`, …).
    pub entity_type: EntityKind,
    /// Name or title.
    pub name: String,
    /// Relevance, 0–100.
    pub score: i32,
    /// Disambiguation comment.
    pub disambiguation: Option<String>,
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchPage {
    /// Results, best first.
    pub results: Vec<SearchHit>,
    /// How many results there are in all.
    pub total: i64,
    /// Offset of the first result on this page.
    pub offset: i64,
}

/// What the search index holds of one entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDocument {
    /// Its kind.
    pub kind: EntityKind,
    /// Its MBID.
    pub mbid: Mbid,
    /// Name or title, as shown in hits.
    pub name: String,
    /// Disambiguation comment, shown in hits.
    pub disambiguation: Option<String>,
    /// Other names it is found by: aliases, sort names.
    pub other_names: Vec<String>,
    /// How much the catalogue refers to it (credits of an artist, releases of an album, tracks of a
    /// recording, releases of a label): ranks the famous one first among equal matches.
    pub popularity: u64,
}
