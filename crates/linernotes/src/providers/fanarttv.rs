//! fanart.tv (API v3, needs a key): artist thumbs, backgrounds, logos and banners; album covers and
//! disc art, keyed by MusicBrainz IDs.
//!
//! Numbers come as text (`"likes": "2"`, `"disc": "1"`, `"size": "1000"`); `albums` is an object keyed
//! by release-group MBID. Images are ordered by likes, most liked first.

use async_trait::async_trait;
use serde_json::Value;

use super::client::{KeyedClient, PoliteClient, ProviderName};
use super::lenient::{count, list, web_url};
use super::{ConfiguredEnricher, EnrichContext, Enricher, Enrichment, Priority, ProviderError};
use crate::config::{KeyedSettings, ProviderSection};
use crate::domain::enrichment::{Facts, Image, ImageType};
use crate::domain::provider::ProviderStatus;
use crate::domain::{Entity, EntityKind};

/// fanart.tv in metrics, status and messages.
pub const NAME: ProviderName = ProviderName {
    key: "fanarttv",
    display: "fanart.tv",
};

/// The fanart.tv client.
#[derive(Debug)]
pub struct FanartTv {
    client: KeyedClient,
}

impl ConfiguredEnricher for FanartTv {
    type Own = KeyedSettings;
    const NAME: ProviderName = NAME;

    fn from_client(client: PoliteClient, settings: &ProviderSection<KeyedSettings>) -> Self {
        Self {
            client: KeyedClient::new(client, &settings.own.api_key),
        }
    }
}

/// The image kinds of fanart.tv's artist answers, with their type and usual size.
const ARTIST_IMAGES: [(&str, ImageType, u32, u32); 5] = [
    ("artistthumb", ImageType::Poster, 1000, 1000),
    ("artistbackground", ImageType::Fanart, 1920, 1080),
    ("hdmusiclogo", ImageType::Logo, 800, 310),
    ("musiclogo", ImageType::Logo, 400, 155),
    ("musicbanner", ImageType::Banner, 1000, 185),
];

/// The image kinds of an album entry.
const ALBUM_IMAGES: [(&str, ImageType, u32, u32); 2] = [
    ("albumcover", ImageType::Cover, 1000, 1000),
    ("cdart", ImageType::Disc, 1000, 1000),
];

#[async_trait]
impl Enricher for FanartTv {
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
        let (path, album) = match context.entity {
            Entity::Artist(a) => (format!("music/{}", a.id), None),
            Entity::Album(a) => (format!("music/albums/{}", a.id), Some(a.id.to_string())),
            _ => return Err(ProviderError::NotFound),
        };
        let url = self.client.url_with_key(&path, "api_key")?;
        self.client
            .get_enrichment(url, path, priority, |raw| parse(raw, album.as_deref()))
            .await
    }

    fn status(&self) -> ProviderStatus {
        self.client.status()
    }
}

/// The images of an artist answer (`album`: `None`) or of one album of an albums answer.
pub fn parse(raw: &Value, album: Option<&str>) -> Result<Facts, ProviderError> {
    if !raw.is_object() {
        return Err(ProviderError::Malformed(
            "fanart.tv answered something other than an object".into(),
        ));
    }
    let mut images = Vec::new();
    match album {
        None => collect(raw, &ARTIST_IMAGES, &mut images),
        Some(mbid) => {
            let entry = raw
                .get("albums")
                .and_then(|albums| albums.get(mbid))
                .ok_or(ProviderError::NotFound)?;
            collect(entry, &ALBUM_IMAGES, &mut images);
        }
    }
    Ok(Facts {
        images,
        ..Facts::default()
    })
}

fn collect(from: &Value, kinds: &[(&str, ImageType, u32, u32)], images: &mut Vec<Image>) {
    for (key, image_type, width, height) in kinds {
        let mut found: Vec<(u64, Image)> = list(from, key)
            .iter()
            .filter_map(|entry| {
                let url = entry.get("url")?.as_str().and_then(web_url)?;
                let size = count(entry, "size").map(|s| s as u32);
                Some((
                    count(entry, "likes").unwrap_or(0),
                    Image {
                        image_type: *image_type,
                        url,
                        width: Some(size.unwrap_or(*width)),
                        height: Some(size.unwrap_or(*height)),
                        thumbnails: Default::default(),
                        source: NAME.key.to_owned(),
                    },
                ))
            })
            .collect();
        found.sort_by_key(|(likes, _)| std::cmp::Reverse(*likes));
        images.extend(found.into_iter().map(|(_, image)| image));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_most_liked_first_with_text_numbers() {
        let artist = json!({"name": "X", "mbid_id": "m",
            "artistthumb": [{"id": "1", "url": "https://assets.fanart.tv/a.jpg", "likes": "2"},
                            {"id": "2", "url": "https://assets.fanart.tv/b.jpg", "likes": "9"}],
            "hdmusiclogo": [{"id": "3", "url": "https://assets.fanart.tv/l.png", "likes": "0"}]});
        let facts = parse(&artist, None).unwrap();
        assert_eq!(facts.images[0].url, "https://assets.fanart.tv/b.jpg");
        assert_eq!(facts.images[2].image_type, ImageType::Logo);
        let albums = json!({"albums": {"rg": {"albumcover": [{"url": "https://assets.fanart.tv/c.jpg", "likes": "1"}],
            "cdart": [{"url": "https://assets.fanart.tv/d.png", "disc": "1", "size": "1000"}]}}});
        let facts = parse(&albums, Some("rg")).unwrap();
        assert_eq!(facts.images[1].image_type, ImageType::Disc);
        assert_eq!(parse(&albums, Some("other")), Err(ProviderError::NotFound));
    }
}
