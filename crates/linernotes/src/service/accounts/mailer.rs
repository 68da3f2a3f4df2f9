//! Mail delivery for verification and reset tokens.
//!
//! Every mail is first written to the `mail_outbox` table while the request runs (the service's
//! `queue_mail`, at the end of this file), and delivered afterwards by a background task, so a request
//! never waits on a mail server (nor takes longer for an address that gets a mail than for one that does
//! not). Delivery is [`SmtpMailer`] when `auth.smtp_url` is set — a mail it sent is removed from the
//! outbox — otherwise [`OutboxMailer`], which leaves the mail in the outbox and announces it with a log
//! line (without the token, which is a credential), so an operator without SMTP can read it there and
//! act. A mail SMTP fails to deliver stays in the outbox the same way.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::AccountService;
use crate::service::ServiceError;
use crate::support::BackgroundTasks;

/// One mail to send.
#[derive(Clone, PartialEq, Eq)]
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

/// The body carries a single-use token (a credential): never printed.
impl std::fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("user_id", &self.user_id)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("body", &"[redacted]")
            .finish()
    }
}

/// What became of a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Handed to a mail server: it no longer needs its outbox row.
    Sent,
    /// Left in the outbox for an operator.
    KeptInOutbox,
}

/// Delivers mail that is already in the outbox.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Delivers one mail (or leaves it in the outbox, logging why).
    async fn deliver(&self, mail: &OutgoingMail) -> Delivery;
}

/// Leaves mail in the outbox table and logs that it did.
#[derive(Debug, Default)]
pub struct OutboxMailer;

#[async_trait]
impl Mailer for OutboxMailer {
    async fn deliver(&self, mail: &OutgoingMail) -> Delivery {
        tracing::info!(
            to = %mail.to,
            subject = %mail.subject,
            "mail queued in the mail_outbox table (no SMTP configured); read it there to deliver it by hand"
        );
        Delivery::KeptInOutbox
    }
}

/// Sends mail through an SMTP server (`smtp://` or `smtps://` URL, credentials in the URL); a mail the
/// server does not take stays in the outbox.
pub struct SmtpMailer {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl SmtpMailer {
    /// A mailer for the server at `url`, sending as `from`.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
            .map_err(|e| format!("auth.smtp_url is not usable: {e}"))?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        let from = from
            .parse()
            .map_err(|e| format!("auth.mail_from is not a mailbox: {e}"))?;
        Ok(Self { transport, from })
    }

    async fn send(&self, mail: &OutgoingMail) -> Result<(), String> {
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
    async fn deliver(&self, mail: &OutgoingMail) -> Delivery {
        match self.send(mail).await {
            Ok(()) => {
                tracing::info!(to = %mail.to, subject = %mail.subject, "mail sent");
                Delivery::Sent
            }
            Err(error) => {
                tracing::warn!(
                    to = %mail.to,
                    %error,
                    "SMTP delivery failed; the mail stays in the mail_outbox table"
                );
                Delivery::KeptInOutbox
            }
        }
    }
}

impl AccountService {
    /// Writes a mail to the outbox now and delivers it from a background task, so the request does not
    /// wait on a mail server: an address that gets a mail is answered after the same work (two inserts
    /// more than an unknown one, no network) as one that does not. Each finished delivery bumps
    /// [`AccountService::mail_deliveries`].
    pub(super) async fn queue_mail(
        &self,
        mail: OutgoingMail,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let id = self
            .inner
            .repo
            .enqueue_mail(mail.user_id, &mail.to, &mail.subject, &mail.body, now)
            .await?;
        let inner = self.inner.clone();
        self.inner.background.spawn(async move {
            if inner.mailer.deliver(&mail).await == Delivery::Sent {
                if let Err(err) = inner.repo.remove_from_outbox(id).await {
                    tracing::warn!(error = %err, "a sent mail could not be removed from the outbox");
                }
            }
            inner.deliveries.send_modify(|n| *n += 1);
        });
        Ok(())
    }

    /// Mail deliveries under way (shutdown waits for them).
    pub fn background(&self) -> &BackgroundTasks {
        &self.inner.background
    }

    /// Work requests left to do after their answer, such as password-reset lookups (shutdown waits
    /// for it).
    pub fn deferred(&self) -> &BackgroundTasks {
        &self.inner.deferred
    }

    /// Counts finished mail deliveries (sent or left in the outbox), to wait on background delivery.
    pub fn mail_deliveries(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.deliveries.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_leaves_out_the_body() {
        let mail = OutgoingMail {
            user_id: None,
            to: "ada@example.org".into(),
            subject: "Reset your password".into(),
            body: "token: secret-token".into(),
        };
        let printed = format!("{mail:?}");
        assert!(printed.contains("ada@example.org"), "{printed}");
        assert!(!printed.contains("secret-token"), "{printed}");
    }
}
