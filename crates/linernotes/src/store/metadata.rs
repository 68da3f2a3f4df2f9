//! The metadata repository: entities fetched from providers, stored as normalised rows plus the raw
//! payload, read back in one round trip per entity.
//!
//! Reads build each entity with a single query whose child collections (aliases, credits, tags, media …)
//! are aggregated to JSON inside PostgreSQL; writes replace an entity's rows in one transaction, holding
//! the entity row's lock so concurrent writers of the same entity take turns.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use super::timed_query;
use super::StoreError;
use crate::domain::{
    Album, AlbumPage, Alias, Artist, CreditedArtist, Entity, EntityId, EntityKind, Label, LifeSpan,
    Mbid, Medium, Namespace, Release, ReleaseLabel, ReleaseTrack, TagCount, Track, UrlRelation,
};

/// An entity as stored, with when it was fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntity {
    /// The entity.
    pub entity: Entity,
    /// When it was fetched from its provider.
    pub fetched_at: DateTime<Utc>,
    /// False when only a summary is stored (an album seen in an artist's list, never looked up).
    pub complete: bool,
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
    /// The stored entity of `kind` with this MBID, following recorded redirects.
    async fn find(&self, kind: EntityKind, mbid: Mbid) -> Result<Option<StoredEntity>, StoreError>;
    /// The canonical MBID of an entity known by a non-MusicBrainz ID (ISRC, barcode, provider ID), or
    /// of a redirected MBID.
    async fn resolve(&self, kind: EntityKind, id: &EntityId) -> Result<Option<Mbid>, StoreError>;
    /// Stores a fetched entity (rows, external IDs, raw payload and any redirect) in one transaction.
    async fn save(&self, write: EntityWrite<'_>) -> Result<(), StoreError>;
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
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// [`MetadataRepo`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgMetadataRepo {
    pool: PgPool,
    /// Queries slower than this are logged.
    slow: Duration,
}

impl PgMetadataRepo {
    /// Wraps a pool; `slow` is the slow-query log threshold.
    pub fn new(pool: PgPool, slow: Duration) -> Self {
        Self { pool, slow }
    }
}

/// JSON aggregates every entity kind selects, given `e` as the `entity` row.
const COMMON_COLUMNS: &str = r#"
    e.mbid, e.fetched_at, e.complete, e.disambiguation,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('namespace', x.namespace, 'value', x.value)
                               ORDER BY x.namespace, x.value), '[]')
       FROM external_id x WHERE x.entity_mbid = e.mbid) AS external_ids,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('name', a.name, 'sort_name', a.sort_name,
                               'locale', a.locale, 'primary', a.is_primary, 'type', a.alias_type)
                               ORDER BY a.position), '[]')
       FROM alias a WHERE a.entity_mbid = e.mbid) AS aliases,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('name', t.name, 'count', t.count)
                               ORDER BY t.position), '[]')
       FROM entity_tag t WHERE t.entity_mbid = e.mbid AND t.category = 'genre') AS genres,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('name', t.name, 'count', t.count)
                               ORDER BY t.position), '[]')
       FROM entity_tag t WHERE t.entity_mbid = e.mbid AND t.category = 'tag') AS tags,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('type', u.relation_type, 'url', u.url)
                               ORDER BY u.position), '[]')
       FROM url_relation u WHERE u.entity_mbid = e.mbid) AS urls,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('name', c.name, 'artist_mbid', c.artist_mbid,
                               'join_phrase', c.join_phrase) ORDER BY c.position), '[]')
       FROM artist_credit c WHERE c.entity_mbid = e.mbid) AS credits
"#;

const RELEASE_COLUMNS: &str = r#"
    k.title, k.status, k.date, k.country, k.barcode, k.packaging, k.album_mbid, k.artist_credit_name,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('label_mbid', l.label_mbid, 'name', l.name,
                               'catalog_number', l.catalog_number) ORDER BY l.position), '[]')
       FROM release_label l WHERE l.release_mbid = e.mbid) AS labels,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('position', m.position, 'format', m.format,
                               'title', m.title, 'tracks',
            (SELECT coalesce(jsonb_agg(jsonb_build_object('position', t.position, 'number', t.number,
                                       'title', t.title, 'length_ms', t.length_ms,
                                       'recording_mbid', t.recording_mbid,
                                       'artist_credit_name', t.artist_credit_name)
                                       ORDER BY t.position), '[]')
               FROM release_track t
              WHERE t.release_mbid = m.release_mbid AND t.medium_position = m.position))
            ORDER BY m.position), '[]')
       FROM medium m WHERE m.release_mbid = e.mbid) AS media
"#;

/// The `SELECT … FROM entity e JOIN <kind table> k` prefix for one kind.
fn select_sql(kind: EntityKind) -> String {
    let (table, columns) = match kind {
        EntityKind::Artist => (
            "artist",
            "k.name, k.sort_name, k.artist_type, k.gender, k.country, k.area, k.begin_date, k.end_date, k.ended",
        ),
        EntityKind::Album => (
            "album",
            "k.title, k.primary_type, k.secondary_types, k.first_release_date, k.artist_credit_name",
        ),
        EntityKind::Release => ("release", RELEASE_COLUMNS),
        EntityKind::Track => (
            "track",
            "k.title, k.length_ms, k.first_release_date, k.artist_credit_name, k.isrcs",
        ),
        EntityKind::Label => (
            "label",
            "k.name, k.sort_name, k.label_type, k.country, k.label_code, k.begin_date, k.end_date, k.ended",
        ),
    };
    format!("SELECT {COMMON_COLUMNS}, {columns} FROM entity e JOIN {table} k ON k.mbid = e.mbid")
}

/// One entity by MBID, following recorded redirects, in one round trip.
static FIND_SQL: LazyLock<Vec<(EntityKind, String)>> = LazyLock::new(|| {
    EntityKind::ALL
        .into_iter()
        .map(|kind| {
            (
                kind,
                format!(
                    "WITH canonical AS ({CANONICAL_MBID_SQL}) {} \
                     WHERE e.mbid = coalesce((SELECT mbid FROM canonical), $1)",
                    select_sql(kind)
                ),
            )
        })
        .collect()
});

static ARTIST_ALBUMS_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} JOIN artist_album aa ON aa.album_mbid = e.mbid WHERE aa.artist_mbid = $1 \
         ORDER BY k.first_release_date NULLS LAST, k.title, e.mbid LIMIT $2 OFFSET $3",
        select_sql(EntityKind::Album)
    )
});

fn find_sql(kind: EntityKind) -> &'static str {
    FIND_SQL
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, sql)| sql.as_str())
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct ExternalIdRow {
    namespace: String,
    value: String,
}

#[derive(Deserialize)]
struct AliasRow {
    name: String,
    sort_name: Option<String>,
    locale: Option<String>,
    primary: Option<bool>,
    #[serde(rename = "type")]
    alias_type: Option<String>,
}

#[derive(Deserialize)]
struct TagRow {
    name: String,
    count: i32,
}

#[derive(Deserialize)]
struct UrlRow {
    #[serde(rename = "type")]
    relation_type: String,
    url: String,
}

#[derive(Deserialize)]
struct CreditRow {
    name: String,
    artist_mbid: Uuid,
    join_phrase: String,
}

#[derive(Deserialize)]
struct LabelRow {
    label_mbid: Option<Uuid>,
    name: Option<String>,
    catalog_number: Option<String>,
}

#[derive(Deserialize)]
struct MediumRow {
    position: i32,
    format: Option<String>,
    title: Option<String>,
    tracks: Vec<TrackRow>,
}

#[derive(Deserialize)]
struct TrackRow {
    position: i32,
    number: Option<String>,
    title: String,
    length_ms: Option<i64>,
    recording_mbid: Option<Uuid>,
    artist_credit_name: String,
}

/// The parts every entity kind shares, decoded from one row.
struct CommonParts {
    id: Mbid,
    fetched_at: DateTime<Utc>,
    complete: bool,
    disambiguation: Option<String>,
    external_ids: Vec<EntityId>,
    aliases: Vec<Alias>,
    genres: Vec<TagCount>,
    tags: Vec<TagCount>,
    urls: Vec<UrlRelation>,
    credits: Vec<CreditedArtist>,
}

fn json_column<T: serde::de::DeserializeOwned>(row: &PgRow, column: &str) -> Result<T, StoreError> {
    row.try_get::<Json<T>, _>(column)
        .map(|json| json.0)
        .map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
}

fn tag_counts(rows: Vec<TagRow>) -> Vec<TagCount> {
    rows.into_iter()
        .map(|t| TagCount {
            name: t.name,
            count: t.count,
        })
        .collect()
}

impl CommonParts {
    fn decode(row: &PgRow) -> Result<Self, StoreError> {
        let id = Mbid::from(row.try_get::<Uuid, _>("mbid")?);
        let mut external_ids = vec![id.to_entity_id()];
        for x in json_column::<Vec<ExternalIdRow>>(row, "external_ids")? {
            let namespace: Namespace = x
                .namespace
                .parse()
                .map_err(|e: crate::domain::IdError| StoreError::Corrupt(e.to_string()))?;
            external_ids.push(
                EntityId::new(namespace, &x.value)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            );
        }
        Ok(CommonParts {
            id,
            fetched_at: row.try_get("fetched_at")?,
            complete: row.try_get("complete")?,
            disambiguation: row.try_get("disambiguation")?,
            external_ids,
            aliases: json_column::<Vec<AliasRow>>(row, "aliases")?
                .into_iter()
                .map(|a| Alias {
                    name: a.name,
                    sort_name: a.sort_name,
                    locale: a.locale,
                    primary: a.primary,
                    alias_type: a.alias_type,
                })
                .collect(),
            genres: tag_counts(json_column(row, "genres")?),
            tags: tag_counts(json_column(row, "tags")?),
            urls: json_column::<Vec<UrlRow>>(row, "urls")?
                .into_iter()
                .map(|u| UrlRelation {
                    relation_type: u.relation_type,
                    url: u.url,
                })
                .collect(),
            credits: json_column::<Vec<CreditRow>>(row, "credits")?
                .into_iter()
                .map(|c| CreditedArtist {
                    name: c.name,
                    artist_id: Mbid::from(c.artist_mbid),
                    join_phrase: c.join_phrase,
                })
                .collect(),
        })
    }
}

fn life_span(row: &PgRow) -> Result<LifeSpan, StoreError> {
    Ok(LifeSpan {
        begin: row.try_get("begin_date")?,
        end: row.try_get("end_date")?,
        ended: row.try_get("ended")?,
    })
}

fn decode_entity(kind: EntityKind, row: &PgRow) -> Result<StoredEntity, StoreError> {
    let c = CommonParts::decode(row)?;
    let entity = match kind {
        EntityKind::Artist => Entity::Artist(Artist {
            id: c.id,
            external_ids: c.external_ids,
            name: row.try_get("name")?,
            sort_name: row.try_get("sort_name")?,
            artist_type: row.try_get("artist_type")?,
            gender: row.try_get("gender")?,
            country: row.try_get("country")?,
            life_span: life_span(row)?,
            area: row.try_get("area")?,
            disambiguation: c.disambiguation,
            aliases: c.aliases,
            genres: c.genres,
            tags: c.tags,
            urls: c.urls,
        }),
        EntityKind::Album => Entity::Album(Album {
            id: c.id,
            external_ids: c.external_ids,
            title: row.try_get("title")?,
            primary_type: row.try_get("primary_type")?,
            secondary_types: row.try_get("secondary_types")?,
            first_release_date: row.try_get("first_release_date")?,
            artist_credit: c.credits,
            artist_credit_name: row.try_get("artist_credit_name")?,
            disambiguation: c.disambiguation,
            genres: c.genres,
            tags: c.tags,
            urls: c.urls,
        }),
        EntityKind::Release => Entity::Release(Release {
            id: c.id,
            external_ids: c.external_ids,
            title: row.try_get("title")?,
            status: row.try_get("status")?,
            date: row.try_get("date")?,
            country: row.try_get("country")?,
            barcode: row.try_get("barcode")?,
            packaging: row.try_get("packaging")?,
            album_id: row
                .try_get::<Option<Uuid>, _>("album_mbid")?
                .map(Mbid::from),
            artist_credit: c.credits,
            artist_credit_name: row.try_get("artist_credit_name")?,
            labels: json_column::<Vec<LabelRow>>(row, "labels")?
                .into_iter()
                .map(|l| ReleaseLabel {
                    label_id: l.label_mbid.map(Mbid::from),
                    name: l.name,
                    catalog_number: l.catalog_number,
                })
                .collect(),
            media: json_column::<Vec<MediumRow>>(row, "media")?
                .into_iter()
                .map(|m| Medium {
                    position: m.position,
                    format: m.format,
                    title: m.title,
                    tracks: m
                        .tracks
                        .into_iter()
                        .map(|t| ReleaseTrack {
                            position: t.position,
                            number: t.number,
                            title: t.title,
                            length_ms: t.length_ms,
                            track_id: t.recording_mbid.map(Mbid::from),
                            artist_credit_name: t.artist_credit_name,
                        })
                        .collect(),
                })
                .collect(),
            disambiguation: c.disambiguation,
            genres: c.genres,
            tags: c.tags,
            urls: c.urls,
        }),
        EntityKind::Track => Entity::Track(Track {
            id: c.id,
            isrcs: row.try_get("isrcs")?,
            external_ids: c.external_ids,
            title: row.try_get("title")?,
            length_ms: row.try_get("length_ms")?,
            artist_credit: c.credits,
            artist_credit_name: row.try_get("artist_credit_name")?,
            first_release_date: row.try_get("first_release_date")?,
            disambiguation: c.disambiguation,
            genres: c.genres,
            tags: c.tags,
            urls: c.urls,
        }),
        EntityKind::Label => Entity::Label(Label {
            id: c.id,
            external_ids: c.external_ids,
            name: row.try_get("name")?,
            sort_name: row.try_get("sort_name")?,
            label_type: row.try_get("label_type")?,
            country: row.try_get("country")?,
            label_code: row.try_get("label_code")?,
            life_span: life_span(row)?,
            disambiguation: c.disambiguation,
            aliases: c.aliases,
            genres: c.genres,
            tags: c.tags,
            urls: c.urls,
        }),
    };
    Ok(StoredEntity {
        entity,
        fetched_at: c.fetched_at,
        complete: c.complete,
    })
}

/// The end of the redirect chain starting at `$1` (at most 8 hops), if any.
const CANONICAL_MBID_SQL: &str = "WITH RECURSIVE chain(mbid, depth) AS ( \
     SELECT new_mbid, 1 FROM mbid_redirect WHERE old_mbid = $1 \
     UNION ALL \
     SELECT r.new_mbid, c.depth + 1 FROM mbid_redirect r JOIN chain c ON r.old_mbid = c.mbid \
     WHERE c.depth < 8) \
 SELECT mbid FROM chain ORDER BY depth DESC LIMIT 1";

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
        timed_query("find", self.slow, async {
            let row = sqlx::query(find_sql(kind))
                .bind(mbid.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
            row.map(|row| decode_entity(kind, &row)).transpose()
        })
        .await
    }

    async fn resolve(&self, kind: EntityKind, id: &EntityId) -> Result<Option<Mbid>, StoreError> {
        timed_query("resolve", self.slow, async {
            if let Some(mbid) = id.as_mbid() {
                return canonical_mbid(&self.pool, mbid).await.map(Some);
            }
            let found: Option<Uuid> = sqlx::query_scalar(
                "SELECT x.entity_mbid FROM external_id x JOIN entity e ON e.mbid = x.entity_mbid \
                 WHERE x.namespace = $1 AND x.value = $2 AND e.kind = $3 \
                 ORDER BY e.complete DESC, e.fetched_at DESC LIMIT 1",
            )
            .bind(id.namespace().as_str())
            .bind(id.value())
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
            .await?;
            Ok(found.map(Mbid::from))
        })
        .await
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
            tx.commit().await?;
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
        timed_query("artist_albums", self.slow, async {
            let artist = canonical_mbid(&self.pool, artist).await?;
            let synced: Option<(DateTime<Utc>, i64)> = sqlx::query_as(
                "SELECT l.fetched_at, \
                        (SELECT count(*) FROM artist_album aa WHERE aa.artist_mbid = l.artist_mbid) \
                 FROM artist_album_list l WHERE l.artist_mbid = $1",
            )
            .bind(artist.as_uuid())
            .fetch_optional(&self.pool)
            .await?;
            let Some((fetched_at, total)) = synced else {
                return Ok(None);
            };
            let rows = sqlx::query(&ARTIST_ALBUMS_SQL)
                .bind(artist.as_uuid())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
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
        })
        .await
    }

    async fn save_artist_albums(&self, write: AlbumListWrite<'_>) -> Result<(), StoreError> {
        timed_query("save_artist_albums", self.slow, async {
            let mut tx = self.pool.begin().await?;
            let artist = write.artist.as_uuid();
            // The upsert locks the list's row, so two synchronisations of one list take turns.
            let pages: Vec<serde_json::Value> = write
                .pages
                .iter()
                .map(|(request, payload)| serde_json::json!({"request": request, "payload": payload}))
                .collect();
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

    async fn ping(&self) -> Result<(), StoreError> {
        timed_query("ping", self.slow, async {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        })
        .await
    }
}

/// Records that `old` now answers as `new`, re-points older redirects to `new`, and drops the stored
/// copy of `old` (its data now lives under `new`).
async fn record_redirect(
    tx: &mut Transaction<'_, Postgres>,
    old: Mbid,
    new: Mbid,
    kind: EntityKind,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mbid_redirect (old_mbid, new_mbid, kind) VALUES ($1, $2, $3) \
         ON CONFLICT (old_mbid) DO UPDATE SET new_mbid = EXCLUDED.new_mbid, recorded_at = now()",
    )
    .bind(old.as_uuid())
    .bind(new.as_uuid())
    .bind(kind.as_str())
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE mbid_redirect SET new_mbid = $2 WHERE new_mbid = $1")
        .bind(old.as_uuid())
        .bind(new.as_uuid())
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM mbid_redirect WHERE old_mbid = $1")
        .bind(new.as_uuid())
        .execute(&mut **tx)
        .await?;
    // The user library follows the merge in this same transaction.
    super::library::follow_merge(tx, old, new).await?;
    sqlx::query("DELETE FROM entity WHERE mbid = $1")
        .bind(old.as_uuid())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn write_raw_payload(
    tx: &mut Transaction<'_, Postgres>,
    mbid: Mbid,
    provider: &str,
    request: &str,
    payload: &serde_json::Value,
    fetched_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO raw_payload (entity_mbid, provider, request, payload, fetched_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (entity_mbid, provider, request) \
         DO UPDATE SET payload = EXCLUDED.payload, fetched_at = EXCLUDED.fetched_at",
    )
    .bind(mbid.as_uuid())
    .bind(provider)
    .bind(request)
    .bind(Json(payload))
    .bind(fetched_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The child collections an entity writes: aliases, genres, tags, URLs and credits.
type ChildRows<'a> = (
    &'a [Alias],
    &'a [TagCount],
    &'a [TagCount],
    &'a [UrlRelation],
    &'a [CreditedArtist],
);

/// Replaces every row of one entity: the `entity` row (taking its lock first), the kind's row and all
/// child rows.
async fn write_entity_rows(
    tx: &mut Transaction<'_, Postgres>,
    entity: &Entity,
    complete: bool,
    fetched_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mbid = entity.mbid().as_uuid();
    let disambiguation = entity.disambiguation();
    // A summary never replaces a complete entity, also when a lookup commits concurrently: the
    // upsert locks the row and only updates when the stored copy is a summary too.
    let written: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO entity (mbid, kind, complete, disambiguation, fetched_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (mbid) DO UPDATE SET kind = EXCLUDED.kind, complete = EXCLUDED.complete, \
             disambiguation = EXCLUDED.disambiguation, fetched_at = EXCLUDED.fetched_at \
         WHERE EXCLUDED.complete OR NOT entity.complete \
         RETURNING mbid",
    )
    .bind(mbid)
    .bind(entity.kind().as_str())
    .bind(complete)
    .bind(disambiguation)
    .bind(fetched_at)
    .fetch_optional(&mut **tx)
    .await?;
    if written.is_none() {
        return Ok(());
    }
    for table in [
        "alias",
        "entity_tag",
        "url_relation",
        "artist_credit",
        "external_id",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE entity_mbid = $1"))
            .bind(mbid)
            .execute(&mut **tx)
            .await?;
    }
    let (aliases, genres, tags, urls, credits): ChildRows<'_> = match entity {
        Entity::Artist(e) => {
            write_artist_row(tx, e).await?;
            (&e.aliases, &e.genres, &e.tags, &e.urls, &[])
        }
        Entity::Album(e) => {
            write_album_row(tx, e).await?;
            (&[], &e.genres, &e.tags, &e.urls, &e.artist_credit)
        }
        Entity::Release(e) => {
            write_release_rows(tx, e).await?;
            (&[], &e.genres, &e.tags, &e.urls, &e.artist_credit)
        }
        Entity::Track(e) => {
            write_track_row(tx, e).await?;
            (&[], &e.genres, &e.tags, &e.urls, &e.artist_credit)
        }
        Entity::Label(e) => {
            write_label_row(tx, e).await?;
            (&e.aliases, &e.genres, &e.tags, &e.urls, &[])
        }
    };
    write_aliases(tx, mbid, aliases).await?;
    write_tags(tx, mbid, "genre", genres).await?;
    write_tags(tx, mbid, "tag", tags).await?;
    write_urls(tx, mbid, urls).await?;
    write_credits(tx, mbid, credits).await?;
    write_external_ids(tx, mbid, entity.external_ids()).await?;
    Ok(())
}

fn positions(len: usize) -> Vec<i32> {
    (0..len)
        .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
        .collect()
}

async fn write_aliases(
    tx: &mut Transaction<'_, Postgres>,
    mbid: Uuid,
    aliases: &[Alias],
) -> Result<(), StoreError> {
    if aliases.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO alias (entity_mbid, position, name, sort_name, locale, is_primary, alias_type) \
         SELECT $1, * FROM UNNEST($2::int[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::text[])",
    )
    .bind(mbid)
    .bind(positions(aliases.len()))
    .bind(aliases.iter().map(|a| a.name.clone()).collect::<Vec<_>>())
    .bind(aliases.iter().map(|a| a.sort_name.clone()).collect::<Vec<_>>())
    .bind(aliases.iter().map(|a| a.locale.clone()).collect::<Vec<_>>())
    .bind(aliases.iter().map(|a| a.primary).collect::<Vec<_>>())
    .bind(aliases.iter().map(|a| a.alias_type.clone()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_tags(
    tx: &mut Transaction<'_, Postgres>,
    mbid: Uuid,
    category: &str,
    tags: &[TagCount],
) -> Result<(), StoreError> {
    if tags.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO entity_tag (entity_mbid, category, position, name, count) \
         SELECT $1, $2, * FROM UNNEST($3::int[], $4::text[], $5::int[]) ON CONFLICT DO NOTHING",
    )
    .bind(mbid)
    .bind(category)
    .bind(positions(tags.len()))
    .bind(tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>())
    .bind(tags.iter().map(|t| t.count).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_urls(
    tx: &mut Transaction<'_, Postgres>,
    mbid: Uuid,
    urls: &[UrlRelation],
) -> Result<(), StoreError> {
    if urls.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO url_relation (entity_mbid, position, relation_type, url) \
         SELECT $1, * FROM UNNEST($2::int[], $3::text[], $4::text[])",
    )
    .bind(mbid)
    .bind(positions(urls.len()))
    .bind(
        urls.iter()
            .map(|u| u.relation_type.clone())
            .collect::<Vec<_>>(),
    )
    .bind(urls.iter().map(|u| u.url.clone()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_credits(
    tx: &mut Transaction<'_, Postgres>,
    mbid: Uuid,
    credits: &[CreditedArtist],
) -> Result<(), StoreError> {
    if credits.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO artist_credit (entity_mbid, position, artist_mbid, name, join_phrase) \
         SELECT $1, * FROM UNNEST($2::int[], $3::uuid[], $4::text[], $5::text[])",
    )
    .bind(mbid)
    .bind(positions(credits.len()))
    .bind(
        credits
            .iter()
            .map(|c| c.artist_id.as_uuid())
            .collect::<Vec<_>>(),
    )
    .bind(credits.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
    .bind(
        credits
            .iter()
            .map(|c| c.join_phrase.clone())
            .collect::<Vec<_>>(),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_external_ids(
    tx: &mut Transaction<'_, Postgres>,
    mbid: Uuid,
    ids: &[EntityId],
) -> Result<(), StoreError> {
    let others: Vec<&EntityId> = ids
        .iter()
        .filter(|id| id.namespace() != Namespace::MusicBrainz)
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO external_id (entity_mbid, namespace, value) \
         SELECT $1, * FROM UNNEST($2::text[], $3::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(mbid)
    .bind(
        others
            .iter()
            .map(|id| id.namespace().as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        others
            .iter()
            .map(|id| id.value().to_owned())
            .collect::<Vec<_>>(),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_artist_row(
    tx: &mut Transaction<'_, Postgres>,
    a: &Artist,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO artist (mbid, name, sort_name, artist_type, gender, country, area, begin_date, \
             end_date, ended) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (mbid) DO UPDATE SET name = EXCLUDED.name, sort_name = EXCLUDED.sort_name, \
             artist_type = EXCLUDED.artist_type, gender = EXCLUDED.gender, country = EXCLUDED.country, \
             area = EXCLUDED.area, begin_date = EXCLUDED.begin_date, end_date = EXCLUDED.end_date, \
             ended = EXCLUDED.ended",
    )
    .bind(a.id.as_uuid())
    .bind(&a.name)
    .bind(&a.sort_name)
    .bind(&a.artist_type)
    .bind(&a.gender)
    .bind(&a.country)
    .bind(&a.area)
    .bind(&a.life_span.begin)
    .bind(&a.life_span.end)
    .bind(a.life_span.ended)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_album_row(tx: &mut Transaction<'_, Postgres>, a: &Album) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO album (mbid, title, primary_type, secondary_types, first_release_date, \
             artist_credit_name) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (mbid) DO UPDATE SET title = EXCLUDED.title, primary_type = EXCLUDED.primary_type, \
             secondary_types = EXCLUDED.secondary_types, \
             first_release_date = EXCLUDED.first_release_date, \
             artist_credit_name = EXCLUDED.artist_credit_name",
    )
    .bind(a.id.as_uuid())
    .bind(&a.title)
    .bind(&a.primary_type)
    .bind(&a.secondary_types)
    .bind(&a.first_release_date)
    .bind(&a.artist_credit_name)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_track_row(tx: &mut Transaction<'_, Postgres>, t: &Track) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO track (mbid, title, length_ms, first_release_date, artist_credit_name, isrcs) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (mbid) DO UPDATE SET title = EXCLUDED.title, length_ms = EXCLUDED.length_ms, \
             first_release_date = EXCLUDED.first_release_date, \
             artist_credit_name = EXCLUDED.artist_credit_name, isrcs = EXCLUDED.isrcs",
    )
    .bind(t.id.as_uuid())
    .bind(&t.title)
    .bind(t.length_ms)
    .bind(&t.first_release_date)
    .bind(&t.artist_credit_name)
    .bind(&t.isrcs)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_label_row(tx: &mut Transaction<'_, Postgres>, l: &Label) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO label (mbid, name, sort_name, label_type, country, label_code, begin_date, \
             end_date, ended) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (mbid) DO UPDATE SET name = EXCLUDED.name, sort_name = EXCLUDED.sort_name, \
             label_type = EXCLUDED.label_type, country = EXCLUDED.country, \
             label_code = EXCLUDED.label_code, begin_date = EXCLUDED.begin_date, \
             end_date = EXCLUDED.end_date, ended = EXCLUDED.ended",
    )
    .bind(l.id.as_uuid())
    .bind(&l.name)
    .bind(&l.sort_name)
    .bind(&l.label_type)
    .bind(&l.country)
    .bind(l.label_code)
    .bind(&l.life_span.begin)
    .bind(&l.life_span.end)
    .bind(l.life_span.ended)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_release_rows(
    tx: &mut Transaction<'_, Postgres>,
    r: &Release,
) -> Result<(), StoreError> {
    let mbid = r.id.as_uuid();
    sqlx::query(
        "INSERT INTO release (mbid, title, status, date, country, barcode, packaging, album_mbid, \
             artist_credit_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (mbid) DO UPDATE SET title = EXCLUDED.title, status = EXCLUDED.status, \
             date = EXCLUDED.date, country = EXCLUDED.country, barcode = EXCLUDED.barcode, \
             packaging = EXCLUDED.packaging, album_mbid = EXCLUDED.album_mbid, \
             artist_credit_name = EXCLUDED.artist_credit_name",
    )
    .bind(mbid)
    .bind(&r.title)
    .bind(&r.status)
    .bind(&r.date)
    .bind(&r.country)
    .bind(&r.barcode)
    .bind(&r.packaging)
    .bind(r.album_id.map(|m| m.as_uuid()))
    .bind(&r.artist_credit_name)
    .execute(&mut **tx)
    .await?;
    for table in ["medium", "release_label"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE release_mbid = $1"))
            .bind(mbid)
            .execute(&mut **tx)
            .await?;
    }
    if !r.labels.is_empty() {
        sqlx::query(
            "INSERT INTO release_label (release_mbid, position, label_mbid, name, catalog_number) \
             SELECT $1, * FROM UNNEST($2::int[], $3::uuid[], $4::text[], $5::text[])",
        )
        .bind(mbid)
        .bind(positions(r.labels.len()))
        .bind(
            r.labels
                .iter()
                .map(|l| l.label_id.map(|m| m.as_uuid()))
                .collect::<Vec<_>>(),
        )
        .bind(r.labels.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
        .bind(
            r.labels
                .iter()
                .map(|l| l.catalog_number.clone())
                .collect::<Vec<_>>(),
        )
        .execute(&mut **tx)
        .await?;
    }
    if r.media.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO medium (release_mbid, position, format, title) \
         SELECT $1, * FROM UNNEST($2::int[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(mbid)
    .bind(r.media.iter().map(|m| m.position).collect::<Vec<_>>())
    .bind(r.media.iter().map(|m| m.format.clone()).collect::<Vec<_>>())
    .bind(r.media.iter().map(|m| m.title.clone()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    let tracks: Vec<(i32, &ReleaseTrack)> = r
        .media
        .iter()
        .flat_map(|m| m.tracks.iter().map(move |t| (m.position, t)))
        .collect();
    if tracks.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO release_track (release_mbid, medium_position, position, number, title, length_ms, \
             recording_mbid, artist_credit_name) \
         SELECT $1, * FROM UNNEST($2::int[], $3::int[], $4::text[], $5::text[], $6::bigint[], \
             $7::uuid[], $8::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(mbid)
    .bind(tracks.iter().map(|(m, _)| *m).collect::<Vec<_>>())
    .bind(tracks.iter().map(|(_, t)| t.position).collect::<Vec<_>>())
    .bind(tracks.iter().map(|(_, t)| t.number.clone()).collect::<Vec<_>>())
    .bind(tracks.iter().map(|(_, t)| t.title.clone()).collect::<Vec<_>>())
    .bind(tracks.iter().map(|(_, t)| t.length_ms).collect::<Vec<_>>())
    .bind(tracks.iter().map(|(_, t)| t.track_id.map(|m| m.as_uuid())).collect::<Vec<_>>())
    .bind(tracks.iter().map(|(_, t)| t.artist_credit_name.clone()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalised(sql: &str) -> String {
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// `scripts/pgbench_find_artist.sql` must run exactly the statement a database-first GetArtist
    /// runs, so the benchmark's ceiling stays comparable.
    #[test]
    fn the_pgbench_script_runs_the_find_artist_queries() {
        let script = normalised(include_str!("../../../../scripts/pgbench_find_artist.sql"));
        let id = "('00000000-0000-4000-8000-' || lpad(to_hex(:n::integer), 12, '0'))::uuid";
        let expected = normalised(&find_sql(EntityKind::Artist).replace("$1", id));
        assert!(script.contains(&expected), "the script lacks: {expected}");
    }
}
