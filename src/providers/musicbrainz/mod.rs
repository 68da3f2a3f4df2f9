//! The MusicBrainz WS/2 client.
//!
//! Every request waits for the rate limiter (1 request/second by default, as MusicBrainz asks), carries
//! `User-Agent: linernotes/<version> ( <contact> )`, and has a timeout. 503, 429, other 5xx and
//! connection errors are retried with exponential backoff, honouring `Retry-After`; 404 is a definitive
//! "not found"; redirects (MusicBrainz answers a merged MBID with 301) are followed through the limiter.
//! Bodies are parsed by [`model`].

pub mod model;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use reqwest::{StatusCode, Url};

use super::{AlbumBrowsePage, FetchedEntity, MetadataProvider, ProviderError};
use crate::config::MusicBrainzSettings;
use crate::domain::links::external_ids_from_urls;
use crate::domain::{EntityKind, Mbid, SearchPage, SearchQuery};

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

/// The MusicBrainz WS/2 client.
pub struct MusicBrainzClient {
    http: reqwest::Client,
    base_url: Url,
    limiter: Arc<DefaultDirectRateLimiter>,
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
    /// root or the `/ws/2` API root.
    pub fn new(settings: &MusicBrainzSettings) -> Result<Self, String> {
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
            .timeout(Duration::from_secs(settings.timeout_secs))
            .connect_timeout(Duration::from_secs(settings.timeout_secs.min(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let period = Duration::from_secs_f64(1.0 / settings.requests_per_second);
        let quota = Quota::with_period(period)
            .ok_or("providers.musicbrainz.requests_per_second is too high")?
            .allow_burst(NonZeroU32::MIN);
        Ok(Self {
            http,
            base_url,
            limiter: Arc::new(RateLimiter::direct(quota)),
            max_retries: settings.max_retries,
            retry_base_delay: Duration::from_millis(settings.retry_base_delay_ms),
            max_retry_after: Duration::from_secs(settings.max_retry_after_secs),
        })
    }

    /// GETs `path` (relative to the base URL) with `query` and `fmt=json`, politely; returns the body.
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<u8>, ProviderError> {
        let mut url = self
            .base_url
            .join(path)
            .map_err(|e| ProviderError::Rejected(format!("bad request path {path}: {e}")))?;
        url.query_pairs_mut()
            .extend_pairs(query.iter().copied())
            .append_pair("fmt", "json");
        let mut attempt = 0;
        let mut redirects = 0;
        loop {
            self.limiter.until_ready().await;
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
            if attempt >= self.max_retries {
                return Err(ProviderError::Unavailable(failure));
            }
            let backoff = self.retry_base_delay.saturating_mul(1 << attempt.min(16));
            let delay = retry_after.unwrap_or(backoff);
            if delay > self.max_retry_after {
                return Err(ProviderError::Unavailable(format!(
                    "{failure}, asking to retry after {}s",
                    delay.as_secs()
                )));
            }
            tracing::warn!(%url, attempt, delay_ms = delay.as_millis() as u64, %failure, "retrying MusicBrainz request");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// GETs and parses a JSON body, keeping the raw value.
    async fn get_json(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<(Vec<u8>, serde_json::Value), ProviderError> {
        let body = self.get(path, query).await?;
        let raw = serde_json::from_slice(&body)
            .map_err(|e| ProviderError::Malformed(format!("MusicBrainz sent invalid JSON: {e}")))?;
        Ok((body, raw))
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

/// Escapes Lucene syntax so the text is searched as plain words (`AC/DC`, `"quoted`, `a && b`).
pub fn escape_lucene(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.to_lowercase().chars() {
        if "+-&|!(){}[]^\"~*?:\\/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn malformed(err: model::ParseError) -> ProviderError {
    ProviderError::Malformed(err.to_string())
}

#[async_trait]
impl MetadataProvider for MusicBrainzClient {
    fn name(&self) -> &'static str {
        "musicbrainz"
    }

    async fn lookup(&self, kind: EntityKind, mbid: Mbid) -> Result<FetchedEntity, ProviderError> {
        let inc = lookup_inc(kind);
        let path = format!("{}/{mbid}", kind.musicbrainz_entity());
        let (body, raw) = self.get_json(&path, &[("inc", inc)]).await?;
        let mut entity = model::parse_lookup(kind, &body).map_err(malformed)?;
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
    ) -> Result<AlbumBrowsePage, ProviderError> {
        let artist_text = artist.to_string();
        let offset_text = offset.to_string();
        let limit_text = BROWSE_PAGE_SIZE.to_string();
        let (body, raw) = self
            .get_json(
                "release-group",
                &[
                    ("artist", &artist_text),
                    ("inc", "artist-credits"),
                    ("limit", &limit_text),
                    ("offset", &offset_text),
                ],
            )
            .await?;
        let (albums, total, offset) = model::parse_album_browse(&body).map_err(malformed)?;
        Ok(AlbumBrowsePage {
            albums,
            total,
            offset,
            request: format!("browse:release-group?inc=artist-credits&offset={offset_text}"),
            raw,
        })
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchPage, ProviderError> {
        let text = escape_lucene(&query.text);
        let limit = query.limit.to_string();
        let offset = query.offset.to_string();
        let body = self
            .get(
                query.kind.musicbrainz_entity(),
                &[("query", &text), ("limit", &limit), ("offset", &offset)],
            )
            .await?;
        model::parse_search(query.kind, &body).map_err(malformed)
    }

    async fn recordings_by_isrc(&self, isrc: &str) -> Result<Vec<Mbid>, ProviderError> {
        let body = self.get(&format!("isrc/{isrc}"), &[]).await?;
        model::parse_isrc_lookup(&body).map_err(malformed)
    }

    async fn releases_by_barcode(&self, barcode: &str) -> Result<Vec<Mbid>, ProviderError> {
        let query = format!("barcode:{barcode}");
        let body = self
            .get("release", &[("query", &query), ("limit", "10")])
            .await?;
        let page = model::parse_search(EntityKind::Release, &body).map_err(malformed)?;
        Ok(page.results.into_iter().map(|hit| hit.id).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lucene_syntax_is_escaped() {
        assert_eq!(escape_lucene("AC/DC"), "ac\\/dc");
        assert_eq!(escape_lucene("a && (b)"), "a \\&\\& \\(b\\)");
        assert_eq!(escape_lucene("\"x:y\""), "\\\"x\\:y\\\"");
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
