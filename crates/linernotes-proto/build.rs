//! Compiles `proto/` with protox (a pure-Rust protobuf compiler, so no `protoc` is needed) and generates
//! the tonic server and client code, the encoded descriptor set served by gRPC reflection, and the list
//! of method paths.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let files = [
        "proto/linernotes/v1/metadata.proto",
        "proto/linernotes/v1/admin.proto",
        "proto/linernotes/v1/accounts.proto",
        "proto/linernotes/v1/library.proto",
    ];
    let descriptors = protox::compile(files, ["proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("linernotes_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    std::fs::write(
        out_dir.join("linernotes_methods.rs"),
        method_paths(&descriptors),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}

/// The request paths of every method (`/linernotes.v1.MetadataService/GetArtist`) as a Rust constant.
fn method_paths(descriptors: &prost_types::FileDescriptorSet) -> String {
    let mut paths = Vec::new();
    for file in &descriptors.file {
        let package = file.package();
        for service in &file.service {
            for method in &service.method {
                paths.push(format!(
                    "    \"/{package}.{}/{}\",\n",
                    service.name(),
                    method.name()
                ));
            }
        }
    }
    format!("&[\n{}]\n", paths.concat())
}
