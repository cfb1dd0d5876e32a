//! The SQLite idempotency store: the shared [`SqlStore`] over a `SqlitePool`.

use sqlx::Sqlite;
use sqlx::sqlite::SqliteQueryResult;

use super::sql::{RowsAffected, SqlStore};

/// Idempotency keys in a SQLite table: [`SqlStore::new`], then [`SqlStore::migrate`].
pub type SqliteStore = SqlStore<Sqlite>;

impl RowsAffected for SqliteQueryResult {
    fn count(&self) -> u64 {
        self.rows_affected()
    }
}
