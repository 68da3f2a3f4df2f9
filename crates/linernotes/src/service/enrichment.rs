//! Enrichment policy: when the other providers are asked about a stored entity, and how what they
//! reported is merged into the answer.
//!
//! Enrichment runs in the background after the catalogue's answer is stored (a first read answers at
//! once, never waiting on an optional provider); a provider is asked again when its facts are older
//! than the entity's freshness age, after a failure once its back-off has passed, and on
//! `refresh=true`. Merging is a pure function of the stored facts, the configured precedence and the
//! preferred languages.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::MergeSettings;
use crate::domain::enrichment::{Enriched, Facts, ImageType, Link, LinkMethod, Source};
use crate::domain::links::linked_pages;
use crate::domain::{Entity, EntityKind};
use crate::store::metadata::{EnrichmentOutcome, StoredEnrichment};

/// The longest back-off between attempts of a failing provider.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(86_400);

/// The delay before the next attempt after `failures` failures in a row, from `base`.
pub fn retry_delay(base: Duration, failures: i32) -> Duration {
    let doublings = failures.saturating_sub(1).clamp(0, 20) as u32;
    base.saturating_mul(1 << doublings).min(MAX_RETRY_DELAY)
}

/// Whether a provider with this stored state should be asked now.
pub fn is_due(
    stored: Option<&StoredEnrichment>,
    now: DateTime<Utc>,
    freshness: Duration,
    forced: bool,
) -> bool {
    let Some(stored) = stored else {
        return true;
    };
    if forced {
        return true;
    }
    match stored.outcome {
        EnrichmentOutcome::Failed => stored.retry_at.is_none_or(|at| at <= now),
        EnrichmentOutcome::Found | EnrichmentOutcome::NotFound => stored
            .fetched_at
            .and_then(|at| now.signed_duration_since(at).to_std().ok())
            .is_some_and(|age| age > freshness),
    }
}

/// The catalogue fields of each kind, which always come from the catalogue.
fn catalogue_fields(kind: EntityKind) -> &'static [&'static str] {
    match kind {
        EntityKind::Artist => &[
            "name",
            "sort_name",
            "type",
            "gender",
            "country",
            "life_span",
            "area",
            "aliases",
            "genres",
            "tags",
            "urls",
        ],
        EntityKind::Album => &[
            "title",
            "primary_type",
            "secondary_types",
            "first_release_date",
            "artist_credit",
            "genres",
            "tags",
            "urls",
        ],
        EntityKind::Release => &[
            "title",
            "status",
            "date",
            "country",
            "barcode",
            "packaging",
            "album_id",
            "artist_credit",
            "labels",
            "media",
            "genres",
            "tags",
            "urls",
        ],
        EntityKind::Track => &[
            "title",
            "length_ms",
            "isrcs",
            "artist_credit",
            "first_release_date",
            "genres",
            "tags",
            "urls",
        ],
        EntityKind::Label => &[
            "name",
            "sort_name",
            "type",
            "country",
            "label_code",
            "life_span",
            "aliases",
            "genres",
            "tags",
            "urls",
        ],
    }
}

/// What a merge reads besides the stored facts.
#[derive(Debug, Clone, Copy)]
pub struct MergeInputs<'a> {
    /// The catalogue's name (`musicbrainz`).
    pub catalogue: &'a str,
    /// When the catalogue's answer was fetched.
    pub catalogue_fetched_at: DateTime<Utc>,
    /// The enabled enrichers, in the order they are configured (the default precedence).
    pub enrichers: &'a [&'a str],
    /// The configured precedence lists.
    pub precedence: &'a MergeSettings,
    /// Languages of the summary, most preferred first.
    pub languages: &'a [String],
}

/// Merges every enabled provider's stored facts about `entity` into the answer's fields.
pub fn merge(entity: &Entity, stored: &[StoredEnrichment], inputs: MergeInputs<'_>) -> Enriched {
    let kind = entity.kind();
    let mut enriched = Enriched::default();
    let catalogue_source = Source {
        provider: inputs.catalogue.to_owned(),
        fetched_at: inputs.catalogue_fetched_at,
        conflicts: Vec::new(),
    };
    for field in catalogue_fields(kind) {
        enriched
            .sources
            .insert((*field).to_owned(), catalogue_source.clone());
    }
    // Facts of the enabled providers only: a disabled provider's data is not shown.
    let facts: BTreeMap<&str, (&Facts, DateTime<Utc>)> = stored
        .iter()
        .filter(|s| inputs.enrichers.contains(&s.provider.as_str()))
        .filter_map(|s| Some((s.provider.as_str(), (&s.facts, s.fetched_at?))))
        .collect();
    let source_of = |provider: &str| -> Option<Source> {
        facts.get(provider).map(|(_, at)| Source {
            provider: provider.to_owned(),
            fetched_at: *at,
            conflicts: Vec::new(),
        })
    };
    let providers_for = |field: &str| -> Vec<&str> {
        match inputs.precedence.precedence(kind, field) {
            Some(listed) => listed
                .iter()
                .map(String::as_str)
                .filter(|p| facts.contains_key(p))
                .collect(),
            None => inputs
                .enrichers
                .iter()
                .copied()
                .filter(|p| facts.contains_key(p))
                .collect(),
        }
    };

    for image_type in ImageType::ALL {
        for provider in providers_for(image_type.as_str()) {
            let (provider_facts, _) = facts[provider];
            let images = provider_facts
                .images
                .iter()
                .filter(|i| i.image_type == image_type);
            for image in images {
                if enriched.images.iter().all(|known| known.url != image.url) {
                    let key = format!("images.{}", image_type.as_str());
                    if !enriched.sources.contains_key(&key) {
                        enriched
                            .sources
                            .extend(source_of(provider).map(|s| (key, s)));
                    }
                    enriched.images.push(image.clone());
                }
            }
        }
    }

    'languages: for language in inputs.languages {
        for provider in providers_for("bio") {
            let (provider_facts, _) = facts[provider];
            if let Some(bio) = provider_facts.bios.iter().find(|b| &b.language == language) {
                enriched.bio = Some(bio.clone());
                enriched
                    .sources
                    .extend(source_of(provider).map(|s| ("bio".to_owned(), s)));
                break 'languages;
            }
        }
    }

    for provider in providers_for("previews") {
        let (provider_facts, _) = facts[provider];
        if !provider_facts.previews.is_empty() && !enriched.sources.contains_key("previews") {
            enriched
                .sources
                .extend(source_of(provider).map(|s| ("previews".to_owned(), s)));
        }
        enriched
            .previews
            .extend(provider_facts.previews.iter().cloned());
    }

    for (id, url) in linked_pages(entity.urls()) {
        enriched.links.push(Link {
            platform: id.namespace().as_str().to_owned(),
            id: id.to_string(),
            url: Some(url.to_owned()),
            method: LinkMethod::UrlRelation,
            confidence: 1.0,
        });
    }
    if !enriched.links.is_empty() {
        enriched
            .sources
            .insert("links".to_owned(), catalogue_source.clone());
    }
    for provider in inputs.enrichers {
        let Some((provider_facts, _)) = facts.get(provider) else {
            continue;
        };
        for link in &provider_facts.links {
            if enriched.links.iter().all(|known| known.id != link.id) {
                enriched.links.push(link.clone());
                let key = format!("links.{}", link.platform);
                if !enriched.sources.contains_key(&key) {
                    enriched
                        .sources
                        .extend(source_of(provider).map(|s| (key, s)));
                }
            }
        }
        if !provider_facts.conflicts.is_empty() {
            if let Some(mut source) = source_of(provider) {
                source.conflicts = provider_facts.conflicts.clone();
                enriched
                    .sources
                    .insert(format!("conflicts.{provider}"), source);
            }
        }
    }

    let attribute_names: std::collections::BTreeSet<&String> = facts
        .values()
        .flat_map(|(f, _)| f.attributes.keys())
        .collect();
    for name in attribute_names {
        for provider in providers_for(name) {
            let (provider_facts, _) = facts[provider];
            if let Some(value) = provider_facts.attributes.get(name) {
                enriched.attributes.insert(name.clone(), value.clone());
                enriched
                    .sources
                    .extend(source_of(provider).map(|s| (name.clone(), s)));
                break;
            }
        }
    }
    enriched
}

/// The preferred languages: those asked for, then the configured ones, then English; each once.
pub fn preferred_languages(asked: &[String], configured: &[String]) -> Vec<String> {
    let mut languages: Vec<String> = Vec::new();
    for language in asked
        .iter()
        .chain(configured)
        .map(|l| l.to_ascii_lowercase())
        .chain(std::iter::once("en".to_owned()))
    {
        if !languages.contains(&language) {
            languages.push(language);
        }
    }
    languages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::enrichment::{Bio, Image};
    use crate::domain::{Album, Mbid};

    fn album() -> Entity {
        Entity::Album(Album {
            id: Mbid::parse("5b11f4ce-a62d-471e-81fc-a69a8278c7da").unwrap(),
            external_ids: vec![],
            title: "Whenever You Need Somebody".into(),
            primary_type: Some("Album".into()),
            secondary_types: vec![],
            first_release_date: Some("1987".into()),
            artist_credit: vec![],
            artist_credit_name: None,
            disambiguation: None,
            genres: vec![],
            tags: vec![],
            urls: vec![crate::domain::UrlRelation {
                relation_type: "discogs".into(),
                url: "https://www.discogs.com/master/96559".into(),
            }],
        })
    }

    fn cover(provider: &str) -> Image {
        Image {
            image_type: ImageType::Cover,
            url: format!("https://{provider}.example/cover.jpg"),
            width: None,
            height: None,
            thumbnails: BTreeMap::new(),
            source: provider.into(),
        }
    }

    fn stored(provider: &str, facts: Facts) -> StoredEnrichment {
        StoredEnrichment {
            provider: provider.into(),
            outcome: EnrichmentOutcome::Found,
            facts,
            fetched_at: Some(Utc::now()),
            attempted_at: Utc::now(),
            failures: 0,
            last_error: None,
            retry_at: None,
        }
    }

    fn bio(language: &str, source: &str) -> Bio {
        Bio {
            summary: format!("{source} in {language}"),
            url: None,
            language: language.into(),
            source: source.into(),
        }
    }

    #[test]
    fn precedence_orders_covers_and_config_overrides_it() {
        let rows = [
            stored(
                "deezer",
                Facts {
                    images: vec![cover("deezer")],
                    ..Facts::default()
                },
            ),
            stored(
                "coverartarchive",
                Facts {
                    images: vec![cover("coverartarchive")],
                    ..Facts::default()
                },
            ),
        ];
        let mut precedence = MergeSettings::default();
        precedence.album.insert(
            "cover".into(),
            vec!["coverartarchive".into(), "deezer".into()],
        );
        let inputs = MergeInputs {
            catalogue: "musicbrainz",
            catalogue_fetched_at: Utc::now(),
            enrichers: &["deezer", "coverartarchive"],
            precedence: &precedence,
            languages: &["en".into()],
        };
        let merged = merge(&album(), &rows, inputs);
        assert_eq!(merged.images[0].source, "coverartarchive");
        assert_eq!(merged.sources["images.cover"].provider, "coverartarchive");
        assert_eq!(merged.sources["title"].provider, "musicbrainz");
        assert_eq!(merged.links[0].id, "discogs:96559");
        assert_eq!(merged.links[0].method, LinkMethod::UrlRelation);

        let mut only_deezer = MergeSettings::default();
        only_deezer
            .album
            .insert("cover".into(), vec!["deezer".into()]);
        let merged = merge(
            &album(),
            &rows,
            MergeInputs {
                precedence: &only_deezer,
                ..inputs
            },
        );
        assert_eq!(
            merged.images.len(),
            1,
            "only listed providers supply the field"
        );
        assert_eq!(merged.images[0].source, "deezer");

        let merged = merge(
            &album(),
            &rows,
            MergeInputs {
                enrichers: &["deezer"],
                ..inputs
            },
        );
        assert!(
            merged.images.iter().all(|i| i.source == "deezer"),
            "a disabled provider's facts are not shown"
        );
    }

    #[test]
    fn the_bio_follows_language_then_provider() {
        let rows = [
            stored(
                "theaudiodb",
                Facts {
                    bios: vec![bio("de", "theaudiodb"), bio("en", "theaudiodb")],
                    ..Facts::default()
                },
            ),
            stored(
                "wikipedia",
                Facts {
                    bios: vec![bio("en", "wikipedia")],
                    ..Facts::default()
                },
            ),
        ];
        let precedence = MergeSettings::default();
        let languages = preferred_languages(&["de".into()], &["fr".into()]);
        assert_eq!(languages, ["de", "fr", "en"]);
        let inputs = MergeInputs {
            catalogue: "musicbrainz",
            catalogue_fetched_at: Utc::now(),
            enrichers: &["wikipedia", "theaudiodb"],
            precedence: &precedence,
            languages: &languages,
        };
        let merged = merge(&album(), &rows, inputs);
        assert_eq!(merged.bio.unwrap().summary, "theaudiodb in de");
        let english = ["en".to_owned()];
        let merged = merge(
            &album(),
            &rows,
            MergeInputs {
                languages: &english,
                ..inputs
            },
        );
        assert_eq!(merged.bio.unwrap().summary, "wikipedia in en");
        assert_eq!(merged.sources["bio"].provider, "wikipedia");
    }

    #[test]
    fn failures_back_off_and_stale_facts_are_due() {
        let base = Duration::from_secs(60);
        assert_eq!(retry_delay(base, 1), Duration::from_secs(60));
        assert_eq!(retry_delay(base, 3), Duration::from_secs(240));
        assert_eq!(retry_delay(base, 40), MAX_RETRY_DELAY);
        let now = Utc::now();
        let week = Duration::from_secs(7 * 86_400);
        let mut row = stored("coverartarchive", Facts::default());
        assert!(!is_due(Some(&row), now, week, false));
        assert!(is_due(Some(&row), now, week, true));
        assert!(is_due(None, now, week, false));
        row.fetched_at = Some(now - chrono::Duration::days(8));
        assert!(is_due(Some(&row), now, week, false));
        row.outcome = EnrichmentOutcome::Failed;
        row.retry_at = Some(now + chrono::Duration::minutes(1));
        assert!(!is_due(Some(&row), now, week, false));
    }
}
