//! Wiring: [`Application::build`] connects, migrates and binds; [`Application::run_until`] serves both
//! transports until a shutdown signal, then drains and closes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::cache::HotCache;
use crate::config::Settings;
use crate::search::SearchIndex;
use crate::service::accounts::mailer::{Mailer, OutboxMailer, SmtpMailer};
use crate::service::{AccountService, LibraryService, MetadataService, Services};
use crate::store::embedded::Claim;
use crate::store::replicas::ReadPools;
use crate::store::{self, Database, PgAccountRepo, PgLibraryRepo, PgMetadataRepo};
use crate::support::metrics::MetricsExporter;
use crate::support::net::GuardedListener;
use crate::support::redis::RedisHandle;
use crate::support::{Clock, SystemClock};

/// Why the application could not start. Each variant is one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be started, reached or created.
    #[error(transparent)]
    Database(#[from] store::OpenError),
    /// Migrations failed (e.g. an applied migration was edited: checksum mismatch).
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A listening address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// A provider client could not be built.
    #[error("{0}")]
    Provider(String),
    /// The accounts service could not be built.
    #[error("accounts: {0}")]
    Accounts(String),
    /// The search index could not be opened (its folder, or a lock another process holds).
    #[error("{0}")]
    Search(crate::search::SearchError),
}

/// A built, not yet running, linernotes.
pub struct Application {
    settings: Settings,
    database: Database,
    pool: PgPool,
    /// The primary and the read replicas.
    reads: ReadPools,
    metadata: MetadataService,
    accounts: AccountService,
    library: LibraryService,
    grpc_listener: TcpListener,
    http_listener: TcpListener,
}

impl Application {
    /// Connects to the database (creating and migrating it), builds the services and binds both ports.
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Like [`Application::build`] with an explicit clock (tests control time this way).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartError> {
        let database = Database::open(&settings, Claim::Serve).await?;
        tracing::info!(database = %database.setup, "database");
        let pool = database.pool.clone();
        if let Err(err) = store::migrate_up(&pool).await {
            database.close(Duration::from_secs(5)).await;
            return Err(err.into());
        }
        let redis = match &settings.cache.redis_url {
            Some(url) => Some(
                RedisHandle::new(
                    url.expose_secret(),
                    &settings.cache.key_namespace,
                    Duration::from_millis(settings.cache.redis_timeout_ms),
                )
                .map_err(StartError::Provider)?,
            ),
            None => None,
        };
        let providers =
            crate::providers::registry::build(&settings.providers, redis.clone(), clock.clone())
                .map_err(StartError::Provider)?;
        let reads = ReadPools::connect(pool.clone(), &settings.database)
            .map_err(|e| StartError::Database(e.into()))?;
        let metadata = MetadataService::new(
            Arc::new(
                PgMetadataRepo::new(
                    pool.clone(),
                    Duration::from_millis(settings.database.slow_query_ms),
                )
                .with_reads(reads.clone()),
            ),
            providers,
            HotCache::new(&settings.cache, redis),
            settings.metadata.clone(),
            clock.clone(),
            SearchIndex::open(settings.search_index_dir().as_deref())
                .map_err(StartError::Search)?,
            settings.search.clone(),
        );
        let accounts = build_accounts(&settings, &pool, clock.clone()).await?;
        let library = LibraryService::new(
            Arc::new(PgLibraryRepo::new(
                pool.clone(),
                Duration::from_millis(settings.database.slow_query_ms),
            )),
            metadata.clone(),
            accounts.clone(),
            settings.library.clone(),
            clock.clone(),
        );
        accounts.add_export_section(library.export_section());
        let grpc_listener = bind(&settings.server.grpc_addr).await?;
        let http_listener = bind(&settings.server.http_addr).await?;
        Ok(Self {
            settings,
            database,
            pool,
            reads,
            metadata,
            accounts,
            library,
            grpc_listener,
            http_listener,
        })
    }

    /// The bound gRPC address (useful with port 0).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The metadata service (tests wait on its background work).
    pub fn metadata(&self) -> &MetadataService {
        &self.metadata
    }

    /// The accounts service (tests run its purge job directly).
    pub fn accounts(&self) -> &AccountService {
        &self.accounts
    }

    /// The library service.
    pub fn library(&self) -> &LibraryService {
        &self.library
    }

    /// The database pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Serves until `shutdown` completes; then health turns NOT_SERVING, in-flight requests finish
    /// (for at most `server.shutdown_grace_secs`), background refreshes and mail deliveries are
    /// awaited and the pool closes.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), std::io::Error> {
        let (health, health_service) = tonic_health::server::health_reporter();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            }
        };
        let grace = Duration::from_secs(self.settings.server.shutdown_grace_secs);
        let metrics = {
            let (pool, max) = (self.pool.clone(), self.settings.database.max_connections);
            let reads = self.reads.clone();
            MetricsExporter::install()
                .on_scrape(Arc::new(move || store::record_pool_gauges(&pool, max)))
                .on_scrape(Arc::new(move || reads.record_gauges()))
        };
        let services = Services {
            metadata: self.metadata.clone(),
            accounts: self.accounts.clone(),
            library: self.library.clone(),
        };
        let server_settings = &self.settings.server;
        let grpc = tokio::spawn(crate::grpc::serve(
            GuardedListener::new(self.grpc_listener, server_settings.connection_limits()),
            crate::grpc::CallLimits {
                deadline: server_settings.request_body_timeout(),
                idle: server_settings.header_read_timeout(),
                max_message_bytes: server_settings.max_body_bytes,
                proxies: server_settings.trusted_proxies(),
            },
            services.clone(),
            health.clone(),
            health_service,
            stopped(),
        ));
        let router = crate::http::router(
            crate::http::AppState::new(services, metrics.clone(), self.database.setup.clone())
                .with_replicas({
                    let reads = self.reads.clone();
                    Arc::new(move || reads.statuses())
                })
                .with_answer_cache(crate::http::skyhook::AnswerCache::new(
                    self.settings.cache.memory_bytes / 4,
                    std::time::Duration::from_secs(self.settings.cache.ttl_secs.entity),
                )),
            self.settings.server.max_body_bytes,
        );
        let indexer = self.metadata.clone();
        let invalidations = self
            .metadata
            .cache()
            .spawn_invalidation_listener(Some(Arc::new(move |key: String| {
                let indexer = indexer.clone();
                tokio::spawn(async move { indexer.index_invalidated(&key).await });
            })));
        let search_upkeep = {
            let metadata = self.metadata.clone();
            let poll = Duration::from_secs(self.settings.search.rebuild_poll_secs);
            tokio::spawn(async move { metadata.keep_search_current(poll).await })
        };
        let deadlines = crate::http::RequestDeadlines {
            header: self.settings.server.header_read_timeout(),
            body: self.settings.server.request_body_timeout(),
        };
        let http = tokio::spawn(crate::http::serve(
            GuardedListener::new(self.http_listener, self.settings.server.connection_limits()),
            router,
            deadlines,
            self.settings.server.trusted_proxies(),
            stopped(),
        ));
        let watchdog = tokio::spawn(watch_database(
            self.metadata.clone(),
            Duration::from_secs(self.settings.database.health_check_interval_secs),
        ));
        let replica_checks = self.reads.spawn_checks(Duration::from_secs(
            self.settings.database.replica_check_interval_secs,
        ));
        let purge = tokio::spawn(run_purge_job(
            self.accounts.clone(),
            Duration::from_secs(self.settings.auth.purge_interval_secs),
        ));
        let metrics_upkeep = metrics.spawn_upkeep();
        // Four reports per status TTL, so a running instance's view never expires.
        let health_reports = self.metadata.cache().redis().is_some().then(|| {
            tokio::spawn(report_provider_health(
                self.metadata.clone(),
                Duration::from_secs((self.settings.cache.ttl_secs.status / 4).max(1)),
            ))
        });
        tracing::info!("linernotes is serving");

        // A built-in server that dies under linernotes ends it: serving only errors would hide the
        // failure from whatever supervises linernotes.
        let server_died = tokio::select! {
            () = shutdown => None,
            status = self.database.server_exited() => {
                tracing::error!(%status, "the built-in PostgreSQL stopped unexpectedly; shutting down");
                Some(status)
            }
        };
        tracing::info!("shutting down: draining in-flight requests");
        crate::grpc::set_health(&health, tonic_health::ServingStatus::NotServing).await;
        let _ = stop_tx.send(true);
        watchdog.abort();
        if let Some(listener) = &invalidations {
            listener.abort();
        }
        search_upkeep.abort();
        purge.abort();
        if let Some(checks) = &replica_checks {
            checks.abort();
        }
        for task in metrics_upkeep.iter().chain(&health_reports) {
            task.abort();
        }
        let grpc_abort = grpc.abort_handle();
        let http_abort = http.abort_handle();
        let drained = tokio::time::timeout(grace, async {
            let (grpc, http) = tokio::join!(grpc, http);
            if let Ok(Err(e)) = grpc {
                tracing::error!(error = %e, "gRPC server failed");
            }
            if let Ok(Err(e)) = http {
                tracing::error!(error = %e, "HTTP server failed");
            }
            self.metadata.background().idle().await;
            self.accounts.deferred().idle().await;
            self.accounts.background().idle().await;
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "grace period over; abandoning work still in flight (requests, refreshes, mail deliveries)"
            );
            grpc_abort.abort();
            http_abort.abort();
        }
        drop(self.pool);
        self.reads.close().await;
        self.database.close(grace).await;
        tracing::info!("stopped");
        match server_died {
            Some(status) => Err(std::io::Error::other(format!(
                "the built-in PostgreSQL stopped unexpectedly ({status}); see its log in {}",
                self.settings.data_dir().display()
            ))),
            None => Ok(()),
        }
    }
}

/// Pings the database every `interval` and logs when it becomes unreachable and when it is back, so
/// an outage shows in the log even while no request arrives.
async fn watch_database(metadata: MetadataService, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reachable = true;
    loop {
        ticker.tick().await;
        match (metadata.ready().await, reachable) {
            (Err(err), true) => {
                tracing::warn!(error = %err.message, "database health check failed");
                reachable = false;
            }
            (Ok(()), false) => {
                tracing::info!("database reachable again");
                reachable = true;
            }
            _ => {}
        }
    }
}

/// Builds the accounts service on the pool.
pub async fn build_accounts(
    settings: &Settings,
    pool: &PgPool,
    clock: Arc<dyn Clock>,
) -> Result<AccountService, StartError> {
    use secrecy::ExposeSecret;
    let repo = Arc::new(PgAccountRepo::new(pool.clone()));
    let smtp_url = settings.auth.smtp_url.expose_secret();
    let mailer: Arc<dyn Mailer> = if smtp_url.is_empty() {
        Arc::new(OutboxMailer)
    } else {
        Arc::new(SmtpMailer::new(smtp_url, &settings.auth.mail_from).map_err(StartError::Accounts)?)
    };
    let key = crate::service::accounts::signing_key(repo.as_ref(), &settings.auth)
        .await
        .map_err(|e| StartError::Accounts(e.message))?;
    AccountService::new(repo, mailer, settings.auth.clone(), &key, clock)
        .map_err(|e| StartError::Accounts(e.message))
}

/// Reports this instance's view of its providers to the others every `interval`.
async fn report_provider_health(metadata: MetadataService, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        metadata.report_provider_health().await;
    }
}

/// Runs the account purge every `interval` (the first run right after start).
async fn run_purge_job(accounts: AccountService, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(err) = accounts.purge_deleted_accounts().await {
            tracing::warn!(error = %err.message, "account purge failed; retrying at the next interval");
        }
    }
}

async fn bind(addr: &str) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: addr.to_owned(),
            source,
        })
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled, so a signal that arrives while the application is still starting is not
/// lost (nor does it kill the process the default way, leaving the built-in server behind).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            let wait = |stream: Option<tokio::signal::unix::Signal>| async move {
                match stream {
                    Some(mut stream) => {
                        stream.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {},
                () = wait(terminate) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Installs the log subscriber (text or JSON) for the binary. Logs go to standard error (standard
/// output is for what a command prints), coloured only when that is a terminal. A server logs at
/// `logging.level`; a one-shot command (migrate, users) only its errors, unless `RUST_LOG` says
/// otherwise, so that its output is what it did.
pub fn init_logging(settings: &Settings, one_shot: bool) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let level = if one_shot {
        "error"
    } else {
        settings.logging.level.as_str()
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let result = if settings.logging.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if let Err(e) = result {
        eprintln!("logging already initialised: {e}");
    }
}
