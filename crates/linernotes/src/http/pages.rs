//! Pages for people, under `/account`: where the links in mails lead. A verification link opens a page
//! whose button verifies the address; a reset link opens a page that takes the new password. Both
//! finish on a page saying what happened. Server-rendered HTML with no script and nothing to build.
//!
//! Opening a link never acts by itself (mail scanners open links before people do): only the form's
//! POST does. The token travels in the link's query and the form, so the pages send no referrer, are
//! never cached, and allow no script, frame or foreign form target.

use std::collections::HashMap;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Client, Params};
use super::AppState;
use crate::domain::account::MAX_PASSWORD_CHARS;

/// The pages.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verify_email_page, verify_email))
        .routes(routes!(reset_password_page, reset_password))
}

/// A form of a page, as the browser posts it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the form; handlers read its fields by name.
struct TokenForm {
    /// The token from the mailed link.
    token: String,
}

/// The reset form, as the browser posts it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the form; handlers read its fields by name.
struct ResetForm {
    /// The token from the mailed link.
    token: String,
    /// The new password.
    new_password: String,
    /// The new password again.
    repeat: String,
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `title` as its heading, `body` (already HTML) below it.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · linernotes</title>\n<style>\n\
         body {{ font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; \
         line-height: 1.5; color: #222; }}\n\
         label {{ display: block; margin: 1rem 0 .25rem; }}\n\
         input {{ font: inherit; width: 100%; padding: .4rem; box-sizing: border-box; }}\n\
         button {{ font: inherit; margin-top: 1.25rem; padding: .5rem 1rem; }}\n\
         .problem {{ color: #a00; }}\n</style>\n</head>\n<body>\n<h1>{title}</h1>\n{body}\n</body>\n</html>\n",
        title = escape(title),
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; \
             frame-ancestors 'none'",
        ),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The page of a link without its token.
fn incomplete_link() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "This link is incomplete",
        "<p>Open the link exactly as the mail shows it, or ask for a new mail.</p>",
    )
}

/// The token of a link or form, when it carries one.
fn token_of(fields: Option<&str>) -> Option<&str> {
    fields.map(str::trim).filter(|t| !t.is_empty())
}

/// The fields of a posted form (an unreadable form has none).
fn form_fields(
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> HashMap<String, String> {
    form.map(|Form(fields)| fields).unwrap_or_default()
}

/// The page a verification link opens: a button that verifies the address.
#[utoipa::path(
    get,
    path = "/account/verify-email",
    tag = "pages",
    summary = "Verification page",
    params(("token" = Option<String>, Query, description = "The token from the mailed link")),
    responses(
        (status = 200, description = "The page with its button", body = String, content_type = "text/html"),
        (status = 400, description = "A page saying the link is incomplete", body = String, content_type = "text/html"),
    )
)]
async fn verify_email_page(params: Params) -> Response {
    let Some(token) = token_of(params.text("token")) else {
        return incomplete_link();
    };
    page(
        StatusCode::OK,
        "Verify your address",
        &format!(
            "<p>Confirm that this e-mail address belongs to your linernotes account.</p>\n\
             <form method=\"post\" action=\"/account/verify-email\">\n\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\n\
             <button type=\"submit\">Verify my address</button>\n</form>",
            escape(token)
        ),
    )
}

/// What the verification page's button posts.
#[utoipa::path(
    post,
    path = "/account/verify-email",
    tag = "pages",
    summary = "Verify an address (from the page)",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A page saying the address is verified", body = String, content_type = "text/html"),
        (status = 400, description = "A page saying what is wrong with the link", body = String, content_type = "text/html"),
        (status = 404, description = "A page saying the token is unknown", body = String, content_type = "text/html"),
        (status = 409, description = "A page saying the link was used", body = String, content_type = "text/html"),
        (status = 429, description = "A page saying to try later", body = String, content_type = "text/html"),
        (status = 503, description = "A page saying the database is unavailable", body = String, content_type = "text/html"),
    )
)]
async fn verify_email(
    State(state): State<AppState>,
    Client(context): Client,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let fields = form_fields(form);
    let Some(token) = token_of(fields.get("token").map(String::as_str)) else {
        return incomplete_link();
    };
    match state.accounts.verify_email(token, &context).await {
        Ok(()) => page(
            StatusCode::OK,
            "Your address is verified",
            "<p>Thank you. You can close this page.</p>",
        ),
        Err(err) => page(
            StatusCode::from(err.code),
            "The address could not be verified",
            &format!(
                "<p class=\"problem\">{}.</p>\n<p>Links work once and expire; ask for a new mail \
                 if this one was used or is old.</p>",
                escape(&err.message)
            ),
        ),
    }
}

/// The form that takes a new password, with `problem` above it when the last try failed.
fn reset_form(status: StatusCode, token: &str, problem: Option<&str>) -> Response {
    let problem = problem
        .map(|p| format!("<p class=\"problem\">{}.</p>\n", escape(p)))
        .unwrap_or_default();
    page(
        status,
        "Choose a new password",
        &format!(
            "{problem}<p>Every session of the account is signed out when the password changes.</p>\n\
             <form method=\"post\" action=\"/account/reset-password\">\n\
             <input type=\"hidden\" name=\"token\" value=\"{token}\">\n\
             <label for=\"new_password\">New password (at least 8 characters)</label>\n\
             <input id=\"new_password\" name=\"new_password\" type=\"password\" \
             autocomplete=\"new-password\" minlength=\"8\" maxlength=\"{MAX_PASSWORD_CHARS}\" required>\n\
             <label for=\"repeat\">The same again</label>\n\
             <input id=\"repeat\" name=\"repeat\" type=\"password\" autocomplete=\"new-password\" \
             minlength=\"8\" maxlength=\"{MAX_PASSWORD_CHARS}\" required>\n\
             <button type=\"submit\">Set the new password</button>\n</form>",
            token = escape(token)
        ),
    )
}

/// The page a reset link opens: a form that takes the new password twice.
#[utoipa::path(
    get,
    path = "/account/reset-password",
    tag = "pages",
    summary = "Password reset page",
    params(("token" = Option<String>, Query, description = "The token from the mailed link")),
    responses(
        (status = 200, description = "The page with its form", body = String, content_type = "text/html"),
        (status = 400, description = "A page saying the link is incomplete", body = String, content_type = "text/html"),
    )
)]
async fn reset_password_page(params: Params) -> Response {
    match token_of(params.text("token")) {
        Some(token) => reset_form(StatusCode::OK, token, None),
        None => incomplete_link(),
    }
}

/// What the reset page's form posts.
#[utoipa::path(
    post,
    path = "/account/reset-password",
    tag = "pages",
    summary = "Set a new password (from the page)",
    request_body(content = ResetForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A page saying the password is changed", body = String, content_type = "text/html"),
        (status = 400, description = "The form again, saying what is wrong", body = String, content_type = "text/html"),
        (status = 404, description = "The form again, saying the token is unknown", body = String, content_type = "text/html"),
        (status = 409, description = "The form again, saying the link was used", body = String, content_type = "text/html"),
        (status = 429, description = "The form again, saying to try later", body = String, content_type = "text/html"),
        (status = 503, description = "The form again, saying the database is unavailable", body = String, content_type = "text/html"),
    )
)]
async fn reset_password(
    State(state): State<AppState>,
    Client(context): Client,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let fields = form_fields(form);
    let Some(token) = token_of(fields.get("token").map(String::as_str)) else {
        return incomplete_link();
    };
    let password = fields.get("new_password").cloned().unwrap_or_default();
    if fields.get("repeat") != Some(&password) {
        return reset_form(
            StatusCode::BAD_REQUEST,
            token,
            Some("The two passwords differ"),
        );
    }
    match state
        .accounts
        .confirm_password_reset(token, password, &context)
        .await
    {
        Ok(()) => page(
            StatusCode::OK,
            "Your password is changed",
            "<p>Sign in with the new password. Every other session of the account was signed \
             out.</p>",
        ),
        Err(err) => reset_form(StatusCode::from(err.code), token, Some(&err.message)),
    }
}
