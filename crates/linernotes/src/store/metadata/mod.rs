//! The metadata repository: entities fetched from providers, stored as normalised rows plus the raw
//! payload, read back in one round trip per entity.
//!
//! Reads build each entity with a single query whose child collections (aliases, credits, tags, media …)
//! are aggregated to JSON inside PostgreSQL; writes replace an entity's rows in one transaction, holding
//! the entity row's lock so concurrent writers of the same entity take turns.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::PgPool;
use uuid::Uuid;

mod enrichment;
mod read;
mod releases;
pub mod search_docs;
mod write;

pub use enrichment::{EnrichmentOutcome, EnrichmentResult, EnrichmentWrite, StoredEnrichment};
pub use releases::{RecordingMatch, ReleaseListWrite};

use super::replicas::ReadPools;
use super::timed_query;
use super::StoreError;
use crate::domain::ws2::Ws2Browse;
use crate::domain::{Album, AlbumPage, Entity, EntityId, EntityKind, Mbid, SearchDocument};
use read::*;
pub use search_docs::DocumentSelection;
use write::*;

/// An entity as stored, with when it was fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntity {
    /// The entity.
    pub entity: Entity,
    /// When it was fetched from its provider.
    pub fetched_at: DateTime<Utc>,
    /// False when only a summary is stored (an album seen in an artist's list, never looked up).
    pub complete: bool,
    /// What the enrichers reported of it, when read together with the entity ([`MetadataRepo::find`]);
    /// `None` when not read (a summary in a list, or an entity just fetched from its provider).
    pub enrichments: Option<Vec<StoredEnrichment>>,
}

/// One provider answer to persist: the entity and the raw body it was parsed from.
#[derive(Debug, Clone)]
pub struct EntityWrite<'a> {
    /// The MBID that was asked for; differs from the entity's when the provider redirected a merge.
    pub requested: Mbid,
    /// The parsed entity.
    pub entity: &'a Entity,
    /// Provider name (`musicbrainz`).
    pub provider: &'a str,
    /// Request shape (e.g. the `inc` set).
    pub request: &'a str,
    /// The raw body.
    pub payload: &'a serde_json::Value,
    /// Fetch time.
    pub fetched_at: DateTime<Utc>,
}

/// A provider's raw answer about one entity, as stored beside its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPayload {
    /// The request shape it answered (`inc=a+b` for a MusicBrainz lookup).
    pub request: String,
    /// The body.
    pub payload: serde_json::Value,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
}

/// A raw payload's columns: request, payload, fetched_at.
type RawPayloadRow = (String, Json<serde_json::Value>, DateTime<Utc>);

impl RawPayload {
    fn from_row((request, Json(payload), fetched_at): RawPayloadRow) -> Self {
        Self {
            request,
            payload,
            fetched_at,
        }
    }
}

/// One synchronised album list of an artist.
#[derive(Debug, Clone)]
pub struct AlbumListWrite<'a> {
    /// The artist.
    pub artist: Mbid,
    /// Every album of the artist, as listed.
    pub albums: &'a [Album],
    /// The provider's total count.
    pub total: i64,
    /// Raw pages: (request shape, body).
    pub pages: &'a [(String, serde_json::Value)],
    /// Fetch time.
    pub fetched_at: DateTime<Utc>,
}

/// Persistence of provider metadata.
#[async_trait]
pub trait MetadataRepo: Send + Sync {
    /// The stored entity of `kind` with this MBID, following recorded redirects, with its
    /// enrichments.
    async fn find(&self, kind: EntityKind, mbid: Mbid) -> Result<Option<StoredEntity>, StoreError>;
    /// The canonical MBID of an entity known by a non-MusicBrainz ID (ISRC, barcode, provider ID), or
    /// of a redirected MBID.
    async fn resolve(&self, kind: EntityKind, id: &EntityId) -> Result<Option<Mbid>, StoreError>;
    /// Every stored entity an ID names, with its kind: an MBID (after redirects) names at most one; a
    /// provider's ID may name entities of several kinds.
    async fn known_by(&self, id: &EntityId) -> Result<Vec<(EntityKind, Mbid)>, StoreError>;
    /// Stores a fetched entity (rows, external IDs, raw payload and any redirect) in one transaction.
    /// The provider's other lookup bodies of the entity (`inc=…` requests) are dropped: a lookup asks
    /// for at least what the stored bodies held, so the newest one supersedes them.
    async fn save(&self, write: EntityWrite<'_>) -> Result<(), StoreError>;
    /// The newest lookup body (`inc=…` request) `provider` answered about the stored entity `mbid` of
    /// `kind`.
    async fn lookup_payload(
        &self,
        kind: EntityKind,
        mbid: Mbid,
        provider: &str,
    ) -> Result<Option<RawPayload>, StoreError>;
    /// A stored WS/2 browse page, as the provider answered it.
    async fn browse_page(&self, browse: &Ws2Browse) -> Result<Option<RawPayload>, StoreError>;
    /// Stores (or replaces) a WS/2 browse page.
    async fn save_browse_page(
        &self,
        browse: &Ws2Browse,
        payload: &serde_json::Value,
        fetched_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// A page of an artist's stored albums and when the list was synchronised; `None` when it never was.
    async fn artist_albums(
        &self,
        artist: Mbid,
        limit: i64,
        offset: i64,
    ) -> Result<Option<(AlbumPage, DateTime<Utc>)>, StoreError>;
    /// Replaces an artist's album list (and its raw pages) in one transaction. Albums already stored in
    /// full keep their data.
    async fn save_artist_albums(&self, write: AlbumListWrite<'_>) -> Result<(), StoreError>;
    /// What every enricher reported of the entity `mbid`, by provider name.
    async fn enrichments(&self, mbid: Mbid) -> Result<Vec<StoredEnrichment>, StoreError>;
    /// Records one enrichment attempt (and the raw answer of a success) in one transaction; a failure
    /// keeps the facts of the last success. Nothing is written when the entity is no longer stored.
    async fn save_enrichment(&self, write: EnrichmentWrite<'_>) -> Result<(), StoreError>;
    /// How many entities each provider's latest enrichment attempt failed for (awaiting a retry).
    async fn enrichment_failures(&self) -> Result<Vec<(String, i64)>, StoreError>;
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// What the search index holds of the entities `selection` names.
    async fn search_documents(
        &self,
        kind: EntityKind,
        selection: DocumentSelection<'_>,
    ) -> Result<Vec<SearchDocument>, StoreError>;
    /// The newest swapped dump import and the newest reindex request: a change asks for a rebuild.
    async fn search_rebuild_marker(&self) -> Result<(Option<i64>, Option<i64>), StoreError>;
    /// An album's stored releases (with media and tracks) and when the list was synchronised; `None`
    /// when it never was.
    async fn album_releases(
        &self,
        album: Mbid,
    ) -> Result<Option<(Vec<crate::domain::Release>, DateTime<Utc>)>, StoreError>;
    /// Stores an album's release list (releases as summaries, raw pages beside) in one transaction.
    async fn save_album_releases(&self, write: ReleaseListWrite<'_>) -> Result<(), StoreError>;
    /// The MBIDs recorded as merged into each of `mbids`.
    async fn merged_into(
        &self,
        mbids: &[Mbid],
    ) -> Result<std::collections::BTreeMap<Mbid, Vec<Mbid>>, StoreError>;
    /// The distinct statuses of the stored releases of each album (albums without any are absent).
    async fn release_statuses(
        &self,
        albums: &[Mbid],
    ) -> Result<std::collections::BTreeMap<Mbid, Vec<String>>, StoreError>;
    /// The stored releases holding any of `recordings`, best match first.
    async fn releases_with_recordings(
        &self,
        recordings: &[Mbid],
    ) -> Result<Vec<RecordingMatch>, StoreError>;
}

/// [`MetadataRepo`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgMetadataRepo {
    /// The primary: every write.
    pool: PgPool,
    /// Where reads that tolerate lag go (the primary alone unless replicas are configured).
    reads: ReadPools,
    /// Queries slower than this are logged.
    slow: Duration,
}

impl PgMetadataRepo {
    /// Wraps a pool; `slow` is the slow-query log threshold.
    pub fn new(pool: PgPool, slow: Duration) -> Self {
        Self {
            reads: ReadPools::primary_only(pool.clone()),
            pool,
            slow,
        }
    }

    /// Sends reads through `reads` (replicas, with the primary behind them).
    pub fn with_reads(mut self, reads: ReadPools) -> Self {
        self.reads = reads;
        self
    }
}

/// The end of the redirect chain starting at `$1` (at most 8 hops), if any.
const CANONICAL_MBID_SQL: &str = "WITH RECURSIVE chain(mbid, depth) AS ( \
     SELECT new_mbid, 1 FROM mbid_redirect WHERE old_mbid = $1 \
     UNION ALL \
     SELECT r.new_mbid, c.depth + 1 FROM mbid_redirect r JOIN chain c ON r.old_mbid = c.mbid \
     WHERE c.depth < 8) \
 SELECT mbid FROM chain ORDER BY depth DESC LIMIT 1";

/// The entities known by the ID `($1, $2)` (namespace, value), as `c` (with `c.rank`: IDs the
/// catalogue gave first, 0, then links enrichers made, 1) joined to `entity e`.
const KNOWN_BY_SQL: &str = "FROM ( \
     SELECT x.entity_mbid AS mbid, 0 AS rank FROM external_id x \
     WHERE x.namespace = $1 AND x.value = $2 \
     UNION ALL \
     SELECT l.entity_mbid, 1 FROM entity_link l WHERE l.namespace = $1 AND l.value = $2) c \
 JOIN entity e ON e.mbid = c.mbid";

/// Follows redirects from `mbid` (at most a few hops, in case of chains of merges).
async fn canonical_mbid(pool: &PgPool, mbid: Mbid) -> Result<Mbid, StoreError> {
    let target: Option<Uuid> = sqlx::query_scalar(CANONICAL_MBID_SQL)
        .bind(mbid.as_uuid())
        .fetch_optional(pool)
        .await?;
    Ok(target.map(Mbid::from).unwrap_or(mbid))
}

#[async_trait]
impl MetadataRepo for PgMetadataRepo {
    async fn find(&self, kind: EntityKind, mbid: Mbid) -> Result<Option<StoredEntity>, StoreError> {
        // A replica that has not replayed the entity yet answers "not found": the primary decides.
        let read = self.reads.read(Option::is_none, |pool| async move {
            let row = sqlx::query(find_sql(kind))
                .bind(mbid.as_uuid())
                .fetch_optional(&pool)
                .await?;
            row.map(|row| {
                let mut stored = decode_entity(kind, &row)?;
                stored.enrichments = Some(enrichment::decode_enrichments(&row)?);
                Ok(stored)
            })
            .transpose()
        });
        timed_query("find", self.slow, read).await
    }

    async fn resolve(&self, kind: EntityKind, id: &EntityId) -> Result<Option<Mbid>, StoreError> {
        let read = self.reads.read(Option::is_none, |pool| async move {
            if let Some(mbid) = id.as_mbid() {
                return canonical_mbid(&pool, mbid).await.map(Some);
            }
            let found: Option<Uuid> = sqlx::query_scalar(&format!(
                "SELECT e.mbid {KNOWN_BY_SQL} WHERE e.kind = $3 \
                 ORDER BY c.rank, e.complete DESC, e.fetched_at DESC LIMIT 1"
            ))
            .bind(id.namespace().as_str())
            .bind(id.value())
            .bind(kind.as_str())
            .fetch_optional(&pool)
            .await?;
            Ok(found.map(Mbid::from))
        });
        timed_query("resolve", self.slow, read).await
    }

    async fn known_by(&self, id: &EntityId) -> Result<Vec<(EntityKind, Mbid)>, StoreError> {
        let read = self.reads.read(Vec::is_empty, |pool| async move {
            let rows: Vec<(String, Uuid)> = match id.as_mbid() {
                Some(mbid) => {
                    let mbid = canonical_mbid(&pool, mbid).await?;
                    sqlx::query_as("SELECT kind, mbid FROM entity WHERE mbid = $1")
                        .bind(mbid.as_uuid())
                        .fetch_all(&pool)
                        .await?
                }
                None => {
                    sqlx::query_as(&format!(
                        "SELECT DISTINCT e.kind, e.mbid {KNOWN_BY_SQL} ORDER BY e.kind"
                    ))
                    .bind(id.namespace().as_str())
                    .bind(id.value())
                    .fetch_all(&pool)
                    .await?
                }
            };
            rows.into_iter()
                .map(|(kind, mbid)| {
                    let kind = kind
                        .parse::<EntityKind>()
                        .map_err(|_| StoreError::Corrupt(format!("entity kind '{kind}'")))?;
                    Ok((kind, Mbid::from(mbid)))
                })
                .collect()
        });
        timed_query("known_by", self.slow, read).await
    }

    async fn save(&self, write: EntityWrite<'_>) -> Result<(), StoreError> {
        timed_query("save", self.slow, async {
            let mut tx = self.pool.begin().await?;
            let mbid = write.entity.mbid();
            if write.requested != mbid {
                record_redirect(&mut tx, write.requested, mbid, write.entity.kind()).await?;
            }
            write_entity_rows(&mut tx, write.entity, true, write.fetched_at).await?;
            write_raw_payload(
                &mut tx,
                mbid,
                write.provider,
                write.request,
                write.payload,
                write.fetched_at,
            )
            .await?;
            if write.request.starts_with("inc=") {
                sqlx::query(
                    "DELETE FROM raw_payload WHERE entity_mbid = $1 AND provider = $2 \
                     AND request LIKE 'inc=%' AND request <> $3",
                )
                .bind(mbid.as_uuid())
                .bind(write.provider)
                .bind(write.request)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn lookup_payload(
        &self,
        kind: EntityKind,
        mbid: Mbid,
        provider: &str,
    ) -> Result<Option<RawPayload>, StoreError> {
        let read = self.reads.read(Option::is_none, |pool| async move {
            let row: Option<RawPayloadRow> = sqlx::query_as(
                "SELECT r.request, r.payload, r.fetched_at FROM raw_payload r \
                 JOIN entity e ON e.mbid = r.entity_mbid AND e.kind = $3 \
                 WHERE r.entity_mbid = $1 AND r.provider = $2 AND r.request LIKE 'inc=%' \
                 ORDER BY r.fetched_at DESC LIMIT 1",
            )
            .bind(mbid.as_uuid())
            .bind(provider)
            .bind(kind.as_str())
            .fetch_optional(&pool)
            .await?;
            Ok(row.map(RawPayload::from_row))
        });
        timed_query("lookup_payload", self.slow, read).await
    }

    async fn browse_page(&self, browse: &Ws2Browse) -> Result<Option<RawPayload>, StoreError> {
        let read = self.reads.read(Option::is_none, |pool| async move {
            let row: Option<RawPayloadRow> = sqlx::query_as(
                "SELECT request, payload, fetched_at FROM ws2_browse_page \
                 WHERE resource = $1 AND linked = $2 AND linked_mbid = $3 AND request = $4",
            )
            .bind(browse.resource.name())
            .bind(browse.linked.name())
            .bind(browse.mbid.as_uuid())
            .bind(browse.request())
            .fetch_optional(&pool)
            .await?;
            Ok(row.map(RawPayload::from_row))
        });
        timed_query("browse_page", self.slow, read).await
    }

    async fn save_browse_page(
        &self,
        browse: &Ws2Browse,
        payload: &serde_json::Value,
        fetched_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        timed_query("save_browse_page", self.slow, async {
            sqlx::query(
                "INSERT INTO ws2_browse_page \
                     (resource, linked, linked_mbid, request, payload, fetched_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (resource, linked, linked_mbid, request) \
                 DO UPDATE SET payload = EXCLUDED.payload, fetched_at = EXCLUDED.fetched_at",
            )
            .bind(browse.resource.name())
            .bind(browse.linked.name())
            .bind(browse.mbid.as_uuid())
            .bind(browse.request())
            .bind(Json(payload))
            .bind(fetched_at)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    async fn artist_albums(
        &self,
        artist: Mbid,
        limit: i64,
        offset: i64,
    ) -> Result<Option<(AlbumPage, DateTime<Utc>)>, StoreError> {
        let read = self.reads.read(Option::is_none, |pool| async move {
            let artist = canonical_mbid(&pool, artist).await?;
            let synced: Option<(DateTime<Utc>, i64)> = sqlx::query_as(
                "SELECT l.fetched_at, \
                        (SELECT count(*) FROM artist_album aa WHERE aa.artist_mbid = l.artist_mbid) \
                 FROM artist_album_list l WHERE l.artist_mbid = $1",
            )
            .bind(artist.as_uuid())
            .fetch_optional(&pool)
            .await?;
            let Some((fetched_at, total)) = synced else {
                return Ok(None);
            };
            let rows = sqlx::query(&ARTIST_ALBUMS_SQL)
                .bind(artist.as_uuid())
                .bind(limit)
                .bind(offset)
                .fetch_all(&pool)
                .await?;
            let albums = rows
                .iter()
                .map(|row| match decode_entity(EntityKind::Album, row)?.entity {
                    Entity::Album(album) => Ok(album),
                    _ => Err(StoreError::Corrupt(
                        "album row decoded as another kind".into(),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some((
                AlbumPage {
                    albums,
                    total,
                    offset,
                },
                fetched_at,
            )))
        });
        timed_query("artist_albums", self.slow, read).await
    }

    async fn save_artist_albums(&self, write: AlbumListWrite<'_>) -> Result<(), StoreError> {
        timed_query("save_artist_albums", self.slow, async {
            let mut tx = self.pool.begin().await?;
            let artist = write.artist.as_uuid();
            // The upsert locks the list's row, so two synchronisations of one list take turns.
            let pages = raw_pages(write.pages);
            sqlx::query(
                "INSERT INTO artist_album_list (artist_mbid, total, raw_pages, fetched_at) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (artist_mbid) DO UPDATE SET total = EXCLUDED.total, \
                     raw_pages = EXCLUDED.raw_pages, fetched_at = EXCLUDED.fetched_at",
            )
            .bind(artist)
            .bind(i32::try_from(write.total).unwrap_or(i32::MAX))
            .bind(Json(&pages))
            .bind(write.fetched_at)
            .execute(&mut *tx)
            .await?;
            let ids: Vec<Uuid> = write.albums.iter().map(|a| a.id.as_uuid()).collect();
            let complete: Vec<Uuid> =
                sqlx::query_scalar("SELECT mbid FROM entity WHERE mbid = ANY($1) AND complete")
                    .bind(&ids)
                    .fetch_all(&mut *tx)
                    .await?;
            for album in write.albums {
                if !complete.contains(&album.id.as_uuid()) {
                    write_entity_rows(
                        &mut tx,
                        &Entity::Album(album.clone()),
                        false,
                        write.fetched_at,
                    )
                    .await?;
                }
            }
            sqlx::query("DELETE FROM artist_album WHERE artist_mbid = $1")
                .bind(artist)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO artist_album (artist_mbid, album_mbid) \
                 SELECT $1, a FROM UNNEST($2::uuid[]) AS a ON CONFLICT DO NOTHING",
            )
            .bind(artist)
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn enrichments(&self, mbid: Mbid) -> Result<Vec<StoredEnrichment>, StoreError> {
        timed_query(
            "enrichments",
            self.slow,
            self.reads.read(
                |_| false,
                |pool| async move { enrichment::find_enrichments(&pool, mbid).await },
            ),
        )
        .await
    }

    async fn save_enrichment(&self, write: EnrichmentWrite<'_>) -> Result<(), StoreError> {
        timed_query(
            "save_enrichment",
            self.slow,
            enrichment::save_enrichment(&self.pool, write),
        )
        .await
    }

    async fn enrichment_failures(&self) -> Result<Vec<(String, i64)>, StoreError> {
        timed_query(
            "enrichment_failures",
            self.slow,
            enrichment::failures_by_provider(&self.pool),
        )
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        timed_query("ping", self.slow, async {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        })
        .await
    }

    async fn search_documents(
        &self,
        kind: EntityKind,
        selection: DocumentSelection<'_>,
    ) -> Result<Vec<SearchDocument>, StoreError> {
        timed_query(
            "search_documents",
            self.slow,
            search_docs::search_documents(&self.pool, kind, selection),
        )
        .await
    }

    async fn search_rebuild_marker(&self) -> Result<(Option<i64>, Option<i64>), StoreError> {
        search_docs::rebuild_marker(&self.pool).await
    }

    async fn album_releases(
        &self,
        album: Mbid,
    ) -> Result<Option<(Vec<crate::domain::Release>, DateTime<Utc>)>, StoreError> {
        let read = self.reads.read(Option::is_none, |pool| {
            releases::album_releases(pool, album)
        });
        timed_query("album_releases", self.slow, read).await
    }

    async fn save_album_releases(&self, write: ReleaseListWrite<'_>) -> Result<(), StoreError> {
        timed_query(
            "save_album_releases",
            self.slow,
            releases::save_album_releases(&self.pool, write),
        )
        .await
    }

    async fn merged_into(
        &self,
        mbids: &[Mbid],
    ) -> Result<std::collections::BTreeMap<Mbid, Vec<Mbid>>, StoreError> {
        let read = self
            .reads
            .read(|_| false, |pool| releases::merged_into(pool, mbids));
        timed_query("merged_into", self.slow, read).await
    }

    async fn release_statuses(
        &self,
        albums: &[Mbid],
    ) -> Result<std::collections::BTreeMap<Mbid, Vec<String>>, StoreError> {
        let read = self
            .reads
            .read(|_| false, |pool| releases::release_statuses(pool, albums));
        timed_query("release_statuses", self.slow, read).await
    }

    async fn releases_with_recordings(
        &self,
        recordings: &[Mbid],
    ) -> Result<Vec<RecordingMatch>, StoreError> {
        let read = self.reads.read(Vec::is_empty, |pool| {
            releases::releases_with_recordings(pool, recordings)
        });
        timed_query("releases_with_recordings", self.slow, read).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalised(sql: &str) -> String {
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// `scripts/pgbench/find_<kind>.sql` run exactly the statement of a database-first lookup, so the
    /// benchmark that compares them with linernotes stays honest.
    #[test]
    fn the_pgbench_scripts_run_the_find_queries() {
        for (kind, script) in [
            (
                EntityKind::Artist,
                include_str!("../../../../../scripts/pgbench/find_artist.sql"),
            ),
            (
                EntityKind::Release,
                include_str!("../../../../../scripts/pgbench/find_release.sql"),
            ),
        ] {
            let expected = normalised(&find_sql(kind).replace("$1", ":mbid::uuid"));
            assert!(
                normalised(script).contains(&expected),
                "{kind}: the script lacks {expected}"
            );
        }
    }

    /// `scripts/pgbench_find_artist.sql` must run exactly the statement a database-first GetArtist
    /// runs, so the benchmark's ceiling stays comparable.
    #[test]
    fn the_pgbench_script_runs_the_find_artist_queries() {
        let script = normalised(include_str!(
            "../../../../../scripts/pgbench_find_artist.sql"
        ));
        let id = "('00000000-0000-4000-8000-' || lpad(to_hex(:n::integer), 12, '0'))::uuid";
        let expected = normalised(&find_sql(EntityKind::Artist).replace("$1", id));
        assert!(script.contains(&expected), "the script lacks: {expected}");
    }
}
