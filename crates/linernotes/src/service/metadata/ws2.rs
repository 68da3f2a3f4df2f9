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
use crate::domain::ws2::{IncSet, Ws2Browse, Ws2Resource};
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

    /// One WS/2 browse page: stored and fresh → answered; else fetched upstream (one flight per page)
    /// and stored; upstream failing → the stored page when there is one.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn musicbrainz_browse(
        &self,
        browse: &Ws2Browse,
    ) -> Result<Arc<CachedBody>, ServiceError> {
        let platform = self.catalogue().name();
        let key = format!(
            "browse:{}:{}:{}:{}:{platform}",
            browse.resource,
            browse.linked,
            browse.mbid.as_uuid(),
            browse.request()
        );
        let kind = browse.resource.0;
        if let Some(hit) = self.inner.cache.get_body_at(&key).await {
            if !self.is_stale(kind, hit.fetched_at) {
                return Ok(hit);
            }
        }
        let stored = self.inner.repo.browse_page(browse).await?;
        if let Some(page) = &stored {
            if !self.is_stale(kind, page.fetched_at) {
                let body = Arc::new(CachedBody::new(
                    page.request.clone(),
                    page.payload.clone(),
                    page.fetched_at,
                ));
                self.inner.cache.put_body_at(key, body.clone()).await;
                return Ok(body);
            }
        }
        let service = self.clone();
        let asked = browse.clone();
        let flight_key = key.clone();
        let what = format!(
            "the {} of {} {}",
            browse.resource.plural(),
            browse.linked,
            browse.mbid.as_uuid()
        );
        let fetched = self
            .within_deadline(&what.clone(), async move {
                let inner = &service.inner;
                inner
                    .browses
                    .run(flight_key.clone(), || async {
                        let payload = service
                            .catalogue()
                            .browse_page(&asked)
                            .await
                            .map_err(service.catalogue_error(&what))?;
                        let fetched_at = inner.clock.now();
                        inner
                            .repo
                            .save_browse_page(&asked, &payload, fetched_at)
                            .await?;
                        let body = Arc::new(CachedBody::new(asked.request(), payload, fetched_at));
                        inner.cache.put_body_at(flight_key, body.clone()).await;
                        Ok(body)
                    })
                    .await
            })
            .await;
        match (fetched, stored) {
            (Ok(body), _) => Ok(body),
            (Err(err), Some(page)) if err.code != ErrorCode::NotFound => {
                tracing::warn!(error = %err, "browse refresh failed; answering the stored page");
                Ok(Arc::new(CachedBody::new(
                    page.request,
                    page.payload,
                    page.fetched_at,
                )))
            }
            (Err(err), _) => Err(err),
        }
    }

    /// The stored MusicBrainz body of an entity, from the hot cache or the database, never upstream
    /// (search results show what is stored).
    pub async fn stored_musicbrainz_body(
        &self,
        resource: Ws2Resource,
        mbid: Mbid,
    ) -> Result<Option<Arc<CachedBody>>, ServiceError> {
        let platform = self.catalogue().name();
        if let Some(hit) = self.inner.cache.get_body(resource.0, platform, mbid).await {
            return Ok(Some(hit));
        }
        self.stored_body(resource, mbid).await
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
