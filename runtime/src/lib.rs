//! `eventschema`, the crate services depend on: strict CloudEvents envelopes, validation
//! before handlers (JSON Schema and Avro, compiled once), idempotent handling with leases,
//! retries with exponential backoff and full jitter, a circuit breaker, dead letters with
//! replay, ordering per key, and the in-process bus that is the embedded default transport.
//!
//! Start with [`Bus`]: `bus.subscribe("group").on::<MyEvent, _, _>(handler)?.start()?`,
//! then `bus.publish(&event).await`. Types implement [`Event`] (generated code and the
//! derive macro will do this).
//!
//! Architecture invariant: depends on `eventschema-core` (the schema model) and never on
//! the registry server, axum or the CLI. Stores sit behind cargo features: `sqlite`,
//! `postgres` (with the inbox) and `redis`; the in-memory store is always there.

use std::future::Future;
use std::pin::Pin;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod bus;
pub mod dlq;
pub mod envelope;
pub mod error;
pub mod event;
pub mod idempotency;
pub mod logical;
mod metrics;
pub mod retry;
pub mod subject;
pub mod validation;
pub mod wire;

/// A boxed, sendable future (what the dyn-compatible store and handler traits return).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[cfg(feature = "postgres")]
pub use bus::TxHandler;
pub use bus::{Bus, BusConfig, Context, PublishOutcome, ReplayError, Subscription, WhenFull};
pub use dlq::{DeadLetter, DeadLetterStore, DlqFilter, MemoryDlq};
pub use envelope::{Binding, Envelope};
pub use error::{
    CodecError, EnvelopeError, ErrorClass, HandlerError, PublishError, StoreError, SubscribeError,
};
pub use event::{Event, json_decode, json_encode};
pub use eventschema_core::SchemaType;
pub use idempotency::{Claim, ClaimToken, DedupKey, IdempotencyStore, MemoryStore};
pub use metrics::names as metric_names;
pub use retry::{BreakerConfig, CircuitBreaker, RetryPolicy};
pub use subject::SubjectPattern;
pub use validation::{Invalid, InvalidReason, RegisteredSchema, SchemaCatalog, SchemaSource};
pub use wire::{ConfluentExt, WireError, decode_confluent, encode_confluent};
