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
//! `FULFILLED`.
//!
//! State (orders, stock, notifications, the saga log) lives in SQLite or PostgreSQL. The
//! saga's reads and writes ([`Steps`]) are written once for both; what differs is how a
//! step commits. On SQLite a handler runs its step in its own transaction, commits, then
//! publishes, and the idempotency keys sit in a SQLite table. On PostgreSQL every handler
//! is an inbox handler (`&mut PgConnection`, registered with `Bus::register_inbox`): its
//! writes, its saga log entries and the idempotency key commit in one transaction, so a
//! redelivered event finds its key and changes nothing. The bus runs in process or over
//! NATS JetStream. With a registry (`Options::registry`), every version of the example's
//! schemas is registered in order at start, published events carry their registry id
//! (`schemaid`), and the bus validates them through the registry-backed catalog, which
//! fetches each id on first sight.
//!
//! Depends only on the `eventschema` runtime and its generated types, never on the
//! registry server or the CLI: that is all a service needs.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use eventschema::envelope::ext;
use eventschema::idempotency::postgres::PgStore;
use eventschema::idempotency::sqlite::SqliteStore;
use eventschema::registry::{ClientError, RegistrySource};
use eventschema::transport::nats::{NatsConfig, NatsTransport};
use eventschema::{
    Bus, BusConfig, Context, Event, HandlerError, IdempotencyStore, InProcess, MemoryDlq,
    PublishOutcome, SchemaCatalog,
};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{PgConnection, SqliteConnection};

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
    Publish(#[from] eventschema::PublishError),
    #[error("envelope: {0}")]
    Envelope(#[from] eventschema::EnvelopeError),
    #[error("the bus refused the event: {0}")]
    Refused(eventschema::Invalid),
    #[error("registry: {0}")]
    Registry(#[from] ClientError),
    #[error(
        "the registry holds `{subject}` v{expected} as version {found}: register the schemas/ \
         folder in order (`eventschema push`) into a registry without other versions"
    )]
    RegistryVersion {
        subject: &'static str,
        expected: u32,
        found: u32,
    },
    #[error("PostgreSQL schema name `{0}` (expected [a-z_][a-z0-9_]*)")]
    SchemaName(String),
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

/// How the shop starts.
#[derive(Debug, Clone)]
pub struct Options {
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    /// On PostgreSQL, the schema holding the tables (created if missing).
    pub pg_schema: String,
    pub transport: TransportChoice,
    /// Orders whose total exceeds this have their payment declined.
    pub card_limit_cents: i64,
    /// A registry URL: schemas registered there, events validated through it.
    pub registry: Option<String>,
}

impl Options {
    /// In-process, without a registry, the tables in schema `orders_example` on PostgreSQL.
    pub fn new(database_url: impl Into<String>, card_limit_cents: i64) -> Self {
        Options {
            database_url: database_url.into(),
            pg_schema: "orders_example".to_owned(),
            transport: TransportChoice::InProcess,
            card_limit_cents,
            registry: None,
        }
    }
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

/// Where the state lives.
#[derive(Debug, Clone)]
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$conn` bound to a pooled connection of either database.
macro_rules! with_conn {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            Db::Sqlite(pool) => {
                let mut held = pool.acquire().await?;
                let $conn: &mut SqliteConnection = &mut held;
                $body
            }
            Db::Postgres(pool) => {
                let mut held = pool.acquire().await?;
                let $conn: &mut PgConnection = &mut held;
                $body
            }
        }
    };
}

/// The registry ids of the event types this service publishes, by CloudEvents `type`
/// (empty without a registry: events then carry only `schemaversion`).
#[derive(Debug, Clone, Default)]
struct SchemaIds(Arc<HashMap<&'static str, u64>>);

impl SchemaIds {
    fn stamp<E: Event>(
        &self,
        envelope: &mut eventschema::Envelope,
    ) -> Result<(), eventschema::EnvelopeError> {
        match self.0.get(E::TYPE) {
            Some(id) => envelope.set_extension(ext::SCHEMA_ID, id.to_string()),
            None => Ok(()),
        }
    }
}

/// The running service: the bus with its consumers registered, and the database.
#[derive(Debug)]
pub struct Shop {
    bus: Bus,
    db: Db,
    ids: SchemaIds,
    nats: Option<Arc<NatsTransport>>,
}

const SQLITE_TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, buyer_id TEXT NOT NULL, \
     sku TEXT NOT NULL, quantity INTEGER NOT NULL, total_cents INTEGER NOT NULL, \
     status TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, available INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS notifications (order_id TEXT PRIMARY KEY, message TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS saga_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, \
     order_id TEXT NOT NULL, event TEXT NOT NULL, UNIQUE (order_id, event))",
];

const POSTGRES_TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, buyer_id TEXT NOT NULL, \
     sku TEXT NOT NULL, quantity BIGINT NOT NULL, total_cents BIGINT NOT NULL, \
     status TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, available BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS notifications (order_id TEXT PRIMARY KEY, message TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS saga_log (seq BIGSERIAL PRIMARY KEY, \
     order_id TEXT NOT NULL, event TEXT NOT NULL, UNIQUE (order_id, event))",
];

impl Shop {
    /// [`Shop::start_with`] in process on a SQLite database, without a registry.
    pub async fn start(
        database_url: &str,
        transport: TransportChoice,
        card_limit_cents: i64,
    ) -> Result<Self, ShopError> {
        Self::start_with(Options {
            transport,
            ..Options::new(database_url, card_limit_cents)
        })
        .await
    }

    /// Opens (or creates) the database, registers the schemas when a registry is given,
    /// builds the bus on the transport and registers the four consumers.
    pub async fn start_with(options: Options) -> Result<Self, ShopError> {
        let (catalog, ids) = match &options.registry {
            Some(url) => {
                let source = RegistrySource::new(url)?;
                let ids = register_schemas(&source).await?;
                (source.catalog(), ids)
            }
            None => (SchemaCatalog::new(), SchemaIds::default()),
        };
        let (transport, nats): (Arc<dyn eventschema::Transport>, _) = match options.transport {
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
        let card_limit_cents = options.card_limit_cents;
        let (bus, db) = if options.database_url.starts_with("postgres") {
            let pool = open_postgres(&options.database_url, &options.pg_schema).await?;
            let store = PgStore::new(pool.clone(), "idempotency")?;
            store.migrate().await?;
            let bus = Bus::with_transport(
                config,
                Arc::new(catalog),
                Arc::new(MemoryDlq::new()),
                Arc::new(store.clone()) as Arc<dyn IdempotencyStore>,
                transport,
            );
            let ids = ids.clone();
            bus.register_inbox(InboxInventory { ids: ids.clone() }, store.clone())?;
            bus.register_inbox(
                InboxBilling {
                    ids: ids.clone(),
                    card_limit_cents,
                },
                store.clone(),
            )?;
            bus.register_inbox(InboxShipping { ids }, store.clone())?;
            bus.register_inbox(InboxNotifications, store)?;
            (bus, Db::Postgres(pool))
        } else {
            let pool = open_sqlite(&options.database_url).await?;
            let store = SqliteStore::new(pool.clone(), "idempotency")?;
            store.migrate().await?;
            let bus = Bus::with_transport(
                config,
                Arc::new(catalog),
                Arc::new(MemoryDlq::new()),
                Arc::new(store) as Arc<dyn IdempotencyStore>,
                transport,
            );
            let consumer = |pool: &SqlitePool| Local {
                db: pool.clone(),
                ids: ids.clone(),
                card_limit_cents,
            };
            bus.register(Inventory(consumer(&pool)))?;
            bus.register(Billing(consumer(&pool)))?;
            bus.register(Shipping(consumer(&pool)))?;
            bus.register(Notifications(consumer(&pool)))?;
            (bus, Db::Sqlite(pool))
        };
        Ok(Shop { bus, db, ids, nats })
    }

    /// Sets the stock of `sku`.
    pub async fn restock(&self, sku: &str, available: i64) -> Result<(), ShopError> {
        with_conn!(&self.db, |conn| conn.restock(sku, available).await)?;
        Ok(())
    }

    /// Units of `sku` not reserved or shipped.
    pub async fn available(&self, sku: &str) -> Result<i64, ShopError> {
        Ok(with_conn!(&self.db, |conn| conn.available(sku).await)?)
    }

    /// The producer: records the order and publishes `OrderPlaced`; the saga takes it
    /// from there.
    pub async fn place(&self, order: &NewOrder) -> Result<(), ShopError> {
        if order.quantity <= 0 {
            return Err(ShopError::EmptyOrder(order.order_id.clone()));
        }
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
        with_conn!(&self.db, |conn| {
            conn.insert_order(order).await?;
            conn.log(&order.order_id, OrderPlaced::TYPE).await
        })?;
        let mut envelope = self.bus.envelope_for(&event, None)?;
        self.ids.stamp::<OrderPlaced>(&mut envelope)?;
        match self.bus.publish_envelope(envelope).await? {
            PublishOutcome::DeadLettered(invalid) => Err(ShopError::Refused(invalid)),
            _ => Ok(()),
        }
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
                let notified = with_conn!(&self.db, |conn| conn.notification(id).await)?;
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
        // Let the last handlers' acknowledgements (and inbox commits) land before reading.
        self.bus.flush().await;
        let mut outcomes = Vec::with_capacity(order_ids.len());
        for id in order_ids {
            let outcome = with_conn!(&self.db, |conn| conn.outcome(id).await)?;
            outcomes.push(outcome);
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
        match self.db {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
        Ok(())
    }
}

async fn open_sqlite(database_url: &str) -> Result<SqlitePool, ShopError> {
    let options = SqliteConnectOptions::from_str(database_url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    for statement in SQLITE_TABLES {
        sqlx::query(*statement).execute(&pool).await?;
    }
    Ok(pool)
}

/// A pool whose connections use `schema` first, so the tables (and the idempotency keys)
/// of several runs or tests on one database stay apart.
async fn open_postgres(database_url: &str, schema: &str) -> Result<PgPool, ShopError> {
    let valid = schema
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(ShopError::SchemaName(schema.to_owned()));
    }
    let setup = PgPoolOptions::new()
        .max_connections(1)
        .connect(database_url)
        .await?;
    // The name was checked above, so formatting it into the statement is safe.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}"
    )))
    .execute(&setup)
    .await?;
    setup.close().await;
    let search_path = format!("SET search_path TO {schema}");
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .after_connect(move |conn, _meta| {
            let search_path = search_path.clone();
            Box::pin(async move {
                sqlx::query(sqlx::AssertSqlSafe(search_path))
                    .execute(conn)
                    .await?;
                Ok(())
            })
        })
        .connect(database_url)
        .await?;
    for statement in POSTGRES_TABLES {
        sqlx::query(*statement).execute(&pool).await?;
    }
    Ok(pool)
}

/// Registers every version of the published subjects in order, so that the registry's
/// version numbers are the folder's (an existing identical version is found, not
/// duplicated), and keeps the newest versions' ids for `schemaid`.
async fn register_schemas(source: &RegistrySource) -> Result<SchemaIds, ShopError> {
    use events::*;

    async fn one<E: Event>(source: &RegistrySource) -> Result<u64, ShopError> {
        let (id, version) = source.register_event::<E>().await?;
        if version != E::VERSION {
            return Err(ShopError::RegistryVersion {
                subject: E::SUBJECT,
                expected: E::VERSION,
                found: version,
            });
        }
        Ok(id)
    }

    one::<orders_order_placed::v1::OrderPlaced>(source).await?;
    one::<orders_order_placed::v2::OrderPlaced>(source).await?;
    let placed = one::<OrderPlaced>(source).await?;
    one::<inventory_stock_reserved::v1::StockReserved>(source).await?;
    one::<inventory_stock_reserved::v2::StockReserved>(source).await?;
    let reserved = one::<StockReserved>(source).await?;
    one::<inventory_stock_released::v1::StockReleased>(source).await?;
    let released = one::<StockReleased>(source).await?;
    one::<orders_order_cancelled::v1::OrderCancelled>(source).await?;
    one::<orders_order_cancelled::v2::OrderCancelled>(source).await?;
    let cancelled = one::<OrderCancelled>(source).await?;
    one::<payments_payment_authorized::v1::PaymentAuthorized>(source).await?;
    one::<payments_payment_authorized::v2::PaymentAuthorized>(source).await?;
    let authorized = one::<PaymentAuthorized>(source).await?;
    one::<payments_payment_failed::v1::PaymentFailed>(source).await?;
    let failed = one::<PaymentFailed>(source).await?;
    Ok(SchemaIds(Arc::new(HashMap::from([
        (OrderPlaced::TYPE, placed),
        (StockReserved::TYPE, reserved),
        (StockReleased::TYPE, released),
        (OrderCancelled::TYPE, cancelled),
        (PaymentAuthorized::TYPE, authorized),
        (PaymentFailed::TYPE, failed),
    ]))))
}

/// The saga's reads and writes, written once for both databases (`$n` placeholders read
/// the same on SQLite and PostgreSQL); each runs on the connection of the caller's
/// transaction.
trait Steps: Send {
    async fn restock(&mut self, sku: &str, available: i64) -> Result<(), sqlx::Error>;
    async fn available(&mut self, sku: &str) -> Result<i64, sqlx::Error>;
    async fn insert_order(&mut self, order: &NewOrder) -> Result<(), sqlx::Error>;
    async fn log(&mut self, order_id: &str, entry: &str) -> Result<(), sqlx::Error>;
    /// Moves a placed order to `reserved` (stock taken) or `cancelled` (not enough);
    /// `true` when the order is (or already was) reserved.
    async fn reserve(
        &mut self,
        order_id: &str,
        sku: &str,
        quantity: i64,
    ) -> Result<bool, sqlx::Error>;
    /// Cancels a reserved order and gives its stock back; its SKU and quantity.
    async fn cancel_reserved(&mut self, order_id: &str) -> Result<(String, i64), sqlx::Error>;
    async fn total_cents(&mut self, order_id: &str) -> Result<i64, sqlx::Error>;
    /// Marks a reserved order shipped; its quantity.
    async fn ship(&mut self, order_id: &str) -> Result<i64, sqlx::Error>;
    async fn notify(&mut self, order_id: &str, message: &str) -> Result<(), sqlx::Error>;
    async fn notification(&mut self, order_id: &str) -> Result<Option<String>, sqlx::Error>;
    async fn outcome(&mut self, order_id: &str) -> Result<Outcome, sqlx::Error>;
}

macro_rules! impl_steps {
    ($conn:ty) => {
        impl Steps for $conn {
            async fn restock(&mut self, sku: &str, available: i64) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO stock (sku, available) VALUES ($1, $2) \
                     ON CONFLICT (sku) DO UPDATE SET available = excluded.available",
                )
                .bind(sku)
                .bind(available)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn available(&mut self, sku: &str) -> Result<i64, sqlx::Error> {
                let available: Option<i64> =
                    sqlx::query_scalar("SELECT available FROM stock WHERE sku = $1")
                        .bind(sku)
                        .fetch_optional(&mut *self)
                        .await?;
                Ok(available.unwrap_or(0))
            }

            async fn insert_order(&mut self, order: &NewOrder) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO orders (id, buyer_id, sku, quantity, total_cents, status) \
                     VALUES ($1, $2, $3, $4, $5, 'placed') ON CONFLICT (id) DO NOTHING",
                )
                .bind(&order.order_id)
                .bind(&order.buyer_id)
                .bind(&order.sku)
                .bind(i64::from(order.quantity))
                .bind(order.total_cents)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn log(&mut self, order_id: &str, entry: &str) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO saga_log (order_id, event) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(order_id)
                .bind(entry)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn reserve(
                &mut self,
                order_id: &str,
                sku: &str,
                quantity: i64,
            ) -> Result<bool, sqlx::Error> {
                // The status guard makes a redelivered event reserve once.
                let claimed = sqlx::query(
                    "UPDATE orders SET status = 'reserving' WHERE id = $1 AND status = 'placed'",
                )
                .bind(order_id)
                .execute(&mut *self)
                .await?
                .rows_affected();
                if claimed != 1 {
                    let status: String =
                        sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
                            .bind(order_id)
                            .fetch_one(&mut *self)
                            .await?;
                    return Ok(status != "cancelled");
                }
                let taken = sqlx::query(
                    "UPDATE stock SET available = available - $1 \
                     WHERE sku = $2 AND available >= $3",
                )
                .bind(quantity)
                .bind(sku)
                .bind(quantity)
                .execute(&mut *self)
                .await?
                .rows_affected();
                let status = if taken == 1 { "reserved" } else { "cancelled" };
                sqlx::query("UPDATE orders SET status = $1 WHERE id = $2")
                    .bind(status)
                    .bind(order_id)
                    .execute(&mut *self)
                    .await?;
                Ok(taken == 1)
            }

            async fn cancel_reserved(
                &mut self,
                order_id: &str,
            ) -> Result<(String, i64), sqlx::Error> {
                let cancelled = sqlx::query(
                    "UPDATE orders SET status = 'cancelled' WHERE id = $1 AND status = 'reserved'",
                )
                .bind(order_id)
                .execute(&mut *self)
                .await?
                .rows_affected();
                let (sku, quantity): (String, i64) =
                    sqlx::query_as("SELECT sku, quantity FROM orders WHERE id = $1")
                        .bind(order_id)
                        .fetch_one(&mut *self)
                        .await?;
                if cancelled == 1 {
                    sqlx::query("UPDATE stock SET available = available + $1 WHERE sku = $2")
                        .bind(quantity)
                        .bind(&sku)
                        .execute(&mut *self)
                        .await?;
                }
                Ok((sku, quantity))
            }

            async fn total_cents(&mut self, order_id: &str) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar("SELECT total_cents FROM orders WHERE id = $1")
                    .bind(order_id)
                    .fetch_one(&mut *self)
                    .await
            }

            async fn ship(&mut self, order_id: &str) -> Result<i64, sqlx::Error> {
                sqlx::query(
                    "UPDATE orders SET status = 'shipped' WHERE id = $1 AND status = 'reserved'",
                )
                .bind(order_id)
                .execute(&mut *self)
                .await?;
                sqlx::query_scalar("SELECT quantity FROM orders WHERE id = $1")
                    .bind(order_id)
                    .fetch_one(&mut *self)
                    .await
            }

            async fn notify(&mut self, order_id: &str, message: &str) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO notifications (order_id, message) VALUES ($1, $2) \
                     ON CONFLICT (order_id) DO NOTHING",
                )
                .bind(order_id)
                .bind(message)
                .execute(&mut *self)
                .await?;
                Ok(())
            }

            async fn notification(
                &mut self,
                order_id: &str,
            ) -> Result<Option<String>, sqlx::Error> {
                sqlx::query_scalar("SELECT message FROM notifications WHERE order_id = $1")
                    .bind(order_id)
                    .fetch_optional(&mut *self)
                    .await
            }

            async fn outcome(&mut self, order_id: &str) -> Result<Outcome, sqlx::Error> {
                let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
                    .bind(order_id)
                    .fetch_one(&mut *self)
                    .await?;
                let notification: String =
                    sqlx::query_scalar("SELECT message FROM notifications WHERE order_id = $1")
                        .bind(order_id)
                        .fetch_one(&mut *self)
                        .await?;
                let events: Vec<String> = sqlx::query_scalar(
                    "SELECT event FROM saga_log WHERE order_id = $1 ORDER BY seq",
                )
                .bind(order_id)
                .fetch_all(&mut *self)
                .await?;
                Ok(Outcome {
                    order_id: order_id.to_owned(),
                    status,
                    notification,
                    events,
                })
            }
        }
    };
}

impl_steps!(SqliteConnection);
impl_steps!(PgConnection);

/// An event a step publishes, with the detail its saga log entry carries.
enum Next {
    Reserved(StockReserved),
    Cancelled(OrderCancelled),
    Authorized(PaymentAuthorized),
    Failed(PaymentFailed),
    Released(StockReleased),
}

impl Next {
    fn order_id(&self) -> &str {
        match self {
            Next::Reserved(e) => &e.reservation_id,
            Next::Cancelled(e) => &e.order_id,
            Next::Authorized(e) => &e.order_id,
            Next::Failed(e) => &e.order_id,
            Next::Released(e) => &e.reservation_id,
        }
    }

    /// The saga log entry: the type, and what distinguishes the outcomes of one type.
    fn entry(&self) -> String {
        let (ty, detail) = match self {
            Next::Reserved(_) => (StockReserved::TYPE, ""),
            Next::Authorized(_) => (PaymentAuthorized::TYPE, ""),
            Next::Failed(_) => (PaymentFailed::TYPE, "DECLINED"),
            Next::Cancelled(e) => (
                OrderCancelled::TYPE,
                match e.reason_code {
                    CancelReason::PaymentFailed => "PAYMENT_FAILED",
                    CancelReason::OutOfStock => "OUT_OF_STOCK",
                    CancelReason::CustomerRequest => "CUSTOMER_REQUEST",
                },
            ),
            Next::Released(e) => (
                StockReleased::TYPE,
                match e.reason {
                    ReleaseReason::Fulfilled => "FULFILLED",
                    ReleaseReason::Cancelled => "CANCELLED",
                    ReleaseReason::Expired => "EXPIRED",
                },
            ),
        };
        if detail.is_empty() {
            ty.to_owned()
        } else {
            format!("{ty} {detail}")
        }
    }

    async fn publish(&self, ctx: &Context, ids: &SchemaIds) -> Result<(), HandlerError> {
        match self {
            Next::Reserved(e) => publish(ctx, ids, e).await,
            Next::Cancelled(e) => publish(ctx, ids, e).await,
            Next::Authorized(e) => publish(ctx, ids, e).await,
            Next::Failed(e) => publish(ctx, ids, e).await,
            Next::Released(e) => publish(ctx, ids, e).await,
        }
    }
}

async fn publish<E: Event>(ctx: &Context, ids: &SchemaIds, event: &E) -> Result<(), HandlerError> {
    let mut envelope = ctx.envelope_for(event).map_err(HandlerError::permanent)?;
    ids.stamp::<E>(&mut envelope)
        .map_err(HandlerError::permanent)?;
    match ctx
        .publish_envelope(envelope)
        .await
        .map_err(HandlerError::transient)?
    {
        PublishOutcome::DeadLettered(invalid) => Err(HandlerError::permanent(invalid)),
        _ => Ok(()),
    }
}

/// Logs the step's events in its transaction (before they are published, as the next
/// consumer may log its own step before `publish` returns).
async fn log_next(db: &mut impl Steps, next: &[Next]) -> Result<(), HandlerError> {
    for event in next {
        db.log(event.order_id(), &event.entry())
            .await
            .map_err(HandlerError::transient)?;
    }
    Ok(())
}

async fn emit(ctx: &Context, ids: &SchemaIds, next: &[Next]) -> Result<(), HandlerError> {
    for event in next {
        event.publish(ctx, ids).await?;
    }
    Ok(())
}

/// The steps, one per handler: state changes on `db`, the events to publish.
mod saga {
    use super::*;

    pub(super) async fn order_placed(
        db: &mut impl Steps,
        order: &OrderPlaced,
    ) -> Result<Vec<Next>, HandlerError> {
        let quantity: i64 = order.lines.iter().map(|l| i64::from(l.quantity)).sum();
        let sku = order
            .lines
            .first()
            .map(|l| l.sku.clone())
            .unwrap_or_default();
        let reserved = db
            .reserve(&order.order_id, &sku, quantity)
            .await
            .map_err(HandlerError::transient)?;
        let next = if reserved {
            Next::Reserved(StockReserved {
                reservation_id: order.order_id.clone(),
                sku,
                quantity,
                expires_at: None,
                location: Location {
                    warehouse: "main".to_owned(),
                    bin: None,
                },
            })
        } else {
            Next::Cancelled(OrderCancelled {
                order_id: order.order_id.clone(),
                reason_code: CancelReason::OutOfStock,
                cancelled_at: chrono::Utc::now(),
            })
        };
        Ok(vec![next])
    }

    /// The compensation: the reservation is undone and the order cancelled.
    pub(super) async fn payment_failed(
        db: &mut impl Steps,
        failed: &PaymentFailed,
    ) -> Result<Vec<Next>, HandlerError> {
        let (_sku, quantity) = db
            .cancel_reserved(&failed.order_id)
            .await
            .map_err(HandlerError::transient)?;
        Ok(vec![
            Next::Released(StockReleased {
                reservation_id: failed.order_id.clone(),
                quantity,
                reason: ReleaseReason::Cancelled,
            }),
            Next::Cancelled(OrderCancelled {
                order_id: failed.order_id.clone(),
                reason_code: CancelReason::PaymentFailed,
                cancelled_at: chrono::Utc::now(),
            }),
        ])
    }

    /// Charges the buyer; declines totals above the card limit.
    pub(super) async fn stock_reserved(
        db: &mut impl Steps,
        reserved: &StockReserved,
        card_limit_cents: i64,
    ) -> Result<Vec<Next>, HandlerError> {
        let order_id = reserved.reservation_id.clone();
        let total_cents = db
            .total_cents(&order_id)
            .await
            .map_err(HandlerError::transient)?;
        let payment_id = format!("pay-{order_id}");
        let next = if total_cents > card_limit_cents {
            Next::Failed(PaymentFailed {
                payment_id,
                order_id,
                reason: PaymentFailedReason::Declined,
                attempt: Some(1),
                retryable: Some(false),
            })
        } else {
            Next::Authorized(PaymentAuthorized {
                payment_id,
                authorization_code: Some(format!("auth-{order_id}")),
                order_id,
                amount_cents: total_cents,
                instrument: PaymentAuthorizedInstrument::Card(Card {
                    last4: "4242".to_owned(),
                    brand: "visa".to_owned(),
                }),
                captured: true,
            })
        };
        Ok(vec![next])
    }

    /// Ships a paid order; the shipment consumes the reservation.
    pub(super) async fn payment_authorized(
        db: &mut impl Steps,
        paid: &PaymentAuthorized,
    ) -> Result<Vec<Next>, HandlerError> {
        let quantity = db
            .ship(&paid.order_id)
            .await
            .map_err(HandlerError::transient)?;
        Ok(vec![Next::Released(StockReleased {
            reservation_id: paid.order_id.clone(),
            quantity,
            reason: ReleaseReason::Fulfilled,
        })])
    }

    /// Tells the buyer how the order ended (a cancelled reservation is followed by
    /// `OrderCancelled`, which says why).
    pub(super) async fn stock_released(
        db: &mut impl Steps,
        released: &StockReleased,
    ) -> Result<(), HandlerError> {
        if released.reason == ReleaseReason::Fulfilled {
            db.notify(&released.reservation_id, "your order has shipped")
                .await
                .map_err(HandlerError::transient)?;
        }
        Ok(())
    }

    pub(super) async fn order_cancelled(
        db: &mut impl Steps,
        cancelled: &OrderCancelled,
    ) -> Result<(), HandlerError> {
        let why = match cancelled.reason_code {
            CancelReason::PaymentFailed => "your payment was declined",
            CancelReason::OutOfStock => "an item is out of stock",
            CancelReason::CustomerRequest => "you asked us to",
        };
        db.notify(
            &cancelled.order_id,
            &format!("your order was cancelled: {why}"),
        )
        .await
        .map_err(HandlerError::transient)
    }
}

/// What the SQLite consumers share: the pool, the registry ids and the card limit.
#[derive(Clone)]
struct Local {
    db: SqlitePool,
    ids: SchemaIds,
    card_limit_cents: i64,
}

impl Local {
    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, HandlerError> {
        self.db.begin().await.map_err(HandlerError::transient)
    }

    /// Logs the step's events, commits, then publishes them.
    async fn finish(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Sqlite>,
        ctx: &Context,
        next: Vec<Next>,
    ) -> Result<(), HandlerError> {
        log_next(&mut *tx, &next).await?;
        tx.commit().await.map_err(HandlerError::transient)?;
        emit(ctx, &self.ids, &next).await
    }
}

/// Reserves stock for placed orders, and gives it back when the payment fails.
struct Inventory(Local);

#[eventschema::consumer(group = "inventory")]
impl Inventory {
    async fn on_order_placed(&self, order: OrderPlaced, ctx: Context) -> Result<(), HandlerError> {
        let mut tx = self.0.begin().await?;
        let next = saga::order_placed(&mut *tx, &order).await?;
        self.0.finish(tx, &ctx, next).await
    }

    async fn on_payment_failed(
        &self,
        failed: PaymentFailed,
        ctx: Context,
    ) -> Result<(), HandlerError> {
        let mut tx = self.0.begin().await?;
        let next = saga::payment_failed(&mut *tx, &failed).await?;
        self.0.finish(tx, &ctx, next).await
    }
}

/// Charges the buyer once the goods are reserved.
struct Billing(Local);

#[eventschema::consumer(group = "billing")]
impl Billing {
    async fn on_stock_reserved(
        &self,
        reserved: StockReserved,
        ctx: Context,
    ) -> Result<(), HandlerError> {
        let mut tx = self.0.begin().await?;
        let next = saga::stock_reserved(&mut *tx, &reserved, self.0.card_limit_cents).await?;
        self.0.finish(tx, &ctx, next).await
    }
}

/// Ships paid orders.
struct Shipping(Local);

#[eventschema::consumer(group = "shipping")]
impl Shipping {
    async fn on_payment_authorized(
        &self,
        paid: PaymentAuthorized,
        ctx: Context,
    ) -> Result<(), HandlerError> {
        let mut tx = self.0.begin().await?;
        let next = saga::payment_authorized(&mut *tx, &paid).await?;
        self.0.finish(tx, &ctx, next).await
    }
}

/// Tells the buyer how the order ended.
struct Notifications(Local);

#[eventschema::consumer(group = "notifications")]
impl Notifications {
    async fn on_stock_released(&self, released: StockReleased) -> Result<(), HandlerError> {
        let mut conn = self.0.db.acquire().await.map_err(HandlerError::transient)?;
        saga::stock_released(&mut *conn, &released).await
    }

    async fn on_order_cancelled(&self, cancelled: OrderCancelled) -> Result<(), HandlerError> {
        let mut conn = self.0.db.acquire().await.map_err(HandlerError::transient)?;
        saga::order_cancelled(&mut *conn, &cancelled).await
    }
}

/// The PostgreSQL consumers: the same steps as inbox handlers. The step's writes, its log
/// entries and the idempotency key commit together after the handler returns. Its events
/// are published inside the transaction, so the next step may start before the commit:
/// the steps that depend on an earlier one's state (`ship`, `cancel_reserved`) update the
/// order's row first and so wait on its row lock, then see the committed status.
struct InboxInventory {
    ids: SchemaIds,
}

#[eventschema::consumer(group = "inventory")]
impl InboxInventory {
    async fn on_order_placed(
        &self,
        order: OrderPlaced,
        ctx: Context,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let next = saga::order_placed(tx, &order).await?;
        log_next(tx, &next).await?;
        emit(&ctx, &self.ids, &next).await
    }

    async fn on_payment_failed(
        &self,
        failed: PaymentFailed,
        ctx: Context,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let next = saga::payment_failed(tx, &failed).await?;
        log_next(tx, &next).await?;
        emit(&ctx, &self.ids, &next).await
    }
}

struct InboxBilling {
    ids: SchemaIds,
    card_limit_cents: i64,
}

#[eventschema::consumer(group = "billing")]
impl InboxBilling {
    async fn on_stock_reserved(
        &self,
        reserved: StockReserved,
        ctx: Context,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let next = saga::stock_reserved(tx, &reserved, self.card_limit_cents).await?;
        log_next(tx, &next).await?;
        emit(&ctx, &self.ids, &next).await
    }
}

struct InboxShipping {
    ids: SchemaIds,
}

#[eventschema::consumer(group = "shipping")]
impl InboxShipping {
    async fn on_payment_authorized(
        &self,
        paid: PaymentAuthorized,
        ctx: Context,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let next = saga::payment_authorized(tx, &paid).await?;
        log_next(tx, &next).await?;
        emit(&ctx, &self.ids, &next).await
    }
}

struct InboxNotifications;

#[eventschema::consumer(group = "notifications")]
impl InboxNotifications {
    async fn on_stock_released(
        &self,
        released: StockReleased,
        _ctx: Context,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        saga::stock_released(tx, &released).await
    }

    async fn on_order_cancelled(
        &self,
        cancelled: OrderCancelled,
        _ctx: Context,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        saga::order_cancelled(tx, &cancelled).await
    }
}
