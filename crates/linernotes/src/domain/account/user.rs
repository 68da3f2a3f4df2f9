//! Users: an account as stored, a new one, its preferences and settings, a change to them, and a user
//! of the table the project grew from (imported by `users import`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{Role, REDACTED};

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

/// Language and region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Preferences {
    /// Language tag.
    pub language: Option<String>,
    /// Region code.
    pub region: Option<String>,
}

/// Privacy and notification settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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

/// A user of the table the project grew from: `users(id, email, password_hash, role, is_verified,
/// created_at)`. `Debug` leaves out the hash.
#[derive(Clone)]
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
