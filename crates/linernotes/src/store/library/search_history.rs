//! Search history: [`SearchHistoryRepo`], the searches a user chose to have remembered.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{kind_of, PgLibraryRepo};
use crate::domain::library::SearchHistoryEntry;
use crate::domain::EntityKind;
use crate::store::{timed_query, StoreError};

/// Persistence of search history.
#[async_trait]
pub trait SearchHistoryRepo: Send + Sync {
    /// Remembers a search.
    async fn record_search(
        &self,
        user_id: Uuid,
        query: &str,
        kind: EntityKind,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Remembered searches, newest first.
    async fn search_history(
        &self,
        user_id: Uuid,
        limit: i64,
    ) -> Result<Vec<SearchHistoryEntry>, StoreError>;
    /// Forgets every remembered search; how many there were.
    async fn clear_search_history(&self, user_id: Uuid) -> Result<u64, StoreError>;
}

#[async_trait]
impl SearchHistoryRepo for PgLibraryRepo {
    async fn record_search(
        &self,
        user_id: Uuid,
        query: &str,
        kind: EntityKind,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        timed_query("library_record_search", self.slow, async {
            sqlx::query(
                "INSERT INTO search_history (user_id, query, entity_type, searched_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(user_id)
            .bind(query)
            .bind(kind.as_str())
            .bind(at)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    async fn search_history(
        &self,
        user_id: Uuid,
        limit: i64,
    ) -> Result<Vec<SearchHistoryEntry>, StoreError> {
        timed_query("library_search_history", self.slow, async {
            let rows: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT query, entity_type, searched_at FROM search_history WHERE user_id = $1 \
                 ORDER BY searched_at DESC, id DESC LIMIT $2",
            )
            .bind(user_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            rows.into_iter()
                .map(|(query, kind, searched_at)| {
                    Ok(SearchHistoryEntry {
                        query,
                        kind: kind_of(&kind)?,
                        searched_at,
                    })
                })
                .collect()
        })
        .await
    }

    async fn clear_search_history(&self, user_id: Uuid) -> Result<u64, StoreError> {
        timed_query("library_clear_search_history", self.slow, async {
            let done = sqlx::query("DELETE FROM search_history WHERE user_id = $1")
                .bind(user_id)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        })
        .await
    }
}
