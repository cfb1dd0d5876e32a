//! The PostgreSQL transactional outbox (feature `outbox`): a service writes its state change
//! and the event in one transaction ([`Outbox::enqueue`]); a [`Relay`] publishes committed
//! rows through a [`Bus`] (whatever its transport) and marks them sent.
//!
//! - Only rows of transactions older than the snapshot's `xmin` are read: ids do not commit
//!   in order, so "rows above the last id seen" would skip a late committer.
//! - `FOR UPDATE SKIP LOCKED` lets several relays share the table; a row is taken only if no
//!   earlier unsent row of its ordering key exists, so one key is published in order even
//!   with several relays (a batch holds at most one row per key).
//! - A row is marked sent after the transport confirmed it. A relay that dies between
//!   publishing and marking leaves the row unsent; it is published again with the same
//!   CloudEvents `id` (and so the same `Nats-Msg-Id` / idempotency key), which the broker's
//!   dedup window and the consumers' idempotency stores absorb: once in effect.
//! - A row that keeps failing is parked after `max_attempts` (kept, with its last error).

use std::time::Duration;

use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row as _};

use crate::bus::{Bus, PublishOutcome};
use crate::envelope::{Envelope, ext};
use crate::error::{PublishError, StoreError};
use crate::event::Event;
use crate::idempotency::check_table_name;

/// An outbox table.
#[derive(Debug, Clone)]
pub struct Outbox {
    pool: PgPool,
    table: String,
}

impl Outbox {
    /// An outbox in `table` (`schema.table` allowed); call [`Outbox::migrate`] once.
    pub fn new(pool: PgPool, table: &str) -> Result<Self, StoreError> {
        check_table_name(table)?;
        Ok(Outbox {
            pool,
            table: table.to_owned(),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates the table and its index of unsent rows if they do not exist.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let t = &self.table;
        let index = t.replace('.', "_");
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {t} (id BIGSERIAL PRIMARY KEY, \
             ordering_key TEXT NOT NULL, event BYTEA NOT NULL, \
             tx xid8 NOT NULL DEFAULT pg_current_xact_id(), \
             created_at TIMESTAMPTZ NOT NULL DEFAULT now(), sent_at TIMESTAMPTZ, \
             attempts INT NOT NULL DEFAULT 0, last_error TEXT, \
             parked BOOLEAN NOT NULL DEFAULT false)"
        )))
        .execute(&self.pool)
        .await?;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE INDEX IF NOT EXISTS {index}_unsent ON {t} (ordering_key, id) \
             WHERE sent_at IS NULL"
        )))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Writes `envelope` in the caller's transaction: it is published only if that
    /// transaction commits.
    pub async fn enqueue(
        &self,
        conn: &mut PgConnection,
        envelope: &Envelope,
    ) -> Result<i64, PublishError> {
        let key = envelope
            .extension(ext::PARTITION_KEY)
            .unwrap_or(envelope.id())
            .to_owned();
        let bytes = envelope.to_structured()?;
        let t = &self.table;
        let id: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "INSERT INTO {t} (ordering_key, event) VALUES ($1, $2) RETURNING id"
        )))
        .bind(key)
        .bind(bytes)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::from)?;
        Ok(id)
    }

    /// [`Outbox::enqueue`] for a typed event, with the envelope `bus` would publish.
    pub async fn enqueue_event<E: Event>(
        &self,
        conn: &mut PgConnection,
        bus: &Bus,
        event: &E,
    ) -> Result<i64, PublishError> {
        let envelope = bus.envelope_for(event, None)?;
        self.enqueue(conn, &envelope).await
    }

    /// Rows not yet sent nor parked (the `outbox pending` gauge).
    pub async fn pending(&self) -> Result<i64, StoreError> {
        let t = &self.table;
        Ok(sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM {t} WHERE sent_at IS NULL AND NOT parked"
        )))
        .fetch_one(&self.pool)
        .await?)
    }

    /// Drops the table (tests, teardown).
    pub async fn drop_table(&self) -> Result<(), StoreError> {
        let t = &self.table;
        sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS {t}")))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// How a relay polls and gives up.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Rows per transaction.
    pub batch: i64,
    /// Pause when there was nothing to send.
    pub idle: Duration,
    /// Failed publications before a row is parked.
    pub max_attempts: i32,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            batch: 100,
            idle: Duration::from_millis(50),
            max_attempts: 10,
        }
    }
}

/// Publishes outbox rows through a bus. Several relays may run on one table.
#[derive(Debug, Clone)]
pub struct Relay {
    outbox: Outbox,
    bus: Bus,
    config: RelayConfig,
}

impl Relay {
    pub fn new(outbox: Outbox, bus: Bus, config: RelayConfig) -> Self {
        Relay {
            outbox,
            bus,
            config,
        }
    }

    /// One batch: publish, then mark, in one transaction holding the rows' locks.
    /// Returns how many rows were published.
    pub async fn relay_once(&self) -> Result<usize, StoreError> {
        self.batch(true).await
    }

    /// Fault injection: what a relay killed after publishing and before marking leaves
    /// behind (rows published, transaction rolled back, rows still unsent).
    pub async fn relay_once_then_die_before_marking(&self) -> Result<usize, StoreError> {
        self.batch(false).await
    }

    async fn batch(&self, mark: bool) -> Result<usize, StoreError> {
        let t = &self.outbox.table;
        let mut tx = self.outbox.pool.begin().await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT o.id, o.event, o.attempts FROM {t} o \
             WHERE o.sent_at IS NULL AND NOT o.parked \
               AND o.tx < pg_snapshot_xmin(pg_current_snapshot()) \
               AND NOT EXISTS (SELECT 1 FROM {t} p WHERE p.ordering_key = o.ordering_key \
                               AND p.id < o.id AND p.sent_at IS NULL AND NOT p.parked) \
             ORDER BY o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED"
        )))
        .bind(self.config.batch)
        .fetch_all(&mut *tx)
        .await?;
        let mut sent = 0;
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let bytes: Vec<u8> = row.try_get("event")?;
            let attempts: i32 = row.try_get("attempts")?;
            let outcome = match Envelope::from_structured(&bytes, usize::MAX) {
                Ok(envelope) => self
                    .bus
                    .publish_envelope(envelope)
                    .await
                    .map_err(|e| e.to_string()),
                Err(error) => Err(format!("not a CloudEvent: {error}")),
            };
            match outcome {
                Ok(PublishOutcome::Enqueued(_)) => {
                    sent += 1;
                    sqlx::query(AssertSqlSafe(format!(
                        "UPDATE {t} SET sent_at = now(), attempts = attempts + 1 WHERE id = $1"
                    )))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                Ok(PublishOutcome::DeadLettered(invalid)) => {
                    // Refused by validation: the bus dead-lettered it; keep the row parked.
                    self.fail(&mut tx, id, &invalid.to_string(), true).await?;
                }
                Err(error) => {
                    tracing::warn!(%error, id, "outbox publish failed");
                    let park = attempts + 1 >= self.config.max_attempts;
                    self.fail(&mut tx, id, &error, park).await?;
                }
            }
        }
        if mark {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(sent)
    }

    async fn fail(
        &self,
        conn: &mut PgConnection,
        id: i64,
        error: &str,
        park: bool,
    ) -> Result<(), StoreError> {
        let t = &self.outbox.table;
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE {t} SET attempts = attempts + 1, last_error = $2, parked = $3 WHERE id = $1"
        )))
        .bind(id)
        .bind(error)
        .bind(park)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Relays until `stop` turns true; database errors are logged and retried with backoff.
    pub async fn run(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut backoff = self.config.idle;
        while !*stop.borrow() {
            let pause = match self.relay_once().await {
                Ok(0) => self.config.idle,
                Ok(_) => {
                    backoff = self.config.idle;
                    continue;
                }
                Err(error) => {
                    tracing::warn!(%error, "outbox relay failed; retrying");
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    backoff
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
