//! The command line: one file per command. `main.rs` parses it and calls [`main`].
//!
//! - [`serve`]: migrates the database and serves both APIs until a shutdown signal;
//! - [`migrate`]: migrations up, down and their status;
//! - [`users`]: bootstrap an admin, import users of an older deployment;
//! - [`db`]: how to reach the database with psql;
//! - [`import`]: load the MusicBrainz JSON dumps;
//! - [`search`]: rebuild the search index;
//! - [`backup`]: `backup` and `restore`;
//! - `config check`: the effective configuration, secrets redacted, with where each value came from
//!   (answered here, before anything connects).
//!
//! A command loads the configuration, calls the library and maps failures to an exit code: 2 for
//! configuration and start-up failures, 1 otherwise.

pub mod backup;
pub mod db;
pub mod import;
pub mod migrate;
pub mod search;
pub mod serve;
pub mod users;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Loaded;
use crate::Settings;

/// linernotes: a self-hostable music metadata aggregator.
#[derive(Parser)]
#[command(name = "linernotes", version, about)]
pub struct Cli {
    /// YAML configuration file (default: linernotes.yaml in the working directory, when present).
    #[arg(long, global = true, env = "LINERNOTES_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrates the database and serves the gRPC and HTTP APIs until Ctrl-C or SIGTERM.
    Serve,
    /// Database migrations.
    Migrate {
        #[command(subcommand)]
        action: migrate::MigrateAction,
    },
    /// Configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Accounts: bootstrap an admin, import users of an older deployment.
    Users {
        #[command(subcommand)]
        action: users::UsersAction,
    },
    /// Writes a consistent, compressed snapshot of the database (also while linernotes serves).
    Backup {
        /// The file to write (written as FILE.partial, renamed when complete).
        #[arg(long)]
        to: PathBuf,
    },
    /// Restores a backup into an empty database, or over the current one with --replace.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        /// Replace a database that holds data (asks first; refused while an instance serves it).
        #[arg(long)]
        replace: bool,
        /// Replace without asking.
        #[arg(long)]
        yes: bool,
    },
    /// The database: how to reach it.
    Db {
        #[command(subcommand)]
        action: db::DbAction,
    },
    /// Loads bulk data: the MusicBrainz JSON dumps.
    Import {
        #[command(subcommand)]
        source: import::ImportSource,
    },
    /// The embedded search index.
    Search {
        #[command(subcommand)]
        action: search::SearchAction,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Prints the effective configuration (secrets redacted), or every invalid key with its reason.
    Check,
}

/// Exit code for configuration and start-up failures (bad config, unreachable database).
const EXIT_STARTUP: u8 = 2;

/// Where each value that is not a compiled-in default came from, and what the operator may not expect,
/// as YAML comments.
fn sources_comment(loaded: &Loaded) -> String {
    let mut out =
        String::from("\n# Where values come from (every other key has its compiled-in default):\n");
    if loaded.sources.is_empty() {
        out.push_str("#   (no value is set: all defaults)\n");
    }
    for (key, source) in &loaded.sources {
        out.push_str(&format!("#   {key}: {source}\n"));
    }
    for note in &loaded.notes {
        out.push_str(&format!("# Note: {note}\n"));
    }
    out.push_str(&format!(
        "# Database: {}\n",
        database_comment(&loaded.settings)
    ));
    out.push_str(&format!(
        "# Search index: {}\n",
        match loaded.settings.search_index_dir() {
            Some(dir) => dir.display().to_string(),
            None =>
                "in memory, rebuilt from the database at every start (search.index_dir is empty)"
                    .to_owned(),
        }
    ));
    out
}

/// Which database the settings mean, without starting or connecting to anything.
fn database_comment(settings: &Settings) -> String {
    use crate::config::DatabaseMode;
    let mode = settings.database.mode;
    let effective = settings.database.effective_mode();
    let why = if mode == DatabaseMode::Auto {
        match effective {
            DatabaseMode::External => " (mode auto: a URL is set)",
            _ => " (mode auto: no URL is set)",
        }
    } else {
        ""
    };
    if effective == DatabaseMode::External {
        return format!("external at {}{why}", settings.redacted_database_url());
    }
    match crate::store::embedded::EmbeddedServer::describe(settings) {
        Ok(setup) => format!("{setup}{why}"),
        Err(err) => format!("embedded{why}, but it cannot start: {err}"),
    }
}

/// Runs the parsed command line to its end.
pub fn main(cli: Cli) -> ExitCode {
    let environment: BTreeMap<String, String> = std::env::vars().collect();
    let loaded = match Settings::load_explained(cli.config.as_deref(), &environment) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("linernotes: {err}");
            return ExitCode::from(EXIT_STARTUP);
        }
    };
    match cli.command {
        Command::Config {
            action: ConfigAction::Check,
        } => {
            print!("{}", loaded.settings.to_redacted_yaml());
            print!("{}", sources_comment(&loaded));
            return ExitCode::SUCCESS;
        }
        Command::Db { action } => {
            print!("{}", db::run(action, &loaded.settings));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let settings = loaded.settings;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("linernotes: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Serving and importing run long and report as they go; the other commands stay quiet.
    let one_shot = !matches!(
        cli.command,
        Command::Serve | Command::Import { .. } | Command::Search { .. }
    );
    crate::app::init_logging(&settings, one_shot);
    for note in &loaded.notes {
        if one_shot {
            eprintln!("linernotes: note: {note}");
        } else {
            tracing::warn!("{note}");
        }
    }
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve => serve::run(settings).await,
            Command::Migrate { action } => migrate::run(action, settings).await,
            Command::Users { action } => users::run(action, settings).await,
            Command::Import { source } => import::run(source, settings).await,
            Command::Search { action } => search::run(action, settings).await,
            Command::Backup { to } => backup::backup(&to, settings).await,
            Command::Restore { from, replace, yes } => {
                backup::restore(&from, replace, yes, settings).await
            }
            Command::Config { .. } | Command::Db { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("linernotes: {message}");
            ExitCode::from(EXIT_STARTUP)
        }
    }
}

/// Asks `prompt` at a terminal and whether `yes` was typed; a piped standard input never confirms
/// (that is what `--yes` is for).
pub(crate) fn confirmed(prompt: &str) -> Result<bool, String> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Ok(false);
    }
    print!("{prompt}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| format!("cannot read the answer: {e}"))?;
    Ok(answer.trim() == "yes")
}
