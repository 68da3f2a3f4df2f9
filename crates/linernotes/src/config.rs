//! Configuration: compiled-in defaults, an optional YAML file, then `LINERNOTES__…` environment variables.
//!
//! The defaults are `linernotes.example.yaml` itself, compiled into the binary, so the documented example
//! and the real defaults cannot drift apart. [`Settings::load`] layers the sources, deserialises them with
//! unknown keys rejected, and validates every value, reporting each problem with its key.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

use crate::domain::EntityKind;

/// The documented defaults, compiled in.
pub const DEFAULTS_YAML: &str = include_str!("../linernotes.example.yaml");

/// The placeholder contact of the defaults; `serve` warns while it is in use.
pub const PLACEHOLDER_CONTACT: &str = "unset-contact@linernotes.invalid";

/// The file looked for in the working directory when no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "linernotes.yaml";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Listening addresses and request limits.
    pub server: ServerSettings,
    /// PostgreSQL connection and pool.
    pub database: DatabaseSettings,
    /// Hot cache tiers.
    pub cache: CacheSettings,
    /// Freshness policy of stored metadata.
    pub metadata: MetadataSettings,
    /// Upstream providers.
    pub providers: ProvidersSettings,
    /// Log level and format.
    pub logging: LoggingSettings,
    /// Accounts: tokens, password hashing, login throttling, mail, deletion and retention.
    pub auth: AuthSettings,
    /// The user library: de-duplication window and limits (issue 4).
    pub library: LibrarySettings,
}

// --- library (issue 4) ---
/// The user library: play de-duplication and size limits.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LibrarySettings {
    /// A play of the same track by the same user within this many seconds of another is de-duplicated.
    pub play_dedup_secs: u64,
    /// Items one playlist may hold.
    pub max_playlist_items: u32,
    /// Playlists one user may own.
    pub max_playlists_per_user: u32,
    /// Tracks one request may add to a playlist.
    pub max_tracks_per_add: u32,
    /// How far ahead of the server's clock a play's `played_at` may be, in seconds.
    pub max_future_play_secs: u64,
}

impl LibrarySettings {
    /// Problems of the library section, each with its key.
    fn issues(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        for (key, value, min, max) in [
            ("play_dedup_secs", self.play_dedup_secs, 0, 86_400),
            (
                "max_playlist_items",
                u64::from(self.max_playlist_items),
                1,
                1_000_000,
            ),
            (
                "max_playlists_per_user",
                u64::from(self.max_playlists_per_user),
                1,
                1_000_000,
            ),
            (
                "max_tracks_per_add",
                u64::from(self.max_tracks_per_add),
                1,
                10_000,
            ),
            ("max_future_play_secs", self.max_future_play_secs, 0, 86_400),
        ] {
            if !(min..=max).contains(&value) {
                issues.push(ConfigIssue {
                    key: format!("library.{key}"),
                    reason: format!("must be between {min} and {max}, got {value}"),
                });
            }
        }
        issues
    }
}
// --- end library ---

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

/// How long stored metadata stays fresh.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataSettings {
    /// Freshness age per entity type, in seconds.
    pub freshness_secs: FreshnessSettings,
    /// Cap on release-group browse pages per artist.
    pub max_album_pages: u32,
}

/// Freshness age per entity type, in seconds.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FreshnessSettings {
    /// Artists.
    pub artist: u64,
    /// Albums (release groups).
    pub album: u64,
    /// Releases.
    pub release: u64,
    /// Tracks (recordings).
    pub track: u64,
    /// Labels.
    pub label: u64,
}

impl FreshnessSettings {
    /// The freshness age of one entity type.
    pub fn for_kind(&self, kind: EntityKind) -> Duration {
        Duration::from_secs(match kind {
            EntityKind::Artist => self.artist,
            EntityKind::Album => self.album,
            EntityKind::Release => self.release,
            EntityKind::Track => self.track,
            EntityKind::Label => self.label,
        })
    }
}

/// Upstream providers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidersSettings {
    /// MusicBrainz WS/2.
    pub musicbrainz: MusicBrainzSettings,
}

/// MusicBrainz client settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MusicBrainzSettings {
    /// Base URL, e.g. `https://musicbrainz.org/ws/2`.
    pub base_url: String,
    /// Contact for the User-Agent.
    pub contact: String,
    /// Request rate ceiling.
    pub requests_per_second: f64,
    /// Per-request timeout in milliseconds.
    pub timeout_ms: u64,
    /// Retries of transient failures.
    pub max_retries: u32,
    /// First retry delay.
    pub retry_base_delay_ms: u64,
    /// Longest honoured Retry-After.
    pub max_retry_after_secs: u64,
    /// Consecutive failures that open the breaker.
    pub breaker_failure_threshold: u32,
    /// Open-breaker cool-down.
    pub breaker_cool_down_secs: u64,
}

/// Logging.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingSettings {
    /// EnvFilter directives.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

// --- accounts (issue 3) ---

/// Accounts and security.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HS256 signing key of access tokens (at least 32 bytes); empty: a random key per start.
    #[serde(serialize_with = "serialize_redacted_secret")]
    pub jwt_secret: SecretString,
    /// `iss` and `aud` of access tokens.
    pub jwt_issuer: String,
    /// Access-token lifetime.
    pub access_token_ttl_secs: u64,
    /// Session (refresh-token) lifetime.
    pub refresh_token_ttl_secs: u64,
    /// Lifetime of e-mail verification tokens.
    pub verify_email_ttl_secs: u64,
    /// Lifetime of password-reset tokens.
    pub password_reset_ttl_secs: u64,
    /// Argon2id cost.
    pub argon2: Argon2Settings,
    /// Failed-login limits.
    pub throttle: ThrottleSettings,
    /// Days a deleted account is kept before it is purged.
    pub deletion_retention_days: u64,
    /// Accounts with no login for this many days are deleted (then purged); 0 turns this off.
    pub inactive_account_days: u64,
    /// How often the purge job runs.
    pub purge_interval_secs: u64,
    /// Base URL put in mailed links (verification, reset).
    pub public_url: String,
    /// `From` of mails.
    pub mail_from: String,
    /// SMTP server (`smtp://user:pass@host:587?tls=required`, `smtps://…:465`); empty: the outbox.
    #[serde(serialize_with = "serialize_redacted_secret")]
    pub smtp_url: SecretString,
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Settings {
    /// Memory, KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

/// Failed-login limits per account and per client address.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSettings {
    /// Failures of one account within the window that lock it.
    pub account_max_failures: u32,
    /// Failures of one client address within the window that lock it.
    pub ip_max_failures: u32,
    /// Requests of one client address within the window to register, verify an address or confirm a
    /// password reset (each hashes a password or sends mail) that lock it for these.
    pub ip_max_account_requests: u32,
    /// The counting window.
    pub window_secs: u64,
    /// The first lockout; each further one doubles.
    pub lockout_secs: u64,
    /// The longest lockout.
    pub max_lockout_secs: u64,
}

fn serialize_redacted_secret<S: Serializer>(
    secret: &SecretString,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(if secret.expose_secret().is_empty() {
        ""
    } else {
        "***"
    })
}

impl AuthSettings {
    /// Problems of the auth section, each with its key.
    fn issues(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut check = |ok: bool, key: &str, reason: String| {
            if !ok {
                issues.push(ConfigIssue {
                    key: format!("auth.{key}"),
                    reason,
                });
            }
        };
        let secret_len = self.jwt_secret.expose_secret().len();
        check(
            secret_len == 0 || secret_len >= 32,
            "jwt_secret",
            format!(
                "must be empty (a random key per start) or at least 32 bytes, got {secret_len}"
            ),
        );
        check(
            !self.jwt_issuer.trim().is_empty(),
            "jwt_issuer",
            "must not be empty".into(),
        );
        for (key, value, min, max) in [
            (
                "access_token_ttl_secs",
                self.access_token_ttl_secs,
                30,
                86_400,
            ),
            (
                "refresh_token_ttl_secs",
                self.refresh_token_ttl_secs,
                300,
                31_536_000,
            ),
            (
                "verify_email_ttl_secs",
                self.verify_email_ttl_secs,
                60,
                2_592_000,
            ),
            (
                "password_reset_ttl_secs",
                self.password_reset_ttl_secs,
                60,
                86_400,
            ),
            ("purge_interval_secs", self.purge_interval_secs, 1, 604_800),
            ("throttle.window_secs", self.throttle.window_secs, 1, 86_400),
            (
                "throttle.lockout_secs",
                self.throttle.lockout_secs,
                1,
                86_400,
            ),
            (
                "throttle.max_lockout_secs",
                self.throttle.max_lockout_secs,
                1,
                2_592_000,
            ),
        ] {
            check(
                (min..=max).contains(&value),
                key,
                format!("must be between {min} and {max}, got {value}"),
            );
        }
        check(
            self.throttle.max_lockout_secs >= self.throttle.lockout_secs,
            "throttle.max_lockout_secs",
            "must not be below auth.throttle.lockout_secs".into(),
        );
        for (key, value) in [
            (
                "throttle.account_max_failures",
                self.throttle.account_max_failures,
            ),
            ("throttle.ip_max_failures", self.throttle.ip_max_failures),
            (
                "throttle.ip_max_account_requests",
                self.throttle.ip_max_account_requests,
            ),
        ] {
            check(
                (1..=100_000).contains(&value),
                key,
                format!("must be between 1 and 100000, got {value}"),
            );
        }
        check(
            self.deletion_retention_days <= 3650,
            "deletion_retention_days",
            format!("must be at most 3650, got {}", self.deletion_retention_days),
        );
        check(
            self.inactive_account_days <= 36_500,
            "inactive_account_days",
            format!(
                "must be at most 36500 (0 turns it off), got {}",
                self.inactive_account_days
            ),
        );
        let a = &self.argon2;
        check(
            (1..=16).contains(&a.parallelism),
            "argon2.parallelism",
            format!("must be between 1 and 16, got {}", a.parallelism),
        );
        check(
            a.memory_kib >= 8 * a.parallelism.max(1) && a.memory_kib <= 4 * 1024 * 1024,
            "argon2.memory_kib",
            format!(
                "must be at least 8 × parallelism and at most 4194304 (4 GiB), got {}",
                a.memory_kib
            ),
        );
        check(
            (1..=100).contains(&a.iterations),
            "argon2.iterations",
            format!("must be between 1 and 100, got {}", a.iterations),
        );
        match url::Url::parse(&self.public_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => check(
                false,
                "public_url",
                format!("'{}' is not an http(s) URL", self.public_url),
            ),
        }
        let smtp = self.smtp_url.expose_secret();
        check(
            smtp.is_empty()
                || url::Url::parse(smtp).is_ok_and(|u| matches!(u.scheme(), "smtp" | "smtps")),
            "smtp_url",
            "must be empty (mail goes to the mail_outbox table) or an smtp:// or smtps:// URL"
                .into(),
        );
        check(
            crate::domain::account::Email::parse(&self.mail_from).is_ok(),
            "mail_from",
            format!("'{}' is not an e-mail address", self.mail_from),
        );
        issues
    }

    /// Whether the Argon2id cost is below OWASP's minimum (19 MiB, 2 passes, 1 lane, or equivalent).
    pub fn argon2_below_owasp(&self) -> bool {
        let a = &self.argon2;
        u64::from(a.memory_kib) * u64::from(a.iterations) < 19_456 * 2
    }
}

// --- end accounts ---

/// One invalid configuration value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Dotted key, e.g. `database.max_connections`.
    pub key: String,
    /// What is wrong and what was expected.
    pub reason: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A named config file does not exist or cannot be read.
    #[error("cannot read config file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The sources could not be parsed into the settings' shape (wrong type, unknown key, bad YAML).
    #[error("invalid configuration: {0}")]
    Parse(String),
    /// Values parsed but are out of range or inconsistent.
    #[error("invalid configuration:\n{}", .0.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigIssue>),
}

impl Settings {
    /// Loads defaults, then `file` (or `linernotes.yaml` in the working directory when present), then the
    /// process environment; validates the result.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Self::load_from(file, &env)
    }

    /// Like [`Settings::load`] with an explicit environment (tests use this instead of mutating the
    /// process environment).
    pub fn load_from(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        use config::{Config, Environment, File, FileFormat};

        let file = match file {
            Some(path) => {
                if !path.is_file() {
                    return Err(ConfigError::File {
                        path: path.to_owned(),
                        reason: "no such file".into(),
                    });
                }
                Some(path.to_owned())
            }
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.is_file()),
        };
        let linernotes_env: config::Map<String, String> = env
            .iter()
            .filter(|(k, _)| k.starts_with("LINERNOTES__"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let environment = || {
            Environment::with_prefix("LINERNOTES")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(linernotes_env.clone()))
        };
        let user_sources = || {
            let mut builder = Config::builder();
            if let Some(path) = &file {
                builder = builder.add_source(File::from(path.as_path()).format(FileFormat::Yaml));
            }
            builder.add_source(environment())
        };

        let user = user_sources()
            .build()
            .map_err(|e| ConfigError::Parse(e.to_string()))?;
        let mut builder = Config::builder()
            .add_source(File::from_str(DEFAULTS_YAML, FileFormat::Yaml))
            .add_source(user);
        let url_set_by_user = user_sources()
            .build()
            .ok()
            .is_some_and(|c| c.get_string("database.url").is_ok());
        if let (false, Some(url)) = (url_set_by_user, env.get("DATABASE_URL")) {
            builder = builder
                .set_override("database.url", url.as_str())
                .map_err(|e| ConfigError::Parse(e.to_string()))?;
        }
        let settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigError::Parse(e.to_string()))?;
        settings.validate().map_err(ConfigError::Invalid)?;
        Ok(settings)
    }

    /// Checks every value; returns all problems at once.
    pub fn validate(&self) -> Result<(), Vec<ConfigIssue>> {
        let mut issues = Vec::new();
        let mut check = |ok: bool, key: &str, reason: String| {
            if !ok {
                issues.push(ConfigIssue {
                    key: key.to_owned(),
                    reason,
                });
            }
        };
        for (key, value) in [
            ("server.grpc_addr", &self.server.grpc_addr),
            ("server.http_addr", &self.server.http_addr),
        ] {
            check(
                value.parse::<SocketAddr>().is_ok(),
                key,
                format!(
                    "'{value}' is not a socket address; expected host:port such as 127.0.0.1:8080"
                ),
            );
        }
        check(
            self.server.grpc_addr != self.server.http_addr || self.server.grpc_addr.ends_with(":0"),
            "server.http_addr",
            "must differ from server.grpc_addr".into(),
        );
        check(
            self.server.max_body_bytes >= 1024,
            "server.max_body_bytes",
            "must be at least 1024".into(),
        );
        let db = &self.database;
        if let Err(reason) = parse_database_url(db.url.expose_secret()) {
            check(false, "database.url", reason);
        }
        check(
            (1..=1000).contains(&db.max_connections),
            "database.max_connections",
            format!("must be between 1 and 1000, got {}", db.max_connections),
        );
        check(
            db.min_connections <= db.max_connections,
            "database.min_connections",
            format!(
                "must not exceed database.max_connections ({}), got {}",
                db.max_connections, db.min_connections
            ),
        );
        for (key, value) in [
            ("database.max_lifetime_secs", db.max_lifetime_secs),
            ("database.idle_timeout_secs", db.idle_timeout_secs),
            (
                "database.health_check_interval_secs",
                db.health_check_interval_secs,
            ),
            ("database.acquire_timeout_secs", db.acquire_timeout_secs),
            ("database.connect_timeout_secs", db.connect_timeout_secs),
            (
                "providers.musicbrainz.breaker_cool_down_secs",
                self.providers.musicbrainz.breaker_cool_down_secs,
            ),
        ] {
            check(
                value >= 1,
                key,
                format!("must be at least 1 second, got {value}"),
            );
        }
        let fresh = &self.metadata.freshness_secs;
        for kind in EntityKind::ALL {
            let secs = fresh.for_kind(kind).as_secs();
            check(
                secs >= 1,
                &format!("metadata.freshness_secs.{kind}"),
                format!("must be at least 1 second, got {secs}"),
            );
        }
        check(
            self.metadata.max_album_pages >= 1,
            "metadata.max_album_pages",
            "must be at least 1".into(),
        );
        let cache = &self.cache;
        check(
            cache.memory_bytes == 0 || cache.memory_bytes >= 1 << 20,
            "cache.memory_bytes",
            format!(
                "must be 0 (in-process tier off) or at least 1048576 (1 MiB), got {}",
                cache.memory_bytes
            ),
        );
        if let Some(url) = &cache.redis_url {
            match url::Url::parse(url.expose_secret()) {
                Ok(u) if matches!(u.scheme(), "redis" | "rediss") => {}
                _ => check(
                    false,
                    "cache.redis_url",
                    "expected redis://host:port[/db] or rediss://…".into(),
                ),
            }
        }
        check(
            !cache.key_namespace.is_empty()
                && cache
                    .key_namespace
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')),
            "cache.key_namespace",
            "must be non-empty letters, digits, '_', '-' or '.'".into(),
        );
        for (key, value) in [
            ("cache.redis_timeout_ms", cache.redis_timeout_ms),
            ("cache.ttl_secs.entity", cache.ttl_secs.entity),
            ("cache.ttl_secs.search", cache.ttl_secs.search),
            ("cache.ttl_secs.status", cache.ttl_secs.status),
            ("database.slow_query_ms", self.database.slow_query_ms),
        ] {
            check(value >= 1, key, format!("must be at least 1, got {value}"));
        }
        let mb = &self.providers.musicbrainz;
        check(
            (100..=600_000).contains(&mb.timeout_ms),
            "providers.musicbrainz.timeout_ms",
            format!("must be between 100 and 600000, got {}", mb.timeout_ms),
        );
        check(
            mb.breaker_failure_threshold >= 1,
            "providers.musicbrainz.breaker_failure_threshold",
            "must be at least 1".into(),
        );
        match url::Url::parse(&mb.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => check(
                false,
                "providers.musicbrainz.base_url",
                format!("'{}' is not an http(s) URL", mb.base_url),
            ),
        }
        check(
            !mb.contact.trim().is_empty() && !mb.contact.contains(['\r', '\n', '(', ')']),
            "providers.musicbrainz.contact",
            "must be a non-empty e-mail address or URL (no parentheses or line breaks)".into(),
        );
        check(
            mb.requests_per_second.is_finite()
                && mb.requests_per_second > 0.0
                && mb.requests_per_second <= 1000.0,
            "providers.musicbrainz.requests_per_second",
            format!(
                "must be above 0 and at most 1000, got {}",
                mb.requests_per_second
            ),
        );
        check(
            mb.max_retries <= 10,
            "providers.musicbrainz.max_retries",
            format!("must be at most 10, got {}", mb.max_retries),
        );
        check(
            matches!(self.logging.format.as_str(), "text" | "json"),
            "logging.format",
            format!("expected text or json, got '{}'", self.logging.format),
        );
        check(
            tracing_subscriber::EnvFilter::try_new(&self.logging.level).is_ok(),
            "logging.level",
            format!("'{}' is not a valid log filter", self.logging.level),
        );
        // accounts (issue 3)
        issues.extend(self.auth.issues());
        // library (issue 4)
        issues.extend(self.library.issues());
        if issues.is_empty() {
            Ok(())
        } else {
            Err(issues)
        }
    }

    /// The effective configuration as YAML, with secrets redacted (for `config check`).
    pub fn to_redacted_yaml(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or_default();
        let mut out = String::new();
        let mut emitter = yaml_rust2::YamlEmitter::new(&mut out);
        // Emitting into a String cannot fail for the plain values a config holds.
        let _ = emitter.dump(&json_to_yaml(&value));
        out
    }

    /// The database URL with its password replaced, for logs and messages.
    pub fn redacted_database_url(&self) -> String {
        redact_url(self.database.url.expose_secret())
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
    std::str::FromStr::from_str(url)
        .map_err(|e| format!("'{}' is not a valid PostgreSQL URL: {e}", redact_url(url)))
}

/// Replaces the password of a URL with `***`; leaves anything unparsable as `<unparsable URL>`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "<unparsable URL>".into(),
    }
}

fn serialize_redacted_url<S: Serializer>(url: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url.expose_secret()))
}

fn serialize_redacted_optional_url<S: Serializer>(
    url: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match url {
        Some(url) => serialize_redacted_url(url, s),
        None => s.serialize_none(),
    }
}

fn json_to_yaml(value: &serde_json::Value) -> yaml_rust2::Yaml {
    use yaml_rust2::Yaml;
    match value {
        serde_json::Value::Null => Yaml::Null,
        serde_json::Value::Bool(b) => Yaml::Boolean(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Integer(i),
            None => Yaml::Real(n.to_string()),
        },
        serde_json::Value::String(s) => Yaml::String(s.clone()),
        serde_json::Value::Array(items) => Yaml::Array(items.iter().map(json_to_yaml).collect()),
        serde_json::Value::Object(map) => Yaml::Hash(
            map.iter()
                .map(|(k, v)| (Yaml::String(k.clone()), json_to_yaml(v)))
                .collect(),
        ),
    }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load_and_match_the_seed_pool_settings() {
        let s = Settings::load_from(None, &env(&[])).unwrap();
        assert_eq!(s.database.max_connections, 10);
        assert_eq!(s.database.min_connections, 2);
        assert_eq!(s.database.max_lifetime_secs, 3600);
        assert_eq!(s.database.idle_timeout_secs, 1800);
        assert_eq!(s.database.health_check_interval_secs, 60);
        assert_eq!(s.server.grpc_addr, "127.0.0.1:50051");
        assert_eq!(s.server.http_addr, "127.0.0.1:8080");
        assert_eq!(s.providers.musicbrainz.requests_per_second, 1.0);
    }

    #[test]
    fn environment_overrides_and_database_url_fallback() {
        let s = Settings::load_from(
            None,
            &env(&[
                ("LINERNOTES__SERVER__HTTP_ADDR", "127.0.0.1:9999"),
                ("LINERNOTES__DATABASE__MAX_CONNECTIONS", "4"),
                ("DATABASE_URL", "postgres://u:hunter2@db:5432/x"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.http_addr, "127.0.0.1:9999");
        assert_eq!(s.database.max_connections, 4);
        assert_eq!(
            s.database.url.expose_secret(),
            "postgres://u:hunter2@db:5432/x"
        );
        let shown = s.to_redacted_yaml();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!format!("{s:?}").contains("hunter2"));

        let s = Settings::load_from(
            None,
            &env(&[
                ("LINERNOTES__DATABASE__URL", "postgres://localhost/a"),
                ("DATABASE_URL", "postgres://localhost/b"),
            ]),
        )
        .unwrap();
        assert_eq!(s.database.url.expose_secret(), "postgres://localhost/a");
    }

    #[test]
    fn every_invalid_key_is_reported_with_its_reason() {
        let err = Settings::load_from(
            None,
            &env(&[
                ("LINERNOTES__DATABASE__MIN_CONNECTIONS", "50"),
                ("LINERNOTES__SERVER__GRPC_ADDR", "nowhere"),
                ("LINERNOTES__LOGGING__FORMAT", "xml"),
            ]),
        )
        .unwrap_err()
        .to_string();
        for key in [
            "database.min_connections",
            "server.grpc_addr",
            "logging.format",
        ] {
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn auth_secrets_are_redacted_and_validated() {
        let s = Settings::load_from(
            None,
            &env(&[
                (
                    "LINERNOTES__AUTH__JWT_SECRET",
                    "0123456789abcdef0123456789abcdef-secret",
                ),
                (
                    "LINERNOTES__AUTH__SMTP_URL",
                    "smtps://mailer:hunter2@smtp.example.org:465",
                ),
            ]),
        )
        .unwrap();
        let shown = s.to_redacted_yaml();
        for secret in ["-secret", "hunter2"] {
            assert!(!shown.contains(secret), "{shown}");
            assert!(!format!("{s:?}").contains(secret));
        }
        assert_eq!(s.auth.argon2.memory_kib, 65536);
        assert_eq!(s.auth.throttle.account_max_failures, 5);
        assert_eq!(s.auth.deletion_retention_days, 30);
        let err = Settings::load_from(
            None,
            &env(&[
                ("LINERNOTES__AUTH__JWT_SECRET", "short"),
                ("LINERNOTES__AUTH__SMTP_URL", "http://x"),
                ("LINERNOTES__AUTH__ARGON2__PARALLELISM", "0"),
                ("LINERNOTES__AUTH__ACCESS_TOKEN_TTL_SECS", "1"),
            ]),
        )
        .unwrap_err()
        .to_string();
        for key in [
            "auth.jwt_secret",
            "auth.smtp_url",
            "auth.argon2.parallelism",
            "auth.access_token_ttl_secs",
        ] {
            assert!(err.contains(key), "{err}");
        }
        assert!(
            !err.contains("short"),
            "the rejected secret is not echoed: {err}"
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Settings::load_from(None, &env(&[("LINERNOTES__DATABASE__MAX_CONECTIONS", "3")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_conections"), "{err}");
    }

    // library (issue 4)
    #[test]
    fn library_defaults_and_limits_are_validated() {
        let s = Settings::load_from(None, &env(&[])).unwrap();
        assert_eq!(s.library.play_dedup_secs, 30);
        assert_eq!(s.library.max_playlist_items, 10_000);
        assert_eq!(s.library.max_playlists_per_user, 1_000);
        assert_eq!(s.library.max_tracks_per_add, 500);
        assert_eq!(s.library.max_future_play_secs, 300);
        let err = Settings::load_from(
            None,
            &env(&[
                ("LINERNOTES__LIBRARY__MAX_PLAYLIST_ITEMS", "0"),
                ("LINERNOTES__LIBRARY__PLAY_DEDUP_SECS", "999999"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("library.max_playlist_items"), "{err}");
        assert!(err.contains("library.play_dedup_secs"), "{err}");
        let err = Settings::load_from(None, &env(&[("LINERNOTES__LIBRARY__MAX_ITEMS", "3")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_items"), "{err}");
    }
}
