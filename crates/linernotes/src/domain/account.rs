//! Account types: e-mail addresses, passwords, roles and profile fields that parse, so the rest of the
//! code only ever sees valid values; the request context (IP, user agent) audit entries record; audit
//! actions; and the pure arithmetic of login throttling.
//!
//! Each `parse` returns a sentence a client can act on when the value is refused.

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Longest accepted e-mail address (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password, in characters; longer ones are refused before any hashing.
pub const MAX_PASSWORD_CHARS: usize = 1024;
/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;
/// Longest bio, in characters.
pub const MAX_BIO_CHARS: usize = 1000;
/// Longest avatar URL, in bytes.
pub const MAX_AVATAR_URL_LEN: usize = 2048;

/// A syntactically valid e-mail address, trimmed. Equality of accounts is case-insensitive (the store
/// compares `lower(email)`); the address keeps the case it was given in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Email(String);

impl Email {
    /// Trims and validates an address: one `@`, a local part of at most 64 characters, a domain of
    /// dot-separated labels (letters, digits, hyphens) with at least one dot, nothing that could be a
    /// quote, a bracket, a separator or a control character.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim();
        if email.is_empty() {
            return Err("email must not be empty".into());
        }
        if email.len() > MAX_EMAIL_LEN {
            return Err(format!("email must be at most {MAX_EMAIL_LEN} characters"));
        }
        let invalid = || format!("'{}' is not a valid e-mail address", printable(email));
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        if local.is_empty() || local.len() > 64 || domain.contains('@') {
            return Err(invalid());
        }
        let local_ok = local.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || "!#$%&'*+-/=?^_{|}~.".contains(c)
                || (!c.is_ascii() && !c.is_control())
        }) && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| {
                        c.is_ascii_alphanumeric()
                            || c == '-'
                            || (!c.is_ascii() && c.is_alphanumeric())
                    })
            });
        if local_ok && domain_ok {
            Ok(Email(email.to_owned()))
        } else {
            Err(invalid())
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address folded for comparisons and throttling keys.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password within the accepted length. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Accepts 8 to 1024 characters (any characters; spaces count).
    pub fn parse(raw: String) -> Result<Self, String> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(format!(
                "password must be at least {MIN_PASSWORD_CHARS} characters"
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(format!(
                "password must be at most {MAX_PASSWORD_CHARS} characters"
            ));
        }
        Ok(Password(raw))
    }

    /// Accepts a password presented to be checked against a stored hash: 1 to 1024 characters (accounts
    /// imported from older deployments may have passwords shorter than today's minimum).
    pub fn existing(raw: String) -> Result<Self, String> {
        let chars = raw.chars().count();
        if chars == 0 {
            return Err("password must not be empty".into());
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(format!(
                "password must be at most {MAX_PASSWORD_CHARS} characters"
            ));
        }
        Ok(Password(raw))
    }

    /// The password itself, for hashing and verifying only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An ordinary user: their own account only.
    User,
    /// An administrator: every account and the audit log.
    Admin,
}

impl Role {
    /// Parses `user` or `admin`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "role must be user or admin, got '{}'",
                printable(other)
            )),
        }
    }

    /// `user` or `admin`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Characters refused in names and bios: markup, quotes other than the apostrophe, statement
/// separators and comment starters. Apostrophes stay allowed (O'Brien).
const FORBIDDEN_TEXT_CHARS: &[char] = &['<', '>', '"', '`', ';', '\\', '{', '}'];

fn check_text(
    field: &str,
    text: &str,
    max_chars: usize,
    allow_newlines: bool,
) -> Result<(), String> {
    if text.chars().count() > max_chars {
        return Err(format!("{field} must be at most {max_chars} characters"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\t')))
    {
        return Err(format!("{field} must not contain control characters"));
    }
    if text.contains(FORBIDDEN_TEXT_CHARS) || text.contains("--") || text.contains("/*") {
        return Err(format!(
            "{field} must not contain markup, quotes, semicolons, backslashes, braces or comment markers"
        ));
    }
    Ok(())
}

/// A display name: 1 to 100 characters, trimmed, no markup or control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisplayName(String);

impl DisplayName {
    /// Trims and validates.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("display_name must not be empty".into());
        }
        check_text("display_name", name, MAX_DISPLAY_NAME_CHARS, false)?;
        Ok(DisplayName(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A bio: at most 1000 characters, line breaks allowed, no markup; empty clears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bio(String);

impl Bio {
    /// Trims and validates.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bio = raw.trim();
        check_text("bio", bio, MAX_BIO_CHARS, true)?;
        Ok(Bio(bio.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An avatar URL: `http` or `https`, at most 2048 bytes; empty clears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AvatarUrl(String);

impl AvatarUrl {
    /// Validates.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        if text.len() > MAX_AVATAR_URL_LEN {
            return Err(format!(
                "avatar_url must be at most {MAX_AVATAR_URL_LEN} characters"
            ));
        }
        match url::Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Ok(AvatarUrl(url.to_string()))
            }
            _ => Err("avatar_url must be an http(s) URL".into()),
        }
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A language tag such as `en` or `pt-BR` (a BCP 47 primary subtag with optional subtags).
pub fn parse_language(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    let mut parts = text.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if primary_ok && rest_ok && text.len() <= 35 {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "language must be a language tag such as en or pt-BR, got '{}'",
            printable(text)
        ))
    }
}

/// A region: an ISO 3166-1 alpha-2 code such as `DE`, upper-cased.
pub fn parse_region(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.len() == 2 && text.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(text.to_ascii_uppercase())
    } else {
        Err(format!(
            "region must be a two-letter country code such as DE, got '{}'",
            printable(text)
        ))
    }
}

/// Shortens and strips a client's value before quoting it back in a message.
fn printable(text: &str) -> String {
    let cleaned: String = text.chars().filter(|c| !c.is_control()).take(64).collect();
    if text.chars().count() > 64 {
        format!("{cleaned}…")
    } else {
        cleaned
    }
}

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

/// How many failures lock a throttling key, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures within `window` that lock the key.
    pub max_failures: u32,
    /// The counting window.
    pub window: Duration,
    /// The first lockout; each further one doubles, up to `max_lockout`.
    pub lockout: Duration,
    /// The longest lockout.
    pub max_lockout: Duration,
}

/// The stored counters of one throttling key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    /// When the current counting window began.
    pub window_start: DateTime<Utc>,
    /// Failures in the window.
    pub failures: u32,
    /// Locked until then, when set and in the future.
    pub locked_until: Option<DateTime<Utc>>,
    /// Lockouts so far (the back-off exponent); reset by a successful login.
    pub lockouts: u32,
}

impl ThrottleState {
    /// A key that never failed.
    pub fn fresh(now: DateTime<Utc>) -> Self {
        Self {
            window_start: now,
            failures: 0,
            locked_until: None,
            lockouts: 0,
        }
    }

    /// How long the key stays locked, if it is locked at `now`.
    pub fn locked_for(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// The counters after reserving one attempt at `now`: a locked key stays as it is (the attempt is
    /// refused), otherwise the attempt counts as a failure *before* the password is checked, so parallel
    /// guesses cannot all pass a check that none of them has recorded yet. A successful attempt gives its
    /// reservation back with [`ThrottleState::released`] (or clears the key).
    pub fn reserved(self, policy: &ThrottlePolicy, now: DateTime<Utc>) -> Self {
        if self.locked_for(now).is_some() {
            self
        } else {
            self.after_failure(policy, now)
        }
    }

    /// The counters after giving back a reservation that moved them from `before` to `reserved`: when
    /// nothing happened since, `before`; when only further attempts were counted in the same window, one
    /// failure fewer; otherwise (a new window or lock since) unchanged, erring on the side of counting.
    pub fn released(self, before: &Self, reserved: &Self) -> Self {
        if self == *reserved {
            *before
        } else if self.window_start == reserved.window_start
            && self.lockouts == reserved.lockouts
            && self.failures > 0
        {
            Self {
                failures: self.failures - 1,
                ..self
            }
        } else {
            self
        }
    }

    /// The counters after one more failure at `now`: a window that ran out starts again; reaching the
    /// limit locks the key for `lockout × 2^lockouts` (capped) and starts a new window.
    pub fn after_failure(self, policy: &ThrottlePolicy, now: DateTime<Utc>) -> Self {
        let mut next = self;
        if now - next.window_start >= policy.window {
            next.window_start = now;
            next.failures = 0;
        }
        next.failures = next.failures.saturating_add(1);
        if next.failures >= policy.max_failures {
            let factor = 1i32 << next.lockouts.min(20);
            let lock = (policy.lockout * factor).min(policy.max_lockout);
            next.locked_until = Some(now + lock);
            next.lockouts = next.lockouts.saturating_add(1);
            next.failures = 0;
            next.window_start = now;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_validated() {
        assert!(Email::parse("o'brien+tag@mail.example.org").is_ok());
        assert_eq!(
            Email::parse("  Ada@Example.org ").unwrap().as_str(),
            "Ada@Example.org"
        );
        assert_eq!(
            Email::parse("Ada@Example.org").unwrap().normalized(),
            "ada@example.org"
        );
        for bad in [
            "",
            "ada",
            "@example.org",
            "ada@",
            "ada@localhost",
            "ada@@example.org",
            "a da@example.org",
            "ada@exa mple.org",
            "'; DROP TABLE users; --@x.org",
            "<script>@x.org",
            "ada@-x.org",
            ".ada@x.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(Email::parse(&format!("{}@x.org", "a".repeat(65))).is_err());
    }

    #[test]
    fn passwords_have_bounds_and_hide_in_debug() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("x".repeat(1025)).is_err());
        assert!(Password::parse("x".repeat(1024)).is_ok());
        let p = Password::parse("correct horse".into()).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn names_refuse_markup_and_sql_looking_text() {
        assert!(DisplayName::parse("O'Brien").is_ok());
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("<script>alert(1)</script>").is_err());
        assert!(DisplayName::parse("Robert'); DROP TABLE users;--").is_err());
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
        assert!(Bio::parse("line one\nline two").is_ok());
    }

    #[test]
    fn lockouts_grow_and_are_capped() {
        let policy = ThrottlePolicy {
            max_failures: 3,
            window: Duration::minutes(15),
            lockout: Duration::minutes(15),
            max_lockout: Duration::minutes(40),
        };
        let t0 = Utc::now();
        let mut s = ThrottleState::fresh(t0);
        for _ in 0..3 {
            s = s.after_failure(&policy, t0);
        }
        assert_eq!(s.locked_for(t0), Some(Duration::minutes(15)));
        let t1 = t0 + Duration::minutes(16);
        assert_eq!(s.locked_for(t1), None);
        for _ in 0..3 {
            s = s.after_failure(&policy, t1);
        }
        assert_eq!(s.locked_for(t1), Some(Duration::minutes(30)));
        let t2 = t1 + Duration::minutes(31);
        for _ in 0..3 {
            s = s.after_failure(&policy, t2);
        }
        assert_eq!(s.locked_for(t2), Some(Duration::minutes(40)));
        // A window that ran out starts counting again.
        let mut s = ThrottleState::fresh(t0);
        s = s.after_failure(&policy, t0);
        s = s.after_failure(&policy, t0);
        s = s.after_failure(&policy, t0 + Duration::minutes(20));
        assert_eq!(s.failures, 1);
        assert_eq!(s.locked_until, None);
    }
}
