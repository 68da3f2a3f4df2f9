//! The one polite HTTP client every provider speaks through.
//!
//! A [`PoliteClient`] is made for one provider from that provider's [`ClientSettings`] (the block every
//! `providers.<name>` section shares) and does, for every request:
//! - waits for the provider's request budget ([`ratelimit`]: a GCRA schedule shared by every instance
//!   through Redis when configured, interactive requests first, a `Retry-After` pausing every instance);
//! - fails fast while the provider's [`breaker`] is open;
//! - sends `User-Agent: linernotes/<version> ( <contact> )` with a timeout;
//! - retries 503, 429, other 5xx and connection errors with exponential back-off, honouring
//!   `Retry-After`; 404 is a definitive "not found", 400 a rejection; redirects are followed through the
//!   budget;
//! - records health for `/v1/status` and metrics under the provider's name.
//!
//! What a provider's answers mean is the provider's business: it builds the URL and reads the body.

pub mod breaker;
pub mod ratelimit;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};

use self::breaker::{BreakerState, CircuitBreaker};
use self::ratelimit::{Priority, RateLimiter};
use super::{Enrichment, ProviderError};
use crate::config::ClientSettings;
use crate::domain::enrichment::Facts;
use crate::domain::provider::ProviderStatus;
use crate::support::redis::RedisHandle;
use crate::support::Clock;

/// How many redirects one request follows.
const MAX_REDIRECTS: u32 = 3;

/// The largest answer read by default, in bytes; a longer one is refused as malformed (no enricher
/// answers with this much, and reading it would only cost memory).
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// A polite client for a provider that takes a key (or token) with every request. The key is kept
/// trimmed, as it was checked when the provider was enabled, and out of logged URLs; the client's
/// `Debug` never shows it.
#[derive(Debug)]
pub struct KeyedClient {
    client: PoliteClient,
    key: SecretString,
}

impl KeyedClient {
    /// `client` sending `key`.
    pub fn new(client: PoliteClient, key: &SecretString) -> Self {
        let key = SecretString::from(key.expose_secret().trim().to_owned());
        Self {
            client: client.with_secret(&key),
            key,
        }
    }

    /// The key, for a provider that takes it in a path segment.
    pub fn key(&self) -> &str {
        self.key.expose_secret()
    }

    /// `path` under the base URL with the key as query parameter `param`.
    pub fn url_with_key(&self, path: &str, param: &str) -> Result<Url, ProviderError> {
        let mut url = self.client.url(path)?;
        url.query_pairs_mut().append_pair(param, self.key());
        Ok(url)
    }
}

impl std::ops::Deref for KeyedClient {
    type Target = PoliteClient;

    fn deref(&self) -> &PoliteClient {
        &self.client
    }
}

/// Who a client speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderName {
    /// The provider's key: its config section, metric label, status name and budget key
    /// (`musicbrainz`).
    pub key: &'static str,
    /// Its name in messages to people (`MusicBrainz`).
    pub display: &'static str,
}

/// Reads the provider's explanation out of the body of a 400 answer.
pub type RejectionReader = fn(&[u8]) -> Option<String>;

/// When the provider last answered well and last failed.
#[derive(Debug, Default)]
struct Health {
    last_success: Option<DateTime<Utc>>,
    last_error: Option<(DateTime<Utc>, String)>,
}

/// An HTTP client that treats one provider politely (see the module documentation).
pub struct PoliteClient {
    name: ProviderName,
    http: reqwest::Client,
    base_url: Url,
    limiter: RateLimiter,
    breaker: CircuitBreaker,
    clock: Arc<dyn Clock>,
    health: Mutex<Health>,
    max_retries: u32,
    retry_base_delay: Duration,
    max_retry_after: Duration,
    interactive_deadline: Duration,
    read_rejection: RejectionReader,
    max_body_bytes: usize,
    /// Keys sent in URLs, replaced by `***` wherever a URL is logged.
    secrets: Vec<SecretString>,
}

impl std::fmt::Debug for PoliteClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoliteClient")
            .field("provider", &self.name.key)
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

/// The User-Agent linernotes sends: its name, version and the operator's contact, as MusicBrainz asks
/// every client (and other providers appreciate).
pub fn user_agent(contact: &str) -> String {
    format!(
        "linernotes/{} ( {} )",
        env!("CARGO_PKG_VERSION"),
        contact.trim()
    )
}

impl PoliteClient {
    /// A client for provider `name`, sending requests under `base_url` (the provider may have
    /// normalised the configured one) with `user_agent`. With `redis`, the request budget is shared by
    /// every instance.
    pub fn new(
        name: ProviderName,
        settings: &ClientSettings,
        base_url: Url,
        user_agent: &str,
        redis: Option<RedisHandle>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(Duration::from_millis(settings.timeout_ms))
            .connect_timeout(Duration::from_millis(settings.timeout_ms.min(10_000)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client for {}: {e}", name.display))?;
        Ok(Self {
            name,
            http,
            base_url,
            limiter: RateLimiter::new(name.key, settings.requests_per_second, redis),
            breaker: CircuitBreaker::new(
                name.key,
                settings.breaker_failure_threshold,
                Duration::from_secs(settings.breaker_cool_down_secs),
                clock.clone(),
            ),
            clock,
            health: Mutex::new(Health::default()),
            max_retries: settings.max_retries,
            retry_base_delay: Duration::from_millis(settings.retry_base_delay_ms),
            max_retry_after: Duration::from_secs(settings.max_retry_after_secs),
            interactive_deadline: settings.interactive_deadline(),
            read_rejection: |_| None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            secrets: Vec::new(),
        })
    }

    /// A client for an enricher: its configured base URL (with `{lang}` as English, when it has one)
    /// taken as a directory, so paths join under it.
    pub fn for_enricher(
        name: ProviderName,
        settings: &ClientSettings,
        user_agent: &str,
        redis: Option<RedisHandle>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let base_url = directory_url(&settings.base_url_for("en"))
            .map_err(|e| format!("providers.{}.{e}", name.key))?;
        Self::new(name, settings, base_url, user_agent, redis, clock)
    }

    /// Reads the provider's explanation of a 400 answer with `reader` (else: "bad request").
    pub fn with_rejection_reader(mut self, reader: RejectionReader) -> Self {
        self.read_rejection = reader;
        self
    }

    /// Keeps `secret` (a key the provider takes in its URLs) out of logged URLs.
    pub fn with_secret(mut self, secret: &SecretString) -> Self {
        if !secret.expose_secret().is_empty() {
            self.secrets.push(secret.clone());
        }
        self
    }

    /// `url` as it may be logged: every secret replaced by `***`.
    fn shown(&self, url: &Url) -> String {
        self.secrets.iter().fold(url.to_string(), |shown, secret| {
            shown.replace(secret.expose_secret(), "***")
        })
    }

    /// Refuses answers longer than `bytes` (instead of [`DEFAULT_MAX_BODY_BYTES`]).
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Who this client speaks to.
    pub fn name(&self) -> ProviderName {
        self.name
    }

    /// The longest a client request waits for this provider.
    pub fn interactive_deadline(&self) -> Duration {
        self.interactive_deadline
    }

    /// The URL of `path`, relative to the base URL.
    pub fn url(&self, path: &str) -> Result<Url, ProviderError> {
        self.base_url
            .join(path)
            .map_err(|e| ProviderError::Rejected(format!("bad request path {path}: {e}")))
    }

    /// GETs `url` like [`PoliteClient::get_json`] and answers it as an enricher's finding: the facts
    /// `parse` reads in the body, with the body kept raw under `request`.
    pub async fn get_enrichment(
        &self,
        url: Url,
        request: String,
        priority: Priority,
        parse: impl FnOnce(&serde_json::Value) -> Result<Facts, ProviderError>,
    ) -> Result<Enrichment, ProviderError> {
        self.get_json(url, priority, |_, raw| {
            let facts = parse(&raw)?;
            Ok(Enrichment {
                request,
                raw,
                facts,
            })
        })
        .await
    }

    /// GETs `url` politely, behind the circuit breaker, and reads the body (as bytes and as a JSON
    /// value) with `parse`.
    ///
    /// A body that is not JSON counts as a failure of the provider, like an error status (breaker,
    /// status, metrics). JSON that `parse` cannot read is reported (status, metrics) but does not count
    /// against the breaker: the provider answered, and one record that cannot be read must not stop
    /// every other request.
    pub async fn get_json<T>(
        &self,
        url: Url,
        priority: Priority,
        parse: impl FnOnce(&[u8], serde_json::Value) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let provider = self.name.key;
        if let Err(until) = self.breaker.permit() {
            metrics::counter!("linernotes_provider_requests_total", "provider" => provider, "outcome" => "circuit_open")
                .increment(1);
            return Err(ProviderError::Unavailable(format!(
                "{} failed repeatedly; not asking again before {}",
                self.name.display,
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
        let started = Instant::now();
        let answered = match self.send(url, priority).await {
            Ok(body) => self.raw_json(&body).map(|raw| (body, raw)),
            Err(err) => Err(err),
        };
        metrics::histogram!("linernotes_provider_request_duration_seconds", "provider" => provider)
            .record(started.elapsed().as_secs_f64());
        let healthy = matches!(
            answered,
            Ok(_) | Err(ProviderError::NotFound) | Err(ProviderError::Rejected(_))
        );
        let result = answered.and_then(|(body, raw)| parse(&body, raw));
        let outcome = match &result {
            Ok(_) => "ok",
            Err(ProviderError::NotFound) => "not_found",
            Err(ProviderError::Rejected(_)) => "rejected",
            Err(ProviderError::Unavailable(_)) => "unavailable",
            Err(ProviderError::Malformed(_)) => "malformed",
        };
        metrics::counter!("linernotes_provider_requests_total", "provider" => provider, "outcome" => outcome)
            .increment(1);
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        if healthy {
            self.breaker.record_success();
        } else {
            self.breaker.record_failure();
        }
        match &result {
            Ok(_) | Err(ProviderError::NotFound) | Err(ProviderError::Rejected(_)) => {
                health.last_success = Some(self.clock.now());
            }
            Err(ProviderError::Unavailable(reason)) | Err(ProviderError::Malformed(reason)) => {
                health.last_error = Some((self.clock.now(), reason.clone()));
            }
        }
        result
    }

    /// One request with its retries.
    async fn send(&self, mut url: Url, priority: Priority) -> Result<Vec<u8>, ProviderError> {
        let display = self.name.display;
        let mut attempt = 0;
        let mut redirects = 0;
        loop {
            self.limiter.acquire(priority).await;
            let (failure, retry_after) = match self.http.get(url.clone()).send().await {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        return read_body(response, display, self.max_body_bytes).await;
                    }
                    if status.is_redirection() && redirects < MAX_REDIRECTS {
                        redirects += 1;
                        url = redirect_target(&url, response.headers())?;
                        continue;
                    }
                    let retry_after = retry_after(response.headers());
                    match status {
                        StatusCode::NOT_FOUND => return Err(ProviderError::NotFound),
                        StatusCode::BAD_REQUEST => {
                            let body = response.bytes().await.unwrap_or_default();
                            let message = (self.read_rejection)(&body)
                                .unwrap_or_else(|| "bad request".into());
                            return Err(ProviderError::Rejected(message));
                        }
                        s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                            (format!("{display} answered {status}"), retry_after)
                        }
                        _ => {
                            return Err(ProviderError::Unavailable(format!(
                                "{display} answered {status}"
                            )))
                        }
                    }
                }
                Err(e) if e.is_timeout() => (format!("{display} did not answer in time"), None),
                Err(e) => (format!("cannot reach {display}: {}", root_cause(&e)), None),
            };
            if let Some(pause) = retry_after {
                // The provider asked every client to hold off: pause the whole budget (every
                // instance's, when it is shared), not only this request.
                self.limiter.pause(pause).await;
                if pause > self.max_retry_after {
                    return Err(ProviderError::Unavailable(format!(
                        "{failure}, asking to retry after {}s",
                        pause.as_secs()
                    )));
                }
            }
            if attempt >= self.max_retries {
                return Err(ProviderError::Unavailable(failure));
            }
            let backoff = self.retry_base_delay.saturating_mul(1 << attempt.min(16));
            let shown = self.shown(&url);
            tracing::warn!(provider = self.name.key, url = %shown, attempt, %failure, "retrying provider request");
            if retry_after.is_none() {
                tokio::time::sleep(backoff).await;
            }
            attempt += 1;
        }
    }

    /// The body as a JSON value (kept raw beside what is parsed); not JSON at all is a malformed answer.
    fn raw_json(&self, body: &[u8]) -> Result<serde_json::Value, ProviderError> {
        serde_json::from_slice(body).map_err(|e| {
            ProviderError::Malformed(format!("{} sent invalid JSON: {e}", self.name.display))
        })
    }

    /// Health, breaker and budget of the provider.
    pub fn status(&self) -> ProviderStatus {
        let health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        let state = match self.breaker.state() {
            BreakerState::Open | BreakerState::HalfOpen => "open",
            BreakerState::Closed if self.breaker.consecutive_failures() > 0 => "degraded",
            BreakerState::Closed => "ok",
        };
        ProviderStatus {
            name: self.name.key,
            state,
            last_success: health.last_success,
            last_error_at: health.last_error.as_ref().map(|(at, _)| *at),
            last_error: health.last_error.as_ref().map(|(_, e)| e.clone()),
            requests_per_second: self.limiter.requests_per_second(),
            queued_requests: self.limiter.queued(),
            shared_budget: self.limiter.is_shared(),
        }
    }
}

/// A configured base URL with a trailing slash, so that paths join under it rather than replace its
/// last segment.
pub fn directory_url(configured: &str) -> Result<Url, String> {
    let with_slash = format!("{}/", configured.trim_end_matches('/'));
    Url::parse(&with_slash).map_err(|e| format!("base_url {configured}: {e}"))
}

/// The body of a successful answer, refused past `max` bytes (declared or read).
async fn read_body(
    mut response: reqwest::Response,
    display: &str,
    max: usize,
) -> Result<Vec<u8>, ProviderError> {
    let too_large =
        || ProviderError::Malformed(format!("{display} sent an answer larger than {max} bytes"));
    if response
        .content_length()
        .is_some_and(|length| length > max as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > max {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(ProviderError::Unavailable(format!(
                    "reading the answer failed: {e}"
                )))
            }
        }
    }
}

/// The absolute URL a redirect points to.
fn redirect_target(from: &Url, headers: &HeaderMap) -> Result<Url, ProviderError> {
    headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|location| from.join(location).ok())
        .ok_or_else(|| ProviderError::Malformed("redirect without a usable Location".into()))
}

/// `Retry-After` in seconds (the form providers send).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_names_version_and_contact() {
        assert_eq!(
            user_agent(" ops@example.org "),
            format!(
                "linernotes/{} ( ops@example.org )",
                env!("CARGO_PKG_VERSION")
            )
        );
    }

    #[test]
    fn a_keyed_client_sends_its_trimmed_key_and_never_shows_it() {
        let settings = crate::config::Settings::load_from(None, &Default::default()).unwrap();
        let client = PoliteClient::for_enricher(
            ProviderName {
                key: "fanarttv",
                display: "fanart.tv",
            },
            &settings.providers.fanarttv.client,
            "test",
            None,
            Arc::new(crate::support::SystemClock),
        )
        .unwrap();
        let keyed = KeyedClient::new(client, &SecretString::from(" s3cret-key \n".to_owned()));
        let url = keyed.url_with_key("music/x", "api_key").unwrap();
        assert!(
            url.as_str().ends_with("/music/x?api_key=s3cret-key"),
            "{url}"
        );
        assert_eq!(keyed.shown(&url).matches("s3cret").count(), 0);
        assert!(!format!("{keyed:?}").contains("s3cret"));
    }
}
