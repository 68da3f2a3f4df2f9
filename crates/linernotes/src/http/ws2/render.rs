//! The one place MusicBrainz bodies are rendered: a stored WS/2 body (fetched with at least the
//! requested incs) cut down to exactly what MusicBrainz sends for the requested ones, and the browse,
//! search and error envelopes.
//!
//! MusicBrainz adds keys per inc; rendering removes the keys of every inc the stored body has but the
//! request does not ask for, wherever MusicBrainz puts them (aliases and tags on nested entities,
//! `artist-credit` on release groups, tracks and recordings, relationships on recordings and works
//! with the `*-level-rels` incs), and keeps only the relationships whose `target-type` was asked for.
//! What is kept is the stored body's own value: nulls, empty strings, numbers and key spelling as
//! MusicBrainz sent them.

use serde_json::{Map, Value};

use crate::domain::ws2::{IncSet, Ws2Resource};
use crate::domain::{EntityKind, SearchHit};

/// MusicBrainz's pointer to its documentation, in every error body.
pub const HELP: &str = "For usage, please see: https://musicbrainz.org/development/mmd";

/// The error body MusicBrainz sends: `{"error": …, "help": …}`.
pub fn error(message: &str) -> Value {
    serde_json::json!({ "error": message, "help": HELP })
}

/// Keys an inc adds wherever an entity of the body is serialised, by inc.
const ANYWHERE: [(&str, &str); 9] = [
    ("aliases", "aliases"),
    ("tags", "tags"),
    ("genres", "genres"),
    ("ratings", "rating"),
    ("user-tags", "user-tags"),
    ("user-genres", "user-genres"),
    ("user-ratings", "user-rating"),
    ("isrcs", "isrcs"),
    ("artist-credits", "artist-credit"),
];

/// The lookup answer for `requested` from a body stored with a superset of its incs.
pub fn lookup(resource: Ws2Resource, stored: &Value, requested: &IncSet) -> Value {
    let mut body = stored.clone();
    let Value::Object(top) = &mut body else {
        return body;
    };
    for (inc, key) in ANYWHERE {
        if !requested.has(inc) {
            remove_everywhere(top, key);
        }
    }
    if !requested.has("annotation") {
        top.remove("annotation");
    }
    if requested.has("collections") {
        top.insert("collections".into(), Value::Array(Vec::new()));
    } else {
        top.remove("collections");
    }
    let targets = requested.relation_targets();
    keep_relations(top, &targets, true);
    if let Some(Value::Array(relations)) = top.get_mut("relations") {
        for relation in relations.iter_mut().filter_map(Value::as_object_mut) {
            nested_work_relations(relation, requested, &targets);
        }
    }
    match resource.0 {
        EntityKind::Release => release(top, requested, &targets),
        _ => {
            for list in ["recordings", "releases", "release-groups", "works"] {
                if !requested.has(list) {
                    top.remove(list);
                }
            }
        }
    }
    body
}

/// The incs a search result of `resource` shows of a stored body, as MusicBrainz's search results
/// carry them (credits, the release group, labels and media of a release; aliases and tags).
fn search_incs(resource: Ws2Resource) -> IncSet {
    match resource.0 {
        EntityKind::Artist | EntityKind::Label => IncSet::of(["aliases", "tags"]),
        EntityKind::Album => IncSet::of(["artist-credits", "tags"]),
        EntityKind::Release => IncSet::of([
            "artist-credits",
            "release-groups",
            "labels",
            "media",
            "tags",
        ]),
        EntityKind::Track => IncSet::of(["artist-credits", "isrcs", "tags"]),
    }
}

/// One search result: the stored body as a search shows it, or (nothing stored) what the index
/// holds, with its `score`.
pub fn search_hit(resource: Ws2Resource, stored: Option<&Value>, hit: &SearchHit) -> Value {
    let mut item = match stored {
        Some(stored) => lookup(resource, stored, &search_incs(resource)),
        None => {
            let name = match resource.0 {
                EntityKind::Artist | EntityKind::Label => "name",
                _ => "title",
            };
            serde_json::json!({
                "id": hit.id.as_uuid().to_string(),
                name: hit.name,
                "disambiguation": hit.disambiguation.clone().unwrap_or_default(),
            })
        }
    };
    if let Value::Object(map) = &mut item {
        map.insert("score".into(), Value::from(hit.score.clamp(0, 100)));
    }
    item
}

/// A search answer in MusicBrainz's envelope: `created`, `count`, `offset` and the results, and
/// nothing else (a strict client such as musicbrainz_rs refuses any other key).
pub fn search_page(
    resource: Ws2Resource,
    created: chrono::DateTime<chrono::Utc>,
    count: i64,
    offset: i64,
    items: Vec<Value>,
) -> Value {
    let mut page = Map::new();
    page.insert(
        "created".into(),
        Value::from(created.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
    );
    page.insert("count".into(), Value::from(count));
    page.insert("offset".into(), Value::from(offset));
    page.insert(resource.plural().into(), Value::Array(items));
    Value::Object(page)
}

/// Cuts a release's own parts: labels, release group, media, tracks, discs, nested relationships.
fn release(top: &mut Map<String, Value>, requested: &IncSet, targets: &[&str]) {
    if !requested.has("labels") {
        top.remove("label-info");
    }
    match top.get_mut("release-group") {
        Some(Value::Object(group)) if requested.has("release-groups") => {
            keep_relations(group, targets, requested.has("release-group-level-rels"));
        }
        _ => {
            top.remove("release-group");
        }
    }
    let with_media =
        requested.has("media") || requested.has("discids") || requested.has("recordings");
    if !with_media {
        top.remove("media");
        return;
    }
    let Some(Value::Array(media)) = top.get_mut("media") else {
        return;
    };
    for medium in media.iter_mut().filter_map(Value::as_object_mut) {
        if !requested.has("discids") {
            medium.remove("discs");
        }
        if !requested.has("recordings") {
            for key in ["tracks", "track-offset", "pregap", "data-tracks"] {
                medium.remove(key);
            }
            continue;
        }
        for list in ["pregap", "tracks", "data-tracks"] {
            let tracks: Vec<&mut Map<String, Value>> = match medium.get_mut(list) {
                Some(Value::Array(tracks)) => {
                    tracks.iter_mut().filter_map(Value::as_object_mut).collect()
                }
                Some(Value::Object(track)) => vec![track],
                _ => Vec::new(),
            };
            for track in tracks {
                if let Some(Value::Object(recording)) = track.get_mut("recording") {
                    keep_relations(recording, targets, requested.has("recording-level-rels"));
                    if let Some(Value::Array(relations)) = recording.get_mut("relations") {
                        for relation in relations.iter_mut().filter_map(Value::as_object_mut) {
                            nested_work_relations(relation, requested, targets);
                        }
                    }
                }
            }
        }
    }
}

/// The relationships of a work a relationship points at: kept with `work-level-rels`.
fn nested_work_relations(relation: &mut Map<String, Value>, requested: &IncSet, targets: &[&str]) {
    if let Some(Value::Object(work)) = relation.get_mut("work") {
        keep_relations(work, targets, requested.has("work-level-rels"));
    }
}

/// Keeps the relationships of `entity` whose target type was asked for, when `asked`; removes its
/// `relations` when nothing was.
fn keep_relations(entity: &mut Map<String, Value>, targets: &[&str], asked: bool) {
    if !asked || targets.is_empty() {
        entity.remove("relations");
        return;
    }
    if let Some(Value::Array(relations)) = entity.get_mut("relations") {
        relations.retain(|relation| {
            relation
                .get("target-type")
                .and_then(Value::as_str)
                .is_some_and(|target| targets.contains(&target))
        });
    }
}

/// Removes `key` from the object and every object inside it.
fn remove_everywhere(object: &mut Map<String, Value>, key: &str) {
    object.remove(key);
    for value in object.values_mut() {
        remove_in(value, key);
    }
}

fn remove_in(value: &mut Value, key: &str) {
    match value {
        Value::Object(object) => remove_everywhere(object, key),
        Value::Array(items) => items.iter_mut().for_each(|item| remove_in(item, key)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn release_resource() -> Ws2Resource {
        Ws2Resource(EntityKind::Release)
    }

    #[test]
    fn unrequested_parts_go_and_requested_ones_stay_as_stored() {
        let stored = json!({
            "id": "x", "title": "T", "barcode": null, "disambiguation": "",
            "aliases": [], "tags": [{"name": "rock", "count": 1}],
            "artist-credit": [{"name": "A", "joinphrase": "", "artist": {"id": "a", "aliases": []}}],
            "label-info": [{"catalog-number": null, "label": null}],
            "release-group": {"id": "g", "artist-credit": [], "relations": []},
            "relations": [{"target-type": "url"}, {"target-type": "artist"}],
            "media": [{"position": 1, "track-count": 1, "track-offset": 0, "discs": [],
                       "tracks": [{"id": "t", "recording": {"id": "r", "isrcs": ["X"],
                                   "relations": [{"target-type": "work", "work": {"relations": []}}]}}]}],
        });
        let requested = IncSet::of(["media", "url-rels"]);
        let body = lookup(release_resource(), &stored, &requested);
        assert_eq!(
            body,
            json!({
                "id": "x", "title": "T", "barcode": null, "disambiguation": "",
                "relations": [{"target-type": "url"}],
                "media": [{"position": 1, "track-count": 1}],
            })
        );
        let all = IncSet::of([
            "aliases",
            "tags",
            "artist-credits",
            "labels",
            "release-groups",
            "media",
            "discids",
            "recordings",
            "isrcs",
            "url-rels",
            "artist-rels",
            "work-rels",
            "recording-level-rels",
            "work-level-rels",
            "release-group-level-rels",
        ]);
        assert_eq!(lookup(release_resource(), &stored, &all), stored);
    }

    #[test]
    fn collections_are_an_empty_list_when_asked_for() {
        let body = lookup(
            release_resource(),
            &json!({"id": "x"}),
            &IncSet::of(["collections"]),
        );
        assert_eq!(body, json!({"id": "x", "collections": []}));
    }
}
