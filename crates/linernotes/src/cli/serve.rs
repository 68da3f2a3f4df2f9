//! `linernotes serve`.

use crate::config::PLACEHOLDER_CONTACT;
use crate::{app, Application, Settings};

/// Builds the application and serves until Ctrl-C or SIGTERM.
pub async fn run(settings: Settings) -> Result<(), String> {
    // Listening for signals from the start: a SIGTERM during start-up stops linernotes cleanly too.
    let shutdown = app::shutdown_signal();
    if settings.providers.musicbrainz.contact == PLACEHOLDER_CONTACT {
        tracing::warn!(
            "providers.musicbrainz.contact is not set; MusicBrainz asks every client for a \
             contact in its User-Agent (set LINERNOTES__PROVIDERS__MUSICBRAINZ__CONTACT)"
        );
    }
    let application = Application::build(settings)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(grpc = %application.grpc_addr(), http = %application.http_addr(), "listening");
    application
        .run_until(shutdown)
        .await
        .map_err(|e| e.to_string())
}
