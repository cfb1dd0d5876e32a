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
//! `XAUTOCLAIM`, then reads new ones (`XREADGROUP ... >`). `XACK` settles a message: acks
//! are collected by the lane and sent with its next read, in one round trip (a lost ack
//! only means a redelivery, which idempotency absorbs). A delivery given back for a later
//! retry stays pending and is redelivered by the same lane after the delay (Redis has no
//! NAK), keeping its place in the key's order. A dead-lettered delivery is also added, with
//! its fields as read plus `dlq_reason`, `dlq_group`, `dlq_attempts`, `dlq_stream` and
//! `dlq_entry`, to the stream `{prefix}:dlq` before its `XACK` (one `MULTI`), so an operator
//! looking only at Redis sees it; the bus's dead-letter store stays the source of truth.
//! [`Acker::keep_alive`] renews the partition and resets the entry's idle time (`XCLAIM`
//! to itself, `JUSTID`).
//!
//! Each lane has its own connection (blocking reads would stall a shared one); the
//! connection manager reconnects with backoff.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::Value;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::watch;

use super::{
    Acker, BinaryMessage, DeadLetterSummary, Delivery, JoinSpec, Lane, Outgoing, Payload,
    Transport, TransportError,
};
use crate::BoxFuture;
use crate::envelope::Binding;
use crate::error::{PublishError, SubscribeError};
use crate::fnv::fnv;
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

    /// The stream dead-lettered entries are copied to: `{prefix}:dlq`.
    pub fn dead_letter_stream(&self) -> String {
        format!("{}:dlq", self.prefix)
    }

    fn ttl_millis(&self) -> u64 {
        u64::try_from(self.claim_idle.as_millis()).unwrap_or(u64::MAX)
    }
}

/// The Redis Streams transport; build a bus over it with [`crate::Bus::with_transport`].
pub struct RedisStreamsTransport {
    client: redis::Client,
    conn: ConnectionManager,
    config: RedisStreamsConfig,
    /// Each partition's stream key, built once (publishing needs one per message).
    streams: Vec<String>,
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
        let streams = (0..config.partitions).map(|p| config.stream(p)).collect();
        Ok(RedisStreamsTransport {
            client,
            conn,
            streams,
            config,
            joined: Mutex::new(Vec::new()),
            closed: watch::channel(false).0,
        })
    }

    pub fn config(&self) -> &RedisStreamsConfig {
        &self.config
    }

    /// Deletes the prefix's streams (the dead-letter stream too) and ownership keys (tests,
    /// teardown).
    pub async fn delete(&self) -> Result<(), TransportError> {
        let mut conn = self.conn.clone();
        let mut keys: Vec<String> = (0..self.config.partitions)
            .map(|p| self.config.stream(p))
            .collect();
        keys.push(self.config.dead_letter_stream());
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
            let envelope = message.envelope;
            let stream = self.streams.get(partition as usize).ok_or_else(|| {
                TransportError::Publish(format!("partition {partition} out of range"))
            })?;
            // Sized up front (argument by argument, the command's buffer grew a dozen
            // times), and the attributes written straight into it, not copied first.
            let group = message.only_group.unwrap_or_default();
            let mut cmd = redis::Cmd::with_capacity(
                40,
                128 + stream.len() + envelope.wire_size() + group.len(),
            );
            cmd.arg("XADD").arg(stream);
            if let Some(max) = self.config.max_len {
                cmd.arg("MAXLEN").arg("~").arg(max);
            }
            cmd.arg("*");
            envelope.each_binary_header(Binding::Kafka, |name, value| {
                cmd.arg(name.as_ref()).arg(value.as_ref());
            });
            if let Some(group) = message.only_group {
                cmd.arg(GROUP_FIELD).arg(group);
            }
            cmd.arg(DATA_FIELD).arg(envelope.data().unwrap_or_default());
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
                let shared = Arc::new(Shared {
                    stream,
                    group: spec.group.to_owned(),
                    consumer: consumer.clone(),
                    owner_key: self.config.owner_key(spec.group, partition),
                    dead_letters: self.config.dead_letter_stream(),
                    ttl_millis: self.config.ttl_millis(),
                    acks: Mutex::new(Vec::new()),
                });
                lanes.push(Box::new(RedisLane {
                    conn: own,
                    shared,
                    patterns: spec.patterns.to_vec(),
                    config: self.config.clone(),
                    closed: self.closed.subscribe(),
                    owned: false,
                    renewed: None,
                    buffer: VecDeque::new(),
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

/// One stream entry as read: its id and its fields in stream order, values as bytes. Taken
/// out of the client's reply by value: the client's `StreamReadReply` clones the whole reply
/// and builds a hash map per entry, which cost more than everything else on the lane.
#[derive(Debug, Clone)]
struct Entry {
    id: String,
    fields: Vec<(String, Vec<u8>)>,
}

impl Entry {
    fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// An entry of a reply (`[id, [field, value, ...]]`); `None` if it is not one.
    fn from_value(value: Value) -> Option<Entry> {
        let Value::Array(parts) = value else {
            return None;
        };
        let mut parts = parts.into_iter();
        let id = String::from_utf8(bytes(parts.next()?)?).ok()?;
        let flat = match parts.next() {
            Some(Value::Array(flat)) => flat,
            Some(Value::Map(map)) => map.into_iter().flat_map(|(k, v)| [k, v]).collect(),
            // An entry deleted while pending has no fields: the bus dead-letters it.
            _ => Vec::new(),
        };
        let mut fields = Vec::with_capacity(flat.len() / 2);
        let mut flat = flat.into_iter();
        while let (Some(name), Some(value)) = (flat.next(), flat.next()) {
            match (bytes(name).map(String::from_utf8), bytes(value)) {
                (Some(Ok(name)), Some(value)) => fields.push((name, value)),
                _ => tracing::debug!(entry = %id, "non-string stream field ignored"),
            }
        }
        Some(Entry { id, fields })
    }

    /// The entry's id, taken over when nothing else holds the entry (the usual case by the
    /// time it is acked), else copied.
    fn into_id(entry: Arc<Entry>) -> String {
        Arc::try_unwrap(entry)
            .map(|entry| entry.id)
            .unwrap_or_else(|shared| shared.id.clone())
    }
}

impl BinaryMessage for Entry {
    fn binding(&self) -> Binding {
        Binding::Kafka
    }

    /// The fields but the data and the transport's own group field.
    fn headers(&self) -> Vec<(&str, &[u8])> {
        self.fields
            .iter()
            .filter(|(name, _)| name != DATA_FIELD && name != GROUP_FIELD)
            .map(|(name, value)| (name.as_str(), value.as_slice()))
            .collect()
    }

    fn body(&self) -> &[u8] {
        self.field(DATA_FIELD).unwrap_or_default()
    }
}

/// The bytes of a string reply.
fn bytes(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.into_bytes()),
        Value::VerbatimString { text, .. } => Some(text.into_bytes()),
        _ => None,
    }
}

/// Appends the entries of an `XREADGROUP` reply (one stream here): RESP2 gives
/// `[[stream, [entry, ...]], ...]`, RESP3 a map of stream to entries; nil after a timeout.
fn read_entries(reply: Value, out: &mut VecDeque<Entry>) {
    let per_stream: Vec<Value> = match reply {
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|stream| match stream {
                Value::Array(mut pair) if pair.len() == 2 => pair.pop(),
                _ => None,
            })
            .collect(),
        Value::Map(map) => map.into_iter().map(|(_, entries)| entries).collect(),
        _ => Vec::new(),
    };
    for entries in per_stream {
        push_entries(entries, out);
    }
}

/// Appends the entries an `XAUTOCLAIM` reply claimed: `[cursor, [entry, ...], ...]` (Redis 7
/// adds the ids of entries deleted while pending, which it drops from the pending list).
fn claimed_entries(reply: Value, out: &mut VecDeque<Entry>) {
    if let Value::Array(parts) = reply
        && let Some(entries) = parts.into_iter().nth(1)
    {
        push_entries(entries, out);
    }
}

/// Appends a list of entries (`[entry, ...]`) as read by value.
fn push_entries(entries: Value, out: &mut VecDeque<Entry>) {
    let Value::Array(entries) = entries else {
        return;
    };
    for entry in entries {
        match Entry::from_value(entry) {
            Some(entry) => out.push_back(entry),
            None => tracing::warn!("unreadable stream entry skipped"),
        }
    }
}

/// A delivery handed back for a later retry: the same lane redelivers it.
struct Redo {
    entry: Arc<Entry>,
    redeliveries: u32,
    delay: Duration,
}

/// What a lane shares with the ackers of its deliveries.
struct Shared {
    stream: String,
    group: String,
    consumer: String,
    owner_key: String,
    dead_letters: String,
    ttl_millis: u64,
    /// Entries handled and not yet `XACK`ed: sent with the lane's next read.
    acks: Mutex<Vec<String>>,
}

impl Shared {
    fn take_acks(&self) -> Vec<String> {
        self.acks
            .lock()
            .map(|mut acks| std::mem::take(&mut *acks))
            .unwrap_or_default()
    }
}

struct RedisLane {
    conn: ConnectionManager,
    shared: Arc<Shared>,
    patterns: Vec<SubjectPattern>,
    config: RedisStreamsConfig,
    closed: watch::Receiver<bool>,
    owned: bool,
    /// When ownership was last confirmed: renewed once a quarter of its TTL has passed.
    renewed: Option<tokio::time::Instant>,
    /// Entries read ahead. Safe for order because only the owner reads this partition;
    /// dropped when ownership is lost (the next owner claims them).
    buffer: VecDeque<Entry>,
    /// Look for pending entries (a dead owner's, or ours whose ack failed) before new ones.
    scan_pending: bool,
    /// Set by an acker whose `XACK` failed: the entry is still ours and pending.
    rescan: Arc<AtomicBool>,
    redo: Arc<Mutex<Option<Redo>>>,
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
        let owned: i64 = redis::Script::new(OWN)
            .key(&self.shared.owner_key)
            .arg(&self.shared.consumer)
            .arg(self.shared.ttl_millis)
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
        self.send_acks().await;
        let result: redis::RedisResult<i64> = redis::Script::new(DISOWN)
            .key(&self.shared.owner_key)
            .arg(&self.shared.consumer)
            .invoke_async(&mut self.conn)
            .await;
        if let Err(error) = result {
            tracing::debug!(%error, "giving up a partition failed; it expires instead");
        }
    }

    /// Sends the collected acks now (before a pause, or when closing).
    async fn send_acks(&mut self) {
        let acks = self.shared.take_acks();
        if acks.is_empty() {
            return;
        }
        let result: redis::RedisResult<i64> = self.xack(&acks).query_async(&mut self.conn).await;
        if let Err(error) = result {
            tracing::warn!(%error, "XACK failed; the entries will be redelivered");
            self.rescan.store(true, Ordering::Release);
        }
    }

    fn xack(&self, ids: &[String]) -> redis::Cmd {
        let mut cmd = redis::cmd("XACK");
        cmd.arg(&self.shared.stream)
            .arg(&self.shared.group)
            .arg(ids);
        cmd
    }

    /// `command` with the collected acks in front, in one round trip. Failed acks leave
    /// their entries pending: claimed again and deduplicated.
    async fn with_acks<T: redis::FromRedisValue>(
        &mut self,
        command: &redis::Cmd,
    ) -> redis::RedisResult<T> {
        let acks = self.shared.take_acks();
        if acks.is_empty() {
            return command.query_async(&mut self.conn).await;
        }
        let result: redis::RedisResult<(i64, T)> = redis::pipe()
            .add_command(self.xack(&acks))
            .add_command(command.clone())
            .query_async(&mut self.conn)
            .await;
        match result {
            Ok((_, reply)) => Ok(reply),
            Err(error) => {
                self.rescan.store(true, Ordering::Release);
                Err(error)
            }
        }
    }

    /// One entry: a pending one taken over first, else a new one (blocking briefly).
    async fn read(&mut self) -> redis::RedisResult<Option<(Entry, u32)>> {
        if let Some(entry) = self.buffer.pop_front() {
            return Ok(Some((entry, 0)));
        }
        if self.rescan.swap(false, Ordering::AcqRel) {
            self.scan_pending = true;
        }
        if self.scan_pending {
            let mut claim = redis::cmd("XAUTOCLAIM");
            claim
                .arg(&self.shared.stream)
                .arg(&self.shared.group)
                .arg(&self.shared.consumer)
                .arg(0)
                .arg("0-0")
                .arg("COUNT")
                .arg(1);
            let reply: Value = self.with_acks(&claim).await?;
            let mut claimed = VecDeque::new();
            claimed_entries(reply, &mut claimed);
            match claimed.pop_front() {
                Some(entry) => return Ok(Some((entry, 1))),
                None => self.scan_pending = false,
            }
        }
        let block = u64::try_from(self.config.block.as_millis()).unwrap_or(500);
        let mut read = redis::cmd("XREADGROUP");
        read.arg("GROUP")
            .arg(&self.shared.group)
            .arg(&self.shared.consumer)
            .arg("COUNT")
            .arg(READ_AHEAD)
            .arg("BLOCK")
            .arg(block)
            .arg("STREAMS")
            .arg(&self.shared.stream)
            .arg(">");
        let reply: Value = self.with_acks(&read).await?;
        read_entries(reply, &mut self.buffer);
        Ok(self.buffer.pop_front().map(|entry| (entry, 0)))
    }

    /// The delivery for an entry, or `None` (acked and skipped) if it is not for us.
    async fn admit(&mut self, entry: Arc<Entry>, redeliveries: u32) -> Option<Delivery> {
        let for_us = entry
            .field(GROUP_FIELD)
            .is_none_or(|g| g == self.shared.group.as_bytes());
        let ty = entry.field("ce_type").unwrap_or_default();
        let matches = std::str::from_utf8(ty)
            .map(|ty| self.patterns.iter().any(|p| p.matches(ty)))
            // Not a CloudEvent: the bus dead-letters it with its bytes.
            .unwrap_or(true)
            || ty.is_empty();
        if !for_us || !matches {
            if let Ok(mut acks) = self.shared.acks.lock() {
                acks.push(Entry::into_id(entry));
            }
            return None;
        }
        Some(Delivery {
            // Shared with the acker, not copied: the bus reads the fields in place.
            payload: Payload::Binary(entry.clone()),
            redeliveries,
            acker: Box::new(RedisAcker {
                conn: self.conn.clone(),
                shared: self.shared.clone(),
                entry,
                redeliveries,
                redo: self.redo.clone(),
                rescan: self.rescan.clone(),
            }),
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
                    self.send_acks().await;
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
                        if let Some(delivery) = self.admit(Arc::new(entry), redeliveries).await {
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
                        tracing::warn!(%error, stream = %self.shared.stream, "redis read failed; retrying");
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
    shared: Arc<Shared>,
    entry: Arc<Entry>,
    redeliveries: u32,
    redo: Arc<Mutex<Option<Redo>>>,
    rescan: Arc<AtomicBool>,
}

impl Acker for RedisAcker {
    fn ack(self: Box<Self>) -> BoxFuture<'static, ()> {
        if let Ok(mut acks) = self.shared.acks.lock() {
            acks.push(Entry::into_id(self.entry));
        }
        Box::pin(std::future::ready(()))
    }

    fn retry_later(self: Box<Self>, delay: Duration) -> BoxFuture<'static, ()> {
        if let Ok(mut redo) = self.redo.lock() {
            *redo = Some(Redo {
                entry: self.entry,
                redeliveries: self.redeliveries.saturating_add(1),
                delay,
            });
        }
        Box::pin(std::future::ready(()))
    }

    fn dead_lettered(self: Box<Self>, info: &DeadLetterSummary) -> BoxFuture<'static, ()> {
        let shared = &self.shared;
        let mut add = redis::cmd("XADD");
        add.arg(&shared.dead_letters).arg("*");
        for (name, value) in &self.entry.fields {
            add.arg(name).arg(value);
        }
        add.arg("dlq_reason")
            .arg(&info.reason)
            .arg("dlq_group")
            .arg(&info.group)
            .arg("dlq_attempts")
            .arg(info.attempts)
            .arg("dlq_stream")
            .arg(&shared.stream)
            .arg("dlq_entry")
            .arg(&self.entry.id);
        let mut ack = redis::cmd("XACK");
        ack.arg(&shared.stream)
            .arg(&shared.group)
            .arg(&self.entry.id);
        let mut pipe = redis::pipe();
        pipe.atomic().add_command(add).add_command(ack);
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let result: redis::RedisResult<(String, i64)> = pipe.query_async(&mut conn).await;
            if let Err(error) = result {
                // Still pending: redelivered, dead-lettered again, then added and acked.
                tracing::warn!(%error, "adding to the dead-letter stream failed");
                self.rescan.store(true, Ordering::Release);
            }
        })
    }

    fn keep_alive(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let shared = &self.shared;
            let owned: redis::RedisResult<i64> = redis::Script::new(OWN)
                .key(&shared.owner_key)
                .arg(&shared.consumer)
                .arg(shared.ttl_millis)
                .invoke_async(&mut self.conn)
                .await;
            match owned {
                // Lost the partition: the new owner claims the entry, as it should.
                Ok(0) => {}
                Ok(_) => {
                    let reset: redis::RedisResult<redis::Value> = redis::cmd("XCLAIM")
                        .arg(&shared.stream)
                        .arg(&shared.group)
                        .arg(&shared.consumer)
                        .arg(0)
                        .arg(&self.entry.id)
                        .arg("JUSTID")
                        .query_async(&mut self.conn)
                        .await;
                    if let Err(error) = reset {
                        tracing::warn!(%error, "resetting the entry's idle time failed");
                    }
                }
                Err(error) => tracing::warn!(%error, "renewing the partition failed"),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    fn entry(id: &str, fields: &[&str]) -> Value {
        Value::Array(vec![
            bulk(id),
            Value::Array(fields.iter().map(|f| bulk(f)).collect()),
        ])
    }

    #[test]
    fn resp2_replies_are_read_in_order_by_value() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("p0"),
            Value::Array(vec![
                entry("1-0", &["ce_type", "t", "data", "{}"]),
                // Not an entry: skipped, the rest still read.
                Value::Int(7),
                Value::Array(vec![
                    bulk("2-0"),
                    Value::Array(vec![bulk("ce_id"), Value::Int(1), bulk("data"), bulk("x")]),
                ]),
            ]),
        ])]);
        let mut out = VecDeque::new();
        read_entries(reply, &mut out);
        let entries: Vec<Entry> = out.into_iter().collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].id, "1-0");
        assert_eq!(entries[0].field("ce_type"), Some(&b"t"[..]));
        assert_eq!(entries[0].field("data"), Some(&b"{}"[..]));
        // A non-string value is dropped, its neighbours kept.
        assert_eq!(entries[1].fields, vec![("data".to_owned(), b"x".to_vec())]);
    }

    #[test]
    fn claimed_entries_are_read_like_new_ones() {
        let reply = Value::Array(vec![
            bulk("0-0"),
            Value::Array(vec![
                entry("7-0", &["ce_type", "t", "data", "{}"]),
                // Deleted while pending (Redis 6.2): no fields; the bus dead-letters it.
                Value::Array(vec![bulk("8-0"), Value::Nil]),
            ]),
            Value::Array(vec![bulk("9-0")]),
        ]);
        let mut out = VecDeque::new();
        claimed_entries(reply, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].id, "7-0");
        // Fields in stream order, as a new entry's.
        assert_eq!(
            out[0].fields,
            vec![
                ("ce_type".to_owned(), b"t".to_vec()),
                ("data".to_owned(), b"{}".to_vec())
            ]
        );
        assert!(out[1].fields.is_empty());
        claimed_entries(Value::Nil, &mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn entries_read_in_place_as_binary_messages() {
        let mut out = VecDeque::new();
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("p0"),
            Value::Array(vec![entry(
                "5-0",
                &["ce_id", "1", "es_group", "g", "data", "{}", "ce_type", "t"],
            )]),
        ])]);
        read_entries(reply, &mut out);
        let entry = out.pop_front().unwrap();
        assert_eq!(entry.binding(), Binding::Kafka);
        // The data and the transport's group field are not headers.
        assert_eq!(
            entry.headers(),
            vec![("ce_id", &b"1"[..]), ("ce_type", &b"t"[..])]
        );
        assert_eq!(entry.body(), b"{}");
        // The id is taken over once the entry is not shared any more.
        let shared = Arc::new(entry);
        let payload = shared.clone();
        assert_eq!(Entry::into_id(shared), "5-0");
        assert_eq!(Entry::into_id(payload), "5-0");
    }

    #[test]
    fn resp3_maps_nil_and_deleted_entries() {
        let reply = Value::Map(vec![(
            bulk("p0"),
            Value::Array(vec![
                entry("3-0", &["a", "b"]),
                Value::Array(vec![bulk("4-0"), Value::Nil]),
            ]),
        )]);
        let mut out = VecDeque::new();
        read_entries(reply, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].field("a"), Some(&b"b"[..]));
        assert!(out[1].fields.is_empty(), "deleted while pending: no fields");
        read_entries(Value::Nil, &mut out);
        assert_eq!(out.len(), 2);
    }
}
