//! The PostgreSQL idempotency store (claim with lease, like SQLite's) and the inbox:
//! the key is inserted in the transaction the handler receives, so the handler's writes
//! and the key commit together or not at all (exactly-once effect).

use std::time::Duration;

use sqlx::{PgConnection, PgPool};

use super::{
    Claim, ClaimToken, DedupKey, IdempotencyStore, check_table_name, decide_conflict, millis,
    now_millis,
};
use sqlx::AssertSqlSafe;

use crate::BoxFuture;
use crate::error::{HandlerError, StoreError};

/// Idempotency keys in a PostgreSQL table (`schema.table` allowed).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    table: String,
}

impl PgStore {
    pub fn new(pool: PgPool, table: &str) -> Result<Self, StoreError> {
        check_table_name(table)?;
        Ok(PgStore {
            pool,
            table: table.to_owned(),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates the table if it does not exist.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let t = &self.table;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {t} (grp TEXT NOT NULL, key TEXT NOT NULL, \
             fingerprint TEXT NOT NULL, state TEXT NOT NULL, owner TEXT, \
             until_ms BIGINT NOT NULL, PRIMARY KEY (grp, key))"
        )))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn conflicting(
        &self,
        conn: &mut PgConnection,
        key: &DedupKey,
        now: i64,
    ) -> Result<Option<Claim>, StoreError> {
        let t = &self.table;
        let row: Option<(String, String, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT fingerprint, state, until_ms FROM {t} WHERE grp = $1 AND key = $2"
        )))
        .bind(&key.group)
        .bind(&key.key)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(row.map(|(fingerprint, state, until)| {
            decide_conflict(key, &fingerprint, &state, until, now)
        }))
    }

    async fn claim_inner(&self, key: &DedupKey, lease: Duration) -> Result<Claim, StoreError> {
        let t = &self.table;
        let mut conn = self.pool.acquire().await?;
        for _ in 0..3 {
            let now = now_millis();
            let token = ClaimToken::new();
            let inserted = sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO {t} AS t (grp, key, fingerprint, state, owner, until_ms) \
                 VALUES ($1, $2, $3, 'claimed', $4, $5) \
                 ON CONFLICT (grp, key) DO UPDATE SET fingerprint = excluded.fingerprint, \
                 state = 'claimed', owner = excluded.owner, until_ms = excluded.until_ms \
                 WHERE t.until_ms <= $6"
            )))
            .bind(&key.group)
            .bind(&key.key)
            .bind(&key.fingerprint)
            .bind(&token.0)
            .bind(now.saturating_add(millis(lease)))
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if inserted == 1 {
                return Ok(Claim::Acquired(token));
            }
            if let Some(claim) = self.conflicting(&mut conn, key, now).await? {
                return Ok(claim);
            }
        }
        Err(StoreError::Corrupt("claim did not settle".into()))
    }

    /// The inbox: in one transaction, record the key as done and run `handler` with that
    /// transaction's connection; commit only if the handler succeeds. A concurrent
    /// duplicate waits on the row lock and then sees the committed key.
    pub async fn run_in_transaction<F>(
        &self,
        key: &DedupKey,
        retention: Duration,
        handler: F,
    ) -> Result<InboxOutcome, StoreError>
    where
        F: for<'c> FnOnce(&'c mut PgConnection) -> BoxFuture<'c, Result<(), HandlerError>>,
    {
        let t = &self.table;
        let mut tx = self.pool.begin().await?;
        let now = now_millis();
        let inserted = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {t} AS t (grp, key, fingerprint, state, owner, until_ms) \
             VALUES ($1, $2, $3, 'done', NULL, $4) \
             ON CONFLICT (grp, key) DO UPDATE SET fingerprint = excluded.fingerprint, \
             state = 'done', owner = NULL, until_ms = excluded.until_ms \
             WHERE t.until_ms <= $5"
        )))
        .bind(&key.group)
        .bind(&key.key)
        .bind(&key.fingerprint)
        .bind(now.saturating_add(millis(retention)))
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            let claim = self.conflicting(&mut tx, key, now).await?;
            tx.rollback().await?;
            return Ok(match claim {
                Some(Claim::KeyReuse) => InboxOutcome::KeyReuse,
                Some(Claim::InProgress(left)) => InboxOutcome::InProgress(left),
                _ => InboxOutcome::Duplicate,
            });
        }
        match handler(&mut tx).await {
            Ok(()) => {
                tx.commit().await?;
                Ok(InboxOutcome::Handled)
            }
            Err(error) => {
                tx.rollback().await?;
                Ok(InboxOutcome::Failed(error))
            }
        }
    }
}

/// What an inbox run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxOutcome {
    /// The handler ran and its writes committed with the key.
    Handled,
    /// The key was already committed: nothing ran.
    Duplicate,
    /// A claim (store mode) holds the key.
    InProgress(Duration),
    /// Same key, other content.
    KeyReuse,
    /// The handler failed; its writes and the key were rolled back.
    Failed(HandlerError),
}

impl IdempotencyStore for PgStore {
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
                "UPDATE {t} SET state = 'done', owner = NULL, until_ms = $1 \
                 WHERE grp = $2 AND key = $3 AND state = 'claimed' AND owner = $4"
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
                "UPDATE {t} SET until_ms = $1 \
                 WHERE grp = $2 AND key = $3 AND state = 'claimed' AND owner = $4 AND until_ms > $5"
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
                "DELETE FROM {t} WHERE grp = $1 AND key = $2 AND state = 'claimed' AND owner = $3"
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
                "DELETE FROM {t} WHERE until_ms <= $1"
            )))
            .bind(now_millis())
            .execute(&self.pool)
            .await?
            .rows_affected();
            Ok(n)
        })
    }
}
