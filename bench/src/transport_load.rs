//! Broker transport benchmark: events per second published and consumed end to end through
//! the runtime (validation and in-memory idempotency on) over each broker transport, against
//! the raw client library doing the same publish (broker-confirmed) and consume (explicit
//! ack) with no runtime, in the same run.
//!
//! Run: `cargo build --release -p eventschema-bench && target/release/transport-load
//! [--events N] [--rounds R] [--publishers P] [--publish-only] [--runtime-only | --raw-only]
//! [--partitions N] [--nats-url nats://...] [--redis-url redis://...] [--amqp-url amqp://...]
//! [--watch-pid PID ...]`; each broker whose URL is set (flag or `NATS_URL`, `REDIS_URL`,
//! `AMQP_URL`) is measured. Each row also reports the CPU time per event of this process and
//! of the `--watch-pid` processes (the brokers), so a gap can be told apart as CPU spent or
//! time spent waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use eventschema::transport::nats::{NatsConfig, NatsTransport};
use eventschema::transport::rabbitmq::{RabbitMqConfig, RabbitMqTransport};
use eventschema::transport::redis_streams::{RedisStreamsConfig, RedisStreamsTransport};
use eventschema::{Bus, BusConfig, Event, MemoryDlq, MemoryStore};
use futures_util::StreamExt as _;

#[path = "order_event.rs"]
mod order_event;
#[path = "stats.rs"]
mod stats;
use order_event::OrderPlaced;
use stats::median;

#[derive(Debug, Parser)]
struct Args {
    /// Events per scenario.
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Concurrent publishing tasks (both sides alike).
    #[arg(long, default_value_t = 64)]
    publishers: usize,
    /// Ordering keys the events are spread over.
    #[arg(long, default_value_t = 256)]
    keys: usize,
    /// Partitions (ordering lanes) of the runtime's transports; unset, each transport's
    /// default (what `NatsConfig::new` and its siblings give, 8 today).
    #[arg(long)]
    partitions: Option<u32>,
    /// Raw and runtime pairs per broker, alternating which goes first; the summary gives
    /// median rates and the median of the rounds' ratios (one pair is at the mercy of
    /// whatever else the 2 cores are doing).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Measure the publish phase alone (no consumer on either side).
    #[arg(long)]
    publish_only: bool,
    #[arg(long, env = "NATS_URL")]
    nats_url: Option<String>,
    #[arg(long, env = "REDIS_URL")]
    redis_url: Option<String>,
    #[arg(long, env = "AMQP_URL")]
    amqp_url: Option<String>,
    /// What the raw clients' messages carry: `cloudevents` (default), the same CloudEvents
    /// attributes as the runtime's binary-mode messages (so both sides move the same
    /// message); `minimal`, only an id and the type (what this benchmark sent before).
    #[arg(long, value_enum, default_value_t = RawHeaders::Cloudevents)]
    raw_headers: RawHeaders,
    /// Skip the raw client (to profile the runtime alone; the "vs raw" column is then
    /// meaningless).
    #[arg(long, conflicts_with = "raw_only")]
    runtime_only: bool,
    /// Skip the runtime (to profile the raw client alone).
    #[arg(long)]
    raw_only: bool,
    /// Also report the CPU time of these processes (the brokers) per scenario.
    #[arg(long = "watch-pid")]
    watch_pids: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum RawHeaders {
    Cloudevents,
    Minimal,
}

/// The raw side's message attributes (names without the binding's prefix; the content type
/// travels apart), built per message as a client without the runtime would: the same
/// attributes and value shapes as the runtime's envelope for `OrderPlaced` (a 36-character
/// id, the bus's default source, `time` in microseconds, schema version, partition key, and
/// the correlation id the bus stamps on every event it publishes: its own id).
fn raw_attributes(i: usize, keys: usize, style: RawHeaders) -> Vec<(&'static str, String)> {
    match style {
        RawHeaders::Minimal => vec![("id", i.to_string()), ("type", OrderPlaced::TYPE.into())],
        RawHeaders::Cloudevents => vec![
            ("id", raw_id(i)),
            ("correlationid", raw_id(i)),
            ("source", "urn:eventschema:bus".into()),
            ("specversion", "1.0".into()),
            ("type", OrderPlaced::TYPE.into()),
            (
                "dataschema",
                eventschema::event::dataschema_uri(OrderPlaced::SUBJECT, OrderPlaced::VERSION),
            ),
            (
                "time",
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ),
            ("schemaversion", OrderPlaced::VERSION.to_string()),
            ("partitionkey", format!("o{}", i % keys.max(1))),
        ],
    }
}

/// The raw side's event id: as long as the runtime's (a UUID's 36 characters).
fn raw_id(i: usize) -> String {
    format!("{i:036}")
}

fn event(i: usize, keys: usize) -> OrderPlaced {
    OrderPlaced {
        order_id: format!("o{}", i % keys.max(1)),
        seq: i as u64,
        amount_cents: 1299,
        currency: "EUR".to_owned(),
    }
}

struct Row {
    name: String,
    events: usize,
    elapsed: Duration,
    /// CPU time of this process (user + system) during the scenario.
    cpu: Duration,
    /// CPU time of the watched processes (`--watch-pid`) during the scenario.
    broker_cpu: Duration,
}

impl Row {
    fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }

    fn micros_per_event(cpu: Duration, events: usize) -> f64 {
        cpu.as_secs_f64() * 1e6 / events.max(1) as f64
    }
}

/// User + system CPU time of a process so far, from `/proc/{pid}/stat` (Linux; zero where
/// unavailable). Clock ticks are 10 ms, so scenarios should run for a second or more.
fn cpu_time(pid: &str) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // The command name (field 2) may contain spaces: count fields after its closing paren.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 11 and 12 after the paren.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

/// CPU of this process and of the watched ones, taken at a scenario's start.
struct CpuMark {
    own: Duration,
    watched: Duration,
    pids: Vec<String>,
}

impl CpuMark {
    fn now(args: &Args) -> Self {
        let pids: Vec<String> = args.watch_pids.iter().map(u32::to_string).collect();
        let watched = pids.iter().map(|p| cpu_time(p)).sum();
        CpuMark {
            own: cpu_time("self"),
            watched,
            pids,
        }
    }

    fn row(&self, name: String, events: usize, elapsed: Duration) -> Row {
        let watched: Duration = self.pids.iter().map(|p| cpu_time(p)).sum();
        Row {
            name,
            events,
            elapsed,
            cpu: cpu_time("self").saturating_sub(self.own),
            broker_cpu: watched.saturating_sub(self.watched),
        }
    }
}

async fn wait_for(count: &AtomicUsize, n: usize, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while count.load(Ordering::Acquire) < n {
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {n} consumed",
            count.load(Ordering::Acquire)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

/// Raw async-nats: JetStream publish with headers and a message id, awaited confirmation;
/// one durable pull consumer with explicit acks.
async fn raw_nats(url: &str, args: &Args) -> anyhow::Result<Row> {
    use async_nats::jetstream::{self, consumer::pull, stream};
    let prefix = format!("es_bench_raw_{}", uuid_like());
    let client = async_nats::connect(url).await?;
    let js = jetstream::new(client);
    let stream = js
        .get_or_create_stream(stream::Config {
            name: prefix.clone(),
            subjects: vec![format!("{prefix}.>")],
            ..Default::default()
        })
        .await?;
    let consumer = stream
        .get_or_create_consumer(
            "raw",
            pull::Config {
                durable_name: Some("raw".into()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            },
        )
        .await?;
    let count = Arc::new(AtomicUsize::new(0));
    let consumed = count.clone();
    let mut messages = consumer.messages().await?;
    let publish_only = args.publish_only;
    let consume = tokio::spawn(async move {
        if publish_only {
            return;
        }
        // An error item (a missed idle heartbeat, say) is not the end of the stream: stopping
        // there left the run waiting for messages nobody consumed.
        while let Some(item) = messages.next().await {
            let Ok(message) = item else { continue };
            let _: serde_json::Value = serde_json::from_slice(&message.payload).unwrap_or_default();
            let _ = message.ack().await;
            consumed.fetch_add(1, Ordering::AcqRel);
        }
    });
    let mark = CpuMark::now(args);
    let started = Instant::now();
    let n = args.events;
    let per = n.div_ceil(args.publishers);
    let mut tasks = Vec::new();
    for p in 0..args.publishers {
        let (js, prefix, keys, style) = (js.clone(), prefix.clone(), args.keys, args.raw_headers);
        tasks.push(tokio::spawn(async move {
            for i in (p * per)..((p + 1) * per).min(n) {
                let body = serde_json::to_vec(&event(i, keys))?;
                let mut headers = async_nats::HeaderMap::new();
                for (name, value) in raw_attributes(i, keys, style) {
                    headers.insert(format!("ce-{name}").as_str(), value.as_str());
                }
                if style == RawHeaders::Cloudevents {
                    headers.insert("content-type", "application/json");
                }
                let publish = jetstream::message::PublishMessage::build()
                    .payload(body.into())
                    .headers(headers)
                    .message_id(raw_id(i));
                js.send_publish(format!("{prefix}.{}", OrderPlaced::TYPE), publish)
                    .await?
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    eprintln!(
        "  raw NATS: all published after {:.2}s, {} consumed by then",
        started.elapsed().as_secs_f64(),
        count.load(Ordering::Acquire)
    );
    if !args.publish_only {
        wait_for(&count, n, Duration::from_secs(300)).await?;
    }
    let row = mark.row(
        "raw async-nats (JetStream publish + pull consumer, explicit ack)".into(),
        n,
        started.elapsed(),
    );
    consume.abort();
    js.delete_stream(&prefix).await?;
    Ok(row)
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    )
}

/// Raw redis: XADD with CloudEvents fields; one consumer group, one consumer reading
/// batches with XREADGROUP and acking each batch with one XACK.
async fn raw_redis(url: &str, args: &Args) -> anyhow::Result<Row> {
    use redis::streams::StreamReadReply;
    let key = format!("es_bench_raw_{}", uuid_like());
    let client = redis::Client::open(url)?;
    let conn = client.get_multiplexed_async_connection().await?;
    let mut setup = conn.clone();
    redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&key)
        .arg("raw")
        .arg("0")
        .arg("MKSTREAM")
        .query_async::<()>(&mut setup)
        .await?;
    let count = Arc::new(AtomicUsize::new(0));
    let consumed = count.clone();
    let mut reader = client.get_multiplexed_async_connection().await?;
    let stream = key.clone();
    let publish_only = args.publish_only;
    let consume = tokio::spawn(async move {
        if publish_only {
            return;
        }
        loop {
            let reply: redis::RedisResult<Option<StreamReadReply>> = redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg("raw")
                .arg("c1")
                .arg("COUNT")
                .arg(100)
                .arg("BLOCK")
                .arg(100)
                .arg("STREAMS")
                .arg(&stream)
                .arg(">")
                .query_async(&mut reader)
                .await;
            let Ok(Some(reply)) = reply else { continue };
            // One XACK per batch read, as the runtime's lanes do (one per entry made the raw
            // side wait a round trip per message that the runtime does not).
            let mut ids = Vec::new();
            for entry in reply.keys.into_iter().flat_map(|k| k.ids) {
                if let Some(redis::Value::BulkString(data)) = entry.map.get("data") {
                    let _: serde_json::Value = serde_json::from_slice(data).unwrap_or_default();
                }
                ids.push(entry.id);
            }
            if ids.is_empty() {
                continue;
            }
            let _ = redis::cmd("XACK")
                .arg(&stream)
                .arg("raw")
                .arg(&ids)
                .query_async::<i64>(&mut reader)
                .await;
            consumed.fetch_add(ids.len(), Ordering::AcqRel);
        }
    });
    let mark = CpuMark::now(args);
    let started = Instant::now();
    let n = args.events;
    let per = n.div_ceil(args.publishers);
    let mut tasks = Vec::new();
    for p in 0..args.publishers {
        let (mut conn, key, keys, style) = (conn.clone(), key.clone(), args.keys, args.raw_headers);
        tasks.push(tokio::spawn(async move {
            for i in (p * per)..((p + 1) * per).min(n) {
                let body = serde_json::to_vec(&event(i, keys))?;
                let mut xadd = redis::cmd("XADD");
                xadd.arg(&key).arg("*");
                for (name, value) in raw_attributes(i, keys, style) {
                    xadd.arg(format!("ce_{name}")).arg(value);
                }
                if style == RawHeaders::Cloudevents {
                    xadd.arg("content-type").arg("application/json");
                }
                xadd.arg("data")
                    .arg(body)
                    .query_async::<String>(&mut conn)
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    if !args.publish_only {
        wait_for(&count, n, Duration::from_secs(300)).await?;
    }
    let row = mark.row(
        "raw redis (XADD + XREADGROUP batches, one XACK per batch)".into(),
        n,
        started.elapsed(),
    );
    consume.abort();
    redis::cmd("DEL")
        .arg(&key)
        .query_async::<i64>(&mut setup)
        .await?;
    Ok(row)
}

/// Raw lapin: a durable topic exchange and one quorum queue (the runtime's queue type),
/// persistent messages with CloudEvents headers and a message id, each publish awaited until
/// the broker confirms; one consumer with manual acks and a prefetch of 1,000.
async fn raw_rabbit(url: &str, args: &Args) -> anyhow::Result<Row> {
    use lapin::options::{
        BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
        ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions,
        QueueDeclareOptions, QueueDeleteOptions,
    };
    use lapin::types::{AMQPValue, FieldTable};
    let prefix = format!("es_bench_raw_{}", uuid_like());
    let connection =
        lapin::Connection::connect(url, lapin::ConnectionProperties::default()).await?;
    let setup = connection.create_channel().await?;
    setup
        .exchange_declare(
            prefix.as_str().into(),
            lapin::ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    setup
        .queue_declare(
            prefix.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            arguments,
        )
        .await?;
    setup
        .queue_bind(
            prefix.as_str().into(),
            prefix.as_str().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let count = Arc::new(AtomicUsize::new(0));
    let consumed = count.clone();
    let receiving = connection.create_channel().await?;
    receiving
        .basic_qos(1000, BasicQosOptions::default())
        .await?;
    let mut consumer = receiving
        .basic_consume(
            prefix.as_str().into(),
            "raw".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let publish_only = args.publish_only;
    let consume = tokio::spawn(async move {
        if publish_only {
            return;
        }
        while let Some(item) = consumer.next().await {
            let Ok(delivery) = item else { continue };
            let _: serde_json::Value = serde_json::from_slice(&delivery.data).unwrap_or_default();
            let _ = delivery.acker.ack(BasicAckOptions::default()).await;
            consumed.fetch_add(1, Ordering::AcqRel);
        }
    });
    let publishing = connection.create_channel().await?;
    publishing
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mark = CpuMark::now(args);
    let started = Instant::now();
    let n = args.events;
    let per = n.div_ceil(args.publishers);
    let mut tasks = Vec::new();
    for p in 0..args.publishers {
        let (channel, prefix, keys, style) = (
            publishing.clone(),
            prefix.clone(),
            args.keys,
            args.raw_headers,
        );
        tasks.push(tokio::spawn(async move {
            for i in (p * per)..((p + 1) * per).min(n) {
                let body = serde_json::to_vec(&event(i, keys))?;
                let mut headers = FieldTable::default();
                for (name, value) in raw_attributes(i, keys, style) {
                    headers.insert(
                        format!("cloudEvents_{name}").into(),
                        AMQPValue::LongString(value.into()),
                    );
                }
                let properties = lapin::BasicProperties::default()
                    .with_delivery_mode(2)
                    .with_message_id(raw_id(i).into())
                    .with_content_type("application/json".into())
                    .with_headers(headers);
                let confirmation = channel
                    .basic_publish(
                        prefix.as_str().into(),
                        OrderPlaced::TYPE.into(),
                        BasicPublishOptions::default(),
                        &body,
                        properties,
                    )
                    .await?
                    .await?;
                anyhow::ensure!(confirmation.is_ack(), "not confirmed: {confirmation:?}");
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    eprintln!(
        "  raw RabbitMQ: all published after {:.2}s, {} consumed by then",
        started.elapsed().as_secs_f64(),
        count.load(Ordering::Acquire)
    );
    if !args.publish_only {
        wait_for(&count, n, Duration::from_secs(300)).await?;
    }
    let row = mark.row(
        "raw lapin (confirmed publish, one quorum queue, manual ack, prefetch 1000)".into(),
        n,
        started.elapsed(),
    );
    consume.abort();
    // Closed before the queue goes: deleting a queue under a live consumer made the broker
    // cancel it while lapin was cancelling it too ("unexpected basic cancel-ok").
    if let Err(error) = receiving.close(200, "done".into()).await {
        eprintln!("  closing the raw consumer's channel failed: {error}");
    }
    setup
        .queue_delete(prefix.as_str().into(), QueueDeleteOptions::default())
        .await?;
    setup
        .exchange_delete(prefix.as_str().into(), ExchangeDeleteOptions::default())
        .await?;
    Ok(row)
}

/// The runtime over the RabbitMQ transport: validation on, in-memory idempotency.
async fn runtime_rabbit(url: &str, args: &Args) -> anyhow::Result<Row> {
    let mut config = RabbitMqConfig::new(url, format!("es_bench_rt_{}", uuid_like()));
    config.partitions = args.partitions.unwrap_or(config.partitions);
    let partitions = config.partitions;
    let transport = Arc::new(RabbitMqTransport::connect(config).await?);
    let row = runtime_run(transport.clone(), args, "RabbitMQ", partitions).await?;
    transport.delete(&[]).await?;
    Ok(row)
}

/// The runtime over the Redis Streams transport: validation on, in-memory idempotency.
async fn runtime_redis(url: &str, args: &Args) -> anyhow::Result<Row> {
    let mut config = RedisStreamsConfig::new(url, format!("es_bench_rt_{}", uuid_like()));
    config.partitions = args.partitions.unwrap_or(config.partitions);
    let partitions = config.partitions;
    let transport = Arc::new(RedisStreamsTransport::connect(config).await?);
    let row = runtime_run(transport.clone(), args, "Redis Streams", partitions).await?;
    transport.delete().await?;
    Ok(row)
}

/// The runtime over the NATS transport: validation on, in-memory idempotency, one group.
async fn runtime_nats(url: &str, args: &Args) -> anyhow::Result<Row> {
    let mut config = NatsConfig::new(url, format!("es_bench_rt_{}", uuid_like()));
    config.partitions = args.partitions.unwrap_or(config.partitions);
    let partitions = config.partitions;
    let transport = Arc::new(NatsTransport::connect(config).await?);
    let row = runtime_run(transport.clone(), args, "NATS", partitions).await?;
    transport.delete_stream().await?;
    Ok(row)
}

async fn runtime_run(
    transport: Arc<dyn eventschema::Transport>,
    args: &Args,
    label: &str,
    partitions: u32,
) -> anyhow::Result<Row> {
    let bus = Bus::with_transport(
        BusConfig {
            validate: true,
            ..BusConfig::default()
        },
        Arc::new(eventschema::SchemaCatalog::new()),
        Arc::new(MemoryDlq::new()),
        Arc::new(MemoryStore::new()),
        transport,
    );
    let count = Arc::new(AtomicUsize::new(0));
    let consumed = count.clone();
    let subscription = bus
        .subscribe("bench")
        .on(move |_: OrderPlaced, _| {
            consumed.fetch_add(1, Ordering::AcqRel);
            async { Ok(()) }
        })
        .context("subscribe")?;
    if !args.publish_only {
        subscription.start_joined().await?;
    }
    let mark = CpuMark::now(args);
    let started = Instant::now();
    let n = args.events;
    let per = n.div_ceil(args.publishers);
    let mut tasks = Vec::new();
    for p in 0..args.publishers {
        let (bus, keys) = (bus.clone(), args.keys);
        tasks.push(tokio::spawn(async move {
            for i in (p * per)..((p + 1) * per).min(n) {
                bus.publish(&event(i, keys)).await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    eprintln!(
        "  {label}: all published after {:.2}s, {} consumed by then",
        started.elapsed().as_secs_f64(),
        count.load(Ordering::Acquire)
    );
    if !args.publish_only {
        wait_for(&count, n, Duration::from_secs(300)).await?;
    }
    let row = mark.row(
        format!(
            "runtime over {label} ({partitions} partitions, validation + in-memory idempotency)"
        ),
        n,
        started.elapsed(),
    );
    bus.shutdown(Duration::from_secs(2)).await;
    Ok(row)
}

fn print(rows: &[&Row]) {
    println!(
        "| scenario | events | seconds | events/s | vs raw | CPU µs/event (this process) | CPU µs/event (watched) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let raw = rows.first().map_or(1.0, |row| row.rate());
    for row in rows {
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.0}% | {:.1} | {:.1} |",
            row.name,
            row.events,
            row.elapsed.as_secs_f64(),
            row.rate(),
            100.0 * row.rate() / raw,
            Row::micros_per_event(row.cpu, row.events),
            Row::micros_per_event(row.broker_cpu, row.events),
        );
    }
}

/// Measures one broker: `--rounds` pairs of the raw client and the runtime (raw first in
/// even rounds, the runtime first in odd ones, so neither always runs on a warmer broker),
/// printed per round, then the medians when there was more than one round.
async fn compare<Raw, Runtime>(
    label: &str,
    args: &Args,
    raw: Raw,
    runtime: Runtime,
) -> anyhow::Result<()>
where
    Raw: AsyncFn() -> anyhow::Result<Row>,
    Runtime: AsyncFn() -> anyhow::Result<Row>,
{
    let mut pairs: Vec<(Option<Row>, Option<Row>)> = Vec::new();
    for round in 0..args.rounds.max(1) {
        let pair = if args.runtime_only {
            (None, Some(runtime().await?))
        } else if args.raw_only {
            (Some(raw().await?), None)
        } else if round % 2 == 0 {
            let first = raw().await?;
            (Some(first), Some(runtime().await?))
        } else {
            let first = runtime().await?;
            (Some(raw().await?), Some(first))
        };
        pairs.push(pair);
    }
    println!(
        "{label} ({} events, {} publishers, {} keys, {} partitions):",
        args.events,
        args.publishers,
        args.keys,
        args.partitions
            .map_or_else(|| "the transport's default".to_owned(), |p| p.to_string())
    );
    for (round, (raw, runtime)) in pairs.iter().enumerate() {
        if pairs.len() > 1 {
            println!("round {}:", round + 1);
        }
        let rows: Vec<&Row> = raw.iter().chain(runtime).collect();
        print(&rows);
    }
    // The rounds with both sides (none with --runtime-only or --raw-only).
    let compared: Vec<(&Row, &Row)> = pairs
        .iter()
        .filter_map(|(raw, runtime)| raw.as_ref().zip(runtime.as_ref()))
        .collect();
    if compared.len() > 1 {
        let over_rounds = |value: &dyn Fn(&Row, &Row) -> f64| {
            median(compared.iter().map(|(raw, rt)| value(raw, rt)).collect())
        };
        let cpu = |row: &Row| Row::micros_per_event(row.cpu, row.events);
        let broker_cpu = |row: &Row| Row::micros_per_event(row.broker_cpu, row.events);
        println!(
            "| {label}, median of {} rounds | raw events/s | runtime events/s | runtime vs raw (median of the rounds' ratios) | CPU µs/event process raw / runtime | CPU µs/event watched raw / runtime |",
            compared.len()
        );
        println!("| --- | --- | --- | --- | --- | --- |");
        println!(
            "| | {:.0} | {:.0} | {:.0}% (rounds: {}) | {:.1} / {:.1} | {:.1} / {:.1} |",
            over_rounds(&|raw, _| raw.rate()),
            over_rounds(&|_, rt| rt.rate()),
            100.0 * over_rounds(&|raw, rt| rt.rate() / raw.rate()),
            compared
                .iter()
                .map(|(raw, rt)| format!("{:.0}%", 100.0 * rt.rate() / raw.rate()))
                .collect::<Vec<_>>()
                .join(", "),
            over_rounds(&|raw, _| cpu(raw)),
            over_rounds(&|_, rt| cpu(rt)),
            over_rounds(&|raw, _| broker_cpu(raw)),
            over_rounds(&|_, rt| broker_cpu(rt)),
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let args = &args;
    match args.nats_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => {
            compare(
                "NATS JetStream",
                args,
                async || raw_nats(url, args).await,
                async || runtime_nats(url, args).await,
            )
            .await?
        }
        None => eprintln!("NATS_URL not set: skipping NATS"),
    }
    match args.redis_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => {
            compare(
                "Redis Streams",
                args,
                async || raw_redis(url, args).await,
                async || runtime_redis(url, args).await,
            )
            .await?
        }
        None => eprintln!("REDIS_URL not set: skipping Redis Streams"),
    }
    match args.amqp_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => {
            compare(
                "RabbitMQ",
                args,
                async || raw_rabbit(url, args).await,
                async || runtime_rabbit(url, args).await,
            )
            .await?
        }
        None => eprintln!("AMQP_URL not set: skipping RabbitMQ"),
    }
    Ok(())
}
