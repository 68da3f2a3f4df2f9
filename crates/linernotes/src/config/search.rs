//! `search`: the embedded full-text index.

use serde::{Deserialize, Serialize};

use super::Issues;

/// The embedded search index (one per entity type).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSettings {
    /// Folder of the on-disk index, relative ones under `data_dir` (see
    /// [`super::Settings::search_index_dir`]); empty keeps it in memory, rebuilt from the database at
    /// each start.
    pub index_dir: String,
    /// How often an instance checks whether a dump import or `search reindex` asks for a rebuild, in
    /// seconds.
    pub rebuild_poll_secs: u64,
    /// Memory for building the index, in bytes.
    pub build_memory_bytes: u64,
}

impl SearchSettings {
    pub(super) fn check(&self, issues: &mut Issues) {
        issues.range("rebuild_poll_secs", self.rebuild_poll_secs, 1, 86_400);
        issues.range(
            "build_memory_bytes",
            self.build_memory_bytes,
            16 << 20,
            16 << 30,
        );
    }
}
