//! The registry-backed [`SchemaSource`] (feature `registry`): writer schemas fetched by id
//! from a Confluent-compatible registry through `eventschema-registry`'s typed client (its
//! `client` feature only: no server code), cached by the [`SchemaCatalog`] on first sight.
//!
//! How an id becomes a [`RegisteredSchema`]: `GET /schemas/ids/{id}` gives the text and
//! type; `GET /schemas/ids/{id}/versions` gives the (subject, version) pairs holding it.
//! The first pair in (subject, version) order is used, and the event `type` is the subject
//! with a trailing `-value` removed (Confluent's topic-name strategy; this repository names
//! subjects after the type, so for it the type *is* the subject). A different convention
//! is one closure away: [`RegistrySource::with_event_type`].
//!
//! Errors are classified for the bus: an id the registry does not have is `Ok(None)` (the
//! event is dead-lettered as `unknown-schema-version`); no answer, a timeout or a 5xx is
//! [`SourceError::Unavailable`] (retried, never dead-lettered for it); a schema the runtime
//! cannot use (references, Protobuf) is [`SourceError::Unusable`] (dead-lettered).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use eventschema_core::SchemaType;
use eventschema_registry::api::SchemaRequest;
pub use eventschema_registry::{Client, ClientError};

use crate::BoxFuture;
use crate::event::Event;
use crate::validation::{RegisteredSchema, SchemaCatalog, SchemaSource, SourceError};

/// How long one registry request may take before the fetch counts as unavailable.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

type TypeOf = dyn Fn(&str) -> String + Send + Sync;

/// Fetches writer schemas by id from a registry. Cheap to clone.
#[derive(Clone)]
pub struct RegistrySource {
    client: Client,
    event_type: Arc<TypeOf>,
}

impl fmt::Debug for RegistrySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistrySource")
            .field("url", &self.client.base_url())
            .finish_non_exhaustive()
    }
}

/// The default subject-to-type mapping: Confluent's `-value` suffix removed.
pub fn type_of_subject(subject: &str) -> String {
    subject.strip_suffix("-value").unwrap_or(subject).to_owned()
}

impl RegistrySource {
    /// A source for the registry at `url` (`http://host:port`), each request bounded by
    /// [`DEFAULT_TIMEOUT`].
    pub fn new(url: &str) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(DEFAULT_TIMEOUT)
            .build()
            .map_err(|source| ClientError::Transport {
                url: url.to_owned(),
                source,
            })?;
        Ok(Self::from_client(Client::with_http(url, http)?))
    }

    /// A source over a configured client.
    pub fn from_client(client: Client) -> Self {
        RegistrySource {
            client,
            event_type: Arc::new(type_of_subject),
        }
    }

    /// Replaces the subject-to-event-type mapping (see the module documentation).
    pub fn with_event_type(
        mut self,
        event_type: impl Fn(&str) -> String + Send + Sync + 'static,
    ) -> Self {
        self.event_type = Arc::new(event_type);
        self
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A catalog that fetches unknown ids through this source.
    pub fn catalog(self) -> SchemaCatalog {
        SchemaCatalog::with_source(Arc::new(self))
    }

    /// The producer side: registers `E`'s schema under `E::SUBJECT` (an existing identical
    /// version is found, not duplicated) and returns its id, for the `schemaid` attribute,
    /// and the registry's version number for it (which is `E::VERSION` only when the
    /// versions before it were registered in order).
    pub async fn register_event<E: Event>(&self) -> Result<(u64, u32), ClientError> {
        let request = SchemaRequest {
            schema: Some(serde_json::Value::String(E::SCHEMA.to_owned())),
            schema_type: match E::SCHEMA_TYPE {
                SchemaType::Avro => None,
                other => Some(other.as_str().to_owned()),
            },
            ..SchemaRequest::default()
        };
        let registered = self.client.register(E::SUBJECT, &request).await?;
        let id = u64::try_from(registered.id).unwrap_or_default();
        let version = match registered.version {
            Some(version) => u32::try_from(version).unwrap_or_default(),
            // Confluent 7.x answers `{"id"}` only: ask which version holds it.
            None => self
                .client
                .schema_versions(id)
                .await?
                .into_iter()
                .find(|held| held.subject == E::SUBJECT)
                .and_then(|held| u32::try_from(held.version).ok())
                .unwrap_or_default(),
        };
        Ok((id, version))
    }

    async fn fetch_registered(&self, id: u64) -> Result<Option<RegisteredSchema>, SourceError> {
        let schema = match self.client.schema_by_id(id).await {
            Ok(schema) => schema,
            Err(error) if error.is_not_found() => return Ok(None),
            Err(error) => return Err(classify(error)),
        };
        if !schema.references.is_empty() {
            let names: Vec<&str> = schema.references.iter().map(|r| r.name.as_str()).collect();
            return Err(SourceError::Unusable(format!(
                "it has references ({}); the runtime validates self-contained schemas only",
                names.join(", ")
            )));
        }
        let schema_type = match schema.schema_type.as_deref() {
            None | Some("AVRO") => SchemaType::Avro,
            Some("JSON") => SchemaType::Json,
            Some(other) => {
                return Err(SourceError::Unusable(format!(
                    "schema type {other} is not supported"
                )));
            }
        };
        let mut holders = match self.client.schema_versions(id).await {
            Ok(holders) => holders,
            Err(error) if error.is_not_found() => return Ok(None),
            Err(error) => return Err(classify(error)),
        };
        holders.sort_by(|a, b| (&a.subject, a.version).cmp(&(&b.subject, b.version)));
        let holder = holders
            .into_iter()
            .next()
            .ok_or_else(|| SourceError::Unusable("no subject version holds it".to_owned()))?;
        let version = u32::try_from(holder.version).map_err(|_| {
            SourceError::Unusable(format!("version {} is out of range", holder.version))
        })?;
        Ok(Some(RegisteredSchema {
            event_type: (self.event_type)(&holder.subject),
            subject: holder.subject,
            version,
            schema_type,
            schema: schema.schema,
        }))
    }
}

/// No answer or a server error is passing; any other refusal is about the request.
fn classify(error: ClientError) -> SourceError {
    match &error {
        ClientError::Api { status, .. } if *status < 500 && *status != 429 => {
            SourceError::Unusable(error.to_string())
        }
        _ => SourceError::Unavailable(error.to_string()),
    }
}

impl SchemaSource for RegistrySource {
    fn fetch(&self, id: u64) -> BoxFuture<'_, Result<Option<RegisteredSchema>, SourceError>> {
        Box::pin(self.fetch_registered(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_map_to_types() {
        assert_eq!(type_of_subject("orders.created-value"), "orders.created");
        assert_eq!(
            type_of_subject("orders.order-placed"),
            "orders.order-placed"
        );
        assert_eq!(type_of_subject("-value"), "");
    }

    #[test]
    fn only_urls_make_sources() {
        assert!(RegistrySource::new("not a url").is_err());
        assert!(RegistrySource::new("http://127.0.0.1:1").is_ok());
    }
}
