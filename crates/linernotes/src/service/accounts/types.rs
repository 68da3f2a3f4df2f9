//! What the accounts service answers and takes besides domain types: the authenticated caller, token
//! pairs, profiles and profile updates, sessions as their owner sees them, admin listings, and the
//! reports of the purge and import jobs.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::account::{AccountSettings, Preferences, Role, User};

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

/// Tokens answered by login and refresh (`Debug` leaves the tokens out: they are credentials).
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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

impl From<User> for UserSummary {
    fn from(u: User) -> Self {
        UserSummary {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            role: u.role,
            email_verified: u.is_verified,
            disabled: u.disabled_at.is_some(),
            deleted: u.deleted_at.is_some(),
            created_at: u.created_at,
        }
    }
}

/// A page of accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
