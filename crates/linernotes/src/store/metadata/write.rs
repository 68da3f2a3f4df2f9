//! Writing a fetched entity: its normalised rows, external IDs and raw payload, and the redirect of a
//! merged MBID, inside the caller's transaction.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::domain::{
    Album, Alias, Artist, CreditedArtist, Entity, EntityId, EntityKind, Label, Mbid, Namespace,
    Release, ReleaseTrack, TagCount, Track, UrlRelation,
};

use super::*;

/// Records that `old` now answers as `new`, re-points older redirects to `new`, and drops the stored
/// copy of `old` (its data now lives under `new`).
pub(super) async fn record_redirect(
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
    crate::store::library::follow_merge(tx, old, new).await?;
    sqlx::query("DELETE FROM entity WHERE mbid = $1")
        .bind(old.as_uuid())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(super) async fn write_raw_payload(
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

/// The raw pages of a browsed list as stored beside it: `[{"request", "payload"}, …]`.
pub(super) fn raw_pages(pages: &[(String, serde_json::Value)]) -> Vec<serde_json::Value> {
    pages
        .iter()
        .map(|(request, payload)| serde_json::json!({"request": request, "payload": payload}))
        .collect()
}

/// Replaces every row of one entity: the `entity` row (taking its lock first), the kind's row and all
/// child rows.
pub(super) async fn write_entity_rows(
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

pub(super) fn positions(len: usize) -> Vec<i32> {
    (0..len)
        .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
        .collect()
}

pub(super) async fn write_aliases(
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

pub(super) async fn write_tags(
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

pub(super) async fn write_urls(
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

pub(super) async fn write_credits(
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

pub(super) async fn write_external_ids(
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

pub(super) async fn write_artist_row(
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

pub(super) async fn write_album_row(
    tx: &mut Transaction<'_, Postgres>,
    a: &Album,
) -> Result<(), StoreError> {
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
    .bind(a.artist_credit_name.as_deref().unwrap_or_default())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn write_track_row(
    tx: &mut Transaction<'_, Postgres>,
    t: &Track,
) -> Result<(), StoreError> {
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
    .bind(t.artist_credit_name.as_deref().unwrap_or_default())
    .bind(&t.isrcs)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn write_label_row(
    tx: &mut Transaction<'_, Postgres>,
    l: &Label,
) -> Result<(), StoreError> {
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

pub(super) async fn write_release_rows(
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
    .bind(r.artist_credit_name.as_deref().unwrap_or_default())
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
             recording_mbid, artist_credit_name, track_mbid, artist_mbid) \
         SELECT $1, * FROM UNNEST($2::int[], $3::int[], $4::text[], $5::text[], $6::bigint[], \
             $7::uuid[], $8::text[], $9::uuid[], $10::uuid[]) ON CONFLICT DO NOTHING",
    )
    .bind(mbid)
    .bind(tracks.iter().map(|(m, _)| *m).collect::<Vec<_>>())
    .bind(tracks.iter().map(|(_, t)| t.position).collect::<Vec<_>>())
    .bind(tracks.iter().map(|(_, t)| t.number.clone()).collect::<Vec<_>>())
    .bind(tracks.iter().map(|(_, t)| t.title.clone()).collect::<Vec<_>>())
    .bind(tracks.iter().map(|(_, t)| t.length_ms).collect::<Vec<_>>())
    .bind(tracks.iter().map(|(_, t)| t.track_id.map(|m| m.as_uuid())).collect::<Vec<_>>())
    .bind(
        tracks
            .iter()
            .map(|(_, t)| t.artist_credit_name.clone().unwrap_or_default())
            .collect::<Vec<_>>(),
    )
    .bind(
        tracks
            .iter()
            .map(|(_, t)| t.release_track_id.map(|m| m.as_uuid()))
            .collect::<Vec<_>>(),
    )
    .bind(
        tracks
            .iter()
            .map(|(_, t)| t.artist_id.map(|m| m.as_uuid()))
            .collect::<Vec<_>>(),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
