//! `database`: which PostgreSQL (an external server or the built-in one), its URL and the pool's
//! settings.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::redact::{redact_url, serialize_redacted_optional_url};
use super::Issues;

/// Where the database lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseMode {
    /// `external` when a URL is set, `embedded` otherwise.
    Auto,
    /// A PostgreSQL server someone else runs, at `database.url`.
    External,
    /// A PostgreSQL cluster under `data_dir`, run by linernotes as its child process.
    Embedded,
}

impl fmt::Display for DatabaseMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DatabaseMode::Auto => "auto",
            DatabaseMode::External => "external",
            DatabaseMode::Embedded => "embedded",
        })
    }
}

/// The built-in PostgreSQL: where its binaries come from and which account runs it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedSettings {
    /// Folder holding `postgres` and `initdb`; unset: searched (PATH, `pg_config`, the usual folders).
    pub bin_dir: Option<String>,
    /// Whether the machine's own binaries (PATH, `pg_config`, the usual folders) are looked for; false:
    /// only `bin_dir` or a build downloaded under `data_dir` is used.
    pub system_binaries: bool,
    /// Download a relocatable build once when no binaries are found (and `bin_dir` is unset).
    pub download: bool,
    /// The `.tar.gz` build to download; `{target}` stands for this platform's target triple.
    pub download_url: String,
    /// The archive's SHA-256 (hex); unset: read from `<download_url>.sha256`.
    pub download_sha256: Option<String>,
    /// The account the server runs as when linernotes runs as root (PostgreSQL refuses root); unset:
    /// `postgres` when that account exists.
    pub run_as: Option<String>,
}

impl EmbeddedSettings {
    fn check(&self, issues: &mut Issues) {
        issues.http_url(
            "embedded.download_url",
            &self.download_url.replace("{target}", "target"),
        );
        if let Some(sha256) = &self.download_sha256 {
            issues.check(
                sha256.len() == 64 && sha256.chars().all(|c| c.is_ascii_hexdigit()),
                "embedded.download_sha256",
                format!("expected 64 hexadecimal digits (a SHA-256), got '{sha256}'"),
            );
        }
    }
}

/// PostgreSQL settings. The URL is a secret because it may carry a password.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `auto`, `external` or `embedded`.
    pub mode: DatabaseMode,
    /// Connection URL of an external server; unset in embedded mode.
    #[serde(serialize_with = "serialize_redacted_optional_url")]
    pub url: Option<SecretString>,
    /// The built-in server.
    pub embedded: EmbeddedSettings,
    /// Read replicas (streaming standbys of the primary) for reads that tolerate lag; a list, or one
    /// comma-separated string (as an environment variable gives it).
    #[serde(
        deserialize_with = "secret_list_or_commas",
        serialize_with = "serialize_redacted_urls"
    )]
    pub replica_urls: Vec<SecretString>,
    /// How often each replica's health and lag are checked.
    pub replica_check_interval_secs: u64,
    /// A replica further behind the primary than this many bytes of WAL is not read from.
    pub replica_max_lag_bytes: u64,
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
    /// The URL with its password replaced, for logs and messages (`(none)` while unset).
    pub fn redacted_url(&self) -> String {
        self.url.as_ref().map_or_else(
            || "(none)".to_owned(),
            |url| redact_url(url.expose_secret()),
        )
    }

    /// The mode that runs: `auto` resolved to `external` when a URL is set, else `embedded`.
    pub fn effective_mode(&self) -> DatabaseMode {
        match (self.mode, &self.url) {
            (DatabaseMode::Auto, Some(_)) => DatabaseMode::External,
            (DatabaseMode::Auto, None) => DatabaseMode::Embedded,
            (mode, _) => mode,
        }
    }

    pub(super) fn check(&self, issues: &mut Issues) {
        match &self.url {
            Some(url) => {
                if let Err(reason) = parse_database_url(url.expose_secret()) {
                    issues.check(false, "url", reason);
                }
            }
            None => issues.check(
                self.mode != DatabaseMode::External,
                "url",
                "database.mode is external but no URL is set: set database.url (or \
                 LINERNOTES__DATABASE__URL or DATABASE_URL), or set database.mode to auto or embedded",
            ),
        }
        self.embedded.check(issues);
        for url in &self.replica_urls {
            if let Err(reason) = parse_database_url(url.expose_secret()) {
                issues.check(false, "replica_urls", reason);
            }
        }
        issues.at_least(
            "replica_check_interval_secs",
            self.replica_check_interval_secs,
            1,
            " second",
        );
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

/// Replica URLs from a YAML list or one comma-separated string.
fn secret_list_or_commas<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SecretString>, D::Error> {
    let urls = super::server::list_or_commas(deserializer)?;
    Ok(urls.into_iter().map(SecretString::from).collect())
}

/// Serialises URLs with their passwords redacted.
fn serialize_redacted_urls<S: serde::Serializer>(
    urls: &[SecretString],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(urls.len()))?;
    for url in urls {
        seq.serialize_element(&redact_url(url.expose_secret()))?;
    }
    seq.end()
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
