//! The SQLite idempotency store: a unique-insert claim (`INSERT ... ON CONFLICT`) with a
//! lease, taking over only expired rows. Times are UTC milliseconds.

use std::time::Duration;

use sqlx::SqlitePool;

use super::{
    Claim, ClaimToken, DedupKey, IdempotencyStore, check_table_name, decide_conflict, millis,
    now_millis,
};
use sqlx::AssertSqlSafe;

use crate::BoxFuture;
use crate::error::StoreError;

/// Idempotency keys in a SQLite table.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    table: String,
}

impl SqliteStore {
    /// A store over `pool` in `table` (created by [`SqliteStore::migrate`]).
    pub fn new(pool: SqlitePool, table: &str) -> Result<Self, StoreError> {
        check_table_name(table)?;
        Ok(SqliteStore {
            pool,
            table: table.to_owned(),
        })
    }

    /// Creates the table if it does not exist.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let t = &self.table;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {t} (grp TEXT NOT NULL, key TEXT NOT NULL, \
             fingerprint TEXT NOT NULL, state TEXT NOT NULL, owner TEXT, \
             until_ms INTEGER NOT NULL, PRIMARY KEY (grp, key))"
        )))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn claim_inner(&self, key: &DedupKey, lease: Duration) -> Result<Claim, StoreError> {
        let t = &self.table;
        for _ in 0..3 {
            let now = now_millis();
            let token = ClaimToken::new();
            let inserted = sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO {t} (grp, key, fingerprint, state, owner, until_ms) \
                 VALUES (?, ?, ?, 'claimed', ?, ?) \
                 ON CONFLICT (grp, key) DO UPDATE SET fingerprint = excluded.fingerprint, \
                 state = 'claimed', owner = excluded.owner, until_ms = excluded.until_ms \
                 WHERE {t}.until_ms <= ?"
            )))
            .bind(&key.group)
            .bind(&key.key)
            .bind(&key.fingerprint)
            .bind(&token.0)
            .bind(now.saturating_add(millis(lease)))
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if inserted == 1 {
                return Ok(Claim::Acquired(token));
            }
            let row: Option<(String, String, i64)> = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT fingerprint, state, until_ms FROM {t} WHERE grp = ? AND key = ?"
            )))
            .bind(&key.group)
            .bind(&key.key)
            .fetch_optional(&self.pool)
            .await?;
            if let Some((fingerprint, state, until)) = row {
                return Ok(decide_conflict(key, &fingerprint, &state, until, now));
            }
        }
        Err(StoreError::Corrupt("claim did not settle".into()))
    }
}

impl IdempotencyStore for SqliteStore {
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
            let t = &self.table;
            let done = sqlx::query(AssertSqlSafe(format!(
                "UPDATE {t} SET state = 'done', owner = NULL, until_ms = ? \
                 WHERE grp = ? AND key = ? AND state = 'claimed' AND owner = ?"
            )))
            .bind(now_millis().saturating_add(millis(retention)))
            .bind(&key.group)
            .bind(&key.key)
            .bind(&token.0)
            .execute(&self.pool)
            .await?
            .rows_affected();
            Ok(done == 1)
        })
    }

    fn extend<'a>(
        &'a self,
        key: &'a DedupKey,
        token: &'a ClaimToken,
        lease: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let t = &self.table;
            let now = now_millis();
            // An expired lease is lost even if nobody took it over yet: extending it could
            // race with a claimer that saw it expired.
            let extended = sqlx::query(AssertSqlSafe(format!(
                "UPDATE {t} SET until_ms = ? \
                 WHERE grp = ? AND key = ? AND state = 'claimed' AND owner = ? AND until_ms > ?"
            )))
            .bind(now.saturating_add(millis(lease)))
            .bind(&key.group)
            .bind(&key.key)
            .bind(&token.0)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
            Ok(extended == 1)
        })
    }

    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        token: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let t = &self.table;
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {t} WHERE grp = ? AND key = ? AND state = 'claimed' AND owner = ?"
            )))
            .bind(&key.group)
            .bind(&key.key)
            .bind(&token.0)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn purge_expired(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let t = &self.table;
            let n = sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {t} WHERE until_ms <= ?"
            )))
            .bind(now_millis())
            .execute(&self.pool)
            .await?
            .rows_affected();
            Ok(n)
        })
    }
}
