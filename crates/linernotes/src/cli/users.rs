//! `linernotes users create-admin | import`.

use std::sync::Arc;

use clap::Subcommand;

use crate::store::embedded::Claim;
use crate::store::{self, Database};
use crate::support::SystemClock;
use crate::{app, Settings};

/// What to do with accounts.
#[derive(Subcommand)]
pub enum UsersAction {
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

/// Runs `action` against the configured database.
pub async fn run(action: UsersAction, settings: Settings) -> Result<(), String> {
    let password = match &action {
        UsersAction::CreateAdmin { .. } => Some(read_admin_password()?),
        UsersAction::Import { .. } => None,
    };
    let database = Database::open(&settings, Claim::ShareWithRunning)
        .await
        .map_err(|e| e.to_string())?;
    let pool = database.pool.clone();
    store::migrate_up(&pool).await.map_err(|e| e.to_string())?;
    let accounts = app::build_accounts(&settings, &pool, Arc::new(SystemClock))
        .await
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
    drop(pool);
    database.close(std::time::Duration::from_secs(10)).await;
    result.map_err(|e| e.message)
}
