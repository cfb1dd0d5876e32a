//! Consumers declared with `#[eventschema::consumer(group = "...")]`: one type, one
//! handler method per event type, registered with one call, [`Bus::register`]. Decoding
//! (with upcasting through [`Event::decode_version`]), validation, idempotency, retries and
//! dead letters are the bus's, exactly as for `bus.subscribe(..).on(..)`.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use crate::bus::{Bus, Context, Subscription};
use crate::envelope::{Envelope, ext};
use crate::error::{ErrorClass, HandlerError, SubscribeError};
use crate::event::Event;

/// A consumer group's handlers, implemented by `#[eventschema::consumer]`.
pub trait Consumer: Send + Sync + 'static {
    /// The consumer group: every group gets every event, instances of a group share them.
    const GROUP: &'static str;

    /// Adds one handler per event type to `handlers`.
    fn handlers(self: Arc<Self>, handlers: Handlers) -> Result<Handlers, SubscribeError>;
}

/// A shared consumer (`bus.register(Arc::clone(&consumer))`) is the consumer itself.
impl<C: Consumer> Consumer for Arc<C> {
    const GROUP: &'static str = C::GROUP;

    fn handlers(self: Arc<Self>, handlers: Handlers) -> Result<Handlers, SubscribeError> {
        C::handlers(Arc::clone(&self), handlers)
    }
}

/// The handlers of one consumer instance being registered.
#[derive(Debug)]
pub struct Handlers {
    bus: Bus,
    subscription: Subscription,
    group: &'static str,
    types: BTreeSet<&'static str>,
    #[cfg(feature = "postgres")]
    inbox: Option<crate::idempotency::postgres::PgStore>,
}

/// Reads the handler's type from an envelope: the version written (`schemaversion`, else
/// the type's own), upcast to `E` by [`Event::decode_version`].
pub fn decode_envelope<E: Event>(envelope: &Envelope) -> Result<E, HandlerError> {
    let invalid = |message: String| HandlerError::msg(ErrorClass::Invalid, message);
    let version = match envelope.extension(ext::SCHEMA_VERSION) {
        Some(v) => v
            .parse::<u32>()
            .map_err(|_| invalid(format!("decode-error: schemaversion `{v}`")))?,
        None => E::VERSION,
    };
    E::decode_version(version, envelope.data().unwrap_or_default())
        .map_err(|e| invalid(format!("decode-error: {e}")))
}

impl Handlers {
    fn claim_type<E: Event>(&mut self) -> Result<(), SubscribeError> {
        if self.types.insert(E::TYPE) {
            Ok(())
        } else {
            Err(SubscribeError::DuplicateHandler {
                group: self.group.to_owned(),
                ty: E::TYPE.to_owned(),
            })
        }
    }

    /// Handles `E` (any version `E::decode_version` reads) with `handler`.
    pub fn on<E, F, Fut>(mut self, handler: F) -> Result<Self, SubscribeError>
    where
        E: Event,
        F: Fn(E, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        self.claim_type::<E>()?;
        self.bus.catalog().register_event::<E>()?;
        self.subscription = self.subscription.on_pattern(
            E::TYPE,
            move |envelope: Arc<Envelope>, ctx: Context| -> crate::BoxFuture<'static, _> {
                match decode_envelope::<E>(&envelope) {
                    Ok(event) => Box::pin(handler(event, ctx)),
                    Err(error) => Box::pin(std::future::ready(Err(error))),
                }
            },
        )?;
        Ok(self)
    }
}

impl Bus {
    /// Subscribes every handler of `consumer` in its group and starts it. Pass an
    /// `Arc` to keep a handle on the consumer.
    pub fn register<C: Consumer>(&self, consumer: C) -> Result<(), SubscribeError> {
        self.register_with(consumer, |subscription| subscription)
    }

    /// [`Bus::register`], with the subscription configured first (idempotency store,
    /// retry policy).
    pub fn register_with<C: Consumer>(
        &self,
        consumer: C,
        configure: impl FnOnce(Subscription) -> Subscription,
    ) -> Result<(), SubscribeError> {
        let handlers = Handlers {
            bus: self.clone(),
            subscription: configure(self.subscribe(C::GROUP)),
            group: C::GROUP,
            types: BTreeSet::new(),
            #[cfg(feature = "postgres")]
            inbox: None,
        };
        Arc::new(consumer).handlers(handlers)?.subscription.start()
    }

    /// [`Bus::register`] for a consumer with inbox handlers (methods taking
    /// `&mut PgConnection`): every handler of the consumer then runs inside the inbox
    /// transaction of `store`, its writes committed together with the idempotency key.
    #[cfg(feature = "postgres")]
    pub fn register_inbox<C: Consumer>(
        &self,
        consumer: C,
        store: crate::idempotency::postgres::PgStore,
    ) -> Result<(), SubscribeError> {
        let handlers = Handlers {
            bus: self.clone(),
            subscription: self.subscribe(C::GROUP),
            group: C::GROUP,
            types: BTreeSet::new(),
            inbox: Some(store),
        };
        Arc::new(consumer).handlers(handlers)?.subscription.start()
    }
}

#[cfg(feature = "postgres")]
pub use inbox::TxMethod;

#[cfg(feature = "postgres")]
mod inbox {
    use super::*;
    use crate::BoxFuture;
    use crate::bus::TxHandler;
    use sqlx::PgConnection;

    /// A consumer's inbox handler method, as `#[consumer]` adapts it.
    pub type TxMethod<C, E> = for<'c> fn(
        &'c C,
        E,
        Context,
        &'c mut PgConnection,
    ) -> BoxFuture<'c, Result<(), HandlerError>>;

    struct Adapter<C, E> {
        consumer: Arc<C>,
        method: TxMethod<C, E>,
    }

    impl<C: Send + Sync + 'static, E: Event> TxHandler<E> for Adapter<C, E> {
        fn handle<'c>(
            &'c self,
            event: E,
            ctx: Context,
            conn: &'c mut PgConnection,
        ) -> BoxFuture<'c, Result<(), HandlerError>> {
            (self.method)(&self.consumer, event, ctx, conn)
        }
    }

    impl Handlers {
        /// Handles `E` with `method` inside the inbox transaction (the consumer must be
        /// registered with [`Bus::register_inbox`]).
        pub fn on_tx<C: Send + Sync + 'static, E: Event>(
            mut self,
            consumer: Arc<C>,
            method: TxMethod<C, E>,
        ) -> Result<Self, SubscribeError> {
            self.claim_type::<E>()?;
            let store = self
                .inbox
                .clone()
                .ok_or_else(|| SubscribeError::NoInbox(self.group.to_owned()))?;
            self.subscription = self
                .subscription
                .on_tx(store, Adapter { consumer, method })?;
            Ok(self)
        }
    }
}
