//! An account's life end to end: registration (the race for one address, bad input), deletion and the
//! purge after the retention period, deletion for inactivity, the export, and what the purge job
//! prunes and keeps.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Duration;
use linernotes::grpc::pb;
use reqwest::Method;
use serde_json::{json, Value};
use tonic::Code;

use crate::helpers::*;

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
/// and over-long fields, SQL- and script-looking names, unknown fields, wrong types and non-JSON; an
/// oversized body is refused 413 before it is read.
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
        413,
        "PAYLOAD_TOO_LARGE",
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
