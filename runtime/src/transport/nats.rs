//! NATS JetStream transport (feature `nats`).
//!
//! Layout: one stream per prefix holding `{prefix}.{partition}.{type}`; the partition is a
//! hash of the ordering key. Each consumer group gets one durable pull consumer per
//! partition with `MaxAckPending = 1`, shared by the group's instances: instances compete,
//! yet at most one message of a partition (hence of a key) is in flight at a time, so per-key
//! order holds across instances, crashes and delayed redeliveries. Partitions are the
//! group's parallelism.
//!
//! Messages travel in binary mode (`ce-` headers, [`Binding::Nats`]); `Nats-Msg-Id` is the
//! idempotency key (or `source` + `id`), so the stream drops re-sends within its duplicate
//! window. Acks are explicit; a delivery given back with [`Acker::retry_later`] is a `NAK`
//! with a delay; a consumer instance that dies leaves its message unacked, and JetStream
//! redelivers it to another instance after `ack_wait`. The client reconnects by itself
//! with backoff; pull requests are reissued on reconnect.

use std::sync::Mutex;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy};
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::{self, stream};
use futures_util::StreamExt as _;
use tokio::sync::watch;

use super::memory::fnv;
use super::{Acker, Delivery, JoinSpec, Lane, Outgoing, Payload, Transport, TransportError};
use crate::BoxFuture;
use crate::envelope::{Binding, ext};
use crate::error::{PublishError, SubscribeError};
use crate::subject::SubjectPattern;

/// Header naming the only group a replayed message is for (other groups skip it).
const GROUP_HEADER: &str = "Eventschema-Group";

/// How the JetStream transport lays out its stream and consumers.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// `nats://host:port`.
    pub url: String,
    /// Stream name and subject root: 1 to 32 characters of `[A-Za-z0-9_-]`.
    pub prefix: String,
    /// Ordering partitions: every publisher and consumer of a prefix must agree.
    pub partitions: u32,
    /// How long an unacked delivery belongs to an instance before JetStream redelivers it.
    pub ack_wait: Duration,
    /// Broker redeliveries after the in-process retries are exhausted (then the DLQ).
    pub redeliveries: u32,
    /// JetStream's publish deduplication window (`Nats-Msg-Id`).
    pub duplicate_window: Duration,
    /// Messages older than this are dropped by the stream (`None`: kept until deleted).
    pub max_age: Option<Duration>,
}

impl NatsConfig {
    pub fn new(url: impl Into<String>, prefix: impl Into<String>) -> Self {
        NatsConfig {
            url: url.into(),
            prefix: prefix.into(),
            partitions: 8,
            ack_wait: Duration::from_secs(30),
            redeliveries: 2,
            duplicate_window: Duration::from_secs(120),
            max_age: None,
        }
    }
}

/// The JetStream transport; build a bus over it with [`crate::Bus::with_transport`].
pub struct NatsTransport {
    client: async_nats::Client,
    js: jetstream::Context,
    config: NatsConfig,
    /// Durable consumers this transport joined (what `flush` waits on).
    joined: Mutex<Vec<String>>,
    closed: watch::Sender<bool>,
}

impl std::fmt::Debug for NatsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsTransport")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn valid_token(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A durable consumer name for a group and partition (names allow no `.`, `*`, `>`).
fn durable_name(group: &str, partition: u32) -> String {
    let clean: String = group
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{clean}_{:08x}_{partition}", fnv(group.as_bytes()) as u32)
}

impl NatsTransport {
    /// Connects and creates (or opens) the prefix's stream.
    pub async fn connect(config: NatsConfig) -> Result<Self, TransportError> {
        if !valid_token(&config.prefix) {
            return Err(TransportError::Config(format!(
                "prefix `{}`: 1 to 64 characters of [A-Za-z0-9_-]",
                config.prefix
            )));
        }
        if config.partitions == 0 {
            return Err(TransportError::Config(
                "partitions must be at least 1".into(),
            ));
        }
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(5))
            .connect(config.url.as_str())
            .await
            .map_err(|e| TransportError::Connect(e.to_string()))?;
        let js = jetstream::new(client.clone());
        js.get_or_create_stream(stream::Config {
            name: config.prefix.clone(),
            subjects: vec![format!("{}.>", config.prefix)],
            duplicate_window: config.duplicate_window,
            max_age: config.max_age.unwrap_or_default(),
            ..Default::default()
        })
        .await
        .map_err(|e| TransportError::Setup(e.to_string()))?;
        Ok(NatsTransport {
            client,
            js,
            config,
            joined: Mutex::new(Vec::new()),
            closed: watch::channel(false).0,
        })
    }

    /// The underlying client (e.g. to force a reconnect in a fault test).
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    pub fn config(&self) -> &NatsConfig {
        &self.config
    }

    /// Deletes the prefix's stream and with it every message and consumer (tests, teardown).
    pub async fn delete_stream(&self) -> Result<(), TransportError> {
        self.js
            .delete_stream(&self.config.prefix)
            .await
            .map(|_| ())
            .map_err(|e| TransportError::Setup(e.to_string()))
    }

    fn partition(&self, key: &str) -> u32 {
        (fnv(key.as_bytes()) % u64::from(self.config.partitions)) as u32
    }

    async fn pending(&self) -> Result<u64, TransportError> {
        let names: Vec<String> = self.joined.lock().map(|j| j.clone()).unwrap_or_default();
        let stream = self
            .js
            .get_stream(&self.config.prefix)
            .await
            .map_err(|e| TransportError::Setup(e.to_string()))?;
        let mut total = 0u64;
        for name in names {
            let info = stream
                .consumer_info(&name)
                .await
                .map_err(|e| TransportError::Setup(e.to_string()))?;
            total += info.num_pending + info.num_ack_pending as u64;
        }
        Ok(total)
    }
}

/// `Nats-Msg-Id` for an envelope: its idempotency key, else `source` and `id`.
fn message_id(envelope: &crate::envelope::Envelope) -> String {
    match envelope.extension(ext::IDEMPOTENCY_KEY) {
        Some(key) => format!("k:{key}"),
        None => format!("e:{} {}", envelope.source(), envelope.id()),
    }
}

impl Transport for NatsTransport {
    fn name(&self) -> &'static str {
        "nats"
    }

    fn publish<'a>(&'a self, message: Outgoing<'a>) -> BoxFuture<'a, Result<usize, PublishError>> {
        Box::pin(async move {
            let envelope = message.envelope;
            let subject = format!(
                "{}.{}.{}",
                self.config.prefix,
                self.partition(message.key),
                envelope.ty()
            );
            let (pairs, body) = envelope.to_binary(Binding::Nats);
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(name.as_str(), value.as_str());
            }
            let mut publish = jetstream::message::PublishMessage::build().payload(body.into());
            match message.only_group {
                // A replay must not be dropped as a duplicate of the original send.
                Some(group) => headers.insert(GROUP_HEADER, group),
                None => publish = publish.message_id(message_id(envelope)),
            }
            let ack = self
                .js
                .send_publish(subject, publish.headers(headers))
                .await
                .map_err(|e| TransportError::Publish(e.to_string()))?;
            ack.await
                .map_err(|e| TransportError::Publish(e.to_string()))?;
            Ok(1)
        })
    }

    fn join<'a>(
        &'a self,
        spec: JoinSpec<'a>,
    ) -> BoxFuture<'a, Result<Vec<Box<dyn Lane>>, SubscribeError>> {
        Box::pin(async move {
            let setup = |e: &dyn std::fmt::Display| {
                SubscribeError::Transport(TransportError::Setup(e.to_string()))
            };
            let stream = self
                .js
                .get_stream(&self.config.prefix)
                .await
                .map_err(|e| setup(&e))?;
            let mut lanes: Vec<Box<dyn Lane>> = Vec::new();
            for partition in 0..self.config.partitions {
                let name = durable_name(spec.group, partition);
                // JetStream 2.9 takes one filter subject: a single pattern filters on the
                // server, several are filtered here.
                let filter = match spec.patterns {
                    [only] => format!("{}.{partition}.{}", self.config.prefix, only.as_str()),
                    _ => format!("{}.{partition}.>", self.config.prefix),
                };
                let consumer: jetstream::consumer::Consumer<pull::Config> = stream
                    .get_or_create_consumer(
                        &name,
                        pull::Config {
                            durable_name: Some(name.clone()),
                            deliver_policy: DeliverPolicy::All,
                            ack_policy: AckPolicy::Explicit,
                            ack_wait: self.config.ack_wait,
                            max_ack_pending: 1,
                            filter_subject: filter,
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(|e| setup(&e))?;
                if let Ok(mut joined) = self.joined.lock()
                    && !joined.contains(&name)
                {
                    joined.push(name);
                }
                lanes.push(Box::new(NatsLane {
                    consumer,
                    messages: None,
                    group: spec.group.to_owned(),
                    patterns: spec.patterns.to_vec(),
                    closed: self.closed.subscribe(),
                }));
            }
            Ok(lanes)
        })
    }

    fn redeliveries(&self) -> u32 {
        self.config.redeliveries
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        Box::pin(super::poll_until_idle("reading consumer state", || async {
            self.pending().await.map(|left| left > 0)
        }))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        self.closed.send_replace(true);
        Box::pin(std::future::ready(()))
    }
}

struct NatsLane {
    consumer: jetstream::consumer::Consumer<pull::Config>,
    messages: Option<pull::Stream>,
    group: String,
    patterns: Vec<SubjectPattern>,
    closed: watch::Receiver<bool>,
}

impl NatsLane {
    /// The message if it is for this group; others are acked and skipped.
    async fn admit(&self, message: jetstream::Message) -> Option<Delivery> {
        let redeliveries = message
            .info()
            .map(|i| u32::try_from(i.delivered.saturating_sub(1)).unwrap_or(0))
            .unwrap_or(0);
        let (message, acker) = message.split();
        let mut headers = Vec::new();
        let mut for_us = true;
        if let Some(map) = &message.headers {
            for (name, values) in map.iter() {
                for value in values {
                    if AsRef::<str>::as_ref(name) == GROUP_HEADER {
                        for_us = value.as_str() == self.group;
                    }
                    headers.push((name.to_string(), value.to_string()));
                }
            }
        }
        let ty = message
            .subject
            .splitn(3, '.')
            .nth(2)
            .unwrap_or_default()
            .to_owned();
        if !for_us || !self.patterns.iter().any(|p| p.matches(&ty)) {
            if let Err(error) = acker.ack().await {
                tracing::warn!(%error, "acking a skipped message failed");
            }
            return None;
        }
        Some(Delivery {
            payload: Payload::Binary {
                binding: Binding::Nats,
                headers,
                body: message.payload.to_vec(),
            },
            redeliveries,
            acker: Box::new(NatsAcker(acker)),
        })
    }
}

impl Lane for NatsLane {
    fn next(&mut self) -> BoxFuture<'_, Option<Delivery>> {
        Box::pin(async move {
            let mut backoff = Duration::from_millis(50);
            loop {
                if *self.closed.borrow() {
                    return None;
                }
                let messages = match &mut self.messages {
                    Some(messages) => messages,
                    None => match self.consumer.messages().await {
                        Ok(messages) => self.messages.insert(messages),
                        Err(error) => {
                            tracing::warn!(%error, "opening the pull consumer failed; retrying");
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                            continue;
                        }
                    },
                };
                let item = tokio::select! {
                    item = messages.next() => item,
                    _ = self.closed.wait_for(|closed| *closed) => return None,
                };
                match item {
                    Some(Ok(message)) => {
                        backoff = Duration::from_millis(50);
                        if let Some(delivery) = self.admit(message).await {
                            return Some(delivery);
                        }
                    }
                    Some(Err(error)) => {
                        tracing::warn!(%error, "pull consumer error; resubscribing");
                        self.messages = None;
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                    None => self.messages = None,
                }
            }
        })
    }
}

struct NatsAcker(jetstream::message::Acker);

impl Acker for NatsAcker {
    fn ack(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            // A lost ack only means a redelivery, which the idempotency store absorbs.
            if let Err(error) = self.0.ack().await {
                tracing::warn!(%error, "ack failed; the message will be redelivered");
            }
        })
    }

    fn retry_later(self: Box<Self>, delay: Duration) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            if let Err(error) = self.0.ack_with(AckKind::Nak(Some(delay))).await {
                tracing::warn!(%error, "nak failed; the message is redelivered after ack_wait");
            }
        })
    }
}
