//! The orders example: a small service built the way users build theirs. Event types are
//! generated from the repository's `schemas/` by `build.rs`; four `#[eventschema::consumer]`s
//! (inventory, billing, shipping, notifications) run the order flow as a choreographed
//! saga, each reacting to the previous step's event:
//!
//! ```text
//! OrderPlaced -> inventory: StockReserved -> billing: PaymentAuthorized -> shipping: StockReleased(FULFILLED) -> notifications
//!                                           \-> billing: PaymentFailed -> inventory (compensates):
//!                                                  StockReleased(CANCELLED) + OrderCancelled(PAYMENT_FAILED) -> notifications
//! ```
//!
//! Stock is reserved before the payment so that a failed payment has something to undo:
//! the compensating `StockReleased(CANCELLED)` gives the stock back. The schemas have no
//! "shipped" event, so shipping announces a shipment by releasing the reservation as
//! `FULFILLED`. State (orders, stock, notifications, the saga log) and the idempotency keys
//! live in one SQLite database; the bus runs in process or over NATS JetStream.
//!
//! Depends only on the `eventschema` runtime and its generated types, never on the
//! registry server or the CLI: that is all a service needs.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use eventschema::idempotency::sqlite::SqliteStore;
use eventschema::transport::nats::{NatsConfig, NatsTransport};
use eventschema::{
    Bus, BusConfig, Context, Event, HandlerError, IdempotencyStore, InProcess, MemoryDlq,
    Publisher, SchemaCatalog,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

/// The types generated from `schemas/` (one module per subject, `vN` per version, the
/// newest version re-exported at the module's root).
#[allow(missing_docs, missing_debug_implementations)]
pub mod events {
    include!(concat!(env!("OUT_DIR"), "/eventschema_generated.rs"));
}

use events::inventory_stock_released::{StockReleased, v2::ReleaseReason};
use events::inventory_stock_reserved::{StockReserved, v3::Location};
use events::orders_order_cancelled::{OrderCancelled, v3::CancelReason};
use events::orders_order_placed::{OrderPlaced, v3::Channel, v3::OrderLine};
use events::payments_payment_authorized::{
    PaymentAuthorized,
    v3::{Card, PaymentAuthorizedInstrument},
};
use events::payments_payment_failed::{PaymentFailed, v2::PaymentFailedReason};

/// What can stop the shop from starting or from taking an order.
#[derive(Debug, thiserror::Error)]
pub enum ShopError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("idempotency store: {0}")]
    Store(#[from] eventschema::StoreError),
    #[error("transport: {0}")]
    Transport(#[from] eventschema::TransportError),
    #[error("registering a consumer: {0}")]
    Subscribe(#[from] eventschema::SubscribeError),
    #[error("publishing: {0}")]
    Produce(#[from] eventschema::ProduceError),
    #[error("order `{0}` has no lines")]
    EmptyOrder(String),
    #[error("orders still in flight after {0:?}: {1:?}")]
    Timeout(Duration, Vec<String>),
}

/// Which transport the bus runs on.
#[derive(Debug, Clone)]
pub enum TransportChoice {
    /// The in-process bus: no server needed.
    InProcess,
    /// NATS JetStream at `url`, streams named after `prefix`.
    Nats { url: String, prefix: String },
}

/// An order as the storefront takes it.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub order_id: String,
    pub buyer_id: String,
    pub sku: String,
    pub quantity: i32,
    pub total_cents: i64,
}

/// Where an order ended up, read back from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub order_id: String,
    /// `shipped` or `cancelled`.
    pub status: String,
    /// What the buyer was told.
    pub notification: String,
    /// The saga's events for this order, in the order they were published.
    pub events: Vec<String>,
}

/// The running service: the bus with its consumers registered, and the database.
#[derive(Debug)]
pub struct Shop {
    bus: Bus,
    db: SqlitePool,
    nats: Option<Arc<NatsTransport>>,
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, buyer_id TEXT NOT NULL, \
     sku TEXT NOT NULL, quantity INTEGER NOT NULL, total_cents INTEGER NOT NULL, \
     status TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, available INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS notifications (order_id TEXT PRIMARY KEY, message TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS saga_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, \
     order_id TEXT NOT NULL, event TEXT NOT NULL, UNIQUE (order_id, event))",
];

impl Shop {
    /// Opens (or creates) the SQLite database at `database_url`, builds the bus on
    /// `transport` with SQLite idempotency and registers the four consumers. Orders whose
    /// total exceeds `card_limit_cents` have their payment declined.
    pub async fn start(
        database_url: &str,
        transport: TransportChoice,
        card_limit_cents: i64,
    ) -> Result<Self, ShopError> {
        let options = SqliteConnectOptions::from_str(database_url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        let db = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        for statement in SCHEMA {
            sqlx::query(*statement).execute(&db).await?;
        }
        let store = SqliteStore::new(db.clone(), "idempotency")?;
        store.migrate().await?;
        let (transport, nats): (Arc<dyn eventschema::Transport>, _) = match transport {
            TransportChoice::InProcess => (Arc::new(InProcess::new()), None),
            TransportChoice::Nats { url, prefix } => {
                let nats = Arc::new(NatsTransport::connect(NatsConfig::new(url, prefix)).await?);
                (nats.clone(), Some(nats))
            }
        };
        let config = BusConfig {
            source: "urn:example:orders".to_owned(),
            ..BusConfig::default()
        };
        let bus = Bus::with_transport(
            config,
            Arc::new(SchemaCatalog::new()),
            Arc::new(MemoryDlq::new()),
            Arc::new(store) as Arc<dyn IdempotencyStore>,
            transport,
        );
        bus.register(Inventory { db: db.clone() })?;
        bus.register(Billing {
            db: db.clone(),
            card_limit_cents,
        })?;
        bus.register(Shipping { db: db.clone() })?;
        bus.register(Notifications { db: db.clone() })?;
        Ok(Shop { bus, db, nats })
    }

    /// Sets the stock of `sku`.
    pub async fn restock(&self, sku: &str, available: i64) -> Result<(), ShopError> {
        sqlx::query(
            "INSERT INTO stock (sku, available) VALUES (?, ?) \
             ON CONFLICT (sku) DO UPDATE SET available = excluded.available",
        )
        .bind(sku)
        .bind(available)
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Units of `sku` not reserved or shipped.
    pub async fn available(&self, sku: &str) -> Result<i64, ShopError> {
        let available: Option<i64> =
            sqlx::query_scalar("SELECT available FROM stock WHERE sku = ?")
                .bind(sku)
                .fetch_optional(&self.db)
                .await?;
        Ok(available.unwrap_or(0))
    }

    /// The producer: records the order and publishes `OrderPlaced`; the saga takes it
    /// from there.
    pub async fn place(&self, order: &NewOrder) -> Result<(), ShopError> {
        if order.quantity <= 0 {
            return Err(ShopError::EmptyOrder(order.order_id.clone()));
        }
        sqlx::query(
            "INSERT INTO orders (id, buyer_id, sku, quantity, total_cents, status) \
             VALUES (?, ?, ?, ?, ?, 'placed') ON CONFLICT (id) DO NOTHING",
        )
        .bind(&order.order_id)
        .bind(&order.buyer_id)
        .bind(&order.sku)
        .bind(order.quantity)
        .bind(order.total_cents)
        .execute(&self.db)
        .await?;
        let event = OrderPlaced {
            order_id: order.order_id.clone(),
            buyer_id: order.buyer_id.clone(),
            total_cents: order.total_cents,
            currency: "EUR".to_owned(),
            notes: None,
            channel: Channel::Web,
            lines: vec![OrderLine {
                sku: order.sku.clone(),
                quantity: order.quantity,
            }],
            attributes: Default::default(),
        };
        // Logged first: the consumers may log the next steps before `publish` returns.
        log(&self.db, &order.order_id, OrderPlaced::TYPE.to_owned()).await?;
        Publisher::new(&self.bus).publish(&event).await?;
        Ok(())
    }

    /// Waits until every order in `order_ids` has reached the end of the saga (its buyer
    /// was notified), then reads back where each one ended up.
    pub async fn settle(
        &self,
        order_ids: &[&str],
        timeout: Duration,
    ) -> Result<Vec<Outcome>, ShopError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut pending = Vec::new();
            for id in order_ids {
                let notified: Option<String> =
                    sqlx::query_scalar("SELECT message FROM notifications WHERE order_id = ?")
                        .bind(*id)
                        .fetch_optional(&self.db)
                        .await?;
                if notified.is_none() {
                    pending.push((*id).to_owned());
                }
            }
            if pending.is_empty() {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ShopError::Timeout(timeout, pending));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let the last handlers' acknowledgements land before reading the log.
        self.bus.flush().await;
        let mut outcomes = Vec::with_capacity(order_ids.len());
        for id in order_ids {
            let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = ?")
                .bind(*id)
                .fetch_one(&self.db)
                .await?;
            let notification: String =
                sqlx::query_scalar("SELECT message FROM notifications WHERE order_id = ?")
                    .bind(*id)
                    .fetch_one(&self.db)
                    .await?;
            let events: Vec<String> =
                sqlx::query_scalar("SELECT event FROM saga_log WHERE order_id = ? ORDER BY seq")
                    .bind(*id)
                    .fetch_all(&self.db)
                    .await?;
            outcomes.push(Outcome {
                order_id: (*id).to_owned(),
                status,
                notification,
                events,
            });
        }
        Ok(outcomes)
    }

    /// Dead letters (events the consumers gave up on); empty when all went well.
    pub async fn dead_letters(&self) -> Result<usize, ShopError> {
        Ok(self
            .bus
            .dead_letters()
            .list(&Default::default())
            .await?
            .len())
    }

    /// Stops the consumers; with NATS and `delete_stream`, also removes the stream (tests
    /// use throwaway prefixes).
    pub async fn shutdown(self, delete_stream: bool) -> Result<(), ShopError> {
        self.bus.shutdown(Duration::from_secs(5)).await;
        if let (true, Some(nats)) = (delete_stream, &self.nats) {
            nats.delete_stream().await?;
        }
        self.db.close().await;
        Ok(())
    }
}

async fn log(db: &SqlitePool, order_id: &str, event: String) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO saga_log (order_id, event) VALUES (?, ?) ON CONFLICT DO NOTHING")
        .bind(order_id)
        .bind(event)
        .execute(db)
        .await?;
    Ok(())
}

/// Publishes the saga's next event and records it in the saga log (what `settle` reports).
async fn emit<E: Event>(
    ctx: &Context,
    db: &SqlitePool,
    order_id: &str,
    event: &E,
    detail: &str,
) -> Result<(), HandlerError> {
    let entry = if detail.is_empty() {
        E::TYPE.to_owned()
    } else {
        format!("{} {detail}", E::TYPE)
    };
    // Logged before publishing, as the next consumer may log its step before `publish`
    // returns; a retry after a failed publish logs nothing new (the entry is unique).
    log(db, order_id, entry)
        .await
        .map_err(HandlerError::transient)?;
    ctx.publish(event).await.map_err(HandlerError::transient)?;
    Ok(())
}

/// Reserves stock for placed orders, and gives it back when the payment fails.
struct Inventory {
    db: SqlitePool,
}

#[eventschema::consumer(group = "inventory")]
impl Inventory {
    async fn on_order_placed(&self, order: OrderPlaced, ctx: Context) -> Result<(), HandlerError> {
        let quantity: i64 = order.lines.iter().map(|l| i64::from(l.quantity)).sum();
        let sku = order
            .lines
            .first()
            .map(|l| l.sku.clone())
            .unwrap_or_default();
        let mut tx = self.db.begin().await.map_err(HandlerError::transient)?;
        // The status guard makes a redelivered event reserve once.
        let claimed = sqlx::query(
            "UPDATE orders SET status = 'reserving' WHERE id = ? AND status = 'placed'",
        )
        .bind(&order.order_id)
        .execute(&mut *tx)
        .await
        .map_err(HandlerError::transient)?
        .rows_affected();
        let reserved = if claimed == 1 {
            let taken = sqlx::query(
                "UPDATE stock SET available = available - ? WHERE sku = ? AND available >= ?",
            )
            .bind(quantity)
            .bind(&sku)
            .bind(quantity)
            .execute(&mut *tx)
            .await
            .map_err(HandlerError::transient)?
            .rows_affected();
            let status = if taken == 1 { "reserved" } else { "cancelled" };
            sqlx::query("UPDATE orders SET status = ? WHERE id = ?")
                .bind(status)
                .bind(&order.order_id)
                .execute(&mut *tx)
                .await
                .map_err(HandlerError::transient)?;
            taken == 1
        } else {
            let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = ?")
                .bind(&order.order_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(HandlerError::transient)?;
            status != "cancelled"
        };
        tx.commit().await.map_err(HandlerError::transient)?;
        if reserved {
            let event = StockReserved {
                reservation_id: order.order_id.clone(),
                sku,
                quantity,
                expires_at: None,
                location: Location {
                    warehouse: "main".to_owned(),
                    bin: None,
                },
            };
            emit(&ctx, &self.db, &order.order_id, &event, "").await
        } else {
            let event = OrderCancelled {
                order_id: order.order_id.clone(),
                reason_code: CancelReason::OutOfStock,
                cancelled_at: chrono::Utc::now(),
            };
            emit(&ctx, &self.db, &order.order_id, &event, "OUT_OF_STOCK").await
        }
    }

    /// The compensation: the reservation is undone and the order cancelled.
    async fn on_payment_failed(
        &self,
        failed: PaymentFailed,
        ctx: Context,
    ) -> Result<(), HandlerError> {
        let mut tx = self.db.begin().await.map_err(HandlerError::transient)?;
        let cancelled = sqlx::query(
            "UPDATE orders SET status = 'cancelled' WHERE id = ? AND status = 'reserved'",
        )
        .bind(&failed.order_id)
        .execute(&mut *tx)
        .await
        .map_err(HandlerError::transient)?
        .rows_affected();
        let (sku, quantity): (String, i64) =
            sqlx::query_as("SELECT sku, quantity FROM orders WHERE id = ?")
                .bind(&failed.order_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(HandlerError::transient)?;
        if cancelled == 1 {
            sqlx::query("UPDATE stock SET available = available + ? WHERE sku = ?")
                .bind(quantity)
                .bind(&sku)
                .execute(&mut *tx)
                .await
                .map_err(HandlerError::transient)?;
        }
        tx.commit().await.map_err(HandlerError::transient)?;
        let released = StockReleased {
            reservation_id: failed.order_id.clone(),
            quantity,
            reason: ReleaseReason::Cancelled,
        };
        emit(&ctx, &self.db, &failed.order_id, &released, "CANCELLED").await?;
        let cancelled = OrderCancelled {
            order_id: failed.order_id.clone(),
            reason_code: CancelReason::PaymentFailed,
            cancelled_at: chrono::Utc::now(),
        };
        emit(
            &ctx,
            &self.db,
            &failed.order_id,
            &cancelled,
            "PAYMENT_FAILED",
        )
        .await
    }
}

/// Charges the buyer once the goods are reserved; declines totals above the card limit.
struct Billing {
    db: SqlitePool,
    card_limit_cents: i64,
}

#[eventschema::consumer(group = "billing")]
impl Billing {
    async fn on_stock_reserved(
        &self,
        reserved: StockReserved,
        ctx: Context,
    ) -> Result<(), HandlerError> {
        let order_id = reserved.reservation_id;
        let total_cents: i64 = sqlx::query_scalar("SELECT total_cents FROM orders WHERE id = ?")
            .bind(&order_id)
            .fetch_one(&self.db)
            .await
            .map_err(HandlerError::transient)?;
        let payment_id = format!("pay-{order_id}");
        if total_cents > self.card_limit_cents {
            let failed = PaymentFailed {
                payment_id,
                order_id: order_id.clone(),
                reason: PaymentFailedReason::Declined,
                attempt: Some(1),
                retryable: Some(false),
            };
            emit(&ctx, &self.db, &order_id, &failed, "DECLINED").await
        } else {
            let authorized = PaymentAuthorized {
                payment_id,
                order_id: order_id.clone(),
                amount_cents: total_cents,
                instrument: PaymentAuthorizedInstrument::Card(Card {
                    last4: "4242".to_owned(),
                    brand: "visa".to_owned(),
                }),
                authorization_code: Some(format!("auth-{order_id}")),
                captured: true,
            };
            emit(&ctx, &self.db, &order_id, &authorized, "").await
        }
    }
}

/// Ships paid orders; the shipment consumes the reservation (`StockReleased(FULFILLED)`).
struct Shipping {
    db: SqlitePool,
}

#[eventschema::consumer(group = "shipping")]
impl Shipping {
    async fn on_payment_authorized(
        &self,
        paid: PaymentAuthorized,
        ctx: Context,
    ) -> Result<(), HandlerError> {
        sqlx::query("UPDATE orders SET status = 'shipped' WHERE id = ? AND status = 'reserved'")
            .bind(&paid.order_id)
            .execute(&self.db)
            .await
            .map_err(HandlerError::transient)?;
        let quantity: i64 = sqlx::query_scalar("SELECT quantity FROM orders WHERE id = ?")
            .bind(&paid.order_id)
            .fetch_one(&self.db)
            .await
            .map_err(HandlerError::transient)?;
        let shipped = StockReleased {
            reservation_id: paid.order_id.clone(),
            quantity,
            reason: ReleaseReason::Fulfilled,
        };
        emit(&ctx, &self.db, &paid.order_id, &shipped, "FULFILLED").await
    }
}

/// Tells the buyer how the order ended.
struct Notifications {
    db: SqlitePool,
}

impl Notifications {
    async fn notify(&self, order_id: &str, message: String) -> Result<(), HandlerError> {
        sqlx::query("INSERT INTO notifications (order_id, message) VALUES (?, ?) ON CONFLICT (order_id) DO NOTHING")
            .bind(order_id)
            .bind(message)
            .execute(&self.db)
            .await
            .map_err(HandlerError::transient)?;
        Ok(())
    }
}

#[eventschema::consumer(group = "notifications")]
impl Notifications {
    async fn on_stock_released(&self, released: StockReleased) -> Result<(), HandlerError> {
        // A cancelled reservation is followed by `OrderCancelled`, which says why.
        if released.reason == ReleaseReason::Fulfilled {
            self.notify(
                &released.reservation_id,
                "your order has shipped".to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn on_order_cancelled(&self, cancelled: OrderCancelled) -> Result<(), HandlerError> {
        let why = match cancelled.reason_code {
            CancelReason::PaymentFailed => "your payment was declined",
            CancelReason::OutOfStock => "an item is out of stock",
            CancelReason::CustomerRequest => "you asked us to",
        };
        self.notify(
            &cancelled.order_id,
            format!("your order was cancelled: {why}"),
        )
        .await
    }
}
