//! The read path through both transports: every entity end to end, database first, one upstream call
//! per miss, the rate limit and User-Agent, stale-while-revalidate, refresh, redirects, album lists,
//! search, and every kind of bad input.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use linernotes::domain::EntityKind;
use linernotes::grpc::pb;
use serde_json::{json, Value};
use tonic::Code;
use wiremock::matchers::{header, method, path, path_regex, query_param};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use crate::bodies::*;
use crate::helpers::*;

fn user_agent() -> String {
    format!(
        "linernotes/{} ( tests@linernotes.invalid )",
        env!("CARGO_PKG_VERSION")
    )
}

fn get_request(id: &str, refresh: bool) -> pb::GetEntityRequest {
    pb::GetEntityRequest {
        id: id.to_owned(),
        refresh,
        ..Default::default()
    }
}

fn mb(id: &str) -> String {
    format!("musicbrainz:{id}")
}

/// The HTTP error body's code and message.
fn error_of(body: &Value) -> (&str, &str) {
    (
        body["error"]["code"].as_str().unwrap_or_default(),
        body["error"]["message"].as_str().unwrap_or_default(),
    )
}

/// An artist travels MusicBrainz → PostgreSQL → HTTP and gRPC with every listed field, and the second
/// answer comes from the database (one upstream call, with the User-Agent, `inc` and `fmt=json`).
#[tokio::test]
async fn artist_end_to_end_through_both_transports() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .and(query_param("inc", "aliases genres tags url-rels"))
        .and(query_param("fmt", "json"))
        .and(header("user-agent", user_agent().as_str()))
        .respond_with(json_response(&artist(ARTIST, "Ada Example")))
        .expect(1)
        .mount(&app.mock)
        .await;

    let (status, a) = app.get(&format!("/v1/artists/{}", mb(ARTIST))).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["id"], mb(ARTIST));
    assert_eq!(a["external_ids"], json!([mb(ARTIST), "discogs:123456"]));
    assert_eq!(a["name"], "Ada Example");
    assert_eq!(a["sort_name"], "Example, Ada");
    assert_eq!(a["type"], "Person");
    assert_eq!(a["gender"], "Female");
    assert_eq!(a["country"], "GB");
    assert_eq!(a["area"], "United Kingdom");
    assert_eq!(a["disambiguation"], Value::Null, "\"\" becomes null");
    assert_eq!(
        a["life_span"],
        json!({"begin": "1969-09", "end": null, "ended": false})
    );
    assert_eq!(
        a["aliases"],
        json!([
            {"name": "A. Example", "sort_name": "Example, A.", "locale": null, "primary": null, "type": "Search hint"},
            {"name": "エイダ", "sort_name": "エイダ", "locale": "ja", "primary": true, "type": "Artist name"}
        ])
    );
    assert_eq!(a["genres"], json!([{"name": "synth-pop", "count": 4}]));
    assert_eq!(
        a["tags"],
        json!([{"name": "british", "count": 2}, {"name": "synth-pop", "count": 5}]),
        "the provider's order"
    );
    assert_eq!(
        a["urls"],
        json!([
            {"type": "discogs", "url": "https://www.discogs.com/artist/123456"},
            {"type": "official homepage", "url": "https://ada.example.org/"}
        ])
    );
    assert_eq!(a["freshness"]["stale"], false);
    assert!(a["freshness"]["fetched_at"].as_str().is_some());

    let g = app
        .grpc()
        .await
        .get_artist(get_request(&mb(ARTIST), false))
        .await
        .expect("GetArtist")
        .into_inner();
    assert_eq!(g.id, mb(ARTIST));
    assert_eq!(g.external_ids, [mb(ARTIST), "discogs:123456".into()]);
    assert_eq!(g.name, "Ada Example");
    assert_eq!(g.sort_name.as_deref(), Some("Example, Ada"));
    assert_eq!(g.r#type.as_deref(), Some("Person"));
    assert_eq!(g.gender.as_deref(), Some("Female"));
    assert_eq!(g.country.as_deref(), Some("GB"));
    assert_eq!(g.area.as_deref(), Some("United Kingdom"));
    assert_eq!(g.disambiguation, None);
    let life = g.life_span.expect("life span");
    assert_eq!(
        (life.begin.as_deref(), life.end, life.ended),
        (Some("1969-09"), None, Some(false))
    );
    assert_eq!(g.aliases.len(), 2);
    assert_eq!(g.aliases[0].primary, None, "null stays unknown");
    assert_eq!(g.aliases[1].primary, Some(true));
    assert_eq!(g.aliases[1].locale.as_deref(), Some("ja"));
    assert_eq!(g.genres[0].name, "synth-pop");
    assert_eq!(g.tags[1].count, 5);
    assert_eq!(g.urls[1].r#type, "official homepage");
    assert!(!g.freshness.expect("freshness").stale);

    let requests = app.mock.received_requests().await.unwrap_or_default();
    assert_eq!(
        requests[0].url.query(),
        Some("inc=aliases+genres+tags+url-rels&fmt=json"),
        "inc parts joined by a literal +"
    );

    // Resolving by an external ID learned from the URL relations needs no upstream call either.
    let (status, by_discogs) = app.get("/v1/artists/discogs:123456").await;
    assert_eq!(status, 200);
    assert_eq!(by_discogs["id"], mb(ARTIST));
    assert_eq!(app.upstream_calls().await, 1);
}

/// A hot lookup answers the encodings kept with the cached record: the JSON the HTTP answer is made of,
/// and the protobuf message every gRPC answer is, both the same on every hit.
#[tokio::test]
async fn hot_lookups_answer_the_encodings_kept_with_the_cached_record() {
    let app = TestApp::spawn().await;
    mount_lookup(&app, "artist", ARTIST, artist(ARTIST, "Ada Example")).await;
    let url = format!("{}/v1/artists/{}", app.http, mb(ARTIST));
    let raw_get = || async {
        let response = app.client.get(&url).send().await.expect("GET");
        response.bytes().await.expect("body")
    };
    let first_json = raw_get().await;
    let mut grpc = app.grpc().await;
    let mut answers = Vec::new();
    for _ in 0..2 {
        let answer = grpc
            .get_artist(get_request(&mb(ARTIST), false))
            .await
            .expect("GetArtist")
            .into_inner();
        answers.push(answer);
    }
    let second_json = raw_get().await;

    let mbid = ARTIST.parse().expect("MBID");
    let cached = app
        .metadata
        .cache()
        .get_entity(EntityKind::Artist, "musicbrainz", mbid)
        .await
        .expect("the artist is in the hot cache");
    let json = cached.encodings.json.get().expect("JSON kept");
    assert_eq!(&first_json, json);
    assert_eq!(&second_json, json);
    let protobuf = cached.encodings.protobuf.get().expect("protobuf kept");
    let kept = <pb::Artist as prost::Message>::decode(protobuf.clone()).expect("decodes");
    assert_eq!(answers, [kept.clone(), kept]);
    assert_eq!(answers[0].name, "Ada Example");
    assert_eq!(app.upstream_calls().await, 1);
}

/// Albums carry their types, partial first-release date and the credit with its join phrases.
#[tokio::test]
async fn album_end_to_end_through_both_transports() {
    let app = TestApp::spawn().await;
    mount_lookup(&app, "release-group", ALBUM, album(ALBUM)).await;
    let (status, a) = app.get(&format!("/v1/albums/{}", mb(ALBUM))).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["title"], "Partial Dates");
    assert_eq!(a["primary_type"], "Album");
    assert_eq!(a["secondary_types"], json!(["Live"]));
    assert_eq!(a["first_release_date"], "1999-03");
    assert_eq!(a["artist_credit_name"], "Ada Example feat. Guest");
    assert_eq!(
        a["artist_credit"],
        json!([
            {"name": "Ada Example", "artist_id": mb(ARTIST), "join_phrase": " feat. "},
            {"name": "Guest", "artist_id": mb(GUEST), "join_phrase": ""}
        ])
    );
    assert_eq!(a["genres"], json!([{"name": "electronic", "count": 3}]));
    assert_eq!(a["external_ids"], json!([mb(ALBUM)]));

    let g = app
        .grpc()
        .await
        .get_album(get_request(&mb(ALBUM), false))
        .await
        .expect("GetAlbum")
        .into_inner();
    assert_eq!(g.title, "Partial Dates");
    assert_eq!(g.secondary_types, ["Live"]);
    assert_eq!(g.first_release_date.as_deref(), Some("1999-03"));
    assert_eq!(g.artist_credit_name, "Ada Example feat. Guest");
    assert_eq!(g.artist_credit[0].join_phrase, " feat. ");
    assert_eq!(g.artist_credit[1].artist_id, mb(GUEST));
    assert_eq!(app.upstream_calls().await, 1);
}

/// A release keeps its media, track numbers, unknown lengths, labels and barcode (leading zero kept),
/// and can then be found by that barcode.
#[tokio::test]
async fn release_end_to_end_through_both_transports() {
    let app = TestApp::spawn().await;
    mount_lookup(&app, "release", RELEASE, release(RELEASE)).await;
    let (status, r) = app.get(&format!("/v1/releases/{}", mb(RELEASE))).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["title"], "Partial Dates (Deluxe)");
    assert_eq!(r["status"], "Official");
    assert_eq!(r["date"], "1999");
    assert_eq!(r["country"], "GB");
    assert_eq!(r["barcode"], "0602577684647");
    assert_eq!(r["packaging"], Value::Null);
    assert_eq!(r["album_id"], mb(ALBUM));
    assert_eq!(r["artist_credit_name"], "Ada Example feat. Guest");
    assert_eq!(
        r["external_ids"],
        json!([mb(RELEASE), "barcode:0602577684647"])
    );
    assert_eq!(
        r["labels"],
        json!([{"label_id": mb(LABEL), "name": "Example Records", "catalog_number": "EX 001"}])
    );
    assert_eq!(r["media"].as_array().map(Vec::len), Some(2));
    assert_eq!(r["media"][0]["format"], "12\" Vinyl");
    assert_eq!(r["media"][0]["title"], Value::Null);
    assert_eq!(r["media"][1]["title"], "Bonus Disc");
    assert_eq!(
        r["media"][0]["tracks"],
        json!([
            {"position": 1, "number": "A1", "title": "First", "length_ms": 201000, "track_id": mb(TRACK),
             "release_track_id": mb("9f0e0000-0000-4000-8000-000000000001"),
             "artist_credit_name": "Ada Example feat. Guest", "artist_id": mb(ARTIST)},
            {"position": 2, "number": "A2", "title": "Second", "length_ms": null, "track_id": mb(TRACK_2),
             "release_track_id": mb("9f0e0000-0000-4000-8000-000000000002"),
             "artist_credit_name": "Ada Example feat. Guest", "artist_id": mb(ARTIST)}
        ])
    );

    let g = app
        .grpc()
        .await
        .get_release(get_request("barcode:0602577684647", false))
        .await
        .expect("GetRelease by barcode")
        .into_inner();
    assert_eq!(g.id, mb(RELEASE));
    assert_eq!(g.barcode.as_deref(), Some("0602577684647"));
    assert_eq!(g.album_id, Some(mb(ALBUM)));
    assert_eq!(g.labels[0].catalog_number.as_deref(), Some("EX 001"));
    assert_eq!(g.media[0].tracks[0].number.as_deref(), Some("A1"));
    assert_eq!(g.media[0].tracks[1].length_ms, None);
    assert_eq!(g.media[1].tracks[0].track_id, Some(mb(TRACK)));
    assert_eq!(
        g.media[0].tracks[0].release_track_id,
        Some(mb("9f0e0000-0000-4000-8000-000000000001"))
    );
    assert_eq!(g.media[0].tracks[0].artist_id, Some(mb(ARTIST)));
    assert_eq!(
        app.upstream_calls().await,
        1,
        "the barcode resolved from the database"
    );
}

/// A track carries its ISRCs, length and first release date; an `isrc:` ID resolves through
/// MusicBrainz when unknown and through the database afterwards.
#[tokio::test]
async fn track_end_to_end_through_both_transports_and_by_isrc() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path("/ws/2/isrc/GBAAA9900001"))
        .respond_with(json_response(&isrc("GBAAA9900001", &[TRACK])))
        .expect(1)
        .mount(&app.mock)
        .await;
    mount_lookup(&app, "recording", TRACK, track(TRACK)).await;

    let (status, t) = app.get("/v1/tracks/isrc:gbaaa9900001").await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["id"], mb(TRACK));
    assert_eq!(t["title"], "First");
    assert_eq!(t["length_ms"], 201000);
    assert_eq!(t["isrcs"], json!(["GBAAA9900001", "GBAAA9900002"]));
    assert_eq!(t["first_release_date"], "1999-03-01");
    assert_eq!(t["disambiguation"], "radio edit");
    assert_eq!(t["artist_credit_name"], "Ada Example feat. Guest");
    assert_eq!(
        t["external_ids"],
        json!([mb(TRACK), "isrc:GBAAA9900001", "isrc:GBAAA9900002"])
    );

    let g = app
        .grpc()
        .await
        .get_track(get_request("isrc:GBAAA9900002", false))
        .await
        .expect("GetTrack by the second ISRC")
        .into_inner();
    assert_eq!(g.id, mb(TRACK));
    assert_eq!(g.isrcs, ["GBAAA9900001", "GBAAA9900002"]);
    assert_eq!(g.length_ms, Some(201000));
    assert_eq!(g.artist_credit.len(), 2);
    assert_eq!(
        app.upstream_calls().await,
        2,
        "one ISRC lookup, one recording lookup"
    );
}

/// A label carries its type, label code, life span and aliases.
#[tokio::test]
async fn label_end_to_end_through_both_transports() {
    let app = TestApp::spawn().await;
    mount_lookup(&app, "label", LABEL, label(LABEL)).await;
    let (status, l) = app.get(&format!("/v1/labels/{}", mb(LABEL))).await;
    assert_eq!(status, 200, "{l}");
    assert_eq!(l["name"], "Example Records");
    assert_eq!(l["sort_name"], "Example Records");
    assert_eq!(l["type"], "Original Production");
    assert_eq!(l["country"], "GB");
    assert_eq!(l["label_code"], 2070);
    assert_eq!(l["disambiguation"], "UK independent label");
    assert_eq!(
        l["life_span"],
        json!({"begin": "1989-07", "end": null, "ended": false})
    );
    assert_eq!(l["aliases"][0]["locale"], "en_GB");

    let g = app
        .grpc()
        .await
        .get_label(get_request(&mb(LABEL), false))
        .await
        .expect("GetLabel")
        .into_inner();
    assert_eq!(g.label_code, Some(2070));
    assert_eq!(g.r#type.as_deref(), Some("Original Production"));
    assert_eq!(
        g.life_span.and_then(|l| l.begin).as_deref(),
        Some("1989-07")
    );
    assert_eq!(app.upstream_calls().await, 1);
}

/// Many clients asking for the same missing artist at once cause exactly one upstream request.
#[tokio::test]
async fn concurrent_misses_share_one_upstream_call() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .respond_with(
            json_response(&artist(ARTIST, "Ada Example")).set_delay(Duration::from_millis(300)),
        )
        .mount(&app.mock)
        .await;
    let url = format!("/v1/artists/{}", mb(ARTIST));
    let http = (0..16).map(|_| app.get(&url));
    let mut grpc = app.grpc().await;
    let grpc_calls = (0..4).map(|_| {
        let mut client = grpc.clone();
        async move { client.get_artist(get_request(&mb(ARTIST), false)).await }
    });
    let (http_results, grpc_results) = tokio::join!(
        futures::future::join_all(http),
        futures::future::join_all(grpc_calls)
    );
    for (status, body) in http_results {
        assert_eq!(status, 200);
        assert_eq!(body["name"], "Ada Example");
    }
    for result in grpc_results {
        assert_eq!(result.expect("GetArtist").into_inner().name, "Ada Example");
    }
    grpc.get_artist(get_request(&mb(ARTIST), false))
        .await
        .expect("stored");
    assert_eq!(app.upstream_calls().await, 1);
}

/// When a request arrived and the User-Agent it carried.
type Arrivals = Arc<Mutex<Vec<(Instant, Option<String>)>>>;

/// Answers a lookup with the entity the path asks for, recording when each request arrived.
struct EchoArtist {
    arrivals: Arrivals,
}

impl Respond for EchoArtist {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let agent = request
            .headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.arrivals
            .lock()
            .expect("lock")
            .push((Instant::now(), agent));
        let id = request.url.path().rsplit('/').next().unwrap_or_default();
        json_response(&artist(id, "Echo"))
    }
}

/// Under concurrent misses the client never exceeds the configured rate (here 10/s, so consecutive
/// requests are at least ~100 ms apart) and every request carries the User-Agent.
#[tokio::test]
async fn rate_limit_holds_under_concurrency() {
    let app = TestApp::spawn_with(TestOptions {
        configure: Some(Box::new(|s| {
            s.providers.musicbrainz.client.requests_per_second = 10.0
        })),
        ..Default::default()
    })
    .await;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .and(path_regex("^/ws/2/artist/[0-9a-f-]{36}$"))
        .respond_with(EchoArtist {
            arrivals: arrivals.clone(),
        })
        .mount(&app.mock)
        .await;
    let ids: Vec<String> = (0..6)
        .map(|i| format!("5a000000-0000-4000-8000-{i:012}"))
        .collect();
    let app = &app;
    let results = futures::future::join_all(
        ids.iter()
            .map(|id| async move { app.get(&format!("/v1/artists/musicbrainz:{id}")).await }),
    )
    .await;
    assert!(results.iter().all(|(status, _)| *status == 200));

    let mut arrivals = arrivals.lock().expect("lock").clone();
    assert_eq!(arrivals.len(), 6);
    arrivals.sort_by_key(|(at, _)| *at);
    let times: Vec<_> = arrivals.iter().map(|(at, _)| *at).collect();
    assert_paced(&times, Duration::from_millis(100));
    let agent = user_agent();
    assert!(arrivals
        .iter()
        .all(|(_, ua)| ua.as_deref() == Some(agent.as_str())));
}

/// A stale entity is answered at once (marked stale) while a background refresh stores the new
/// version, which the next request answers.
#[tokio::test]
async fn stale_entities_are_served_then_refreshed_in_the_background() {
    let app = TestApp::spawn_with(TestOptions {
        manual_clock: true,
        ..Default::default()
    })
    .await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .respond_with(json_response(&artist(ARTIST, "Old Name")))
        .up_to_n_times(1)
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .respond_with(json_response(&artist(ARTIST, "New Name")))
        .mount(&app.mock)
        .await;
    let url = format!("/v1/artists/{}", mb(ARTIST));
    let (_, first) = app.get(&url).await;
    assert_eq!(first["name"], "Old Name");

    app.clock
        .as_ref()
        .expect("manual clock")
        .advance(chrono::Duration::days(8));
    let (status, stale) = app.get(&url).await;
    assert_eq!(status, 200);
    assert_eq!(stale["name"], "Old Name");
    assert_eq!(stale["freshness"]["stale"], true);

    app.settled().await;
    let (_, fresh) = app.get(&url).await;
    assert_eq!(fresh["name"], "New Name");
    assert_eq!(fresh["freshness"]["stale"], false);
    assert_eq!(app.upstream_calls().await, 2);
}

/// `refresh=true` fetches again when upstream is up, and answers the stored copy (marked stale) when
/// upstream is down; an entity that was never stored is then `UNAVAILABLE`.
#[tokio::test]
async fn refresh_refetches_and_falls_back_to_the_stored_copy_when_upstream_is_down() {
    let app = TestApp::spawn().await;
    mount_lookup(&app, "artist", ARTIST, artist(ARTIST, "Ada Example")).await;
    let url = format!("/v1/artists/{}", mb(ARTIST));
    assert_eq!(app.get(&url).await.0, 200);
    let (status, again) = app.get(&format!("{url}?refresh=true")).await;
    assert_eq!(
        (status, again["freshness"]["stale"].clone()),
        (200, json!(false))
    );
    assert_eq!(
        app.upstream_calls().await,
        2,
        "refresh asked upstream again"
    );

    app.mock.reset().await;
    Mock::given(method("GET"))
        .respond_with(error_response(503, "service unavailable").insert_header("retry-after", "0"))
        .mount(&app.mock)
        .await;
    let (status, body) = app.get(&format!("{url}?refresh=true")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Ada Example");
    assert_eq!(body["freshness"]["stale"], true);

    let g = app
        .grpc()
        .await
        .get_artist(get_request(&mb(ARTIST), true))
        .await
        .expect("stored copy over gRPC")
        .into_inner();
    assert!(g.freshness.expect("freshness").stale);

    let (status, body) = app.get(&format!("/v1/artists/{}", mb(GUEST))).await;
    assert_eq!(status, 503);
    assert_eq!(error_of(&body).0, "UNAVAILABLE");
    let err = app
        .grpc()
        .await
        .get_artist(get_request(&mb(GUEST), false))
        .await
        .expect_err("nothing stored, upstream down");
    assert_eq!(err.code(), Code::Unavailable);
}

/// A 503 with `Retry-After` is retried and the retry's answer is served.
#[tokio::test]
async fn transient_upstream_errors_are_retried() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .respond_with(error_response(503, "rate limited").insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .respond_with(error_response(429, "slow down").insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&app.mock)
        .await;
    mount_lookup(&app, "artist", ARTIST, artist(ARTIST, "Ada Example")).await;
    let (status, body) = app.get(&format!("/v1/artists/{}", mb(ARTIST))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.upstream_calls().await, 3);
}

/// Upstream 404 is NOT_FOUND on both transports; a malformed upstream body is UNAVAILABLE and the
/// server keeps serving other requests.
#[tokio::test]
async fn upstream_not_found_and_malformed_answers() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/release-group/{ALBUM}")))
        .respond_with(error_response(404, "Not Found"))
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/label/{LABEL}")))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"id\": \"4e7adf6c-9b85"))
        .mount(&app.mock)
        .await;
    mount_lookup(&app, "artist", ARTIST, artist(ARTIST, "Ada Example")).await;

    let (status, body) = app.get(&format!("/v1/albums/{}", mb(ALBUM))).await;
    assert_eq!((status, error_of(&body).0), (404, "NOT_FOUND"));
    assert!(error_of(&body).1.contains(ALBUM), "{body}");
    let err = app
        .grpc()
        .await
        .get_album(get_request(&mb(ALBUM), false))
        .await
        .expect_err("404 upstream");
    assert_eq!(err.code(), Code::NotFound);

    let (status, body) = app.get(&format!("/v1/labels/{}", mb(LABEL))).await;
    assert_eq!((status, error_of(&body).0), (503, "UNAVAILABLE"));
    assert!(
        !body.to_string().contains("EOF"),
        "no parser internals: {body}"
    );
    let err = app
        .grpc()
        .await
        .get_label(get_request(&mb(LABEL), false))
        .await
        .expect_err("malformed upstream");
    assert_eq!(err.code(), Code::Unavailable);

    assert_eq!(app.get(&format!("/v1/artists/{}", mb(ARTIST))).await.0, 200);
}

const OLD: &str = "6f000000-0000-4000-8000-000000000001";

/// A lookup of a merged MBID answered with another MBID records the redirect: the old ID keeps
/// resolving, from the database, to the surviving entity.
#[tokio::test]
async fn merged_mbids_are_recorded_as_redirects() {
    let app = TestApp::spawn().await;
    mount_lookup(&app, "artist", OLD, artist(ARTIST, "Ada Example")).await;
    let (status, body) = app.get(&format!("/v1/artists/{}", mb(OLD))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], mb(ARTIST));
    let g = app
        .grpc()
        .await
        .get_artist(get_request(&mb(OLD), false))
        .await
        .expect("old ID resolves")
        .into_inner();
    assert_eq!(g.id, mb(ARTIST));
    assert_eq!(app.get(&format!("/v1/artists/{}", mb(ARTIST))).await.0, 200);
    assert_eq!(app.upstream_calls().await, 1);
}

/// MusicBrainz answers a merged MBID with 301 to the canonical URL; the redirect is followed (through
/// the rate limiter) and recorded.
#[tokio::test]
async fn http_redirects_of_merged_mbids_are_followed_and_recorded() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{OLD}")))
        .respond_with(ResponseTemplate::new(301).insert_header(
            "location",
            format!("/ws/2/artist/{ARTIST}?inc=aliases&fmt=json").as_str(),
        ))
        .mount(&app.mock)
        .await;
    mount_lookup(&app, "artist", ARTIST, artist(ARTIST, "Ada Example")).await;
    let (status, body) = app.get(&format!("/v1/artists/{}", mb(OLD))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], mb(ARTIST));
    assert_eq!(
        app.get(&format!("/v1/artists/{}", mb(OLD))).await.1["id"],
        mb(ARTIST)
    );
    assert_eq!(app.upstream_calls().await, 2);
}

/// Unknown values are `null`, never `""`: an album browsed without an artist credit lists
/// `artist_credit_name: null` on both reads of the list (the first synchronises, the second reads the
/// database).
#[tokio::test]
async fn an_album_without_a_credit_lists_a_null_credit_name() {
    let app = TestApp::spawn().await;
    let mut uncredited =
        album_summary("7b000000-0000-4000-8000-000000000001", "Uncredited", "2001");
    uncredited
        .as_object_mut()
        .expect("an object")
        .remove("artist-credit");
    Mock::given(method("GET"))
        .and(path("/ws/2/release-group"))
        .and(query_param("artist", ARTIST))
        .respond_with(json_response(&album_browse(vec![uncredited], 1, 0)))
        .expect(1)
        .mount(&app.mock)
        .await;
    for _ in 0..2 {
        let (status, page) = app.get(&format!("/v1/artists/{}/albums", mb(ARTIST))).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["albums"][0]["title"], "Uncredited");
        assert_eq!(
            page["albums"][0]["artist_credit_name"],
            Value::Null,
            "{page}"
        );
    }
}

/// An artist's albums are listed earliest first, paged from the database after one synchronisation
/// that browses every upstream page (100 a page).
#[tokio::test]
async fn artist_albums_are_listed_and_paged_through_both_transports() {
    let app = TestApp::spawn().await;
    let album_id = |i: usize| format!("7a000000-0000-4000-8000-{i:012}");
    let summaries = |range: std::ops::Range<usize>| {
        range
            .map(|i| {
                album_summary(
                    &album_id(i),
                    &format!("Album {i:03}"),
                    &format!("{}", 1900 + i),
                )
            })
            .collect::<Vec<_>>()
    };
    Mock::given(method("GET"))
        .and(path("/ws/2/release-group"))
        .and(query_param("artist", ARTIST))
        .and(query_param("offset", "0"))
        .and(query_param("limit", "100"))
        .respond_with(json_response(&album_browse(summaries(0..100), 150, 0)))
        .expect(1)
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/ws/2/release-group"))
        .and(query_param("artist", ARTIST))
        .and(query_param("offset", "100"))
        .respond_with(json_response(&album_browse(summaries(100..150), 150, 100)))
        .expect(1)
        .mount(&app.mock)
        .await;

    let (status, page) = app
        .get(&format!("/v1/artists/{}/albums?limit=10", mb(ARTIST)))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 150);
    assert_eq!(page["offset"], 0);
    let albums = page["albums"].as_array().expect("albums");
    assert_eq!(albums.len(), 10);
    assert_eq!(albums[0]["title"], "Album 000");
    assert_eq!(albums[0]["first_release_date"], "1900");
    assert_eq!(albums[0]["artist_credit_name"], "Ada Example feat. Guest");

    let g = app
        .grpc()
        .await
        .list_artist_albums(pb::ListArtistAlbumsRequest {
            id: mb(ARTIST),
            limit: Some(100),
            offset: 145,
            refresh: false,
        })
        .await
        .expect("ListArtistAlbums")
        .into_inner();
    assert_eq!(g.total, 150);
    assert_eq!(g.offset, 145);
    let titles: Vec<&str> = g.albums.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Album 145",
            "Album 146",
            "Album 147",
            "Album 148",
            "Album 149"
        ]
    );
    assert_eq!(
        app.upstream_calls().await,
        2,
        "two browse pages, nothing else"
    );
}

/// Search goes to MusicBrainz with the query as given (Lucene syntax included) and maps every hit.
#[tokio::test]
async fn search_through_both_transports() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path("/ws/2/artist"))
        .and(query_param("query", "AC/DC"))
        .and(query_param("limit", "2"))
        .and(query_param("offset", "0"))
        .respond_with(json_response(&artist_search(&[
            (ARTIST, "AC/DC", 100),
            (GUEST, "AC/DC Tribute", 87),
        ])))
        .mount(&app.mock)
        .await;
    let (status, page) = app.get("/v1/search?q=AC%2FDC&type=artist&limit=2").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 42);
    assert_eq!(page["offset"], 0);
    assert_eq!(
        page["results"][0],
        json!({"id": mb(ARTIST), "entity_type": "artist", "name": "AC/DC", "score": 100, "disambiguation": "test band"})
    );
    assert_eq!(page["results"][1]["score"], 87);

    let g = app
        .grpc()
        .await
        .search(pb::SearchRequest {
            query: "AC/DC".into(),
            r#type: "artist".into(),
            limit: Some(2),
            offset: 0,
        })
        .await
        .expect("Search")
        .into_inner();
    // MusicBrainz's hits were indexed: the same search now answers from the local index (the two
    // hits it knows), the exact name first.
    assert_eq!(g.total, 2);
    assert_eq!(g.results.len(), 2);
    assert_eq!(g.results[0].id, mb(ARTIST));
    assert_eq!(g.results[1].id, mb(GUEST));
    assert_eq!(g.results[1].entity_type, "artist");

    // A query MusicBrainz cannot parse is the client's mistake, said clearly.
    Mock::given(method("GET"))
        .and(path("/ws/2/recording"))
        .respond_with(error_response(400, "Invalid query: unbalanced quote"))
        .mount(&app.mock)
        .await;
    let (status, body) = app.get("/v1/search?q=%22unbalanced&type=track").await;
    assert_eq!(
        (status, error_of(&body).0),
        (400, "INVALID_ARGUMENT"),
        "{body}"
    );
    assert!(error_of(&body).1.contains("unbalanced quote"), "{body}");
}

/// Every malformed input is rejected with INVALID_ARGUMENT naming what was expected, before any I/O.
#[tokio::test]
async fn bad_input_is_rejected_before_any_upstream_call() {
    let app = TestApp::spawn().await;
    let long_query = "x".repeat(501);
    let cases: Vec<(String, &str)> = vec![
        ("/v1/artists/notanid".into(), "namespace"),
        ("/v1/artists/musicbrainz:".into(), "UUID"),
        ("/v1/albums/musicbrainz:not-a-uuid".into(), "UUID"),
        ("/v1/labels/myspace:123".into(), "unknown namespace"),
        ("/v1/artists/isrc:GBAAA9900001".into(), "tracks"),
        ("/v1/tracks/isrc:123".into(), "ISRC"),
        (
            format!("/v1/artists/{}?refresh=maybe", mb(ARTIST)),
            "true or false",
        ),
        ("/v1/search?type=artist".into(), "q"),
        ("/v1/search?q=%20%20&type=artist".into(), "q"),
        (format!("/v1/search?q={long_query}&type=artist"), "500"),
        (
            "/v1/search?q=x&type=podcast".into(),
            "artist, album, release, track, label",
        ),
        ("/v1/search?q=x".into(), "type"),
        (
            "/v1/search?q=x&type=artist&limit=0".into(),
            "between 1 and 100",
        ),
        (
            "/v1/search?q=x&type=artist&limit=101".into(),
            "between 1 and 100",
        ),
        (
            "/v1/search?q=x&type=artist&limit=abc".into(),
            "whole number",
        ),
        (
            "/v1/search?q=x&type=artist&offset=-1".into(),
            "whole number",
        ),
        (
            format!("/v1/artists/{}/albums?limit=500", mb(ARTIST)),
            "between 1 and 100",
        ),
    ];
    for (url, expected) in &cases {
        let (status, body) = app.get(url).await;
        let (code, message) = error_of(&body);
        assert_eq!((status, code), (400, "INVALID_ARGUMENT"), "{url}: {body}");
        assert!(
            message.contains(expected),
            "{url}: {message:?} should mention {expected:?}"
        );
    }

    let mut grpc = app.grpc().await;
    for id in [
        "notanid",
        "musicbrainz:",
        "musicbrainz:not-a-uuid",
        "myspace:1",
        "",
    ] {
        let err = grpc.get_artist(get_request(id, false)).await.expect_err(id);
        assert_eq!(err.code(), Code::InvalidArgument, "{id}");
        assert!(!err.message().is_empty());
    }
    let err = grpc
        .search(pb::SearchRequest {
            query: "x".into(),
            r#type: "artist".into(),
            limit: Some(0),
            offset: 0,
        })
        .await
        .expect_err("limit 0");
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = grpc
        .list_artist_albums(pb::ListArtistAlbumsRequest {
            id: "nope".into(),
            limit: Some(10),
            offset: 0,
            refresh: false,
        })
        .await
        .expect_err("bad artist id");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(app.upstream_calls().await, 0);
}

/// Health, readiness, unknown routes, gRPC health and reflection (v1 and v1alpha).
#[tokio::test]
async fn health_readiness_and_reflection() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz").await, (200, json!({"status": "ok"})));
    let (status, ready) = app.get("/readyz").await;
    assert_eq!((status, ready["database"].clone()), (200, json!("ok")));
    let (status, body) = app.get("/v2/nothing").await;
    assert_eq!((status, error_of(&body).0), (404, "NOT_FOUND"));

    let channel = app.channel().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in [
        "",
        "linernotes.v1.MetadataService",
        "linernotes.v1.LibraryService",
        "linernotes.v1.AdminService",
    ] {
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health check")
            .into_inner()
            .status;
        assert_eq!(
            status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
    }

    use tonic_reflection::pb::{v1, v1alpha};
    let mut v1_client = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut stream = v1_client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection v1")
        .into_inner();
    let response = stream
        .message()
        .await
        .expect("v1 answer")
        .expect("a message");
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        response.message_response
    else {
        panic!("unexpected v1 reflection answer");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"linernotes.v1.MetadataService".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );

    let mut alpha = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "linernotes.v1.MetadataService".into(),
            ),
        ),
    };
    let mut stream = alpha
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection v1alpha")
        .into_inner();
    let response = stream
        .message()
        .await
        .expect("v1alpha answer")
        .expect("a message");
    assert!(matches!(
        response.message_response,
        Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(ref f)) if !f.file_descriptor_proto.is_empty()
    ));
}

/// A slow upstream holds no request past `interactive_deadline_ms`: a miss answers 503 while the
/// fetch goes on and stores the entity for the next reader (no second upstream call); a refresh of a
/// stored entity answers the stored copy marked stale.
#[tokio::test]
async fn a_slow_upstream_holds_no_request_past_the_interactive_deadline() {
    let app = TestApp::spawn_with(TestOptions {
        configure: Some(Box::new(|s| {
            s.providers.musicbrainz.client.interactive_deadline_ms = 200;
        })),
        ..Default::default()
    })
    .await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .respond_with(
            json_response(&artist(ARTIST, "Ada Example")).set_delay(Duration::from_secs(2)),
        )
        .mount(&app.mock)
        .await;
    let url = format!("/v1/artists/{}", mb(ARTIST));
    let answer = app.get(&url).await;
    assert_error("a miss past the deadline", &answer, 503, "UNAVAILABLE");
    app.settled().await;
    let (status, body) = app.get(&url).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Ada Example");
    assert_eq!(
        app.upstream_calls().await,
        1,
        "the fetch went on and was stored"
    );

    let (status, body) = app.get(&format!("{url}?refresh=true")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["freshness"]["stale"], true, "{body}");
    app.settled().await;
    assert_eq!(app.upstream_calls().await, 2);
}
