//! Artists, albums, releases, tracks and labels, and the parts they share.
//!
//! Field names are the API's (snake_case); `Serialize` gives the HTTP JSON shape directly and the gRPC
//! adapter converts field by field. Unknown values are `None` (never `""`); partial dates stay as the
//! provider gave them (`"1969"`, `"1969-09"`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::enrichment::Enriched;
use super::id::{EntityId, EntityKind, Mbid};

impl Serialize for Mbid {
    /// An MBID on the API is always namespaced: `musicbrainz:<mbid>`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("musicbrainz:{self}"))
    }
}

/// Text that may be empty as a value: `None` when empty, so unknown values are `null` on the API,
/// never `""`.
pub fn known(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// The one timestamp format of the API: RFC 3339, milliseconds, `Z`.
pub fn format_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn serialize_timestamp<S: Serializer>(
    at: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_timestamp(*at))
}

impl<'de> Deserialize<'de> for Mbid {
    /// Reads the namespaced form written by `Serialize` (a bare UUID is accepted too).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bare = text.strip_prefix("musicbrainz:").unwrap_or(&text);
        Mbid::parse(bare).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Mbid {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .pattern(Some(
                "^musicbrainz:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
            ))
            .description(Some("A MusicBrainz ID, namespaced: `musicbrainz:<mbid>`."))
            .examples(["musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da"])
            .into()
    }
}

impl utoipa::ToSchema for Mbid {}

impl utoipa::PartialSchema for EntityId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .pattern(Some("^[a-z]+:.+$"))
            .description(Some(
                "An ID of an entity in some namespace, `<namespace>:<value>`: `musicbrainz`, `isrc`, \
                 `barcode` or a provider's name.",
            ))
            .examples(["isrc:USRC17607839"])
            .into()
    }
}

impl utoipa::ToSchema for EntityId {}

impl<'de> Deserialize<'de> for EntityId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        EntityId::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for EntityId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// When a life began and ended. Each date may be partial.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LifeSpan {
    /// Begin date (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`).
    pub begin: Option<String>,
    /// End date, same forms.
    pub end: Option<String>,
    /// Whether it has ended; unknown in some provider answers.
    pub ended: Option<bool>,
}

/// Another name an artist or label is known by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alias {
    /// The alias itself.
    pub name: String,
    /// Its sort form, when known.
    pub sort_name: Option<String>,
    /// The locale it is primary for (`en`, `ja_JP`), when any.
    pub locale: Option<String>,
    /// Whether it is the primary alias for its locale (unknown when the provider does not say).
    pub primary: Option<bool>,
    /// Alias type (`Artist name`, `Legal name`, `Search hint`, …).
    #[serde(rename = "type")]
    pub alias_type: Option<String>,
}

/// A genre or folksonomy tag with its vote count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TagCount {
    /// Genre or tag name.
    pub name: String,
    /// How many editors applied it.
    pub count: i32,
}

/// A link from the entity to a web page (official site, Discogs, Wikidata, streaming pages, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UrlRelation {
    /// Relation type as MusicBrainz names it (`official homepage`, `discogs`, `free streaming`, …).
    #[serde(rename = "type")]
    pub relation_type: String,
    /// The target URL.
    pub url: String,
}

/// One element of an artist credit: who, as credited, and what joins them to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreditedArtist {
    /// The name as credited (may differ from the artist's own name).
    pub name: String,
    /// The credited artist.
    pub artist_id: Mbid,
    /// Text placed after this name (`" feat. "`, `" & "`, `""`).
    pub join_phrase: String,
}

impl CreditedArtist {
    /// The credited display string: every name followed by its join phrase.
    pub fn display_name(credits: &[CreditedArtist]) -> String {
        credits
            .iter()
            .flat_map(|c| [c.name.as_str(), c.join_phrase.as_str()])
            .collect()
    }
}

/// A person, group, orchestra or other credited artist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Artist {
    /// Canonical ID.
    pub id: Mbid,
    /// Every known ID of this artist, the canonical one included.
    pub external_ids: Vec<EntityId>,
    /// Name.
    pub name: String,
    /// Sort name (`Beatles, The`).
    pub sort_name: Option<String>,
    /// `Person`, `Group`, `Orchestra`, `Choir`, `Character`, `Other`.
    #[serde(rename = "type")]
    pub artist_type: Option<String>,
    /// Gender, for people.
    pub gender: Option<String>,
    /// ISO 3166-1 country code.
    pub country: Option<String>,
    /// Life span (born/formed, died/dissolved).
    pub life_span: LifeSpan,
    /// The area name (country, city) the artist is most associated with.
    pub area: Option<String>,
    /// Text that tells this artist apart from others of the same name.
    pub disambiguation: Option<String>,
    /// Other names.
    pub aliases: Vec<Alias>,
    /// Genres with vote counts.
    pub genres: Vec<TagCount>,
    /// Folksonomy tags with vote counts.
    pub tags: Vec<TagCount>,
    /// Links to other sites.
    pub urls: Vec<UrlRelation>,
}

/// An album in the abstract (a MusicBrainz release group): all editions of one work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Album {
    /// Canonical ID.
    pub id: Mbid,
    /// Every known ID, the canonical one included.
    pub external_ids: Vec<EntityId>,
    /// Title.
    pub title: String,
    /// `Album`, `Single`, `EP`, `Broadcast`, `Other`.
    pub primary_type: Option<String>,
    /// `Compilation`, `Live`, `Soundtrack`, `Remix`, …
    pub secondary_types: Vec<String>,
    /// Date of the earliest release, possibly partial.
    pub first_release_date: Option<String>,
    /// Artist credit.
    pub artist_credit: Vec<CreditedArtist>,
    /// The credited display string; `None` without a credit.
    pub artist_credit_name: Option<String>,
    /// Disambiguation comment.
    pub disambiguation: Option<String>,
    /// Genres with vote counts.
    pub genres: Vec<TagCount>,
    /// Folksonomy tags with vote counts.
    pub tags: Vec<TagCount>,
    /// Links to other sites.
    pub urls: Vec<UrlRelation>,
}

/// A label and catalogue number a release was issued under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleaseLabel {
    /// The label, when MusicBrainz knows which.
    pub label_id: Option<Mbid>,
    /// The label's name.
    pub name: Option<String>,
    /// Catalogue number on that label.
    pub catalog_number: Option<String>,
}

/// One track of a medium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleaseTrack {
    /// 1-based position on the medium.
    pub position: i32,
    /// The printed track number (`"1"`, `"A1"`).
    pub number: Option<String>,
    /// Title as printed on this release.
    pub title: String,
    /// Length in milliseconds, when known.
    pub length_ms: Option<i64>,
    /// The recording this track plays.
    pub track_id: Option<Mbid>,
    /// This track's own MBID (MusicBrainz gives each track of each release one), when known.
    #[serde(default)]
    pub release_track_id: Option<Mbid>,
    /// The track's credited artist string; `None` without a credit.
    pub artist_credit_name: Option<String>,
    /// The first artist of the track's credit (else of the release's), when known.
    #[serde(default)]
    pub artist_id: Option<Mbid>,
}

/// A disc, side or file set of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Medium {
    /// 1-based position in the release.
    pub position: i32,
    /// `CD`, `12" Vinyl`, `Digital Media`, …
    pub format: Option<String>,
    /// Medium title (`Bonus Disc`), when any.
    pub title: Option<String>,
    /// Tracks in order.
    pub tracks: Vec<ReleaseTrack>,
}

/// One edition of an album (a MusicBrainz release).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Release {
    /// Canonical ID.
    pub id: Mbid,
    /// Every known ID, the canonical one included.
    pub external_ids: Vec<EntityId>,
    /// Title.
    pub title: String,
    /// `Official`, `Promotion`, `Bootleg`, `Pseudo-Release`, …
    pub status: Option<String>,
    /// Release date, possibly partial.
    pub date: Option<String>,
    /// Release country (ISO code, or `XW` for worldwide).
    pub country: Option<String>,
    /// UPC/EAN, kept as a string.
    pub barcode: Option<String>,
    /// `Jewel Case`, `Digipak`, `None`, …
    pub packaging: Option<String>,
    /// The album (release group) this release belongs to.
    pub album_id: Option<Mbid>,
    /// Artist credit.
    pub artist_credit: Vec<CreditedArtist>,
    /// The credited display string; `None` without a credit.
    pub artist_credit_name: Option<String>,
    /// Labels and catalogue numbers.
    pub labels: Vec<ReleaseLabel>,
    /// Media with their tracks.
    pub media: Vec<Medium>,
    /// Disambiguation comment.
    pub disambiguation: Option<String>,
    /// Genres with vote counts.
    pub genres: Vec<TagCount>,
    /// Folksonomy tags with vote counts.
    pub tags: Vec<TagCount>,
    /// Links to other sites.
    pub urls: Vec<UrlRelation>,
}

/// A recording: one performance, wherever it was released.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Track {
    /// Canonical ID.
    pub id: Mbid,
    /// Every known ID, the canonical one and ISRCs included.
    pub external_ids: Vec<EntityId>,
    /// Title.
    pub title: String,
    /// Length in milliseconds, when known.
    pub length_ms: Option<i64>,
    /// ISRCs assigned to this recording.
    pub isrcs: Vec<String>,
    /// Artist credit.
    pub artist_credit: Vec<CreditedArtist>,
    /// The credited display string; `None` without a credit.
    pub artist_credit_name: Option<String>,
    /// Date of the earliest release, possibly partial.
    pub first_release_date: Option<String>,
    /// Disambiguation comment.
    pub disambiguation: Option<String>,
    /// Genres with vote counts.
    pub genres: Vec<TagCount>,
    /// Folksonomy tags with vote counts.
    pub tags: Vec<TagCount>,
    /// Links to other sites.
    pub urls: Vec<UrlRelation>,
}

/// A record label or imprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Label {
    /// Canonical ID.
    pub id: Mbid,
    /// Every known ID, the canonical one included.
    pub external_ids: Vec<EntityId>,
    /// Name.
    pub name: String,
    /// Sort name.
    pub sort_name: Option<String>,
    /// `Original Production`, `Imprint`, `Holding`, …
    #[serde(rename = "type")]
    pub label_type: Option<String>,
    /// ISO 3166-1 country code.
    pub country: Option<String>,
    /// The LC code (without the `LC` prefix).
    pub label_code: Option<i32>,
    /// Founded / defunct.
    pub life_span: LifeSpan,
    /// Disambiguation comment.
    pub disambiguation: Option<String>,
    /// Other names.
    pub aliases: Vec<Alias>,
    /// Genres with vote counts.
    pub genres: Vec<TagCount>,
    /// Folksonomy tags with vote counts.
    pub tags: Vec<TagCount>,
    /// Links to other sites.
    pub urls: Vec<UrlRelation>,
}

/// Any entity linernotes serves.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Entity {
    /// An artist.
    Artist(Artist),
    /// An album (release group).
    Album(Album),
    /// A release.
    Release(Release),
    /// A track (recording).
    Track(Track),
    /// A label.
    Label(Label),
}

impl Release {
    /// How many tracks its media hold, all media together.
    pub fn track_count(&self) -> usize {
        self.media.iter().map(|m| m.tracks.len()).sum()
    }
}

impl Entity {
    /// Which kind this is.
    pub fn kind(&self) -> EntityKind {
        match self {
            Entity::Artist(_) => EntityKind::Artist,
            Entity::Album(_) => EntityKind::Album,
            Entity::Release(_) => EntityKind::Release,
            Entity::Track(_) => EntityKind::Track,
            Entity::Label(_) => EntityKind::Label,
        }
    }

    /// The canonical MBID.
    pub fn mbid(&self) -> Mbid {
        match self {
            Entity::Artist(e) => e.id,
            Entity::Album(e) => e.id,
            Entity::Release(e) => e.id,
            Entity::Track(e) => e.id,
            Entity::Label(e) => e.id,
        }
    }

    /// A name to show for it: the name of an artist or label, the title of anything else.
    pub fn display_name(&self) -> &str {
        match self {
            Entity::Artist(e) => &e.name,
            Entity::Album(e) => &e.title,
            Entity::Release(e) => &e.title,
            Entity::Track(e) => &e.title,
            Entity::Label(e) => &e.name,
        }
    }

    /// The entity's known IDs.
    pub fn external_ids(&self) -> &[EntityId] {
        match self {
            Entity::Artist(e) => &e.external_ids,
            Entity::Album(e) => &e.external_ids,
            Entity::Release(e) => &e.external_ids,
            Entity::Track(e) => &e.external_ids,
            Entity::Label(e) => &e.external_ids,
        }
    }

    /// The entity's known IDs, for adding IDs derived after parsing.
    pub fn external_ids_mut(&mut self) -> &mut Vec<EntityId> {
        match self {
            Entity::Artist(e) => &mut e.external_ids,
            Entity::Album(e) => &mut e.external_ids,
            Entity::Release(e) => &mut e.external_ids,
            Entity::Track(e) => &mut e.external_ids,
            Entity::Label(e) => &mut e.external_ids,
        }
    }

    /// The disambiguation comment.
    pub fn disambiguation(&self) -> Option<&str> {
        match self {
            Entity::Artist(e) => e.disambiguation.as_deref(),
            Entity::Album(e) => e.disambiguation.as_deref(),
            Entity::Release(e) => e.disambiguation.as_deref(),
            Entity::Track(e) => e.disambiguation.as_deref(),
            Entity::Label(e) => e.disambiguation.as_deref(),
        }
    }

    /// The URL relations, from which further external IDs are derived.
    pub fn urls(&self) -> &[UrlRelation] {
        match self {
            Entity::Artist(e) => &e.urls,
            Entity::Album(e) => &e.urls,
            Entity::Release(e) => &e.urls,
            Entity::Track(e) => &e.urls,
            Entity::Label(e) => &e.urls,
        }
    }
}

/// How old the answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Freshness {
    /// When linernotes last fetched this entity from its provider (RFC 3339 with milliseconds, UTC,
    /// on every transport).
    #[serde(serialize_with = "serialize_timestamp")]
    pub fetched_at: DateTime<Utc>,
    /// Whether it is older than the freshness policy (a refresh is then under way) or could not be
    /// refreshed when asked.
    pub stale: bool,
}

/// An entity as the service answers it: the data plus how fresh it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Record<T> {
    /// The entity.
    #[serde(flatten)]
    pub entity: T,
    /// Age of the data.
    pub freshness: Freshness,
    /// What other providers add (images, summary, previews, links) and where each field came from.
    #[serde(flatten)]
    pub enriched: Enriched,
}

impl<T> Record<T> {
    /// A record of `entity` as fresh as `freshness` says, with nothing from other providers yet.
    pub fn new(entity: T, freshness: Freshness) -> Self {
        Self {
            entity,
            freshness,
            enriched: Enriched::default(),
        }
    }

    /// The record with what other providers add.
    pub fn with_enriched(mut self, enriched: Enriched) -> Self {
        self.enriched = enriched;
        self
    }
}

/// One page of an artist's albums.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlbumPage {
    /// Albums on this page, earliest first.
    pub albums: Vec<Album>,
    /// How many albums the artist has in all.
    pub total: i64,
    /// Offset of the first album on this page.
    pub offset: i64,
}
