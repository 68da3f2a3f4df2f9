//! The caller's own account end to end: profile, preferences and settings, password change and reset,
//! and the security events a user may read about themselves.

use chrono::Duration;
use linernotes::grpc::pb;
use reqwest::Method;
use serde_json::{json, Value};
use tonic::Code;

use crate::helpers::*;

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
    app.accounts.deferred().idle().await;
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
    app.accounts.deferred().idle().await;
    let earlier = mailed_token(&pool, "ada@example.org", "Reset your password").await;
    app.post(
        "/v1/auth/password-reset",
        &json!({"email": "ada@example.org"}),
    )
    .await;
    app.accounts.deferred().idle().await;
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
