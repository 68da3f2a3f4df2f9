//! `linernotes backup --to FILE` and `linernotes restore --from FILE [--replace] [--yes]`.
//!
//! A backup works from either database mode while linernotes serves (in embedded mode through the
//! running instance's server). A restore checks the whole file before it connects to anything, then
//! refuses while an instance serves the database, and replaces a database that holds rows only with
//! `--replace` and a confirmation.

use std::path::Path;
use std::time::Instant;

use crate::store::backup::{self, BackupError};
use crate::store::embedded::Claim;
use crate::store::Database;
use crate::Settings;

/// How long closing the pool may take at the end of a command.
const CLOSE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// Writes a snapshot of the configured database to `to`.
pub async fn backup(to: &Path, settings: Settings) -> Result<(), String> {
    let database = Database::open(&settings, Claim::ShareWithRunning)
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let result = backup::backup(&database.pool, to).await;
    database.close(CLOSE_PATIENCE).await;
    let summary = result.map_err(|e| e.to_string())?;
    println!(
        "backed up {} tables, {} rows (schema version {}) to {}: {} bytes in {:.1}s",
        summary.tables,
        summary.rows,
        summary.schema_version,
        to.display(),
        summary.bytes,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Restores the backup at `from` into the configured database.
pub async fn restore(
    from: &Path,
    replace: bool,
    yes: bool,
    settings: Settings,
) -> Result<(), String> {
    let started = Instant::now();
    let manifest = backup::verify(from).await.map_err(|e| e.to_string())?;
    let database = Database::open(&settings, Claim::Exclusive)
        .await
        .map_err(|e| e.to_string())?;
    let result = restore_into(&database, from, &manifest, replace, yes).await;
    database.close(CLOSE_PATIENCE).await;
    let summary = result?;
    println!(
        "restored {} tables, {} rows (schema version {}) from {} in {:.1}s; newer migrations applied",
        summary.tables,
        summary.rows,
        summary.schema_version,
        from.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn restore_into(
    database: &Database,
    from: &Path,
    manifest: &backup::format::Manifest,
    replace: bool,
    yes: bool,
) -> Result<backup::Summary, String> {
    let pool = &database.pool;
    let text = |e: sqlx::Error| BackupError::from(e).to_string();
    let serving = backup::serving_connections(pool).await.map_err(text)?;
    if serving > 0 {
        return Err(format!(
            "not restored: a linernotes instance is serving {} ({serving} connections): stop every \
             instance first",
            database.setup.location
        ));
    }
    let with_rows = backup::tables_with_rows(pool).await.map_err(text)?;
    if !with_rows.is_empty() {
        if !replace {
            return Err(format!(
                "not restored: {} is not empty ({} tables hold rows, e.g. {}): restore into an empty \
                 database, or pass --replace to overwrite it",
                database.setup.location,
                with_rows.len(),
                with_rows[0]
            ));
        }
        println!(
            "restoring replaces everything in {} ({} tables hold rows) with the backup of {}",
            database.setup.location,
            with_rows.len(),
            manifest.taken_at
        );
        if !yes && !super::confirmed("type yes to replace it: ")? {
            return Err("not restored: confirm with --yes (or type yes at a terminal)".into());
        }
    }
    backup::restore(pool, from, manifest)
        .await
        .map_err(|e| e.to_string())
}
