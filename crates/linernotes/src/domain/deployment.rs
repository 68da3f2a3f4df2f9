//! How this instance's database is deployed, as logs, `config check` and `/v1/status` report it.

use serde::Serialize;

/// Which PostgreSQL linernotes uses and where it lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DatabaseSetup {
    /// `external` or `embedded`.
    pub mode: &'static str,
    /// External: the URL with its password redacted. Embedded: the socket directory.
    pub location: String,
    /// Embedded: the data directory (`data_dir`) holding the cluster.
    pub data_dir: Option<String>,
    /// Embedded: the folder of the server binaries in use.
    pub binaries: Option<String>,
    /// The server's version, e.g. `15.20` (embedded: of its binaries; external: as the server says).
    pub server_version: Option<String>,
}

impl std::fmt::Display for DatabaseSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let version = self
            .server_version
            .as_deref()
            .unwrap_or("of unknown version");
        match (&self.data_dir, &self.binaries) {
            (Some(data_dir), Some(binaries)) => write!(
                f,
                "embedded PostgreSQL {version} ({binaries}), data in {data_dir}, socket in {}",
                self.location
            ),
            _ => write!(f, "external PostgreSQL {version} at {}", self.location),
        }
    }
}

/// A read replica as its last health check saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReplicaStatus {
    /// Its URL, password redacted.
    pub name: String,
    /// Whether reads go to it: it answers, is a standby, and lags within the limit.
    pub healthy: bool,
    /// Bytes of WAL it is behind the primary; `None` until known.
    pub lag_bytes: Option<i64>,
    /// Milliseconds since the commit of the last transaction it replayed (grows while the primary is
    /// idle); `None` until known.
    pub replay_age_ms: Option<i64>,
    /// Reads it has answered.
    pub reads: u64,
}
