//! The accounts repository: users with their preferences and settings, sessions and their rotating
//! refresh tokens, single-use mailed tokens, login-throttle counters, the mail outbox and the audit log.
//!
//! Layout: one trait per concern, each implemented by [`PgAccountRepo`]; [`AccountRepo`] is all of them
//! together, so the service holds one `Arc<dyn AccountRepo>`.
//! - this file: [`AccountStoreError`] (and the one place SQLSTATEs are read), [`AccountRepo`],
//!   [`PgAccountRepo`];
//! - [`users`]: [`UserRepo`]: accounts, passwords, profiles, preferences and settings, deletion, purge,
//!   admin changes, the legacy import;
//! - [`sessions`]: [`SessionRepo`]: sessions, refresh-token rotation, single-use mailed tokens;
//! - [`throttle`]: [`ThrottleRepo`]: login-throttle counters;
//! - [`audit`]: [`AuditRepo`]: the append-only audit log;
//! - [`outbox`]: [`OutboxRepo`]: mail waiting for delivery;
//! - [`secrets`]: [`SecretRepo`]: secrets generated once and shared by every instance.
//!
//! Multi-statement writes run in one transaction each. A duplicate e-mail address is recognised by
//! SQLSTATE 23505 on `users_email_lower_key` and reported as [`AccountStoreError::AlreadyExists`]. Tokens
//! reach this layer only as SHA-256 hashes. The domain types know no SQL: each file reads rows into
//! private row structs and converts them.

pub mod audit;
pub mod outbox;
pub mod secrets;
pub mod sessions;
pub mod throttle;
pub mod users;

use sqlx::PgPool;

use super::StoreError;

pub use audit::AuditRepo;
pub use outbox::OutboxRepo;
pub use secrets::SecretRepo;
pub use sessions::SessionRepo;
pub use throttle::ThrottleRepo;
pub use users::{read_legacy_users, read_legacy_users_from, UserRepo};

/// Failures of account writes that a caller must tell apart.
#[derive(Debug, thiserror::Error)]
pub enum AccountStoreError {
    /// A unique constraint refused the write (SQLSTATE 23505): the e-mail address is taken.
    #[error("already exists")]
    AlreadyExists,
    /// The change would leave no active admin.
    #[error("the last active admin")]
    LastAdmin,
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

/// Persistence of accounts: every concern's repository in one, for the service to hold as one object.
pub trait AccountRepo:
    UserRepo + SessionRepo + ThrottleRepo + AuditRepo + OutboxRepo + SecretRepo
{
}

impl<T> AccountRepo for T where
    T: UserRepo + SessionRepo + ThrottleRepo + AuditRepo + OutboxRepo + SecretRepo
{
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
