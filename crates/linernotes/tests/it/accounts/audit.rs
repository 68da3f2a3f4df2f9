//! Audit completeness: every action is written by the flow that should write it, with time, client
//! address and user agent.

use std::collections::BTreeSet;

use chrono::Duration;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::*;

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
    app.accounts.deferred().idle().await;
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
