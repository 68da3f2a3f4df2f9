//! gRPC transport: the generated `linernotes.v1` code, the error mapping, and the server.
//!
//! Layout:
//! - [`pb`]: the generated code and descriptor set, from the `linernotes-proto` crate;
//! - [`metadata`]: the `MetadataService` adapter and its domain → protobuf conversions; its lookups
//!   answer pre-encoded bytes through `linernotes_proto::codec`;
//! - [`accounts`]: the `AuthService` and `AccountService` adapters;
//! - [`admin`]: the `AdminService` adapter: account administration and the instance's status;
//! - [`library`]: the `LibraryService` adapter;
//! - [`auth`]: the bearer token and the client's address, read from a call in one place;
//! - [`socket`]: accepted connections, tuned so that small answers leave together;
//! - this file: [`ServiceError`] → [`tonic::Status`], and [`serve`], which also serves reflection
//!   (v1 and v1alpha) and `grpc.health.v1`.

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod library;
pub mod metadata;
pub mod observe;
pub mod socket;

use std::future::Future;
use std::time::Duration;

use tonic_health::server::HealthReporter;

use crate::service::{ErrorCode, ServiceError, Services};
use crate::support::net::{GuardedListener, TrustedProxies};

pub use linernotes_proto::pb;

/// The fully qualified names of the services answered here, as health checks and reflection name them.
pub const SERVICE_NAMES: [&str; 5] = [
    <metadata::MetadataServer as tonic::server::NamedService>::NAME,
    <pb::auth_service_server::AuthServiceServer<accounts::AccountsAdapter> as tonic::server::NamedService>::NAME,
    <pb::account_service_server::AccountServiceServer<accounts::AccountsAdapter> as tonic::server::NamedService>::NAME,
    <pb::admin_service_server::AdminServiceServer<admin::AdminAdapter> as tonic::server::NamedService>::NAME,
    <pb::library_service_server::LibraryServiceServer<library::LibraryAdapter> as tonic::server::NamedService>::NAME,
];

/// Sets every service's health (and the server's, the empty name) to `status`.
pub async fn set_health(health: &HealthReporter, status: tonic_health::ServingStatus) {
    health.set_service_status("", status).await;
    for name in SERVICE_NAMES {
        health.set_service_status(name, status).await;
    }
}

impl From<ErrorCode> for tonic::Code {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::InvalidArgument => tonic::Code::InvalidArgument,
            ErrorCode::Unauthenticated => tonic::Code::Unauthenticated,
            ErrorCode::PermissionDenied => tonic::Code::PermissionDenied,
            ErrorCode::NotFound => tonic::Code::NotFound,
            ErrorCode::AlreadyExists => tonic::Code::AlreadyExists,
            ErrorCode::Aborted => tonic::Code::Aborted,
            ErrorCode::FailedPrecondition => tonic::Code::FailedPrecondition,
            ErrorCode::ResourceExhausted => tonic::Code::ResourceExhausted,
            ErrorCode::Unavailable => tonic::Code::Unavailable,
            ErrorCode::Internal => tonic::Code::Internal,
        }
    }
}

impl From<ServiceError> for tonic::Status {
    fn from(err: ServiceError) -> Self {
        let mut status = tonic::Status::new(err.code.into(), err.message);
        if let Some(secs) = err.retry_after_secs {
            status
                .metadata_mut()
                .insert("retry-after", tonic::metadata::MetadataValue::from(secs));
        }
        status
    }
}

/// How much a call may take.
#[derive(Debug, Clone)]
pub struct CallLimits {
    /// The longest call, from its first byte to its answer.
    pub deadline: Duration,
    /// How long a new connection may stay silent, and a silent peer may go unanswered to a ping.
    pub idle: Duration,
    /// The largest request message.
    pub max_message_bytes: usize,
    /// The proxies whose forwarding metadata is believed.
    pub proxies: TrustedProxies,
}

/// Serves the gRPC API on `listener` until `shutdown` completes, then lets in-flight calls finish.
/// Health turns SERVING for every service here; the caller turns it NOT_SERVING at shutdown. Every
/// call goes through [`observe::ObserveLayer`].
pub async fn serve(
    listener: GuardedListener,
    limits: CallLimits,
    services: Services,
    health: HealthReporter,
    health_service: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection()
        .build_v1()
        .map_err(|e| tracing::error!(error = %e, "reflection v1 unavailable"))
        .ok();
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .map_err(|e| tracing::error!(error = %e, "reflection v1alpha unavailable"))
        .ok();
    set_health(&health, tonic_health::ServingStatus::Serving).await;
    let Services {
        metadata,
        accounts,
        library,
    } = services;
    let max = limits.max_message_bytes;
    let accounts_adapter = accounts::AccountsAdapter::new(accounts.clone());
    server(&limits)
        .layer(observe::ObserveLayer)
        .layer(auth::ClientAddrLayer(limits.proxies.clone()))
        .add_service(health_service)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .add_service(metadata::MetadataServer::new(
            metadata::MetadataAdapter::new(metadata.clone())
                .with_search_history(library.clone(), accounts.clone()),
            max,
        ))
        .add_service(
            pb::auth_service_server::AuthServiceServer::new(accounts_adapter.clone())
                .max_decoding_message_size(max),
        )
        .add_service(
            pb::account_service_server::AccountServiceServer::new(accounts_adapter.clone())
                .max_decoding_message_size(max),
        )
        .add_service(
            pb::library_service_server::LibraryServiceServer::new(library::LibraryAdapter::new(
                library, accounts,
            ))
            .max_decoding_message_size(max),
        )
        .add_service(
            pb::admin_service_server::AdminServiceServer::new(admin::AdminAdapter::new(
                metadata,
                accounts_adapter,
            ))
            .max_decoding_message_size(max),
        )
        .serve_with_incoming_shutdown(admitted(listener, limits.idle), shutdown)
        .await
}

/// The gRPC server as linernotes runs it (call deadline, keep-alive pings of silent peers), before its
/// services and layers: what [`serve`] builds on, and what a measurement of the bare stack (the
/// `ceiling` tool) must build on too.
pub fn server(limits: &CallLimits) -> tonic::transport::Server {
    tonic::transport::Server::builder()
        .timeout(limits.deadline)
        .http2_keepalive_interval(Some(limits.idle))
        .http2_keepalive_timeout(Some(limits.idle))
}

/// The connections of `listener` that send something within `idle`, as the server takes them: each
/// waits for its first byte on its own, so silent clients hold up no one.
pub fn admitted(
    listener: GuardedListener,
    idle: Duration,
) -> impl futures::Stream<Item = std::io::Result<socket::BatchedWrites>> {
    let (ready, arrivals) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let connection = tokio::select! {
                connection = listener.accept() => connection,
                // The server stopped taking connections: stop accepting.
                () = ready.closed() => break,
            };
            let ready = ready.clone();
            tokio::spawn(async move {
                if let Some(connection) = connection.first_byte_within(idle).await {
                    let _ = ready.send(socket::BatchedWrites(connection)).await;
                }
            });
        }
    });
    futures::stream::unfold(arrivals, |mut arrivals| async move {
        let connection = arrivals.recv().await?;
        Some((Ok(connection), arrivals))
    })
}
