//! `#[eventschema::consumer]` with an inbox handler (a method taking `&mut PgConnection`),
//! registered with `Bus::register_inbox`: the handler's write and the idempotency key
//! commit together, a duplicate delivery changes nothing, and a failure after the write
//! rolls the write back. Needs `--features postgres,sqlite` and `DATABASE_URL`.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{config, postgres_url, unique};
use eventschema::idempotency::postgres::PgStore;
use eventschema::{Bus, Context, ErrorClass, HandlerError, SubscribeError};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use sqlx::postgres::PgPoolOptions;

#[derive(Debug, Clone, Serialize, Deserialize, eventschema::Event)]
#[event(subject = "ledger.entry-booked", format = "json")]
struct EntryBooked {
    #[event(key)]
    entry_id: String,
    cents: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, eventschema::Event)]
#[event(subject = "ledger.note-added", format = "json")]
struct NoteAdded {
    entry_id: String,
}

struct Ledger {
    table: String,
    calls: AtomicUsize,
    notes: AtomicUsize,
}

#[eventschema::consumer(group = "ledger")]
impl Ledger {
    async fn on_booked(
        &self,
        event: EntryBooked,
        _ctx: Context,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {} (entry_id, cents) VALUES ($1, $2)",
            self.table
        )))
        .bind(&event.entry_id)
        .bind(event.cents)
        .execute(&mut *tx)
        .await
        .map_err(HandlerError::transient)?;
        if event.cents < 0 {
            return Err(HandlerError::msg(
                ErrorClass::Permanent,
                "negative entries are refused after writing",
            ));
        }
        Ok(())
    }

    /// A plain handler in the same consumer runs in the inbox too.
    async fn on_note(&self, _event: NoteAdded) {
        self.notes.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_handlers_of_a_derived_consumer_commit_with_the_key() {
    let Some(url) = postgres_url() else { return };
    let schema = unique("es_consumer_");
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&url)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&pool)
        .await
        .unwrap();
    let table = format!("{schema}.entries");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table} (entry_id TEXT PRIMARY KEY, cents BIGINT NOT NULL)"
    )))
    .execute(&pool)
    .await
    .unwrap();
    let store = PgStore::new(pool.clone(), &format!("{schema}.keys")).unwrap();
    store.migrate().await.unwrap();

    let bus = Bus::new(config());
    let ledger = Arc::new(Ledger {
        table: table.clone(),
        calls: AtomicUsize::new(0),
        notes: AtomicUsize::new(0),
    });
    // Without an inbox the consumer cannot run its transactional handler.
    assert!(matches!(
        bus.register(Arc::clone(&ledger)),
        Err(SubscribeError::NoInbox(group)) if group == "ledger"
    ));
    bus.register_inbox(Arc::clone(&ledger), store).unwrap();

    let booked = EntryBooked {
        entry_id: "e1".into(),
        cents: 250,
    };
    let envelope = bus.envelope_for(&booked, None).unwrap();
    bus.publish_envelope(envelope.clone()).await.unwrap();
    bus.publish_envelope(envelope).await.unwrap(); // duplicate delivery
    bus.publish(&EntryBooked {
        entry_id: "e2".into(),
        cents: -1,
    })
    .await
    .unwrap();
    bus.publish(&NoteAdded {
        entry_id: "e1".into(),
    })
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(20), bus.flush())
        .await
        .unwrap();

    let rows: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT entry_id, cents FROM {table} ORDER BY entry_id"
    )))
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows, vec![("e1".to_owned(), 250)], "e2 rolled back");
    assert_eq!(
        ledger.calls.load(Ordering::SeqCst),
        2,
        "the duplicate never ran"
    );
    assert_eq!(ledger.notes.load(Ordering::SeqCst), 1);
    let letters = bus.dead_letters().list(&Default::default()).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, "handler-permanent");
    bus.shutdown(Duration::from_secs(5)).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&pool)
        .await
        .unwrap();
}
