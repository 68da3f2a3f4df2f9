//! Identifiers: [`Mbid`], [`Namespace`], [`EntityId`] and [`EntityKind`].
//!
//! Every ID on the API is `<namespace>:<value>`. Parsing validates the value for its namespace and
//! normalises it (MBIDs lower-case, ISRCs upper-case without hyphens), so two spellings of one ID
//! compare equal everywhere after the boundary.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// A MusicBrainz identifier: a UUID, always shown lower-case and hyphenated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mbid(Uuid);

impl Mbid {
    /// Parses the hyphenated 36-character form MusicBrainz uses.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let trimmed = value.trim();
        if trimmed.len() != 36 {
            return Err(IdError::InvalidValue {
                namespace: Namespace::MusicBrainz,
                value: value.to_owned(),
            });
        }
        Uuid::parse_str(trimmed)
            .map(Mbid)
            .map_err(|_| IdError::InvalidValue {
                namespace: Namespace::MusicBrainz,
                value: value.to_owned(),
            })
    }

    /// The underlying UUID, as stored in the database.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// This MBID as a namespaced API ID (`musicbrainz:<mbid>`).
    pub fn to_entity_id(self) -> EntityId {
        EntityId {
            namespace: Namespace::MusicBrainz,
            value: self.to_string(),
        }
    }
}

impl From<Uuid> for Mbid {
    fn from(uuid: Uuid) -> Self {
        Mbid(uuid)
    }
}

impl fmt::Display for Mbid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.hyphenated().encode_lower(&mut Uuid::encode_buffer()))
    }
}

impl FromStr for Mbid {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mbid::parse(s)
    }
}

/// The namespace of an [`EntityId`]: which scheme the value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Namespace {
    /// A MusicBrainz identifier (UUID).
    MusicBrainz,
    /// An International Standard Recording Code (tracks).
    Isrc,
    /// A UPC or EAN barcode (releases).
    Barcode,
    /// A Deezer numeric ID.
    Deezer,
    /// An iTunes / Apple Music numeric ID.
    Itunes,
    /// A Discogs numeric ID.
    Discogs,
    /// A Spotify base-62 ID.
    Spotify,
    /// A Wikidata item (`Q…`).
    Wikidata,
    /// A Tidal numeric ID.
    Tidal,
}

impl Namespace {
    /// Every namespace, in the order error messages list them.
    pub const ALL: [Namespace; 9] = [
        Namespace::MusicBrainz,
        Namespace::Isrc,
        Namespace::Barcode,
        Namespace::Deezer,
        Namespace::Itunes,
        Namespace::Discogs,
        Namespace::Spotify,
        Namespace::Wikidata,
        Namespace::Tidal,
    ];

    /// The prefix written before the colon.
    pub fn as_str(&self) -> &'static str {
        match self {
            Namespace::MusicBrainz => "musicbrainz",
            Namespace::Isrc => "isrc",
            Namespace::Barcode => "barcode",
            Namespace::Deezer => "deezer",
            Namespace::Itunes => "itunes",
            Namespace::Discogs => "discogs",
            Namespace::Spotify => "spotify",
            Namespace::Wikidata => "wikidata",
            Namespace::Tidal => "tidal",
        }
    }

    /// What a value of this namespace looks like, for error messages.
    pub fn expected_form(&self) -> &'static str {
        match self {
            Namespace::MusicBrainz => {
                "a MusicBrainz ID (UUID such as 5b11f4ce-a62d-471e-81fc-a69a8278c7da)"
            }
            Namespace::Isrc => "a 12-character ISRC such as USRC17607839",
            Namespace::Barcode => "a UPC/EAN barcode of 8 to 14 digits",
            Namespace::Deezer | Namespace::Itunes | Namespace::Discogs | Namespace::Tidal => {
                "a positive number"
            }
            Namespace::Spotify => "a 22-character base-62 Spotify ID",
            Namespace::Wikidata => "a Wikidata item such as Q42",
        }
    }

    /// Checks `value` for this namespace and returns its normalised spelling.
    fn normalise(&self, value: &str) -> Option<String> {
        let value = value.trim();
        match self {
            Namespace::MusicBrainz => Mbid::parse(value).ok().map(|m| m.to_string()),
            Namespace::Isrc => {
                let isrc: String = value
                    .chars()
                    .filter(|c| *c != '-')
                    .collect::<String>()
                    .to_ascii_uppercase();
                let bytes = isrc.as_bytes();
                let well_formed = bytes.len() == 12
                    && bytes[..2].iter().all(u8::is_ascii_uppercase)
                    && bytes[2..5].iter().all(u8::is_ascii_alphanumeric)
                    && bytes[5..].iter().all(u8::is_ascii_digit);
                well_formed.then_some(isrc)
            }
            Namespace::Barcode => ((8..=14).contains(&value.len())
                && value.bytes().all(|b| b.is_ascii_digit()))
            .then(|| value.to_owned()),
            Namespace::Deezer | Namespace::Itunes | Namespace::Discogs | Namespace::Tidal => {
                (!value.is_empty()
                    && value.len() <= 20
                    && value.bytes().all(|b| b.is_ascii_digit())
                    && value.bytes().any(|b| b != b'0'))
                .then(|| value.trim_start_matches('0').to_owned())
            }
            Namespace::Spotify => (value.len() == 22
                && value.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| value.to_owned()),
            Namespace::Wikidata => {
                let upper = value.to_ascii_uppercase();
                let digits = upper.strip_prefix('Q')?;
                (!digits.is_empty()
                    && digits.len() <= 12
                    && digits.bytes().all(|b| b.is_ascii_digit()))
                .then_some(upper)
            }
        }
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Namespace {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        Namespace::ALL
            .into_iter()
            .find(|ns| ns.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| IdError::UnknownNamespace(s.to_owned()))
    }
}

/// A namespaced identifier such as `musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityId {
    namespace: Namespace,
    value: String,
}

/// The longest ID text accepted before parsing is attempted.
const MAX_ID_LEN: usize = 128;

impl EntityId {
    /// Parses `<namespace>:<value>`, validating and normalising the value.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(IdError::Empty);
        }
        if text.len() > MAX_ID_LEN {
            return Err(IdError::TooLong);
        }
        let Some((namespace, value)) = text.split_once(':') else {
            return Err(IdError::MissingNamespace(text.to_owned()));
        };
        let namespace: Namespace = namespace.parse()?;
        Self::new(namespace, value)
    }

    /// Builds an ID from a namespace and a raw value, validating the value.
    pub fn new(namespace: Namespace, value: &str) -> Result<Self, IdError> {
        let value = namespace
            .normalise(value)
            .ok_or_else(|| IdError::InvalidValue {
                namespace,
                value: value.to_owned(),
            })?;
        Ok(EntityId { namespace, value })
    }

    /// The namespace.
    pub fn namespace(&self) -> Namespace {
        self.namespace
    }

    /// The normalised value after the colon.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The MBID, when this is a `musicbrainz:` ID.
    pub fn as_mbid(&self) -> Option<Mbid> {
        match self.namespace {
            Namespace::MusicBrainz => Mbid::parse(&self.value).ok(),
            _ => None,
        }
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.namespace, self.value)
    }
}

impl FromStr for EntityId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntityId::parse(s)
    }
}

/// Why an ID was rejected. Each message names the form that was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// No ID was given.
    #[error("an ID is required, in the form <namespace>:<value>, e.g. musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da")]
    Empty,
    /// The ID is longer than any valid ID.
    #[error("the ID is longer than {MAX_ID_LEN} characters; expected <namespace>:<value>")]
    TooLong,
    /// There is no `namespace:` prefix.
    #[error("'{0}' has no namespace; expected <namespace>:<value>, e.g. musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da")]
    MissingNamespace(String),
    /// The prefix names no known namespace.
    #[error("unknown namespace '{0}'; expected one of musicbrainz, isrc, barcode, deezer, itunes, discogs, spotify, wikidata, tidal")]
    UnknownNamespace(String),
    /// The value does not fit its namespace.
    #[error("'{value}' is not a valid {namespace} ID; expected {}", namespace.expected_form())]
    InvalidValue {
        /// The namespace whose form was expected.
        namespace: Namespace,
        /// The rejected value.
        value: String,
    },
}

/// The kinds of entity linernotes serves; shown as their API names (`artist`, `album`, …).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    /// A person, group or other credited artist (MusicBrainz artist).
    Artist,
    /// An album in the abstract (MusicBrainz release group).
    Album,
    /// One edition of an album (MusicBrainz release).
    Release,
    /// A recording (MusicBrainz recording).
    Track,
    /// A record label (MusicBrainz label).
    Label,
}

impl EntityKind {
    /// Every kind.
    pub const ALL: [EntityKind; 5] = [
        EntityKind::Artist,
        EntityKind::Album,
        EntityKind::Release,
        EntityKind::Track,
        EntityKind::Label,
    ];

    /// The API's name for the kind (`artist`, `album`, …), also stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            EntityKind::Artist => "artist",
            EntityKind::Album => "album",
            EntityKind::Release => "release",
            EntityKind::Track => "track",
            EntityKind::Label => "label",
        }
    }

    /// The MusicBrainz entity name used in WS/2 URLs.
    pub fn musicbrainz_entity(&self) -> &'static str {
        match self {
            EntityKind::Artist => "artist",
            EntityKind::Album => "release-group",
            EntityKind::Release => "release",
            EntityKind::Track => "recording",
            EntityKind::Label => "label",
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntityKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        EntityKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == lower)
            .ok_or_else(|| {
                format!("unknown entity type '{s}'; expected one of artist, album, release, track, label")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn musicbrainz_ids_are_normalised_to_lower_case() {
        let id = EntityId::parse("MusicBrainz:5B11F4CE-A62D-471E-81FC-A69A8278C7DA").unwrap();
        assert_eq!(
            id.to_string(),
            "musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da"
        );
        assert!(id.as_mbid().is_some());
    }

    #[test]
    fn malformed_ids_name_the_expected_form() {
        for (text, needle) in [
            ("notanid", "no namespace"),
            ("musicbrainz:", "not a valid musicbrainz ID"),
            ("musicbrainz:not-a-uuid", "UUID"),
            ("myspace:123", "unknown namespace"),
            ("", "required"),
            ("isrc:US-RC1-76-0783", "12-character ISRC"),
        ] {
            let err = EntityId::parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?} gave {err:?}");
        }
    }

    #[test]
    fn isrc_and_barcode_normalise() {
        assert_eq!(
            EntityId::parse("isrc:us-rc1-76-07839").unwrap().value(),
            "USRC17607839"
        );
        assert_eq!(
            EntityId::parse("barcode:0602577684647").unwrap().value(),
            "0602577684647"
        );
        assert!(EntityId::parse("barcode:12ab").is_err());
    }
}
