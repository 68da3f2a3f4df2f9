//! Search history end to end: searches remembered per user and clearable.

use linernotes::grpc::pb;
use serde_json::json;

use super::{mount_search, spawn};
use crate::helpers::*;

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
