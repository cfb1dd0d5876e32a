//! A typed publisher: fills the envelope (id, time, source, schema version, keys,
//! correlation), registers the event's schema with the bus's catalog on first use, and
//! validates before sending, so an invalid event is an error for the producer rather than
//! a dead letter for the consumers.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::bus::{Bus, PublishOutcome};
use crate::envelope::ext;
use crate::error::{EnvelopeError, PublishError, SubscribeError};
use crate::event::Event;
use crate::validation::{CheckError, Invalid};

/// Publishing through a [`Publisher`] failed; nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    /// The event does not match its own schema.
    #[error("the event does not match its schema: {0}")]
    Invalid(Invalid),
    /// The event type's schema does not compile.
    #[error(transparent)]
    Schema(#[from] SubscribeError),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// Publishes events of any [`Event`] type through a bus. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Publisher {
    bus: Bus,
    source: Option<String>,
    correlation: Option<String>,
    registered: Arc<Mutex<HashSet<(&'static str, u32)>>>,
}

impl Publisher {
    pub fn new(bus: &Bus) -> Self {
        Publisher {
            bus: bus.clone(),
            source: None,
            correlation: None,
            registered: Arc::default(),
        }
    }

    /// The `source` of events published through the returned publisher (by default the
    /// bus's `BusConfig::source`).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Stamps `correlationid` on every event published through the returned publisher
    /// (by default each event correlates with itself).
    pub fn with_correlation(mut self, correlation_id: impl Into<String>) -> Self {
        self.correlation = Some(correlation_id.into());
        self
    }

    fn register<E: Event>(&self) -> Result<(), SubscribeError> {
        let key = (E::TYPE, E::VERSION);
        let known = self.registered.lock().is_ok_and(|set| set.contains(&key));
        if !known {
            self.bus.catalog().register_event::<E>()?;
            if let Ok(mut set) = self.registered.lock() {
                set.insert(key);
            }
        }
        Ok(())
    }

    /// Validates `event` against its schema and publishes it.
    pub async fn publish<E: Event>(&self, event: &E) -> Result<PublishOutcome, ProduceError> {
        self.register::<E>()?;
        let mut envelope = self.bus.envelope_for(event, None)?;
        if let Some(source) = &self.source {
            envelope.set_attribute("source", source)?;
        }
        if let Some(correlation) = &self.correlation {
            envelope.set_extension(ext::CORRELATION_ID, correlation.clone())?;
        }
        self.bus
            .catalog()
            .validate(&envelope)
            .await
            .map_err(|error| match error {
                CheckError::Invalid(invalid) => ProduceError::Invalid(invalid),
                unavailable @ CheckError::Unavailable { .. } => {
                    ProduceError::Publish(PublishError::SchemaUnavailable(unavailable.to_string()))
                }
            })?;
        Ok(self.bus.publish_envelope(envelope).await?)
    }
}
