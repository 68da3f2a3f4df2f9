//! The pages mailed links open: verifying an address and choosing a new password, over plain HTTP
//! and in a real browser.

use serde_json::json;
use sqlx::PgPool;

use crate::helpers::*;

/// The link in the newest mail to `email` with `subject`.
async fn mailed_link(pool: &PgPool, email: &str, subject: &str) -> String {
    let body: String = sqlx::query_scalar(
        "SELECT body FROM mail_outbox WHERE recipient = $1 AND subject = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(email)
    .bind(subject)
    .fetch_one(pool)
    .await
    .expect("a mail was queued");
    body.lines()
        .find(|l| l.contains("/account/"))
        .expect("the mail carries a link")
        .trim()
        .to_owned()
}

async fn is_verified(pool: &PgPool, email: &str) -> bool {
    sqlx::query_scalar("SELECT is_verified FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .expect("the user")
}

/// A verification link opens a page whose button (a form POST) verifies the address; opening the link
/// alone changes nothing. A reset link opens a form; differing passwords are refused on the page, the
/// same password twice sets it. Pages allow no script and send no referrer.
#[tokio::test]
async fn mailed_links_open_pages_that_complete_the_action() {
    let app = TestApp::spawn().await;
    let pool = app.pool().await;
    register(&app, "ada@example.org").await;
    let link = mailed_link(&pool, "ada@example.org", "Verify your email address").await;
    assert!(
        link.starts_with("http://127.0.0.1:8080/account/verify-email?token="),
        "{link}"
    );
    let path = link.trim_start_matches("http://127.0.0.1:8080");
    let opened = app
        .client
        .get(format!("{}{path}", app.http))
        .send()
        .await
        .expect("open the link");
    assert_eq!(opened.status().as_u16(), 200);
    let csp = opened.headers()["content-security-policy"]
        .to_str()
        .expect("CSP")
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(opened.headers()["referrer-policy"], "no-referrer");
    let html = opened.text().await.expect("page");
    assert!(
        html.contains("<form method=\"post\" action=\"/account/verify-email\">"),
        "{html}"
    );
    assert!(
        !is_verified(&pool, "ada@example.org").await,
        "opening the link alone verifies nothing"
    );
    let token = path.split("token=").nth(1).expect("token");
    let verified = app
        .client
        .post(format!("{}/account/verify-email", app.http))
        .form(&[("token", token)])
        .send()
        .await
        .expect("post the form");
    assert_eq!(verified.status().as_u16(), 200);
    assert!(verified
        .text()
        .await
        .expect("page")
        .contains("Your address is verified"));
    assert!(is_verified(&pool, "ada@example.org").await);

    app.post(
        "/v1/auth/password-reset",
        &json!({"email": "ada@example.org"}),
    )
    .await;
    app.accounts.deferred().idle().await;
    let link = mailed_link(&pool, "ada@example.org", "Reset your password").await;
    let token = link.split("token=").nth(1).expect("token").to_owned();
    let post = |fields: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(format!("{}/account/reset-password", app.http))
                .form(&fields)
                .send()
                .await
                .expect("post the form");
            (
                response.status().as_u16(),
                response.text().await.expect("page"),
            )
        }
    };
    let (status, html) = post(vec![
        ("token", token.clone()),
        ("new_password", "a brand new password".into()),
        ("repeat", "another password".into()),
    ])
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("The two passwords differ"), "{html}");
    let (status, html) = post(vec![
        ("token", token.clone()),
        ("new_password", "a brand new password".into()),
        ("repeat", "a brand new password".into()),
    ])
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Your password is changed"), "{html}");
    login(&app, "ada@example.org", "a brand new password").await;
    let (status, html) = post(vec![
        ("token", token),
        ("new_password", "third password".into()),
        ("repeat", "third password".into()),
    ])
    .await;
    assert_eq!(status, 400, "a link works once: {html}");
    let (status, _) = post(vec![]).await;
    assert_eq!(status, 400, "a form without its token");
}

/// The same two flows in headless Chromium: a person clicks the button, types the password twice and
/// submits, and the pages say what happened.
#[tokio::test]
async fn mailed_links_work_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let pool = app.pool().await;
    register(&app, "ada@example.org").await;
    let on_app = |link: String| link.replace("http://127.0.0.1:8080", &app.http);
    let link = on_app(mailed_link(&pool, "ada@example.org", "Verify your email address").await);
    browser.open(&link).await;
    assert_eq!(browser.text("h1").await, "Verify your address");
    browser.click("button").await;
    assert_eq!(
        browser
            .text_once_it_reads("h1", "Your address is verified")
            .await,
        "Your address is verified"
    );
    assert!(is_verified(&pool, "ada@example.org").await);

    app.post(
        "/v1/auth/password-reset",
        &json!({"email": "ada@example.org"}),
    )
    .await;
    app.accounts.deferred().idle().await;
    let link = on_app(mailed_link(&pool, "ada@example.org", "Reset your password").await);
    browser.open(&link).await;
    assert_eq!(browser.text("h1").await, "Choose a new password");
    browser
        .type_into("#new_password", "typed in a browser")
        .await;
    browser.type_into("#repeat", "typed in a browser").await;
    browser.click("button").await;
    assert_eq!(
        browser
            .text_once_it_reads("h1", "Your password is changed")
            .await,
        "Your password is changed"
    );
    login(&app, "ada@example.org", "typed in a browser").await;
}
