//! `cache`: the hot cache's tiers and lifetimes.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::redact::serialize_redacted_optional_url;
use super::Issues;

/// The hot cache: in-process, then Redis when configured.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// In-process budget in bytes.
    pub memory_bytes: u64,
    /// Redis URL (may carry a password); `None` disables the Redis tier.
    #[serde(serialize_with = "serialize_redacted_optional_url")]
    pub redis_url: Option<SecretString>,
    /// Namespace of Redis keys and channels.
    pub key_namespace: String,
    /// Timeout of one Redis operation, in milliseconds.
    pub redis_timeout_ms: u64,
    /// Entry lifetimes.
    pub ttl_secs: CacheTtlSettings,
}

/// Hot-cache entry lifetimes, in seconds.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CacheTtlSettings {
    /// Entities.
    pub entity: u64,
    /// Search pages.
    pub search: u64,
    /// Provider health shared between instances (`status:{platform}`).
    pub status: u64,
}

impl CacheSettings {
    pub(super) fn check(&self, issues: &mut Issues) {
        issues.check(
            self.memory_bytes == 0 || self.memory_bytes >= 1 << 20,
            "memory_bytes",
            format!(
                "must be 0 (in-process tier off) or at least 1048576 (1 MiB), got {}",
                self.memory_bytes
            ),
        );
        if let Some(url) = &self.redis_url {
            issues.check(
                url::Url::parse(url.expose_secret())
                    .is_ok_and(|u| matches!(u.scheme(), "redis" | "rediss")),
                "redis_url",
                "expected redis://host:port[/db] or rediss://…",
            );
        }
        issues.check(
            !self.key_namespace.is_empty()
                && self
                    .key_namespace
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')),
            "key_namespace",
            "must be non-empty letters, digits, '_', '-' or '.'",
        );
        for (key, value) in [
            ("redis_timeout_ms", self.redis_timeout_ms),
            ("ttl_secs.entity", self.ttl_secs.entity),
            ("ttl_secs.search", self.ttl_secs.search),
            ("ttl_secs.status", self.ttl_secs.status),
        ] {
            issues.at_least(key, value, 1, "");
        }
    }
}
