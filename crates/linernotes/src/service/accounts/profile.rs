//! The caller's own account: profile, preferences and settings, password change, their own security
//! events, and the privacy settings other services consult.

use serde_json::json;
use uuid::Uuid;

use super::types::{Principal, Profile, ProfileUpdate};
use super::{audit, invalid, own_audit, AccountService};
use crate::domain::account::{
    parse_language, parse_region, AccountSettings, AuditAction, AuditEntry, AuditFilter, AvatarUrl,
    Bio, DisplayName, Password, ProfileChange, RequestContext,
};
use crate::service::ServiceError;

/// The audit entries as their subject may see them: the client address and user agent of an entry
/// someone else caused (an admin acting on the account, a stranger's failed login) are someone else's
/// personal data and are left out.
pub(super) fn own_view(entries: Vec<AuditEntry>, user_id: Uuid) -> Vec<AuditEntry> {
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

impl AccountService {
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
                own_audit(AuditAction::PasswordChanged, id, context, now),
            )
            .await?;
        Ok(())
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

    /// A user's privacy settings (whether listening and search history are kept), for the library.
    pub async fn privacy_settings(&self, user_id: Uuid) -> Result<AccountSettings, ServiceError> {
        self.inner
            .repo
            .settings(user_id)
            .await?
            .ok_or_else(|| ServiceError::not_found("no such account"))
    }
}
