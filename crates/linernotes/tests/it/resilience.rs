//! Hot cache, shared upstream budget and resilience: several instances behind one Redis and one
//! database, Redis and provider trouble, the circuit breaker, status and metrics.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use linernotes::grpc::pb;
use secrecy::SecretString;
use serde_json::Value;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::bodies::*;
use crate::helpers::*;

/// Settings for an instance sharing `namespace` of the test Redis (reached at `url`).
fn shared(url: String, namespace: String, rate: f64) -> Configure {
    Box::new(move |s| {
        s.cache.redis_url = Some(SecretString::from(url));
        s.cache.key_namespace = namespace;
        // Generous for a loaded test machine; Redis trouble is simulated by a proxy, not by latency.
        s.cache.redis_timeout_ms = 1000;
        s.providers.musicbrainz.client.requests_per_second = rate;
    })
}

/// Two instances on one database, one mock MusicBrainz and one Redis namespace.
async fn two_instances(rate: f64) -> (TestApp, TestApp) {
    let namespace = redis_namespace();
    let first = TestApp::spawn_with(TestOptions {
        configure: Some(shared(redis_url(), namespace.clone(), rate)),
        ..Default::default()
    })
    .await;
    let mock = MockServer::start().await;
    let second = TestApp::spawn_with(TestOptions {
        database: Some(first.database.clone()),
        mock: Some(mock),
        configure: Some(shared(redis_url(), namespace, rate)),
        ..Default::default()
    })
    .await;
    (first, second)
}

/// Answers any artist lookup with the artist the path names, recording arrival times.
#[derive(Clone, Default)]
struct EchoArtists {
    arrivals: Arc<Mutex<Vec<Instant>>>,
    name: &'static str,
}

impl Respond for EchoArtists {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.arrivals.lock().expect("lock").push(Instant::now());
        let id = request.url.path().rsplit('/').next().unwrap_or_default();
        json_response(&artist(id, self.name))
    }
}

fn artist_ids(prefix: u32, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("{prefix:08x}-0000-4000-8000-{i:012}"))
        .collect()
}

/// Points both instances' MusicBrainz at the first instance's mock (the second's base URL was set at
/// start, so mount the same responder on both).
async fn mount_echo(apps: [&TestApp; 2], echo: &EchoArtists) {
    for app in apps {
        Mock::given(method("GET"))
            .and(path_regex("^/ws/2/artist/[0-9a-f-]{36}$"))
            .respond_with(echo.clone())
            .mount(&app.mock)
            .await;
    }
}

/// JSON the model cannot read (one odd record) is reported but does not open the breaker: lookups of
/// other entities still reach MusicBrainz. A body that is not JSON at all does count against it.
#[tokio::test]
async fn an_unreadable_record_does_not_open_the_breaker() {
    let app = TestApp::spawn_with(TestOptions {
        configure: Some(Box::new(|s| {
            let mb = &mut s.providers.musicbrainz.client;
            mb.max_retries = 0;
            mb.breaker_failure_threshold = 2;
        })),
        ..Default::default()
    })
    .await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{GUEST}")))
        .respond_with(json_response(&serde_json::json!({"id": 5})))
        .mount(&app.mock)
        .await;
    let odd = format!("/v1/artists/musicbrainz:{GUEST}");
    for _ in 0..3 {
        assert_eq!(app.get(&odd).await.0, 503);
    }
    let status = app.get("/v1/status").await.1;
    assert_eq!(status["providers"][0]["state"], "ok", "{status}");
    assert!(
        status["providers"][0]["last_error"].as_str().is_some(),
        "{status}"
    );
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .respond_with(json_response(&artist(ARTIST, "Ada Example")))
        .mount(&app.mock)
        .await;
    assert_eq!(
        app.get(&format!("/v1/artists/musicbrainz:{ARTIST}"))
            .await
            .0,
        200
    );

    app.mock.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&app.mock)
        .await;
    for _ in 0..2 {
        assert_eq!(app.get(&odd).await.0, 503);
    }
    let status = app.get("/v1/status").await.1;
    assert_eq!(status["providers"][0]["state"], "open", "{status}");
}

/// With Redis, an instance's status also shows what the other instances reported of the provider
/// (`status:{platform}`): the latest failure and the latest success, whichever instance met them.
#[tokio::test]
async fn provider_health_is_shared_between_instances() {
    let (first, second) = two_instances(100.0).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("not json"))
        .mount(&first.mock)
        .await;
    let (status, body) = first.get(&format!("/v1/artists/musicbrainz:{GUEST}")).await;
    assert_eq!(status, 503, "{body}");
    // The first instance is not asked for its status: its periodic report carries what it saw.
    first.metadata.report_provider_health().await;

    mount_lookup_on(&second, ARTIST, "Ada Example").await;
    let found = second
        .get(&format!("/v1/artists/musicbrainz:{ARTIST}"))
        .await;
    assert_eq!(found.0, 200);
    let seen_by_second = second.get("/v1/status").await.1["providers"][0].clone();
    let error = seen_by_second["last_error"].clone();
    assert!(
        error.as_str().is_some_and(|e| e.contains("invalid JSON")),
        "{seen_by_second}"
    );
    assert!(
        seen_by_second["last_success"].as_str().is_some(),
        "{seen_by_second}"
    );

    let seen_by_first = first.get("/v1/status").await.1["providers"][0].clone();
    assert_eq!(
        seen_by_first["last_success"], seen_by_second["last_success"],
        "the first instance never reached MusicBrainz, the second did"
    );
    assert_eq!(seen_by_first["last_error"], error);
    assert_eq!(
        seen_by_first["last_error_at"],
        seen_by_second["last_error_at"]
    );
}

/// Answers the artist lookup of `mbid` on `app`'s mock MusicBrainz.
async fn mount_lookup_on(app: &TestApp, mbid: &str, name: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{mbid}")))
        .respond_with(json_response(&artist(mbid, name)))
        .mount(&app.mock)
        .await;
}

/// Two instances sharing Redis together stay within the upstream rate: the requests both send are
/// at least one period apart (10/s here), although each instance has its own misses.
#[tokio::test]
async fn two_instances_share_one_upstream_budget() {
    let (a, b) = two_instances(10.0).await;
    let echo = EchoArtists {
        name: "Shared",
        ..Default::default()
    };
    mount_echo([&a, &b], &echo).await;
    let ids = artist_ids(0x5b000000, 8);
    let requests = ids.iter().enumerate().map(|(i, id)| {
        let app = if i % 2 == 0 { &a } else { &b };
        async move { app.get(&format!("/v1/artists/musicbrainz:{id}")).await }
    });
    let results = futures::future::join_all(requests).await;
    assert!(
        results.iter().all(|(status, _)| *status == 200),
        "{results:?}"
    );

    let mut arrivals = echo.arrivals.lock().expect("lock").clone();
    assert_eq!(arrivals.len(), 8);
    arrivals.sort();
    assert_paced(&arrivals, Duration::from_millis(100));
    let status = a.get("/v1/status").await.1;
    assert_eq!(status["providers"][0]["shared_budget"], true, "{status}");
    assert_eq!(status["redis"], "ok", "{status}");
}

/// An entity refreshed on one instance is served fresh by the other on its next read: the refresh
/// replaces the Redis copy and the invalidation drops the other's in-process copy.
#[tokio::test]
async fn a_refresh_on_one_instance_reaches_the_other() {
    let (a, b) = two_instances(1000.0).await;
    for app in [&a, &b] {
        let mut state = app.metadata.cache().listener_state();
        tokio::time::timeout(Duration::from_secs(10), state.wait_for(|s| s.subscribed))
            .await
            .expect("listener subscribes")
            .expect("listener state");
    }
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .respond_with(json_response(&artist(ARTIST, "Old Name")))
        .up_to_n_times(1)
        .mount(&a.mock)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .respond_with(json_response(&artist(ARTIST, "New Name")))
        .mount(&a.mock)
        .await;
    let url = format!("/v1/artists/musicbrainz:{ARTIST}");
    assert_eq!(a.get(&url).await.1["name"], "Old Name");
    assert_eq!(
        b.get(&url).await.1["name"],
        "Old Name",
        "from the shared tiers"
    );
    assert_eq!(b.upstream_calls().await, 0);

    let mut b_state = b.metadata.cache().listener_state();
    let before = b_state.borrow().received;
    let (status, refreshed) = a.get(&format!("{url}?refresh=true")).await;
    assert_eq!(
        (status, refreshed["name"].clone()),
        (200, Value::from("New Name"))
    );
    tokio::time::timeout(
        Duration::from_secs(10),
        b_state.wait_for(|s| s.received > before),
    )
    .await
    .expect("the invalidation reaches the second instance")
    .expect("listener state");
    assert_eq!(b.get(&url).await.1["name"], "New Name");
    assert_eq!(
        b.upstream_calls().await,
        0,
        "the second instance never asked upstream"
    );
}

/// Redis going away mid-test fails no request: lookups fall through to the database and the
/// provider, status reports Redis unreachable, and the shared tier is used again once it is back.
#[tokio::test]
async fn redis_trouble_never_fails_a_request() {
    let target = url::Url::parse(&redis_url()).expect("redis URL");
    let proxy = TcpProxy::start(format!(
        "{}:{}",
        target.host_str().unwrap_or("127.0.0.1"),
        target.port().unwrap_or(6379)
    ))
    .await;
    let app = TestApp::spawn_with(TestOptions {
        configure: Some(Box::new({
            let url = format!("redis://{}", proxy.addr);
            move |s| {
                s.cache.redis_url = Some(SecretString::from(url));
                s.cache.key_namespace = redis_namespace();
            }
        })),
        ..Default::default()
    })
    .await;
    let echo = EchoArtists {
        name: "Resilient",
        ..Default::default()
    };
    Mock::given(method("GET"))
        .and(path_regex("^/ws/2/artist/[0-9a-f-]{36}$"))
        .respond_with(echo.clone())
        .mount(&app.mock)
        .await;
    let ids = artist_ids(0x5c000000, 6);
    let paths: Vec<String> = ids
        .iter()
        .map(|id| format!("/v1/artists/musicbrainz:{id}"))
        .collect();
    assert_eq!(app.get(&paths[0]).await.0, 200);

    proxy.set_down(true);
    for path in &paths {
        let (status, body) = app.get(path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["name"], "Resilient");
    }
    let status = app.get("/v1/status").await.1;
    assert_eq!(status["redis"], "unreachable", "{status}");
    assert_eq!(
        status["providers"][0]["shared_budget"], false,
        "no budget is shared while Redis is unreachable: {status}"
    );
    let metrics = app
        .client
        .get(format!("{}/metrics", app.http))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("linernotes_redis_operations_total")
                && !l.contains("outcome=\"ok\"")),
        "Redis trouble is counted"
    );

    proxy.set_down(false);
    for path in &paths {
        assert_eq!(app.get(path).await.0, 200);
    }
    assert_eq!(
        echo.arrivals.lock().expect("lock").len(),
        ids.len(),
        "each fetched once"
    );
}

/// A provider that times out opens the breaker: then stored data is still served, misses fail fast
/// without reaching the provider, and after the cool-down one probe closes it again.
#[tokio::test]
async fn the_circuit_breaker_opens_fails_fast_and_closes_after_recovery() {
    let app = TestApp::spawn_with(TestOptions {
        manual_clock: true,
        configure: Some(Box::new(|s| {
            let mb = &mut s.providers.musicbrainz.client;
            mb.timeout_ms = 200;
            mb.max_retries = 0;
            mb.breaker_failure_threshold = 2;
            mb.breaker_cool_down_secs = 30;
        })),
        ..Default::default()
    })
    .await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .respond_with(json_response(&artist(ARTIST, "Ada Example")))
        .mount(&app.mock)
        .await;
    let stored = format!("/v1/artists/musicbrainz:{ARTIST}");
    assert_eq!(app.get(&stored).await.0, 200);

    app.mock.reset().await;
    Mock::given(method("GET"))
        .respond_with(json_response(&artist(GUEST, "Too Late")).set_delay(Duration::from_secs(2)))
        .mount(&app.mock)
        .await;
    let (status, body) = app.get(&format!("{stored}?refresh=true")).await;
    assert_eq!(
        (status, body["freshness"]["stale"].clone()),
        (200, Value::Bool(true)),
        "{body}"
    );
    let missing = format!("/v1/artists/musicbrainz:{GUEST}");
    let (status, body) = app.get(&missing).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (503, Value::from("UNAVAILABLE"))
    );
    let status = app.get("/v1/status").await.1;
    assert_eq!(status["providers"][0]["state"], "open", "{status}");
    assert!(
        status["providers"][0]["last_error"].as_str().is_some(),
        "{status}"
    );

    let calls = app.upstream_calls().await;
    let (status, body) = app.get(&missing).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        app.upstream_calls().await,
        calls,
        "an open breaker fails fast"
    );
    let (status, _) = app.get(&stored).await;
    assert_eq!(status, 200, "stored data is still served");
    let mut grpc = app.grpc().await;
    let err = grpc
        .get_artist(pb::GetEntityRequest {
            id: format!("musicbrainz:{GUEST}"),
            refresh: false,
            ..Default::default()
        })
        .await
        .expect_err("open breaker");
    assert_eq!(err.code(), tonic::Code::Unavailable);

    app.mock.reset().await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{GUEST}")))
        .respond_with(json_response(&artist(GUEST, "The Guest")))
        .mount(&app.mock)
        .await;
    app.clock
        .as_ref()
        .expect("manual clock")
        .advance(chrono::Duration::seconds(31));
    let (status, body) = app.get(&missing).await;
    assert_eq!(
        (status, body["name"].clone()),
        (200, Value::from("The Guest"))
    );
    let admin = pb::admin_service_client::AdminServiceClient::new(app.channel().await)
        .get_status(pb::GetStatusRequest {})
        .await
        .expect("GetStatus")
        .into_inner();
    assert_eq!(admin.providers[0].state, "ok");
    assert_eq!(admin.database, "ok");
    assert_eq!(admin.redis, "disabled");
}

/// A `503` with `Retry-After` received by one instance pauses the other too.
#[tokio::test]
async fn retry_after_pauses_every_instance() {
    let (a, b) = two_instances(1000.0).await;
    let first_503 = Arc::new(Mutex::new(None::<Instant>));
    #[derive(Clone)]
    struct BusyOnce {
        served: Arc<Mutex<Option<Instant>>>,
        arrivals: Arc<Mutex<Vec<Instant>>>,
    }
    impl Respond for BusyOnce {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let now = Instant::now();
            let mut served = self.served.lock().expect("lock");
            if served.is_none() {
                *served = Some(now);
                return error_response(503, "busy").insert_header("retry-after", "2");
            }
            self.arrivals.lock().expect("lock").push(now);
            let id = request.url.path().rsplit('/').next().unwrap_or_default();
            json_response(&artist(id, "Patient"))
        }
    }
    let responder = BusyOnce {
        served: first_503.clone(),
        arrivals: Arc::new(Mutex::new(Vec::new())),
    };
    for app in [&a, &b] {
        Mock::given(method("GET"))
            .and(path_regex("^/ws/2/artist/[0-9a-f-]{36}$"))
            .respond_with(responder.clone())
            .mount(&app.mock)
            .await;
    }
    let ids = artist_ids(0x5d000000, 2);
    let first_path = format!("/v1/artists/musicbrainz:{}", ids[0]);
    let first = a.get(&first_path);
    let second = async {
        // Start the second instance's request once the first has been told to wait: the pause is
        // then recorded in Redis (polled, not slept on).
        let redis = redis::Client::open(redis_url()).expect("redis client");
        let mut conn = redis
            .get_multiplexed_async_connection()
            .await
            .expect("redis connection");
        let namespace = b
            .metadata
            .cache()
            .redis()
            .expect("shared")
            .key("pause:musicbrainz");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let paused: Option<String> = redis::cmd("GET")
                .arg(&namespace)
                .query_async(&mut conn)
                .await
                .expect("GET pause");
            if paused.is_some() || Instant::now() > deadline {
                break;
            }
            tokio::task::yield_now().await;
        }
        b.get(&format!("/v1/artists/musicbrainz:{}", ids[1])).await
    };
    let ((status_a, _), (status_b, body_b)) = tokio::join!(first, second);
    assert_eq!((status_a, status_b), (200, 200), "{body_b}");
    let told_to_wait = first_503.lock().expect("lock").expect("a 503 was served");
    let arrivals = responder.arrivals.lock().expect("lock").clone();
    assert_eq!(arrivals.len(), 2);
    for arrival in arrivals {
        let waited = arrival - told_to_wait;
        assert!(
            waited >= Duration::from_millis(1800),
            "a request went upstream {waited:?} after Retry-After: 2"
        );
    }
}

/// `/metrics` exposes pool, request, cache and provider metrics in Prometheus text.
#[tokio::test]
async fn metrics_are_exposed() {
    let app = TestApp::spawn().await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .respond_with(json_response(&artist(ARTIST, "Ada Example")))
        .mount(&app.mock)
        .await;
    let url = format!("/v1/artists/musicbrainz:{ARTIST}");
    app.get(&url).await;
    app.get(&url).await;
    app.grpc()
        .await
        .get_artist(pb::GetEntityRequest {
            id: format!("musicbrainz:{ARTIST}"),
            refresh: false,
            ..Default::default()
        })
        .await
        .expect("GetArtist");
    let response = app
        .client
        .get(format!("{}/metrics", app.http))
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("text");
    for needle in [
        "linernotes_db_pool_connections{state=\"max\"} 5",
        "linernotes_http_requests_total{route=\"/v1/artists/{id}\",method=\"GET\",status=\"200\"}",
        "linernotes_http_request_duration_seconds_bucket",
        "linernotes_grpc_requests_total{method=\"GetArtist\",code=\"Ok\"}",
        "linernotes_cache_requests_total{tier=\"memory\",outcome=\"hit\"}",
        "linernotes_db_query_duration_seconds_bucket{query=\"find\"",
        "linernotes_provider_requests_total{provider=\"musicbrainz\",outcome=\"ok\"}",
        "linernotes_provider_rate_limit_wait_seconds_bucket",
    ] {
        assert!(text.contains(needle), "missing {needle}");
    }
}
