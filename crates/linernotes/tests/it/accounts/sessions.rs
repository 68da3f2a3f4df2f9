//! Sessions end to end: the lifecycle with refresh-token rotation and reuse detection over HTTP and
//! gRPC, access-token expiry, listing and revoking sessions, concurrent refreshes of one token, and a
//! login racing a password change.

use chrono::Duration;
use linernotes::grpc::pb;
use reqwest::Method;
use serde_json::json;
use tonic::Code;

use crate::helpers::*;

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
