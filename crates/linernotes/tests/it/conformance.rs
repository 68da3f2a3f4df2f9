//! Conformance of the MusicBrainz model with real WS/2 bodies.
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
fn fixtures() -> Option<PathBuf> {
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
