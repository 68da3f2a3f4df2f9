//! Which providers run: the catalogue source and the enrichers, built once from the configuration
//! and read by the metadata service.

use std::sync::Arc;

use super::client::{user_agent, PoliteClient};
use super::coverartarchive::CoverArtArchive;
use super::deezer::Deezer;
use super::discogs::Discogs;
use super::fanarttv::FanartTv;
use super::itunes::Itunes;
use super::lrclib::Lrclib;
use super::musicbrainz::MusicBrainzClient;
use super::theaudiodb::TheAudioDb;
use super::wikidata::Wikidata;
use super::wikipedia::Wikipedia;
use super::{CatalogueSource, ConfiguredEnricher, Enricher};
use crate::config::{ProviderSection, ProvidersSettings};
use crate::domain::provider::ProviderStatus;
use crate::support::redis::RedisHandle;
use crate::support::Clock;

/// The providers of one instance. Cheap to clone; clones share the clients.
#[derive(Clone)]
pub struct ProviderRegistry {
    catalogue: Arc<dyn CatalogueSource>,
    enrichers: Vec<Arc<dyn Enricher>>,
}

impl std::fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderRegistry")
            .field("catalogue", &self.catalogue.name())
            .field(
                "enrichers",
                &self.enrichers.iter().map(|e| e.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ProviderRegistry {
    /// A registry around `catalogue`, with no enrichers yet.
    pub fn new(catalogue: Arc<dyn CatalogueSource>) -> Self {
        Self {
            catalogue,
            enrichers: Vec::new(),
        }
    }

    /// Adds an enricher.
    pub fn with_enricher(mut self, enricher: Arc<dyn Enricher>) -> Self {
        self.enrichers.push(enricher);
        self
    }

    /// The catalogue source.
    pub fn catalogue(&self) -> &dyn CatalogueSource {
        self.catalogue.as_ref()
    }

    /// The enrichers, in the order they were added.
    pub fn enrichers(&self) -> &[Arc<dyn Enricher>] {
        &self.enrichers
    }

    /// The status of every provider: the catalogue first, then the enrichers.
    pub fn statuses(&self) -> Vec<ProviderStatus> {
        std::iter::once(self.catalogue.status())
            .chain(self.enrichers.iter().map(|e| e.status()))
            .collect()
    }
}

/// Builds one enricher from the settings, a User-Agent, the shared Redis and the clock.
type EnricherBuilder = fn(
    &ProvidersSettings,
    &str,
    Option<RedisHandle>,
    Arc<dyn Clock>,
) -> Result<Arc<dyn Enricher>, String>;

/// The enricher `E` from its section: its polite client first, then what it keeps of the section.
fn enricher<E: ConfiguredEnricher>(
    section: &ProviderSection<E::Own>,
    user_agent: &str,
    redis: Option<RedisHandle>,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn Enricher>, String> {
    let client = PoliteClient::for_enricher(E::NAME, &section.client, user_agent, redis, clock)?;
    Ok(Arc::new(E::from_client(client, section)))
}

/// Builds the configured providers. With `redis`, every provider's request budget is shared by all
/// instances.
pub fn build(
    settings: &ProvidersSettings,
    redis: Option<RedisHandle>,
    clock: Arc<dyn Clock>,
) -> Result<ProviderRegistry, String> {
    let musicbrainz = MusicBrainzClient::new(&settings.musicbrainz, redis.clone(), clock.clone())?;
    let agent = user_agent(&settings.musicbrainz.contact);
    // Order matters: an enricher sees what those before it found (Wikipedia reads Wikidata's titles).
    let enrichers: [(bool, EnricherBuilder); 9] = [
        (settings.coverartarchive.enabled, |s, a, r, c| {
            enricher::<CoverArtArchive>(&s.coverartarchive, a, r, c)
        }),
        (settings.fanarttv.enabled(), |s, a, r, c| {
            enricher::<FanartTv>(&s.fanarttv, a, r, c)
        }),
        (settings.theaudiodb.enabled(), |s, a, r, c| {
            enricher::<TheAudioDb>(&s.theaudiodb, a, r, c)
        }),
        (settings.wikidata.enabled, |s, a, r, c| {
            enricher::<Wikidata>(&s.wikidata, a, r, c)
        }),
        (settings.wikipedia.enabled, |s, a, r, c| {
            enricher::<Wikipedia>(&s.wikipedia, a, r, c)
        }),
        (settings.deezer.enabled, |s, a, r, c| {
            enricher::<Deezer>(&s.deezer, a, r, c)
        }),
        (settings.itunes.enabled, |s, a, r, c| {
            enricher::<Itunes>(&s.itunes, a, r, c)
        }),
        (settings.lrclib.enabled, |s, a, r, c| {
            enricher::<Lrclib>(&s.lrclib, a, r, c)
        }),
        (settings.discogs.enabled(), |s, a, r, c| {
            enricher::<Discogs>(&s.discogs, a, r, c)
        }),
    ];
    let mut registry = ProviderRegistry::new(Arc::new(musicbrainz));
    for (enabled, build) in enrichers {
        if enabled {
            registry =
                registry.with_enricher(build(settings, &agent, redis.clone(), clock.clone())?);
        }
    }
    Ok(registry)
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;
    use crate::config::Settings;
    use crate::domain::EntityKind;
    use crate::providers::{EnrichContext, Enrichment, Priority, ProviderError};
    use crate::support::SystemClock;

    struct Covers;

    #[async_trait]
    impl Enricher for Covers {
        fn name(&self) -> &'static str {
            "covers"
        }
        fn enriches(&self, kind: EntityKind) -> bool {
            kind == EntityKind::Release
        }
        async fn enrich(
            &self,
            _: &EnrichContext<'_>,
            _: Priority,
        ) -> Result<Enrichment, ProviderError> {
            Err(ProviderError::NotFound)
        }
        fn status(&self) -> ProviderStatus {
            ProviderStatus {
                name: "covers",
                state: "ok",
                last_success: None,
                last_error_at: None,
                last_error: None,
                requests_per_second: 1.0,
                queued_requests: 0,
                shared_budget: false,
            }
        }
    }

    #[test]
    fn statuses_list_the_catalogue_then_every_enricher() {
        let settings = Settings::load_from(None, &Default::default()).unwrap();
        let registry = build(&settings.providers, None, Arc::new(SystemClock))
            .unwrap()
            .with_enricher(Arc::new(Covers));
        let names: Vec<_> = registry.statuses().iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "musicbrainz",
                "coverartarchive",
                "wikidata",
                "wikipedia",
                "deezer",
                "itunes",
                "lrclib",
                "covers"
            ]
        );
        assert_eq!(registry.catalogue().display_name(), "MusicBrainz");
        let last = registry.enrichers().last().unwrap();
        assert!(last.enriches(EntityKind::Release));
    }
}
