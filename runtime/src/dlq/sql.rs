//! Dead letters in SQLite or PostgreSQL, one implementation over sqlx's `Any` driver: the
//! two dialects differ only in placeholders, the blob type and row locking, so one store
//! (chosen by the URL) serves the runtime and `eventschema dlq` alike.
//!
//! Two tables share a configurable name: `{table}` holds the letters, `{table}_replays`
//! the replay requests (kept after a replay as its record). Both are created idempotently
//! by [`SqlDlq::migrate`]. Times are UTC milliseconds.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyPool, AssertSqlSafe};

use super::{
    DeadLetter, DeadLetterStore, DlqFilter, DlqPage, ReplayRequest, ReplayStatus, from_millis,
    lease_millis, to_millis,
};
use crate::BoxFuture;
use crate::error::{ErrorClass, StoreError};
use crate::idempotency::check_table_name;

/// How long connecting (and waiting for a pooled connection) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The table name used when none is configured.
pub const DEFAULT_TABLE: &str = "eventschema_dlq";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    fn of(url: &str) -> Result<Self, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" if cfg!(feature = "sqlite") => Ok(Dialect::Sqlite),
            "postgres" | "postgresql" if cfg!(feature = "postgres") => Ok(Dialect::Postgres),
            _ => Err(StoreError::Config(format!(
                "unsupported dead-letter database URL scheme `{scheme}` (this build supports{}{})",
                if cfg!(feature = "sqlite") {
                    " sqlite:"
                } else {
                    ""
                },
                if cfg!(feature = "postgres") {
                    " postgres:"
                } else {
                    ""
                },
            ))),
        }
    }
}

/// A bound value, in the order its placeholder appears in the SQL text.
#[derive(Debug)]
enum Arg {
    Text(String),
    Int(i64),
    OptText(Option<String>),
    Bytes(Vec<u8>),
}

/// Builds a statement's arguments and placeholders together, so their order cannot drift.
#[derive(Debug)]
struct Args {
    dialect: Dialect,
    values: Vec<Arg>,
}

impl Args {
    fn new(dialect: Dialect) -> Self {
        Args {
            dialect,
            values: Vec::new(),
        }
    }

    /// Adds a value; returns its placeholder.
    fn push(&mut self, value: Arg) -> String {
        self.values.push(value);
        match self.dialect {
            Dialect::Sqlite => "?".to_owned(),
            Dialect::Postgres => format!("${}", self.values.len()),
        }
    }

    fn text(&mut self, value: &str) -> String {
        self.push(Arg::Text(value.to_owned()))
    }

    fn int(&mut self, value: i64) -> String {
        self.push(Arg::Int(value))
    }

    /// ` AND ...` conditions for `filter` on the letters table (aliased `prefix`).
    fn filter(&mut self, filter: &DlqFilter, prefix: &str) -> String {
        let mut sql = String::new();
        let mut text = |this: &mut Self, column: &str, value: &Option<String>| {
            if let Some(value) = value {
                let p = this.text(value);
                sql.push_str(&format!(" AND {prefix}{column} = {p}"));
            }
        };
        text(self, "grp", &filter.group);
        text(self, "reason", &filter.reason);
        text(self, "event_type", &filter.event_type);
        if let Some(since) = filter.since {
            let p = self.int(to_millis(since));
            sql.push_str(&format!(" AND {prefix}last_failure_ms >= {p}"));
        }
        if let Some(before) = filter.before {
            let p = self.int(to_millis(before));
            sql.push_str(&format!(" AND {prefix}last_failure_ms < {p}"));
        }
        sql
    }
}

fn query(sql: String, args: Args) -> sqlx::query::Query<'static, Any, sqlx::any::AnyArguments> {
    args.values
        .into_iter()
        .fold(sqlx::query(AssertSqlSafe(sql)), |q, arg| match arg {
            Arg::Text(v) => q.bind(v),
            Arg::Int(v) => q.bind(v),
            Arg::OptText(v) => q.bind(v),
            Arg::Bytes(v) => q.bind(v),
        })
}

fn query_as<O>(
    sql: String,
    args: Args,
) -> sqlx::query::QueryAs<'static, Any, O, sqlx::any::AnyArguments>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
{
    args.values
        .into_iter()
        .fold(sqlx::query_as(AssertSqlSafe(sql)), |q, arg| match arg {
            Arg::Text(v) => q.bind(v),
            Arg::Int(v) => q.bind(v),
            Arg::OptText(v) => q.bind(v),
            Arg::Bytes(v) => q.bind(v),
        })
}

const LETTER_COLUMNS: &str = "id, grp, handler, reason, error_class, error_chain, attempts, \
     first_failure_ms, last_failure_ms, original, attributes";

type LetterRow = (
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Vec<u8>,
    String,
);

fn letter_from_row(row: LetterRow) -> Result<DeadLetter, StoreError> {
    let (id, group, handler, reason, class, chain, attempts, first, last, original, attributes) =
        row;
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("dead letter {id}: {what}: {e}"))
    };
    let error_class = match class.as_str() {
        "transient" => ErrorClass::Transient,
        "permanent" => ErrorClass::Permanent,
        "invalid" => ErrorClass::Invalid,
        other => return Err(corrupt("error class", &other)),
    };
    let error_chain: Vec<String> =
        serde_json::from_str(&chain).map_err(|e| corrupt("error chain", &e))?;
    let attributes: BTreeMap<String, String> =
        serde_json::from_str(&attributes).map_err(|e| corrupt("attributes", &e))?;
    Ok(DeadLetter {
        group,
        handler,
        reason,
        error_class,
        error_chain,
        attempts: u32::try_from(attempts).map_err(|e| corrupt("attempts", &e))?,
        first_failure: from_millis(first)?,
        last_failure: from_millis(last)?,
        original,
        attributes,
        id,
    })
}

const REPLAY_COLUMNS: &str = "letter_id, status, requested_ms, updated_ms, attempts, error";

type ReplayRow = (String, String, i64, i64, i64, Option<String>);

fn replay_from_row(row: ReplayRow) -> Result<ReplayRequest, StoreError> {
    let (letter_id, status, requested, updated, attempts, error) = row;
    Ok(ReplayRequest {
        status: ReplayStatus::parse(&status).ok_or_else(|| {
            StoreError::Corrupt(format!("replay of {letter_id}: status `{status}`"))
        })?,
        requested_at: from_millis(requested)?,
        updated_at: from_millis(updated)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        error,
        letter_id,
    })
}

/// Dead letters and replay requests in a SQLite or PostgreSQL database.
#[derive(Debug, Clone)]
pub struct SqlDlq {
    pool: AnyPool,
    dialect: Dialect,
    table: String,
    replays: String,
}

impl SqlDlq {
    /// Connects to `url` (`sqlite://path?mode=rwc`, `postgres://...`) and creates the
    /// tables if needed. `table` may be schema-qualified on PostgreSQL (`ops.dlq`).
    pub async fn connect(url: &str, table: &str) -> Result<Self, StoreError> {
        let dialect = Dialect::of(url)?;
        check_table_name(table)?;
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(if dialect == Dialect::Sqlite { 1 } else { 4 })
            // An unreachable database is an answer operators want quickly (sqlx waits 30 s).
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect(url)
            .await?;
        let store = SqlDlq {
            pool,
            dialect,
            table: table.to_owned(),
            replays: format!("{table}_replays"),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The letters table's name (the replays table adds `_replays`).
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates both tables and the index if they do not exist.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let (t, r) = (&self.table, &self.replays);
        let blob = match self.dialect {
            Dialect::Sqlite => "BLOB",
            Dialect::Postgres => "BYTEA",
        };
        // An index name cannot be schema-qualified; it lands in its table's schema.
        let index = format!("{}_last_failure", t.replace('.', "_"));
        let index = index.rsplit('.').next().unwrap_or(&index);
        for statement in [
            format!(
                "CREATE TABLE IF NOT EXISTS {t} (id TEXT PRIMARY KEY, grp TEXT, handler TEXT, \
                 reason TEXT NOT NULL, error_class TEXT NOT NULL, error_chain TEXT NOT NULL, \
                 attempts BIGINT NOT NULL, first_failure_ms BIGINT NOT NULL, \
                 last_failure_ms BIGINT NOT NULL, event_type TEXT, original {blob} NOT NULL, \
                 attributes TEXT NOT NULL)"
            ),
            format!("CREATE INDEX IF NOT EXISTS {index} ON {t} (last_failure_ms)"),
            format!(
                "CREATE TABLE IF NOT EXISTS {r} (letter_id TEXT PRIMARY KEY, \
                 status TEXT NOT NULL, requested_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL, \
                 lease_until_ms BIGINT NOT NULL, attempts BIGINT NOT NULL, error TEXT)"
            ),
        ] {
            sqlx::query(AssertSqlSafe(statement))
                .execute(&self.pool)
                .await?;
        }
        if self.dialect == Dialect::Sqlite {
            // Services and `eventschema dlq` share the file: WAL lets readers and the writer
            // proceed together. Best effort: switching needs a moment with no other users.
            if let Err(error) = sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&self.pool)
                .await
            {
                tracing::debug!(%error, "could not switch the dead-letter database to WAL");
            }
        }
        Ok(())
    }

    /// Drops both tables (tests and teardown).
    pub async fn drop_tables(&self) -> Result<(), StoreError> {
        for table in [&self.replays, &self.table] {
            sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}")))
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    fn args(&self) -> Args {
        Args::new(self.dialect)
    }

    async fn put_inner(&self, letter: DeadLetter) -> Result<(), StoreError> {
        let chain = serde_json::to_string(&letter.error_chain)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let attributes = serde_json::to_string(&letter.attributes)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut a = self.args();
        let values = [
            a.text(&letter.id),
            a.push(Arg::OptText(letter.group)),
            a.push(Arg::OptText(letter.handler)),
            a.text(&letter.reason),
            a.text(letter.error_class.as_str()),
            a.push(Arg::Text(chain)),
            a.int(i64::from(letter.attempts)),
            a.int(to_millis(letter.first_failure)),
            a.int(to_millis(letter.last_failure)),
            a.push(Arg::OptText(letter.attributes.get("type").cloned())),
            a.push(Arg::Bytes(letter.original)),
            a.push(Arg::Text(attributes)),
        ]
        .join(", ");
        let t = &self.table;
        query(
            format!(
                "INSERT INTO {t} (id, grp, handler, reason, error_class, error_chain, attempts, \
                 first_failure_ms, last_failure_ms, event_type, original, attributes) \
                 VALUES ({values}) ON CONFLICT (id) DO NOTHING"
            ),
            a,
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_inner(
        &self,
        filter: &DlqFilter,
        page: &DlqPage,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let mut a = self.args();
        let mut conditions = a.filter(filter, "");
        if let Some(after) = &page.after {
            let p = a.text(after);
            conditions.push_str(&format!(" AND id > {p}"));
        }
        let limit = a.int(i64::try_from(page.limit).unwrap_or(i64::MAX));
        let t = &self.table;
        let rows: Vec<LetterRow> = query_as(
            format!(
                "SELECT {LETTER_COLUMNS} FROM {t} WHERE 1 = 1{conditions} ORDER BY id LIMIT {limit}"
            ),
            a,
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(letter_from_row).collect()
    }

    async fn get_inner(&self, id: &str, delete: bool) -> Result<Option<DeadLetter>, StoreError> {
        let mut a = self.args();
        let p = a.text(id);
        let t = &self.table;
        let sql = if delete {
            format!("DELETE FROM {t} WHERE id = {p} RETURNING {LETTER_COLUMNS}")
        } else {
            format!("SELECT {LETTER_COLUMNS} FROM {t} WHERE id = {p}")
        };
        let row: Option<LetterRow> = query_as(sql, a).fetch_optional(&self.pool).await?;
        row.map(letter_from_row).transpose()
    }

    async fn purge_inner(&self, filter: &DlqFilter) -> Result<u64, StoreError> {
        let mut a = self.args();
        let conditions = a.filter(filter, "");
        let t = &self.table;
        let done = query(format!("DELETE FROM {t} WHERE 1 = 1{conditions}"), a)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn replay_inner(&self, id: &str) -> Result<Option<ReplayRequest>, StoreError> {
        let mut a = self.args();
        let p = a.text(id);
        let r = &self.replays;
        let row: Option<ReplayRow> = query_as(
            format!("SELECT {REPLAY_COLUMNS} FROM {r} WHERE letter_id = {p}"),
            a,
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(replay_from_row).transpose()
    }

    async fn request_inner(&self, id: &str) -> Result<Option<ReplayRequest>, StoreError> {
        if self.get_inner(id, false).await?.is_none() {
            return Ok(None);
        }
        let now = to_millis(Utc::now());
        let mut a = self.args();
        let values = [a.text(id), a.int(now), a.int(now)];
        let values = format!("{}, 'requested', {}, {}", values[0], values[1], values[2]);
        let r = &self.replays;
        // A finished request starts over; a waiting or running one is left alone.
        query(
            format!(
                "INSERT INTO {r} AS x (letter_id, status, requested_ms, updated_ms, \
                 lease_until_ms, attempts, error) VALUES ({values}, 0, 0, NULL) \
                 ON CONFLICT (letter_id) DO UPDATE SET status = 'requested', \
                 requested_ms = excluded.requested_ms, updated_ms = excluded.updated_ms, \
                 lease_until_ms = 0, attempts = 0, error = NULL \
                 WHERE x.status IN ('replayed', 'failed')"
            ),
            a,
        )
        .execute(&self.pool)
        .await?;
        self.replay_inner(id).await
    }

    async fn claim_inner(
        &self,
        filter: &DlqFilter,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ReplayRequest>, StoreError> {
        let now = to_millis(Utc::now());
        let mut a = self.args();
        let until = a.int(now.saturating_add(lease_millis(lease)));
        let updated = a.int(now);
        let expired = a.int(now);
        let conditions = a.filter(filter, "l.");
        let limit = a.int(i64::try_from(limit).unwrap_or(i64::MAX));
        // PostgreSQL: competing workers skip each other's rows instead of waiting; SQLite
        // serialises writers, so the UPDATE is atomic as it stands.
        let lock = match self.dialect {
            Dialect::Postgres => " FOR UPDATE OF r SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let (t, r) = (&self.table, &self.replays);
        let rows: Vec<ReplayRow> = query_as(
            format!(
                "UPDATE {r} SET status = 'in-progress', lease_until_ms = {until}, \
                 updated_ms = {updated}, attempts = attempts + 1 \
                 WHERE letter_id IN (SELECT r.letter_id FROM {r} r JOIN {t} l ON l.id = r.letter_id \
                 WHERE (r.status = 'requested' OR (r.status = 'in-progress' \
                 AND r.lease_until_ms <= {expired})){conditions} \
                 ORDER BY r.requested_ms, r.letter_id LIMIT {limit}{lock}) \
                 RETURNING {REPLAY_COLUMNS}"
            ),
            a,
        )
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = rows
            .into_iter()
            .map(replay_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by(|x, y| (x.requested_at, &x.letter_id).cmp(&(y.requested_at, &y.letter_id)));
        Ok(claimed)
    }

    async fn finish_inner(
        &self,
        id: &str,
        outcome: Result<(), String>,
    ) -> Result<bool, StoreError> {
        let mut a = self.args();
        let (status, error) = match outcome {
            Ok(()) => (ReplayStatus::Replayed, None),
            Err(error) => (ReplayStatus::Failed, Some(error)),
        };
        let status = a.text(status.as_str());
        let error = a.push(Arg::OptText(error));
        let updated = a.int(to_millis(Utc::now()));
        let p = a.text(id);
        let r = &self.replays;
        let done = query(
            format!(
                "UPDATE {r} SET status = {status}, error = {error}, updated_ms = {updated} \
                 WHERE letter_id = {p}"
            ),
            a,
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl DeadLetterStore for SqlDlq {
    fn put(&self, letter: DeadLetter) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(self.put_inner(letter))
    }

    fn list_page<'a>(
        &'a self,
        filter: &'a DlqFilter,
        page: &'a DlqPage,
    ) -> BoxFuture<'a, Result<Vec<DeadLetter>, StoreError>> {
        Box::pin(self.list_inner(filter, page))
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DeadLetter>, StoreError>> {
        Box::pin(self.get_inner(id, false))
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DeadLetter>, StoreError>> {
        Box::pin(self.get_inner(id, true))
    }

    fn purge<'a>(&'a self, filter: &'a DlqFilter) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(self.purge_inner(filter))
    }

    fn request_replay<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ReplayRequest>, StoreError>> {
        Box::pin(self.request_inner(id))
    }

    fn claim_replays<'a>(
        &'a self,
        filter: &'a DlqFilter,
        limit: usize,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Vec<ReplayRequest>, StoreError>> {
        Box::pin(self.claim_inner(filter, limit, lease))
    }

    fn finish_replay<'a>(
        &'a self,
        id: &'a str,
        outcome: Result<(), String>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(self.finish_inner(id, outcome))
    }

    fn replay_status<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ReplayRequest>, StoreError>> {
        Box::pin(self.replay_inner(id))
    }
}
