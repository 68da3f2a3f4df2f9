//! The `linernotes.v1.AdminService` adapter: account administration for admins (the admin role is
//! checked by the service layer; this adapter reads the bearer token and converts messages) and the
//! status of this instance.

use tonic::{Request, Response, Status};

use super::accounts::{audit_entries, user_summary, AccountsAdapter};
use super::auth::context;
use super::pb;
use crate::service::MetadataService;

/// Serves `AdminService`.
#[derive(Clone)]
pub struct AdminAdapter {
    metadata: MetadataService,
    accounts: AccountsAdapter,
}

impl AdminAdapter {
    /// Wraps the metadata service (status) and the accounts adapter (bearer-token checks) and, through
    /// it, the accounts service.
    pub fn new(metadata: MetadataService, accounts: AccountsAdapter) -> Self {
        Self { metadata, accounts }
    }
}

fn timestamp(at: Option<chrono::DateTime<chrono::Utc>>) -> Option<String> {
    at.map(crate::domain::format_timestamp)
}

#[tonic::async_trait]
impl pb::admin_service_server::AdminService for AdminAdapter {
    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let principal = self.accounts.principal(&request).await?;
        let ctx = context(&request);
        let r = request.into_inner();
        let page = self
            .accounts
            .service()
            .admin_list_users(&principal, Some(&r.q), r.limit, Some(r.offset), &ctx)
            .await?;
        Ok(Response::new(pb::ListUsersResponse {
            users: page.users.into_iter().map(user_summary).collect(),
            total: page.total,
        }))
    }

    async fn update_user(
        &self,
        request: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::UserSummary>, Status> {
        let principal = self.accounts.principal(&request).await?;
        let ctx = context(&request);
        let r = request.into_inner();
        let user = self
            .accounts
            .service()
            .admin_update_user(&principal, &r.id, r.role.as_deref(), r.disabled, &ctx)
            .await?;
        Ok(Response::new(user_summary(user)))
    }

    async fn list_audit(
        &self,
        request: Request<pb::ListAuditRequest>,
    ) -> Result<Response<pb::ListAuditResponse>, Status> {
        let principal = self.accounts.principal(&request).await?;
        let ctx = context(&request);
        let r = request.into_inner();
        let entries = self
            .accounts
            .service()
            .admin_audit(
                &principal,
                r.user_id.as_deref(),
                r.action.as_deref(),
                r.limit,
                &ctx,
            )
            .await?;
        Ok(Response::new(audit_entries(entries)))
    }

    async fn get_status(
        &self,
        _request: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::GetStatusResponse>, Status> {
        let status = self.metadata.status().await;
        Ok(Response::new(pb::GetStatusResponse {
            providers: status
                .providers
                .into_iter()
                .map(|p| pb::ProviderStatus {
                    name: p.name.to_owned(),
                    state: p.state.to_owned(),
                    last_success: timestamp(p.last_success),
                    last_error_at: timestamp(p.last_error_at),
                    last_error: p.last_error,
                    requests_per_second: p.requests_per_second,
                    queued_requests: p.queued_requests as u64,
                    shared_budget: p.shared_budget,
                })
                .collect(),
            database: status.database.to_owned(),
            redis: status.redis.to_owned(),
            cache_entries: status.cache_entries,
            cache_bytes: status.cache_bytes,
            background_refreshes: status.background_refreshes as u64,
        }))
    }
}
