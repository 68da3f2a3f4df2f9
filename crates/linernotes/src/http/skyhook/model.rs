//! The wire shapes of Lidarr's metadata API with the exact keys the live service emits (SKYHOOK.md
//! §3): lowercase on artists and albums, capitalised on their nested albums, releases, media and
//! tracks, `remoteUrl` on images, `Count`/`Value` on ratings. Lidarr reads keys case-insensitively,
//! but proxies and byte-level tests do not, so every key is spelled out with `rename`. Empty lists
//! are `[]`, never `null` or absent.
//!
//! The conversions from the domain live here too: pure functions, no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::domain::countries::country_name;
use crate::domain::enrichment::{Enriched, ImageType};
use crate::domain::{Album, Artist, Mbid, Release, UrlRelation};

/// An artist (`artist/{mbid}`, artist search hits, and inside albums without `Albums`).
#[derive(Debug, Clone, Serialize)]
pub struct ArtistResource {
    /// The artist's MBID.
    pub id: String,
    /// MBIDs merged into this artist.
    pub oldids: Vec<String>,
    /// Name.
    pub artistname: String,
    /// Sort name (Lidarr recomputes it).
    pub sortname: String,
    /// Other names (artist names and unnamed types only, as upstream).
    pub artistaliases: Vec<String>,
    /// Disambiguation comment, `""` when none.
    pub disambiguation: String,
    /// A summary (biography), when an enricher found one.
    pub overview: Option<String>,
    /// `Person`, `Group`, …
    #[serde(rename = "type")]
    pub artist_type: Option<String>,
    /// `active` or `ended`.
    pub status: &'static str,
    /// Genres in Title Case.
    pub genres: Vec<String>,
    /// Pictures.
    pub images: Vec<Image>,
    /// Links to other sites.
    pub links: Vec<Link>,
    /// Ratings (none are kept: always zero votes).
    pub rating: Rating,
    /// Every album of the artist; absent inside albums.
    #[serde(rename = "Albums", skip_serializing_if = "Option::is_none")]
    pub albums: Option<Vec<ArtistAlbum>>,
}

/// One album of an artist's list.
#[derive(Debug, Clone, Serialize)]
pub struct ArtistAlbum {
    /// The album's (release group's) MBID.
    #[serde(rename = "Id")]
    pub id: String,
    /// MBIDs merged into it.
    #[serde(rename = "OldIds")]
    pub old_ids: Vec<String>,
    /// Title.
    #[serde(rename = "Title")]
    pub title: String,
    /// Primary type, `Other` when none.
    #[serde(rename = "Type")]
    pub album_type: String,
    /// Secondary types, sorted.
    #[serde(rename = "SecondaryTypes")]
    pub secondary_types: Vec<String>,
    /// Statuses of its releases.
    #[serde(rename = "ReleaseStatuses")]
    pub release_statuses: Vec<String>,
    /// First release date, `YYYY-MM-DD`.
    #[serde(rename = "ReleaseDate")]
    pub release_date: Option<String>,
    /// Always null, as upstream.
    #[serde(rename = "Rating")]
    pub rating: Option<Rating>,
}

/// An album (`album/{mbid}`, album search hits, fingerprint answers).
#[derive(Debug, Clone, Serialize)]
pub struct AlbumResource {
    /// The album's (release group's) MBID.
    pub id: String,
    /// MBIDs merged into it.
    pub oldids: Vec<String>,
    /// Title.
    pub title: String,
    /// Disambiguation comment, `""` when none.
    pub disambiguation: String,
    /// Release titles that differ from the album's.
    pub aliases: Vec<String>,
    /// A summary, when an enricher found one.
    pub overview: Option<String>,
    /// Primary type, `Other` when none.
    #[serde(rename = "type")]
    pub album_type: String,
    /// Secondary types, sorted.
    pub secondarytypes: Vec<String>,
    /// Statuses of its releases.
    pub releasestatuses: Vec<String>,
    /// First release date, `YYYY-MM-DD`.
    pub releasedate: Option<String>,
    /// The first credited artist.
    pub artistid: String,
    /// That artist and every track's artist, each once.
    pub artists: Vec<ArtistResource>,
    /// Genres in Title Case.
    pub genres: Vec<String>,
    /// Cover and disc art.
    pub images: Vec<Image>,
    /// Links to other sites.
    pub links: Vec<Link>,
    /// Ratings (always zero votes).
    pub rating: Rating,
    /// Every release with its media and tracks (empty in searches without `includeTracks`).
    #[serde(rename = "Releases")]
    pub releases: Vec<ReleaseResource>,
}

/// One release of an album.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseResource {
    /// The release's MBID.
    #[serde(rename = "Id")]
    pub id: String,
    /// MBIDs merged into it.
    #[serde(rename = "OldIds")]
    pub old_ids: Vec<String>,
    /// Title.
    #[serde(rename = "Title")]
    pub title: String,
    /// Disambiguation comment, `""` when none.
    #[serde(rename = "Disambiguation")]
    pub disambiguation: String,
    /// `Official`, `Promotion`, `Bootleg`, `Pseudo-Release`, …
    #[serde(rename = "Status")]
    pub status: String,
    /// Release countries by name (`United Kingdom`, `[Worldwide]`).
    #[serde(rename = "Country")]
    pub country: Vec<String>,
    /// Label names, sorted.
    #[serde(rename = "Label")]
    pub label: Vec<String>,
    /// Release date, `YYYY-MM-DD`.
    #[serde(rename = "ReleaseDate")]
    pub release_date: Option<String>,
    /// Media.
    #[serde(rename = "Media")]
    pub media: Vec<MediumResource>,
    /// Number of tracks.
    #[serde(rename = "TrackCount")]
    pub track_count: usize,
    /// Tracks of every medium.
    #[serde(rename = "Tracks")]
    pub tracks: Vec<TrackResource>,
}

/// One medium of a release.
#[derive(Debug, Clone, Serialize)]
pub struct MediumResource {
    /// 1-based position.
    #[serde(rename = "Position")]
    pub position: i32,
    /// Medium title, `""` when none.
    #[serde(rename = "Name")]
    pub name: String,
    /// `CD`, `Digital Media`, `12" Vinyl`, …
    #[serde(rename = "Format")]
    pub format: String,
}

/// One track of a release.
#[derive(Debug, Clone, Serialize)]
pub struct TrackResource {
    /// The track's own MBID.
    #[serde(rename = "Id")]
    pub id: String,
    /// MBIDs merged into it.
    #[serde(rename = "OldIds")]
    pub old_ids: Vec<String>,
    /// The recording's MBID.
    #[serde(rename = "RecordingId")]
    pub recording_id: String,
    /// Recording MBIDs merged into it.
    #[serde(rename = "OldRecordingIds")]
    pub old_recording_ids: Vec<String>,
    /// The first credited artist; always one of the album's `artists`.
    #[serde(rename = "ArtistId")]
    pub artist_id: String,
    /// Title as printed on the release.
    #[serde(rename = "TrackName")]
    pub track_name: String,
    /// The printed number (`"1"`, `"A1"`).
    #[serde(rename = "TrackNumber")]
    pub track_number: String,
    /// Position on the medium.
    #[serde(rename = "TrackPosition")]
    pub track_position: i32,
    /// The medium's position.
    #[serde(rename = "MediumNumber")]
    pub medium_number: i32,
    /// Length in milliseconds.
    #[serde(rename = "DurationMs")]
    pub duration_ms: Option<i64>,
}

/// A picture.
#[derive(Debug, Clone, Serialize)]
pub struct Image {
    /// `Poster`, `Banner`, `Fanart`, `Logo` (artists); `Cover`, `Disc` (albums).
    #[serde(rename = "CoverType")]
    pub cover_type: &'static str,
    /// Where Lidarr downloads it.
    #[serde(rename = "Url")]
    pub url: String,
    /// The provider's own URL.
    #[serde(rename = "remoteUrl")]
    pub remote_url: String,
}

/// A link to another site.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// The URL.
    pub target: String,
    /// The site's label (`discogs`, `bbc`, `youtube`).
    #[serde(rename = "type")]
    pub link_type: String,
}

/// Votes on a 0–10 scale.
#[derive(Debug, Clone, Serialize)]
pub struct Rating {
    /// Number of votes.
    #[serde(rename = "Count")]
    pub count: i64,
    /// Average, `null` without votes.
    #[serde(rename = "Value")]
    pub value: Option<f64>,
}

/// The rating of an entity nobody voted on (linernotes keeps no ratings).
pub fn no_rating() -> Rating {
    Rating {
        count: 0,
        value: None,
    }
}

/// `{"score", "artist", "album"}` of `search?type=all`.
#[derive(Debug, Clone, Serialize)]
pub struct EntityResource {
    /// Always 0, as upstream.
    pub score: i32,
    /// The artist, for artist hits.
    pub artist: Option<ArtistResource>,
    /// The album, for album hits.
    pub album: Option<AlbumResource>,
}

/// `recent/artist` and `recent/album`.
#[derive(Debug, Clone, Serialize)]
pub struct RecentUpdates {
    /// The time asked about, ISO 8601 with offset.
    pub since: String,
    /// Number of items.
    pub count: usize,
    /// True: Lidarr then refreshes on its own schedule and ignores `items`.
    pub limited: bool,
    /// Changed MBIDs.
    pub items: Vec<String>,
}

/// `GET /`: what is serving.
#[derive(Debug, Clone, Serialize)]
pub struct ServerInfo {
    /// linernotes' version.
    pub version: &'static str,
    /// Always `linernotes`.
    pub branch: &'static str,
    /// Empty: not built from a known commit.
    pub commit: &'static str,
    /// Null: linernotes fetches on demand rather than replicating.
    pub replication_date: Option<String>,
}

/// MBIDs merged into other entities, by the surviving MBID.
pub type MergedIds = BTreeMap<Mbid, Vec<Mbid>>;

fn old_ids(merged: &MergedIds, mbid: Mbid) -> Vec<String> {
    merged
        .get(&mbid)
        .map(|old| old.iter().map(Mbid::to_string).collect())
        .unwrap_or_default()
}

/// A partial date filled to `YYYY-MM-DD` with `01`s; `None` when it has no year.
pub fn full_date(date: Option<&str>) -> Option<String> {
    let date = date?.trim();
    let mut parts = date.split('-');
    let year = parts.next().filter(|y| y.len() == 4)?;
    let month = parts.next().unwrap_or("01");
    let day = parts.next().unwrap_or("01");
    Some(format!("{year}-{month}-{day}"))
}

/// A genre in Title Case (`indie rock` → `Indie Rock`, `synth-pop` → `Synth-Pop`).
pub fn title_case(genre: &str) -> String {
    let mut out = String::with_capacity(genre.len());
    let mut start = true;
    for c in genre.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric() && c != '\'';
    }
    out
}

/// The site label of a URL: the second-level domain label, `co`/`com` style labels skipped
/// (`https://www.bbc.co.uk/x` → `bbc`, `music.youtube.com` → `youtube`).
pub fn site_label(url: &str) -> String {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
    let mut rest = labels.as_slice();
    if let [init @ .., _tld] = rest {
        rest = init;
    }
    while let [init @ .., last] = rest {
        if matches!(*last, "co" | "com" | "org" | "net" | "ac" | "gov") && !init.is_empty() {
            rest = init;
        } else {
            break;
        }
    }
    rest.last().map_or(host.clone(), |l| (*l).to_owned())
}

fn links(urls: &[UrlRelation]) -> Vec<Link> {
    urls.iter()
        .map(|u| Link {
            target: u.url.clone(),
            link_type: site_label(&u.url),
        })
        .collect()
}

fn images(enriched: &Enriched, album: bool) -> Vec<Image> {
    let mut seen = BTreeSet::new();
    enriched
        .images
        .iter()
        .filter_map(|image| {
            let cover_type = match (image.image_type, album) {
                (ImageType::Poster, false) => "Poster",
                (ImageType::Fanart, false) => "Fanart",
                (ImageType::Logo, false) => "Logo",
                (ImageType::Banner, false) => "Banner",
                (ImageType::Cover, true) => "Cover",
                (ImageType::Disc, true) => "Disc",
                _ => return None,
            };
            // The preferred image of each type comes first; Lidarr takes one per type.
            seen.insert(cover_type).then(|| Image {
                cover_type,
                url: image.url.clone(),
                remote_url: image.url.clone(),
            })
        })
        .collect()
}

fn genres(names: impl IntoIterator<Item = String>) -> Vec<String> {
    names.into_iter().map(|g| title_case(&g)).collect()
}

/// An artist as Lidarr reads it, with `albums` when given.
pub fn artist(
    artist: &Artist,
    enriched: &Enriched,
    merged: &MergedIds,
    albums: Option<Vec<ArtistAlbum>>,
) -> ArtistResource {
    let mut aliases: Vec<String> = Vec::new();
    for alias in &artist.aliases {
        let kept = alias
            .alias_type
            .as_deref()
            .is_none_or(|t| t == "Artist name");
        if kept && !aliases.contains(&alias.name) {
            aliases.push(alias.name.clone());
        }
    }
    ArtistResource {
        id: artist.id.to_string(),
        oldids: old_ids(merged, artist.id),
        artistname: artist.name.clone(),
        sortname: artist
            .sort_name
            .clone()
            .unwrap_or_else(|| artist.name.clone()),
        artistaliases: aliases,
        disambiguation: artist.disambiguation.clone().unwrap_or_default(),
        overview: enriched.bio.as_ref().map(|b| b.summary.clone()),
        artist_type: artist.artist_type.clone(),
        status: if artist.life_span.ended == Some(true) || artist.life_span.end.is_some() {
            "ended"
        } else {
            "active"
        },
        genres: genres(artist.genres.iter().map(|g| g.name.clone())),
        images: images(enriched, false),
        links: links(&artist.urls),
        rating: no_rating(),
        albums,
    }
}

/// An artist known only by ID and credited name (not stored yet): what Lidarr needs to add it.
pub fn credited_artist(id: Mbid, name: &str) -> ArtistResource {
    ArtistResource {
        id: id.to_string(),
        oldids: Vec::new(),
        artistname: name.to_owned(),
        sortname: name.to_owned(),
        artistaliases: Vec::new(),
        disambiguation: String::new(),
        overview: None,
        artist_type: None,
        status: "active",
        genres: Vec::new(),
        images: Vec::new(),
        links: Vec::new(),
        rating: no_rating(),
        albums: None,
    }
}

/// Release statuses assumed for an album whose releases were never stored: MusicBrainz's browse of
/// an artist's albums does not carry them, and Lidarr drops an album with none.
pub const ASSUMED_STATUSES: [&str; 1] = ["Official"];

/// The albums of an artist's list: release groups whose first credited artist is `artist`.
pub fn artist_albums(
    artist: Mbid,
    albums: &[Album],
    statuses: &BTreeMap<Mbid, Vec<String>>,
    merged: &MergedIds,
) -> Vec<ArtistAlbum> {
    albums
        .iter()
        .filter(|a| {
            a.artist_credit
                .first()
                .is_none_or(|c| c.artist_id == artist)
        })
        .map(|a| ArtistAlbum {
            id: a.id.to_string(),
            old_ids: old_ids(merged, a.id),
            title: a.title.clone(),
            album_type: a.primary_type.clone().unwrap_or_else(|| "Other".into()),
            secondary_types: sorted(&a.secondary_types),
            release_statuses: statuses
                .get(&a.id)
                .cloned()
                .unwrap_or_else(|| ASSUMED_STATUSES.map(String::from).to_vec()),
            release_date: full_date(a.first_release_date.as_deref()),
            rating: None,
        })
        .collect()
}

fn sorted(values: &[String]) -> Vec<String> {
    let mut values = values.to_vec();
    values.sort();
    values
}

/// Media formats Lidarr drops (video discs); their tracks are left out with them.
const VIDEO_FORMATS: [&str; 8] = [
    "DVD",
    "DVD-Video",
    "Blu-ray",
    "HD-DVD",
    "VCD",
    "SVCD",
    "UMD",
    "VHS",
];

/// A release as Lidarr reads it; `None` for releases it cannot use (no status, or no audio tracks
/// left). Tracks credited to no known artist are credited to `album_artist`.
pub fn release(
    release: &Release,
    album_artist: Mbid,
    merged: &MergedIds,
) -> Option<ReleaseResource> {
    let status = release.status.clone()?;
    let mut media = Vec::new();
    let mut tracks = Vec::new();
    for medium in &release.media {
        let Some(format) = medium.format.clone() else {
            continue;
        };
        if VIDEO_FORMATS.contains(&format.as_str()) {
            continue;
        }
        for track in &medium.tracks {
            let Some(recording) = track.track_id else {
                continue;
            };
            if track.title == "[data track]" {
                continue;
            }
            let id = track.release_track_id.unwrap_or(recording);
            tracks.push(TrackResource {
                id: id.to_string(),
                old_ids: old_ids(merged, id),
                recording_id: recording.to_string(),
                old_recording_ids: old_ids(merged, recording),
                artist_id: track.artist_id.unwrap_or(album_artist).to_string(),
                track_name: track.title.clone(),
                track_number: track
                    .number
                    .clone()
                    .unwrap_or_else(|| track.position.to_string()),
                track_position: track.position,
                medium_number: medium.position,
                duration_ms: track.length_ms,
            });
        }
        media.push(MediumResource {
            position: medium.position,
            name: medium.title.clone().unwrap_or_default(),
            format,
        });
    }
    if tracks.is_empty() {
        return None;
    }
    let mut labels: Vec<String> = release
        .labels
        .iter()
        .filter_map(|l| l.name.clone())
        .collect();
    labels.sort();
    labels.dedup();
    Some(ReleaseResource {
        id: release.id.to_string(),
        old_ids: old_ids(merged, release.id),
        title: release.title.clone(),
        disambiguation: release.disambiguation.clone().unwrap_or_default(),
        status,
        country: release
            .country
            .as_deref()
            .and_then(country_name)
            .map(|name| vec![name.to_owned()])
            .unwrap_or_default(),
        label: labels,
        release_date: full_date(release.date.as_deref()),
        media,
        track_count: tracks.len(),
        tracks,
    })
}

/// What an album answer is made of.
pub struct AlbumParts<'a> {
    /// The album.
    pub album: &'a Album,
    /// What enrichers found of it.
    pub enriched: &'a Enriched,
    /// Its releases (empty when not asked for).
    pub releases: &'a [Release],
    /// Its first credited artist and every track artist, in that order.
    pub artists: Vec<ArtistResource>,
    /// Merged MBIDs of the album, its releases, tracks and recordings.
    pub merged: &'a MergedIds,
}

/// The album's first credited artist, when its credit names one.
pub fn album_artist(album: &Album) -> Option<Mbid> {
    album.artist_credit.first().map(|c| c.artist_id)
}

/// The artists an album answer must list: its first credited artist, then every track's, each once.
pub fn album_artist_ids(album: &Album, releases: &[Release]) -> Vec<(Mbid, String)> {
    let mut ids: Vec<(Mbid, String)> = Vec::new();
    if let Some(first) = album.artist_credit.first() {
        ids.push((first.artist_id, first.name.clone()));
    }
    for release in releases {
        for track in release.media.iter().flat_map(|m| &m.tracks) {
            if let Some(id) = track.artist_id {
                if !ids.iter().any(|(known, _)| *known == id) {
                    let name = track
                        .artist_credit_name
                        .clone()
                        .unwrap_or_else(|| id.to_string());
                    ids.push((id, name));
                }
            }
        }
    }
    ids
}

/// An album as Lidarr reads it. `None` when its credit names no artist (Lidarr needs `artistid`).
pub fn album(parts: AlbumParts<'_>) -> Option<AlbumResource> {
    let album = parts.album;
    let artist = album_artist(album)?;
    let releases: Vec<ReleaseResource> = parts
        .releases
        .iter()
        .filter_map(|r| release(r, artist, parts.merged))
        .collect();
    let mut aliases: Vec<String> = Vec::new();
    for r in parts.releases {
        if r.title != album.title && !aliases.contains(&r.title) {
            aliases.push(r.title.clone());
        }
    }
    let mut statuses: Vec<String> = parts
        .releases
        .iter()
        .filter_map(|r| r.status.clone())
        .collect();
    statuses.sort();
    statuses.dedup();
    Some(AlbumResource {
        id: album.id.to_string(),
        oldids: old_ids(parts.merged, album.id),
        title: album.title.clone(),
        disambiguation: album.disambiguation.clone().unwrap_or_default(),
        aliases,
        overview: parts.enriched.bio.as_ref().map(|b| b.summary.clone()),
        album_type: album.primary_type.clone().unwrap_or_else(|| "Other".into()),
        secondarytypes: sorted(&album.secondary_types),
        releasestatuses: statuses,
        releasedate: full_date(album.first_release_date.as_deref()),
        artistid: artist.to_string(),
        artists: parts.artists,
        genres: genres(album.genres.iter().map(|g| g.name.clone())),
        images: images(parts.enriched, true),
        links: links(&album.urls),
        rating: no_rating(),
        releases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_filled_with_firsts() {
        assert_eq!(full_date(Some("1969")).as_deref(), Some("1969-01-01"));
        assert_eq!(full_date(Some("1969-09")).as_deref(), Some("1969-09-01"));
        assert_eq!(full_date(Some("1969-09-26")).as_deref(), Some("1969-09-26"));
        assert_eq!(full_date(Some("")), None);
        assert_eq!(full_date(None), None);
    }

    #[test]
    fn genres_are_title_case() {
        assert_eq!(title_case("indie rock"), "Indie Rock");
        assert_eq!(title_case("synth-pop"), "Synth-Pop");
        assert_eq!(title_case("drum and bass"), "Drum And Bass");
    }

    #[test]
    fn links_are_labelled_by_site() {
        assert_eq!(site_label("https://www.bbc.co.uk/music/artists/x"), "bbc");
        assert_eq!(site_label("https://music.youtube.com/channel/x"), "youtube");
        assert_eq!(
            site_label("https://commons.wikimedia.org/wiki/File:x.jpg"),
            "wikimedia"
        );
        assert_eq!(site_label("https://www.discogs.com/artist/1"), "discogs");
        assert_eq!(site_label("https://open.spotify.com/artist/x"), "spotify");
    }
}
