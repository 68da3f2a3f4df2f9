//! Accounts in tests: registering and logging in over HTTP, admins created through the command line,
//! tokens read from the mail outbox, admin changes, bearer tokens on gRPC requests and the account gRPC
//! clients.

use linernotes::grpc::pb::account_service_client::AccountServiceClient;
use linernotes::grpc::pb::admin_service_client::AdminServiceClient;
use linernotes::grpc::pb::auth_service_client::AuthServiceClient;
use serde_json::json;
use sqlx::PgPool;
use tonic::transport::Channel;
use tonic::Request;

use super::{CliTarget, TestApp};

/// The password of every account the tests create.
pub const PASSWORD: &str = "correct horse battery staple";

/// Registers over HTTP with display name `Ada`; returns the user ID.
pub async fn register(app: &TestApp, email: &str) -> String {
    register_as(app, email, "Ada").await
}

/// Registers over HTTP with a display name; returns the user ID.
pub async fn register_as(app: &TestApp, email: &str, display_name: &str) -> String {
    let (status, body) = app
        .post(
            "/v1/auth/register",
            &json!({"email": email, "password": PASSWORD, "display_name": display_name}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["user_id"].as_str().expect("user_id").to_owned()
}

/// Logs in over HTTP; returns (access, refresh).
pub async fn login(app: &TestApp, email: &str, password: &str) -> (String, String) {
    let (status, body) = app
        .post(
            "/v1/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    (
        body["access_token"].as_str().expect("access").to_owned(),
        body["refresh_token"].as_str().expect("refresh").to_owned(),
    )
}

/// Registers with display name `Listener` and logs in; returns (user ID, access token).
pub async fn user(app: &TestApp, email: &str) -> (String, String) {
    let id = register_as(app, email, "Listener").await;
    let (access, _) = login(app, email, PASSWORD).await;
    (id, access)
}

/// Creates an admin through the CLI and logs in; returns (user ID, access token).
pub async fn bootstrap_admin(app: &TestApp, email: &str) -> (String, String) {
    let target = CliTarget {
        database: app.database.clone(),
    };
    let owned_email = email.to_owned();
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || {
        target.run(
            &["users", "create-admin", "--email", &owned_email],
            &format!("{PASSWORD}\n"),
        )
    })
    .await
    .expect("cli");
    assert!(ok, "create-admin failed: {stdout} {stderr}");
    assert!(stdout.contains("created admin"), "{stdout}");
    assert!(
        stderr.is_empty(),
        "a one-shot command prints what it did, not the server's warnings: {stderr}"
    );
    let pool = app.pool().await;
    let id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1 AND role = 'admin'")
            .bind(email)
            .fetch_one(&pool)
            .await
            .expect("the admin exists");
    let (access, _) = login(app, email, PASSWORD).await;
    (id.to_string(), access)
}

/// The admin holding `admin` disables the account `user`, then enables it again.
pub async fn disable_then_enable(app: &TestApp, admin: &str, user: &str) {
    for disabled in [true, false] {
        let (status, body) = app
            .patch_auth(
                &format!("/v1/admin/users/{user}"),
                admin,
                &json!({"disabled": disabled}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// The token in the newest outbox mail to `email` with `subject`.
pub async fn mailed_token(pool: &PgPool, email: &str, subject: &str) -> String {
    let body: String = sqlx::query_scalar(
        "SELECT body FROM mail_outbox WHERE recipient = $1 AND subject = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(email)
    .bind(subject)
    .fetch_one(pool)
    .await
    .expect("a mail was queued");
    body.lines()
        .find_map(|l| l.strip_prefix("token: "))
        .expect("the mail carries a token")
        .to_owned()
}

/// The actions of the audit entries whose subject is `user_id`, oldest first.
pub async fn audit_actions(pool: &PgPool, user_id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log WHERE subject_id = $1::uuid ORDER BY id")
        .bind(user_id)
        .fetch_all(pool)
        .await
        .expect("audit log")
}

/// A gRPC request carrying a bearer token.
pub fn bearer<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii token"),
    );
    request
}

/// A client of `AuthService` (register, login, refresh, logout, verification, reset).
pub async fn auth_client(app: &TestApp) -> AuthServiceClient<Channel> {
    AuthServiceClient::new(app.channel().await)
}

/// A client of `AccountService` (the caller's own account).
pub async fn account_client(app: &TestApp) -> AccountServiceClient<Channel> {
    AccountServiceClient::new(app.channel().await)
}

/// A client of `AdminService`.
pub async fn admin_client(app: &TestApp) -> AdminServiceClient<Channel> {
    AdminServiceClient::new(app.channel().await)
}
