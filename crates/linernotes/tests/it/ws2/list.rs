//! WS/2 browse and search over raw HTTP.

use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use super::{assert_mb_error, ws2_get};
use crate::bodies::*;
use crate::conformance::fixtures;
use crate::helpers::*;

fn releases_page(count: usize, offset: usize) -> Value {
    let mut item = release(RELEASE);
    for key in [
        "media",
        "artist-credit",
        "release-group",
        "genres",
        "tags",
        "relations",
    ] {
        item.as_object_mut().unwrap().remove(key);
    }
    json!({"release-count": count, "release-offset": offset, "releases": [item]})
}

/// A browse page is MusicBrainz's own, asked once with the client's incs, limit and offset, then
/// answered from what is stored; MusicBrainz's limit and offset rules hold.
#[tokio::test]
async fn browse_pages_are_fetched_once_and_answered_as_musicbrainz_sent_them() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path("/ws/2/release"))
        .and(query_param("release-group", ALBUM))
        .and(query_param("inc", "labels media"))
        .and(query_param("limit", "2"))
        .and(query_param("offset", "1"))
        .respond_with(json_response(&releases_page(3, 1)))
        .expect(1)
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/ws/2/release"))
        .and(query_param("release-group", ALBUM))
        .and(query_param("limit", "100"))
        .and(query_param("offset", "0"))
        .respond_with(json_response(&releases_page(3, 0)))
        .expect(1)
        .mount(&app.mock)
        .await;
    let page =
        format!("/ws/2/release?release-group={ALBUM}&inc=media%2Blabels&limit=2&offset=1&fmt=json");
    for round in ["upstream", "stored"] {
        let (status, headers, body) = ws2_get(&app, &page, None).await;
        assert_eq!(status, 200, "{round}: {body}");
        assert_eq!(headers["content-type"], "application/json; charset=utf-8");
        assert_eq!(body, releases_page(3, 1), "{round}");
    }
    // A limit over 100 asks for 100, as MusicBrainz caps it.
    let (status, _, body) = ws2_get(
        &app,
        &format!("/ws/2/release/?release-group={ALBUM}&limit=500"),
        Some("application/json"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["release-offset"], 0);

    for (query, message) in [
        (
            format!("release-group={ALBUM}&limit=ten"),
            "The 'limit' and 'offset' parameters must be positive integers".to_owned(),
        ),
        (
            format!("release-group={ALBUM}&offset=-1"),
            "The 'limit' and 'offset' parameters must be positive integers".to_owned(),
        ),
        (
            "release-group=not-an-mbid".to_owned(),
            "Invalid mbid.".to_owned(),
        ),
        (
            format!("release-group={ALBUM}&inc=coffee"),
            "coffee is not a valid inc parameter for the release resource.".to_owned(),
        ),
        (
            format!("label={LABEL}"),
            "The given parameters do not match any available query type for the release \
             resource. linernotes answers query=<search> or release-group=<mbid> here."
                .to_owned(),
        ),
    ] {
        assert_mb_error(
            &query,
            &ws2_get(&app, &format!("/ws/2/release?{query}&fmt=json"), None).await,
            400,
            &message,
        );
    }
    assert_eq!(app.upstream_calls().await, 2);
}

/// A browse of an entity MusicBrainz does not know is 404; of one it cannot be asked about now, 503.
#[tokio::test]
async fn browse_of_unknown_entities_is_404_and_upstream_down_503() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path("/ws/2/recording"))
        .respond_with(error_response(404, "Not Found"))
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/ws/2/release-group"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&app.mock)
        .await;
    assert_mb_error(
        "unknown release",
        &ws2_get(
            &app,
            &format!("/ws/2/recording?release={RELEASE}&fmt=json"),
            None,
        )
        .await,
        404,
        "Not Found",
    );
    let down = ws2_get(
        &app,
        &format!("/ws/2/release-group?artist={ARTIST}&fmt=json"),
        None,
    )
    .await;
    assert_eq!(down.0, 503, "{}", down.2);
}

/// A real recorded browse page travels unchanged.
#[tokio::test]
async fn a_real_browse_page_is_served_unchanged() {
    let Some(dir) = fixtures() else { return };
    let app = TestApp::spawn().await;
    let text =
        std::fs::read_to_string(dir.join("browse/release-group/hqub--releasegroup-browse.json"))
            .expect("the fixture");
    let recorded: Value = serde_json::from_str(&text).expect("JSON");
    let artist = "45a663b5-b1cb-4a91-bff6-2bef7bbfdd76";
    Mock::given(method("GET"))
        .and(path("/ws/2/release-group"))
        .and(query_param("artist", artist))
        .and(query_param("inc", "ratings"))
        .respond_with(json_response(&recorded))
        .mount(&app.mock)
        .await;
    let (status, _, body) = ws2_get(
        &app,
        &format!("/ws/2/release-group?artist={artist}&limit=10&inc=ratings&fmt=json"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, recorded);
}

/// Searches are answered from linernotes' index in MusicBrainz's envelope, each result the stored
/// body as a search shows it, with its score; the query is read as clients write it.
#[tokio::test]
async fn searches_are_answered_from_the_index_in_musicbrainz_envelope() {
    let app = TestApp::spawn().await;
    mount_lookup(&app, "artist", ARTIST, artist(ARTIST, "Ada Example")).await;
    mount_lookup(&app, "release", RELEASE, release(RELEASE)).await;
    for path in [
        format!("/ws/2/artist/{ARTIST}?fmt=json"),
        format!("/ws/2/release/{RELEASE}?fmt=json"),
    ] {
        let (status, _, body) = ws2_get(&app, &path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let calls = app.upstream_calls().await;

    for path in [
        "/ws/2/artist?query=artist:(ada%20example)&fmt=json",
        "/ws/2/artist/?query=ada+example&fmt=json",
        "/ws/2/artist?query=artist%3Aada%20AND%20type%3Aperson&fmt=json",
    ] {
        let (status, headers, body) = ws2_get(&app, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(headers["content-type"], "application/json; charset=utf-8");
        let created = body["created"].as_str().expect("created");
        assert!(
            chrono::DateTime::parse_from_rfc3339(created).is_ok() && created.ends_with('Z'),
            "{created}"
        );
        assert_eq!(body["count"], 1, "{path}: {body}");
        assert_eq!(body["offset"], 0);
        let hit = &body["artists"][0];
        assert_eq!(hit["id"], ARTIST);
        assert!(
            hit["score"]
                .as_i64()
                .is_some_and(|s| (1..=100).contains(&s)),
            "{hit}"
        );
        assert_eq!(hit["life-span"]["begin"], "1969-09");
        assert!(hit["aliases"].is_array() && hit["tags"].is_array());
        assert!(hit.get("relations").is_none() && hit.get("genres").is_none());
    }
    let (status, _, body) = ws2_get(
        &app,
        "/ws/2/release/?query=release:(partial%20dates)%20artist:(ada%20example)&limit=5&fmt=json",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The envelope's keys are those of a real recorded search.
    if let Some(dir) = fixtures() {
        let text = std::fs::read_to_string(dir.join("search/release/mbrs--drivers_license.json"))
            .expect("the fixture");
        let recorded: Value = serde_json::from_str(&text).expect("JSON");
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&body), keys(&recorded));
    }
    let hit = &body["releases"][0];
    assert_eq!(hit["id"], RELEASE, "{body}");
    assert_eq!(hit["release-group"]["id"], ALBUM);
    assert!(hit["artist-credit"].is_array() && hit["label-info"].is_array());
    assert!(hit["media"][0].get("tracks").is_none());

    // Only fields that name nothing: an empty page, no upstream search.
    let (status, _, body) = ws2_get(
        &app,
        &format!("/ws/2/artist?query=arid:{ARTIST}&fmt=json"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["count"].clone(), body["artists"].clone()),
        (json!(0), json!([]))
    );
    assert_mb_error(
        "two queries",
        &ws2_get(&app, "/ws/2/artist?query=a&query=b&fmt=json", None).await,
        400,
        "Must specify at most 1 query argument",
    );
    assert_eq!(app.upstream_calls().await, calls);
}
