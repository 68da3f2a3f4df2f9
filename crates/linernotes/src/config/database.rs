//! `database`: the PostgreSQL URL and the pool's settings.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::redact::{redact_url, serialize_redacted_url};
use super::Issues;

/// PostgreSQL settings. The URL is a secret because it may carry a password.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Connection URL.
    #[serde(serialize_with = "serialize_redacted_url")]
    pub url: SecretString,
    /// Create the database if it is missing.
    pub create_if_missing: bool,
    /// Pool ceiling.
    pub max_connections: u32,
    /// Pool floor.
    pub min_connections: u32,
    /// Connection lifetime.
    pub max_lifetime_secs: u64,
    /// Idle time before an extra connection closes.
    pub idle_timeout_secs: u64,
    /// Readiness ping interval.
    pub health_check_interval_secs: u64,
    /// Wait for a pooled connection.
    pub acquire_timeout_secs: u64,
    /// Wait for the first connection at start.
    pub connect_timeout_secs: u64,
    /// Slow-query log threshold.
    pub slow_query_ms: u64,
}

impl DatabaseSettings {
    /// The URL with its password replaced, for logs and messages.
    pub fn redacted_url(&self) -> String {
        redact_url(self.url.expose_secret())
    }

    pub(super) fn check(&self, issues: &mut Issues) {
        if let Err(reason) = parse_database_url(self.url.expose_secret()) {
            issues.check(false, "url", reason);
        }
        issues.range("max_connections", self.max_connections, 1, 1000);
        issues.check(
            self.min_connections <= self.max_connections,
            "min_connections",
            format!(
                "must not exceed database.max_connections ({}), got {}",
                self.max_connections, self.min_connections
            ),
        );
        for (key, value) in [
            ("max_lifetime_secs", self.max_lifetime_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
            (
                "health_check_interval_secs",
                self.health_check_interval_secs,
            ),
            ("acquire_timeout_secs", self.acquire_timeout_secs),
            ("connect_timeout_secs", self.connect_timeout_secs),
        ] {
            issues.at_least(key, value, 1, " second");
        }
        issues.at_least("slow_query_ms", self.slow_query_ms, 1, "");
    }
}

/// Checks that a URL is a PostgreSQL URL sqlx can use; the reason names what was expected.
pub fn parse_database_url(url: &str) -> Result<sqlx::postgres::PgConnectOptions, String> {
    let parsed = url::Url::parse(url).map_err(|e| {
        format!(
            "'{}' is not a URL ({e}); expected postgres://user:password@host:port/database",
            redact_url(url)
        )
    })?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(format!(
            "scheme '{}' is not supported; expected postgres://user:password@host:port/database",
            parsed.scheme()
        ));
    }
    url.parse()
        .map_err(|e| format!("'{}' is not a valid PostgreSQL URL: {e}", redact_url(url)))
}
