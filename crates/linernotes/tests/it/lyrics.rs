//! Lyrics from LRCLIB: the recorded body through both transports, an instrumental saying so, a
//! search when the exact names miss, another version refused by its duration, and no lyrics a 404.

use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::bodies::*;
use crate::enrichment::{app_with, body_response, fixture};
use crate::helpers::*;
use linernotes::grpc::pb;

/// A recording of "I Want to Live" by Borislav Slavov, 233 seconds (the recorded LRCLIB body's track).
fn recording(length_ms: i64) -> Value {
    let mut body = track(TRACK);
    body["title"] = json!("I Want to Live");
    body["length"] = json!(length_ms);
    body["artist-credit"] = json!([{"name": "Borislav Slavov", "joinphrase": "",
        "artist": {"id": ARTIST, "name": "Borislav Slavov", "sort-name": "Slavov, Borislav",
                   "disambiguation": "", "type": "Person", "type-id": null}}]);
    body
}

fn recorded_lyrics() -> String {
    fixture(
        "other/lrclib/lrclibapi--get-i-want-to-live-2025.json",
        json!({"id": 3396226, "name": "I Want to Live", "trackName": "I Want to Live",
               "artistName": "Borislav Slavov", "albumName": "Baldur's Gate 3 (Original Game Soundtrack)",
               "duration": 233.0, "instrumental": false,
               "plainLyrics": "I feel your breath upon my neck\nA soft caress as cold as dеath",
               "syncedLyrics": "[00:17.12] I feel your breath upon my neck\n[00:49.72] "}),
    )
}

fn lyrics_path() -> String {
    format!("/v1/tracks/musicbrainz:{TRACK}/lyrics")
}

/// The first lyrics request fetches from LRCLIB (asked by title, artist and duration) and answers
/// plain and synced lyrics as recorded, look-alike letters included; gRPC answers the same.
#[tokio::test]
async fn lyrics_come_from_lrclib_on_both_transports() {
    let lrclib = MockServer::start().await;
    let app = app_with(&["lrclib"], &lrclib).await;
    mount_lookup(&app, "recording", TRACK, recording(233_000)).await;
    let recorded = recorded_lyrics();
    Mock::given(method("GET"))
        .and(path("/api/get"))
        .and(query_param("track_name", "I Want to Live"))
        .and(query_param("artist_name", "Borislav Slavov"))
        .and(query_param("duration", "233"))
        .respond_with(body_response(&recorded))
        .expect(1)
        .mount(&lrclib)
        .await;
    let (status, body) = app.get(&lyrics_path()).await;
    assert_eq!(status, 200, "{body}");
    let original: Value = serde_json::from_str(&recorded).unwrap();
    assert_eq!(body["plain"], original["plainLyrics"]);
    assert_eq!(body["synced"], original["syncedLyrics"]);
    assert_eq!(body["instrumental"], false);
    assert_eq!(body["source"], "lrclib");

    let mut grpc = app.grpc().await;
    let lyrics = grpc
        .get_lyrics(pb::GetEntityRequest {
            id: format!("musicbrainz:{TRACK}"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        lyrics.plain.as_deref(),
        original["plainLyrics"].as_str(),
        "stored, not fetched again"
    );
    assert!(!lyrics.instrumental);
}

/// An instrumental says so, with no lyrics.
#[tokio::test]
async fn an_instrumental_says_so() {
    let lrclib = MockServer::start().await;
    let app = app_with(&["lrclib"], &lrclib).await;
    mount_lookup(&app, "recording", TRACK, recording(233_000)).await;
    Mock::given(method("GET"))
        .and(path("/api/get"))
        .respond_with(body_response(
            &json!({"id": 7, "trackName": "I Want to Live", "artistName": "Borislav Slavov",
                    "albumName": "null", "duration": 233, "instrumental": true,
                    "plainLyrics": null, "syncedLyrics": null})
            .to_string(),
        ))
        .mount(&lrclib)
        .await;
    let (status, body) = app.get(&lyrics_path()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"plain": null, "synced": null, "instrumental": true, "source": "lrclib"})
    );
}

/// When the exact names miss (404), a search finds the close match; a record of another length is
/// another version, and no lyrics at all is a 404 naming the track.
#[tokio::test]
async fn a_miss_searches_and_other_versions_are_refused() {
    for (length_ms, found) in [(233_500, true), (300_000, false)] {
        let lrclib = MockServer::start().await;
        let app = app_with(&["lrclib"], &lrclib).await;
        mount_lookup(&app, "recording", TRACK, recording(length_ms)).await;
        Mock::given(method("GET"))
            .and(path("/api/get"))
            .respond_with(
                ResponseTemplate::new(404).set_body_string(
                    json!({"message": "Failed to find specified track", "name": "TrackNotFound",
                       "statusCode": 404})
                    .to_string(),
                ),
            )
            .mount(&lrclib)
            .await;
        let recorded: Value = serde_json::from_str(&recorded_lyrics()).unwrap();
        Mock::given(method("GET"))
            .and(path("/api/search"))
            .respond_with(body_response(&json!([recorded]).to_string()))
            .mount(&lrclib)
            .await;
        let answer = app.get(&lyrics_path()).await;
        if found {
            assert_eq!(answer.0, 200, "{}", answer.1);
            assert_eq!(answer.1["source"], "lrclib");
        } else {
            assert_error("another version", &answer, 404, "NOT_FOUND");
        }
    }
}

/// With LRCLIB disabled there are no lyrics: 404, and nothing is asked.
#[tokio::test]
async fn without_lrclib_there_are_no_lyrics() {
    let app = TestApp::spawn().await;
    mount_lookup(&app, "recording", TRACK, recording(233_000)).await;
    let answer = app.get(&lyrics_path()).await;
    assert_error("no provider", &answer, 404, "NOT_FOUND");
    let bad = app.get("/v1/tracks/isrc:nonsense/lyrics").await;
    assert_error("bad ID", &bad, 400, "INVALID_ARGUMENT");
}
