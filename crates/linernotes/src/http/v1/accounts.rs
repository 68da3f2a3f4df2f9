//! Account routes: `/v1/auth/*` (no token), `/v1/me*` (bearer token) and `/v1/admin/*` (admin token).
//!
//! Bodies are JSON objects with unknown fields refused; any body that cannot be read (wrong type, not
//! JSON, no JSON content type, too large) is a 400 `INVALID_ARGUMENT` in the API's error shape. The
//! client address comes from the socket peer, the user agent from its header; both go into sessions and
//! audit entries.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::account::AuditEntry;
use crate::http::error::ErrorBody;
use crate::http::extract::{Authorization, Client, JsonBody, Params, Segments};
use crate::http::{ApiError, AppState};
use crate::service::accounts::{
    Profile, ProfileUpdate, SessionView, TokenPair, UserPage, UserSummary,
};

/// The account routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(verify_email))
        .routes(routes!(request_password_reset))
        .routes(routes!(confirm_password_reset))
        .routes(routes!(me, update_me, delete_me))
        .routes(routes!(change_password))
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(my_audit))
        .routes(routes!(export))
        .routes(routes!(admin_list_users))
        .routes(routes!(admin_update_user))
        .routes(routes!(admin_audit))
}

/// What registering answers.
#[derive(Serialize, ToSchema)]
struct Registered {
    /// The new account.
    user_id: Uuid,
}

/// A status sentence.
#[derive(Serialize, ToSchema)]
struct StatusMessage {
    /// What happened.
    status: &'static str,
}

/// The caller's sessions.
#[derive(Serialize, ToSchema)]
struct Sessions {
    /// Sessions, newest first.
    sessions: Vec<SessionView>,
}

/// A list of audit entries.
#[derive(Serialize, ToSchema)]
struct AuditEntries {
    /// Entries, newest first.
    entries: Vec<AuditEntry>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    /// The address (verified through a mailed link).
    #[schema(example = "ada@example.org")]
    email: String,
    /// At least 8 characters.
    #[schema(example = "correct horse battery")]
    password: String,
    /// 1 to 100 characters.
    #[schema(example = "Ada")]
    display_name: String,
}

#[utoipa::path(
    post,
    path = "/v1/auth/register",
    tag = "accounts",
    summary = "Register an account",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "The account is created and a verification link mailed", body = Registered),
        (status = 400, description = "The body is not what was expected (the message says what was)", body = ErrorBody),
        (status = 409, description = "The address has an account already", body = ErrorBody),
        (status = 429, description = "Too many requests from this address; `Retry-After` says when to try again", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
async fn register(
    State(state): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<Response, ApiError> {
    let id = state
        .accounts
        .register(&body.email, body.password, &body.display_name, &ctx)
        .await?;
    Ok((StatusCode::CREATED, Json(Registered { user_id: id })).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    /// The account's address.
    #[schema(example = "ada@example.org")]
    email: String,
    /// Its password.
    #[schema(example = "correct horse battery")]
    password: String,
}

#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "accounts",
    summary = "Log in",
    request_body = LoginBody,
    responses(
        (status = 200, description = "A new session's tokens", body = TokenPair),
        (status = 400, description = "The body is not what was expected (the message says what was)", body = ErrorBody),
        (status = 401, description = "The address or the password is wrong", body = ErrorBody),
        (status = 403, description = "The account is disabled", body = ErrorBody),
        (status = 429, description = "Too many requests from this address; `Retry-After` says when to try again", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "accounts",
    summary = "Exchange a refresh token for new tokens",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "New tokens; the refresh token sent is used up", body = TokenPair),
        (status = 400, description = "The body is not what was expected (the message says what was)", body = ErrorBody),
        (status = 401, description = "The refresh token is unknown, used or expired", body = ErrorBody),
        (status = 403, description = "The account is disabled", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
async fn refresh(
    State(state): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Response, ApiError> {
    let pair = state.accounts.refresh(&body.refresh_token, &ctx).await?;
    Ok(Json(pair).into_response())
}

#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "accounts",
    summary = "Log out (end the session of a refresh token)",
    request_body = RefreshBody,
    responses(
        (status = 204, description = "The session is ended"),
        (status = 400, description = "The body is not what was expected (the message says what was)", body = ErrorBody),
        (status = 401, description = "The refresh token is unknown or expired", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
async fn logout(
    State(state): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<StatusCode, ApiError> {
    state.accounts.logout(&body.refresh_token, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

#[utoipa::path(
    post,
    path = "/v1/auth/verify-email",
    tag = "accounts",
    summary = "Verify an address with the mailed token",
    request_body = TokenBody,
    responses(
        (status = 204, description = "The address is verified"),
        (status = 400, description = "The body is not what was expected (the message says what was)", body = ErrorBody),
        (status = 404, description = "The token is unknown", body = ErrorBody),
        (status = 409, description = "The token was used or has expired", body = ErrorBody),
        (status = 429, description = "Too many requests from this address; `Retry-After` says when to try again", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
async fn verify_email(
    State(state): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<StatusCode, ApiError> {
    state.accounts.verify_email(&body.token, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EmailBody {
    email: String,
}

#[utoipa::path(
    post,
    path = "/v1/auth/password-reset",
    tag = "accounts",
    summary = "Ask for a password reset mail",
    request_body = EmailBody,
    responses(
        (status = 202, description = "Answered alike whether the address has an account or not", body = StatusMessage),
        (status = 400, description = "The body is not what was expected (the message says what was)", body = ErrorBody),
        (status = 429, description = "Too many requests from this address; `Retry-After` says when to try again", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
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
        Json(StatusMessage {
            status: "if the address has an account, a reset token was mailed to it",
        }),
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetConfirmBody {
    token: String,
    new_password: String,
}

#[utoipa::path(
    post,
    path = "/v1/auth/password-reset/confirm",
    tag = "accounts",
    summary = "Set a new password with the mailed token",
    request_body = ResetConfirmBody,
    responses(
        (status = 204, description = "The password is changed and every session ended"),
        (status = 400, description = "The body is not what was expected (the message says what was)", body = ErrorBody),
        (status = 404, description = "The token is unknown", body = ErrorBody),
        (status = 409, description = "The token was used or has expired", body = ErrorBody),
        (status = 429, description = "Too many requests from this address; `Retry-After` says when to try again", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "accounts",
    summary = "The caller's account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile", body = Profile),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
async fn me(State(state): State<AppState>, auth: Authorization) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    Ok(Json(state.accounts.me(&principal).await?).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchMeBody {
    display_name: Option<String>,
    avatar_url: Option<String>,
    bio: Option<String>,
    preferences: Option<PatchPreferences>,
    settings: Option<PatchSettings>,
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchPreferences {
    language: Option<String>,
    region: Option<String>,
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchSettings {
    keep_listening_history: Option<bool>,
    keep_search_history: Option<bool>,
    public_profile: Option<bool>,
    email_opt_in: Option<bool>,
}

#[utoipa::path(
    patch,
    path = "/v1/me",
    tag = "accounts",
    summary = "Change the caller's profile, preferences or settings",
    security(("bearer" = [])),
    request_body = PatchMeBody,
    responses(
        (status = 200, description = "The profile as changed", body = Profile),
        (status = 400, description = "The body is not what was expected (the message says what was)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChangePasswordBody {
    current_password: String,
    new_password: String,
}

#[utoipa::path(
    post,
    path = "/v1/me/password",
    tag = "accounts",
    summary = "Change the password",
    security(("bearer" = [])),
    request_body = ChangePasswordBody,
    responses(
        (status = 204, description = "Changed; every other session is ended"),
        (status = 400, description = "The body is not what was expected (the message says what was)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The current password is wrong", body = ErrorBody),
        (status = 429, description = "Too many requests from this address; `Retry-After` says when to try again", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    get,
    path = "/v1/me/sessions",
    tag = "accounts",
    summary = "The caller's sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Sessions, the current one marked", body = Sessions),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
async fn list_sessions(
    State(state): State<AppState>,
    auth: Authorization,
) -> Result<Response, ApiError> {
    let principal = auth.principal(&state).await?;
    let sessions = state.accounts.list_sessions(&principal).await?;
    Ok(Json(Sessions { sessions }).into_response())
}

#[utoipa::path(
    delete,
    path = "/v1/me/sessions/{id}",
    tag = "accounts",
    summary = "End one of the caller's sessions",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The session"),
    ),
    responses(
        (status = 204, description = "The session is ended"),
        (status = 400, description = "The ID is not a UUID", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "The caller has no such session", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    get,
    path = "/v1/me/audit",
    tag = "accounts",
    summary = "What happened to the caller's account",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "Most entries, newest first"),
    ),
    responses(
        (status = 200, description = "Audit entries, newest first", body = AuditEntries),
        (status = 400, description = "A parameter is malformed", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
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
    Ok(Json(AuditEntries { entries }).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/me/export",
    tag = "accounts",
    summary = "Everything stored about the caller, as one JSON file",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Profile, sessions, audit entries and library", body = Object),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DeleteMeBody {
    password: String,
}

#[utoipa::path(
    delete,
    path = "/v1/me",
    tag = "accounts",
    summary = "Delete the caller's account",
    security(("bearer" = [])),
    request_body = DeleteMeBody,
    responses(
        (status = 204, description = "Deleted (purged for good later); every session is ended"),
        (status = 400, description = "The body is not what was expected (the message says what was)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The password is wrong", body = ErrorBody),
        (status = 409, description = "The caller is the last active admin", body = ErrorBody),
        (status = 429, description = "Too many requests from this address; `Retry-After` says when to try again", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    get,
    path = "/v1/admin/users",
    tag = "admin",
    summary = "List accounts",
    security(("bearer" = [])),
    params(
        ("q" = Option<String>, Query, description = "Part of an address or display name"),
        ("limit" = Option<u32>, Query, description = "Page size"),
        ("offset" = Option<u32>, Query, description = "Accounts to skip"),
    ),
    responses(
        (status = 200, description = "A page of accounts", body = UserPage),
        (status = 400, description = "A parameter is malformed", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The caller is not an admin", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AdminPatchBody {
    role: Option<String>,
    disabled: Option<bool>,
}

#[utoipa::path(
    patch,
    path = "/v1/admin/users/{id}",
    tag = "admin",
    summary = "Change an account's role or disable it",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The account"),
    ),
    request_body = AdminPatchBody,
    responses(
        (status = 200, description = "The account as changed", body = UserSummary),
        (status = 400, description = "The ID or the body is malformed", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The caller is not an admin", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 409, description = "The change would leave no active admin", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    get,
    path = "/v1/admin/audit",
    tag = "admin",
    summary = "Read the audit log",
    security(("bearer" = [])),
    params(
        ("user_id" = Option<Uuid>, Query, description = "Entries whose actor or subject is this account"),
        ("action" = Option<String>, Query, description = "Entries of this action"),
        ("limit" = Option<u32>, Query, description = "Most entries, newest first"),
    ),
    responses(
        (status = 200, description = "Audit entries, newest first", body = AuditEntries),
        (status = 400, description = "A parameter is malformed", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "The caller is not an admin", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
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
    Ok(Json(AuditEntries { entries }).into_response())
}
