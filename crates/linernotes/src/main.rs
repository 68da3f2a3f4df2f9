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
    /// Accounts: bootstrap an admin, import users of an older deployment.
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
}

// --- accounts (issue 3) ---
#[derive(Subcommand)]
enum UsersAction {
    /// Creates a verified admin account. The password is read from standard input when it is not a
    /// terminal (one line), otherwise prompted for twice without echo.
    CreateAdmin {
        /// E-mail address of the admin.
        #[arg(long)]
        email: String,
    },
    /// Copies users(id, email, password_hash, role, is_verified, created_at) from an older deployment's
    /// PostgreSQL database, keeping IDs and (bcrypt) hashes; users already present are skipped.
    Import {
        /// PostgreSQL URL of the source database.
        #[arg(long = "from")]
        from: String,
    },
}

/// Reads the new admin's password from a piped standard input or an echo-less prompt.
fn read_admin_password() -> Result<String, String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password for the new admin: ")
            .map_err(|e| format!("cannot read the password: {e}"))?;
        let second = rpassword::prompt_password("Repeat it: ")
            .map_err(|e| format!("cannot read the password: {e}"))?;
        if first != second {
            return Err("the passwords differ".into());
        }
        Ok(first)
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

async fn run_users(action: UsersAction, settings: Settings) -> Result<(), String> {
    let password = match &action {
        UsersAction::CreateAdmin { .. } => Some(read_admin_password()?),
        UsersAction::Import { .. } => None,
    };
    let pool = store::connect(&settings.database)
        .await
        .map_err(|e| e.to_string())?;
    store::migrate_up(&pool).await.map_err(|e| e.to_string())?;
    let accounts = app::build_accounts(
        &settings,
        &pool,
        std::sync::Arc::new(linernotes::support::SystemClock),
    )
    .map_err(|e| e.to_string())?;
    let result = match action {
        UsersAction::CreateAdmin { email } => accounts
            .create_admin(&email, password.unwrap_or_default())
            .await
            .map(|id| println!("created admin {email} ({id})")),
        UsersAction::Import { from } => accounts.import_users(&from).await.map(|r| {
            println!(
                "found {}, imported {}, skipped {} already present, skipped {} invalid",
                r.found, r.imported, r.skipped_existing, r.skipped_invalid
            )
        }),
    };
    pool.close().await;
    result.map_err(|e| e.message)
}
// --- end accounts ---

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
        Command::Users { action } => run_users(action, settings).await,
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
