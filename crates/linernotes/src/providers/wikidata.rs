//! Wikidata: from the Wikidata item MusicBrainz links an entity to, the titles of its Wikipedia
//! articles (for [`super::wikipedia`]) and its Commons image (P18).
//!
//! `wbgetentities` escapes non-ASCII as `\uXXXX`; `sitelinks` mixes Wikipedias with other projects
//! (`commonswiki`, `enwikisource`, `…wikiquote`) and has underscored ids (`zh_min_nanwiki`), so only
//! ids that are a language code followed by `wiki` count as Wikipedias.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

use super::client::{PoliteClient, ProviderName};
use super::{ConfiguredEnricher, EnrichContext, Enricher, Enrichment, Priority, ProviderError};
use crate::config::metadata::is_language_code;
use crate::config::{EnricherSettings, ProviderSection};
use crate::domain::enrichment::{Facts, Image, ImageType};
use crate::domain::provider::ProviderStatus;
use crate::domain::{EntityKind, Namespace};

/// Wikidata in metrics, status and messages.
pub const NAME: ProviderName = ProviderName {
    key: "wikidata",
    display: "Wikidata",
};

/// Where Commons serves a file by name.
const COMMONS_FILE_PATH: &str = "https://commons.wikimedia.org/wiki/Special:FilePath/";

/// The Wikidata client.
#[derive(Debug)]
pub struct Wikidata {
    client: PoliteClient,
}

impl ConfiguredEnricher for Wikidata {
    type Own = EnricherSettings;
    const NAME: ProviderName = NAME;

    fn from_client(client: PoliteClient, _: &ProviderSection<EnricherSettings>) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Enricher for Wikidata {
    fn name(&self) -> &'static str {
        NAME.key
    }

    fn enriches(&self, kind: EntityKind) -> bool {
        matches!(
            kind,
            EntityKind::Artist | EntityKind::Album | EntityKind::Label
        )
    }

    async fn enrich(
        &self,
        context: &EnrichContext<'_>,
        priority: Priority,
    ) -> Result<Enrichment, ProviderError> {
        let item = context
            .entity
            .external_ids()
            .iter()
            .find(|id| id.namespace() == Namespace::Wikidata)
            .map(|id| id.value().to_owned())
            .ok_or(ProviderError::NotFound)?;
        let mut url = self.client.url("w/api.php")?;
        url.query_pairs_mut()
            .append_pair("action", "wbgetentities")
            .append_pair("format", "json")
            .append_pair("props", "sitelinks|claims")
            .append_pair("ids", &item);
        let kind = context.entity.kind();
        let request = format!("wbgetentities:{item}");
        self.client
            .get_enrichment(url, request, priority, |raw| parse_entity(raw, &item, kind))
            .await
    }

    fn status(&self) -> ProviderStatus {
        self.client.status()
    }
}

/// The Wikipedia articles and image of `item` in a `wbgetentities` body.
pub fn parse_entity(raw: &Value, item: &str, kind: EntityKind) -> Result<Facts, ProviderError> {
    let entities = raw
        .get("entities")
        .and_then(Value::as_object)
        .ok_or_else(|| ProviderError::Malformed("Wikidata answer without entities".into()))?;
    let entity = entities.get(item).ok_or(ProviderError::NotFound)?;
    if entity.get("missing").is_some() {
        return Err(ProviderError::NotFound);
    }
    let mut facts = Facts {
        articles: wikipedia_articles(entity.get("sitelinks")),
        ..Facts::default()
    };
    if kind == EntityKind::Artist {
        if let Some(file) = image_file(entity) {
            facts.images.push(Image {
                image_type: ImageType::Poster,
                url: format!("{COMMONS_FILE_PATH}{}", commons_file_path(&file)),
                width: None,
                height: None,
                thumbnails: BTreeMap::new(),
                source: NAME.key.to_owned(),
            });
        }
    }
    Ok(facts)
}

/// Wikipedia article titles by language code (`zh_min_nanwiki` → `zh-min-nan`).
fn wikipedia_articles(sitelinks: Option<&Value>) -> BTreeMap<String, String> {
    let mut articles = BTreeMap::new();
    let Some(Value::Object(links)) = sitelinks else {
        return articles;
    };
    for (site, link) in links {
        let Some(language) = site.strip_suffix("wiki").map(|l| l.replace('_', "-")) else {
            continue;
        };
        if !is_language_code(&language) {
            continue;
        }
        if let Some(title) = link.get("title").and_then(Value::as_str) {
            if !title.trim().is_empty() {
                articles.insert(language, title.to_owned());
            }
        }
    }
    articles
}

/// The file name of the item's first image statement (P18), when any.
fn image_file(entity: &Value) -> Option<String> {
    entity
        .get("claims")?
        .get("P18")?
        .as_array()?
        .iter()
        .filter(|claim| claim.get("rank").and_then(Value::as_str) != Some("deprecated"))
        .find_map(|claim| {
            claim
                .get("mainsnak")?
                .get("datavalue")?
                .get("value")?
                .as_str()
                .map(str::to_owned)
        })
}

/// A Commons file name as a URL path segment (spaces as underscores, the rest percent-encoded).
fn commons_file_path(file: &str) -> String {
    let underscored = file.trim().replace(' ', "_");
    url::form_urlencoded::byte_serialize(underscored.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_wikipedias_count_and_the_image_is_a_commons_file() {
        let body = json!({"entities": {"Q1": {"id": "Q1", "sitelinks": {
            "enwiki": {"title": "Rick Astley"},
            "commonswiki": {"title": "Category:Rick Astley"},
            "enwikisource": {"title": "Author:X"},
            "zh_min_nanwiki": {"title": "Rick"},
            "enwikiquote": {"title": "Q"}
        }, "claims": {"P18": [{"rank": "normal", "mainsnak": {"datavalue": {"value": "Rick Astley 2016.jpg"}}}]}}}});
        let facts = parse_entity(&body, "Q1", EntityKind::Artist).unwrap();
        assert_eq!(
            facts.articles.keys().collect::<Vec<_>>(),
            ["en", "zh-min-nan"]
        );
        assert_eq!(
            facts.images[0].url,
            "https://commons.wikimedia.org/wiki/Special:FilePath/Rick_Astley_2016.jpg"
        );
        assert_eq!(
            parse_entity(
                &json!({"entities": {"Q2": {"missing": ""}}}),
                "Q2",
                EntityKind::Artist
            ),
            Err(ProviderError::NotFound)
        );
    }
}
