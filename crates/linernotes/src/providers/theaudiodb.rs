//! TheAudioDB (needs a key): artist pictures, logos, banners and biographies, album covers and
//! descriptions, keyed by MusicBrainz IDs — for when others have none.
//!
//! `artist-mb.php?i=<mbid>` answers `{"artists": [ … ]}` (or `null` when it has none), `album-mb.php`
//! `{"album": [ … ]}`; biographies sit in one key per language (`strBiographyEN`, `strBiographyDE`, …).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

use super::client::{KeyedClient, PoliteClient, ProviderName};
use super::lenient::web_url;
use super::wikipedia::plain_text;
use super::{ConfiguredEnricher, EnrichContext, Enricher, Enrichment, Priority, ProviderError};
use crate::config::{KeyedSettings, ProviderSection};
use crate::domain::enrichment::{is_junk, Bio, Facts, Image, ImageType};
use crate::domain::provider::ProviderStatus;
use crate::domain::{Entity, EntityKind};

/// TheAudioDB in metrics, status and messages.
pub const NAME: ProviderName = ProviderName {
    key: "theaudiodb",
    display: "TheAudioDB",
};

/// The TheAudioDB client.
#[derive(Debug)]
pub struct TheAudioDb {
    client: KeyedClient,
}

impl ConfiguredEnricher for TheAudioDb {
    type Own = KeyedSettings;
    const NAME: ProviderName = NAME;

    fn from_client(client: PoliteClient, settings: &ProviderSection<KeyedSettings>) -> Self {
        Self {
            client: KeyedClient::new(client, &settings.own.api_key),
        }
    }
}

#[async_trait]
impl Enricher for TheAudioDb {
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
        let (script, list_key, mbid) = match context.entity {
            Entity::Artist(a) => ("artist-mb.php", "artists", a.id),
            Entity::Album(a) => ("album-mb.php", "album", a.id),
            _ => return Err(ProviderError::NotFound),
        };
        // The key is a path segment of every URL, so it is never logged with the request path.
        let path = format!("api/v1/json/{}/{script}", self.client.key());
        let mut url = self.client.url(&path)?;
        url.query_pairs_mut().append_pair("i", &mbid.to_string());
        let kind = context.entity.kind();
        self.client
            .get_enrichment(url, format!("{script}?i={mbid}"), priority, |raw| {
                parse(raw, list_key, kind)
            })
            .await
    }

    fn status(&self) -> ProviderStatus {
        self.client.status()
    }
}

/// The facts of the first entry under `list_key` (`artists`, `album`).
pub fn parse(raw: &Value, list_key: &str, kind: EntityKind) -> Result<Facts, ProviderError> {
    let object = raw.as_object().ok_or_else(|| {
        ProviderError::Malformed("TheAudioDB answered something other than an object".into())
    })?;
    let entry = match object.get(list_key) {
        Some(Value::Array(entries)) => entries.first().ok_or(ProviderError::NotFound)?,
        Some(Value::Null) | None => return Err(ProviderError::NotFound),
        Some(_) => {
            return Err(ProviderError::Malformed(format!(
                "TheAudioDB's {list_key} is not a list"
            )))
        }
    };
    let mut facts = Facts::default();
    let images: &[(&str, ImageType)] = match kind {
        EntityKind::Artist => &[
            ("strArtistThumb", ImageType::Poster),
            ("strArtistFanart", ImageType::Fanart),
            ("strArtistFanart2", ImageType::Fanart),
            ("strArtistLogo", ImageType::Logo),
            ("strArtistBanner", ImageType::Banner),
        ],
        _ => &[
            ("strAlbumThumb", ImageType::Cover),
            ("strAlbumBack", ImageType::Back),
            ("strAlbumCDart", ImageType::Disc),
        ],
    };
    for (key, image_type) in images {
        if let Some(url) = entry.get(*key).and_then(Value::as_str).and_then(web_url) {
            facts.images.push(Image {
                image_type: *image_type,
                url,
                width: None,
                height: None,
                thumbnails: BTreeMap::new(),
                source: NAME.key.to_owned(),
            });
        }
    }
    let prefix = match kind {
        EntityKind::Artist => "strBiography",
        _ => "strDescription",
    };
    if let Some(fields) = entry.as_object() {
        for (key, value) in fields {
            let Some(language) = key.strip_prefix(prefix) else {
                continue;
            };
            let Some(text) = value.as_str().filter(|t| !is_junk(t)) else {
                continue;
            };
            if language.len() == 2 && language.chars().all(|c| c.is_ascii_uppercase()) {
                facts.bios.push(Bio {
                    summary: plain_text(text),
                    url: None,
                    language: language.to_ascii_lowercase(),
                    source: NAME.key.to_owned(),
                });
            }
        }
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn biographies_per_language_and_none_when_unknown() {
        let body = json!({"artists": [{"idArtist": "111239", "strArtist": "Coldplay",
            "strArtistThumb": "https://www.theaudiodb.com/images/media/artist/thumb/x.jpg",
            "strArtistLogo": null, "strBiographyEN": "Coldplay are a British band.",
            "strBiographyDE": "Coldplay ist eine Band.", "strBiographyFR": null, "strBiographyJP": "null"}]});
        let facts = parse(&body, "artists", EntityKind::Artist).unwrap();
        assert_eq!(facts.images.len(), 1);
        let mut languages: Vec<&str> = facts.bios.iter().map(|b| b.language.as_str()).collect();
        languages.sort_unstable();
        assert_eq!(languages, ["de", "en"]);
        assert_eq!(
            parse(&json!({"artists": null}), "artists", EntityKind::Artist),
            Err(ProviderError::NotFound)
        );
    }
}
