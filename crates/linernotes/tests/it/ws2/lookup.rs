//! WS/2 lookups over raw HTTP.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use super::{assert_mb_error, ws2_get};
use crate::bodies::*;
use crate::conformance::fixtures;
use crate::helpers::*;

const JSON: Option<&str> = Some("application/json");

/// `body` without the keys named.
fn without(body: &Value, keys: &[&str]) -> Value {
    let mut body = body.clone();
    for key in keys {
        body.as_object_mut().expect("an object").remove(*key);
    }
    body
}

/// The stored body answers narrower incs; every form of `inc` MusicBrainz reads is read; `/v1`
/// answers from the same stored lookup: one upstream call in all.
#[tokio::test]
async fn a_stored_body_answers_narrower_incs_in_every_inc_form() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .and(query_param("inc", "aliases genres tags url-rels"))
        .respond_with(json_response(&artist(ARTIST, "Ada Example")))
        .expect(1)
        .mount(&app.mock)
        .await;
    let full = artist(ARTIST, "Ada Example");

    let first = ws2_get(
        &app,
        &format!("/ws/2/artist/{ARTIST}?inc=aliases&fmt=json"),
        None,
    )
    .await;
    assert_eq!(first.0, 200, "{}", first.2);
    assert_eq!(first.1["content-type"], "application/json; charset=utf-8");
    assert_eq!(first.2, without(&full, &["genres", "tags", "relations"]));

    for (query, want) in [
        (
            "inc=aliases%2Btags",
            without(&full, &["genres", "relations"]),
        ),
        ("inc=aliases+tags", without(&full, &["genres", "relations"])),
        (
            "inc=aliases%20tags",
            without(&full, &["genres", "relations"]),
        ),
        (
            "inc=tags++aliases+",
            without(&full, &["genres", "relations"]),
        ),
        (
            "inc=",
            without(&full, &["aliases", "genres", "tags", "relations"]),
        ),
        (
            "",
            without(&full, &["aliases", "genres", "tags", "relations"]),
        ),
        ("inc=url-rels+genres+tags+aliases", full.clone()),
    ] {
        let (status, _, body) =
            ws2_get(&app, &format!("/ws/2/artist/{ARTIST}?{query}"), JSON).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body, want, "{query}");
    }
    let (status, v1) = app.get(&format!("/v1/artists/musicbrainz:{ARTIST}")).await;
    assert_eq!(status, 200, "{v1}");
    assert_eq!(v1["name"], "Ada Example");
    assert_eq!(app.upstream_calls().await, 1);
}

/// An inc the stored body lacks is fetched once with everything stored before, and the wider body
/// then answers both the old and the new incs.
#[tokio::test]
async fn a_wider_inc_is_fetched_once_and_keeps_what_was_stored() {
    let app = TestApp::spawn().await;
    let mut with_artist_rels = release(RELEASE);
    with_artist_rels["relations"] = json!([
        {"type": "producer", "type-id": "8bf377ba-8d71-4ecc-97f2-7bb2d8a2a75f", "target-type": "artist",
         "direction": "backward", "attributes": [], "attribute-values": {}, "attribute-ids": {},
         "begin": null, "end": null, "ended": false, "source-credit": "", "target-credit": "",
         "artist": {"id": GUEST, "name": "The Guest", "sort-name": "Guest, The", "disambiguation": "",
                    "type": null, "type-id": null}}
    ]);
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/release/{RELEASE}")))
        .and(query_param(
            "inc",
            "artist-credits genres labels recordings release-groups tags url-rels",
        ))
        .respond_with(json_response(&release(RELEASE)))
        .expect(1)
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/release/{RELEASE}")))
        .and(query_param(
            "inc",
            "artist-credits artist-rels genres labels recordings release-groups tags url-rels",
        ))
        .respond_with(json_response(&with_artist_rels))
        .expect(1)
        .mount(&app.mock)
        .await;

    let (status, v1) = app
        .get(&format!("/v1/releases/musicbrainz:{RELEASE}"))
        .await;
    assert_eq!(status, 200, "{v1}");
    let (status, _, body) = ws2_get(
        &app,
        &format!("/ws/2/release/{RELEASE}?inc=artist-rels+labels&fmt=json"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["relations"], with_artist_rels["relations"]);
    assert!(body["label-info"].is_array());
    assert!(body.get("media").is_none() && body.get("artist-credit").is_none());
    // Narrower and older incs come from the wider body.
    for query in [
        "inc=artist-rels",
        "inc=recordings+artist-credits",
        "inc=url-rels",
    ] {
        let (status, _, body) = ws2_get(
            &app,
            &format!("/ws/2/release/{RELEASE}?{query}&fmt=json"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{query}: {body}");
    }
    let (_, _, media_only) = ws2_get(
        &app,
        &format!("/ws/2/release/{RELEASE}?inc=media&fmt=json"),
        None,
    )
    .await;
    assert_eq!(
        media_only["media"][0],
        json!({"position": 1, "format": "12\" Vinyl", "format-id": null, "title": "", "track-count": 2})
    );
    let (_, _, url_only) = ws2_get(
        &app,
        &format!("/ws/2/release/{RELEASE}?inc=url-rels&fmt=json"),
        None,
    )
    .await;
    assert_eq!(url_only["relations"], json!([]));
    assert_eq!(app.upstream_calls().await, 2);
}

/// Every refusal MusicBrainz makes, in its words and body.
#[tokio::test]
async fn bad_requests_are_refused_as_musicbrainz_refuses_them() {
    let app = TestApp::spawn().await;
    mount_lookup(&app, "artist", ARTIST, artist(ARTIST, "Ada Example")).await;
    let lookup = format!("/ws/2/artist/{ARTIST}");
    assert_mb_error(
        "unknown inc",
        &ws2_get(&app, &format!("{lookup}?inc=coffee&fmt=json"), None).await,
        400,
        "coffee is not a valid inc parameter for the artist resource.",
    );
    assert_mb_error(
        "repeated inc",
        &ws2_get(&app, &format!("{lookup}?inc=aliases&inc=tags&fmt=json"), None).await,
        400,
        "Inc arguments must be combined with a space (+ or %20), but you provided multiple parameters",
    );
    assert_mb_error(
        "dependent inc",
        &ws2_get(&app, &format!("{lookup}?inc=isrcs&fmt=json"), None).await,
        400,
        "isrcs is not a valid option for the inc parameter for the artist resource unless you \
         specify one of the following other inc parameters: recordings",
    );
    assert_mb_error(
        "an inc of another resource",
        &ws2_get(&app, &format!("{lookup}?inc=labels&fmt=json"), None).await,
        400,
        "labels is not a valid inc parameter for the artist resource.",
    );
    assert_mb_error(
        "malformed MBID",
        &ws2_get(&app, "/ws/2/artist/not-an-mbid?fmt=json", None).await,
        400,
        "Invalid mbid.",
    );
    assert_mb_error(
        "personal inc",
        &ws2_get(&app, &format!("{lookup}?inc=user-tags&fmt=json"), None).await,
        401,
        "You are not authorized to access this resource.",
    );
    let only_json = "Invalid format. linernotes serves the MusicBrainz web service in JSON only: \
                     include fmt=json in the query string, or send the header Accept: application/json";
    for (query, accept) in [
        ("", None),
        ("", Some("*/*")),
        ("", Some("application/xml")),
        ("?fmt=xml", JSON),
        ("?fmt=yaml", None),
    ] {
        assert_mb_error(
            &format!("XML asked by {query:?} {accept:?}"),
            &ws2_get(&app, &format!("{lookup}{query}"), accept).await,
            406,
            only_json,
        );
    }
    let (status, _, body) = ws2_get(&app, &lookup, Some("application/json")).await;
    assert_eq!(status, 200, "Accept alone selects JSON: {body}");
    let unknown = ws2_get(&app, &format!("/ws/2/work/{ARTIST}?fmt=json"), None).await;
    assert_eq!(unknown.0, 400, "{}", unknown.2);
    assert!(unknown.2["error"]
        .as_str()
        .unwrap()
        .contains("expected one of artist, release-group, release, recording, label"));
    assert_eq!(
        unknown.2["help"],
        "For usage, please see: https://musicbrainz.org/development/mmd"
    );
    assert_eq!(app.upstream_calls().await, 1);
}

/// An MBID MusicBrainz does not know is 404 `Not Found`; upstream down with nothing stored is 503;
/// both in MusicBrainz's body.
#[tokio::test]
async fn unknown_mbids_are_404_and_an_unreachable_upstream_503() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/recording/{TRACK}")))
        .respond_with(error_response(404, "Not Found"))
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/label/{LABEL}")))
        .respond_with(ResponseTemplate::new(503))
        .mount(&app.mock)
        .await;
    assert_mb_error(
        "unknown recording",
        &ws2_get(
            &app,
            &format!("/ws/2/recording/{TRACK}?inc=isrcs&fmt=json"),
            None,
        )
        .await,
        404,
        "Not Found",
    );
    let down = ws2_get(&app, &format!("/ws/2/label/{LABEL}?fmt=json"), None).await;
    assert_eq!(down.0, 503, "{}", down.2);
    assert!(
        down.2["error"].as_str().unwrap().contains("MusicBrainz"),
        "{}",
        down.2
    );
    assert_eq!(
        down.2["help"],
        "For usage, please see: https://musicbrainz.org/development/mmd"
    );
}

/// A merged MBID answers 301 to the surviving one, with the query kept; the surviving one answers.
#[tokio::test]
async fn a_merged_mbid_moves_permanently_to_the_surviving_one() {
    let app = TestApp::spawn().await;
    let old = "0a3c9b2e-5d41-4f7e-9c1a-2b6d8e4f1aff";
    mount_lookup(&app, "artist", old, artist(ARTIST, "Ada Example")).await;
    let query = "inc=aliases%2Btags&fmt=json";
    for round in ["first (upstream)", "second (stored redirect)"] {
        let (status, headers, _) =
            ws2_get(&app, &format!("/ws/2/artist/{old}?{query}"), None).await;
        assert_eq!(status, 301, "{round}");
        assert_eq!(
            headers["location"],
            format!("/ws/2/artist/{ARTIST}?{query}").as_str(),
            "{round}"
        );
    }
    let (status, _, body) = ws2_get(&app, &format!("/ws/2/artist/{ARTIST}?{query}"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], ARTIST);
    assert_eq!(app.upstream_calls().await, 1);
}

fn read(dir: &Path, file: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Every key path of a body (`/media[]/tracks[]/title`), with arrays' items merged.
fn key_paths(value: &Value, at: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let here = format!("{at}/{key}");
                out.insert(here.clone());
                key_paths(inner, &here, out);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| key_paths(item, &format!("{at}[]"), out)),
        _ => {}
    }
}

fn paths_of(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    key_paths(value, "", &mut out);
    out
}

/// Real recorded MusicBrainz bodies: asked with the incs they were recorded with, linernotes answers
/// them value for value; asked with fewer, it answers the key paths MusicBrainz's own answer for
/// those incs has.
#[tokio::test]
async fn real_bodies_are_re_served_key_for_key() {
    let Some(dir) = fixtures() else { return };
    let app = TestApp::spawn().await;
    // (file, resource, mbid, the incs it was recorded with)
    let recorded = [
        ("lookup/artist/mbrs--5b11f4ce-a62d-471e-81fc-a69a8278c7da.json", "artist", "5b11f4ce-a62d-471e-81fc-a69a8278c7da", "aliases"),
        ("lookup/artist/mbrs--db92a151-1ac2-438b-bc43-b82e149ddd50.json", "artist", "db92a151-1ac2-438b-bc43-b82e149ddd50", "aliases+genres+ratings+tags"),
        ("lookup/label/mbrs--46f0f4cd-8aab-4b33-b698-f459faf64190.json", "label", "46f0f4cd-8aab-4b33-b698-f459faf64190", "aliases"),
        ("lookup/recording/mbrs--b9ad642e-b012-41c7-b72a-42cf4911f9ff.json", "recording", "b9ad642e-b012-41c7-b72a-42cf4911f9ff", "artist-credits+releases+isrcs"),
        ("lookup/release-group/mbrs--c9fdb94c-4975-4ed6-a96f-ef6d80bb7738.json", "release-group", "c9fdb94c-4975-4ed6-a96f-ef6d80bb7738", "artist-credits+releases"),
        ("lookup/release/mbrs--59211ea4-ffd2-4ad9-9a4e-941d3148024a.json", "release", "59211ea4-ffd2-4ad9-9a4e-941d3148024a", "artist-credits+labels+media+discids+recordings"),
        ("lookup/release/mbrs--987f3e2d-22a6-4a4f-b840-c80c26b8b91a.json", "release", "987f3e2d-22a6-4a4f-b840-c80c26b8b91a", "artist-credits+labels+media+recordings+artist-rels+recording-rels+recording-level-rels+work-rels+work-level-rels"),
        ("lookup/release/mbus--83a3f2c0-url-rels.json", "release", "83a3f2c0-3ca7-4e6e-9de8-f740a1eb8990", "url-rels"),
        ("lookup/release/picard--eval_release_3ac4a81e.json", "release", "3ac4a81e-8106-4858-bce0-f7a78c6354b0", "artist-credits+isrcs+labels+media+recordings+release-groups"),
    ];
    for (file, resource, mbid, _) in recorded {
        mount_lookup(&app, resource, mbid, read(&dir, file)).await;
    }
    for (file, resource, mbid, inc) in recorded {
        let (status, _, body) = ws2_get(
            &app,
            &format!("/ws/2/{resource}/{mbid}?inc={inc}&fmt=json"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{file}: {body}");
        assert_eq!(body, read(&dir, file), "{file} asked with inc={inc}");
    }

    // Fewer incs: the key paths of MusicBrainz's answer for them.
    let with_discs = read(
        &dir,
        "lookup/release/mbrs--59211ea4-ffd2-4ad9-9a4e-941d3148024a.json",
    );
    let without_discs: BTreeSet<String> = paths_of(&with_discs)
        .into_iter()
        .filter(|p| !p.starts_with("/media[]/discs"))
        .collect();
    let (_, _, body) = ws2_get(
        &app,
        "/ws/2/release/987f3e2d-22a6-4a4f-b840-c80c26b8b91a?inc=artist-credits+labels+media+recordings&fmt=json",
        None,
    )
    .await;
    assert_eq!(paths_of(&body), without_discs);
    // A newer capture (MusicBrainz added medium IDs and credited artists' countries since): its own
    // key paths, less those of the incs left out.
    let picard = read(&dir, "lookup/release/picard--eval_release_3ac4a81e.json");
    let (_, _, body) = ws2_get(
        &app,
        "/ws/2/release/3ac4a81e-8106-4858-bce0-f7a78c6354b0?inc=artist-credits+labels+media+recordings&fmt=json",
        None,
    )
    .await;
    let want: BTreeSet<String> = paths_of(&picard)
        .into_iter()
        .filter(|p| !p.starts_with("/release-group") && !p.ends_with("/isrcs"))
        .collect();
    assert_eq!(paths_of(&body), want);
    let aliases_only = read(
        &dir,
        "lookup/artist/mbrs--5b11f4ce-a62d-471e-81fc-a69a8278c7da.json",
    );
    let (_, _, body) = ws2_get(
        &app,
        "/ws/2/artist/db92a151-1ac2-438b-bc43-b82e149ddd50?inc=aliases&fmt=json",
        None,
    )
    .await;
    assert_eq!(paths_of(&body), paths_of(&aliases_only));
    assert_eq!(app.upstream_calls().await, recorded.len());
}
