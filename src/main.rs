//! The `linernotes` binary: parses the command line, loads the configuration and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use linernotes::{app, store, Application, Settings};

/// linernotes: a self-hostable music metadata aggregator.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
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
        action: MigrateAction,
    },
    /// Configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Applies every pending migration.
    Up,
    /// Reverts the newest applied migration, or every one newer than --to.
    Down {
        /// Revert down to (and keeping) this version; 0 reverts everything.
        #[arg(long)]
        to: Option<i64>,
    },
    /// Lists migrations and whether each is applied.
    Status,
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Prints the effective configuration (secrets redacted), or every invalid key with its reason.
    Check,
}

/// Exit code for configuration and start-up failures (bad config, unreachable database).
const EXIT_STARTUP: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("linernotes: {err}");
            return ExitCode::from(EXIT_STARTUP);
        }
    };
    if let Command::Config {
        action: ConfigAction::Check,
    } = cli.command
    {
        print!("{}", settings.to_redacted_yaml());
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("linernotes: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    app::init_logging(&settings);
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("linernotes: {message}");
            ExitCode::from(EXIT_STARTUP)
        }
    }
}

async fn run(command: Command, settings: Settings) -> Result<(), String> {
    match command {
        Command::Serve => {
            if settings.providers.musicbrainz.contact == linernotes::config::PLACEHOLDER_CONTACT {
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
                .run_until(app::shutdown_signal())
                .await
                .map_err(|e| e.to_string())
        }
        Command::Migrate { action } => {
            let pool = store::connect(&settings.database)
                .await
                .map_err(|e| e.to_string())?;
            let result = match action {
                MigrateAction::Up => store::migrate_up(&pool)
                    .await
                    .map(|()| println!("migrations applied")),
                MigrateAction::Down { to } => {
                    let target = match to {
                        Some(version) => version,
                        None => previous_version(&pool).await.map_err(|e| e.to_string())?,
                    };
                    store::migrate_down(&pool, target)
                        .await
                        .map(|()| println!("reverted migrations newer than {target}"))
                }
                MigrateAction::Status => store::migration_status(&pool).await.map(|list| {
                    for m in list {
                        let state = if m.applied { "applied" } else { "pending" };
                        println!("{:>16}  {:<8}  {}", m.version, state, m.description);
                    }
                }),
            };
            pool.close().await;
            result.map_err(|e| e.to_string())
        }
        Command::Config { .. } => Ok(()),
    }
}

/// The version below the newest applied one (what a plain `migrate down` goes back to).
async fn previous_version(pool: &sqlx::PgPool) -> Result<i64, sqlx::migrate::MigrateError> {
    let applied: Vec<i64> = store::migration_status(pool)
        .await?
        .into_iter()
        .filter(|m| m.applied)
        .map(|m| m.version)
        .collect();
    Ok(applied.iter().rev().nth(1).copied().unwrap_or(0))
}
