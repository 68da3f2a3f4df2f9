//! Lidarr's metadata API (SkyHook v0.4) end to end: every route under both prefixes, the exact keys
//! and casing of SKYHOOK.md §3, the status rules of §4, a large artist browsed over several pages, and
//! one upstream call per entity whichever API asked first. MusicBrainz is a mock answering WS/2
//! bodies in the real format (`bodies`).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::bodies::*;
use crate::helpers::*;

/// Both prefixes Lidarr may use: a custom `metadatasource` at the root, and the live service's path.
const PREFIXES: [&str; 2] = ["", "/api/v0.4"];

/// A track MBID of `bodies::release` (its first track).
const FIRST_TRACK: &str = "9f0e0000-0000-4000-8000-000000000001";

/// The keys of an object.
fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// SKYHOOK.md §3: ArtistResource.
const ARTIST_KEYS: [&str; 14] = [
    "id",
    "oldids",
    "artistname",
    "sortname",
    "artistaliases",
    "disambiguation",
    "overview",
    "type",
    "status",
    "genres",
    "images",
    "links",
    "rating",
    "Albums",
];
/// ArtistAlbum.
const ARTIST_ALBUM_KEYS: [&str; 8] = [
    "Id",
    "OldIds",
    "Title",
    "Type",
    "SecondaryTypes",
    "ReleaseStatuses",
    "ReleaseDate",
    "Rating",
];
/// AlbumResource.
const ALBUM_KEYS: [&str; 17] = [
    "id",
    "oldids",
    "title",
    "disambiguation",
    "aliases",
    "overview",
    "type",
    "secondarytypes",
    "releasestatuses",
    "releasedate",
    "artistid",
    "artists",
    "genres",
    "images",
    "links",
    "rating",
    "Releases",
];
/// Release.
const RELEASE_KEYS: [&str; 11] = [
    "Id",
    "OldIds",
    "Title",
    "Disambiguation",
    "Status",
    "Country",
    "Label",
    "ReleaseDate",
    "Media",
    "TrackCount",
    "Tracks",
];
/// Track.
const TRACK_KEYS: [&str; 10] = [
    "Id",
    "OldIds",
    "RecordingId",
    "OldRecordingIds",
    "ArtistId",
    "TrackName",
    "TrackNumber",
    "TrackPosition",
    "MediumNumber",
    "DurationMs",
];

/// GETs a path; returns status, content type and JSON body (`Null` when not JSON).
async fn get(app: &TestApp, path: &str) -> (u16, String, Value) {
    let (status, headers, body) = app.send(reqwest::Method::GET, path, None, None).await;
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, body)
}

/// Mounts the release-group browse of `ARTIST`: one page at `offset` of `total`.
async fn mount_album_page(app: &TestApp, albums: Vec<Value>, total: usize, offset: usize) {
    Mock::given(method("GET"))
        .and(path("/ws/2/release-group"))
        .and(query_param("artist", ARTIST))
        .and(query_param("offset", offset.to_string()))
        .and(query_param("limit", "100"))
        .respond_with(json_response(&album_browse(albums, total, offset)))
        .expect(1)
        .mount(&app.mock)
        .await;
}

/// Mounts the release browse of `album`.
async fn mount_releases(app: &TestApp, album: &str, releases: Vec<Value>) {
    let count = releases.len();
    Mock::given(method("GET"))
        .and(path("/ws/2/release"))
        .and(query_param("release-group", album))
        .and(query_param("offset", "0"))
        .respond_with(json_response(&json!({
            "release-count": count, "release-offset": 0, "releases": releases
        })))
        .expect(1)
        .mount(&app.mock)
        .await;
}

/// The artist `ARTIST` with one album, `ALBUM`.
async fn mount_artist_with_album(app: &TestApp) {
    mount_lookup(app, "artist", ARTIST, artist(ARTIST, "Ada Example")).await;
    let mut summary = album_summary(ALBUM, "Partial Dates", "1999-03");
    summary["secondary-types"] = json!(["Live", "Compilation"]);
    let mut guest_first = album_summary(
        "1b4dac3f-6e52-4a8f-8d2b-3c7e9f5a2b09",
        "Guest Album",
        "2001",
    );
    guest_first["artist-credit"] = json!([credits()[1].clone()]);
    mount_album_page(app, vec![summary, guest_first], 2, 0).await;
}

/// A release whose second medium's track is credited to `GUEST` alone, plus a DVD medium Lidarr
/// would drop.
fn compilation_release() -> Value {
    let mut body = release(RELEASE);
    body["media"][1]["tracks"][0]["artist-credit"] = json!([credits()[1].clone()]);
    body["media"][1]["tracks"][0]["recording"]["artist-credit"] = json!([credits()[1].clone()]);
    let mut dvd = body["media"][1].clone();
    dvd["position"] = json!(3);
    dvd["format"] = json!("DVD-Video");
    body["media"].as_array_mut().expect("media").push(dvd);
    body
}

#[tokio::test]
async fn artist_answers_lidarr_keys_under_both_prefixes_from_one_upstream_fetch() {
    let app = TestApp::spawn().await;
    mount_artist_with_album(&app).await;

    let mut answers = Vec::new();
    for prefix in PREFIXES {
        let (status, content_type, body) = get(&app, &format!("{prefix}/artist/{ARTIST}")).await;
        assert_eq!(status, 200, "{prefix}: {body}");
        assert_eq!(content_type, "application/json", "{prefix}");
        answers.push(body);
    }
    assert_eq!(answers[0], answers[1], "both prefixes answer the same");
    let body = &answers[0];
    assert_eq!(keys(body), set(&ARTIST_KEYS));
    assert_eq!(body["id"], ARTIST);
    assert_eq!(body["oldids"], json!([]));
    assert_eq!(body["artistname"], "Ada Example");
    assert_eq!(body["sortname"], "Example, Ada");
    // Artist names only; search hints are not aliases Lidarr shows.
    assert_eq!(body["artistaliases"], json!(["エイダ"]));
    assert_eq!(body["disambiguation"], "");
    assert_eq!(body["overview"], Value::Null);
    assert_eq!(body["type"], "Person");
    assert_eq!(body["status"], "active");
    assert_eq!(body["genres"], json!(["Synth-Pop"]));
    assert_eq!(body["images"], json!([]));
    assert_eq!(
        body["links"],
        json!([
            {"target": "https://www.discogs.com/artist/123456", "type": "discogs"},
            {"target": "https://ada.example.org/", "type": "example"}
        ])
    );
    assert_eq!(body["rating"], json!({"Count": 0, "Value": null}));

    // Only release groups whose first credited artist is this one.
    let albums = body["Albums"].as_array().expect("Albums");
    assert_eq!(albums.len(), 1, "{body}");
    assert_eq!(keys(&albums[0]), set(&ARTIST_ALBUM_KEYS));
    assert_eq!(albums[0]["Id"], ALBUM);
    assert_eq!(albums[0]["OldIds"], json!([]));
    assert_eq!(albums[0]["Title"], "Partial Dates");
    assert_eq!(albums[0]["Type"], "Album");
    assert_eq!(albums[0]["SecondaryTypes"], json!(["Compilation", "Live"]));
    assert_eq!(albums[0]["ReleaseStatuses"], json!(["Official"]));
    assert_eq!(albums[0]["ReleaseDate"], "1999-03-01");
    assert_eq!(albums[0]["Rating"], Value::Null);

    // One artist lookup and one browse page, for four reads (two of /v1).
    let (status, v1) = app.get(&format!("/v1/artists/musicbrainz:{ARTIST}")).await;
    assert_eq!(status, 200, "{v1}");
    assert_eq!(app.upstream_calls().await, 2);

    for prefix in PREFIXES {
        let path = if prefix.is_empty() { "/" } else { "/api/v0.4/" };
        let (status, content_type, root) = get(&app, path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(content_type, "application/json");
        assert_eq!(
            keys(&root),
            set(&["version", "branch", "commit", "replication_date"])
        );
    }
    // The routes at `/` beside linernotes' own keep working.
    assert_eq!(app.get("/healthz").await.0, 200);
}

#[tokio::test]
async fn album_answers_every_release_medium_and_track_with_their_artists() {
    let app = TestApp::spawn().await;
    mount_lookup(&app, "release-group", ALBUM, album(ALBUM)).await;
    mount_lookup(&app, "artist", ARTIST, artist(ARTIST, "Ada Example")).await;
    mount_releases(&app, ALBUM, vec![compilation_release()]).await;
    // The guest is not known to MusicBrainz right now: answered by its credit.
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{GUEST}")))
        .respond_with(error_response(503, "busy"))
        .mount(&app.mock)
        .await;

    let mut answers = Vec::new();
    for prefix in PREFIXES {
        let (status, content_type, body) = get(&app, &format!("{prefix}/album/{ALBUM}")).await;
        assert_eq!(status, 200, "{prefix}: {body}");
        assert_eq!(content_type, "application/json");
        answers.push(body);
    }
    assert_eq!(answers[0], answers[1]);
    let body = &answers[0];
    assert_eq!(keys(body), set(&ALBUM_KEYS));
    assert_eq!(body["id"], ALBUM);
    assert_eq!(body["title"], "Partial Dates");
    assert_eq!(body["aliases"], json!(["Partial Dates (Deluxe)"]));
    assert_eq!(body["type"], "Album");
    assert_eq!(body["secondarytypes"], json!(["Live"]));
    assert_eq!(body["releasestatuses"], json!(["Official"]));
    assert_eq!(body["releasedate"], "1999-03-01");
    assert_eq!(body["artistid"], ARTIST);
    assert_eq!(body["genres"], json!(["Electronic"]));
    assert_eq!(body["rating"], json!({"Count": 0, "Value": null}));

    let artists = body["artists"].as_array().expect("artists");
    let ids: Vec<&str> = artists.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [ARTIST, GUEST], "album artist first, each once");
    let mut nested = set(&ARTIST_KEYS);
    nested.remove("Albums");
    for artist in artists {
        assert_eq!(keys(artist), nested, "no Albums inside an album");
    }
    assert_eq!(artists[1]["artistname"], "Guest");

    let releases = body["Releases"].as_array().expect("Releases");
    assert_eq!(releases.len(), 1);
    let release = &releases[0];
    assert_eq!(keys(release), set(&RELEASE_KEYS));
    assert_eq!(release["Id"], RELEASE);
    assert_eq!(release["Status"], "Official");
    assert_eq!(release["Country"], json!(["United Kingdom"]));
    assert_eq!(release["Label"], json!(["Example Records"]));
    assert_eq!(release["ReleaseDate"], "1999-01-01");
    assert_eq!(release["Disambiguation"], "");
    // The DVD medium and its track are left out, as Lidarr would.
    assert_eq!(
        release["Media"],
        json!([
            {"Position": 1, "Name": "", "Format": "12\" Vinyl"},
            {"Position": 2, "Name": "Bonus Disc", "Format": "CD"}
        ])
    );
    assert_eq!(release["TrackCount"], 3);
    let tracks = release["Tracks"].as_array().expect("Tracks");
    assert_eq!(tracks.len(), 3);
    for track in tracks {
        assert_eq!(keys(track), set(&TRACK_KEYS));
        assert!(
            ids.contains(&track["ArtistId"].as_str().unwrap()),
            "{track}"
        );
    }
    assert_eq!(tracks[0]["Id"], FIRST_TRACK);
    assert_eq!(tracks[0]["RecordingId"], TRACK);
    assert_eq!(tracks[0]["TrackNumber"], "A1");
    assert_eq!(tracks[0]["TrackPosition"], 1);
    assert_eq!(tracks[0]["MediumNumber"], 1);
    assert_eq!(tracks[0]["DurationMs"], 201000);
    assert_eq!(tracks[0]["ArtistId"], ARTIST);
    assert_eq!(tracks[1]["DurationMs"], Value::Null);
    assert_eq!(tracks[2]["TrackNumber"], "1");
    assert_eq!(tracks[2]["MediumNumber"], 2);
    assert_eq!(tracks[2]["ArtistId"], GUEST);
    assert_eq!(tracks[0]["OldIds"], json!([]));
    assert_eq!(tracks[0]["OldRecordingIds"], json!([]));

    // The releases are stored: the artist's list now carries their statuses, and a fingerprint
    // of the album's recordings finds it.
    let (status, fingerprinted) = app
        .post("/api/v0.4/search/fingerprint", &json!([TRACK, TRACK_2]))
        .await;
    assert_eq!(status, 200, "{fingerprinted}");
    let found = fingerprinted.as_array().expect("albums");
    assert_eq!(found.len(), 1, "{fingerprinted}");
    assert_eq!(found[0]["id"], ALBUM);
    assert_eq!(found[0]["Releases"][0]["Id"], RELEASE);
    let (status, nothing) = app
        .post(
            "/search/fingerprint",
            &json!(["5b11f4ce-a62d-471e-81fc-a69a8278c7da"]),
        )
        .await;
    assert_eq!((status, nothing), (200, json!([])));
    let (status, refused) = app
        .post("/search/fingerprint", &json!({"not": "a list"}))
        .await;
    assert_eq!(status, 400);
    assert!(refused["error"].is_string(), "{refused}");
}

#[tokio::test]
async fn a_large_artist_is_browsed_over_pages_once_and_answered_whole() {
    let app = TestApp::spawn().await;
    mount_lookup(&app, "artist", ARTIST, artist(ARTIST, "Ada Example")).await;
    let album_id = |i: usize| format!("7a000000-0000-4000-8000-{i:012}");
    let summaries = |range: std::ops::Range<usize>| {
        range
            .map(|i| album_summary(&album_id(i), &format!("Album {i:03}"), "2001-05-02"))
            .collect::<Vec<_>>()
    };
    mount_album_page(&app, summaries(0..100), 250, 0).await;
    mount_album_page(&app, summaries(100..200), 250, 100).await;
    mount_album_page(&app, summaries(200..250), 250, 200).await;

    let (status, _, body) = get(&app, &format!("/api/v0.4/artist/{ARTIST}")).await;
    assert_eq!(status, 200, "{body}");
    let albums = body["Albums"].as_array().expect("Albums");
    assert_eq!(albums.len(), 250);
    let listed: BTreeSet<&str> = albums.iter().map(|a| a["Id"].as_str().unwrap()).collect();
    assert!(listed.contains(album_id(249).as_str()));
    assert_eq!(app.upstream_calls().await, 4, "one lookup, three pages");

    // From the database afterwards, also after the hot tiers are dropped.
    app.metadata.cache().clear_local().await;
    let (status, _, again) = get(&app, &format!("/artist/{ARTIST}")).await;
    assert_eq!(status, 200);
    assert_eq!(again["Albums"].as_array().map(Vec::len), Some(250));
    assert_eq!(app.upstream_calls().await, 4);
}

#[tokio::test]
async fn v1_and_lidarr_asking_for_one_missing_artist_make_one_upstream_call() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .respond_with(
            json_response(&artist(ARTIST, "Ada Example")).set_delay(Duration::from_millis(300)),
        )
        .expect(1)
        .mount(&app.mock)
        .await;
    mount_album_page(&app, Vec::new(), 0, 0).await;

    let v1_path = format!("/v1/artists/musicbrainz:{ARTIST}");
    let lidarr_path = format!("/api/v0.4/artist/{ARTIST}");
    let (v1, lidarr) = tokio::join!(app.get(&v1_path), get(&app, &lidarr_path));
    assert_eq!(v1.0, 200, "{}", v1.1);
    assert_eq!(lidarr.0, 200, "{}", lidarr.2);
    assert_eq!(lidarr.2["Albums"], json!([]));
    let lookups = app
        .mock
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == format!("/ws/2/artist/{ARTIST}"))
        .count();
    assert_eq!(lookups, 1);
}

#[tokio::test]
async fn a_merged_mbid_answers_the_surviving_artist_with_the_old_id_in_oldids() {
    let app = TestApp::spawn().await;
    let old = "0a3c9b2e-5d41-4f7e-9c1a-2b6d8e4f1a99";
    // MusicBrainz redirects a merged MBID; the client follows and gets the surviving artist.
    mount_lookup(&app, "artist", old, artist(ARTIST, "Ada Example")).await;
    mount_album_page(&app, Vec::new(), 0, 0).await;

    let (status, _, body) = get(&app, &format!("/artist/{old}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], ARTIST);
    assert_eq!(body["oldids"], json!([old]));
}

#[tokio::test]
async fn errors_are_json_and_404_only_when_musicbrainz_says_so() {
    let app = TestApp::spawn().await;
    let missing = "0a3c9b2e-5d41-4f7e-9c1a-2b6d8e4f1a77";
    for entity in ["artist", "release-group"] {
        Mock::given(method("GET"))
            .and(path(format!("/ws/2/{entity}/{missing}")))
            .respond_with(error_response(404, "Not Found"))
            .mount(&app.mock)
            .await;
    }
    let down = "0a3c9b2e-5d41-4f7e-9c1a-2b6d8e4f1a66";
    for entity in ["artist", "release-group"] {
        Mock::given(method("GET"))
            .and(path(format!("/ws/2/{entity}/{down}")))
            .respond_with(ResponseTemplate::new(503).set_body_string("<html>down</html>"))
            .mount(&app.mock)
            .await;
    }
    // An artist that exists, whose album list cannot be fetched now.
    mount_lookup(&app, "artist", ARTIST, artist(ARTIST, "Ada Example")).await;
    Mock::given(method("GET"))
        .and(path("/ws/2/release-group"))
        .respond_with(error_response(503, "slow down"))
        .mount(&app.mock)
        .await;

    for prefix in PREFIXES {
        let cases = [
            (
                format!("{prefix}/artist/{missing}"),
                404,
                Some("Artist not found"),
            ),
            (
                format!("{prefix}/album/{missing}"),
                404,
                Some("Album not found"),
            ),
            (
                format!("{prefix}/artist/not-a-uuid"),
                400,
                Some("Invalid UUID"),
            ),
            (
                format!("{prefix}/album/not-a-uuid"),
                400,
                Some("Invalid UUID"),
            ),
            (format!("{prefix}/artist/{down}"), 503, None),
            (format!("{prefix}/album/{down}"), 503, None),
            // Never a partial list or a 404 for an artist that exists.
            (format!("{prefix}/artist/{ARTIST}"), 503, None),
            (
                format!("{prefix}/search?type=artist"),
                400,
                Some("No query provided"),
            ),
            (
                format!("{prefix}/search?query=x"),
                400,
                Some("Type not provided"),
            ),
            (
                format!("{prefix}/search?type=label&query=x"),
                400,
                Some("Unsupported search type label"),
            ),
            (format!("{prefix}/no-such-route"), 404, None),
        ];
        for (path, want, message) in cases {
            let (status, content_type, body) = get(&app, &path).await;
            assert_eq!(status, want, "{path}: {body}");
            assert!(
                content_type.starts_with("application/json"),
                "{path}: {content_type}"
            );
            assert!(!body.is_null(), "{path}: a JSON body");
            if let Some(message) = message {
                assert_eq!(body, json!({"error": message}), "{path}");
            }
        }
        let (status, headers, body) = app
            .send(
                reqwest::Method::GET,
                &format!("{prefix}/artist/{down}"),
                None,
                None,
            )
            .await;
        assert_eq!(status, 503);
        assert!(body["error"].is_string(), "{body}");
        assert!(headers.contains_key("retry-after"));
    }
}

#[tokio::test]
async fn searches_answer_full_hits_and_an_empty_list_when_nothing_matches() {
    let app = TestApp::spawn().await;
    let other = "0a3c9b2e-5d41-4f7e-9c1a-2b6d8e4f1a55";
    Mock::given(method("GET"))
        .and(path("/ws/2/artist"))
        .and(query_param("query", "ada example"))
        .respond_with(json_response(&artist_search(&[
            (ARTIST, "Ada Example", 100),
            (other, "Ada Examples", 80),
        ])))
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/ws/2/artist"))
        .and(query_param("query", "nothing at all"))
        .respond_with(json_response(&artist_search(&[])))
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/ws/2/release-group"))
        .and(query_param("query", "nothing at all"))
        .respond_with(json_response(&json!({
            "created": "2026-11-27T00:00:00.000Z", "count": 0, "offset": 0, "release-groups": []
        })))
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/ws/2/release-group"))
        .and(query_param("query", "partial dates"))
        .respond_with(json_response(&json!({
            "created": "2026-11-27T00:00:00.000Z", "count": 1, "offset": 0,
            "release-groups": [{"id": ALBUM, "title": "Partial Dates", "score": 100}]
        })))
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/ws/2/artist"))
        .and(query_param("query", "partial dates"))
        .respond_with(json_response(&artist_search(&[])))
        .mount(&app.mock)
        .await;
    mount_lookup(&app, "artist", ARTIST, artist(ARTIST, "Ada Example")).await;
    mount_lookup(&app, "release-group", ALBUM, album(ALBUM)).await;
    mount_releases(&app, ALBUM, vec![release(RELEASE)]).await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{other}")))
        .respond_with(error_response(503, "busy"))
        .mount(&app.mock)
        .await;

    // Lidarr lowercases, and escapes spaces as `+` or `%20`.
    let (status, _, artists) = get(&app, "/api/v0.4/search?type=artist&query=ada+example").await;
    assert_eq!(status, 200, "{artists}");
    let artists = artists.as_array().expect("a list").clone();
    assert_eq!(artists.len(), 2);
    assert_eq!(keys(&artists[0]), set(&ARTIST_KEYS));
    assert_eq!(artists[0]["id"], ARTIST);
    assert_eq!(artists[0]["genres"], json!(["Synth-Pop"]));
    assert_eq!(artists[0]["Albums"], json!([]));
    // A hit that cannot be fetched now is answered by what the search knows.
    assert_eq!(artists[1]["id"], other);
    assert_eq!(artists[1]["artistname"], "Ada Examples");
    assert_eq!(artists[1]["disambiguation"], "test band");

    for prefix in PREFIXES {
        for kind in ["artist", "album", "all"] {
            let (status, _, body) = get(
                &app,
                &format!("{prefix}/search?type={kind}&query=nothing%20at%20all"),
            )
            .await;
            assert_eq!((status, body), (200, json!([])), "{prefix} {kind}");
        }
    }

    let (status, _, albums) = get(
        &app,
        "/search?type=album&query=partial+dates&artist=&includeTracks=1",
    )
    .await;
    assert_eq!(status, 200, "{albums}");
    assert_eq!(albums.as_array().map(Vec::len), Some(1), "{albums}");
    assert_eq!(keys(&albums[0]), set(&ALBUM_KEYS));
    assert_eq!(albums[0]["Releases"][0]["Tracks"][0]["Id"], FIRST_TRACK);

    let (status, _, all) = get(&app, "/api/v0.4/search?type=all&query=partial+dates").await;
    assert_eq!(status, 200, "{all}");
    let all = all.as_array().expect("a list");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(keys(&all[0]), set(&["score", "artist", "album"]));
    assert_eq!(all[0]["score"], 0);
    assert_eq!(all[0]["artist"], Value::Null);
    assert_eq!(all[0]["album"]["id"], ALBUM);
    assert_eq!(all[0]["album"]["Releases"], json!([]));
}

#[tokio::test]
async fn recent_updates_are_always_limited_so_lidarr_keeps_its_own_schedule() {
    let app = TestApp::spawn().await;
    for prefix in PREFIXES {
        for kind in ["artist", "album"] {
            let (status, content_type, body) =
                get(&app, &format!("{prefix}/recent/{kind}?since=1764547200")).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(content_type, "application/json");
            assert_eq!(keys(&body), set(&["since", "count", "limited", "items"]));
            assert_eq!(body["since"], "2025-12-01T00:00:00+00:00");
            assert_eq!(body["limited"], true);
            assert_eq!(body["count"], 0);
            assert_eq!(body["items"], json!([]));
        }
        let (status, _, body) = get(&app, &format!("{prefix}/recent/artist")).await;
        assert_eq!(status, 200);
        assert_eq!(body["items"], json!([]));
    }
    assert_eq!(app.upstream_calls().await, 0);
}
