//! Users: creating accounts (with their preferences and settings rows), finding them, changing
//! passwords, profiles, preferences and settings, marking addresses verified, deletion (by the owner or
//! for inactivity) and the purge after the retention period, admin listing and changes, and the import
//! from an older deployment's `users` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::audit::insert_audit;
use super::sessions::{revoke_all, revoke_all_except};
use super::{AccountStoreError, PgAccountRepo};
use crate::domain::account::{
    AccountSettings, AuditAction, LegacyUser, NewAuditEntry, NewUser, Preferences, ProfileChange,
    RequestContext, Role, User,
};
use crate::store::StoreError;

/// Persistence of users, their preferences and their settings.
#[async_trait]
pub trait UserRepo: Send + Sync {
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
    /// Marks the address verified and appends `audit`.
    async fn mark_verified(
        &self,
        user_id: Uuid,
        audit: NewAuditEntry<'_>,
    ) -> Result<(), StoreError>;

    /// A user's preferences and settings.
    async fn preferences_and_settings(
        &self,
        user_id: Uuid,
    ) -> Result<(Preferences, AccountSettings), StoreError>;
    /// The privacy and notification settings alone (one query; the library reads them per play).
    async fn settings(&self, user_id: Uuid) -> Result<Option<AccountSettings>, StoreError>;
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
    ) -> Result<(), AccountStoreError>;
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

    /// A page of accounts whose e-mail or display name contains `query` (all when empty), oldest first,
    /// with the total count.
    async fn list_users(
        &self,
        query: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<User>, i64), StoreError>;
    /// Sets role and/or the disabled flag (disabling revokes every session) and appends the audit
    /// entries, in one transaction; refused ([`AccountStoreError::LastAdmin`]) when it would leave no
    /// active admin.
    async fn admin_update(
        &self,
        user_id: Uuid,
        role: Option<Role>,
        disabled: Option<bool>,
        now: DateTime<Utc>,
        audit: Vec<NewAuditEntry<'_>>,
    ) -> Result<(), AccountStoreError>;
    /// Inserts legacy users that are not present yet (by ID or address); returns (imported, skipped).
    async fn import_users(
        &self,
        users: &[LegacyUser],
        audit: NewAuditEntry<'_>,
    ) -> Result<(u64, u64), StoreError>;
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

#[derive(sqlx::FromRow)]
struct PreferencesRow {
    language: Option<String>,
    region: Option<String>,
}

impl From<PreferencesRow> for Preferences {
    fn from(r: PreferencesRow) -> Self {
        Preferences {
            language: r.language,
            region: r.region,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SettingsRow {
    keep_listening_history: bool,
    keep_search_history: bool,
    public_profile: bool,
    email_opt_in: bool,
}

impl From<SettingsRow> for AccountSettings {
    fn from(r: SettingsRow) -> Self {
        AccountSettings {
            keep_listening_history: r.keep_listening_history,
            keep_search_history: r.keep_search_history,
            public_profile: r.public_profile,
            email_opt_in: r.email_opt_in,
        }
    }
}

#[derive(sqlx::FromRow)]
struct LegacyUserRow {
    id: Uuid,
    email: String,
    password_hash: String,
    role: String,
    is_verified: bool,
    created_at: DateTime<Utc>,
}

impl From<LegacyUserRow> for LegacyUser {
    fn from(r: LegacyUserRow) -> Self {
        LegacyUser {
            id: r.id,
            email: r.email,
            password_hash: r.password_hash,
            role: r.role,
            is_verified: r.is_verified,
            created_at: r.created_at,
        }
    }
}

/// Gives a new account its preferences and settings rows (the columns' defaults).
async fn insert_defaults(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO user_preferences (user_id) VALUES ($1)")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO user_settings (user_id) VALUES ($1)")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[async_trait]
impl UserRepo for PgAccountRepo {
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
        insert_defaults(&mut tx, user.id).await?;
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

    async fn preferences_and_settings(
        &self,
        user_id: Uuid,
    ) -> Result<(Preferences, AccountSettings), StoreError> {
        let preferences: Option<PreferencesRow> =
            sqlx::query_as("SELECT language, region FROM user_preferences WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        let settings = self.settings(user_id).await?;
        match (preferences, settings) {
            (Some(p), Some(s)) => Ok((p.into(), s)),
            _ => Err(StoreError::Corrupt(format!(
                "user {user_id} has no preferences or settings row"
            ))),
        }
    }

    async fn settings(&self, user_id: Uuid) -> Result<Option<AccountSettings>, StoreError> {
        let row: Option<SettingsRow> = sqlx::query_as(
            "SELECT keep_listening_history, keep_search_history, public_profile, email_opt_in \
             FROM user_settings WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(AccountSettings::from))
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
    ) -> Result<(), AccountStoreError> {
        let mut tx = self.pool.begin().await?;
        let was_admin = lock_admin_changes(&mut tx, user_id).await?;
        sqlx::query("UPDATE users SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        revoke_all(&mut tx, user_id, now, "account_deleted").await?;
        keep_an_admin(&mut tx, was_admin).await?;
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
    ) -> Result<(), AccountStoreError> {
        let mut tx = self.pool.begin().await?;
        let was_admin = lock_admin_changes(&mut tx, user_id).await?;
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
        keep_an_admin(&mut tx, was_admin).await?;
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
                insert_defaults(&mut tx, u.id).await?;
            }
        }
        let skipped = users.len() as u64 - imported;
        let mut audit = audit;
        audit.details = serde_json::json!({"imported": imported, "skipped": skipped});
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok((imported, skipped))
    }
}

/// Connects to an older deployment's database and reads its users (see [`read_legacy_users`]).
pub async fn read_legacy_users_from(url: &str) -> Result<Vec<LegacyUser>, StoreError> {
    let options = crate::config::parse_database_url(url).map_err(StoreError::Unavailable)?;
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
    let rows: Vec<LegacyUserRow> = sqlx::query_as(
        "SELECT id, email, password_hash, role::text AS role,
                coalesce(is_verified, false) AS is_verified,
                coalesce(created_at::timestamptz, now()) AS created_at
         FROM users ORDER BY created_at, id",
    )
    .fetch_all(source)
    .await?;
    Ok(rows.into_iter().map(LegacyUser::from).collect())
}

/// The advisory lock that serialises every change that could take an active admin away (so two admins
/// demoting each other at once cannot both succeed).
const ADMIN_CHANGES_LOCK: i64 = 0x6c6e_5f61_646d_696e;

/// Takes the lock of admin changes for the transaction; whether `user_id` is an active admin now.
async fn lock_admin_changes(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(ADMIN_CHANGES_LOCK)
        .execute(&mut **tx)
        .await?;
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND role = 'admin'
                        AND disabled_at IS NULL AND deleted_at IS NULL)",
    )
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await
}

/// Refuses a change to an active admin (`was_admin`) that left no active admin at all.
async fn keep_an_admin(
    tx: &mut Transaction<'_, Postgres>,
    was_admin: bool,
) -> Result<(), AccountStoreError> {
    if !was_admin {
        return Ok(());
    }
    let left: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin'
                        AND disabled_at IS NULL AND deleted_at IS NULL)",
    )
    .fetch_one(&mut **tx)
    .await?;
    if left {
        Ok(())
    } else {
        Err(AccountStoreError::LastAdmin)
    }
}
