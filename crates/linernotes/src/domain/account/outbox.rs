//! A mail waiting in the outbox: queued while a request runs, removed once a mail server took it.

use chrono::{DateTime, Utc};

use super::REDACTED;

/// A mail in the outbox (`Debug` leaves out the body, which carries a token).
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxMail {
    /// Sequence number.
    pub id: i64,
    /// Recipient.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// When queued.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for OutboxMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMail")
            .field("id", &self.id)
            .field("recipient", &self.recipient)
            .field("subject", &self.subject)
            .field("body", &REDACTED)
            .field("created_at", &self.created_at)
            .finish()
    }
}
