//! `providers`: one section per upstream provider. Every section holds the same client block (base URL,
//! rate, timeout, retries, breaker: [`ClientSettings`]) beside what only that provider has, both as keys
//! of the one section (`providers.musicbrainz.timeout_ms`, `providers.musicbrainz.contact`).

use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::{Deserialize, Serialize};

use super::Issues;

/// The placeholder contact of the defaults; `serve` warns while it is in use.
pub const PLACEHOLDER_CONTACT: &str = "unset-contact@linernotes.invalid";

/// Upstream providers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidersSettings {
    /// MusicBrainz WS/2: the catalogue.
    pub musicbrainz: ProviderSection<MusicBrainzSettings>,
    /// Cover Art Archive: release and album images.
    pub coverartarchive: ProviderSection<EnricherSettings>,
    /// Wikidata: the bridge from a URL relation to Wikipedia articles and a Commons image.
    pub wikidata: ProviderSection<EnricherSettings>,
    /// Wikipedia: artist and album summaries (`base_url` holds `{lang}`).
    pub wikipedia: ProviderSection<EnricherSettings>,
    /// Deezer: pictures, covers, previews, BPM, explicit flag, popularity, Deezer IDs.
    pub deezer: ProviderSection<EnricherSettings>,
    /// iTunes: artwork, previews, genre, Apple IDs.
    pub itunes: ProviderSection<EnricherSettings>,
}

/// The placeholder a `base_url` may hold for the language code.
pub const LANG_PLACEHOLDER: &str = "{lang}";

/// What only an enricher without a key has: whether it runs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnricherSettings {
    /// Whether the provider is asked at all; a disabled provider is never called.
    pub enabled: bool,
}

/// How the polite client treats one provider; the same keys in every provider's section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSettings {
    /// Base URL of the provider's API.
    pub base_url: String,
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
    /// The longest a client request waits for this provider (its retries included); the fetch goes on
    /// in the background after that, for the next reader.
    pub interactive_deadline_ms: u64,
}

/// The keys of [`ClientSettings`], which a section hands to it; every other key is the provider's own.
const CLIENT_KEYS: [&str; 9] = [
    "base_url",
    "requests_per_second",
    "timeout_ms",
    "max_retries",
    "retry_base_delay_ms",
    "max_retry_after_secs",
    "breaker_failure_threshold",
    "breaker_cool_down_secs",
    "interactive_deadline_ms",
];

impl ClientSettings {
    /// The longest a client request waits for the provider.
    pub fn interactive_deadline(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.interactive_deadline_ms)
    }

    /// The base URL for `language` (`{lang}` replaced by it).
    pub fn base_url_for(&self, language: &str) -> String {
        self.base_url.replace(LANG_PLACEHOLDER, language)
    }

    fn check(&self, issues: &mut Issues) {
        issues.http_url("base_url", &self.base_url_for("en"));
        issues.check(
            self.requests_per_second.is_finite()
                && self.requests_per_second > 0.0
                && self.requests_per_second <= 1000.0,
            "requests_per_second",
            format!(
                "must be above 0 and at most 1000, got {}",
                self.requests_per_second
            ),
        );
        issues.range("timeout_ms", self.timeout_ms, 100, 600_000);
        issues.range(
            "interactive_deadline_ms",
            self.interactive_deadline_ms,
            100,
            600_000,
        );
        issues.range("max_retries", self.max_retries, 0, 10);
        issues.at_least(
            "breaker_failure_threshold",
            self.breaker_failure_threshold,
            1,
            "",
        );
        issues.at_least(
            "breaker_cool_down_secs",
            self.breaker_cool_down_secs,
            1,
            " second",
        );
    }
}

/// One provider's section: the client block and the provider's own settings, side by side.
///
/// serde's `flatten` cannot be combined with rejecting unknown keys, so reading splits the section's
/// keys by hand: the client's keys go to [`ClientSettings`], the rest to `Own`; both reject keys they do
/// not know. The values stay the configuration library's own, so its conversions (a number given where
/// text is expected, from an environment variable) apply as for every other key.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderSection<Own> {
    /// The client block.
    #[serde(flatten)]
    pub client: ClientSettings,
    /// What only this provider has.
    #[serde(flatten)]
    pub own: Own,
}

impl<'de, Own: DeserializeOwned> Deserialize<'de> for ProviderSection<Own> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        type Keys = config::Map<String, config::Value>;
        let section = Keys::deserialize(deserializer)?;
        let (client, own): (Keys, Keys) = section
            .into_iter()
            .partition(|(key, _)| CLIENT_KEYS.contains(&key.as_str()));
        Ok(Self {
            client: config::Value::from(client)
                .try_deserialize()
                .map_err(D::Error::custom)?,
            own: config::Value::from(own).try_deserialize().map_err(|e| {
                D::Error::custom(format!("{e} (or one of {})", CLIENT_KEYS.join(", ")))
            })?,
        })
    }
}

impl<Own> std::ops::Deref for ProviderSection<Own> {
    type Target = Own;

    fn deref(&self) -> &Own {
        &self.own
    }
}

/// What only MusicBrainz has.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MusicBrainzSettings {
    /// Contact for the User-Agent.
    pub contact: String,
}

impl ProvidersSettings {
    pub(super) fn check(&self, issues: &mut Issues) {
        issues.section("providers.musicbrainz", |issues| {
            self.musicbrainz.client.check(issues);
            let contact = &self.musicbrainz.contact;
            issues.check(
                !contact.trim().is_empty() && !contact.contains(['\r', '\n', '(', ')']),
                "contact",
                "must be a non-empty e-mail address or URL (no parentheses or line breaks)",
            );
        });
        for (name, client) in self.enricher_clients() {
            issues.section(&format!("providers.{name}"), |issues| client.check(issues));
        }
    }

    /// The client block of every enricher, by provider name.
    fn enricher_clients(&self) -> [(&'static str, &ClientSettings); 5] {
        [
            ("coverartarchive", &self.coverartarchive.client),
            ("wikidata", &self.wikidata.client),
            ("wikipedia", &self.wikipedia.client),
            ("deezer", &self.deezer.client),
            ("itunes", &self.itunes.client),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_keys_are_the_fields_of_the_client_block() {
        let block = ClientSettings {
            base_url: String::new(),
            requests_per_second: 1.0,
            timeout_ms: 1,
            max_retries: 0,
            retry_base_delay_ms: 1,
            max_retry_after_secs: 1,
            breaker_failure_threshold: 1,
            breaker_cool_down_secs: 1,
            interactive_deadline_ms: 1,
        };
        let value = serde_json::to_value(block).unwrap();
        let mut fields: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        let mut keys = CLIENT_KEYS.to_vec();
        keys.sort_unstable();
        assert_eq!(fields, keys);
    }
}
