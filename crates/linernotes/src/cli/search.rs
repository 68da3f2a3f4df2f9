//! `linernotes search reindex`: rebuilds the search index from the database.
//!
//! It asks every running instance to rebuild its own index (they check every
//! `search.rebuild_poll_secs`), and rebuilds the on-disk index (`search.index_dir`, under `data_dir`
//! unless absolute) itself unless a running server holds that folder (then that server's rebuild
//! does it).

use std::sync::Arc;
use std::time::Duration;

use clap::Subcommand;

use crate::search::SearchIndex;
use crate::service::metadata::{rebuild_index, rebuild_marker};
use crate::store::metadata::search_docs;
use crate::store::{self, MetadataRepo, PgMetadataRepo};
use crate::Settings;

/// What to do with the search index.
#[derive(Subcommand)]
pub enum SearchAction {
    /// Rebuilds the index of every entity type from the database.
    Reindex,
}

/// Runs `action`.
pub async fn run(action: SearchAction, settings: Settings) -> Result<(), String> {
    let SearchAction::Reindex = action;
    let pool = store::connect(&settings.database)
        .await
        .map_err(|e| e.to_string())?;
    store::migrate_up(&pool).await.map_err(|e| e.to_string())?;
    search_docs::request_reindex(&pool)
        .await
        .map_err(|e| e.to_string())?;
    let poll = settings.search.rebuild_poll_secs;
    let Some(dir) = settings.search_index_dir() else {
        println!(
            "asked every running instance to rebuild its search index (within {poll} s); \
             search.index_dir is empty, so there is no on-disk index to build here"
        );
        pool.close().await;
        return Ok(());
    };
    let index = match SearchIndex::open(Some(&dir)) {
        Ok(index) => index,
        Err(e) => {
            println!(
                "asked every running instance to rebuild its search index (within {poll} s); \
                 {} is in use ({e}), so the server using it rebuilds it",
                dir.display()
            );
            pool.close().await;
            return Ok(());
        }
    };
    let repo: Arc<dyn MetadataRepo> = Arc::new(PgMetadataRepo::new(
        pool.clone(),
        Duration::from_millis(settings.database.slow_query_ms),
    ));
    let memory = usize::try_from(settings.search.build_memory_bytes).unwrap_or(usize::MAX);
    let documents = rebuild_index(Arc::clone(&repo), &index, memory)
        .await
        .map_err(|e| e.to_string())?;
    let (swapped, requested) = repo
        .search_rebuild_marker()
        .await
        .map_err(|e| e.to_string())?;
    index
        .set_built_after(&rebuild_marker(swapped, requested))
        .map_err(|e| e.to_string())?;
    pool.close().await;
    println!(
        "search index rebuilt in {}: {documents} documents",
        dir.display()
    );
    Ok(())
}
