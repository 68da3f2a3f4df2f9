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

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::mailer::{Delivery, Mailer, OutgoingMail};
use super::passwords::{is_bcrypt, PasswordHasher};
use super::tokens::{hash_token, new_opaque_token, AccessTokens};
use super::{ErrorCode, ServiceError};
use crate::config::AuthSettings;
use crate::domain::account::{
    parse_language, parse_region, AccountSettings, AuditAction, AuditEntry, AuditFilter, AvatarUrl,
    Bio, DisplayName, Email, LegacyUser, NewAuditEntry, NewUser, Password, Preferences,
    ProfileChange, RefreshOutcome, RequestContext, Role, Session, ThrottlePolicy, ThrottleState,
    TokenPurpose, User, VerifiedPassword,
};
use crate::store::accounts::{read_legacy_users_from, AccountRepo, AccountStoreError};
use crate::support::BackgroundTasks;
use crate::support::Clock;

/// The one answer to a failed login, whatever failed.
const BAD_CREDENTIALS: &str = "email or password is incorrect";
/// Default and largest page of admin listings.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 100;
/// Default and largest number of audit entries read at once.
const DEFAULT_AUDIT_LIMIT: u32 = 100;
const MAX_AUDIT_LIMIT: u32 = 1000;
/// Audit entries included in an export.
const EXPORT_AUDIT_LIMIT: i64 = 100_000;

/// The authenticated caller of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    /// The user.
    pub user_id: Uuid,
    /// The session the access token belongs to.
    pub session_id: Uuid,
    /// The user's role now (read from the database on every request).
    pub role: Role,
}

/// Data another service holds about a user, added to their export under [`ExportSection::name`]
/// (the library, issue 4). Registered with [`AccountService::add_export_section`].
#[async_trait::async_trait]
pub trait ExportSection: Send + Sync {
    /// The key of the section in the export.
    fn name(&self) -> &'static str;
    /// Everything held about `user_id`.
    async fn export(&self, user_id: Uuid) -> Result<serde_json::Value, ServiceError>;
}

/// Tokens answered by login and refresh (`Debug` leaves the tokens out: they are credentials).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TokenPair {
    /// JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Opaque token for `/v1/auth/refresh`; single use.
    pub refresh_token: String,
    /// Seconds the access token is valid.
    pub expires_in: i64,
    /// Always `Bearer`.
    pub token_type: &'static str,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("token_type", &self.token_type)
            .finish()
    }
}

/// What a user sees of their own account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// ID.
    pub id: Uuid,
    /// E-mail address.
    pub email: String,
    /// Whether it was verified.
    pub email_verified: bool,
    /// Role.
    pub role: Role,
    /// Display name.
    pub display_name: String,
    /// Avatar URL.
    pub avatar_url: Option<String>,
    /// Bio.
    pub bio: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Language and region.
    pub preferences: Preferences,
    /// Privacy and notification settings.
    pub settings: AccountSettings,
}

/// Changes to a profile; absent fields stay, an empty string clears an optional text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileUpdate {
    /// Display name.
    pub display_name: Option<String>,
    /// Avatar URL (empty clears).
    pub avatar_url: Option<String>,
    /// Bio (empty clears).
    pub bio: Option<String>,
    /// Language tag (empty clears).
    pub language: Option<String>,
    /// Region code (empty clears).
    pub region: Option<String>,
    /// Keep listening history.
    pub keep_listening_history: Option<bool>,
    /// Keep search history.
    pub keep_search_history: Option<bool>,
    /// Public profile.
    pub public_profile: Option<bool>,
    /// Mail opt-in.
    pub email_opt_in: Option<bool>,
}

/// A session as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionView {
    /// ID (for revoking it).
    pub id: Uuid,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// Last login or refresh.
    pub last_used_at: DateTime<Utc>,
    /// End of life.
    pub expires_at: DateTime<Utc>,
    /// Device / user agent.
    pub user_agent: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Whether the asking access token belongs to it.
    pub current: bool,
}

/// An account in admin listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSummary {
    /// ID.
    pub id: Uuid,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Whether the address was verified.
    pub email_verified: bool,
    /// Whether an admin disabled it.
    pub disabled: bool,
    /// Whether it is deleted (awaiting purge).
    pub deleted: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A page of accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserPage {
    /// The accounts.
    pub users: Vec<UserSummary>,
    /// Matching accounts in all.
    pub total: i64,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: u32,
}

/// What a purge run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// Accounts deleted for inactivity in this run.
    pub deleted_inactive: usize,
    /// Accounts removed for good.
    pub purged: usize,
    /// Expired throttle counters, mailed tokens and long-ended sessions removed.
    pub pruned: u64,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Users found in the source.
    pub found: u64,
    /// Users copied.
    pub imported: u64,
    /// Users already present (same ID or address).
    pub skipped_existing: u64,
    /// Users with an invalid address, role or hash format.
    pub skipped_invalid: u64,
}

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
    /// Further parts of the export (the library, issue 4), registered after construction.
    export_sections: std::sync::RwLock<Vec<Arc<dyn ExportSection>>>,
    /// Finished mail deliveries.
    deliveries: tokio::sync::watch::Sender<u64>,
    /// Mail deliveries under way, for shutdown to wait on.
    background: BackgroundTasks,
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

/// 429 for a locked throttle key, with the seconds to wait (rounded up: retrying after them must find
/// the lock gone).
fn locked(locked_for: Duration) -> ServiceError {
    let millis = locked_for.num_milliseconds();
    let retry = u64::try_from((millis + 999) / 1000).unwrap_or(1).max(1);
    ServiceError::resource_exhausted(
        format!("too many attempts; try again in {retry} seconds"),
        retry,
    )
}

/// One password check counted on a throttle key before the password was verified.
struct Reservation {
    key: String,
    before: ThrottleState,
    reserved: ThrottleState,
}

/// The audit entries as their subject may see them: the client address and user agent of an entry
/// someone else caused (an admin acting on the account, a stranger's failed login) are someone else's
/// personal data and are left out.
fn own_view(entries: Vec<AuditEntry>, user_id: Uuid) -> Vec<AuditEntry> {
    entries
        .into_iter()
        .map(|entry| {
            if entry.actor_id == Some(user_id) {
                entry
            } else {
                AuditEntry {
                    ip: None,
                    user_agent: None,
                    ..entry
                }
            }
        })
        .collect()
}

fn secs(n: u64) -> Duration {
    Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX / 1000))
}

impl AccountService {
    /// Wires the service. Warns when no signing key is configured (a random one is used) and when the
    /// Argon2id cost is below OWASP's minimum.
    pub fn new(
        repo: Arc<dyn AccountRepo>,
        mailer: Arc<dyn Mailer>,
        settings: AuthSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ServiceError> {
        use secrecy::ExposeSecret;
        let hasher = PasswordHasher::new(&settings.argon2)?;
        let (access, generated) = AccessTokens::new(
            settings.jwt_secret.expose_secret().as_bytes(),
            &settings.jwt_issuer,
            secs(settings.access_token_ttl_secs),
        );
        if generated {
            tracing::warn!(
                "auth.jwt_secret is not set: a random signing key was generated; access tokens will not \
                 survive a restart and instances will not accept each other's (set LINERNOTES__AUTH__JWT_SECRET)"
            );
        }
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
            }),
        })
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    fn account_policy(&self) -> ThrottlePolicy {
        let t = &self.inner.settings.throttle;
        ThrottlePolicy {
            max_failures: t.account_max_failures,
            window: secs(t.window_secs),
            lockout: secs(t.lockout_secs),
            max_lockout: secs(t.max_lockout_secs),
        }
    }

    fn ip_policy(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            max_failures: self.inner.settings.throttle.ip_max_failures,
            ..self.account_policy()
        }
    }

    /// Creates an account (user, preferences, settings and the audit entry in one transaction) and
    /// mails a verification link. A taken address (compared case-insensitively) is `ALREADY_EXISTS`.
    #[tracing::instrument(skip_all)]
    pub async fn register(
        &self,
        email: &str,
        password: String,
        display_name: &str,
        context: &RequestContext,
    ) -> Result<Uuid, ServiceError> {
        let email = Email::parse(email).map_err(invalid)?;
        let password = Password::parse(password).map_err(invalid)?;
        let display_name = DisplayName::parse(display_name).map_err(invalid)?;
        self.limit_ip_requests(context).await?;
        let hash = self.inner.hasher.hash(&password).await?;
        let id = Uuid::new_v4();
        let now = self.now();
        self.inner
            .repo
            .create_user(
                NewUser {
                    id,
                    email: email.as_str(),
                    password_hash: &hash,
                    display_name: display_name.as_str(),
                    role: Role::User,
                    is_verified: false,
                    created_at: now,
                },
                audit(
                    AuditAction::Register,
                    Some(id),
                    Some(id),
                    context,
                    json!({}),
                    now,
                ),
            )
            .await
            .map_err(|e| match e {
                AccountStoreError::AlreadyExists => ServiceError::new(
                    ErrorCode::AlreadyExists,
                    "an account with this email address already exists",
                ),
                AccountStoreError::Store(e) => e.into(),
            })?;
        self.send_verification(id, email.as_str()).await?;
        Ok(id)
    }

    async fn send_verification(&self, user_id: Uuid, email: &str) -> Result<(), ServiceError> {
        let now = self.now();
        let (token, hash) = new_opaque_token();
        let ttl = secs(self.inner.settings.verify_email_ttl_secs);
        self.inner
            .repo
            .create_one_time_token(user_id, TokenPurpose::VerifyEmail, &hash, now, now + ttl)
            .await?;
        let base = self.inner.settings.public_url.trim_end_matches('/');
        let body = format!(
            "Welcome to linernotes.\n\nTo verify your email address, send this token to \
             {base}/v1/auth/verify-email as {{\"token\": \"…\"}} within {} hours:\n\ntoken: {token}\n",
            ttl.num_hours()
        );
        self.queue_mail(
            OutgoingMail {
                user_id: Some(user_id),
                to: email.to_owned(),
                subject: "Verify your email address".into(),
                body,
            },
            now,
        )
        .await
    }

    /// Writes a mail to the outbox now and delivers it from a background task, so the request does not
    /// wait on a mail server: an address that gets a mail is answered after the same work (two inserts
    /// more than an unknown one, no network) as one that does not. Each finished delivery bumps
    /// [`AccountService::mail_deliveries`].
    async fn queue_mail(&self, mail: OutgoingMail, now: DateTime<Utc>) -> Result<(), ServiceError> {
        let id = self
            .inner
            .repo
            .enqueue_mail(mail.user_id, &mail.to, &mail.subject, &mail.body, now)
            .await?;
        let inner = self.inner.clone();
        self.inner.background.spawn(async move {
            if inner.mailer.deliver(&mail).await == Delivery::Sent {
                if let Err(err) = inner.repo.remove_from_outbox(id).await {
                    tracing::warn!(error = %err, "a sent mail could not be removed from the outbox");
                }
            }
            inner.deliveries.send_modify(|n| *n += 1);
        });
        Ok(())
    }

    /// Mail deliveries under way (shutdown waits for them).
    pub fn background(&self) -> &BackgroundTasks {
        &self.inner.background
    }

    /// Counts finished mail deliveries (sent or left in the outbox), to wait on background delivery.
    pub fn mail_deliveries(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.deliveries.subscribe()
    }

    /// Checks a password for an e-mail address, with throttling per address and per client IP, and opens
    /// a session. Unknown address and wrong password answer alike; a bcrypt or outdated Argon2 hash is
    /// re-hashed on success.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        email: &str,
        password: String,
        context: &RequestContext,
    ) -> Result<TokenPair, ServiceError> {
        let email = Email::parse(email).map_err(invalid)?;
        let password = Password::existing(password).map_err(invalid)?;
        let repo = &self.inner.repo;
        let now = self.now();
        let user = repo
            .find_by_email(email.as_str())
            .await?
            .filter(|u| u.deleted_at.is_none());
        let subject = user.as_ref().map(|u| u.id);

        let reservations = match self
            .reserve_attempt(&email.normalized(), context, now)
            .await?
        {
            Ok(reservations) => reservations,
            Err(locked_for) => {
                repo.audit(audit(
                    AuditAction::LoginFailed,
                    None,
                    subject,
                    context,
                    json!({"reason": "locked"}),
                    now,
                ))
                .await?;
                return Err(locked(locked_for));
            }
        };

        let verification = self
            .inner
            .hasher
            .verify(&password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await?;
        let Some(user) = user.filter(|_| verification.matches) else {
            // The reservation stays: it was this failure.
            repo.audit(audit(
                AuditAction::LoginFailed,
                None,
                subject,
                context,
                json!({"reason": "invalid_credentials"}),
                now,
            ))
            .await?;
            return Err(unauthenticated(BAD_CREDENTIALS));
        };

        if user.disabled_at.is_some() {
            self.release_attempt(&reservations, now).await?;
            repo.audit(audit(
                AuditAction::LoginFailed,
                Some(user.id),
                Some(user.id),
                context,
                json!({"reason": "disabled"}),
                now,
            ))
            .await?;
            return Err(ServiceError::new(
                ErrorCode::PermissionDenied,
                "this account is disabled; contact an administrator",
            ));
        }
        let upgraded = if verification.needs_rehash {
            Some(self.inner.hasher.hash(&password).await?)
        } else {
            None
        };
        let (refresh, refresh_hash) = new_opaque_token();
        let expires = now + secs(self.inner.settings.refresh_token_ttl_secs);
        // Only if the password was not changed or reset since it was read: otherwise the session would
        // outlive the reset that was meant to end them all (and an upgrade would restore the old password).
        let Some(session) = repo
            .create_session(
                user.id,
                VerifiedPassword {
                    verified_hash: &user.password_hash,
                    upgraded_hash: upgraded.as_deref(),
                },
                context,
                now,
                expires,
                &refresh_hash,
            )
            .await?
        else {
            repo.audit(audit(
                AuditAction::LoginFailed,
                Some(user.id),
                Some(user.id),
                context,
                json!({"reason": "password_changed"}),
                now,
            ))
            .await?;
            return Err(unauthenticated(BAD_CREDENTIALS));
        };
        self.succeeded_attempt(&reservations, now).await?;
        if upgraded.is_some() {
            tracing::info!(user = %user.id, from_bcrypt = is_bcrypt(&user.password_hash), "password hash upgraded");
        }
        repo.audit(audit(
            AuditAction::LoginSucceeded,
            Some(user.id),
            Some(user.id),
            context,
            json!({"session_id": session.id, "password_rehashed": verification.needs_rehash}),
            now,
        ))
        .await?;
        self.token_pair(user.id, session.id, refresh, now)
    }

    /// Counts one request to register, verify an address or confirm a reset (each hashes a password or
    /// sends mail) against the client IP (`auth.throttle.ip_max_account_requests` per window, then the
    /// growing lockout); 429 while the IP is locked for them. Requests without a known IP are not limited.
    async fn limit_ip_requests(&self, context: &RequestContext) -> Result<(), ServiceError> {
        let Some(ip) = context.ip else {
            return Ok(());
        };
        let now = self.now();
        let policy = ThrottlePolicy {
            max_failures: self.inner.settings.throttle.ip_max_account_requests,
            ..self.account_policy()
        };
        let reserve = move |s: ThrottleState| s.reserved(&policy, now);
        let (before, _) = self
            .inner
            .repo
            .throttle_update(&format!("ip-requests:{ip}"), now, &reserve)
            .await?;
        match before.locked_for(now) {
            Some(left) => Err(locked(left)),
            None => Ok(()),
        }
    }

    /// The throttling keys of a password check: the (normalised) address and the client IP.
    fn throttle_keys(
        &self,
        normalized_email: &str,
        context: &RequestContext,
    ) -> Vec<(String, ThrottlePolicy)> {
        let mut keys = vec![(format!("account:{normalized_email}"), self.account_policy())];
        if let Some(ip) = context.ip {
            keys.push((format!("ip:{ip}"), self.ip_policy()));
        }
        keys
    }

    /// Reserves one password check on the address's and the client IP's throttle before the password is
    /// verified: each reservation counts as a failure at once (atomically in the store), so parallel
    /// guesses are counted before any of them is checked. `Ok(Err(left))` when a key is locked (the
    /// reservations made so far are given back).
    async fn reserve_attempt(
        &self,
        normalized_email: &str,
        context: &RequestContext,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<Reservation>, Duration>, ServiceError> {
        let mut reservations = Vec::new();
        for (key, policy) in self.throttle_keys(normalized_email, context) {
            let reserve = move |s: ThrottleState| s.reserved(&policy, now);
            let (before, reserved) = self.inner.repo.throttle_update(&key, now, &reserve).await?;
            if let Some(left) = before.locked_for(now) {
                self.release_attempt(&reservations, now).await?;
                return Ok(Err(left));
            }
            reservations.push(Reservation {
                key,
                before,
                reserved,
            });
        }
        Ok(Ok(reservations))
    }

    /// Gives reservations back (the check did not fail).
    async fn release_attempt(
        &self,
        reservations: &[Reservation],
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        for r in reservations {
            let (before, reserved) = (r.before, r.reserved);
            let release = move |s: ThrottleState| s.released(&before, &reserved);
            self.inner
                .repo
                .throttle_update(&r.key, now, &release)
                .await?;
        }
        Ok(())
    }

    /// After a right password: the address's counters are forgotten, the IP's reservation is given back
    /// (other people may share that address).
    async fn succeeded_attempt(
        &self,
        reservations: &[Reservation],
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let (account, others): (Vec<&Reservation>, Vec<&Reservation>) = reservations
            .iter()
            .partition(|r| r.key.starts_with("account:"));
        for r in account {
            self.inner.repo.throttle_clear(&r.key).await?;
        }
        for r in others {
            self.release_attempt(std::slice::from_ref(r), now).await?;
        }
        Ok(())
    }

    fn token_pair(
        &self,
        user: Uuid,
        session: Uuid,
        refresh_token: String,
        now: DateTime<Utc>,
    ) -> Result<TokenPair, ServiceError> {
        let access_token = self
            .inner
            .access
            .issue(user, session, now)
            .map_err(ServiceError::internal)?;
        Ok(TokenPair {
            access_token,
            refresh_token,
            expires_in: self.inner.access.ttl().num_seconds(),
            token_type: "Bearer",
        })
    }

    /// Exchanges a refresh token for a new pair. The presented token is spent; presenting a spent token
    /// again revokes its whole session (it was copied) and is audited.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(
        &self,
        refresh_token: &str,
        context: &RequestContext,
    ) -> Result<TokenPair, ServiceError> {
        let refresh_token = refresh_token.trim();
        if refresh_token.is_empty() || refresh_token.len() > 256 {
            return Err(invalid(
                "refresh_token must be a token returned by login or refresh".into(),
            ));
        }
        let now = self.now();
        let (next, next_hash) = new_opaque_token();
        match self
            .inner
            .repo
            .rotate_refresh_token(&hash_token(refresh_token), &next_hash, context, now)
            .await?
        {
            RefreshOutcome::Rotated { session } => {
                self.token_pair(session.user_id, session.id, next, now)
            }
            RefreshOutcome::Reused { session } => {
                tracing::warn!(user = %session.user_id, session = %session.id, "refresh token reuse detected; session revoked");
                self.inner
                    .repo
                    .audit(audit(
                        AuditAction::TokenReuseDetected,
                        None,
                        Some(session.user_id),
                        context,
                        json!({"session_id": session.id}),
                        now,
                    ))
                    .await?;
                Err(unauthenticated(
                    "this refresh token was already used; its session has been revoked, log in again",
                ))
            }
            RefreshOutcome::Rejected => Err(unauthenticated(
                "the refresh token is invalid, expired or revoked; log in again",
            )),
        }
    }

    /// Ends the session a refresh token belongs to. Idempotent: an unknown or already revoked token is
    /// not an error.
    #[tracing::instrument(skip_all)]
    pub async fn logout(
        &self,
        refresh_token: &str,
        context: &RequestContext,
    ) -> Result<(), ServiceError> {
        let refresh_token = refresh_token.trim();
        if refresh_token.is_empty() || refresh_token.len() > 256 {
            return Err(invalid(
                "refresh_token must be a token returned by login or refresh".into(),
            ));
        }
        let now = self.now();
        if let Some(session) = self
            .inner
            .repo
            .revoke_session_by_token(&hash_token(refresh_token), now, "logout")
            .await?
        {
            self.inner
                .repo
                .audit(audit(
                    AuditAction::Logout,
                    Some(session.user_id),
                    Some(session.user_id),
                    context,
                    json!({"session_id": session.id}),
                    now,
                ))
                .await?;
        }
        Ok(())
    }

    /// Marks an address verified with a mailed token (single use, expiring).
    #[tracing::instrument(skip_all)]
    pub async fn verify_email(
        &self,
        token: &str,
        context: &RequestContext,
    ) -> Result<(), ServiceError> {
        self.limit_ip_requests(context).await?;
        let now = self.now();
        let user = self
            .inner
            .repo
            .consume_one_time_token(TokenPurpose::VerifyEmail, &hash_token(token.trim()), now)
            .await?
            .ok_or_else(|| invalid("the verification token is invalid, used or expired".into()))?;
        self.inner
            .repo
            .mark_verified(
                user,
                audit(
                    AuditAction::EmailVerified,
                    Some(user),
                    Some(user),
                    context,
                    json!({}),
                    now,
                ),
            )
            .await?;
        Ok(())
    }

    /// Mails a reset token when the address belongs to an active account (at most
    /// `auth.throttle.account_max_failures` per window); answers the same either way.
    #[tracing::instrument(skip_all)]
    pub async fn request_password_reset(
        &self,
        email: &str,
        context: &RequestContext,
    ) -> Result<(), ServiceError> {
        let email = Email::parse(email).map_err(invalid)?;
        let now = self.now();
        let user = self
            .inner
            .repo
            .find_by_email(email.as_str())
            .await?
            .filter(|u| u.deleted_at.is_none() && u.disabled_at.is_none());
        // At most `auth.throttle.account_max_failures` reset mails per address and window (then the
        // growing lockout), so the endpoint cannot flood someone's mailbox. Unknown addresses count the
        // same way, and the answer never changes.
        let key = format!("reset:{}", email.normalized());
        let policy = self.account_policy();
        let reserve = move |s: ThrottleState| s.reserved(&policy, now);
        let (before, _) = self.inner.repo.throttle_update(&key, now, &reserve).await?;
        let throttled = before.locked_for(now).is_some();
        self.inner
            .repo
            .audit(audit(
                AuditAction::PasswordResetRequested,
                None,
                user.as_ref().map(|u| u.id),
                context,
                json!({"mailed": user.is_some() && !throttled, "throttled": throttled}),
                now,
            ))
            .await?;
        let Some(user) = user.filter(|_| !throttled) else {
            return Ok(());
        };
        let (token, hash) = new_opaque_token();
        let ttl = secs(self.inner.settings.password_reset_ttl_secs);
        self.inner
            .repo
            .create_one_time_token(user.id, TokenPurpose::PasswordReset, &hash, now, now + ttl)
            .await?;
        let base = self.inner.settings.public_url.trim_end_matches('/');
        let body = format!(
            "Someone asked to reset the password of your linernotes account. If it was you, send this \
             token with your new password to {base}/v1/auth/password-reset/confirm as \
             {{\"token\": \"…\", \"new_password\": \"…\"}} within {} minutes; otherwise ignore this mail.\n\ntoken: {token}\n",
            ttl.num_minutes()
        );
        self.queue_mail(
            OutgoingMail {
                user_id: Some(user.id),
                to: user.email.clone(),
                subject: "Reset your password".into(),
                body,
            },
            now,
        )
        .await
    }

    /// Sets a new password with a mailed reset token; every session is revoked and the login lock of the
    /// address is lifted.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_password_reset(
        &self,
        token: &str,
        new_password: String,
        context: &RequestContext,
    ) -> Result<(), ServiceError> {
        let password = Password::parse(new_password).map_err(|m| invalid(format!("new_{m}")))?;
        self.limit_ip_requests(context).await?;
        let now = self.now();
        let user_id = self
            .inner
            .repo
            .consume_one_time_token(TokenPurpose::PasswordReset, &hash_token(token.trim()), now)
            .await?
            .ok_or_else(|| invalid("the reset token is invalid, used or expired".into()))?;
        let hash = self.inner.hasher.hash(&password).await?;
        self.inner
            .repo
            .change_password(
                user_id,
                &hash,
                None,
                "password_reset",
                audit(
                    AuditAction::PasswordReset,
                    Some(user_id),
                    Some(user_id),
                    context,
                    json!({}),
                    now,
                ),
            )
            .await?;
        if let Some(user) = self.inner.repo.find_by_id(user_id).await? {
            if let Ok(email) = Email::parse(&user.email) {
                self.inner
                    .repo
                    .throttle_clear(&format!("account:{}", email.normalized()))
                    .await?;
            }
        }
        Ok(())
    }

    /// Checks an `Authorization` value (`Bearer <access token>`): signature, expiry, and that its session
    /// is still active and its account neither deleted nor disabled.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> Result<Principal, ServiceError> {
        let header = authorization.ok_or_else(|| {
            unauthenticated("missing bearer token (Authorization: Bearer <access token>)")
        })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                unauthenticated("malformed Authorization header; expected Bearer <access token>")
            })?;
        let now = self.now();
        let claims = self
            .inner
            .access
            .verify(token, now)
            .ok_or_else(|| unauthenticated("the access token is invalid or expired"))?;
        let (session, user) = self
            .inner
            .repo
            .active_session(claims.sid, now)
            .await?
            .filter(|(s, _)| s.user_id == claims.sub)
            .ok_or_else(|| {
                unauthenticated("the session of this access token has ended; log in again")
            })?;
        Ok(Principal {
            user_id: user.id,
            session_id: session.id,
            role: user.role,
        })
    }

    fn require_admin(&self, principal: &Principal) -> Result<(), ServiceError> {
        if principal.role == Role::Admin {
            Ok(())
        } else {
            Err(ServiceError::new(
                ErrorCode::PermissionDenied,
                "this needs the admin role",
            ))
        }
    }

    async fn user(&self, id: Uuid) -> Result<User, ServiceError> {
        self.inner
            .repo
            .find_by_id(id)
            .await?
            .ok_or_else(|| ServiceError::not_found("no such account"))
    }

    /// The caller's profile, preferences and settings.
    pub async fn me(&self, principal: &Principal) -> Result<Profile, ServiceError> {
        let user = self.user(principal.user_id).await?;
        let (preferences, settings) = self.inner.repo.preferences_and_settings(user.id).await?;
        Ok(Profile {
            id: user.id,
            email: user.email,
            email_verified: user.is_verified,
            role: user.role,
            display_name: user.display_name,
            avatar_url: user.avatar_url,
            bio: user.bio,
            created_at: user.created_at,
            preferences,
            settings,
        })
    }

    /// Changes the caller's profile, preferences or settings (all validated first, then written in one
    /// transaction) and answers the new profile.
    #[tracing::instrument(skip_all)]
    pub async fn update_me(
        &self,
        principal: &Principal,
        update: ProfileUpdate,
        context: &RequestContext,
    ) -> Result<Profile, ServiceError> {
        fn clearable(
            value: Option<String>,
            parse: impl Fn(&str) -> Result<String, String>,
        ) -> Result<Option<Option<String>>, ServiceError> {
            value
                .map(|v| {
                    if v.trim().is_empty() {
                        Ok(None)
                    } else {
                        parse(&v).map(Some)
                    }
                })
                .transpose()
                .map_err(invalid)
        }
        let change = ProfileChange {
            display_name: update
                .display_name
                .map(|n| DisplayName::parse(&n).map(|n| n.as_str().to_owned()))
                .transpose()
                .map_err(invalid)?,
            avatar_url: clearable(update.avatar_url, |v| {
                AvatarUrl::parse(v).map(|u| u.as_str().to_owned())
            })?,
            bio: clearable(update.bio, |v| Bio::parse(v).map(|b| b.as_str().to_owned()))?,
            language: clearable(update.language, parse_language)?,
            region: clearable(update.region, parse_region)?,
            keep_listening_history: update.keep_listening_history,
            keep_search_history: update.keep_search_history,
            public_profile: update.public_profile,
            email_opt_in: update.email_opt_in,
        };
        if change == ProfileChange::default() {
            return Err(invalid("nothing to change: give at least one field".into()));
        }
        let changed: Vec<&str> = [
            ("display_name", change.display_name.is_some()),
            ("avatar_url", change.avatar_url.is_some()),
            ("bio", change.bio.is_some()),
            ("language", change.language.is_some()),
            ("region", change.region.is_some()),
            (
                "keep_listening_history",
                change.keep_listening_history.is_some(),
            ),
            ("keep_search_history", change.keep_search_history.is_some()),
            ("public_profile", change.public_profile.is_some()),
            ("email_opt_in", change.email_opt_in.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        let now = self.now();
        let id = principal.user_id;
        self.inner
            .repo
            .update_profile(
                id,
                &change,
                audit(
                    AuditAction::ProfileUpdated,
                    Some(id),
                    Some(id),
                    context,
                    json!({"fields": changed}),
                    now,
                ),
            )
            .await?;
        self.me(principal).await
    }

    /// Changes the caller's password after checking the current one; other sessions are revoked.
    #[tracing::instrument(skip_all)]
    pub async fn change_password(
        &self,
        principal: &Principal,
        current_password: String,
        new_password: String,
        context: &RequestContext,
    ) -> Result<(), ServiceError> {
        let current =
            Password::existing(current_password).map_err(|m| invalid(format!("current_{m}")))?;
        let new = Password::parse(new_password).map_err(|m| invalid(format!("new_{m}")))?;
        self.check_password(principal, &current, context).await?;
        let hash = self.inner.hasher.hash(&new).await?;
        let now = self.now();
        let id = principal.user_id;
        self.inner
            .repo
            .change_password(
                id,
                &hash,
                Some(principal.session_id),
                "password_changed",
                audit(
                    AuditAction::PasswordChanged,
                    Some(id),
                    Some(id),
                    context,
                    json!({}),
                    now,
                ),
            )
            .await?;
        Ok(())
    }

    /// Re-authentication before a sensitive change (password change, deletion): the same throttle as
    /// login (per address and per client IP, reserved before the check), a failure audited as
    /// `login_failed` with reason `reauth`, and a wrong password answered `PERMISSION_DENIED` — not
    /// `UNAUTHENTICATED`, which clients take for a dead access token.
    async fn check_password(
        &self,
        principal: &Principal,
        password: &Password,
        context: &RequestContext,
    ) -> Result<(), ServiceError> {
        let user = self.user(principal.user_id).await?;
        let now = self.now();
        let normalized = Email::parse(&user.email)
            .map(|e| e.normalized())
            .unwrap_or_else(|_| user.email.to_lowercase());
        let reservations = match self.reserve_attempt(&normalized, context, now).await? {
            Ok(reservations) => reservations,
            Err(locked_for) => {
                self.inner
                    .repo
                    .audit(audit(
                        AuditAction::LoginFailed,
                        Some(user.id),
                        Some(user.id),
                        context,
                        json!({"reason": "reauth_locked"}),
                        now,
                    ))
                    .await?;
                return Err(locked(locked_for));
            }
        };
        let verification = self
            .inner
            .hasher
            .verify(password, Some(&user.password_hash))
            .await?;
        if verification.matches {
            self.succeeded_attempt(&reservations, now).await?;
            Ok(())
        } else {
            self.inner
                .repo
                .audit(audit(
                    AuditAction::LoginFailed,
                    Some(user.id),
                    Some(user.id),
                    context,
                    json!({"reason": "reauth"}),
                    now,
                ))
                .await?;
            Err(ServiceError::new(
                ErrorCode::PermissionDenied,
                "the current password is incorrect",
            ))
        }
    }

    /// The caller's active sessions, most recently used first.
    pub async fn list_sessions(
        &self,
        principal: &Principal,
    ) -> Result<Vec<SessionView>, ServiceError> {
        let now = self.now();
        Ok(self
            .inner
            .repo
            .list_sessions(principal.user_id)
            .await?
            .into_iter()
            .filter(|s| s.revoked_at.is_none() && s.expires_at > now)
            .map(|s| SessionView {
                current: s.id == principal.session_id,
                id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                expires_at: s.expires_at,
                user_agent: s.user_agent,
                ip: s.ip,
            })
            .collect())
    }

    /// Revokes one of the caller's sessions (`NOT_FOUND` when it is not theirs or already ended).
    #[tracing::instrument(skip_all)]
    pub async fn revoke_session(
        &self,
        principal: &Principal,
        session_id: &str,
        context: &RequestContext,
    ) -> Result<(), ServiceError> {
        let session_id = Uuid::parse_str(session_id.trim()).map_err(|_| {
            invalid(format!(
                "session id must be a UUID, got '{}'",
                session_id.chars().take(64).collect::<String>()
            ))
        })?;
        let now = self.now();
        let id = principal.user_id;
        if !self
            .inner
            .repo
            .revoke_session(id, session_id, now, "revoked")
            .await?
        {
            return Err(ServiceError::not_found("no such active session"));
        }
        self.inner
            .repo
            .audit(audit(
                AuditAction::SessionRevoked,
                Some(id),
                Some(id),
                context,
                json!({"session_id": session_id}),
                now,
            ))
            .await?;
        Ok(())
    }

    fn audit_limit(limit: Option<u32>) -> Result<i64, ServiceError> {
        match limit.unwrap_or(DEFAULT_AUDIT_LIMIT) {
            n @ 1..=MAX_AUDIT_LIMIT => Ok(i64::from(n)),
            n => Err(invalid(format!(
                "limit must be between 1 and {MAX_AUDIT_LIMIT}, got {n}"
            ))),
        }
    }

    /// The caller's own security events, newest first.
    pub async fn my_audit(
        &self,
        principal: &Principal,
        limit: Option<u32>,
    ) -> Result<Vec<AuditEntry>, ServiceError> {
        let filter = AuditFilter {
            user_id: Some(principal.user_id),
            action: None,
            limit: Self::audit_limit(limit)?,
        };
        let entries = self.inner.repo.list_audit(&filter).await?;
        Ok(own_view(entries, principal.user_id))
    }

    /// Everything held about the caller, as JSON: profile, preferences, settings, sessions, security
    /// events and mails (without their bodies, which carry tokens).
    #[tracing::instrument(skip_all)]
    pub async fn export(
        &self,
        principal: &Principal,
        context: &RequestContext,
    ) -> Result<serde_json::Value, ServiceError> {
        let now = self.now();
        let id = principal.user_id;
        self.inner
            .repo
            .audit(audit(
                AuditAction::DataExported,
                Some(id),
                Some(id),
                context,
                json!({}),
                now,
            ))
            .await?;
        let profile = self.me(principal).await?;
        let user = self.user(id).await?;
        let sessions: Vec<Session> = self.inner.repo.list_sessions(id).await?;
        let audit_log = self
            .inner
            .repo
            .list_audit(&AuditFilter {
                user_id: Some(id),
                action: None,
                limit: EXPORT_AUDIT_LIMIT,
            })
            .await?;
        let audit_log = own_view(audit_log, id);
        // Mail bodies carry verification and reset tokens: exporting them would let a stolen access token
        // turn into a password reset, so the export lists the mails without their bodies.
        let mails: Vec<serde_json::Value> = self
            .inner
            .repo
            .outbox_for(&user.email)
            .await?
            .into_iter()
            .map(|m| json!({"recipient": m.recipient, "subject": m.subject, "created_at": m.created_at}))
            .collect();
        let mut export = json!({
            "exported_at": now,
            "profile": profile,
            "account": {
                "last_active_at": user.last_active_at,
                "disabled_at": user.disabled_at,
                "password_hash_algorithm": if is_bcrypt(&user.password_hash) { "bcrypt" } else { "argon2id" },
            },
            "sessions": sessions,
            "audit_log": audit_log,
            "mails": mails,
        });
        // library (issue 4): sections registered by other services
        let sections: Vec<Arc<dyn ExportSection>> = self
            .inner
            .export_sections
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        for section in sections {
            let value = section.export(id).await?;
            export[section.name()] = value;
        }
        Ok(export)
    }

    /// Deletes the caller's account after checking their password: login is refused and every session
    /// revoked at once; the purge job removes the data after the retention period.
    #[tracing::instrument(skip_all)]
    pub async fn delete_me(
        &self,
        principal: &Principal,
        password: String,
        context: &RequestContext,
    ) -> Result<(), ServiceError> {
        let password = Password::existing(password).map_err(invalid)?;
        self.check_password(principal, &password, context).await?;
        let now = self.now();
        let id = principal.user_id;
        let purge_after = now
            + Duration::days(
                i64::try_from(self.inner.settings.deletion_retention_days).unwrap_or(0),
            );
        self.inner
            .repo
            .soft_delete(
                id,
                now,
                audit(
                    AuditAction::AccountDeleted,
                    Some(id),
                    Some(id),
                    context,
                    json!({"purge_after": purge_after}),
                    now,
                ),
            )
            .await?;
        Ok(())
    }

    /// Admin: a page of accounts whose address or display name contains `query`.
    #[tracing::instrument(skip_all)]
    pub async fn admin_list_users(
        &self,
        principal: &Principal,
        query: Option<&str>,
        limit: Option<u32>,
        offset: Option<u32>,
        context: &RequestContext,
    ) -> Result<UserPage, ServiceError> {
        self.require_admin(principal)?;
        let query = query.unwrap_or("").trim();
        if query.chars().count() > 254 {
            return Err(invalid("q must be at most 254 characters".into()));
        }
        if query.chars().any(char::is_control) {
            return Err(invalid("q must not contain control characters".into()));
        }
        let limit = match limit.unwrap_or(DEFAULT_PAGE) {
            n @ 1..=MAX_PAGE => n,
            n => {
                return Err(invalid(format!(
                    "limit must be between 1 and {MAX_PAGE}, got {n}"
                )))
            }
        };
        let offset = offset.unwrap_or(0);
        let now = self.now();
        self.inner
            .repo
            .audit(audit(
                AuditAction::AdminUsersListed,
                Some(principal.user_id),
                None,
                context,
                json!({"q": query, "limit": limit, "offset": offset}),
                now,
            ))
            .await?;
        let (users, total) = self
            .inner
            .repo
            .list_users(query, i64::from(limit), i64::from(offset))
            .await?;
        Ok(UserPage {
            users: users
                .into_iter()
                .map(|u| UserSummary {
                    id: u.id,
                    email: u.email,
                    display_name: u.display_name,
                    role: u.role,
                    email_verified: u.is_verified,
                    disabled: u.disabled_at.is_some(),
                    deleted: u.deleted_at.is_some(),
                    created_at: u.created_at,
                })
                .collect(),
            total,
            limit,
            offset,
        })
    }

    /// Admin: changes an account's role and/or disables or enables it (disabling revokes its sessions).
    /// An admin cannot demote or disable themselves.
    #[tracing::instrument(skip_all)]
    pub async fn admin_update_user(
        &self,
        principal: &Principal,
        user_id: &str,
        role: Option<&str>,
        disabled: Option<bool>,
        context: &RequestContext,
    ) -> Result<UserSummary, ServiceError> {
        self.require_admin(principal)?;
        let user_id = Uuid::parse_str(user_id.trim())
            .map_err(|_| invalid("user id must be a UUID".into()))?;
        let role = role.map(Role::parse).transpose().map_err(invalid)?;
        if role.is_none() && disabled.is_none() {
            return Err(invalid(
                "nothing to change: give role and/or disabled".into(),
            ));
        }
        if user_id == principal.user_id && (role == Some(Role::User) || disabled == Some(true)) {
            return Err(invalid(
                "an admin cannot demote or disable their own account".into(),
            ));
        }
        let target = self.user(user_id).await?;
        if target.deleted_at.is_some() {
            return Err(ServiceError::not_found("no such account (it was deleted)"));
        }
        let now = self.now();
        let actor = Some(principal.user_id);
        let subject = Some(user_id);
        let mut entries = Vec::new();
        if let Some(role) = role.filter(|r| *r != target.role) {
            entries.push(audit(
                AuditAction::RoleChanged,
                actor,
                subject,
                context,
                json!({"from": target.role, "to": role}),
                now,
            ));
        }
        match disabled {
            Some(true) if target.disabled_at.is_none() => entries.push(audit(
                AuditAction::AccountDisabled,
                actor,
                subject,
                context,
                json!({}),
                now,
            )),
            Some(false) if target.disabled_at.is_some() => entries.push(audit(
                AuditAction::AccountEnabled,
                actor,
                subject,
                context,
                json!({}),
                now,
            )),
            _ => {}
        }
        self.inner
            .repo
            .admin_update(user_id, role, disabled, now, entries)
            .await?;
        let u = self.user(user_id).await?;
        Ok(UserSummary {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            role: u.role,
            email_verified: u.is_verified,
            disabled: u.disabled_at.is_some(),
            deleted: u.deleted_at.is_some(),
            created_at: u.created_at,
        })
    }

    /// Admin: the audit log, newest first, optionally of one account and/or one action.
    #[tracing::instrument(skip_all)]
    pub async fn admin_audit(
        &self,
        principal: &Principal,
        user_id: Option<&str>,
        action: Option<&str>,
        limit: Option<u32>,
        context: &RequestContext,
    ) -> Result<Vec<AuditEntry>, ServiceError> {
        self.require_admin(principal)?;
        let user_id = user_id
            .filter(|u| !u.trim().is_empty())
            .map(|u| {
                Uuid::parse_str(u.trim()).map_err(|_| invalid("user_id must be a UUID".into()))
            })
            .transpose()?;
        let action = action
            .filter(|a| !a.trim().is_empty())
            .map(AuditAction::parse)
            .transpose()
            .map_err(invalid)?;
        let filter = AuditFilter {
            user_id,
            action,
            limit: Self::audit_limit(limit)?,
        };
        let entries = self.inner.repo.list_audit(&filter).await?;
        self.inner
            .repo
            .audit(audit(
                AuditAction::AdminAuditRead,
                Some(principal.user_id),
                user_id,
                context,
                json!({"user_id": user_id, "action": action.map(|a| a.as_str()), "limit": filter.limit}),
                self.now(),
            ))
            .await?;
        Ok(entries)
    }

    // --- library (issue 4) ---
    /// A user's privacy settings (whether listening and search history are kept), for the library.
    pub async fn privacy_settings(&self, user_id: Uuid) -> Result<AccountSettings, ServiceError> {
        self.inner
            .repo
            .settings(user_id)
            .await?
            .ok_or_else(|| ServiceError::not_found("no such account"))
    }

    /// Adds a section to every export (`GET /v1/me/export`), e.g. the user's library.
    pub fn add_export_section(&self, section: Arc<dyn ExportSection>) {
        self.inner
            .export_sections
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(section);
    }
    // --- end library ---

    /// Deletes accounts inactive for longer than `auth.inactive_account_days` (when set), then removes
    /// accounts deleted more than `auth.deletion_retention_days` ago with all their data, and prunes
    /// expired throttle counters, mailed tokens and sessions that ended longer ago than that. The server
    /// runs this every `auth.purge_interval_secs`; tests call it directly.
    #[tracing::instrument(skip_all)]
    pub async fn purge_deleted_accounts(&self) -> Result<PurgeReport, ServiceError> {
        let now = self.now();
        let settings = &self.inner.settings;
        let mut report = PurgeReport::default();
        if settings.inactive_account_days > 0 {
            let cutoff =
                now - Duration::days(i64::try_from(settings.inactive_account_days).unwrap_or(0));
            report.deleted_inactive = self.inner.repo.delete_inactive(cutoff, now).await?.len();
        }
        let cutoff =
            now - Duration::days(i64::try_from(settings.deletion_retention_days).unwrap_or(0));
        report.purged = self.inner.repo.purge_deleted(cutoff, now).await?.len();
        // Counters idle for longer than a window plus the longest lockout can no longer lock anything;
        // ended sessions are kept (visible in the export) for the deletion retention period.
        let throttle_cutoff =
            now - secs(settings.throttle.window_secs) - secs(settings.throttle.max_lockout_secs);
        report.pruned = self.inner.repo.prune_throttle(now, throttle_cutoff).await?
            + self
                .inner
                .repo
                .prune_sessions_and_tokens(now, cutoff)
                .await?;
        if report.purged > 0 || report.deleted_inactive > 0 {
            tracing::info!(
                purged = report.purged,
                deleted_inactive = report.deleted_inactive,
                "account purge ran"
            );
        }
        Ok(report)
    }

    /// Creates a verified admin account (the `users create-admin` command).
    #[tracing::instrument(skip_all)]
    pub async fn create_admin(&self, email: &str, password: String) -> Result<Uuid, ServiceError> {
        let email = Email::parse(email).map_err(invalid)?;
        let password = Password::parse(password).map_err(invalid)?;
        let hash = self.inner.hasher.hash(&password).await?;
        let id = Uuid::new_v4();
        let now = self.now();
        let context = RequestContext::new(None, Some("linernotes users create-admin"));
        let name = email
            .as_str()
            .split('@')
            .next()
            .unwrap_or("admin")
            .to_owned();
        self.inner
            .repo
            .create_user(
                NewUser {
                    id,
                    email: email.as_str(),
                    password_hash: &hash,
                    display_name: &name,
                    role: Role::Admin,
                    is_verified: true,
                    created_at: now,
                },
                audit(
                    AuditAction::AdminCreated,
                    None,
                    Some(id),
                    &context,
                    json!({}),
                    now,
                ),
            )
            .await
            .map_err(|e| match e {
                AccountStoreError::AlreadyExists => ServiceError::new(
                    ErrorCode::AlreadyExists,
                    "an account with this email address already exists",
                ),
                AccountStoreError::Store(e) => e.into(),
            })?;
        Ok(id)
    }

    /// Copies the users of an older deployment (`users(id, email, password_hash, role, is_verified,
    /// created_at)` at `source_url`), keeping IDs and hashes; users already present are skipped.
    #[tracing::instrument(skip_all)]
    pub async fn import_users(&self, source_url: &str) -> Result<ImportReport, ServiceError> {
        let source = read_legacy_users_from(source_url).await.map_err(|e| {
            ServiceError::new(
                ErrorCode::Unavailable,
                format!("cannot read the source users table: {e}"),
            )
        })?;
        let found = source.len() as u64;
        let mut valid: Vec<LegacyUser> = Vec::new();
        for mut user in source {
            let email = Email::parse(&user.email);
            let role = Role::parse(&user.role.to_lowercase());
            let hash_ok =
                is_bcrypt(&user.password_hash) || user.password_hash.starts_with("$argon2");
            match (email, role, hash_ok) {
                (Ok(email), Ok(role), true) => {
                    user.email = email.as_str().to_owned();
                    user.role = role.as_str().to_owned();
                    valid.push(user);
                }
                _ => {
                    tracing::warn!(id = %user.id, "skipping an imported user with an invalid email, role or hash")
                }
            }
        }
        let skipped_invalid = found - valid.len() as u64;
        let context = RequestContext::new(None, Some("linernotes users import"));
        let (imported, skipped_existing) = self
            .inner
            .repo
            .import_users(
                &valid,
                audit(
                    AuditAction::UsersImported,
                    None,
                    None,
                    &context,
                    json!({}),
                    self.now(),
                ),
            )
            .await?;
        Ok(ImportReport {
            found,
            imported,
            skipped_existing,
            skipped_invalid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_pair_debug_leaves_out_the_tokens() {
        let pair = TokenPair {
            access_token: "secret-access".into(),
            refresh_token: "secret-refresh".into(),
            expires_in: 900,
            token_type: "Bearer",
        };
        let printed = format!("{pair:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("900"), "{printed}");
    }
}
