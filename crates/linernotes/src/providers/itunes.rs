//! iTunes (the iTunes Search API): artwork, previews, genre and the Apple IDs of catalogue entities.
//!
//! An entity is found by the Apple ID its URL relation names (`lookup?id=`), a release by its barcode
//! (`lookup?upc=`), else by search with a confidence score. Bodies may start with blank lines; a lookup
//! may answer several kinds of result in one `results` array (with `entity=song`, a collection and its
//! tracks), told apart by `wrapperType`, so the one of the wanted kind is read; older bodies have
//! `http://` artwork URLs. Artwork URLs name their size
//! (`…/100x100bb.jpg`), so larger renditions are the same URL with another size.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::client::{PoliteClient, ProviderName};
use super::lenient::{count, text, web_url};
use super::linking::{track_count_conflict, unlinked, Found};
use super::{ConfiguredEnricher, EnrichContext, Enricher, Enrichment, Priority, ProviderError};
use crate::config::{EnricherSettings, ProviderSection};
use crate::domain::enrichment::{Facts, Image, ImageType, Link, LinkMethod, Preview};
use crate::domain::matching::{best_match, Candidate};
use crate::domain::provider::ProviderStatus;
use crate::domain::{Entity, EntityKind, Namespace};

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

impl ConfiguredEnricher for Itunes {
    type Own = EnricherSettings;
    const NAME: ProviderName = NAME;

    fn from_client(client: PoliteClient, _: &ProviderSection<EnricherSettings>) -> Self {
        Self { client }
    }
}

impl Itunes {
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
    ) -> Result<Option<Value>, ProviderError> {
        let results = self.results("lookup", &[(key, value)], priority).await?;
        Ok(results
            .into_iter()
            .find(|r| text(r, "wrapperType").as_deref() == Some(wrapper)))
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
        Ok(best_match(wanted, candidates, context.match_threshold)
            .map(|(result, confidence)| Found::fuzzy(result, confidence)))
    }

    /// The result found through the entity's Apple ID, when its URL relations name one.
    async fn linked(
        &self,
        entity: &Entity,
        wrapper: &str,
        priority: Priority,
    ) -> Result<Option<Found>, ProviderError> {
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
            .map(|result| Found::by(LinkMethod::UrlRelation, result)))
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
        let wanted = Candidate::wanted(entity).ok_or(ProviderError::NotFound)?;
        let (wrapper, search) = match entity {
            Entity::Artist(_) => ("artist", "musicArtist"),
            Entity::Track(_) => ("track", "song"),
            _ => ("collection", "album"),
        };
        let mut conflicts = Vec::new();
        let mut found = match entity {
            // Albums have no Apple ID of their own: only their releases do.
            Entity::Album(_) => None,
            _ => self.linked(entity, wrapper, priority).await?,
        };
        if let Entity::Release(r) = entity {
            if found.is_none() {
                if let Some(barcode) = r.barcode.as_deref().filter(|b| !b.is_empty()) {
                    found = self
                        .lookup("upc", barcode, wrapper, priority)
                        .await?
                        .map(|result| Found::by(LinkMethod::Barcode, result));
                }
            }
            // A link by identifier to a collection of another length is not this release.
            let conflict = found.as_ref().and_then(|f| {
                track_count_conflict(
                    NAME.display,
                    "collection",
                    &text(&f.body, "collectionId").unwrap_or_default(),
                    f.method,
                    count(&f.body, "trackCount")? as usize,
                    r.track_count(),
                )
            });
            if let Some(conflict) = conflict {
                conflicts.push(conflict);
                return unlinked(conflicts);
            }
        }
        if found.is_none() {
            found = self.fuzzy(search, &wanted, context, priority).await?;
        }
        let Some(found) = found else {
            return unlinked(conflicts);
        };
        let facts = facts_of(entity.kind(), &found);
        Ok(Enrichment {
            request: format!(
                "{}:{}",
                found.method.as_str(),
                apple_id(entity.kind(), &found.body).unwrap_or_default()
            ),
            raw: found.body,
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
pub fn facts_of(kind: EntityKind, found: &Found) -> Facts {
    let result = &found.body;
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
            method: found.method,
            confidence: found.confidence,
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
        let facts = facts_of(
            EntityKind::Release,
            &Found::by(LinkMethod::Barcode, collection.clone()),
        );
        assert_eq!(
            facts.images[0].url,
            "https://is1-ssl.mzstatic.com/image/thumb/a/cover.jpg/1200x1200bb.jpg"
        );
        assert_eq!(facts.links[0].id, "itunes:1728639278");
        assert_eq!(facts.attributes["genre"], json!(["K-Pop"]));
        assert_eq!(read_candidate(&collection).track_count, Some(6));
    }
}
