//! Upstream metadata providers, behind the [`MetadataProvider`] trait.
//!
//! Layout:
//! - this file: the trait, what it returns, and [`ProviderError`];
//! - [`musicbrainz`]: the MusicBrainz WS/2 client (rate limit, User-Agent, retries) and its JSON model.

pub mod breaker;
pub mod musicbrainz;
pub mod ratelimit;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Album, Entity, EntityKind, Mbid, SearchPage, SearchQuery};
pub use ratelimit::Priority;

/// How a provider is doing, for the status endpoint.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProviderStatus {
    /// Provider name.
    pub name: &'static str,
    /// `ok`, `degraded` (recent failures, breaker still closed) or `open` (failing fast).
    pub state: &'static str,
    /// Last successful request.
    pub last_success: Option<DateTime<Utc>>,
    /// Last failed request.
    pub last_error_at: Option<DateTime<Utc>>,
    /// What the last failure was.
    pub last_error: Option<String>,
    /// Configured request rate.
    pub requests_per_second: f64,
    /// Requests waiting for the rate limiter now.
    pub queued_requests: usize,
    /// Whether the rate budget is shared with other instances through Redis.
    pub shared_budget: bool,
}

/// What instances tell each other of a provider's health (`status:{platform}` in Redis): the latest
/// success and the latest failure any of them saw.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReportedHealth {
    /// Latest successful request.
    pub last_success: Option<DateTime<Utc>>,
    /// Latest failed request.
    pub last_error_at: Option<DateTime<Utc>>,
    /// What that failure was.
    pub last_error: Option<String>,
}

impl ProviderStatus {
    /// This status's latest success and failure, to report to the other instances.
    pub fn reported(&self) -> ReportedHealth {
        ReportedHealth {
            last_success: self.last_success,
            last_error_at: self.last_error_at,
            last_error: self.last_error.clone(),
        }
    }

    /// Takes the later success and the later failure of this status and of `reported`.
    pub fn merge(&mut self, reported: &ReportedHealth) {
        self.last_success = self.last_success.max(reported.last_success);
        if reported.last_error_at > self.last_error_at {
            self.last_error_at = reported.last_error_at;
            self.last_error = reported.last_error.clone();
        }
    }
}

/// One entity as a provider answered it.
#[derive(Debug, Clone)]
pub struct FetchedEntity {
    /// The parsed entity. Its MBID differs from the requested one when the provider redirected a merge.
    pub entity: Entity,
    /// The raw body, kept beside the normalised rows.
    pub raw: serde_json::Value,
    /// The request shape (for MusicBrainz the `inc` set), stored with the raw body.
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

/// A source of metadata, keyed by MusicBrainz IDs.
#[async_trait]
pub trait MetadataProvider: Send + Sync {
    /// Short name stored with raw payloads (`musicbrainz`).
    fn name(&self) -> &'static str;
    /// Looks up one entity with everything needed to fill the store.
    async fn lookup(
        &self,
        kind: EntityKind,
        mbid: Mbid,
        priority: Priority,
    ) -> Result<FetchedEntity, ProviderError>;
    /// One page (up to 100) of an artist's albums, starting at `offset`.
    async fn browse_artist_albums(
        &self,
        artist: Mbid,
        offset: i64,
        priority: Priority,
    ) -> Result<AlbumBrowsePage, ProviderError>;
    /// Searches one entity type.
    async fn search(&self, query: &SearchQuery) -> Result<SearchPage, ProviderError>;
    /// The recordings carrying an ISRC.
    async fn recordings_by_isrc(&self, isrc: &str) -> Result<Vec<Mbid>, ProviderError>;
    /// The releases carrying a barcode.
    async fn releases_by_barcode(&self, barcode: &str) -> Result<Vec<Mbid>, ProviderError>;
    /// Health, breaker and budget of the provider.
    fn status(&self) -> ProviderStatus;
}
