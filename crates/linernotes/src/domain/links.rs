//! IDs of other services read from an entity's URL relations (Discogs, Wikidata, Deezer, Spotify, …).
//!
//! MusicBrainz links an entity to its pages elsewhere; each recognised page URL yields a namespaced ID
//! in `external_ids`, so the entity can later be resolved by that ID too.

use super::id::{EntityId, EntityKind, Namespace};
use super::UrlRelation;

/// The IDs that the recognised URLs of `urls` carry, without duplicates, in URL order.
pub fn external_ids_from_urls(urls: &[UrlRelation]) -> Vec<EntityId> {
    linked_pages(urls).into_iter().map(|(id, _)| id).collect()
}

/// The recognised pages of `urls` with the ID each carries, without duplicate IDs, in URL order.
pub fn linked_pages(urls: &[UrlRelation]) -> Vec<(EntityId, &str)> {
    let mut pages: Vec<(EntityId, &str)> = Vec::new();
    for relation in urls {
        if let Some(id) = id_from_url(&relation.url) {
            if !pages.iter().any(|(known, _)| *known == id) {
                pages.push((id, relation.url.as_str()));
            }
        }
    }
    pages
}

/// The page of a provider's entity of `kind` that MusicBrainz URL relations would name, for looking the
/// entity up by that page; `None` for namespaces and kinds without pages.
pub fn page_url(id: &EntityId, kind: EntityKind) -> Option<String> {
    let value = id.value();
    let media = |artist: &str, album: &str, track: &str| match kind {
        EntityKind::Artist => Some(artist.to_owned()),
        EntityKind::Album | EntityKind::Release => Some(album.to_owned()),
        EntityKind::Track => Some(track.to_owned()),
        EntityKind::Label => None,
    };
    match id.namespace() {
        Namespace::Deezer => media("artist", "album", "track")
            .map(|path| format!("https://www.deezer.com/{path}/{value}")),
        Namespace::Spotify => media("artist", "album", "track")
            .map(|path| format!("https://open.spotify.com/{path}/{value}")),
        Namespace::Tidal => media("artist", "album", "track")
            .map(|path| format!("https://tidal.com/{path}/{value}")),
        Namespace::Itunes => media("artist", "album", "song")
            .map(|path| format!("https://music.apple.com/us/{path}/{value}")),
        Namespace::Discogs => {
            let path = match kind {
                EntityKind::Artist => "artist",
                EntityKind::Album => "master",
                EntityKind::Release => "release",
                EntityKind::Label => "label",
                EntityKind::Track => return None,
            };
            Some(format!("https://www.discogs.com/{path}/{value}"))
        }
        Namespace::Wikidata => Some(format!("https://www.wikidata.org/wiki/{value}")),
        Namespace::MusicBrainz | Namespace::Isrc | Namespace::Barcode => None,
    }
}

/// The ID one page URL carries, when its site and path are recognised.
fn id_from_url(raw: &str) -> Option<EntityId> {
    let url = url::Url::parse(raw).ok()?;
    let host = url.host_str()?.trim_start_matches("www.");
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    let (namespace, value) = match host {
        "discogs.com" => (
            Namespace::Discogs,
            nth_after(&segments, &["artist", "label", "master", "release"])?,
        ),
        "wikidata.org" => (Namespace::Wikidata, nth_after(&segments, &["wiki"])?),
        "deezer.com" => (
            Namespace::Deezer,
            nth_after(&segments, &["artist", "album", "track"])?,
        ),
        "open.spotify.com" => (
            Namespace::Spotify,
            nth_after(&segments, &["artist", "album", "track"])?,
        ),
        "music.apple.com" | "itunes.apple.com" => (Namespace::Itunes, apple_id(&segments)?),
        "tidal.com" | "listen.tidal.com" => (
            Namespace::Tidal,
            nth_after(&segments, &["artist", "album", "track"])?,
        ),
        _ => return None,
    };
    // Discogs artist URLs may carry a slug: /artist/72872-Rick-Astley.
    let value = value.split('-').next().unwrap_or(value);
    EntityId::new(namespace, value).ok()
}

/// The segment after the first segment named one of `markers`.
fn nth_after<'a>(segments: &[&'a str], markers: &[&str]) -> Option<&'a str> {
    let at = segments.iter().position(|s| markers.contains(s))?;
    segments.get(at + 1).copied()
}

/// Apple Music IDs are the last segment, with an `id` prefix on the old iTunes URLs.
fn apple_id<'a>(segments: &[&'a str]) -> Option<&'a str> {
    let last = segments.last()?;
    Some(last.strip_prefix("id").unwrap_or(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(u: &str) -> UrlRelation {
        UrlRelation {
            relation_type: "x".into(),
            url: u.into(),
        }
    }

    #[test]
    fn recognised_pages_become_ids() {
        let ids = external_ids_from_urls(&[
            url("https://www.discogs.com/artist/72872-Rick-Astley"),
            url("https://www.wikidata.org/wiki/Q194333"),
            url("https://www.deezer.com/artist/1425"),
            url("https://open.spotify.com/artist/0gxyHStUsqpMadRV0Di1Qt"),
            url("https://music.apple.com/gb/artist/rick-astley/669771"),
            url("https://example.com/artist/1"),
            url("not a url"),
            url("https://www.discogs.com/artist/72872"),
        ]);
        let shown: Vec<String> = ids.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "discogs:72872",
                "wikidata:Q194333",
                "deezer:1425",
                "spotify:0gxyHStUsqpMadRV0Di1Qt",
                "itunes:669771"
            ]
        );
    }
}
