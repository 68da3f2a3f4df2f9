//! Recovery by mail: the verification mail sent at registration, verifying an address, and resetting a
//! forgotten password with a mailed single-use token.

use serde_json::json;
use uuid::Uuid;

use super::mailer::OutgoingMail;
use super::tokens::{hash_token, new_opaque_token};
use super::{audit, invalid, own_audit, secs, AccountService};
use crate::domain::account::{AuditAction, Email, Password, RequestContext, TokenPurpose};
use crate::service::ServiceError;

impl AccountService {
    /// Mails a new account's address a single-use token that verifies it (valid for
    /// `auth.verify_email_ttl_secs`).
    pub(super) async fn send_verification(
        &self,
        user_id: Uuid,
        email: &str,
    ) -> Result<(), ServiceError> {
        let now = self.now();
        let (token, hash) = new_opaque_token();
        let ttl = secs(self.inner.settings.verify_email_ttl_secs);
        self.inner
            .repo
            .create_one_time_token(user_id, TokenPurpose::VerifyEmail, &hash, now, now + ttl)
            .await?;
        let base = self.inner.settings.public_url.trim_end_matches('/');
        let body = format!(
            "Welcome to linernotes.\n\nTo verify your email address, open this link within {} hours:\n\n\
             {base}/account/verify-email?token={token}\n\nApplications can instead send the token to \
             {base}/v1/auth/verify-email as {{\"token\": \"…\"}}.\n\ntoken: {token}\n",
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
                own_audit(AuditAction::EmailVerified, user, context, now),
            )
            .await?;
        Ok(())
    }

    /// Mails a reset token when the address belongs to an active account (at most
    /// `auth.throttle.account_max_failures` per window). Only the address's form is checked before the
    /// answer: the lookup, the throttle, the audit entry and the mail happen in the background, so the
    /// answer takes the same time whether the address has an account or not (a timing difference would
    /// tell who has one).
    #[tracing::instrument(skip_all)]
    pub async fn request_password_reset(
        &self,
        email: &str,
        context: &RequestContext,
    ) -> Result<(), ServiceError> {
        let email = Email::parse(email).map_err(invalid)?;
        let service = self.clone();
        let context = context.clone();
        self.inner.deferred.spawn(async move {
            if let Err(err) = service.mail_reset_token(email, &context).await {
                tracing::warn!(error = %err.message, "password reset request not completed");
            }
        });
        Ok(())
    }

    /// The work behind a reset request (see [`AccountService::request_password_reset`]).
    async fn mail_reset_token(
        &self,
        email: Email,
        context: &RequestContext,
    ) -> Result<(), ServiceError> {
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
        let (before, _) = self.count_attempt(&key, self.account_policy(), now).await?;
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
            "Someone asked to reset the password of your linernotes account. If it was you, open this \
             link within {} minutes and choose a new password; otherwise ignore this mail.\n\n\
             {base}/account/reset-password?token={token}\n\nApplications can instead send the token \
             with the new password to {base}/v1/auth/password-reset/confirm as \
             {{\"token\": \"…\", \"new_password\": \"…\"}}.\n\ntoken: {token}\n",
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
                own_audit(AuditAction::PasswordReset, user_id, context, now),
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
}
