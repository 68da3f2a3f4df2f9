//! An account's life: registration, the export of everything held about it, deletion by its owner,
//! and the purge job that deletes inactive accounts and removes deleted ones after the retention period.

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use uuid::Uuid;

use super::passwords::is_bcrypt;
use super::profile::own_view;
use super::types::{Principal, PurgeReport};
use super::{audit, days, invalid, own_audit, secs, AccountService};
use crate::domain::account::{
    AuditAction, AuditFilter, DisplayName, Email, NewUser, Password, RequestContext, Role, Session,
};
use crate::service::ServiceError;

/// Audit entries included in an export.
const EXPORT_AUDIT_LIMIT: i64 = 100_000;

/// Data another service holds about a user, added to their export under [`ExportSection::name`]
/// (the library). Registered with [`AccountService::add_export_section`].
#[async_trait::async_trait]
pub trait ExportSection: Send + Sync {
    /// The key of the section in the export.
    fn name(&self) -> &'static str;
    /// Everything held about `user_id`.
    async fn export(&self, user_id: Uuid) -> Result<serde_json::Value, ServiceError>;
}

impl AccountService {
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
                own_audit(AuditAction::Register, id, context, now),
            )
            .await?;
        self.send_verification(id, email.as_str()).await?;
        Ok(id)
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
            .audit(own_audit(AuditAction::DataExported, id, context, now))
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
        // Sections registered by other services (the library).
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

    /// Adds a section to every export (`GET /v1/me/export`), e.g. the user's library.
    pub fn add_export_section(&self, section: Arc<dyn ExportSection>) {
        self.inner
            .export_sections
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(section);
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
        let known_cutoff = now - days(settings.throttle.known_login_days);
        report.pruned = self
            .inner
            .repo
            .prune_throttle(now, throttle_cutoff, known_cutoff)
            .await?
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
}
