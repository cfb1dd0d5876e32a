//! Runs a few orders through the saga (one with a payment the card limit declines) and
//! prints where each ended up.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use orders_example::{NewOrder, Options, Shop, TransportChoice};

#[derive(Debug, Parser)]
#[command(about = "The orders saga on the Eventschema runtime")]
struct Args {
    /// Run over NATS JetStream at this URL instead of the in-process bus.
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    /// SQLite file for the state and idempotency keys (default: a temporary directory).
    #[arg(long, value_name = "PATH", conflicts_with = "database_url")]
    database: Option<PathBuf>,
    /// PostgreSQL instead (`postgres://...`): state and idempotency keys in one inbox
    /// transaction per handler.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// The PostgreSQL schema for the tables (created if missing).
    #[arg(long, value_name = "NAME", default_value = "orders_example")]
    pg_schema: String,
    /// A schema registry: the schemas are registered there, events carry their id
    /// (`schemaid`) and are validated through it.
    #[arg(long, value_name = "URL")]
    registry: Option<String>,
}

const CARD_LIMIT_CENTS: i64 = 50_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let scratch = tempfile::tempdir().context("creating a temporary directory")?;
    let database_url = match &args.database_url {
        Some(url) => url.clone(),
        None => {
            let path = args
                .database
                .clone()
                .unwrap_or_else(|| scratch.path().join("orders.db"));
            format!("sqlite://{}", path.display())
        }
    };
    let run = run_suffix();
    let transport = match args.nats {
        Some(url) => TransportChoice::Nats {
            url,
            prefix: format!("orders_example_{run}"),
        },
        None => TransportChoice::InProcess,
    };
    let on_nats = matches!(transport, TransportChoice::Nats { .. });
    let shop = Shop::start_with(Options {
        pg_schema: args.pg_schema,
        transport,
        registry: args.registry.clone(),
        ..Options::new(database_url.clone(), CARD_LIMIT_CENTS)
    })
    .await?;
    shop.restock("book", 10).await?;
    let orders = [
        ("A-1", "alice", 2, 4_000),
        ("B-2", "bob", 1, 90_000), // above the card limit: payment declined
        ("C-3", "carol", 3, 6_000),
    ];
    for (id, buyer, quantity, total_cents) in orders {
        shop.place(&NewOrder {
            order_id: format!("{id}-{run}"),
            buyer_id: buyer.to_owned(),
            sku: "book".to_owned(),
            quantity,
            total_cents,
        })
        .await?;
    }
    let ids: Vec<String> = orders.iter().map(|o| format!("{}-{run}", o.0)).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    for outcome in shop.settle(&ids, Duration::from_secs(30)).await? {
        println!(
            "{}: {} ({})\n    {}",
            outcome.order_id,
            outcome.status,
            outcome.notification,
            outcome.events.join(" -> ")
        );
    }
    println!("stock of `book` left: {}", shop.available("book").await?);
    println!("dead letters: {}", shop.dead_letters().await?);
    if args.database_url.is_none() {
        println!("database: {database_url}");
    }
    if let Some(registry) = &args.registry {
        println!("schemas validated through the registry at {registry}");
    }
    shop.shutdown(on_nats).await?;
    Ok(())
}

/// A per-run suffix so that reruns against the same database or NATS server do not see
/// each other's orders.
fn run_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}
