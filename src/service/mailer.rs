//! Mail delivery for verification and reset tokens: [`SmtpMailer`] when `auth.smtp_url` is set,
//! otherwise [`OutboxMailer`], which writes every mail to the `mail_outbox` table and announces it with a
//! log line (without the token, which is a credential), so an operator without SMTP can read it there
//! and act. A mail SMTP fails to deliver falls back to the outbox the same way.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::AccountRepo;
use crate::store::StoreError;

/// One mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The account it concerns (purged with it).
    pub user_id: Option<Uuid>,
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Sends mail.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Delivers (or queues) one mail.
    async fn send(&self, mail: OutgoingMail, now: DateTime<Utc>) -> Result<(), StoreError>;
}

/// Writes mail to the outbox table and logs that it did.
pub struct OutboxMailer {
    repo: Arc<dyn AccountRepo>,
}

impl OutboxMailer {
    /// A mailer writing through `repo`.
    pub fn new(repo: Arc<dyn AccountRepo>) -> Self {
        Self { repo }
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: OutgoingMail, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.repo
            .enqueue_mail(mail.user_id, &mail.to, &mail.subject, &mail.body, now)
            .await?;
        tracing::info!(
            to = %mail.to,
            subject = %mail.subject,
            "mail queued in the mail_outbox table (no SMTP configured); read it there to deliver it by hand"
        );
        Ok(())
    }
}

/// Sends mail through an SMTP server (`smtp://` or `smtps://` URL, credentials in the URL); a mail the
/// server does not take goes to the outbox instead.
pub struct SmtpMailer {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
    fallback: OutboxMailer,
}

impl SmtpMailer {
    /// A mailer for the server at `url`, sending as `from`.
    pub fn new(url: &str, from: &str, repo: Arc<dyn AccountRepo>) -> Result<Self, String> {
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
            .map_err(|e| format!("auth.smtp_url is not usable: {e}"))?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        let from = from
            .parse()
            .map_err(|e| format!("auth.mail_from is not a mailbox: {e}"))?;
        Ok(Self {
            transport,
            from,
            fallback: OutboxMailer::new(repo),
        })
    }

    async fn deliver(&self, mail: &OutgoingMail) -> Result<(), String> {
        use lettre::AsyncTransport as _;
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(mail.to.parse().map_err(|e| format!("recipient: {e}"))?)
            .subject(mail.subject.clone())
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: OutgoingMail, now: DateTime<Utc>) -> Result<(), StoreError> {
        match self.deliver(&mail).await {
            Ok(()) => {
                tracing::info!(to = %mail.to, subject = %mail.subject, "mail sent");
                Ok(())
            }
            Err(error) => {
                tracing::warn!(to = %mail.to, %error, "SMTP delivery failed; queueing the mail in the outbox");
                self.fallback.send(mail, now).await
            }
        }
    }
}
