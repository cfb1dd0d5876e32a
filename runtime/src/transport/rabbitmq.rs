//! RabbitMQ transport (feature `rabbitmq`, lapin).
//!
//! Layout: one durable topic exchange per prefix (the event family, e.g. `orders`); an event
//! is published with routing key `{partition}.{type}`, the partition being a hash of its
//! ordering key. Each consumer group gets one queue per partition, `{prefix}.{group}.p{n}`,
//! bound with `{n}.{pattern}` per subscription pattern (`*` stays `*`, a final `>` becomes
//! `#`). Each queue is declared with `x-single-active-consumer`: the group's instances all
//! consume every partition queue, the broker delivers a queue to one of them at a time and
//! hands it to another when that consumer goes away, its unacked messages first. So one key's
//! messages are handled one at a time, in order, across instances and crashes, while the
//! active consumer may read ahead (`prefetch`) for throughput; partitions are the group's
//! parallelism.
//!
//! The queues are **quorum** queues rather than classic ones: they count deliveries
//! (`x-delivery-count`, which becomes [`Delivery::redeliveries`] after a crash or a lost
//! connection), they enforce a delivery limit (`x-delivery-limit`) beyond which the broker
//! dead-letters a message that keeps killing its consumers, their dead-lettering can be
//! at-least-once, and they return a dead consumer's unacked messages ahead of the rest, in
//! order. Classic queues in RabbitMQ 3.10 have none of the first three, so a poison message
//! that crashes every instance would circle forever.
//!
//! Messages travel in binary mode with the CloudEvents AMQP binding (`cloudEvents_` headers,
//! [`Binding::Amqp`]; `datacontenttype` as the `content-type` property); the message id is
//! the event id; messages are persistent; publisher confirms are on and `publish` returns
//! once the broker confirmed (0 groups when the message was unroutable: nobody subscribes).
//! A replay for one group goes straight to that group's partition queue through the default
//! exchange.
//!
//! Settling: manual acks, batched per lane. A lane hands out its deliveries one at a time
//! and each is settled before the next is handed out (a retry is handed out again before
//! anything read after it), so when a delivery is done every earlier one of its channel is
//! done too: the lane keeps the latest done delivery and acks it with `multiple` (everything
//! up to it) once it has no message ready, or after half the prefetch, or when closing. One
//! ack per batch instead of one per message: on a quorum queue each ack is a log entry. A
//! lost batch means redeliveries, which the idempotency store absorbs.
//! [`Acker::retry_later`] keeps the delivery unacked and the same lane hands it out again
//! after the delay, before anything read after it: a "delayed requeue"
//! that keeps key order, because nothing of the partition can overtake an unacked message
//! held by the single active consumer. (A `basic.nack` with requeue would put it back, but
//! the messages already prefetched behind it would then be handled first; a TTL'd wait
//! queue dead-lettering back would append it behind later messages of its key.) Should the
//! instance die meanwhile, the broker returns the message to the head of the queue for the
//! next active consumer.
//!
//! Dead letters: the bus's [`DeadLetterStore`](crate::dlq::DeadLetterStore) stays the
//! source of truth (the bus acks what it dead-letters; the CLI reads that store). The
//! broker's own dead-letter exchange `{prefix}.dlx` (direct) with one queue per group,
//! `{prefix}.{group}.dead`, receives only what the broker gives up on: messages delivered
//! more than `delivery_limit` times without an ack (consumers crashing on them, or
//! connections lost over and over), so nothing disappears silently.
//!
//! Connections: one connection per transport, one channel per lane and one (confirming)
//! channel for publishing. When the connection drops, the next user reconnects with
//! exponential backoff (backon); lanes consume again and publishes are retried a bounded
//! number of times. The broker requeues whatever was unacked on the lost connection, so a
//! message handled but not acked is delivered again and the bus's idempotency store absorbs
//! it; a publish retried after a lost confirm may store the message twice, absorbed alike.
//! A lane never waits on a dead channel: acks and closes give up after a bound (an ack
//! written to a connection that was just cut may never complete), and while it waits for a
//! delivery the lane also watches its channel, since a cut consumer's stream does not
//! always end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{BackoffBuilder as _, ExponentialBackoff, ExponentialBuilder, Retryable as _};
use futures_util::{FutureExt as _, StreamExt as _};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use tokio::sync::watch;

use super::{
    Acker, Delivery, JoinSpec, Lane, Outgoing, OwnedBinary, Payload, Transport, TransportError,
};
use crate::BoxFuture;
use crate::envelope::Binding;
use crate::error::{PublishError, SubscribeError};
use crate::fnv::fnv;
use crate::subject::SubjectPattern;

/// The header carrying the event type in the AMQP binding.
const TYPE_HEADER: &str = "cloudEvents_type";
/// Quorum queues count deliveries in this header.
const DELIVERY_COUNT: &str = "x-delivery-count";

/// How the RabbitMQ transport lays out its exchanges and queues.
#[derive(Debug, Clone)]
pub struct RabbitMqConfig {
    /// `amqp://user:pass@host:port/vhost`.
    pub url: String,
    /// Exchange name and queue-name root (the event family): 1 to 64 characters of
    /// `[A-Za-z0-9_.-]`.
    pub prefix: String,
    /// Ordering partitions (queues per group): every publisher and consumer of a prefix
    /// must agree.
    pub partitions: u32,
    /// Unacked messages the active consumer of a partition may hold (read-ahead). The
    /// broker's `consumer_timeout` (30 minutes by default) applies to each of them: a
    /// partition so far behind that a read-ahead message waits longer gets its channel
    /// closed, and the lane consumes again (the messages are redelivered, in order).
    pub prefetch: u16,
    /// Redeliveries after the in-process retries are exhausted (then the bus's DLQ).
    pub redeliveries: u32,
    /// Deliveries without an ack after which the broker dead-letters a message to
    /// `{prefix}.dlx` (a consumer that keeps crashing on it). Must exceed `redeliveries`.
    pub delivery_limit: u32,
    /// Tries of one publish across reconnects before it fails.
    pub publish_attempts: usize,
    /// Timeout of one connection attempt.
    pub connect_timeout: Duration,
}

impl RabbitMqConfig {
    pub fn new(url: impl Into<String>, prefix: impl Into<String>) -> Self {
        RabbitMqConfig {
            url: url.into(),
            prefix: prefix.into(),
            partitions: 8,
            prefetch: 64,
            redeliveries: 2,
            delivery_limit: 20,
            publish_attempts: 8,
            connect_timeout: Duration::from_secs(5),
        }
    }

    fn dlx(&self) -> String {
        format!("{}.dlx", self.prefix)
    }

    /// The queue of one group's partition.
    pub fn queue(&self, group: &str, partition: u32) -> String {
        format!("{}.{group}.p{partition}", self.prefix)
    }

    /// The queue receiving what the broker dead-letters for a group.
    pub fn dead_letter_queue(&self, group: &str) -> String {
        format!("{}.{group}.dead", self.prefix)
    }

    fn partition(&self, key: &str) -> u32 {
        (fnv(key.as_bytes()) % u64::from(self.partitions)) as u32
    }
}

/// `*` matches one token in both syntaxes; the subject pattern's final `>` (one or more
/// tokens) becomes `#` (zero or more), and the lane filters the zero-token case.
fn binding_key(partition: u32, pattern: &SubjectPattern) -> String {
    let text = pattern.as_str();
    match text.strip_suffix('>') {
        Some(head) => format!("{partition}.{head}#"),
        None => format!("{partition}.{text}"),
    }
}

fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= 64
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn setup(e: &dyn std::fmt::Display) -> TransportError {
    TransportError::Setup(e.to_string())
}

/// Reconnect delays: 50 ms doubling to 5 s, jittered.
fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
}

/// The transport's one connection, replaced when it is lost.
struct Link {
    url: String,
    name: String,
    connect_timeout: Duration,
    current: tokio::sync::Mutex<Option<Arc<Connection>>>,
}

impl Link {
    /// The live connection, or a new one (one attempt; callers back off and retry).
    async fn connection(&self) -> Result<Arc<Connection>, TransportError> {
        let mut current = self.current.lock().await;
        if let Some(connection) = current.as_ref()
            && connection.status().connected()
        {
            return Ok(connection.clone());
        }
        let properties =
            ConnectionProperties::default().with_connection_name(self.name.as_str().into());
        let connection = tokio::time::timeout(
            self.connect_timeout,
            Connection::connect(&self.url, properties),
        )
        .await
        .map_err(|_| TransportError::Connect("timed out".into()))?
        .map_err(|e| TransportError::Connect(e.to_string()))?;
        let connection = Arc::new(connection);
        *current = Some(connection.clone());
        Ok(connection)
    }

    async fn channel(&self) -> Result<Channel, TransportError> {
        self.connection()
            .await?
            .create_channel()
            .await
            .map_err(|e| TransportError::Connect(e.to_string()))
    }
}

/// The RabbitMQ transport; build a bus over it with [`crate::Bus::with_transport`].
pub struct RabbitMqTransport {
    link: Arc<Link>,
    config: RabbitMqConfig,
    /// The confirming channel publishes go through.
    publisher: tokio::sync::Mutex<Option<Channel>>,
    /// Groups this transport joined (what `flush` and `delete` look at).
    joined: Mutex<Vec<String>>,
    /// Deliveries handed to the bus (or held for a retry) and not settled yet.
    unsettled: Arc<AtomicUsize>,
    closed: watch::Sender<bool>,
}

impl std::fmt::Debug for RabbitMqTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RabbitMqTransport")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RabbitMqTransport {
    /// Connects and declares the prefix's exchanges.
    pub async fn connect(config: RabbitMqConfig) -> Result<Self, TransportError> {
        if !valid_prefix(&config.prefix) {
            return Err(TransportError::Config(format!(
                "prefix `{}`: 1 to 64 characters of [A-Za-z0-9_.-]",
                config.prefix
            )));
        }
        if config.partitions == 0 || config.prefetch == 0 {
            return Err(TransportError::Config(
                "partitions and prefetch must be at least 1".into(),
            ));
        }
        if config.delivery_limit <= config.redeliveries {
            return Err(TransportError::Config(
                "delivery_limit must exceed redeliveries".into(),
            ));
        }
        let link = Arc::new(Link {
            url: config.url.clone(),
            name: format!("eventschema {}", config.prefix),
            connect_timeout: config.connect_timeout,
            current: tokio::sync::Mutex::new(None),
        });
        let channel = link.channel().await?;
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        channel
            .exchange_declare(
                config.prefix.as_str().into(),
                lapin::ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await
            .map_err(|e| setup(&e))?;
        channel
            .exchange_declare(
                config.dlx().into(),
                lapin::ExchangeKind::Direct,
                durable,
                FieldTable::default(),
            )
            .await
            .map_err(|e| setup(&e))?;
        Ok(RabbitMqTransport {
            link,
            config,
            publisher: tokio::sync::Mutex::new(None),
            joined: Mutex::new(Vec::new()),
            unsettled: Arc::new(AtomicUsize::new(0)),
            closed: watch::channel(false).0,
        })
    }

    pub fn config(&self) -> &RabbitMqConfig {
        &self.config
    }

    /// Messages waiting in the broker's dead-letter queue of `group` (those the broker gave
    /// up on after `delivery_limit` deliveries).
    pub async fn broker_dead_letters(&self, group: &str) -> Result<u32, TransportError> {
        let channel = self.link.channel().await?;
        let queue = channel
            .queue_declare(
                self.config.dead_letter_queue(group).into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| setup(&e))?;
        Ok(queue.message_count())
    }

    /// Deletes the exchanges and the queues of `groups` and of every group this transport
    /// joined, with their messages (tests, teardown). AMQP cannot list queues, hence the
    /// names. Returns how many messages the dead-letter queues held.
    pub async fn delete(&self, groups: &[&str]) -> Result<u32, TransportError> {
        let mut all: Vec<String> = groups.iter().map(|g| (*g).to_owned()).collect();
        if let Ok(joined) = self.joined.lock() {
            all.extend(joined.iter().cloned());
        }
        all.sort();
        all.dedup();
        let channel = self.link.channel().await?;
        let mut dead = 0;
        for group in &all {
            for partition in 0..self.config.partitions {
                channel
                    .queue_delete(
                        self.config.queue(group, partition).into(),
                        QueueDeleteOptions::default(),
                    )
                    .await
                    .map_err(|e| setup(&e))?;
            }
            dead += channel
                .queue_delete(
                    self.config.dead_letter_queue(group).into(),
                    QueueDeleteOptions::default(),
                )
                .await
                .map_err(|e| setup(&e))?;
        }
        for exchange in [self.config.prefix.clone(), self.config.dlx()] {
            channel
                .exchange_delete(exchange.into(), ExchangeDeleteOptions::default())
                .await
                .map_err(|e| setup(&e))?;
        }
        Ok(dead)
    }

    async fn publish_channel(&self) -> Result<Channel, TransportError> {
        let mut publisher = self.publisher.lock().await;
        if let Some(channel) = publisher.as_ref()
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        let channel = self.link.channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| TransportError::Connect(e.to_string()))?;
        *publisher = Some(channel.clone());
        Ok(channel)
    }

    /// One publish, awaited until the broker confirms: 1 if routed, 0 if returned.
    async fn publish_once(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: &BasicProperties,
    ) -> Result<usize, TransportError> {
        let channel = self.publish_channel().await?;
        let publish = |e: lapin::Error| TransportError::Publish(e.to_string());
        let confirmation = channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions {
                    mandatory: true,
                    immediate: false,
                },
                body,
                properties.clone(),
            )
            .await
            .map_err(publish)?
            .await
            .map_err(publish)?;
        match confirmation {
            Confirmation::Ack(None) => Ok(1),
            // Unroutable: no group's queue is bound for it (or the replay's queue is gone).
            Confirmation::Ack(Some(_)) => Ok(0),
            Confirmation::Nack(_) => Err(TransportError::Publish(
                "the broker refused the message (nack)".into(),
            )),
            Confirmation::NotRequested => Err(TransportError::Publish(
                "the channel does not confirm publishes".into(),
            )),
        }
    }

    /// Declares one group's queues and bindings.
    async fn declare_group(&self, spec: &JoinSpec<'_>) -> Result<(), TransportError> {
        let channel = self.link.channel().await?;
        let dead = self.config.dead_letter_queue(spec.group);
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(dead.as_str().into(), durable, quorum_arguments())
            .await
            .map_err(|e| setup(&e))?;
        channel
            .queue_bind(
                dead.into(),
                self.config.dlx().into(),
                spec.group.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| setup(&e))?;
        for partition in 0..self.config.partitions {
            let queue = self.config.queue(spec.group, partition);
            let mut arguments = quorum_arguments();
            arguments.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
            arguments.insert(
                "x-delivery-limit".into(),
                AMQPValue::LongLongInt(i64::from(self.config.delivery_limit)),
            );
            arguments.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString(self.config.dlx().into()),
            );
            arguments.insert(
                "x-dead-letter-routing-key".into(),
                AMQPValue::LongString(spec.group.into()),
            );
            // At-least-once dead-lettering: the broker keeps the message until the
            // dead-letter queue has it (it requires `reject-publish` overflow).
            arguments.insert(
                "x-dead-letter-strategy".into(),
                AMQPValue::LongString("at-least-once".into()),
            );
            arguments.insert(
                "x-overflow".into(),
                AMQPValue::LongString("reject-publish".into()),
            );
            channel
                .queue_declare(queue.as_str().into(), durable, arguments)
                .await
                .map_err(|e| setup(&e))?;
            for pattern in spec.patterns {
                channel
                    .queue_bind(
                        queue.as_str().into(),
                        self.config.prefix.as_str().into(),
                        binding_key(partition, pattern).into(),
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    )
                    .await
                    .map_err(|e| setup(&e))?;
            }
        }
        Ok(())
    }

    /// Something of the joined groups is still pending: unsettled here, or ready in a
    /// partition queue.
    async fn busy(&self) -> Result<bool, TransportError> {
        if self.unsettled.load(Ordering::Acquire) > 0 {
            return Ok(true);
        }
        let groups: Vec<String> = self.joined.lock().map(|j| j.clone()).unwrap_or_default();
        if groups.is_empty() {
            return Ok(false);
        }
        let channel = self.link.channel().await?;
        for group in groups {
            for partition in 0..self.config.partitions {
                let queue = channel
                    .queue_declare(
                        self.config.queue(&group, partition).into(),
                        QueueDeclareOptions {
                            passive: true,
                            ..QueueDeclareOptions::default()
                        },
                        FieldTable::default(),
                    )
                    .await
                    .map_err(|e| setup(&e))?;
                if queue.message_count() > 0 {
                    return Ok(true);
                }
            }
        }
        Ok(self.unsettled.load(Ordering::Acquire) > 0)
    }
}

fn quorum_arguments() -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    arguments
}

/// The AMQP message for an envelope: binary mode, persistent, the event id as message id.
fn message(envelope: &crate::envelope::Envelope) -> (BasicProperties, Vec<u8>) {
    let (pairs, body) = envelope.to_binary(Binding::Amqp);
    let mut headers = FieldTable::default();
    let mut properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_message_id(envelope.id().into());
    for (name, value) in pairs {
        if name == "content-type" {
            properties = properties.with_content_type(value.as_str().into());
        } else {
            headers.insert(name.as_ref().into(), AMQPValue::LongString(value.into()));
        }
    }
    (properties.with_headers(headers), body)
}

impl Transport for RabbitMqTransport {
    fn name(&self) -> &'static str {
        "rabbitmq"
    }

    fn publish<'a>(&'a self, message: Outgoing<'a>) -> BoxFuture<'a, Result<usize, PublishError>> {
        Box::pin(async move {
            let partition = self.config.partition(message.key);
            let (exchange, routing_key) = match message.only_group {
                // The default exchange routes by queue name: straight to the group.
                Some(group) => (String::new(), self.config.queue(group, partition)),
                None => (
                    self.config.prefix.clone(),
                    format!("{partition}.{}", message.envelope.ty()),
                ),
            };
            let (properties, body) = self::message(message.envelope);
            let attempts = self.config.publish_attempts.max(1);
            let routed = (|| self.publish_once(&exchange, &routing_key, &body, &properties))
                .retry(backoff().with_max_times(attempts - 1))
                .notify(|error, delay| {
                    tracing::warn!(%error, ?delay, "publishing to RabbitMQ failed; retrying");
                })
                .await?;
            Ok(routed)
        })
    }

    fn join<'a>(
        &'a self,
        spec: JoinSpec<'a>,
    ) -> BoxFuture<'a, Result<Vec<Box<dyn Lane>>, SubscribeError>> {
        Box::pin(async move {
            self.declare_group(&spec).await?;
            if let Ok(mut joined) = self.joined.lock()
                && !joined.iter().any(|g| g == spec.group)
            {
                joined.push(spec.group.to_owned());
            }
            let lanes = (0..self.config.partitions)
                .map(|partition| {
                    Box::new(RabbitLane {
                        link: self.link.clone(),
                        queue: self.config.queue(spec.group, partition),
                        patterns: spec.patterns.to_vec(),
                        prefetch: self.config.prefetch,
                        closed: self.closed.subscribe(),
                        consumer: None,
                        backoff: None,
                        redo: Arc::new(Mutex::new(None)),
                        unsettled: self.unsettled.clone(),
                        acks: Arc::new(Mutex::new(PendingAcks::default())),
                    }) as Box<dyn Lane>
                })
                .collect();
            Ok(lanes)
        })
    }

    fn redeliveries(&self) -> u32 {
        self.config.redeliveries
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // A message on its way from the broker to a lane is neither ready nor
            // unsettled: idle must be seen twice, a moment apart.
            loop {
                super::poll_until_idle("reading queue state", || self.busy()).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                if matches!(self.busy().await, Ok(false)) {
                    return;
                }
            }
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        self.closed.send_replace(true);
        Box::pin(std::future::ready(()))
    }
}

/// Counts one unsettled delivery while alive.
struct Unsettled(Arc<AtomicUsize>);

impl Unsettled {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Unsettled(count.clone())
    }
}

impl Drop for Unsettled {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Deliveries of a lane that are done and not acked yet: acking the latest with `multiple`
/// acks them all (see the module docs for why that is exact). They count as unsettled
/// until then, so `flush` waits for the ack.
#[derive(Default)]
struct PendingAcks {
    latest: Option<lapin::Acker>,
    done: Vec<Unsettled>,
}

impl PendingAcks {
    fn push(&mut self, acker: lapin::Acker, unsettled: Unsettled) -> usize {
        self.latest = Some(acker);
        self.done.push(unsettled);
        self.done.len()
    }
}

/// Adds a done delivery to the lane's pending acks; `true` once `batch` are pending (the
/// caller sends them).
fn defer_ack(
    pending: &Mutex<PendingAcks>,
    acker: lapin::Acker,
    unsettled: Unsettled,
    batch: usize,
) -> bool {
    pending
        .lock()
        .map(|mut pending| pending.push(acker, unsettled))
        .is_ok_and(|n| n >= batch)
}

/// How long a lane waits for an ack or a channel close to go out before it gives up on
/// the channel.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(2);

/// Acks everything pending on a lane (one `basic.ack` with `multiple`).
async fn send_acks(pending: &Mutex<PendingAcks>) {
    let (latest, done) = match pending.lock() {
        Ok(mut pending) => (pending.latest.take(), std::mem::take(&mut pending.done)),
        Err(_) => return,
    };
    let Some(latest) = latest else { return };
    let multiple = BasicAckOptions { multiple: true };
    // A lost ack only means redeliveries, which the idempotency store absorbs.
    if let Err(error) = within_settle_timeout(latest.ack(multiple)).await {
        tracing::warn!(%error, "ack failed; the messages will be redelivered");
    }
    drop(done);
}

/// Waits for an ack or a channel close at most [`SETTLE_TIMEOUT`]: on a channel whose
/// connection was just cut it may never complete, and the lane must not wait on it (the
/// broker redelivers what was not acked).
async fn within_settle_timeout<T>(
    operation: impl std::future::Future<Output = Result<T, lapin::Error>>,
) -> Result<(), String> {
    match tokio::time::timeout(SETTLE_TIMEOUT, operation).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {SETTLE_TIMEOUT:?}")),
    }
}

/// A delivery's content (its AMQP headers converted to text once), shared by the payload
/// and the acker, which keeps it for a later retry.
type Message = Arc<OwnedBinary>;

/// A delivery given back for a later retry: the same lane hands it out again.
struct Redo {
    message: Message,
    acker: lapin::Acker,
    redeliveries: u32,
    delay: Duration,
    _unsettled: Unsettled,
}

struct RabbitLane {
    link: Arc<Link>,
    queue: String,
    patterns: Vec<SubjectPattern>,
    prefetch: u16,
    closed: watch::Receiver<bool>,
    /// The channel and consumer of this lane's queue, while connected.
    consumer: Option<(Channel, lapin::Consumer)>,
    backoff: Option<ExponentialBackoff>,
    redo: Arc<Mutex<Option<Redo>>>,
    unsettled: Arc<AtomicUsize>,
    acks: Arc<Mutex<PendingAcks>>,
}

fn header_text(value: &AMQPValue) -> Option<String> {
    Some(match value {
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        AMQPValue::ShortString(s) => s.as_str().to_owned(),
        AMQPValue::Boolean(b) => b.to_string(),
        AMQPValue::ShortShortInt(n) => n.to_string(),
        AMQPValue::ShortShortUInt(n) => n.to_string(),
        AMQPValue::ShortInt(n) => n.to_string(),
        AMQPValue::ShortUInt(n) => n.to_string(),
        AMQPValue::LongInt(n) => n.to_string(),
        AMQPValue::LongUInt(n) => n.to_string(),
        AMQPValue::LongLongInt(n) => n.to_string(),
        _ => return None,
    })
}

fn count(value: &AMQPValue) -> Option<u32> {
    header_text(value).and_then(|text| text.parse().ok())
}

impl RabbitLane {
    async fn subscribe(&self) -> Result<(Channel, lapin::Consumer), TransportError> {
        let channel = self.link.channel().await?;
        let failed = |e: lapin::Error| TransportError::Connect(e.to_string());
        channel
            .basic_qos(self.prefetch, BasicQosOptions::default())
            .await
            .map_err(failed)?;
        let consumer = channel
            .basic_consume(
                self.queue.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(failed)?;
        Ok((channel, consumer))
    }

    /// Sleeps `delay` unless the transport closes first (`false`).
    async fn pause(&mut self, delay: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(delay) => true,
            _ = self.closed.wait_for(|closed| *closed) => false,
        }
    }

    async fn back_off(&mut self) {
        let delay = self
            .backoff
            .get_or_insert_with(|| backoff().without_max_times().build())
            .next()
            .unwrap_or(Duration::from_secs(5));
        self.pause(delay).await;
    }

    fn delivery(&self, redo: Redo) -> Delivery {
        let Redo {
            message,
            acker,
            redeliveries,
            _unsettled,
            ..
        } = redo;
        Delivery {
            payload: Payload::Binary(message.clone()),
            redeliveries,
            acker: Box::new(RabbitAcker {
                message,
                acker,
                redeliveries,
                redo: self.redo.clone(),
                unsettled: _unsettled,
                acks: self.acks.clone(),
                batch: self.ack_batch(),
            }),
        }
    }

    /// The delivery for a message, or `Err(flush)` if it is not for us: acked with the
    /// lane's next batch, which is due now if `flush`. Not async: the lane's per-message
    /// future would have to hold the whole AMQP delivery across an await.
    fn admit(&self, delivery: lapin::message::Delivery) -> Result<Delivery, bool> {
        let properties = &delivery.properties;
        let mut headers = Vec::new();
        let mut redeliveries = u32::from(delivery.redelivered);
        if let Some(content_type) = properties.content_type() {
            headers.push(("content-type".to_owned(), content_type.as_str().to_owned()));
        }
        if let Some(table) = properties.headers() {
            for (name, value) in table.inner() {
                if name.as_str() == DELIVERY_COUNT {
                    redeliveries = count(value).unwrap_or(redeliveries);
                } else if let Some(text) = header_text(value) {
                    headers.push((name.as_str().to_owned(), text));
                }
            }
        }
        let matches = headers
            .iter()
            .find(|(name, _)| name == TYPE_HEADER)
            // Not a CloudEvent: the bus dead-letters it with its bytes.
            .is_none_or(|(_, ty)| self.patterns.iter().any(|p| p.matches(ty)));
        if !matches {
            // Acked with the lane's next batch, in order with the rest.
            let unsettled = Unsettled::new(&self.unsettled);
            return Err(defer_ack(
                &self.acks,
                delivery.acker,
                unsettled,
                self.ack_batch(),
            ));
        }
        Ok(self.delivery(Redo {
            message: Arc::new(OwnedBinary {
                binding: Binding::Amqp,
                headers,
                body: delivery.data,
            }),
            acker: delivery.acker,
            redeliveries,
            delay: Duration::ZERO,
            _unsettled: Unsettled::new(&self.unsettled),
        }))
    }

    /// Deliveries acked together at most (half the prefetch, so the broker never waits
    /// for an ack to send more).
    fn ack_batch(&self) -> usize {
        usize::from(self.prefetch / 2).max(1)
    }

    async fn stop(&mut self) {
        // What was handled is acked before the channel goes, else it is redelivered.
        send_acks(&self.acks).await;
        if let Some((channel, _)) = self.consumer.take()
            && let Err(error) = within_settle_timeout(channel.close(200, "closing".into())).await
        {
            tracing::debug!(%error, queue = %self.queue, "closing the channel failed");
        }
    }
}

impl Lane for RabbitLane {
    fn next(&mut self) -> BoxFuture<'_, Option<Delivery>> {
        // The rare awaits (stop, retry delay, resubscribe, back-off, acks) are boxed: this
        // future is boxed per message, and a large box costs glibc's allocator thousands
        // of instructions.
        Box::pin(async move {
            loop {
                if *self.closed.borrow() {
                    // Whatever is unacked (a held retry, read-ahead) goes back to the queue.
                    self.redo.lock().ok().and_then(|mut r| r.take());
                    Box::pin(self.stop()).await;
                    return None;
                }
                let redo = self.redo.lock().ok().and_then(|mut r| r.take());
                if let Some(redo) = redo {
                    // Its channel is gone: the broker redelivers it.
                    if redo.acker.poisoned() {
                        continue;
                    }
                    let delay = redo.delay;
                    Box::pin(send_acks(&self.acks)).await;
                    if !Box::pin(self.pause(delay)).await {
                        continue;
                    }
                    return Some(self.delivery(redo));
                }
                let consumer = match &mut self.consumer {
                    Some((_, consumer)) => consumer,
                    None => match Box::pin(self.subscribe()).await {
                        Ok(subscribed) => &mut self.consumer.insert(subscribed).1,
                        Err(error) => {
                            tracing::warn!(%error, queue = %self.queue, "consuming failed; retrying");
                            Box::pin(self.back_off()).await;
                            continue;
                        }
                    },
                };
                // Nothing ready: ack what is done before waiting (see the module docs).
                let item = match consumer.next().now_or_never() {
                    Some(item) => item,
                    None => match Box::pin(self.wait_next()).await {
                        Some(item) => item,
                        None => continue,
                    },
                };
                match self.take(item) {
                    Ok(delivery) => return Some(delivery),
                    Err(Skipped::FlushAcks) => Box::pin(send_acks(&self.acks)).await,
                    Err(Skipped::Quiet) => {}
                    Err(Skipped::Resubscribe) => Box::pin(self.back_off()).await,
                }
            }
        })
    }
}

/// Why [`RabbitLane::take`] handed out nothing.
enum Skipped {
    /// Not for this group; acked with the next batch, which is due now.
    FlushAcks,
    /// Not for this group; acked with the next batch.
    Quiet,
    /// The consumer failed or was cancelled: back off, then consume again.
    Resubscribe,
}

impl RabbitLane {
    /// Nothing was ready: acks what is done (see the module docs), then waits for the
    /// consumer's next item; `None` if the transport closed meanwhile. A lost channel
    /// reads like a cancelled consumer (subscribe again).
    async fn wait_next(
        &mut self,
    ) -> Option<Option<Result<lapin::message::Delivery, lapin::Error>>> {
        send_acks(&self.acks).await;
        let (channel, consumer) = self.consumer.as_mut()?;
        tokio::select! {
            item = consumer.next() => Some(item),
            _ = self.closed.wait_for(|closed| *closed) => None,
            () = lost(channel) => Some(None),
        }
    }

    /// What the lane does with an item of its consumer, decided without an await (the
    /// AMQP delivery is large, and whatever lives across an await is part of the future
    /// `next` boxes per message).
    fn take(
        &mut self,
        item: Option<Result<lapin::message::Delivery, lapin::Error>>,
    ) -> Result<Delivery, Skipped> {
        match item {
            Some(Ok(delivery)) => {
                self.backoff = None;
                self.admit(delivery).map_err(|flush| {
                    if flush {
                        Skipped::FlushAcks
                    } else {
                        Skipped::Quiet
                    }
                })
            }
            Some(Err(error)) => {
                tracing::warn!(%error, queue = %self.queue, "consumer failed; reconnecting");
                self.consumer = None;
                Err(Skipped::Resubscribe)
            }
            None => {
                tracing::warn!(queue = %self.queue, "consumer cancelled; consuming again");
                self.consumer = None;
                Err(Skipped::Resubscribe)
            }
        }
    }
}

/// Resolves once `channel` is no longer open. A consumer whose connection was cut does not
/// always end its stream (seen when the cut races the consumer's start), and a lane waiting
/// on it would wait forever; so the lane also watches the channel itself.
async fn lost(channel: &Channel) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        if !channel.status().connected() {
            return;
        }
    }
}

struct RabbitAcker {
    message: Message,
    acker: lapin::Acker,
    redeliveries: u32,
    redo: Arc<Mutex<Option<Redo>>>,
    unsettled: Unsettled,
    acks: Arc<Mutex<PendingAcks>>,
    batch: usize,
}

impl Acker for RabbitAcker {
    fn ack(self: Box<Self>) -> BoxFuture<'static, ()> {
        let RabbitAcker {
            acker,
            unsettled,
            acks,
            batch,
            ..
        } = *self;
        Box::pin(async move {
            if defer_ack(&acks, acker, unsettled, batch) {
                send_acks(&acks).await;
            }
        })
    }

    fn retry_later(self: Box<Self>, delay: Duration) -> BoxFuture<'static, ()> {
        let RabbitAcker {
            message,
            acker,
            redeliveries,
            redo,
            unsettled,
            ..
        } = *self;
        if let Ok(mut slot) = redo.lock() {
            *slot = Some(Redo {
                message,
                acker,
                redeliveries: redeliveries.saturating_add(1),
                delay,
                _unsettled: unsettled,
            });
        }
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn binding_keys_translate_wildcards() {
        let key = |p: &str| binding_key(3, &SubjectPattern::parse(p).unwrap());
        assert_eq!(key("orders.created"), "3.orders.created");
        assert_eq!(key("orders.*"), "3.orders.*");
        assert_eq!(key("orders.>"), "3.orders.#");
        assert_eq!(key(">"), "3.#");
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(valid_prefix("orders"));
        assert!(valid_prefix("es_t.a-b"));
        assert!(!valid_prefix(""));
        assert!(!valid_prefix("a b"));
        assert!(!valid_prefix(&"x".repeat(65)));
    }
}
