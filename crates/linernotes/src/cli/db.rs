//! `linernotes db url`: how to reach linernotes' database with psql.

use clap::Subcommand;

use crate::config::DatabaseMode;
use crate::store::embedded::Layout;
use crate::Settings;

/// Database helpers.
#[derive(Subcommand)]
pub enum DbAction {
    /// Prints how to reach the database with psql (embedded mode: through its private socket, as
    /// root or the server's account, while linernotes runs).
    Url,
}

/// Answers `action` from the settings alone (nothing is started).
pub fn run(action: DbAction, settings: &Settings) -> String {
    match action {
        DbAction::Url => url(settings),
    }
}

fn url(settings: &Settings) -> String {
    if settings.database.effective_mode() == DatabaseMode::External {
        return format!(
            "{}\n# external server (password redacted): psql \"$URL\" with the URL of database.url\n",
            settings.redacted_database_url()
        );
    }
    let layout = Layout::new(&settings.data_dir());
    format!(
        "{}\n# {}\n# the built-in server runs while linernotes does; its socket folder admits root and \
         the server's account only\n",
        layout.url(),
        layout.psql_command()
    )
}
