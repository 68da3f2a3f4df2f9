//! `linernotes migrate up | down [--to VERSION] [--yes] | status`.
//!
//! `status` and `down` never create the database. `down` refuses what it cannot mean (nothing applied,
//! a version that is no migration, a target at or above the newest applied one), says which migrations
//! it would revert, and reverts only after a confirmation: `--yes`, or typing `yes` at a terminal —
//! reverting drops tables and everything in them (accounts, the audit log, libraries).

use clap::Subcommand;

use crate::store::embedded::Claim;
use crate::store::{self, Database, MigrationStatus, OpenError};
use crate::Settings;

/// What to do with the migrations.
#[derive(Subcommand)]
pub enum MigrateAction {
    /// Applies every pending migration.
    Up,
    /// Reverts the newest applied migration, or every one newer than --to; asks first.
    Down {
        /// Revert down to (and keeping) this version; 0 reverts everything.
        #[arg(long)]
        to: Option<i64>,
        /// Revert without asking (the reverted migrations' tables and their data are dropped).
        #[arg(long)]
        yes: bool,
    },
    /// Lists migrations and whether each is applied.
    Status,
}

/// Runs `action` against the configured database.
pub async fn run(action: MigrateAction, mut settings: Settings) -> Result<(), String> {
    let creates = matches!(action, MigrateAction::Up);
    if !creates {
        // Looking at or reverting migrations must not create a database that is not there.
        settings.database.create_if_missing = false;
    }
    let database = match Database::open(&settings, Claim::ShareWithRunning).await {
        Ok(database) => database,
        Err(OpenError::Connect(err)) if !creates && store::is_missing_database(&err) => {
            return match action {
                MigrateAction::Status => {
                    println!(
                        "database {} does not exist yet: every migration is pending \
                         (`linernotes migrate up` or `serve` creates it)",
                        err.url
                    );
                    print_status(&store::embedded_migrations());
                    Ok(())
                }
                _ => Err(format!(
                    "database {} does not exist: nothing to revert",
                    err.url
                )),
            };
        }
        Err(err) => return Err(err.to_string()),
    };
    let pool = database.pool.clone();
    let result = match action {
        MigrateAction::Up => store::migrate_up(&pool)
            .await
            .map(|()| println!("migrations applied"))
            .map_err(|e| e.to_string()),
        MigrateAction::Down { to, yes } => revert(&pool, to, yes).await,
        MigrateAction::Status => store::migration_status(&pool)
            .await
            .map(|list| print_status(&list))
            .map_err(|e| e.to_string()),
    };
    drop(pool);
    database.close(std::time::Duration::from_secs(10)).await;
    result
}

fn print_status(list: &[MigrationStatus]) {
    for m in list {
        let state = if m.applied { "applied" } else { "pending" };
        println!("{:>16}  {:<8}  {}", m.version, state, m.description);
    }
}

/// Reverts the applied migrations newer than `to` (default: the newest one) after confirmation.
async fn revert(pool: &sqlx::PgPool, to: Option<i64>, yes: bool) -> Result<(), String> {
    let list = store::migration_status(pool)
        .await
        .map_err(|e| e.to_string())?;
    let applied: Vec<&MigrationStatus> = list.iter().filter(|m| m.applied).collect();
    let Some(newest) = applied.last() else {
        return Err("nothing to revert: no migration is applied".into());
    };
    let target = match to {
        None => applied.iter().rev().nth(1).map_or(0, |m| m.version),
        Some(0) => 0,
        Some(version) if !list.iter().any(|m| m.version == version) => {
            let versions: Vec<String> = list.iter().map(|m| m.version.to_string()).collect();
            return Err(format!(
                "{version} is not a migration version; expected 0 or one of {}",
                versions.join(", ")
            ));
        }
        Some(version) if version >= newest.version => {
            return Err(format!(
                "nothing is applied after {version} (the newest applied migration is {}): nothing to revert",
                newest.version
            ));
        }
        Some(version) => version,
    };
    let reverted: Vec<&&MigrationStatus> = applied.iter().filter(|m| m.version > target).collect();
    println!("reverting drops these migrations' tables and everything in them:");
    for m in reverted.iter().rev() {
        println!("{:>16}  {}", m.version, m.description);
    }
    if !yes && !super::confirmed("type yes to revert: ")? {
        return Err("not reverted: confirm with --yes (or type yes at a terminal)".into());
    }
    store::migrate_down(pool, target)
        .await
        .map_err(|e| e.to_string())?;
    println!("reverted migrations newer than {target}");
    Ok(())
}
