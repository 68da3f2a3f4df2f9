//! Conformance of the MusicBrainz model with real WS/2 bodies, and of the enrichers' parsers with
//! real bodies of their providers.
//!
//! Every lookup, search, browse and error body under `../shared/fixtures/musicbrainz` (recorded from
//! the live service by other projects) must parse, and the result must agree with the JSON read
//! independently here. When the folder is absent (a fresh clone elsewhere) the tests print a notice
//! and pass.

use std::fs;
use std::path::{Path, PathBuf};

use linernotes::domain::{Entity, EntityKind, Namespace};
use linernotes::providers::musicbrainz::model::{
    parse_album_browse, parse_error_message, parse_lookup, parse_search,
};
use serde_json::Value;

/// The kinds linernotes serves, with their search result key.
const KINDS: [(EntityKind, &str); 5] = [
    (EntityKind::Artist, "artists"),
    (EntityKind::Album, "release-groups"),
    (EntityKind::Release, "releases"),
    (EntityKind::Track, "recordings"),
    (EntityKind::Label, "labels"),
];

/// The fixtures folder, or `None` (with a notice) when this checkout has none.
pub fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/musicbrainz");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "conformance: {} does not exist; skipping the real-data checks",
            dir.display()
        );
        None
    }
}

/// Every `.json` file in `dir`, sorted, with its bytes and its JSON value.
fn bodies(dir: &Path) -> Vec<(String, Vec<u8>, Value)> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no fixtures in {}", dir.display());
    paths
        .into_iter()
        .map(|path| {
            let body = fs::read(&path).unwrap();
            let json = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
            (path.display().to_string(), body, json)
        })
        .collect()
}

/// A JSON string, with `""` and absence alike as `None`.
fn json_str(value: &Value) -> Option<&str> {
    value.as_str().filter(|s| !s.is_empty())
}

/// The display string of a JSON `artist-credit` array: every name followed by its join phrase.
fn json_credit(credit: &Value) -> String {
    credit
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| [&c["name"], &c["joinphrase"]])
        .filter_map(Value::as_str)
        .collect()
}

/// The number of relations to a URL.
fn json_url_relations(json: &Value) -> usize {
    json["relations"].as_array().map_or(0, |rels| {
        rels.iter().filter(|r| r["target-type"] == "url").count()
    })
}

#[test]
fn every_lookup_parses_into_its_entity() {
    let Some(root) = fixtures() else { return };
    let mut join_phrases_seen = 0;
    for (kind, _) in KINDS {
        let dir = root.join("lookup").join(kind.musicbrainz_entity());
        for (file, body, json) in bodies(&dir) {
            let entity = parse_lookup(kind, &body).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(entity.kind(), kind, "{file}");
            assert_eq!(
                Some(entity.mbid().to_string().as_str()),
                json_str(&json["id"]),
                "{file}"
            );
            assert_eq!(
                entity.external_ids().first(),
                Some(&entity.mbid().to_entity_id()),
                "{file}"
            );
            let name_key = match kind {
                EntityKind::Artist | EntityKind::Label => "name",
                _ => "title",
            };
            assert!(!entity.display_name().is_empty(), "{file}");
            assert_eq!(
                Some(entity.display_name()),
                json_str(&json[name_key]),
                "{file}"
            );
            assert_eq!(entity.urls().len(), json_url_relations(&json), "{file}");

            let credit = &json["artist-credit"];
            let credit_name = match &entity {
                Entity::Album(a) => Some((&a.artist_credit, &a.artist_credit_name)),
                Entity::Release(r) => Some((&r.artist_credit, &r.artist_credit_name)),
                Entity::Track(t) => Some((&t.artist_credit, &t.artist_credit_name)),
                Entity::Artist(_) | Entity::Label(_) => None,
            };
            if let Some((credits, name)) = credit_name {
                assert_eq!(
                    credits.len(),
                    credit.as_array().map_or(0, Vec::len),
                    "{file}"
                );
                assert_eq!(
                    name.as_deref().unwrap_or_default(),
                    json_credit(credit),
                    "{file}"
                );
                join_phrases_seen += credits.iter().filter(|c| !c.join_phrase.is_empty()).count();
            }

            match &entity {
                Entity::Artist(artist) => {
                    let aliases = json["aliases"].as_array().map_or(0, Vec::len);
                    assert_eq!(artist.aliases.len(), aliases, "{file}");
                    assert_eq!(
                        artist.area.as_deref(),
                        json_str(&json["area"]["name"]),
                        "{file}"
                    );
                    let span = &json["life-span"];
                    assert_eq!(
                        artist.life_span.begin.as_deref(),
                        json_str(&span["begin"]),
                        "{file}"
                    );
                    assert_eq!(artist.life_span.ended, span["ended"].as_bool(), "{file}");
                }
                Entity::Label(label) => {
                    let code = json["label-code"]
                        .as_i64()
                        .map(|c| i32::try_from(c).unwrap());
                    assert_eq!(label.label_code, code, "{file}");
                    assert_eq!(
                        label.sort_name.as_deref(),
                        json_str(&json["sort-name"]),
                        "{file}"
                    );
                }
                Entity::Album(album) => {
                    assert_eq!(
                        album.first_release_date.as_deref(),
                        json_str(&json["first-release-date"]),
                        "{file}"
                    );
                    assert_eq!(
                        album.primary_type.as_deref(),
                        json_str(&json["primary-type"]),
                        "{file}"
                    );
                }
                Entity::Track(track) => {
                    let isrcs: Vec<&str> = json["isrcs"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    assert_eq!(track.isrcs, isrcs, "{file}");
                    let isrc_ids = track
                        .external_ids
                        .iter()
                        .filter(|id| id.namespace() == Namespace::Isrc)
                        .count();
                    assert_eq!(isrc_ids, isrcs.len(), "{file}");
                    assert_eq!(track.length_ms, json["length"].as_i64(), "{file}");
                }
                Entity::Release(release) => {
                    assert_eq!(
                        release.barcode.as_deref(),
                        json_str(&json["barcode"]),
                        "{file}"
                    );
                    assert_eq!(release.date.as_deref(), json_str(&json["date"]), "{file}");
                    assert_eq!(
                        release.album_id.map(|id| id.to_string()).as_deref(),
                        json_str(&json["release-group"]["id"]),
                        "{file}"
                    );
                    let labels = json["label-info"].as_array().map_or(0, Vec::len);
                    assert_eq!(release.labels.len(), labels, "{file}");
                    let media = json["media"].as_array().cloned().unwrap_or_default();
                    assert_eq!(release.media.len(), media.len(), "{file}");
                    for (medium, raw) in release.media.iter().zip(&media) {
                        let tracks = raw["tracks"].as_array().cloned().unwrap_or_default();
                        assert!(!medium.tracks.is_empty() || tracks.is_empty(), "{file}");
                        assert_eq!(medium.tracks.len(), tracks.len(), "{file}");
                        assert_eq!(medium.title.as_deref(), json_str(&raw["title"]), "{file}");
                        for (track, raw) in medium.tracks.iter().zip(&tracks) {
                            assert_eq!(
                                Some(track.title.as_str()),
                                json_str(&raw["title"]),
                                "{file}"
                            );
                            assert_eq!(track.number.as_deref(), json_str(&raw["number"]), "{file}");
                            assert_eq!(
                                track.track_id.map(|id| id.to_string()).as_deref(),
                                json_str(&raw["recording"]["id"]),
                                "{file}"
                            );
                            assert_eq!(
                                track.artist_credit_name.as_deref().unwrap_or_default(),
                                json_credit(&raw["artist-credit"]),
                                "{file}"
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(
        join_phrases_seen > 0,
        "no credit with a join phrase was checked"
    );
}

#[test]
fn every_search_parses_into_a_page() {
    let Some(root) = fixtures() else { return };
    for (kind, key) in KINDS {
        let dir = root.join("search").join(kind.musicbrainz_entity());
        for (file, body, json) in bodies(&dir) {
            let page = parse_search(kind, &body).unwrap_or_else(|e| panic!("{file}: {e}"));
            let hits = json[key].as_array().cloned().unwrap_or_default();
            assert!(!hits.is_empty(), "{file}: no {key}");
            assert_eq!(page.results.len(), hits.len(), "{file}");
            assert_eq!(Some(page.total), json["count"].as_i64(), "{file}");
            assert_eq!(Some(page.offset), json["offset"].as_i64(), "{file}");
            for (hit, raw) in page.results.iter().zip(&hits) {
                assert_eq!(
                    Some(hit.id.to_string().as_str()),
                    json_str(&raw["id"]),
                    "{file}"
                );
                assert_eq!(hit.entity_type, kind, "{file}");
                assert!(!hit.name.is_empty(), "{file}");
                assert_eq!(Some(i64::from(hit.score)), raw["score"].as_i64(), "{file}");
            }
        }
    }
}

#[test]
fn every_release_group_browse_parses_into_albums() {
    let Some(root) = fixtures() else { return };
    for (file, body, json) in bodies(&root.join("browse/release-group")) {
        let (albums, total, offset) =
            parse_album_browse(&body).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(total > 0, "{file}");
        assert_eq!(Some(total), json["release-group-count"].as_i64(), "{file}");
        assert_eq!(
            Some(offset),
            json["release-group-offset"].as_i64(),
            "{file}"
        );
        let groups = json["release-groups"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(albums.len(), groups.len(), "{file}");
        for (album, raw) in albums.iter().zip(&groups) {
            assert_eq!(
                Some(album.id.to_string().as_str()),
                json_str(&raw["id"]),
                "{file}"
            );
            assert!(!album.title.is_empty(), "{file}");
        }
    }
}

#[test]
fn every_error_body_yields_its_message() {
    let Some(root) = fixtures() else { return };
    for (file, body, json) in bodies(&root.join("errors")) {
        let message = parse_error_message(&body);
        assert!(message.as_deref().is_some_and(|m| !m.is_empty()), "{file}");
        assert_eq!(message.as_deref(), json["error"].as_str(), "{file}");
    }
}

/// The enrichers' parsers against the genuine bodies of their providers (`coverart/` and `other/` beside
/// the MusicBrainz fixtures), each checked against the JSON read independently here.
#[test]
fn other_providers_bodies_parse() {
    use linernotes::domain::enrichment::{ImageType, LinkMethod};
    use linernotes::providers::linking::Found;
    use linernotes::providers::{
        coverartarchive, deezer, discogs, itunes, lrclib, wikidata, wikipedia,
    };
    let Some(root) = fixtures().and_then(|d| d.parent().map(Path::to_path_buf)) else {
        return;
    };
    for (name, _, json) in bodies(&root.join("coverart")) {
        let facts = coverartarchive::parse_index(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        let listed = json["images"].as_array().unwrap();
        assert_eq!(
            facts.images.len(),
            listed.len(),
            "{name}: every image is read"
        );
        if listed.iter().any(|i| i["front"] == true) {
            assert_eq!(
                facts.images[0].image_type,
                ImageType::Cover,
                "{name}: front first"
            );
        }
        assert!(
            facts.images.iter().all(|i| i.url.starts_with("https://")),
            "{name}"
        );
    }
    for (name, _, json) in bodies(&root.join("other/wikidata")) {
        for item in json["entities"].as_object().unwrap().keys() {
            let facts = wikidata::parse_entity(&json, item, EntityKind::Artist)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let wikipedias = json["entities"][item]["sitelinks"]
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| {
                    k.strip_suffix("wiki").is_some_and(|l| {
                        !l.is_empty() && !["commons", "species", "meta", "wikidata"].contains(&l)
                    })
                })
                .count();
            assert_eq!(facts.articles.len(), wikipedias, "{name}: Wikipedias only");
            assert!(facts.articles.values().all(|t| !t.starts_with("Category:")));
        }
    }
    for (name, _, json) in bodies(&root.join("other/wikipedia")) {
        let edition = url::Url::parse("https://ru.wikipedia.org/").unwrap();
        let bio = wikipedia::parse_extract(&json, "ru", &edition)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: no summary"));
        assert!(
            !bio.summary.is_empty() && !bio.summary.contains('<'),
            "{name}"
        );
    }
    for (name, _, json) in bodies(&root.join("other/deezer")) {
        if json.get("data").is_some() {
            for artist in json["data"].as_array().unwrap() {
                let facts =
                    deezer::facts_of(EntityKind::Artist, &Found::fuzzy(artist.clone(), 1.0));
                let placeholder = artist["picture_xl"].as_str().unwrap().contains("/artist//");
                assert_eq!(facts.images.is_empty(), placeholder, "{name}: {artist}");
                assert_eq!(facts.links[0].id, format!("deezer:{}", artist["id"]));
            }
        } else {
            let facts = deezer::facts_of(
                EntityKind::Release,
                &Found::by(LinkMethod::Barcode, json.clone()),
            );
            assert_eq!(facts.images[0].width, Some(1000), "{name}");
            assert_eq!(facts.links[0].id, format!("deezer:{}", json["id"]));
        }
    }
    for (name, _, json) in bodies(&root.join("other/itunes")) {
        for result in json["results"].as_array().unwrap() {
            let kind = if result["wrapperType"] == "track" {
                EntityKind::Track
            } else {
                EntityKind::Release
            };
            let facts = itunes::facts_of(kind, &Found::by(LinkMethod::UrlRelation, result.clone()));
            assert!(!facts.links.is_empty(), "{name}: {result}");
            if kind == EntityKind::Track {
                assert_eq!(facts.previews.len(), 1, "{name}");
            } else {
                assert!(facts.images[0].url.contains("1200x1200"), "{name}");
            }
        }
    }
    for (name, _, json) in bodies(&root.join("other/lrclib")) {
        let length = (json["duration"].as_f64().unwrap() * 1000.0) as i64;
        let lyrics =
            lrclib::parse_lyrics(&json, Some(length)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            lyrics.plain.as_deref(),
            json["plainLyrics"].as_str(),
            "{name}"
        );
        assert_eq!(
            lyrics.synced.as_deref(),
            json["syncedLyrics"].as_str(),
            "{name}"
        );
    }
    for (name, _, json) in bodies(&root.join("other/discogs")) {
        let rows = json["tracklist"].as_array().unwrap();
        let expected: usize = rows
            .iter()
            .map(|r| match r["type_"].as_str() {
                Some("heading") => 0,
                Some("index") => r["sub_tracks"].as_array().map_or(0, Vec::len),
                _ => 1,
            })
            .sum();
        assert_eq!(discogs::track_count(&json), expected, "{name}");
        let facts = discogs::parse(&json, "release", LinkMethod::UrlRelation)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(facts.attributes["genre"], json["genres"], "{name}");
    }
}
