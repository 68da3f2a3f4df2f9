//! The user library's shapes: favourites, playlists and their items, plays, top lists, playback state
//! and search history, plus [`Period`], the windows top lists are computed over.
//!
//! `Serialize` gives the HTTP JSON shape directly (IDs namespaced, timestamps RFC 3339 with
//! milliseconds); the gRPC adapter converts field by field.

use chrono::{DateTime, Duration, Utc};
use serde::{Serialize, Serializer};
use uuid::Uuid;

use super::entity::format_timestamp;
use super::id::{EntityKind, Mbid};

fn timestamp<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_timestamp(*at))
}

fn optional_timestamp<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_str(&format_timestamp(*at)),
        None => s.serialize_none(),
    }
}

/// One favourite: the entity's canonical ID, kind and display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Favorite {
    /// Canonical ID (`musicbrainz:<mbid>`).
    pub id: Mbid,
    /// Kind of entity.
    #[serde(rename = "type")]
    pub kind: EntityKind,
    /// Name or title, as stored (empty only if the entity row is gone).
    pub name: String,
    /// When it was added.
    #[serde(serialize_with = "timestamp")]
    pub added_at: DateTime<Utc>,
}

/// A page of favourites, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FavoritePage {
    /// The favourites on this page.
    pub items: Vec<Favorite>,
    /// How many favourites match in all.
    pub total: i64,
    /// Offset of the first item.
    pub offset: i64,
}

/// A track as a playlist or history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TrackSummary {
    /// Canonical ID.
    pub id: Mbid,
    /// Title.
    pub title: String,
    /// Credited artists as one string; `None` when not known.
    pub artist_credit_name: Option<String>,
    /// Length in milliseconds, when known.
    pub length_ms: Option<i64>,
}

/// One entry of a playlist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlaylistItem {
    /// The item's own ID (the same track may be in a playlist twice).
    pub item_id: i64,
    /// Position, 0-based; positions of a playlist are always 0..n-1.
    pub position: i32,
    /// The track.
    pub track: TrackSummary,
}

/// A playlist without its items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlaylistSummary {
    /// ID.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description; `None` when there is none.
    pub description: Option<String>,
    /// Readable by anyone, without logging in.
    pub public: bool,
    /// The owning user.
    pub owner_id: Uuid,
    /// Number of items.
    pub total: i64,
    /// Creation time.
    #[serde(serialize_with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change of the playlist or its items.
    #[serde(serialize_with = "timestamp")]
    pub updated_at: DateTime<Utc>,
}

/// A playlist with its items in order: `{id, name, description, public, owner_id, items, total}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Playlist {
    /// ID.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description; `None` when there is none.
    pub description: Option<String>,
    /// Readable by anyone.
    pub public: bool,
    /// The owning user.
    pub owner_id: Uuid,
    /// Items in position order.
    pub items: Vec<PlaylistItem>,
    /// Number of items in the playlist.
    pub total: i64,
}

impl PlaylistSummary {
    /// The playlist with `items` (a page of them or all); `total` stays the playlist's size.
    pub fn with_items(self, items: Vec<PlaylistItem>) -> Playlist {
        Playlist {
            id: self.id,
            name: self.name,
            description: self.description,
            public: self.public,
            owner_id: self.owner_id,
            items,
            total: self.total,
        }
    }
}

/// A page of the caller's playlists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlaylistPage {
    /// Playlists, newest first.
    pub playlists: Vec<PlaylistSummary>,
    /// How many playlists the user has.
    pub total: i64,
    /// Offset of the first one.
    pub offset: i64,
}

/// What adding tracks answered: the new items and the playlist's new size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AddedItems {
    /// The items added, in order.
    pub items: Vec<PlaylistItem>,
    /// Items in the playlist now.
    pub total: i64,
}

/// Whether a play was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlayStatus {
    /// Stored.
    Recorded,
    /// The same track was played by the same user within the de-duplication window; nothing stored.
    Deduplicated,
    /// The user keeps no listening history; nothing stored.
    Ignored,
}

impl PlayStatus {
    /// The status as the API spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            PlayStatus::Recorded => "recorded",
            PlayStatus::Deduplicated => "deduplicated",
            PlayStatus::Ignored => "ignored",
        }
    }
}

/// One play in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Play {
    /// The track.
    pub track: TrackSummary,
    /// When it was played.
    #[serde(serialize_with = "timestamp")]
    pub played_at: DateTime<Utc>,
    /// How long it was listened to.
    pub duration_ms: Option<i64>,
    /// The client that reported it.
    pub client: Option<String>,
}

/// A page of history, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HistoryPage {
    /// Plays on this page.
    pub plays: Vec<Play>,
    /// Pass as `before` to read the next (older) page; absent on the last page.
    #[serde(serialize_with = "optional_timestamp")]
    pub next_before: Option<DateTime<Utc>>,
}

/// A track of a top list with its play count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TopTrack {
    /// The track.
    pub track: TrackSummary,
    /// Plays in the period.
    pub plays: i64,
}

/// An artist of a top list with its play count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TopArtist {
    /// Canonical ID.
    pub id: Mbid,
    /// Name.
    pub name: String,
    /// Plays of tracks credited to the artist in the period.
    pub plays: i64,
}

/// A top list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TopList<T> {
    /// The period (`7d`, `30d`, `365d`, `all`).
    pub period: Period,
    /// Entries, most played first.
    pub items: Vec<T>,
}

/// The play count of one track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlayCount {
    /// The track.
    pub track: TrackSummary,
    /// All plays stored.
    pub plays: i64,
    /// The latest.
    #[serde(serialize_with = "timestamp")]
    pub last_played_at: DateTime<Utc>,
}

/// The window of a top list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// The last 7 days.
    Week,
    /// The last 30 days.
    Month,
    /// The last 365 days.
    Year,
    /// Everything stored.
    All,
}

impl Period {
    /// Parses `7d`, `30d`, `365d` or `all` (absent means `30d`).
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        match text.map(str::trim) {
            None | Some("") | Some("30d") => Ok(Period::Month),
            Some("7d") => Ok(Period::Week),
            Some("365d") => Ok(Period::Year),
            Some("all") => Ok(Period::All),
            Some(other) => Err(format!(
                "period must be one of 7d, 30d, 365d, all; got '{other}'"
            )),
        }
    }

    /// The API spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Period::Week => "7d",
            Period::Month => "30d",
            Period::Year => "365d",
            Period::All => "all",
        }
    }

    /// The earliest `played_at` counted at `now` (`None`: no bound).
    pub fn since(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Period::Week => Some(now - Duration::days(7)),
            Period::Month => Some(now - Duration::days(30)),
            Period::Year => Some(now - Duration::days(365)),
            Period::All => None,
        }
    }
}

impl utoipa::PartialSchema for Period {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(["7d", "30d", "365d", "all"]))
            .description(Some("The window a top list is computed over."))
            .into()
    }
}

impl utoipa::ToSchema for Period {}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Where the user is listening: the same state on every device, versioned. The default is the state
/// before the first update: no track, version 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlaybackState {
    /// The current track (`None` before anything was played).
    pub track: Option<TrackSummary>,
    /// Position in the track, in milliseconds.
    pub position_ms: i64,
    /// The device that wrote it last.
    pub device: Option<String>,
    /// Increases by one with every update; 0 when nothing was ever stored.
    pub version: i64,
    /// When it was last written.
    #[serde(serialize_with = "optional_timestamp")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// The outcome of a playback update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaybackUpdate {
    /// Stored; the new state.
    Updated(PlaybackState),
    /// The version given was not the current one; nothing stored. The current state.
    Stale(PlaybackState),
}

/// One remembered search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SearchHistoryEntry {
    /// The search text.
    pub query: String,
    /// What was searched for.
    #[serde(rename = "type")]
    pub kind: EntityKind,
    /// When.
    #[serde(serialize_with = "timestamp")]
    pub searched_at: DateTime<Utc>,
}
