//! Runtime load benchmark: events per second and p99 publish-to-handled latency through the
//! in-process bus (no validation, JSON Schema validation, Avro decode, idempotency with each
//! store), with bare `tokio::sync::mpsc` pipelines measured in the same run as the ceiling.
//!
//! Run: `cargo build --release -p eventschema-bench && target/release/bus-load
//! [--events N] [--database-url postgres://...] [--redis-url redis://...]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use eventschema::{
    Bus, BusConfig, CodecError, Event, IdempotencyStore, MemoryStore, SchemaType, WhenFull,
};

#[path = "order_event.rs"]
mod order_event;
#[path = "stats.rs"]
mod stats;
use order_event::OrderPlaced;
use stats::median;

#[derive(Debug, Parser)]
struct Args {
    /// Events per in-memory scenario.
    #[arg(long, default_value_t = 400_000)]
    events: usize,
    /// Events per external-store scenario.
    #[arg(long, default_value_t = 20_000)]
    store_events: usize,
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    #[arg(long, env = "REDIS_URL")]
    redis_url: Option<String>,
    /// Run only the bus scenarios whose name contains this (the ceilings always run).
    #[arg(long)]
    only: Option<String>,
    /// Run every scenario this many times, alternating, and report medians: on a shared
    /// machine one run of a ceiling can be off by half.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Publish from a task spawned on the runtime's workers instead of from `main`'s own
    /// thread (ceilings and bus alike): wake-ups then stay on the workers.
    #[arg(long)]
    publisher_on_worker: bool,
}

/// The same record as Avro (hand-rolled binary encoding: two fields).
#[derive(Debug)]
struct OrderPlacedAvro {
    order_id: String,
    seq: u64,
}

fn zigzag(out: &mut Vec<u8>, n: i64) {
    let mut v = ((n << 1) ^ (n >> 63)) as u64;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn unzigzag(bytes: &mut &[u8]) -> Result<i64, CodecError> {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let (&b, rest) = bytes
            .split_first()
            .ok_or_else(|| CodecError("truncated varint".into()))?;
        *bytes = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(((v >> 1) as i64) ^ -((v & 1) as i64));
        }
        shift += 7;
        if shift > 63 {
            return Err(CodecError("varint too long".into()));
        }
    }
}

impl Event for OrderPlacedAvro {
    const TYPE: &'static str = "bench.order.placed.avro";
    const SUBJECT: &'static str = "bench.order.placed.avro-value";
    const VERSION: u32 = 1;
    const SCHEMA_TYPE: SchemaType = SchemaType::Avro;
    const SCHEMA: &'static str = r#"{"type":"record","name":"OrderPlaced","fields":[{"name":"order_id","type":"string"},{"name":"seq","type":"long"}]}"#;
    const SCHEMA_ID: Option<u64> = Some(1);
    const CONTENT_TYPE: &'static str = "application/avro";
    fn partition_key(&self) -> Option<String> {
        Some(self.order_id.clone())
    }
    fn encode(&self) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::with_capacity(24);
        zigzag(&mut out, self.order_id.len() as i64);
        out.extend_from_slice(self.order_id.as_bytes());
        zigzag(&mut out, self.seq as i64);
        Ok(out)
    }
    fn decode(mut bytes: &[u8]) -> Result<Self, CodecError> {
        let len = usize::try_from(unzigzag(&mut bytes)?).map_err(|e| CodecError(e.to_string()))?;
        let (id, mut rest) = bytes
            .split_at_checked(len)
            .ok_or_else(|| CodecError("short string".into()))?;
        let order_id = String::from_utf8(id.to_vec()).map_err(|e| CodecError(e.to_string()))?;
        let seq = unzigzag(&mut rest)? as u64;
        Ok(OrderPlacedAvro { order_id, seq })
    }
}

fn order(seq: usize) -> OrderPlaced {
    OrderPlaced {
        order_id: format!("order-{}", seq % 1024),
        seq: seq as u64,
        amount_cents: 1999,
        currency: "EUR".to_owned(),
    }
}

/// Publish-to-handled latencies, indexed by sequence number.
struct Clock {
    start: Instant,
    sent: Vec<AtomicU64>,
    done: Vec<AtomicU64>,
    handled: AtomicUsize,
}

impl Clock {
    fn new(n: usize) -> Arc<Self> {
        Arc::new(Clock {
            start: Instant::now(),
            sent: (0..n).map(|_| AtomicU64::new(0)).collect(),
            done: (0..n).map(|_| AtomicU64::new(0)).collect(),
            handled: AtomicUsize::new(0),
        })
    }
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
    fn sent(&self, seq: usize) {
        if let Some(slot) = self.sent.get(seq) {
            slot.store(self.now(), Ordering::Relaxed);
        }
    }
    fn handled(&self, seq: u64) {
        if let Some(slot) = self.done.get(seq as usize) {
            slot.store(self.now(), Ordering::Relaxed);
        }
        self.handled.fetch_add(1, Ordering::Relaxed);
    }
    fn p99_ms(&self) -> f64 {
        let mut lat: Vec<u64> = self
            .sent
            .iter()
            .zip(&self.done)
            .map(|(s, d)| {
                d.load(Ordering::Relaxed)
                    .saturating_sub(s.load(Ordering::Relaxed))
            })
            .collect();
        lat.sort_unstable();
        let idx = (lat.len() * 99 / 100).min(lat.len().saturating_sub(1));
        lat.get(idx).copied().unwrap_or(0) as f64 / 1e6
    }
}

struct Row {
    name: String,
    events: usize,
    secs: f64,
    p99_ms: f64,
}

impl Row {
    fn rate(&self) -> f64 {
        self.events as f64 / self.secs
    }
}

/// Ceiling 1: a u64 through a bounded mpsc channel to a task that records it.
async fn bare_u64(n: usize) -> Row {
    let clock = Clock::new(n);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(1024);
    let c = clock.clone();
    let consumer = tokio::spawn(async move {
        while let Some(seq) = rx.recv().await {
            c.handled(seq);
        }
    });
    let began = Instant::now();
    for seq in 0..n {
        clock.sent(seq);
        if tx.send(seq as u64).await.is_err() {
            break;
        }
    }
    drop(tx);
    let _ = consumer.await;
    Row {
        name: "bare mpsc, u64 (ceiling)".into(),
        events: n,
        secs: began.elapsed().as_secs_f64(),
        p99_ms: clock.p99_ms(),
    }
}

/// Ceiling 2: the same events built and encoded the same way, sent through one bounded
/// mpsc channel and decoded by the consumer; no validation, routing, dedup or retries.
async fn bare_events(n: usize) -> anyhow::Result<Row> {
    let clock = Clock::new(n);
    let bus = Bus::new(BusConfig::default()); // only to build envelopes identically
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Arc<eventschema::Envelope>>(1024);
    let c = clock.clone();
    let consumer = tokio::spawn(async move {
        while let Some(envelope) = rx.recv().await {
            if let Ok(event) = OrderPlaced::decode(envelope.data().unwrap_or_default()) {
                c.handled(event.seq);
            }
        }
    });
    let began = Instant::now();
    for seq in 0..n {
        clock.sent(seq);
        let envelope = bus.envelope_for(&order(seq), None)?;
        if tx.send(Arc::new(envelope)).await.is_err() {
            break;
        }
    }
    drop(tx);
    consumer.await?;
    Ok(Row {
        name: "bare mpsc, same envelopes + decode (ceiling)".into(),
        events: n,
        secs: began.elapsed().as_secs_f64(),
        p99_ms: clock.p99_ms(),
    })
}

async fn through_bus(
    name: &str,
    n: usize,
    validate: bool,
    store: Option<Arc<dyn IdempotencyStore>>,
    avro: bool,
) -> anyhow::Result<Row> {
    let clock = Clock::new(n);
    let bus = Bus::new(BusConfig {
        validate,
        concurrency: 4,
        queue_capacity: 1024,
        when_full: WhenFull::Wait,
        breaker: None,
        // Keys expire soon after the run (Redis and SQL rows are left to expire/purge).
        retention: Duration::from_secs(60),
        ..BusConfig::default()
    });
    let mut subscription = bus.subscribe("bench");
    subscription = match store {
        Some(store) => subscription.idempotency(store),
        None => subscription.without_idempotency(),
    };
    let c = clock.clone();
    if avro {
        subscription = subscription.on(move |e: OrderPlacedAvro, _| {
            c.handled(e.seq);
            std::future::ready(Ok(()))
        })?;
    } else {
        subscription = subscription.on(move |e: OrderPlaced, _| {
            c.handled(e.seq);
            std::future::ready(Ok(()))
        })?;
    }
    subscription.start()?;
    let began = Instant::now();
    for seq in 0..n {
        clock.sent(seq);
        let outcome = if avro {
            bus.publish(&OrderPlacedAvro {
                order_id: format!("order-{}", seq % 1024),
                seq: seq as u64,
            })
            .await?
        } else {
            bus.publish(&order(seq)).await?
        };
        anyhow::ensure!(
            outcome == eventschema::PublishOutcome::Enqueued(1),
            "{outcome:?}"
        );
    }
    bus.flush().await;
    let secs = began.elapsed().as_secs_f64();
    anyhow::ensure!(clock.handled.load(Ordering::Relaxed) == n, "lost events");
    bus.shutdown(Duration::from_secs(5)).await;
    Ok(Row {
        name: name.to_owned(),
        events: n,
        secs,
        p99_ms: clock.p99_ms(),
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.publisher_on_worker {
        return tokio::spawn(report(args)).await?;
    }
    report(args).await
}

async fn report(args: Args) -> anyhow::Result<()> {
    let mut rounds: Vec<Vec<Row>> = Vec::new();
    for _ in 0..args.rounds.max(1) {
        rounds.push(one_round(&args).await?);
    }
    println!(
        "| scenario | events | events/s (median of {}) | p99 ms (median) | vs ceiling (same envelopes; median of the rounds' ratios) |",
        rounds.len()
    );
    println!("| --- | --- | --- | --- | --- |");
    let ceiling = |round: &[Row]| round.get(1).map_or(f64::NAN, Row::rate);
    let mut target_ratio = None;
    for (index, row) in rounds
        .first()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        // This scenario in every round, with that round's ceiling.
        let runs: Vec<(&Row, f64)> = rounds
            .iter()
            .filter_map(|round| {
                let run = round.get(index).filter(|r| r.name == row.name)?;
                Some((run, ceiling(round)))
            })
            .collect();
        let rate = median(runs.iter().map(|(r, _)| r.rate()).collect());
        let p99 = median(runs.iter().map(|(r, _)| r.p99_ms).collect());
        let ratio = median(runs.iter().map(|(r, c)| r.rate() / c).collect());
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.0}% |",
            row.name,
            row.events,
            rate,
            p99,
            100.0 * ratio
        );
        if row.name.ends_with("(target)") {
            target_ratio = Some((ratio, rate));
        }
    }
    if let Some((ratio, rate)) = target_ratio {
        println!(
            "\nTarget: >= 50% of ceiling ({:.0}%) and >= 200k events/s ({:.0})",
            100.0 * ratio,
            rate
        );
    }
    Ok(())
}

/// Every selected scenario once, ceilings first.
async fn one_round(args: &Args) -> anyhow::Result<Vec<Row>> {
    let n = args.events;
    let mut rows = vec![bare_u64(n).await, bare_events(n).await?];
    let wanted = |name: &str| args.only.as_deref().is_none_or(|only| name.contains(only));
    for (name, validate, avro) in [
        ("bus, no validation, no idempotency", false, false),
        ("bus, JSON Schema validation", true, false),
        ("bus, Avro decode (writer schema)", true, true),
    ] {
        if wanted(name) {
            rows.push(through_bus(name, n, validate, None, avro).await?);
        }
    }
    const TARGET: &str = "bus, JSON Schema + in-memory idempotency (target)";
    const SQLITE: &str = "bus, JSON Schema + SQLite idempotency";
    const POSTGRES: &str = "bus, JSON Schema + PostgreSQL idempotency";
    const REDIS: &str = "bus, JSON Schema + Redis idempotency";
    if wanted(TARGET) {
        let memory: Arc<dyn IdempotencyStore> = Arc::new(MemoryStore::new());
        rows.push(through_bus(TARGET, n, true, Some(memory), false).await?);
    }
    let m = args.store_events;
    if wanted(SQLITE) {
        use std::str::FromStr;
        let dir = std::env::temp_dir().join(format!("bus-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&format!(
            "sqlite://{}/keys.db",
            dir.display()
        ))?
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let store = eventschema::idempotency::sqlite::SqliteStore::new(pool, "keys")?;
        store.migrate().await?;
        rows.push(through_bus(SQLITE, m, true, Some(Arc::new(store)), false).await?);
        let _ = std::fs::remove_dir_all(&dir);
    }
    if let Some(url) = args.database_url.as_ref().filter(|_| wanted(POSTGRES)) {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(8)
            .connect(url)
            .await
            .context("connecting to PostgreSQL")?;
        let table = format!("bus_load_keys_{}", std::process::id());
        let store = eventschema::idempotency::postgres::PgStore::new(pool.clone(), &table)?;
        store.migrate().await?;
        rows.push(through_bus(POSTGRES, m, true, Some(Arc::new(store)), false).await?);
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
            .execute(&pool)
            .await?;
    }
    if let Some(url) = args.redis_url.as_ref().filter(|_| wanted(REDIS)) {
        let prefix = format!("bus-load-{}:", std::process::id());
        let store = eventschema::idempotency::redis::RedisStore::connect(url, &prefix).await?;
        rows.push(through_bus(REDIS, m, true, Some(Arc::new(store)), false).await?);
    }
    Ok(rows)
}
