//! NATS JetStream transport (feature `nats`).
//!
//! Layout: one stream per partition, `{prefix}_p{partition}`, holding
//! `{prefix}.{partition}.{type}`; the partition is a hash of the ordering key. Each consumer
//! group gets one durable pull consumer per partition, on that partition's stream. (Not one
//! stream filtered per partition: a 2.9 server finds a filtered consumer's next message by
//! walking the stream past every other partition's messages, so its CPU per message grew
//! with the partition count.) Within a group, an instance pulls a partition only while it
//! owns it: a key in the prefix's KV bucket `{prefix}_owners`, created if absent and renewed
//! by revision, whose TTL (the bucket's `max_age`) is `ack_wait`. So the owner may read
//! ahead (`read_ahead` messages per pull request and `MaxAckPending`) and the bus still
//! handles one key's messages one at a time, in order. Partitions are the group's
//! parallelism.
//!
//! When an owner dies its key expires; the next owner, finding unacked messages on the
//! consumer, waits `ack_wait` before pulling, so JetStream redelivers them (in stream order,
//! before anything newer) first. An owner that closes hands what it holds back with `NAK`s
//! in order and marks the key released, so the next one starts at once when nothing else
//! was in flight. A delivery given back with [`Acker::retry_later`] stays with the owning
//! lane, which redelivers it after the delay before anything read after it (a `NAK` with a
//! delay would let read-ahead messages of the same key overtake it); meanwhile the lane
//! keeps it and its read-ahead alive with `+WPI` (progress). [`Acker::keep_alive`] does the
//! same for a long handler and renews the partition.
//!
//! Messages travel in binary mode (`ce-` headers, [`Binding::Nats`]); `Nats-Msg-Id` is the
//! idempotency key (or `source` + `id`), so the stream drops re-sends within its duplicate
//! window. The client reconnects by itself with backoff; a pull request cut by a reconnect
//! is settled like a takeover (wait for its messages to come back) before pulling on.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::header::{HeaderName, HeaderValue, NATS_MESSAGE_ID};
use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy};
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::{self, kv, stream};
use bytes::Bytes;
use futures_util::{FutureExt as _, StreamExt as _};
use tokio::sync::watch;

use super::{
    Acker, BinaryMessage, Delivery, JoinSpec, Lane, Outgoing, Payload, Transport, TransportError,
};
use crate::BoxFuture;
use crate::envelope::{Binding, ext};
use crate::error::{PublishError, SubscribeError};
use crate::fnv::fnv;
use crate::subject::SubjectPattern;

/// Header naming the only group a replayed message is for (other groups skip it).
const GROUP_HEADER: &str = "Eventschema-Group";

/// How the JetStream transport lays out its stream and consumers.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// `nats://host:port`.
    pub url: String,
    /// Subject root and stem of the stream names (`{prefix}_p{partition}`): 1 to 64
    /// characters of `[A-Za-z0-9_-]`.
    pub prefix: String,
    /// Ordering partitions: every publisher and consumer of a prefix must agree.
    pub partitions: u32,
    /// How long an unacked delivery belongs to an instance before JetStream redelivers it,
    /// and how long a silent owner keeps its partitions.
    pub ack_wait: Duration,
    /// Messages an owning lane may hold unacked (pull batch and `MaxAckPending`).
    pub read_ahead: usize,
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
            read_ahead: 256,
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
    /// `{prefix}.{partition}.` per partition: a message's subject is its root and its type.
    subject_roots: Vec<String>,
    owners: kv::Store,
    /// Durable consumers this transport joined, with their partition (what `flush` waits
    /// on).
    joined: Mutex<Vec<(String, u32)>>,
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
        if config.partitions == 0 || config.read_ahead == 0 {
            return Err(TransportError::Config(
                "partitions and read_ahead must be at least 1".into(),
            ));
        }
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(5))
            .connect(config.url.as_str())
            .await
            .map_err(|e| TransportError::Connect(e.to_string()))?;
        let js = jetstream::new(client.clone());
        for partition in 0..config.partitions {
            let name = stream_name(&config, partition);
            let created = js
                .get_or_create_stream(stream::Config {
                    name: name.clone(),
                    subjects: vec![format!("{}.{partition}.>", config.prefix)],
                    duplicate_window: config.duplicate_window,
                    max_age: config.max_age.unwrap_or_default(),
                    ..Default::default()
                })
                .await;
            if let Err(error) = created {
                // The one-stream layout of earlier versions holds every partition's subjects.
                let earlier = js.get_stream(&config.prefix).await.is_ok();
                return Err(TransportError::Setup(if earlier {
                    format!(
                        "stream `{name}`: {error}; the stream `{}` of an earlier layout holds \
                         this prefix's subjects: drain and delete it first",
                        config.prefix
                    )
                } else {
                    format!("stream `{name}`: {error}")
                }));
            }
        }
        let owners = owners_bucket(&js, &config).await?;
        let subject_roots = (0..config.partitions)
            .map(|partition| format!("{}.{partition}.", config.prefix))
            .collect();
        Ok(NatsTransport {
            client,
            js,
            subject_roots,
            config,
            owners,
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

    /// The prefix's streams, one per partition in partition order (to inspect them).
    pub fn stream_names(&self) -> Vec<String> {
        (0..self.config.partitions)
            .map(|partition| stream_name(&self.config, partition))
            .collect()
    }

    /// Deletes the prefix's streams and with them every message and consumer, and the
    /// ownership bucket (tests, teardown). Tries every stream; the first failure is
    /// returned.
    pub async fn delete_stream(&self) -> Result<(), TransportError> {
        let names =
            std::iter::once(format!("KV_{}", owners_name(&self.config))).chain(self.stream_names());
        let mut first_error = None;
        for name in names {
            if let Err(error) = self.js.delete_stream(&name).await {
                first_error
                    .get_or_insert(TransportError::Setup(format!("stream `{name}`: {error}")));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn partition(&self, key: &str) -> u32 {
        (fnv(key.as_bytes()) % u64::from(self.config.partitions)) as u32
    }

    async fn pending(&self) -> Result<u64, TransportError> {
        let joined: Vec<(String, u32)> = self.joined.lock().map(|j| j.clone()).unwrap_or_default();
        let mut total = 0u64;
        for (name, partition) in joined {
            // One request per consumer: its info comes with it.
            let consumer: jetstream::consumer::Consumer<pull::Config> = self
                .js
                .get_consumer_from_stream(&name, stream_name(&self.config, partition))
                .await
                .map_err(|e| TransportError::Setup(e.to_string()))?;
            let info = consumer.cached_info();
            total += info.num_pending + info.num_ack_pending as u64;
        }
        Ok(total)
    }
}

/// The stream of one partition.
fn stream_name(config: &NatsConfig, partition: u32) -> String {
    format!("{}_p{partition}", config.prefix)
}

fn owners_name(config: &NatsConfig) -> String {
    format!("{}_owners", config.prefix)
}

/// The prefix's ownership bucket; entries live `ack_wait` unless renewed. An existing
/// bucket is used as it is (its TTL was set by whoever created it). The bucket's stream is
/// created here with the KV layout, since the client's bucket creation first reads account
/// details that a 2.9 server does not send.
async fn owners_bucket(
    js: &jetstream::Context,
    config: &NatsConfig,
) -> Result<kv::Store, TransportError> {
    let name = owners_name(config);
    js.get_or_create_stream(stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        max_age: config.ack_wait,
        storage: stream::StorageType::Memory,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        ..Default::default()
    })
    .await
    .map_err(|e| TransportError::Setup(format!("ownership bucket: {e}")))?;
    js.get_key_value(name)
        .await
        .map_err(|e| TransportError::Setup(format!("ownership bucket: {e}")))
}

/// Whether a header value would break the NATS header block (the client's infallible
/// conversion panics on it). A byte walk: the client's own check decodes every `char`.
fn has_line_break(value: &str) -> bool {
    value.bytes().any(|b| b == b'\r' || b == b'\n')
}

/// The header map of a binary-mode message, taking the values over (no copies); the
/// names of the core attributes and the runtime's extensions are static (no allocation,
/// no parsing). The client's infallible conversions panic on a line break; it is refused
/// here (a percent-encoded `ce-` value has none; a content type could).
fn headers_of(pairs: Vec<(Cow<'static, str>, String)>) -> Result<HeaderMap, TransportError> {
    pairs
        .into_iter()
        .map(|(name, value)| {
            if has_line_break(&value) {
                return Err(TransportError::Publish(format!(
                    "header `{name}` holds a line break"
                )));
            }
            let name = match name {
                Cow::Borrowed(known) => HeaderName::from_static(known),
                Cow::Owned(name) => HeaderName::try_from(name)
                    .map_err(|e| TransportError::Publish(format!("header name: {e}")))?,
            };
            Ok((name, HeaderValue::from(value)))
        })
        .collect()
}

/// A header value the transport built itself (group name, message id).
fn header_value(value: String) -> Result<HeaderValue, TransportError> {
    if has_line_break(&value) {
        return Err(TransportError::Publish(
            "header value holds a line break".into(),
        ));
    }
    Ok(HeaderValue::from(value))
}

/// `Nats-Msg-Id` for an envelope: its idempotency key, else `source` and `id`.
fn message_id(envelope: &crate::envelope::Envelope) -> String {
    // Pushed, not `format!`ed: this runs for every message.
    let parts = match envelope.extension(ext::IDEMPOTENCY_KEY) {
        Some(key) => ["k:", key, "", ""],
        None => ["e:", envelope.source(), " ", envelope.id()],
    };
    let mut id = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        id.push_str(part);
    }
    id
}

impl Transport for NatsTransport {
    fn name(&self) -> &'static str {
        "nats"
    }

    fn publish<'a>(&'a self, message: Outgoing<'a>) -> BoxFuture<'a, Result<usize, PublishError>> {
        Box::pin(async move {
            let envelope = message.envelope;
            let partition = self.partition(message.key);
            let root = self.subject_roots.get(partition as usize).ok_or_else(|| {
                TransportError::Publish(format!("partition {partition} out of range"))
            })?;
            let mut subject = String::with_capacity(root.len() + envelope.ty().len());
            subject.push_str(root);
            subject.push_str(envelope.ty());
            let (pairs, body) = envelope.to_binary(Binding::Nats);
            let mut headers = headers_of(pairs)?;
            // Added to the map, not with the builder's `message_id`: `headers()` would
            // replace the whole map, the id with it (so nothing was deduplicated).
            match message.only_group {
                // A replay must not be dropped as a duplicate of the original send.
                Some(group) => headers.insert(
                    HeaderName::from_static(GROUP_HEADER),
                    header_value(group.to_owned())?,
                ),
                None => headers.insert(NATS_MESSAGE_ID, header_value(message_id(envelope))?),
            }
            let publish = jetstream::message::PublishMessage::build()
                .payload(body.into())
                .headers(headers);
            let ack = self
                .js
                .send_publish(subject, publish)
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
            let mut lanes: Vec<Box<dyn Lane>> = Vec::new();
            let me = Bytes::from(uuid::Uuid::new_v4().simple().to_string());
            let max_ack_pending = i64::try_from(self.config.read_ahead).unwrap_or(i64::MAX);
            for partition in 0..self.config.partitions {
                let stream = self
                    .js
                    .get_stream(stream_name(&self.config, partition))
                    .await
                    .map_err(|e| setup(&e))?;
                let name = durable_name(spec.group, partition);
                // JetStream 2.9 takes one filter subject: a single pattern filters on the
                // server, several are filtered here (no filter: the whole stream).
                let filter = match spec.patterns {
                    [only] => format!("{}.{partition}.{}", self.config.prefix, only.as_str()),
                    _ => String::new(),
                };
                let consumer: jetstream::consumer::Consumer<pull::Config> = stream
                    .get_or_create_consumer(
                        &name,
                        pull::Config {
                            durable_name: Some(name.clone()),
                            deliver_policy: DeliverPolicy::All,
                            ack_policy: AckPolicy::Explicit,
                            ack_wait: self.config.ack_wait,
                            max_ack_pending,
                            filter_subject: filter,
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(|e| setup(&e))?;
                if let Ok(mut joined) = self.joined.lock()
                    && !joined.iter().any(|(joined, _)| *joined == name)
                {
                    joined.push((name.clone(), partition));
                }
                let owner = Arc::new(Ownership {
                    kv: self.owners.clone(),
                    key: name,
                    me: me.clone(),
                    ttl: self.config.ack_wait,
                    state: tokio::sync::Mutex::new(OwnState {
                        revision: None,
                        renewed: tokio::time::Instant::now(),
                    }),
                });
                lanes.push(Box::new(NatsLane {
                    consumer,
                    owner,
                    pull: None,
                    buffer: VecDeque::new(),
                    redo: Arc::new(Mutex::new(None)),
                    hold_until: None,
                    settle: true,
                    settle_wait: true,
                    backlog: None,
                    group: spec.group.to_owned(),
                    patterns: spec.patterns.to_vec(),
                    config: self.config.clone(),
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

/// Ownership of one (group, partition) by one instance: a key in the prefix's KV bucket,
/// created if absent and renewed with the revision it was last written at. The bucket's
/// `max_age` (the config's `ack_wait`) is the key's TTL, so a dead owner's key expires.
struct Ownership {
    kv: kv::Store,
    key: String,
    me: Bytes,
    ttl: Duration,
    state: tokio::sync::Mutex<OwnState>,
}

struct OwnState {
    /// The revision we last wrote, while we own the partition.
    revision: Option<u64>,
    renewed: tokio::time::Instant,
}

impl OwnState {
    /// Held and renewed within a quarter of the TTL: nothing to ask the bucket.
    fn fresh(&self, ttl: Duration) -> bool {
        self.revision.is_some() && self.renewed.elapsed() < ttl / 4
    }
}

/// What [`Ownership::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owned {
    /// Held before and still held.
    Still,
    /// Just taken: `clean` if the previous owner released it with nothing unsettled.
    Taken {
        clean: bool,
    },
    No,
}

/// Value of an ownership key given up by an owner that left nothing in flight.
const RELEASED: &[u8] = b"released";

impl Ownership {
    /// [`OwnState::fresh`]: what almost every message finds, told without a round trip (or
    /// an await) so the lane's per-message future stays small.
    fn fresh(&self) -> bool {
        self.state
            .try_lock()
            .is_ok_and(|state| state.fresh(self.ttl))
    }

    /// Renews ownership when a quarter of the TTL has passed, or tries to take it.
    async fn check(&self) -> Result<Owned, TransportError> {
        let mut state = self.state.lock().await;
        if state.fresh(self.ttl) {
            return Ok(Owned::Still);
        }
        if let Some(revision) = state.revision {
            let at = tokio::time::Instant::now();
            match self.kv.update(&self.key, self.me.clone(), revision).await {
                Ok(revision) => {
                    state.revision = Some(revision);
                    state.renewed = at;
                    return Ok(Owned::Still);
                }
                Err(error) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    // Expired (and maybe taken): whatever we hold goes to the next owner.
                    state.revision = None;
                }
                Err(error) => {
                    // The key outlives a failed renewal by at least half its TTL.
                    if state.renewed.elapsed() < self.ttl / 2 {
                        return Ok(Owned::Still);
                    }
                    state.revision = None;
                    return Err(TransportError::Setup(error.to_string()));
                }
            }
        }
        let at = tokio::time::Instant::now();
        let taken = match self.kv.create(&self.key, self.me.clone()).await {
            Ok(revision) => Some((revision, false)),
            Err(error) if error.kind() == kv::CreateErrorKind::AlreadyExists => {
                let entry = self
                    .kv
                    .entry(&self.key)
                    .await
                    .map_err(|e| TransportError::Setup(e.to_string()))?;
                match entry {
                    // Given up cleanly, or our own key from before a lost renewal.
                    Some(entry)
                        if entry.operation == kv::Operation::Put
                            && (entry.value == RELEASED || entry.value == self.me) =>
                    {
                        let clean = entry.value == RELEASED;
                        self.kv
                            .update(&self.key, self.me.clone(), entry.revision)
                            .await
                            .ok()
                            .map(|revision| (revision, clean))
                    }
                    _ => None,
                }
            }
            Err(error) => return Err(TransportError::Setup(error.to_string())),
        };
        Ok(match taken {
            Some((revision, clean)) => {
                state.revision = Some(revision);
                state.renewed = at;
                Owned::Taken { clean }
            }
            None => Owned::No,
        })
    }

    async fn owned(&self) -> bool {
        self.state.lock().await.revision.is_some()
    }

    /// Gives the partition up: marked released when nothing of ours is left unsettled (the
    /// next owner may start at once), else deleted (the next owner waits for `ack_wait`).
    async fn release(&self, clean: bool) {
        let mut state = self.state.lock().await;
        let Some(revision) = state.revision.take() else {
            return;
        };
        let result = if clean {
            self.kv
                .update(&self.key, Bytes::from_static(RELEASED), revision)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else {
            self.kv
                .delete_expect_revision(&self.key, Some(revision))
                .await
                .map_err(|e| e.to_string())
        };
        if let Err(error) = result {
            tracing::debug!(%error, "giving up a partition failed; it expires instead");
        }
    }
}

/// A delivery handed back for a later retry: the owning lane redelivers it after the delay,
/// before anything read after it, so its key's order holds.
struct Redo {
    message: Arc<jetstream::Message>,
    redeliveries: u32,
    delay: Duration,
}

struct NatsLane {
    consumer: jetstream::consumer::Consumer<pull::Config>,
    owner: Arc<Ownership>,
    /// The outstanding pull request (up to `read_ahead` messages), while we own the partition.
    pull: Option<pull::Batch>,
    /// Messages taken off `pull` but not handed out yet (while waiting to redo a delivery).
    buffer: VecDeque<jetstream::Message>,
    redo: Arc<Mutex<Option<Redo>>>,
    /// Do not pull before this: messages an earlier owner (or a lost pull) left unacked
    /// must first come back through `ack_wait`, so they are redelivered before newer ones.
    hold_until: Option<tokio::time::Instant>,
    /// Check the consumer for unsettled messages before pulling again.
    settle: bool,
    /// ... and wait `ack_wait` for them to time out (an owner died or a pull was lost).
    settle_wait: bool,
    /// Unsettled messages to take back, in stream order, before anything new.
    backlog: Option<Backlog>,
    group: String,
    patterns: Vec<SubjectPattern>,
    config: NatsConfig,
    closed: watch::Receiver<bool>,
}

/// Messages left unacked by an earlier owner or a lost pull, as found on taking over:
/// JetStream redelivers them in the order they timed out, which is not always stream order
/// (a message kept alive times out after those read behind it), so they are gathered and
/// sorted before any is handed out.
#[derive(Debug, Clone, Copy)]
struct Backlog {
    /// The consumer's last delivered stream sequence: anything above is new.
    last: u64,
    count: usize,
}

fn stream_sequence(message: &jetstream::Message) -> u64 {
    message
        .info()
        .map(|i| i.stream_sequence)
        .unwrap_or(u64::MAX)
}

/// Sends `kind` for a message held by this instance; a lost one means a redelivery.
async fn settle(message: &jetstream::Message, kind: AckKind) {
    if let Err(error) = message.ack_with(kind).await {
        tracing::warn!(%error, "settling a message failed; it is redelivered after ack_wait");
    }
}

impl NatsLane {
    /// How long one pull request waits, and how often an idle owner renews.
    fn tick(&self) -> Duration {
        (self.config.ack_wait / 4).clamp(Duration::from_millis(10), Duration::from_secs(5))
    }

    /// The delivery for a message, or `None` (acked and skipped) if it is not for us.
    async fn admit(
        &self,
        message: Arc<jetstream::Message>,
        redeliveries: Option<u32>,
    ) -> Option<Delivery> {
        let redeliveries = redeliveries.unwrap_or_else(|| {
            message
                .info()
                .map(|i| u32::try_from(i.delivered.saturating_sub(1)).unwrap_or(0))
                .unwrap_or(0)
        });
        // A walk, not `get`: a lookup hashes and copies the name.
        let for_us = message
            .headers
            .iter()
            .flat_map(|map| map.iter())
            .filter(|(name, _)| AsRef::<str>::as_ref(name) == GROUP_HEADER)
            .flat_map(|(_, values)| values)
            .all(|group| group.as_str() == self.group);
        let ty = message.subject.splitn(3, '.').nth(2).unwrap_or_default();
        if !for_us || !self.patterns.iter().any(|p| p.matches(ty)) {
            Box::pin(settle(&message, AckKind::Ack)).await;
            return None;
        }
        Some(Delivery {
            // Shared with the acker, not copied: the bus reads the headers in place.
            payload: Payload::Binary(message.clone()),
            redeliveries,
            acker: Box::new(NatsAcker {
                message,
                redeliveries,
                redo: self.redo.clone(),
                owner: self.owner.clone(),
            }),
        })
    }

    /// A pull request failed: messages of it may be lost in transit, so they must time out
    /// and come back before anything newer is pulled.
    fn lost_pull(&mut self) {
        self.pull = None;
        self.settle = true;
        self.settle_wait = true;
    }

    /// Moves what the pull request already received into the buffer.
    fn drain_ready(&mut self) {
        let Some(pull) = &mut self.pull else { return };
        while let Some(item) = pull.next().now_or_never() {
            match item {
                Some(Ok(message)) => self.buffer.push_back(message),
                Some(Err(error)) => {
                    tracing::warn!(%error, "pull request failed");
                    self.lost_pull();
                    return;
                }
                None => {
                    self.pull = None;
                    return;
                }
            }
        }
    }

    /// Ownership lost: what we hold is redelivered to the next owner after `ack_wait`.
    fn drop_held(&mut self) {
        self.pull = None;
        self.buffer.clear();
        if let Ok(mut redo) = self.redo.lock() {
            *redo = None;
        }
        self.hold_until = None;
    }

    /// Waits `delay` before redoing a delivery, keeping it, the buffered messages and the
    /// partition ours. `false` if the lane closed or lost the partition meanwhile.
    async fn hold(&mut self, redo: &Redo) -> bool {
        let until = tokio::time::Instant::now() + redo.delay;
        let keep = (self.config.ack_wait / 3).max(Duration::from_millis(10));
        loop {
            let now = tokio::time::Instant::now();
            if now >= until {
                return true;
            }
            let step = (until - now).min(keep).min(self.tick());
            if !self.pause(step).await {
                return false;
            }
            if !matches!(self.owner.check().await, Ok(Owned::Still)) {
                return false;
            }
            self.drain_ready();
            settle(&redo.message, AckKind::Progress).await;
            for message in &self.buffer {
                settle(message, AckKind::Progress).await;
            }
        }
    }

    async fn pause(&mut self, delay: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(delay) => true,
            _ = self.closed.wait_for(|closed| *closed) => false,
        }
    }

    /// Closing: hands what we hold back in order (NAK) and gives the partition up.
    async fn release(&mut self) {
        if !self.owner.owned().await {
            return;
        }
        self.drain_ready();
        // Dropping the request unsubscribes: nothing more is delivered to it.
        self.pull = None;
        let redo = self.redo.lock().ok().and_then(|mut r| r.take());
        let held: Vec<Arc<jetstream::Message>> = redo
            .map(|r| r.message)
            .into_iter()
            .chain(self.buffer.drain(..).map(Arc::new))
            .collect();
        for message in &held {
            settle(message, AckKind::Nak(None)).await;
        }
        // Anything else unacked was in flight to the dropped request: the next owner must
        // wait for it to come back.
        let clean = match self.consumer.get_info().await {
            Ok(info) => info.num_ack_pending <= held.len(),
            Err(_) => false,
        };
        self.owner.release(clean).await;
    }

    /// Makes sure a pull request is outstanding.
    async fn ensure_pull(&mut self) -> Result<(), TransportError> {
        if self.pull.is_none() {
            let batch = self
                .consumer
                .batch()
                .max_messages(self.config.read_ahead)
                .expires(self.tick())
                .messages()
                .await
                .map_err(|e| TransportError::Setup(e.to_string()))?;
            self.pull = Some(batch);
        }
        Ok(())
    }

    /// Takes the backlog's messages into the buffer in stream order; stops early at the
    /// first new message or when a pull request ends with nothing more.
    async fn gather(&mut self, backlog: Backlog) -> Result<(), TransportError> {
        let mut old = Vec::new();
        let mut new = None;
        while old.len() < backlog.count && new.is_none() {
            self.ensure_pull().await?;
            let Some(pull) = &mut self.pull else { break };
            match pull.next().await {
                Some(Ok(message)) if stream_sequence(&message) <= backlog.last => old.push(message),
                Some(Ok(message)) => new = Some(message),
                Some(Err(error)) => {
                    self.lost_pull();
                    return Err(TransportError::Setup(error.to_string()));
                }
                None => {
                    self.pull = None;
                    break;
                }
            }
        }
        old.sort_by_key(stream_sequence);
        self.buffer.extend(old);
        self.buffer.extend(new);
        Ok(())
    }

    /// One step towards the next message; `Ok(None)`: nothing yet, call again.
    async fn step(&mut self) -> Result<Option<jetstream::Message>, TransportError> {
        // Everything but the last await is rare (a renewal, a takeover, a new pull request)
        // and boxed: `next` is boxed per message, and its size is that of its largest
        // await; a large box costs glibc's allocator thousands of instructions.
        let setup = |e: &dyn std::fmt::Display| TransportError::Setup(e.to_string());
        let owned = if self.owner.fresh() {
            Owned::Still
        } else {
            Box::pin(self.owner.check()).await?
        };
        match owned {
            Owned::No => {
                self.drop_held();
                let wait = self.tick().min(Duration::from_millis(500));
                Box::pin(self.pause(wait)).await;
                return Ok(None);
            }
            Owned::Taken { clean } => {
                self.drop_held();
                self.settle = true;
                self.settle_wait = !clean;
            }
            Owned::Still => {}
        }
        if self.settle {
            let info = Box::pin(self.consumer.get_info())
                .await
                .map_err(|e| setup(&e))?;
            self.settle = false;
            if info.num_ack_pending > 0 {
                if std::mem::take(&mut self.settle_wait) {
                    self.hold_until = Some(tokio::time::Instant::now() + self.config.ack_wait);
                }
                self.backlog = Some(Backlog {
                    last: info.delivered.stream_sequence,
                    count: info.num_ack_pending,
                });
            }
            self.settle_wait = false;
        }
        if let Some(until) = self.hold_until {
            let now = tokio::time::Instant::now();
            if now < until {
                let wait = (until - now).min(self.tick());
                Box::pin(self.pause(wait)).await;
                return Ok(None);
            }
            self.hold_until = None;
        }
        if let Some(backlog) = self.backlog.take() {
            Box::pin(self.gather(backlog)).await?;
        }
        if let Some(message) = self.buffer.pop_front() {
            return Ok(Some(message));
        }
        if self.pull.is_none() {
            Box::pin(self.ensure_pull()).await?;
        }
        let Some(pull) = &mut self.pull else {
            return Ok(None);
        };
        let item = tokio::select! {
            item = pull.next() => item,
            _ = self.closed.wait_for(|closed| *closed) => return Ok(None),
        };
        match item {
            Some(Ok(message)) => Ok(Some(message)),
            Some(Err(error)) => {
                self.lost_pull();
                Err(setup(&error))
            }
            None => {
                self.pull = None;
                Ok(None)
            }
        }
    }
}

impl Lane for NatsLane {
    fn next(&mut self) -> BoxFuture<'_, Option<Delivery>> {
        Box::pin(async move {
            let mut backoff = Duration::from_millis(50);
            loop {
                if *self.closed.borrow() {
                    Box::pin(self.release()).await;
                    return None;
                }
                let redo = self.redo.lock().ok().and_then(|mut r| r.take());
                if let Some(redo) = redo {
                    if Box::pin(self.hold(&redo)).await {
                        if let Some(delivery) =
                            self.admit(redo.message, Some(redo.redeliveries)).await
                        {
                            return Some(delivery);
                        }
                    } else if !*self.closed.borrow() {
                        // Lost the partition: the next owner gets it after `ack_wait`.
                        self.drop_held();
                    } else if let Ok(mut slot) = self.redo.lock() {
                        *slot = Some(redo);
                    }
                    continue;
                }
                match self.step().await {
                    Ok(Some(message)) => {
                        backoff = Duration::from_millis(50);
                        if let Some(delivery) = self.admit(Arc::new(message), None).await {
                            return Some(delivery);
                        }
                    }
                    Ok(None) => {}
                    Err(error) => {
                        tracing::warn!(%error, "pull consumer failed; retrying");
                        Box::pin(self.pause(backoff)).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        })
    }
}

impl BinaryMessage for jetstream::Message {
    fn binding(&self) -> Binding {
        Binding::Nats
    }

    fn headers(&self) -> Vec<(&str, &[u8])> {
        let Some(map) = &self.headers else {
            return Vec::new();
        };
        let mut pairs = Vec::with_capacity(map.len());
        for (name, values) in map.iter() {
            for value in values {
                pairs.push((name.as_ref(), value.as_str().as_bytes()));
            }
        }
        pairs
    }

    fn body(&self) -> &[u8] {
        &self.payload
    }
}

struct NatsAcker {
    message: Arc<jetstream::Message>,
    redeliveries: u32,
    redo: Arc<Mutex<Option<Redo>>>,
    owner: Arc<Ownership>,
}

impl Acker for NatsAcker {
    fn ack(self: Box<Self>) -> BoxFuture<'static, ()> {
        // A lost ack only means a redelivery, which the idempotency store absorbs.
        Box::pin(async move { settle(&self.message, AckKind::Ack).await })
    }

    fn retry_later(self: Box<Self>, delay: Duration) -> BoxFuture<'static, ()> {
        // Not a NAK: later messages of the key are already read ahead by this lane, so it
        // redelivers this one itself, before them.
        if let Ok(mut redo) = self.redo.lock() {
            *redo = Some(Redo {
                message: self.message,
                redeliveries: self.redeliveries.saturating_add(1),
                delay,
            });
        }
        Box::pin(std::future::ready(()))
    }

    fn keep_alive(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // Once the partition is someone else's, the message must time out for them.
            match self.owner.check().await {
                Ok(Owned::Still | Owned::Taken { .. }) => {
                    settle(&self.message, AckKind::Progress).await;
                }
                Ok(Owned::No) => {}
                Err(error) => tracing::warn!(%error, "renewing the partition failed"),
            }
        })
    }
}
