//! Playlists end to end: dense positions and their read shape, other users' playlists invisible or
//! read-only, bad input and limits, concurrent edits, repeated inserts at one spot.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use super::{add, items, mb, mount_catalogue, playlist, spawn, track_id};
use crate::helpers::*;

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
    assert_eq!(
        patched["description"],
        serde_json::Value::Null,
        "an empty description is none"
    );
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
