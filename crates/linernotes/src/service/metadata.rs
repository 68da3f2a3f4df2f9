//! The database-first read path (DESIGN.md §2).
//!
//! 1. Parse the ID; resolve non-MusicBrainz IDs to an MBID (store first, then the provider).
//! 2. Stored and fresh → answer. Stored and stale → answer at once and refresh in the background.
//! 3. Missing → one upstream call shared by all concurrent requesters → one transaction → answer.
//! 4. Upstream failure → the stored copy (marked stale) when there is one, else a clear error.
//!
//! [`search`] answers searches from the embedded index and keeps it current; [`ws2`] answers the
//! stored MusicBrainz bodies the WS/2 API re-serves, through the same tiers and flights.
//! 5. After the catalogue's answer is stored, the enrichers are asked in the background
//!    ([`super::enrichment`]); every answer merges what they reported.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::enrichment::{self, MergeInputs};
use super::{ErrorCode, ServiceError};
use crate::cache::{Cached, CachedRecord, HotCache};
use crate::config::{MetadataSettings, SearchSettings};
use crate::domain::enrichment::{Facts, Lyrics};
use crate::domain::links::page_url;
use crate::domain::provider::ProviderStatus;
use crate::domain::ws2::{IncSet, Ws2Resource};
use crate::domain::{AlbumPage, Entity, EntityId, EntityKind, Freshness, Mbid, Namespace, Record};
use crate::providers::{CatalogueSource, EnrichContext, Priority, ProviderError, ProviderRegistry};
use crate::search::SearchIndex;
use crate::store::metadata::{
    EnrichmentOutcome, EnrichmentResult, EnrichmentWrite, EntityWrite, StoredEnrichment,
};
use crate::store::{MetadataRepo, StoredEntity};
use crate::support::BackgroundTasks;
use crate::support::Clock;
use crate::support::SingleFlight;

mod discography;
mod search;
mod ws2;
pub use discography::MAX_RECORDINGS;
pub use search::{rebuild_index, rebuild_marker};
pub use ws2::Ws2Lookup;

/// Page size of album lists when none is asked for.
pub const DEFAULT_ALBUM_PAGE: u32 = 25;
/// Largest album-list page.
pub const MAX_ALBUM_PAGE: u32 = 100;

/// The metadata service. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct MetadataService {
    inner: Arc<Inner>,
}

struct Inner {
    repo: Arc<dyn MetadataRepo>,
    providers: ProviderRegistry,
    settings: MetadataSettings,
    clock: Arc<dyn Clock>,
    cache: HotCache,
    /// Shared upstream lookups; each yields the answer it cached, merged before its enrichment began.
    lookups: SingleFlight<(EntityKind, Mbid, FetchMode), Result<CachedRecord, ServiceError>>,
    album_syncs: SingleFlight<Mbid, Result<(), ServiceError>>,
    release_syncs: SingleFlight<Mbid, Result<(), ServiceError>>,
    enrichment_runs: SingleFlight<Mbid, ()>,
    /// WS/2 browse pages being fetched, by cache key.
    browses: SingleFlight<String, Result<Arc<crate::cache::CachedBody>, ServiceError>>,
    background: BackgroundTasks,
    /// This instance's name in shared provider health (random per start).
    instance: String,
    /// The embedded search index.
    search: SearchIndex,
    /// Its settings.
    search_settings: SearchSettings,
}

/// Whether a shared upstream fetch may be skipped because another requester just stored the entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum FetchMode {
    /// A fresh stored copy answers (a miss or a stale refresh).
    UnlessFresh,
    /// Always ask upstream (`refresh=true`).
    Always,
}

impl MetadataService {
    /// Wires the service to its store, providers, hot cache and clock.
    pub fn new(
        repo: Arc<dyn MetadataRepo>,
        providers: ProviderRegistry,
        cache: HotCache,
        settings: MetadataSettings,
        clock: Arc<dyn Clock>,
        search: SearchIndex,
        search_settings: SearchSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                repo,
                providers,
                settings,
                clock,
                cache,
                lookups: SingleFlight::default(),
                album_syncs: SingleFlight::default(),
                release_syncs: SingleFlight::default(),
                enrichment_runs: SingleFlight::default(),
                browses: SingleFlight::default(),
                background: BackgroundTasks::new("linernotes_background_refreshes"),
                instance: uuid::Uuid::new_v4().to_string(),
                search,
                search_settings,
            }),
        }
    }

    /// The hot cache.
    pub fn cache(&self) -> &HotCache {
        &self.inner.cache
    }

    /// The catalogue source: every entity's canonical ID and data.
    fn catalogue(&self) -> &dyn CatalogueSource {
        self.inner.providers.catalogue()
    }

    /// Maps a failure of the catalogue source about `what` for a client.
    fn catalogue_error(&self, what: &str) -> impl FnOnce(ProviderError) -> ServiceError + '_ {
        let provider = self.catalogue().display_name();
        let what = what.to_owned();
        move |err| ServiceError::from_provider(provider, err, &what)
    }

    /// Background refreshes, for shutdown and tests to wait on.
    pub fn background(&self) -> &BackgroundTasks {
        &self.inner.background
    }

    /// Any entity of `kind` by any of its IDs: hot cache, then database, then provider. The answer is
    /// shared with the hot cache (no copy on a hit).
    #[tracing::instrument(level = "debug", skip(self), fields(kind = %kind))]
    pub async fn get(
        &self,
        kind: EntityKind,
        id: &str,
        refresh: bool,
    ) -> Result<CachedRecord, ServiceError> {
        let id = EntityId::parse(id).map_err(|e| ServiceError::invalid(e.to_string()))?;
        if let (Some(mbid), false) = (id.as_mbid(), refresh) {
            if let Some(hit) = self
                .inner
                .cache
                .get_entity(kind, self.catalogue().name(), mbid)
                .await
            {
                if !self.is_stale(kind, hit.freshness.fetched_at) {
                    return Ok(hit);
                }
            }
        }
        let mbid = self.resolve(kind, &id).await?;
        let stored = self.inner.repo.find(kind, mbid).await?;
        match stored {
            Some(stored) if stored.complete && !refresh => {
                let stale = self.is_stale(kind, stored.fetched_at);
                if stale {
                    self.spawn_refresh(kind, stored.entity.mbid());
                }
                let answer = self.record(stored, stale, None, true).await?;
                if !stale {
                    self.inner
                        .cache
                        .put_entity(kind, self.catalogue().name(), answer.clone())
                        .await;
                }
                Ok(answer)
            }
            Some(stored) => {
                let mode = if refresh {
                    FetchMode::Always
                } else {
                    FetchMode::UnlessFresh
                };
                match self
                    .fetch_interactive(kind, stored.entity.mbid(), mode)
                    .await
                {
                    Ok(fresh) => Ok(fresh),
                    Err(err) => {
                        tracing::warn!(%id, error = %err, "refresh failed; answering the stored copy");
                        self.record(stored, true, None, true).await
                    }
                }
            }
            None => {
                self.fetch_interactive(kind, mbid, FetchMode::UnlessFresh)
                    .await
            }
        }
    }

    /// The MBID an ID stands for.
    async fn resolve(&self, kind: EntityKind, id: &EntityId) -> Result<Mbid, ServiceError> {
        if let Some(mbid) = id.as_mbid() {
            return Ok(mbid);
        }
        let namespace = id.namespace();
        let fits = match namespace {
            Namespace::Isrc => kind == EntityKind::Track,
            Namespace::Barcode => kind == EntityKind::Release,
            _ => true,
        };
        if !fits {
            let identifies = if namespace == Namespace::Isrc {
                "tracks"
            } else {
                "releases"
            };
            return Err(ServiceError::invalid(format!(
                "{namespace} IDs identify {identifies}, not {kind}s; expected a musicbrainz: ID"
            )));
        }
        if let Some(mbid) = self.inner.repo.resolve(kind, id).await? {
            return Ok(mbid);
        }
        if !matches!(namespace, Namespace::Isrc | Namespace::Barcode) {
            return self.resolve_by_page(kind, id).await;
        }
        let catalogue = self.catalogue();
        let what = format!("{kind} {id}");
        let service = self.clone();
        let value = id.value().to_owned();
        let candidates = self
            .within_deadline(&what, async move {
                let catalogue = service.catalogue();
                let found = if namespace == Namespace::Isrc {
                    catalogue.recordings_by_isrc(&value).await
                } else {
                    catalogue.releases_by_barcode(&value).await
                };
                Ok(found)
            })
            .await?;
        candidates
            .map_err(self.catalogue_error(&what))?
            .into_iter()
            .next()
            .ok_or_else(|| {
                ServiceError::from_provider(
                    catalogue.display_name(),
                    ProviderError::NotFound,
                    &what,
                )
            })
    }

    /// The MBID of a provider's entity not stored yet: the catalogue's entity whose URL relations name
    /// its page (an album through one of its releases). When the namespace's provider is disabled, only
    /// stored links resolve.
    async fn resolve_by_page(&self, kind: EntityKind, id: &EntityId) -> Result<Mbid, ServiceError> {
        let namespace = id.namespace();
        if let Some(provider) = provider_of(namespace) {
            if !self.enricher_enabled(provider) {
                return Err(ServiceError::not_found(format!(
                    "no {kind} with ID {id} is known; providers.{provider} is disabled, so only \
                     {namespace} IDs already stored resolve"
                )));
            }
        }
        let Some(page) = page_url(id, kind) else {
            return Err(ServiceError::not_found(format!(
                "{namespace} IDs do not name {kind}s"
            )));
        };
        let what = format!("{kind} {id}");
        let service = self.clone();
        let url = page.clone();
        let linked = self
            .within_deadline(&what, async move {
                Ok(service.catalogue().entities_by_url(&url).await)
            })
            .await?;
        let linked = match linked {
            Ok(linked) => linked,
            Err(ProviderError::NotFound) => Vec::new(),
            Err(err) => return Err(self.catalogue_error(&what)(err)),
        };
        if let Some((_, mbid)) = linked.iter().find(|(k, _)| *k == kind) {
            return Ok(*mbid);
        }
        if kind == EntityKind::Album {
            // Streaming services' albums are MusicBrainz releases: their album is the release group.
            if let Some((_, release)) = linked.iter().find(|(k, _)| *k == EntityKind::Release) {
                let release = release.to_entity_id().to_string();
                let record = Box::pin(self.get(EntityKind::Release, &release, false)).await?;
                if let Entity::Release(r) = &record.entity {
                    if let Some(album) = r.album_id {
                        return Ok(album);
                    }
                }
            }
        }
        Err(ServiceError::not_found(format!(
            "no {kind} with ID {id} is known: MusicBrainz links no {kind} to {page}"
        )))
    }

    /// Whether the enricher named `name` is enabled.
    fn enricher_enabled(&self, name: &str) -> bool {
        self.inner
            .providers
            .enrichers()
            .iter()
            .any(|e| e.name() == name)
    }

    /// Resolves up to [`MAX_RESOLVE_IDS`] IDs of any namespaces at once, each on its own: one bad ID
    /// never fails the others. With `kind`, every ID is looked up as that type (upstream when not
    /// stored); without it, ISRCs resolve as tracks, barcodes as releases, and other IDs through what
    /// is stored.
    #[tracing::instrument(level = "debug", skip(self, ids), fields(count = ids.len()))]
    pub async fn resolve_ids(
        &self,
        ids: &[String],
        kind: Option<&str>,
    ) -> Result<Vec<Resolution>, ServiceError> {
        if ids.is_empty() || ids.len() > MAX_RESOLVE_IDS {
            return Err(ServiceError::invalid(format!(
                "ids must list 1 to {MAX_RESOLVE_IDS} IDs, got {}",
                ids.len()
            )));
        }
        let kind = match kind.map(str::trim).filter(|k| !k.is_empty()) {
            Some(text) => Some(text.parse::<EntityKind>().map_err(|_| {
                ServiceError::invalid(format!(
                    "type must be artist, album, release, track or label, got '{text}'"
                ))
            })?),
            None => None,
        };
        use futures::StreamExt;
        Ok(futures::stream::iter(ids.to_vec())
            .map(|input| {
                let service = self.clone();
                async move { service.resolve_one(&input, kind).await }
            })
            .buffered(4)
            .collect()
            .await)
    }

    async fn resolve_one(&self, input: &str, hint: Option<EntityKind>) -> Resolution {
        let id = match EntityId::parse(input) {
            Ok(id) => id,
            Err(err) => return Resolution::invalid(input, err.to_string()),
        };
        let kind = match (hint, id.namespace()) {
            (Some(kind), _) => kind,
            (None, Namespace::Isrc) => EntityKind::Track,
            (None, Namespace::Barcode) => EntityKind::Release,
            (None, _) => {
                let known = match self.inner.repo.known_by(&id).await {
                    Ok(known) => known,
                    Err(err) => {
                        return Resolution::not_found(input, ServiceError::from(err).message)
                    }
                };
                return match known.as_slice() {
                    [] => Resolution::not_found(
                        input,
                        format!("{id} is not known yet; give type to look it up upstream"),
                    ),
                    [(kind, mbid)] => Resolution::resolved(input, *kind, *mbid),
                    several => Resolution::not_found(
                        input,
                        format!(
                            "{id} names several entities ({}); give type to choose",
                            several
                                .iter()
                                .map(|(k, m)| format!("{k} {}", m.to_entity_id()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                };
            }
        };
        match self.get(kind, input, false).await {
            Ok(record) => Resolution::resolved(input, kind, record.entity.mbid()),
            Err(err) if err.code == ErrorCode::InvalidArgument => {
                Resolution::invalid(input, err.message)
            }
            Err(err) => Resolution::not_found(input, err.message),
        }
    }

    /// The lyrics of a track. The first request for them waits (at most the interactive deadline)
    /// for the lyrics provider; later ones answer what is stored.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn lyrics(&self, id: &str) -> Result<Lyrics, ServiceError> {
        let record = self.get(EntityKind::Track, id, false).await?;
        let mbid = record.entity.mbid();
        let provider = crate::providers::lrclib::NAME.key;
        if !self.enricher_enabled(provider) {
            return Err(ServiceError::not_found(format!(
                "no lyrics are known for track {}: providers.{provider} is disabled",
                mbid.to_entity_id()
            )));
        }
        let stored = |rows: &[StoredEnrichment]| {
            let row = rows.iter().find(|r| r.provider == provider).cloned();
            let lyrics = row.as_ref().and_then(|r| r.facts.lyrics.clone());
            (row, lyrics)
        };
        let (row, mut lyrics) = stored(&self.inner.repo.enrichments(mbid).await?);
        let freshness = self
            .inner
            .settings
            .freshness_secs
            .for_kind(EntityKind::Track);
        if enrichment::is_due(row.as_ref(), self.inner.clock.now(), freshness, false) {
            let service = self.clone();
            let asked = self
                .within_deadline(
                    &format!("the lyrics of track {}", mbid.to_entity_id()),
                    async move {
                        service.enrich(EntityKind::Track, mbid, false).await;
                        Ok(())
                    },
                )
                .await;
            match asked {
                Ok(()) => lyrics = stored(&self.inner.repo.enrichments(mbid).await?).1,
                Err(err) if lyrics.is_none() => return Err(err),
                Err(_) => {}
            }
        }
        lyrics.ok_or_else(|| {
            ServiceError::not_found(format!(
                "no lyrics are known for track {}",
                mbid.to_entity_id()
            ))
        })
    }

    /// The entity on other platforms: the links of its answer (URL relations and enrichers' links,
    /// with how each was made).
    pub async fn links(
        &self,
        kind: EntityKind,
        id: &str,
    ) -> Result<(Mbid, Vec<crate::domain::enrichment::Link>), ServiceError> {
        let record = self.get(kind, id, false).await?;
        Ok((record.entity.mbid(), record.enriched.links.clone()))
    }

    /// Fetches one entity for a client that is waiting (see [`MetadataService::within_deadline`]).
    async fn fetch_interactive(
        &self,
        kind: EntityKind,
        mbid: Mbid,
        mode: FetchMode,
    ) -> Result<CachedRecord, ServiceError> {
        let service = self.clone();
        let what = format!("{kind} {}", mbid.to_entity_id());
        self.within_deadline(&what, async move {
            service.fetch(kind, mbid, mode, Priority::Interactive).await
        })
        .await
    }

    /// Runs `work` (an upstream call and what is stored of it) in the background and waits for it at
    /// most the catalogue's interactive deadline: past it, the waiting client is told the provider is
    /// unavailable (a caller with a stored copy answers that instead) while `work` goes on, so its
    /// result is stored for the next reader. A slow provider with retries could otherwise hold a
    /// request for minutes.
    async fn within_deadline<T: Send + 'static>(
        &self,
        what: &str,
        work: impl Future<Output = Result<T, ServiceError>> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.inner.background.spawn(async move {
            // The client may have stopped waiting; the work is done either way.
            let _ = answer.send(work.await);
        });
        let deadline = self.catalogue().interactive_deadline();
        match tokio::time::timeout(deadline, answered).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ServiceError::internal(format!(
                "the work for {what} ended without an answer"
            ))),
            Err(_) => Err(ServiceError::new(
                ErrorCode::Unavailable,
                format!(
                    "{} did not answer within {} ms; {what} is still being fetched, try again shortly",
                    self.catalogue().display_name(),
                    deadline.as_millis()
                ),
            )),
        }
    }

    /// Fetches one entity upstream and stores it, sharing the call with concurrent requesters; then
    /// replaces it in the hot cache of every instance and starts its enrichment. Answers the record
    /// it cached: merged from what was stored before the enrichment began, so a first answer never
    /// depends on how far the background enrichment got.
    async fn fetch(
        &self,
        kind: EntityKind,
        mbid: Mbid,
        mode: FetchMode,
        priority: Priority,
    ) -> Result<CachedRecord, ServiceError> {
        self.fetch_including(kind, mbid, mode, priority, None).await
    }

    /// [`MetadataService::fetch`], asking upstream also for the MusicBrainz incs `also` (a WS/2
    /// request's): a fresh stored copy then answers only when its stored body serves them. Whoever
    /// asks, concurrent requesters of one entity share one flight (a requester whose incs the flight
    /// did not cover asks again). The stored body's own incs are asked again too, so a refresh
    /// keeps what earlier requests added (but for structural ones, which change what else a body
    /// holds: [`Ws2Resource::is_structural`]).
    async fn fetch_including(
        &self,
        kind: EntityKind,
        mbid: Mbid,
        mode: FetchMode,
        priority: Priority,
        also: Option<&IncSet>,
    ) -> Result<CachedRecord, ServiceError> {
        let inner = &self.inner;
        let resource = Ws2Resource(kind);
        inner
            .lookups
            .run((kind, mbid, mode), || async {
                let catalogue = self.catalogue();
                let previous = inner
                    .repo
                    .lookup_payload(kind, mbid, catalogue.name())
                    .await?
                    .map(|p| IncSet::from_request(&p.request));
                if mode == FetchMode::UnlessFresh {
                    // A requester that finished just before this flight began may have stored it.
                    if let Some(stored) = inner.repo.find(kind, mbid).await? {
                        let serves = match (also, &previous) {
                            (None, _) => true,
                            (Some(also), Some(previous)) => previous.serves(also, resource),
                            (Some(_), None) => false,
                        };
                        if stored.complete && !self.is_stale(kind, stored.fetched_at) && serves {
                            return self.record(stored, false, None, false).await;
                        }
                    }
                }
                let kept = IncSet::of(
                    previous
                        .iter()
                        .flat_map(IncSet::iter)
                        .filter(|inc| !resource.is_structural(inc)),
                );
                let asked = match also {
                    Some(also) => kept.union(also),
                    None => kept,
                };
                let what = format!("{kind} {}", mbid.to_entity_id());
                let fetched = catalogue
                    .lookup(kind, mbid, &asked, priority)
                    .await
                    .map_err(self.catalogue_error(&what))?;
                if fetched.entity.kind() != kind {
                    return Err(ServiceError::internal(format!(
                        "provider answered a {} for {what}",
                        fetched.entity.kind()
                    )));
                }
                let fetched_at = inner.clock.now();
                inner
                    .repo
                    .save(EntityWrite {
                        requested: mbid,
                        entity: &fetched.entity,
                        provider: catalogue.name(),
                        request: &fetched.request,
                        payload: &fetched.raw,
                        fetched_at,
                    })
                    .await?;
                let canonical = fetched.entity.mbid();
                if canonical != mbid {
                    tracing::info!(old = %mbid, new = %canonical, "recorded MBID redirect");
                }
                // Answer what was stored, so a first answer and every later one are identical
                // (ordering of tags and IDs included).
                let stored = inner.repo.find(kind, canonical).await?.ok_or_else(|| {
                    ServiceError::internal(format!("{what} missing right after it was stored"))
                })?;
                let platform = catalogue.name();
                if canonical != mbid {
                    inner.cache.invalidate_entity(kind, platform, mbid).await;
                }
                inner
                    .cache
                    .invalidate_entity(kind, platform, canonical)
                    .await;
                let removed: Vec<Mbid> = (canonical != mbid).then_some(mbid).into_iter().collect();
                self.index_entities(kind, &[canonical], &removed).await;
                let answer = self.record(stored, false, None, false).await?;
                inner.cache.put_entity(kind, platform, answer.clone()).await;
                self.spawn_enrichment(kind, canonical, mode == FetchMode::Always);
                Ok(answer)
            })
            .await
    }

    /// A stored entity as answers carry it: marked stale or not, with what the enrichers reported
    /// merged in, summaries in `languages` first (else the configured languages). With
    /// `start_due`, starts an enrichment when one is due.
    async fn record(
        &self,
        mut stored: StoredEntity,
        stale: bool,
        languages: Option<&[String]>,
        start_due: bool,
    ) -> Result<CachedRecord, ServiceError> {
        let kind = stored.entity.kind();
        let mbid = stored.entity.mbid();
        let rows = match stored.enrichments.take() {
            Some(rows) => rows,
            None => self.inner.repo.enrichments(mbid).await?,
        };
        if start_due && self.enrichment_due(kind, &rows) {
            self.spawn_enrichment(kind, mbid, false);
        }
        let preferred = enrichment::preferred_languages(
            languages.unwrap_or(&[]),
            &self.inner.settings.languages,
        );
        let enabled = self.enricher_names(kind);
        let enriched = enrichment::merge(
            &stored.entity,
            &rows,
            MergeInputs {
                catalogue: self.catalogue().name(),
                catalogue_fetched_at: stored.fetched_at,
                enrichers: &enabled,
                precedence: &self.inner.settings.merge,
                languages: &preferred,
            },
        );
        Ok(Arc::new(Cached::new(
            Record::new(
                stored.entity,
                Freshness {
                    fetched_at: stored.fetched_at,
                    stale,
                },
            )
            .with_enriched(enriched),
        )))
    }

    /// The names of the enabled enrichers of `kind`, in configured order.
    fn enricher_names(&self, kind: EntityKind) -> Vec<&'static str> {
        self.inner
            .providers
            .enrichers()
            .iter()
            .filter(|e| e.enriches(kind))
            .map(|e| e.name())
            .collect()
    }

    /// Whether any enabled enricher of `kind` should be asked now.
    fn enrichment_due(&self, kind: EntityKind, rows: &[StoredEnrichment]) -> bool {
        let now = self.inner.clock.now();
        let freshness = self.inner.settings.freshness_secs.for_kind(kind);
        self.enricher_names(kind).into_iter().any(|name| {
            let row = rows.iter().find(|r| r.provider == name);
            enrichment::is_due(row, now, freshness, false)
        })
    }

    /// Like [`MetadataService::get`], with summaries in `languages` first (the request's `?lang=` or
    /// `Accept-Language`). Answers the shared record when the first preferred language is the
    /// configured one, else merges again for these languages.
    pub async fn get_in(
        &self,
        kind: EntityKind,
        id: &str,
        refresh: bool,
        languages: &[String],
    ) -> Result<CachedRecord, ServiceError> {
        let record = self.get(kind, id, refresh).await?;
        let configured = self.inner.settings.languages.first();
        let asked = languages.first().map(|l| l.to_ascii_lowercase());
        if asked.is_none() || asked.as_ref() == configured {
            return Ok(record);
        }
        let stored = StoredEntity {
            entity: record.entity.clone(),
            fetched_at: record.freshness.fetched_at,
            complete: true,
            enrichments: None,
        };
        self.record(stored, record.freshness.stale, Some(languages), false)
            .await
    }

    /// Starts an enrichment of the entity in the background (`forced`: ask every enricher, as on
    /// `refresh=true`).
    fn spawn_enrichment(&self, kind: EntityKind, mbid: Mbid, forced: bool) {
        if self.enricher_names(kind).is_empty() {
            return;
        }
        let service = self.clone();
        self.inner.background.spawn(async move {
            service.enrich(kind, mbid, forced).await;
        });
    }

    /// Asks every due enricher about the stored entity, in configured order, records each outcome and
    /// drops the entity from the hot cache so the next read merges what was found. Concurrent calls for
    /// one entity share one run.
    async fn enrich(&self, kind: EntityKind, mbid: Mbid, forced: bool) {
        let inner = &self.inner;
        inner
            .enrichment_runs
            .run(mbid, || async {
                if let Err(err) = self.enrich_once(kind, mbid, forced).await {
                    tracing::warn!(%kind, %mbid, error = %err, "enrichment could not be recorded");
                }
            })
            .await
    }

    async fn enrich_once(
        &self,
        kind: EntityKind,
        mbid: Mbid,
        forced: bool,
    ) -> Result<(), ServiceError> {
        let inner = &self.inner;
        let Some(stored) = inner.repo.find(kind, mbid).await? else {
            return Ok(());
        };
        let mbid = stored.entity.mbid();
        let rows = inner.repo.enrichments(mbid).await?;
        let mut earlier: BTreeMap<String, Facts> = rows
            .iter()
            .filter(|r| r.fetched_at.is_some())
            .map(|r| (r.provider.clone(), r.facts.clone()))
            .collect();
        let freshness = inner.settings.freshness_secs.for_kind(kind);
        let retry_base = std::time::Duration::from_secs(inner.settings.enrichment_retry_secs);
        let mut found_before = false;
        let mut asked_any = false;
        for enricher in inner.providers.enrichers() {
            if !enricher.enriches(kind) {
                continue;
            }
            let name = enricher.name();
            let row = rows.iter().find(|r| r.provider == name);
            // A provider that found nothing may find something now that one before it found more
            // (Wikipedia after Wikidata).
            let follows_news =
                found_before && row.is_some_and(|r| r.outcome == EnrichmentOutcome::NotFound);
            if !enrichment::is_due(row, inner.clock.now(), freshness, forced) && !follows_news {
                continue;
            }
            asked_any = true;
            let context = EnrichContext {
                entity: &stored.entity,
                earlier: &earlier,
                languages: &inner.settings.languages,
                match_threshold: inner.settings.match_threshold,
            };
            let answer = enricher.enrich(&context, Priority::Background).await;
            let at = inner.clock.now();
            let outcome = match &answer {
                Ok(_) => "found",
                Err(ProviderError::NotFound) => "not_found",
                Err(_) => "failed",
            };
            metrics::counter!("linernotes_enrichment_runs_total", "provider" => name, "outcome" => outcome)
                .increment(1);
            match answer {
                Ok(found) => {
                    inner
                        .repo
                        .save_enrichment(EnrichmentWrite {
                            mbid,
                            provider: name,
                            result: EnrichmentResult::Found {
                                facts: &found.facts,
                                request: &found.request,
                                raw: &found.raw,
                            },
                            at,
                        })
                        .await?;
                    earlier.insert(name.to_owned(), found.facts);
                    found_before = true;
                }
                Err(ProviderError::NotFound) => {
                    inner
                        .repo
                        .save_enrichment(EnrichmentWrite {
                            mbid,
                            provider: name,
                            result: EnrichmentResult::NotFound,
                            at,
                        })
                        .await?;
                    earlier.remove(name);
                }
                Err(err) => {
                    let failures = row.map_or(0, |r| {
                        if r.outcome == EnrichmentOutcome::Failed {
                            r.failures
                        } else {
                            0
                        }
                    }) + 1;
                    let delay = enrichment::retry_delay(retry_base, failures);
                    let retry_at =
                        at + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::days(1));
                    tracing::warn!(provider = name, %kind, %mbid, error = %err, failures, %retry_at, "enrichment failed; keeping what was found before");
                    inner
                        .repo
                        .save_enrichment(EnrichmentWrite {
                            mbid,
                            provider: name,
                            result: EnrichmentResult::Failed {
                                error: &err.to_string(),
                                retry_at,
                            },
                            at,
                        })
                        .await?;
                }
            }
        }
        if asked_any {
            inner
                .cache
                .invalidate_entity(kind, self.catalogue().name(), mbid)
                .await;
        }
        Ok(())
    }

    fn is_stale(&self, kind: EntityKind, fetched_at: DateTime<Utc>) -> bool {
        let age = self.inner.clock.now().signed_duration_since(fetched_at);
        age.to_std()
            .is_ok_and(|age| age > self.inner.settings.freshness_secs.for_kind(kind))
    }

    fn spawn_refresh(&self, kind: EntityKind, mbid: Mbid) {
        let service = self.clone();
        self.inner.background.spawn(async move {
            if let Err(err) = service
                .fetch(kind, mbid, FetchMode::UnlessFresh, Priority::Background)
                .await
            {
                tracing::warn!(%kind, %mbid, error = %err, "background refresh failed; keeping the stored copy");
            }
        });
    }

    /// A page of an artist's albums, earliest first. The list is synchronised from the provider when it
    /// was never fetched, is stale, or `refresh` is set; only the provider's album list is fetched, not
    /// the artist itself.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn list_artist_albums(
        &self,
        id: &str,
        limit: Option<u32>,
        offset: u32,
        refresh: bool,
    ) -> Result<AlbumPage, ServiceError> {
        let limit = limit.unwrap_or(DEFAULT_ALBUM_PAGE);
        if !(1..=MAX_ALBUM_PAGE).contains(&limit) {
            return Err(ServiceError::invalid(format!(
                "limit must be between 1 and {MAX_ALBUM_PAGE}, got {limit}"
            )));
        }
        let max_offset = i64::from(self.inner.settings.max_album_pages) * 100;
        if i64::from(offset) > max_offset {
            return Err(ServiceError::invalid(format!(
                "offset must be between 0 and {max_offset}, got {offset}"
            )));
        }
        let id = EntityId::parse(id).map_err(|e| ServiceError::invalid(e.to_string()))?;
        let artist = self.resolve(EntityKind::Artist, &id).await?;
        self.artist_albums(artist, i64::from(limit), i64::from(offset), refresh)
            .await
    }

    /// A page of the albums of `artist` (an MBID, maybe merged): the stored list, synchronised first
    /// when it never was or `refresh` is set, and in the background when it is stale.
    async fn artist_albums(
        &self,
        artist: Mbid,
        limit: i64,
        offset: i64,
        refresh: bool,
    ) -> Result<AlbumPage, ServiceError> {
        // A merged MBID lists the surviving artist's albums.
        let artist = self
            .inner
            .repo
            .resolve(EntityKind::Artist, &artist.to_entity_id())
            .await?
            .unwrap_or(artist);
        let stored = self.inner.repo.artist_albums(artist, limit, offset).await?;
        if let (Some((page, fetched_at)), false) = (&stored, refresh) {
            if self.is_stale(EntityKind::Album, *fetched_at) {
                let service = self.clone();
                self.inner.background.spawn(async move {
                    if let Err(err) = service.sync_albums(artist, Priority::Background).await {
                        tracing::warn!(%artist, error = %err, "background album-list refresh failed");
                    }
                });
            }
            return Ok(page.clone());
        }
        let service = self.clone();
        let synced = self
            .within_deadline(
                &format!("the albums of artist {}", artist.to_entity_id()),
                async move { service.sync_albums(artist, Priority::Interactive).await },
            )
            .await;
        match synced {
            Ok(()) => self
                .inner
                .repo
                .artist_albums(artist, limit, offset)
                .await?
                .map(|(page, _)| page)
                .ok_or_else(|| {
                    ServiceError::internal("album list missing right after it was stored")
                }),
            Err(err) => match stored {
                Some((page, _)) if err.code != ErrorCode::InvalidArgument => {
                    tracing::warn!(%artist, error = %err, "album-list refresh failed; answering the stored list");
                    Ok(page)
                }
                _ => Err(err),
            },
        }
    }

    /// Providers, database and cache as an operator sees them.
    pub async fn status(&self) -> ServiceStatus {
        let database = match self.inner.repo.ping().await {
            Ok(()) => "ok",
            Err(_) => "unreachable",
        };
        let redis = match self.inner.cache.redis() {
            None => "disabled",
            Some(redis) => match redis.ping().await {
                Ok(()) => "ok",
                Err(_) => "unreachable",
            },
        };
        let (entries, bytes) = self.inner.cache.local_usage();
        let mut enrichment_failures: BTreeMap<String, i64> = self
            .inner
            .providers
            .enrichers()
            .iter()
            .map(|e| (e.name().to_owned(), 0))
            .collect();
        if let Ok(failures) = self.inner.repo.enrichment_failures().await {
            for (provider, count) in failures {
                if let Some(known) = enrichment_failures.get_mut(&provider) {
                    *known = count;
                }
            }
        }
        self.report_provider_health().await;
        let mut providers = self.inner.providers.statuses();
        for provider in &mut providers {
            // With Redis: the latest success and error any instance saw.
            for reported in self.inner.cache.reported_health(provider.name).await {
                provider.merge(&reported);
            }
        }
        ServiceStatus {
            providers,
            database,
            redis,
            cache_entries: entries,
            cache_bytes: bytes,
            background_refreshes: self.inner.background.running(),
            enrichment_failures,
        }
    }

    /// Tells the other instances (through Redis, when configured) what this one has seen of its
    /// providers: their latest success and error. Called by every status request and periodically.
    pub async fn report_provider_health(&self) {
        for status in self.inner.providers.statuses() {
            self.inner
                .cache
                .report_health(status.name, &self.inner.instance, &status.reported())
                .await;
        }
    }

    /// Whether the database answers (readiness).
    pub async fn ready(&self) -> Result<(), ServiceError> {
        self.inner.repo.ping().await.map_err(ServiceError::from)
    }
}

/// Most IDs one resolve request may hold.
pub const MAX_RESOLVE_IDS: usize = 100;

/// How one ID of a resolve request resolved.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Resolution {
    /// The ID as given.
    pub input: String,
    /// `resolved`, `not_found` or `invalid`.
    pub status: ResolutionStatus,
    /// The canonical ID, when resolved.
    pub id: Option<EntityId>,
    /// The entity's type, when resolved.
    #[serde(rename = "type")]
    pub kind: Option<EntityKind>,
    /// Why it did not resolve.
    pub reason: Option<String>,
}

/// The outcome of resolving one ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionStatus {
    /// It names a known entity.
    Resolved,
    /// It is well formed but names nothing known (or nothing could be looked up now).
    NotFound,
    /// It is malformed.
    Invalid,
}

impl ResolutionStatus {
    /// The name on the API.
    pub fn as_str(&self) -> &'static str {
        match self {
            ResolutionStatus::Resolved => "resolved",
            ResolutionStatus::NotFound => "not_found",
            ResolutionStatus::Invalid => "invalid",
        }
    }
}

impl Resolution {
    fn resolved(input: &str, kind: EntityKind, mbid: Mbid) -> Self {
        Self {
            input: input.to_owned(),
            status: ResolutionStatus::Resolved,
            id: Some(mbid.to_entity_id()),
            kind: Some(kind),
            reason: None,
        }
    }

    fn not_found(input: &str, reason: String) -> Self {
        Self {
            input: input.to_owned(),
            status: ResolutionStatus::NotFound,
            id: None,
            kind: None,
            reason: Some(reason),
        }
    }

    fn invalid(input: &str, reason: String) -> Self {
        Self {
            input: input.to_owned(),
            status: ResolutionStatus::Invalid,
            ..Self::not_found(input, reason)
        }
    }
}

/// The enricher whose platform a namespace is, when there is one.
fn provider_of(namespace: Namespace) -> Option<&'static str> {
    match namespace {
        Namespace::Deezer => Some("deezer"),
        Namespace::Itunes => Some("itunes"),
        Namespace::Discogs => Some("discogs"),
        Namespace::Wikidata => Some("wikidata"),
        _ => None,
    }
}

/// What `GET /v1/status` answers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ServiceStatus {
    /// One entry per provider.
    pub providers: Vec<ProviderStatus>,
    /// `ok` or `unreachable`.
    pub database: &'static str,
    /// `disabled`, `ok` or `unreachable`.
    pub redis: &'static str,
    /// Entries in the in-process cache.
    pub cache_entries: u64,
    /// Weighed bytes of the in-process cache.
    pub cache_bytes: u64,
    /// Background refreshes and enrichments running.
    pub background_refreshes: usize,
    /// Per enabled enricher, the entities whose latest enrichment failed and awaits a retry.
    pub enrichment_failures: BTreeMap<String, i64>,
}
