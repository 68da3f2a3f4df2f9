//! Import progress an operator can read: compressed bytes read of the total, rows per second per table
//! and the time left, as a bar on a terminal, as structured log lines otherwise (at most one every
//! [`LOG_EVERY`], and one per finished archive), and always as metrics:
//! `linernotes_import_rows_total{table}`, `linernotes_import_compressed_bytes_read`,
//! `linernotes_import_compressed_bytes_total`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::providers::musicbrainz::dump::{DumpEntity, DumpFile};
use crate::store::dump::{CopyBatch, FileCheckpoint};

/// How often a log line reports progress when there is no terminal.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Where progress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar on standard error.
    Terminal,
    /// `tracing` log lines.
    Log,
}

/// Progress of one import run. Shared by reference between the reader and the writer.
pub struct ImportProgress {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    started: Option<Instant>,
    last_log: Option<Instant>,
    total_bytes: u64,
    /// Compressed bytes of archives finished before the current one.
    done_bytes: u64,
    current: Option<(DumpEntity, Arc<AtomicU64>)>,
    /// Rows written by this run, per table.
    rows: BTreeMap<&'static str, u64>,
}

impl ImportProgress {
    /// Progress reported in `mode`.
    pub fn new(mode: ProgressMode) -> Self {
        let bar = (mode == ProgressMode::Terminal).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ETA {eta}\n{msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        ImportProgress {
            mode,
            bar,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The run starts: `files` in all, some already (partly) loaded by an earlier run.
    pub fn begin(&self, files: &[DumpFile], checkpoints: &[FileCheckpoint]) {
        let mut state = self.state();
        state.started = Some(Instant::now());
        state.total_bytes = files.iter().map(|f| f.size).sum();
        state.done_bytes = files
            .iter()
            .filter(|f| {
                checkpoints
                    .iter()
                    .any(|c| c.entity_type == f.entity.name() && c.finished)
            })
            .map(|f| f.size)
            .sum();
        metrics::gauge!("linernotes_import_compressed_bytes_total").set(state.total_bytes as f64);
        if let Some(bar) = &self.bar {
            bar.set_length(state.total_bytes);
            bar.set_position(state.done_bytes);
        }
    }

    /// An archive starts; `bytes_read` counts its compressed bytes as they are read.
    pub fn start_file(&self, file: &DumpFile, bytes_read: Arc<AtomicU64>, skip_lines: u64) {
        self.state().current = Some((file.entity, bytes_read));
        let note = if skip_lines > 0 {
            format!(" (resuming after line {skip_lines})")
        } else {
            String::new()
        };
        match &self.bar {
            Some(bar) => bar.set_message(format!("reading {}{note}", file.name())),
            None => tracing::info!(
                file = %file.name(),
                compressed_bytes = file.size,
                resume_after_line = skip_lines,
                "import: reading archive{note}"
            ),
        }
    }

    /// A batch is committed.
    pub fn batch(&self, entity: DumpEntity, batch: &CopyBatch, lines_done: u64) {
        let mut state = self.state();
        for (table, _, rows) in batch.tables() {
            *state.rows.entry(table.name).or_default() += rows;
            metrics::counter!("linernotes_import_rows_total", "table" => table.name)
                .increment(rows);
        }
        let read = state.done_bytes + current_bytes(&state);
        metrics::gauge!("linernotes_import_compressed_bytes_read").set(read as f64);
        let elapsed = state
            .started
            .map_or(Duration::ZERO, |s| s.elapsed())
            .as_secs_f64()
            .max(0.001);
        let rates = rates(&state.rows, elapsed);
        match &self.bar {
            Some(bar) => {
                bar.set_position(read);
                bar.set_message(format!("{entity} line {lines_done}: {rates}"));
            }
            None => {
                let due = state.last_log.is_none_or(|at| at.elapsed() >= LOG_EVERY);
                if due {
                    state.last_log = Some(Instant::now());
                    let total: u64 = state.rows.values().sum();
                    let eta = eta_seconds(read, state.total_bytes, elapsed);
                    tracing::info!(
                        entity = %entity,
                        line = lines_done,
                        compressed_bytes_read = read,
                        compressed_bytes_total = state.total_bytes,
                        rows = total,
                        rows_per_second = (total as f64 / elapsed).round(),
                        eta_seconds = eta,
                        per_table = %rates,
                        "import progress"
                    );
                }
            }
        }
    }

    /// An archive is fully loaded.
    pub fn end_file(&self, file: &DumpFile) {
        let mut state = self.state();
        state.done_bytes += file.size;
        state.current = None;
        let elapsed = state
            .started
            .map_or(Duration::ZERO, |s| s.elapsed())
            .as_secs_f64()
            .max(0.001);
        let rates = rates(&state.rows, elapsed);
        match &self.bar {
            Some(bar) => bar.set_position(state.done_bytes),
            None => {
                tracing::info!(file = %file.name(), per_table = %rates, "import: archive loaded")
            }
        }
    }

    /// A step after loading (indexes, the swap).
    pub fn phase(&self, what: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(what.to_owned()),
            None => tracing::info!(step = %what, "import"),
        }
    }

    /// The import is done.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Where this progress goes.
    pub fn mode(&self) -> ProgressMode {
        self.mode
    }
}

fn current_bytes(state: &State) -> u64 {
    state
        .current
        .as_ref()
        .map_or(0, |(_, bytes)| bytes.load(Ordering::Relaxed))
}

/// `table rows/s` for each table written so far.
fn rates(rows: &BTreeMap<&'static str, u64>, seconds: f64) -> String {
    rows.iter()
        .map(|(table, n)| format!("{table} {:.0}/s", *n as f64 / seconds))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Seconds left at the rate so far, from compressed bytes.
fn eta_seconds(read: u64, total: u64, seconds: f64) -> u64 {
    if read == 0 {
        return 0;
    }
    let rate = read as f64 / seconds;
    (total.saturating_sub(read) as f64 / rate).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_follows_the_rate_so_far() {
        assert_eq!(eta_seconds(100, 400, 10.0), 30);
        assert_eq!(eta_seconds(0, 400, 10.0), 0);
    }
}
