//! Compiles `proto/` with protox (a pure-Rust protobuf compiler, so no `protoc` is needed) and generates
//! the tonic server and client code plus the encoded descriptor set served by gRPC reflection.

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
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
