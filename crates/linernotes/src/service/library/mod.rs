//! The user library: favourites, playlists, listening history with de-duplication, top lists,
//! playback state and search history.
//!
//! Policy lives here:
//! - every method acts for the [`Principal`](super::accounts::Principal) that
//!   [`AccountService::authenticate`] returned; a private playlist of someone else is answered exactly
//!   like a missing one (404), a public one may be read by anyone (even without a token) but changed
//!   only by its owner (403);
//! - every entity ID is parsed and resolved to its canonical MBID through [`MetadataService::get`]
//!   (which fetches and stores the entity when it is not stored yet) before anything is written, and a
//!   batch is resolved completely before its one transaction, so nothing is stored half-way;
//! - plays and searches are stored only when the user's settings keep that history;
//! - limits come from [`LibrarySettings`].
//!
//! Layout: this file holds [`LibraryService`], its construction, the export section and the helpers
//! every concern uses (ID resolution, page sizes, free-text fields); one `impl LibraryService` block
//! per concern in `favorites.rs`, `playlists.rs`, `plays.rs` (plays, history, play counts, top lists),
//! `playback.rs` and `search_history.rs`, each with the client-shaped input it validates.

mod favorites;
mod playback;
mod playlists;
mod plays;
mod search_history;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::accounts::ExportSection;
use super::{AccountService, MetadataService, ServiceError};
use crate::config::LibrarySettings;
use crate::domain::text::check_typed_text;
use crate::domain::{EntityKind, Mbid};
use crate::store::LibraryRepo;
use crate::support::Clock;

pub use playback::PlaybackReport;
pub use playlists::PlaylistEdit;
pub use plays::PlayReport;

/// Default and largest page of favourites and playlists.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;
/// Default and largest page of history.
const DEFAULT_HISTORY: u32 = 50;
const MAX_HISTORY: u32 = 500;
/// Longest device and client names, in characters.
const MAX_DEVICE_CHARS: usize = 100;

/// The library service. Cheap to clone.
#[derive(Clone)]
pub struct LibraryService {
    inner: Arc<Inner>,
}

/// What every clone shares.
struct Inner {
    /// Where the library is stored.
    repo: Arc<dyn LibraryRepo>,
    /// Resolves every ID to its canonical MBID (fetching the entity when it is not stored yet).
    metadata: MetadataService,
    /// The users' privacy settings: whether plays and searches are kept at all.
    accounts: AccountService,
    /// Limits and the de-duplication window.
    settings: LibrarySettings,
    /// "Now" for every date the library stores, so tests can set it.
    clock: Arc<dyn Clock>,
}

/// Checks a page size: `default` when absent, else within 1..=`max`.
fn page(limit: Option<u32>, default: u32, max: u32) -> Result<i64, ServiceError> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ServiceError::invalid(format!(
            "limit must be between 1 and {max}, got {limit}"
        )));
    }
    Ok(i64::from(limit))
}

/// Trims a free-text field and checks its length and characters.
fn text_field(
    name: &str,
    value: &str,
    max: usize,
    allow_empty: bool,
    multiline: bool,
) -> Result<String, ServiceError> {
    let value = value.trim();
    if value.is_empty() && !allow_empty {
        return Err(ServiceError::invalid(format!("{name} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(ServiceError::invalid(format!(
            "{name} must be at most {max} characters"
        )));
    }
    check_typed_text(name, value, multiline).map_err(ServiceError::invalid)?;
    Ok(value.to_owned())
}

/// The longest a track (its length, a position in it) can be: two days.
const MAX_TRACK_MILLISECONDS: i64 = 48 * 3600 * 1000;

/// Checks a length or position in a track: between 0 and two days.
fn check_milliseconds(name: &str, value: i64) -> Result<(), ServiceError> {
    if (0..=MAX_TRACK_MILLISECONDS).contains(&value) {
        Ok(())
    } else {
        Err(ServiceError::invalid(format!(
            "{name} must be between 0 and {MAX_TRACK_MILLISECONDS} (two days), got {value}"
        )))
    }
}

impl LibraryService {
    /// Wires the service to its store, the metadata service (ID resolution), the accounts service
    /// (privacy settings), its settings and the clock.
    pub fn new(
        repo: Arc<dyn LibraryRepo>,
        metadata: MetadataService,
        accounts: AccountService,
        settings: LibrarySettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                repo,
                metadata,
                accounts,
                settings,
                clock,
            }),
        }
    }

    /// The part of the account export this library contributes (register it with
    /// [`AccountService::add_export_section`]).
    pub fn export_section(&self) -> Arc<dyn ExportSection> {
        Arc::new(LibraryExport {
            repo: self.inner.repo.clone(),
        })
    }

    /// Now, by the service's clock.
    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// The canonical MBID of an entity of `kind` known by `id`, fetching it when not stored.
    async fn canonical(&self, kind: EntityKind, id: &str) -> Result<Mbid, ServiceError> {
        let record = self.inner.metadata.get(kind, id, false).await?;
        Ok(record.entity.mbid())
    }
}

/// The library's section of the account export.
struct LibraryExport {
    repo: Arc<dyn LibraryRepo>,
}

#[async_trait::async_trait]
impl ExportSection for LibraryExport {
    fn name(&self) -> &'static str {
        "library"
    }

    async fn export(&self, user_id: Uuid) -> Result<serde_json::Value, ServiceError> {
        Ok(self.repo.export(user_id).await?)
    }
}
