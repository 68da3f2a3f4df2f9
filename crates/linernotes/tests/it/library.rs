//! The user library end to end, through HTTP and gRPC, against the real PostgreSQL and a mock
//! MusicBrainz: favourites, playlists (dense positions under concurrent edits, limits, privacy), plays
//! with de-duplication (manual clock), history, play counts and top lists, playback state with versions,
//! search history, privacy settings, MBID merges, export and purge, and access by a second user on
//! every route.

use std::collections::BTreeSet;

use chrono::Duration;
use linernotes::grpc::pb;
use linernotes::grpc::pb::library_service_client::LibraryServiceClient;
use reqwest::Method;
use serde_json::{json, Value};
use tonic::transport::Channel;
use tonic::Code;
use wiremock::matchers::{method, path, path_regex};
use wiremock::Mock;

use crate::bodies::{self, ARTIST, GUEST, TRACK, TRACK_2};
use crate::helpers::*;

fn mb(id: &str) -> String {
    format!("musicbrainz:{id}")
}

/// A recording MBID numbered `n` (answered by [`mount_catalogue`]).
fn track_id(n: u32) -> String {
    format!("5a000000-0000-4000-8000-{n:012x}")
}

/// Answers every recording and artist lookup with an entity of the MBID asked for, so tests can use
/// any number of tracks.
async fn mount_catalogue(app: &TestApp) {
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

async fn spawn() -> TestApp {
    let app = TestApp::spawn().await;
    mount_catalogue(&app).await;
    app
}

async fn spawn_with_clock() -> TestApp {
    let app = TestApp::spawn_with_clock().await;
    mount_catalogue(&app).await;
    app
}

async fn library_client(app: &TestApp) -> LibraryServiceClient<Channel> {
    LibraryServiceClient::new(app.channel().await)
}

/// Creates a playlist over HTTP; returns its ID.
async fn playlist(app: &TestApp, token: &str, name: &str, public: bool) -> String {
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
async fn add(
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

#[tokio::test]
async fn favourites_are_idempotent_paged_filtered_and_private() {
    let app = spawn().await;
    let (_, ada) = user(&app, "ada@example.org").await;
    let (_, bob) = user(&app, "bob@example.org").await;

    for _ in 0..2 {
        let (status, body) = app
            .put_auth(
                &format!("/v1/me/favorites/{}?type=track", mb(TRACK)),
                &ada,
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["id"], mb(TRACK));
        assert_eq!(body["type"], "track");
        assert_eq!(body["name"], "First");
    }
    // An upper-case MBID is the same entity; an ISRC implies a track and resolves to its MBID.
    let (status, _) = app
        .put_auth(
            &format!(
                "/v1/me/favorites/musicbrainz:{}?type=artist",
                ARTIST.to_uppercase()
            ),
            &ada,
            None,
        )
        .await;
    assert_eq!(status, 200);
    app.put_auth(
        &format!("/v1/me/favorites/{}?type=track", mb(TRACK_2)),
        &ada,
        None,
    )
    .await;

    let (status, page) = app.get_auth("/v1/me/favorites", &ada).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 3, "adding twice is one favourite: {page}");
    assert_eq!(page["items"][0]["id"], mb(TRACK_2), "newest first: {page}");
    let (_, tracks) = app.get_auth("/v1/me/favorites?type=track", &ada).await;
    assert_eq!(tracks["total"], 2, "{tracks}");
    let (_, artists) = app.get_auth("/v1/me/favorites?type=artist", &ada).await;
    assert_eq!(artists["items"][0]["id"], mb(ARTIST));
    assert_eq!(artists["items"][0]["name"], "Ada Example");
    let (_, second) = app
        .get_auth("/v1/me/favorites?limit=1&offset=1", &ada)
        .await;
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["items"][0]["id"], mb(ARTIST));
    let (_, third) = app
        .get_auth("/v1/me/favorites?limit=1&offset=2", &ada)
        .await;
    assert_eq!(third["items"][0]["id"], mb(TRACK), "the first date is kept");

    // Another user sees none of them, and removing "theirs" leaves Ada's alone.
    let (_, theirs) = app.get_auth("/v1/me/favorites", &bob).await;
    assert_eq!(theirs["total"], 0, "{theirs}");
    let (status, _) = app
        .delete_auth(&format!("/v1/me/favorites/{}", mb(TRACK)), &bob, None)
        .await;
    assert_eq!(status, 204);
    let (_, mine) = app.get_auth("/v1/me/favorites", &ada).await;
    assert_eq!(mine["total"], 3);

    // Removing is idempotent.
    for _ in 0..2 {
        let (status, _) = app
            .delete_auth(&format!("/v1/me/favorites/{}", mb(TRACK)), &ada, None)
            .await;
        assert_eq!(status, 204);
    }
    let (_, mine) = app.get_auth("/v1/me/favorites", &ada).await;
    assert_eq!(mine["total"], 2);

    // Bad input and no token.
    for (what, path, status, code) in [
        (
            "malformed",
            "/v1/me/favorites/musicbrainz:nope?type=track",
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "unknown namespace",
            "/v1/me/favorites/myspace:1?type=track",
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "no type",
            &format!("/v1/me/favorites/{}", mb(TRACK)),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "bad type",
            &format!("/v1/me/favorites/{}?type=song", mb(TRACK)),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "an ISRC where an album is needed",
            "/v1/me/favorites/isrc:GBAAA9900001?type=album",
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "unknown at MusicBrainz",
            "/v1/me/favorites/musicbrainz:99999999-0000-4000-8000-000000000000?type=album",
            404,
            "NOT_FOUND",
        ),
    ] {
        assert_error(what, &app.put_auth(path, &ada, None).await, status, code);
    }
    let (status, _, _) = app
        .send(
            Method::PUT,
            &format!("/v1/me/favorites/{}?type=track", mb(TRACK)),
            None,
            None,
        )
        .await;
    assert_eq!(status, 401);
    assert_error(
        "list without token",
        &app.get("/v1/me/favorites").await,
        401,
        "UNAUTHENTICATED",
    );
    let (_, mine) = app.get_auth("/v1/me/favorites", &ada).await;
    assert_eq!(mine["total"], 2, "nothing stored by bad requests");
}

#[tokio::test]
async fn playlists_keep_dense_positions_and_their_read_shape() {
    let app = spawn().await;
    let (ada_id, ada) = user(&app, "ada@example.org").await;
    let list = playlist(&app, &ada, "Road trip", false).await;

    let first = add(
        &app,
        &ada,
        &list,
        &[track_id(1), track_id(2), track_id(3)],
        None,
    )
    .await;
    assert_eq!(first.len(), 3);
    // Two in the middle, one at the start, one at the very end (position = total).
    add(&app, &ada, &list, &[track_id(4), track_id(5)], Some(1)).await;
    add(&app, &ada, &list, &[track_id(6)], Some(0)).await;
    add(&app, &ada, &list, &[track_id(7)], Some(6)).await;
    let order: Vec<String> = items(&app, &ada, &list)
        .await
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    let expected: Vec<String> = [6, 1, 4, 5, 2, 3, 7]
        .iter()
        .map(|n| mb(&track_id(*n)))
        .collect();
    assert_eq!(order, expected);

    // The exact read shape.
    let (_, body) = app.get_auth(&format!("/v1/playlists/{list}"), &ada).await;
    let keys: BTreeSet<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "id",
            "name",
            "description",
            "public",
            "owner_id",
            "items",
            "total"
        ])
    );
    assert_eq!(body["owner_id"], ada_id);
    assert_eq!(body["public"], false);
    assert_eq!(body["description"], "for tests");
    let item = &body["items"][0];
    let item_keys: BTreeSet<&str> = item
        .as_object()
        .expect("item")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(item_keys, BTreeSet::from(["item_id", "position", "track"]));
    assert_eq!(
        item["track"],
        json!({"id": mb(&track_id(6)), "title": "First", "artist_credit_name": "Ada Example feat. Guest", "length_ms": 201000})
    );

    // Move forwards and backwards, remove from the middle.
    let ids: Vec<i64> = items(&app, &ada, &list)
        .await
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    let (status, moved) = app
        .post_auth(
            &format!("/v1/playlists/{list}/items/{}/move", ids[0]),
            &ada,
            &json!({"position": 4}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["position"], 4);
    let (status, _) = app
        .post_auth(
            &format!("/v1/playlists/{list}/items/{}/move", ids[6]),
            &ada,
            &json!({"position": 0}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .delete_auth(
            &format!("/v1/playlists/{list}/items/{}", ids[2]),
            &ada,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let order: Vec<String> = items(&app, &ada, &list)
        .await
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    let expected: Vec<String> = [7, 1, 5, 2, 6, 3]
        .iter()
        .map(|n| mb(&track_id(*n)))
        .collect();
    assert_eq!(order, expected);

    // Paging items by position.
    let (_, page) = app
        .get_auth(&format!("/v1/playlists/{list}?limit=2&offset=2"), &ada)
        .await;
    assert_eq!(page["total"], 6);
    assert_eq!(page["items"][0]["position"], 2);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));

    // Rename, describe, list mine, delete.
    let (status, patched) = app
        .patch_auth(
            &format!("/v1/playlists/{list}"),
            &ada,
            &json!({"name": "Long road trip", "description": ""}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "Long road trip");
    assert_eq!(patched["description"], "");
    assert_eq!(patched["total"], 6);
    let (_, mine) = app.get_auth("/v1/me/playlists", &ada).await;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["playlists"][0]["name"], "Long road trip");
    let (status, _) = app
        .delete_auth(&format!("/v1/playlists/{list}"), &ada, None)
        .await;
    assert_eq!(status, 204);
    assert_error(
        "deleted",
        &app.get_auth(&format!("/v1/playlists/{list}"), &ada).await,
        404,
        "NOT_FOUND",
    );
    let pool = app.pool().await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM playlist_item")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(left, 0, "items go with their playlist");
}

#[tokio::test]
async fn playlists_of_others_are_invisible_or_read_only() {
    let app = spawn().await;
    let (_, ada) = user(&app, "ada@example.org").await;
    let (_, bob) = user(&app, "bob@example.org").await;
    let private = playlist(&app, &ada, "Secret", false).await;
    let item = add(&app, &ada, &private, &[track_id(1), track_id(2)], None).await[0];
    let bobs = playlist(&app, &bob, "Bob's", false).await;
    let bob_item = add(&app, &bob, &bobs, &[track_id(3)], None).await[0];

    // Every route on Ada's private playlist answers Bob (and anonymous readers) 404.
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/v1/playlists/{private}"), None),
        (
            Method::PATCH,
            format!("/v1/playlists/{private}"),
            Some(json!({"name": "mine now"})),
        ),
        (Method::DELETE, format!("/v1/playlists/{private}"), None),
        (
            Method::POST,
            format!("/v1/playlists/{private}/items"),
            Some(json!({"track_ids": [mb(&track_id(9))]})),
        ),
        (
            Method::DELETE,
            format!("/v1/playlists/{private}/items/{item}"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/playlists/{private}/items/{item}/move"),
            Some(json!({"position": 1})),
        ),
    ];
    for (verb, route, body) in &routes {
        let (status, _, answer) = app
            .send(verb.clone(), route, body.as_ref(), Some(&bob))
            .await;
        assert_eq!(status, 404, "{verb} {route} by another user: {answer}");
        assert_eq!(answer["error"]["code"], "NOT_FOUND");
    }
    assert_error(
        "anonymous read of a private playlist",
        &app.get(&format!("/v1/playlists/{private}")).await,
        404,
        "NOT_FOUND",
    );
    let (_, mine) = app.get_auth("/v1/me/playlists", &bob).await;
    assert_eq!(mine["total"], 1, "Bob lists only his own: {mine}");
    assert_eq!(
        items(&app, &ada, &private).await.len(),
        2,
        "nothing changed"
    );

    // Item IDs of another playlist are not items of this one.
    assert_error(
        "foreign item removed",
        &app.delete_auth(
            &format!("/v1/playlists/{private}/items/{bob_item}"),
            &ada,
            None,
        )
        .await,
        404,
        "NOT_FOUND",
    );
    assert_error(
        "foreign item moved",
        &app.post_auth(
            &format!("/v1/playlists/{private}/items/{bob_item}/move"),
            &ada,
            &json!({"position": 0}),
        )
        .await,
        404,
        "NOT_FOUND",
    );

    // Public: anyone reads it, even without a token; only the owner changes it.
    let (status, _) = app
        .patch_auth(
            &format!("/v1/playlists/{private}"),
            &ada,
            &json!({"public": true}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app.get(&format!("/v1/playlists/{private}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 2);
    let (status, _) = app
        .get_auth(&format!("/v1/playlists/{private}"), &bob)
        .await;
    assert_eq!(status, 200);
    for (verb, route, body) in routes.iter().skip(1) {
        let (status, _, answer) = app
            .send(verb.clone(), route, body.as_ref(), Some(&bob))
            .await;
        assert_eq!(status, 403, "{verb} {route} on a public playlist: {answer}");
        assert_eq!(answer["error"]["code"], "PERMISSION_DENIED");
    }
    assert_error(
        "a bad token on a public playlist",
        &app.get_auth(&format!("/v1/playlists/{private}"), "not-a-token")
            .await,
        401,
        "UNAUTHENTICATED",
    );
    assert_eq!(
        items(&app, &ada, &private).await.len(),
        2,
        "nothing changed"
    );
}

#[tokio::test]
async fn playlist_bad_input_and_limits_store_nothing() {
    let app = TestApp::spawn_with(TestOptions {
        configure: Some(Box::new(|s| {
            s.library.max_playlist_items = 5;
            s.library.max_playlists_per_user = 2;
        })),
        ..TestOptions::default()
    })
    .await;
    mount_catalogue(&app).await;
    let (_, ada) = user(&app, "ada@example.org").await;
    let list = playlist(&app, &ada, "Small", false).await;
    add(&app, &ada, &list, &[track_id(1), track_id(2)], None).await;
    let url = format!("/v1/playlists/{list}/items");

    let too_many: Vec<String> = (0..501).map(|n| mb(&track_id(n))).collect();
    for (what, body, status, code) in [
        (
            "501 tracks",
            json!({"track_ids": too_many}),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "no tracks",
            json!({"track_ids": []}),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "position past the end",
            json!({"track_ids": [mb(&track_id(3))], "position": 3}),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "negative position",
            json!({"track_ids": [mb(&track_id(3))], "position": -1}),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "one malformed ID among good ones",
            json!({"track_ids": [mb(&track_id(3)), "musicbrainz:bad"]}),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "an ISRC unknown upstream",
            json!({"track_ids": [mb(&track_id(3)), "isrc:GBZZZ0000001"]}),
            404,
            "NOT_FOUND",
        ),
        (
            "past the item limit",
            json!({"track_ids": [mb(&track_id(3)), mb(&track_id(4)), mb(&track_id(5)), mb(&track_id(6))]}),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "unknown field",
            json!({"track_ids": [mb(&track_id(3))], "at": 1}),
            400,
            "INVALID_ARGUMENT",
        ),
    ] {
        assert_error(what, &app.post_auth(&url, &ada, &body).await, status, code);
    }
    assert_eq!(
        items(&app, &ada, &list).await.len(),
        2,
        "nothing stored half-way"
    );

    let first = items(&app, &ada, &list).await[0].0;
    assert_error(
        "move out of range",
        &app.post_auth(
            &format!("/v1/playlists/{list}/items/{first}/move"),
            &ada,
            &json!({"position": 2}),
        )
        .await,
        400,
        "INVALID_ARGUMENT",
    );
    assert_error(
        "malformed playlist ID",
        &app.get_auth("/v1/playlists/not-a-uuid", &ada).await,
        400,
        "INVALID_ARGUMENT",
    );
    assert_error(
        "malformed item ID",
        &app.delete_auth(&format!("/v1/playlists/{list}/items/abc"), &ada, None)
            .await,
        400,
        "INVALID_ARGUMENT",
    );
    assert_error(
        "blank name",
        &app.post_auth("/v1/me/playlists", &ada, &json!({"name": "  "}))
            .await,
        400,
        "INVALID_ARGUMENT",
    );
    playlist(&app, &ada, "Second", false).await;
    let (status, body) = app
        .post_auth("/v1/me/playlists", &ada, &json!({"name": "Third"}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2 playlists")),
        "{body}"
    );
}

#[tokio::test]
async fn concurrent_edits_keep_positions_dense_and_lose_nothing() {
    let app = spawn().await;
    let (_, ada) = user(&app, "ada@example.org").await;
    let list = playlist(&app, &ada, "Busy", false).await;
    let initial: Vec<String> = (0..30).map(track_id).collect();
    let initial_ids = add(&app, &ada, &list, &initial, None).await;
    // Resolve the tracks added below once, so the edits race only with each other.
    let extra: Vec<String> = (100..130).map(track_id).collect();
    let scratch = playlist(&app, &ada, "Scratch", false).await;
    add(&app, &ada, &scratch, &extra, None).await;

    let mut tasks = Vec::new();
    for (n, track) in extra.iter().enumerate() {
        let (client, base, token, list, track) = (
            app.client.clone(),
            app.http.clone(),
            ada.clone(),
            list.clone(),
            mb(track),
        );
        // Alternate inserts at the start, in the middle and at the end.
        let body = match n % 3 {
            0 => json!({"track_ids": [track], "position": 0}),
            1 => json!({"track_ids": [track], "position": 10}),
            _ => json!({"track_ids": [track]}),
        };
        tasks.push(tokio::spawn(async move {
            client
                .post(format!("{base}/v1/playlists/{list}/items"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    for id in &initial_ids[..10] {
        let (client, base, token, list, id) = (
            app.client.clone(),
            app.http.clone(),
            ada.clone(),
            list.clone(),
            *id,
        );
        tasks.push(tokio::spawn(async move {
            client
                .delete(format!("{base}/v1/playlists/{list}/items/{id}"))
                .bearer_auth(token)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    for id in &initial_ids[10..20] {
        let (client, base, token, list, id) = (
            app.client.clone(),
            app.http.clone(),
            ada.clone(),
            list.clone(),
            *id,
        );
        tasks.push(tokio::spawn(async move {
            client
                .post(format!("{base}/v1/playlists/{list}/items/{id}/move"))
                .bearer_auth(token)
                .json(&json!({"position": 0}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    for task in tasks {
        let status = task.await.expect("task").expect("request");
        assert!(matches!(status, 200 | 201 | 204), "status {status}");
    }

    let after = items(&app, &ada, &list).await;
    assert_eq!(after.len(), 30 + 30 - 10);
    let ids: BTreeSet<i64> = after.iter().map(|(i, _)| *i).collect();
    assert_eq!(ids.len(), after.len(), "no item twice");
    for removed in &initial_ids[..10] {
        assert!(!ids.contains(removed));
    }
    for kept in &initial_ids[10..] {
        assert!(ids.contains(kept), "item {kept} lost");
    }
    let tracks: BTreeSet<String> = after.iter().map(|(_, t)| t.clone()).collect();
    for track in &extra {
        assert!(tracks.contains(&mb(track)), "added {track} lost");
    }
    // The stored ranks are distinct and the stored count matches.
    let pool = app.pool().await;
    let (count, distinct, stored): (i64, i64, i32) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT rank), \
         (SELECT item_count FROM playlist WHERE id = $1::uuid) \
         FROM playlist_item WHERE playlist_id = $1::uuid",
    )
    .bind(&list)
    .fetch_one(&pool)
    .await
    .expect("ranks");
    assert_eq!((count, distinct, i64::from(stored)), (50, 50, 50));
}

/// Inserting again and again at the same spot exhausts the room between two ranks; the ranks around it
/// are re-spread and the order stays exactly as asked.
#[tokio::test]
async fn repeated_inserts_at_one_spot_keep_the_order() {
    let app = spawn().await;
    let (_, ada) = user(&app, "ada@example.org").await;
    let list = playlist(&app, &ada, "Crowded", false).await;
    add(&app, &ada, &list, &[track_id(0), track_id(1)], None).await;
    // 80 single inserts at position 1 halve the room between the same neighbours each time (2^32
    // apart at first), so the window around it must be re-spread at least twice.
    let mut expected = vec![mb(&track_id(0)), mb(&track_id(1))];
    for n in 2..82 {
        add(&app, &ada, &list, &[track_id(n)], Some(1)).await;
        expected.insert(1, mb(&track_id(n)));
    }
    // And a few in the middle of the crowd.
    add(&app, &ada, &list, &[track_id(90), track_id(91)], Some(40)).await;
    expected.insert(40, mb(&track_id(91)));
    expected.insert(40, mb(&track_id(90)));
    let order: Vec<String> = items(&app, &ada, &list)
        .await
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(order, expected);
}

#[tokio::test]
async fn plays_are_deduplicated_within_the_window() {
    let app = spawn_with_clock().await;
    let clock = app.clock.clone().expect("manual clock");
    let (_, ada) = user(&app, "ada@example.org").await;
    let (_, bob) = user(&app, "bob@example.org").await;
    let play = json!({"track_id": mb(TRACK), "duration_ms": 180000, "client": "tests"});

    let status_of = |body: &Value| body["status"].as_str().unwrap_or_default().to_owned();
    let (status, body) = app.post_auth("/v1/me/plays", &ada, &play).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_of(&body), "recorded");
    let (_, body) = app.post_auth("/v1/me/plays", &ada, &play).await;
    assert_eq!(status_of(&body), "deduplicated");
    // Another user, another track: not duplicates.
    let (_, body) = app.post_auth("/v1/me/plays", &bob, &play).await;
    assert_eq!(status_of(&body), "recorded");
    let (_, body) = app
        .post_auth("/v1/me/plays", &ada, &json!({"track_id": mb(TRACK_2)}))
        .await;
    assert_eq!(status_of(&body), "recorded");

    clock.advance(Duration::seconds(29));
    let (_, body) = app.post_auth("/v1/me/plays", &ada, &play).await;
    assert_eq!(status_of(&body), "deduplicated", "29 s later");
    clock.advance(Duration::seconds(2));
    let (_, body) = app.post_auth("/v1/me/plays", &ada, &play).await;
    assert_eq!(status_of(&body), "recorded", "31 s later");

    // Concurrent reports of one play store it once.
    clock.advance(Duration::seconds(60));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, base, token, play) = (
            app.client.clone(),
            app.http.clone(),
            ada.clone(),
            play.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(format!("{base}/v1/me/plays"))
                .bearer_auth(token)
                .json(&play)
                .send()
                .await
                .expect("request");
            response.json::<Value>().await.expect("json")["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }));
    }
    let mut recorded = 0;
    for task in tasks {
        if task.await.expect("task") == "recorded" {
            recorded += 1;
        }
    }
    assert_eq!(
        recorded, 1,
        "exactly one of the concurrent reports is stored"
    );

    let (_, history) = app.get_auth("/v1/me/history", &ada).await;
    let plays = history["plays"].as_array().expect("plays");
    assert_eq!(plays.len(), 4, "{history}");
    assert_eq!(plays[0]["client"], "tests");
    assert_eq!(plays[0]["duration_ms"], 180000);
    assert_eq!(plays[0]["track"]["title"], "First");
    let (_, counts) = app.get_auth("/v1/me/play-counts", &ada).await;
    assert_eq!(counts["items"][0]["plays"], 3, "{counts}");
    assert_eq!(counts["items"][1]["plays"], 1, "{counts}");
    let (_, bobs) = app.get_auth("/v1/me/history", &bob).await;
    assert_eq!(bobs["plays"].as_array().map(Vec::len), Some(1), "{bobs}");

    // Bad input.
    let future = (chrono::Utc::now() + Duration::hours(1)).to_rfc3339();
    for (what, body) in [
        (
            "far future",
            json!({"track_id": mb(TRACK), "played_at": future}),
        ),
        (
            "negative duration",
            json!({"track_id": mb(TRACK_2), "duration_ms": -1}),
        ),
        (
            "bad time",
            json!({"track_id": mb(TRACK_2), "played_at": "yesterday"}),
        ),
        ("bad ID", json!({"track_id": "musicbrainz:nope"})),
        ("no track", json!({"played_at": "2026-01-01T00:00:00Z"})),
    ] {
        assert_error(
            what,
            &app.post_auth("/v1/me/plays", &ada, &body).await,
            400,
            "INVALID_ARGUMENT",
        );
    }
    assert_error(
        "no token",
        &app.post("/v1/me/plays", &play).await,
        401,
        "UNAUTHENTICATED",
    );
    let (_, history) = app.get_auth("/v1/me/history", &ada).await;
    assert_eq!(history["plays"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn the_dedup_window_is_configurable() {
    let app = TestApp::spawn_with(TestOptions {
        manual_clock: true,
        configure: Some(Box::new(|s| s.library.play_dedup_secs = 300)),
        ..TestOptions::default()
    })
    .await;
    mount_catalogue(&app).await;
    let clock = app.clock.clone().expect("manual clock");
    let (_, ada) = user(&app, "ada@example.org").await;
    let play = json!({"track_id": mb(TRACK)});
    let (_, body) = app.post_auth("/v1/me/plays", &ada, &play).await;
    assert_eq!(body["status"], "recorded");
    clock.advance(Duration::seconds(120));
    let (_, body) = app.post_auth("/v1/me/plays", &ada, &play).await;
    assert_eq!(body["status"], "deduplicated", "within 300 s");
    clock.advance(Duration::seconds(200));
    let (_, body) = app.post_auth("/v1/me/plays", &ada, &play).await;
    assert_eq!(body["status"], "recorded");
}

#[tokio::test]
async fn history_pages_and_top_lists_cover_their_periods() {
    let app = spawn().await;
    let (_, ada) = user(&app, "ada@example.org").await;
    let now = chrono::Utc::now();
    let at = |days: i64, n: i64| (now - Duration::days(days) + Duration::minutes(n)).to_rfc3339();
    // TRACK: 3 plays this week; TRACK_2: 1 this week and 4 two months ago; track 1: 2 plays 20 days ago.
    let mut plays = Vec::new();
    for n in 0..3 {
        plays.push((mb(TRACK), at(1, n)));
    }
    plays.push((mb(TRACK_2), at(2, 0)));
    for n in 0..4 {
        plays.push((mb(TRACK_2), at(60, n)));
    }
    for n in 0..2 {
        plays.push((mb(&track_id(1)), at(20, n)));
    }
    for (track, played_at) in &plays {
        let (status, body) = app
            .post_auth(
                "/v1/me/plays",
                &ada,
                &json!({"track_id": track, "played_at": played_at}),
            )
            .await;
        assert_eq!(body["status"], "recorded", "{status} {body}");
    }

    // History, three at a time, newest first, without gaps or repeats.
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let url = match &before {
            Some(b) => format!("/v1/me/history?limit=3&before={}", urlencode(b)),
            None => "/v1/me/history?limit=3".to_owned(),
        };
        let (status, page) = app.get_auth(&url, &ada).await;
        assert_eq!(status, 200, "{page}");
        for play in page["plays"].as_array().expect("plays") {
            seen.push(play["played_at"].as_str().expect("time").to_owned());
        }
        match page["next_before"].as_str() {
            Some(next) => before = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), plays.len());
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted, "newest first");

    let top = |period: &'static str| {
        let app = &app;
        let ada = ada.clone();
        async move {
            let (status, body) = app
                .get_auth(&format!("/v1/me/top/tracks?period={period}"), &ada)
                .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["period"], period);
            body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| {
                    (
                        i["track"]["id"].as_str().unwrap_or_default().to_owned(),
                        i["plays"].as_i64().unwrap_or_default(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(top("7d").await, vec![(mb(TRACK), 3), (mb(TRACK_2), 1)]);
    assert_eq!(
        top("30d").await,
        vec![(mb(TRACK), 3), (mb(&track_id(1)), 2), (mb(TRACK_2), 1)]
    );
    assert_eq!(
        top("365d").await,
        vec![(mb(TRACK_2), 5), (mb(TRACK), 3), (mb(&track_id(1)), 2)]
    );
    assert_eq!(top("all").await, top("365d").await);

    // Every test track is credited to Ada Example feat. Guest.
    let (_, artists) = app.get_auth("/v1/me/top/artists?period=7d", &ada).await;
    let names: Vec<(&str, i64)> = artists["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap_or_default(),
                a["plays"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    let (ada_mb, guest_mb) = (mb(ARTIST), mb(GUEST));
    assert_eq!(names.len(), 2, "{artists}");
    assert!(names.contains(&(ada_mb.as_str(), 4)), "{artists}");
    assert!(names.contains(&(guest_mb.as_str(), 4)), "{artists}");
    let (_, all) = app.get_auth("/v1/me/top/artists?period=all", &ada).await;
    assert_eq!(all["items"][0]["plays"], 10, "{all}");

    assert_error(
        "bad period",
        &app.get_auth("/v1/me/top/tracks?period=2w", &ada).await,
        400,
        "INVALID_ARGUMENT",
    );
    assert_error(
        "bad before",
        &app.get_auth("/v1/me/history?before=soon", &ada).await,
        400,
        "INVALID_ARGUMENT",
    );
    // Another user's lists are their own.
    let (_, bob) = user(&app, "bob@example.org").await;
    let (_, theirs) = app.get_auth("/v1/me/top/tracks?period=all", &bob).await;
    assert_eq!(theirs["items"], json!([]));
    let (_, theirs) = app.get_auth("/v1/me/top/artists?period=all", &bob).await;
    assert_eq!(theirs["items"], json!([]));
    let (_, theirs) = app.get_auth("/v1/me/history", &bob).await;
    assert_eq!(theirs["plays"], json!([]));
    let (_, theirs) = app.get_auth("/v1/me/play-counts", &bob).await;
    assert_eq!(theirs["items"], json!([]));
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn playback_state_is_versioned_per_user() {
    let app = spawn().await;
    let (_, ada) = user(&app, "ada@example.org").await;
    let (_, bob) = user(&app, "bob@example.org").await;

    let (status, empty) = app.get_auth("/v1/me/playback", &ada).await;
    assert_eq!(status, 200);
    assert_eq!(empty["version"], 0);
    assert_eq!(empty["track"], Value::Null);

    let state = |version: i64, device: &str, position: i64| json!({"track_id": mb(TRACK), "position_ms": position, "device": device, "version": version});
    let (status, first) = app
        .put_auth("/v1/me/playback", &ada, Some(&state(0, "phone", 1000)))
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["version"], 1);
    assert_eq!(first["track"]["id"], mb(TRACK));
    // The laptop read version 1 and continues.
    let (_, read) = app.get_auth("/v1/me/playback", &ada).await;
    assert_eq!(read["device"], "phone");
    let (status, second) = app
        .put_auth("/v1/me/playback", &ada, Some(&state(1, "laptop", 5000)))
        .await;
    assert_eq!(status, 200);
    assert_eq!(second["version"], 2);
    // The phone still holds version 1: stale.
    let (status, conflict) = app
        .put_auth("/v1/me/playback", &ada, Some(&state(1, "phone", 2000)))
        .await;
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(conflict["error"]["code"], "ABORTED");
    assert_eq!(conflict["current"]["version"], 2);
    assert_eq!(conflict["current"]["device"], "laptop");
    assert_eq!(conflict["current"]["position_ms"], 5000);
    // A second "first" write is stale too.
    let (status, _) = app
        .put_auth("/v1/me/playback", &ada, Some(&state(0, "tv", 0)))
        .await;
    assert_eq!(status, 409);

    // Bob has his own state and cannot touch Ada's.
    let (_, bobs) = app.get_auth("/v1/me/playback", &bob).await;
    assert_eq!(bobs["version"], 0);
    let (status, _) = app
        .put_auth("/v1/me/playback", &bob, Some(&state(2, "bob", 0)))
        .await;
    assert_eq!(status, 409, "version 2 is Ada's, not Bob's");
    let (_, read) = app.get_auth("/v1/me/playback", &ada).await;
    assert_eq!(read["version"], 2);

    for (what, body) in [
        ("negative position", state(2, "laptop", -5)),
        (
            "blank device",
            json!({"track_id": mb(TRACK), "position_ms": 0, "device": " ", "version": 2}),
        ),
        (
            "bad track",
            json!({"track_id": "isrc:nope", "position_ms": 0, "device": "x", "version": 2}),
        ),
    ] {
        assert_error(
            what,
            &app.put_auth("/v1/me/playback", &ada, Some(&body)).await,
            400,
            "INVALID_ARGUMENT",
        );
    }
    assert_error(
        "no token",
        &app.get("/v1/me/playback").await,
        401,
        "UNAUTHENTICATED",
    );
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

#[tokio::test]
async fn searches_are_remembered_per_user_and_clearable() {
    let app = spawn().await;
    mount_search(&app).await;
    let (_, ada) = user(&app, "ada@example.org").await;
    let (_, bob) = user(&app, "bob@example.org").await;

    // Without a token search still works and nothing is remembered.
    let (status, _) = app.get("/v1/search?q=anonymous&type=artist").await;
    assert_eq!(status, 200);
    let (status, page) = app.get_auth("/v1/search?q=ada&type=artist", &ada).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["results"][0]["name"], "Ada Example");
    app.get_auth("/v1/search?q=%20example%20&type=artist", &ada)
        .await;
    assert_error(
        "invalid token",
        &app.get_auth("/v1/search?q=ada&type=artist", "bogus").await,
        401,
        "UNAUTHENTICATED",
    );

    let (status, history) = app.get_auth("/v1/me/search-history", &ada).await;
    assert_eq!(status, 200, "{history}");
    let queries: Vec<&str> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["query"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(queries, vec!["example", "ada"]);
    assert_eq!(history["items"][0]["type"], "artist");
    let (_, theirs) = app.get_auth("/v1/me/search-history", &bob).await;
    assert_eq!(
        theirs["items"],
        json!([]),
        "Bob sees none of Ada's searches"
    );
    let (status, _) = app.delete_auth("/v1/me/search-history", &bob, None).await;
    assert_eq!(status, 204);
    let (_, still) = app.get_auth("/v1/me/search-history", &ada).await;
    assert_eq!(still["items"].as_array().map(Vec::len), Some(2));
    let (status, _) = app.delete_auth("/v1/me/search-history", &ada, None).await;
    assert_eq!(status, 204);
    let (_, cleared) = app.get_auth("/v1/me/search-history", &ada).await;
    assert_eq!(cleared["items"], json!([]));
    assert_error(
        "no token",
        &app.get("/v1/me/search-history").await,
        401,
        "UNAUTHENTICATED",
    );

    // gRPC search with a token is remembered too.
    let mut grpc = app.grpc().await;
    grpc.search(bearer(
        pb::SearchRequest {
            query: "over grpc".into(),
            r#type: "artist".into(),
            limit: None,
            offset: 0,
        },
        &ada,
    ))
    .await
    .expect("gRPC search");
    let (_, history) = app.get_auth("/v1/me/search-history", &ada).await;
    assert_eq!(history["items"][0]["query"], "over grpc");
}

#[tokio::test]
async fn privacy_settings_are_honoured() {
    let app = spawn().await;
    mount_search(&app).await;
    let (_, ada) = user(&app, "ada@example.org").await;
    let (status, body) = app
        .patch_auth(
            "/v1/me",
            &ada,
            &json!({"settings": {"keep_listening_history": false, "keep_search_history": false}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = app
        .post_auth("/v1/me/plays", &ada, &json!({"track_id": mb(TRACK)}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ignored");
    let (status, _) = app.get_auth("/v1/search?q=ada&type=artist", &ada).await;
    assert_eq!(status, 200);
    let pool = app.pool().await;
    let stored: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM play), (SELECT count(*) FROM play_count), \
         (SELECT count(*) FROM search_history)",
    )
    .fetch_one(&pool)
    .await
    .expect("counts");
    assert_eq!(stored, (0, 0, 0), "nothing stored with history off");

    // Turned back on, both are kept again.
    app.patch_auth(
        "/v1/me",
        &ada,
        &json!({"settings": {"keep_listening_history": true, "keep_search_history": true}}),
    )
    .await;
    let (_, body) = app
        .post_auth("/v1/me/plays", &ada, &json!({"track_id": mb(TRACK)}))
        .await;
    assert_eq!(body["status"], "recorded");
    app.get_auth("/v1/search?q=ada&type=artist", &ada).await;
    let (_, history) = app.get_auth("/v1/me/search-history", &ada).await;
    assert_eq!(history["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn merged_mbids_carry_library_data_without_duplicates() {
    let app = spawn().await;
    let (_, ada) = user(&app, "ada@example.org").await;
    let old = track_id(500);
    let new = track_id(501);
    // Ada has the old and the new ID as favourites, plays of both, and the old one in a playlist.
    for id in [&old, &new] {
        let (status, _) = app
            .put_auth(
                &format!("/v1/me/favorites/{}?type=track", mb(id)),
                &ada,
                None,
            )
            .await;
        assert_eq!(status, 200);
        let (_, body) = app
            .post_auth("/v1/me/plays", &ada, &json!({"track_id": mb(id)}))
            .await;
        assert_eq!(body["status"], "recorded");
    }
    let list = playlist(&app, &ada, "Merged", false).await;
    add(&app, &ada, &list, &[old.clone(), track_id(1)], None).await;
    app.put_auth(
        "/v1/me/playback",
        &ada,
        Some(&json!({"track_id": mb(&old), "position_ms": 1, "device": "phone", "version": 0})),
    )
    .await;

    // MusicBrainz merges the old recording into the new one.
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/recording/{old}")))
        .respond_with(json_response(&bodies::track(&new)))
        .with_priority(1)
        .mount(&app.mock)
        .await;
    let (status, body) = app
        .get(&format!("/v1/tracks/{}?refresh=true", mb(&old)))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], mb(&new));

    let (_, favorites) = app.get_auth("/v1/me/favorites", &ada).await;
    assert_eq!(favorites["total"], 1, "one favourite, not two: {favorites}");
    assert_eq!(favorites["items"][0]["id"], mb(&new));
    let (_, counts) = app.get_auth("/v1/me/play-counts", &ada).await;
    assert_eq!(
        counts["items"].as_array().map(Vec::len),
        Some(1),
        "{counts}"
    );
    assert_eq!(counts["items"][0]["plays"], 2);
    assert_eq!(counts["items"][0]["track"]["id"], mb(&new));
    let (_, history) = app.get_auth("/v1/me/history", &ada).await;
    for play in history["plays"].as_array().expect("plays") {
        assert_eq!(play["track"]["id"], mb(&new));
    }
    let order: Vec<String> = items(&app, &ada, &list)
        .await
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(order, vec![mb(&new), mb(&track_id(1))]);
    let (_, playback) = app.get_auth("/v1/me/playback", &ada).await;
    assert_eq!(playback["track"]["id"], mb(&new));
    // The old ID keeps working for the user: removing it removes the merged favourite.
    let (status, _) = app
        .delete_auth(&format!("/v1/me/favorites/{}", mb(&old)), &ada, None)
        .await;
    assert_eq!(status, 204);
    let (_, favorites) = app.get_auth("/v1/me/favorites", &ada).await;
    assert_eq!(favorites["total"], 0);
}

#[tokio::test]
async fn export_includes_the_library_and_purge_removes_it() {
    let app = spawn_with_clock().await;
    mount_search(&app).await;
    let clock = app.clock.clone().expect("manual clock");
    let (ada_id, ada) = user(&app, "ada@example.org").await;
    let (_, bob) = user(&app, "bob@example.org").await;
    for token in [&ada, &bob] {
        app.put_auth(
            &format!("/v1/me/favorites/{}?type=track", mb(TRACK)),
            token,
            None,
        )
        .await;
        app.post_auth(
            "/v1/me/plays",
            token,
            &json!({"track_id": mb(TRACK), "client": "x"}),
        )
        .await;
        let list = playlist(&app, token, "Mine", true).await;
        add(&app, token, &list, &[track_id(1)], None).await;
        app.get_auth("/v1/search?q=ada&type=artist", token).await;
        app.put_auth(
            "/v1/me/playback",
            token,
            Some(
                &json!({"track_id": mb(TRACK), "position_ms": 7, "device": "phone", "version": 0}),
            ),
        )
        .await;
    }

    let (status, export) = app.get_auth("/v1/me/export", &ada).await;
    assert_eq!(status, 200, "{export}");
    let library = &export["library"];
    assert_eq!(library["favorites"][0]["id"], mb(TRACK), "{library}");
    assert_eq!(library["favorites"][0]["type"], "track");
    assert_eq!(library["playlists"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        library["playlists"][0]["items"][0]["track_id"],
        mb(&track_id(1))
    );
    assert_eq!(library["plays"][0]["track_id"], mb(TRACK));
    assert_eq!(library["plays"][0]["client"], "x");
    assert_eq!(library["play_counts"][0]["plays"], 1);
    assert_eq!(library["playback"]["position_ms"], 7);
    assert_eq!(library["search_history"][0]["query"], "ada");
    assert!(
        library["plays"][0]["played_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{library}"
    );

    let (status, _) = app
        .delete_auth("/v1/me", &ada, Some(&json!({"password": PASSWORD})))
        .await;
    assert_eq!(status, 204);
    clock.advance(Duration::days(31));
    let report = app.accounts.purge_deleted_accounts().await.expect("purge");
    assert_eq!(report.purged, 1);
    let pool = app.pool().await;
    for table in [
        "favorite",
        "playlist",
        "play",
        "play_count",
        "playback_state",
        "search_history",
    ] {
        let owner = if table == "playlist" {
            "owner_id"
        } else {
            "user_id"
        };
        let (mine, others): (i64, i64) = sqlx::query_as(&format!(
            "SELECT count(*) FILTER (WHERE {owner} = $1::uuid), count(*) FILTER (WHERE {owner} <> $1::uuid) FROM {table}"
        ))
        .bind(&ada_id)
        .fetch_one(&pool)
        .await
        .expect("count");
        assert_eq!(mine, 0, "{table} purged");
        assert_eq!(others, 1, "{table}: Bob's data stays");
    }
    let items: i64 = sqlx::query_scalar("SELECT count(*) FROM playlist_item")
        .fetch_one(&pool)
        .await
        .expect("items");
    assert_eq!(items, 1, "only Bob's playlist item is left");
}

#[tokio::test]
async fn every_library_method_works_over_grpc() {
    let app = spawn().await;
    let (ada_id, ada) = user(&app, "ada@example.org").await;
    let (_, bob) = user(&app, "bob@example.org").await;
    let mut client = library_client(&app).await;

    // Favourites.
    let favorite = client
        .add_favorite(bearer(
            pb::FavoriteRequest {
                id: mb(TRACK),
                r#type: "track".into(),
            },
            &ada,
        ))
        .await
        .expect("add favourite")
        .into_inner();
    assert_eq!(favorite.id, mb(TRACK));
    assert_eq!(favorite.name, "First");
    let page = client
        .list_favorites(bearer(pb::ListFavoritesRequest::default(), &ada))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(page.total, 1);
    let theirs = client
        .list_favorites(bearer(pb::ListFavoritesRequest::default(), &bob))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(theirs.total, 0);
    client
        .remove_favorite(bearer(
            pb::FavoriteRequest {
                id: mb(TRACK),
                r#type: String::new(),
            },
            &ada,
        ))
        .await
        .expect("remove");
    let missing_type = client
        .add_favorite(bearer(
            pb::FavoriteRequest {
                id: mb(TRACK),
                r#type: String::new(),
            },
            &ada,
        ))
        .await
        .expect_err("type needed");
    assert_eq!(missing_type.code(), Code::InvalidArgument);
    let anonymous = client
        .list_favorites(pb::ListFavoritesRequest::default())
        .await
        .expect_err("token needed");
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    // Playlists.
    let created = client
        .create_playlist(bearer(
            pb::CreatePlaylistRequest {
                name: "gRPC".into(),
                description: "over h2".into(),
                public: false,
            },
            &ada,
        ))
        .await
        .expect("create")
        .into_inner();
    assert_eq!(created.owner_id, ada_id);
    let added = client
        .add_playlist_items(bearer(
            pb::AddPlaylistItemsRequest {
                playlist_id: created.id.clone(),
                track_ids: vec![mb(&track_id(1)), mb(&track_id(2)), mb(&track_id(3))],
                position: None,
            },
            &ada,
        ))
        .await
        .expect("add")
        .into_inner();
    assert_eq!(added.total, 3);
    let first = added.items[0].item_id;
    let moved = client
        .move_playlist_item(bearer(
            pb::MovePlaylistItemRequest {
                playlist_id: created.id.clone(),
                item_id: first,
                position: 2,
            },
            &ada,
        ))
        .await
        .expect("move")
        .into_inner();
    assert_eq!(moved.position, 2);
    client
        .remove_playlist_item(bearer(
            pb::PlaylistItemRef {
                playlist_id: created.id.clone(),
                item_id: added.items[1].item_id,
            },
            &ada,
        ))
        .await
        .expect("remove item");
    let read = client
        .get_playlist(bearer(
            pb::GetPlaylistRequest {
                playlist_id: created.id.clone(),
                limit: None,
                offset: 0,
            },
            &ada,
        ))
        .await
        .expect("get")
        .into_inner();
    let order: Vec<(i32, String)> = read
        .items
        .iter()
        .map(|i| {
            (
                i.position,
                i.track.as_ref().map(|t| t.id.clone()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(order, vec![(0, mb(&track_id(3))), (1, mb(&track_id(1)))]);
    let hidden = client
        .get_playlist(bearer(
            pb::GetPlaylistRequest {
                playlist_id: created.id.clone(),
                limit: None,
                offset: 0,
            },
            &bob,
        ))
        .await
        .expect_err("private");
    assert_eq!(hidden.code(), Code::NotFound);
    let hidden = client
        .delete_playlist(bearer(
            pb::PlaylistRef {
                playlist_id: created.id.clone(),
            },
            &bob,
        ))
        .await
        .expect_err("private");
    assert_eq!(hidden.code(), Code::NotFound);
    let updated = client
        .update_playlist(bearer(
            pb::UpdatePlaylistRequest {
                playlist_id: created.id.clone(),
                name: Some("gRPC, public".into()),
                description: None,
                public: Some(true),
            },
            &ada,
        ))
        .await
        .expect("update")
        .into_inner();
    assert!(updated.public);
    assert_eq!(updated.total, 2);
    let public = client
        .get_playlist(pb::GetPlaylistRequest {
            playlist_id: created.id.clone(),
            limit: None,
            offset: 0,
        })
        .await
        .expect("public without a token")
        .into_inner();
    assert_eq!(public.name, "gRPC, public");
    let denied = client
        .update_playlist(bearer(
            pb::UpdatePlaylistRequest {
                playlist_id: created.id.clone(),
                name: Some("Bob's now".into()),
                description: None,
                public: None,
            },
            &bob,
        ))
        .await
        .expect_err("not the owner");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let mine = client
        .list_playlists(bearer(pb::ListPlaylistsRequest::default(), &ada))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(mine.total, 1);
    let out_of_range = client
        .add_playlist_items(bearer(
            pb::AddPlaylistItemsRequest {
                playlist_id: created.id.clone(),
                track_ids: vec![mb(&track_id(4))],
                position: Some(9),
            },
            &ada,
        ))
        .await
        .expect_err("out of range");
    assert_eq!(out_of_range.code(), Code::InvalidArgument);
    client
        .delete_playlist(bearer(
            pb::PlaylistRef {
                playlist_id: created.id.clone(),
            },
            &ada,
        ))
        .await
        .expect("delete");

    // Plays, history, counts, top lists.
    let play = |token: &str| {
        bearer(
            pb::RecordPlayRequest {
                track_id: mb(TRACK),
                played_at: None,
                duration_ms: Some(1000),
                client: Some("grpc".into()),
            },
            token,
        )
    };
    assert_eq!(
        client
            .record_play(play(&ada))
            .await
            .expect("play")
            .into_inner()
            .status,
        "recorded"
    );
    assert_eq!(
        client
            .record_play(play(&ada))
            .await
            .expect("play")
            .into_inner()
            .status,
        "deduplicated"
    );
    let negative = client
        .record_play(bearer(
            pb::RecordPlayRequest {
                track_id: mb(TRACK),
                played_at: None,
                duration_ms: Some(-1),
                client: None,
            },
            &ada,
        ))
        .await
        .expect_err("negative");
    assert_eq!(negative.code(), Code::InvalidArgument);
    let history = client
        .list_history(bearer(pb::ListHistoryRequest::default(), &ada))
        .await
        .expect("history")
        .into_inner();
    assert_eq!(history.plays.len(), 1);
    assert_eq!(history.plays[0].client.as_deref(), Some("grpc"));
    let counts = client
        .list_play_counts(bearer(pb::ListPlayCountsRequest::default(), &ada))
        .await
        .expect("counts")
        .into_inner();
    assert_eq!(counts.items[0].plays, 1);
    let top = client
        .top_tracks(bearer(
            pb::TopRequest {
                period: "7d".into(),
                limit: None,
            },
            &ada,
        ))
        .await
        .expect("top")
        .into_inner();
    assert_eq!(top.period, "7d");
    assert_eq!(top.items.len(), 1);
    let artists = client
        .top_artists(bearer(pb::TopRequest::default(), &ada))
        .await
        .expect("top artists")
        .into_inner();
    assert_eq!(artists.period, "30d");
    assert_eq!(artists.items.len(), 2);
    let bobs = client
        .list_history(bearer(pb::ListHistoryRequest::default(), &bob))
        .await
        .expect("history")
        .into_inner();
    assert!(bobs.plays.is_empty());

    // Playback.
    let empty = client
        .get_playback(bearer(pb::Empty {}, &ada))
        .await
        .expect("playback")
        .into_inner();
    assert_eq!(empty.version, 0);
    let update = |version: i64| {
        bearer(
            pb::UpdatePlaybackRequest {
                track_id: mb(TRACK),
                position_ms: 42,
                device: "grpc".into(),
                version,
            },
            &ada,
        )
    };
    let written = client
        .update_playback(update(0))
        .await
        .expect("first")
        .into_inner();
    assert_eq!(written.version, 1);
    let stale = client.update_playback(update(0)).await.expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted);
    assert!(
        stale.message().contains("\"version\":1"),
        "{}",
        stale.message()
    );

    // Search history.
    let searches = client
        .list_search_history(bearer(pb::ListSearchHistoryRequest::default(), &ada))
        .await
        .expect("search history")
        .into_inner();
    assert!(searches.items.is_empty());
    client
        .clear_search_history(bearer(pb::Empty {}, &ada))
        .await
        .expect("clear");
}
