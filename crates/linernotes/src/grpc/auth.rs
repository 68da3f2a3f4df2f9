//! What adapters take from a call's metadata, read once here: the bearer token (checked by the
//! accounts service) and the client's address and user agent (for throttling, sessions and audit),
//! worked out once per call by [`ClientAddrLayer`].

use std::task::{Context, Poll};

use tonic::codegen::http;
use tonic::transport::server::TcpConnectInfo;
use tonic::{Request, Status};
use tower::{Layer, Service};

use crate::domain::account::RequestContext;
use crate::service::accounts::Principal;
use crate::service::AccountService;
use crate::support::net::{ClientAddr, TrustedProxies};

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

/// The client's address (the socket peer, or whom a trusted proxy forwarded for: [`ClientAddrLayer`])
/// and user agent.
pub fn context<T>(request: &Request<T>) -> RequestContext {
    RequestContext::new(
        request
            .extensions()
            .get::<ClientAddr>()
            .map(|ClientAddr(ip)| *ip)
            .or_else(|| request.remote_addr().map(|a| a.ip())),
        request
            .metadata()
            .get("user-agent")
            .and_then(|v| v.to_str().ok()),
    )
}

/// Works out every call's client address (a [`ClientAddr`] in its extensions) from the socket peer and,
/// behind a trusted proxy, its `x-forwarded-for` metadata.
#[derive(Debug, Clone)]
pub struct ClientAddrLayer(pub TrustedProxies);

impl<S> Layer<S> for ClientAddrLayer {
    type Service = WithClientAddr<S>;

    fn layer(&self, inner: S) -> WithClientAddr<S> {
        WithClientAddr {
            inner,
            proxies: self.0.clone(),
        }
    }
}

/// A service whose calls carry their [`ClientAddr`].
#[derive(Debug, Clone)]
pub struct WithClientAddr<S> {
    inner: S,
    proxies: TrustedProxies,
}

impl<S, B> Service<http::Request<B>> for WithClientAddr<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let peer = request
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(TcpConnectInfo::remote_addr);
        if let Some(peer) = peer {
            let forwarded_for = request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok());
            let client = ClientAddr(self.proxies.client(peer.ip(), forwarded_for));
            request.extensions_mut().insert(client);
        }
        self.inner.call(request)
    }
}
