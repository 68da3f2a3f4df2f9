//! Sessions: a session as stored, what presenting a refresh token led to, the password check a new
//! session depends on, and the purposes of single-use mailed tokens.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// The password hash a login checked, and its replacement when it is to be upgraded.
#[derive(Clone, Copy)]
pub struct VerifiedPassword<'a> {
    /// The stored hash the password matched.
    pub verified_hash: &'a str,
    /// A current-cost Argon2id hash of the same password, to store instead.
    pub upgraded_hash: Option<&'a str>,
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
    /// The stored name, e.g. `password_reset`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::PasswordReset => "password_reset",
        }
    }
}
