//! Discogs (needs a token): genres and styles of releases and albums (masters), and release credits.
//!
//! An entity is found through its Discogs URL relation (a release, master or artist page), a release
//! without one by its barcode (`database/search?barcode=…`, whose track count must agree). Track
//! `duration` is `"m:ss"` or `""`; `position` may be a vinyl side (`"A"`, `"B1"`); `tracklist` mixes
//! `"type_": "heading"` and `"index"` rows (an index holding `sub_tracks`) with `"track"` rows; `year`
//! is `0` when unknown.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::client::{KeyedClient, PoliteClient, ProviderName};
use super::lenient::{list, text};
use super::linking::track_count_conflict;
use super::{ConfiguredEnricher, EnrichContext, Enricher, Enrichment, Priority, ProviderError};
use crate::config::{DiscogsSettings, ProviderSection};
use crate::domain::enrichment::{is_junk, Facts, Link, LinkMethod};
use crate::domain::provider::ProviderStatus;
use crate::domain::{Entity, EntityKind};

/// Discogs in metrics, status and messages.
pub const NAME: ProviderName = ProviderName {
    key: "discogs",
    display: "Discogs",
};

/// The Discogs client.
#[derive(Debug)]
pub struct Discogs {
    client: KeyedClient,
}

impl ConfiguredEnricher for Discogs {
    type Own = DiscogsSettings;
    const NAME: ProviderName = NAME;

    fn from_client(client: PoliteClient, settings: &ProviderSection<DiscogsSettings>) -> Self {
        Self {
            client: KeyedClient::new(client, &settings.own.token),
        }
    }
}

impl Discogs {
    async fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
        priority: Priority,
    ) -> Result<Value, ProviderError> {
        let mut url = self.client.url_with_key(path, "token")?;
        url.query_pairs_mut().extend_pairs(query);
        self.client.get_json(url, priority, |_, raw| Ok(raw)).await
    }

    /// The Discogs entity of `section` (`release`, `master`, `artist`) the URL relations name.
    fn linked(entity: &Entity, section: &str) -> Option<String> {
        entity.urls().iter().find_map(|relation| {
            let url = url::Url::parse(&relation.url).ok()?;
            if url.host_str()?.trim_start_matches("www.") != "discogs.com" {
                return None;
            }
            let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
            let at = segments.iter().position(|s| *s == section)?;
            let id = segments.get(at + 1)?.split('-').next()?;
            id.chars()
                .all(|c| c.is_ascii_digit())
                .then(|| id.to_owned())
        })
    }
}

#[async_trait]
impl Enricher for Discogs {
    fn name(&self) -> &'static str {
        NAME.key
    }

    fn enriches(&self, kind: EntityKind) -> bool {
        matches!(kind, EntityKind::Album | EntityKind::Release)
    }

    async fn enrich(
        &self,
        context: &EnrichContext<'_>,
        priority: Priority,
    ) -> Result<Enrichment, ProviderError> {
        let (section, plural) = match context.entity {
            Entity::Release(_) => ("release", "releases"),
            Entity::Album(_) => ("master", "masters"),
            _ => return Err(ProviderError::NotFound),
        };
        let mut method = LinkMethod::UrlRelation;
        let id = match Self::linked(context.entity, section) {
            Some(id) => id,
            None => {
                let Entity::Release(release) = context.entity else {
                    return Err(ProviderError::NotFound);
                };
                let barcode = release
                    .barcode
                    .as_deref()
                    .filter(|b| !b.is_empty())
                    .ok_or(ProviderError::NotFound)?;
                let found = self
                    .get(
                        "database/search",
                        &[("barcode", barcode), ("type", "release")],
                        priority,
                    )
                    .await?;
                method = LinkMethod::Barcode;
                list(&found, "results")
                    .first()
                    .and_then(|r| text(r, "id"))
                    .ok_or(ProviderError::NotFound)?
            }
        };
        let raw = self.get(&format!("{plural}/{id}"), &[], priority).await?;
        let mut facts = parse(&raw, section, method)?;
        if let (Entity::Release(release), LinkMethod::Barcode) = (context.entity, method) {
            let theirs = track_count(&raw);
            if let Some(conflict) = track_count_conflict(
                NAME.display,
                "release",
                &id,
                method,
                theirs,
                release.track_count(),
            ) {
                facts = Facts {
                    conflicts: vec![conflict],
                    ..Facts::default()
                };
            }
        }
        Ok(Enrichment {
            request: format!("{plural}/{id}"),
            raw,
            facts,
        })
    }

    fn status(&self) -> ProviderStatus {
        self.client.status()
    }
}

/// The tracks of a tracklist: `track` rows, and the sub-tracks of `index` rows; headings are none.
pub fn track_count(raw: &Value) -> usize {
    list(raw, "tracklist")
        .iter()
        .map(|row| match text(row, "type_").as_deref() {
            Some("heading") => 0,
            Some("index") => list(row, "sub_tracks").len(),
            _ => 1,
        })
        .sum()
}

/// Genres, styles and credits of a release or master body, with the link to it.
pub fn parse(raw: &Value, section: &str, method: LinkMethod) -> Result<Facts, ProviderError> {
    let id = text(raw, "id")
        .ok_or_else(|| ProviderError::Malformed(format!("Discogs {section} without an id")))?;
    let names = |key: &str| -> Vec<String> {
        list(raw, key)
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !is_junk(s))
            .map(str::to_owned)
            .collect()
    };
    let mut facts = Facts::default();
    facts.links.push(Link {
        platform: NAME.key.to_owned(),
        id: format!("discogs:{id}"),
        url: Some(format!("https://www.discogs.com/{section}/{id}")),
        method,
        confidence: 1.0,
    });
    let genres = names("genres");
    if !genres.is_empty() {
        facts.attributes.insert("genre".into(), json!(genres));
    }
    let styles = names("styles");
    if !styles.is_empty() {
        facts.attributes.insert("styles".into(), json!(styles));
    }
    let credits: Vec<Value> = list(raw, "extraartists")
        .iter()
        .filter_map(|credit| {
            let name = text(credit, "name")?;
            let role = text(credit, "role")?;
            let mut entry = json!({"name": name, "role": role});
            if let Some(tracks) = text(credit, "tracks") {
                entry["tracks"] = json!(tracks);
            }
            Some(entry)
        })
        .collect();
    if !credits.is_empty() {
        facts.attributes.insert("credits".into(), json!(credits));
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_are_no_tracks_and_index_rows_count_their_sub_tracks() {
        let body = json!({"id": 11578434, "genres": ["Non-Music"], "styles": ["Audiobook"],
        "extraartists": [{"name": "Kate Winslet", "role": "Read By", "tracks": ""}],
        "tracklist": [
            {"position": "", "type_": "heading", "title": "Part 1", "duration": ""},
            {"position": "A", "type_": "track", "title": "One", "duration": "3:01"},
            {"position": "B", "type_": "index", "title": "Suite", "duration": "",
             "sub_tracks": [{"position": "B1", "type_": "track"}, {"position": "B2", "type_": "track"}]}
        ]});
        assert_eq!(track_count(&body), 3);
        let facts = parse(&body, "release", LinkMethod::UrlRelation).unwrap();
        assert_eq!(facts.links[0].id, "discogs:11578434");
        assert_eq!(facts.attributes["styles"], json!(["Audiobook"]));
        assert_eq!(facts.attributes["credits"][0]["role"], "Read By");
        assert!(facts.attributes["credits"][0].get("tracks").is_none());
    }
}
