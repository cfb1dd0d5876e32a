//! Idempotency stores under duplicate delivery, crashed workers and (PostgreSQL) the inbox
//! transaction. SQLite always runs (with `--features sqlite`); PostgreSQL and Redis need
//! `DATABASE_URL` / `REDIS_URL` and are skipped without them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use eventschema::{
    Bus, BusConfig, Claim, ClaimToken, DedupKey, Envelope, IdempotencyStore, MemoryStore,
};

/// The same event 1,000 times, concurrently, through two competing instances: one effect.
async fn duplicate_delivery_runs_once(store: Arc<dyn IdempotencyStore>) {
    let bus = Bus::new(config());
    let effects = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        let e = effects.clone();
        bus.subscribe("g")
            .idempotency(store.clone())
            .on(move |_: OrderCreated, _| {
                let e = e.clone();
                async move {
                    e.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            })
            .unwrap()
            .start()
            .unwrap();
    }
    let envelope = bus.envelope_for(&order("dup", 1), None).unwrap();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (bus, envelope) = (bus.clone(), envelope.clone());
            tokio::spawn(async move { bus.publish_envelope(envelope).await.unwrap() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    bus.flush().await;
    assert_eq!(effects.load(Ordering::SeqCst), 1);
    bus.shutdown(Duration::from_secs(5)).await;
}

/// 1,000 concurrent claims of one key at the store itself: exactly one wins; completion
/// makes it a duplicate; other content under the key is reuse.
async fn claims_are_atomic(store: Arc<dyn IdempotencyStore>) {
    let mut envelope = Envelope::new("e-1", "/s", "orders.created").unwrap();
    envelope.set_data(b"{}".to_vec());
    let key = DedupKey::for_event(&unique("g"), &envelope);
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move { store.claim(&key, Duration::from_secs(30)).await.unwrap() })
        })
        .collect();
    let mut tokens = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Claim::Acquired(token) => tokens.push(token),
            Claim::InProgress(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(tokens.len(), 1);
    assert!(
        store
            .complete(&key, &tokens[0], Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert_eq!(
        store.claim(&key, Duration::from_secs(30)).await.unwrap(),
        Claim::Completed
    );
    let mut other = envelope.clone();
    other.set_data(b"{\"x\":1}".to_vec());
    let reused = DedupKey::for_event(&key.group, &other);
    assert_eq!(
        store.claim(&reused, Duration::from_secs(30)).await.unwrap(),
        Claim::KeyReuse
    );
    // A released claim can be taken again; a stale token cannot complete.
    let mut third = envelope.clone();
    third.set_attribute("id", "e-2").unwrap();
    let k3 = DedupKey::for_event(&key.group, &third);
    let Claim::Acquired(t3) = store.claim(&k3, Duration::from_secs(30)).await.unwrap() else {
        panic!("claim");
    };
    store.release(&k3, &t3).await.unwrap();
    assert!(matches!(
        store.claim(&k3, Duration::from_secs(30)).await.unwrap(),
        Claim::Acquired(_)
    ));
    assert!(
        !store
            .complete(&k3, &t3, Duration::from_secs(60))
            .await
            .unwrap()
    );
    // Retention: completed keys expire and are purged.
    let mut fourth = envelope.clone();
    fourth.set_attribute("id", "e-3").unwrap();
    let k4 = DedupKey::for_event(&key.group, &fourth);
    let Claim::Acquired(t4) = store.claim(&k4, Duration::from_secs(30)).await.unwrap() else {
        panic!("claim");
    };
    assert!(
        store
            .complete(&k4, &t4, Duration::from_millis(1))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    store.purge_expired().await.unwrap();
    assert!(matches!(
        store.claim(&k4, Duration::from_secs(30)).await.unwrap(),
        Claim::Acquired(_)
    ));
}

/// A worker dies mid-handler (its bus is killed without grace); a new worker gets the
/// redelivered event, waits out the lease, handles it once; later copies are duplicates.
async fn killed_worker_is_retried_after_the_lease(store: Arc<dyn IdempotencyStore>) {
    let lease = Duration::from_millis(300);
    let cfg = BusConfig { lease, ..config() };
    let effects = Arc::new(AtomicUsize::new(0));
    let crashed = Bus::new(cfg.clone());
    let started = Arc::new(tokio::sync::Notify::new());
    let s = started.clone();
    crashed
        .subscribe("g")
        .idempotency(store.clone())
        .on(move |_: OrderCreated, _| {
            let s = s.clone();
            async move {
                s.notify_one();
                std::future::pending::<()>().await;
                Ok(())
            }
        })
        .unwrap()
        .start()
        .unwrap();
    let envelope = crashed.envelope_for(&order("k", 1), None).unwrap();
    crashed.publish_envelope(envelope.clone()).await.unwrap();
    started.notified().await;
    crashed.shutdown(Duration::ZERO).await; // the worker is aborted mid-handler

    let survivor = Bus::new(cfg);
    let e = effects.clone();
    survivor
        .subscribe("g")
        .idempotency(store.clone())
        .on(move |_: OrderCreated, _| {
            let e = e.clone();
            async move {
                e.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .unwrap()
        .start()
        .unwrap();
    let began = std::time::Instant::now();
    survivor.publish_envelope(envelope.clone()).await.unwrap();
    survivor.flush().await;
    assert_eq!(effects.load(Ordering::SeqCst), 1);
    assert!(began.elapsed() >= lease / 2, "waited for the lease");
    survivor.publish_envelope(envelope).await.unwrap();
    survivor.flush().await;
    assert_eq!(effects.load(Ordering::SeqCst), 1);
    survivor.shutdown(Duration::from_secs(5)).await;
}

/// Extending a claim keeps it past its original lease (a second claimer is refused); a
/// wrong token, or a claim whose lease ran out, cannot be extended.
async fn extend_keeps_the_claim_past_its_lease(store: Arc<dyn IdempotencyStore>) {
    let lease = Duration::from_millis(300);
    let mut envelope = Envelope::new(unique("ext-"), "/s", "orders.created").unwrap();
    envelope.set_data(b"{}".to_vec());
    let key = DedupKey::for_event(&unique("g"), &envelope);
    let Claim::Acquired(token) = store.claim(&key, lease).await.unwrap() else {
        panic!("claim");
    };
    assert!(
        !store
            .extend(&key, &ClaimToken::new(), Duration::from_secs(5))
            .await
            .unwrap(),
        "a stranger's token extends nothing"
    );
    for _ in 0..3 {
        tokio::time::sleep(lease / 3).await;
        assert!(store.extend(&key, &token, lease).await.unwrap());
    }
    // Past the original lease by now (4 x lease/3), but still ours.
    assert!(matches!(
        store.claim(&key, lease).await.unwrap(),
        Claim::InProgress(_)
    ));
    assert!(
        store
            .complete(&key, &token, Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        !store.extend(&key, &token, lease).await.unwrap(),
        "a completed claim is not a claim any more"
    );

    // Not extended: the lease runs out, the claim is lost, another worker takes it over.
    let mut other = envelope.clone();
    other.set_attribute("id", &unique("ext-")).unwrap();
    let key = DedupKey::for_event(&key.group, &other);
    let Claim::Acquired(stale) = store.claim(&key, Duration::from_millis(100)).await.unwrap()
    else {
        panic!("claim");
    };
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(
        !store.extend(&key, &stale, lease).await.unwrap(),
        "an expired claim is lost"
    );
    let Claim::Acquired(fresh) = store.claim(&key, lease).await.unwrap() else {
        panic!("expired claim taken over");
    };
    assert!(!store.extend(&key, &stale, lease).await.unwrap());
    assert!(store.extend(&key, &fresh, lease).await.unwrap());
}

async fn all_store_tests(store: Arc<dyn IdempotencyStore>) {
    extend_keeps_the_claim_past_its_lease(store.clone()).await;
    duplicate_delivery_runs_once(store.clone()).await;
    claims_are_atomic(store.clone()).await;
    killed_worker_is_retried_after_the_lease(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store() {
    all_store_tests(Arc::new(MemoryStore::new())).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store() {
    use std::str::FromStr;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
    let dir = tempfile::tempdir().unwrap();
    let options =
        SqliteConnectOptions::from_str(&format!("sqlite://{}/keys.db", dir.path().display()))
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .unwrap();
    let store = eventschema::idempotency::sqlite::SqliteStore::new(pool, "idempotency").unwrap();
    store.migrate().await.unwrap();
    all_store_tests(Arc::new(store)).await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store() {
    let Some(url) = redis_url() else { return };
    let prefix = unique("es-rt-test-");
    let store = eventschema::idempotency::redis::RedisStore::connect(&url, &format!("{prefix}:"))
        .await
        .unwrap();
    all_store_tests(Arc::new(store)).await;
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

#[cfg(feature = "postgres")]
mod pg {
    use super::*;
    use eventschema::idempotency::postgres::PgStore;
    use eventschema::{BoxFuture, Context, DlqFilter, ErrorClass, HandlerError, TxHandler};
    use sqlx::PgConnection;
    use sqlx::postgres::PgPoolOptions;

    struct Schema {
        pool: sqlx::PgPool,
        name: String,
    }

    impl Schema {
        async fn create(url: &str) -> Schema {
            let name = unique("es_rt_");
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
                .execute(&admin)
                .await
                .unwrap();
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .connect(url)
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE TABLE {name}.effects (order_id TEXT PRIMARY KEY)"
            )))
            .execute(&pool)
            .await
            .unwrap();
            Schema { pool, name }
        }

        async fn store(&self) -> PgStore {
            let store = PgStore::new(self.pool.clone(), &format!("{}.keys", self.name)).unwrap();
            store.migrate().await.unwrap();
            store
        }

        async fn count(&self, table: &str) -> i64 {
            let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM {}.{table}",
                self.name
            )))
            .fetch_one(&self.pool)
            .await
            .unwrap();
            n
        }

        async fn drop(self) {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA {} CASCADE",
                self.name
            )))
            .execute(&self.pool)
            .await
            .unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_store() {
        let Some(url) = postgres_url() else { return };
        let schema = Schema::create(&url).await;
        all_store_tests(Arc::new(schema.store().await)).await;
        schema.drop().await;
    }

    /// Writes a row through the inbox transaction, then fails when told to.
    struct WriteRow {
        table: String,
        fail: bool,
        calls: Arc<AtomicUsize>,
    }

    impl TxHandler<OrderCreated> for WriteRow {
        fn handle<'c>(
            &'c self,
            event: OrderCreated,
            _ctx: Context,
            conn: &'c mut PgConnection,
        ) -> BoxFuture<'c, Result<(), HandlerError>> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {} (order_id) VALUES ($1)",
                    self.table
                )))
                .bind(&event.order_id)
                .execute(&mut *conn)
                .await
                .map_err(HandlerError::transient)?;
                if self.fail {
                    return Err(HandlerError::msg(
                        ErrorClass::Permanent,
                        "failed after writing",
                    ));
                }
                Ok(())
            })
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn inbox_commits_the_handlers_writes_with_the_key_or_neither() {
        let Some(url) = postgres_url() else { return };
        let schema = Schema::create(&url).await;
        let store = schema.store().await;
        let table = format!("{}.effects", schema.name);

        // A handler that writes a row and then fails leaves neither the row nor the key.
        let failing = Bus::new(config());
        let calls = Arc::new(AtomicUsize::new(0));
        failing
            .subscribe("g")
            .on_tx(
                store.clone(),
                WriteRow {
                    table: table.clone(),
                    fail: true,
                    calls: calls.clone(),
                },
            )
            .unwrap()
            .start()
            .unwrap();
        let envelope = failing.envelope_for(&order("o-1", 1), None).unwrap();
        failing.publish_envelope(envelope.clone()).await.unwrap();
        failing.flush().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(schema.count("effects").await, 0);
        assert_eq!(schema.count("keys").await, 0);
        let letters = failing
            .dead_letters()
            .list(&DlqFilter::default())
            .await
            .unwrap();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].reason, "handler-permanent");
        failing.shutdown(Duration::from_secs(5)).await;

        // The same event 1,000 times concurrently with a working handler: one row, one key.
        let working = Bus::new(config());
        let calls = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            working
                .subscribe("g")
                .on_tx(
                    store.clone(),
                    WriteRow {
                        table: table.clone(),
                        fail: false,
                        calls: calls.clone(),
                    },
                )
                .unwrap()
                .start()
                .unwrap();
        }
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let (bus, envelope) = (working.clone(), envelope.clone());
                tokio::spawn(async move { bus.publish_envelope(envelope).await.unwrap() })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        working.flush().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(schema.count("effects").await, 1);
        assert_eq!(schema.count("keys").await, 1);
        // Concurrent inbox runs of one key straight at the store (no per-key queue).
        let key = DedupKey::for_event("direct", &envelope);
        let runs: Vec<_> = (0..50)
            .map(|i| {
                let (store, key, table) = (store.clone(), key.clone(), table.clone());
                tokio::spawn(async move {
                    store
                        .run_in_transaction(&key, Duration::from_secs(60), move |conn| {
                            Box::pin(async move {
                                sqlx::query(sqlx::AssertSqlSafe(format!(
                                    "INSERT INTO {table} (order_id) VALUES ($1)"
                                )))
                                .bind(format!("direct-{i}"))
                                .execute(&mut *conn)
                                .await
                                .map_err(HandlerError::transient)?;
                                Ok(())
                            })
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut handled = 0;
        for r in runs {
            if r.await.unwrap() == eventschema::idempotency::postgres::InboxOutcome::Handled {
                handled += 1;
            }
        }
        assert_eq!(handled, 1);
        assert_eq!(schema.count("effects").await, 2);
        working.shutdown(Duration::from_secs(5)).await;
        schema.drop().await;
    }
}
