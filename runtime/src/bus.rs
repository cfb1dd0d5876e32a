//! The bus: publish (typed, envelope, or raw wire bytes), validation before enqueue and
//! again when a message comes off a broker, consumer groups with competing instances,
//! subject wildcards, per-key ordering through serial lanes, back pressure, idempotent
//! handling, retries, the circuit breaker, dead letters and replay, and graceful shutdown.
//! All of it is shared by every [`Transport`]; the transport (in-process by default, or a
//! broker) only moves messages and settles deliveries.

use std::any::TypeId;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use backon::Retryable as _;
use chrono::Utc;
use serde_json::Value;
use tokio::task::JoinHandle;
use tracing::Instrument as _;

use crate::BoxFuture;
use crate::dlq::{DeadLetter, DeadLetterStore, MemoryDlq};
use crate::envelope::{Binding, Envelope, Source, Template, ext};
use crate::error::{EnvelopeError, ErrorClass, HandlerError, PublishError, SubscribeError};
use crate::event::{Event, dataschema_uri};
use crate::idempotency::{
    Claim, ClaimToken, DEFAULT_RETENTION, DedupKey, IdempotencyStore, MemoryStore,
};
use crate::metrics::{Handles, Metrics};
use crate::retry::{BreakerConfig, CircuitBreaker, RetryPolicy};
use crate::subject::SubjectPattern;
use crate::transport::{
    Acker, BinaryMessage, DeadLetterSummary, Delivery, InProcess, JoinSpec, Lane, Outgoing,
    Payload, Transport,
};
use crate::validation::{CheckError, Invalid, InvalidReason, SchemaCatalog};

/// What a publisher does when a group's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Wait for room (back pressure onto the publisher).
    Wait,
    /// Fail with [`PublishError::QueueFull`]; nothing is enqueued anywhere.
    FailFast,
}

/// Configuration of a bus; group defaults can be overridden per subscription.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// `source` of the events this bus publishes.
    pub source: String,
    /// Capacity of each worker queue.
    pub queue_capacity: usize,
    /// Serial workers per group instance: different keys run in parallel up to this.
    pub concurrency: usize,
    pub when_full: WhenFull,
    /// Events larger than this (attributes + data, or raw bytes) are dead-lettered.
    pub max_event_bytes: usize,
    /// Validate every event against the schema catalog before enqueueing it.
    pub validate: bool,
    /// Producer rate limit, events per second (`None`: unlimited).
    pub publish_rate: Option<u32>,
    pub retry: RetryPolicy,
    /// `None`: no circuit breaker.
    pub breaker: Option<BreakerConfig>,
    /// How long a claim protects a running handler before another worker may take over.
    pub lease: Duration,
    /// How long completed keys are kept (the deduplication window).
    pub retention: Duration,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            source: "urn:eventschema:bus".to_owned(),
            queue_capacity: 1024,
            concurrency: 8,
            when_full: WhenFull::Wait,
            max_event_bytes: 1024 * 1024,
            validate: true,
            publish_rate: None,
            retry: RetryPolicy::default(),
            breaker: Some(BreakerConfig::default()),
            lease: Duration::from_secs(30),
            retention: DEFAULT_RETENTION,
        }
    }
}

/// What became of a published event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Enqueued for this many groups (0: nobody subscribes).
    Enqueued(usize),
    /// Refused by validation and dead-lettered (never reaches a handler).
    DeadLettered(Invalid),
}

/// Upcast function for one event type: `(written version, data) -> data of the newest
/// version`. Generated code will register these; handlers then see only the newest type.
pub type UpcastFn = dyn Fn(u32, Value) -> Result<Value, String> + Send + Sync;

/// Event types' templates, looked up on every typed publish: hashbrown's default hasher
/// (foldhash, as for the metrics handles), not SipHash; the keys are this program's types.
type Templates = hashbrown::HashMap<TypeId, Template>;

struct Inner {
    config: BusConfig,
    /// `config.source`, checked once; an invalid one fails every typed publish.
    source: Result<Source, EnvelopeError>,
    /// The constant attributes of each event type's envelopes, checked on first use.
    templates: RwLock<Templates>,
    catalog: Arc<SchemaCatalog>,
    dlq: Arc<dyn DeadLetterStore>,
    default_store: Arc<dyn IdempotencyStore>,
    upcasters: RwLock<HashMap<String, Arc<UpcastFn>>>,
    transport: Arc<dyn Transport>,
    /// Circuit breakers per group, shared by the group's instances in this process.
    breakers: Mutex<HashMap<String, Arc<CircuitBreaker>>>,
    closed: AtomicBool,
    workers: Mutex<Vec<JoinHandle<()>>>,
    limiter: Option<tokio::sync::Mutex<(f64, tokio::time::Instant)>>,
    metrics: Metrics,
}

/// The bus over one [`Transport`] (in-process unless built with
/// [`Bus::with_transport`]). Cheap to clone; [`Bus::shutdown`] stops it.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("config", &self.inner.config)
            .field("transport", &self.inner.transport.name())
            .finish_non_exhaustive()
    }
}

fn invalid_from(error: &EnvelopeError) -> Invalid {
    let reason = match error {
        EnvelopeError::SpecVersion(_) => InvalidReason::UnsupportedSpecVersion,
        EnvelopeError::Oversized { .. } => InvalidReason::Oversized,
        EnvelopeError::Missing(_) => InvalidReason::MissingAttribute,
        _ => InvalidReason::MalformedEnvelope,
    };
    Invalid::new(reason, error.to_string())
}

impl Bus {
    /// A bus with an embedded schema catalog, in-memory idempotency and dead letters.
    pub fn new(config: BusConfig) -> Self {
        Self::with_parts(
            config,
            Arc::new(SchemaCatalog::new()),
            Arc::new(MemoryDlq::new()),
            Arc::new(MemoryStore::new()),
        )
    }

    /// A bus over the given catalog, dead-letter store and default idempotency store.
    pub fn with_parts(
        config: BusConfig,
        catalog: Arc<SchemaCatalog>,
        dlq: Arc<dyn DeadLetterStore>,
        default_store: Arc<dyn IdempotencyStore>,
    ) -> Self {
        Self::with_transport(
            config,
            catalog,
            dlq,
            default_store,
            Arc::new(InProcess::new()),
        )
    }

    /// A bus over `transport` (a broker, or [`InProcess`]); validation, idempotency,
    /// retries, dead letters and metrics are the same on every transport.
    pub fn with_transport(
        config: BusConfig,
        catalog: Arc<SchemaCatalog>,
        dlq: Arc<dyn DeadLetterStore>,
        default_store: Arc<dyn IdempotencyStore>,
        transport: Arc<dyn Transport>,
    ) -> Self {
        if config.retention < config.retry.horizon() {
            tracing::warn!(
                retention = ?config.retention,
                horizon = ?config.retry.horizon(),
                "idempotency retention is shorter than the retry horizon"
            );
        }
        let limiter = config
            .publish_rate
            .map(|rate| tokio::sync::Mutex::new((f64::from(rate), tokio::time::Instant::now())));
        let source = Source::new(&config.source);
        if let Err(error) = &source {
            tracing::warn!(%error, "the bus's source is invalid: typed events cannot be published");
        }
        Bus {
            inner: Arc::new(Inner {
                config,
                source,
                templates: RwLock::new(Templates::default()),
                catalog,
                dlq,
                default_store,
                upcasters: RwLock::new(HashMap::new()),
                transport,
                breakers: Mutex::new(HashMap::new()),
                closed: AtomicBool::new(false),
                workers: Mutex::new(Vec::new()),
                limiter,
                metrics: Metrics::default(),
            }),
        }
    }

    pub fn config(&self) -> &BusConfig {
        &self.inner.config
    }
    pub fn catalog(&self) -> &Arc<SchemaCatalog> {
        &self.inner.catalog
    }
    pub fn dead_letters(&self) -> &Arc<dyn DeadLetterStore> {
        &self.inner.dlq
    }
    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.inner.transport
    }

    /// Registers the upcaster for `event_type`.
    pub fn register_upcaster(
        &self,
        event_type: &str,
        upcast: impl Fn(u32, Value) -> Result<Value, String> + Send + Sync + 'static,
    ) {
        if let Ok(mut map) = self.inner.upcasters.write() {
            map.insert(event_type.to_owned(), Arc::new(upcast));
        }
    }

    /// Starts describing an instance of consumer group `group`.
    pub fn subscribe(&self, group: &str) -> Subscription {
        Subscription {
            bus: self.clone(),
            group: group.to_owned(),
            handlers: Vec::new(),
            guard: Guard::Store(self.inner.default_store.clone()),
            retry: self.inner.config.retry.clone(),
        }
    }

    /// Builds the envelope of a typed event (new id, `time`, `dataschema`,
    /// `schemaversion`, keys; correlation and causation from `parent`).
    pub fn envelope_for<E: Event>(
        &self,
        event: &E,
        parent: Option<&Envelope>,
    ) -> Result<Envelope, PublishError> {
        let mut envelope = self.envelope_head(event, parent)?;
        envelope.set_data(event.encode()?);
        Ok(envelope)
    }

    /// [`Bus::envelope_for`], and when this bus validates a JSON event that can give its
    /// payload as a JSON value, that value: the data is written from it, so validation
    /// need not parse the bytes back.
    fn typed_envelope<E: Event>(
        &self,
        event: &E,
        parent: Option<&Envelope>,
    ) -> Result<(Envelope, Option<Value>), PublishError> {
        let mut envelope = self.envelope_head(event, parent)?;
        let json = if self.inner.config.validate
            && E::SCHEMA_TYPE == crate::SchemaType::Json
            && envelope.data_is_json()
        {
            event.to_json_value().transpose()?
        } else {
            None
        };
        let data = match &json {
            Some(value) => crate::event::json_encode(value)?,
            None => event.encode()?,
        };
        envelope.set_data(data);
        Ok((envelope, json))
    }

    /// Every attribute of a typed event's envelope; the data is the caller's.
    fn envelope_head<E: Event>(
        &self,
        event: &E,
        parent: Option<&Envelope>,
    ) -> Result<Envelope, PublishError> {
        let mut envelope = self.fresh_envelope::<E>()?;
        if let Some(key) = event.partition_key() {
            envelope.set_own_extension(ext::PARTITION_KEY, key)?;
        }
        if let Some(key) = event.idempotency_key() {
            envelope.set_own_extension(ext::IDEMPOTENCY_KEY, key)?;
        }
        propagate(&mut envelope, parent);
        Ok(envelope)
    }

    /// A new envelope of `E` from its template (built and checked on first use).
    fn fresh_envelope<E: Event>(&self) -> Result<Envelope, EnvelopeError> {
        let key = TypeId::of::<E>();
        let templates = &self.inner.templates;
        if let Some(template) = templates
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(template.instantiate());
        }
        let source = self.inner.source.as_ref().map_err(Clone::clone)?;
        let mut extensions = vec![(ext::SCHEMA_VERSION, E::VERSION.to_string())];
        if let Some(id) = E::SCHEMA_ID {
            extensions.push((ext::SCHEMA_ID, id.to_string()));
        }
        let template = Template::new(
            source,
            E::TYPE,
            E::CONTENT_TYPE,
            dataschema_uri(E::SUBJECT, E::VERSION),
            &extensions,
        )?;
        let envelope = template.instantiate();
        templates
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_insert(template);
        Ok(envelope)
    }

    /// Publishes a typed event.
    pub async fn publish<E: Event>(&self, event: &E) -> Result<PublishOutcome, PublishError> {
        self.publish_typed(event, None).await
    }

    /// Publishes a typed event caused by `parent` (if any), validated from its value.
    async fn publish_typed<E: Event>(
        &self,
        event: &E,
        parent: Option<&Envelope>,
    ) -> Result<PublishOutcome, PublishError> {
        let (envelope, json) = self.typed_envelope(event, parent)?;
        self.dispatch(envelope, None, None, json.as_ref()).await
    }

    /// Publishes an envelope as is (its `id` and keys are kept: replays and re-sends
    /// deduplicate).
    pub async fn publish_envelope(
        &self,
        envelope: Envelope,
    ) -> Result<PublishOutcome, PublishError> {
        self.dispatch(envelope, None, None, None).await
    }

    /// Takes a structured-mode event off the wire; undecodable input is dead-lettered
    /// with its raw bytes.
    pub async fn ingest_structured(&self, bytes: &[u8]) -> Result<PublishOutcome, PublishError> {
        match Envelope::from_structured(bytes, self.inner.config.max_event_bytes) {
            Ok(envelope) => self.dispatch(envelope, None, Some(bytes), None).await,
            Err(error) => self.refuse_raw(bytes, &error, None).await,
        }
    }

    /// Takes a binary-mode message off the wire (headers per `binding`, owned or
    /// borrowed, values as text or bytes).
    pub async fn ingest_binary<N, V>(
        &self,
        binding: Binding,
        headers: &[(N, V)],
        body: &[u8],
    ) -> Result<PublishOutcome, PublishError>
    where
        N: AsRef<str> + Sync,
        V: AsRef<[u8]> + Sync,
    {
        match Envelope::from_binary(binding, headers, body, self.inner.config.max_event_bytes) {
            Ok(envelope) => self.dispatch(envelope, None, None, None).await,
            Err(error) => self.refuse_raw(body, &error, None).await,
        }
    }

    async fn refuse_raw(
        &self,
        bytes: &[u8],
        error: &EnvelopeError,
        group: Option<&str>,
    ) -> Result<PublishOutcome, PublishError> {
        let invalid = invalid_from(error);
        let now = Utc::now();
        let letter = DeadLetter {
            id: uuid::Uuid::now_v7().to_string(),
            group: group.map(str::to_owned),
            handler: None,
            reason: invalid.reason.as_str().to_owned(),
            error_class: ErrorClass::Invalid,
            error_chain: DeadLetter::truncate_chain(vec![invalid.detail.clone()]),
            attempts: 0,
            first_failure: now,
            last_failure: now,
            original: bytes.to_vec(),
            attributes: Default::default(),
        };
        self.inner
            .metrics
            .dead_lettered("", group.unwrap_or_default());
        self.inner.dlq.put(letter).await?;
        Ok(PublishOutcome::DeadLettered(invalid))
    }

    async fn rate_limit(&self) {
        let (Some(limiter), Some(rate)) = (&self.inner.limiter, self.inner.config.publish_rate)
        else {
            return;
        };
        let rate = f64::from(rate.max(1));
        loop {
            let wait = {
                let mut state = limiter.lock().await;
                let now = tokio::time::Instant::now();
                let refill = now.duration_since(state.1).as_secs_f64() * rate;
                state.0 = (state.0 + refill).min(rate);
                state.1 = now;
                if state.0 >= 1.0 {
                    state.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - state.0) / rate)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// `parsed`: the JSON value `envelope`'s data was written from, if the caller has it.
    async fn dispatch(
        &self,
        mut envelope: Envelope,
        only_group: Option<&str>,
        raw: Option<&[u8]>,
        parsed: Option<&Value>,
    ) -> Result<PublishOutcome, PublishError> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Err(PublishError::Closed);
        }
        self.rate_limit().await;
        let span = tracing::info_span!(
            "eventschema.publish",
            messaging.operation.name = "publish",
            cloudevents.event_id = %envelope.id(),
            cloudevents.event_type = %envelope.ty(),
            correlationid = envelope.extension(ext::CORRELATION_ID).unwrap_or_default(),
        );
        let _entered = span.enter();
        match self.verdict(&mut envelope, parsed).await {
            Ok(()) => {}
            Err(CheckError::Invalid(invalid)) => {
                drop(_entered);
                // Only a refused event needs to know its groups (to name them in dead letters).
                let targets: Vec<String> = inner
                    .transport
                    .groups_for(envelope.ty())
                    .into_iter()
                    .filter(|g| only_group.is_none_or(|name| g == name))
                    .collect();
                self.dead_letter_invalid(&envelope, raw, &targets, &invalid)
                    .await?;
                return Ok(PublishOutcome::DeadLettered(invalid));
            }
            // Not the event's fault: the producer may try again, nothing is dead-lettered.
            Err(unavailable @ CheckError::Unavailable { .. }) => {
                return Err(PublishError::SchemaUnavailable(unavailable.to_string()));
            }
        }
        let key = envelope
            .extension(ext::PARTITION_KEY)
            .unwrap_or(envelope.id())
            .to_owned();
        let envelope = Arc::new(envelope);
        let count = inner
            .transport
            .publish(Outgoing {
                envelope: &envelope,
                key: &key,
                only_group,
                when_full: inner.config.when_full,
            })
            .await?;
        inner.metrics.published(envelope.ty());
        Ok(PublishOutcome::Enqueued(count))
    }

    /// Size limit, then schema validation when configured (stamping `schemaversion` for
    /// events that name only a `schemaid`).
    async fn verdict(
        &self,
        envelope: &mut Envelope,
        parsed: Option<&Value>,
    ) -> Result<(), CheckError> {
        let config = &self.inner.config;
        let size = envelope.wire_size();
        if size > config.max_event_bytes {
            Err(invalid_from(&EnvelopeError::Oversized {
                size,
                limit: config.max_event_bytes,
            })
            .into())
        } else if config.validate {
            self.inner
                .catalog
                .admit_parsed(envelope, parsed)
                .await
                .map(|_| ())
        } else {
            Ok(())
        }
    }

    async fn dead_letter_invalid(
        &self,
        envelope: &Envelope,
        raw: Option<&[u8]>,
        targets: &[String],
        invalid: &Invalid,
    ) -> Result<(), PublishError> {
        let now = Utc::now();
        let original = match raw {
            Some(raw) => raw.to_vec(),
            None => envelope
                .to_structured()
                .unwrap_or_else(|_| envelope.data().unwrap_or_default().to_vec()),
        };
        let groups: Vec<Option<String>> = if targets.is_empty() {
            vec![None]
        } else {
            targets.iter().map(|t| Some(t.clone())).collect()
        };
        for group in groups {
            self.inner
                .metrics
                .dead_lettered(envelope.ty(), group.as_deref().unwrap_or_default());
            self.inner
                .dlq
                .put(DeadLetter {
                    id: uuid::Uuid::now_v7().to_string(),
                    group,
                    handler: None,
                    reason: invalid.reason.as_str().to_owned(),
                    error_class: ErrorClass::Invalid,
                    error_chain: DeadLetter::truncate_chain(vec![invalid.detail.clone()]),
                    attempts: 0,
                    first_failure: now,
                    last_failure: now,
                    original: original.clone(),
                    attributes: envelope.attributes(),
                })
                .await?;
        }
        Ok(())
    }

    /// Republishes a dead letter to the group that gave it up (or to every group), with
    /// its original `id` and keys; removes it from the DLQ once a group took it.
    pub async fn replay(&self, dead_letter_id: &str) -> Result<PublishOutcome, ReplayError> {
        let letter = self
            .inner
            .dlq
            .get(dead_letter_id)
            .await?
            .ok_or_else(|| ReplayError::NotFound(dead_letter_id.to_owned()))?;
        let envelope = Envelope::from_structured(&letter.original, usize::MAX)
            .map_err(|e| ReplayError::NotAnEvent(e.to_string()))?;
        let outcome = self
            .dispatch(envelope, letter.group.as_deref(), None, None)
            .await?;
        // Enqueued for no group: nobody here would handle it, so the letter stays.
        if matches!(outcome, PublishOutcome::Enqueued(n) if n > 0) {
            self.inner.dlq.remove(dead_letter_id).await?;
        }
        Ok(outcome)
    }

    /// Waits until every enqueued event has been handled, deduplicated or dead-lettered
    /// (on brokers: until this bus's groups have nothing pending).
    pub async fn flush(&self) {
        self.inner.transport.flush().await;
    }

    /// Graceful shutdown: refuse new events, let workers drain their queues (in-process)
    /// or finish the message in hand (brokers), then stop them. Workers still busy after
    /// `grace` are aborted; their claims expire by lease and brokers redeliver.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.closed.store(true, Ordering::Release);
        let _ = tokio::time::timeout(grace, self.inner.transport.close()).await;
        let handles: Vec<JoinHandle<()>> = self
            .inner
            .workers
            .lock()
            .map(|mut w| w.drain(..).collect())
            .unwrap_or_default();
        let deadline = tokio::time::Instant::now() + grace;
        for mut handle in handles {
            if tokio::time::timeout_at(deadline, &mut handle)
                .await
                .is_err()
            {
                handle.abort();
            }
        }
    }
}

/// Runs `work`, polling `beats` beside it only once `work` is pending: an event handled
/// at once never arms the heartbeat's timer, so the fast path pays nothing for it. Both
/// are pinned by the caller, so the (large) handler future is never moved.
fn with_heartbeat<'a, T: 'a>(
    mut work: std::pin::Pin<&'a mut (impl Future<Output = T> + ?Sized)>,
    mut beats: std::pin::Pin<&'a mut (impl Future<Output = std::convert::Infallible> + ?Sized)>,
) -> impl Future<Output = T> + 'a {
    std::future::poll_fn(move |cx| {
        if let std::task::Poll::Ready(out) = work.as_mut().poll(cx) {
            return std::task::Poll::Ready(out);
        }
        match beats.as_mut().poll(cx) {
            std::task::Poll::Ready(never) => match never {},
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    })
}

/// Replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no dead letter `{0}`")]
    NotFound(String),
    #[error("the dead letter's original is not a CloudEvent: {0}")]
    NotAnEvent(String),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Store(#[from] crate::error::StoreError),
}

fn propagate(envelope: &mut Envelope, parent: Option<&Envelope>) {
    match parent {
        Some(parent) => envelope.caused_by(parent),
        None => envelope.correlate_to_self(),
    }
}

/// What a handler gets besides the event: the envelope, the group, the attempt, and a
/// publisher that stamps causation and correlation from the handled event.
#[derive(Clone)]
pub struct Context {
    bus: Bus,
    group: Arc<str>,
    envelope: Arc<Envelope>,
    attempt: u32,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("group", &self.group)
            .field("event", &self.envelope.id())
            .field("attempt", &self.attempt)
            .finish()
    }
}

impl Context {
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    pub fn group(&self) -> &str {
        &self.group
    }
    /// 1 for the first try.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
    /// Publishes an event caused by the one being handled.
    pub async fn publish<E: Event>(&self, event: &E) -> Result<PublishOutcome, PublishError> {
        self.bus.publish_typed(event, Some(&self.envelope)).await
    }
    /// The envelope [`Context::publish`] would send, to add attributes (a registry's
    /// `schemaid`) before [`Context::publish_envelope`].
    pub fn envelope_for<E: Event>(&self, event: &E) -> Result<Envelope, PublishError> {
        self.bus.envelope_for(event, Some(&self.envelope))
    }
    /// Publishes an envelope, stamping causation and correlation.
    pub async fn publish_envelope(
        &self,
        mut envelope: Envelope,
    ) -> Result<PublishOutcome, PublishError> {
        propagate(&mut envelope, Some(&self.envelope));
        self.bus.publish_envelope(envelope).await
    }
}

trait ErasedHandler: Send + Sync {
    fn call(
        &self,
        envelope: Arc<Envelope>,
        ctx: Context,
    ) -> BoxFuture<'static, Result<(), HandlerError>>;
}

struct EnvelopeHandler<F>(F);

impl<F, Fut> ErasedHandler for EnvelopeHandler<F>
where
    F: Fn(Arc<Envelope>, Context) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    fn call(
        &self,
        envelope: Arc<Envelope>,
        ctx: Context,
    ) -> BoxFuture<'static, Result<(), HandlerError>> {
        Box::pin((self.0)(envelope, ctx))
    }
}

struct TypedHandler<E, F> {
    f: F,
    upcasters: Bus,
    _event: std::marker::PhantomData<fn() -> E>,
}

/// Decodes the handler's type from an envelope, upcasting older versions.
fn decode_event<E: Event>(bus: &Bus, envelope: &Envelope) -> Result<E, HandlerError> {
    let invalid = |message: String| HandlerError::msg(ErrorClass::Invalid, message);
    let data = envelope.data().unwrap_or_default();
    let version = match envelope.extension(ext::SCHEMA_VERSION) {
        Some(v) => v
            .parse::<u32>()
            .map_err(|_| invalid(format!("schemaversion `{v}`")))?,
        None => E::VERSION,
    };
    if version > E::VERSION {
        return Err(invalid(format!(
            "decode-error: version {version} is newer than the handler's {}",
            E::VERSION
        )));
    }
    let registered = (version != E::VERSION)
        .then(|| bus.inner.upcasters.read().ok()?.get(E::TYPE).cloned())
        .flatten();
    // Without a registered JSON upcaster the type reads the version itself (generated
    // types upcast through their subject's `decode_any`).
    let Some(upcast) = registered else {
        return E::decode_version(version, data).map_err(|e| invalid(format!("decode-error: {e}")));
    };
    let value: Value = serde_json::from_slice(data)
        .map_err(|e| invalid(format!("decode-error: upcast needs JSON: {e}")))?;
    let value =
        upcast(version, value).map_err(|e| invalid(format!("decode-error: upcast: {e}")))?;
    let bytes = serde_json::to_vec(&value).map_err(|e| invalid(format!("decode-error: {e}")))?;
    E::decode(&bytes).map_err(|e| invalid(format!("decode-error: {e}")))
}

impl<E, F, Fut> ErasedHandler for TypedHandler<E, F>
where
    E: Event,
    F: Fn(E, Context) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    fn call(
        &self,
        envelope: Arc<Envelope>,
        ctx: Context,
    ) -> BoxFuture<'static, Result<(), HandlerError>> {
        match decode_event::<E>(&self.upcasters, &envelope) {
            Ok(event) => Box::pin((self.f)(event, ctx)),
            Err(error) => Box::pin(std::future::ready(Err(error))),
        }
    }
}

#[cfg(feature = "postgres")]
pub use tx::TxHandler;

#[cfg(feature = "postgres")]
mod tx {
    use super::*;
    use sqlx::PgConnection;

    /// A handler that writes through the inbox transaction: its writes commit together
    /// with the idempotency key, or neither does.
    pub trait TxHandler<E: Event>: Send + Sync + 'static {
        fn handle<'c>(
            &'c self,
            event: E,
            ctx: Context,
            conn: &'c mut PgConnection,
        ) -> BoxFuture<'c, Result<(), HandlerError>>;
    }

    pub(super) trait ErasedTx: Send + Sync {
        fn call<'c>(
            self: Arc<Self>,
            envelope: Arc<Envelope>,
            ctx: Context,
            conn: &'c mut PgConnection,
        ) -> BoxFuture<'c, Result<(), HandlerError>>;
    }

    pub(super) struct TypedTx<E, H> {
        pub(super) handler: H,
        pub(super) bus: Bus,
        pub(super) _event: std::marker::PhantomData<fn() -> E>,
    }

    impl<E: Event, H: TxHandler<E>> ErasedTx for TypedTx<E, H> {
        fn call<'c>(
            self: Arc<Self>,
            envelope: Arc<Envelope>,
            ctx: Context,
            conn: &'c mut PgConnection,
        ) -> BoxFuture<'c, Result<(), HandlerError>> {
            Box::pin(async move {
                let event = decode_event::<E>(&self.bus, &envelope)?;
                self.handler.handle(event, ctx, conn).await
            })
        }
    }
}

#[derive(Clone)]
enum HandlerKind {
    Plain(Arc<dyn ErasedHandler>),
    #[cfg(feature = "postgres")]
    Tx(Arc<dyn tx::ErasedTx>),
}

#[derive(Clone)]
enum Guard {
    None,
    Store(Arc<dyn IdempotencyStore>),
    #[cfg(feature = "postgres")]
    Inbox(crate::idempotency::postgres::PgStore),
}

/// One instance of a consumer group being set up; [`Subscription::start`] runs it.
/// Instances of the same group compete for its events; every group gets every event.
pub struct Subscription {
    bus: Bus,
    group: String,
    handlers: Vec<(SubjectPattern, HandlerKind)>,
    guard: Guard,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("group", &self.group)
            .field("handlers", &self.handlers.len())
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// Handles events of type `E::TYPE`, any schema version (older ones upcast). The
    /// event's schema is registered in the bus's catalog.
    pub fn on<E, F, Fut>(mut self, handler: F) -> Result<Self, SubscribeError>
    where
        E: Event,
        F: Fn(E, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        self.bus.inner.catalog.register_event::<E>()?;
        let handler = TypedHandler {
            f: handler,
            upcasters: self.bus.clone(),
            _event: std::marker::PhantomData,
        };
        let pattern = SubjectPattern::parse(E::TYPE)?;
        self.handlers
            .push((pattern, HandlerKind::Plain(Arc::new(handler))));
        Ok(self)
    }

    /// Handles every event whose `type` matches `pattern` (`orders.*`, `orders.>`), as an
    /// envelope.
    pub fn on_pattern<F, Fut>(mut self, pattern: &str, handler: F) -> Result<Self, SubscribeError>
    where
        F: Fn(Arc<Envelope>, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        let pattern = SubjectPattern::parse(pattern)?;
        self.handlers.push((
            pattern,
            HandlerKind::Plain(Arc::new(EnvelopeHandler(handler))),
        ));
        Ok(self)
    }

    /// Handles `E` inside the PostgreSQL inbox transaction of `store`; the whole instance
    /// then uses the inbox for idempotency.
    #[cfg(feature = "postgres")]
    pub fn on_tx<E: Event>(
        mut self,
        store: crate::idempotency::postgres::PgStore,
        handler: impl TxHandler<E>,
    ) -> Result<Self, SubscribeError> {
        self.bus.inner.catalog.register_event::<E>()?;
        let pattern = SubjectPattern::parse(E::TYPE)?;
        let erased = tx::TypedTx {
            handler,
            bus: self.bus.clone(),
            _event: std::marker::PhantomData,
        };
        self.handlers
            .push((pattern, HandlerKind::Tx(Arc::new(erased))));
        self.guard = Guard::Inbox(store);
        Ok(self)
    }

    /// Uses `store` for idempotency instead of the bus's default in-memory store.
    pub fn idempotency(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.guard = Guard::Store(store);
        self
    }

    /// No deduplication: the handler runs for every delivery.
    pub fn without_idempotency(mut self) -> Self {
        self.guard = Guard::None;
        self
    }

    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Joins (or creates) the group and starts this instance's workers. The in-process
    /// transport joins at once; a broker joins in the background (errors are logged), so
    /// prefer [`Subscription::start_joined`] there.
    pub fn start(self) -> Result<(), SubscribeError> {
        let mut joining = self.start_joined();
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        match joining.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(result) => result,
            std::task::Poll::Pending => {
                tokio::spawn(async move {
                    if let Err(error) = joining.await {
                        tracing::error!(%error, "joining the consumer group failed");
                    }
                });
                Ok(())
            }
        }
    }

    /// Joins (or creates) the group on the transport, waits until it has joined (a
    /// broker's durable consumers exist), and starts this instance's workers.
    pub fn start_joined(self) -> BoxFuture<'static, Result<(), SubscribeError>> {
        Box::pin(async move {
            let bus = self.bus;
            let inner = &bus.inner;
            if inner.closed.load(Ordering::Acquire) {
                return Err(SubscribeError::Closed);
            }
            if self.handlers.is_empty() {
                return Err(SubscribeError::Empty(self.group));
            }
            let mut patterns: Vec<SubjectPattern> =
                self.handlers.iter().map(|(p, _)| p.clone()).collect();
            patterns.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            patterns.dedup_by(|a, b| a.as_str() == b.as_str());
            let lanes = inner
                .transport
                .join(JoinSpec {
                    group: &self.group,
                    patterns: &patterns,
                    lanes: inner.config.concurrency.max(1),
                    queue_capacity: inner.config.queue_capacity.max(1),
                })
                .await?;
            let breaker = match &inner.config.breaker {
                None => None,
                Some(config) => inner.breakers.lock().ok().map(|mut map| {
                    map.entry(self.group.clone())
                        .or_insert_with(|| Arc::new(CircuitBreaker::new(config.clone())))
                        .clone()
                }),
            };
            let processor = Arc::new(Processor {
                bus: bus.clone(),
                group: Arc::from(self.group.as_str()),
                breaker,
                handlers: self.handlers,
                guard: self.guard,
                retry: self.retry,
            });
            let handles: Vec<JoinHandle<()>> = lanes
                .into_iter()
                .map(|lane| {
                    let processor = processor.clone();
                    tokio::spawn(async move { processor.work(lane).await })
                })
                .collect();
            if let Ok(mut workers) = inner.workers.lock() {
                workers.extend(handles);
            }
            Ok(())
        })
    }
}

struct Processor {
    bus: Bus,
    group: Arc<str>,
    breaker: Option<Arc<CircuitBreaker>>,
    handlers: Vec<(SubjectPattern, HandlerKind)>,
    guard: Guard,
    retry: RetryPolicy,
}

#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
enum Done {
    Handled,
    Duplicate,
    KeyReuse,
}

/// How a delivery is settled with the transport.
enum Settle {
    Ack,
    RetryLater(Duration),
    DeadLettered(DeadLetterSummary),
}

impl Processor {
    async fn work(&self, mut lane: Box<dyn Lane>) {
        while let Some(delivery) = lane.next().await {
            if let Some(depth) = lane.depth() {
                self.bus.inner.metrics.queue_depth(&self.group, depth);
            }
            self.deliver(delivery).await;
        }
    }

    async fn deliver(&self, delivery: Delivery) {
        let Delivery {
            payload,
            redeliveries,
            acker,
        } = delivery;
        let envelope = match payload {
            Payload::Trusted(envelope) => Ok(envelope),
            Payload::Binary(message) => self.admit(&*message, redeliveries).await.map(Arc::new),
        };
        let mut acker = acker;
        let settle = match envelope {
            Ok(envelope) => self.process(envelope, redeliveries, &mut *acker).await,
            Err(settle) => settle,
        };
        match settle {
            Settle::Ack => acker.ack().await,
            Settle::RetryLater(delay) => acker.retry_later(delay).await,
            Settle::DeadLettered(info) => acker.dead_lettered(&info).await,
        }
    }

    /// A message off a broker: decoded and validated here, since any producer may have
    /// written it; refused ones are dead-lettered for this group (`Err(DeadLettered)`); one
    /// whose writer schema cannot be fetched now is given back while the redelivery budget
    /// lasts.
    async fn admit(
        &self,
        message: &dyn BinaryMessage,
        redeliveries: u32,
    ) -> Result<Envelope, Settle> {
        let refused = |invalid: &Invalid| {
            Settle::DeadLettered(DeadLetterSummary {
                group: self.group.to_string(),
                reason: invalid.reason.as_str().to_owned(),
                attempts: 0,
            })
        };
        let bus = &self.bus;
        let limit = bus.inner.config.max_event_bytes;
        let body = message.body();
        let headers = message.headers();
        let mut envelope = match Envelope::from_binary(message.binding(), &headers, body, limit) {
            Ok(envelope) => envelope,
            Err(error) => {
                if let Err(e) = bus.refuse_raw(body, &error, Some(&self.group)).await {
                    tracing::error!(error = %e, "writing the dead letter failed");
                }
                return Err(refused(&invalid_from(&error)));
            }
        };
        let invalid = match bus.verdict(&mut envelope, None).await {
            Ok(()) => return Ok(envelope),
            Err(CheckError::Invalid(invalid)) => invalid,
            Err(CheckError::Unavailable { id, reason }) => {
                if redeliveries < bus.inner.transport.redeliveries() {
                    tracing::warn!(id, %reason, "writer schema unavailable; redelivering later");
                    let last = self.retry.max_attempts.saturating_sub(1);
                    return Err(Settle::RetryLater(self.retry.ceiling(last)));
                }
                Invalid::new(
                    InvalidReason::SchemaUnavailable,
                    format!("schema id {id} could not be fetched on any delivery: {reason}"),
                )
            }
        };
        let groups = [self.group.to_string()];
        if let Err(e) = bus
            .dead_letter_invalid(&envelope, None, &groups, &invalid)
            .await
        {
            tracing::error!(error = %e, "writing the dead letter failed");
        }
        Err(refused(&invalid))
    }

    async fn process(
        &self,
        envelope: Arc<Envelope>,
        redeliveries: u32,
        acker: &mut dyn Acker,
    ) -> Settle {
        let span = tracing::info_span!(
            "eventschema.handle",
            messaging.operation.name = "process",
            messaging.consumer.group.name = %self.group,
            cloudevents.event_id = %envelope.id(),
            cloudevents.event_type = %envelope.ty(),
            correlationid = envelope.extension(ext::CORRELATION_ID).unwrap_or_default(),
        );
        self.process_inner(envelope, redeliveries, acker)
            .instrument(span)
            .await
    }

    /// While a delivery is slow (waiting for another worker's claim, or a long handler):
    /// every `lease / 3`, keep the delivery with this instance and extend our claim. A
    /// claim found lost is reported once and not extended again.
    async fn heartbeat(
        &self,
        acker: &mut dyn Acker,
        claim: Option<(&dyn IdempotencyStore, &ClaimToken, &DedupKey)>,
        lost: &AtomicBool,
        counters: &Handles,
    ) -> std::convert::Infallible {
        let lease = self.bus.inner.config.lease;
        let period = (lease / 3).max(Duration::from_millis(1));
        loop {
            tokio::time::sleep(period).await;
            acker.keep_alive().await;
            let Some((store, token, key)) = claim else {
                continue;
            };
            if lost.load(Ordering::Acquire) {
                continue;
            }
            match store.extend(key, token, lease).await {
                Ok(true) => {}
                Ok(false) => {
                    lost.store(true, Ordering::Release);
                    counters.claim_lost();
                    tracing::warn!(
                        "idempotency claim lost while the handler ran (lease expired or taken over)"
                    );
                }
                Err(error) => tracing::warn!(%error, "extending the idempotency claim failed"),
            }
        }
    }

    async fn process_inner(
        &self,
        envelope: Arc<Envelope>,
        redeliveries: u32,
        acker: &mut dyn Acker,
    ) -> Settle {
        let metrics = &self.bus.inner.metrics;
        let ty = envelope.ty();
        let counters = metrics.handles(ty, &self.group);
        let Some((pattern, handler)) = self.handlers.iter().find(|(p, _)| p.matches(ty)) else {
            let error = HandlerError::msg(ErrorClass::Permanent, "no handler in this instance");
            return self
                .dead_letter(&envelope, None, "no-handler", &error, 0, None)
                .await;
        };
        let key = DedupKey::for_event(&self.group, &envelope);
        let config = &self.bus.inner.config;
        // Claim first (store mode); the inbox claims inside its transaction instead.
        let lost = AtomicBool::new(false);
        let claiming = async {
            let Guard::Store(store) = &self.guard else {
                return Ok(None);
            };
            loop {
                match store.claim(&key, config.lease).await {
                    Ok(Claim::Acquired(token)) => return Ok(Some((store.clone(), token))),
                    Ok(Claim::Completed) => {
                        counters.deduplicated();
                        return Err(Settle::Ack);
                    }
                    Ok(Claim::KeyReuse) => {
                        return Err(self.dead_letter_key_reuse(&envelope, pattern).await);
                    }
                    Ok(Claim::InProgress(left)) => {
                        tokio::time::sleep(
                            left.clamp(Duration::from_millis(1), Duration::from_millis(100)),
                        )
                        .await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "idempotency store failed; retrying the claim");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        };
        // Waiting out another worker's claim can take up to its lease: keep the delivery.
        let claimed = {
            let claiming = std::pin::pin!(claiming);
            let beats = std::pin::pin!(self.heartbeat(acker, None, &lost, &counters));
            with_heartbeat(claiming, beats).await
        };
        let token = match claimed {
            Ok(token) => token,
            Err(settle) => return settle,
        };
        // Earlier deliveries each made up to `max_attempts` attempts.
        let before = redeliveries.saturating_mul(self.retry.max_attempts);
        let attempts = AtomicU32::new(before);
        let first_failure = Mutex::new(None);
        let run_once = || async {
            if let Some(breaker) = &self.breaker {
                breaker.admit().await;
            }
            let attempt = attempts.fetch_add(1, Ordering::AcqRel) + 1;
            let ctx = Context {
                bus: self.bus.clone(),
                group: self.group.clone(),
                envelope: envelope.clone(),
                attempt,
            };
            metrics.inflight(1.0);
            let started = std::time::Instant::now();
            let result = self.attempt(handler, &key, envelope.clone(), ctx).await;
            counters.handled_in(started.elapsed());
            metrics.inflight(-1.0);
            let transient = matches!(&result, Err(e) if e.is_transient());
            if let Some(breaker) = &self.breaker {
                breaker.record(transient);
            }
            if result.is_err() {
                counters.failed();
                if let Ok(mut first) = first_failure.lock() {
                    first.get_or_insert_with(Utc::now);
                }
            }
            result
        };
        let result = {
            let handling = std::pin::pin!(
                run_once
                    .retry(self.retry.backoff())
                    .sleep(tokio::time::sleep)
                    .when(HandlerError::is_transient)
                    .notify(|_, _| counters.retried())
            );
            let claim = token.as_ref().map(|(store, token)| (&**store, token, &key));
            let beats = std::pin::pin!(self.heartbeat(acker, claim, &lost, &counters));
            with_heartbeat(handling, beats).await
        };
        let attempts = attempts.load(Ordering::Acquire);
        // A lost claim may be someone else's by now: neither complete nor release it.
        let token = token.filter(|_| !lost.load(Ordering::Acquire));
        match result {
            Ok(Done::Handled) => {
                counters.handled();
                if let Some((store, token)) = token {
                    match store.complete(&key, &token, config.retention).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!("claim lost before completion (lease too short?)")
                        }
                        Err(error) => tracing::error!(%error, "recording completion failed"),
                    }
                }
            }
            Ok(Done::Duplicate) => counters.deduplicated(),
            Ok(Done::KeyReuse) => return self.dead_letter_key_reuse(&envelope, pattern).await,
            Err(error) => {
                if let Some((store, token)) = token
                    && let Err(e) = store.release(&key, &token).await
                {
                    tracing::error!(error = %e, "releasing the claim failed");
                }
                if error.is_transient() && redeliveries < self.bus.inner.transport.redeliveries() {
                    counters.retried();
                    let delay = self
                        .retry
                        .ceiling(self.retry.max_attempts.saturating_sub(1));
                    return Settle::RetryLater(delay);
                }
                let reason = match error.class {
                    ErrorClass::Transient => "retries-exhausted",
                    ErrorClass::Permanent => "handler-permanent",
                    ErrorClass::Invalid => "decode-error",
                };
                let first = first_failure.lock().ok().and_then(|f| *f);
                return self
                    .dead_letter(&envelope, Some(pattern), reason, &error, attempts, first)
                    .await;
            }
        }
        Settle::Ack
    }

    async fn attempt(
        &self,
        handler: &HandlerKind,
        key: &DedupKey,
        envelope: Arc<Envelope>,
        ctx: Context,
    ) -> Result<Done, HandlerError> {
        match (&self.guard, handler) {
            #[cfg(feature = "postgres")]
            (Guard::Inbox(store), handler) => {
                use crate::idempotency::postgres::InboxOutcome;
                let handler = handler.clone();
                let retention = self.bus.inner.config.retention;
                let outcome = store
                    .run_in_transaction(key, retention, move |conn| match handler {
                        HandlerKind::Tx(h) => h.call(envelope, ctx, conn),
                        HandlerKind::Plain(h) => h.call(envelope, ctx),
                    })
                    .await
                    .map_err(HandlerError::transient)?;
                match outcome {
                    InboxOutcome::Handled => Ok(Done::Handled),
                    InboxOutcome::Duplicate => Ok(Done::Duplicate),
                    InboxOutcome::KeyReuse => Ok(Done::KeyReuse),
                    InboxOutcome::InProgress(_) => Err(HandlerError::msg(
                        ErrorClass::Transient,
                        "key claimed by another worker",
                    )),
                    InboxOutcome::Failed(error) => Err(error),
                }
            }
            (_, HandlerKind::Plain(h)) => {
                let _ = key;
                h.call(envelope, ctx).await.map(|()| Done::Handled)
            }
            #[cfg(feature = "postgres")]
            (_, HandlerKind::Tx(_)) => Err(HandlerError::msg(
                ErrorClass::Permanent,
                "transactional handler without an inbox",
            )),
        }
    }

    /// The same idempotency key arrived with other content: never handled, kept as invalid
    /// (both the store's claim and the inbox's transaction can find this).
    async fn dead_letter_key_reuse(&self, envelope: &Envelope, pattern: &SubjectPattern) -> Settle {
        let error = HandlerError::msg(
            ErrorClass::Invalid,
            "idempotency key reused with different content",
        );
        self.dead_letter(
            envelope,
            Some(pattern),
            "idempotency-key-reuse",
            &error,
            0,
            None,
        )
        .await
    }

    async fn dead_letter(
        &self,
        envelope: &Envelope,
        pattern: Option<&SubjectPattern>,
        reason: &str,
        error: &HandlerError,
        attempts: u32,
        first: Option<chrono::DateTime<Utc>>,
    ) -> Settle {
        let now = Utc::now();
        let original = envelope
            .to_structured()
            .unwrap_or_else(|_| envelope.data().unwrap_or_default().to_vec());
        let letter = DeadLetter {
            id: uuid::Uuid::now_v7().to_string(),
            group: Some(self.group.to_string()),
            handler: pattern.map(|p| p.as_str().to_owned()),
            reason: reason.to_owned(),
            error_class: error.class,
            error_chain: DeadLetter::truncate_chain(error.chain.clone()),
            attempts,
            first_failure: first.unwrap_or(now),
            last_failure: now,
            original,
            attributes: envelope.attributes(),
        };
        self.bus
            .inner
            .metrics
            .dead_lettered(envelope.ty(), &self.group);
        tracing::warn!(reason, error = %error, attempts, "event dead-lettered");
        if let Err(e) = self.bus.inner.dlq.put(letter).await {
            tracing::error!(error = %e, "writing the dead letter failed");
        }
        Settle::DeadLettered(DeadLetterSummary {
            group: self.group.to_string(),
            reason: reason.to_owned(),
            attempts,
        })
    }
}
