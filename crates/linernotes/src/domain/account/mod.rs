//! Account types: the fields that parse, users with their preferences and settings, sessions, the
//! audit log's vocabulary, outbox mail and the pure arithmetic of login throttling. The store persists
//! them, the service reasons about them, the transports convert them; none of them knows SQL.
//!
//! Layout:
//! - [`fields`]: e-mail addresses, passwords, roles and profile fields that parse;
//! - [`user`]: an account, a new one, its preferences and settings, a profile change, a legacy user;
//! - [`session`]: sessions, refresh outcomes, the password check a session depends on, mailed-token
//!   purposes;
//! - [`audit`]: the request context, audit actions, entries and filters;
//! - [`outbox`]: mail waiting in the outbox;
//! - [`throttle`]: lockout policy and counters.
//!
//! Types whose `Debug` would print a credential (password hashes, mail bodies carrying tokens) print
//! `[redacted]` in its place.

pub mod audit;
pub mod fields;
pub mod outbox;
pub mod session;
pub mod throttle;
pub mod user;

pub use audit::{AuditAction, AuditEntry, AuditFilter, NewAuditEntry, RequestContext};
pub use fields::{
    parse_language, parse_region, AvatarUrl, Bio, DisplayName, Email, Password, Role,
    MAX_AVATAR_URL_LEN, MAX_BIO_CHARS, MAX_DISPLAY_NAME_CHARS, MAX_EMAIL_LEN, MAX_PASSWORD_CHARS,
    MIN_PASSWORD_CHARS,
};
pub use outbox::OutboxMail;
pub use session::{RefreshOutcome, Session, TokenPurpose, VerifiedPassword};
pub use throttle::{ThrottlePolicy, ThrottleState};
pub use user::{AccountSettings, LegacyUser, NewUser, Preferences, ProfileChange, User};

/// What `Debug` prints in place of a credential.
const REDACTED: &str = "[redacted]";

/// Shortens and strips a client's value before quoting it back in a message.
fn printable(text: &str) -> String {
    let cleaned: String = text.chars().filter(|c| !c.is_control()).take(64).collect();
    if text.chars().count() > 64 {
        format!("{cleaned}…")
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

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
