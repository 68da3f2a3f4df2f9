//! Favourites end to end: idempotent, paged, filtered by type, private to their owner.

use reqwest::Method;

use super::{mb, spawn};
use crate::bodies::{ARTIST, TRACK, TRACK_2};
use crate::helpers::*;

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
