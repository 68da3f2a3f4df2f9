//! Mail end to end against a fake SMTP server: delivery by SMTP with the outbox as fallback, delivery
//! in the background so requests never wait on the mail server, and shutdown waiting for deliveries.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

/// A minimal SMTP server on port 0 that accepts every mail and hands each one's DATA to the test.
async fn fake_smtp() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    fake_smtp_gated(tokio::sync::watch::channel(true).1).await
}

/// [`fake_smtp`] that holds every connection (does not greet) until `open` turns true.
async fn fake_smtp_gated(
    open: tokio::sync::watch::Receiver<bool>,
) -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            let mut open = open.clone();
            tokio::spawn(async move {
                if open.wait_for(|o| *o).await.is_err() {
                    return;
                }
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 fake ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(buffer) = data.as_mut() {
                        if line == "." {
                            let _ = tx.send(std::mem::take(buffer));
                            data = None;
                            let _ = write.write_all(b"250 queued\r\n").await;
                        } else {
                            buffer.push_str(&line);
                            buffer.push('\n');
                        }
                        continue;
                    }
                    let command = line.to_ascii_uppercase();
                    let reply: &[u8] = if command.starts_with("DATA") {
                        data = Some(String::new());
                        b"354 go ahead\r\n"
                    } else if command.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (port, rx)
}

/// An app sending its mail to the SMTP server on `port` of this machine.
async fn app_with_mail_server(port: u16) -> TestApp {
    TestApp::spawn_with(TestOptions {
        configure: Some(Box::new(move |s| {
            s.auth.smtp_url = secrecy::SecretString::from(format!("smtp://127.0.0.1:{port}"));
        })),
        ..TestOptions::default()
    })
    .await
}

async fn app_mails_in_outbox(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM mail_outbox")
        .fetch_one(pool)
        .await
        .expect("count")
}

/// With `auth.smtp_url` set, the verification mail goes out by SMTP (and not to the outbox) and its
/// token verifies the address; with the SMTP server unreachable, the mail falls back to the outbox.
#[tokio::test]
async fn mail_goes_by_smtp_when_configured_and_to_the_outbox_when_it_fails() {
    let (port, mut mails) = fake_smtp().await;
    let app = app_with_mail_server(port).await;
    register(&app, "ada@example.org").await;
    let mail = tokio::time::timeout(std::time::Duration::from_secs(30), mails.recv())
        .await
        .expect("a mail within 30 s")
        .expect("a mail");
    assert!(
        mail.contains("Subject: Verify your email address"),
        "{mail}"
    );
    assert!(mail.contains("ada@example.org"), "{mail}");
    let token = mail
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .expect("token line")
        .trim()
        .to_owned();
    // The outbox row goes once the delivery task has finished.
    app.accounts
        .mail_deliveries()
        .wait_for(|n| *n >= 1)
        .await
        .expect("delivery");
    let pool = app.pool().await;
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_outbox")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(queued, 0, "sent mail is not kept in the outbox");
    let (status, _, _) = app
        .send(
            Method::POST,
            "/v1/auth/verify-email",
            Some(&json!({"token": token})),
            None,
        )
        .await;
    assert_eq!(status, 204);

    // An SMTP server that is not there: the mail lands in the outbox.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let app = TestApp::spawn_with(TestOptions {
        configure: Some(Box::new(move |s| {
            s.auth.smtp_url = secrecy::SecretString::from(format!("smtp://127.0.0.1:{closed}"));
        })),
        ..TestOptions::default()
    })
    .await;
    register(&app, "grace@example.org").await;
    let pool = app.pool().await;
    mailed_token(&pool, "grace@example.org", "Verify your email address").await;
}

/// Shutdown waits for mail deliveries under way: a verification mail the mail server was still holding
/// when the HTTP listener closed is sent, and out of the outbox, by the time shutdown returns.
#[tokio::test]
async fn shutdown_waits_for_mail_deliveries() {
    let (open, gate) = tokio::sync::watch::channel(false);
    let (port, mut mails) = fake_smtp_gated(gate).await;
    let app = app_with_mail_server(port).await;
    register(&app, "ada@example.org").await;
    let pool = app.pool().await;
    let http_addr = app.http.trim_start_matches("http://").to_owned();
    let stopping = tokio::spawn(app.stop());
    // A guard against hanging, not a timing assertion: shutdown has begun once the listener is gone.
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while tokio::net::TcpStream::connect(&http_addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the HTTP listener closes");
    assert_eq!(
        app_mails_in_outbox(&pool).await,
        1,
        "the mail is still held"
    );

    open.send(true).expect("open the mail server");
    // Keep the database until the end of the test.
    let (_database, _mock) = stopping.await.expect("shutdown finishes");
    let mail = mails
        .try_recv()
        .expect("the mail was sent before shutdown returned");
    assert!(mail.contains("Verify your email address"), "{mail}");
    assert_eq!(app_mails_in_outbox(&pool).await, 0);
}

/// Mail is delivered in the background: with the mail server holding every connection, registration
/// and a password reset are still answered, their mails wait in the outbox, and once the server
/// answers they are sent and leave the outbox.
#[tokio::test]
async fn requests_do_not_wait_for_the_mail_server() {
    let (open, gate) = tokio::sync::watch::channel(false);
    let (port, mut mails) = fake_smtp_gated(gate).await;
    let app = app_with_mail_server(port).await;
    let deliveries = app.accounts.mail_deliveries();
    // A guard against hanging (requests that waited on the held server would never be answered), not
    // a timing assertion.
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        register(&app, "ada@example.org").await;
        app.post(
            "/v1/auth/password-reset",
            &json!({"email": "ada@example.org"}),
        )
        .await
        .0
    })
    .await
    .expect("answered while the mail server holds its connections");
    assert_eq!(status, 202);
    app.accounts.deferred().idle().await;
    assert_eq!(*deliveries.borrow(), 0, "no delivery has finished yet");
    let pool = app.pool().await;
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_outbox")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(queued, 2, "both mails wait in the outbox");

    open.send(true).expect("open the server");
    let mut deliveries = deliveries;
    deliveries.wait_for(|n| *n >= 2).await.expect("deliveries");
    let mut subjects = BTreeSet::new();
    for _ in 0..2 {
        let mail = mails.recv().await.expect("a mail");
        let subject = mail
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .expect("subject")
            .to_owned();
        subjects.insert(subject);
    }
    assert_eq!(
        subjects,
        BTreeSet::from([
            "Reset your password".to_owned(),
            "Verify your email address".to_owned()
        ])
    );
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_outbox")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(queued, 0, "sent mail leaves the outbox");
}
