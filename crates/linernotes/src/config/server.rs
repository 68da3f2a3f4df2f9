//! `server`: where the APIs listen and how requests are bounded.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::Issues;
use crate::support::net::{ConnectionLimits, TrustedProxies};

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
    /// Largest accepted request body (HTTP) or message (gRPC).
    pub max_body_bytes: usize,
    /// Connections open at once on each port.
    pub max_connections: usize,
    /// How long a client may take to send a request's head (and a new connection its first byte).
    pub header_read_timeout_ms: u64,
    /// How long a request's body may take to arrive (HTTP) or a call may take in all (gRPC).
    pub request_body_timeout_ms: u64,
    /// Networks (CIDRs, or single addresses) of proxies whose `X-Forwarded-For` is believed; a list,
    /// or one comma-separated string (as an environment variable gives it).
    #[serde(deserialize_with = "list_or_commas")]
    pub trusted_proxies: Vec<String>,
}

/// A list of strings from a YAML list or from one comma-separated string.
pub(super) fn list_or_commas<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrCommas {
        List(Vec<String>),
        Commas(String),
    }
    Ok(match ListOrCommas::deserialize(deserializer)? {
        ListOrCommas::List(items) => items,
        ListOrCommas::Commas(text) => text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// A network (`10.0.0.0/8`) or a single address (`192.0.2.7`, a network of one).
fn network(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

impl ServerSettings {
    /// The gRPC address (validated at load).
    pub fn grpc_socket_addr(&self) -> Result<SocketAddr, std::net::AddrParseError> {
        self.grpc_addr.parse()
    }

    /// The limits connections live under on either port.
    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: self.max_connections,
            first_byte_timeout: Duration::from_millis(self.header_read_timeout_ms),
        }
    }

    /// The proxies whose forwarding headers are believed (validated at load).
    pub fn trusted_proxies(&self) -> TrustedProxies {
        TrustedProxies::new(
            self.trusted_proxies
                .iter()
                .filter_map(|text| network(text))
                .collect(),
        )
    }

    /// How long a request's head may take.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    /// How long a request's body may take.
    pub fn request_body_timeout(&self) -> Duration {
        Duration::from_millis(self.request_body_timeout_ms)
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
        issues.range("max_connections", self.max_connections, 1, 1_000_000);
        for proxy in &self.trusted_proxies {
            issues.check(
                network(proxy).is_some(),
                "trusted_proxies",
                format!(
                    "'{proxy}' is not a network; expected a CIDR such as 10.0.0.0/8 or an address"
                ),
            );
        }
        issues.range(
            "header_read_timeout_ms",
            self.header_read_timeout_ms,
            100,
            600_000,
        );
        issues.range(
            "request_body_timeout_ms",
            self.request_body_timeout_ms,
            100,
            3_600_000,
        );
    }
}
