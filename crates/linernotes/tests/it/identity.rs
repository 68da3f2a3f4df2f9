//! Identity: Deezer and iTunes entities linked to the catalogue's by URL relation, ISRC, barcode and
//! fuzzy match (rejected below the threshold), conflicts recorded instead of merged, every namespaced
//! ID resolving (one at a time and in batches of mixed valid, unknown and invalid IDs), links listed.

use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::bodies::*;
use crate::enrichment::{app_with, body_response, fixture};
use crate::helpers::*;
use linernotes::grpc::pb;

/// The recorded Deezer album (one track, UPC 602475093060), or one of its shape.
fn deezer_album() -> Value {
    let body = fixture(
        "other/deezer/harmony--album-629506181.json",
        json!({"id": 629506181, "title": "Die With A Smile", "upc": "602475093060",
               "link": "https://www.deezer.com/album/629506181",
               "cover_medium": "https://cdn-images.dzcdn.net/images/cover/4bd5903f4ce8f2601916bfadb44efe8a/250x250-000000-80-0-0.jpg",
               "cover_big": "https://cdn-images.dzcdn.net/images/cover/4bd5903f4ce8f2601916bfadb44efe8a/500x500-000000-80-0-0.jpg",
               "cover_xl": "https://cdn-images.dzcdn.net/images/cover/4bd5903f4ce8f2601916bfadb44efe8a/1000x1000-000000-80-0-0.jpg",
               "nb_tracks": 1, "explicit_lyrics": false, "genres": {"data": [{"id": 132, "name": "Pop"}]},
               "artist": {"id": 75491, "name": "Lady Gaga", "type": "artist"},
               "tracks": {"data": [{"id": 2947516331u64, "title": "Die With A Smile", "duration": 250,
                 "rank": 997757, "explicit_lyrics": false,
                 "link": "https://www.deezer.com/track/2947516331",
                 "preview": "https://cdnt-preview.dzcdn.net/api/1/1/4/5/9/0/459c235b39ef8badd04c5ef181f58c24.mp3?hdnea=exp=1738408232~hmac=f4",
                 "artist": {"id": 75491, "name": "Lady Gaga"}, "type": "track"}]},
               "type": "album"}),
    );
    serde_json::from_str(&body).unwrap()
}

/// The recorded album's track as `track/isrc:…` answers it (the full track adds `bpm`).
fn deezer_track() -> Value {
    let mut track = deezer_album()["tracks"]["data"][0].clone();
    track["bpm"] = json!(157.9);
    track
}

fn no_data() -> ResponseTemplate {
    body_response(
        &json!({"error": {"type": "DataException", "message": "no data", "code": 800}}).to_string(),
    )
}

/// A release with one medium of `tracks` tracks.
fn release_with(tracks: usize) -> Value {
    let mut body = release(RELEASE);
    let track = body["media"][0]["tracks"][0].clone();
    body["media"] = json!([{"position": 1, "format": "Digital Media", "title": "", "track-count": tracks,
        "track-offset": 0, "tracks": (1..=tracks).map(|n| {
            let mut t = track.clone();
            t["position"] = json!(n);
            t["number"] = json!(n.to_string());
            t
        }).collect::<Vec<_>>()}]);
    body
}

/// A recording's ISRC finds its Deezer track: preview, BPM, explicit flag and popularity are merged
/// with their source, the link says `isrc` with confidence 1, and `deezer:` then resolves to the
/// recording on both transports, as does a batch of mixed IDs.
#[tokio::test]
async fn a_track_links_to_deezer_by_isrc_and_its_id_resolves() {
    let deezer = MockServer::start().await;
    let app = app_with(&["deezer"], &deezer).await;
    mount_lookup(&app, "recording", TRACK, track(TRACK)).await;
    Mock::given(method("GET"))
        .and(path("/track/isrc:GBAAA9900001"))
        .respond_with(body_response(&deezer_track().to_string()))
        .mount(&deezer)
        .await;
    Mock::given(method("GET"))
        .and(path("/track/isrc:GBAAA9900002"))
        .respond_with(no_data())
        .mount(&deezer)
        .await;

    let body = app
        .read_settled(&format!("/v1/tracks/musicbrainz:{TRACK}"))
        .await;
    let preview = body["previews"][0]["url"].as_str().unwrap();
    assert!(
        preview.starts_with("https://cdnt-preview.dzcdn.net/"),
        "{body}"
    );
    assert_eq!(body["previews"][0]["source"], "deezer");
    assert_eq!(body["attributes"]["bpm"], 157.9);
    assert_eq!(body["attributes"]["explicit"], false);
    assert_eq!(body["attributes"]["popularity"], 997757);
    assert_eq!(body["sources"]["previews"]["provider"], "deezer");
    assert_eq!(body["sources"]["bpm"]["provider"], "deezer");
    let link = body["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["platform"] == "deezer")
        .unwrap_or_else(|| panic!("no Deezer link: {body}"));
    assert_eq!(link["id"], "deezer:2947516331");
    assert_eq!(link["method"], "isrc");
    assert_eq!(link["confidence"], 1.0);

    let (status, by_deezer) = app.get("/v1/tracks/deezer:2947516331").await;
    assert_eq!(status, 200, "{by_deezer}");
    assert_eq!(by_deezer["id"], format!("musicbrainz:{TRACK}"));

    let (status, links) = app
        .get(&format!("/v1/tracks/musicbrainz:{TRACK}/links"))
        .await;
    assert_eq!(status, 200, "{links}");
    assert_eq!(links["id"], format!("musicbrainz:{TRACK}"));
    assert!(links["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["id"] == "deezer:2947516331"));

    let unknown = "musicbrainz:0a3c9b2e-5d41-4f7e-9c1a-2b6d8e4f1aff";
    let (status, resolved) = app
        .post(
            "/v1/resolve",
            &json!({"ids": ["deezer:2947516331", "isrc:GBAAA9900001", unknown,
                            "bogus:1", "isrc:TOO-SHORT", "spotify:4uLU6hMCjMI75M1A2tKUQC"]}),
        )
        .await;
    assert_eq!(status, 200, "{resolved}");
    let results = resolved["results"].as_array().unwrap();
    assert_eq!(results.len(), 6, "one result per input, in order");
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "resolved",
            "resolved",
            "not_found",
            "invalid",
            "invalid",
            "not_found"
        ],
        "{resolved}"
    );
    assert_eq!(results[0]["id"], format!("musicbrainz:{TRACK}"));
    assert_eq!(results[0]["type"], "track");
    assert_eq!(results[1]["id"], format!("musicbrainz:{TRACK}"));
    assert_eq!(results[0]["input"], "deezer:2947516331");
    for failed in &results[2..] {
        assert!(
            failed["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{failed}"
        );
        assert_eq!(failed["id"], Value::Null);
    }

    let mut grpc = app.grpc().await;
    let answer = grpc
        .resolve_ids(pb::ResolveIdsRequest {
            ids: vec!["deezer:2947516331".into(), "nonsense".into()],
            r#type: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.results[0].status, "resolved");
    assert_eq!(answer.results[0].r#type.as_deref(), Some("track"));
    assert_eq!(answer.results[1].status, "invalid");
    let links = grpc
        .get_links(pb::GetLinksRequest {
            r#type: "track".into(),
            id: "deezer:2947516331".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(links.links.iter().any(|l| l.method == "isrc"));
}

/// Too many IDs, none, or an unknown type are refused as a whole (400); a provider's ID not stored
/// resolves with a type through the catalogue's URL relations.
#[tokio::test]
async fn resolve_checks_the_batch_and_looks_up_pages_with_a_type() {
    let deezer = MockServer::start().await;
    let app = app_with(&["deezer"], &deezer).await;
    let many: Vec<String> = (0..101).map(|n| format!("deezer:{}", n + 1)).collect();
    let too_many = app.post("/v1/resolve", &json!({ "ids": many })).await;
    assert_error("101 IDs", &too_many, 400, "INVALID_ARGUMENT");
    let none = app.post("/v1/resolve", &json!({ "ids": [] })).await;
    assert_error("no IDs", &none, 400, "INVALID_ARGUMENT");
    let bad_type = app
        .post("/v1/resolve", &json!({"ids": ["deezer:1"], "type": "song"}))
        .await;
    assert_error("bad type", &bad_type, 400, "INVALID_ARGUMENT");

    Mock::given(method("GET"))
        .and(path("/ws/2/url"))
        .and(query_param("resource", "https://www.deezer.com/track/999"))
        .respond_with(json_response(&json!({
            "id": "6a0f8f0e-0000-4000-8000-0000000000aa", "resource": "https://www.deezer.com/track/999",
            "relations": [{"type": "free streaming", "target-type": "recording", "direction": "backward",
                           "recording": {"id": TRACK_2, "title": "Second", "length": null, "video": false,
                                         "disambiguation": ""}}]
        })))
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/ws/2/url"))
        .and(query_param("resource", "https://www.deezer.com/track/998"))
        .respond_with(error_response(404, "Not Found"))
        .mount(&app.mock)
        .await;
    mount_lookup(&app, "recording", TRACK_2, track(TRACK_2)).await;
    let (status, body) = app
        .post(
            "/v1/resolve",
            &json!({"ids": ["deezer:999", "deezer:998"], "type": "track"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["status"], "resolved", "{body}");
    assert_eq!(body["results"][0]["id"], format!("musicbrainz:{TRACK_2}"));
    assert_eq!(body["results"][1]["status"], "not_found");
}

/// With Deezer disabled, a `deezer:` ID resolves only through what is stored: nothing upstream is
/// asked.
#[tokio::test]
async fn a_disabled_providers_namespace_resolves_through_stored_links_only() {
    let app = TestApp::spawn().await;
    let answer = app.get("/v1/tracks/deezer:999").await;
    assert_error("disabled Deezer", &answer, 404, "NOT_FOUND");
    assert!(answer.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("disabled"));
    assert_eq!(app.upstream_calls().await, 0);
}

/// Two ISRCs of one recording matching two different Deezer tracks link neither: the conflict is
/// recorded and shown in `sources`.
#[tokio::test]
async fn isrcs_matching_different_tracks_are_a_conflict_not_a_link() {
    let deezer = MockServer::start().await;
    let app = app_with(&["deezer"], &deezer).await;
    mount_lookup(&app, "recording", TRACK, track(TRACK)).await;
    let mut other = deezer_track();
    other["id"] = json!(1111);
    Mock::given(method("GET"))
        .and(path("/track/isrc:GBAAA9900001"))
        .respond_with(body_response(&deezer_track().to_string()))
        .mount(&deezer)
        .await;
    Mock::given(method("GET"))
        .and(path("/track/isrc:GBAAA9900002"))
        .respond_with(body_response(&other.to_string()))
        .mount(&deezer)
        .await;
    let body = app
        .read_settled(&format!("/v1/tracks/musicbrainz:{TRACK}"))
        .await;
    assert_eq!(body["previews"], json!([]), "{body}");
    assert!(body["links"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["platform"] != "deezer"));
    let conflict = &body["sources"]["conflicts.deezer"];
    assert_eq!(conflict["provider"], "deezer", "{body}");
    assert!(conflict["conflicts"][0]
        .as_str()
        .unwrap()
        .contains("deezer:1111"));
}

/// A release is found on Deezer by its barcode: cover 1000×1000 with thumbnails, link by `barcode`;
/// the same album against a release with another track count is a conflict, not a cover.
#[tokio::test]
async fn a_release_links_by_barcode_unless_the_track_counts_differ() {
    for (tracks, linked) in [(1, true), (3, false)] {
        let deezer = MockServer::start().await;
        let app = app_with(&["deezer"], &deezer).await;
        mount_lookup(&app, "release", RELEASE, release_with(tracks)).await;
        Mock::given(method("GET"))
            .and(path("/album/upc:0602577684647"))
            .respond_with(body_response(&deezer_album().to_string()))
            .mount(&deezer)
            .await;
        let body = app
            .read_settled(&format!("/v1/releases/musicbrainz:{RELEASE}"))
            .await;
        if linked {
            let cover = &body["images"][0];
            assert_eq!(cover["type"], "cover", "{body}");
            assert_eq!(cover["source"], "deezer");
            assert_eq!(cover["width"], 1000);
            assert!(cover["thumbnails"]["250"].is_string());
            let link = body["links"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["platform"] == "deezer")
                .unwrap()
                .clone();
            assert_eq!(link["method"], "barcode");
            assert_eq!(body["attributes"]["genre"], json!(["Pop"]));
        } else {
            assert_eq!(body["images"], json!([]), "{body}");
            assert!(body["sources"]["conflicts.deezer"]["conflicts"][0]
                .as_str()
                .unwrap()
                .contains("tracks"));
        }
    }
}

/// An artist without a Deezer link is matched by name: the one exact name among the recorded search
/// results links with its confidence; a name no result is close enough to links nothing.
#[tokio::test]
async fn artists_match_by_name_above_the_threshold_only() {
    let search = fixture(
        "other/deezer/navidrome--search-artist-michael-jackson.json",
        json!({"data": [
            {"id": 259, "name": "Michael Jackson", "link": "https://www.deezer.com/artist/259",
             "picture_xl": "https://cdn-images.dzcdn.net/images/artist/97fae13b2b30e4aec2e8c9e0c7839d92/1000x1000-000000-80-0-0.jpg",
             "nb_fan": 12074101, "type": "artist"},
            {"id": 262255, "name": "Michael Jackson Tribute", "link": "https://www.deezer.com/artist/262255",
             "picture_xl": "https://cdn-images.dzcdn.net/images/artist//1000x1000-000000-80-0-0.jpg", "type": "artist"}
        ], "total": 2}),
    );
    let search: Value = serde_json::from_str(&search).unwrap();
    for (name, expected) in [
        ("Michael Jackson", Some("deezer:259")),
        ("Mike Jagger", None),
    ] {
        let deezer = MockServer::start().await;
        let app = app_with(&["deezer"], &deezer).await;
        let mut artist_body = artist(ARTIST, name);
        artist_body["relations"] = json!([]);
        mount_lookup(&app, "artist", ARTIST, artist_body).await;
        Mock::given(method("GET"))
            .and(path("/search/artist"))
            .respond_with(body_response(&search.to_string()))
            .mount(&deezer)
            .await;
        let mut full = search["data"][0].clone();
        full["nb_album"] = json!(43);
        Mock::given(method("GET"))
            .and(path("/artist/259"))
            .respond_with(body_response(&full.to_string()))
            .mount(&deezer)
            .await;
        let body = app
            .read_settled(&format!("/v1/artists/musicbrainz:{ARTIST}"))
            .await;
        let deezer_link = body["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["platform"] == "deezer")
            .cloned();
        match expected {
            Some(id) => {
                let link = deezer_link.unwrap_or_else(|| panic!("{name}: {body}"));
                assert_eq!(link["id"], id);
                assert_eq!(link["method"], "fuzzy");
                assert!(link["confidence"].as_f64().unwrap() >= 0.85);
                assert_eq!(body["images"][0]["type"], "poster");
                assert_eq!(body["images"][0]["source"], "deezer");
            }
            None => {
                assert!(deezer_link.is_none(), "{name} must not match: {body}");
                assert_eq!(body["images"], json!([]));
            }
        }
    }
}

/// iTunes finds a release by its barcode: the recorded lookup (collection and tracks in one
/// `results` array, after blank lines) gives a 1200×1200 cover and the Apple ID.
#[tokio::test]
async fn itunes_finds_a_release_by_barcode() {
    let itunes = MockServer::start().await;
    let app = app_with(&["itunes"], &itunes).await;
    mount_lookup(&app, "release", RELEASE, release_with(6)).await;
    let lookup = fixture(
        "other/itunes/harmony--lookup-1728639278-us.json",
        json!({"resultCount": 1, "results": [{"wrapperType": "collection", "collectionType": "Album",
            "artistId": 1194912387, "collectionId": 1728639278u64, "artistName": "Dreamcatcher",
            "collectionName": "Nightmare·Escape The ERA - EP",
            "collectionViewUrl": "https://music.apple.com/us/album/nightmare-escape-the-era-ep/1728639278?uo=4",
            "artworkUrl100": "https://is1-ssl.mzstatic.com/image/thumb/Music116/v4/0e/a4/29/cover.jpg/100x100bb.jpg",
            "trackCount": 6, "primaryGenreName": "K-Pop"}]}),
    );
    Mock::given(method("GET"))
        .and(path("/lookup"))
        .and(query_param("upc", "0602577684647"))
        .respond_with(body_response(&format!("\n\n\n{lookup}")))
        .mount(&itunes)
        .await;
    let body = app
        .read_settled(&format!("/v1/releases/musicbrainz:{RELEASE}"))
        .await;
    let cover = &body["images"][0];
    assert_eq!(cover["source"], "itunes", "{body}");
    assert!(cover["url"].as_str().unwrap().ends_with("/1200x1200bb.jpg"));
    assert_eq!(cover["width"], 1200);
    let link = body["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["platform"] == "itunes")
        .unwrap()
        .clone();
    assert_eq!(link["id"], "itunes:1728639278");
    assert_eq!(link["method"], "barcode");
    assert_eq!(body["attributes"]["genre"], json!(["K-Pop"]));
}
