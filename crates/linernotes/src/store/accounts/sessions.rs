//! Sessions with their rotating refresh tokens, and single-use mailed tokens (e-mail verification,
//! password reset).
//!
//! A refresh token is spent when it is exchanged; presenting a spent one again means it was copied, and
//! its whole session is revoked. Each exchange locks the session row, so two refreshes of one session
//! take turns.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::{PgAccountRepo, UserRepo};
use crate::domain::account::{
    RefreshOutcome, RequestContext, Session, TokenPurpose, User, VerifiedPassword,
};
use crate::store::StoreError;

/// Persistence of sessions, refresh tokens and mailed tokens.
#[async_trait]
pub trait SessionRepo: Send + Sync {
    /// Opens a session with its first refresh token and marks the user active — only if the user's
    /// password hash is still the one the password was checked against, replacing it by the upgrade
    /// when given; `None` (and nothing written) when the password was changed or
    /// reset meanwhile. One transaction holding the user's row lock, so a concurrent password change
    /// either comes first (and this login fails) or revokes the new session.
    async fn create_session(
        &self,
        user_id: Uuid,
        password: VerifiedPassword<'_>,
        context: &RequestContext,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        token_hash: &[u8],
    ) -> Result<Option<Session>, StoreError>;
    /// Exchanges a refresh token for a new one (see [`RefreshOutcome`]), in one transaction.
    async fn rotate_refresh_token(
        &self,
        old_hash: &[u8],
        new_hash: &[u8],
        context: &RequestContext,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome, StoreError>;
    /// Revokes the active session a refresh token belongs to; returns it.
    async fn revoke_session_by_token(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
        reason: &str,
    ) -> Result<Option<Session>, StoreError>;
    /// Revokes one active session of a user; false when there is none with that ID.
    async fn revoke_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool, StoreError>;
    /// The session if it is active (not revoked, not expired) and its user can act (not deleted, not
    /// disabled), with that user.
    async fn active_session(
        &self,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<(Session, User)>, StoreError>;
    /// A user's sessions, active ones first.
    async fn list_sessions(&self, user_id: Uuid) -> Result<Vec<Session>, StoreError>;

    /// Stores a single-use token's hash.
    async fn create_one_time_token(
        &self,
        user_id: Uuid,
        purpose: TokenPurpose,
        token_hash: &[u8],
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Marks an unused, unexpired token used and returns its user; `None` otherwise.
    async fn consume_one_time_token(
        &self,
        purpose: TokenPurpose,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>, StoreError>;

    /// Forgets mailed tokens expired before `now`, and sessions ended (revoked or expired) before
    /// `session_cutoff` with their refresh tokens; returns how many rows went.
    async fn prune_sessions_and_tokens(
        &self,
        now: DateTime<Utc>,
        session_cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
}

const SESSION_COLUMNS: &str =
    "id, user_id, created_at, last_used_at, expires_at, revoked_at, revoked_reason, user_agent, ip";

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    user_id: Uuid,
    created_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_reason: Option<String>,
    user_agent: Option<String>,
    ip: Option<String>,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        Session {
            id: r.id,
            user_id: r.user_id,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
            revoked_reason: r.revoked_reason,
            user_agent: r.user_agent,
            ip: r.ip,
        }
    }
}

/// Revokes every active session of a user (deletion, disabling).
pub(super) async fn revoke_all(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    revoke_all_except(tx, user_id, None, now, reason).await
}

/// Revokes every active session of a user but `keep` (the one changing the password).
pub(super) async fn revoke_all_except(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
    keep: Option<Uuid>,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = $2, revoked_reason = $3
         WHERE user_id = $1 AND revoked_at IS NULL AND ($4::uuid IS NULL OR id <> $4)",
    )
    .bind(user_id)
    .bind(now)
    .bind(reason)
    .bind(keep)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl SessionRepo for PgAccountRepo {
    async fn create_session(
        &self,
        user_id: Uuid,
        password: VerifiedPassword<'_>,
        context: &RequestContext,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        token_hash: &[u8],
    ) -> Result<Option<Session>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let current: Option<String> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1 FOR UPDATE")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
        let VerifiedPassword {
            verified_hash,
            upgraded_hash,
        } = password;
        if current.as_deref() != Some(verified_hash) {
            return Ok(None);
        }
        if let Some(upgraded) = upgraded_hash {
            sqlx::query("UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2")
                .bind(user_id)
                .bind(verified_hash)
                .bind(upgraded)
                .execute(&mut *tx)
                .await?;
        }
        let session: SessionRow = sqlx::query_as(&format!(
            "INSERT INTO sessions (user_id, created_at, last_used_at, expires_at, user_agent, ip)
             VALUES ($1, $2, $2, $3, $4, $5) RETURNING {SESSION_COLUMNS}"
        ))
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .bind(context.user_agent.as_deref())
        .bind(context.ip.map(|ip| ip.to_string()))
        .fetch_one(&mut *tx)
        .await?;
        insert_refresh_token(&mut tx, token_hash, session.id, now).await?;
        sqlx::query("UPDATE users SET last_active_at = $2 WHERE id = $1")
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(session.into()))
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &[u8],
        new_hash: &[u8],
        context: &RequestContext,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Lock the session first so two refreshes of one session take turns.
        let session: Option<SessionRow> = sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions
             WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)
             FOR UPDATE"
        ))
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(session) = session else {
            return Ok(RefreshOutcome::Rejected);
        };
        let used: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT used_at FROM refresh_tokens WHERE token_hash = $1")
                .bind(old_hash)
                .fetch_one(&mut *tx)
                .await?;
        if used.is_some() {
            if session.revoked_at.is_some() {
                tx.commit().await?;
                return Ok(RefreshOutcome::Rejected);
            }
            let revoked: SessionRow = sqlx::query_as(&format!(
                "UPDATE sessions SET revoked_at = $2, revoked_reason = 'token_reuse'
                 WHERE id = $1 RETURNING {SESSION_COLUMNS}"
            ))
            .bind(session.id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(RefreshOutcome::Reused {
                session: revoked.into(),
            });
        }
        let usable: bool = sqlx::query_scalar(
            "SELECT deleted_at IS NULL AND disabled_at IS NULL FROM users WHERE id = $1",
        )
        .bind(session.user_id)
        .fetch_one(&mut *tx)
        .await?;
        if session.revoked_at.is_some() || session.expires_at <= now || !usable {
            tx.commit().await?;
            return Ok(RefreshOutcome::Rejected);
        }
        sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1")
            .bind(old_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        insert_refresh_token(&mut tx, new_hash, session.id, now).await?;
        let session: SessionRow = sqlx::query_as(&format!(
            "UPDATE sessions SET last_used_at = $2, user_agent = coalesce($3, user_agent),
                    ip = coalesce($4, ip)
             WHERE id = $1 RETURNING {SESSION_COLUMNS}"
        ))
        .bind(session.id)
        .bind(now)
        .bind(context.user_agent.as_deref())
        .bind(context.ip.map(|ip| ip.to_string()))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE users SET last_active_at = $2 WHERE id = $1")
            .bind(session.user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RefreshOutcome::Rotated {
            session: session.into(),
        })
    }

    async fn revoke_session_by_token(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
        reason: &str,
    ) -> Result<Option<Session>, StoreError> {
        let session: Option<SessionRow> = sqlx::query_as(&format!(
            "UPDATE sessions SET revoked_at = $2, revoked_reason = $3
             WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)
               AND revoked_at IS NULL
             RETURNING {SESSION_COLUMNS}"
        ))
        .bind(token_hash)
        .bind(now)
        .bind(reason)
        .fetch_optional(&self.pool)
        .await?;
        Ok(session.map(Session::from))
    }

    async fn revoke_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $3, revoked_reason = $4
             WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(session_id)
        .bind(now)
        .bind(reason)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn active_session(
        &self,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<(Session, User)>, StoreError> {
        let session: Option<SessionRow> = sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions
             WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2"
        ))
        .bind(session_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(session) = session else {
            return Ok(None);
        };
        let user = self.find_by_id(session.user_id).await?;
        Ok(user
            .filter(|u| u.deleted_at.is_none() && u.disabled_at.is_none())
            .map(|u| (session.into(), u)))
    }

    async fn list_sessions(&self, user_id: Uuid) -> Result<Vec<Session>, StoreError> {
        let rows: Vec<SessionRow> = sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1
             ORDER BY revoked_at IS NOT NULL, last_used_at DESC"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Session::from).collect())
    }

    async fn create_one_time_token(
        &self,
        user_id: Uuid,
        purpose: TokenPurpose,
        token_hash: &[u8],
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO one_time_tokens (token_hash, user_id, purpose, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn consume_one_time_token(
        &self,
        purpose: TokenPurpose,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>, StoreError> {
        Ok(sqlx::query_scalar(
            "UPDATE one_time_tokens SET used_at = $3
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
             RETURNING user_id",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn prune_sessions_and_tokens(
        &self,
        now: DateTime<Utc>,
        session_cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let tokens = sqlx::query("DELETE FROM one_time_tokens WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let sessions = sqlx::query(
            "DELETE FROM sessions WHERE least(coalesce(revoked_at, expires_at), expires_at) < $1",
        )
        .bind(session_cutoff)
        .execute(&self.pool)
        .await?;
        Ok(tokens.rows_affected() + sessions.rows_affected())
    }
}

/// Issues a refresh token (by its hash) for a session.
async fn insert_refresh_token(
    tx: &mut sqlx::PgConnection,
    token_hash: &[u8],
    session_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, issued_at) VALUES ($1, $2, $3)",
    )
    .bind(token_hash)
    .bind(session_id)
    .bind(at)
    .execute(tx)
    .await?;
    Ok(())
}
