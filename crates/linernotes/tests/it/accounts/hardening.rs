//! What a hostile client and a newcomer found in accounts: lockouts behind a shared address, the timing
//! of reset requests, the last admin, forged token times, signing keys shared by instances.

use serde_json::{json, Value};

use crate::hardening::within;
use crate::helpers::*;

/// Logs in over HTTP as if forwarded by a proxy for `client`; the status.
async fn login_via_proxy(app: &TestApp, client: &str, email: &str, password: &str) -> u16 {
    app.client
        .post(format!("{}/v1/auth/login", app.http))
        .header("x-forwarded-for", client)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login")
        .status()
        .as_u16()
}

/// Behind a trusted proxy, the forwarded client address is the one throttled; when one client behind a
/// shared address fails often enough to lock it, accounts that logged in from that address with their
/// right password still can, while accounts never seen there wait like the attacker.
#[tokio::test]
async fn a_locked_shared_address_does_not_lock_out_its_known_users() {
    let app = TestApp::spawn_with(TestOptions {
        configure: Some(Box::new(|s| {
            s.server.trusted_proxies = vec!["127.0.0.1/32".into()];
            s.auth.throttle.ip_max_failures = 3;
        })),
        ..Default::default()
    })
    .await;
    register(&app, "ada@example.org").await;
    register(&app, "bob@example.org").await;
    let shared = "203.0.113.7";
    assert_eq!(
        login_via_proxy(&app, shared, "ada@example.org", PASSWORD).await,
        200
    );
    for guess in ["one", "two", "three"] {
        let status = login_via_proxy(
            &app,
            shared,
            &format!("{guess}@example.org"),
            "wrong password",
        )
        .await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        login_via_proxy(&app, shared, "carol@example.org", "wrong password").await,
        429,
        "the shared address is locked"
    );
    assert_eq!(
        login_via_proxy(&app, shared, "ada@example.org", PASSWORD).await,
        200,
        "a known user of the address logs in with the right password"
    );
    assert_eq!(
        login_via_proxy(&app, shared, "bob@example.org", PASSWORD).await,
        429,
        "an account never seen at the address waits"
    );
    assert_eq!(
        login_via_proxy(&app, "198.51.100.1", "bob@example.org", PASSWORD).await,
        200,
        "the forwarded address is the one locked, not the proxy's"
    );
}

/// Without trusted proxies a forwarding header is a client's word and changes nothing: the session
/// records the socket peer.
#[tokio::test]
async fn forwarding_headers_of_untrusted_peers_are_ignored() {
    let app = TestApp::spawn().await;
    register(&app, "ada@example.org").await;
    assert_eq!(
        login_via_proxy(&app, "203.0.113.7", "ada@example.org", PASSWORD).await,
        200
    );
    let pool = app.pool().await;
    let ip: Option<String> = sqlx::query_scalar("SELECT ip FROM sessions LIMIT 1")
        .fetch_one(&pool)
        .await
        .expect("a session");
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
}

/// A reset request is answered before the address is looked up (the same work either way, so its
/// timing cannot tell whether an account exists): it answers while the users table is locked, and the
/// mail follows once the lock is gone.
#[tokio::test]
async fn a_reset_request_answers_before_the_address_is_looked_up() {
    let app = TestApp::spawn().await;
    register(&app, "ada@example.org").await;
    let pool = app.pool().await;
    let mut lock = pool.begin().await.expect("transaction");
    sqlx::query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .expect("lock users");
    for email in ["ada@example.org", "nobody@example.org"] {
        let (status, _) = within(
            "a reset request while users are locked",
            app.post("/v1/auth/password-reset", &json!({ "email": email })),
        )
        .await;
        assert_eq!(status, 202);
    }
    lock.rollback().await.expect("unlock");
    app.accounts.deferred().idle().await;
    let mailed: Vec<String> = sqlx::query_scalar(
        "SELECT recipient FROM mail_outbox WHERE subject = 'Reset your password'",
    )
    .fetch_all(&pool)
    .await
    .expect("outbox");
    assert_eq!(mailed, ["ada@example.org"]);
}

/// Two admins demoting each other at once: one change wins, the other is refused, and an active admin
/// remains. The last admin cannot delete itself (nor, as no admin can, demote or disable itself).
#[tokio::test]
async fn the_last_active_admin_stays() {
    let app = TestApp::spawn().await;
    let (first, first_token) = bootstrap_admin(&app, "first@example.org").await;
    let (second, second_token) = bootstrap_admin(&app, "second@example.org").await;
    let demote = |token: String, id: String| {
        let app = &app;
        async move {
            app.patch_auth(
                &format!("/v1/admin/users/{id}"),
                &token,
                &json!({"role": "user"}),
            )
            .await
        }
    };
    let (a, b) = tokio::join!(
        demote(first_token.clone(), second.clone()),
        demote(second_token.clone(), first.clone())
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert!(
        statuses == [200, 403] || statuses == [200, 409],
        "one demotion wins, the other is refused: {a:?} {b:?}"
    );
    let pool = app.pool().await;
    let admins: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND deleted_at IS NULL",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(admins, 1);

    let (survivor, token) = if a.0 == 200 {
        (first, first_token)
    } else {
        (second, second_token)
    };
    let own = format!("/v1/admin/users/{survivor}");
    for change in [json!({"role": "user"}), json!({"disabled": true})] {
        let answer = app.patch_auth(&own, &token, &change).await;
        assert_error("an admin changing itself", &answer, 400, "INVALID_ARGUMENT");
    }
    let answer = app
        .delete_auth("/v1/me", &token, Some(&json!({"password": PASSWORD})))
        .await;
    assert_error(
        "the last admin deleting itself",
        &answer,
        409,
        "FAILED_PRECONDITION",
    );
    let still: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND deleted_at IS NULL",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(still, 1);
}

/// With no `auth.jwt_secret`, instances sharing a database sign with the key kept there: a token from
/// one is good on the other, and on a restarted one.
#[tokio::test]
async fn instances_on_one_database_accept_each_others_tokens() {
    let first = TestApp::spawn().await;
    let second = TestApp::spawn_with(TestOptions {
        database: Some(first.database.clone()),
        ..Default::default()
    })
    .await;
    register(&first, "ada@example.org").await;
    let (access, _) = login(&first, "ada@example.org", PASSWORD).await;
    let (status, me) = second.get_auth("/v1/me", &access).await;
    assert_eq!(status, 200, "{me}");
    let (database, _) = second.stop().await;
    let restarted = TestApp::spawn_with(TestOptions {
        database: Some(database),
        ..Default::default()
    })
    .await;
    let (status, me): (u16, Value) = restarted.get_auth("/v1/me", &access).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "ada@example.org");
}

/// Values no one could mean are refused at the boundary with a message saying what is expected: plays
/// at year 1, lengths and positions of 9.2 × 10^18 ms, line breaks and direction overrides in names,
/// invisible display names, made-up language tags, domains mixing look-alike scripts.
#[tokio::test]
async fn values_no_one_could_mean_are_refused() {
    let app = TestApp::spawn().await;
    let (_, token) = user(&app, "ada@example.org").await;
    let track = "musicbrainz:b1a9c0e9-d987-4042-ae91-78d6a3267d69";
    let refused = [
        (
            "POST",
            "/v1/me/plays",
            json!({"track_id": track, "played_at": "0001-01-01T00:00:00Z"}),
        ),
        (
            "POST",
            "/v1/me/plays",
            json!({"track_id": track, "duration_ms": 9_200_000_000_000_000_000_i64}),
        ),
        (
            "PUT",
            "/v1/me/playback",
            json!({"track_id": track, "position_ms": 9_200_000_000_000_000_000_i64, "device": "phone", "version": 0}),
        ),
        ("POST", "/v1/me/playlists", json!({"name": "Road\ntrip"})),
        (
            "POST",
            "/v1/me/playlists",
            json!({"name": "evil\u{202E}gpj.exe"}),
        ),
        ("PATCH", "/v1/me", json!({"display_name": "\u{200B}"})),
        (
            "PATCH",
            "/v1/me",
            json!({"display_name": "\u{200D}\u{200C}"}),
        ),
        ("PATCH", "/v1/me", json!({"language": "zz-ZZZZ-x"})),
    ];
    for (method, path, body) in refused {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let (status, _, answer) = app.send(method, path, Some(&body), Some(&token)).await;
        assert_error(
            &format!("{path} {body}"),
            &(status, answer),
            400,
            "INVALID_ARGUMENT",
        );
    }
    let look_alike = app
        .post(
            "/v1/auth/register",
            &json!({"email": "bob@ex\u{0430}mple.org", "password": PASSWORD, "display_name": "Bob"}),
        )
        .await;
    assert_error("a look-alike domain", &look_alike, 400, "INVALID_ARGUMENT");
}
