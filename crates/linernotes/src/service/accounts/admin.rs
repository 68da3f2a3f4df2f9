//! Administration: listing and changing accounts and reading the audit log (for the admin role), and
//! the command-line jobs that create an admin and import users from an older deployment.

use serde_json::json;
use uuid::Uuid;

use super::passwords::is_bcrypt;
use super::types::{ImportReport, Principal, UserPage, UserSummary};
use super::{audit, invalid, AccountService};
use crate::domain::account::{
    AuditAction, AuditEntry, AuditFilter, Email, LegacyUser, NewUser, Password, RequestContext,
    Role,
};
use crate::service::{ErrorCode, ServiceError};
use crate::store::accounts::read_legacy_users_from;

/// Default and largest page of admin listings.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 100;

impl AccountService {
    /// `PERMISSION_DENIED` unless the caller holds the admin role (read from the database on every
    /// request, so a demotion takes effect at once).
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
            users: users.into_iter().map(UserSummary::from).collect(),
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
        Ok(self.user(user_id).await?.into())
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
            .await?;
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
