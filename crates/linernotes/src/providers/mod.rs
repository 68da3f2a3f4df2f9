//! Upstream providers: the catalogue source (lookups, browse, search) and enrichers (what other
//! providers add to a catalogue entity), held in a [`ProviderRegistry`] that the metadata service reads.
//!
//! Layout:
//! - this file: the [`CatalogueSource`] and [`Enricher`] traits, what they answer, [`ProviderError`];
//! - [`client`]: the one polite HTTP client every provider speaks through (budget, breaker, retries,
//!   timeouts, User-Agent, health, metrics);
//! - [`registry`]: which providers run, built from the configuration;
//! - [`musicbrainz`]: the MusicBrainz WS/2 catalogue source and its JSON model;
//! - enrichers, one folder or file each: [`coverartarchive`], [`wikidata`], [`wikipedia`],
//!   [`deezer`], [`itunes`], [`lrclib`], [`fanarttv`], [`theaudiodb`], [`discogs`];
//! - [`lenient`]: reading values out of provider JSON whose types vary;
//! - [`linking`]: what the enrichers that link their own entities to the catalogue's share.
//!
//! A new provider is a folder here with its client (a [`client::PoliteClient`] and a model of its
//! JSON), an implementation of one of the traits, a `providers.<name>` config section sharing
//! [`crate::config::ClientSettings`], and one line in [`registry::build`].

pub mod client;
pub mod coverartarchive;
pub mod deezer;
pub mod discogs;
pub mod fanarttv;
pub mod itunes;
pub mod lenient;
pub mod linking;
pub mod lrclib;
pub mod musicbrainz;
pub mod registry;
pub mod theaudiodb;
pub mod wikidata;
pub mod wikipedia;

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::domain::enrichment::Facts;
use crate::domain::provider::ProviderStatus;
use crate::domain::ws2::{IncSet, Ws2Browse};
use crate::domain::{Album, Entity, EntityKind, Mbid, Release, SearchPage, SearchQuery};
pub use client::ratelimit::Priority;
pub use registry::ProviderRegistry;

/// One entity as a provider answered it.
#[derive(Debug, Clone)]
pub struct FetchedEntity {
    /// The parsed entity. Its MBID differs from the requested one when the provider redirected a merge.
    pub entity: Entity,
    /// The raw body, kept beside the normalised rows.
    pub raw: serde_json::Value,
    /// The request shape (for MusicBrainz the sorted `inc` set, `inc=a+b`), stored with the raw body.
    pub request: String,
}

/// One page of an artist's albums as a provider lists them.
#[derive(Debug, Clone)]
pub struct AlbumBrowsePage {
    /// Albums on the page.
    pub albums: Vec<Album>,
    /// How many release groups the page held, including any that could not be read (the next page
    /// starts after all of them).
    pub received: i64,
    /// Total albums of the artist.
    pub total: i64,
    /// Offset of this page.
    pub offset: i64,
    /// Request shape, stored with the raw body.
    pub request: String,
    /// The raw body.
    pub raw: serde_json::Value,
}

/// One page of an album's releases as a provider lists them, each with its media and tracks.
#[derive(Debug, Clone)]
pub struct ReleaseBrowsePage {
    /// The readable releases on the page.
    pub releases: Vec<Release>,
    /// How many releases the page held, including any that could not be read (the next page starts
    /// after all of them).
    pub received: i64,
    /// Total releases of the album.
    pub total: i64,
    /// Request shape of the page, stored with the raw body.
    pub request: String,
    /// The raw body.
    pub raw: serde_json::Value,
}

/// Why a provider call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider says the entity does not exist.
    #[error("not found")]
    NotFound,
    /// The provider refused the request as malformed (e.g. a query it cannot parse).
    #[error("rejected: {0}")]
    Rejected(String),
    /// The provider could not be reached, timed out, or kept answering 5xx / 429.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The provider answered something that is not the expected JSON.
    #[error("malformed response: {0}")]
    Malformed(String),
}

/// The source of the catalogue: every entity, its canonical ID, browse lists and search (MusicBrainz).
#[async_trait]
pub trait CatalogueSource: Send + Sync {
    /// The provider's key, stored with raw payloads (`musicbrainz`).
    fn name(&self) -> &'static str;
    /// The provider's name in messages to people (`MusicBrainz`).
    fn display_name(&self) -> &'static str;
    /// The longest a client request waits for this provider.
    fn interactive_deadline(&self) -> std::time::Duration;
    /// Looks up one entity with everything needed to fill the store, plus the MusicBrainz incs in
    /// `also` (what a WS/2 client asked for, and what an earlier stored body held).
    async fn lookup(
        &self,
        kind: EntityKind,
        mbid: Mbid,
        also: &IncSet,
        priority: Priority,
    ) -> Result<FetchedEntity, ProviderError>;
    /// One page (up to 100) of an artist's albums, starting at `offset`.
    async fn browse_artist_albums(
        &self,
        artist: Mbid,
        offset: i64,
        priority: Priority,
    ) -> Result<AlbumBrowsePage, ProviderError>;
    /// One page of a WS/2 browse, as the provider answered it (its own envelope).
    async fn browse_page(&self, browse: &Ws2Browse) -> Result<serde_json::Value, ProviderError>;
    /// One page (up to 100) of an album's releases with their media and tracks, starting at `offset`.
    async fn browse_album_releases(
        &self,
        album: Mbid,
        offset: i64,
        priority: Priority,
    ) -> Result<ReleaseBrowsePage, ProviderError>;
    /// Searches one entity type.
    async fn search(&self, query: &SearchQuery) -> Result<SearchPage, ProviderError>;
    /// The recordings carrying an ISRC.
    async fn recordings_by_isrc(&self, isrc: &str) -> Result<Vec<Mbid>, ProviderError>;
    /// The releases carrying a barcode.
    async fn releases_by_barcode(&self, barcode: &str) -> Result<Vec<Mbid>, ProviderError>;
    /// The entities a page elsewhere is linked to (URL relations), with their kinds.
    async fn entities_by_url(&self, url: &str) -> Result<Vec<(EntityKind, Mbid)>, ProviderError>;
    /// Health, breaker and budget of the provider.
    fn status(&self) -> ProviderStatus;
}

/// What an enricher found for one catalogue entity: the facts, and the raw body kept beside them.
#[derive(Debug, Clone)]
pub struct Enrichment {
    /// The request shape, stored with the raw body.
    pub request: String,
    /// The raw body.
    pub raw: serde_json::Value,
    /// What the body says of the entity.
    pub facts: Facts,
}

/// What an enricher is told of the entity it enriches.
#[derive(Debug, Clone, Copy)]
pub struct EnrichContext<'a> {
    /// The entity as the catalogue has it.
    pub entity: &'a Entity,
    /// What the providers asked before this one reported, by provider name (Wikipedia reads the
    /// article titles Wikidata found).
    pub earlier: &'a BTreeMap<String, Facts>,
    /// Languages of summaries to fetch, most preferred first.
    pub languages: &'a [String],
    /// Lowest confidence at which a fuzzy match links an entity.
    pub match_threshold: f64,
}

/// A provider that adds to entities the catalogue already has (covers, pictures, biographies, lyrics,
/// previews, other services' IDs), found through the entity's IDs and links.
#[async_trait]
pub trait Enricher: Send + Sync {
    /// The provider's key (`coverartarchive`).
    fn name(&self) -> &'static str;
    /// Whether it has anything for entities of `kind`.
    fn enriches(&self, kind: EntityKind) -> bool;
    /// What it knows of the entity; [`ProviderError::NotFound`] when it knows nothing (or the entity
    /// has none of the IDs it is found by).
    async fn enrich(
        &self,
        context: &EnrichContext<'_>,
        priority: Priority,
    ) -> Result<Enrichment, ProviderError>;
    /// Health, breaker and budget of the provider.
    fn status(&self) -> ProviderStatus;
}

/// How every enricher is built: [`registry::build`] makes its polite client from its
/// `providers.<name>` section (rate, timeout, retries, breaker, base URL) and hands it over with the
/// section, so an enricher only says what it keeps of its own settings.
pub trait ConfiguredEnricher: Enricher + Sized + 'static {
    /// What its section holds beside the shared client block.
    type Own;
    /// Its name in metrics, status and messages.
    const NAME: client::ProviderName;
    /// The enricher speaking through `client`, which was built from `settings.client`.
    fn from_client(
        client: client::PoliteClient,
        settings: &crate::config::ProviderSection<Self::Own>,
    ) -> Self;
}
