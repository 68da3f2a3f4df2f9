//! Read replicas: reads that tolerate lag (metadata) go to a healthy replica, round robin; everything
//! else, and any read a replica cannot answer, goes to the primary.
//!
//! Each replica is checked every `database.replica_check_interval_secs`: it must answer, be in
//! recovery (a standby), and lag the primary by at most `database.replica_max_lag_bytes` of WAL.
//! A replica whose query fails with a connection error is marked unhealthy at once and the read is
//! answered by the primary, so a replica going away costs no failed request. A replica that lacks a
//! row the primary has (it has not replayed that write yet) answers "not found", which the callers
//! treat as a reason to ask the primary: lag never makes a stored entity look missing.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::PgPool;

use super::{ConnectError, StoreError};
use crate::config::{redact_url, DatabaseSettings};
use crate::domain::ReplicaStatus;

/// The pools reads may use: the primary and the replicas.
#[derive(Clone)]
pub struct ReadPools {
    primary: PgPool,
    replicas: Arc<[Replica]>,
    next: Arc<AtomicUsize>,
    max_lag_bytes: i64,
}

struct Replica {
    /// The URL, password redacted.
    name: String,
    pool: PgPool,
    healthy: AtomicBool,
    /// Bytes of WAL behind the primary at the last check; -1 while unknown.
    lag_bytes: AtomicI64,
    /// Milliseconds since the last replayed transaction's commit at the last check; -1 while unknown.
    replay_age_ms: AtomicI64,
    /// Reads this replica answered.
    reads: AtomicU64,
}

impl std::fmt::Debug for ReadPools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadPools")
            .field("replicas", &self.statuses())
            .finish()
    }
}

impl ReadPools {
    /// Reads on the primary alone.
    pub fn primary_only(primary: PgPool) -> Self {
        Self {
            primary,
            replicas: Arc::from(Vec::new()),
            next: Arc::new(AtomicUsize::new(0)),
            max_lag_bytes: 0,
        }
    }

    /// Connects to every replica of `settings` (lazily: a replica down at start only starts
    /// unhealthy) beside `primary`.
    pub fn connect(primary: PgPool, settings: &DatabaseSettings) -> Result<Self, ConnectError> {
        let mut replicas = Vec::new();
        for url in &settings.replica_urls {
            let mut one = settings.clone();
            one.url = Some(url.clone());
            one.create_if_missing = false;
            one.min_connections = 0;
            let pool = super::connect_lazy(&one, "linernotes replica reads")?;
            replicas.push(Replica {
                name: redact_url(url.expose_secret()),
                pool,
                healthy: AtomicBool::new(false),
                lag_bytes: AtomicI64::new(-1),
                replay_age_ms: AtomicI64::new(-1),
                reads: AtomicU64::new(0),
            });
        }
        Ok(Self {
            primary,
            replicas: Arc::from(replicas),
            next: Arc::new(AtomicUsize::new(0)),
            max_lag_bytes: i64::try_from(settings.replica_max_lag_bytes).unwrap_or(i64::MAX),
        })
    }

    /// The primary.
    pub fn primary(&self) -> &PgPool {
        &self.primary
    }

    /// The next healthy replica, round robin.
    fn pick(&self) -> Option<&Replica> {
        let count = self.replicas.len();
        if count == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..count)
            .map(|i| &self.replicas[(start + i) % count])
            .find(|replica| replica.healthy.load(Ordering::Relaxed))
    }

    /// Runs a read on a healthy replica, or on the primary when none is healthy, when the replica
    /// fails to answer (it is then marked unhealthy), or when `ask_primary` says the replica's answer
    /// may only mean it lags (e.g. a row not found).
    pub async fn read<T, F, Fut>(
        &self,
        ask_primary: impl Fn(&T) -> bool,
        query: F,
    ) -> Result<T, StoreError>
    where
        F: Fn(PgPool) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        if let Some(replica) = self.pick() {
            match query(replica.pool.clone()).await {
                Ok(answer) if !ask_primary(&answer) => {
                    replica.reads.fetch_add(1, Ordering::Relaxed);
                    return Ok(answer);
                }
                Ok(_) => {}
                Err(StoreError::Unavailable(reason) | StoreError::ConnectionLost(reason)) => {
                    tracing::warn!(replica = %replica.name, %reason, "replica unavailable; reading from the primary");
                    replica.healthy.store(false, Ordering::Relaxed);
                }
                Err(other) => return Err(other),
            }
        }
        // A connection that broke since its last use fails once; each failure closes that connection,
        // so trying as many times as the pool has connections reaches a working (or a new) one.
        let attempts = self.primary.options().get_max_connections() + 1;
        let mut attempt = 1;
        loop {
            match query(self.primary.clone()).await {
                Err(StoreError::ConnectionLost(reason)) if attempt < attempts => {
                    tracing::debug!(%reason, attempt, "connection lost under a read; trying another");
                    attempt += 1;
                }
                answer => return answer,
            }
        }
    }

    /// Checks every replica once: answering, a standby, and within the lag limit.
    pub async fn check(&self) {
        let primary_lsn: Option<String> = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
            .fetch_one(&self.primary)
            .await
            .ok();
        for replica in self.replicas.iter() {
            let state: Result<(bool, Option<String>, Option<f64>), sqlx::Error> = sqlx::query_as(
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, \
                 (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8",
            )
            .fetch_one(&replica.pool)
            .await;
            let healthy = match state {
                Ok((true, Some(replayed), age)) => {
                    let lag: Option<i64> = match &primary_lsn {
                        Some(current) => sqlx::query_scalar(
                            "SELECT greatest(pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn), 0)::int8",
                        )
                        .bind(current)
                        .bind(&replayed)
                        .fetch_one(&self.primary)
                        .await
                        .ok(),
                        None => None,
                    };
                    replica
                        .lag_bytes
                        .store(lag.unwrap_or(-1), Ordering::Relaxed);
                    replica
                        .replay_age_ms
                        .store(age.map_or(-1, |ms| ms as i64), Ordering::Relaxed);
                    lag.is_some_and(|lag| lag <= self.max_lag_bytes)
                }
                Ok((in_recovery, _, _)) => {
                    if !in_recovery {
                        tracing::warn!(replica = %replica.name, "replica is not a standby (not in recovery); not reading from it");
                    }
                    false
                }
                Err(err) => {
                    tracing::debug!(replica = %replica.name, error = %err, "replica check failed");
                    false
                }
            };
            let was = replica.healthy.swap(healthy, Ordering::Relaxed);
            if was != healthy {
                tracing::info!(replica = %replica.name, healthy, "replica health changed");
            }
        }
    }

    /// Checks the replicas every `interval` until the task is aborted (the first check at once).
    pub fn spawn_checks(&self, interval: Duration) -> Option<tokio::task::JoinHandle<()>> {
        if self.replicas.is_empty() {
            return None;
        }
        let pools = self.clone();
        Some(tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                pools.check().await;
            }
        }))
    }

    /// Each replica as the last check saw it.
    pub fn statuses(&self) -> Vec<ReplicaStatus> {
        self.replicas
            .iter()
            .map(|replica| {
                let known = |value: i64| (value >= 0).then_some(value);
                ReplicaStatus {
                    name: replica.name.clone(),
                    healthy: replica.healthy.load(Ordering::Relaxed),
                    lag_bytes: known(replica.lag_bytes.load(Ordering::Relaxed)),
                    replay_age_ms: known(replica.replay_age_ms.load(Ordering::Relaxed)),
                    reads: replica.reads.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    /// Sets the replica gauges `linernotes_db_replica_healthy{replica}` and
    /// `linernotes_db_replica_lag_bytes{replica}` and the counter of reads (called at scrape time;
    /// `replica` is the replica's position in `database.replica_urls`).
    pub fn record_gauges(&self) {
        for (index, status) in self.statuses().into_iter().enumerate() {
            let label = index.to_string();
            metrics::gauge!("linernotes_db_replica_healthy", "replica" => label.clone())
                .set(if status.healthy { 1.0 } else { 0.0 });
            metrics::gauge!("linernotes_db_replica_lag_bytes", "replica" => label.clone())
                .set(status.lag_bytes.map_or(-1.0, |lag| lag as f64));
            metrics::gauge!("linernotes_db_replica_reads", "replica" => label)
                .set(status.reads as f64);
        }
    }

    /// Closes the replicas' pools.
    pub async fn close(&self) {
        for replica in self.replicas.iter() {
            replica.pool.close().await;
        }
    }
}
