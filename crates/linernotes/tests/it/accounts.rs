//! Accounts end to end, through HTTP and gRPC: the session lifecycle with refresh-token rotation and
//! reuse detection, throttling and its expiry (with a manual clock), enumeration resistance, the
//! registration race, bcrypt import and upgrade, admin authorisation, deletion and purge, export, the
//! audit log, password reset and bad input.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Duration;
use linernotes::grpc::pb;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::PgPool;
use tonic::Code;

use crate::helpers::*;

/// The actions of the audit entries whose subject is `user_id`, oldest first.
async fn audit_actions(pool: &PgPool, user_id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log WHERE subject_id = $1::uuid ORDER BY id")
        .bind(user_id)
        .fetch_all(pool)
        .await
        .expect("audit log")
}

// ----------------------------------------------------------------------------------------------------
// Session lifecycle
// ----------------------------------------------------------------------------------------------------

/// register → verify → login → refresh (rotation) → reuse of the spent token revokes the session →
/// login again → logout ends that session, over HTTP, with each step's audit entry.
#[tokio::test]
async fn session_lifecycle_over_http() {
    let app = TestApp::spawn().await;
    let pool = app.pool().await;
    let email = "ada@example.org";
    let id = register(&app, email).await;

    let (_, me) = {
        let (access, _) = login(&app, email, PASSWORD).await;
        app.get_auth("/v1/me", &access).await
    };
    assert_eq!(me["email_verified"], false, "{me}");
    let token = mailed_token(&pool, email, "Verify your email address").await;
    let (status, _, _) = app
        .send(
            Method::POST,
            "/v1/auth/verify-email",
            Some(&json!({"token": token})),
            None,
        )
        .await;
    assert_eq!(status, 204);
    // Single use.
    assert_error(
        "verify twice",
        &app.post("/v1/auth/verify-email", &json!({"token": token}))
            .await,
        400,
        "INVALID_ARGUMENT",
    );

    let (access, refresh) = login(&app, email, PASSWORD).await;
    let (status, me) = app.get_auth("/v1/me", &access).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["email_verified"], true);
    assert_eq!(me["role"], "user");
    assert_eq!(me["display_name"], "Ada");
    assert_eq!(me["settings"]["keep_listening_history"], true);

    // Rotation: the refresh token is spent, a new one comes back.
    let (status, pair) = app
        .post("/v1/auth/refresh", &json!({"refresh_token": refresh}))
        .await;
    assert_eq!(status, 200, "{pair}");
    let refresh2 = pair["refresh_token"].as_str().expect("refresh").to_owned();
    let access2 = pair["access_token"].as_str().expect("access").to_owned();
    assert_ne!(refresh2, refresh);
    assert_eq!(app.get_auth("/v1/me", &access2).await.0, 200);
    // Tokens are stored only as hashes: SHA-256 of the token is there, the token itself is not.
    let stored = |value: Vec<u8>| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM refresh_tokens WHERE token_hash = $1",
            )
            .bind(value)
            .fetch_one(&pool)
            .await
            .expect("query")
        }
    };
    {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(refresh2.as_bytes()).to_vec();
        assert_eq!(stored(digest).await, 1, "sha256(token) is stored");
    }
    assert_eq!(stored(refresh2.as_bytes().to_vec()).await, 0);

    // Reuse of the spent token: 401, and the whole session is revoked (the new pair dies too).
    assert_error(
        "reuse",
        &app.post("/v1/auth/refresh", &json!({"refresh_token": refresh}))
            .await,
        401,
        "UNAUTHENTICATED",
    );
    assert_error(
        "the rotated token after reuse",
        &app.post("/v1/auth/refresh", &json!({"refresh_token": refresh2}))
            .await,
        401,
        "UNAUTHENTICATED",
    );
    assert_error(
        "the access token after reuse",
        &app.get_auth("/v1/me", &access2).await,
        401,
        "UNAUTHENTICATED",
    );

    // Logout revokes the session: its access and refresh tokens stop working.
    let (access3, refresh3) = login(&app, email, PASSWORD).await;
    let (status, _, _) = app
        .send(
            Method::POST,
            "/v1/auth/logout",
            Some(&json!({"refresh_token": refresh3})),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_error(
        "after logout",
        &app.get_auth("/v1/me", &access3).await,
        401,
        "UNAUTHENTICATED",
    );
    assert_error(
        "refresh after logout",
        &app.post("/v1/auth/refresh", &json!({"refresh_token": refresh3}))
            .await,
        401,
        "UNAUTHENTICATED",
    );

    // Missing and malformed tokens.
    assert_error("no token", &app.get("/v1/me").await, 401, "UNAUTHENTICATED");
    assert_error(
        "garbage",
        &app.get_auth("/v1/me", "garbage").await,
        401,
        "UNAUTHENTICATED",
    );

    let actions = audit_actions(&pool, &id).await;
    for action in [
        "register",
        "login_succeeded",
        "email_verified",
        "token_reuse_detected",
        "logout",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} missing: {actions:?}"
        );
    }
}

/// The same lifecycle over gRPC: Register → VerifyEmail → Login → Refresh → reuse → Logout.
#[tokio::test]
async fn session_lifecycle_over_grpc() {
    let app = TestApp::spawn().await;
    let pool = app.pool().await;
    let mut auth = auth_client(&app).await;
    let mut account = account_client(&app).await;
    let email = "grace@example.org";
    let id = auth
        .register(pb::RegisterRequest {
            email: email.into(),
            password: PASSWORD.into(),
            display_name: "Grace".into(),
        })
        .await
        .expect("register")
        .into_inner()
        .user_id;
    let token = mailed_token(&pool, email, "Verify your email address").await;
    auth.verify_email(pb::VerifyEmailRequest {
        token: token.clone(),
    })
    .await
    .expect("verify");
    let again = auth
        .verify_email(pb::VerifyEmailRequest { token })
        .await
        .expect_err("single use");
    assert_eq!(again.code(), Code::InvalidArgument);

    let login = || pb::LoginRequest {
        email: email.into(),
        password: PASSWORD.into(),
    };
    let pair = auth.login(login()).await.expect("login").into_inner();
    assert_eq!(pair.token_type, "Bearer");
    let me = account
        .get_me(bearer(pb::Empty {}, &pair.access_token))
        .await
        .expect("me")
        .into_inner();
    assert_eq!(me.id, id);
    assert!(me.email_verified);

    let next = auth
        .refresh(pb::RefreshRequest {
            refresh_token: pair.refresh_token.clone(),
        })
        .await
        .expect("refresh")
        .into_inner();
    assert_ne!(next.refresh_token, pair.refresh_token);
    let reuse = auth
        .refresh(pb::RefreshRequest {
            refresh_token: pair.refresh_token.clone(),
        })
        .await
        .expect_err("reuse");
    assert_eq!(reuse.code(), Code::Unauthenticated);
    let dead = account
        .get_me(bearer(pb::Empty {}, &next.access_token))
        .await
        .expect_err("session revoked");
    assert_eq!(dead.code(), Code::Unauthenticated);

    let pair = auth.login(login()).await.expect("login").into_inner();
    auth.logout(pb::LogoutRequest {
        refresh_token: pair.refresh_token.clone(),
    })
    .await
    .expect("logout");
    let after = account
        .get_me(bearer(pb::Empty {}, &pair.access_token))
        .await
        .expect_err("logged out");
    assert_eq!(after.code(), Code::Unauthenticated);
    let missing = account.get_me(pb::Empty {}).await.expect_err("no token");
    assert_eq!(missing.code(), Code::Unauthenticated);

    let actions = audit_actions(&pool, &id).await;
    for action in [
        "register",
        "email_verified",
        "login_succeeded",
        "token_reuse_detected",
        "logout",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} missing: {actions:?}"
        );
    }
}

/// Access tokens expire after 15 minutes of the service clock; the refresh token still works.
#[tokio::test]
async fn access_tokens_expire_and_refresh_renews_them() {
    let app = TestApp::spawn_with_clock().await;
    let clock = app.clock.clone().expect("manual clock");
    register(&app, "ada@example.org").await;
    let (access, refresh) = login(&app, "ada@example.org", PASSWORD).await;
    clock.advance(Duration::minutes(14));
    assert_eq!(app.get_auth("/v1/me", &access).await.0, 200);
    clock.advance(Duration::minutes(2));
    assert_error(
        "expired",
        &app.get_auth("/v1/me", &access).await,
        401,
        "UNAUTHENTICATED",
    );
    let (status, pair) = app
        .post("/v1/auth/refresh", &json!({"refresh_token": refresh}))
        .await;
    assert_eq!(status, 200, "{pair}");
    let access = pair["access_token"].as_str().expect("access");
    assert_eq!(app.get_auth("/v1/me", access).await.0, 200);
    // The session itself ends after 30 days.
    let refresh = pair["refresh_token"].as_str().expect("refresh").to_owned();
    clock.advance(Duration::days(31));
    assert_error(
        "expired session",
        &app.post("/v1/auth/refresh", &json!({"refresh_token": refresh}))
            .await,
        401,
        "UNAUTHENTICATED",
    );
}

/// Users list their sessions (user agent, IP, last use) and revoke one; its tokens stop working.
#[tokio::test]
async fn sessions_are_listed_and_revoked() {
    let app = TestApp::spawn().await;
    let id = register(&app, "ada@example.org").await;
    let (phone, _) = login(&app, "ada@example.org", PASSWORD).await;
    let (laptop, _) = login(&app, "ada@example.org", PASSWORD).await;
    let (status, body) = app.get_auth("/v1/me/sessions", &laptop).await;
    assert_eq!(status, 200, "{body}");
    let sessions = body["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 2, "{body}");
    assert!(sessions.iter().all(|s| s["ip"] == "127.0.0.1"), "{body}");
    assert!(
        sessions.iter().all(|s| s["user_agent"].is_string()),
        "{body}"
    );
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let other = sessions
        .iter()
        .find(|s| s["current"] == false)
        .expect("the phone session");
    let path = format!("/v1/me/sessions/{}", other["id"].as_str().expect("id"));
    assert_eq!(app.delete_auth(&path, &laptop, None).await.0, 204);
    assert_error(
        "revoked session",
        &app.get_auth("/v1/me", &phone).await,
        401,
        "UNAUTHENTICATED",
    );
    assert_error(
        "twice",
        &app.delete_auth(&path, &laptop, None).await,
        404,
        "NOT_FOUND",
    );
    assert_error(
        "not a uuid",
        &app.delete_auth("/v1/me/sessions/nope", &laptop, None).await,
        400,
        "INVALID_ARGUMENT",
    );
    let (_, body) = app.get_auth("/v1/me/sessions", &laptop).await;
    assert_eq!(body["sessions"].as_array().map(Vec::len), Some(1));

    // Over gRPC.
    let mut account = account_client(&app).await;
    let list = account
        .list_sessions(bearer(pb::Empty {}, &laptop))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(list.sessions.len(), 1);
    assert!(list.sessions[0].current);
    let pool = app.pool().await;
    assert!(audit_actions(&pool, &id)
        .await
        .contains(&"session_revoked".to_owned()));
}

// ----------------------------------------------------------------------------------------------------
// Throttling and enumeration
// ----------------------------------------------------------------------------------------------------

/// Five failures lock the account (even the right password gets 429 with retry-after); the lock ends
/// after 15 minutes of the clock; the next lockout lasts twice as long.
#[tokio::test]
async fn lockout_and_its_expiry_over_http() {
    let app = TestApp::spawn_with_clock().await;
    let clock = app.clock.clone().expect("manual clock");
    let email = "ada@example.org";
    register(&app, email).await;
    let wrong = json!({"email": email, "password": "wrong password"});
    for attempt in 1..=5 {
        let answer = app.post("/v1/auth/login", &wrong).await;
        assert_error(
            &format!("failure {attempt}"),
            &answer,
            401,
            "UNAUTHENTICATED",
        );
    }
    let right = json!({"email": email, "password": PASSWORD});
    let (status, headers, body) = app
        .send(Method::POST, "/v1/auth/login", Some(&right), None)
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "RESOURCE_EXHAUSTED");
    let retry: u64 = headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert_eq!(retry, 900);

    clock.advance(Duration::minutes(10));
    let (status, headers, _) = app
        .send(Method::POST, "/v1/auth/login", Some(&right), None)
        .await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "300");

    clock.advance(Duration::minutes(5) + Duration::seconds(1));
    login(&app, email, PASSWORD).await;

    // A success resets the failure count but the back-off grows with each lockout until a success
    // after it; here five more failures lock again, for 15 minutes (reset by the success).
    for _ in 1..=5 {
        app.post("/v1/auth/login", &wrong).await;
    }
    let (status, headers, _) = app
        .send(Method::POST, "/v1/auth/login", Some(&right), None)
        .await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "900");
    // Without a success in between, the next lockout doubles.
    clock.advance(Duration::minutes(16));
    for _ in 1..=5 {
        app.post("/v1/auth/login", &wrong).await;
    }
    let (status, headers, _) = app
        .send(Method::POST, "/v1/auth/login", Some(&right), None)
        .await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "1800");
}

/// The same lockout over gRPC: RESOURCE_EXHAUSTED with retry-after metadata.
#[tokio::test]
async fn lockout_over_grpc_carries_retry_after_metadata() {
    let app = TestApp::spawn_with_clock().await;
    let clock = app.clock.clone().expect("manual clock");
    register(&app, "ada@example.org").await;
    let mut auth = auth_client(&app).await;
    let attempt = |password: &str| pb::LoginRequest {
        email: "ada@example.org".into(),
        password: password.into(),
    };
    for _ in 0..5 {
        let err = auth
            .login(attempt("wrong password"))
            .await
            .expect_err("wrong");
        assert_eq!(err.code(), Code::Unauthenticated);
    }
    let locked = auth.login(attempt(PASSWORD)).await.expect_err("locked");
    assert_eq!(locked.code(), Code::ResourceExhausted);
    assert_eq!(
        locked
            .metadata()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("900")
    );
    clock.advance(Duration::minutes(16));
    auth.login(attempt(PASSWORD)).await.expect("unlocked");
}

/// Failures from one client address across many accounts lock that address (limit set to 3 here);
/// the per-account limit is untouched.
#[tokio::test]
async fn failures_from_one_address_lock_that_address() {
    let app = TestApp::spawn_with(TestOptions {
        manual_clock: true,
        configure: Some(Box::new(|s| s.auth.throttle.ip_max_failures = 3)),
        ..TestOptions::default()
    })
    .await;
    register(&app, "victim@example.org").await;
    for n in 0..3 {
        let answer = app
            .post(
                "/v1/auth/login",
                &json!({"email": format!("guess{n}@example.org"), "password": "wrong password"}),
            )
            .await;
        assert_eq!(answer.0, 401);
    }
    assert_error(
        "address locked",
        &app.post(
            "/v1/auth/login",
            &json!({"email": "victim@example.org", "password": PASSWORD}),
        )
        .await,
        429,
        "RESOURCE_EXHAUSTED",
    );
    app.clock
        .as_ref()
        .expect("clock")
        .advance(Duration::minutes(16));
    login(&app, "victim@example.org", PASSWORD).await;
}

/// An unknown address and a wrong password get the same status and message, over both transports,
/// and unknown addresses lock like known ones.
#[tokio::test]
async fn unknown_email_and_wrong_password_answer_alike() {
    let app = TestApp::spawn().await;
    register(&app, "ada@example.org").await;
    let unknown = app
        .post(
            "/v1/auth/login",
            &json!({"email": "nobody@example.org", "password": "wrong password"}),
        )
        .await;
    let wrong = app
        .post(
            "/v1/auth/login",
            &json!({"email": "ada@example.org", "password": "wrong password"}),
        )
        .await;
    assert_eq!(unknown, wrong);
    assert_error("unknown", &unknown, 401, "UNAUTHENTICATED");

    let mut auth = auth_client(&app).await;
    let a = auth
        .login(pb::LoginRequest {
            email: "nobody@example.org".into(),
            password: "wrong password".into(),
        })
        .await
        .expect_err("unknown");
    let b = auth
        .login(pb::LoginRequest {
            email: "ada@example.org".into(),
            password: "wrong password".into(),
        })
        .await
        .expect_err("wrong");
    assert_eq!((a.code(), a.message()), (b.code(), b.message()));

    // Password reset answers 202 either way, and mails only a real account.
    let (status, _) = app
        .post(
            "/v1/auth/password-reset",
            &json!({"email": "nobody@example.org"}),
        )
        .await;
    assert_eq!(status, 202);
    let (status, _) = app
        .post(
            "/v1/auth/password-reset",
            &json!({"email": "ada@example.org"}),
        )
        .await;
    assert_eq!(status, 202);
    let pool = app.pool().await;
    let mails: Vec<String> = sqlx::query_scalar(
        "SELECT recipient FROM mail_outbox WHERE subject = 'Reset your password'",
    )
    .fetch_all(&pool)
    .await
    .expect("outbox");
    assert_eq!(mails, ["ada@example.org"]);

    // Unknown addresses lock too (three more failures reach five).
    for _ in 0..3 {
        app.post(
            "/v1/auth/login",
            &json!({"email": "nobody@example.org", "password": "wrong password"}),
        )
        .await;
    }
    for _ in 0..3 {
        app.post(
            "/v1/auth/login",
            &json!({"email": "ada@example.org", "password": "wrong password"}),
        )
        .await;
    }
    let unknown = app
        .post(
            "/v1/auth/login",
            &json!({"email": "nobody@example.org", "password": "wrong password"}),
        )
        .await;
    let known = app
        .post(
            "/v1/auth/login",
            &json!({"email": "ada@example.org", "password": "wrong password"}),
        )
        .await;
    assert_error("unknown locked", &unknown, 429, "RESOURCE_EXHAUSTED");
    assert_eq!(unknown.0, known.0);
    assert_eq!(unknown.1["error"]["code"], known.1["error"]["code"]);
}

// ----------------------------------------------------------------------------------------------------
// Registration
// ----------------------------------------------------------------------------------------------------

/// 50 registrations of one address (in varying case) race: exactly one wins, the others get 409
/// ALREADY_EXISTS, and one user with one preferences and one settings row is stored.
#[tokio::test]
async fn fifty_racing_registrations_of_one_address_have_one_winner() {
    // A pool wide and patient enough that a busy machine shows the race, not pool timeouts.
    let app = TestApp::spawn_with(TestOptions {
        configure: Some(Box::new(|s| {
            s.database.max_connections = 20;
            s.database.acquire_timeout_secs = 30;
        })),
        ..TestOptions::default()
    })
    .await;
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    for n in 0..50 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let email = if n % 2 == 0 { "Race@Example.org" } else { "race@example.org" };
            app.post(
                "/v1/auth/register",
                &json!({"email": email, "password": PASSWORD, "display_name": format!("Racer {n}")}),
            )
            .await
        }));
    }
    let mut created = 0;
    let mut conflicts = 0;
    for task in tasks {
        let (status, body) = task.await.expect("task");
        match status {
            201 => created += 1,
            409 => {
                assert_eq!(body["error"]["code"], "ALREADY_EXISTS", "{body}");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((created, conflicts), (1, 49));
    let pool = app.pool().await;
    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM user_preferences),
                (SELECT count(*) FROM user_settings)",
    )
    .fetch_one(&pool)
    .await
    .expect("counts");
    assert_eq!(counts, (1, 1, 1));

    // gRPC reports the duplicate as ALREADY_EXISTS too.
    let err = auth_client(&app)
        .await
        .register(pb::RegisterRequest {
            email: " RACE@example.ORG ".into(),
            password: PASSWORD.into(),
            display_name: "Late".into(),
        })
        .await
        .expect_err("duplicate");
    assert_eq!(err.code(), Code::AlreadyExists);
}

/// Bad input answers 400 INVALID_ARGUMENT with a message and stores nothing: invalid addresses, empty
/// and over-long fields, SQL- and script-looking names, unknown fields, wrong types, non-JSON and
/// oversized bodies.
#[tokio::test]
async fn bad_registrations_are_refused_and_store_nothing() {
    let app = TestApp::spawn().await;
    let long_password = "x".repeat(1025);
    let cases = [
        json!({"email": "not-an-email", "password": PASSWORD, "display_name": "Ada"}),
        json!({"email": "'; DROP TABLE users; --", "password": PASSWORD, "display_name": "Ada"}),
        json!({"email": "", "password": PASSWORD, "display_name": "Ada"}),
        json!({"email": "ada@example.org", "password": "short", "display_name": "Ada"}),
        json!({"email": "ada@example.org", "password": long_password, "display_name": "Ada"}),
        json!({"email": "ada@example.org", "password": PASSWORD, "display_name": ""}),
        json!({"email": "ada@example.org", "password": PASSWORD, "display_name": "x".repeat(101)}),
        json!({"email": "ada@example.org", "password": PASSWORD, "display_name": "<script>alert(1)</script>"}),
        json!({"email": "ada@example.org", "password": PASSWORD, "display_name": "Robert'); DROP TABLE users;--"}),
        json!({"email": "ada@example.org", "password": PASSWORD, "display_name": "Ada", "role": "admin"}),
        json!({"email": "ada@example.org", "password": 12345678, "display_name": "Ada"}),
        json!({"email": "ada@example.org", "password": PASSWORD}),
        json!(["ada@example.org"]),
    ];
    for case in &cases {
        assert_error(
            &case.to_string(),
            &app.post("/v1/auth/register", case).await,
            400,
            "INVALID_ARGUMENT",
        );
    }
    let not_json = app
        .client
        .post(format!("{}/v1/auth/register", app.http))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(not_json.status().as_u16(), 400);
    let body: Value = not_json.json().await.expect("json error");
    assert_eq!(body["error"]["code"], "INVALID_ARGUMENT");
    let huge = json!({"email": "ada@example.org", "password": PASSWORD, "display_name": "x".repeat(100_000)});
    assert_error(
        "oversized",
        &app.post("/v1/auth/register", &huge).await,
        400,
        "INVALID_ARGUMENT",
    );
    let plain = app
        .client
        .post(format!("{}/v1/auth/register", app.http))
        .body("email=ada@example.org")
        .send()
        .await
        .expect("request");
    assert_eq!(plain.status().as_u16(), 400);

    // gRPC validates the same way.
    let err = auth_client(&app)
        .await
        .register(pb::RegisterRequest {
            email: "ada@example.org".into(),
            password: PASSWORD.into(),
            display_name: "<b>Ada</b>".into(),
        })
        .await
        .expect_err("markup");
    assert_eq!(err.code(), Code::InvalidArgument);

    let pool = app.pool().await;
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(users, 0);
    let tables_intact: bool = sqlx::query_scalar("SELECT to_regclass('public.users') IS NOT NULL")
        .fetch_one(&pool)
        .await
        .expect("regclass");
    assert!(tables_intact);
}

// ----------------------------------------------------------------------------------------------------
// Profile, password, reset
// ----------------------------------------------------------------------------------------------------

/// PATCH /v1/me changes profile, preferences and settings; invalid values change nothing.
#[tokio::test]
async fn profile_preferences_and_settings_change_together_or_not_at_all() {
    let app = TestApp::spawn().await;
    let id = register(&app, "ada@example.org").await;
    let (access, _) = login(&app, "ada@example.org", PASSWORD).await;
    let (status, me) = app
        .patch_auth(
            "/v1/me",
            &access,
            &json!({
                "display_name": "Ada L.",
                "bio": "Analyst.\nEngine fan.",
                "avatar_url": "https://example.org/ada.png",
                "preferences": {"language": "en-GB", "region": "gb"},
                "settings": {"public_profile": true, "keep_search_history": false}
            }),
        )
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["display_name"], "Ada L.");
    assert_eq!(me["preferences"]["region"], "GB");
    assert_eq!(me["settings"]["public_profile"], true);
    assert_eq!(me["settings"]["keep_search_history"], false);

    for bad in [
        json!({"display_name": "Eve", "preferences": {"region": "Narnia"}}),
        json!({"display_name": "Eve", "avatar_url": "javascript:alert(1)"}),
        json!({"display_name": "Eve", "settings": {"public_profile": "yes"}}),
        json!({"display_name": "Eve", "settings": {"dark_mode": true}}),
        json!({}),
    ] {
        assert_error(
            &bad.to_string(),
            &app.patch_auth("/v1/me", &access, &bad).await,
            400,
            "INVALID_ARGUMENT",
        );
    }
    let (_, me) = app.get_auth("/v1/me", &access).await;
    assert_eq!(me["display_name"], "Ada L.", "nothing stored half-way");

    // gRPC: clear the bio, change opt-in.
    let profile = account_client(&app)
        .await
        .update_me(bearer(
            pb::UpdateMeRequest {
                bio: Some(String::new()),
                email_opt_in: Some(true),
                ..Default::default()
            },
            &access,
        ))
        .await
        .expect("update")
        .into_inner();
    assert_eq!(profile.bio, None);
    assert!(profile.settings.expect("settings").email_opt_in);
    let pool = app.pool().await;
    assert!(audit_actions(&pool, &id)
        .await
        .contains(&"profile_updated".to_owned()));
}

/// Changing the password needs the current one and revokes the other sessions.
#[tokio::test]
async fn password_change_checks_the_current_password_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let id = register(&app, "ada@example.org").await;
    let (other, _) = login(&app, "ada@example.org", PASSWORD).await;
    let (access, _) = login(&app, "ada@example.org", PASSWORD).await;
    assert_error(
        "wrong current",
        &app.post_auth(
            "/v1/me/password",
            &access,
            &json!({"current_password": "wrong password", "new_password": "new password 123"}),
        )
        .await,
        403,
        "PERMISSION_DENIED",
    );
    let (status, _) = app
        .post_auth(
            "/v1/me/password",
            &access,
            &json!({"current_password": PASSWORD, "new_password": "new password 123"}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        app.get_auth("/v1/me", &access).await.0,
        200,
        "this session stays"
    );
    assert_error(
        "other session",
        &app.get_auth("/v1/me", &other).await,
        401,
        "UNAUTHENTICATED",
    );
    login(&app, "ada@example.org", "new password 123").await;
    let pool = app.pool().await;
    assert!(audit_actions(&pool, &id)
        .await
        .contains(&"password_changed".to_owned()));
}

/// Password reset: a mailed single-use token that expires; confirming revokes every session.
#[tokio::test]
async fn password_reset_with_a_mailed_token_revokes_every_session() {
    let app = TestApp::spawn_with_clock().await;
    let clock = app.clock.clone().expect("manual clock");
    let pool = app.pool().await;
    let id = register(&app, "ada@example.org").await;
    let (access, _) = login(&app, "ada@example.org", PASSWORD).await;

    app.post(
        "/v1/auth/password-reset",
        &json!({"email": "ada@example.org"}),
    )
    .await;
    let stale = mailed_token(&pool, "ada@example.org", "Reset your password").await;
    clock.advance(Duration::minutes(61));
    assert_error(
        "expired token",
        &app.post(
            "/v1/auth/password-reset/confirm",
            &json!({"token": stale, "new_password": "brand new password"}),
        )
        .await,
        400,
        "INVALID_ARGUMENT",
    );

    let mut auth = auth_client(&app).await;
    auth.request_password_reset(pb::PasswordResetRequest {
        email: "ada@example.org".into(),
    })
    .await
    .expect("reset request");
    let earlier = mailed_token(&pool, "ada@example.org", "Reset your password").await;
    app.post(
        "/v1/auth/password-reset",
        &json!({"email": "ada@example.org"}),
    )
    .await;
    let token = mailed_token(&pool, "ada@example.org", "Reset your password").await;
    assert_ne!(token, stale);
    assert_ne!(token, earlier);
    let (status, _, _) = app
        .send(
            Method::POST,
            "/v1/auth/password-reset/confirm",
            Some(&json!({"token": token, "new_password": "brand new password"})),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let reused = auth
        .confirm_password_reset(pb::ConfirmPasswordResetRequest {
            token,
            new_password: "another new password".into(),
        })
        .await
        .expect_err("single use");
    assert_eq!(reused.code(), Code::InvalidArgument);
    // A reset spends every other outstanding reset token too.
    assert_error(
        "earlier token after the reset",
        &app.post(
            "/v1/auth/password-reset/confirm",
            &json!({"token": earlier, "new_password": "yet another password"}),
        )
        .await,
        400,
        "INVALID_ARGUMENT",
    );

    assert_error(
        "old session",
        &app.get_auth("/v1/me", &access).await,
        401,
        "UNAUTHENTICATED",
    );
    assert_eq!(
        app.post(
            "/v1/auth/login",
            &json!({"email": "ada@example.org", "password": PASSWORD})
        )
        .await
        .0,
        401
    );
    login(&app, "ada@example.org", "brand new password").await;
    let actions = audit_actions(&pool, &id).await;
    assert!(
        actions.contains(&"password_reset_requested".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"password_reset".to_owned()),
        "{actions:?}"
    );
}

// ----------------------------------------------------------------------------------------------------
// Roles and admin
// ----------------------------------------------------------------------------------------------------

/// A user gets 403 on admin routes; the admin made by `users create-admin` lists and searches users,
/// changes roles, disables (login refused, tokens dead) and enables accounts, and reads the audit log.
#[tokio::test]
async fn admins_administer_and_users_may_not() {
    let app = TestApp::spawn().await;
    let (admin_id, admin) = bootstrap_admin(&app, "root@example.org").await;
    let user_id = register(&app, "ada@example.org").await;
    register(&app, "grace@example.org").await;
    let (user, _) = login(&app, "ada@example.org", PASSWORD).await;

    assert_error(
        "user lists",
        &app.get_auth("/v1/admin/users", &user).await,
        403,
        "PERMISSION_DENIED",
    );
    assert_error(
        "user patches",
        &app.patch_auth(
            &format!("/v1/admin/users/{user_id}"),
            &user,
            &json!({"role": "admin"}),
        )
        .await,
        403,
        "PERMISSION_DENIED",
    );
    assert_error(
        "user audits",
        &app.get_auth("/v1/admin/audit", &user).await,
        403,
        "PERMISSION_DENIED",
    );
    assert_error(
        "anonymous",
        &app.get("/v1/admin/users").await,
        401,
        "UNAUTHENTICATED",
    );

    let (status, page) = app.get_auth("/v1/admin/users", &admin).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 3);
    let (_, page) = app
        .get_auth("/v1/admin/users?q=GRACE&limit=10", &admin)
        .await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["users"][0]["email"], "grace@example.org");
    let (_, page) = app.get_auth("/v1/admin/users?q=%25", &admin).await;
    assert_eq!(page["total"], 0, "a % is searched literally: {page}");
    assert_error(
        "limit",
        &app.get_auth("/v1/admin/users?limit=1000", &admin).await,
        400,
        "INVALID_ARGUMENT",
    );

    // Disable: the user's tokens die and login is refused.
    let (status, summary) = app
        .patch_auth(
            &format!("/v1/admin/users/{user_id}"),
            &admin,
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["disabled"], true);
    assert_error(
        "disabled token",
        &app.get_auth("/v1/me", &user).await,
        401,
        "UNAUTHENTICATED",
    );
    assert_error(
        "disabled login",
        &app.post(
            "/v1/auth/login",
            &json!({"email": "ada@example.org", "password": PASSWORD}),
        )
        .await,
        403,
        "PERMISSION_DENIED",
    );
    app.patch_auth(
        &format!("/v1/admin/users/{user_id}"),
        &admin,
        &json!({"disabled": false, "role": "admin"}),
    )
    .await;
    let (promoted, _) = login(&app, "ada@example.org", PASSWORD).await;
    assert_eq!(app.get_auth("/v1/admin/users", &promoted).await.0, 200);
    assert_error(
        "self demotion",
        &app.patch_auth(
            &format!("/v1/admin/users/{admin_id}"),
            &admin,
            &json!({"role": "user"}),
        )
        .await,
        400,
        "INVALID_ARGUMENT",
    );
    assert_error(
        "bad role",
        &app.patch_auth(
            &format!("/v1/admin/users/{user_id}"),
            &admin,
            &json!({"role": "root"}),
        )
        .await,
        400,
        "INVALID_ARGUMENT",
    );
    assert_error(
        "unknown user",
        &app.patch_auth(
            &format!("/v1/admin/users/{}", uuid::Uuid::new_v4()),
            &admin,
            &json!({"disabled": true}),
        )
        .await,
        404,
        "NOT_FOUND",
    );

    let (status, audit) = app
        .get_auth(
            &format!("/v1/admin/audit?user_id={user_id}&action=role_changed"),
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["actor_id"], admin_id.as_str());
    assert_eq!(entries[0]["details"]["to"], "admin");
    assert_error(
        "bad action",
        &app.get_auth("/v1/admin/audit?action=nope", &admin).await,
        400,
        "INVALID_ARGUMENT",
    );

    // gRPC: the same rules.
    let mut admin_grpc = admin_client(&app).await;
    register(&app, "eve@example.org").await;
    let (eve, _) = login(&app, "eve@example.org", PASSWORD).await;
    let denied = admin_grpc
        .list_users(bearer(pb::ListUsersRequest::default(), &eve))
        .await
        .expect_err("user");
    assert_eq!(denied.code(), Code::PermissionDenied);
    // An active user (a valid token) is refused by the role check, not by authentication.
    let denied = admin_grpc
        .list_audit(bearer(pb::ListAuditRequest::default(), &eve))
        .await
        .expect_err("user reads the audit log");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied = admin_grpc
        .update_user(bearer(
            pb::UpdateUserRequest {
                id: admin_id.clone(),
                role: Some("user".into()),
                disabled: None,
            },
            &eve,
        ))
        .await
        .expect_err("user updates a user");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let list = admin_grpc
        .list_users(bearer(
            pb::ListUsersRequest {
                q: "eve".into(),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("admin lists")
        .into_inner();
    assert_eq!(list.total, 1);
    let eve_id = list.users[0].id.clone();
    let updated = admin_grpc
        .update_user(bearer(
            pb::UpdateUserRequest {
                id: eve_id.clone(),
                role: None,
                disabled: Some(true),
            },
            &admin,
        ))
        .await
        .expect("disable")
        .into_inner();
    assert!(updated.disabled);
    let audit = admin_grpc
        .list_audit(bearer(
            pb::ListAuditRequest {
                user_id: Some(eve_id),
                action: Some("account_disabled".into()),
                limit: None,
            },
            &admin,
        ))
        .await
        .expect("audit")
        .into_inner();
    assert_eq!(audit.entries.len(), 1);
    let denied = admin_grpc
        .list_audit(bearer(pb::ListAuditRequest::default(), &eve))
        .await
        .expect_err("disabled user");
    assert_eq!(denied.code(), Code::Unauthenticated);

    // Every admin action is audited with the admin as actor.
    let pool = app.pool().await;
    let admin_actions: BTreeSet<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE actor_id = $1::uuid")
            .bind(&admin_id)
            .fetch_all(&pool)
            .await
            .expect("audit")
            .into_iter()
            .collect();
    for action in [
        "admin_users_listed",
        "account_disabled",
        "account_enabled",
        "role_changed",
        "admin_audit_read",
    ] {
        assert!(
            admin_actions.contains(action),
            "{action} missing: {admin_actions:?}"
        );
    }
}

/// `users create-admin` refuses a taken address and a short password.
#[tokio::test]
async fn create_admin_refuses_bad_input() {
    let app = TestApp::spawn().await;
    register(&app, "ada@example.org").await;
    let target = CliTarget {
        database: app.database.clone(),
    };
    let (ok, _, stderr) = tokio::task::spawn_blocking(move || {
        let taken = target.run(
            &["users", "create-admin", "--email", "ADA@example.org"],
            &format!("{PASSWORD}\n"),
        );
        let short = target.run(
            &["users", "create-admin", "--email", "root@example.org"],
            "short\n",
        );
        (
            taken.0 || short.0,
            String::new(),
            format!("{} | {}", taken.2, short.2),
        )
    })
    .await
    .expect("cli");
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
    assert!(stderr.contains("at least 8"), "{stderr}");
}

// ----------------------------------------------------------------------------------------------------
// Deletion, purge, export
// ----------------------------------------------------------------------------------------------------

/// DELETE /v1/me (password required) refuses login at once; the purge job removes the account and all
/// its data only after the retention period of the clock.
#[tokio::test]
async fn deletion_then_purge_after_the_retention_period() {
    let app = TestApp::spawn_with_clock().await;
    let clock = app.clock.clone().expect("manual clock");
    let pool = app.pool().await;
    let id = register(&app, "ada@example.org").await;
    let keep = register(&app, "grace@example.org").await;
    let (access, refresh) = login(&app, "ada@example.org", PASSWORD).await;

    assert_error(
        "wrong password",
        &app.delete_auth(
            "/v1/me",
            &access,
            Some(&json!({"password": "wrong password"})),
        )
        .await,
        403,
        "PERMISSION_DENIED",
    );
    assert_error(
        "no body",
        &app.delete_auth("/v1/me", &access, None).await,
        400,
        "INVALID_ARGUMENT",
    );
    assert_eq!(
        app.delete_auth("/v1/me", &access, Some(&json!({"password": PASSWORD})))
            .await
            .0,
        204
    );
    assert_error(
        "token after deletion",
        &app.get_auth("/v1/me", &access).await,
        401,
        "UNAUTHENTICATED",
    );
    assert_error(
        "refresh after deletion",
        &app.post("/v1/auth/refresh", &json!({"refresh_token": refresh}))
            .await,
        401,
        "UNAUTHENTICATED",
    );
    assert_error(
        "login after deletion",
        &app.post(
            "/v1/auth/login",
            &json!({"email": "ada@example.org", "password": PASSWORD}),
        )
        .await,
        401,
        "UNAUTHENTICATED",
    );

    assert_eq!(
        app.accounts
            .purge_deleted_accounts()
            .await
            .expect("purge")
            .purged,
        0
    );
    clock.advance(Duration::days(29));
    assert_eq!(
        app.accounts
            .purge_deleted_accounts()
            .await
            .expect("purge")
            .purged,
        0
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(rows, 1, "kept during the retention period");

    clock.advance(Duration::days(1) + Duration::seconds(1));
    assert_eq!(
        app.accounts
            .purge_deleted_accounts()
            .await
            .expect("purge")
            .purged,
        1
    );
    for table in [
        "users WHERE id",
        "user_preferences WHERE user_id",
        "user_settings WHERE user_id",
        "sessions WHERE user_id",
        "one_time_tokens WHERE user_id",
        "mail_outbox WHERE user_id",
    ] {
        let left: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table} = $1::uuid"))
            .bind(&id)
            .fetch_one(&pool)
            .await
            .expect("count");
        assert_eq!(left, 0, "{table}");
    }
    assert_eq!(audit_actions(&pool, &id).await, ["account_purged"]);
    let others: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE id = $1::uuid")
        .bind(&keep)
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(others, 1, "other accounts stay");
    // The address is free again.
    register(&app, "ada@example.org").await;

    // The audit log is append-only outside the purge.
    let update = sqlx::query("UPDATE audit_log SET action = 'x'")
        .execute(&pool)
        .await;
    assert!(update.is_err());
    let delete = sqlx::query("DELETE FROM audit_log").execute(&pool).await;
    assert!(delete.is_err());

    // gRPC DeleteMe.
    let (grace, _) = login(&app, "grace@example.org", PASSWORD).await;
    let mut account = account_client(&app).await;
    let wrong = account
        .delete_me(bearer(
            pb::DeleteMeRequest {
                password: "wrong password".into(),
            },
            &grace,
        ))
        .await
        .expect_err("wrong password");
    assert_eq!(wrong.code(), Code::PermissionDenied);
    account
        .delete_me(bearer(
            pb::DeleteMeRequest {
                password: PASSWORD.into(),
            },
            &grace,
        ))
        .await
        .expect("deleted");
    clock.advance(Duration::days(31));
    assert_eq!(
        app.accounts
            .purge_deleted_accounts()
            .await
            .expect("purge")
            .purged,
        1
    );
}

/// With `auth.inactive_account_days` set, accounts without a login for that long are deleted by the
/// purge job and purged after the retention period; admins are kept.
#[tokio::test]
async fn inactive_accounts_are_deleted_when_configured() {
    let app = TestApp::spawn_with(TestOptions {
        manual_clock: true,
        configure: Some(Box::new(|s| s.auth.inactive_account_days = 365)),
        ..TestOptions::default()
    })
    .await;
    let clock = app.clock.clone().expect("clock");
    register(&app, "idle@example.org").await;
    let active = register(&app, "active@example.org").await;
    clock.advance(Duration::days(300));
    login(&app, "active@example.org", PASSWORD).await;
    clock.advance(Duration::days(66));
    let report = app.accounts.purge_deleted_accounts().await.expect("purge");
    assert_eq!((report.deleted_inactive, report.purged), (1, 0));
    assert_eq!(
        app.post(
            "/v1/auth/login",
            &json!({"email": "idle@example.org", "password": PASSWORD})
        )
        .await
        .0,
        401
    );
    clock.advance(Duration::days(31));
    let report = app.accounts.purge_deleted_accounts().await.expect("purge");
    assert_eq!(report.purged, 1);
    let pool = app.pool().await;
    let left: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM users")
        .fetch_all(&pool)
        .await
        .expect("users");
    assert_eq!(left, [uuid::Uuid::parse_str(&active).expect("uuid")]);
}

/// GET /v1/me/export holds the profile, preferences, settings, sessions, security events and mails,
/// and never a password hash or token; gRPC Export answers the same document.
#[tokio::test]
async fn export_contains_everything_held_about_the_user() {
    let app = TestApp::spawn().await;
    let id = register(&app, "ada@example.org").await;
    let (access, _) = login(&app, "ada@example.org", PASSWORD).await;
    app.patch_auth(
        "/v1/me",
        &access,
        &json!({"bio": "Analyst", "preferences": {"language": "en"}, "settings": {"email_opt_in": true}}),
    )
    .await;
    let (status, headers, export) = app
        .send(Method::GET, "/v1/me/export", None, Some(&access))
        .await;
    assert_eq!(status, 200, "{export}");
    assert!(headers["content-disposition"]
        .to_str()
        .expect("ascii")
        .contains("attachment"));
    assert_eq!(export["profile"]["id"], id.as_str());
    assert_eq!(export["profile"]["email"], "ada@example.org");
    assert_eq!(export["profile"]["bio"], "Analyst");
    assert_eq!(export["profile"]["preferences"]["language"], "en");
    assert_eq!(export["profile"]["settings"]["email_opt_in"], true);
    assert_eq!(export["sessions"].as_array().map(Vec::len), Some(1));
    assert_eq!(export["sessions"][0]["ip"], "127.0.0.1");
    let actions: BTreeSet<&str> = export["audit_log"]
        .as_array()
        .expect("audit")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "register",
        "login_succeeded",
        "profile_updated",
        "data_exported",
    ] {
        assert!(actions.contains(action), "{action}: {actions:?}");
    }
    assert_eq!(export["mails"][0]["subject"], "Verify your email address");
    let text = export.to_string();
    assert!(!text.contains("$argon2"), "no password hash in the export");
    let pool = app.pool().await;
    let token = mailed_token(&pool, "ada@example.org", "Verify your email address").await;
    assert!(!text.contains(&token), "no mailed token in the export");
    assert!(export["mails"][0].get("body").is_none(), "{export}");

    let grpc = account_client(&app)
        .await
        .export(bearer(pb::Empty {}, &access))
        .await
        .expect("export")
        .into_inner();
    let document: Value = serde_json::from_str(&grpc.json).expect("JSON document");
    assert_eq!(document["profile"]["email"], "ada@example.org");
    assert_eq!(document["sessions"].as_array().map(Vec::len), Some(1));
}

/// Users read their own security events (not other users'), over HTTP and gRPC.
#[tokio::test]
async fn users_read_only_their_own_security_events() {
    let app = TestApp::spawn().await;
    let ada = register(&app, "ada@example.org").await;
    register(&app, "grace@example.org").await;
    app.post(
        "/v1/auth/login",
        &json!({"email": "ada@example.org", "password": "wrong password"}),
    )
    .await;
    login(&app, "grace@example.org", PASSWORD).await;
    let (access, _) = login(&app, "ada@example.org", PASSWORD).await;
    let (status, body) = app.get_auth("/v1/me/audit?limit=50", &access).await;
    assert_eq!(status, 200, "{body}");
    let entries = body["entries"].as_array().expect("entries");
    assert!(
        entries.iter().all(|e| e["subject_id"] == ada.as_str()),
        "{body}"
    );
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["login_succeeded", "login_failed", "register"],
        "newest first"
    );
    assert_eq!(entries[1]["details"]["reason"], "invalid_credentials");
    assert_eq!(entries[0]["ip"], "127.0.0.1");
    let grpc = account_client(&app)
        .await
        .list_my_audit(bearer(pb::ListMyAuditRequest { limit: Some(1) }, &access))
        .await
        .expect("audit")
        .into_inner();
    assert_eq!(grpc.entries.len(), 1);
    assert_eq!(grpc.entries[0].action, "login_succeeded");
}

// ----------------------------------------------------------------------------------------------------
// Import
// ----------------------------------------------------------------------------------------------------

/// `users import --from` copies an older deployment's bcrypt users keeping IDs; an imported user logs in
/// with the old password (HTTP and gRPC) and the hash becomes Argon2id; a re-run skips them.
#[tokio::test]
async fn legacy_bcrypt_users_import_and_upgrade_on_login() {
    let app = TestApp::spawn().await;
    let source = TestDatabase::create().await;
    let source_pool = PgPool::connect(&source.url()).await.expect("source");
    sqlx::query(
        "CREATE TABLE users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email varchar(255) UNIQUE NOT NULL,
             password_hash varchar(255) NOT NULL, role varchar(50) NOT NULL DEFAULT 'user',
             is_verified boolean NOT NULL DEFAULT false, created_at timestamp NOT NULL DEFAULT now())",
    )
    .execute(&source_pool)
    .await
    .expect("legacy table");
    let old_ada = bcrypt::hash("old secret", 4).expect("bcrypt");
    let old_grace = bcrypt::hash("grace's old one", 4).expect("bcrypt");
    assert!(old_ada.starts_with("$2b$04$"));
    let ada_id = uuid::Uuid::new_v4();
    let grace_id = uuid::Uuid::new_v4();
    for (id, email, hash, role, verified) in [
        (ada_id, "Ada@Example.org", old_ada.as_str(), "user", true),
        (
            grace_id,
            "grace@example.org",
            old_grace.as_str(),
            "admin",
            false,
        ),
        (
            uuid::Uuid::new_v4(),
            "not an email",
            old_ada.as_str(),
            "user",
            false,
        ),
    ] {
        sqlx::query("INSERT INTO users (id, email, password_hash, role, is_verified) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(email)
            .bind(hash)
            .bind(role)
            .bind(verified)
            .execute(&source_pool)
            .await
            .expect("legacy row");
    }
    source_pool.close().await;

    let target = CliTarget {
        database: app.database.clone(),
    };
    let url = source.url();
    let (first, second) = tokio::task::spawn_blocking(move || {
        let first = target.run(&["users", "import", "--from", &url], "");
        let second = target.run(&["users", "import", "--from", &url], "");
        (first, second)
    })
    .await
    .expect("cli");
    assert!(first.0, "{first:?}");
    assert!(
        first
            .1
            .contains("found 3, imported 2, skipped 0 already present, skipped 1 invalid"),
        "{first:?}"
    );
    assert!(
        second.1.contains("imported 0, skipped 2 already present"),
        "{second:?}"
    );

    let pool = app.pool().await;
    let (id, hash, role, verified): (uuid::Uuid, String, String, bool) = sqlx::query_as(
        "SELECT id, password_hash, role, is_verified FROM users WHERE lower(email) = 'ada@example.org'",
    )
    .fetch_one(&pool)
    .await
    .expect("imported");
    assert_eq!(
        (id, hash.as_str(), role.as_str(), verified),
        (ada_id, old_ada.as_str(), "user", true)
    );

    let (access, _) = login(&app, "ada@example.org", "old secret").await;
    let (_, me) = app.get_auth("/v1/me", &access).await;
    assert_eq!(me["id"], ada_id.to_string());
    let upgraded: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(ada_id)
        .fetch_one(&pool)
        .await
        .expect("hash");
    assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
    login(&app, "ada@example.org", "old secret").await;
    assert_eq!(
        app.post(
            "/v1/auth/login",
            &json!({"email": "ada@example.org", "password": "wrong secret"})
        )
        .await
        .0,
        401
    );

    let pair = auth_client(&app)
        .await
        .login(pb::LoginRequest {
            email: "grace@example.org".into(),
            password: "grace's old one".into(),
        })
        .await
        .expect("grpc login with the old password")
        .into_inner();
    let list = admin_client(&app)
        .await
        .list_users(bearer(pb::ListUsersRequest::default(), &pair.access_token))
        .await
        .expect("imported admin keeps the role");
    assert_eq!(list.into_inner().total, 2);
}

// ----------------------------------------------------------------------------------------------------
// Mail
// ----------------------------------------------------------------------------------------------------

/// A minimal SMTP server on port 0 that accepts every mail and hands each one's DATA to the test.
async fn fake_smtp() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    fake_smtp_gated(tokio::sync::watch::channel(true).1).await
}

/// [`fake_smtp`] that holds every connection (does not greet) until `open` turns true.
async fn fake_smtp_gated(
    open: tokio::sync::watch::Receiver<bool>,
) -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            let mut open = open.clone();
            tokio::spawn(async move {
                if open.wait_for(|o| *o).await.is_err() {
                    return;
                }
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 fake ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(buffer) = data.as_mut() {
                        if line == "." {
                            let _ = tx.send(std::mem::take(buffer));
                            data = None;
                            let _ = write.write_all(b"250 queued\r\n").await;
                        } else {
                            buffer.push_str(&line);
                            buffer.push('\n');
                        }
                        continue;
                    }
                    let command = line.to_ascii_uppercase();
                    let reply: &[u8] = if command.starts_with("DATA") {
                        data = Some(String::new());
                        b"354 go ahead\r\n"
                    } else if command.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (port, rx)
}

/// An app sending its mail to the SMTP server on `port` of this machine.
async fn app_with_mail_server(port: u16) -> TestApp {
    TestApp::spawn_with(TestOptions {
        configure: Some(Box::new(move |s| {
            s.auth.smtp_url = secrecy::SecretString::from(format!("smtp://127.0.0.1:{port}"));
        })),
        ..TestOptions::default()
    })
    .await
}

/// With `auth.smtp_url` set, the verification mail goes out by SMTP (and not to the outbox) and its
/// token verifies the address; with the SMTP server unreachable, the mail falls back to the outbox.
#[tokio::test]
async fn mail_goes_by_smtp_when_configured_and_to_the_outbox_when_it_fails() {
    let (port, mut mails) = fake_smtp().await;
    let app = app_with_mail_server(port).await;
    register(&app, "ada@example.org").await;
    let mail = tokio::time::timeout(std::time::Duration::from_secs(30), mails.recv())
        .await
        .expect("a mail within 30 s")
        .expect("a mail");
    assert!(
        mail.contains("Subject: Verify your email address"),
        "{mail}"
    );
    assert!(mail.contains("ada@example.org"), "{mail}");
    let token = mail
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .expect("token line")
        .trim()
        .to_owned();
    // The outbox row goes once the delivery task has finished.
    app.accounts
        .mail_deliveries()
        .wait_for(|n| *n >= 1)
        .await
        .expect("delivery");
    let pool = app.pool().await;
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_outbox")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(queued, 0, "sent mail is not kept in the outbox");
    let (status, _, _) = app
        .send(
            Method::POST,
            "/v1/auth/verify-email",
            Some(&json!({"token": token})),
            None,
        )
        .await;
    assert_eq!(status, 204);

    // An SMTP server that is not there: the mail lands in the outbox.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let app = TestApp::spawn_with(TestOptions {
        configure: Some(Box::new(move |s| {
            s.auth.smtp_url = secrecy::SecretString::from(format!("smtp://127.0.0.1:{closed}"));
        })),
        ..TestOptions::default()
    })
    .await;
    register(&app, "grace@example.org").await;
    let pool = app.pool().await;
    mailed_token(&pool, "grace@example.org", "Verify your email address").await;
}

// ----------------------------------------------------------------------------------------------------
// Audit completeness
// ----------------------------------------------------------------------------------------------------

/// Every audit action is written by the flow that should write it, with time, and with the client's IP
/// and user agent for requests that came over HTTP.
#[tokio::test]
async fn every_audit_action_is_written() {
    let app = TestApp::spawn_with_clock().await;
    let clock = app.clock.clone().expect("manual clock");
    let pool = app.pool().await;
    let (_, admin) = bootstrap_admin(&app, "root@example.org").await; // admin_created
    let email = "ada@example.org";
    let id = register(&app, email).await; // register
    let token = mailed_token(&pool, email, "Verify your email address").await;
    app.post("/v1/auth/verify-email", &json!({"token": token}))
        .await; // email_verified
    app.post(
        "/v1/auth/login",
        &json!({"email": email, "password": "wrong password"}),
    )
    .await; // login_failed
    let (_, refresh) = login(&app, email, PASSWORD).await; // login_succeeded
    app.post("/v1/auth/refresh", &json!({"refresh_token": refresh}))
        .await;
    app.post("/v1/auth/refresh", &json!({"refresh_token": refresh}))
        .await; // token_reuse_detected
    let (access, _) = login(&app, email, PASSWORD).await;
    let (other, other_refresh) = login(&app, email, PASSWORD).await;
    app.patch_auth("/v1/me", &access, &json!({"bio": "hi"}))
        .await; // profile_updated
    app.post("/v1/auth/logout", &json!({"refresh_token": other_refresh}))
        .await; // logout
    assert_error(
        "logged out",
        &app.get_auth("/v1/me", &other).await,
        401,
        "UNAUTHENTICATED",
    );
    login(&app, email, PASSWORD).await;
    let (_, sessions) = app.get_auth("/v1/me/sessions", &access).await;
    let third_id = sessions["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["current"] == false)
        .expect("the third session")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.delete_auth(&format!("/v1/me/sessions/{third_id}"), &access, None)
        .await; // session_revoked
    app.get_auth("/v1/me/export", &access).await; // data_exported
    app.post_auth(
        "/v1/me/password",
        &access,
        &json!({"current_password": PASSWORD, "new_password": "second password"}),
    )
    .await; // password_changed
    app.post("/v1/auth/password-reset", &json!({"email": email}))
        .await; // password_reset_requested
    let reset = mailed_token(&pool, email, "Reset your password").await;
    app.post(
        "/v1/auth/password-reset/confirm",
        &json!({"token": reset, "new_password": PASSWORD}),
    )
    .await; // password_reset
    app.get_auth("/v1/admin/users", &admin).await; // admin_users_listed
    let user_path = format!("/v1/admin/users/{id}");
    app.patch_auth(&user_path, &admin, &json!({"role": "admin"}))
        .await; // role_changed
    app.patch_auth(
        &user_path,
        &admin,
        &json!({"role": "user", "disabled": true}),
    )
    .await; // account_disabled
    app.patch_auth(&user_path, &admin, &json!({"disabled": false}))
        .await; // account_enabled
    app.get_auth("/v1/admin/audit", &admin).await; // admin_audit_read

    let source = TestDatabase::create().await;
    let source_pool = PgPool::connect(&source.url()).await.expect("source");
    sqlx::query(
        "CREATE TABLE users (id uuid PRIMARY KEY, email text, password_hash text, role text,
                             is_verified boolean, created_at timestamptz)",
    )
    .execute(&source_pool)
    .await
    .expect("legacy table");
    source_pool.close().await;
    let target = CliTarget {
        database: app.database.clone(),
    };
    let url = source.url();
    let imported =
        tokio::task::spawn_blocking(move || target.run(&["users", "import", "--from", &url], ""))
            .await
            .expect("cli");
    assert!(imported.0, "{imported:?}"); // users_imported

    let (access, _) = login(&app, email, PASSWORD).await;
    app.delete_auth("/v1/me", &access, Some(&json!({"password": PASSWORD})))
        .await; // account_deleted

    let written: BTreeSet<String> = sqlx::query_scalar("SELECT DISTINCT action FROM audit_log")
        .fetch_all(&pool)
        .await
        .expect("audit")
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = [
        "register",
        "login_succeeded",
        "login_failed",
        "logout",
        "token_reuse_detected",
        "password_changed",
        "password_reset_requested",
        "password_reset",
        "email_verified",
        "profile_updated",
        "role_changed",
        "account_disabled",
        "account_enabled",
        "session_revoked",
        "data_exported",
        "account_deleted",
        "admin_users_listed",
        "admin_audit_read",
        "admin_created",
        "users_imported",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(written, expected);

    // Requests over HTTP carry the client's address and user agent into their entries.
    let http_entries: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT ip, user_agent FROM audit_log WHERE subject_id = $1::uuid
           AND action IN ('login_succeeded', 'logout', 'profile_updated', 'account_deleted')",
    )
    .bind(&id)
    .fetch_all(&pool)
    .await
    .expect("entries");
    assert!(http_entries.len() >= 4);
    for (ip, agent) in http_entries {
        assert_eq!(ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(agent.as_deref(), Some("linernotes-tests/1.0"));
    }

    clock.advance(Duration::days(31));
    app.accounts.purge_deleted_accounts().await.expect("purge"); // account_purged
    let purged: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'account_purged'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(purged, 1);
    assert_eq!(
        expected.len() + 1,
        linernotes::domain::account::AuditAction::ALL.len(),
        "every action is covered"
    );
}

/// The purge job also forgets idle throttle counters, expired mailed tokens and sessions that ended
/// longer ago than the retention period, so attackers spraying addresses cannot grow tables for ever.
#[tokio::test]
async fn the_purge_job_prunes_expired_counters_tokens_and_sessions() {
    let app = TestApp::spawn_with_clock().await;
    let clock = app.clock.clone().expect("manual clock");
    let pool = app.pool().await;
    register(&app, "ada@example.org").await;
    for n in 0..3 {
        app.post(
            "/v1/auth/login",
            &json!({"email": format!("spray{n}@example.org"), "password": "wrong password"}),
        )
        .await;
    }
    let (_, refresh) = login(&app, "ada@example.org", PASSWORD).await;
    app.post("/v1/auth/logout", &json!({"refresh_token": refresh}))
        .await;
    let count = |table: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&pool)
                .await
                .expect("count")
        }
    };
    assert!(count("login_throttle").await >= 3);
    assert_eq!(count("one_time_tokens").await, 1);
    assert_eq!(count("sessions").await, 1);

    let report = app.accounts.purge_deleted_accounts().await.expect("purge");
    assert_eq!(report.pruned, 0, "nothing is old yet");
    clock.advance(Duration::days(2));
    app.accounts.purge_deleted_accounts().await.expect("purge");
    assert_eq!(count("login_throttle").await, 0);
    assert_eq!(count("one_time_tokens").await, 0);
    assert_eq!(
        count("sessions").await,
        1,
        "ended sessions stay for the retention period"
    );
    clock.advance(Duration::days(30));
    app.accounts.purge_deleted_accounts().await.expect("purge");
    assert_eq!(count("sessions").await, 0);
    assert_eq!(count("refresh_tokens").await, 0);
    assert_eq!(count("users").await, 1, "the account itself stays");
}

/// Reset requests for one address are limited (5 per window, then the lockout), so the endpoint cannot
/// flood a mailbox; the answer stays 202 throughout.
#[tokio::test]
async fn password_reset_mails_are_limited_per_address() {
    let app = TestApp::spawn_with_clock().await;
    let pool = app.pool().await;
    register(&app, "ada@example.org").await;
    for _ in 0..8 {
        let (status, _) = app
            .post(
                "/v1/auth/password-reset",
                &json!({"email": "ada@example.org"}),
            )
            .await;
        assert_eq!(status, 202);
    }
    let count = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM mail_outbox WHERE subject = 'Reset your password'",
        )
        .fetch_one(&pool)
        .await
        .expect("count")
    };
    assert_eq!(count().await, 5);
    app.clock
        .as_ref()
        .expect("clock")
        .advance(Duration::minutes(16));
    app.post(
        "/v1/auth/password-reset",
        &json!({"email": "ada@example.org"}),
    )
    .await;
    assert_eq!(count().await, 6);
}

/// gRPC health reports the three account services as serving, and reflection lists them.
#[tokio::test]
async fn account_services_are_in_health_and_reflection() {
    let app = TestApp::spawn().await;
    let channel = app.channel().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in linernotes::grpc::ACCOUNT_SERVICE_NAMES {
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
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service}"
        );
    }
    use tonic_reflection::pb::v1;
    let mut reflection = v1::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let response = reflection
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection")
        .into_inner()
        .message()
        .await
        .expect("answer")
        .expect("a message");
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        response.message_response
    else {
        panic!("unexpected reflection answer");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in linernotes::grpc::ACCOUNT_SERVICE_NAMES {
        assert!(names.contains(&service.to_owned()), "{service}: {names:?}");
    }
}

// ----------------------------------------------------------------------------------------------------
// Security review fixes
// ----------------------------------------------------------------------------------------------------

/// Parallel guesses are counted before any of them is checked: of 20 concurrent wrong logins for one
/// account at most 5 get a password check (401), the others are refused (429), and so is the right
/// password while the lock lasts.
#[tokio::test]
async fn parallel_wrong_logins_cannot_outrun_the_lockout() {
    let app = TestApp::spawn_with_clock().await;
    let email = "ada@example.org";
    register(&app, email).await;
    let wrong = json!({"email": email, "password": "wrong password"});
    let answers =
        futures::future::join_all((0..20).map(|_| app.post("/v1/auth/login", &wrong))).await;
    let checked = answers.iter().filter(|(status, _)| *status == 401).count();
    let refused = answers.iter().filter(|(status, _)| *status == 429).count();
    assert!(checked <= 5, "{checked} guesses were checked: {answers:?}");
    assert_eq!(checked + refused, 20, "{answers:?}");
    assert_error(
        "right password while locked",
        &app.post(
            "/v1/auth/login",
            &json!({"email": email, "password": PASSWORD}),
        )
        .await,
        429,
        "RESOURCE_EXHAUSTED",
    );
}

/// Re-authentication (password change, deletion) is throttled with login's counters, audited, and a
/// wrong password is 403 / PERMISSION_DENIED (not 401, which means a dead token), over HTTP and gRPC.
#[tokio::test]
async fn reauthentication_is_throttled_audited_and_not_unauthenticated() {
    let app = TestApp::spawn_with_clock().await;
    let id = register(&app, "ada@example.org").await;
    let (access, _) = login(&app, "ada@example.org", PASSWORD).await;
    let mut account = account_client(&app).await;
    let grpc_wrong = account
        .change_password(bearer(
            pb::ChangePasswordRequest {
                current_password: "wrong password".into(),
                new_password: "new password 123".into(),
            },
            &access,
        ))
        .await
        .expect_err("wrong current password");
    assert_eq!(grpc_wrong.code(), Code::PermissionDenied);
    for attempt in 2..=5 {
        let answer = if attempt % 2 == 0 {
            app.post_auth(
                "/v1/me/password",
                &access,
                &json!({"current_password": "wrong password", "new_password": "new password 123"}),
            )
            .await
        } else {
            app.delete_auth(
                "/v1/me",
                &access,
                Some(&json!({"password": "wrong password"})),
            )
            .await
        };
        assert_error(
            &format!("wrong password {attempt}"),
            &answer,
            403,
            "PERMISSION_DENIED",
        );
    }
    // Five failures lock the account for re-authentication and for login alike.
    assert_error(
        "change while locked",
        &app.post_auth(
            "/v1/me/password",
            &access,
            &json!({"current_password": PASSWORD, "new_password": "new password 123"}),
        )
        .await,
        429,
        "RESOURCE_EXHAUSTED",
    );
    let grpc_locked = account
        .change_password(bearer(
            pb::ChangePasswordRequest {
                current_password: PASSWORD.into(),
                new_password: "new password 123".into(),
            },
            &access,
        ))
        .await
        .expect_err("locked");
    assert_eq!(grpc_locked.code(), Code::ResourceExhausted);
    assert_error(
        "login while locked",
        &app.post(
            "/v1/auth/login",
            &json!({"email": "ada@example.org", "password": PASSWORD}),
        )
        .await,
        429,
        "RESOURCE_EXHAUSTED",
    );
    assert_eq!(
        app.get_auth("/v1/me", &access).await.0,
        200,
        "the token lives"
    );
    let pool = app.pool().await;
    let reauth: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE subject_id = $1::uuid AND action = 'login_failed'
         AND details->>'reason' = 'reauth'",
    )
    .bind(&id)
    .fetch_one(&pool)
    .await
    .expect("audit");
    assert_eq!(reauth, 5);
    app.clock
        .as_ref()
        .expect("clock")
        .advance(Duration::minutes(16));
    let (access, _) = login(&app, "ada@example.org", PASSWORD).await;
    let (status, _) = app
        .post_auth(
            "/v1/me/password",
            &access,
            &json!({"current_password": PASSWORD, "new_password": "new password 123"}),
        )
        .await;
    assert_eq!(status, 204);
}

/// A login that checked the old password while a password change was being written neither restores
/// the old password (by its re-hash) nor gets a session past the change. The test holds the change's
/// row lock until the login waits on it, then commits.
#[tokio::test]
async fn a_login_racing_a_password_change_gets_no_session() {
    let app = TestApp::spawn().await;
    let id = register(&app, "ada@example.org").await;
    let pool = app.pool().await;
    // A legacy bcrypt hash: the login will want to re-hash it.
    let old = bcrypt::hash(PASSWORD, 4).expect("bcrypt");
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1::uuid")
        .bind(&id)
        .bind(&old)
        .execute(&pool)
        .await
        .expect("set bcrypt hash");
    let new = bcrypt::hash("new password 123", 4).expect("bcrypt");
    let mut change = pool.begin().await.expect("tx");
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1::uuid")
        .bind(&id)
        .bind(&new)
        .execute(&mut *change)
        .await
        .expect("change");
    let racing = {
        let client = app.client.clone();
        let url = format!("{}/v1/auth/login", app.http);
        tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({"email": "ada@example.org", "password": PASSWORD}))
                .send()
                .await
                .expect("login answered")
                .status()
                .as_u16()
        })
    };
    // Wait (on the database, not the clock) until the login blocks on the changed row.
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&pool)
        .await
        .expect("pg_stat_activity");
        if waiting > 0 {
            break;
        }
        assert!(
            !racing.is_finished(),
            "the login did not wait for the change"
        );
        tokio::task::yield_now().await;
    }
    change.commit().await.expect("commit");
    assert_eq!(racing.await.expect("login task"), 401);
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .expect("hash");
    assert_eq!(stored, new, "the change stands");
    let sessions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sessions WHERE user_id = $1::uuid")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .expect("sessions");
    assert_eq!(sessions, 0);
    login(&app, "ada@example.org", "new password 123").await;
}

/// Shutdown waits for mail deliveries under way: a verification mail the mail server was still holding
/// when the HTTP listener closed is sent, and out of the outbox, by the time shutdown returns.
#[tokio::test]
async fn shutdown_waits_for_mail_deliveries() {
    let (open, gate) = tokio::sync::watch::channel(false);
    let (port, mut mails) = fake_smtp_gated(gate).await;
    let app = app_with_mail_server(port).await;
    register(&app, "ada@example.org").await;
    let pool = app.pool().await;
    let http_addr = app.http.trim_start_matches("http://").to_owned();
    let stopping = tokio::spawn(app.stop());
    // A guard against hanging, not a timing assertion: shutdown has begun once the listener is gone.
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while tokio::net::TcpStream::connect(&http_addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the HTTP listener closes");
    assert_eq!(
        app_mails_in_outbox(&pool).await,
        1,
        "the mail is still held"
    );

    open.send(true).expect("open the mail server");
    // Keep the database until the end of the test.
    let (_database, _mock) = stopping.await.expect("shutdown finishes");
    let mail = mails
        .try_recv()
        .expect("the mail was sent before shutdown returned");
    assert!(mail.contains("Verify your email address"), "{mail}");
    assert_eq!(app_mails_in_outbox(&pool).await, 0);
}

async fn app_mails_in_outbox(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM mail_outbox")
        .fetch_one(pool)
        .await
        .expect("count")
}

/// Mail is delivered in the background: with the mail server holding every connection, registration
/// and a password reset are still answered, their mails wait in the outbox, and once the server
/// answers they are sent and leave the outbox.
#[tokio::test]
async fn requests_do_not_wait_for_the_mail_server() {
    let (open, gate) = tokio::sync::watch::channel(false);
    let (port, mut mails) = fake_smtp_gated(gate).await;
    let app = app_with_mail_server(port).await;
    let deliveries = app.accounts.mail_deliveries();
    // A guard against hanging (requests that waited on the held server would never be answered), not
    // a timing assertion.
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        register(&app, "ada@example.org").await;
        app.post(
            "/v1/auth/password-reset",
            &json!({"email": "ada@example.org"}),
        )
        .await
        .0
    })
    .await
    .expect("answered while the mail server holds its connections");
    assert_eq!(status, 202);
    assert_eq!(*deliveries.borrow(), 0, "no delivery has finished yet");
    let pool = app.pool().await;
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_outbox")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(queued, 2, "both mails wait in the outbox");

    open.send(true).expect("open the server");
    let mut deliveries = deliveries;
    deliveries.wait_for(|n| *n >= 2).await.expect("deliveries");
    let mut subjects = BTreeSet::new();
    for _ in 0..2 {
        let mail = mails.recv().await.expect("a mail");
        let subject = mail
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .expect("subject")
            .to_owned();
        subjects.insert(subject);
    }
    assert_eq!(
        subjects,
        BTreeSet::from([
            "Reset your password".to_owned(),
            "Verify your email address".to_owned()
        ])
    );
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_outbox")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(queued, 0, "sent mail leaves the outbox");
}

/// Two refreshes racing with the same refresh token: exactly one gets a new pair; the other is taken
/// for reuse of a spent token and revokes the session, so the winner's pair dies too.
#[tokio::test]
async fn two_concurrent_refreshes_of_one_token_revoke_the_session() {
    let app = TestApp::spawn().await;
    register(&app, "ada@example.org").await;
    let (_, refresh) = login(&app, "ada@example.org", PASSWORD).await;
    let body = json!({"refresh_token": refresh});
    let (first, second) = tokio::join!(
        app.post("/v1/auth/refresh", &body),
        app.post("/v1/auth/refresh", &body)
    );
    let statuses = [first.0, second.0];
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{first:?} {second:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        1,
        "{first:?} {second:?}"
    );
    let winner = if first.0 == 200 { &first.1 } else { &second.1 };
    let access = winner["access_token"].as_str().expect("access");
    let next = winner["refresh_token"].as_str().expect("refresh");
    assert_error(
        "the winner's access token",
        &app.get_auth("/v1/me", access).await,
        401,
        "UNAUTHENTICATED",
    );
    assert_error(
        "the winner's refresh token",
        &app.post("/v1/auth/refresh", &json!({"refresh_token": next}))
            .await,
        401,
        "UNAUTHENTICATED",
    );
    let pool = app.pool().await;
    let revoked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL")
            .fetch_one(&pool)
            .await
            .expect("sessions");
    assert_eq!(revoked, 1);
}

/// A user's own audit view and export leave out the address and user agent of entries someone else
/// caused (here an admin disabling and enabling the account); their own entries keep them.
#[tokio::test]
async fn own_audit_hides_admins_address_and_user_agent() {
    let app = TestApp::spawn().await;
    let (_, admin) = bootstrap_admin(&app, "root@example.org").await;
    let ada = register(&app, "ada@example.org").await;
    disable_then_enable(&app, &admin, &ada).await;
    let (access, _) = login(&app, "ada@example.org", PASSWORD).await;
    let (status, audit) = app.get_auth("/v1/me/audit", &access).await;
    assert_eq!(status, 200, "{audit}");
    let (status, export) = app.get_auth("/v1/me/export", &access).await;
    assert_eq!(status, 200, "{export}");
    for entries in [&audit["entries"], &export["audit_log"]] {
        let entries = entries.as_array().expect("entries");
        let by_admin: Vec<&Value> = entries
            .iter()
            .filter(|e| e["action"] == "account_disabled" || e["action"] == "account_enabled")
            .collect();
        assert_eq!(by_admin.len(), 2, "{entries:?}");
        for entry in by_admin {
            assert!(entry["ip"].is_null(), "{entry}");
            assert!(entry["user_agent"].is_null(), "{entry}");
        }
        let own = entries
            .iter()
            .find(|e| e["action"] == "login_succeeded")
            .expect("own login");
        assert_eq!(own["ip"], "127.0.0.1", "{own}");
        assert_eq!(own["user_agent"], "linernotes-tests/1.0", "{own}");
    }
    // Admins still see everything.
    let (status, all) = app
        .get_auth(
            &format!("/v1/admin/audit?user_id={ada}&action=account_disabled"),
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["entries"][0]["ip"], "127.0.0.1", "{all}");
}

/// The purge removes a user's own security events but keeps what admins did to the account; the audit
/// log cannot be truncated, not even inside a purge-mode transaction.
#[tokio::test]
async fn purge_keeps_admin_actions_and_the_audit_log_cannot_be_truncated() {
    let app = TestApp::spawn_with_clock().await;
    let (admin_id, admin) = bootstrap_admin(&app, "root@example.org").await;
    let ada = register(&app, "ada@example.org").await;
    disable_then_enable(&app, &admin, &ada).await;
    let (access, _) = login(&app, "ada@example.org", PASSWORD).await;
    let (status, _, body) = app
        .send(
            Method::DELETE,
            "/v1/me",
            Some(&json!({"password": PASSWORD})),
            Some(&access),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    app.clock
        .as_ref()
        .expect("clock")
        .advance(Duration::days(31));
    let report = app.accounts.purge_deleted_accounts().await.expect("purge");
    assert_eq!(report.purged, 1);
    let pool = app.pool().await;
    let left: Vec<(String, Option<uuid::Uuid>)> = sqlx::query_as(
        "SELECT action, actor_id FROM audit_log WHERE subject_id = $1::uuid ORDER BY id",
    )
    .bind(&ada)
    .fetch_all(&pool)
    .await
    .expect("audit");
    let admin_uuid: uuid::Uuid = admin_id.parse().expect("uuid");
    assert_eq!(
        left,
        [
            ("account_disabled".to_owned(), Some(admin_uuid)),
            ("account_enabled".to_owned(), Some(admin_uuid)),
            ("account_purged".to_owned(), None),
        ]
    );

    let truncate = sqlx::query("TRUNCATE audit_log").execute(&pool).await;
    assert!(truncate.is_err(), "TRUNCATE must be refused");
    let mut tx = pool.begin().await.expect("tx");
    sqlx::query("SET LOCAL linernotes.purge = 'on'")
        .execute(&mut *tx)
        .await
        .expect("purge mode");
    assert!(sqlx::query("TRUNCATE audit_log")
        .execute(&mut *tx)
        .await
        .is_err());
    drop(tx);
    let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert!(entries > 3);
}

/// Registration, address verification and reset confirmation (each hashes a password or sends mail)
/// are limited per client IP (`auth.throttle.ip_max_account_requests`, 3 here): beyond it they get 429
/// until the lock ends.
#[tokio::test]
async fn account_requests_are_limited_per_address() {
    let app = TestApp::spawn_with(TestOptions {
        manual_clock: true,
        configure: Some(Box::new(|s| s.auth.throttle.ip_max_account_requests = 3)),
        ..TestOptions::default()
    })
    .await;
    register(&app, "ada@example.org").await;
    register(&app, "grace@example.org").await;
    let (status, _) = app
        .post("/v1/auth/verify-email", &json!({"token": "not a token"}))
        .await;
    assert_eq!(status, 400);
    let attempts = [
        (
            "/v1/auth/register",
            json!({"email": "eve@example.org", "password": PASSWORD, "display_name": "Eve"}),
        ),
        ("/v1/auth/verify-email", json!({"token": "not a token"})),
        (
            "/v1/auth/password-reset/confirm",
            json!({"token": "not a token", "new_password": "new password 123"}),
        ),
    ];
    for (path, body) in &attempts {
        assert_error(path, &app.post(path, body).await, 429, "RESOURCE_EXHAUSTED");
    }
    // Login is not affected.
    login(&app, "ada@example.org", PASSWORD).await;
    app.clock
        .as_ref()
        .expect("clock")
        .advance(Duration::minutes(16));
    register(&app, "eve@example.org").await;
}
