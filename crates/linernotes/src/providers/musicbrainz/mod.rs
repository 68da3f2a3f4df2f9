//! The MusicBrainz WS/2 client.
//!
//! Every request waits for the rate limiter (1 request/second by default, as MusicBrainz asks), carries
//! `User-Agent: linernotes/<version> ( <contact> )`, and has a timeout. 503, 429, other 5xx and
//! connection errors are retried with exponential backoff, honouring `Retry-After`; 404 is a definitive
//! "not found"; redirects (MusicBrainz answers a merged MBID with 301) are followed through the limiter.
//! Bodies are parsed by [`model`].

pub mod model;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use reqwest::{StatusCode, Url};

use super::breaker::{BreakerState, CircuitBreaker};
use super::ratelimit::{Priority, RateLimiter};
use super::{AlbumBrowsePage, FetchedEntity, MetadataProvider, ProviderError, ProviderStatus};
use crate::config::MusicBrainzSettings;
use crate::domain::links::external_ids_from_urls;
use crate::domain::{EntityKind, Mbid, SearchPage, SearchQuery};
use crate::support::redis::RedisHandle;
use crate::support::Clock;

/// Page size of browse requests (the WS/2 maximum).
pub const BROWSE_PAGE_SIZE: i64 = 100;

/// How many redirects one request follows.
const MAX_REDIRECTS: u32 = 3;

/// The `inc` set of each lookup: everything the store keeps.
fn lookup_inc(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Artist => "aliases+genres+tags+url-rels",
        EntityKind::Album => "artist-credits+genres+tags+url-rels",
        EntityKind::Release => {
            "artist-credits+labels+recordings+release-groups+genres+tags+url-rels"
        }
        EntityKind::Track => "artist-credits+isrcs+genres+tags+url-rels",
        EntityKind::Label => "aliases+genres+tags+url-rels",
    }
}

/// The provider's name in metrics, status and stored payloads.
const NAME: &str = "musicbrainz";

/// When the provider last answered well and last failed.
#[derive(Debug, Default)]
struct Health {
    last_success: Option<DateTime<Utc>>,
    last_error: Option<(DateTime<Utc>, String)>,
}

/// The MusicBrainz WS/2 client.
pub struct MusicBrainzClient {
    http: reqwest::Client,
    base_url: Url,
    limiter: RateLimiter,
    breaker: CircuitBreaker,
    clock: Arc<dyn Clock>,
    health: Mutex<Health>,
    max_retries: u32,
    retry_base_delay: Duration,
    max_retry_after: Duration,
}

impl std::fmt::Debug for MusicBrainzClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MusicBrainzClient")
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

/// The User-Agent MusicBrainz asks every client to send.
pub fn user_agent(contact: &str) -> String {
    format!(
        "linernotes/{} ( {} )",
        env!("CARGO_PKG_VERSION"),
        contact.trim()
    )
}

impl MusicBrainzClient {
    /// Builds a client from its settings (validated at config load). The base URL may name the server
    /// root or the `/ws/2` API root. With `redis`, the request budget is shared by every instance.
    pub fn new(
        settings: &MusicBrainzSettings,
        redis: Option<RedisHandle>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let mut base_url = Url::parse(&settings.base_url)
            .map_err(|e| format!("providers.musicbrainz.base_url: {e}"))?;
        // Accept both the server root (`https://musicbrainz.org`) and the API root (`…/ws/2`).
        let mut path = base_url.path().trim_end_matches('/').to_owned();
        if !path.ends_with("/ws/2") {
            path.push_str("/ws/2");
        }
        base_url.set_path(&format!("{path}/"));
        let http = reqwest::Client::builder()
            .user_agent(user_agent(&settings.contact))
            .timeout(Duration::from_millis(settings.timeout_ms))
            .connect_timeout(Duration::from_millis(settings.timeout_ms.min(10_000)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            base_url,
            limiter: RateLimiter::new(NAME, settings.requests_per_second, redis),
            breaker: CircuitBreaker::new(
                NAME,
                settings.breaker_failure_threshold,
                Duration::from_secs(settings.breaker_cool_down_secs),
                clock.clone(),
            ),
            clock,
            health: Mutex::new(Health::default()),
            max_retries: settings.max_retries,
            retry_base_delay: Duration::from_millis(settings.retry_base_delay_ms),
            max_retry_after: Duration::from_secs(settings.max_retry_after_secs),
        })
    }

    /// GETs `path` (relative to the base URL) with `query` and `fmt=json`, politely, behind the circuit
    /// breaker, and reads the body (as bytes and as a JSON value) with `parse`.
    ///
    /// A body that is not JSON counts as a failure of the provider, like an error status (breaker,
    /// status, metrics). JSON that `parse` cannot read is reported (status, metrics) but does not count
    /// against the breaker: MusicBrainz answered, and one record the model cannot read must not stop
    /// every other lookup.
    async fn get<T>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        priority: Priority,
        parse: impl FnOnce(&[u8], serde_json::Value) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        if let Err(until) = self.breaker.permit() {
            metrics::counter!("linernotes_provider_requests_total", "provider" => NAME, "outcome" => "circuit_open")
                .increment(1);
            return Err(ProviderError::Unavailable(format!(
                "MusicBrainz failed repeatedly; not asking again before {}",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
        let started = Instant::now();
        let answered = match self.send(path, query, priority).await {
            Ok(body) => raw_json(&body).map(|raw| (body, raw)),
            Err(err) => Err(err),
        };
        metrics::histogram!("linernotes_provider_request_duration_seconds", "provider" => NAME)
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
        metrics::counter!("linernotes_provider_requests_total", "provider" => NAME, "outcome" => outcome)
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
    async fn send(
        &self,
        path: &str,
        query: &[(&str, &str)],
        priority: Priority,
    ) -> Result<Vec<u8>, ProviderError> {
        let mut url = self
            .base_url
            .join(path)
            .map_err(|e| ProviderError::Rejected(format!("bad request path {path}: {e}")))?;
        url.set_query(Some(&query_string(query)));
        let mut attempt = 0;
        let mut redirects = 0;
        loop {
            self.limiter.acquire(priority).await;
            let (failure, retry_after) = match self.http.get(url.clone()).send().await {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        return response.bytes().await.map(|b| b.to_vec()).map_err(|e| {
                            ProviderError::Unavailable(format!("reading the answer failed: {e}"))
                        });
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
                            let message = model::parse_error_message(&body)
                                .unwrap_or_else(|| "bad request".into());
                            return Err(ProviderError::Rejected(message));
                        }
                        s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                            (format!("MusicBrainz answered {status}"), retry_after)
                        }
                        _ => {
                            return Err(ProviderError::Unavailable(format!(
                                "MusicBrainz answered {status}"
                            )))
                        }
                    }
                }
                Err(e) if e.is_timeout() => ("MusicBrainz did not answer in time".to_owned(), None),
                Err(e) => (
                    format!("cannot reach MusicBrainz: {}", root_cause(&e)),
                    None,
                ),
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
            tracing::warn!(%url, attempt, %failure, "retrying MusicBrainz request");
            if retry_after.is_none() {
                tokio::time::sleep(backoff).await;
            }
            attempt += 1;
        }
    }
}

/// The body as a JSON value (kept raw beside a parsed entity); not JSON at all is a malformed answer.
fn raw_json(body: &[u8]) -> Result<serde_json::Value, ProviderError> {
    serde_json::from_slice(body)
        .map_err(|e| ProviderError::Malformed(format!("MusicBrainz sent invalid JSON: {e}")))
}

/// The query string of a request, ending in `fmt=json`. Values are percent-encoded, except that the
/// `+` between `inc` parts stays a literal `+`, as the WS/2 documentation writes it.
fn query_string(query: &[(&str, &str)]) -> String {
    let encode =
        |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    query
        .iter()
        .map(|(key, value)| {
            let value = if *key == "inc" {
                value.split('+').map(encode).collect::<Vec<_>>().join("+")
            } else {
                encode(value)
            };
            format!("{}={value}", encode(key))
        })
        .chain(std::iter::once("fmt=json".to_owned()))
        .collect::<Vec<_>>()
        .join("&")
}

/// The absolute URL a redirect points to.
fn redirect_target(from: &Url, headers: &HeaderMap) -> Result<Url, ProviderError> {
    headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|location| from.join(location).ok())
        .ok_or_else(|| ProviderError::Malformed("redirect without a usable Location".into()))
}

/// `Retry-After` in seconds (the form MusicBrainz sends).
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

fn malformed(err: model::ParseError) -> ProviderError {
    ProviderError::Malformed(err.to_string())
}

#[async_trait]
impl MetadataProvider for MusicBrainzClient {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn lookup(
        &self,
        kind: EntityKind,
        mbid: Mbid,
        priority: Priority,
    ) -> Result<FetchedEntity, ProviderError> {
        let inc = lookup_inc(kind);
        let path = format!("{}/{mbid}", kind.musicbrainz_entity());
        let (raw, mut entity) = self
            .get(&path, &[("inc", inc)], priority, |body, raw| {
                Ok((raw, model::parse_lookup(kind, body).map_err(malformed)?))
            })
            .await?;
        let derived = external_ids_from_urls(entity.urls());
        let ids = entity.external_ids_mut();
        for id in derived {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(FetchedEntity {
            entity,
            raw,
            request: format!("inc={inc}"),
        })
    }

    async fn browse_artist_albums(
        &self,
        artist: Mbid,
        offset: i64,
        priority: Priority,
    ) -> Result<AlbumBrowsePage, ProviderError> {
        let artist_text = artist.to_string();
        let offset_text = offset.to_string();
        let limit_text = BROWSE_PAGE_SIZE.to_string();
        let (raw, (albums, total, offset)) = self
            .get(
                "release-group",
                &[
                    ("artist", &artist_text),
                    ("inc", "artist-credits"),
                    ("limit", &limit_text),
                    ("offset", &offset_text),
                ],
                priority,
                |body, raw| Ok((raw, model::parse_album_browse(body).map_err(malformed)?)),
            )
            .await?;
        let received = raw
            .get("release-groups")
            .and_then(serde_json::Value::as_array)
            .map_or(albums.len(), Vec::len) as i64;
        Ok(AlbumBrowsePage {
            albums,
            received,
            total,
            offset,
            request: format!("browse:release-group?inc=artist-credits&offset={offset_text}"),
            raw,
        })
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchPage, ProviderError> {
        let text = &query.text;
        let limit = query.limit.to_string();
        let offset = query.offset.to_string();
        self.get(
            query.kind.musicbrainz_entity(),
            &[("query", text), ("limit", &limit), ("offset", &offset)],
            Priority::Interactive,
            |body, _| model::parse_search(query.kind, body).map_err(malformed),
        )
        .await
    }

    async fn recordings_by_isrc(&self, isrc: &str) -> Result<Vec<Mbid>, ProviderError> {
        self.get(
            &format!("isrc/{isrc}"),
            &[],
            Priority::Interactive,
            |body, _| model::parse_isrc_lookup(body).map_err(malformed),
        )
        .await
    }

    async fn releases_by_barcode(&self, barcode: &str) -> Result<Vec<Mbid>, ProviderError> {
        let query = format!("barcode:{barcode}");
        let page = self
            .get(
                "release",
                &[("query", &query), ("limit", "10")],
                Priority::Interactive,
                |body, _| model::parse_search(EntityKind::Release, body).map_err(malformed),
            )
            .await?;
        Ok(page.results.into_iter().map(|hit| hit.id).collect())
    }

    fn status(&self) -> ProviderStatus {
        let health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        let state = match self.breaker.state() {
            BreakerState::Open | BreakerState::HalfOpen => "open",
            BreakerState::Closed if self.breaker.consecutive_failures() > 0 => "degraded",
            BreakerState::Closed => "ok",
        };
        ProviderStatus {
            name: NAME,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inc_parts_keep_their_plus_and_values_are_encoded() {
        assert_eq!(
            query_string(&[("inc", "aliases+url-rels"), ("query", "a&b c/d")]),
            "inc=aliases+url-rels&query=a%26b+c%2Fd&fmt=json"
        );
    }

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
}
