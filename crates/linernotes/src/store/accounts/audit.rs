//! The audit log: appended to in the transaction of the change it records, read newest first. Rows are
//! never updated; only the purge removes a purged account's own entries.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PgAccountRepo;
use crate::domain::account::{AuditEntry, AuditFilter, NewAuditEntry};
use crate::store::StoreError;

/// Persistence of the audit log.
#[async_trait]
pub trait AuditRepo: Send + Sync {
    /// Appends an audit entry.
    async fn audit(&self, entry: NewAuditEntry<'_>) -> Result<(), StoreError>;
    /// Reads the audit log, newest first.
    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: DateTime<Utc>,
    action: String,
    actor_id: Option<Uuid>,
    subject_id: Option<Uuid>,
    ip: Option<String>,
    user_agent: Option<String>,
    details: serde_json::Value,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            id: r.id,
            at: r.at,
            action: r.action,
            actor_id: r.actor_id,
            subject_id: r.subject_id,
            ip: r.ip,
            user_agent: r.user_agent,
            details: r.details,
        }
    }
}

/// Appends an entry on `executor`: the pool, or the transaction of the change it records.
pub(super) async fn insert_audit(
    executor: impl sqlx::PgExecutor<'_>,
    e: &NewAuditEntry<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (at, action, actor_id, subject_id, ip, user_agent, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.at)
    .bind(e.action.as_str())
    .bind(e.actor_id)
    .bind(e.subject_id)
    .bind(e.context.ip.map(|ip| ip.to_string()))
    .bind(e.context.user_agent.as_deref())
    .bind(&e.details)
    .execute(executor)
    .await?;
    Ok(())
}

#[async_trait]
impl AuditRepo for PgAccountRepo {
    async fn audit(&self, entry: NewAuditEntry<'_>) -> Result<(), StoreError> {
        insert_audit(&self.pool, &entry).await?;
        Ok(())
    }

    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, action, actor_id, subject_id, ip, user_agent, details FROM audit_log
             WHERE ($1::uuid IS NULL OR subject_id = $1 OR actor_id = $1)
               AND ($2::text IS NULL OR action = $2)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(filter.user_id)
        .bind(filter.action.map(|a| a.as_str()))
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }
}
