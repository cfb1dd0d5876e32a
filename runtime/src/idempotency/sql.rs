//! The SQL idempotency store, written once for SQLite and PostgreSQL: [`SqlStore`] is generic
//! over the sqlx driver, and `sqlite::SqliteStore` and `postgres::PgStore` are its two
//! instances.
//!
//! The claim is a unique insert (`INSERT ... ON CONFLICT DO UPDATE ... WHERE` the row's
//! lease ran out) with a lease, so only an expired row is taken over. The statements are
//! rendered once per store with `$n` placeholders, which sqlx's SQLite driver reads as
//! PostgreSQL does. Each store keeps its typed pool (PostgreSQL's inbox hands the handler a
//! `PgConnection`), so the statements run through a small executor that is generic over the
//! driver instead of sqlx's `Any`. Times are UTC milliseconds.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::{Claim, ClaimToken, DedupKey, IdempotencyStore, check_table_name, millis};
use crate::BoxFuture;
use crate::error::StoreError;

/// A key's row while its handler runs: `owner` holds the claim's token until `until_ms`.
const CLAIMED: &str = "claimed";
/// A handled key's row: no owner, kept until `until_ms` (the retention).
const DONE: &str = "done";

/// Idempotency keys in a SQL table, on SQLite or PostgreSQL (`schema.table` allowed there).
pub struct SqlStore<DB: Database> {
    pool: Pool<DB>,
    sql: Statements,
}

// By hand: derived impls would ask the driver's marker type to be `Clone` and `Debug`.
impl<DB: Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        SqlStore {
            pool: self.pool.clone(),
            sql: self.sql.clone(),
        }
    }
}

impl<DB: Database> fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStore")
            .field("pool", &self.pool)
            .field("table", &self.sql.table)
            .finish()
    }
}

/// Every statement of the store, rendered for its table when the store is made.
#[derive(Debug, Clone)]
struct Statements {
    table: Arc<str>,
    create: Arc<str>,
    take: Arc<str>,
    read: Arc<str>,
    complete: Arc<str>,
    extend: Arc<str>,
    release: Arc<str>,
    purge: Arc<str>,
}

impl Statements {
    fn new(t: &str) -> Self {
        let sql = |text: String| Arc::<str>::from(text);
        Statements {
            table: Arc::from(t),
            create: sql(format!(
                "CREATE TABLE IF NOT EXISTS {t} (grp TEXT NOT NULL, key TEXT NOT NULL, \
                 fingerprint TEXT NOT NULL, state TEXT NOT NULL, owner TEXT, \
                 until_ms BIGINT NOT NULL, PRIMARY KEY (grp, key))"
            )),
            take: sql(format!(
                "INSERT INTO {t} AS t (grp, key, fingerprint, state, owner, until_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (grp, key) DO UPDATE SET fingerprint = excluded.fingerprint, \
                 state = excluded.state, owner = excluded.owner, until_ms = excluded.until_ms \
                 WHERE t.until_ms <= $7"
            )),
            read: sql(format!(
                "SELECT fingerprint, state, until_ms FROM {t} WHERE grp = $1 AND key = $2"
            )),
            complete: sql(format!(
                "UPDATE {t} SET state = '{DONE}', owner = NULL, until_ms = $1 \
                 WHERE grp = $2 AND key = $3 AND state = '{CLAIMED}' AND owner = $4"
            )),
            // An expired lease is lost even if nobody took it over yet: extending it could
            // race with a claimer that saw it expired.
            extend: sql(format!(
                "UPDATE {t} SET until_ms = $1 WHERE grp = $2 AND key = $3 \
                 AND state = '{CLAIMED}' AND owner = $4 AND until_ms > $5"
            )),
            release: sql(format!(
                "DELETE FROM {t} WHERE grp = $1 AND key = $2 AND state = '{CLAIMED}' \
                 AND owner = $3"
            )),
            purge: sql(format!("DELETE FROM {t} WHERE until_ms <= $1")),
        }
    }
}

/// A bound value; the `n`th in a slice fills placeholder `$n`.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Text(&'a str),
    MaybeText(Option<&'a str>),
    Int(i64),
}

/// A key's row as read back: fingerprint, state, until (ms).
type KeyRow = (String, String, i64);

/// The one fact about a driver the stores need and sqlx offers only per driver: how many
/// rows a statement changed.
pub(super) trait RowsAffected {
    fn count(&self) -> u64;
}

/// What the store needs of a sqlx driver, implemented once below for every driver that
/// has it; the bounds are written only there, so the store's code names just `Backend`.
trait Backend: Database {
    /// The statement with its values bound (sqlx copies them into its arguments).
    fn bound(sql: &Arc<str>, values: &[Value<'_>]) -> Query<'static, Self, Self::Arguments>;

    /// Runs a statement; returns how many rows it changed.
    fn execute<'a>(
        conn: &'a mut Self::Connection,
        sql: &Arc<str>,
        values: &[Value<'_>],
    ) -> BoxFuture<'a, Result<u64, StoreError>>;

    /// Runs a query for at most one key row.
    fn fetch_row<'a>(
        conn: &'a mut Self::Connection,
        sql: &Arc<str>,
        values: &[Value<'_>],
    ) -> BoxFuture<'a, Result<Option<KeyRow>, StoreError>>;
}

impl<DB> Backend for DB
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> KeyRow: FromRow<'r, DB::Row>,
{
    fn bound(sql: &Arc<str>, values: &[Value<'_>]) -> Query<'static, DB, DB::Arguments> {
        values.iter().fold(
            sqlx::query(AssertSqlSafe(Arc::clone(sql))),
            |query, value| match *value {
                Value::Text(v) => query.bind(v),
                Value::MaybeText(v) => query.bind(v),
                Value::Int(v) => query.bind(v),
            },
        )
    }

    fn execute<'a>(
        conn: &'a mut Self::Connection,
        sql: &Arc<str>,
        values: &[Value<'_>],
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        let query = DB::bound(sql, values);
        Box::pin(async move { Ok(query.execute(conn).await?.count()) })
    }

    fn fetch_row<'a>(
        conn: &'a mut Self::Connection,
        sql: &Arc<str>,
        values: &[Value<'_>],
    ) -> BoxFuture<'a, Result<Option<KeyRow>, StoreError>> {
        let query = DB::bound(sql, values);
        Box::pin(async move {
            match query.fetch_optional(conn).await? {
                Some(row) => Ok(Some(KeyRow::from_row(&row)?)),
                None => Ok(None),
            }
        })
    }
}

/// The row a caller takes a key with.
#[derive(Debug, Clone, Copy)]
pub(super) enum Taking<'a> {
    /// A claim held by this token until the lease runs out.
    Claim(&'a ClaimToken),
    /// Handled at once (the inbox, inside the handler's transaction).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Done,
}

/// What taking a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Taken {
    /// The row is ours: newly inserted, or an expired one taken over.
    Ours,
    /// A live row is there; what it means for the caller.
    Held(Claim),
    /// The row that blocked the insert was gone when read (released or purged meanwhile).
    Gone,
}

impl<DB: Database> SqlStore<DB> {
    /// A store over `pool` in `table` (created by [`SqlStore::migrate`]).
    pub fn new(pool: Pool<DB>, table: &str) -> Result<Self, StoreError> {
        check_table_name(table)?;
        Ok(SqlStore {
            pool,
            sql: Statements::new(table),
        })
    }

    /// The pool the store runs on (for the caller's own queries and transactions).
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }
}

#[expect(
    private_bounds,
    reason = "the drivers are a closed set (SQLite, PostgreSQL), named through the aliases"
)]
impl<DB: Backend> SqlStore<DB> {
    /// Creates the table if it does not exist.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.run(&self.sql.create, &[]).await?;
        Ok(())
    }

    /// Inserts the key's row, or takes over an expired one, in one statement; otherwise
    /// reads the row that is there. Runs on `conn` so that the inbox can take the key inside
    /// the handler's transaction.
    pub(super) async fn take(
        &self,
        conn: &mut DB::Connection,
        key: &DedupKey,
        taking: Taking<'_>,
        until: i64,
        now: i64,
    ) -> Result<Taken, StoreError> {
        let (state, owner) = match taking {
            Taking::Claim(token) => (CLAIMED, Some(token.0.as_str())),
            Taking::Done => (DONE, None),
        };
        let inserted = DB::execute(
            &mut *conn,
            &self.sql.take,
            &[
                Value::Text(&key.group),
                Value::Text(&key.key),
                Value::Text(&key.fingerprint),
                Value::Text(state),
                Value::MaybeText(owner),
                Value::Int(until),
                Value::Int(now),
            ],
        )
        .await?;
        if inserted == 1 {
            return Ok(Taken::Ours);
        }
        let row = DB::fetch_row(
            conn,
            &self.sql.read,
            &[Value::Text(&key.group), Value::Text(&key.key)],
        )
        .await?;
        Ok(match row {
            Some((fingerprint, state, until)) => {
                Taken::Held(decide_conflict(key, &fingerprint, &state, until, now))
            }
            None => Taken::Gone,
        })
    }

    async fn claim_inner(&self, key: &DedupKey, lease: Duration) -> Result<Claim, StoreError> {
        let mut conn = self.pool.acquire().await?;
        // The row that blocked the insert can vanish before it is read: insert again.
        for _ in 0..3 {
            let now = now_millis();
            let token = ClaimToken::new();
            let until = now.saturating_add(millis(lease));
            match self
                .take(&mut conn, key, Taking::Claim(&token), until, now)
                .await?
            {
                Taken::Ours => return Ok(Claim::Acquired(token)),
                Taken::Held(claim) => return Ok(claim),
                Taken::Gone => {}
            }
        }
        Err(StoreError::Corrupt("claim did not settle".into()))
    }

    /// Runs one statement on a pooled connection; returns how many rows it changed.
    async fn run(&self, sql: &Arc<str>, values: &[Value<'_>]) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        DB::execute(&mut conn, sql, values).await
    }
}

impl<DB: Backend> IdempotencyStore for SqlStore<DB> {
    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(self.claim_inner(key, lease))
    }

    fn complete<'a>(
        &'a self,
        key: &'a DedupKey,
        token: &'a ClaimToken,
        retention: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let until = now_millis().saturating_add(millis(retention));
            let values = [
                Value::Int(until),
                Value::Text(&key.group),
                Value::Text(&key.key),
                Value::Text(&token.0),
            ];
            Ok(self.run(&self.sql.complete, &values).await? == 1)
        })
    }

    fn extend<'a>(
        &'a self,
        key: &'a DedupKey,
        token: &'a ClaimToken,
        lease: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let now = now_millis();
            let values = [
                Value::Int(now.saturating_add(millis(lease))),
                Value::Text(&key.group),
                Value::Text(&key.key),
                Value::Text(&token.0),
                Value::Int(now),
            ];
            Ok(self.run(&self.sql.extend, &values).await? == 1)
        })
    }

    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        token: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let values = [
                Value::Text(&key.group),
                Value::Text(&key.key),
                Value::Text(&token.0),
            ];
            self.run(&self.sql.release, &values).await?;
            Ok(())
        })
    }

    fn purge_expired(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move { self.run(&self.sql.purge, &[Value::Int(now_millis())]).await })
    }
}

pub(super) fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// What a live row that blocked the insert means to a claimer.
fn decide_conflict(key: &DedupKey, fingerprint: &str, state: &str, until: i64, now: i64) -> Claim {
    if fingerprint != key.fingerprint {
        Claim::KeyReuse
    } else if state == DONE {
        Claim::Completed
    } else {
        let left = u64::try_from(until.saturating_sub(now)).unwrap_or(0);
        Claim::InProgress(Duration::from_millis(left))
    }
}
