//! The `linernotes.v1.AdminService` adapter: account administration (delegated to the accounts
//! adapter) and the status of this instance.

use tonic::{Request, Response, Status};

use super::accounts::AccountsAdapter;
use super::{observed, pb};
use crate::service::MetadataService;

/// Serves `AdminService` from the service layer.
#[derive(Clone)]
pub struct AdminAdapter {
    metadata: MetadataService,
    accounts: AccountsAdapter,
}

impl AdminAdapter {
    /// Wraps the services.
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
        observed("ListUsers", self.accounts.list_users(request)).await
    }

    async fn update_user(
        &self,
        request: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::UserSummary>, Status> {
        observed("UpdateUser", self.accounts.update_user(request)).await
    }

    async fn list_audit(
        &self,
        request: Request<pb::ListAuditRequest>,
    ) -> Result<Response<pb::ListAuditResponse>, Status> {
        observed("ListAudit", self.accounts.list_audit(request)).await
    }

    async fn get_status(
        &self,
        _request: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::GetStatusResponse>, Status> {
        observed("GetStatus", async {
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
        })
        .await
    }
}
