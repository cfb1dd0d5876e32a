//! Transports: how envelopes travel between a [`Bus`](crate::Bus)'s publishers and its
//! consumer groups. The bus keeps everything that must behave the same on every transport
//! (validation, idempotency, retries, the circuit breaker, dead letters, metrics, tracing);
//! a transport only moves messages, fans them out to groups, lets the instances of a group
//! compete, keeps one key's messages in one serial lane, and settles deliveries (ack, or
//! redeliver after a delay).
//!
//! [`InProcess`] is the embedded default. Brokers sit behind cargo features: `nats`
//! (JetStream), `redis-streams` and `rabbitmq`.

use std::sync::Arc;
use std::time::Duration;

use crate::BoxFuture;
use crate::bus::WhenFull;
use crate::envelope::{Binding, Envelope};
use crate::error::{PublishError, SubscribeError};
use crate::subject::SubjectPattern;

mod memory;
#[cfg(feature = "nats")]
pub mod nats;
#[cfg(feature = "rabbitmq")]
pub mod rabbitmq;
#[cfg(feature = "redis-streams")]
pub mod redis_streams;

pub use memory::InProcess;

/// A transport failed (connection, broker refusal, setup of streams or consumers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("cannot connect to the broker: {0}")]
    Connect(String),
    #[error("setting up the broker's streams or consumers failed: {0}")]
    Setup(String),
    #[error("the broker did not accept the message: {0}")]
    Publish(String),
    #[error("invalid transport configuration: {0}")]
    Config(String),
}

/// One validated envelope on its way out.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub envelope: &'a Arc<Envelope>,
    /// The ordering key (`partitionkey`, else the event id).
    pub key: &'a str,
    /// Deliver to this group only (replay of a dead letter), else to every group.
    pub only_group: Option<&'a str>,
    pub when_full: WhenFull,
}

/// What an instance of a consumer group asks of the transport when it starts.
#[derive(Debug, Clone, Copy)]
pub struct JoinSpec<'a> {
    pub group: &'a str,
    /// Sorted; every instance of a group subscribes alike.
    pub patterns: &'a [SubjectPattern],
    /// Serial lanes wanted (the bus's `concurrency`); brokers may fix their own number.
    pub lanes: usize,
    pub queue_capacity: usize,
}

/// The message as it came off the transport.
pub enum Payload {
    /// Validated by this bus's publisher in this process (in-process transport).
    Trusted(Arc<Envelope>),
    /// Binary-mode CloudEvent off a broker: decoded and validated before any handler.
    Binary(Arc<dyn BinaryMessage>),
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Payload::Trusted(envelope) => f.debug_tuple("Trusted").field(envelope).finish(),
            Payload::Binary(message) => f
                .debug_struct("Binary")
                .field("binding", &message.binding())
                .field("headers", &message.headers())
                .field("body_len", &message.body().len())
                .finish(),
        }
    }
}

/// A binary-mode CloudEvent as the broker delivered it, read in place: the transport shares
/// the message with its acker (a redelivery or a broker-side dead letter needs it again)
/// and the bus borrows headers and body from it, instead of every delivery copying each
/// header into owned strings.
pub trait BinaryMessage: Send + Sync + 'static {
    /// The header convention the message follows.
    fn binding(&self) -> Binding;
    /// Every header as sent: name and raw value (checked as UTF-8 by the reader), in any
    /// order; headers that are not the event's (a transport's own) may be left out.
    fn headers(&self) -> Vec<(&str, &[u8])>;
    /// The event's data.
    fn body(&self) -> &[u8];
}

/// A binary-mode message held in owned strings: for brokers whose headers must be
/// converted to text first (AMQP's typed field tables) and for callers holding pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedBinary {
    pub binding: Binding,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl BinaryMessage for OwnedBinary {
    fn binding(&self) -> Binding {
        self.binding
    }

    fn headers(&self) -> Vec<(&str, &[u8])> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
            .collect()
    }

    fn body(&self) -> &[u8] {
        &self.body
    }
}

/// What the bus recorded when it dead-lettered a delivery, for a broker that keeps its
/// own copy next to the bus's [`DeadLetterStore`](crate::dlq::DeadLetterStore).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterSummary {
    /// The consumer group that gave the message up.
    pub group: String,
    /// The dead letter's reason code (`handler-permanent`, `retries-exhausted`, ...).
    pub reason: String,
    /// Handler attempts made across all deliveries (0 if refused before any).
    pub attempts: u32,
}

/// Settles one delivery with the transport.
pub trait Acker: Send + 'static {
    /// Done with it (handled, deduplicated or dead-lettered): never deliver it again.
    fn ack(self: Box<Self>) -> BoxFuture<'static, ()>;
    /// Deliver it again after `delay` (to this or another instance of the group), keeping
    /// its place in its key's order where the broker allows.
    fn retry_later(self: Box<Self>, delay: Duration) -> BoxFuture<'static, ()>;
    /// The bus dead-lettered it (already written to its dead-letter store): never deliver
    /// it again. A broker with a dead-letter convention of its own records it there first;
    /// the default just acks.
    fn dead_lettered(self: Box<Self>, info: &DeadLetterSummary) -> BoxFuture<'static, ()> {
        let _ = info;
        self.ack()
    }
    /// Still being handled: the bus calls this periodically while a handler runs, so a
    /// broker that redelivers unsettled messages after a timeout (JetStream's `AckWait`,
    /// a Redis pending entry's idle time) keeps it with this instance. The default does
    /// nothing, for transports whose deliveries never time out.
    fn keep_alive(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// One message for one group instance.
pub struct Delivery {
    pub payload: Payload,
    /// Deliveries before this one (0 on the first); the bus adds the attempts they made.
    pub redeliveries: u32,
    pub acker: Box<dyn Acker>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("payload", &self.payload)
            .field("redeliveries", &self.redeliveries)
            .finish_non_exhaustive()
    }
}

/// A serial stream of deliveries: the bus handles one at a time per lane, so messages of
/// one key, which a transport always puts in one lane, are handled in order.
pub trait Lane: Send + 'static {
    /// The next delivery; `None` once the transport is closed (or the lane drained).
    fn next(&mut self) -> BoxFuture<'_, Option<Delivery>>;
    /// Messages waiting in this lane, when the transport knows (queue-depth metric).
    fn depth(&self) -> Option<usize> {
        None
    }
}

/// Moves envelopes between publishers and consumer groups. See the module docs for what
/// is left to the bus.
pub trait Transport: Send + Sync + 'static {
    /// Short name for logs and metrics (`in-process`, `nats`).
    fn name(&self) -> &'static str;

    /// Sends one envelope to every subscribed group (or `only_group`). Returns the number
    /// of groups it was enqueued for, when the transport knows; brokers return 1 once the
    /// broker has confirmed it.
    fn publish<'a>(&'a self, message: Outgoing<'a>) -> BoxFuture<'a, Result<usize, PublishError>>;

    /// The groups an event of type `ty` would reach, when known locally (names the groups
    /// of a dead letter refused at publication).
    fn groups_for(&self, ty: &str) -> Vec<String> {
        let _ = ty;
        Vec::new()
    }

    /// Joins (or creates) a consumer group; returns this instance's lanes.
    fn join<'a>(
        &'a self,
        spec: JoinSpec<'a>,
    ) -> BoxFuture<'a, Result<Vec<Box<dyn Lane>>, SubscribeError>>;

    /// A redelivery budget the broker offers on top of the in-process retries: after
    /// the retry policy's attempts fail transiently, a delivery with fewer redeliveries
    /// than this goes back to the broker (with a delay) instead of the dead-letter queue.
    fn redeliveries(&self) -> u32 {
        0
    }

    /// Waits until everything published so far was settled by every local group, when
    /// the transport can tell (the in-process one can; brokers wait for their consumers'
    /// pending counts to reach zero).
    fn flush(&self) -> BoxFuture<'_, ()>;

    /// Stops the lanes: an in-process lane drains its queue first; broker lanes stop
    /// fetching (messages not yet acked are redelivered to other instances).
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// `flush` of a broker transport: poll `busy` until the broker reports nothing left in
/// flight; a failed read is logged (`what` names it) and polled again, since flush has no
/// error to return and the broker may come back.
#[cfg(any(feature = "nats", feature = "redis-streams", feature = "rabbitmq"))]
async fn poll_until_idle<F, Fut>(what: &str, mut busy: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, TransportError>>,
{
    loop {
        match busy().await {
            Ok(false) => return,
            Ok(true) => {}
            Err(error) => tracing::warn!(%error, "{what} failed"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
