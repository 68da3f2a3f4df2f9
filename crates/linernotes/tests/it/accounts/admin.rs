//! Administration end to end: admin authorisation and actions, `users create-admin`, and
//! `users import` of an older deployment's bcrypt users with the upgrade on login.

use std::collections::BTreeSet;

use linernotes::grpc::pb;
use serde_json::json;
use sqlx::PgPool;
use tonic::Code;

use crate::helpers::*;

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
