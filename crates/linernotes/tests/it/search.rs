//! Search from the embedded index: a generated dump imported, the index rebuilt, and every case people
//! type with its expected top hit; entities fetched live become searchable at once; MusicBrainz only
//! for what the local data cannot answer.

use serde_json::Value;
use wiremock::matchers::{method, path, query_param};
use wiremock::Mock;

use crate::bodies;
use crate::helpers::*;
use crate::import::{import, small_dump, spawn_app};

/// The top hit's name for `query` among entities of `kind`.
async fn top(app: &TestApp, kind: &str, query: &str) -> String {
    let q = url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>();
    let (status, page) = app
        .get(&format!("/v1/search?q={q}&type={kind}&limit=5"))
        .await;
    assert_eq!(status, 200, "{query}: {page}");
    page["results"][0]["name"]
        .as_str()
        .unwrap_or_else(|| panic!("{query}: no hit in {page}"))
        .to_owned()
}

#[tokio::test]
async fn what_people_type_finds_the_expected_entity_first() {
    let app = spawn_app().await;
    let (dump, _) = small_dump(60, 7);
    let folder = dump.path().display().to_string();
    let (ok, stdout, stderr) = import(&app.database, &[&folder]).await;
    assert!(ok, "{stdout}\n{stderr}");
    let documents = app
        .metadata
        .rebuild_search_index()
        .await
        .expect("rebuild the index");
    assert!(documents > 60, "{documents}");

    let artist_cases = [
        ("Prince", "Prince"),
        ("prince", "Prince"),
        ("the the", "The The"),
        ("!!!", "!!!"),
        ("+/-", "+/-"),
        ("AC/DC", "AC/DC"),
        ("acdc", "AC/DC"),
        ("ac dc", "AC/DC"),
        ("P!nk", "P!nk"),
        ("Therapy?", "Therapy?"),
        ("therapy", "Therapy?"),
        // Transliteration, and native scripts matching natively.
        ("Кино", "Кино"),
        ("kino", "Кино"),
        ("宇多田ヒカル", "宇多田ヒカル"),
        ("ヒカル", "宇多田ヒカル"),
        // Folding: case, diacritics, and the letters decomposition misses.
        ("lona", "Łona"),
        ("ŁONA", "Łona"),
        ("royksopp", "Røyksopp"),
        ("motley crue", "Mötley Crüe"),
        ("sigur ros", "Sigur Rós"),
        ("dorde balasevic", "Đorđe Balašević"),
        ("die arzte", "Die Ärzte"),
        ("strassenjungs", "Straßenjungs"),
        // Typos: one edit from five letters, two from nine.
        ("royksop", "Røyksopp"),
        ("strasenjung", "Straßenjungs"),
        ("balasevicc", "Đorđe Balašević"),
        // Type-ahead: a prefix of the last word.
        ("mötley cr", "Mötley Crüe"),
        ("røyk", "Røyksopp"),
    ];
    for (query, want) in artist_cases {
        assert_eq!(top(&app, "artist", query).await, want, "query {query:?}");
    }
    assert_eq!(top(&app, "track", "yesterday").await, "Yesterday");
    assert_eq!(top(&app, "track", "gruppa krovi").await, "Gruppa krovi");
    assert_eq!(top(&app, "track", "aeon").await, "Æon");
    assert_eq!(app.upstream_calls().await, 0, "all answered locally");
}

#[tokio::test]
async fn entities_fetched_live_are_searchable_at_once_by_name_alias_and_sort_name() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{}", bodies::ARTIST)))
        .respond_with(json_response(&bodies::artist(
            bodies::ARTIST,
            "Ada Example",
        )))
        .mount(&app.mock)
        .await;
    let (status, _) = app
        .get(&format!("/v1/artists/musicbrainz:{}", bodies::ARTIST))
        .await;
    assert_eq!(status, 200);
    let calls = app.upstream_calls().await;
    for query in ["ada example", "A. Example", "エイダ", "example, ada"] {
        assert_eq!(top(&app, "artist", query).await, "Ada Example", "{query}");
    }
    assert_eq!(app.upstream_calls().await, calls, "no provider search");
}

#[tokio::test]
async fn musicbrainz_answers_only_what_the_local_data_cannot_and_its_hits_are_indexed() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/ws/2/artist"))
        .and(query_param("query", "Nowhere Band"))
        .respond_with(json_response(&bodies::artist_search(&[(
            bodies::ARTIST,
            "Nowhere Band",
            100,
        )])))
        .expect(1)
        .mount(&app.mock)
        .await;
    let (status, page) = app.get("/v1/search?q=Nowhere%20Band&type=artist").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["results"][0]["name"], "Nowhere Band");
    // Now local: the mock answers once only.
    let (status, page) = app.get("/v1/search?q=nowhere%20band&type=artist").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(
        page["results"][0]["id"],
        Value::from(format!("musicbrainz:{}", bodies::ARTIST))
    );
}
