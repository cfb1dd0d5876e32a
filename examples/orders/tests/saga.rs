//! The order saga end to end: final state of each order, the compensating
//! `StockReleased(CANCELLED)` after a declined payment, and the stock left. Runs on the
//! in-process bus with SQLite, over NATS JetStream when `NATS_URL` is set, and on
//! PostgreSQL with inbox handlers (its own schema, dropped afterwards) when `DATABASE_URL`
//! is set (skipped otherwise, unless `EVENTSCHEMA_REQUIRE_SERVICES=1`, as in
//! `runtime/tests/common/mod.rs`). The registry mode runs in `tests/tests/e2e.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use orders_example::{NewOrder, Options, Outcome, Shop, TransportChoice};

const LIMIT: i64 = 50_000;

fn order(id: &str, quantity: i32, total_cents: i64) -> NewOrder {
    NewOrder {
        order_id: id.to_owned(),
        buyer_id: format!("buyer-{id}"),
        sku: "book".to_owned(),
        quantity,
        total_cents,
    }
}

fn outcome(id: &str, status: &str, notification: &str, events: &[&str]) -> Outcome {
    Outcome {
        order_id: id.to_owned(),
        status: status.to_owned(),
        notification: notification.to_owned(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
    }
}

async fn run_saga(transport: TransportChoice) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("orders.db").display());
    run_saga_with(Options {
        transport,
        ..Options::new(url, LIMIT)
    })
    .await;
}

async fn run_saga_with(options: Options) {
    let shop = Shop::start_with(options).await.unwrap();
    shop.restock("book", 10).await.unwrap();
    shop.place(&order("paid", 2, 4_000)).await.unwrap();
    shop.place(&order("declined", 3, LIMIT + 1)).await.unwrap();
    shop.place(&order("too-many", 50, 1_000)).await.unwrap();
    let outcomes = shop
        .settle(&["paid", "declined", "too-many"], Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            outcome(
                "paid",
                "shipped",
                "your order has shipped",
                &[
                    "orders.order-placed",
                    "inventory.stock-reserved",
                    "payments.payment-authorized",
                    "inventory.stock-released FULFILLED",
                ]
            ),
            outcome(
                "declined",
                "cancelled",
                "your order was cancelled: your payment was declined",
                &[
                    "orders.order-placed",
                    "inventory.stock-reserved",
                    "payments.payment-failed DECLINED",
                    // the compensating event: the reservation is given back
                    "inventory.stock-released CANCELLED",
                    "orders.order-cancelled PAYMENT_FAILED",
                ]
            ),
            outcome(
                "too-many",
                "cancelled",
                "your order was cancelled: an item is out of stock",
                &["orders.order-placed", "orders.order-cancelled OUT_OF_STOCK"]
            ),
        ]
    );
    // Only the shipped order keeps its stock; the declined one was given back.
    assert_eq!(shop.available("book").await.unwrap(), 8);
    assert_eq!(shop.dead_letters().await.unwrap(), 0);
    shop.shutdown(true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saga_on_the_in_process_bus() {
    run_saga(TransportChoice::InProcess).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saga_over_nats() {
    let Some(url) = nats_url() else { return };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    run_saga(TransportChoice::Nats {
        url,
        prefix: format!("orders_saga_{}_{nanos}", std::process::id()),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saga_on_postgres_with_inbox_handlers() {
    let Some(url) = service_url("DATABASE_URL") else {
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("orders_saga_{}_{nanos}", std::process::id());
    let cleanup = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    run_saga_with(Options {
        pg_schema: schema.clone(),
        ..Options::new(url, LIMIT)
    })
    .await;
    // The inbox wrote the idempotency keys next to the state, in the same schema.
    let keys: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {schema}.idempotency"
    )))
    .fetch_one(&cleanup)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&cleanup)
        .await
        .unwrap();
    // One per handled (group, event): 4 for the shipped order, 5 for the declined one
    // (with the compensation), 2 for the one out of stock.
    assert_eq!(keys, 11);
}

/// `NATS_URL`, or `None` (skip) unless `EVENTSCHEMA_REQUIRE_SERVICES=1`.
fn nats_url() -> Option<String> {
    service_url("NATS_URL")
}

/// The service URL in `var`, or `None` (skip) unless `EVENTSCHEMA_REQUIRE_SERVICES=1`.
fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("EVENTSCHEMA_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "EVENTSCHEMA_REQUIRE_SERVICES=1 but {var} is not set"
            );
            eprintln!("{var} not set: skipping this variant");
            None
        }
    }
}
