//! Mail delivery for verification and reset links. Every mail is written to the `mail_outbox` table
//! and announced by a log line (without the link, which is a credential), so an operator without SMTP
//! can read it there and act.

use std::sync::Arc;

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
