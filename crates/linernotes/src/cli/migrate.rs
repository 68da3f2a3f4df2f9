//! `linernotes migrate up | down [--to VERSION] | status`.

use clap::Subcommand;

use crate::{store, Settings};

/// What to do with the migrations.
#[derive(Subcommand)]
pub enum MigrateAction {
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

/// Runs `action` against the configured database.
pub async fn run(action: MigrateAction, settings: Settings) -> Result<(), String> {
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
