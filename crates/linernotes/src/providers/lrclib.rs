//! LRCLIB: plain and time-synced lyrics of tracks, by title, artist and duration.
//!
//! `/api/get` answers one object (or 404 with `{"name": "TrackNotFound", …}`); `/api/search` a bare
//! array. `duration` is a float (an integer in older bodies); `plainLyrics` and `syncedLyrics` may be
//! `null`; an instrumental says so. `albumName` is sometimes junk (`"."`, `"null"`, `"N/A"`), so it is
//! neither asked for nor read: the duration tells versions apart.

use async_trait::async_trait;
use serde_json::Value;

use super::client::{PoliteClient, ProviderName};
use super::lenient::{flag, number, text};
use super::{ConfiguredEnricher, EnrichContext, Enricher, Enrichment, Priority, ProviderError};
use crate::config::{EnricherSettings, ProviderSection};
use crate::domain::enrichment::{Facts, Lyrics};
use crate::domain::matching::{best_match, Candidate};
use crate::domain::provider::ProviderStatus;
use crate::domain::{Entity, EntityKind};

/// LRCLIB in metrics, status and messages.
pub const NAME: ProviderName = ProviderName {
    key: "lrclib",
    display: "LRCLIB",
};

/// Lyrics whose recording differs in length by more than this are of another version.
const MAX_DURATION_GAP_SECS: f64 = 10.0;

/// The LRCLIB client.
#[derive(Debug)]
pub struct Lrclib {
    client: PoliteClient,
}

impl ConfiguredEnricher for Lrclib {
    type Own = EnricherSettings;
    const NAME: ProviderName = NAME;

    fn from_client(client: PoliteClient, _: &ProviderSection<EnricherSettings>) -> Self {
        Self { client }
    }
}

impl Lrclib {
    async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
        priority: Priority,
    ) -> Result<Value, ProviderError> {
        let mut url = self.client.url(path)?;
        url.query_pairs_mut()
            .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        self.client.get_json(url, priority, |_, raw| Ok(raw)).await
    }
}

#[async_trait]
impl Enricher for Lrclib {
    fn name(&self) -> &'static str {
        NAME.key
    }

    fn enriches(&self, kind: EntityKind) -> bool {
        kind == EntityKind::Track
    }

    async fn enrich(
        &self,
        context: &EnrichContext<'_>,
        priority: Priority,
    ) -> Result<Enrichment, ProviderError> {
        let Entity::Track(track) = context.entity else {
            return Err(ProviderError::NotFound);
        };
        let artist = track.artist_credit_name.clone().unwrap_or_default();
        if artist.is_empty() {
            return Err(ProviderError::NotFound);
        }
        let mut query = vec![
            ("track_name", track.title.clone()),
            ("artist_name", artist.clone()),
        ];
        if let Some(length) = track.length_ms {
            query.push(("duration", (length / 1000).to_string()));
        }
        let found = match self.get("api/get", &query, priority).await {
            Ok(found) => Some(found),
            Err(ProviderError::NotFound) => None,
            Err(err) => return Err(err),
        };
        let found = match found {
            Some(found) => found,
            None => {
                // Not under these exact names: search, and take a close enough match.
                let results = self.get("api/search", &query[..2], priority).await?;
                let wanted = Candidate {
                    title: track.title.clone(),
                    artist,
                    length_ms: track.length_ms,
                    track_count: None,
                };
                let candidates = results.as_array().into_iter().flatten().map(|r| {
                    let c = Candidate {
                        title: text(r, "trackName").unwrap_or_default(),
                        artist: text(r, "artistName").unwrap_or_default(),
                        length_ms: number(r, "duration").map(|s| (s * 1000.0) as i64),
                        track_count: None,
                    };
                    (r.clone(), c)
                });
                best_match(&wanted, candidates, context.match_threshold)
                    .map(|(r, _)| r)
                    .ok_or(ProviderError::NotFound)?
            }
        };
        let lyrics = parse_lyrics(&found, track.length_ms)?;
        Ok(Enrichment {
            request: format!("lyrics:{}", text(&found, "id").unwrap_or_default()),
            raw: found,
            facts: Facts {
                lyrics: Some(lyrics),
                ..Facts::default()
            },
        })
    }

    fn status(&self) -> ProviderStatus {
        self.client.status()
    }
}

/// The lyrics of one LRCLIB record, refused ([`ProviderError::NotFound`]) when its duration shows it
/// is another version of the track, or when it has neither lyrics nor the instrumental mark.
pub fn parse_lyrics(record: &Value, length_ms: Option<i64>) -> Result<Lyrics, ProviderError> {
    if !record.is_object() {
        return Err(ProviderError::Malformed(
            "LRCLIB answered something other than a record".into(),
        ));
    }
    if let (Some(theirs), Some(ours)) = (number(record, "duration"), length_ms) {
        if (theirs - ours as f64 / 1000.0).abs() > MAX_DURATION_GAP_SECS {
            return Err(ProviderError::NotFound);
        }
    }
    let lyric = |key: &str| {
        record
            .get(key)
            .and_then(Value::as_str)
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
    };
    let plain = lyric("plainLyrics");
    let synced = lyric("syncedLyrics");
    let instrumental = flag(record, "instrumental").unwrap_or(false);
    if plain.is_none() && synced.is_none() && !instrumental {
        return Err(ProviderError::NotFound);
    }
    Ok(Lyrics {
        plain: if instrumental { None } else { plain },
        synced: if instrumental { None } else { synced },
        instrumental,
        source: NAME.key.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn instrumentals_and_other_versions() {
        let record = json!({"id": 1, "trackName": "T", "artistName": "A", "albumName": ".",
            "duration": 240.852175, "instrumental": true, "plainLyrics": null, "syncedLyrics": null});
        let lyrics = parse_lyrics(&record, Some(241_000)).unwrap();
        assert!(lyrics.instrumental);
        assert_eq!(lyrics.plain, None);
        assert_eq!(
            parse_lyrics(&record, Some(300_000)),
            Err(ProviderError::NotFound),
            "a recording a minute longer is another version"
        );
        let empty = json!({"duration": 200, "instrumental": false, "plainLyrics": "", "syncedLyrics": null});
        assert_eq!(parse_lyrics(&empty, None), Err(ProviderError::NotFound));
    }
}
