//! The PostgreSQL outbox: events commit with the caller's transaction (or vanish with its
//! rollback), relays publish them in order per key, several relays share the table, and a
//! relay killed between publishing and marking causes no duplicate effect. Runs on the
//! in-process transport, and on NATS JetStream too when `NATS_URL` is set.
#![cfg(feature = "outbox")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use eventschema::outbox::{Outbox, Relay, RelayConfig};
use eventschema::{Bus, HandlerError};

type Seen = Arc<Mutex<Vec<(String, u64)>>>;

async fn subscribe(bus: &Bus, seen: &Seen) {
    let seen = seen.clone();
    bus.subscribe("projector")
        .on(move |event: OrderCreated, _| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push((event.order_id, event.seq));
                Ok::<(), HandlerError>(())
            }
        })
        .unwrap()
        .start_joined()
        .await
        .unwrap();
}

async fn wait_for(seen: &Seen, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while seen.lock().unwrap().len() < n {
        assert!(tokio::time::Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Late duplicates would show up here.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

fn by_key(seen: &Seen) -> BTreeMap<String, Vec<u64>> {
    let mut map: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (key, seq) in seen.lock().unwrap().iter() {
        map.entry(key.clone()).or_default().push(*seq);
    }
    map
}

/// The body shared by every transport: `bus` publishes and consumes.
async fn outbox_end_to_end(bus: Bus, url: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let table = unique("es_outbox_");
    let outbox = Outbox::new(pool.clone(), &table).unwrap();
    outbox.migrate().await.unwrap();
    let state = format!("{table}_orders");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {state} (id TEXT, seq BIGINT)"
    )))
    .execute(&pool)
    .await
    .unwrap();
    let seen = Seen::default();
    subscribe(&bus, &seen).await;

    // State change and event commit together; a rolled-back transaction leaves neither.
    for seq in 0..10u64 {
        for key in 0..4 {
            let mut tx = pool.begin().await.unwrap();
            let id = format!("k{key}");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {state} VALUES ($1, $2)"
            )))
            .bind(&id)
            .bind(seq as i64)
            .execute(&mut *tx)
            .await
            .unwrap();
            outbox
                .enqueue_event(&mut tx, &bus, &order(&id, seq))
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    }
    let mut doomed = pool.begin().await.unwrap();
    outbox
        .enqueue_event(&mut doomed, &bus, &order("k0", 99))
        .await
        .unwrap();
    doomed.rollback().await.unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 40);

    let relay = Relay::new(outbox.clone(), bus.clone(), RelayConfig::default());
    // Killed between publish and mark: the rows stay unsent and are published again.
    let published = relay.relay_once_then_die_before_marking().await.unwrap();
    assert!(published > 0);
    assert_eq!(outbox.pending().await.unwrap(), 40);

    // Two relays share the table.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let relays: Vec<_> = (0..2)
        .map(|_| {
            let relay = relay.clone();
            let stopped = stopped.clone();
            tokio::spawn(async move { relay.run(stopped).await })
        })
        .collect();
    wait_for(&seen, 40).await;
    stop.send(true).unwrap();
    for relay in relays {
        relay.await.unwrap();
    }
    assert_eq!(outbox.pending().await.unwrap(), 0);
    let expected: BTreeMap<String, Vec<u64>> = (0..4)
        .map(|k| (format!("k{k}"), (0..10).collect()))
        .collect();
    assert_eq!(by_key(&seen), expected, "once in effect, in order per key");

    bus.shutdown(Duration::from_secs(2)).await;
    outbox.drop_table().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {state}")))
        .execute(&pool)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_relays_in_order_once_in_effect_in_process() {
    let Some(url) = postgres_url() else { return };
    outbox_end_to_end(Bus::new(config()), &url).await;
}

#[cfg(feature = "nats")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_relays_in_order_once_in_effect_over_nats() {
    use eventschema::transport::nats::{NatsConfig, NatsTransport};
    let Some(url) = postgres_url() else { return };
    let Some(nats) = nats_url() else { return };
    let mut config = NatsConfig::new(nats, unique("es_outbox_"));
    config.partitions = 4;
    config.max_age = Some(Duration::from_secs(600));
    let transport = Arc::new(NatsTransport::connect(config).await.unwrap());
    let bus = Bus::with_transport(
        common::config(),
        Arc::new(eventschema::SchemaCatalog::new()),
        Arc::new(eventschema::MemoryDlq::new()),
        Arc::new(eventschema::MemoryStore::new()),
        transport.clone(),
    );
    outbox_end_to_end(bus, &url).await;
    transport.delete_stream().await.unwrap();
}
