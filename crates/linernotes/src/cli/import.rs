//! `linernotes import musicbrainz <archives or folders> [--only TYPES] [--memory-limit SIZE]`: loads
//! the MusicBrainz JSON dumps (see `service::import`). Progress is a bar on a terminal and log lines
//! otherwise; a re-run of the same command resumes an interrupted import and does nothing after a
//! finished one.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Subcommand;

use crate::providers::musicbrainz::dump::DumpEntity;
use crate::service::import::{
    import_musicbrainz, ImportOptions, ImportOutcome, ImportProgress, ProgressMode,
};
use crate::store;
use crate::Settings;

/// What to import.
#[derive(Subcommand)]
pub enum ImportSource {
    /// MusicBrainz JSON dumps: `<entity>.tar.xz` archives (artist, label, release-group, release,
    /// recording), or folders holding them; `SHA256SUMS` beside them is checked when present.
    Musicbrainz {
        /// Archives or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Only these entity types, comma-separated (artist,label,release-group,release,recording).
        #[arg(long, value_delimiter = ',', value_parser = parse_entity)]
        only: Vec<DumpEntity>,
        /// Bound on the importer's own memory (e.g. 4GiB, 512MiB).
        #[arg(long, default_value = "4GiB", value_parser = parse_size)]
        memory_limit: u64,
        /// Lines per batch; each batch commits with its checkpoint (default: as many as the memory
        /// bound allows).
        #[arg(long)]
        batch_lines: Option<u64>,
        /// PostgreSQL's maintenance_work_mem while building the indexes.
        #[arg(long, default_value = "512MB")]
        index_memory: String,
        /// Stop abruptly (like kill -9) before committing the batch after this many: for testing resume.
        #[arg(long, hide = true)]
        crash_after_batches: Option<u64>,
    },
}

fn parse_entity(text: &str) -> Result<DumpEntity, String> {
    DumpEntity::parse(text).ok_or_else(|| {
        format!("expected one of artist, label, release-group, release, recording; got {text:?}")
    })
}

/// A size with an optional binary unit: `4GiB`, `512MiB`, `64KiB`, `1000`.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("expected a size such as 4GiB or 512MiB; got {text:?}"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        _ => {
            return Err(format!(
                "expected a size such as 4GiB or 512MiB; got {text:?}"
            ))
        }
    };
    let bytes = number
        .checked_mul(factor)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if bytes < 16 << 20 {
        return Err(format!(
            "a memory limit of {text:?} is below the 16MiB the import needs"
        ));
    }
    Ok(bytes)
}

/// Runs the import.
pub async fn run(source: ImportSource, settings: Settings) -> Result<(), String> {
    let ImportSource::Musicbrainz {
        paths,
        only,
        memory_limit,
        batch_lines,
        index_memory,
        crash_after_batches,
    } = source;
    let options = ImportOptions {
        paths,
        only,
        memory_limit,
        batch_lines,
        index_memory,
        crash_after_batches,
    };
    let database = store::Database::open(&settings, store::embedded::Claim::ShareWithRunning)
        .await
        .map_err(|e| e.to_string())?;
    let pool = database.pool.clone();
    store::migrate_up(&pool).await.map_err(|e| e.to_string())?;
    let mode = if std::io::stderr().is_terminal() {
        ProgressMode::Terminal
    } else {
        ProgressMode::Log
    };
    let progress = ImportProgress::new(mode);
    let result = import_musicbrainz(&pool, &options, &progress).await;
    progress.finish();
    drop(pool);
    database.close(std::time::Duration::from_secs(10)).await;
    match result.map_err(|e| e.to_string())? {
        ImportOutcome::AlreadyImported { finished_at } => {
            println!(
                "these archives were imported already{}: nothing to do",
                finished_at
                    .map(|t| format!(" (finished {})", crate::domain::format_timestamp(t)))
                    .unwrap_or_default()
            );
        }
        ImportOutcome::Swapped {
            rows,
            entities,
            kept_live,
            seconds,
        } => {
            println!(
                "imported: {rows} rows written in {seconds:.1} s ({:.0} rows/s); {entities} entities \
                 now served ({kept_live} fetched after the dump kept)",
                rows as f64 / seconds.max(0.001)
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::import::DEFAULT_MEMORY_LIMIT;

    #[test]
    fn sizes_read_with_binary_units() {
        assert_eq!(parse_size("4GiB"), Ok(DEFAULT_MEMORY_LIMIT));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("1KiB").is_err());
    }
}
