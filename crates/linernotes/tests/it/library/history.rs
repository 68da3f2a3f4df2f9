//! Listening history end to end: plays de-duplicated within a configurable window (manual clock),
//! history pages, play counts and top lists over their periods, and the privacy settings that stop
//! history and search history being kept.

use chrono::Duration;
use serde_json::{json, Value};

use super::{mb, mount_catalogue, mount_search, spawn, spawn_with_clock, track_id};
use crate::bodies::{ARTIST, GUEST, TRACK, TRACK_2};
use crate::helpers::*;

#[tokio::test]
async fn plays_are_deduplicated_within_the_window() {
    let app = spawn_with_clock().await;
    let clock = app.clock.clone().expect("manual clock");
    let (_, ada) = user(&app, "ada@example.org").await;
    let (_, bob) = user(&app, "bob@example.org").await;
    let play = json!({"track_id": mb(TRACK), "duration_ms": 180000, "client": "tests"});

    let status_of = |body: &Value| body["status"].as_str().unwrap_or_default().to_owned();
    let (status, body) = app.post_auth("/v1/me/plays", &ada, &play).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_of(&body), "recorded");
    let (_, body) = app.post_auth("/v1/me/plays", &ada, &play).await;
    assert_eq!(status_of(&body), "deduplicated");
    // Another user, another track: not duplicates.
    let (_, body) = app.post_auth("/v1/me/plays", &bob, &play).await;
    assert_eq!(status_of(&body), "recorded");
    let (_, body) = app
        .post_auth("/v1/me/plays", &ada, &json!({"track_id": mb(TRACK_2)}))
        .await;
    assert_eq!(status_of(&body), "recorded");

    clock.advance(Duration::seconds(29));
    let (_, body) = app.post_auth("/v1/me/plays", &ada, &play).await;
    assert_eq!(status_of(&body), "deduplicated", "29 s later");
    clock.advance(Duration::seconds(2));
    let (_, body) = app.post_auth("/v1/me/plays", &ada, &play).await;
    assert_eq!(status_of(&body), "recorded", "31 s later");

    // Concurrent reports of one play store it once.
    clock.advance(Duration::seconds(60));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, base, token, play) = (
            app.client.clone(),
            app.http.clone(),
            ada.clone(),
            play.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(format!("{base}/v1/me/plays"))
                .bearer_auth(token)
                .json(&play)
                .send()
                .await
                .expect("request");
            response.json::<Value>().await.expect("json")["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }));
    }
    let mut recorded = 0;
    for task in tasks {
        if task.await.expect("task") == "recorded" {
            recorded += 1;
        }
    }
    assert_eq!(
        recorded, 1,
        "exactly one of the concurrent reports is stored"
    );

    let (_, history) = app.get_auth("/v1/me/history", &ada).await;
    let plays = history["plays"].as_array().expect("plays");
    assert_eq!(plays.len(), 4, "{history}");
    assert_eq!(plays[0]["client"], "tests");
    assert_eq!(plays[0]["duration_ms"], 180000);
    assert_eq!(plays[0]["track"]["title"], "First");
    let (_, counts) = app.get_auth("/v1/me/play-counts", &ada).await;
    assert_eq!(counts["items"][0]["plays"], 3, "{counts}");
    assert_eq!(counts["items"][1]["plays"], 1, "{counts}");
    let (_, bobs) = app.get_auth("/v1/me/history", &bob).await;
    assert_eq!(bobs["plays"].as_array().map(Vec::len), Some(1), "{bobs}");

    // Bad input.
    let future = (chrono::Utc::now() + Duration::hours(1)).to_rfc3339();
    for (what, body) in [
        (
            "far future",
            json!({"track_id": mb(TRACK), "played_at": future}),
        ),
        (
            "negative duration",
            json!({"track_id": mb(TRACK_2), "duration_ms": -1}),
        ),
        (
            "bad time",
            json!({"track_id": mb(TRACK_2), "played_at": "yesterday"}),
        ),
        ("bad ID", json!({"track_id": "musicbrainz:nope"})),
        ("no track", json!({"played_at": "2026-01-01T00:00:00Z"})),
    ] {
        assert_error(
            what,
            &app.post_auth("/v1/me/plays", &ada, &body).await,
            400,
            "INVALID_ARGUMENT",
        );
    }
    assert_error(
        "no token",
        &app.post("/v1/me/plays", &play).await,
        401,
        "UNAUTHENTICATED",
    );
    let (_, history) = app.get_auth("/v1/me/history", &ada).await;
    assert_eq!(history["plays"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn the_dedup_window_is_configurable() {
    let app = TestApp::spawn_with(TestOptions {
        manual_clock: true,
        configure: Some(Box::new(|s| s.library.play_dedup_secs = 300)),
        ..TestOptions::default()
    })
    .await;
    mount_catalogue(&app).await;
    let clock = app.clock.clone().expect("manual clock");
    let (_, ada) = user(&app, "ada@example.org").await;
    let play = json!({"track_id": mb(TRACK)});
    let (_, body) = app.post_auth("/v1/me/plays", &ada, &play).await;
    assert_eq!(body["status"], "recorded");
    clock.advance(Duration::seconds(120));
    let (_, body) = app.post_auth("/v1/me/plays", &ada, &play).await;
    assert_eq!(body["status"], "deduplicated", "within 300 s");
    clock.advance(Duration::seconds(200));
    let (_, body) = app.post_auth("/v1/me/plays", &ada, &play).await;
    assert_eq!(body["status"], "recorded");
}

#[tokio::test]
async fn history_pages_and_top_lists_cover_their_periods() {
    let app = spawn().await;
    let (_, ada) = user(&app, "ada@example.org").await;
    let now = chrono::Utc::now();
    let at = |days: i64, n: i64| (now - Duration::days(days) + Duration::minutes(n)).to_rfc3339();
    // TRACK: 3 plays this week; TRACK_2: 1 this week and 4 two months ago; track 1: 2 plays 20 days ago.
    let mut plays = Vec::new();
    for n in 0..3 {
        plays.push((mb(TRACK), at(1, n)));
    }
    plays.push((mb(TRACK_2), at(2, 0)));
    for n in 0..4 {
        plays.push((mb(TRACK_2), at(60, n)));
    }
    for n in 0..2 {
        plays.push((mb(&track_id(1)), at(20, n)));
    }
    for (track, played_at) in &plays {
        let (status, body) = app
            .post_auth(
                "/v1/me/plays",
                &ada,
                &json!({"track_id": track, "played_at": played_at}),
            )
            .await;
        assert_eq!(body["status"], "recorded", "{status} {body}");
    }

    // History, three at a time, newest first, without gaps or repeats.
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let url = match &before {
            Some(b) => format!("/v1/me/history?limit=3&before={}", urlencode(b)),
            None => "/v1/me/history?limit=3".to_owned(),
        };
        let (status, page) = app.get_auth(&url, &ada).await;
        assert_eq!(status, 200, "{page}");
        for play in page["plays"].as_array().expect("plays") {
            seen.push(play["played_at"].as_str().expect("time").to_owned());
        }
        match page["next_before"].as_str() {
            Some(next) => before = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), plays.len());
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted, "newest first");

    let top = |period: &'static str| {
        let app = &app;
        let ada = ada.clone();
        async move {
            let (status, body) = app
                .get_auth(&format!("/v1/me/top/tracks?period={period}"), &ada)
                .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["period"], period);
            body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| {
                    (
                        i["track"]["id"].as_str().unwrap_or_default().to_owned(),
                        i["plays"].as_i64().unwrap_or_default(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(top("7d").await, vec![(mb(TRACK), 3), (mb(TRACK_2), 1)]);
    assert_eq!(
        top("30d").await,
        vec![(mb(TRACK), 3), (mb(&track_id(1)), 2), (mb(TRACK_2), 1)]
    );
    assert_eq!(
        top("365d").await,
        vec![(mb(TRACK_2), 5), (mb(TRACK), 3), (mb(&track_id(1)), 2)]
    );
    assert_eq!(top("all").await, top("365d").await);

    // Every test track is credited to Ada Example feat. Guest.
    let (_, artists) = app.get_auth("/v1/me/top/artists?period=7d", &ada).await;
    let names: Vec<(&str, i64)> = artists["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap_or_default(),
                a["plays"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    let (ada_mb, guest_mb) = (mb(ARTIST), mb(GUEST));
    assert_eq!(names.len(), 2, "{artists}");
    assert!(names.contains(&(ada_mb.as_str(), 4)), "{artists}");
    assert!(names.contains(&(guest_mb.as_str(), 4)), "{artists}");
    let (_, all) = app.get_auth("/v1/me/top/artists?period=all", &ada).await;
    assert_eq!(all["items"][0]["plays"], 10, "{all}");

    assert_error(
        "bad period",
        &app.get_auth("/v1/me/top/tracks?period=2w", &ada).await,
        400,
        "INVALID_ARGUMENT",
    );
    assert_error(
        "bad before",
        &app.get_auth("/v1/me/history?before=soon", &ada).await,
        400,
        "INVALID_ARGUMENT",
    );
    // Another user's lists are their own.
    let (_, bob) = user(&app, "bob@example.org").await;
    let (_, theirs) = app.get_auth("/v1/me/top/tracks?period=all", &bob).await;
    assert_eq!(theirs["items"], json!([]));
    let (_, theirs) = app.get_auth("/v1/me/top/artists?period=all", &bob).await;
    assert_eq!(theirs["items"], json!([]));
    let (_, theirs) = app.get_auth("/v1/me/history", &bob).await;
    assert_eq!(theirs["plays"], json!([]));
    let (_, theirs) = app.get_auth("/v1/me/play-counts", &bob).await;
    assert_eq!(theirs["items"], json!([]));
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn privacy_settings_are_honoured() {
    let app = spawn().await;
    mount_search(&app).await;
    let (_, ada) = user(&app, "ada@example.org").await;
    let (status, body) = app
        .patch_auth(
            "/v1/me",
            &ada,
            &json!({"settings": {"keep_listening_history": false, "keep_search_history": false}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = app
        .post_auth("/v1/me/plays", &ada, &json!({"track_id": mb(TRACK)}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ignored");
    let (status, _) = app.get_auth("/v1/search?q=ada&type=artist", &ada).await;
    assert_eq!(status, 200);
    let pool = app.pool().await;
    let stored: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM play), (SELECT count(*) FROM play_count), \
         (SELECT count(*) FROM search_history)",
    )
    .fetch_one(&pool)
    .await
    .expect("counts");
    assert_eq!(stored, (0, 0, 0), "nothing stored with history off");

    // Turned back on, both are kept again.
    app.patch_auth(
        "/v1/me",
        &ada,
        &json!({"settings": {"keep_listening_history": true, "keep_search_history": true}}),
    )
    .await;
    let (_, body) = app
        .post_auth("/v1/me/plays", &ada, &json!({"track_id": mb(TRACK)}))
        .await;
    assert_eq!(body["status"], "recorded");
    app.get_auth("/v1/search?q=ada&type=artist", &ada).await;
    let (_, history) = app.get_auth("/v1/me/search-history", &ada).await;
    assert_eq!(history["items"].as_array().map(Vec::len), Some(1));
}
