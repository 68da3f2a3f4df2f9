//! Throttling and enumeration resistance: lockouts and their expiry (with a manual clock) over HTTP
//! and gRPC, per-address and per-IP counters, parallel guesses, re-authentication, reset mails and
//! account requests per client, and unknown addresses answered like wrong passwords.

use chrono::Duration;
use linernotes::grpc::pb;
use reqwest::Method;
use serde_json::json;
use tonic::Code;

use crate::helpers::*;

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
    app.accounts.deferred().idle().await;
    assert_eq!(status, 202);
    let (status, _) = app
        .post(
            "/v1/auth/password-reset",
            &json!({"email": "ada@example.org"}),
        )
        .await;
    app.accounts.deferred().idle().await;
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
        app.accounts.deferred().idle().await;
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
    app.accounts.deferred().idle().await;
    assert_eq!(count().await, 6);
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
