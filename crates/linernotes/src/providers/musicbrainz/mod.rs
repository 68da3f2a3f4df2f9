//! The MusicBrainz WS/2 catalogue source.
//!
//! Requests go through the polite client (1 request/second by default, as MusicBrainz asks, with
//! `User-Agent: linernotes/<version> ( <contact> )`); a merged MBID answers with a redirect, which the
//! client follows. Bodies are parsed by [`model`]; the JSON dumps are read by [`dump`].

pub mod dump;
pub mod model;

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Url;

use super::client::{user_agent, PoliteClient, ProviderName};
use super::{
    AlbumBrowsePage, CatalogueSource, FetchedEntity, Priority, ProviderError, ReleaseBrowsePage,
};
use crate::config::{MusicBrainzSettings, ProviderSection};
use crate::domain::links::external_ids_from_urls;
use crate::domain::provider::ProviderStatus;
use crate::domain::ws2::{IncSet, Ws2Browse};
use crate::domain::{EntityKind, Mbid, SearchPage, SearchQuery};
use crate::support::redis::RedisHandle;
use crate::support::Clock;

/// Page size of browse requests (the WS/2 maximum).
pub const BROWSE_PAGE_SIZE: i64 = 100;

/// The `inc` set of each lookup: everything the store keeps.
fn stored_inc(kind: EntityKind) -> &'static str {
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

/// The `inc` set of a release browse: what a lookup stores of a release but its relations, which
/// browse requests do not carry.
const RELEASE_BROWSE_INC: &str = "artist-credits+labels+recordings+release-groups+genres+tags";

/// MusicBrainz in metrics, status, budgets and messages.
const NAME: ProviderName = ProviderName {
    key: "musicbrainz",
    display: "MusicBrainz",
};

/// The MusicBrainz WS/2 client.
#[derive(Debug)]
pub struct MusicBrainzClient {
    client: PoliteClient,
}

impl MusicBrainzClient {
    /// Builds a client from its settings (validated at config load). The base URL may name the server
    /// root or the `/ws/2` API root. With `redis`, the request budget is shared by every instance.
    pub fn new(
        settings: &ProviderSection<MusicBrainzSettings>,
        redis: Option<RedisHandle>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let mut base_url = Url::parse(&settings.client.base_url)
            .map_err(|e| format!("providers.musicbrainz.base_url: {e}"))?;
        // Accept both the server root (`https://musicbrainz.org`) and the API root (`…/ws/2`).
        let mut path = base_url.path().trim_end_matches('/').to_owned();
        if !path.ends_with("/ws/2") {
            path.push_str("/ws/2");
        }
        base_url.set_path(&format!("{path}/"));
        let client = PoliteClient::new(
            NAME,
            &settings.client,
            base_url,
            &user_agent(&settings.contact),
            redis,
            clock,
        )?
        .with_rejection_reader(model::parse_error_message)
        // Lookups of the largest box sets run to tens of megabytes.
        .with_max_body_bytes(256 * 1024 * 1024);
        Ok(Self { client })
    }

    /// GETs `path` with `query` and `fmt=json` and reads the body with `parse`.
    async fn get<T>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        priority: Priority,
        parse: impl FnOnce(&[u8], serde_json::Value) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let mut url = self.client.url(path)?;
        url.set_query(Some(&query_string(query)));
        self.client.get_json(url, priority, parse).await
    }
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

/// Adds the IDs the entity's URL relations name (Discogs, Wikidata, streaming services) to its own.
fn add_derived_ids(entity: &mut crate::domain::Entity) {
    let derived = external_ids_from_urls(entity.urls());
    let ids = entity.external_ids_mut();
    for id in derived {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
}

fn malformed(err: model::ParseError) -> ProviderError {
    ProviderError::Malformed(err.to_string())
}

#[async_trait]
impl CatalogueSource for MusicBrainzClient {
    fn name(&self) -> &'static str {
        NAME.key
    }

    fn display_name(&self) -> &'static str {
        NAME.display
    }

    fn interactive_deadline(&self) -> std::time::Duration {
        self.client.interactive_deadline()
    }

    async fn lookup(
        &self,
        kind: EntityKind,
        mbid: Mbid,
        also: &IncSet,
        priority: Priority,
    ) -> Result<FetchedEntity, ProviderError> {
        let inc = IncSet::from_request(&format!("inc={}", stored_inc(kind))).union(also);
        let inc_text = inc.to_string();
        let path = format!("{}/{mbid}", kind.musicbrainz_entity());
        let (raw, mut entity) = self
            .get(&path, &[("inc", &inc_text)], priority, |body, raw| {
                Ok((raw, model::parse_lookup(kind, body).map_err(malformed)?))
            })
            .await?;
        add_derived_ids(&mut entity);
        Ok(FetchedEntity {
            entity,
            raw,
            request: inc.to_request(),
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

    async fn browse_page(&self, browse: &Ws2Browse) -> Result<serde_json::Value, ProviderError> {
        let mbid = browse.mbid.to_string();
        let inc = browse.inc.to_string();
        let limit = browse.limit.to_string();
        let offset = browse.offset.to_string();
        let mut query = vec![
            (browse.linked.name(), mbid.as_str()),
            ("limit", limit.as_str()),
            ("offset", offset.as_str()),
        ];
        if !inc.is_empty() {
            query.push(("inc", inc.as_str()));
        }
        let list = browse.resource.plural();
        self.get(
            browse.resource.name(),
            &query,
            Priority::Interactive,
            |_, raw| {
                if raw.get(list).is_some_and(serde_json::Value::is_array) {
                    Ok(raw)
                } else {
                    Err(ProviderError::Malformed(format!(
                        "a browse page without its {list} list"
                    )))
                }
            },
        )
        .await
    }

    async fn browse_album_releases(
        &self,
        album: Mbid,
        offset: i64,
        priority: Priority,
    ) -> Result<ReleaseBrowsePage, ProviderError> {
        let album_text = album.to_string();
        let offset_text = offset.to_string();
        let limit_text = BROWSE_PAGE_SIZE.to_string();
        let (raw, page) = self
            .get(
                "release",
                &[
                    ("release-group", &album_text),
                    ("inc", RELEASE_BROWSE_INC),
                    ("limit", &limit_text),
                    ("offset", &offset_text),
                ],
                priority,
                |_, raw| {
                    let page = model::parse_release_browse(&raw).map_err(malformed)?;
                    Ok((raw, page))
                },
            )
            .await?;
        let releases = page
            .releases
            .into_iter()
            .filter_map(|release| {
                let mut entity = crate::domain::Entity::Release(release);
                add_derived_ids(&mut entity);
                match entity {
                    crate::domain::Entity::Release(release) => Some(release),
                    _ => None,
                }
            })
            .collect();
        Ok(ReleaseBrowsePage {
            releases,
            received: page.received,
            total: page.total,
            request: format!("browse:release?inc={RELEASE_BROWSE_INC}&offset={offset_text}"),
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

    async fn entities_by_url(&self, url: &str) -> Result<Vec<(EntityKind, Mbid)>, ProviderError> {
        self.get(
            "url",
            &[
                ("resource", url),
                (
                    "inc",
                    "artist-rels+label-rels+recording-rels+release-rels+release-group-rels",
                ),
            ],
            Priority::Interactive,
            |_, raw| Ok(model::parse_url_relations(&raw)),
        )
        .await
    }

    fn status(&self) -> ProviderStatus {
        self.client.status()
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
}
