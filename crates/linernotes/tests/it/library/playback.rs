//! Playback state end to end: versioned per user, a stale version refused, bad input.

use serde_json::{json, Value};

use super::{mb, spawn};
use crate::bodies::TRACK;
use crate::helpers::*;

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
