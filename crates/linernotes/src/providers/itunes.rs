//! iTunes (the iTunes Search API): artwork, previews, genre and the Apple IDs of catalogue entities.
//!
//! An entity is found by the Apple ID its URL relation names (`lookup?id=`), a release by its barcode
//! (`lookup?upc=`), else by search with a confidence score. Bodies may start with blank lines; a lookup
//! with `entity=song` puts the collection and its tracks in one `results` array, told apart by
//! `wrapperType`; older bodies have `http://` artwork URLs. Artwork URLs name their size
//! (`…/100x100bb.jpg`), so larger renditions are the same URL with another size.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::client::{PoliteClient, ProviderName};
use super::lenient::{count, text, web_url};
use super::{EnrichContext, Enricher, Enrichment, Priority, ProviderError};
use crate::config::{EnricherSettings, ProviderSection};
use crate::domain::enrichment::{Facts, Image, ImageType, Link, LinkMethod, Preview};
use crate::domain::matching::{best_match, Candidate};
use crate::domain::provider::ProviderStatus;
use crate::domain::{Entity, EntityKind, Namespace};
use crate::support::redis::RedisHandle;
use crate::support::Clock;

/// iTunes in metrics, status and messages.
pub const NAME: ProviderName = ProviderName {
    key: "itunes",
    display: "iTunes",
};

/// The artwork size asked for, in pixels.
const ARTWORK_SIZE: u32 = 1200;

/// The iTunes client.
#[derive(Debug)]
pub struct Itunes {
    client: PoliteClient,
}

/// The result found for a catalogue entity, with how.
struct Found {
    result: Value,
    method: LinkMethod,
    confidence: f64,
}

impl Itunes {
    /// A client from its settings, sending `user_agent`.
    pub fn new(
        settings: &ProviderSection<EnricherSettings>,
        user_agent: &str,
        redis: Option<RedisHandle>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        Ok(Self {
            client: PoliteClient::for_enricher(NAME, &settings.client, user_agent, redis, clock)?,
        })
    }

    /// The `results` of `path` (`lookup`, `search`) with `query`.
    async fn results(
        &self,
        path: &str,
        query: &[(&str, &str)],
        priority: Priority,
    ) -> Result<Vec<Value>, ProviderError> {
        let mut url = self.client.url(path)?;
        url.query_pairs_mut().extend_pairs(query);
        self.client
            .get_json(url, priority, |_, raw| {
                raw.get("results")
                    .and_then(Value::as_array)
                    .cloned()
                    .ok_or_else(|| ProviderError::Malformed("iTunes answer without results".into()))
            })
            .await
    }

    /// The first result of `wrapper` type (`artist`, `collection`, `track`) of a lookup.
    async fn lookup(
        &self,
        key: &str,
        value: &str,
        wrapper: &str,
        priority: Priority,
    ) -> Result<Option<(Value, Vec<Value>)>, ProviderError> {
        let entity = if wrapper == "collection" { "song" } else { "" };
        let mut query = vec![(key, value)];
        if !entity.is_empty() {
            query.push(("entity", entity));
        }
        let results = self.results("lookup", &query, priority).await?;
        let main = results
            .iter()
            .find(|r| text(r, "wrapperType").as_deref() == Some(wrapper))
            .cloned();
        let tracks: Vec<Value> = results
            .into_iter()
            .filter(|r| text(r, "wrapperType").as_deref() == Some("track"))
            .collect();
        Ok(main.map(|m| (m, tracks)))
    }

    /// The best search result of `entity` (`musicArtist`, `album`, `song`) for `wanted`.
    async fn fuzzy(
        &self,
        entity: &str,
        wanted: &Candidate,
        context: &EnrichContext<'_>,
        priority: Priority,
    ) -> Result<Option<Found>, ProviderError> {
        let term = format!("{} {}", wanted.artist, wanted.title);
        let results = self
            .results(
                "search",
                &[
                    ("term", term.trim()),
                    ("entity", entity),
                    ("media", "music"),
                    ("limit", "10"),
                ],
                priority,
            )
            .await?;
        let candidates = results.into_iter().map(|r| {
            let c = read_candidate(&r);
            (r, c)
        });
        Ok(
            best_match(wanted, candidates, context.match_threshold).map(|(result, confidence)| {
                Found {
                    result,
                    method: LinkMethod::Fuzzy,
                    confidence,
                }
            }),
        )
    }

    /// The result found through the entity's Apple ID, when its URL relations name one.
    async fn linked(
        &self,
        entity: &Entity,
        wrapper: &str,
        priority: Priority,
    ) -> Result<Option<(Found, Vec<Value>)>, ProviderError> {
        let Some(id) = entity
            .external_ids()
            .iter()
            .find(|id| id.namespace() == Namespace::Itunes)
        else {
            return Ok(None);
        };
        Ok(self
            .lookup("id", id.value(), wrapper, priority)
            .await?
            .map(|(result, tracks)| {
                (
                    Found {
                        result,
                        method: LinkMethod::UrlRelation,
                        confidence: 1.0,
                    },
                    tracks,
                )
            }))
    }
}

#[async_trait]
impl Enricher for Itunes {
    fn name(&self) -> &'static str {
        NAME.key
    }

    fn enriches(&self, kind: EntityKind) -> bool {
        matches!(
            kind,
            EntityKind::Artist | EntityKind::Album | EntityKind::Release | EntityKind::Track
        )
    }

    async fn enrich(
        &self,
        context: &EnrichContext<'_>,
        priority: Priority,
    ) -> Result<Enrichment, ProviderError> {
        let entity = context.entity;
        let mut conflicts = Vec::new();
        let found = match entity {
            Entity::Artist(a) => match self.linked(entity, "artist", priority).await? {
                Some((found, _)) => Some(found),
                None => {
                    let wanted = Candidate {
                        title: a.name.clone(),
                        ..Candidate::default()
                    };
                    self.fuzzy("musicArtist", &wanted, context, priority)
                        .await?
                }
            },
            Entity::Album(a) => {
                let wanted = Candidate {
                    title: a.title.clone(),
                    artist: a.artist_credit_name.clone().unwrap_or_default(),
                    ..Candidate::default()
                };
                self.fuzzy("album", &wanted, context, priority).await?
            }
            Entity::Release(r) => {
                let tracks: usize = r.media.iter().map(|m| m.tracks.len()).sum();
                let mut found = self.linked(entity, "collection", priority).await?;
                if found.is_none() {
                    if let Some(barcode) = r.barcode.as_deref().filter(|b| !b.is_empty()) {
                        found = self
                            .lookup("upc", barcode, "collection", priority)
                            .await?
                            .map(|(result, tracks)| {
                                (
                                    Found {
                                        result,
                                        method: LinkMethod::Barcode,
                                        confidence: 1.0,
                                    },
                                    tracks,
                                )
                            });
                    }
                }
                match found {
                    Some((found, _)) => match count(&found.result, "trackCount") {
                        Some(theirs) if tracks > 0 && theirs as usize != tracks => {
                            conflicts.push(format!(
                                "iTunes collection {} ({}) has {theirs} tracks, the release \
                                 {tracks}; not linked",
                                text(&found.result, "collectionId").unwrap_or_default(),
                                found.method.as_str()
                            ));
                            None
                        }
                        _ => Some(found),
                    },
                    None => {
                        let wanted = Candidate {
                            title: r.title.clone(),
                            artist: r.artist_credit_name.clone().unwrap_or_default(),
                            length_ms: None,
                            track_count: Some(tracks as i64),
                        };
                        self.fuzzy("album", &wanted, context, priority).await?
                    }
                }
            }
            Entity::Track(t) => match self.linked(entity, "track", priority).await? {
                Some((found, _)) => Some(found),
                None => {
                    let wanted = Candidate {
                        title: t.title.clone(),
                        artist: t.artist_credit_name.clone().unwrap_or_default(),
                        length_ms: t.length_ms,
                        track_count: None,
                    };
                    self.fuzzy("song", &wanted, context, priority).await?
                }
            },
            Entity::Label(_) => return Err(ProviderError::NotFound),
        };
        let Some(found) = found else {
            if conflicts.is_empty() {
                return Err(ProviderError::NotFound);
            }
            return Ok(Enrichment {
                request: "conflict".into(),
                raw: Value::Null,
                facts: Facts {
                    conflicts,
                    ..Facts::default()
                },
            });
        };
        let facts = facts_of(entity.kind(), &found.result, found.method, found.confidence);
        Ok(Enrichment {
            request: format!(
                "{}:{}",
                found.method.as_str(),
                apple_id(entity.kind(), &found.result).unwrap_or_default()
            ),
            raw: found.result,
            facts,
        })
    }

    fn status(&self) -> ProviderStatus {
        self.client.status()
    }
}

/// A search or lookup result as a match candidate.
fn read_candidate(r: &Value) -> Candidate {
    let title = text(r, "trackName")
        .or_else(|| text(r, "collectionName"))
        .or_else(|| text(r, "artistName"))
        .unwrap_or_default();
    let is_artist = text(r, "wrapperType").as_deref() == Some("artist");
    Candidate {
        title,
        artist: if is_artist {
            String::new()
        } else {
            text(r, "artistName").unwrap_or_default()
        },
        length_ms: count(r, "trackTimeMillis").map(|ms| ms as i64),
        track_count: (text(r, "wrapperType").as_deref() == Some("collection"))
            .then(|| count(r, "trackCount").map(|n| n as i64))
            .flatten(),
    }
}

/// The Apple ID of the result for a catalogue entity of `kind`.
fn apple_id(kind: EntityKind, result: &Value) -> Option<String> {
    match kind {
        EntityKind::Artist => text(result, "artistId"),
        EntityKind::Track => text(result, "trackId"),
        _ => text(result, "collectionId"),
    }
}

/// `artworkUrl100` at another size (`…/100x100bb.jpg` → `…/1200x1200bb.jpg`).
fn artwork(result: &Value, size: u32) -> Option<String> {
    let url = text(result, "artworkUrl100").and_then(|u| web_url(&u))?;
    let resized = url.replace("/100x100bb.", &format!("/{size}x{size}bb."));
    Some(resized)
}

/// The facts an iTunes result gives a catalogue entity of `kind`.
pub fn facts_of(kind: EntityKind, result: &Value, method: LinkMethod, confidence: f64) -> Facts {
    let mut facts = Facts::default();
    if let Some(id) = apple_id(kind, result) {
        let page = match kind {
            EntityKind::Artist => text(result, "artistViewUrl"),
            EntityKind::Track => text(result, "trackViewUrl"),
            _ => text(result, "collectionViewUrl"),
        };
        facts.links.push(Link {
            platform: NAME.key.to_owned(),
            id: format!("itunes:{id}"),
            url: page.and_then(|p| web_url(&p)),
            method,
            confidence,
        });
    }
    if matches!(kind, EntityKind::Album | EntityKind::Release) {
        if let Some(url) = artwork(result, ARTWORK_SIZE) {
            let thumbnails: BTreeMap<String, String> = [250u32, 500]
                .into_iter()
                .filter_map(|size| artwork(result, size).map(|u| (size.to_string(), u)))
                .collect();
            facts.images.push(Image {
                image_type: ImageType::Cover,
                url,
                width: Some(ARTWORK_SIZE),
                height: Some(ARTWORK_SIZE),
                thumbnails,
                source: NAME.key.to_owned(),
            });
        }
    }
    if kind == EntityKind::Track {
        if let Some(preview) = text(result, "previewUrl").and_then(|p| web_url(&p)) {
            facts.previews.push(Preview {
                url: preview,
                source: NAME.key.to_owned(),
            });
        }
        if let Some(explicit) = text(result, "trackExplicitness") {
            facts
                .attributes
                .insert("explicit".into(), json!(explicit == "explicit"));
        }
    }
    if let Some(genre) = text(result, "primaryGenreName") {
        facts.attributes.insert("genre".into(), json!([genre]));
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artwork_is_resized_and_the_apple_id_linked() {
        let collection = json!({"wrapperType": "collection", "collectionId": 1728639278u64,
            "artistName": "Dreamcatcher", "collectionName": "Nightmare·Escape The ERA - EP",
            "collectionViewUrl": "https://music.apple.com/us/album/x/1728639278?uo=4",
            "artworkUrl100": "http://is1-ssl.mzstatic.com/image/thumb/a/cover.jpg/100x100bb.jpg",
            "trackCount": 6, "primaryGenreName": "K-Pop"});
        let facts = facts_of(EntityKind::Release, &collection, LinkMethod::Barcode, 1.0);
        assert_eq!(
            facts.images[0].url,
            "https://is1-ssl.mzstatic.com/image/thumb/a/cover.jpg/1200x1200bb.jpg"
        );
        assert_eq!(facts.links[0].id, "itunes:1728639278");
        assert_eq!(facts.attributes["genre"], json!(["K-Pop"]));
        assert_eq!(read_candidate(&collection).track_count, Some(6));
    }
}
