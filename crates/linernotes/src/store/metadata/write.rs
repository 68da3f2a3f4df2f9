//! Writing a fetched entity: its normalised rows, external IDs and raw payload, and the redirect of a
//! merged MBID, inside the caller's transaction. Which rows an entity becomes is
//! [`crate::store::rows`]'s, as for the dump import; this file gathers them column by column and
//! writes each table with one statement.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::domain::{Entity, EntityKind, Mbid};
use crate::store::rows::{entity_rows, CatalogueTable, RowSink, Table, CATALOGUE_TABLES};

use super::*;

/// Records that `old` now answers as `new`, re-points older redirects to `new`, and drops the stored
/// copy of `old` (its data now lives under `new`).
pub(super) async fn record_redirect(
    tx: &mut Transaction<'_, Postgres>,
    old: Mbid,
    new: Mbid,
    kind: EntityKind,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mbid_redirect (old_mbid, new_mbid, kind) VALUES ($1, $2, $3) \
         ON CONFLICT (old_mbid) DO UPDATE SET new_mbid = EXCLUDED.new_mbid, recorded_at = now()",
    )
    .bind(old.as_uuid())
    .bind(new.as_uuid())
    .bind(kind.as_str())
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE mbid_redirect SET new_mbid = $2 WHERE new_mbid = $1")
        .bind(old.as_uuid())
        .bind(new.as_uuid())
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM mbid_redirect WHERE old_mbid = $1")
        .bind(new.as_uuid())
        .execute(&mut **tx)
        .await?;
    // The user library follows the merge in this same transaction.
    crate::store::library::follow_merge(tx, old, new).await?;
    sqlx::query("DELETE FROM entity WHERE mbid = $1")
        .bind(old.as_uuid())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(super) async fn write_raw_payload(
    tx: &mut Transaction<'_, Postgres>,
    mbid: Mbid,
    provider: &str,
    request: &str,
    payload: &serde_json::Value,
    fetched_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO raw_payload (entity_mbid, provider, request, payload, fetched_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (entity_mbid, provider, request) \
         DO UPDATE SET payload = EXCLUDED.payload, fetched_at = EXCLUDED.fetched_at",
    )
    .bind(mbid.as_uuid())
    .bind(provider)
    .bind(request)
    .bind(Json(payload))
    .bind(fetched_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The raw pages of a browsed list as stored beside it: `[{"request", "payload"}, …]`.
pub(super) fn raw_pages(pages: &[(String, serde_json::Value)]) -> Vec<serde_json::Value> {
    pages
        .iter()
        .map(|(request, payload)| serde_json::json!({"request": request, "payload": payload}))
        .collect()
}

/// Replaces every row of one entity: the `entity` row (taking its lock first), the kind's row and all
/// its parts. A summary (`complete` false) never replaces a complete entity.
pub(super) async fn write_entity_rows(
    tx: &mut Transaction<'_, Postgres>,
    entity: &Entity,
    complete: bool,
    fetched_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut rows = Gathered::new(complete, fetched_at);
    entity_rows(entity, &mut rows);
    let mbid = entity.mbid().as_uuid();
    // The upsert locks the entity's row and, also when a lookup commits concurrently, only updates
    // when the stored copy is a summary or this one is complete.
    let entity_table = Table::Entity.def();
    let sql = format!(
        "{} WHERE EXCLUDED.complete OR NOT entity.complete RETURNING mbid",
        upsert_sql(entity_table, &rows.tables[Table::Entity.index()])
    );
    let written = bind_row(sqlx::query(&sql), &rows.tables[Table::Entity.index()])
        .fetch_optional(&mut **tx)
        .await?;
    if written.is_none() {
        return Ok(());
    }
    sqlx::query(&DELETE_PARTS_SQL)
        .bind(mbid)
        .execute(&mut **tx)
        .await?;
    for (table, columns) in CATALOGUE_TABLES.iter().zip(&rows.tables).skip(1) {
        let Some(first) = columns.first() else {
            continue;
        };
        if first.is_empty() {
            continue;
        }
        if table.is_per_entity() {
            bind_row(sqlx::query(&upsert_sql(table, columns)), columns)
                .execute(&mut **tx)
                .await?;
        } else {
            let sql = insert_sql(table, columns);
            columns
                .iter()
                .fold(sqlx::query(&sql), |query, column| column.bind_all(query))
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Deletes every part of an entity (the rows of the tables not keyed by `mbid`) in one statement,
/// before they are written again.
static DELETE_PARTS_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let deletes: Vec<String> = CATALOGUE_TABLES
        .iter()
        .filter(|t| !t.is_per_entity())
        .enumerate()
        .map(|(i, t)| {
            format!(
                "d{i} AS (DELETE FROM {} WHERE {} = $1)",
                t.name, t.entity_column
            )
        })
        .collect();
    // Data-modifying WITH clauses run once and to completion whatever the main query reads.
    format!("WITH {} SELECT 1", deletes.join(", "))
});

/// `INSERT … VALUES (…) ON CONFLICT (mbid) DO UPDATE SET …` of the one row of a table keyed by
/// `mbid`.
fn upsert_sql(table: &CatalogueTable, columns: &[Column]) -> String {
    let names: Vec<&str> = table.columns.split(',').map(str::trim).collect();
    let params: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    let updates: Vec<String> = names
        .iter()
        .filter(|name| **name != "mbid")
        .map(|name| format!("{name} = EXCLUDED.{name}"))
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (mbid) DO UPDATE SET {}",
        table.name,
        table.columns,
        params.join(", "),
        updates.join(", ")
    )
}

/// `INSERT … SELECT * FROM UNNEST(…)` of many rows of a part table, one array per column.
fn insert_sql(table: &CatalogueTable, columns: &[Column]) -> String {
    let arrays: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| format!("${}::{}", i + 1, column.array_type()))
        .collect();
    format!(
        "INSERT INTO {} ({}) SELECT * FROM UNNEST({}) ON CONFLICT DO NOTHING",
        table.name,
        table.columns,
        arrays.join(", ")
    )
}

/// Binds the first (only) row of `columns`, one parameter per column.
fn bind_row<'q>(
    query: Query<'q, Postgres, PgArguments>,
    columns: &'q [Column],
) -> Query<'q, Postgres, PgArguments> {
    columns
        .iter()
        .fold(query, |query, column| column.bind_first(query))
}

/// The values of one column of gathered rows, typed for binding.
#[derive(Debug)]
enum Column {
    Uuid(Vec<Option<Uuid>>),
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
    Texts(Vec<Vec<String>>),
    Time(Vec<DateTime<Utc>>),
}

impl Column {
    fn is_empty(&self) -> bool {
        match self {
            Column::Uuid(v) => v.is_empty(),
            Column::Text(v) => v.is_empty(),
            Column::Int(v) => v.is_empty(),
            Column::Bool(v) => v.is_empty(),
            Column::Texts(v) => v.is_empty(),
            Column::Time(v) => v.is_empty(),
        }
    }

    /// The array type its values are bound as (integers as `int8`, assigned to `integer` columns).
    fn array_type(&self) -> &'static str {
        match self {
            Column::Uuid(_) => "uuid[]",
            Column::Text(_) => "text[]",
            Column::Int(_) => "int8[]",
            Column::Bool(_) => "bool[]",
            // A part table has no array column (UNNEST would flatten it).
            Column::Texts(_) => "text[][]",
            Column::Time(_) => "timestamptz[]",
        }
    }

    fn bind_all<'q>(
        &'q self,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        match self {
            Column::Uuid(v) => query.bind(v),
            Column::Text(v) => query.bind(v),
            Column::Int(v) => query.bind(v),
            Column::Bool(v) => query.bind(v),
            Column::Texts(v) => query.bind(v.first()),
            Column::Time(v) => query.bind(v),
        }
    }

    fn bind_first<'q>(
        &'q self,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        match self {
            Column::Uuid(v) => query.bind(v.first().copied().flatten()),
            Column::Text(v) => query.bind(v.first().cloned().flatten()),
            Column::Int(v) => query.bind(v.first().copied().flatten()),
            Column::Bool(v) => query.bind(v.first().copied().flatten()),
            Column::Texts(v) => query.bind(v.first().cloned().unwrap_or_default()),
            Column::Time(v) => query.bind(v.first().copied()),
        }
    }
}

/// The rows of one entity, gathered per table and column.
struct Gathered {
    complete: bool,
    fetched_at: DateTime<Utc>,
    /// Per table (indexed like [`CATALOGUE_TABLES`]), its columns in order.
    tables: Vec<Vec<Column>>,
    /// The table of the row being gathered.
    current: usize,
    /// The column the next value belongs to.
    next: usize,
}

impl Gathered {
    fn new(complete: bool, fetched_at: DateTime<Utc>) -> Self {
        Gathered {
            complete,
            fetched_at,
            tables: CATALOGUE_TABLES.iter().map(|_| Vec::new()).collect(),
            current: 0,
            next: 0,
        }
    }

    /// The next column of the row being gathered, made by `empty` on the table's first row.
    fn column(&mut self, empty: fn() -> Column) -> &mut Column {
        let columns = &mut self.tables[self.current];
        if columns.len() == self.next {
            columns.push(empty());
        }
        self.next += 1;
        &mut columns[self.next - 1]
    }
}

/// Pushes `$value` onto the next column, which holds values of `$variant`.
macro_rules! gather {
    ($self:ident, $variant:ident, $value:expr) => {{
        match $self.column(|| Column::$variant(Vec::new())) {
            Column::$variant(values) => values.push($value),
            other => debug_assert!(
                false,
                "a {} value in a column of {other:?}",
                stringify!($variant)
            ),
        }
    }};
}

impl RowSink for Gathered {
    fn begin(&mut self, table: Table) -> &mut Self {
        self.current = table.index();
        self.next = 0;
        self
    }

    fn opt_uuid(&mut self, value: Option<Uuid>) -> &mut Self {
        gather!(self, Uuid, value);
        self
    }

    fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        gather!(self, Text, value.map(str::to_owned));
        self
    }

    fn opt_int(&mut self, value: Option<i64>) -> &mut Self {
        gather!(self, Int, value);
        self
    }

    fn opt_bool(&mut self, value: Option<bool>) -> &mut Self {
        gather!(self, Bool, value);
        self
    }

    fn texts(&mut self, values: &[String]) -> &mut Self {
        gather!(self, Texts, values.to_vec());
        self
    }

    fn stamp(&mut self) -> &mut Self {
        let (complete, fetched_at) = (self.complete, self.fetched_at);
        gather!(self, Bool, Some(complete));
        gather!(self, Time, fetched_at);
        self
    }

    fn end(&mut self) {}
}
