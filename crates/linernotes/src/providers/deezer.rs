//! Deezer: artist pictures, album covers, track previews, BPM, the explicit flag and popularity, and
//! the Deezer IDs of catalogue entities.
//!
//! An entity is found through its Deezer URL relation first, then a release by its barcode
//! (`album/upc:…`) and a track by its ISRCs (`track/isrc:…`), then by search with a confidence score.
//! Deezer answers errors with HTTP 200 and `{"error": {"code": 800, …}}` (800: no such entity; 4: quota
//! exceeded), escapes slashes (`https:\/\/…`), gives artists without a picture an empty hash in every
//! picture URL (`…/images/artist//…`), and signs preview URLs with tokens that expire.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::client::{PoliteClient, ProviderName};
use super::lenient::{count, flag, list, number, text, web_url};
use super::linking::{track_count_conflict, unlinked, Found};
use super::{ConfiguredEnricher, EnrichContext, Enricher, Enrichment, Priority, ProviderError};
use crate::config::{EnricherSettings, ProviderSection};
use crate::domain::enrichment::{Facts, Image, ImageType, Link, LinkMethod, Preview};
use crate::domain::matching::{best_match, Candidate};
use crate::domain::provider::ProviderStatus;
use crate::domain::{Entity, EntityKind};

/// Deezer in metrics, status and messages.
pub const NAME: ProviderName = ProviderName {
    key: "deezer",
    display: "Deezer",
};

/// At most this many ISRCs of one recording are looked up.
const MAX_ISRC_LOOKUPS: usize = 3;

/// The Deezer client.
#[derive(Debug)]
pub struct Deezer {
    client: PoliteClient,
}

impl ConfiguredEnricher for Deezer {
    type Own = EnricherSettings;
    const NAME: ProviderName = NAME;

    fn from_client(client: PoliteClient, _: &ProviderSection<EnricherSettings>) -> Self {
        Self { client }
    }
}

impl Deezer {
    /// GETs `path` with `query`, reading Deezer's in-band errors.
    async fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
        priority: Priority,
    ) -> Result<Value, ProviderError> {
        let mut url = self.client.url(path)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        self.client
            .get_json(url, priority, |_, raw| match raw.get("error") {
                None => Ok(raw),
                Some(error) => Err(in_band_error(error)),
            })
            .await
    }

    /// One entity by path (`artist/27`), `None` when Deezer has no such entity.
    async fn entity(&self, path: &str, priority: Priority) -> Result<Option<Value>, ProviderError> {
        match self.get(path, &[], priority).await {
            Ok(body) => Ok(Some(body)),
            Err(ProviderError::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The search results of `kind` (`artist`, `album`, `track`) for `query`.
    async fn search(
        &self,
        kind: &str,
        query: &str,
        priority: Priority,
    ) -> Result<Vec<Value>, ProviderError> {
        let body = self
            .get(
                &format!("search/{kind}"),
                &[("q", query), ("limit", "10")],
                priority,
            )
            .await?;
        Ok(list(&body, "data").to_vec())
    }

    /// The best search result for `wanted`, fetched in full from `kind/{id}`.
    async fn fuzzy(
        &self,
        kind: &str,
        query: &str,
        wanted: &Candidate,
        context: &EnrichContext<'_>,
        read: fn(&Value) -> Candidate,
        priority: Priority,
    ) -> Result<Option<Found>, ProviderError> {
        let results = self.search(kind, query, priority).await?;
        let candidates = results
            .iter()
            .filter_map(|r| Some((text(r, "id")?, read(r))));
        let Some((id, confidence)) = best_match(wanted, candidates, context.match_threshold) else {
            return Ok(None);
        };
        Ok(self
            .entity(&format!("{kind}/{id}"), priority)
            .await?
            .map(|body| Found::fuzzy(body, confidence)))
    }

    /// The entity of `kind` (`artist`, `album`, `track`) its Deezer URL relation names.
    async fn linked(
        &self,
        entity: &Entity,
        kind: &str,
        priority: Priority,
    ) -> Result<Option<Found>, ProviderError> {
        let Some(id) = linked_id(entity, kind) else {
            return Ok(None);
        };
        Ok(self
            .entity(&format!("{kind}/{id}"), priority)
            .await?
            .map(|body| Found::by(LinkMethod::UrlRelation, body)))
    }

    async fn find_artist(
        &self,
        context: &EnrichContext<'_>,
        wanted: Candidate,
        priority: Priority,
    ) -> Result<Option<Found>, ProviderError> {
        if let Some(found) = self.linked(context.entity, "artist", priority).await? {
            return Ok(Some(found));
        }
        let query = wanted.title.clone();
        self.fuzzy("artist", &query, &wanted, context, read_artist, priority)
            .await
    }

    async fn find_album(
        &self,
        context: &EnrichContext<'_>,
        wanted: Candidate,
        barcode: Option<&str>,
        priority: Priority,
    ) -> Result<Option<Found>, ProviderError> {
        if let Some(found) = self.linked(context.entity, "album", priority).await? {
            return Ok(Some(found));
        }
        if let Some(barcode) = barcode.filter(|b| !b.is_empty()) {
            if let Some(body) = self
                .entity(&format!("album/upc:{barcode}"), priority)
                .await?
            {
                return Ok(Some(Found::by(LinkMethod::Barcode, body)));
            }
        }
        let query = format!(
            "artist:\"{}\" album:\"{}\"",
            quoted(&wanted.artist),
            quoted(&wanted.title)
        );
        self.fuzzy("album", &query, &wanted, context, read_album, priority)
            .await
    }

    /// The Deezer track of a recording: through its ISRCs (several different tracks are a conflict),
    /// its URL relation, or search.
    async fn find_track(
        &self,
        context: &EnrichContext<'_>,
        isrcs: &[String],
        wanted: Candidate,
        priority: Priority,
    ) -> Result<(Option<Found>, Vec<String>), ProviderError> {
        let mut by_isrc: Vec<(String, Value)> = Vec::new();
        for isrc in isrcs.iter().take(MAX_ISRC_LOOKUPS) {
            if let Some(body) = self.entity(&format!("track/isrc:{isrc}"), priority).await? {
                by_isrc.push((isrc.clone(), body));
            }
        }
        let mut ids: Vec<String> = by_isrc.iter().filter_map(|(_, b)| text(b, "id")).collect();
        ids.sort();
        ids.dedup();
        if ids.len() > 1 {
            let conflict = format!(
                "the recording's ISRCs match different Deezer tracks ({}); none is linked",
                by_isrc
                    .iter()
                    .map(|(isrc, b)| format!(
                        "{isrc} → deezer:{}",
                        text(b, "id").unwrap_or_default()
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return Ok((None, vec![conflict]));
        }
        if let Some((_, body)) = by_isrc.into_iter().next() {
            return Ok((Some(Found::by(LinkMethod::Isrc, body)), Vec::new()));
        }
        if let Some(found) = self.linked(context.entity, "track", priority).await? {
            return Ok((Some(found), Vec::new()));
        }
        let query = format!(
            "artist:\"{}\" track:\"{}\"",
            quoted(&wanted.artist),
            quoted(&wanted.title)
        );
        let found = self
            .fuzzy("track", &query, &wanted, context, read_track, priority)
            .await?;
        Ok((found, Vec::new()))
    }
}

#[async_trait]
impl Enricher for Deezer {
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
        let wanted = Candidate::wanted(context.entity).ok_or(ProviderError::NotFound)?;
        let (found, conflicts) = match context.entity {
            Entity::Artist(_) => (self.find_artist(context, wanted, priority).await?, vec![]),
            Entity::Album(_) => (
                self.find_album(context, wanted, None, priority).await?,
                vec![],
            ),
            Entity::Release(r) => {
                let found = self
                    .find_album(context, wanted, r.barcode.as_deref(), priority)
                    .await?;
                // A link by identifier to an album of another length is not this release.
                let conflict = found
                    .as_ref()
                    .filter(|f| f.method != LinkMethod::Fuzzy)
                    .and_then(|f| {
                        track_count_conflict(
                            NAME.display,
                            "album",
                            &text(&f.body, "id").unwrap_or_default(),
                            f.method,
                            count(&f.body, "nb_tracks")? as usize,
                            r.track_count(),
                        )
                    });
                match conflict {
                    Some(conflict) => (None, vec![conflict]),
                    None => (found, vec![]),
                }
            }
            Entity::Track(t) => self.find_track(context, &t.isrcs, wanted, priority).await?,
            Entity::Label(_) => return Err(ProviderError::NotFound),
        };
        let Some(found) = found else {
            return unlinked(conflicts);
        };
        let facts = facts_of(context.entity.kind(), &found);
        Ok(Enrichment {
            request: format!(
                "{}/{}",
                text(&found.body, "type").unwrap_or_default(),
                text(&found.body, "id").unwrap_or_default()
            ),
            raw: found.body,
            facts,
        })
    }

    fn status(&self) -> ProviderStatus {
        self.client.status()
    }
}

/// What a Deezer error envelope means.
fn in_band_error(error: &Value) -> ProviderError {
    let message = text(error, "message").unwrap_or_else(|| "an error".into());
    match count(error, "code") {
        Some(800) => ProviderError::NotFound,
        Some(4) | Some(700) => ProviderError::Unavailable(format!("Deezer: {message}")),
        _ => ProviderError::Malformed(format!("Deezer answered an error: {message}")),
    }
}

/// The Deezer ID of `kind` that an entity's URL relations name.
fn linked_id(entity: &Entity, kind: &str) -> Option<String> {
    entity.urls().iter().find_map(|relation| {
        let url = url::Url::parse(&relation.url).ok()?;
        if url.host_str()?.trim_start_matches("www.") != "deezer.com" {
            return None;
        }
        let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
        let at = segments.iter().position(|s| *s == kind)?;
        let id = segments.get(at + 1)?;
        id.chars()
            .all(|c| c.is_ascii_digit())
            .then(|| (*id).to_owned())
    })
}

/// A search query's quoted part, without the quotes that would end it.
fn quoted(text: &str) -> String {
    text.replace('"', " ")
}

fn read_artist(r: &Value) -> Candidate {
    Candidate {
        title: text(r, "name").unwrap_or_default(),
        ..Candidate::default()
    }
}

fn read_album(r: &Value) -> Candidate {
    Candidate {
        title: text(r, "title").unwrap_or_default(),
        artist: r
            .get("artist")
            .and_then(|a| text(a, "name"))
            .unwrap_or_default(),
        length_ms: None,
        track_count: count(r, "nb_tracks").map(|n| n as i64),
    }
}

fn read_track(r: &Value) -> Candidate {
    Candidate {
        title: text(r, "title").unwrap_or_default(),
        artist: r
            .get("artist")
            .and_then(|a| text(a, "name"))
            .unwrap_or_default(),
        length_ms: number(r, "duration").map(|s| (s * 1000.0) as i64),
        track_count: None,
    }
}

/// A picture URL unless it is Deezer's placeholder (an empty hash: `…/images/artist//…`).
fn picture(body: &Value, key: &str) -> Option<String> {
    let url = body.get(key)?.as_str()?;
    (!url.contains("/images/artist//") && !url.contains("/images/cover//"))
        .then(|| web_url(url))
        .flatten()
}

/// The facts a Deezer entity gives a catalogue entity of `kind`.
pub fn facts_of(kind: EntityKind, found: &Found) -> Facts {
    let body = &found.body;
    let mut facts = Facts::default();
    let deezer_type = match kind {
        EntityKind::Artist => "artist",
        EntityKind::Track => "track",
        _ => "album",
    };
    if let Some(id) = text(body, "id") {
        facts.links.push(Link {
            platform: NAME.key.to_owned(),
            id: format!("deezer:{id}"),
            url: text(body, "link")
                .and_then(|l| web_url(&l))
                .or_else(|| Some(format!("https://www.deezer.com/{deezer_type}/{id}"))),
            method: found.method,
            confidence: found.confidence,
        });
    }
    let image = |image_type, key: &str| {
        picture(body, key).map(|url| Image {
            image_type,
            url,
            width: Some(1000),
            height: Some(1000),
            thumbnails: [("250", "_medium"), ("500", "_big")]
                .into_iter()
                .filter_map(|(size, suffix)| {
                    let base = key.trim_end_matches("_xl");
                    picture(body, &format!("{base}{suffix}")).map(|u| (size.to_owned(), u))
                })
                .collect(),
            source: NAME.key.to_owned(),
        })
    };
    match kind {
        EntityKind::Artist => {
            facts.images.extend(image(ImageType::Poster, "picture_xl"));
            if let Some(fans) = count(body, "nb_fan") {
                facts.attributes.insert("popularity".into(), json!(fans));
            }
        }
        EntityKind::Album | EntityKind::Release => {
            facts.images.extend(image(ImageType::Cover, "cover_xl"));
            if let Some(explicit) = flag(body, "explicit_lyrics") {
                facts.attributes.insert("explicit".into(), json!(explicit));
            }
            let genres: Vec<String> = body
                .get("genres")
                .map(|g| list(g, "data"))
                .unwrap_or_default()
                .iter()
                .filter_map(|g| text(g, "name"))
                .collect();
            if !genres.is_empty() {
                facts.attributes.insert("genre".into(), json!(genres));
            }
        }
        EntityKind::Track => {
            if let Some(preview) = text(body, "preview").and_then(|p| web_url(&p)) {
                facts.previews.push(Preview {
                    url: preview,
                    source: NAME.key.to_owned(),
                });
            }
            if let Some(bpm) = number(body, "bpm").filter(|b| *b > 0.0) {
                facts.attributes.insert("bpm".into(), json!(bpm));
            }
            if let Some(explicit) = flag(body, "explicit_lyrics") {
                facts.attributes.insert("explicit".into(), json!(explicit));
            }
            if let Some(rank) = count(body, "rank") {
                facts.attributes.insert("popularity".into(), json!(rank));
            }
        }
        EntityKind::Label => {}
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_pictures_and_in_band_errors() {
        let artist = json!({"id": 1, "name": "X", "link": "https://www.deezer.com/artist/1",
            "picture_xl": "https://cdn-images.dzcdn.net/images/artist//1000x1000-000000-80-0-0.jpg",
            "nb_fan": "12"});
        let facts = facts_of(EntityKind::Artist, &Found::fuzzy(artist, 0.9));
        assert!(
            facts.images.is_empty(),
            "the empty-hash picture is no picture"
        );
        assert_eq!(facts.links[0].id, "deezer:1");
        assert_eq!(facts.attributes["popularity"], json!(12));
        assert_eq!(
            in_band_error(&json!({"type": "DataException", "message": "no data", "code": 800})),
            ProviderError::NotFound
        );
        assert!(matches!(
            in_band_error(&json!({"message": "Quota limit exceeded", "code": 4})),
            ProviderError::Unavailable(_)
        ));
    }
}
