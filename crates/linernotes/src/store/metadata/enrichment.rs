//! What enrichers reported per entity and provider: facts, outcome and retry schedule.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::super::StoreError;
use super::write::write_raw_payload;
use crate::domain::enrichment::{Facts, Link};
use crate::domain::{EntityId, Mbid};

/// How the latest enrichment attempt of one provider for one entity ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrichmentOutcome {
    /// The provider reported facts.
    Found,
    /// The provider knows nothing of the entity.
    NotFound,
    /// The attempt failed; the facts of the last success (if any) are kept.
    Failed,
}

impl EnrichmentOutcome {
    fn as_str(self) -> &'static str {
        match self {
            EnrichmentOutcome::Found => "found",
            EnrichmentOutcome::NotFound => "not_found",
            EnrichmentOutcome::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "found" => Ok(EnrichmentOutcome::Found),
            "not_found" => Ok(EnrichmentOutcome::NotFound),
            "failed" => Ok(EnrichmentOutcome::Failed),
            other => Err(StoreError::Corrupt(format!("enrichment outcome '{other}'"))),
        }
    }
}

/// One provider's stored enrichment of one entity.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEnrichment {
    /// The provider.
    pub provider: String,
    /// How the latest attempt ended.
    pub outcome: EnrichmentOutcome,
    /// What the provider reported at its last success.
    pub facts: Facts,
    /// When that success was.
    pub fetched_at: Option<DateTime<Utc>>,
    /// When it was last asked.
    pub attempted_at: DateTime<Utc>,
    /// Failures in a row.
    pub failures: i32,
    /// The latest failure.
    pub last_error: Option<String>,
    /// When to ask again after a failure.
    pub retry_at: Option<DateTime<Utc>>,
}

/// One enrichment attempt to record.
#[derive(Debug, Clone)]
pub struct EnrichmentWrite<'a> {
    /// The entity.
    pub mbid: Mbid,
    /// The provider.
    pub provider: &'a str,
    /// How it ended; with `Found`, the facts and the raw answer.
    pub result: EnrichmentResult<'a>,
    /// When.
    pub at: DateTime<Utc>,
}

/// What an attempt brought.
#[derive(Debug, Clone)]
pub enum EnrichmentResult<'a> {
    /// Facts parsed from `raw` (asked as `request`).
    Found {
        /// The parsed facts.
        facts: &'a Facts,
        /// The request shape.
        request: &'a str,
        /// The raw answer.
        raw: &'a serde_json::Value,
    },
    /// The provider has nothing.
    NotFound,
    /// The attempt failed: why, and when to try again.
    Failed {
        /// What went wrong.
        error: &'a str,
        /// When to try again.
        retry_at: DateTime<Utc>,
    },
}

/// Every enrichment of the entity `e` (an `entity` row in the enclosing query) as one JSON array
/// column, `enrichments`, ordered by provider: the entity's read takes its enrichments in the same
/// round trip.
pub(super) const ENRICHMENTS_COLUMN: &str = r#"
    (SELECT coalesce(jsonb_agg(jsonb_build_object('provider', n.provider, 'outcome', n.outcome,
                               'facts', n.facts, 'fetched_at', n.fetched_at,
                               'attempted_at', n.attempted_at, 'failures', n.failures,
                               'last_error', n.last_error, 'retry_at', n.retry_at)
                               ORDER BY n.provider), '[]')
       FROM enrichment n WHERE n.entity_mbid = e.mbid) AS enrichments
"#;

/// One element of [`ENRICHMENTS_COLUMN`].
#[derive(Deserialize)]
struct EnrichmentRow {
    provider: String,
    outcome: String,
    facts: Facts,
    fetched_at: Option<DateTime<Utc>>,
    attempted_at: DateTime<Utc>,
    failures: i32,
    last_error: Option<String>,
    retry_at: Option<DateTime<Utc>>,
}

/// The `enrichments` column of `row` (see [`ENRICHMENTS_COLUMN`]).
pub(super) fn decode_enrichments(row: &PgRow) -> Result<Vec<StoredEnrichment>, StoreError> {
    let Json(rows): Json<Vec<EnrichmentRow>> = row.try_get("enrichments")?;
    rows.into_iter()
        .map(|row| {
            Ok(StoredEnrichment {
                outcome: EnrichmentOutcome::parse(&row.outcome)?,
                provider: row.provider,
                facts: row.facts,
                fetched_at: row.fetched_at,
                attempted_at: row.attempted_at,
                failures: row.failures,
                last_error: row.last_error,
                retry_at: row.retry_at,
            })
        })
        .collect()
}

pub(super) async fn find_enrichments(
    pool: &PgPool,
    mbid: Mbid,
) -> Result<Vec<StoredEnrichment>, StoreError> {
    let row = sqlx::query(&ENRICHMENTS_SQL)
        .bind(mbid.as_uuid())
        .fetch_one(pool)
        .await?;
    decode_enrichments(&row)
}

/// The enrichments of the entity `$1` alone.
static ENRICHMENTS_SQL: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {ENRICHMENTS_COLUMN} FROM (SELECT $1::uuid AS mbid) e"));

pub(super) async fn save_enrichment(
    pool: &PgPool,
    write: EnrichmentWrite<'_>,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let mbid: Uuid = write.mbid.as_uuid();
    // The entity may have been merged away meanwhile: then there is nothing to enrich.
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM entity WHERE mbid = $1 FOR SHARE")
        .bind(mbid)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Ok(());
    }
    match write.result {
        EnrichmentResult::Found {
            facts,
            request,
            raw,
        } => {
            upsert_success(&mut tx, &write, EnrichmentOutcome::Found, facts).await?;
            replace_links(&mut tx, write.mbid, write.provider, &facts.links).await?;
            write_raw_payload(&mut tx, write.mbid, write.provider, request, raw, write.at).await?;
        }
        EnrichmentResult::NotFound => {
            upsert_success(
                &mut tx,
                &write,
                EnrichmentOutcome::NotFound,
                &Facts::default(),
            )
            .await?;
            replace_links(&mut tx, write.mbid, write.provider, &[]).await?;
        }
        EnrichmentResult::Failed { error, retry_at } => {
            sqlx::query(
                "INSERT INTO enrichment (entity_mbid, provider, outcome, attempted_at, failures, \
                     last_error, retry_at) VALUES ($1, $2, 'failed', $3, 1, $4, $5) \
                 ON CONFLICT (entity_mbid, provider) DO UPDATE SET outcome = 'failed', \
                     attempted_at = EXCLUDED.attempted_at, failures = enrichment.failures + 1, \
                     last_error = EXCLUDED.last_error, retry_at = EXCLUDED.retry_at",
            )
            .bind(mbid)
            .bind(write.provider)
            .bind(write.at)
            .bind(error)
            .bind(retry_at)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn failures_by_provider(pool: &PgPool) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT provider, count(*) FROM enrichment WHERE outcome = 'failed' \
         GROUP BY provider ORDER BY provider",
    )
    .fetch_all(pool)
    .await?)
}

/// Replaces the links `provider` made for the entity with `links` (those whose ID does not parse are
/// left out; a link already made by another provider stays theirs).
async fn replace_links(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    mbid: Mbid,
    provider: &str,
    links: &[Link],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM entity_link WHERE entity_mbid = $1 AND provider = $2")
        .bind(mbid.as_uuid())
        .bind(provider)
        .execute(&mut **tx)
        .await?;
    for link in links {
        let Ok(id) = EntityId::parse(&link.id) else {
            continue;
        };
        sqlx::query(
            "INSERT INTO entity_link (entity_mbid, namespace, value, provider, url, method, confidence) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(mbid.as_uuid())
        .bind(id.namespace().as_str())
        .bind(id.value())
        .bind(provider)
        .bind(&link.url)
        .bind(link.method.as_str())
        .bind(link.confidence.clamp(0.0, 1.0) as f32)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn upsert_success(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    write: &EnrichmentWrite<'_>,
    outcome: EnrichmentOutcome,
    facts: &Facts,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO enrichment (entity_mbid, provider, outcome, facts, fetched_at, attempted_at, \
             failures, last_error, retry_at) VALUES ($1, $2, $3, $4, $5, $5, 0, NULL, NULL) \
         ON CONFLICT (entity_mbid, provider) DO UPDATE SET outcome = EXCLUDED.outcome, \
             facts = EXCLUDED.facts, fetched_at = EXCLUDED.fetched_at, \
             attempted_at = EXCLUDED.attempted_at, failures = 0, last_error = NULL, retry_at = NULL",
    )
    .bind(write.mbid.as_uuid())
    .bind(write.provider)
    .bind(outcome.as_str())
    .bind(Json(facts))
    .bind(write.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What the outcome's name is in the store, for status reports.
impl std::fmt::Display for EnrichmentOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
