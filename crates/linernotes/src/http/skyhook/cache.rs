//! The encoded answers of artists and albums, kept beside the hot cache so a Lidarr refresh of a
//! whole library encodes each answer once.
//!
//! An answer is built from the hot cache's record of the entity plus lists read from the database
//! (an artist's albums, an album's releases). It is kept with the record it was built from and
//! served only while the hot cache still hands out that very record: when the entity is refreshed,
//! enriched or invalidated by another instance, the hot cache holds a new record and the answer is
//! built again. The lists inside it are at most the entity TTL (`cache.ttl_secs.entity`) older than
//! the database's.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::cache::CachedRecord;
use crate::domain::{EntityKind, Mbid};

/// Encoded answers by entity.
#[derive(Clone)]
pub struct AnswerCache {
    entries: moka::future::Cache<(EntityKind, Mbid), Arc<Answer>>,
}

impl std::fmt::Debug for AnswerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerCache")
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

/// One encoded answer and the record it was built from.
struct Answer {
    source: CachedRecord,
    body: Bytes,
}

impl AnswerCache {
    /// A cache of at most `max_bytes` of answers, each kept at most `ttl` (`0` bytes: nothing kept).
    pub fn new(max_bytes: u64, ttl: Duration) -> Self {
        Self {
            entries: moka::future::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, answer: &Arc<Answer>| {
                    u32::try_from(answer.body.len()).unwrap_or(u32::MAX)
                })
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The answer built from `source`, if it is kept.
    pub async fn get(&self, kind: EntityKind, source: &CachedRecord) -> Option<Bytes> {
        let answer = self.entries.get(&(kind, source.entity.mbid())).await?;
        Arc::ptr_eq(&answer.source, source).then(|| answer.body.clone())
    }

    /// Keeps the answer built from `source`.
    pub async fn put(&self, kind: EntityKind, source: &CachedRecord, body: Bytes) {
        let answer = Answer {
            source: source.clone(),
            body,
        };
        self.entries
            .insert((kind, source.entity.mbid()), Arc::new(answer))
            .await;
    }
}

impl Default for AnswerCache {
    /// 16 MiB of answers, each kept at most an hour.
    fn default() -> Self {
        Self::new(16 * 1024 * 1024, Duration::from_secs(3600))
    }
}
