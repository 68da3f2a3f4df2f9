//! Enrichment end to end: the Cover Art Archive, Wikidata and Wikipedia behind their own mock servers
//! serving genuine recorded bodies from `../shared/fixtures` (or, in a clone without that folder,
//! bodies of the same shape written here), merged into answers with their sources; a slow provider
//! never delays a first answer; provider faults never break an answer.

use std::path::Path;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use linernotes::config::ClientSettings;
use linernotes::grpc::pb;
use linernotes::Settings;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::bodies::*;
use crate::helpers::*;

/// A genuine recorded body from `../shared/fixtures/<relative>`, or `fallback` (with a notice) when
/// this checkout has no fixtures.
pub fn fixture(relative: &str, fallback: Value) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(relative);
    match std::fs::read_to_string(&file) {
        Ok(body) => body,
        Err(_) => {
            eprintln!(
                "enrichment: {} is missing; using a body of the same shape",
                file.display()
            );
            fallback.to_string()
        }
    }
}

/// A 200 answer with `body` as JSON.
pub fn body_response(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json; charset=utf-8")
        .set_body_string(body.to_owned())
}

/// Turns an enricher on, pointed at `base_url`, with a fast budget and quick retries.
pub fn enable(settings: &mut Settings, name: &str, base_url: &str) {
    let providers = &mut settings.providers;
    let (client, enabled): (&mut ClientSettings, &mut bool) = match name {
        "coverartarchive" => (
            &mut providers.coverartarchive.client,
            &mut providers.coverartarchive.own.enabled,
        ),
        "wikidata" => (
            &mut providers.wikidata.client,
            &mut providers.wikidata.own.enabled,
        ),
        "wikipedia" => (
            &mut providers.wikipedia.client,
            &mut providers.wikipedia.own.enabled,
        ),
        "deezer" => (
            &mut providers.deezer.client,
            &mut providers.deezer.own.enabled,
        ),
        "itunes" => (
            &mut providers.itunes.client,
            &mut providers.itunes.own.enabled,
        ),
        "lrclib" => (
            &mut providers.lrclib.client,
            &mut providers.lrclib.own.enabled,
        ),
        "fanarttv" | "theaudiodb" | "discogs" => {
            let client = match name {
                "fanarttv" => {
                    providers.fanarttv.own.api_key = "test-key".into();
                    &mut providers.fanarttv.client
                }
                "theaudiodb" => {
                    providers.theaudiodb.own.api_key = "test-key".into();
                    &mut providers.theaudiodb.client
                }
                _ => {
                    providers.discogs.own.token = "test-token".into();
                    &mut providers.discogs.client
                }
            };
            fast(client, base_url);
            return;
        }
        other => panic!("no enricher {other}"),
    };
    *enabled = true;
    fast(client, base_url);
}

/// Points a provider's client at `base_url` with a fast budget and quick retries.
fn fast(client: &mut ClientSettings, base_url: &str) {
    client.base_url = base_url.to_owned();
    client.requests_per_second = 1000.0;
    client.retry_base_delay_ms = 1;
    client.max_retries = 1;
    client.timeout_ms = 5000;
}

/// An app whose enrichers `names` all speak to `upstream`.
pub async fn app_with(names: &'static [&'static str], upstream: &MockServer) -> TestApp {
    let base = upstream.uri();
    TestApp::spawn_with(TestOptions {
        configure: Some(Box::new(move |settings: &mut Settings| {
            for name in names {
                let url = if *name == "wikipedia" {
                    format!("{base}/{{lang}}")
                } else {
                    base.clone()
                };
                enable(settings, name, &url);
            }
            settings.metadata.languages = vec!["en".into(), "ru".into()];
        })),
        ..TestOptions::default()
    })
    .await
}

fn caa_index() -> String {
    fixture(
        "coverart/mbus--index-02cd52d7-2d0c-41a4-bf9c-59894bebab8c.json",
        json!({"images": [
            {"approved": true, "back": false, "comment": "", "edit": 1, "front": true, "id": 37108042405u64,
             "image": "https://coverartarchive.org/release/x/37108042405.png",
             "thumbnails": {"1200": "https://coverartarchive.org/release/x/37108042405-1200.jpg",
                            "250": "https://coverartarchive.org/release/x/37108042405-250.jpg",
                            "500": "https://coverartarchive.org/release/x/37108042405-500.jpg",
                            "large": "https://coverartarchive.org/release/x/37108042405-500.jpg",
                            "small": "https://coverartarchive.org/release/x/37108042405-250.jpg"},
             "types": ["Front"]},
            {"approved": true, "back": true, "comment": "", "edit": 2, "front": false, "id": "37108044215",
             "image": "http://coverartarchive.org/release/x/37108044215.jpg",
             "thumbnails": {"large": "http://coverartarchive.org/release/x/37108044215-500.jpg",
                            "small": "http://coverartarchive.org/release/x/37108044215-250.jpg"},
             "types": ["Back", "Spine"]}
        ], "release": "https://musicbrainz.org/release/x"}),
    )
}

/// An artist linked to Wikidata item Q2319886 (the item of the recorded Wikidata body).
fn linked_artist() -> Value {
    let mut body = artist(ARTIST, "Ada Example");
    body["relations"].as_array_mut().unwrap().push(json!({
        "type": "wikidata", "type-id": "689870a4-a1e4-4912-b17f-7b2664215698", "target-type": "url",
        "direction": "forward", "attributes": [], "begin": null, "end": null, "ended": false,
        "source-credit": "", "target-credit": "",
        "url": {"id": "6a0f8f0e-0000-4000-8000-000000000003", "resource": "https://www.wikidata.org/wiki/Q2319886"}
    }));
    body
}

/// A release's first answer has no images (it is merged from what was stored before the enrichment
/// began, however fast the archive answers); once the enrichment has settled, later answers carry
/// the Cover Art Archive's images (front cover first, thumbnails by size, `http://` upgraded) on
/// both transports, with the provider of each merged field in `sources`.
#[tokio::test]
async fn release_images_come_from_the_cover_art_archive_with_sources() {
    let caa = MockServer::start().await;
    let app = app_with(&["coverartarchive"], &caa).await;
    mount_lookup(&app, "release", RELEASE, release(RELEASE)).await;
    Mock::given(method("GET"))
        .and(path(format!("/release/{RELEASE}")))
        .respond_with(body_response(&caa_index()))
        .expect(1)
        .mount(&caa)
        .await;

    let (status, first) = app
        .get(&format!("/v1/releases/musicbrainz:{RELEASE}"))
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["images"], json!([]));
    assert_eq!(first["sources"]["title"]["provider"], "musicbrainz");
    app.settled().await;

    let (status, body) = app
        .get(&format!("/v1/releases/musicbrainz:{RELEASE}"))
        .await;
    assert_eq!(status, 200, "{body}");
    let images = body["images"].as_array().unwrap();
    assert!(images.len() >= 2, "{body}");
    assert_eq!(images[0]["type"], "cover");
    assert_eq!(images[0]["source"], "coverartarchive");
    assert!(images[0]["url"].as_str().unwrap().starts_with("https://"));
    assert!(images[0]["thumbnails"]["250"]
        .as_str()
        .unwrap()
        .ends_with("-250.jpg"));
    assert!(images.iter().any(|i| i["type"] == "back"));
    assert!(images
        .iter()
        .all(|i| i["url"].as_str().unwrap().starts_with("https://")));
    assert_eq!(
        body["sources"]["images.cover"]["provider"],
        "coverartarchive"
    );
    assert!(body["sources"]["images.cover"]["fetched_at"].is_string());
    assert_eq!(
        body["title"], "Partial Dates (Deluxe)",
        "catalogue data kept"
    );

    let mut grpc = app.grpc().await;
    let release = grpc
        .get_release(pb::GetEntityRequest {
            id: format!("musicbrainz:{RELEASE}"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(release.images[0].r#type, "cover");
    assert_eq!(release.sources["images.cover"].provider, "coverartarchive");
    assert_eq!(release.sources["title"].provider, "musicbrainz");

    let pool = app.pool().await;
    let raw: i64 =
        sqlx::query_scalar("SELECT count(*) FROM raw_payload WHERE provider = 'coverartarchive'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(raw, 1, "the raw answer is kept beside the entity");
}

/// An album (release group) is looked up under `/release-group/`.
#[tokio::test]
async fn album_covers_are_looked_up_by_release_group() {
    let caa = MockServer::start().await;
    let app = app_with(&["coverartarchive"], &caa).await;
    mount_lookup(&app, "release-group", ALBUM, album(ALBUM)).await;
    Mock::given(method("GET"))
        .and(path(format!("/release-group/{ALBUM}")))
        .respond_with(body_response(&caa_index()))
        .mount(&caa)
        .await;
    let body = app
        .read_settled(&format!("/v1/albums/musicbrainz:{ALBUM}"))
        .await;
    assert_eq!(body["images"][0]["type"], "cover", "{body}");
    assert_eq!(body["bio"], Value::Null);
}

/// The artist's Wikidata link leads to its Wikipedia articles: the summary comes in the configured
/// language, or in the one asked for with `?lang=`, `Accept-Language` or the gRPC field; a redirect to
/// another article's section keeps the section in the URL.
#[tokio::test]
async fn artist_bio_comes_from_wikipedia_through_wikidata_in_the_preferred_language() {
    let upstream = MockServer::start().await;
    let app = app_with(&["wikidata", "wikipedia"], &upstream).await;
    mount_lookup(&app, "artist", ARTIST, linked_artist()).await;
    let wikidata = fixture(
        "other/wikidata/mbserver--wbgetentities-sitelinks-Q2319886-bonnie-parker.json",
        json!({"entities": {"Q2319886": {"type": "item", "id": "Q2319886", "sitelinks": {
            "enwiki": {"site": "enwiki", "title": "Bonnie Parker", "badges": []},
            "ruwiki": {"site": "ruwiki", "title": "\u{0411}\u{043e}\u{043d}\u{043d}\u{0438} \u{041f}\u{0430}\u{0440}\u{043a}\u{0435}\u{0440}", "badges": []},
            "commonswiki": {"site": "commonswiki", "title": "Category:Bonnie Elizabeth Parker", "badges": []}
        }}}, "success": 1}),
    );
    Mock::given(method("GET"))
        .and(path("/w/api.php"))
        .and(query_param("action", "wbgetentities"))
        .and(query_param("ids", "Q2319886"))
        .respond_with(body_response(&wikidata))
        .expect(1)
        .mount(&upstream)
        .await;
    let russian = fixture(
        "other/wikipedia/mbserver--query-extracts-ru-bonnie-parker-redirect.json",
        json!({"batchcomplete": "", "query": {
            "redirects": [{"from": "Бонни Паркер", "to": "Бонни и Клайд", "tofragment": "Бонни Паркер"}],
            "pages": {"190176": {"pageid": 190176, "ns": 0, "title": "Бонни и Клайд",
                                  "extract": "<p><b>Бонни Элизабет Паркер</b> и Клайд.</p>"}}}}),
    );
    Mock::given(method("GET"))
        .and(path("/ru/w/api.php"))
        .respond_with(body_response(&russian))
        .mount(&upstream)
        .await;
    let english = json!({"batchcomplete": true, "query": {"pages": {"2": {"pageid": 2, "ns": 0,
        "title": "Bonnie Parker", "extract": "Bonnie Elizabeth Parker was an American outlaw."}}}});
    Mock::given(method("GET"))
        .and(path("/en/w/api.php"))
        .and(query_param("titles", "Bonnie Parker"))
        .respond_with(body_response(&english.to_string()))
        .mount(&upstream)
        .await;

    let body = app
        .read_settled(&format!("/v1/artists/musicbrainz:{ARTIST}"))
        .await;
    assert_eq!(body["bio"]["language"], "en", "{body}");
    assert_eq!(
        body["bio"]["summary"],
        "Bonnie Elizabeth Parker was an American outlaw."
    );
    assert_eq!(body["bio"]["source"], "wikipedia");
    assert!(body["bio"]["url"]
        .as_str()
        .unwrap()
        .ends_with("/en/wiki/Bonnie_Parker"));
    assert_eq!(body["sources"]["bio"]["provider"], "wikipedia");
    let links = body["links"].as_array().unwrap();
    assert!(
        links
            .iter()
            .any(|l| l["id"] == "wikidata:Q2319886" && l["method"] == "url_relation"),
        "{body}"
    );

    let (_, russian) = app
        .get(&format!("/v1/artists/musicbrainz:{ARTIST}?lang=ru"))
        .await;
    assert_eq!(russian["bio"]["language"], "ru", "{russian}");
    let summary = russian["bio"]["summary"].as_str().unwrap();
    assert!(summary.contains("Бонни"), "{summary}");
    assert!(!summary.contains('<'), "HTML is stripped: {summary}");
    assert!(russian["bio"]["url"].as_str().unwrap().contains('#'));

    let by_header: Value = app
        .client
        .get(format!("{}/v1/artists/musicbrainz:{ARTIST}", app.http))
        .header("accept-language", "ru-RU, en;q=0.5")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_header["bio"]["language"], "ru", "{by_header}");

    let mut grpc = app.grpc().await;
    let artist = grpc
        .get_artist(pb::GetEntityRequest {
            id: format!("musicbrainz:{ARTIST}"),
            lang: "ru".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(artist.bio.unwrap().language, "ru");

    let bad = app
        .get(&format!("/v1/artists/musicbrainz:{ARTIST}?lang=../etc"))
        .await;
    assert_error("bad lang", &bad, 400, "INVALID_ARGUMENT");
}

/// Answers the first request only when the test says so.
struct Held(Mutex<mpsc::Receiver<()>>, String);

impl Respond for Held {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        // Blocks this mock server's own thread only; linernotes and MusicBrainz's mock go on.
        let _ = self.0.lock().unwrap().recv_timeout(Duration::from_secs(60));
        body_response(&self.1)
    }
}

/// While the Cover Art Archive has not answered, reads answer the catalogue's data at once; its
/// answer shows in the next read after it arrives.
#[tokio::test]
async fn a_slow_enricher_never_delays_an_answer() {
    let caa = MockServer::start().await;
    let app = app_with(&["coverartarchive"], &caa).await;
    mount_lookup(&app, "release", RELEASE, release(RELEASE)).await;
    let (release_caa, held) = mpsc::channel();
    Mock::given(method("GET"))
        .and(path(format!("/release/{RELEASE}")))
        .respond_with(Held(Mutex::new(held), caa_index()))
        .mount(&caa)
        .await;

    let (status, first) = app
        .get(&format!("/v1/releases/musicbrainz:{RELEASE}"))
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["images"], json!([]));
    let (status, again) = app
        .get(&format!("/v1/releases/musicbrainz:{RELEASE}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["images"], json!([]), "still waiting for the archive");

    release_caa.send(()).unwrap();
    app.settled().await;
    let (_, later) = app
        .get(&format!("/v1/releases/musicbrainz:{RELEASE}"))
        .await;
    assert_eq!(later["images"][0]["type"], "cover", "{later}");
}

/// 404, 5xx, HTML, wrong types and an enormous body from the Cover Art Archive: the answer keeps the
/// catalogue's data; a failure is recorded, shown in `/v1/status` and retried after its back-off,
/// while "not found" is not a failure.
#[tokio::test]
async fn provider_faults_never_break_an_answer() {
    let faults: Vec<(&str, ResponseTemplate, bool)> = vec![
        ("not found", ResponseTemplate::new(404), false),
        ("server error", ResponseTemplate::new(500), true),
        (
            "HTML",
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<html><body>Service Unavailable</body></html>"),
            true,
        ),
        (
            "wrong types",
            body_response(&json!({"images": "none", "release": 7}).to_string()),
            true,
        ),
        (
            "enormous",
            body_response(&format!(
                "{{\"images\": [{}]}}",
                vec!["{\"image\": 1}"; 800_000].join(",")
            )),
            true,
        ),
    ];
    for (what, response, counts_as_failure) in faults {
        let caa = MockServer::start().await;
        let app = app_with(&["coverartarchive"], &caa).await;
        mount_lookup(&app, "release", RELEASE, release(RELEASE)).await;
        Mock::given(method("GET"))
            .and(path(format!("/release/{RELEASE}")))
            .respond_with(response)
            .mount(&caa)
            .await;
        let (status, body) = app
            .get(&format!("/v1/releases/musicbrainz:{RELEASE}"))
            .await;
        assert_eq!(status, 200, "{what}: {body}");
        app.settled().await;
        let (status, body) = app
            .get(&format!("/v1/releases/musicbrainz:{RELEASE}"))
            .await;
        assert_eq!(status, 200, "{what}: {body}");
        assert_eq!(body["title"], "Partial Dates (Deluxe)", "{what}");
        assert_eq!(body["images"], json!([]), "{what}: {body}");
        let (_, status) = app.get("/v1/status").await;
        let failures = &status["enrichment_failures"]["coverartarchive"];
        assert_eq!(
            failures,
            &json!(i64::from(counts_as_failure)),
            "{what}: {status}"
        );
        let pool = app.pool().await;
        let (outcome, retry_at): (String, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
            "SELECT outcome, retry_at FROM enrichment WHERE provider = 'coverartarchive'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if counts_as_failure {
            assert_eq!(outcome, "failed", "{what}");
            assert!(retry_at.is_some_and(|at| at > chrono::Utc::now()), "{what}");
        } else {
            assert_ne!(outcome, "failed", "{what}");
        }
    }
}

/// The status report lists the enabled enrichers with their health.
#[tokio::test]
async fn status_lists_each_enabled_enricher() {
    let upstream = MockServer::start().await;
    let app = app_with(&["coverartarchive", "wikidata", "wikipedia"], &upstream).await;
    let (status, body) = app.get("/v1/status").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = body["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["musicbrainz", "coverartarchive", "wikidata", "wikipedia"]
    );

    let plain = TestApp::spawn().await;
    let (_, body) = plain.get("/v1/status").await;
    assert_eq!(
        body["providers"].as_array().unwrap().len(),
        1,
        "a disabled provider is not built, so never called: {body}"
    );
}
