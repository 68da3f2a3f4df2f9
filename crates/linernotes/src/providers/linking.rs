//! What the enrichers that link a provider's own entities to the catalogue's (Deezer, iTunes,
//! Discogs) share: the entity found and how ([`Found`]), the check that turns a link by identifier
//! into a conflict when the track counts disagree ([`track_count_conflict`]), and the answer when
//! nothing was linked ([`unlinked`]). What an entity is matched on is
//! [`crate::domain::matching::Candidate::wanted`].

use serde_json::Value;

use super::{Enrichment, ProviderError};
use crate::domain::enrichment::{Facts, LinkMethod};

/// A provider's entity found for a catalogue entity, with how and how surely.
#[derive(Debug, Clone)]
pub struct Found {
    /// The provider's body of the entity.
    pub body: Value,
    /// How it was found.
    pub method: LinkMethod,
    /// How sure the link is (1 for an identifier, the match's confidence for a fuzzy match).
    pub confidence: f64,
}

impl Found {
    /// Found through an identifier (URL relation, ISRC, barcode): certain.
    pub fn by(method: LinkMethod, body: Value) -> Self {
        Self {
            body,
            method,
            confidence: 1.0,
        }
    }

    /// Found by a fuzzy match of `confidence`.
    pub fn fuzzy(body: Value, confidence: f64) -> Self {
        Self {
            body,
            method: LinkMethod::Fuzzy,
            confidence,
        }
    }
}

/// The conflict recorded instead of a link when the provider's `what` `id`, found by `method`, has
/// `theirs` tracks and the release `ours` (a release with no tracks listed agrees with anything).
pub fn track_count_conflict(
    provider: &str,
    what: &str,
    id: &str,
    method: LinkMethod,
    theirs: usize,
    ours: usize,
) -> Option<String> {
    (ours > 0 && theirs != ours).then(|| {
        format!(
            "{provider} {what} {id} ({}) has {theirs} tracks, the release {ours}; not linked",
            method.as_str()
        )
    })
}

/// What an enricher that linked nothing answers: the conflicts it found, recorded and shown in
/// `sources`, or not found when there were none.
pub fn unlinked(conflicts: Vec<String>) -> Result<Enrichment, ProviderError> {
    if conflicts.is_empty() {
        return Err(ProviderError::NotFound);
    }
    Ok(Enrichment {
        request: "conflict".into(),
        raw: Value::Null,
        facts: Facts {
            conflicts,
            ..Facts::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_counts_conflict_only_when_both_are_known_and_differ() {
        let conflict = track_count_conflict("Deezer", "album", "7", LinkMethod::Barcode, 3, 1);
        assert_eq!(
            conflict.as_deref(),
            Some("Deezer album 7 (barcode) has 3 tracks, the release 1; not linked")
        );
        assert_eq!(
            track_count_conflict("Deezer", "album", "7", LinkMethod::Barcode, 3, 3),
            None
        );
        assert_eq!(
            track_count_conflict("Deezer", "album", "7", LinkMethod::Barcode, 3, 0),
            None
        );
        assert_eq!(unlinked(Vec::new()).unwrap_err(), ProviderError::NotFound);
        assert_eq!(unlinked(vec!["x".into()]).unwrap().facts.conflicts, ["x"]);
    }
}
