//! The search index's view of stored entities: name, other names, disambiguation and popularity, read
//! in MBID order (for rebuilding) or by MBID (for keeping the index current).

use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::StoreError;
use crate::domain::{EntityKind, Mbid, SearchDocument};

/// Which entities to read.
#[derive(Debug, Clone, Copy)]
pub enum DocumentSelection<'a> {
    /// These MBIDs.
    Mbids(&'a [Mbid]),
    /// Up to `limit` entities after `after`, in MBID order.
    Page {
        /// The last MBID of the previous page.
        after: Option<Mbid>,
        /// Page size.
        limit: i64,
    },
}

/// The SELECT of one kind: name, other names and popularity; `x` is the kind's table.
fn select(kind: EntityKind) -> String {
    let aliases = "ARRAY(SELECT a.name FROM alias a WHERE a.entity_mbid = x.mbid ORDER BY a.position) \
                   || ARRAY(SELECT a.sort_name FROM alias a WHERE a.entity_mbid = x.mbid \
                            AND a.sort_name IS NOT NULL AND a.sort_name <> a.name ORDER BY a.position) \
                   || array_remove(ARRAY[NULLIF(x.sort_name, x.name)], NULL)";
    let (table, name, others, popularity) = match kind {
        EntityKind::Artist => (
            "artist",
            "x.name",
            aliases,
            "(SELECT count(*) FROM artist_credit c WHERE c.artist_mbid = x.mbid)",
        ),
        EntityKind::Label => (
            "label",
            "x.name",
            aliases,
            "(SELECT count(*) FROM release_label l WHERE l.label_mbid = x.mbid)",
        ),
        EntityKind::Album => (
            "album",
            "x.title",
            "'{}'::text[]",
            "(SELECT count(*) FROM release r WHERE r.album_mbid = x.mbid)",
        ),
        EntityKind::Release => (
            "release",
            "x.title",
            "'{}'::text[]",
            "(SELECT count(*) FROM release r WHERE r.album_mbid = x.album_mbid)",
        ),
        EntityKind::Track => (
            "track",
            "x.title",
            "'{}'::text[]",
            "(SELECT count(*) FROM release_track t WHERE t.recording_mbid = x.mbid)",
        ),
    };
    format!(
        "SELECT x.mbid, {name} AS name, e.disambiguation, {others} AS other_names, \
         {popularity} AS popularity FROM {table} x JOIN entity e ON e.mbid = x.mbid"
    )
}

/// Reads the search documents of `kind` that `selection` names.
pub async fn search_documents(
    pool: &PgPool,
    kind: EntityKind,
    selection: DocumentSelection<'_>,
) -> Result<Vec<SearchDocument>, StoreError> {
    let base = select(kind);
    let rows = match selection {
        DocumentSelection::Mbids(mbids) => {
            let ids: Vec<Uuid> = mbids.iter().map(|m| m.as_uuid()).collect();
            sqlx::query(&format!("{base} WHERE x.mbid = ANY($1)"))
                .bind(ids)
                .fetch_all(pool)
                .await?
        }
        DocumentSelection::Page { after, limit } => {
            sqlx::query(&format!(
                "{base} WHERE x.mbid > $1 ORDER BY x.mbid LIMIT $2"
            ))
            .bind(after.map_or(Uuid::nil(), |m| m.as_uuid()))
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
    };
    rows.iter()
        .map(|row| {
            Ok(SearchDocument {
                kind,
                mbid: Mbid::from(row.try_get::<Uuid, _>("mbid")?),
                name: row.try_get("name")?,
                disambiguation: row.try_get("disambiguation")?,
                other_names: row.try_get("other_names")?,
                popularity: u64::try_from(row.try_get::<i64, _>("popularity")?).unwrap_or(0),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// What asks the search index to be rebuilt: the newest swapped dump import and the newest
/// `search reindex` request (each `None` when there was none).
pub async fn rebuild_marker(pool: &PgPool) -> Result<(Option<i64>, Option<i64>), StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT max(id) FROM dump_import WHERE state = 'swapped') AS swapped, \
                (SELECT max(id) FROM search_reindex_request) AS requested",
    )
    .fetch_one(pool)
    .await?;
    Ok((row.try_get("swapped")?, row.try_get("requested")?))
}

/// Asks every instance to rebuild its search index.
pub async fn request_reindex(pool: &PgPool) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("INSERT INTO search_reindex_request DEFAULT VALUES RETURNING id")
            .fetch_one(pool)
            .await?,
    )
}
