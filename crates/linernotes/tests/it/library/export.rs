//! The library in an account's life: included in the export, removed by the purge.

use chrono::Duration;
use serde_json::json;

use super::{add, mb, mount_search, playlist, spawn_with_clock, track_id};
use crate::bodies::TRACK;
use crate::helpers::*;

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
