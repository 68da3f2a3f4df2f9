//! Configuration: compiled-in defaults, an optional YAML file, then `LINERNOTES__…` environment variables.
//!
//! The defaults are `linernotes.example.yaml` itself, compiled into the binary, so the documented example
//! and the real defaults cannot drift apart. [`Settings::load`] layers the sources, deserialises them with
//! unknown keys rejected, and validates every value, reporting each problem with its key.
//!
//! One file per section, each with its settings and their checks: [`server`], [`database`], [`cache`],
//! [`metadata`], [`providers`], [`logging`], [`auth`], [`library`], [`search`]; [`issues`] collects problems and
//! holds the shared checks (ranges, URLs); [`redact`] keeps secrets out of what is printed; [`load`]
//! reads the sources so that one run reports every problem and says where each value came from.

pub mod auth;
pub mod cache;
pub mod database;
pub mod issues;
pub mod library;
pub mod load;
pub mod logging;
pub mod metadata;
pub mod providers;
pub mod redact;
pub mod search;
pub mod server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use auth::{Argon2Settings, AuthSettings, ThrottleSettings};
pub use cache::{CacheSettings, CacheTtlSettings};
pub use database::{parse_database_url, DatabaseMode, DatabaseSettings, EmbeddedSettings};
pub use issues::{ConfigIssue, Issues};
pub use library::LibrarySettings;
pub use load::{Loaded, Source};
pub use logging::LoggingSettings;
pub use metadata::{FreshnessSettings, MergeSettings, MetadataSettings, ENRICHERS};
pub use providers::{
    ClientSettings, DiscogsSettings, EnricherSettings, KeyedSettings, MusicBrainzSettings,
    ProviderSection, ProvidersSettings, LANG_PLACEHOLDER, PLACEHOLDER_CONTACT,
};
pub use redact::redact_url;
pub use search::SearchSettings;
pub use server::ServerSettings;

/// The documented defaults, compiled in.
pub const DEFAULTS_YAML: &str = include_str!("../../linernotes.example.yaml");

/// The file looked for in the working directory when no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "linernotes.yaml";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where local files live (the embedded cluster, its socket, the instance lock, the search
    /// index); unset: the default for the running account, see [`Settings::data_dir`].
    #[serde(rename = "data_dir")]
    pub data_dir_setting: Option<PathBuf>,
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
    /// The user library: de-duplication window and limits.
    pub library: LibrarySettings,
    /// The embedded search index.
    pub search: SearchSettings,
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
        Self::load_explained(file, env).map(|loaded| loaded.settings)
    }

    /// Checks every value; returns all problems at once.
    pub fn validate(&self) -> Result<(), Vec<ConfigIssue>> {
        let mut issues = Issues::default();
        issues.section("server", |i| self.server.check(i));
        issues.section("database", |i| self.database.check(i));
        issues.section("cache", |i| self.cache.check(i));
        issues.section("metadata", |i| self.metadata.check(i));
        self.providers.check(&mut issues);
        issues.section("logging", |i| self.logging.check(i));
        issues.section("auth", |i| self.auth.check(i));
        issues.section("library", |i| self.library.check(i));
        issues.section("search", |i| self.search.check(i));
        issues.into_result()
    }

    /// The effective configuration as YAML, with secrets redacted (for `config check`).
    pub fn to_redacted_yaml(&self) -> String {
        redact::to_yaml(&serde_json::to_value(self).unwrap_or_default())
    }

    /// The database URL with its password replaced, for logs and messages.
    pub fn redacted_database_url(&self) -> String {
        self.database.redacted_url()
    }

    /// The folder of the on-disk search index: `search.index_dir`, a relative one under
    /// [`Settings::data_dir`] (so the default is `<data_dir>/search`, never the working directory);
    /// `None` when it is empty (the index lives in memory).
    pub fn search_index_dir(&self) -> Option<PathBuf> {
        let dir = self.search.index_dir.trim();
        if dir.is_empty() {
            return None;
        }
        Some(self.data_dir().join(dir))
    }

    /// Where local files live: `data_dir`, else `/var/lib/linernotes` for root, else
    /// `$XDG_DATA_HOME/linernotes` or `~/.local/share/linernotes`.
    pub fn data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir_setting {
            return dir.clone();
        }
        if nix::unistd::geteuid().is_root() {
            return PathBuf::from("/var/lib/linernotes");
        }
        let data_home = std::env::var_os("XDG_DATA_HOME")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share"))
            })
            .unwrap_or_else(|| PathBuf::from("."));
        data_home.join("linernotes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_search_index_lives_under_data_dir_unless_absolute_or_in_memory() {
        let at = |index_dir: &str| {
            Settings::load_from(
                None,
                &env(&[
                    ("LINERNOTES__DATA_DIR", "/srv/linernotes"),
                    ("LINERNOTES__SEARCH__INDEX_DIR", index_dir),
                ]),
            )
            .unwrap()
            .search_index_dir()
        };
        let default = Settings::load_from(None, &env(&[("LINERNOTES__DATA_DIR", "/srv/ln")]))
            .unwrap()
            .search_index_dir();
        assert_eq!(default, Some(PathBuf::from("/srv/ln/search")));
        assert_eq!(at("idx"), Some(PathBuf::from("/srv/linernotes/idx")));
        assert_eq!(at("/var/cache/idx"), Some(PathBuf::from("/var/cache/idx")));
        assert_eq!(at(""), None);
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
        assert!(s.database.url.is_none());
        assert_eq!(s.database.effective_mode(), DatabaseMode::Embedded);
        assert_eq!(s.server.http_addr, "127.0.0.1:8080");
        assert_eq!(s.providers.musicbrainz.client.requests_per_second, 1.0);
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
            s.database
                .url
                .as_ref()
                .map(|u| u.expose_secret().to_owned()),
            Some("postgres://u:hunter2@db:5432/x".to_owned())
        );
        assert_eq!(s.database.effective_mode(), DatabaseMode::External);
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
        assert_eq!(
            s.database
                .url
                .as_ref()
                .map(|u| u.expose_secret().to_owned()),
            Some("postgres://localhost/a".to_owned())
        );
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
    fn external_mode_needs_a_url_and_auto_follows_it() {
        let err = Settings::load_from(None, &env(&[("LINERNOTES__DATABASE__MODE", "external")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("database.url") && err.contains("LINERNOTES__DATABASE__URL"),
            "{err}"
        );
        let s = Settings::load_from(
            None,
            &env(&[
                ("LINERNOTES__DATABASE__MODE", "embedded"),
                ("DATABASE_URL", "postgres://localhost/x"),
            ]),
        )
        .unwrap();
        assert_eq!(s.database.effective_mode(), DatabaseMode::Embedded);
        let err = Settings::load_from(None, &env(&[("LINERNOTES__DATABASE__MODE", "builtin")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("database.mode"), "{err}");
    }

    #[test]
    fn replica_urls_come_as_a_list_or_commas_and_are_redacted() {
        let s = Settings::load_from(
            None,
            &env(&[(
                "LINERNOTES__DATABASE__REPLICA_URLS",
                "postgres://r:hunter2@replica-1/db,postgres://replica-2/db",
            )]),
        )
        .unwrap();
        assert_eq!(s.database.replica_urls.len(), 2);
        let shown = s.to_redacted_yaml();
        assert!(
            !shown.contains("hunter2") && shown.contains("replica-2"),
            "{shown}"
        );
        let err = Settings::load_from(
            None,
            &env(&[("LINERNOTES__DATABASE__REPLICA_URLS", "http://replica/db")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("database.replica_urls"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Settings::load_from(None, &env(&[("LINERNOTES__DATABASE__MAX_CONECTIONS", "3")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_conections"), "{err}");
    }

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
