//! Account routes: `/v1/auth/*` (no token), `/v1/me*` (bearer token) and `/v1/admin/*` (admin token).
//!
//! Bodies are JSON objects with unknown fields refused; any body that cannot be read (wrong type, not
//! JSON, no JSON content type, too large) is a 400 `INVALID_ARGUMENT` in the API's error shape. The
//! client address comes from the socket peer, the user agent from its header; both go into sessions and
//! audit entries.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::http::extract::{Authorization, Client, JsonBody, Params, Segments};
use crate::http::{ApiError, AppState};
use crate::service::accounts::ProfileUpdate;

/// The account routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/register", post(register))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/refresh", post(refresh))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/auth/verify-email", post(verify_email))
        .route("/v1/auth/password-reset", post(request_password_reset))
        .route(
            "/v1/auth/password-reset/confirm",
            post(confirm_password_reset),
        )
        .route("/v1/me", get(me).patch(update_me).delete(delete_me))
        .route("/v1/me/password", post(change_password))
        .route("/v1/me/sessions", get(list_sessions))
        .route("/v1/me/sessions/{id}", delete(revoke_session))
        .route("/v1/me/audit", get(my_audit))
        .route("/v1/me/export", get(export))
        .route("/v1/admin/users", get(admin_list_users))
        .route("/v1/admin/users/{id}", patch(admin_update_user))
        .route("/v1/admin/audit", get(admin_audit))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    email: String,
    password: String,
    display_name: String,
}

async fn register(
    State(state): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<Response, ApiError> {
    let id = state
        .accounts
        .register(&body.email, body.password, &body.display_name, &ctx)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"user_id": id}))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Response, ApiError> {
    let pair = state
        .accounts
        .login(&body.email, body.password, &ctx)
        .await?;
    Ok(Json(pair).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

async fn refresh(
    State(state): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Response, ApiError> {
    let pair = state.accounts.refresh(&body.refresh_token, &ctx).await?;
    Ok(Json(pair).into_response())
}

async fn logout(
    State(state): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<StatusCode, ApiError> {
    state.accounts.logout(&body.refresh_token, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

async fn verify_email(
    State(state): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<StatusCode, ApiError> {
    state.accounts.verify_email(&body.token, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailBody {
    email: String,
}

async fn request_password_reset(
    State(state): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<EmailBody>,
) -> Result<Response, ApiError> {
    state
        .accounts
        .request_password_reset(&body.email, &ctx)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "if the address has an account, a reset token was mailed to it"})),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetConfirmBody {
    token: String,
    new_password: String,
}

async fn confirm_password_reset(
    State(state): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<ResetConfirmBody>,
) -> Result<StatusCode, ApiError> {
    state
        .accounts
        .confirm_password_reset(&body.token, body.new_password, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): State<AppState>, auth: Authorization) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    Ok(Json(state.accounts.me(&principal).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchMeBody {
    display_name: Option<String>,
    avatar_url: Option<String>,
    bio: Option<String>,
    preferences: Option<PatchPreferences>,
    settings: Option<PatchSettings>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PatchPreferences {
    language: Option<String>,
    region: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PatchSettings {
    keep_listening_history: Option<bool>,
    keep_search_history: Option<bool>,
    public_profile: Option<bool>,
    email_opt_in: Option<bool>,
}

async fn update_me(
    State(state): State<AppState>,
    auth: Authorization,
    Client(ctx): Client,
    JsonBody(body): JsonBody<PatchMeBody>,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let preferences = body.preferences.unwrap_or_default();
    let settings = body.settings.unwrap_or_default();
    let update = ProfileUpdate {
        display_name: body.display_name,
        avatar_url: body.avatar_url,
        bio: body.bio,
        language: preferences.language,
        region: preferences.region,
        keep_listening_history: settings.keep_listening_history,
        keep_search_history: settings.keep_search_history,
        public_profile: settings.public_profile,
        email_opt_in: settings.email_opt_in,
    };
    let profile = state.accounts.update_me(&principal, update, &ctx).await?;
    Ok(Json(profile).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePasswordBody {
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    auth: Authorization,
    Client(ctx): Client,
    JsonBody(body): JsonBody<ChangePasswordBody>,
) -> Result<StatusCode, ApiError> {
    let principal = auth.principal(&state).await?;
    state
        .accounts
        .change_password(&principal, body.current_password, body.new_password, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_sessions(
    State(state): State<AppState>,
    auth: Authorization,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let sessions = state.accounts.list_sessions(&principal).await?;
    Ok(Json(json!({"sessions": sessions})).into_response())
}

async fn revoke_session(
    State(state): State<AppState>,
    auth: Authorization,
    Client(ctx): Client,
    Segments(id): Segments<String>,
) -> Result<StatusCode, ApiError> {
    let principal = auth.principal(&state).await?;
    state.accounts.revoke_session(&principal, &id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn my_audit(
    State(state): State<AppState>,
    auth: Authorization,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let entries = state
        .accounts
        .my_audit(&principal, params.number("limit")?)
        .await?;
    Ok(Json(json!({"entries": entries})).into_response())
}

async fn export(
    State(state): State<AppState>,
    auth: Authorization,
    Client(ctx): Client,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let data = state.accounts.export(&principal, &ctx).await?;
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"linernotes-export.json\"",
        )],
        Json(data),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteMeBody {
    password: String,
}

async fn delete_me(
    State(state): State<AppState>,
    auth: Authorization,
    Client(ctx): Client,
    JsonBody(body): JsonBody<DeleteMeBody>,
) -> Result<StatusCode, ApiError> {
    let principal = auth.principal(&state).await?;
    state
        .accounts
        .delete_me(&principal, body.password, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn admin_list_users(
    State(state): State<AppState>,
    auth: Authorization,
    Client(ctx): Client,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let page = state
        .accounts
        .admin_list_users(
            &principal,
            params.text("q"),
            params.number("limit")?,
            params.number("offset")?,
            &ctx,
        )
        .await?;
    Ok(Json(page).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminPatchBody {
    role: Option<String>,
    disabled: Option<bool>,
}

async fn admin_update_user(
    State(state): State<AppState>,
    auth: Authorization,
    Client(ctx): Client,
    Segments(id): Segments<String>,
    JsonBody(body): JsonBody<AdminPatchBody>,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let user = state
        .accounts
        .admin_update_user(&principal, &id, body.role.as_deref(), body.disabled, &ctx)
        .await?;
    Ok(Json(user).into_response())
}

async fn admin_audit(
    State(state): State<AppState>,
    auth: Authorization,
    Client(ctx): Client,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let entries = state
        .accounts
        .admin_audit(
            &principal,
            params.text("user_id"),
            params.text("action"),
            params.number("limit")?,
            &ctx,
        )
        .await?;
    Ok(Json(json!({"entries": entries})).into_response())
}
