//! The PostgreSQL idempotency store (the shared [`SqlStore`] over a `PgPool`) and the inbox:
//! the key is inserted in the transaction the handler receives, so the handler's writes
//! and the key commit together or not at all (exactly-once effect).

use std::time::Duration;

use sqlx::postgres::PgQueryResult;
use sqlx::{PgConnection, Postgres};

use super::sql::{RowsAffected, SqlStore, Taken, Taking, now_millis};
use super::{Claim, DedupKey, millis};
use crate::BoxFuture;
use crate::error::{HandlerError, StoreError};

/// Idempotency keys in a PostgreSQL table (`schema.table` allowed): [`SqlStore::new`], then
/// [`SqlStore::migrate`]; [`SqlStore::run_in_transaction`] is the inbox.
pub type PgStore = SqlStore<Postgres>;

impl RowsAffected for PgQueryResult {
    fn count(&self) -> u64 {
        self.rows_affected()
    }
}

impl SqlStore<Postgres> {
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
        let mut tx = self.pool().begin().await?;
        let now = now_millis();
        let until = now.saturating_add(millis(retention));
        let skipped = match self.take(&mut tx, key, Taking::Done, until, now).await? {
            Taken::Ours => None,
            Taken::Held(Claim::KeyReuse) => Some(InboxOutcome::KeyReuse),
            Taken::Held(Claim::InProgress(left)) => Some(InboxOutcome::InProgress(left)),
            Taken::Held(_) | Taken::Gone => Some(InboxOutcome::Duplicate),
        };
        if let Some(outcome) = skipped {
            tx.rollback().await?;
            return Ok(outcome);
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
