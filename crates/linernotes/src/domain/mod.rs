//! Domain types: the shapes every layer agrees on.
//!
//! Nothing here knows about protobuf, JSON field spelling of the API, SQL or HTTP. Transports convert
//! to and from these types; the store persists them; providers produce them.
//!
//! Layout:
//! - [`id`]: namespaced entity identifiers (`musicbrainz:<mbid>`, `isrc:…`, …), parsed at the boundary.
//! - [`entity`]: artists, albums, releases, tracks and labels, and their parts.
//! - [`search`]: search hits and pages.
//! - [`enrichment`]: what other providers add (images, summaries, previews, links), merged with
//!   where each field came from.
//! - [`links`]: other services' IDs read from URL relations.
//! - [`matching`]: how sure a provider's entity is the catalogue's one (fuzzy confidence).
//! - [`provider`]: how upstream providers are doing, as status reports show it.
//! - [`text`]: what text people type may contain.
//! - [`account`]: fields of accounts that parse (e-mail addresses, passwords, roles, profile fields);
//!   users, sessions, audit entries and outbox mail; login-throttle arithmetic.
//! - [`deployment`]: which PostgreSQL this instance uses and where it lives; its read replicas.
//! - [`library`]: favourites, playlists, plays, top lists, playback state, search history.
//! - [`ws2`]: the MusicBrainz WS/2 vocabulary: resources and `inc` sets, parsed as MusicBrainz does.

pub mod account;
pub mod deployment;
pub mod enrichment;
pub mod entity;
pub mod id;
pub mod library;
pub mod links;
pub mod matching;
pub mod provider;
pub mod search;
pub mod text;
pub mod ws2;

pub use deployment::{DatabaseSetup, ReplicaStatus};
pub use entity::*;
pub use id::{EntityId, EntityKind, IdError, Mbid, Namespace};
pub use search::{SearchDocument, SearchHit, SearchPage, SearchQuery};
