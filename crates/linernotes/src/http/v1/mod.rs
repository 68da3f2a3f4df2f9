//! linernotes' own API, `/v1`: one file per area.
//!
//! - [`metadata`]: `/v1/{artists,albums,releases,tracks,labels}/{id}`, album lists and search;
//! - [`accounts`]: `/v1/auth/*`, `/v1/me*` and `/v1/admin/*`;
//! - [`library`]: favourites, playlists, plays, history, playback and search history under `/v1/me`
//!   and `/v1/playlists`.

pub mod accounts;
pub mod library;
pub mod metadata;

use utoipa_axum::router::OpenApiRouter;

use super::AppState;

/// Every `/v1` route but `/v1/status` (an operations route).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(metadata::routes())
        .merge(accounts::routes())
        .merge(library::routes())
}
