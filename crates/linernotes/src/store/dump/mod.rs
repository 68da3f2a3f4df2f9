//! Loading MusicBrainz dumps: a staging schema per import, filled with `COPY` in batches that commit
//! their checkpoint with their rows, then indexed, analysed and swapped in for the catalogue tables in
//! one transaction while the old tables keep serving.
//!
//! - [`copy`]: entities as COPY rows of the catalogue tables.
//! - this file: the import's record and checkpoints, the staging schema, index building and the swap.
//!
//! The staging tables are made `LIKE` the served ones without indexes or constraints; after loading,
//! the served tables' own constraints and indexes are re-created on them from the catalogue
//! (`pg_constraint`, `pg_index`), so a later migration's index is built too. Foreign keys among the
//! catalogue tables come back `NOT VALID` (the rows were written together from one dump line each).
//!
//! The swap keeps what the dump cannot know: entities fetched live after the dump's `TIMESTAMP` replace
//! their dump rows, the catalogue rows of entity kinds not imported are carried over, and tables outside
//! the catalogue that reference it (raw payloads, album lists) are re-pointed at the new tables, losing
//! only rows of entities that are gone. User data has no foreign key into the catalogue and stays keyed
//! on its MBIDs; merges were already followed when their redirects were recorded.

pub mod copy;

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection, PgPool, Row};

use super::StoreError;
pub use crate::store::rows::{CatalogueTable, CATALOGUE_TABLES};
pub use copy::CopyBatch;

/// Key of the advisory lock one import holds for its whole run.
const IMPORT_LOCK_KEY: i64 = 0x6c6e_696d_706f_7274;

/// Where an import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportState {
    /// Loading rows into staging.
    Loading,
    /// Building indexes on staging.
    Indexing,
    /// Swapped in: finished.
    Swapped,
    /// Given up (its staging schema is dropped).
    Failed,
}

impl ImportState {
    fn parse(text: &str) -> Self {
        match text {
            "loading" => ImportState::Loading,
            "indexing" => ImportState::Indexing,
            "swapped" => ImportState::Swapped,
            _ => ImportState::Failed,
        }
    }
}

/// One import's record.
#[derive(Debug, Clone)]
pub struct ImportRecord {
    /// Its ID.
    pub id: i64,
    /// What it reads.
    pub fingerprint: String,
    /// The entity kinds it replaces (`artist`, `album`, …).
    pub kinds: Vec<String>,
    /// The schema it loads into.
    pub staging_schema: String,
    /// Where it stands.
    pub state: ImportState,
    /// When it started (the `fetched_at` of its rows when the dump has no `TIMESTAMP`).
    pub started_at: DateTime<Utc>,
    /// When it finished (swapped or failed).
    pub finished_at: Option<DateTime<Utc>>,
}

/// One archive's checkpoint.
#[derive(Debug, Clone)]
pub struct FileCheckpoint {
    /// Its dump entity type (`release-group`).
    pub entity_type: String,
    /// Its file name.
    pub file_name: String,
    /// Lines whose rows are committed.
    pub lines_done: u64,
    /// Rows committed.
    pub rows_written: u64,
    /// Whether every line is in.
    pub finished: bool,
}

/// An archive an import will read: entity type, file name, compressed size.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    /// Dump entity type (`release`).
    pub entity_type: String,
    /// File name.
    pub file_name: String,
    /// Compressed size.
    pub compressed_bytes: u64,
}

/// What the swap did.
#[derive(Debug, Clone, Default)]
pub struct SwapSummary {
    /// Entities now served.
    pub entities: i64,
    /// Entities fetched live after the dump that were kept over the dump's copy (or carried over).
    pub kept_live: i64,
    /// Rows of referencing tables dropped because their entity is gone.
    pub orphans_dropped: i64,
}

/// A connection holding the import lock; dropped, it releases the lock.
pub struct ImportLock {
    conn: PgConnection,
}

impl ImportLock {
    /// Takes the lock on a connection of its own, or `None` when another import holds it.
    pub async fn try_acquire(pool: &PgPool) -> Result<Option<Self>, StoreError> {
        let mut conn = pool.acquire().await?.detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(IMPORT_LOCK_KEY)
            .fetch_one(&mut conn)
            .await?;
        Ok(got.then_some(ImportLock { conn }))
    }

    /// Releases the lock.
    pub async fn release(self) {
        let _ = self.conn.close().await;
    }
}

fn record_from_row(row: &sqlx::postgres::PgRow) -> Result<ImportRecord, sqlx::Error> {
    Ok(ImportRecord {
        id: row.try_get("id")?,
        fingerprint: row.try_get("fingerprint")?,
        kinds: row.try_get("entity_types")?,
        staging_schema: row.try_get("staging_schema")?,
        state: ImportState::parse(row.try_get::<&str, _>("state")?),
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

const RECORD_COLUMNS: &str =
    "id, fingerprint, entity_types, staging_schema, state, started_at, finished_at";

/// The import under way (loading or indexing), if any.
pub async fn open_import(pool: &PgPool) -> Result<Option<ImportRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {RECORD_COLUMNS} FROM dump_import WHERE state IN ('loading', 'indexing')"
    ))
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(record_from_row).transpose()?)
}

/// The newest import with `fingerprint`, if any.
pub async fn latest_import(
    pool: &PgPool,
    fingerprint: &str,
) -> Result<Option<ImportRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {RECORD_COLUMNS} FROM dump_import WHERE fingerprint = $1 ORDER BY id DESC LIMIT 1"
    ))
    .bind(fingerprint)
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(record_from_row).transpose()?)
}

/// Gives up on an import: drops its staging schema and records why.
pub async fn fail_import(
    pool: &PgPool,
    import: &ImportRecord,
    reason: &str,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(&format!(
        "DROP SCHEMA IF EXISTS {} CASCADE",
        quote(&import.staging_schema)
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE dump_import SET state = 'failed', finished_at = now(), error = $2 WHERE id = $1",
    )
    .bind(import.id)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records a new import and creates its staging schema with empty, unindexed catalogue tables.
pub async fn begin_import(
    pool: &PgPool,
    fingerprint: &str,
    kinds: &[String],
    files: &[PlannedFile],
) -> Result<ImportRecord, StoreError> {
    let mut tx = pool.begin().await?;
    let (id, started_at): (i64, DateTime<Utc>) = sqlx::query_as(
        "INSERT INTO dump_import (fingerprint, entity_types, staging_schema, state) \
         VALUES ($1, $2, '', 'loading') RETURNING id, started_at",
    )
    .bind(fingerprint)
    .bind(kinds)
    .fetch_one(&mut *tx)
    .await?;
    let schema = format!("dump_staging_{id}");
    sqlx::query("UPDATE dump_import SET staging_schema = $2 WHERE id = $1")
        .bind(id)
        .bind(&schema)
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("CREATE SCHEMA {}", quote(&schema)))
        .execute(&mut *tx)
        .await?;
    for table in CATALOGUE_TABLES {
        sqlx::query(&format!(
            "CREATE TABLE {}.{} (LIKE public.{} INCLUDING DEFAULTS)",
            quote(&schema),
            table.name,
            table.name
        ))
        .execute(&mut *tx)
        .await?;
    }
    for file in files {
        sqlx::query(
            "INSERT INTO dump_import_file (import_id, entity_type, file_name, compressed_bytes) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(&file.entity_type)
        .bind(&file.file_name)
        .bind(i64::try_from(file.compressed_bytes).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(ImportRecord {
        id,
        fingerprint: fingerprint.to_owned(),
        kinds: kinds.to_vec(),
        staging_schema: schema,
        state: ImportState::Loading,
        started_at,
        finished_at: None,
    })
}

/// Every archive's checkpoint of an import.
pub async fn checkpoints(pool: &PgPool, import_id: i64) -> Result<Vec<FileCheckpoint>, StoreError> {
    let rows = sqlx::query(
        "SELECT entity_type, file_name, lines_done, rows_written, finished FROM dump_import_file \
         WHERE import_id = $1 ORDER BY entity_type",
    )
    .bind(import_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(FileCheckpoint {
                entity_type: row.try_get("entity_type")?,
                file_name: row.try_get("file_name")?,
                lines_done: u64::try_from(row.try_get::<i64, _>("lines_done")?).unwrap_or(0),
                rows_written: u64::try_from(row.try_get::<i64, _>("rows_written")?).unwrap_or(0),
                finished: row.try_get("finished")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Writes one batch into the staging tables and moves the archive's checkpoint to `lines_done`, in one
/// transaction. `before_commit` runs after the rows are sent and before the commit.
pub async fn write_batch(
    pool: &PgPool,
    import: &ImportRecord,
    entity_type: &str,
    batch: &CopyBatch,
    lines_done: u64,
    before_commit: impl FnOnce(),
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for (table, data, _) in batch.tables() {
        let mut copy = tx
            .copy_in_raw(&format!(
                "COPY {}.{} ({}) FROM STDIN",
                quote(&import.staging_schema),
                table.name,
                table.columns
            ))
            .await?;
        if let Err(e) = copy.send(data).await {
            let _ = copy.abort(e.to_string()).await;
            return Err(e.into());
        }
        copy.finish().await?;
    }
    sqlx::query(
        "UPDATE dump_import_file SET lines_done = $3, rows_written = rows_written + $4 \
         WHERE import_id = $1 AND entity_type = $2",
    )
    .bind(import.id)
    .bind(entity_type)
    .bind(i64::try_from(lines_done).unwrap_or(i64::MAX))
    .bind(i64::try_from(batch.rows()).unwrap_or(i64::MAX))
    .execute(&mut *tx)
    .await?;
    before_commit();
    tx.commit().await?;
    Ok(())
}

/// Marks an archive as fully loaded, with the dump's `TIMESTAMP` when it had one.
pub async fn finish_file(
    pool: &PgPool,
    import_id: i64,
    entity_type: &str,
    dump_timestamp: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE dump_import_file SET finished = true WHERE import_id = $1 AND entity_type = $2",
    )
    .bind(import_id)
    .bind(entity_type)
    .execute(&mut *tx)
    .await?;
    if let Some(timestamp) = dump_timestamp {
        sqlx::query(
            "UPDATE dump_import SET dump_timestamp = LEAST(COALESCE(dump_timestamp, $2), $2) \
             WHERE id = $1",
        )
        .bind(import_id)
        .bind(timestamp)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Moves an import to `indexing`: every archive is loaded.
pub async fn start_indexing(pool: &PgPool, import: &mut ImportRecord) -> Result<(), StoreError> {
    sqlx::query("UPDATE dump_import SET state = 'indexing' WHERE id = $1")
        .bind(import.id)
        .execute(pool)
        .await?;
    import.state = ImportState::Indexing;
    Ok(())
}

/// One step of building the staging tables' constraints and indexes, for progress.
#[derive(Debug, Clone)]
pub struct IndexStep {
    /// The table.
    pub table: String,
    /// The constraint or index name.
    pub name: String,
}

/// Carries over the catalogue rows of kinds this import does not replace, then re-creates the served
/// tables' constraints and indexes on the staging tables (skipping those a previous, interrupted run
/// made), and analyses them. Calls `on_step` before each step.
pub async fn build_staging(
    pool: &PgPool,
    import: &ImportRecord,
    maintenance_work_mem: &str,
    mut on_step: impl FnMut(&IndexStep),
) -> Result<(), StoreError> {
    let schema = quote(&import.staging_schema);
    let mut conn = pool.acquire().await?;
    sqlx::query(&format!(
        "SET maintenance_work_mem = '{}'",
        maintenance_work_mem.replace('\'', "")
    ))
    .execute(&mut *conn)
    .await?;
    // Kinds this import does not replace keep their rows: copied once, before any index exists (the
    // entity table's primary key is the marker that this step is done).
    let done: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = $1 AND t.relname = 'entity' AND c.contype = 'p')",
    )
    .bind(&import.staging_schema)
    .fetch_one(&mut *conn)
    .await?;
    if !done {
        let mut tx = conn.begin().await?;
        for table in CATALOGUE_TABLES {
            on_step(&IndexStep {
                table: table.name.to_owned(),
                name: "rows of kinds not imported".to_owned(),
            });
            sqlx::query(&format!(
                "INSERT INTO {schema}.{t} SELECT * FROM public.{t} x WHERE x.{col} IN \
                 (SELECT mbid FROM public.entity WHERE NOT (kind = ANY($1)))",
                t = table.name,
                col = table.entity_column
            ))
            .bind(&import.kinds)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }
    let names: Vec<String> = CATALOGUE_TABLES.iter().map(|t| t.name.to_owned()).collect();
    // Constraints: primary keys and unique ones first (foreign keys need them), then the rest.
    let constraints = sqlx::query(
        "SELECT t.relname AS table_name, c.conname, c.contype::text AS contype, \
                pg_get_constraintdef(c.oid) AS def \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND t.relname = ANY($1) AND c.contype IN ('p', 'u', 'f', 'c') \
         ORDER BY CASE c.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 ELSE 2 END, c.conname",
    )
    .bind(&names)
    .fetch_all(&mut *conn)
    .await?;
    // Unqualified names in the definitions (a foreign key's target) resolve to the staging schema.
    sqlx::query(&format!("SET search_path = {schema}, public"))
        .execute(&mut *conn)
        .await?;
    for row in &constraints {
        let table: String = row.try_get("table_name")?;
        let name: String = row.try_get("conname")?;
        let kind: String = row.try_get("contype")?;
        let def: String = row.try_get("def")?;
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = $1 AND t.relname = $2 AND c.conname = $3)",
        )
        .bind(&import.staging_schema)
        .bind(&table)
        .bind(&name)
        .fetch_one(&mut *conn)
        .await?;
        if exists {
            continue;
        }
        on_step(&IndexStep {
            table: table.clone(),
            name: name.clone(),
        });
        let not_valid = if kind == "f" || kind == "c" {
            " NOT VALID"
        } else {
            ""
        };
        sqlx::query(&format!(
            "ALTER TABLE {schema}.{} ADD CONSTRAINT {} {def}{not_valid}",
            quote(&table),
            quote(&name)
        ))
        .execute(&mut *conn)
        .await?;
    }
    let indexes = sqlx::query(
        "SELECT t.relname AS table_name, i.relname AS index_name, pg_get_indexdef(i.oid) AS def \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND t.relname = ANY($1) \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) \
         ORDER BY i.relname",
    )
    .bind(&names)
    .fetch_all(&mut *conn)
    .await?;
    for row in &indexes {
        let table: String = row.try_get("table_name")?;
        let name: String = row.try_get("index_name")?;
        let def: String = row.try_get("def")?;
        on_step(&IndexStep {
            table: table.clone(),
            name: name.clone(),
        });
        let def = def
            .replacen(
                &format!(" ON public.{table} "),
                &format!(" ON {schema}.{table} "),
                1,
            )
            .replacen("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
            .replacen(
                "CREATE UNIQUE INDEX ",
                "CREATE UNIQUE INDEX IF NOT EXISTS ",
                1,
            );
        sqlx::query(&def).execute(&mut *conn).await?;
    }
    for table in CATALOGUE_TABLES {
        on_step(&IndexStep {
            table: table.name.to_owned(),
            name: "analyse".to_owned(),
        });
        sqlx::query(&format!("ANALYZE {schema}.{}", table.name))
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("RESET search_path").execute(&mut *conn).await?;
    sqlx::query("RESET maintenance_work_mem")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Swaps the staging tables in for the served catalogue tables in one transaction (see the module
/// documentation for what is kept), marks the import finished, and drops the old tables.
pub async fn swap(pool: &PgPool, import: &ImportRecord) -> Result<SwapSummary, StoreError> {
    let staging = quote(&import.staging_schema);
    let retired_name = format!("dump_retired_{}", import.id);
    let retired = quote(&retired_name);
    let mut summary = SwapSummary::default();
    let mut tx = pool.begin().await?;
    // Readers wait for the swap (a few statements); writers would wait anyway. Give up rather than
    // queue behind a long transaction forever.
    sqlx::query("SET LOCAL lock_timeout = '30s'")
        .execute(&mut *tx)
        .await?;
    let all: Vec<String> = CATALOGUE_TABLES
        .iter()
        .map(|t| format!("public.{}", t.name))
        .collect();
    sqlx::query(&format!(
        "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
        all.join(", ")
    ))
    .execute(&mut *tx)
    .await?;
    // Entities fetched live after the dump was made (or while it loaded) are newer than the dump.
    let dump_timestamp: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT dump_timestamp FROM dump_import WHERE id = $1")
            .bind(import.id)
            .fetch_one(&mut *tx)
            .await?;
    let started_at: DateTime<Utc> =
        sqlx::query_scalar("SELECT started_at FROM dump_import WHERE id = $1")
            .bind(import.id)
            .fetch_one(&mut *tx)
            .await?;
    let newer_than = dump_timestamp.unwrap_or(started_at);
    sqlx::query(
        "CREATE TEMPORARY TABLE dump_keep_live ON COMMIT DROP AS \
         SELECT mbid FROM public.entity WHERE fetched_at > $1 \
         UNION SELECT mbid FROM public.entity WHERE NOT (kind = ANY($2)) AND fetched_at > $3",
    )
    .bind(newer_than)
    .bind(&import.kinds)
    .bind(started_at)
    .execute(&mut *tx)
    .await?;
    summary.kept_live = sqlx::query_scalar("SELECT count(*) FROM dump_keep_live")
        .fetch_one(&mut *tx)
        .await?;
    if summary.kept_live > 0 {
        // Deleting the entity row cascades to every table keyed on it.
        sqlx::query(&format!(
            "DELETE FROM {staging}.entity WHERE mbid IN (SELECT mbid FROM dump_keep_live)"
        ))
        .execute(&mut *tx)
        .await?;
        for table in CATALOGUE_TABLES {
            sqlx::query(&format!(
                "INSERT INTO {staging}.{t} SELECT * FROM public.{t} WHERE {col} IN \
                 (SELECT mbid FROM dump_keep_live)",
                t = table.name,
                col = table.entity_column
            ))
            .execute(&mut *tx)
            .await?;
        }
    }
    let names: Vec<String> = CATALOGUE_TABLES.iter().map(|t| t.name.to_owned()).collect();
    // Foreign keys from outside the catalogue into it move to the new tables.
    let external = sqlx::query(
        "SELECT c.conname, ct.relname AS child, pt.relname AS parent, pg_get_constraintdef(c.oid) AS def, \
                ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o) \
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o) AS child_cols, \
                ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o) \
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o) AS parent_cols \
         FROM pg_constraint c \
         JOIN pg_class ct ON ct.oid = c.conrelid JOIN pg_namespace cn ON cn.oid = ct.relnamespace \
         JOIN pg_class pt ON pt.oid = c.confrelid JOIN pg_namespace pn ON pn.oid = pt.relnamespace \
         WHERE c.contype = 'f' AND pn.nspname = 'public' AND pt.relname = ANY($1) \
           AND NOT (cn.nspname = 'public' AND ct.relname = ANY($1))",
    )
    .bind(&names)
    .fetch_all(&mut *tx)
    .await?;
    for row in &external {
        let name: String = row.try_get("conname")?;
        let child: String = row.try_get("child")?;
        sqlx::query(&format!(
            "ALTER TABLE public.{} DROP CONSTRAINT {}",
            quote(&child),
            quote(&name)
        ))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(&format!("CREATE SCHEMA {retired}"))
        .execute(&mut *tx)
        .await?;
    for table in CATALOGUE_TABLES {
        sqlx::query(&format!(
            "ALTER TABLE public.{} SET SCHEMA {retired}",
            table.name
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "ALTER TABLE {staging}.{} SET SCHEMA public",
            table.name
        ))
        .execute(&mut *tx)
        .await?;
    }
    for row in &external {
        let name: String = row.try_get("conname")?;
        let child: String = row.try_get("child")?;
        let parent: String = row.try_get("parent")?;
        let def: String = row.try_get("def")?;
        let child_cols: Vec<String> = row.try_get("child_cols")?;
        let parent_cols: Vec<String> = row.try_get("parent_cols")?;
        let matches: Vec<String> = child_cols
            .iter()
            .zip(&parent_cols)
            .map(|(c, p)| format!("p.{} = c.{}", quote(p), quote(c)))
            .collect();
        let not_null: Vec<String> = child_cols
            .iter()
            .map(|c| format!("c.{} IS NOT NULL", quote(c)))
            .collect();
        let dropped = sqlx::query(&format!(
            "DELETE FROM public.{} c WHERE {} AND NOT EXISTS (SELECT 1 FROM public.{} p WHERE {})",
            quote(&child),
            not_null.join(" AND "),
            quote(&parent),
            matches.join(" AND ")
        ))
        .execute(&mut *tx)
        .await?;
        summary.orphans_dropped += i64::try_from(dropped.rows_affected()).unwrap_or(0);
        sqlx::query(&format!(
            "ALTER TABLE public.{} ADD CONSTRAINT {} {def}",
            quote(&child),
            quote(&name)
        ))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE dump_import SET state = 'swapped', finished_at = now() WHERE id = $1")
        .bind(import.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("DROP SCHEMA {staging}"))
        .execute(&mut *tx)
        .await?;
    summary.entities = sqlx::query_scalar("SELECT count(*) FROM public.entity")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    // The old tables go once nothing can read them any more.
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {retired} CASCADE"))
        .execute(pool)
        .await?;
    Ok(summary)
}

/// Row counts of every catalogue table as served, for reports and tests.
pub async fn catalogue_counts(pool: &PgPool) -> Result<Vec<(String, i64)>, StoreError> {
    let mut counts = Vec::new();
    for table in CATALOGUE_TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM public.{}", table.name))
            .fetch_one(pool)
            .await?;
        counts.push((table.name.to_owned(), n));
    }
    Ok(counts)
}

/// A double-quoted SQL identifier.
fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}
