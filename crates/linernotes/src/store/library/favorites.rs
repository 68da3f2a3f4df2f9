//! Favourites: [`FavoriteRepo`], one row per user and canonical entity, named through a join on the
//! entity's own table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use super::{kind_of, PgLibraryRepo};
use crate::domain::library::{Favorite, FavoritePage};
use crate::domain::{EntityKind, Mbid};
use crate::store::{timed_query, StoreError};

/// Persistence of favourites.
#[async_trait]
pub trait FavoriteRepo: Send + Sync {
    /// Adds a favourite (or keeps the existing one) and answers it.
    async fn add_favorite(
        &self,
        user_id: Uuid,
        entity: Mbid,
        kind: EntityKind,
        at: DateTime<Utc>,
    ) -> Result<Favorite, StoreError>;
    /// Removes a favourite, following a recorded redirect of `entity`; whether one was removed.
    async fn remove_favorite(&self, user_id: Uuid, entity: Mbid) -> Result<bool, StoreError>;
    /// A page of favourites, newest first, optionally of one kind.
    async fn list_favorites(
        &self,
        user_id: Uuid,
        kind: Option<EntityKind>,
        limit: i64,
        offset: i64,
    ) -> Result<FavoritePage, StoreError>;
}

/// The display name of a favourite, whatever its kind; needs [`FAVORITE_JOINS`] on `f` (the favourite).
const FAVORITE_NAME: &str = "COALESCE(ar.name, al.title, re.title, tr.title, la.name, '') AS name";
/// Joins each kind's own table, so a name is read from wherever that kind of entity is stored.
const FAVORITE_JOINS: &str =
    "LEFT JOIN artist ar ON f.kind = 'artist' AND ar.mbid = f.entity_mbid \
     LEFT JOIN album al ON f.kind = 'album' AND al.mbid = f.entity_mbid \
     LEFT JOIN release re ON f.kind = 'release' AND re.mbid = f.entity_mbid \
     LEFT JOIN track tr ON f.kind = 'track' AND tr.mbid = f.entity_mbid \
     LEFT JOIN label la ON f.kind = 'label' AND la.mbid = f.entity_mbid";

/// A favourite from a row selected with [`FAVORITE_NAME`].
fn favorite(row: &PgRow) -> Result<Favorite, StoreError> {
    Ok(Favorite {
        id: Mbid::from(row.try_get::<Uuid, _>("entity_mbid")?),
        kind: kind_of(&row.try_get::<String, _>("kind")?)?,
        name: row.try_get("name")?,
        added_at: row.try_get("created_at")?,
    })
}

#[async_trait]
impl FavoriteRepo for PgLibraryRepo {
    async fn add_favorite(
        &self,
        user_id: Uuid,
        entity: Mbid,
        kind: EntityKind,
        at: DateTime<Utc>,
    ) -> Result<Favorite, StoreError> {
        timed_query("library_add_favorite", self.slow, async {
            let sql = format!(
                "WITH ins AS ( \
                   INSERT INTO favorite (user_id, entity_mbid, kind, created_at) VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (user_id, entity_mbid) DO NOTHING RETURNING 1) \
                 SELECT f.entity_mbid, f.kind, f.created_at, {FAVORITE_NAME} FROM ( \
                   SELECT entity_mbid, kind, created_at FROM favorite WHERE user_id = $1 AND entity_mbid = $2 \
                   UNION ALL SELECT $2, $3, $4 WHERE EXISTS (SELECT 1 FROM ins) \
                 ) f {FAVORITE_JOINS} LIMIT 1"
            );
            let row = sqlx::query(&sql)
                .bind(user_id)
                .bind(entity.as_uuid())
                .bind(kind.as_str())
                .bind(at)
                .fetch_one(&self.pool)
                .await?;
            favorite(&row)
        })
        .await
    }

    async fn remove_favorite(&self, user_id: Uuid, entity: Mbid) -> Result<bool, StoreError> {
        timed_query("library_remove_favorite", self.slow, async {
            let done = sqlx::query(
                "DELETE FROM favorite WHERE user_id = $1 AND entity_mbid IN \
                   ($2, (SELECT new_mbid FROM mbid_redirect WHERE old_mbid = $2))",
            )
            .bind(user_id)
            .bind(entity.as_uuid())
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn list_favorites(
        &self,
        user_id: Uuid,
        kind: Option<EntityKind>,
        limit: i64,
        offset: i64,
    ) -> Result<FavoritePage, StoreError> {
        timed_query("library_list_favorites", self.slow, async {
            let kind = kind.map(|k| k.as_str());
            let filter = if kind.is_some() {
                "f.user_id = $1 AND f.kind = $2"
            } else {
                "f.user_id = $1 AND $2::text IS NULL"
            };
            let total: i64 =
                sqlx::query_scalar(&format!("SELECT count(*) FROM favorite f WHERE {filter}"))
                    .bind(user_id)
                    .bind(kind)
                    .fetch_one(&self.pool)
                    .await?;
            let sql = format!(
                "SELECT f.entity_mbid, f.kind, f.created_at, {FAVORITE_NAME} FROM ( \
                   SELECT * FROM favorite f WHERE {filter} \
                   ORDER BY f.created_at DESC, f.entity_mbid LIMIT $3 OFFSET $4) f \
                 {FAVORITE_JOINS} ORDER BY f.created_at DESC, f.entity_mbid"
            );
            let rows = sqlx::query(&sql)
                .bind(user_id)
                .bind(kind)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
            let items = rows.iter().map(favorite).collect::<Result<Vec<_>, _>>()?;
            Ok(FavoritePage {
                items,
                total,
                offset,
            })
        })
        .await
    }
}
