//! Favourites: adding, removing and listing them, each ID resolved to its canonical MBID first.

use super::{page, LibraryService, DEFAULT_PAGE, MAX_PAGE};
use crate::domain::library::{Favorite, FavoritePage};
use crate::domain::{EntityId, EntityKind, Namespace};
use crate::service::accounts::Principal;
use crate::service::ServiceError;

/// Parses the optional `type` parameter (absent or empty: any kind).
fn kind_param(kind: Option<&str>) -> Result<Option<EntityKind>, ServiceError> {
    match kind.map(str::trim) {
        None | Some("") => Ok(None),
        Some(kind) => kind
            .parse::<EntityKind>()
            .map(Some)
            .map_err(|e| ServiceError::invalid(format!("type: {e}"))),
    }
}

impl LibraryService {
    /// The kind a favourite ID stands for: `type` when given, else implied by an ISRC or barcode.
    fn favorite_kind(id: &str, kind: Option<&str>) -> Result<EntityKind, ServiceError> {
        if let Some(kind) = kind_param(kind)? {
            return Ok(kind);
        }
        let parsed = EntityId::parse(id).map_err(|e| ServiceError::invalid(e.to_string()))?;
        match parsed.namespace() {
            Namespace::Isrc => Ok(EntityKind::Track),
            Namespace::Barcode => Ok(EntityKind::Release),
            _ => Err(ServiceError::invalid(
                "type is required for this ID: one of artist, album, release, track, label",
            )),
        }
    }

    /// Adds a favourite (idempotent: adding twice keeps one, with its first date).
    #[tracing::instrument(skip(self, principal), fields(user = %principal.user_id))]
    pub async fn add_favorite(
        &self,
        principal: &Principal,
        id: &str,
        kind: Option<&str>,
    ) -> Result<Favorite, ServiceError> {
        let kind = Self::favorite_kind(id, kind)?;
        let mbid = self.canonical(kind, id).await?;
        Ok(self
            .inner
            .repo
            .add_favorite(principal.user_id, mbid, kind, self.now())
            .await?)
    }

    /// Removes a favourite (idempotent). An MBID needs no type; other IDs are resolved like adding.
    #[tracing::instrument(skip(self, principal), fields(user = %principal.user_id))]
    pub async fn remove_favorite(
        &self,
        principal: &Principal,
        id: &str,
        kind: Option<&str>,
    ) -> Result<(), ServiceError> {
        let parsed = EntityId::parse(id).map_err(|e| ServiceError::invalid(e.to_string()))?;
        let kind = kind_param(kind)?;
        let mbid = match parsed.as_mbid() {
            Some(mbid) => mbid,
            None => {
                let kind = match kind {
                    Some(kind) => kind,
                    None => Self::favorite_kind(id, None)?,
                };
                self.canonical(kind, id).await?
            }
        };
        self.inner
            .repo
            .remove_favorite(principal.user_id, mbid)
            .await?;
        Ok(())
    }

    /// A page of favourites, newest first, optionally of one `type`.
    pub async fn list_favorites(
        &self,
        principal: &Principal,
        kind: Option<&str>,
        limit: Option<u32>,
        offset: Option<u32>,
    ) -> Result<FavoritePage, ServiceError> {
        let kind = kind_param(kind)?;
        let limit = page(limit, DEFAULT_PAGE, MAX_PAGE)?;
        Ok(self
            .inner
            .repo
            .list_favorites(
                principal.user_id,
                kind,
                limit,
                i64::from(offset.unwrap_or(0)),
            )
            .await?)
    }
}
