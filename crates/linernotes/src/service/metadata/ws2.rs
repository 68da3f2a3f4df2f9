//! The stored MusicBrainz bodies the WS/2 API re-serves: the same tiers as every read (hot cache,
//! database, then one shared upstream flight), answered as the body MusicBrainz sent, which the
//! transport renders for the requested incs.
//!
//! A body serves a request when it was fetched with at least the requested incs (and the same
//! structural ones, [`crate::domain::ws2::Ws2Resource::is_structural`]); otherwise the entity is
//! fetched again with the union, which then serves this request and every narrower one.

use std::sync::Arc;

use super::{FetchMode, MetadataService};
use crate::cache::CachedBody;
use crate::domain::ws2::{IncSet, Ws2Resource};
use crate::domain::Mbid;
use crate::providers::Priority;
use crate::service::{ErrorCode, ServiceError};

/// What a WS/2 lookup answers.
#[derive(Debug, Clone)]
pub enum Ws2Lookup {
    /// The stored body, which serves the request.
    Body(Arc<CachedBody>),
    /// The MBID was merged into this one.
    Moved(Mbid),
}

impl MetadataService {
    /// The MusicBrainz body of the `resource` entity `mbid` (a bare MBID) serving the incs
    /// `requested`. Personal incs (`user-*`) are refused as MusicBrainz refuses them without a login.
    #[tracing::instrument(level = "debug", skip(self, requested), fields(resource = %resource))]
    pub async fn musicbrainz_body(
        &self,
        resource: Ws2Resource,
        mbid: &str,
        requested: &IncSet,
    ) -> Result<Ws2Lookup, ServiceError> {
        let mbid = Mbid::parse(mbid).map_err(|_| ServiceError::invalid("Invalid mbid."))?;
        if !requested.personal().is_empty() {
            return Err(ServiceError::new(
                ErrorCode::Unauthenticated,
                "You are not authorized to access this resource.",
            ));
        }
        let kind = resource.0;
        let upstream = requested.upstream();
        let platform = self.catalogue().name();
        let serves =
            |body: &CachedBody| IncSet::from_request(&body.request).serves(&upstream, resource);
        if let Some(hit) = self.inner.cache.get_body(kind, platform, mbid).await {
            if serves(&hit) && !self.is_stale(kind, hit.fetched_at) {
                return Ok(Ws2Lookup::Body(hit));
            }
        }
        if let Some(canonical) = self.inner.repo.resolve(kind, &mbid.to_entity_id()).await? {
            if canonical != mbid {
                return Ok(Ws2Lookup::Moved(canonical));
            }
        }
        if let Some(body) = self.stored_body(resource, mbid).await? {
            if serves(&body) {
                if self.is_stale(kind, body.fetched_at) {
                    self.spawn_refresh(kind, mbid);
                } else {
                    self.inner
                        .cache
                        .put_body(kind, platform, mbid, body.clone())
                        .await;
                }
                return Ok(Ws2Lookup::Body(body));
            }
        }
        // Twice at most: a first flight another requester started may have asked for fewer incs.
        for mode in [FetchMode::UnlessFresh, FetchMode::Always] {
            let service = self.clone();
            let also = upstream.clone();
            let what = format!("{kind} {}", mbid.to_entity_id());
            let stored = self
                .within_deadline(&what, async move {
                    service
                        .fetch_including(kind, mbid, mode, Priority::Interactive, Some(&also))
                        .await
                })
                .await?;
            let canonical = stored.entity.mbid();
            if canonical != mbid {
                return Ok(Ws2Lookup::Moved(canonical));
            }
            if let Some(body) = self.stored_body(resource, mbid).await? {
                if serves(&body) {
                    self.inner
                        .cache
                        .put_body(kind, platform, mbid, body.clone())
                        .await;
                    return Ok(Ws2Lookup::Body(body));
                }
            }
        }
        Err(ServiceError::internal(format!(
            "the stored body of {resource} {mbid} does not hold the incs {upstream} right after they were fetched"
        )))
    }

    /// The stored lookup body of an entity, if any.
    async fn stored_body(
        &self,
        resource: Ws2Resource,
        mbid: Mbid,
    ) -> Result<Option<Arc<CachedBody>>, ServiceError> {
        let stored = self
            .inner
            .repo
            .lookup_payload(resource.0, mbid, self.catalogue().name())
            .await?;
        Ok(stored.map(|p| Arc::new(CachedBody::new(p.request, p.payload, p.fetched_at))))
    }
}
