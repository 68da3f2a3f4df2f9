//! The `linernotes.v1.AuthService` and `AccountService` adapters: read the bearer token, client address
//! and user agent from the call, call one service method, convert the answer. `AdminService` lives in
//! [`super::admin`].

use tonic::{Request, Response, Status};

use super::auth::context;
use super::pb;
use crate::domain::account::AuditEntry;
use crate::service::accounts::{
    AccountService, Principal, Profile, ProfileUpdate, TokenPair, UserSummary,
};

/// Serves `AuthService` and `AccountService` from the service layer.
#[derive(Clone)]
pub struct AccountsAdapter {
    service: AccountService,
}

impl AccountsAdapter {
    /// Wraps the service.
    pub fn new(service: AccountService) -> Self {
        Self { service }
    }

    /// The accounts service.
    pub(super) fn service(&self) -> &AccountService {
        &self.service
    }

    pub(super) async fn principal<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        super::auth::principal(&self.service, request).await
    }
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn tokens(t: TokenPair) -> pb::TokenResponse {
    pb::TokenResponse {
        access_token: t.access_token,
        refresh_token: t.refresh_token,
        expires_in: t.expires_in,
        token_type: t.token_type.to_owned(),
    }
}

fn profile(p: Profile) -> pb::Profile {
    pb::Profile {
        id: p.id.to_string(),
        email: p.email,
        email_verified: p.email_verified,
        role: p.role.as_str().to_owned(),
        display_name: p.display_name,
        avatar_url: p.avatar_url,
        bio: p.bio,
        created_at: time(p.created_at),
        preferences: Some(pb::Preferences {
            language: p.preferences.language,
            region: p.preferences.region,
        }),
        settings: Some(pb::AccountSettings {
            keep_listening_history: p.settings.keep_listening_history,
            keep_search_history: p.settings.keep_search_history,
            public_profile: p.settings.public_profile,
            email_opt_in: p.settings.email_opt_in,
        }),
    }
}

pub(super) fn audit_entries(entries: Vec<AuditEntry>) -> pb::ListAuditResponse {
    pb::ListAuditResponse {
        entries: entries
            .into_iter()
            .map(|e| pb::AuditEntry {
                id: e.id,
                at: time(e.at),
                action: e.action,
                actor_id: e.actor_id.map(|u| u.to_string()),
                subject_id: e.subject_id.map(|u| u.to_string()),
                ip: e.ip,
                user_agent: e.user_agent,
                details_json: e.details.to_string(),
            })
            .collect(),
    }
}

pub(super) fn user_summary(u: UserSummary) -> pb::UserSummary {
    pb::UserSummary {
        id: u.id.to_string(),
        email: u.email,
        display_name: u.display_name,
        role: u.role.as_str().to_owned(),
        email_verified: u.email_verified,
        disabled: u.disabled,
        deleted: u.deleted,
        created_at: time(u.created_at),
    }
}

#[tonic::async_trait]
impl pb::auth_service_server::AuthService for AccountsAdapter {
    async fn register(
        &self,
        request: Request<pb::RegisterRequest>,
    ) -> Result<Response<pb::RegisterResponse>, Status> {
        let ctx = context(&request);
        let r = request.into_inner();
        let id = self
            .service
            .register(&r.email, r.password, &r.display_name, &ctx)
            .await?;
        Ok(Response::new(pb::RegisterResponse {
            user_id: id.to_string(),
        }))
    }

    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::TokenResponse>, Status> {
        let ctx = context(&request);
        let r = request.into_inner();
        let pair = self.service.login(&r.email, r.password, &ctx).await?;
        Ok(Response::new(tokens(pair)))
    }

    async fn refresh(
        &self,
        request: Request<pb::RefreshRequest>,
    ) -> Result<Response<pb::TokenResponse>, Status> {
        let ctx = context(&request);
        let r = request.into_inner();
        Ok(Response::new(tokens(
            self.service.refresh(&r.refresh_token, &ctx).await?,
        )))
    }

    async fn logout(
        &self,
        request: Request<pb::LogoutRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let ctx = context(&request);
        self.service
            .logout(&request.into_inner().refresh_token, &ctx)
            .await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn verify_email(
        &self,
        request: Request<pb::VerifyEmailRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let ctx = context(&request);
        self.service
            .verify_email(&request.into_inner().token, &ctx)
            .await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn request_password_reset(
        &self,
        request: Request<pb::PasswordResetRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let ctx = context(&request);
        self.service
            .request_password_reset(&request.into_inner().email, &ctx)
            .await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn confirm_password_reset(
        &self,
        request: Request<pb::ConfirmPasswordResetRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let ctx = context(&request);
        let r = request.into_inner();
        self.service
            .confirm_password_reset(&r.token, r.new_password, &ctx)
            .await?;
        Ok(Response::new(pb::Empty {}))
    }
}

#[tonic::async_trait]
impl pb::account_service_server::AccountService for AccountsAdapter {
    async fn get_me(&self, request: Request<pb::Empty>) -> Result<Response<pb::Profile>, Status> {
        let principal = self.principal(&request).await?;
        Ok(Response::new(profile(self.service.me(&principal).await?)))
    }

    async fn update_me(
        &self,
        request: Request<pb::UpdateMeRequest>,
    ) -> Result<Response<pb::Profile>, Status> {
        let principal = self.principal(&request).await?;
        let ctx = context(&request);
        let r = request.into_inner();
        let update = ProfileUpdate {
            display_name: r.display_name,
            avatar_url: r.avatar_url,
            bio: r.bio,
            language: r.language,
            region: r.region,
            keep_listening_history: r.keep_listening_history,
            keep_search_history: r.keep_search_history,
            public_profile: r.public_profile,
            email_opt_in: r.email_opt_in,
        };
        Ok(Response::new(profile(
            self.service.update_me(&principal, update, &ctx).await?,
        )))
    }

    async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let principal = self.principal(&request).await?;
        let ctx = context(&request);
        let r = request.into_inner();
        self.service
            .change_password(&principal, r.current_password, r.new_password, &ctx)
            .await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn list_sessions(
        &self,
        request: Request<pb::Empty>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        let principal = self.principal(&request).await?;
        let sessions = self.service.list_sessions(&principal).await?;
        Ok(Response::new(pb::ListSessionsResponse {
            sessions: sessions
                .into_iter()
                .map(|s| pb::SessionInfo {
                    id: s.id.to_string(),
                    created_at: time(s.created_at),
                    last_used_at: time(s.last_used_at),
                    expires_at: time(s.expires_at),
                    user_agent: s.user_agent,
                    ip: s.ip,
                    current: s.current,
                })
                .collect(),
        }))
    }

    async fn revoke_session(
        &self,
        request: Request<pb::RevokeSessionRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let principal = self.principal(&request).await?;
        let ctx = context(&request);
        self.service
            .revoke_session(&principal, &request.into_inner().id, &ctx)
            .await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn list_my_audit(
        &self,
        request: Request<pb::ListMyAuditRequest>,
    ) -> Result<Response<pb::ListAuditResponse>, Status> {
        let principal = self.principal(&request).await?;
        let entries = self
            .service
            .my_audit(&principal, request.into_inner().limit)
            .await?;
        Ok(Response::new(audit_entries(entries)))
    }

    async fn export(
        &self,
        request: Request<pb::Empty>,
    ) -> Result<Response<pb::ExportResponse>, Status> {
        let principal = self.principal(&request).await?;
        let ctx = context(&request);
        let json = self.service.export(&principal, &ctx).await?;
        Ok(Response::new(pb::ExportResponse {
            json: json.to_string(),
        }))
    }

    async fn delete_me(
        &self,
        request: Request<pb::DeleteMeRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let principal = self.principal(&request).await?;
        let ctx = context(&request);
        self.service
            .delete_me(&principal, request.into_inner().password, &ctx)
            .await?;
        Ok(Response::new(pb::Empty {}))
    }
}
