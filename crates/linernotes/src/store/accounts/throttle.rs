//! Login-throttle counters, one row per key (`account:<address>`, `ip:<address>`, `reset:<address>`,
//! `ip-requests:<address>`), and the (client address, account) pairs that logged in with the right
//! password. The arithmetic is the domain's ([`ThrottleState`]); this file only makes each change
//! atomic.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PgAccountRepo;
use crate::domain::account::ThrottleState;
use crate::store::StoreError;

/// Persistence of login-throttle counters.
#[async_trait]
pub trait ThrottleRepo: Send + Sync {
    /// Changes a key's counters atomically: one transaction holding the row lock, so concurrent callers
    /// are serialised (`next` computes the new state from the old; a missing key starts fresh at `now`).
    /// Answers the state before and after.
    async fn throttle_update(
        &self,
        key: &str,
        now: DateTime<Utc>,
        next: &(dyn Fn(ThrottleState) -> ThrottleState + Send + Sync),
    ) -> Result<(ThrottleState, ThrottleState), StoreError>;
    /// Forgets a key's counters (after a successful login).
    async fn throttle_clear(&self, key: &str) -> Result<(), StoreError>;
    /// Remembers that `account` (a normalised address) logged in with its right password from `ip`.
    async fn remember_login(
        &self,
        ip: &str,
        account: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Whether `account` logged in with its right password from `ip` since `since`.
    async fn known_login(
        &self,
        ip: &str,
        account: &str,
        since: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Forgets counters idle since before `cutoff` and not locked at `now`, and logins remembered from
    /// before `known_cutoff`; returns how many rows went.
    async fn prune_throttle(
        &self,
        now: DateTime<Utc>,
        cutoff: DateTime<Utc>,
        known_cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
}

#[derive(sqlx::FromRow)]
struct ThrottleRow {
    window_start: DateTime<Utc>,
    failures: i32,
    locked_until: Option<DateTime<Utc>>,
    lockouts: i32,
}

impl From<ThrottleRow> for ThrottleState {
    fn from(r: ThrottleRow) -> Self {
        ThrottleState {
            window_start: r.window_start,
            failures: u32::try_from(r.failures).unwrap_or(0),
            locked_until: r.locked_until,
            lockouts: u32::try_from(r.lockouts).unwrap_or(0),
        }
    }
}

fn clamp_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[async_trait]
impl ThrottleRepo for PgAccountRepo {
    async fn throttle_update(
        &self,
        key: &str,
        now: DateTime<Utc>,
        next: &(dyn Fn(ThrottleState) -> ThrottleState + Send + Sync),
    ) -> Result<(ThrottleState, ThrottleState), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO login_throttle (key, window_start) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let current: ThrottleRow = sqlx::query_as(
            "SELECT window_start, failures, locked_until, lockouts FROM login_throttle
             WHERE key = $1 FOR UPDATE",
        )
        .bind(key)
        .fetch_one(&mut *tx)
        .await?;
        let before = ThrottleState::from(current);
        let state = next(before);
        sqlx::query(
            "UPDATE login_throttle SET window_start = $2, failures = $3, locked_until = $4, lockouts = $5
             WHERE key = $1",
        )
        .bind(key)
        .bind(state.window_start)
        .bind(clamp_i32(state.failures))
        .bind(state.locked_until)
        .bind(clamp_i32(state.lockouts))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((before, state))
    }

    async fn throttle_clear(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_throttle WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn remember_login(
        &self,
        ip: &str,
        account: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO known_login (ip, account, last_success_at) VALUES ($1, $2, $3)
             ON CONFLICT (ip, account) DO UPDATE
             SET last_success_at = GREATEST(known_login.last_success_at, EXCLUDED.last_success_at)",
        )
        .bind(ip)
        .bind(account)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn known_login(
        &self,
        ip: &str,
        account: &str,
        since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM known_login
                            WHERE ip = $1 AND account = $2 AND last_success_at >= $3)",
        )
        .bind(ip)
        .bind(account)
        .bind(since)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn prune_throttle(
        &self,
        now: DateTime<Utc>,
        cutoff: DateTime<Utc>,
        known_cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let counters = sqlx::query(
            "DELETE FROM login_throttle
             WHERE window_start < $2 AND (locked_until IS NULL OR locked_until < $1)",
        )
        .bind(now)
        .bind(cutoff)
        .execute(&self.pool)
        .await?;
        let known = sqlx::query("DELETE FROM known_login WHERE last_success_at < $1")
            .bind(known_cutoff)
            .execute(&self.pool)
            .await?;
        Ok(counters.rows_affected() + known.rows_affected())
    }
}
