//! Search history: searching through the metadata service and remembering the search when the user
//! keeps search history; reading and clearing what was remembered.

use super::{page, LibraryService, DEFAULT_HISTORY, MAX_HISTORY};
use crate::domain::library::SearchHistoryEntry;
use crate::domain::{SearchPage, SearchQuery};
use crate::service::accounts::Principal;
use crate::service::ServiceError;

impl LibraryService {
    /// Searches through the metadata service; when the caller is authenticated and keeps search
    /// history, the search is remembered.
    #[tracing::instrument(skip(self, viewer))]
    pub async fn search(
        &self,
        viewer: Option<&Principal>,
        text: &str,
        kind: Option<&str>,
        limit: Option<u32>,
        offset: Option<u32>,
    ) -> Result<SearchPage, ServiceError> {
        let page = self
            .inner
            .metadata
            .search(text, kind, limit, offset)
            .await?;
        if let Some(viewer) = viewer {
            let query =
                SearchQuery::parse(text, kind, limit, offset).map_err(ServiceError::invalid)?;
            let settings = self.inner.accounts.privacy_settings(viewer.user_id).await?;
            if settings.keep_search_history {
                self.inner
                    .repo
                    .record_search(viewer.user_id, &query.text, query.kind, self.now())
                    .await?;
            }
        }
        Ok(page)
    }

    /// Remembered searches, newest first.
    pub async fn search_history(
        &self,
        principal: &Principal,
        limit: Option<u32>,
    ) -> Result<Vec<SearchHistoryEntry>, ServiceError> {
        let limit = page(limit, DEFAULT_HISTORY, MAX_HISTORY)?;
        Ok(self
            .inner
            .repo
            .search_history(principal.user_id, limit)
            .await?)
    }

    /// Forgets every remembered search of the caller; how many there were.
    pub async fn clear_search_history(&self, principal: &Principal) -> Result<u64, ServiceError> {
        Ok(self
            .inner
            .repo
            .clear_search_history(principal.user_id)
            .await?)
    }
}
