//! Logging in and staying logged in: login, refresh-token rotation, logout, checking a bearer token,
//! re-authentication before sensitive changes, and the caller's sessions.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::passwords::is_bcrypt;
use super::throttle::locked;
use super::tokens::{hash_token, new_opaque_token};
use super::types::{Principal, SessionView, TokenPair};
use super::{audit, invalid, secs, unauthenticated, AccountService};
use crate::domain::account::{
    AuditAction, Email, Password, RefreshOutcome, RequestContext, VerifiedPassword,
};
use crate::service::{ErrorCode, ServiceError};

/// The one answer to a failed login, whatever failed.
const BAD_CREDENTIALS: &str = "email or password is incorrect";

/// A refresh token as presented, trimmed; refused before any lookup when it cannot be one.
fn presented_refresh_token(raw: &str) -> Result<&str, ServiceError> {
    let token = raw.trim();
    if token.is_empty() || token.len() > 256 {
        return Err(invalid(
            "refresh_token must be a token returned by login or refresh".into(),
        ));
    }
    Ok(token)
}

impl AccountService {
    /// Appends a `login_failed` entry with its reason; `actor` is none for an attempt nobody has been
    /// identified for.
    async fn login_failed(
        &self,
        actor: Option<Uuid>,
        subject: Option<Uuid>,
        reason: &str,
        context: &RequestContext,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        self.inner
            .repo
            .audit(audit(
                AuditAction::LoginFailed,
                actor,
                subject,
                context,
                json!({ "reason": reason }),
                now,
            ))
            .await?;
        Ok(())
    }

    /// Checks a password for an e-mail address, with throttling per address and per client IP, and opens
    /// a session. Unknown address and wrong password answer alike; a bcrypt or outdated Argon2 hash is
    /// re-hashed on success.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        email: &str,
        password: String,
        context: &RequestContext,
    ) -> Result<TokenPair, ServiceError> {
        let email = Email::parse(email).map_err(invalid)?;
        let password = Password::existing(password).map_err(invalid)?;
        let repo = &self.inner.repo;
        let now = self.now();
        let user = repo
            .find_by_email(email.as_str())
            .await?
            .filter(|u| u.deleted_at.is_none());
        let subject = user.as_ref().map(|u| u.id);

        let reservations = match self
            .reserve_attempt(&email.normalized(), context, now)
            .await?
        {
            Ok(reservations) => reservations,
            Err(locked_for) => {
                self.login_failed(None, subject, "locked", context, now)
                    .await?;
                return Err(locked(locked_for));
            }
        };

        let verification = self
            .inner
            .hasher
            .verify(&password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await?;
        let Some(user) = user.filter(|_| verification.matches) else {
            // The reservation stays: it was this failure.
            self.login_failed(None, subject, "invalid_credentials", context, now)
                .await?;
            return Err(unauthenticated(BAD_CREDENTIALS));
        };

        if user.disabled_at.is_some() {
            self.release_attempt(&reservations, now).await?;
            self.login_failed(Some(user.id), Some(user.id), "disabled", context, now)
                .await?;
            return Err(ServiceError::new(
                ErrorCode::PermissionDenied,
                "this account is disabled; contact an administrator",
            ));
        }
        let upgraded = if verification.needs_rehash {
            Some(self.inner.hasher.hash(&password).await?)
        } else {
            None
        };
        let (refresh, refresh_hash) = new_opaque_token();
        let expires = now + secs(self.inner.settings.refresh_token_ttl_secs);
        // Only if the password was not changed or reset since it was read: otherwise the session would
        // outlive the reset that was meant to end them all (and an upgrade would restore the old password).
        let Some(session) = repo
            .create_session(
                user.id,
                VerifiedPassword {
                    verified_hash: &user.password_hash,
                    upgraded_hash: upgraded.as_deref(),
                },
                context,
                now,
                expires,
                &refresh_hash,
            )
            .await?
        else {
            self.login_failed(
                Some(user.id),
                Some(user.id),
                "password_changed",
                context,
                now,
            )
            .await?;
            return Err(unauthenticated(BAD_CREDENTIALS));
        };
        self.succeeded_attempt(&reservations, &email.normalized(), context, now)
            .await?;
        if upgraded.is_some() {
            tracing::info!(user = %user.id, from_bcrypt = is_bcrypt(&user.password_hash), "password hash upgraded");
        }
        repo.audit(audit(
            AuditAction::LoginSucceeded,
            Some(user.id),
            Some(user.id),
            context,
            json!({"session_id": session.id, "password_rehashed": verification.needs_rehash}),
            now,
        ))
        .await?;
        self.token_pair(user.id, session.id, refresh, now)
    }

    fn token_pair(
        &self,
        user: Uuid,
        session: Uuid,
        refresh_token: String,
        now: DateTime<Utc>,
    ) -> Result<TokenPair, ServiceError> {
        let access_token = self
            .inner
            .access
            .issue(user, session, now)
            .map_err(ServiceError::internal)?;
        Ok(TokenPair {
            access_token,
            refresh_token,
            expires_in: self.inner.access.ttl().num_seconds(),
            token_type: "Bearer",
        })
    }

    /// Exchanges a refresh token for a new pair. The presented token is spent; presenting a spent token
    /// again revokes its whole session (it was copied) and is audited.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(
        &self,
        refresh_token: &str,
        context: &RequestContext,
    ) -> Result<TokenPair, ServiceError> {
        let refresh_token = presented_refresh_token(refresh_token)?;
        let now = self.now();
        let (next, next_hash) = new_opaque_token();
        match self
            .inner
            .repo
            .rotate_refresh_token(&hash_token(refresh_token), &next_hash, context, now)
            .await?
        {
            RefreshOutcome::Rotated { session } => {
                self.token_pair(session.user_id, session.id, next, now)
            }
            RefreshOutcome::Reused { session } => {
                tracing::warn!(user = %session.user_id, session = %session.id, "refresh token reuse detected; session revoked");
                self.inner
                    .repo
                    .audit(audit(
                        AuditAction::TokenReuseDetected,
                        None,
                        Some(session.user_id),
                        context,
                        json!({"session_id": session.id}),
                        now,
                    ))
                    .await?;
                Err(unauthenticated(
                    "this refresh token was already used; its session has been revoked, log in again",
                ))
            }
            RefreshOutcome::Rejected => Err(unauthenticated(
                "the refresh token is invalid, expired or revoked; log in again",
            )),
        }
    }

    /// Ends the session a refresh token belongs to. Idempotent: an unknown or already revoked token is
    /// not an error.
    #[tracing::instrument(skip_all)]
    pub async fn logout(
        &self,
        refresh_token: &str,
        context: &RequestContext,
    ) -> Result<(), ServiceError> {
        let refresh_token = presented_refresh_token(refresh_token)?;
        let now = self.now();
        if let Some(session) = self
            .inner
            .repo
            .revoke_session_by_token(&hash_token(refresh_token), now, "logout")
            .await?
        {
            self.inner
                .repo
                .audit(audit(
                    AuditAction::Logout,
                    Some(session.user_id),
                    Some(session.user_id),
                    context,
                    json!({"session_id": session.id}),
                    now,
                ))
                .await?;
        }
        Ok(())
    }

    /// Checks an `Authorization` value (`Bearer <access token>`): signature, expiry, and that its session
    /// is still active and its account neither deleted nor disabled.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> Result<Principal, ServiceError> {
        let header = authorization.ok_or_else(|| {
            unauthenticated("missing bearer token (Authorization: Bearer <access token>)")
        })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                unauthenticated("malformed Authorization header; expected Bearer <access token>")
            })?;
        let now = self.now();
        let claims = self
            .inner
            .access
            .verify(token, now)
            .ok_or_else(|| unauthenticated("the access token is invalid or expired"))?;
        let (session, user) = self
            .inner
            .repo
            .active_session(claims.sid, now)
            .await?
            .filter(|(s, _)| s.user_id == claims.sub)
            .ok_or_else(|| {
                unauthenticated("the session of this access token has ended; log in again")
            })?;
        Ok(Principal {
            user_id: user.id,
            session_id: session.id,
            role: user.role,
        })
    }

    /// Re-authentication before a sensitive change (password change, deletion): the same throttle as
    /// login (per address and per client IP, reserved before the check), a failure audited as
    /// `login_failed` with reason `reauth`, and a wrong password answered `PERMISSION_DENIED` — not
    /// `UNAUTHENTICATED`, which clients take for a dead access token.
    pub(super) async fn check_password(
        &self,
        principal: &Principal,
        password: &Password,
        context: &RequestContext,
    ) -> Result<(), ServiceError> {
        let user = self.user(principal.user_id).await?;
        let now = self.now();
        let normalized = Email::parse(&user.email)
            .map(|e| e.normalized())
            .unwrap_or_else(|_| user.email.to_lowercase());
        let reservations = match self.reserve_attempt(&normalized, context, now).await? {
            Ok(reservations) => reservations,
            Err(locked_for) => {
                self.login_failed(Some(user.id), Some(user.id), "reauth_locked", context, now)
                    .await?;
                return Err(locked(locked_for));
            }
        };
        let verification = self
            .inner
            .hasher
            .verify(password, Some(&user.password_hash))
            .await?;
        if verification.matches {
            self.succeeded_attempt(&reservations, &normalized, context, now)
                .await?;
            Ok(())
        } else {
            self.login_failed(Some(user.id), Some(user.id), "reauth", context, now)
                .await?;
            Err(ServiceError::new(
                ErrorCode::PermissionDenied,
                "the current password is incorrect",
            ))
        }
    }

    /// The caller's active sessions, most recently used first.
    pub async fn list_sessions(
        &self,
        principal: &Principal,
    ) -> Result<Vec<SessionView>, ServiceError> {
        let now = self.now();
        Ok(self
            .inner
            .repo
            .list_sessions(principal.user_id)
            .await?
            .into_iter()
            .filter(|s| s.revoked_at.is_none() && s.expires_at > now)
            .map(|s| SessionView {
                current: s.id == principal.session_id,
                id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                expires_at: s.expires_at,
                user_agent: s.user_agent,
                ip: s.ip,
            })
            .collect())
    }

    /// Revokes one of the caller's sessions (`NOT_FOUND` when it is not theirs or already ended).
    #[tracing::instrument(skip_all)]
    pub async fn revoke_session(
        &self,
        principal: &Principal,
        session_id: &str,
        context: &RequestContext,
    ) -> Result<(), ServiceError> {
        let session_id = Uuid::parse_str(session_id.trim()).map_err(|_| {
            invalid(format!(
                "session id must be a UUID, got '{}'",
                session_id.chars().take(64).collect::<String>()
            ))
        })?;
        let now = self.now();
        let id = principal.user_id;
        if !self
            .inner
            .repo
            .revoke_session(id, session_id, now, "revoked")
            .await?
        {
            return Err(ServiceError::not_found("no such active session"));
        }
        self.inner
            .repo
            .audit(audit(
                AuditAction::SessionRevoked,
                Some(id),
                Some(id),
                context,
                json!({"session_id": session_id}),
                now,
            ))
            .await?;
        Ok(())
    }
}
