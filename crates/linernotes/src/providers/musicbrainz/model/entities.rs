//! The MusicBrainz core entities (artist, release group, release with its media and tracks, recording,
//! label) and their conversion into domain entities.

use serde::Deserialize;

use crate::domain::{
    known, Album, Artist, CreditedArtist, Label, Medium, Namespace, Release, ReleaseLabel,
    ReleaseTrack, Track,
};

use super::parts::*;
use super::*;

/// A MusicBrainz artist.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(super) struct RawArtist {
    #[serde(flatten)]
    pub(super) common: RawCommon,
    pub(super) name: Option<String>,
    pub(super) sort_name: Option<String>,
    #[serde(rename = "type")]
    pub(super) artist_type: Option<String>,
    pub(super) gender: Option<String>,
    pub(super) country: Option<String>,
    pub(super) area: Option<RawRef>,
    pub(super) life_span: Option<RawLifeSpan>,
    pub(super) aliases: Option<Vec<RawAlias>>,
}

impl RawArtist {
    pub(super) fn convert(self) -> Result<Artist, ParseError> {
        let common = self.common.convert("artist")?;
        Ok(Artist {
            id: common.id,
            external_ids: vec![common.id.to_entity_id()],
            name: required(self.name, "artist", "name")?,
            sort_name: text(self.sort_name),
            artist_type: text(self.artist_type),
            gender: text(self.gender),
            country: text(self.country),
            life_span: self.life_span.unwrap_or_default().convert(),
            area: self.area.and_then(|a| text(a.name)),
            disambiguation: common.disambiguation,
            aliases: convert_all(self.aliases, RawAlias::convert),
            genres: common.genres,
            tags: common.tags,
            urls: common.urls,
        })
    }
}

/// A MusicBrainz release group.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(super) struct RawReleaseGroup {
    #[serde(flatten)]
    pub(super) common: RawCommon,
    pub(super) title: Option<String>,
    pub(super) primary_type: Option<String>,
    pub(super) secondary_types: Option<Vec<String>>,
    pub(super) first_release_date: Option<String>,
    pub(super) artist_credit: Option<Vec<RawCredit>>,
}

impl RawReleaseGroup {
    pub(super) fn convert(self) -> Result<Album, ParseError> {
        let common = self.common.convert("release-group")?;
        let artist_credit = credits(self.artist_credit);
        Ok(Album {
            id: common.id,
            external_ids: vec![common.id.to_entity_id()],
            title: required(self.title, "release-group", "title")?,
            primary_type: text(self.primary_type),
            secondary_types: convert_all(self.secondary_types, text),
            first_release_date: text(self.first_release_date),
            artist_credit_name: known(CreditedArtist::display_name(&artist_credit)),
            artist_credit,
            disambiguation: common.disambiguation,
            genres: common.genres,
            tags: common.tags,
            urls: common.urls,
        })
    }
}

/// A MusicBrainz release.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(super) struct RawRelease {
    #[serde(flatten)]
    pub(super) common: RawCommon,
    pub(super) title: Option<String>,
    pub(super) status: Option<String>,
    pub(super) date: Option<String>,
    pub(super) country: Option<String>,
    pub(super) barcode: Option<String>,
    pub(super) packaging: Option<String>,
    pub(super) release_group: Option<RawRef>,
    pub(super) artist_credit: Option<Vec<RawCredit>>,
    pub(super) label_info: Option<Vec<RawLabelInfo>>,
    pub(super) media: Option<Vec<RawMedium>>,
}

impl RawRelease {
    pub(super) fn convert(self) -> Result<Release, ParseError> {
        let common = self.common.convert("release")?;
        let title = required(self.title, "release", "title")?;
        let barcode = text(self.barcode);
        let artist_credit = credits(self.artist_credit);
        let artist_credit_name = known(CreditedArtist::display_name(&artist_credit));
        let media = self
            .media
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(index, medium)| {
                medium.convert(
                    index,
                    artist_credit_name.as_deref(),
                    artist_credit.first().map(|c| c.artist_id),
                )
            })
            .collect();
        Ok(Release {
            id: common.id,
            external_ids: external_ids(common.id, Namespace::Barcode, barcode.as_deref()),
            title,
            status: text(self.status),
            date: text(self.date),
            country: text(self.country),
            barcode,
            packaging: text(self.packaging),
            album_id: self.release_group.and_then(|g| mbid(g.id)),
            artist_credit,
            artist_credit_name,
            labels: convert_all(self.label_info, RawLabelInfo::convert),
            media,
            disambiguation: common.disambiguation,
            genres: common.genres,
            tags: common.tags,
            urls: common.urls,
        })
    }
}

/// One element of a release's `label-info`.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(super) struct RawLabelInfo {
    pub(super) catalog_number: Option<String>,
    pub(super) label: Option<RawRef>,
}

impl RawLabelInfo {
    /// `None` when the element names neither a label nor a catalogue number.
    pub(super) fn convert(self) -> Option<ReleaseLabel> {
        let label = self.label.unwrap_or_default();
        let release_label = ReleaseLabel {
            label_id: mbid(label.id),
            name: text(label.name),
            catalog_number: text(self.catalog_number),
        };
        (release_label.label_id.is_some()
            || release_label.name.is_some()
            || release_label.catalog_number.is_some())
        .then_some(release_label)
    }
}

/// A medium of a release. Only `tracks` is read: the pregap (hidden track) and data tracks MusicBrainz
/// lists apart stay apart, so `tracks` means the same here as there.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(super) struct RawMedium {
    pub(super) position: Option<i32>,
    pub(super) format: Option<String>,
    pub(super) title: Option<String>,
    pub(super) tracks: Option<Vec<RawTrack>>,
}

impl RawMedium {
    pub(super) fn convert(
        self,
        index: usize,
        release_credit: Option<&str>,
        release_artist: Option<Mbid>,
    ) -> Medium {
        let tracks = self
            .tracks
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(index, track)| track.convert(index, release_credit, release_artist))
            .collect();
        Medium {
            position: self.position.unwrap_or_else(|| position_from_index(index)),
            format: text(self.format),
            title: text(self.title),
            tracks,
        }
    }
}

/// A track of a medium.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(super) struct RawTrack {
    pub(super) id: Option<String>,
    pub(super) position: Option<i32>,
    pub(super) number: Option<String>,
    pub(super) title: Option<String>,
    pub(super) length: Option<i64>,
    pub(super) artist_credit: Option<Vec<RawCredit>>,
    pub(super) recording: Option<RawRecording>,
}

impl RawTrack {
    /// The credit falls back to the recording's, then to `release_credit` (and its first artist,
    /// `release_artist`); title and length fall back to the recording's. `None` when the track has no
    /// title at all.
    pub(super) fn convert(
        self,
        index: usize,
        release_credit: Option<&str>,
        release_artist: Option<Mbid>,
    ) -> Option<ReleaseTrack> {
        let recording = self.recording.unwrap_or_default();
        let own = credits(self.artist_credit);
        let credit = if own.is_empty() {
            credits(recording.artist_credit)
        } else {
            own
        };
        let artist_credit_name = credit_name(&credit).or_else(|| release_credit.map(str::to_owned));
        let artist_id = credit.first().map(|c| c.artist_id).or(release_artist);
        Some(ReleaseTrack {
            position: self.position.unwrap_or_else(|| position_from_index(index)),
            number: text(self.number),
            title: text(self.title).or_else(|| text(recording.title))?,
            length_ms: self.length.or(recording.length),
            track_id: mbid(recording.common.id),
            release_track_id: mbid(self.id),
            artist_credit_name,
            artist_id,
        })
    }
}

/// A MusicBrainz recording (also the `recording` of a release track).
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(super) struct RawRecording {
    #[serde(flatten)]
    pub(super) common: RawCommon,
    pub(super) title: Option<String>,
    pub(super) length: Option<i64>,
    pub(super) isrcs: Option<Vec<String>>,
    pub(super) first_release_date: Option<String>,
    pub(super) artist_credit: Option<Vec<RawCredit>>,
}

impl RawRecording {
    pub(super) fn convert(self) -> Result<Track, ParseError> {
        let common = self.common.convert("recording")?;
        let isrcs = convert_all(self.isrcs, text);
        let artist_credit = credits(self.artist_credit);
        Ok(Track {
            id: common.id,
            external_ids: external_ids(
                common.id,
                Namespace::Isrc,
                isrcs.iter().map(String::as_str),
            ),
            title: required(self.title, "recording", "title")?,
            length_ms: self.length,
            isrcs,
            artist_credit_name: known(CreditedArtist::display_name(&artist_credit)),
            artist_credit,
            first_release_date: text(self.first_release_date),
            disambiguation: common.disambiguation,
            genres: common.genres,
            tags: common.tags,
            urls: common.urls,
        })
    }
}

/// A MusicBrainz label.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(super) struct RawLabel {
    #[serde(flatten)]
    pub(super) common: RawCommon,
    pub(super) name: Option<String>,
    pub(super) sort_name: Option<String>,
    #[serde(rename = "type")]
    pub(super) label_type: Option<String>,
    pub(super) country: Option<String>,
    pub(super) label_code: Option<i32>,
    pub(super) life_span: Option<RawLifeSpan>,
    pub(super) aliases: Option<Vec<RawAlias>>,
}

impl RawLabel {
    pub(super) fn convert(self) -> Result<Label, ParseError> {
        let common = self.common.convert("label")?;
        Ok(Label {
            id: common.id,
            external_ids: vec![common.id.to_entity_id()],
            name: required(self.name, "label", "name")?,
            sort_name: text(self.sort_name),
            label_type: text(self.label_type),
            country: text(self.country),
            label_code: self.label_code,
            life_span: self.life_span.unwrap_or_default().convert(),
            disambiguation: common.disambiguation,
            aliases: convert_all(self.aliases, RawAlias::convert),
            genres: common.genres,
            tags: common.tags,
            urls: common.urls,
        })
    }
}
