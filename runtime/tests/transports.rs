//! The shared transport suite: one generic test body run against every transport (the
//! in-process one always; brokers when their URL is set), plus broker fault tests: an
//! instance dropped mid-stream, the client's connection cut and restored, a delivery kept
//! alive past the broker's timeout; and Redis Streams' dead-letter stream.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Without a broker feature (`cargo test -p eventschema`) only the in-process suite runs and
// the broker harness is unused.
#![cfg_attr(
    not(any(feature = "nats", feature = "redis-streams", feature = "rabbitmq")),
    allow(dead_code, unused_variables)
)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use eventschema::dlq::DeadLetterStore;
use eventschema::{
    Bus, BusConfig, DlqFilter, Envelope, ErrorClass, HandlerError, IdempotencyStore, MemoryDlq,
    MemoryStore, SchemaCatalog, Transport,
};

/// Records of one group: `(instance, order_id, seq)` in handling order.
type Seen = Arc<Mutex<Vec<(usize, String, u64)>>>;

/// Which broker a harness talks to, with the settings its tests use.
#[derive(Clone)]
enum Broker {
    #[cfg(feature = "nats")]
    Nats(eventschema::transport::nats::NatsConfig),
    #[cfg(feature = "redis-streams")]
    Redis(eventschema::transport::redis_streams::RedisStreamsConfig),
    #[cfg(feature = "rabbitmq")]
    Rabbit(eventschema::transport::rabbitmq::RabbitMqConfig),
}

/// The groups the tests join (AMQP cannot list queues, so cleanup names them).
#[cfg(feature = "rabbitmq")]
const GROUPS: &[&str] = &["audit", "billing", "g"];

impl Broker {
    fn url(&self) -> &str {
        // By value: without broker features `Broker` has no variants, and a
        // match on a reference to it would still need an arm.
        match *self {
            #[cfg(feature = "nats")]
            Broker::Nats(ref c) => &c.url,
            #[cfg(feature = "redis-streams")]
            Broker::Redis(ref c) => &c.url,
            #[cfg(feature = "rabbitmq")]
            Broker::Rabbit(ref c) => &c.url,
        }
    }

    /// Connects to `url` (the broker's own, or a proxy in front of it).
    async fn connect(&self, url: &str) -> Arc<dyn Transport> {
        match *self {
            #[cfg(feature = "nats")]
            Broker::Nats(ref c) => {
                let mut c = c.clone();
                c.url = url.to_owned();
                Arc::new(
                    eventschema::transport::nats::NatsTransport::connect(c)
                        .await
                        .unwrap(),
                )
            }
            #[cfg(feature = "redis-streams")]
            Broker::Redis(ref c) => {
                let mut c = c.clone();
                c.url = url.to_owned();
                Arc::new(
                    eventschema::transport::redis_streams::RedisStreamsTransport::connect(c)
                        .await
                        .unwrap(),
                )
            }
            #[cfg(feature = "rabbitmq")]
            Broker::Rabbit(ref c) => {
                let mut c = c.clone();
                c.url = url.to_owned();
                Arc::new(
                    eventschema::transport::rabbitmq::RabbitMqTransport::connect(c)
                        .await
                        .unwrap(),
                )
            }
        }
    }

    async fn cleanup(&self) {
        match *self {
            #[cfg(feature = "nats")]
            Broker::Nats(ref c) => {
                let t = eventschema::transport::nats::NatsTransport::connect(c.clone())
                    .await
                    .unwrap();
                t.delete_stream().await.unwrap();
            }
            #[cfg(feature = "redis-streams")]
            Broker::Redis(ref c) => {
                let t = eventschema::transport::redis_streams::RedisStreamsTransport::connect(
                    c.clone(),
                )
                .await
                .unwrap();
                t.delete().await.unwrap();
            }
            #[cfg(feature = "rabbitmq")]
            Broker::Rabbit(ref c) => {
                let t = eventschema::transport::rabbitmq::RabbitMqTransport::connect(c.clone())
                    .await
                    .unwrap();
                // Nothing may have ended in the broker's own dead-letter queues.
                assert_eq!(t.delete(GROUPS).await.unwrap(), 0, "broker dead letters");
            }
        }
    }
}

/// Gives a test "processes" (buses) that share one transport's messages, one idempotency
/// store and one dead-letter store, as separate instances of a service would.
enum Harness {
    InProcess(Bus),
    #[cfg_attr(
        not(any(feature = "nats", feature = "redis-streams", feature = "rabbitmq")),
        allow(dead_code)
    )]
    Broker {
        broker: Broker,
        dlq: Arc<MemoryDlq>,
        store: Arc<MemoryStore>,
    },
}

impl Harness {
    fn in_process(config: BusConfig) -> Harness {
        Harness::InProcess(Bus::new(config))
    }

    #[cfg_attr(
        not(any(feature = "nats", feature = "redis-streams", feature = "rabbitmq")),
        allow(dead_code)
    )]
    fn broker(broker: Broker) -> Harness {
        Harness::Broker {
            broker,
            dlq: Arc::new(MemoryDlq::new()),
            store: Arc::new(MemoryStore::new()),
        }
    }

    /// A new instance (the in-process harness has one bus for all).
    async fn bus(&self, config: BusConfig) -> Bus {
        match self {
            Harness::InProcess(bus) => bus.clone(),
            Harness::Broker { broker, .. } => self.bus_at(broker.url(), config).await,
        }
    }

    /// A new instance connected through `url`.
    async fn bus_at(&self, url: &str, config: BusConfig) -> Bus {
        let Harness::Broker { broker, dlq, store } = self else {
            panic!("the in-process transport has no URL")
        };
        let transport = broker.connect(url).await;
        // Publishers validate too: they must know the schema, as generated code does.
        let catalog = Arc::new(SchemaCatalog::new());
        catalog.register_event::<OrderCreated>().unwrap();
        Bus::with_transport(
            config,
            catalog,
            dlq.clone(),
            store.clone() as Arc<dyn IdempotencyStore>,
            transport,
        )
    }

    fn dlq(&self) -> Arc<dyn DeadLetterStore> {
        match self {
            Harness::InProcess(bus) => bus.dead_letters().clone(),
            Harness::Broker { dlq, .. } => dlq.clone(),
        }
    }

    async fn cleanup(&self) {
        if let Harness::Broker { broker, .. } = self {
            broker.cleanup().await;
        }
    }
}

fn recording_handler(
    group: &'static str,
    instance: usize,
    seen: Seen,
) -> impl Fn(
    OrderCreated,
    eventschema::Context,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), HandlerError>> + Send>>
+ Send
+ Sync
+ 'static {
    move |event: OrderCreated, ctx: eventschema::Context| {
        let seen = seen.clone();
        Box::pin(async move {
            if group == "billing" {
                let failure = if event.order_id == "k1" && event.seq == 5 {
                    Some(HandlerError::msg(ErrorClass::Permanent, "refused: k1/5"))
                } else if event.order_id == "k2" && event.seq == 7 {
                    Some(HandlerError::msg(ErrorClass::Transient, "down: k2/7"))
                } else if event.seq % 10 == 3 && ctx.attempt() == 1 {
                    Some(HandlerError::msg(ErrorClass::Transient, "flaky once"))
                } else {
                    None
                };
                if let Some(error) = failure {
                    seen.lock()
                        .unwrap()
                        .push((FAILED + instance, event.order_id, event.seq));
                    return Err(error);
                }
            }
            seen.lock()
                .unwrap()
                .push((instance, event.order_id, event.seq));
            Ok(())
        })
    }
}

fn assert_enqueued(outcome: Result<eventschema::PublishOutcome, eventschema::PublishError>) {
    let outcome = outcome.unwrap();
    assert!(
        matches!(outcome, eventschema::PublishOutcome::Enqueued(n) if n > 0),
        "{outcome:?}"
    );
}

async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Instance numbers at or above this mark a failed handler call.
const FAILED: usize = 1000;

/// Every event handled once, per key in publication order; and every handler call, failed
/// ones and retries included, in order per key (no later event of a key overtakes a retry).
fn assert_once_in_order(seen: &[(usize, String, u64)], expected: &BTreeMap<String, Vec<u64>>) {
    let mut by_key: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut calls: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (instance, key, seq) in seen {
        calls.entry(key.clone()).or_default().push(*seq);
        if *instance < FAILED {
            by_key.entry(key.clone()).or_default().push(*seq);
        }
    }
    assert_eq!(&by_key, expected, "each event once, in order per key");
    for (key, seqs) in calls {
        assert!(
            seqs.windows(2).all(|w| w[0] <= w[1]),
            "calls of {key} out of order: {seqs:?}"
        );
    }
}

const KEYS: usize = 8;
const PER_KEY: u64 = 25;

/// The shared body: N events across keys, 2 groups x 3 instances; every group sees every
/// event once in effect, in order per key; failures retry, then dead-letter with metadata.
async fn groups_order_retries_and_dead_letters(harness: &Harness) {
    let seen: BTreeMap<&'static str, Seen> =
        [("audit", Seen::default()), ("billing", Seen::default())]
            .into_iter()
            .collect();
    let mut buses = Vec::new();
    for (group, records) in &seen {
        for instance in 0..3 {
            let bus = harness.bus(config()).await;
            bus.subscribe(group)
                .on(recording_handler(group, instance, records.clone()))
                .unwrap()
                .start_joined()
                .await
                .unwrap();
            buses.push(bus);
        }
    }
    let publisher = harness.bus(config()).await;
    for seq in 0..PER_KEY {
        for key in 0..KEYS {
            assert_enqueued(publisher.publish(&order(&format!("k{key}"), seq)).await);
        }
    }
    let total = KEYS * PER_KEY as usize;
    let dlq = harness.dlq();
    let audit = seen["audit"].clone();
    let billing = seen["billing"].clone();
    let letters = Arc::new(Mutex::new(0usize));
    let deadline = Duration::from_secs(60);
    wait_until("both groups", deadline, || {
        audit.lock().unwrap().len() >= total
            && billing
                .lock()
                .unwrap()
                .iter()
                .filter(|r| r.0 < FAILED)
                .count()
                >= total - 2
    })
    .await;
    let counted = letters.clone();
    let store = dlq.clone();
    let deadline_at = tokio::time::Instant::now() + deadline;
    loop {
        let n = store.list(&DlqFilter::default()).await.unwrap().len();
        *counted.lock().unwrap() = n;
        if n >= 2 || tokio::time::Instant::now() > deadline_at {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Late duplicates would show up here.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut expected: BTreeMap<String, Vec<u64>> = (0..KEYS)
        .map(|k| (format!("k{k}"), (0..PER_KEY).collect()))
        .collect();
    assert_once_in_order(&audit.lock().unwrap(), &expected);
    expected.get_mut("k1").unwrap().retain(|s| *s != 5);
    expected.get_mut("k2").unwrap().retain(|s| *s != 7);
    assert_once_in_order(&billing.lock().unwrap(), &expected);

    let letters = dlq.list(&DlqFilter::default()).await.unwrap();
    assert_eq!(letters.len(), 2, "{letters:#?}");
    let max_attempts = config().retry.max_attempts;
    let redeliveries = publisher.transport().redeliveries();
    for letter in &letters {
        assert_eq!(letter.group.as_deref(), Some("billing"));
        assert_eq!(letter.handler.as_deref(), Some("orders.created"));
        assert_eq!(letter.attributes["type"], "orders.created");
        let original = Envelope::from_structured(&letter.original, usize::MAX).unwrap();
        let data: OrderCreated = serde_json::from_slice(original.data().unwrap()).unwrap();
        match (data.order_id.as_str(), data.seq) {
            ("k1", 5) => {
                assert_eq!(letter.reason, "handler-permanent");
                assert_eq!(letter.error_class, ErrorClass::Permanent);
                assert_eq!(letter.attempts, 1);
                assert_eq!(letter.error_chain, vec!["refused: k1/5".to_owned()]);
            }
            ("k2", 7) => {
                assert_eq!(letter.reason, "retries-exhausted");
                assert_eq!(letter.error_class, ErrorClass::Transient);
                assert_eq!(letter.attempts, max_attempts * (1 + redeliveries));
                assert!(letter.first_failure <= letter.last_failure);
            }
            other => panic!("unexpected dead letter {other:?}"),
        }
        let cloud = letter.to_envelope().unwrap();
        assert_eq!(cloud.extension("dlqgroup"), Some("billing"));
    }
    for bus in buses.iter().chain([&publisher]) {
        bus.shutdown(Duration::from_secs(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_transport_passes_the_shared_suite() {
    let harness = Harness::in_process(config());
    groups_order_retries_and_dead_letters(&harness).await;
}

#[cfg_attr(
    not(any(feature = "nats", feature = "redis-streams", feature = "rabbitmq")),
    allow(dead_code)
)]
fn fault_config() -> BusConfig {
    BusConfig {
        lease: Duration::from_secs(1),
        ..config()
    }
}

/// An instance dies holding an unsettled message: the broker hands it to the other
/// instance (after `ack_wait` / the partition's ownership TTL), the claim expires after
/// the lease, and every event is handled once in effect, in order per key.
#[cfg_attr(
    not(any(feature = "nats", feature = "redis-streams", feature = "rabbitmq")),
    allow(dead_code)
)]
async fn instance_dropped_mid_stream(harness: &Harness) {
    let seen = Seen::default();
    let hung = Arc::new(tokio::sync::Notify::new());
    let dying = harness.bus(fault_config()).await;
    let (records, signal) = (seen.clone(), hung.clone());
    let taken = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let held: Arc<Mutex<Option<(String, u64)>>> = Arc::default();
    let held_by_dying = held.clone();
    dying
        .subscribe("g")
        .on(move |event: OrderCreated, _| {
            let (records, signal, taken) = (records.clone(), signal.clone(), taken.clone());
            let held = held_by_dying.clone();
            async move {
                // The first event with seq >= 3 it gets: never finished, never settled.
                if event.seq >= 3 && !taken.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    *held.lock().unwrap() = Some((event.order_id.clone(), event.seq));
                    signal.notify_one();
                    std::future::pending::<()>().await;
                }
                records.lock().unwrap().push((0, event.order_id, event.seq));
                Ok(())
            }
        })
        .unwrap()
        .start_joined()
        .await
        .unwrap();
    let publisher = harness.bus(fault_config()).await;
    for seq in 0..10 {
        for key in 0..4 {
            assert_enqueued(publisher.publish(&order(&format!("k{key}"), seq)).await);
        }
    }
    tokio::time::timeout(Duration::from_secs(30), hung.notified())
        .await
        .expect("the dying instance took a message");
    let survivor = harness.bus(fault_config()).await;
    survivor
        .subscribe("g")
        .on(recording_handler("g", 1, seen.clone()))
        .unwrap()
        .start_joined()
        .await
        .unwrap();
    // Aborts the hung handler: nothing settles its message.
    dying.shutdown(Duration::ZERO).await;
    drop(dying);
    wait_until("every event", Duration::from_secs(60), || {
        seen.lock().unwrap().len() >= 40
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let expected: BTreeMap<String, Vec<u64>> = (0..4)
        .map(|k| (format!("k{k}"), (0..10).collect()))
        .collect();
    let seen = seen.lock().unwrap().clone();
    assert_once_in_order(&seen, &expected);
    let (key, seq) = held.lock().unwrap().clone().unwrap();
    assert!(
        seen.iter()
            .any(|(i, k, s)| *i == 1 && *k == key && *s == seq),
        "the survivor handled the message the dead instance held"
    );
    survivor.shutdown(Duration::from_secs(2)).await;
    publisher.shutdown(Duration::from_secs(2)).await;
}

/// The consumer's connection is cut (through a proxy; the server is untouched) while
/// events keep being published; after it is restored every event is handled once in
/// effect, in order per key.
#[cfg_attr(
    not(any(feature = "nats", feature = "redis-streams", feature = "rabbitmq")),
    allow(dead_code)
)]
async fn connection_cut_and_restored(harness: &Harness) {
    let Harness::Broker { broker, .. } = harness else {
        panic!("brokers only")
    };
    let upstream = host_port(broker.url());
    let proxy = CutProxy::start(upstream.clone()).await;
    // The broker's URL (scheme, credentials, path) with the proxy as host.
    let proxied = broker.url().replacen(&upstream, &proxy.addr.to_string(), 1);
    let consumer = harness.bus_at(&proxied, fault_config()).await;
    let seen = Seen::default();
    consumer
        .subscribe("g")
        .on(recording_handler("g", 0, seen.clone()))
        .unwrap()
        .start_joined()
        .await
        .unwrap();
    let publisher = harness.bus(fault_config()).await;
    let publish = |from: u64, to: u64| {
        let publisher = publisher.clone();
        async move {
            for seq in from..to {
                for key in 0..4 {
                    assert_enqueued(publisher.publish(&order(&format!("k{key}"), seq)).await);
                }
            }
        }
    };
    publish(0, 10).await;
    wait_until("some events", Duration::from_secs(30), || {
        seen.lock().unwrap().len() >= 8
    })
    .await;
    proxy.cut();
    publish(10, 20).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.restore();
    publish(20, 25).await;
    wait_until("every event", Duration::from_secs(60), || {
        seen.lock().unwrap().len() >= 100
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let expected: BTreeMap<String, Vec<u64>> = (0..4)
        .map(|k| (format!("k{k}"), (0..25).collect()))
        .collect();
    assert_once_in_order(&seen.lock().unwrap(), &expected);
    consumer.shutdown(Duration::from_secs(2)).await;
    publisher.shutdown(Duration::from_secs(2)).await;
}

/// A delivery held past the broker's timeout (`ack_wait`, the partition's TTL) stays with
/// its instance while `keep_alive` is called: a second instance of the group gets nothing.
/// Once the first instance is gone, the second gets the message, then the next, in order.
#[cfg_attr(
    not(any(feature = "nats", feature = "redis-streams")),
    allow(dead_code)
)]
async fn keep_alive_holds_a_delivery_past_the_timeout(harness: &Harness, timeout: Duration) {
    let Harness::Broker { broker, .. } = harness else {
        panic!("brokers only")
    };
    let patterns = [eventschema::SubjectPattern::parse("orders.created").unwrap()];
    let spec = eventschema::transport::JoinSpec {
        group: "g",
        patterns: &patterns,
        lanes: 1,
        queue_capacity: 16,
    };
    let first = broker.connect(broker.url()).await;
    let mut first_lanes = first.join(spec).await.unwrap();
    assert_eq!(first_lanes.len(), 1, "one partition in this test");
    let publisher = harness.bus(config()).await;
    assert_enqueued(publisher.publish(&order("k0", 0)).await);
    assert_enqueued(publisher.publish(&order("k0", 1)).await);
    let mut held = tokio::time::timeout(Duration::from_secs(20), first_lanes[0].next())
        .await
        .expect("the first instance got a message")
        .unwrap();
    assert_eq!(seq_of(&held), 0);

    let second = broker.connect(broker.url()).await;
    let mut second_lanes = second.join(spec).await.unwrap();
    let taken = {
        let next = second_lanes[0].next();
        tokio::pin!(next);
        let until = tokio::time::Instant::now() + timeout * 3;
        while tokio::time::Instant::now() < until {
            tokio::select! {
                got = &mut next => panic!("delivered elsewhere while kept alive: {got:?}"),
                _ = tokio::time::sleep(timeout / 4) => {}
            }
            held.acker.keep_alive().await;
        }
        // The first instance dies without settling anything.
        drop(held);
        drop(first_lanes);
        first.close().await;
        tokio::time::timeout(Duration::from_secs(30), &mut next)
            .await
            .expect("the second instance took over")
            .unwrap()
    };
    assert!(taken.redeliveries >= 1, "{taken:?}");
    let mut seqs = vec![seq_of(&taken)];
    taken.acker.ack().await;
    let then = tokio::time::timeout(Duration::from_secs(30), second_lanes[0].next())
        .await
        .expect("the next message")
        .unwrap();
    seqs.push(seq_of(&then));
    then.acker.ack().await;
    assert_eq!(seqs, [0, 1], "in order after the takeover");
    second.close().await;
    publisher.shutdown(Duration::from_secs(2)).await;
}

/// The `seq` of a test event delivered in binary mode.
fn seq_of(delivery: &eventschema::transport::Delivery) -> u64 {
    match &delivery.payload {
        eventschema::transport::Payload::Binary(message) => {
            serde_json::from_slice::<OrderCreated>(message.body())
                .unwrap()
                .seq
        }
        other => panic!("not off a broker: {other:?}"),
    }
}

#[cfg(feature = "nats")]
mod nats {
    use super::*;
    use eventschema::transport::nats::NatsConfig;

    fn harness(url: &str, tune: impl FnOnce(&mut NatsConfig)) -> Harness {
        let mut config = NatsConfig::new(url, unique("es_t_"));
        config.partitions = 4;
        config.ack_wait = Duration::from_secs(2);
        config.redeliveries = 1;
        config.max_age = Some(Duration::from_secs(600));
        tune(&mut config);
        Harness::broker(Broker::Nats(config))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nats_transport_passes_the_shared_suite() {
        let Some(url) = nats_url() else { return };
        let harness = harness(&url, |_| {});
        groups_order_retries_and_dead_letters(&harness).await;
        harness.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nats_instance_dropped_mid_stream_hands_its_messages_over() {
        let Some(url) = nats_url() else { return };
        let harness = harness(&url, |c| c.ack_wait = Duration::from_secs(1));
        instance_dropped_mid_stream(&harness).await;
        harness.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nats_keep_alive_holds_a_delivery_past_ack_wait() {
        let Some(url) = nats_url() else { return };
        let harness = harness(&url, |c| {
            c.partitions = 1;
            c.ack_wait = Duration::from_secs(1);
        });
        keep_alive_holds_a_delivery_past_the_timeout(&harness, Duration::from_secs(1)).await;
        harness.cleanup().await;
    }

    /// A re-sent envelope (same source and id) is dropped by the stream's duplicate window:
    /// the transport sends `Nats-Msg-Id` with every publish.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nats_drops_a_resent_envelope_within_the_duplicate_window() {
        let Some(url) = nats_url() else { return };
        let mut config = NatsConfig::new(&url, unique("es_t_"));
        config.partitions = 2;
        let transport = Arc::new(
            eventschema::transport::nats::NatsTransport::connect(config.clone())
                .await
                .unwrap(),
        );
        let catalog = Arc::new(SchemaCatalog::new());
        catalog.register_event::<OrderCreated>().unwrap();
        let bus = Bus::with_transport(
            BusConfig::default(),
            catalog,
            Arc::new(MemoryDlq::new()),
            Arc::new(MemoryStore::new()),
            transport.clone(),
        );
        let first = bus.envelope_for(&order("o1", 1), None).unwrap();
        let other = bus.envelope_for(&order("o1", 2), None).unwrap();
        for envelope in [first.clone(), first, other] {
            assert_enqueued(bus.publish_envelope(envelope).await);
        }
        let js = async_nats::jetstream::new(transport.client().clone());
        let mut stored = 0;
        for name in transport.stream_names() {
            let mut stream = js.get_stream(&name).await.unwrap();
            stored += stream.info().await.unwrap().state.messages;
        }
        assert_eq!(stored, 2);
        transport.delete_stream().await.unwrap();
    }

    /// A stream of the earlier one-stream layout under the same prefix is named in the
    /// error, not left to the server's "subjects overlap".
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nats_refuses_a_prefix_left_in_the_earlier_layout() {
        let Some(url) = nats_url() else { return };
        let prefix = unique("es_t_");
        let js = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
        js.create_stream(async_nats::jetstream::stream::Config {
            name: prefix.clone(),
            subjects: vec![format!("{prefix}.>")],
            ..Default::default()
        })
        .await
        .unwrap();
        let error =
            eventschema::transport::nats::NatsTransport::connect(NatsConfig::new(&url, &prefix))
                .await
                .unwrap_err();
        js.delete_stream(&prefix).await.unwrap();
        assert!(error.to_string().contains("earlier layout"), "{error}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nats_connection_cut_and_restored_loses_nothing() {
        let Some(url) = nats_url() else { return };
        let harness = harness(&url, |_| {});
        connection_cut_and_restored(&harness).await;
        harness.cleanup().await;
    }
}

#[cfg(feature = "redis-streams")]
mod redis_streams {
    use super::*;
    use eventschema::transport::redis_streams::RedisStreamsConfig;

    fn harness(url: &str, tune: impl FnOnce(&mut RedisStreamsConfig)) -> Harness {
        let mut config = RedisStreamsConfig::new(url, unique("es_t_"));
        config.partitions = 4;
        config.claim_idle = Duration::from_secs(2);
        config.redeliveries = 1;
        config.block = Duration::from_millis(200);
        tune(&mut config);
        Harness::broker(Broker::Redis(config))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_streams_transport_passes_the_shared_suite() {
        let Some(url) = redis_url() else { return };
        let harness = harness(&url, |_| {});
        groups_order_retries_and_dead_letters(&harness).await;
        harness.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_streams_instance_dropped_mid_stream_hands_its_messages_over() {
        let Some(url) = redis_url() else { return };
        let harness = harness(&url, |c| c.claim_idle = Duration::from_secs(1));
        instance_dropped_mid_stream(&harness).await;
        harness.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_streams_keep_alive_holds_a_delivery_past_claim_idle() {
        let Some(url) = redis_url() else { return };
        let harness = harness(&url, |c| {
            c.partitions = 1;
            c.claim_idle = Duration::from_secs(1);
        });
        keep_alive_holds_a_delivery_past_the_timeout(&harness, Duration::from_secs(1)).await;
        harness.cleanup().await;
    }

    /// A dead-lettered entry is also added to `{prefix}:dlq` with its fields, the reason,
    /// the group and the attempts, and acked on its own stream.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_streams_dead_letters_are_added_to_the_dead_letter_stream() {
        let Some(url) = redis_url() else { return };
        let harness = harness(&url, |c| c.partitions = 1);
        let Harness::Broker {
            broker: Broker::Redis(settings),
            ..
        } = &harness
        else {
            unreachable!()
        };
        let bus = harness.bus(config()).await;
        let handled = Seen::default();
        let records = handled.clone();
        bus.subscribe("billing")
            .on(move |event: OrderCreated, _| {
                let records = records.clone();
                async move {
                    if event.seq == 1 {
                        return Err(HandlerError::msg(ErrorClass::Permanent, "poison"));
                    }
                    records.lock().unwrap().push((0, event.order_id, event.seq));
                    Ok(())
                }
            })
            .unwrap()
            .start_joined()
            .await
            .unwrap();
        for seq in 0..3 {
            assert_enqueued(bus.publish(&order("k0", seq)).await);
        }
        wait_until("the healthy events", Duration::from_secs(30), || {
            handled.lock().unwrap().len() >= 2
        })
        .await;
        tokio::time::timeout(Duration::from_secs(30), bus.flush())
            .await
            .expect("everything settled");

        let client = redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let range: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(settings.dead_letter_stream())
            .arg("-")
            .arg("+")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(range.ids.len(), 1, "one dead letter: {range:?}");
        let entry = &range.ids[0];
        let field = |name: &str| -> String {
            entry
                .get::<String>(name)
                .unwrap_or_else(|| panic!("field {name} in {entry:?}"))
        };
        assert_eq!(field("dlq_reason"), "handler-permanent");
        assert_eq!(field("dlq_group"), "billing");
        assert_eq!(field("dlq_attempts"), "1");
        assert_eq!(field("dlq_stream"), format!("{}:p0", settings.prefix));
        assert_eq!(field("ce_type"), "orders.created");
        let data: OrderCreated = serde_json::from_str(&field("data")).unwrap();
        assert_eq!(data, order("k0", 1));
        // The bus's store has it too, with the same reason.
        let letters = harness.dlq().list(&DlqFilter::default()).await.unwrap();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].reason, "handler-permanent");
        bus.shutdown(Duration::from_secs(2)).await;
        harness.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_streams_connection_cut_and_restored_loses_nothing() {
        let Some(url) = redis_url() else { return };
        let harness = harness(&url, |_| {});
        connection_cut_and_restored(&harness).await;
        harness.cleanup().await;
    }
}

#[cfg(feature = "rabbitmq")]
mod rabbitmq {
    use super::*;
    use eventschema::transport::rabbitmq::RabbitMqConfig;

    fn harness(url: &str) -> Harness {
        let mut config = RabbitMqConfig::new(url, unique("es_t_"));
        config.partitions = 4;
        config.redeliveries = 1;
        Harness::broker(Broker::Rabbit(config))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rabbitmq_transport_passes_the_shared_suite() {
        let Some(url) = amqp_url() else { return };
        let harness = harness(&url);
        groups_order_retries_and_dead_letters(&harness).await;
        harness.cleanup().await;
    }

    /// Lanes ack in batches (`multiple`): a backlog is acked while it is handled, the last
    /// partial batch as soon as the lane is idle (`flush` returns), and nothing is left in
    /// the queues once the instance is gone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rabbitmq_batched_acks_settle_everything() {
        let Some(url) = amqp_url() else { return };
        let harness = harness(&url);
        let Harness::Broker {
            broker: Broker::Rabbit(settings),
            ..
        } = &harness
        else {
            unreachable!()
        };
        let bus = harness.bus(config()).await;
        let handled = Arc::new(Mutex::new(0usize));
        let counter = handled.clone();
        let subscription = bus
            .subscribe("g")
            .on(move |_: OrderCreated, _| {
                *counter.lock().unwrap() += 1;
                async { Ok(()) }
            })
            .unwrap();
        // The queues exist (and fill up) before anyone consumes: lanes start with a backlog.
        subscription.start_joined().await.unwrap();
        bus.shutdown(Duration::from_secs(2)).await;
        let consumer = harness.bus(config()).await;
        let publisher = harness.bus(config()).await;
        let total = 301;
        for seq in 0..total {
            assert_enqueued(
                publisher
                    .publish(&order(&format!("k{}", seq % 7), seq))
                    .await,
            );
        }
        let counter = handled.clone();
        consumer
            .subscribe("g")
            .on(move |_: OrderCreated, _| {
                *counter.lock().unwrap() += 1;
                async { Ok(()) }
            })
            .unwrap()
            .start_joined()
            .await
            .unwrap();
        let count = handled.clone();
        wait_until("all handled", Duration::from_secs(60), || {
            *count.lock().unwrap() >= total as usize
        })
        .await;
        tokio::time::timeout(Duration::from_secs(10), consumer.flush())
            .await
            .expect("the last batch is acked once the lanes are idle");
        consumer.shutdown(Duration::from_secs(2)).await;
        publisher.shutdown(Duration::from_secs(2)).await;
        let connection = lapin::Connection::connect(&url, lapin::ConnectionProperties::default())
            .await
            .unwrap();
        let channel = connection.create_channel().await.unwrap();
        for partition in 0..settings.partitions {
            let queue = channel
                .queue_declare(
                    settings.queue("g", partition).as_str().into(),
                    lapin::options::QueueDeclareOptions {
                        passive: true,
                        ..Default::default()
                    },
                    lapin::types::FieldTable::default(),
                )
                .await
                .unwrap();
            assert_eq!(queue.message_count(), 0, "partition {partition}");
        }
        harness.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rabbitmq_instance_dropped_mid_stream_hands_its_messages_over() {
        let Some(url) = amqp_url() else { return };
        let harness = harness(&url);
        instance_dropped_mid_stream(&harness).await;
        harness.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rabbitmq_connection_cut_and_restored_loses_nothing() {
        let Some(url) = amqp_url() else { return };
        let harness = harness(&url);
        connection_cut_and_restored(&harness).await;
        harness.cleanup().await;
    }

    /// `flush` returns only once the group handled everything published before it (the
    /// partition queue empty and nothing unsettled in the lanes).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rabbitmq_flush_waits_until_the_group_is_done() {
        let Some(url) = amqp_url() else { return };
        let harness = harness(&url);
        let bus = harness.bus(config()).await;
        let handled = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = handled.clone();
        bus.subscribe("g")
            .on(move |_: OrderCreated, _| {
                let counter = counter.clone();
                async move {
                    // Slow enough that the events are still queued when flush starts.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Ok(())
                }
            })
            .unwrap()
            .start_joined()
            .await
            .unwrap();
        for seq in 0..30 {
            assert_enqueued(bus.publish(&order("k1", seq)).await);
        }
        tokio::time::timeout(Duration::from_secs(30), bus.flush())
            .await
            .expect("flush returned");
        assert_eq!(handled.load(std::sync::atomic::Ordering::SeqCst), 30);
        bus.shutdown(Duration::from_secs(2)).await;
        harness.cleanup().await;
    }

    /// A message whose consumers keep dying before they settle it is redelivered with a
    /// growing count, then dead-lettered by the broker once over `delivery_limit`, instead of
    /// circling forever or vanishing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rabbitmq_broker_dead_letters_what_keeps_killing_consumers() {
        use eventschema::SubjectPattern;
        use eventschema::transport::JoinSpec;
        use eventschema::transport::rabbitmq::RabbitMqTransport;
        let Some(url) = amqp_url() else { return };
        let mut rabbit = RabbitMqConfig::new(&url, unique("es_t_"));
        rabbit.partitions = 1;
        rabbit.redeliveries = 0;
        rabbit.delivery_limit = 1;
        let harness = Harness::broker(Broker::Rabbit(rabbit.clone()));
        let patterns = [SubjectPattern::parse("orders.>").unwrap()];
        let spec = JoinSpec {
            group: "g",
            patterns: &patterns,
            lanes: 1,
            queue_capacity: 1,
        };
        let mut transport = RabbitMqTransport::connect(rabbit.clone()).await.unwrap();
        let mut lanes = transport.join(spec).await.unwrap();
        let publisher = harness.bus(config()).await;
        assert_enqueued(publisher.publish(&order("k0", 1)).await);
        let mut counts = Vec::new();
        for _ in 0..2 {
            let delivery = tokio::time::timeout(Duration::from_secs(10), lanes[0].next())
                .await
                .expect("delivered")
                .expect("a delivery");
            counts.push(delivery.redeliveries);
            // The consumer "crashes": nothing settles the delivery, its connection closes.
            drop(delivery);
            drop(lanes);
            drop(transport);
            transport = RabbitMqTransport::connect(rabbit.clone()).await.unwrap();
            lanes = transport.join(spec).await.unwrap();
        }
        assert_eq!(counts, [0, 1], "the broker's delivery count");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while transport.broker_dead_letters("g").await.unwrap() == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "never dead-lettered"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            tokio::time::timeout(Duration::from_millis(500), lanes[0].next())
                .await
                .is_err(),
            "delivered a third time"
        );
        drop(lanes);
        publisher.shutdown(Duration::from_secs(2)).await;
        assert_eq!(transport.delete(&["g"]).await.unwrap(), 1);
    }
}
