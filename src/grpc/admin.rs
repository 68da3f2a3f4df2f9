//! The `linernotes.v1.AdminService` adapter: administration for admins. Authorisation (the admin role)
//! is checked by the service layer; this adapter reads the bearer token and converts messages.
//!
//! Further admin RPCs (e.g. a status report) belong here: give [`AdminAdapter`] the service they need.

use tonic::{Request, Response, Status};

use super::accounts::{audit_entries, context, user_summary, AccountsAdapter};
use super::pb;

/// Serves `AdminService`.
#[derive(Clone)]
pub struct AdminAdapter {
    accounts: AccountsAdapter,
}

impl AdminAdapter {
    /// Wraps the accounts adapter (bearer-token checks) and, through it, the accounts service.
    pub fn new(accounts: AccountsAdapter) -> Self {
        Self { accounts }
    }
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
}
