//! Search: answered from the embedded index; MusicBrainz only for a query the local data cannot
//! answer, whose hits are then indexed. The index follows the database: entities stored by this
//! instance are indexed at once, those stored by another instance when its invalidation arrives, and
//! after a dump swap or a `search reindex` request each instance rebuilds its index from the database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::MetadataService;
use crate::domain::{EntityKind, Mbid, SearchDocument, SearchPage, SearchQuery};
use crate::search::{SearchError, SearchIndex};
use crate::service::ServiceError;
use crate::store::metadata::DocumentSelection;
use crate::store::MetadataRepo;

/// Documents read from the database per page while rebuilding.
const REBUILD_PAGE: i64 = 20_000;

impl MetadataService {
    /// Searches: the local index first, MusicBrainz when it has nothing. The raw strings are validated
    /// here so every transport gets the same rules.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn search(
        &self,
        text: &str,
        kind: Option<&str>,
        limit: Option<u32>,
        offset: Option<u32>,
    ) -> Result<SearchPage, ServiceError> {
        let query = SearchQuery::parse(text, kind, limit, offset).map_err(ServiceError::invalid)?;
        let local = self.search_locally(&query).await;
        match local {
            Ok(page) if page.total > 0 => {
                metrics::counter!("linernotes_search_requests_total", "source" => "local")
                    .increment(1);
                return Ok(page);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "local search failed; asking the provider"),
        }
        metrics::counter!("linernotes_search_requests_total", "source" => "provider").increment(1);
        let platform = self.catalogue().name();
        if let Some(page) = self.inner.cache.get_search(&query, platform).await {
            return Ok(SearchPage::clone(&page));
        }
        let what = format!("search for {}s", query.kind);
        let service = self.clone();
        let asked = query.clone();
        let page = self
            .within_deadline(&what, async move {
                Ok(service.catalogue().search(&asked).await)
            })
            .await?
            .map_err(self.catalogue_error(&what))?;
        self.index_hits(&page).await;
        self.inner
            .cache
            .put_search(&query, platform, Arc::new(page.clone()))
            .await;
        Ok(page)
    }

    async fn search_locally(&self, query: &SearchQuery) -> Result<SearchPage, SearchError> {
        let index = self.inner.search.clone();
        let (kind, text) = (query.kind, query.text.clone());
        let (limit, offset) = (query.limit as usize, query.offset as usize);
        let started = Instant::now();
        let page = tokio::task::spawn_blocking(move || index.search(kind, &text, limit, offset))
            .await
            .map_err(|e| SearchError::Index(tantivy::TantivyError::InternalError(e.to_string())))?;
        metrics::histogram!("linernotes_search_duration_seconds", "type" => kind.as_str())
            .record(started.elapsed().as_secs_f64());
        page
    }

    /// Provider hits go into the index (as far as a hit tells: name and disambiguation), so the next
    /// search for them is answered locally.
    async fn index_hits(&self, page: &SearchPage) {
        let mut by_kind: std::collections::HashMap<EntityKind, Vec<SearchDocument>> =
            std::collections::HashMap::new();
        for hit in &page.results {
            by_kind
                .entry(hit.entity_type)
                .or_default()
                .push(SearchDocument {
                    kind: hit.entity_type,
                    mbid: hit.id,
                    name: hit.name.clone(),
                    disambiguation: hit.disambiguation.clone(),
                    other_names: Vec::new(),
                    popularity: 0,
                });
        }
        for (kind, documents) in by_kind {
            let index = self.inner.search.clone();
            let result =
                tokio::task::spawn_blocking(move || index.upsert(kind, &documents, &[])).await;
            if let Ok(Err(e)) = result {
                tracing::warn!(error = %e, "cannot index provider search hits");
            }
        }
    }

    /// (Re-)indexes the stored entities `mbids` of `kind` from the database and drops `removed`
    /// (merged away). Failures are logged: the index catches up at its next rebuild.
    pub async fn index_entities(&self, kind: EntityKind, mbids: &[Mbid], removed: &[Mbid]) {
        let documents = match self
            .inner
            .repo
            .search_documents(kind, DocumentSelection::Mbids(mbids))
            .await
        {
            Ok(documents) => documents,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read entities to index");
                return;
            }
        };
        let index = self.inner.search.clone();
        let removed = removed.to_vec();
        let result =
            tokio::task::spawn_blocking(move || index.upsert(kind, &documents, &removed)).await;
        if let Ok(Err(e)) = result {
            tracing::warn!(error = %e, "cannot update the search index");
        }
    }

    /// Re-indexes the entity an invalidation names (`<kind>:<platform>:<mbid>`), as stored now: what
    /// another instance stored becomes searchable here too.
    pub async fn index_invalidated(&self, key: &str) {
        let mut parts = key.splitn(3, ':');
        let (Some(kind), Some(_), Some(mbid)) = (parts.next(), parts.next(), parts.next()) else {
            return;
        };
        let (Ok(kind), Ok(mbid)) = (kind.parse::<EntityKind>(), Mbid::parse(mbid)) else {
            return;
        };
        self.index_entities(kind, &[mbid], &[]).await;
    }

    /// Rebuilds every type's index from the database; returns the documents indexed.
    pub async fn rebuild_search_index(&self) -> Result<u64, ServiceError> {
        let memory =
            usize::try_from(self.inner.search_settings.build_memory_bytes).unwrap_or(usize::MAX);
        rebuild_index(Arc::clone(&self.inner.repo), &self.inner.search, memory).await
    }

    /// Rebuilds the index when the database asks for it (a dump was swapped in, `search reindex` was
    /// run, or an in-memory index has never been built), then checks again every `poll` until the task
    /// is aborted. A swap also empties this instance's in-process hot cache, which holds the old data.
    pub async fn keep_search_current(&self, poll: Duration) {
        loop {
            match self.inner.repo.search_rebuild_marker().await {
                Ok((swapped, requested)) => {
                    let marker = rebuild_marker(swapped, requested);
                    let built = self.inner.search.built_after();
                    if built.as_deref() != Some(marker.as_str()) {
                        let swap_changed = built.as_deref().is_some_and(|b| {
                            !b.starts_with(&format!("import={} ", swapped.unwrap_or(0)))
                        });
                        if swap_changed {
                            self.inner.cache.clear_local().await;
                        }
                        match self.rebuild_search_index().await {
                            Ok(_) => {
                                if let Err(e) = self.inner.search.set_built_after(&marker) {
                                    tracing::warn!(error = %e, "cannot record the search rebuild");
                                }
                            }
                            Err(e) => tracing::warn!(error = %e, "search index rebuild failed"),
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "cannot check whether the search index is current")
                }
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// Whether the search index has been built after the database's latest swap and request.
    pub async fn search_index_current(&self) -> bool {
        match self.inner.repo.search_rebuild_marker().await {
            Ok((swapped, requested)) => {
                let marker = rebuild_marker(swapped, requested);
                self.inner.search.built_after().as_deref() == Some(marker.as_str())
            }
            Err(_) => false,
        }
    }
}

/// Rebuilds every type's index in `index` from the entities `repo` stores; returns the documents
/// indexed. Also what `linernotes search reindex` runs.
pub async fn rebuild_index(
    repo: Arc<dyn MetadataRepo>,
    index: &SearchIndex,
    memory_bytes: usize,
) -> Result<u64, ServiceError> {
    let _only_rebuild = index.exclusive_rebuild().await;
    let mut total = 0;
    for kind in [
        EntityKind::Artist,
        EntityKind::Album,
        EntityKind::Release,
        EntityKind::Track,
        EntityKind::Label,
    ] {
        let started = Instant::now();
        let repo = Arc::clone(&repo);
        let index = index.clone();
        let runtime = tokio::runtime::Handle::current();
        let count = tokio::task::spawn_blocking(move || {
            let mut after: Option<Mbid> = None;
            let mut done = false;
            index.rebuild(kind, memory_bytes, || {
                if done {
                    return Ok(None);
                }
                let page = runtime
                    .block_on(repo.search_documents(
                        kind,
                        DocumentSelection::Page {
                            after,
                            limit: REBUILD_PAGE,
                        },
                    ))
                    .map_err(|e| {
                        SearchError::Index(tantivy::TantivyError::InternalError(e.to_string()))
                    })?;
                done = (page.len() as i64) < REBUILD_PAGE;
                after = page.last().map(|d| d.mbid);
                Ok(Some(page))
            })
        })
        .await
        .map_err(ServiceError::internal)?
        .map_err(ServiceError::internal)?;
        tracing::info!(
            %kind,
            documents = count,
            seconds = started.elapsed().as_secs_f64(),
            "search index rebuilt"
        );
        total += count;
    }
    Ok(total)
}

/// The marker of what an index built now is current for (compared with the database's).
pub fn rebuild_marker(swapped: Option<i64>, requested: Option<i64>) -> String {
    format!(
        "import={} request={}",
        swapped.unwrap_or(0),
        requested.unwrap_or(0)
    )
}
