//! The user library end to end, through HTTP and gRPC, against the real PostgreSQL and a mock
//! MusicBrainz: favourites, playlists (dense positions under concurrent edits, limits, privacy), plays
//! with de-duplication (manual clock), history, play counts and top lists, playback state with versions,
//! search history, privacy settings, MBID merges, export and purge, and access by a second user on
//! every route.
//!
//! - this file: the catalogue every test mounts, starting the app, and playlist helpers;
//! - [`favourites`], [`playlists`], [`history`] (plays, top lists, privacy settings), [`playback`],
//!   [`search_history`], [`merges`], [`export`] (export and purge), [`grpc`] (every method over gRPC).

mod export;
mod favourites;
mod grpc;
mod history;
mod merges;
mod playback;
mod playlists;
mod search_history;

use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::Mock;

use crate::bodies::{self, ARTIST};
use crate::helpers::*;

pub(crate) fn mb(id: &str) -> String {
    format!("musicbrainz:{id}")
}

/// A recording MBID numbered `n` (answered by [`mount_catalogue`]).
pub(crate) fn track_id(n: u32) -> String {
    format!("5a000000-0000-4000-8000-{n:012x}")
}

/// Answers every recording and artist lookup with an entity of the MBID asked for, so tests can use
/// any number of tracks.
pub(crate) async fn mount_catalogue(app: &TestApp) {
    Mock::given(method("GET"))
        .and(path_regex(r"^/ws/2/recording/[0-9a-f-]{36}$"))
        .respond_with(|request: &wiremock::Request| {
            let id = request.url.path().rsplit('/').next().unwrap_or_default();
            json_response(&bodies::track(id))
        })
        .with_priority(10)
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/ws/2/artist/[0-9a-f-]{36}$"))
        .respond_with(|request: &wiremock::Request| {
            let id = request.url.path().rsplit('/').next().unwrap_or_default();
            json_response(&bodies::artist(id, "Ada Example"))
        })
        .with_priority(10)
        .mount(&app.mock)
        .await;
}

pub(crate) async fn spawn() -> TestApp {
    let app = TestApp::spawn().await;
    mount_catalogue(&app).await;
    app
}

async fn spawn_with_clock() -> TestApp {
    let app = TestApp::spawn_with_clock().await;
    mount_catalogue(&app).await;
    app
}

/// Creates a playlist over HTTP; returns its ID.
pub(crate) async fn playlist(app: &TestApp, token: &str, name: &str, public: bool) -> String {
    let (status, body) = app
        .post_auth(
            "/v1/me/playlists",
            token,
            &json!({"name": name, "description": "for tests", "public": public}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

/// Adds tracks; returns the added item IDs.
pub(crate) async fn add(
    app: &TestApp,
    token: &str,
    list: &str,
    tracks: &[String],
    position: Option<i64>,
) -> Vec<i64> {
    let ids: Vec<String> = tracks.iter().map(|t| mb(t)).collect();
    let mut body = json!({"track_ids": ids});
    if let Some(position) = position {
        body["position"] = json!(position);
    }
    let (status, answer) = app
        .post_auth(&format!("/v1/playlists/{list}/items"), token, &body)
        .await;
    assert_eq!(status, 201, "{answer}");
    answer["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["item_id"].as_i64().expect("item_id"))
        .collect()
}

/// The playlist's (item ID, track ID) pairs in order, checking positions are 0..n-1 and total = n.
async fn items(app: &TestApp, token: &str, list: &str) -> Vec<(i64, String)> {
    let (status, body) = app.get_auth(&format!("/v1/playlists/{list}"), token).await;
    assert_eq!(status, 200, "{body}");
    let items = body["items"].as_array().expect("items");
    assert_eq!(body["total"], items.len(), "{body}");
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item["position"], i, "positions are dense: {body}");
    }
    items
        .iter()
        .map(|i| {
            (
                i["item_id"].as_i64().expect("item_id"),
                i["track"]["id"].as_str().expect("track id").to_owned(),
            )
        })
        .collect()
}

async fn mount_search(app: &TestApp) {
    Mock::given(method("GET"))
        .and(path("/ws/2/artist"))
        .respond_with(json_response(&bodies::artist_search(&[(
            ARTIST,
            "Ada Example",
            100,
        )])))
        .mount(&app.mock)
        .await;
}
