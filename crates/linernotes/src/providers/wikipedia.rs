//! Wikipedia: the introduction of the articles Wikidata names, in the configured languages.
//!
//! The MediaWiki action API (`action=query&prop=extracts&exintro=1&redirects=1`) answers `query.pages`
//! keyed by page id as text; the extract is HTML unless `explaintext` took, so tags are stripped here
//! either way. `base_url` holds `{lang}`, replaced by each language code.

use std::collections::BTreeMap;

use async_trait::async_trait;
use reqwest::Url;
use serde_json::Value;

use super::client::{directory_url, PoliteClient, ProviderName};
use super::{ConfiguredEnricher, EnrichContext, Enricher, Enrichment, Priority, ProviderError};
use crate::config::{EnricherSettings, ProviderSection, LANG_PLACEHOLDER};
use crate::domain::enrichment::{Bio, Facts};
use crate::domain::provider::ProviderStatus;
use crate::domain::EntityKind;

/// Wikipedia in metrics, status and messages.
pub const NAME: ProviderName = ProviderName {
    key: "wikipedia",
    display: "Wikipedia",
};

/// The longest summary kept, in characters (an introduction, not the article).
const MAX_SUMMARY_CHARS: usize = 4000;

/// The Wikipedia client.
#[derive(Debug)]
pub struct Wikipedia {
    client: PoliteClient,
    /// The configured base URL, with `{lang}`.
    base_url: String,
}

impl ConfiguredEnricher for Wikipedia {
    type Own = EnricherSettings;
    const NAME: ProviderName = NAME;

    fn from_client(client: PoliteClient, settings: &ProviderSection<EnricherSettings>) -> Self {
        Self {
            client,
            base_url: settings.client.base_url.clone(),
        }
    }
}

impl Wikipedia {
    /// The base URL of the `language` edition, with a trailing slash.
    fn edition(&self, language: &str) -> Result<Url, ProviderError> {
        directory_url(&self.base_url.replace(LANG_PLACEHOLDER, language))
            .map_err(ProviderError::Rejected)
    }
}

#[async_trait]
impl Enricher for Wikipedia {
    fn name(&self) -> &'static str {
        NAME.key
    }

    fn enriches(&self, kind: EntityKind) -> bool {
        matches!(kind, EntityKind::Artist | EntityKind::Album)
    }

    async fn enrich(
        &self,
        context: &EnrichContext<'_>,
        priority: Priority,
    ) -> Result<Enrichment, ProviderError> {
        let articles = context
            .earlier
            .get(super::wikidata::NAME.key)
            .map(|facts| &facts.articles)
            .ok_or(ProviderError::NotFound)?;
        let mut facts = Facts::default();
        let mut raw = serde_json::Map::new();
        for language in context.languages {
            let Some(title) = articles.get(language) else {
                continue;
            };
            let edition = self.edition(language)?;
            let mut url = edition
                .join("w/api.php")
                .map_err(|e| ProviderError::Rejected(e.to_string()))?;
            url.query_pairs_mut()
                .append_pair("action", "query")
                .append_pair("prop", "extracts")
                .append_pair("exintro", "1")
                .append_pair("explaintext", "1")
                .append_pair("redirects", "1")
                .append_pair("format", "json")
                .append_pair("titles", title);
            let answer = self
                .client
                .get_json(url, priority, |_, body| {
                    Ok((parse_extract(&body, language, &edition)?, body))
                })
                .await;
            match answer {
                Ok((bio, body)) => {
                    raw.insert(language.clone(), body);
                    facts.bios.extend(bio);
                }
                // One edition missing the page leaves the others.
                Err(ProviderError::NotFound) => {}
                Err(err) => return Err(err),
            }
        }
        if facts.bios.is_empty() {
            return Err(ProviderError::NotFound);
        }
        Ok(Enrichment {
            request: format!("extracts:{}", context.languages.join(",")),
            raw: Value::Object(raw),
            facts,
        })
    }

    fn status(&self) -> ProviderStatus {
        self.client.status()
    }
}

/// The summary in an extracts answer, `None` when the page is missing or has no text.
pub fn parse_extract(
    raw: &Value,
    language: &str,
    edition: &Url,
) -> Result<Option<Bio>, ProviderError> {
    let pages = raw
        .get("query")
        .and_then(|q| q.get("pages"))
        .ok_or_else(|| ProviderError::Malformed("Wikipedia answer without query.pages".into()))?;
    let pages: Vec<&Value> = match pages {
        Value::Object(map) => map.values().collect(),
        Value::Array(list) => list.iter().collect(),
        _ => return Err(ProviderError::Malformed("query.pages is no list".into())),
    };
    let Some(page) = pages
        .into_iter()
        .find(|p| p.get("missing").is_none() && p.get("invalid").is_none())
    else {
        return Ok(None);
    };
    let Some(extract) = page.get("extract").and_then(Value::as_str) else {
        return Ok(None);
    };
    let summary = plain_text(extract);
    if summary.is_empty() {
        return Ok(None);
    }
    let title = page
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let fragment = raw
        .get("query")
        .and_then(|q| q.get("redirects"))
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(|r| r.get("tofragment"))
        .and_then(Value::as_str);
    let mut url = edition
        .join(&format!("wiki/{}", title.replace(' ', "_")))
        .ok();
    if let (Some(url), Some(fragment)) = (url.as_mut(), fragment) {
        url.set_fragment(Some(&fragment.replace(' ', "_")));
    }
    Ok(Some(Bio {
        summary,
        url: url.map(String::from),
        language: language.to_owned(),
        source: NAME.key.to_owned(),
    }))
}

/// HTML as plain text: tags dropped, common entities decoded, paragraphs kept as blank-line breaks,
/// other whitespace collapsed, cut at [`MAX_SUMMARY_CHARS`].
pub fn plain_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut tag = String::new();
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (true, '>') => {
                in_tag = false;
                let name = tag.trim_start_matches('/').to_ascii_lowercase();
                if name.starts_with("p") && !name.starts_with("pre") || name.starts_with("br") {
                    text.push('\n');
                }
            }
            (true, c) => tag.push(c),
            (false, c) => text.push(c),
        }
    }
    let entities: BTreeMap<&str, &str> = [
        ("&amp;", "&"),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&nbsp;", "\u{a0}"),
    ]
    .into_iter()
    .collect();
    let mut decoded = text;
    for (entity, character) in entities {
        decoded = decoded.replace(entity, character);
    }
    let paragraphs: Vec<String> = decoded
        .split('\n')
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect();
    let joined = paragraphs.join("\n\n");
    match joined.char_indices().nth(MAX_SUMMARY_CHARS) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_paragraphs_of_plain_text() {
        assert_eq!(
            plain_text("<p><b>Rick</b> &amp; <i>co</i> is  a singer.</p>\n<p>Second.</p>"),
            "Rick & co is a singer.\n\nSecond."
        );
        assert_eq!(
            plain_text("Plain text\n\nalready."),
            "Plain text\n\nalready."
        );
    }
}
