//! Backup and restore of linernotes' database: a consistent, compressed snapshot of every table
//! (from either database mode, while linernotes serves), and its restoration into an empty database
//! or over the current one.
//!
//! A backup is taken in one `REPEATABLE READ, READ ONLY` transaction, so every table is seen at the
//! same moment while writers go on. Tables are written in foreign-key order (referenced tables
//! first), so a restore loads them in file order with every constraint checked. A restore checks the
//! whole file first, then in one transaction recreates the schema at the backup's version, loads the
//! data and sets the sequences; only then are newer migrations applied, and a rebuild of every
//! instance's local search index requested. Anything failing before the commit leaves the database as
//! it was.
//!
//! [`format`] is the file: header, gzip stream, checksum.

pub mod format;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use futures::TryStreamExt;
use sqlx::migrate::Migrate;
use sqlx::{Connection, PgPool};

use self::format::{
    BackupFileError, BackupReader, BackupWriter, Manifest, Piece, SequenceState, TableManifest,
};
use super::MIGRATOR;

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The file is not a backup that can be restored.
    #[error(transparent)]
    File(#[from] BackupFileError),
    /// The file could not be written.
    #[error("cannot write the backup: {0}")]
    Write(std::io::Error),
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The restore would not be safe or cannot work; nothing was changed.
    #[error("{0}")]
    Refused(String),
}

/// What a backup or restore covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The schema version of the snapshot.
    pub schema_version: i64,
    /// Tables.
    pub tables: usize,
    /// Rows over all tables.
    pub rows: u64,
    /// Size of the file in bytes (backups).
    pub bytes: u64,
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes a snapshot of the database behind `pool` to `path`.
pub async fn backup(pool: &PgPool, path: &Path) -> Result<Summary, BackupError> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let tracked: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('public._sqlx_migrations')::text")
            .fetch_one(&mut *tx)
            .await?;
    if tracked.is_none() {
        return Err(BackupError::Refused(
            "nothing to back up: the database has no linernotes schema yet".into(),
        ));
    }
    let schema_version: i64 =
        sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *tx)
            .await?;
    let server_version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut *tx)
        .await?;
    let tables = tables_in_load_order(&mut tx).await?;
    let sequences: Vec<SequenceState> = sqlx::query_as::<_, (String, Option<i64>)>(
        "SELECT sequencename::text, last_value FROM pg_sequences WHERE schemaname = 'public' \
         ORDER BY sequencename",
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|(name, last_value)| SequenceState { name, last_value })
    .collect();
    let manifest = Manifest {
        schema_version,
        taken_at: chrono::Utc::now().to_rfc3339(),
        server_version,
        tables,
        sequences,
    };
    let mut writer = BackupWriter::create(path, &manifest).map_err(BackupError::Write)?;
    let mut rows = 0;
    for table in &manifest.tables {
        let statement = format!(
            "COPY public.{} ({}) TO STDOUT",
            quote(&table.name),
            column_list(&table.columns)
        );
        let mut stream = tx.copy_out_raw(&statement).await?;
        while let Some(chunk) = stream.try_next().await? {
            writer.chunk(&chunk).map_err(BackupError::Write)?;
        }
        drop(stream);
        rows += writer.end_table().map_err(BackupError::Write)?;
    }
    tx.rollback().await?;
    let bytes = writer.finish().map_err(BackupError::Write)?;
    Ok(Summary {
        schema_version,
        tables: manifest.tables.len(),
        rows,
        bytes,
    })
}

/// The tables of schema `public` (but the migrations' own) with their columns (generated ones left
/// out), referenced tables before the tables referring to them.
async fn tables_in_load_order(
    conn: &mut sqlx::PgConnection,
) -> Result<Vec<TableManifest>, sqlx::Error> {
    let tables: Vec<(String, Vec<String>)> = sqlx::query_as(
        "SELECT c.relname::text, array_agg(a.attname::text ORDER BY a.attnum) \
         FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
              AND a.attgenerated = '' \
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations' \
         GROUP BY c.relname ORDER BY c.relname",
    )
    .fetch_all(&mut *conn)
    .await?;
    let references: Vec<(String, String)> = sqlx::query_as(
        "SELECT child.relname::text, parent.relname::text \
         FROM pg_constraint k \
         JOIN pg_class child ON child.oid = k.conrelid \
         JOIN pg_class parent ON parent.oid = k.confrelid \
         WHERE k.contype = 'f' AND k.connamespace = 'public'::regnamespace \
           AND child.oid <> parent.oid",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut needs: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (child, parent) in &references {
        needs
            .entry(child.as_str())
            .or_default()
            .insert(parent.as_str());
    }
    let mut ordered: Vec<TableManifest> = Vec::with_capacity(tables.len());
    let mut placed: BTreeSet<String> = BTreeSet::new();
    while ordered.len() < tables.len() {
        let ready: Vec<&(String, Vec<String>)> = tables
            .iter()
            .filter(|(name, _)| !placed.contains(name))
            .filter(|(name, _)| {
                needs
                    .get(name.as_str())
                    .is_none_or(|parents| parents.iter().all(|p| placed.contains(*p)))
            })
            .collect();
        // A cycle of references (none today) is loaded in name order.
        let next: Vec<&(String, Vec<String>)> = if ready.is_empty() {
            tables
                .iter()
                .filter(|(name, _)| !placed.contains(name))
                .take(1)
                .collect()
        } else {
            ready
        };
        for (name, columns) in next {
            placed.insert(name.clone());
            ordered.push(TableManifest {
                name: name.clone(),
                columns: columns.clone(),
            });
        }
    }
    Ok(ordered)
}

/// Checks the file at `path` whole, without touching any database (a restore does this first).
pub async fn verify(path: &Path) -> Result<Manifest, BackupError> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || BackupReader::verify(&path))
        .await
        .map_err(|e| BackupError::Refused(format!("the check of the file failed: {e}")))?
        .map_err(BackupError::from)
}

/// Connections of serving linernotes instances to the database behind `pool`.
pub async fn serving_connections(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = $1",
    )
    .bind(super::embedded::SERVING_APPLICATION)
    .fetch_one(pool)
    .await
}

/// Tables of linernotes' schema that hold rows (the migrations' own table aside).
pub async fn tables_with_rows(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations' \
         ORDER BY c.relname",
    )
    .fetch_all(pool)
    .await?;
    let mut with_rows = Vec::new();
    for table in tables {
        let any: bool = sqlx::query_scalar(&format!(
            "SELECT EXISTS (SELECT 1 FROM public.{})",
            quote(&table)
        ))
        .fetch_one(pool)
        .await?;
        if any {
            with_rows.push(table);
        }
    }
    Ok(with_rows)
}

/// Asks every instance to rebuild its local search index from the restored rows at its next start or
/// poll. The request's ID is moved past the current time in milliseconds, so it differs from any
/// request an index was built after before the restore (the restored sequence may reissue old IDs).
async fn request_search_rebuild(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "SELECT setval(pg_get_serial_sequence('search_reindex_request', 'id'),                 greatest((SELECT coalesce(max(id), 0) FROM search_reindex_request),                          (extract(epoch FROM clock_timestamp()) * 1000)::bigint))",
    )
    .execute(pool)
    .await?;
    sqlx::query("INSERT INTO search_reindex_request DEFAULT VALUES")
        .execute(pool)
        .await?;
    Ok(())
}

/// Restores the checked backup at `path` (its `manifest` from [`verify`]) into the database behind
/// `pool`, replacing whatever schema and data it has, then applies newer migrations. The caller has
/// made sure replacing is wanted and no instance serves the database.
pub async fn restore(
    pool: &PgPool,
    path: &Path,
    manifest: &Manifest,
) -> Result<Summary, BackupError> {
    let known: Vec<&sqlx::migrate::Migration> = MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .collect();
    if manifest.schema_version != 0 && !known.iter().any(|m| m.version == manifest.schema_version) {
        return Err(BackupError::Refused(format!(
            "the backup's schema version {} is not one this linernotes knows (newest: {}): restore \
             it with the linernotes that took it, or a newer one",
            manifest.schema_version,
            known.last().map_or(0, |m| m.version)
        )));
    }
    let mut reader = {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || BackupReader::open(&path))
            .await
            .map_err(|e| BackupError::Refused(format!("cannot open the backup: {e}")))??
    };
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::query("DROP SCHEMA IF EXISTS public CASCADE")
        .execute(&mut *tx)
        .await?;
    sqlx::query("CREATE SCHEMA public")
        .execute(&mut *tx)
        .await?;
    sqlx::query("GRANT USAGE ON SCHEMA public TO PUBLIC")
        .execute(&mut *tx)
        .await?;
    tx.ensure_migrations_table().await?;
    for migration in known
        .iter()
        .filter(|m| m.version <= manifest.schema_version)
    {
        tx.apply(migration).await?;
    }
    let mut rows = 0;
    for table in &manifest.tables {
        let statement = format!(
            "COPY public.{} ({}) FROM STDIN",
            quote(&table.name),
            column_list(&table.columns)
        );
        let mut copy = tx.copy_in_raw(&statement).await?;
        let expected = loop {
            match reader.next_piece() {
                Ok(Piece::Chunk(chunk)) => {
                    copy.send(chunk).await?;
                }
                Ok(Piece::End(expected)) => break expected,
                Err(err) => {
                    let _ = copy.abort("the backup file is damaged").await;
                    return Err(err.into());
                }
            }
        };
        let loaded = copy.finish().await?;
        if loaded != expected {
            return Err(BackupError::Refused(format!(
                "{} rows of {} loaded where the backup has {expected}; nothing was restored",
                loaded, table.name
            )));
        }
        rows += loaded;
    }
    for sequence in &manifest.sequences {
        let name = format!("public.{}", quote(&sequence.name));
        sqlx::query("SELECT setval($1::regclass, $2, $3)")
            .bind(&name)
            .bind(sequence.last_value.unwrap_or(1))
            .bind(sequence.last_value.is_some())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    drop(conn);
    MIGRATOR.run(pool).await?;
    request_search_rebuild(pool).await?;
    Ok(Summary {
        schema_version: manifest.schema_version,
        tables: manifest.tables.len(),
        rows,
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
    })
}
