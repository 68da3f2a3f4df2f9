//! `server`: where the APIs listen and how requests are bounded.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::Issues;

/// Where the APIs listen.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// gRPC listening address.
    pub grpc_addr: String,
    /// HTTP listening address.
    pub http_addr: String,
    /// Seconds in-flight requests get to finish at shutdown.
    pub shutdown_grace_secs: u64,
    /// Largest accepted HTTP request body.
    pub max_body_bytes: usize,
}

impl ServerSettings {
    /// The gRPC address (validated at load).
    pub fn grpc_socket_addr(&self) -> Result<SocketAddr, std::net::AddrParseError> {
        self.grpc_addr.parse()
    }

    /// The HTTP address (validated at load).
    pub fn http_socket_addr(&self) -> Result<SocketAddr, std::net::AddrParseError> {
        self.http_addr.parse()
    }

    pub(super) fn check(&self, issues: &mut Issues) {
        for (key, value) in [
            ("grpc_addr", &self.grpc_addr),
            ("http_addr", &self.http_addr),
        ] {
            issues.check(
                value.parse::<SocketAddr>().is_ok(),
                key,
                format!(
                    "'{value}' is not a socket address; expected host:port such as 127.0.0.1:8080"
                ),
            );
        }
        issues.check(
            self.grpc_addr != self.http_addr || self.grpc_addr.ends_with(":0"),
            "http_addr",
            "must differ from server.grpc_addr",
        );
        issues.check(
            self.max_body_bytes >= 1024,
            "max_body_bytes",
            "must be at least 1024",
        );
    }
}
