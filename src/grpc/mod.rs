//! gRPC transport: the generated `linernotes.v1` code, the error mapping, and the server.
//!
//! Layout:
//! - [`pb`]: code generated from `proto/` and the encoded descriptor set served by reflection;
//! - [`metadata`]: the `MetadataService` adapter and its domain → protobuf conversions;
//! - this file: [`ServiceError`] → [`tonic::Status`], and [`serve`], which also serves reflection
//!   (v1 and v1alpha) and `grpc.health.v1`.

pub mod metadata;

use std::future::Future;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic_health::server::HealthReporter;

use crate::service::{ErrorCode, MetadataService, ServiceError};

/// Code generated from `proto/linernotes/v1/*.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("linernotes.v1");

    /// The encoded `FileDescriptorSet` of linernotes' protos, served by gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/linernotes_descriptor.bin"));
}

/// The fully qualified name health checks use for the metadata service.
pub const METADATA_SERVICE_NAME: &str = "linernotes.v1.MetadataService";

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
        tonic::Status::new(err.code.into(), err.message)
    }
}

/// Serves the gRPC API on `listener` until `shutdown` completes, then lets in-flight calls finish.
pub async fn serve(
    listener: TcpListener,
    metadata: MetadataService,
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
    health.set_serving::<pb::metadata_service_server::MetadataServiceServer<metadata::MetadataAdapter>>().await;
    health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    tonic::transport::Server::builder()
        .add_service(health_service)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .add_service(pb::metadata_service_server::MetadataServiceServer::new(
            metadata::MetadataAdapter::new(metadata),
        ))
        .serve_with_incoming_shutdown(
            // Server::tcp_nodelay does not apply to an incoming stream we build ourselves. Without
            // TCP_NODELAY, Nagle's algorithm holds a response's last small frame until the client's
            // delayed ACK (about 40 ms): loadgen showed it as a p99 of 5 ms at 2000 req/s on
            // Health/Check instead of 0.5 ms (BENCHMARKS.md, "gRPC throughput").
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await
}
