//! Redis Streams transport (feature `redis-streams`).
//!
//! Layout: `partitions` streams `{prefix}:p{n}`; an event goes to the stream of its
//! ordering key's hash, as a binary-mode CloudEvent (`ce_` fields, [`Binding::Kafka`]'s
//! convention, the payload in field `data`). Each consumer group is a Redis consumer group
//! on every partition stream. Within a group, an instance reads a partition only while it
//! owns it: an ownership key `{prefix}:owner:{group}:{n}` set with `NX` and a TTL of
//! `claim_idle`, renewed after every message and every empty read. So one key's messages
//! are handled one at a time, in order, across instances. When an owner dies its key
//! expires; the next owner first takes the dead consumer's pending entries over with
//! `XAUTOCLAIM`, then reads new ones (`XREADGROUP ... >`). `XACK` settles a message; a
//! delivery given back for a later retry stays pending and is redelivered by the same lane
//! after the delay (Redis has no NAK), keeping its place in the key's order.
//!
//! Each lane has its own connection (blocking reads would stall a shared one); the
//! connection manager reconnects with backoff.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use tokio::sync::watch;

use super::memory::fnv;
use super::{Acker, Delivery, JoinSpec, Lane, Outgoing, Payload, Transport, TransportError};
use crate::BoxFuture;
use crate::envelope::Binding;
use crate::error::{PublishError, SubscribeError};
use crate::subject::SubjectPattern;

/// Field naming the only group a replayed message is for (other groups skip it).
const GROUP_FIELD: &str = "es_group";
const DATA_FIELD: &str = "data";
/// Entries one read takes ahead for the owning lane.
const READ_AHEAD: usize = 64;

/// Takes or renews ownership of a partition: `1` if `ARGV[1]` owns `KEYS[1]` afterwards.
const OWN: &str = r"
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0";

/// Gives ownership up if `ARGV[1]` holds it.
const DISOWN: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

/// How the Redis Streams transport lays out its streams and groups.
#[derive(Debug, Clone)]
pub struct RedisStreamsConfig {
    /// `redis://host:port/db`.
    pub url: String,
    /// Key prefix of the streams and ownership keys.
    pub prefix: String,
    /// Ordering partitions (streams): every publisher and consumer of a prefix must agree.
    pub partitions: u32,
    /// A partition whose owner has not renewed for this long passes to another instance,
    /// which then claims the pending entries.
    pub claim_idle: Duration,
    /// Redeliveries after the in-process retries are exhausted (then the DLQ).
    pub redeliveries: u32,
    /// How long one blocking read waits for new entries.
    pub block: Duration,
    /// Approximate cap on each stream's length (`XADD MAXLEN ~`); `None`: untrimmed.
    pub max_len: Option<usize>,
}

impl RedisStreamsConfig {
    pub fn new(url: impl Into<String>, prefix: impl Into<String>) -> Self {
        RedisStreamsConfig {
            url: url.into(),
            prefix: prefix.into(),
            partitions: 8,
            claim_idle: Duration::from_secs(30),
            redeliveries: 2,
            block: Duration::from_millis(500),
            max_len: None,
        }
    }

    fn stream(&self, partition: u32) -> String {
        format!("{}:p{partition}", self.prefix)
    }

    fn owner_key(&self, group: &str, partition: u32) -> String {
        format!("{}:owner:{group}:{partition}", self.prefix)
    }
}

/// The Redis Streams transport; build a bus over it with [`crate::Bus::with_transport`].
pub struct RedisStreamsTransport {
    client: redis::Client,
    conn: ConnectionManager,
    config: RedisStreamsConfig,
    joined: Mutex<Vec<(String, u32)>>,
    closed: watch::Sender<bool>,
}

impl std::fmt::Debug for RedisStreamsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStreamsTransport")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn setup(e: &dyn std::fmt::Display) -> TransportError {
    TransportError::Setup(e.to_string())
}

async fn connect(
    client: &redis::Client,
    response_timeout: Duration,
) -> Result<ConnectionManager, TransportError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(response_timeout));
    ConnectionManager::new_with_config(client.clone(), config)
        .await
        .map_err(|e| TransportError::Connect(e.to_string()))
}

impl RedisStreamsTransport {
    pub async fn connect(config: RedisStreamsConfig) -> Result<Self, TransportError> {
        if config.partitions == 0 || config.prefix.is_empty() {
            return Err(TransportError::Config(
                "partitions must be at least 1 and the prefix not empty".into(),
            ));
        }
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| TransportError::Config(e.to_string()))?;
        let conn = connect(&client, Duration::from_secs(5)).await?;
        Ok(RedisStreamsTransport {
            client,
            conn,
            config,
            joined: Mutex::new(Vec::new()),
            closed: watch::channel(false).0,
        })
    }

    pub fn config(&self) -> &RedisStreamsConfig {
        &self.config
    }

    /// Deletes the prefix's streams and ownership keys (tests, teardown).
    pub async fn delete(&self) -> Result<(), TransportError> {
        let mut conn = self.conn.clone();
        let mut keys: Vec<String> = (0..self.config.partitions)
            .map(|p| self.config.stream(p))
            .collect();
        let owners: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:owner:*", self.config.prefix))
            .query_async(&mut conn)
            .await
            .map_err(|e| setup(&e))?;
        keys.extend(owners);
        redis::cmd("DEL")
            .arg(keys)
            .query_async::<i64>(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| setup(&e))
    }

    async fn pending(&self) -> Result<bool, TransportError> {
        let joined: Vec<(String, u32)> = self.joined.lock().map(|j| j.clone()).unwrap_or_default();
        let mut conn = self.conn.clone();
        for (group, partition) in joined {
            let stream = self.config.stream(partition);
            let info: redis::streams::StreamInfoStreamReply = redis::cmd("XINFO")
                .arg("STREAM")
                .arg(&stream)
                .query_async(&mut conn)
                .await
                .map_err(|e| setup(&e))?;
            let groups: redis::streams::StreamInfoGroupsReply = redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(&stream)
                .query_async(&mut conn)
                .await
                .map_err(|e| setup(&e))?;
            let Some(state) = groups.groups.iter().find(|g| g.name == group) else {
                continue;
            };
            if state.pending > 0 || state.last_delivered_id != info.last_generated_id {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl Transport for RedisStreamsTransport {
    fn name(&self) -> &'static str {
        "redis-streams"
    }

    fn publish<'a>(&'a self, message: Outgoing<'a>) -> BoxFuture<'a, Result<usize, PublishError>> {
        Box::pin(async move {
            let partition =
                (fnv(message.key.as_bytes()) % u64::from(self.config.partitions)) as u32;
            let (headers, body) = message.envelope.to_binary(Binding::Kafka);
            let mut cmd = redis::cmd("XADD");
            cmd.arg(self.config.stream(partition));
            if let Some(max) = self.config.max_len {
                cmd.arg("MAXLEN").arg("~").arg(max);
            }
            cmd.arg("*");
            for (name, value) in headers {
                cmd.arg(name).arg(value);
            }
            if let Some(group) = message.only_group {
                cmd.arg(GROUP_FIELD).arg(group);
            }
            cmd.arg(DATA_FIELD).arg(body);
            let mut conn = self.conn.clone();
            cmd.query_async::<String>(&mut conn)
                .await
                .map_err(|e| TransportError::Publish(e.to_string()))?;
            Ok(1)
        })
    }

    fn join<'a>(
        &'a self,
        spec: JoinSpec<'a>,
    ) -> BoxFuture<'a, Result<Vec<Box<dyn Lane>>, SubscribeError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let consumer = uuid::Uuid::new_v4().simple().to_string();
            let mut lanes: Vec<Box<dyn Lane>> = Vec::new();
            for partition in 0..self.config.partitions {
                let stream = self.config.stream(partition);
                let created: redis::RedisResult<()> = redis::cmd("XGROUP")
                    .arg("CREATE")
                    .arg(&stream)
                    .arg(spec.group)
                    .arg("0")
                    .arg("MKSTREAM")
                    .query_async(&mut conn)
                    .await;
                if let Err(error) = created
                    && error.code() != Some("BUSYGROUP")
                {
                    return Err(SubscribeError::Transport(setup(&error)));
                }
                if let Ok(mut joined) = self.joined.lock() {
                    let entry = (spec.group.to_owned(), partition);
                    if !joined.contains(&entry) {
                        joined.push(entry);
                    }
                }
                // Blocking reads need a connection of their own.
                let own = connect(&self.client, self.config.block + Duration::from_secs(5))
                    .await
                    .map_err(SubscribeError::Transport)?;
                lanes.push(Box::new(RedisLane {
                    conn: own,
                    stream,
                    owner_key: self.config.owner_key(spec.group, partition),
                    group: spec.group.to_owned(),
                    consumer: consumer.clone(),
                    patterns: spec.patterns.to_vec(),
                    config: self.config.clone(),
                    closed: self.closed.subscribe(),
                    owned: false,
                    renewed: None,
                    buffer: std::collections::VecDeque::new(),
                    scan_pending: true,
                    rescan: Arc::new(AtomicBool::new(false)),
                    redo: Arc::new(Mutex::new(None)),
                }));
            }
            Ok(lanes)
        })
    }

    fn redeliveries(&self) -> u32 {
        self.config.redeliveries
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        Box::pin(super::poll_until_idle("reading stream state", || {
            self.pending()
        }))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        self.closed.send_replace(true);
        Box::pin(std::future::ready(()))
    }
}

/// A delivery handed back for a later retry: the same lane redelivers it.
struct Redo {
    entry: StreamId,
    redeliveries: u32,
    delay: Duration,
}

struct RedisLane {
    conn: ConnectionManager,
    stream: String,
    owner_key: String,
    group: String,
    consumer: String,
    patterns: Vec<SubjectPattern>,
    config: RedisStreamsConfig,
    closed: watch::Receiver<bool>,
    owned: bool,
    /// When ownership was last confirmed: renewed once a quarter of its TTL has passed.
    renewed: Option<tokio::time::Instant>,
    /// Entries read ahead. Safe for order because only the owner reads this partition;
    /// dropped when ownership is lost (the next owner claims them).
    buffer: std::collections::VecDeque<StreamId>,
    /// Look for pending entries (a dead owner's, or ours whose ack failed) before new ones.
    scan_pending: bool,
    /// Set by an acker whose `XACK` failed: the entry is still ours and pending.
    rescan: Arc<AtomicBool>,
    redo: Arc<Mutex<Option<Redo>>>,
}

fn text(map: &HashMap<String, redis::Value>, field: &str) -> Option<Vec<u8>> {
    match map.get(field)? {
        redis::Value::BulkString(bytes) => Some(bytes.clone()),
        redis::Value::SimpleString(s) => Some(s.clone().into_bytes()),
        _ => None,
    }
}

impl RedisLane {
    async fn own(&mut self) -> redis::RedisResult<bool> {
        if self.owned
            && self
                .renewed
                .is_some_and(|at| at.elapsed() < self.config.claim_idle / 4)
        {
            return Ok(true);
        }
        let ttl = u64::try_from(self.config.claim_idle.as_millis()).unwrap_or(u64::MAX);
        let owned: i64 = redis::Script::new(OWN)
            .key(&self.owner_key)
            .arg(&self.consumer)
            .arg(ttl)
            .invoke_async(&mut self.conn)
            .await?;
        if owned == 1 && !self.owned {
            self.scan_pending = true;
        }
        self.owned = owned == 1;
        if self.owned {
            self.renewed = Some(tokio::time::Instant::now());
        } else {
            self.renewed = None;
            self.buffer.clear();
        }
        Ok(self.owned)
    }

    async fn disown(&mut self) {
        let result: redis::RedisResult<i64> = redis::Script::new(DISOWN)
            .key(&self.owner_key)
            .arg(&self.consumer)
            .invoke_async(&mut self.conn)
            .await;
        if let Err(error) = result {
            tracing::debug!(%error, "giving up a partition failed; it expires instead");
        }
    }

    /// One entry: a pending one taken over first, else a new one (blocking briefly).
    async fn read(&mut self) -> redis::RedisResult<Option<(StreamId, u32)>> {
        if let Some(entry) = self.buffer.pop_front() {
            return Ok(Some((entry, 0)));
        }
        if self.rescan.swap(false, Ordering::AcqRel) {
            self.scan_pending = true;
        }
        if self.scan_pending {
            let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
                .arg(&self.stream)
                .arg(&self.group)
                .arg(&self.consumer)
                .arg(0)
                .arg("0-0")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut self.conn)
                .await?;
            match reply.claimed.into_iter().next() {
                Some(entry) => return Ok(Some((entry, 1))),
                None => self.scan_pending = false,
            }
        }
        let block = u64::try_from(self.config.block.as_millis()).unwrap_or(500);
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(&self.group)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(READ_AHEAD)
            .arg("BLOCK")
            .arg(block)
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(">")
            .query_async(&mut self.conn)
            .await?;
        self.buffer
            .extend(reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids));
        Ok(self.buffer.pop_front().map(|entry| (entry, 0)))
    }

    /// The delivery for an entry, or `None` (acked and skipped) if it is not for us.
    async fn admit(&mut self, entry: StreamId, redeliveries: u32) -> Option<Delivery> {
        let for_us = text(&entry.map, GROUP_FIELD).is_none_or(|g| g == self.group.as_bytes());
        let ty = text(&entry.map, "ce_type").unwrap_or_default();
        let matches = std::str::from_utf8(&ty)
            .map(|ty| self.patterns.iter().any(|p| p.matches(ty)))
            // Not a CloudEvent: the bus dead-letters it with its bytes.
            .unwrap_or(true)
            || ty.is_empty();
        let acker = RedisAcker {
            conn: self.conn.clone(),
            stream: self.stream.clone(),
            group: self.group.clone(),
            entry: entry.clone(),
            redeliveries,
            redo: self.redo.clone(),
            rescan: self.rescan.clone(),
        };
        if !for_us || !matches {
            Box::new(acker).ack().await;
            return None;
        }
        let mut headers = Vec::new();
        for (name, value) in &entry.map {
            if name == DATA_FIELD || name == GROUP_FIELD {
                continue;
            }
            if let Some(bytes) = text(&entry.map, name) {
                headers.push((name.clone(), String::from_utf8_lossy(&bytes).into_owned()));
            } else {
                tracing::debug!(field = %name, ?value, "non-string stream field ignored");
            }
        }
        Some(Delivery {
            payload: Payload::Binary {
                binding: Binding::Kafka,
                headers,
                body: text(&entry.map, DATA_FIELD).unwrap_or_default(),
            },
            redeliveries,
            acker: Box::new(acker),
        })
    }

    async fn pause(&mut self, delay: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(delay) => true,
            _ = self.closed.wait_for(|closed| *closed) => false,
        }
    }
}

impl Lane for RedisLane {
    fn next(&mut self) -> BoxFuture<'_, Option<Delivery>> {
        Box::pin(async move {
            let mut backoff = Duration::from_millis(50);
            loop {
                if *self.closed.borrow() {
                    self.disown().await;
                    return None;
                }
                let redo = self.redo.lock().ok().and_then(|mut r| r.take());
                if let Some(redo) = redo {
                    if !self.pause(redo.delay).await {
                        continue;
                    }
                    if let Some(delivery) = self.admit(redo.entry, redo.redeliveries).await {
                        return Some(delivery);
                    }
                    continue;
                }
                let step = async {
                    if !self.own().await? {
                        return Ok(None);
                    }
                    self.read().await
                };
                match step.await {
                    Ok(Some((entry, redeliveries))) => {
                        backoff = Duration::from_millis(50);
                        if let Some(delivery) = self.admit(entry, redeliveries).await {
                            return Some(delivery);
                        }
                    }
                    Ok(None) if self.owned => {}
                    Ok(None) => {
                        // Another instance owns the partition: check back well within its TTL.
                        let wait = (self.config.claim_idle / 4).min(Duration::from_millis(500));
                        self.pause(wait).await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, stream = %self.stream, "redis read failed; retrying");
                        self.owned = false;
                        self.renewed = None;
                        self.buffer.clear();
                        self.pause(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        })
    }
}

struct RedisAcker {
    conn: ConnectionManager,
    stream: String,
    group: String,
    entry: StreamId,
    redeliveries: u32,
    redo: Arc<Mutex<Option<Redo>>>,
    rescan: Arc<AtomicBool>,
}

impl Acker for RedisAcker {
    fn ack(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let result: redis::RedisResult<i64> = redis::cmd("XACK")
                .arg(&self.stream)
                .arg(&self.group)
                .arg(&self.entry.id)
                .query_async(&mut conn)
                .await;
            if let Err(error) = result {
                // Still pending: the next owner (or this lane) claims it; idempotency
                // absorbs the redelivery.
                tracing::warn!(%error, "XACK failed; the entry will be redelivered");
                self.rescan.store(true, Ordering::Release);
            }
        })
    }

    fn retry_later(self: Box<Self>, delay: Duration) -> BoxFuture<'static, ()> {
        if let Ok(mut redo) = self.redo.lock() {
            *redo = Some(Redo {
                entry: self.entry.clone(),
                redeliveries: self.redeliveries.saturating_add(1),
                delay,
            });
        }
        Box::pin(std::future::ready(()))
    }
}
