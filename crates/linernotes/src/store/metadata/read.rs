//! Reading entities back: one query per entity whose child collections (aliases, credits, tags,
//! media …) are aggregated to JSON inside PostgreSQL, and its decoding into domain entities.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::Row;
use uuid::Uuid;

use crate::domain::{
    known, Album, Alias, Artist, CreditedArtist, Entity, EntityId, EntityKind, Label, LifeSpan,
    Mbid, Medium, Namespace, Release, ReleaseLabel, ReleaseTrack, TagCount, Track, UrlRelation,
};

use super::enrichment::ENRICHMENTS_COLUMN;
use super::*;

/// JSON aggregates every entity kind selects, given `e` as the `entity` row.
pub(super) const COMMON_COLUMNS: &str = r#"
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

pub(super) const RELEASE_COLUMNS: &str = r#"
    k.title, k.status, k.date, k.country, k.barcode, k.packaging, k.album_mbid, k.artist_credit_name,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('label_mbid', l.label_mbid, 'name', l.name,
                               'catalog_number', l.catalog_number) ORDER BY l.position), '[]')
       FROM release_label l WHERE l.release_mbid = e.mbid) AS labels,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('position', m.position, 'format', m.format,
                               'title', m.title, 'tracks',
            (SELECT coalesce(jsonb_agg(jsonb_build_object('position', t.position, 'number', t.number,
                                       'title', t.title, 'length_ms', t.length_ms,
                                       'recording_mbid', t.recording_mbid,
                                       'track_mbid', t.track_mbid, 'artist_mbid', t.artist_mbid,
                                       'artist_credit_name', t.artist_credit_name)
                                       ORDER BY t.position), '[]')
               FROM release_track t
              WHERE t.release_mbid = m.release_mbid AND t.medium_position = m.position))
            ORDER BY m.position), '[]')
       FROM medium m WHERE m.release_mbid = e.mbid) AS media
"#;

/// The `SELECT … FROM entity e JOIN <kind table> k` prefix for one kind.
pub(super) fn select_sql(kind: EntityKind) -> String {
    select_sql_with(kind, "")
}

/// [`select_sql`] with `extra` columns (each preceded by a comma) after the kind's own.
fn select_sql_with(kind: EntityKind, extra: &str) -> String {
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
    format!(
        "SELECT {COMMON_COLUMNS}, {columns}{extra} FROM entity e JOIN {table} k ON k.mbid = e.mbid"
    )
}

/// One entity by MBID, following recorded redirects, with its enrichments, in one round trip.
pub(super) static FIND_SQL: LazyLock<Vec<(EntityKind, String)>> = LazyLock::new(|| {
    EntityKind::ALL
        .into_iter()
        .map(|kind| {
            (
                kind,
                format!(
                    "WITH canonical AS ({CANONICAL_MBID_SQL}) {} \
                     WHERE e.mbid = coalesce((SELECT mbid FROM canonical), $1)",
                    select_sql_with(kind, &format!(", {ENRICHMENTS_COLUMN}"))
                ),
            )
        })
        .collect()
});

pub(super) static ARTIST_ALBUMS_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} JOIN artist_album aa ON aa.album_mbid = e.mbid WHERE aa.artist_mbid = $1 \
         ORDER BY k.first_release_date NULLS LAST, k.title, e.mbid LIMIT $2 OFFSET $3",
        select_sql(EntityKind::Album)
    )
});

pub(super) fn find_sql(kind: EntityKind) -> &'static str {
    FIND_SQL
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, sql)| sql.as_str())
        .unwrap_or_default()
}

#[derive(Deserialize)]
pub(super) struct ExternalIdRow {
    namespace: String,
    value: String,
}

#[derive(Deserialize)]
pub(super) struct AliasRow {
    name: String,
    sort_name: Option<String>,
    locale: Option<String>,
    primary: Option<bool>,
    #[serde(rename = "type")]
    alias_type: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct TagRow {
    name: String,
    count: i32,
}

#[derive(Deserialize)]
pub(super) struct UrlRow {
    #[serde(rename = "type")]
    relation_type: String,
    url: String,
}

#[derive(Deserialize)]
pub(super) struct CreditRow {
    name: String,
    artist_mbid: Uuid,
    join_phrase: String,
}

#[derive(Deserialize)]
pub(super) struct LabelRow {
    label_mbid: Option<Uuid>,
    name: Option<String>,
    catalog_number: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct MediumRow {
    position: i32,
    format: Option<String>,
    title: Option<String>,
    tracks: Vec<TrackRow>,
}

#[derive(Deserialize)]
pub(super) struct TrackRow {
    position: i32,
    number: Option<String>,
    title: String,
    length_ms: Option<i64>,
    recording_mbid: Option<Uuid>,
    #[serde(default)]
    track_mbid: Option<Uuid>,
    #[serde(default)]
    artist_mbid: Option<Uuid>,
    artist_credit_name: String,
}

/// The parts every entity kind shares, decoded from one row.
pub(super) struct CommonParts {
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

pub(super) fn json_column<T: serde::de::DeserializeOwned>(
    row: &PgRow,
    column: &str,
) -> Result<T, StoreError> {
    row.try_get::<Json<T>, _>(column)
        .map(|json| json.0)
        .map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
}

pub(super) fn tag_counts(rows: Vec<TagRow>) -> Vec<TagCount> {
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

pub(super) fn life_span(row: &PgRow) -> Result<LifeSpan, StoreError> {
    Ok(LifeSpan {
        begin: row.try_get("begin_date")?,
        end: row.try_get("end_date")?,
        ended: row.try_get("ended")?,
    })
}

pub(super) fn decode_entity(kind: EntityKind, row: &PgRow) -> Result<StoredEntity, StoreError> {
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
            artist_credit_name: known(row.try_get("artist_credit_name")?),
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
            artist_credit_name: known(row.try_get("artist_credit_name")?),
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
                            release_track_id: t.track_mbid.map(Mbid::from),
                            artist_credit_name: known(t.artist_credit_name),
                            artist_id: t.artist_mbid.map(Mbid::from),
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
            artist_credit_name: known(row.try_get("artist_credit_name")?),
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
        enrichments: None,
    })
}
