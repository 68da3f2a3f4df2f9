//! MBID merges: library data recorded under an MBID that MusicBrainz merged follows the surviving
//! one, without duplicates.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::Mock;

use super::{add, items, mb, playlist, spawn, track_id};
use crate::bodies;
use crate::helpers::*;

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
