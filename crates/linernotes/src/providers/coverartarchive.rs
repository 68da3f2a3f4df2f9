//! The Cover Art Archive: images of releases and albums (release groups), keyed by MBID.
//!
//! `GET /release/{mbid}` and `GET /release-group/{mbid}` redirect to an index on archive.org (the
//! polite client follows). Indexes come in several formats: `id` as text or number, `http://` or
//! `https://` URLs, thumbnails keyed `small`/`large` only or also `250`/`500`/`1200`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

use super::client::{PoliteClient, ProviderName};
use super::lenient::{flag, list, web_url};
use super::{ConfiguredEnricher, EnrichContext, Enricher, Enrichment, Priority, ProviderError};
use crate::config::{EnricherSettings, ProviderSection};
use crate::domain::enrichment::{Facts, Image, ImageType};
use crate::domain::provider::ProviderStatus;
use crate::domain::{Entity, EntityKind};

/// The Cover Art Archive in metrics, status and messages.
pub const NAME: ProviderName = ProviderName {
    key: "coverartarchive",
    display: "Cover Art Archive",
};

/// The Cover Art Archive client.
#[derive(Debug)]
pub struct CoverArtArchive {
    client: PoliteClient,
}

impl ConfiguredEnricher for CoverArtArchive {
    type Own = EnricherSettings;
    const NAME: ProviderName = NAME;

    fn from_client(client: PoliteClient, _: &ProviderSection<EnricherSettings>) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Enricher for CoverArtArchive {
    fn name(&self) -> &'static str {
        NAME.key
    }

    fn enriches(&self, kind: EntityKind) -> bool {
        matches!(kind, EntityKind::Release | EntityKind::Album)
    }

    async fn enrich(
        &self,
        context: &EnrichContext<'_>,
        priority: Priority,
    ) -> Result<Enrichment, ProviderError> {
        let path = match context.entity {
            Entity::Release(r) => format!("release/{}", r.id),
            Entity::Album(a) => format!("release-group/{}", a.id),
            _ => return Err(ProviderError::NotFound),
        };
        let url = self.client.url(&path)?;
        self.client
            .get_enrichment(url, path, priority, parse_index)
            .await
    }

    fn status(&self) -> ProviderStatus {
        self.client.status()
    }
}

/// The images of a Cover Art Archive index, the front cover first.
pub fn parse_index(raw: &Value) -> Result<Facts, ProviderError> {
    let images = raw
        .get("images")
        .and_then(Value::as_array)
        .ok_or_else(|| ProviderError::Malformed("Cover Art Archive index without images".into()))?;
    let mut parsed: Vec<(bool, Image)> = images.iter().filter_map(parse_image).collect();
    // The image marked front is the cover; stable, so the archive's order stays otherwise.
    parsed.sort_by_key(|(front, _)| !front);
    Ok(Facts {
        images: parsed.into_iter().map(|(_, image)| image).collect(),
        ..Facts::default()
    })
}

/// One image and whether it is the one marked front.
fn parse_image(image: &Value) -> Option<(bool, Image)> {
    let url = image
        .get("image")
        .and_then(Value::as_str)
        .and_then(web_url)?;
    let types: Vec<&str> = list(image, "types")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let front = flag(image, "front").unwrap_or(false);
    let back = flag(image, "back").unwrap_or(false);
    let image_type = if front {
        ImageType::Cover
    } else if back {
        ImageType::Back
    } else if types.contains(&"Medium") {
        ImageType::Disc
    } else if types.contains(&"Front") && !types.contains(&"Raw/Unedited") {
        ImageType::Cover
    } else if types.contains(&"Back") && !types.contains(&"Raw/Unedited") {
        ImageType::Back
    } else {
        ImageType::Other
    };
    Some((
        front,
        Image {
            image_type,
            url,
            width: None,
            height: None,
            thumbnails: thumbnails(image.get("thumbnails")),
            source: NAME.key.to_owned(),
        },
    ))
}

/// Thumbnails by size in pixels; the old `small` and `large` keys are 250 and 500.
fn thumbnails(value: Option<&Value>) -> BTreeMap<String, String> {
    let mut sizes = BTreeMap::new();
    let Some(Value::Object(map)) = value else {
        return sizes;
    };
    for (key, url) in map {
        let size = match key.as_str() {
            "small" => "250",
            "large" => "500",
            numeric if numeric.chars().all(|c| c.is_ascii_digit()) => numeric,
            _ => continue,
        };
        if let Some(url) = url.as_str().and_then(web_url) {
            // A numeric key wins over its old alias.
            if key.as_str() == size || !sizes.contains_key(size) {
                sizes.insert(size.to_owned(), url);
            }
        }
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_front_comes_first_and_old_thumbnails_are_sized() {
        let index = json!({"images": [
            {"types": ["Back"], "front": false, "back": true, "id": "1",
             "image": "http://coverartarchive.org/release/x/1.jpg",
             "thumbnails": {"small": "http://coverartarchive.org/release/x/1-250.jpg"}},
            {"types": ["Front"], "front": true, "back": false, "id": 2,
             "image": "https://coverartarchive.org/release/x/2.jpg",
             "thumbnails": {"250": "https://coverartarchive.org/release/x/2-250.jpg",
                            "small": "https://coverartarchive.org/release/x/2-250.jpg"}},
            {"types": ["Medium"], "front": false, "back": false, "id": 3, "image": "not a url"}
        ]});
        let facts = parse_index(&index).unwrap();
        let types: Vec<_> = facts.images.iter().map(|i| i.image_type).collect();
        assert_eq!(types, [ImageType::Cover, ImageType::Back]);
        assert_eq!(
            facts.images[1].thumbnails["250"],
            "https://coverartarchive.org/release/x/1-250.jpg"
        );
        assert!(parse_index(&json!({"release": "x"})).is_err());
    }
}
