//! Accounts: registration, login with throttling, rotating sessions, e-mail verification and password
//! reset, profiles, roles and admin actions, the audit log, export, deletion and purge.
//!
//! Authorisation lives here: every method that acts for someone takes the [`Principal`] that
//! [`AccountService::authenticate`] returned for their bearer token, and admin methods check its role.
//! Transports only pass the raw `Authorization` value along.
//!
//! Enumeration: an unknown e-mail and a wrong password get the same error, the same audit shape and the
//! same cost (a dummy Argon2id verification), and the per-account throttle is keyed by the address, so
//! unknown addresses lock exactly like known ones.
//!
//! Layout: each file holds its own `impl AccountService`.
//! - this file: [`AccountService`], its construction and the helpers every part shares;
//! - `types`: what the service answers and takes ([`Principal`], [`TokenPair`], [`Profile`], …);
//! - `lifecycle`: registration, export (with [`ExportSection`]s of other services), deletion, purge;
//! - `login`: login, refresh, logout, bearer-token checks, re-authentication, sessions;
//! - `recovery`: e-mail verification and password reset by mailed token;
//! - `profile`: the caller's profile, password, own audit log and privacy settings;
//! - `admin`: admin listings and changes, the audit log, `users create-admin` and `users import`;
//! - `throttle`: reserving password checks and limiting account requests per client IP;
//! - [`passwords`] (Argon2id, legacy bcrypt), [`tokens`] (JWT access tokens, opaque refresh and mailed
//!   tokens) and [`mailer`] (the outbox and its background delivery).

mod admin;
mod lifecycle;
mod login;
pub mod mailer;
pub mod passwords;
mod profile;
mod recovery;
mod throttle;
pub mod tokens;
mod types;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use self::mailer::Mailer;
use self::passwords::PasswordHasher;
use self::tokens::AccessTokens;
use super::{ErrorCode, ServiceError};
use crate::config::AuthSettings;
use crate::domain::account::{AuditAction, NewAuditEntry, RequestContext, User};
use crate::store::accounts::{AccountRepo, AccountStoreError};
use crate::support::{BackgroundTasks, Clock};

pub use self::lifecycle::ExportSection;
pub use self::types::{
    ImportReport, Principal, Profile, ProfileUpdate, PurgeReport, SessionView, TokenPair, UserPage,
    UserSummary,
};

/// Default and largest number of audit entries read at once.
const DEFAULT_AUDIT_LIMIT: u32 = 100;
const MAX_AUDIT_LIMIT: u32 = 1000;

/// The accounts service. Cheap to clone.
#[derive(Clone)]
pub struct AccountService {
    inner: Arc<Inner>,
}

struct Inner {
    repo: Arc<dyn AccountRepo>,
    mailer: Arc<dyn Mailer>,
    hasher: PasswordHasher,
    access: AccessTokens,
    settings: AuthSettings,
    clock: Arc<dyn Clock>,
    /// Further parts of the export (the library), registered after construction.
    export_sections: std::sync::RwLock<Vec<Arc<dyn ExportSection>>>,
    /// Finished mail deliveries.
    deliveries: tokio::sync::watch::Sender<u64>,
    /// Mail deliveries under way, for shutdown to wait on.
    background: BackgroundTasks,
    /// Work that requests left to do after their answer (password-reset lookups and mails).
    deferred: BackgroundTasks,
}

fn invalid(message: String) -> ServiceError {
    ServiceError::invalid(message)
}

fn unauthenticated(message: &str) -> ServiceError {
    ServiceError::new(ErrorCode::Unauthenticated, message)
}

fn audit<'a>(
    action: AuditAction,
    actor: Option<Uuid>,
    subject: Option<Uuid>,
    context: &'a RequestContext,
    details: serde_json::Value,
    at: DateTime<Utc>,
) -> NewAuditEntry<'a> {
    NewAuditEntry {
        action,
        actor_id: actor,
        subject_id: subject,
        context,
        details,
        at,
    }
}

/// An entry for a user acting on their own account, with no details.
fn own_audit(
    action: AuditAction,
    user: Uuid,
    context: &RequestContext,
    at: DateTime<Utc>,
) -> NewAuditEntry<'_> {
    audit(
        action,
        Some(user),
        Some(user),
        context,
        serde_json::json!({}),
        at,
    )
}

/// A taken address and the last admin are the store failures a client is told about; anything else is
/// internal.
impl From<AccountStoreError> for ServiceError {
    fn from(err: AccountStoreError) -> Self {
        match err {
            AccountStoreError::AlreadyExists => ServiceError::new(
                ErrorCode::AlreadyExists,
                "an account with this email address already exists",
            ),
            AccountStoreError::LastAdmin => ServiceError::new(
                ErrorCode::FailedPrecondition,
                "this is the last active admin: make another account admin first",
            ),
            AccountStoreError::Store(e) => e.into(),
        }
    }
}

fn secs(n: u64) -> Duration {
    Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX / 1000))
}

fn days(n: u64) -> Duration {
    Duration::days(i64::try_from(n).unwrap_or(0).min(36_500))
}

/// The key that signs access tokens: `auth.jwt_secret` when set, else the key kept in the database,
/// which the first instance to start generates and every instance sharing the database uses (so tokens
/// survive restarts and work on every instance).
pub async fn signing_key(
    repo: &dyn AccountRepo,
    settings: &AuthSettings,
) -> Result<Vec<u8>, ServiceError> {
    use secrecy::ExposeSecret;
    let configured = settings.jwt_secret.expose_secret().as_bytes();
    if !configured.is_empty() {
        return Ok(configured.to_vec());
    }
    Ok(repo
        .shared_secret("access_token_signing_key", &tokens::random_bytes(32))
        .await?)
}

impl AccountService {
    /// Wires the service, signing access tokens with `signing_key` (see [`signing_key`]). Warns when
    /// the Argon2id cost is below OWASP's minimum.
    pub fn new(
        repo: Arc<dyn AccountRepo>,
        mailer: Arc<dyn Mailer>,
        settings: AuthSettings,
        signing_key: &[u8],
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ServiceError> {
        let hasher = PasswordHasher::new(&settings.argon2)?;
        let access = AccessTokens::new(
            signing_key,
            &settings.jwt_issuer,
            secs(settings.access_token_ttl_secs),
        );
        if settings.argon2_below_owasp() {
            tracing::warn!(
                memory_kib = settings.argon2.memory_kib,
                iterations = settings.argon2.iterations,
                "auth.argon2 cost is below OWASP's minimum (19456 KiB × 2 passes)"
            );
        }
        Ok(Self {
            inner: Arc::new(Inner {
                repo,
                mailer,
                hasher,
                access,
                settings,
                clock,
                export_sections: std::sync::RwLock::default(),
                deliveries: tokio::sync::watch::Sender::new(0),
                background: BackgroundTasks::new("linernotes_background_mail_deliveries"),
                deferred: BackgroundTasks::new("linernotes_background_deferred_requests"),
            }),
        })
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// The account with this ID, deleted or not; `NOT_FOUND` when there is none.
    async fn user(&self, id: Uuid) -> Result<User, ServiceError> {
        self.inner
            .repo
            .find_by_id(id)
            .await?
            .ok_or_else(|| ServiceError::not_found("no such account"))
    }

    /// How many audit entries to read: the default when none is asked for, refused outside the bounds.
    fn audit_limit(limit: Option<u32>) -> Result<i64, ServiceError> {
        match limit.unwrap_or(DEFAULT_AUDIT_LIMIT) {
            n @ 1..=MAX_AUDIT_LIMIT => Ok(i64::from(n)),
            n => Err(invalid(format!(
                "limit must be between 1 and {MAX_AUDIT_LIMIT}, got {n}"
            ))),
        }
    }
}
