//! Loading the MusicBrainz JSON dumps: each archive is streamed on a thread of its own (xz, tar, JSON
//! lines parsed into the domain and encoded as COPY rows), batches go through a small bounded queue to
//! the database, where each commits with its checkpoint; then the staging tables are indexed and
//! swapped in (see `store::dump`).
//!
//! - A re-run of the same command resumes: archives already loaded are skipped, the one in progress is
//!   read again from the start and its committed lines are skipped without parsing, so the rows end up
//!   exactly those of a clean run. A finished import of the same archives is not run again.
//! - A damaged archive (xz or tar errors, a line that is no JSON of its type, a SHA-256 other than
//!   `SHA256SUMS` lists) ends the import with the file and line in the message; its staging schema is
//!   dropped, so the next run starts clean, and the served tables were never touched.
//! - Memory: at most [`QUEUED_BATCHES`] batches wait while one is filled and one is written; a batch
//!   holds at most `memory_limit / 32` bytes of rows, a line at most `memory_limit / 4` bytes.
//!
//! [`progress`] reports to a terminal or as log lines, and as metrics.

pub mod progress;

use std::cell::Cell;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::providers::musicbrainz::dump::{self, DumpEntity, DumpError, DumpFile};
use crate::providers::musicbrainz::model::parse_lookup;
use crate::store::dump::{self as store, CopyBatch, ImportLock, ImportRecord, ImportState};
use crate::store::StoreError;
pub use progress::{ImportProgress, ProgressMode};

/// Batches that may wait for the database while the reader fills the next.
pub const QUEUED_BATCHES: usize = 2;

/// The default memory bound of an import's client side.
pub const DEFAULT_MEMORY_LIMIT: u64 = 4 << 30;

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Archives, or folders holding them.
    pub paths: Vec<PathBuf>,
    /// Only these entity types (all found when empty).
    pub only: Vec<DumpEntity>,
    /// Bound on the importer's memory, in bytes.
    pub memory_limit: u64,
    /// Lines per batch (checkpoint), when smaller batches than the memory bound allows are wanted.
    pub batch_lines: Option<u64>,
    /// `maintenance_work_mem` for building the indexes.
    pub index_memory: String,
    /// Ends the process abruptly (like `kill -9`) while the batch after this many committed batches
    /// is sent but not committed: for tests of resuming.
    pub crash_after_batches: Option<u64>,
}

impl ImportOptions {
    /// Options for `paths` with the defaults.
    pub fn new(paths: Vec<PathBuf>) -> Self {
        ImportOptions {
            paths,
            only: Vec::new(),
            memory_limit: DEFAULT_MEMORY_LIMIT,
            batch_lines: None,
            index_memory: "512MB".to_owned(),
            crash_after_batches: None,
        }
    }

    fn batch_bytes(&self) -> usize {
        usize::try_from((self.memory_limit / 32).clamp(256 << 10, 64 << 20)).unwrap_or(64 << 20)
    }

    fn max_line_bytes(&self) -> usize {
        usize::try_from(self.memory_limit / 4).unwrap_or(usize::MAX)
    }
}

/// How an import ended.
#[derive(Debug, Clone)]
pub enum ImportOutcome {
    /// These archives were imported before: nothing was done.
    AlreadyImported {
        /// When that import finished.
        finished_at: Option<DateTime<Utc>>,
    },
    /// Loaded and swapped in.
    Swapped {
        /// Rows written by this run (a resumed run counts only its own).
        rows: u64,
        /// Entities served now.
        entities: i64,
        /// Entities fetched live after the dump, kept over the dump's copy.
        kept_live: i64,
        /// Seconds this run took.
        seconds: f64,
    },
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The archives are missing, damaged or not dumps.
    #[error(transparent)]
    Dump(#[from] DumpError),
    /// The database failed; the import resumes from its last checkpoint when run again.
    #[error("{0} (run the same command again to resume)")]
    Store(#[from] StoreError),
    /// Another import holds the lock.
    #[error("another import is running against this database; wait for it or stop it first")]
    Busy,
}

/// Imports the dumps `options` names into the database behind `pool`.
pub async fn import_musicbrainz(
    pool: &PgPool,
    options: &ImportOptions,
    progress: &ImportProgress,
) -> Result<ImportOutcome, ImportError> {
    let started = Instant::now();
    let files = dump::discover(&options.paths, &options.only)?;
    let Some(lock) = ImportLock::try_acquire(pool).await? else {
        return Err(ImportError::Busy);
    };
    let result = run_locked(pool, options, progress, &files, started).await;
    lock.release().await;
    result
}

/// What identifies an import: the archives (name, size, listed SHA-256) it reads.
fn fingerprint(files: &[DumpFile]) -> String {
    files
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{}:{}",
                f.entity,
                f.name(),
                f.size,
                f.expected_sha256.as_deref().unwrap_or("-")
            )
        })
        .collect::<Vec<_>>()
        .join(";")
}

async fn run_locked(
    pool: &PgPool,
    options: &ImportOptions,
    progress: &ImportProgress,
    files: &[DumpFile],
    started: Instant,
) -> Result<ImportOutcome, ImportError> {
    let fingerprint = fingerprint(files);
    if let Some(done) = store::latest_import(pool, &fingerprint).await? {
        if done.state == ImportState::Swapped {
            return Ok(ImportOutcome::AlreadyImported {
                finished_at: done.finished_at,
            });
        }
    }
    let mut import = match store::open_import(pool).await? {
        Some(open) if open.fingerprint == fingerprint => {
            tracing::info!(import = open.id, "resuming the import of these archives");
            open
        }
        other => {
            if let Some(open) = other {
                tracing::warn!(
                    import = open.id,
                    "an unfinished import of other archives is discarded"
                );
                store::fail_import(pool, &open, "replaced by an import of other archives").await?;
            }
            let mut kinds: Vec<String> = files
                .iter()
                .map(|f| f.entity.kind().as_str().to_owned())
                .collect();
            kinds.dedup();
            let planned: Vec<store::PlannedFile> = files
                .iter()
                .map(|f| store::PlannedFile {
                    entity_type: f.entity.name().to_owned(),
                    file_name: f.name(),
                    compressed_bytes: f.size,
                })
                .collect();
            store::begin_import(pool, &fingerprint, &kinds, &planned).await?
        }
    };
    let mut rows = 0;
    if import.state == ImportState::Loading {
        let checkpoints = store::checkpoints(pool, import.id).await?;
        progress.begin(files, &checkpoints);
        let mut batches = 0;
        for file in files {
            let checkpoint = checkpoints
                .iter()
                .find(|c| c.entity_type == file.entity.name());
            if checkpoint.is_some_and(|c| c.finished) {
                continue;
            }
            let skip = checkpoint.map_or(0, |c| c.lines_done);
            match load_file(pool, options, progress, &import, file, skip, &mut batches).await {
                Ok(written) => rows += written,
                Err(ImportError::Dump(e)) => {
                    store::fail_import(pool, &import, &e.to_string()).await?;
                    return Err(ImportError::Dump(e));
                }
                Err(e) => return Err(e),
            }
        }
        store::start_indexing(pool, &mut import).await?;
    }
    progress.phase("building indexes");
    store::build_staging(pool, &import, &options.index_memory, |step| {
        progress.phase(&format!("{}: {}", step.table, step.name));
    })
    .await?;
    progress.phase("swapping in the new data");
    let summary = store::swap(pool, &import).await?;
    progress.finish();
    Ok(ImportOutcome::Swapped {
        rows,
        entities: summary.entities,
        kept_live: summary.kept_live,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// What the reading thread hands to the writer.
enum Message {
    Batch { batch: CopyBatch, lines_done: u64 },
    Done { timestamp: Option<DateTime<Utc>> },
    Failed(DumpError),
}

/// Loads one archive from line `skip + 1`; returns the rows written.
async fn load_file(
    pool: &PgPool,
    options: &ImportOptions,
    progress: &ImportProgress,
    import: &ImportRecord,
    file: &DumpFile,
    skip: u64,
    batches: &mut u64,
) -> Result<u64, ImportError> {
    let (sender, mut receiver) = mpsc::channel::<Message>(QUEUED_BATCHES);
    let bytes_read = Arc::new(AtomicU64::new(0));
    progress.start_file(file, Arc::clone(&bytes_read), skip);
    let reader = {
        let file = file.clone();
        let default_fetched_at = import.started_at;
        let batch_bytes = options.batch_bytes();
        let batch_lines = options.batch_lines.unwrap_or(u64::MAX).max(1);
        let max_line = options.max_line_bytes();
        let bytes_read = Arc::clone(&bytes_read);
        tokio::task::spawn_blocking(move || {
            read_file(
                &file,
                &bytes_read,
                skip,
                default_fetched_at,
                batch_bytes,
                batch_lines,
                max_line,
                &sender,
            )
        })
    };
    let mut rows = 0;
    let mut outcome = Ok(());
    while let Some(message) = receiver.recv().await {
        match message {
            Message::Batch { batch, lines_done } => {
                let crash = options.crash_after_batches == Some(*batches);
                let entity_type = file.entity.name();
                if let Err(e) =
                    store::write_batch(pool, import, entity_type, &batch, lines_done, || {
                        if crash {
                            eprintln!("linernotes: stopping abruptly before a commit, as asked");
                            std::process::abort();
                        }
                    })
                    .await
                {
                    outcome = Err(e.into());
                    break;
                }
                *batches += 1;
                rows += batch.rows();
                progress.batch(file.entity, &batch, lines_done);
            }
            Message::Done { timestamp } => {
                store::finish_file(pool, import.id, file.entity.name(), timestamp).await?;
                progress.end_file(file);
            }
            Message::Failed(e) => {
                outcome = Err(e.into());
                break;
            }
        }
    }
    // Dropping the receiver makes a reader still at work stop at its next batch.
    drop(receiver);
    let _ = reader.await;
    outcome.map(|()| rows)
}

/// The reading thread: streams the archive, parses lines after `skip`, sends full batches.
#[allow(clippy::too_many_arguments)]
fn read_file(
    file: &DumpFile,
    bytes_read: &AtomicU64,
    skip: u64,
    default_fetched_at: DateTime<Utc>,
    batch_bytes: usize,
    batch_lines: u64,
    max_line: usize,
    sender: &mpsc::Sender<Message>,
) {
    let stamp = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Micros, true);
    // The rows' fetched_at is the dump's TIMESTAMP when the archive has one before its data.
    let timestamp: Cell<Option<DateTime<Utc>>> = Cell::new(None);
    let new_batch = || CopyBatch::new(&stamp(timestamp.get().unwrap_or(default_fetched_at)));
    let mut batch: Option<CopyBatch> = None;
    let mut lines_in_batch = 0u64;
    let kind = file.entity.kind();
    let name = file.name();
    let streamed = dump::stream_lines(
        file,
        bytes_read,
        |text| timestamp.set(dump::parse_timestamp(text)),
        |number, line| {
            if number <= skip {
                return Ok(ControlFlow::Continue(()));
            }
            if line.len() > max_line {
                return Err(DumpError::BadLine {
                    file: name.clone(),
                    entity: file.entity,
                    line: number,
                    reason: format!(
                        "a line of {} bytes is over the memory bound (raise --memory-limit)",
                        line.len()
                    ),
                });
            }
            let entity = parse_lookup(kind, line).map_err(|e| DumpError::BadLine {
                file: name.clone(),
                entity: file.entity,
                line: number,
                reason: e.to_string(),
            })?;
            let current = batch.get_or_insert_with(new_batch);
            current.push(&entity);
            lines_in_batch += 1;
            if current.bytes() >= batch_bytes || lines_in_batch >= batch_lines {
                lines_in_batch = 0;
                let full = batch.take().unwrap_or_else(new_batch);
                if sender
                    .blocking_send(Message::Batch {
                        batch: full,
                        lines_done: number,
                    })
                    .is_err()
                {
                    return Ok(ControlFlow::Break(()));
                }
            }
            Ok(ControlFlow::Continue(()))
        },
    );
    let message = match streamed {
        Ok(Ok(end)) => {
            let last = batch.take().unwrap_or_else(new_batch);
            if sender
                .blocking_send(Message::Batch {
                    batch: last,
                    lines_done: end.lines.max(skip),
                })
                .is_err()
            {
                return;
            }
            Message::Done {
                timestamp: timestamp.get(),
            }
        }
        Ok(Err(e)) | Err(e) => Message::Failed(e),
    };
    let _ = sender.blocking_send(message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_stay_within_the_memory_bound() {
        let mut options = ImportOptions::new(Vec::new());
        assert_eq!(options.batch_bytes(), 64 << 20);
        options.memory_limit = 64 << 20;
        assert_eq!(options.batch_bytes(), 2 << 20);
        assert_eq!(options.max_line_bytes(), 16 << 20);
    }
}
