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
pub mod socket;

use std::future::Future;
use std::time::Instant;

use futures::TryStreamExt;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic_health::server::HealthReporter;

use crate::service::{ErrorCode, ServiceError, Services};

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

/// Runs one RPC, counting it by method and status code with its latency.
pub async fn observed<T>(
    method: &'static str,
    call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<tonic::Response<T>, tonic::Status> {
    let started = Instant::now();
    let result = call.await;
    let code = match &result {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    };
    metrics::histogram!("linernotes_grpc_request_duration_seconds", "method" => method)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("linernotes_grpc_requests_total", "method" => method, "code" => code_name(code))
        .increment(1);
    result
}

/// A status code's name, without allocating on the hot path.
fn code_name(code: tonic::Code) -> &'static str {
    match code {
        tonic::Code::Ok => "Ok",
        tonic::Code::InvalidArgument => "InvalidArgument",
        tonic::Code::NotFound => "NotFound",
        tonic::Code::AlreadyExists => "AlreadyExists",
        tonic::Code::PermissionDenied => "PermissionDenied",
        tonic::Code::Unauthenticated => "Unauthenticated",
        tonic::Code::ResourceExhausted => "ResourceExhausted",
        tonic::Code::Aborted => "Aborted",
        tonic::Code::Unavailable => "Unavailable",
        tonic::Code::Internal => "Internal",
        _ => "Other",
    }
}

/// Serves the gRPC API on `listener` until `shutdown` completes, then lets in-flight calls finish.
/// Health turns SERVING for every service here; the caller turns it NOT_SERVING at shutdown.
pub async fn serve(
    listener: TcpListener,
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
    let accounts_adapter = accounts::AccountsAdapter::new(accounts.clone());
    tonic::transport::Server::builder()
        .add_service(health_service)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .add_service(metadata::MetadataServer::new(
            metadata::MetadataAdapter::new(metadata.clone())
                .with_search_history(library.clone(), accounts.clone()),
        ))
        .add_service(pb::auth_service_server::AuthServiceServer::new(
            accounts_adapter.clone(),
        ))
        .add_service(pb::account_service_server::AccountServiceServer::new(
            accounts_adapter.clone(),
        ))
        .add_service(pb::library_service_server::LibraryServiceServer::new(
            library::LibraryAdapter::new(library, accounts),
        ))
        .add_service(pb::admin_service_server::AdminServiceServer::new(
            admin::AdminAdapter::new(metadata, accounts_adapter),
        ))
        .serve_with_incoming_shutdown(
            // Server::tcp_nodelay does not apply to an incoming stream we build ourselves. Without
            // TCP_NODELAY, Nagle's algorithm holds a response's last small frame until the client's
            // delayed ACK (about 40 ms): loadgen showed it as a p99 of 5 ms at 2000 req/s on
            // Health/Check instead of 0.5 ms (BENCHMARKS.md, "gRPC throughput").
            TcpIncoming::from(listener)
                .with_nodelay(Some(true))
                .map_ok(socket::BatchedWrites),
            shutdown,
        )
        .await
}
