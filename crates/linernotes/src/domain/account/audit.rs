//! The audit log's vocabulary: who is asking ([`RequestContext`]), every kind of entry
//! ([`AuditAction`]), an entry to append, a stored entry, and what to read back.

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::printable;

/// Who is asking, as far as the transport can tell: recorded with sessions and audit entries, and the IP
/// keys the per-address login throttle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The socket peer's address.
    pub ip: Option<IpAddr>,
    /// The `User-Agent` header (truncated to 512 characters).
    pub user_agent: Option<String>,
}

impl RequestContext {
    /// Builds a context, truncating an over-long user agent.
    pub fn new(ip: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        Self {
            ip,
            user_agent: user_agent
                .map(|ua| ua.chars().filter(|c| !c.is_control()).take(512).collect()),
        }
    }
}

/// Every kind of audit entry. The string form is what is stored and what `?action=` filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// An account was created.
    Register,
    /// A login succeeded.
    LoginSucceeded,
    /// A login failed (wrong password, unknown e-mail, locked, disabled).
    LoginFailed,
    /// A session was ended by logout.
    Logout,
    /// An already-rotated refresh token was presented; its session was revoked.
    TokenReuseDetected,
    /// The owner changed their password.
    PasswordChanged,
    /// A password reset was asked for.
    PasswordResetRequested,
    /// A password was reset with a mailed token.
    PasswordReset,
    /// The e-mail address was verified.
    EmailVerified,
    /// Profile, preferences or settings changed.
    ProfileUpdated,
    /// An admin changed an account's role.
    RoleChanged,
    /// An admin disabled an account.
    AccountDisabled,
    /// An admin enabled an account.
    AccountEnabled,
    /// A session was revoked by its owner.
    SessionRevoked,
    /// The owner exported their data.
    DataExported,
    /// The account was deleted (soft; purged later).
    AccountDeleted,
    /// A deleted account and its data were removed for good.
    AccountPurged,
    /// An admin listed or searched accounts.
    AdminUsersListed,
    /// An admin read the audit log.
    AdminAuditRead,
    /// An admin was created from the command line.
    AdminCreated,
    /// Accounts were imported from an older deployment.
    UsersImported,
}

impl AuditAction {
    /// Every action, for validating filters.
    pub const ALL: [AuditAction; 21] = [
        AuditAction::Register,
        AuditAction::LoginSucceeded,
        AuditAction::LoginFailed,
        AuditAction::Logout,
        AuditAction::TokenReuseDetected,
        AuditAction::PasswordChanged,
        AuditAction::PasswordResetRequested,
        AuditAction::PasswordReset,
        AuditAction::EmailVerified,
        AuditAction::ProfileUpdated,
        AuditAction::RoleChanged,
        AuditAction::AccountDisabled,
        AuditAction::AccountEnabled,
        AuditAction::SessionRevoked,
        AuditAction::DataExported,
        AuditAction::AccountDeleted,
        AuditAction::AccountPurged,
        AuditAction::AdminUsersListed,
        AuditAction::AdminAuditRead,
        AuditAction::AdminCreated,
        AuditAction::UsersImported,
    ];

    /// The stored name, e.g. `login_succeeded`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuditAction::Register => "register",
            AuditAction::LoginSucceeded => "login_succeeded",
            AuditAction::LoginFailed => "login_failed",
            AuditAction::Logout => "logout",
            AuditAction::TokenReuseDetected => "token_reuse_detected",
            AuditAction::PasswordChanged => "password_changed",
            AuditAction::PasswordResetRequested => "password_reset_requested",
            AuditAction::PasswordReset => "password_reset",
            AuditAction::EmailVerified => "email_verified",
            AuditAction::ProfileUpdated => "profile_updated",
            AuditAction::RoleChanged => "role_changed",
            AuditAction::AccountDisabled => "account_disabled",
            AuditAction::AccountEnabled => "account_enabled",
            AuditAction::SessionRevoked => "session_revoked",
            AuditAction::DataExported => "data_exported",
            AuditAction::AccountDeleted => "account_deleted",
            AuditAction::AccountPurged => "account_purged",
            AuditAction::AdminUsersListed => "admin_users_listed",
            AuditAction::AdminAuditRead => "admin_audit_read",
            AuditAction::AdminCreated => "admin_created",
            AuditAction::UsersImported => "users_imported",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == raw.trim())
            .ok_or_else(|| format!("unknown audit action '{}'", printable(raw)))
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Sequence number.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// What (an [`AuditAction`] name; kept as stored, so an entry of a retired action still reads).
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
