//! What adapters take from a call's metadata, read once here: the bearer token (checked by the
//! accounts service) and the client's address and user agent (for throttling, sessions and audit).

use tonic::{Request, Status};

use crate::domain::account::RequestContext;
use crate::service::accounts::Principal;
use crate::service::AccountService;

/// The raw `authorization` metadata of a call, when present (a value that is not text reads as empty,
/// which the accounts service refuses like any other bad token).
pub fn authorization<T>(request: &Request<T>) -> Option<&str> {
    request
        .metadata()
        .get("authorization")
        .map(|v| v.to_str().unwrap_or(""))
}

/// The caller behind the call's bearer token (`UNAUTHENTICATED` without a valid one).
pub async fn principal<T>(
    accounts: &AccountService,
    request: &Request<T>,
) -> Result<Principal, Status> {
    Ok(accounts.authenticate(authorization(request)).await?)
}

/// The caller when the call carries a token (it must then be valid), else `None`.
pub async fn optional_principal<T>(
    accounts: &AccountService,
    request: &Request<T>,
) -> Result<Option<Principal>, Status> {
    match authorization(request) {
        Some(_) => principal(accounts, request).await.map(Some),
        None => Ok(None),
    }
}

/// The client's address (the socket peer) and user agent.
pub fn context<T>(request: &Request<T>) -> RequestContext {
    RequestContext::new(
        request.remote_addr().map(|a| a.ip()),
        request
            .metadata()
            .get("user-agent")
            .and_then(|v| v.to_str().ok()),
    )
}
