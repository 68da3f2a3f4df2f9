//! linernotes' gRPC API as code: the messages and services of `proto/linernotes/v1/*.proto` (clients
//! and servers, generated at build time by a pure-Rust protobuf compiler), the encoded descriptor set
//! that gRPC reflection serves, and [`codec`]s for bodies that are already encoded.
//!
//! The server and the tools (the load generator) both build on this crate, so a tool never links the
//! server.

pub mod codec;

/// Code generated from `proto/linernotes/v1/*.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("linernotes.v1");

    /// The encoded `FileDescriptorSet` of linernotes' protos, served by gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/linernotes_descriptor.bin"));

    /// The request path of every method of linernotes' services (`/linernotes.v1.MetadataService/GetArtist`).
    pub const METHOD_PATHS: &[&str] = include!(concat!(env!("OUT_DIR"), "/linernotes_methods.rs"));
}
