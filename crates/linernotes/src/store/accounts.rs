//! The accounts repository: users with their preferences and settings, sessions and their rotating
//! refresh tokens, single-use mailed tokens, login-throttle counters, the mail outbox and the audit log.
//!
//! Multi-statement writes run in one transaction each. A duplicate e-mail address is recognised by
//! SQLSTATE 23505 on `users_email_lower_key` and reported as [`AccountStoreError::AlreadyExists`]. Tokens
//! reach this layer only as SHA-256 hashes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::StoreError;
use crate::domain::account::{AuditAction, RequestContext, Role, ThrottleState};

/// Failures of account writes that a caller must tell apart.
#[derive(Debug, thiserror::Error)]
pub enum AccountStoreError {
    /// A unique constraint refused the write (SQLSTATE 23505): the e-mail address is taken.
    #[error("already exists")]
    AlreadyExists,
    /// Anything else.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AccountStoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
                AccountStoreError::AlreadyExists
            }
            _ => AccountStoreError::Store(StoreError::from(err)),
        }
    }
}

/// An account as stored (the password hash included; it never leaves the service layer, and `Debug`
/// leaves it out).
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// ID.
    pub id: Uuid,
    /// E-mail address as given.
    pub email: String,
    /// PHC string (`$argon2id$…`) or a legacy bcrypt hash (`$2b$…`).
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Whether the address was verified.
    pub is_verified: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Display name.
    pub display_name: String,
    /// Avatar URL.
    pub avatar_url: Option<String>,
    /// Bio.
    pub bio: Option<String>,
    /// Set once the account is deleted.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Set while an admin has disabled the account.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Last login or refresh.
    pub last_active_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    password_hash: String,
    role: String,
    is_verified: bool,
    created_at: DateTime<Utc>,
    display_name: String,
    avatar_url: Option<String>,
    bio: Option<String>,
    deleted_at: Option<DateTime<Utc>>,
    disabled_at: Option<DateTime<Utc>>,
    last_active_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            role: Role::parse(&r.role).map_err(StoreError::Corrupt)?,
            id: r.id,
            email: r.email,
            password_hash: r.password_hash,
            is_verified: r.is_verified,
            created_at: r.created_at,
            display_name: r.display_name,
            avatar_url: r.avatar_url,
            bio: r.bio,
            deleted_at: r.deleted_at,
            disabled_at: r.disabled_at,
            last_active_at: r.last_active_at,
        })
    }
}

const USER_COLUMNS: &str =
    "id, email, password_hash, role, is_verified, created_at, display_name, \
     avatar_url, bio, deleted_at, disabled_at, last_active_at";

/// Language and region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Preferences {
    /// Language tag.
    pub language: Option<String>,
    /// Region code.
    pub region: Option<String>,
}

/// Privacy and notification settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AccountSettings {
    /// Keep listening history.
    pub keep_listening_history: bool,
    /// Keep search history.
    pub keep_search_history: bool,
    /// Profile visible to others.
    pub public_profile: bool,
    /// Mail about news is welcome.
    pub email_opt_in: bool,
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// ID (kept when importing; fresh otherwise).
    pub id: Uuid,
    /// Valid, trimmed address.
    pub email: &'a str,
    /// Password hash.
    pub password_hash: &'a str,
    /// Display name.
    pub display_name: &'a str,
    /// Role.
    pub role: Role,
    /// Whether the address is verified already.
    pub is_verified: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// An audit entry to append.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    /// What happened.
    pub action: AuditAction,
    /// Who did it (none for anonymous attempts).
    pub actor_id: Option<Uuid>,
    /// Whose account it concerns.
    pub subject_id: Option<Uuid>,
    /// Where from.
    pub context: &'a RequestContext,
    /// Free-form details (never secrets).
    pub details: serde_json::Value,
    /// When.
    pub at: DateTime<Utc>,
}

/// A stored audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    /// Sequence number.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// What (an [`AuditAction`] name).
    pub action: String,
    /// Who did it.
    pub actor_id: Option<Uuid>,
    /// Whose account.
    pub subject_id: Option<Uuid>,
    /// Client address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Details.
    pub details: serde_json::Value,
}

/// What to read from the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Entries whose subject or actor is this account.
    pub user_id: Option<Uuid>,
    /// Entries of this action.
    pub action: Option<AuditAction>,
    /// Most entries, newest first.
    pub limit: i64,
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Session {
    /// ID.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// Last login or refresh.
    pub last_used_at: DateTime<Utc>,
    /// End of life.
    pub expires_at: DateTime<Utc>,
    /// Set when revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why (logout, revoked, token_reuse, password_reset, …).
    pub revoked_reason: Option<String>,
    /// User agent of the last use.
    pub user_agent: Option<String>,
    /// Client address of the last use.
    pub ip: Option<String>,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current: it is now used, the new one issued, the session touched.
    Rotated {
        /// The session.
        session: Session,
    },
    /// The token had been rotated already: the session was revoked now.
    Reused {
        /// The revoked session.
        session: Session,
    },
    /// No such token, or its session is revoked or expired.
    Rejected,
}

/// Which single-use token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// E-mail verification.
    VerifyEmail,
    /// Password reset.
    PasswordReset,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::PasswordReset => "password_reset",
        }
    }
}

/// Changes to profile, preferences and settings; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChange {
    /// Display name.
    pub display_name: Option<String>,
    /// Avatar URL.
    pub avatar_url: Option<Option<String>>,
    /// Bio.
    pub bio: Option<Option<String>>,
    /// Language.
    pub language: Option<Option<String>>,
    /// Region.
    pub region: Option<Option<String>>,
    /// Keep listening history.
    pub keep_listening_history: Option<bool>,
    /// Keep search history.
    pub keep_search_history: Option<bool>,
    /// Public profile.
    pub public_profile: Option<bool>,
    /// Mail opt-in.
    pub email_opt_in: Option<bool>,
}

/// A mail in the outbox (`Debug` leaves out the body, which carries a token).
#[derive(Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct OutboxMail {
    /// Sequence number.
    pub id: i64,
    /// Recipient.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// When queued.
    pub created_at: DateTime<Utc>,
}

/// A user of the table the project grew from: `users(id, email, password_hash, role, is_verified,
/// created_at)`. `Debug` leaves out the hash.
#[derive(Clone, sqlx::FromRow)]
pub struct LegacyUser {
    /// ID, kept.
    pub id: Uuid,
    /// E-mail address.
    pub email: String,
    /// bcrypt hash.
    pub password_hash: String,
    /// `user` or `admin`.
    pub role: String,
    /// Whether verified.
    pub is_verified: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

const REDACTED: &str = "[redacted]";

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("password_hash", &REDACTED)
            .field("role", &self.role)
            .field("is_verified", &self.is_verified)
            .field("created_at", &self.created_at)
            .field("display_name", &self.display_name)
            .field("avatar_url", &self.avatar_url)
            .field("bio", &self.bio)
            .field("deleted_at", &self.deleted_at)
            .field("disabled_at", &self.disabled_at)
            .field("last_active_at", &self.last_active_at)
            .finish()
    }
}

impl std::fmt::Debug for OutboxMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMail")
            .field("id", &self.id)
            .field("recipient", &self.recipient)
            .field("subject", &self.subject)
            .field("body", &REDACTED)
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl std::fmt::Debug for LegacyUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyUser")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("password_hash", &REDACTED)
            .field("role", &self.role)
            .field("is_verified", &self.is_verified)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// The password hash a login checked, and its replacement when it is to be upgraded.
#[derive(Clone, Copy)]
pub struct VerifiedPassword<'a> {
    /// The stored hash the password matched.
    pub verified_hash: &'a str,
    /// A current-cost Argon2id hash of the same password, to store instead.
    pub upgraded_hash: Option<&'a str>,
}

/// Persistence of accounts.
#[async_trait]
pub trait AccountRepo: Send + Sync {
    /// Creates an account with default preferences and settings and appends `audit`, in one transaction.
    async fn create_user(
        &self,
        user: NewUser<'_>,
        audit: NewAuditEntry<'_>,
    ) -> Result<(), AccountStoreError>;
    /// The account with this address (case-insensitive), deleted or not.
    async fn find_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;
    /// The account with this ID, deleted or not.
    async fn find_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError>;
    /// Replaces a password hash, revokes every session but `keep`, spends outstanding reset tokens and
    /// appends `audit`, in one transaction.
    async fn change_password(
        &self,
        id: Uuid,
        hash: &str,
        keep: Option<Uuid>,
        revoke_reason: &str,
        audit: NewAuditEntry<'_>,
    ) -> Result<(), StoreError>;

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
    /// Marks the address verified and appends `audit`.
    async fn mark_verified(
        &self,
        user_id: Uuid,
        audit: NewAuditEntry<'_>,
    ) -> Result<(), StoreError>;

    /// Queues a mail in the outbox; answers its ID.
    async fn enqueue_mail(
        &self,
        user_id: Option<Uuid>,
        recipient: &str,
        subject: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Removes a mail from the outbox (it was sent).
    async fn remove_from_outbox(&self, id: i64) -> Result<(), StoreError>;
    /// The outbox mails to one recipient, newest first.
    async fn outbox_for(&self, recipient: &str) -> Result<Vec<OutboxMail>, StoreError>;

    /// Appends an audit entry.
    async fn audit(&self, entry: NewAuditEntry<'_>) -> Result<(), StoreError>;
    /// Reads the audit log, newest first.
    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;

    /// A user's preferences and settings.
    async fn preferences_and_settings(
        &self,
        user_id: Uuid,
    ) -> Result<(Preferences, AccountSettings), StoreError>;
    /// Applies a profile change and appends `audit`, in one transaction.
    async fn update_profile(
        &self,
        user_id: Uuid,
        change: &ProfileChange,
        audit: NewAuditEntry<'_>,
    ) -> Result<(), StoreError>;

    /// Soft-deletes an account, revokes its sessions and appends `audit`, in one transaction.
    async fn soft_delete(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
        audit: NewAuditEntry<'_>,
    ) -> Result<(), StoreError>;
    /// Soft-deletes non-admin accounts inactive since before `cutoff`; returns their IDs.
    async fn delete_inactive(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, StoreError>;
    /// Removes accounts deleted before `cutoff` with everything that belongs to them (their own audit
    /// entries included), appending one `account_purged` entry per account; returns their IDs.
    async fn purge_deleted(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, StoreError>;

    /// Forgets throttle counters idle since before `throttle_cutoff` (and not locked at `now`), mailed
    /// tokens expired before `now`, and sessions ended (revoked or expired) before `session_cutoff` with
    /// their refresh tokens; returns how many rows went.
    async fn prune(
        &self,
        now: DateTime<Utc>,
        throttle_cutoff: DateTime<Utc>,
        session_cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// A page of accounts whose e-mail or display name contains `query` (all when empty), oldest first,
    /// with the total count.
    async fn list_users(
        &self,
        query: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<User>, i64), StoreError>;
    /// Sets role and/or the disabled flag (disabling revokes every session) and appends the audit
    /// entries, in one transaction.
    async fn admin_update(
        &self,
        user_id: Uuid,
        role: Option<Role>,
        disabled: Option<bool>,
        now: DateTime<Utc>,
        audit: Vec<NewAuditEntry<'_>>,
    ) -> Result<(), StoreError>;
    /// Inserts legacy users that are not present yet (by ID or address); returns (imported, skipped).
    async fn import_users(
        &self,
        users: &[LegacyUser],
        audit: NewAuditEntry<'_>,
    ) -> Result<(u64, u64), StoreError>;

    // --- library (issue 4) ---
    /// The privacy and notification settings alone (one query; the library reads them per play).
    async fn settings(&self, user_id: Uuid) -> Result<Option<AccountSettings>, StoreError>;
    // --- end library ---
}

/// [`AccountRepo`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgAccountRepo {
    pool: PgPool,
}

impl PgAccountRepo {
    /// Wraps a pool.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

async fn insert_audit(
    executor: impl sqlx::PgExecutor<'_>,
    e: &NewAuditEntry<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (at, action, actor_id, subject_id, ip, user_agent, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.at)
    .bind(e.action.as_str())
    .bind(e.actor_id)
    .bind(e.subject_id)
    .bind(e.context.ip.map(|ip| ip.to_string()))
    .bind(e.context.user_agent.as_deref())
    .bind(&e.details)
    .execute(executor)
    .await?;
    Ok(())
}

async fn revoke_all(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    revoke_all_except(tx, user_id, None, now, reason).await
}

async fn revoke_all_except(
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

const SESSION_COLUMNS: &str =
    "id, user_id, created_at, last_used_at, expires_at, revoked_at, revoked_reason, user_agent, ip";

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
impl AccountRepo for PgAccountRepo {
    async fn create_user(
        &self,
        user: NewUser<'_>,
        audit: NewAuditEntry<'_>,
    ) -> Result<(), AccountStoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, role, is_verified, created_at, display_name,
                                last_active_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $6)",
        )
        .bind(user.id)
        .bind(user.email)
        .bind(user.password_hash)
        .bind(user.role.as_str())
        .bind(user.is_verified)
        .bind(user.created_at)
        .bind(user.display_name)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO user_preferences (user_id) VALUES ($1)")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO user_settings (user_id) VALUES ($1)")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.map(User::try_from).transpose()
    }

    async fn find_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(User::try_from).transpose()
    }

    async fn change_password(
        &self,
        id: Uuid,
        hash: &str,
        keep: Option<Uuid>,
        revoke_reason: &str,
        audit: NewAuditEntry<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(hash)
            .bind(audit.at)
            .execute(&mut *tx)
            .await?;
        revoke_all_except(&mut tx, id, keep, audit.at, revoke_reason).await?;
        // Reset tokens still outstanding belong to the old password.
        sqlx::query(
            "UPDATE one_time_tokens SET used_at = $2
             WHERE user_id = $1 AND purpose = 'password_reset' AND used_at IS NULL",
        )
        .bind(id)
        .bind(audit.at)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

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
        let session: Session = sqlx::query_as(&format!(
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
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, issued_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(session.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE users SET last_active_at = $2 WHERE id = $1")
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(session))
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
        let session: Option<Session> = sqlx::query_as(&format!(
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
            let revoked: Session = sqlx::query_as(&format!(
                "UPDATE sessions SET revoked_at = $2, revoked_reason = 'token_reuse'
                 WHERE id = $1 RETURNING {SESSION_COLUMNS}"
            ))
            .bind(session.id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(RefreshOutcome::Reused { session: revoked });
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
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, issued_at) VALUES ($1, $2, $3)",
        )
        .bind(new_hash)
        .bind(session.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let session: Session = sqlx::query_as(&format!(
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
        Ok(RefreshOutcome::Rotated { session })
    }

    async fn revoke_session_by_token(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
        reason: &str,
    ) -> Result<Option<Session>, StoreError> {
        let session: Option<Session> = sqlx::query_as(&format!(
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
        Ok(session)
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
        let session: Option<Session> = sqlx::query_as(&format!(
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
            .map(|u| (session, u)))
    }

    async fn list_sessions(&self, user_id: Uuid) -> Result<Vec<Session>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1
             ORDER BY revoked_at IS NOT NULL, last_used_at DESC"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
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

    async fn mark_verified(
        &self,
        user_id: Uuid,
        audit: NewAuditEntry<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET is_verified = true, updated_at = $2 WHERE id = $1")
            .bind(user_id)
            .bind(audit.at)
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn enqueue_mail(
        &self,
        user_id: Option<Uuid>,
        recipient: &str,
        subject: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO mail_outbox (user_id, recipient, subject, body, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user_id)
        .bind(recipient)
        .bind(subject)
        .bind(body)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn remove_from_outbox(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM mail_outbox WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn outbox_for(&self, recipient: &str) -> Result<Vec<OutboxMail>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, recipient, subject, body, created_at FROM mail_outbox
             WHERE lower(recipient) = lower($1) ORDER BY id DESC",
        )
        .bind(recipient)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn audit(&self, entry: NewAuditEntry<'_>) -> Result<(), StoreError> {
        insert_audit(&self.pool, &entry).await?;
        Ok(())
    }

    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, at, action, actor_id, subject_id, ip, user_agent, details FROM audit_log
             WHERE ($1::uuid IS NULL OR subject_id = $1 OR actor_id = $1)
               AND ($2::text IS NULL OR action = $2)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(filter.user_id)
        .bind(filter.action.map(|a| a.as_str()))
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn preferences_and_settings(
        &self,
        user_id: Uuid,
    ) -> Result<(Preferences, AccountSettings), StoreError> {
        let preferences: Option<Preferences> =
            sqlx::query_as("SELECT language, region FROM user_preferences WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        let settings: Option<AccountSettings> = sqlx::query_as(
            "SELECT keep_listening_history, keep_search_history, public_profile, email_opt_in
             FROM user_settings WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        match (preferences, settings) {
            (Some(p), Some(s)) => Ok((p, s)),
            _ => Err(StoreError::Corrupt(format!(
                "user {user_id} has no preferences or settings row"
            ))),
        }
    }

    async fn update_profile(
        &self,
        user_id: Uuid,
        c: &ProfileChange,
        audit: NewAuditEntry<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // For nullable fields: $n = whether to set, $n+1 = the value (NULL clears).
        sqlx::query(
            "UPDATE users SET
                display_name = coalesce($2, display_name),
                avatar_url = CASE WHEN $3 THEN $4 ELSE avatar_url END,
                bio = CASE WHEN $5 THEN $6 ELSE bio END,
                updated_at = $7
             WHERE id = $1",
        )
        .bind(user_id)
        .bind(c.display_name.as_deref())
        .bind(c.avatar_url.is_some())
        .bind(c.avatar_url.clone().flatten())
        .bind(c.bio.is_some())
        .bind(c.bio.clone().flatten())
        .bind(audit.at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE user_preferences SET
                language = CASE WHEN $2 THEN $3 ELSE language END,
                region = CASE WHEN $4 THEN $5 ELSE region END
             WHERE user_id = $1",
        )
        .bind(user_id)
        .bind(c.language.is_some())
        .bind(c.language.clone().flatten())
        .bind(c.region.is_some())
        .bind(c.region.clone().flatten())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE user_settings SET
                keep_listening_history = coalesce($2, keep_listening_history),
                keep_search_history = coalesce($3, keep_search_history),
                public_profile = coalesce($4, public_profile),
                email_opt_in = coalesce($5, email_opt_in)
             WHERE user_id = $1",
        )
        .bind(user_id)
        .bind(c.keep_listening_history)
        .bind(c.keep_search_history)
        .bind(c.public_profile)
        .bind(c.email_opt_in)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn soft_delete(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
        audit: NewAuditEntry<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        revoke_all(&mut tx, user_id, now, "account_deleted").await?;
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_inactive(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE users SET deleted_at = $2
             WHERE deleted_at IS NULL AND role = 'user' AND last_active_at < $1
             RETURNING id",
        )
        .bind(cutoff)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let context = RequestContext::default();
        for id in &ids {
            revoke_all(&mut tx, *id, now, "account_deleted").await?;
            insert_audit(
                &mut *tx,
                &NewAuditEntry {
                    action: AuditAction::AccountDeleted,
                    actor_id: None,
                    subject_id: Some(*id),
                    context: &context,
                    details: serde_json::json!({"reason": "inactive", "inactive_since": cutoff}),
                    at: now,
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn purge_deleted(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET LOCAL linernotes.purge = 'on'")
            .execute(&mut *tx)
            .await?;
        // Sessions, tokens, preferences, settings and outbox mail go with the user (ON DELETE CASCADE).
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "DELETE FROM users WHERE deleted_at IS NOT NULL AND deleted_at <= $1 RETURNING id",
        )
        .bind(cutoff)
        .fetch_all(&mut *tx)
        .await?;
        if !ids.is_empty() {
            // Their own security events (their own actions, and anonymous ones such as failed logins
            // on their address) hold IPs and user agents: personal data that goes too. What someone
            // else did to the account (every admin action) stays for accountability, as do entries
            // where they acted on others; those carry the actor's address and agent and no personal
            // field of the purged subject beyond its (now dangling) ID.
            sqlx::query(
                "DELETE FROM audit_log
                 WHERE subject_id = ANY($1) AND (actor_id IS NULL OR actor_id = subject_id)",
            )
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
            let context = RequestContext::default();
            for id in &ids {
                insert_audit(
                    &mut *tx,
                    &NewAuditEntry {
                        action: AuditAction::AccountPurged,
                        actor_id: None,
                        subject_id: Some(*id),
                        context: &context,
                        details: serde_json::json!({}),
                        at: now,
                    },
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn prune(
        &self,
        now: DateTime<Utc>,
        throttle_cutoff: DateTime<Utc>,
        session_cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let throttle = sqlx::query(
            "DELETE FROM login_throttle
             WHERE window_start < $2 AND (locked_until IS NULL OR locked_until < $1)",
        )
        .bind(now)
        .bind(throttle_cutoff)
        .execute(&self.pool)
        .await?;
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
        Ok(throttle.rows_affected() + tokens.rows_affected() + sessions.rows_affected())
    }

    async fn list_users(
        &self,
        query: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<User>, i64), StoreError> {
        let pattern = format!(
            "%{}%",
            query
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users
             WHERE lower(email) LIKE $1 OR lower(display_name) LIKE $1
             ORDER BY created_at, id LIMIT $2 OFFSET $3"
        ))
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM users WHERE lower(email) LIKE $1 OR lower(display_name) LIKE $1",
        )
        .bind(&pattern)
        .fetch_one(&self.pool)
        .await?;
        let users = rows
            .into_iter()
            .map(User::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((users, total))
    }

    async fn admin_update(
        &self,
        user_id: Uuid,
        role: Option<Role>,
        disabled: Option<bool>,
        now: DateTime<Utc>,
        audit: Vec<NewAuditEntry<'_>>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if let Some(role) = role {
            sqlx::query("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1")
                .bind(user_id)
                .bind(role.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        match disabled {
            Some(true) => {
                sqlx::query(
                    "UPDATE users SET disabled_at = coalesce(disabled_at, $2), updated_at = $2
                     WHERE id = $1",
                )
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                revoke_all(&mut tx, user_id, now, "account_disabled").await?;
            }
            Some(false) => {
                sqlx::query("UPDATE users SET disabled_at = NULL, updated_at = $2 WHERE id = $1")
                    .bind(user_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {}
        }
        for entry in &audit {
            insert_audit(&mut *tx, entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn import_users(
        &self,
        users: &[LegacyUser],
        audit: NewAuditEntry<'_>,
    ) -> Result<(u64, u64), StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut imported = 0;
        for u in users {
            // ON CONFLICT without a target skips a row that clashes on the ID or on the address.
            let done = sqlx::query(
                "INSERT INTO users (id, email, password_hash, role, is_verified, created_at,
                                    display_name, last_active_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, '', $7, $7)
                 ON CONFLICT DO NOTHING",
            )
            .bind(u.id)
            .bind(u.email.trim())
            .bind(&u.password_hash)
            .bind(&u.role)
            .bind(u.is_verified)
            .bind(u.created_at)
            .bind(audit.at)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                imported += 1;
                sqlx::query("INSERT INTO user_preferences (user_id) VALUES ($1)")
                    .bind(u.id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO user_settings (user_id) VALUES ($1)")
                    .bind(u.id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let skipped = users.len() as u64 - imported;
        let mut audit = audit;
        audit.details = serde_json::json!({"imported": imported, "skipped": skipped});
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok((imported, skipped))
    }

    // --- library (issue 4) ---
    async fn settings(&self, user_id: Uuid) -> Result<Option<AccountSettings>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT keep_listening_history, keep_search_history, public_profile, email_opt_in \
             FROM user_settings WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?)
    }
    // --- end library ---
}

/// Connects to an older deployment's database and reads its users (see [`read_legacy_users`]).
pub async fn read_legacy_users_from(url: &str) -> Result<Vec<LegacyUser>, StoreError> {
    let options = super::parse_database_url(url).map_err(StoreError::Unavailable)?;
    let source = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let users = read_legacy_users(&source).await;
    source.close().await;
    users
}

/// Reads every user of an older deployment's `users(id, email, password_hash, role, is_verified,
/// created_at)` table.
pub async fn read_legacy_users(source: &PgPool) -> Result<Vec<LegacyUser>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, email, password_hash, role::text AS role,
                coalesce(is_verified, false) AS is_verified,
                coalesce(created_at::timestamptz, now()) AS created_at
         FROM users ORDER BY created_at, id",
    )
    .fetch_all(source)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_leaves_out_hashes_and_mail_bodies() {
        let now = Utc::now();
        let user = User {
            id: Uuid::nil(),
            email: "ada@example.org".into(),
            password_hash: "$argon2id$secret-hash".into(),
            role: Role::User,
            is_verified: true,
            created_at: now,
            display_name: "Ada".into(),
            avatar_url: None,
            bio: None,
            deleted_at: None,
            disabled_at: None,
            last_active_at: now,
        };
        let legacy = LegacyUser {
            id: Uuid::nil(),
            email: "ada@example.org".into(),
            password_hash: "$2b$10$secret-hash".into(),
            role: "user".into(),
            is_verified: false,
            created_at: now,
        };
        let mail = OutboxMail {
            id: 1,
            recipient: "ada@example.org".into(),
            subject: "Reset your password".into(),
            body: "token: secret-token".into(),
            created_at: now,
        };
        for printed in [
            format!("{user:?}"),
            format!("{legacy:?}"),
            format!("{mail:?}"),
        ] {
            assert!(printed.contains("ada@example.org"), "{printed}");
            assert!(printed.contains("[redacted]"), "{printed}");
            assert!(!printed.contains("secret"), "{printed}");
        }
    }
}
