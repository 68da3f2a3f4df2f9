//! Storage layer: PostgreSQL connection, migrations and repositories. All SQL lives below this module.
//!
//! Layout:
//! - this file: [`StoreError`], connecting (with database creation), [`Database`] (the pool and, in
//!   embedded mode, the server behind it) and the embedded [`MIGRATOR`];
//! - [`embedded`]: the built-in PostgreSQL, run by linernotes as a child process;
//! - [`backup`]: snapshots of the whole database and their restoration;
//! - [`replicas`]: read replicas, health-checked, for reads that tolerate lag;
//! - [`metadata`]: [`MetadataRepo`], the repository of provider metadata, and its PostgreSQL implementation;
//! - [`accounts`]: [`AccountRepo`], users, sessions, tokens, throttling, outbox and audit log;
//! - [`library`]: [`LibraryRepo`], favourites, playlists, plays, playback state, search history;
//! - [`dump`]: loading MusicBrainz dumps into a staging schema and swapping it in;
//! - [`rows`]: which rows of the catalogue tables an entity becomes, for the write path and the dump.

pub mod accounts;
pub mod backup;
pub mod dump;
pub mod embedded;
pub mod library;
pub mod metadata;
pub mod replicas;
pub mod rows;

use std::future::Future;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::config::{parse_database_url, redact_url, DatabaseMode, DatabaseSettings, Settings};
use crate::domain::DatabaseSetup;
use crate::support::metrics::HandleCache;

pub use accounts::{AccountRepo, PgAccountRepo};
pub use library::{LibraryRepo, PgLibraryRepo};
pub use metadata::{MetadataRepo, PgMetadataRepo, RawPayload, StoredEntity};

/// The migrations in `migrations/`, embedded at build time, checksummed and tracked in
/// `_sqlx_migrations`. Running them takes an advisory lock, so instances starting together are safe.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// What can go wrong in the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached now (down, restarting, pool exhausted); worth retrying later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The connection broke under a statement (the server restarted, or the network dropped it): a
    /// read may be tried again on another connection.
    #[error("database connection lost: {0}")]
    ConnectionLost(String),
    /// Stored data could not be decoded into the domain (a bug or a hand-edited row).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if matches!(err, sqlx::Error::Io(_) | sqlx::Error::Protocol(_)) {
            StoreError::ConnectionLost(err.to_string())
        } else if is_unavailable(&err) {
            StoreError::Unavailable(err.to_string())
        } else {
            StoreError::Database(err)
        }
    }
}

/// Whether an error means "the server is not reachable right now" rather than "this query is wrong".
fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P0x: shutdown / cannot connect now; 53300: too many connections.
            code.starts_with("08") || code.starts_with("57P") || code == "53300"
        }),
        _ => false,
    }
}

/// Why connecting at start failed: one line naming the URL with its password redacted.
#[derive(Debug, thiserror::Error)]
#[error("cannot use database {url}: {reason}")]
pub struct ConnectError {
    /// The URL, password redacted.
    pub url: String,
    /// What went wrong.
    pub reason: String,
    /// Whether the server said the database does not exist.
    pub missing_database: bool,
}

/// Whether connecting failed because the database does not exist (and was not to be created).
pub fn is_missing_database(err: &ConnectError) -> bool {
    err.missing_database
}

/// Connects to the configured database, creating it first when it is missing and allowed to, and
/// returns a pool built with the configured settings. The first connection is made here, so an
/// unreachable server is reported now, not on the first request.
pub async fn connect(settings: &DatabaseSettings) -> Result<PgPool, ConnectError> {
    connect_as(settings, "linernotes").await
}

/// Like [`connect`], with the `application_name` the server shows for these connections.
pub async fn connect_as(
    settings: &DatabaseSettings,
    application_name: &str,
) -> Result<PgPool, ConnectError> {
    let Some(url) = settings.url.as_ref().map(ExposeSecret::expose_secret) else {
        return Err(ConnectError {
            url: settings.redacted_url(),
            reason: "no database URL is set".into(),
            missing_database: false,
        });
    };
    let fail = |reason: String| ConnectError {
        url: redact_url(url),
        reason,
        missing_database: false,
    };
    let options = parse_database_url(url).map_err(fail)?;
    let options = options
        .application_name(application_name)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
    let connect_timeout = Duration::from_secs(settings.connect_timeout_secs);
    let timed_out = || {
        fail(format!(
            "no answer within {}s",
            settings.connect_timeout_secs
        ))
    };

    if settings.create_if_missing {
        tokio::time::timeout(connect_timeout, create_database_if_missing(&options))
            .await
            .map_err(|_| timed_out())?
            .map_err(fail)?;
    }

    let pool = pool_options(settings).connect_lazy_with(options);
    let mut conn = tokio::time::timeout(connect_timeout, pool.acquire())
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| ConnectError {
            missing_database: matches!(
                &e,
                sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000")
            ),
            ..fail(e.to_string())
        })?;
    conn.ping().await.map_err(|e| fail(e.to_string()))?;
    drop(conn);
    Ok(pool)
}

/// A connection back in the pool for less than this is handed out without sqlx's ping: it answered a
/// ping on its way back (sqlx tests every connection on release), and under load that is moments ago.
/// One that broke since then fails its statement with [`StoreError::ConnectionLost`], and reads are
/// tried again on another connection ([`replicas::ReadPools::read`]).
const RECENTLY_RELEASED: Duration = Duration::from_millis(250);

/// The pool settings of `settings`: a connection idle for longer than [`RECENTLY_RELEASED`] is pinged
/// before use (one round trip, as sqlx does for every acquire by default).
fn pool_options(settings: &DatabaseSettings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .max_lifetime(Duration::from_secs(settings.max_lifetime_secs))
        .idle_timeout(Duration::from_secs(settings.idle_timeout_secs))
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs))
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                Ok(meta.idle_for < RECENTLY_RELEASED || connection.ping().await.is_ok())
            })
        })
}

/// A pool on `settings.url` that connects on first use (nothing is checked now beyond the URL).
pub fn connect_lazy(
    settings: &DatabaseSettings,
    application_name: &str,
) -> Result<PgPool, ConnectError> {
    let url = settings
        .url
        .as_ref()
        .map(ExposeSecret::expose_secret)
        .unwrap_or_default();
    let options = parse_database_url(url).map_err(|reason| ConnectError {
        url: redact_url(url),
        reason,
        missing_database: false,
    })?;
    Ok(pool_options(settings).connect_lazy_with(options.application_name(application_name)))
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The built-in server could not be started (the message names the fix).
    #[error(transparent)]
    Embedded(#[from] embedded::EmbeddedError),
    /// The server could not be reached, or the database created.
    #[error(transparent)]
    Connect(#[from] ConnectError),
}

/// The database linernotes works on: the pool, and in embedded mode the server behind it.
pub struct Database {
    /// The connection pool.
    pub pool: PgPool,
    /// Which PostgreSQL this is and where it lives.
    pub setup: DatabaseSetup,
    server: Option<embedded::EmbeddedServer>,
}

impl Database {
    /// Opens the database of `settings`: in embedded mode starts the built-in server first (or, with
    /// [`embedded::Claim::ShareWithRunning`], uses the one a running instance runs), then connects
    /// (creating the database when allowed).
    pub async fn open(settings: &Settings, claim: embedded::Claim) -> Result<Self, OpenError> {
        let application_name = match claim {
            embedded::Claim::Serve => embedded::SERVING_APPLICATION,
            _ => "linernotes",
        };
        if settings.database.effective_mode() == DatabaseMode::External {
            let pool = connect_as(&settings.database, application_name).await?;
            let server_version = sqlx::query_scalar::<_, String>("SHOW server_version")
                .fetch_one(&pool)
                .await
                .ok();
            let setup = DatabaseSetup {
                mode: "external",
                location: settings.database.redacted_url(),
                data_dir: None,
                binaries: None,
                server_version,
            };
            return Ok(Self {
                pool,
                setup,
                server: None,
            });
        }
        if settings.database.url.is_some() {
            tracing::warn!(
                "database.url is set but database.mode is embedded: the URL is not used"
            );
        }
        let server = embedded::EmbeddedServer::start(settings, claim).await?;
        let mut database = settings.database.clone();
        database.url = Some(server.url().into());
        match connect_as(&database, application_name).await {
            Ok(pool) => Ok(Self {
                pool,
                setup: server.setup().clone(),
                server: Some(server),
            }),
            Err(err) => {
                server.stop().await;
                Err(err.into())
            }
        }
    }

    /// Completes when the built-in server stops without being asked to, with how it ended; never in
    /// external mode.
    pub async fn server_exited(&self) -> String {
        match &self.server {
            Some(server) => server.unexpected_exit().await,
            None => std::future::pending().await,
        }
    }

    /// Closes the pool within `patience`, then stops the built-in server (if this process runs it).
    pub async fn close(self, patience: Duration) {
        if tokio::time::timeout(patience, self.pool.close())
            .await
            .is_err()
        {
            tracing::warn!(
                "database connections still busy after the grace period; closing anyway"
            );
        }
        if let Some(server) = self.server {
            server.stop().await;
        }
    }
}

/// Creates the database named in `options` when it does not exist, through the `postgres` maintenance
/// database. Two instances racing here are fine: "already exists" counts as success.
async fn create_database_if_missing(options: &PgConnectOptions) -> Result<(), String> {
    let name = options
        .get_database()
        .map(str::to_owned)
        .or_else(|| options.get_username().to_owned().into())
        .unwrap_or_default();
    if name.is_empty() || name == "postgres" {
        return Ok(());
    }
    // Connecting to the target itself is the cheapest check and needs no rights on `postgres`.
    if options.connect().await.is_ok() {
        return Ok(());
    }
    let mut admin = options
        .clone()
        .database("postgres")
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .map_err(|e| e.to_string())?;
    if !exists {
        let statement = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        match sqlx::query(&statement).execute(&mut admin).await {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // Another instance starting at the same moment created it first: PostgreSQL says so
            // as "already exists" (42P04) or, when both inserted the catalogue row at once, as a
            // unique violation on it (23505).
            Err(sqlx::Error::Database(db))
                if matches!(db.code().as_deref(), Some("42P04") | Some("23505")) => {}
            Err(e) => return Err(format!("cannot create database {name}: {e}")),
        }
    }
    admin.close().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Applies every pending migration (checksums of applied ones are verified).
pub async fn migrate_up(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// One migration and whether it is applied.
#[derive(Debug, Clone)]
pub struct MigrationStatus {
    /// Version number.
    pub version: i64,
    /// Description from the file name.
    pub description: String,
    /// Whether it is applied.
    pub applied: bool,
}

/// The embedded migrations, none applied (the state of a database that does not exist yet).
pub fn embedded_migrations() -> Vec<MigrationStatus> {
    MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| MigrationStatus {
            version: m.version,
            description: m.description.to_string(),
            applied: false,
        })
        .collect()
}

/// Lists the embedded migrations with their state.
pub async fn migration_status(
    pool: &PgPool,
) -> Result<Vec<MigrationStatus>, sqlx::migrate::MigrateError> {
    use sqlx::migrate::Migrate;
    let mut conn = pool.acquire().await?;
    // Reading the status must not create the tracking table (nor race another instance creating it).
    let tracked: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
            .fetch_one(&mut *conn)
            .await?;
    let applied = match tracked {
        Some(_) => conn.list_applied_migrations().await?,
        None => Vec::new(),
    };
    Ok(MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| MigrationStatus {
            version: m.version,
            description: m.description.to_string(),
            applied: applied.iter().any(|a| a.version == m.version),
        })
        .collect())
}

/// Reverts applied migrations newer than `target` (0 reverts all).
pub async fn migrate_down(pool: &PgPool, target: i64) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.undo(pool, target).await
}

/// Sets the pool gauges `linernotes_db_pool_connections{state}` (called at scrape time).
pub fn record_pool_gauges(pool: &PgPool, max: u32) {
    let size = pool.size();
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
    for (state, value) in [
        ("open", size),
        ("idle", idle),
        ("in_use", size.saturating_sub(idle)),
        ("max", max),
    ] {
        metrics::gauge!("linernotes_db_pool_connections", "state" => state).set(f64::from(value));
    }
}

/// Each named query's latency histogram, registered once.
static QUERY_DURATIONS: LazyLock<HandleCache<&'static str, metrics::Histogram>> =
    LazyLock::new(Default::default);

/// Times one named query (or group of queries), recording its latency and logging it when slower than
/// `slow`.
pub(crate) async fn timed_query<T>(
    name: &'static str,
    slow: Duration,
    query: impl Future<Output = T>,
) -> T {
    let started = Instant::now();
    let result = query.await;
    let elapsed = started.elapsed();
    QUERY_DURATIONS
        .get(
            name,
            |name| metrics::histogram!("linernotes_db_query_duration_seconds", "query" => name),
        )
        .record(elapsed.as_secs_f64());
    if elapsed >= slow {
        tracing::warn!(
            query = name,
            duration_ms = elapsed.as_millis() as u64,
            "slow query"
        );
    }
    result
}
