//! The mail outbox: every mail is queued here while its request runs and removed once a mail server
//! took it, so a mail that could not be sent stays readable for an operator.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PgAccountRepo;
use crate::domain::account::OutboxMail;
use crate::store::StoreError;

/// Persistence of the mail outbox.
#[async_trait]
pub trait OutboxRepo: Send + Sync {
    /// Queues a mail in the outbox; answers its ID.
    async fn enqueue_mail(
        &self,
        user_id: Option<Uuid>,
        recipient: &str,
        subject: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Removes a mail from the outbox (it was sent).
    async fn remove_from_outbox(&self, id: i64) -> Result<(), StoreError>;
    /// The outbox mails to one recipient, newest first.
    async fn outbox_for(&self, recipient: &str) -> Result<Vec<OutboxMail>, StoreError>;
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: i64,
    recipient: String,
    subject: String,
    body: String,
    created_at: DateTime<Utc>,
}

impl From<OutboxRow> for OutboxMail {
    fn from(r: OutboxRow) -> Self {
        OutboxMail {
            id: r.id,
            recipient: r.recipient,
            subject: r.subject,
            body: r.body,
            created_at: r.created_at,
        }
    }
}

#[async_trait]
impl OutboxRepo for PgAccountRepo {
    async fn enqueue_mail(
        &self,
        user_id: Option<Uuid>,
        recipient: &str,
        subject: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO mail_outbox (user_id, recipient, subject, body, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user_id)
        .bind(recipient)
        .bind(subject)
        .bind(body)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn remove_from_outbox(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM mail_outbox WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn outbox_for(&self, recipient: &str) -> Result<Vec<OutboxMail>, StoreError> {
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT id, recipient, subject, body, created_at FROM mail_outbox
             WHERE lower(recipient) = lower($1) ORDER BY id DESC",
        )
        .bind(recipient)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(OutboxMail::from).collect())
    }
}
