//! Validation before any handler runs: the schema catalog (embedded schemas from generated
//! code, or writer schemas fetched from the registry by id on first sight), compiled once
//! and cached, and the checks that decide whether an event is dead-lettered as invalid.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, RwLock};

use eventschema_core::{Limits, ParsedSchema, SchemaType};
use serde_json::Value;

use crate::BoxFuture;
use crate::envelope::{Envelope, ext};
use crate::error::SubscribeError;
use crate::event::Event;

/// Why an event was refused before reaching a handler; `as_str` is the DLQ `dlqreason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvalidReason {
    /// Not decodable as a CloudEvent (garbage bytes, missing or malformed attributes).
    MalformedEnvelope,
    /// `specversion` other than "1.0".
    UnsupportedSpecVersion,
    /// Larger than the configured limit.
    Oversized,
    /// No schema is known for the event's `type`.
    UnknownType,
    /// The `type` is known but not the `schemaversion` (or `schemaid`).
    UnknownSchemaVersion,
    /// A required runtime attribute (e.g. `schemaversion`) is absent.
    MissingAttribute,
    /// The payload does not match its schema (or does not decode with it).
    SchemaMismatch,
    /// The handler's type could not be produced (decode or upcast failed).
    DecodeError,
}

impl InvalidReason {
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::MalformedEnvelope => "malformed-envelope",
            InvalidReason::UnsupportedSpecVersion => "unsupported-specversion",
            InvalidReason::Oversized => "oversized",
            InvalidReason::UnknownType => "unknown-type",
            InvalidReason::UnknownSchemaVersion => "unknown-schema-version",
            InvalidReason::MissingAttribute => "missing-attribute",
            InvalidReason::SchemaMismatch => "schema-mismatch",
            InvalidReason::DecodeError => "decode-error",
        }
    }
}

/// A validation failure: the reason code and human-readable details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {detail}", reason.as_str())]
pub struct Invalid {
    pub reason: InvalidReason,
    pub detail: String,
}

impl Invalid {
    pub fn new(reason: InvalidReason, detail: impl Into<String>) -> Self {
        Invalid {
            reason,
            detail: detail.into(),
        }
    }
}

/// A schema as the registry knows it: which event type and version it describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredSchema {
    /// The CloudEvents `type` this schema describes.
    pub event_type: String,
    pub subject: String,
    pub version: u32,
    pub schema_type: SchemaType,
    pub schema: String,
}

/// Where writer schemas come from when an event names a `schemaid` the catalog has not
/// seen: the registry client implements this (a later issue); tests use the embedded mode.
pub trait SchemaSource: Send + Sync + 'static {
    fn fetch(&self, id: u64) -> BoxFuture<'_, Result<Option<RegisteredSchema>, String>>;
}

enum Compiled {
    Json(jsonschema::Validator),
    Avro(apache_avro::Schema),
}

/// One schema version, compiled.
pub struct SchemaEntry {
    pub registered: RegisteredSchema,
    pub id: Option<u64>,
    compiled: Compiled,
}

impl fmt::Debug for SchemaEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaEntry")
            .field("registered", &self.registered)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SchemaEntry {
    fn compile(registered: RegisteredSchema, id: Option<u64>) -> Result<Self, String> {
        // The schema model is core's: it must parse there before we compile a validator.
        ParsedSchema::parse_standalone(
            registered.schema_type,
            &registered.schema,
            &Limits::default(),
        )
        .map_err(|e| e.to_string())?;
        let compiled = match registered.schema_type {
            SchemaType::Json => {
                let doc: Value =
                    serde_json::from_str(&registered.schema).map_err(|e| e.to_string())?;
                Compiled::Json(jsonschema::validator_for(&doc).map_err(|e| e.to_string())?)
            }
            SchemaType::Avro => Compiled::Avro(
                apache_avro::Schema::parse_str(&registered.schema).map_err(|e| e.to_string())?,
            ),
            SchemaType::Protobuf => return Err("PROTOBUF is not supported".to_owned()),
        };
        Ok(SchemaEntry {
            registered,
            id,
            compiled,
        })
    }

    /// Checks a payload against this schema: JSON Schema validation, or an Avro decode
    /// with this (writer) schema that must consume every byte.
    pub fn check(&self, envelope: &Envelope) -> Result<(), Invalid> {
        let data = envelope.data().ok_or_else(|| {
            Invalid::new(InvalidReason::SchemaMismatch, "the event carries no data")
        })?;
        match &self.compiled {
            Compiled::Json(validator) => {
                if !envelope.data_is_json() {
                    return Err(Invalid::new(
                        InvalidReason::SchemaMismatch,
                        "JSON Schema event with a non-JSON datacontenttype",
                    ));
                }
                let value: Value = serde_json::from_slice(data).map_err(|e| {
                    Invalid::new(
                        InvalidReason::SchemaMismatch,
                        format!("data is not JSON: {e}"),
                    )
                })?;
                if validator.is_valid(&value) {
                    return Ok(());
                }
                let errors: Vec<String> = validator
                    .iter_errors(&value)
                    .take(10)
                    .map(|e| format!("at `{}`: {e}", e.instance_path()))
                    .collect();
                Err(Invalid::new(
                    InvalidReason::SchemaMismatch,
                    errors.join("; "),
                ))
            }
            Compiled::Avro(schema) => {
                let mut reader = data;
                apache_avro::reader::datum::GenericDatumReader::builder(schema)
                    .build()
                    .and_then(|r| r.read_value(&mut reader))
                    .map_err(|e| {
                        Invalid::new(
                            InvalidReason::SchemaMismatch,
                            format!("Avro decode with the writer schema failed: {e}"),
                        )
                    })?;
                if !reader.is_empty() {
                    return Err(Invalid::new(
                        InvalidReason::SchemaMismatch,
                        format!("{} trailing bytes after the Avro datum", reader.len()),
                    ));
                }
                Ok(())
            }
        }
    }
}

/// The known event types and schema versions, compiled once and shared by every group.
#[derive(Default)]
pub struct SchemaCatalog {
    by_type: RwLock<HashMap<String, BTreeMap<u32, Arc<SchemaEntry>>>>,
    by_id: RwLock<HashMap<u64, Arc<SchemaEntry>>>,
    source: Option<Arc<dyn SchemaSource>>,
}

impl fmt::Debug for SchemaCatalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaCatalog")
            .field("fetches", &self.source.is_some())
            .finish_non_exhaustive()
    }
}

impl SchemaCatalog {
    /// An embedded catalog: only schemas registered from code.
    pub fn new() -> Self {
        Self::default()
    }

    /// A catalog that fetches unknown schema ids from `source` (the registry) and caches them.
    pub fn with_source(source: Arc<dyn SchemaSource>) -> Self {
        SchemaCatalog {
            source: Some(source),
            ..Self::default()
        }
    }

    /// Registers the schema of an [`Event`] type (embedded mode).
    pub fn register_event<E: Event>(&self) -> Result<(), SubscribeError> {
        self.register(
            RegisteredSchema {
                event_type: E::TYPE.to_owned(),
                subject: E::SUBJECT.to_owned(),
                version: E::VERSION,
                schema_type: E::SCHEMA_TYPE,
                schema: E::SCHEMA.to_owned(),
            },
            E::SCHEMA_ID,
        )
    }

    /// Registers one schema version, compiling it now.
    pub fn register(
        &self,
        registered: RegisteredSchema,
        id: Option<u64>,
    ) -> Result<(), SubscribeError> {
        let (ty, version) = (registered.event_type.clone(), registered.version);
        let entry =
            SchemaEntry::compile(registered, id).map_err(|reason| SubscribeError::Schema {
                ty: ty.clone(),
                version,
                reason,
            })?;
        self.insert(Arc::new(entry));
        Ok(())
    }

    fn insert(&self, entry: Arc<SchemaEntry>) {
        if let Some(id) = entry.id
            && let Ok(mut by_id) = self.by_id.write()
        {
            by_id.insert(id, entry.clone());
        }
        if let Ok(mut by_type) = self.by_type.write() {
            by_type
                .entry(entry.registered.event_type.clone())
                .or_default()
                .insert(entry.registered.version, entry);
        }
    }

    /// Whether any schema is registered for `ty`.
    pub fn knows_type(&self, ty: &str) -> bool {
        self.by_type.read().is_ok_and(|m| m.contains_key(ty))
    }

    fn by_version(&self, ty: &str, version: u32) -> Result<Arc<SchemaEntry>, Invalid> {
        let map = self
            .by_type
            .read()
            .map_err(|_| Invalid::new(InvalidReason::UnknownType, "schema catalog poisoned"))?;
        let versions = map.get(ty).ok_or_else(|| {
            Invalid::new(
                InvalidReason::UnknownType,
                format!("no schema for type `{ty}`"),
            )
        })?;
        versions.get(&version).cloned().ok_or_else(|| {
            Invalid::new(
                InvalidReason::UnknownSchemaVersion,
                format!("type `{ty}` has no schema version {version}"),
            )
        })
    }

    async fn by_id(&self, id: u64) -> Result<Arc<SchemaEntry>, Invalid> {
        let cached = self.by_id.read().ok().and_then(|m| m.get(&id).cloned());
        if let Some(entry) = cached {
            return Ok(entry);
        }
        let unknown = || {
            Invalid::new(
                InvalidReason::UnknownSchemaVersion,
                format!("unknown schema id {id}"),
            )
        };
        let source = self.source.as_ref().ok_or_else(unknown)?;
        let registered = source
            .fetch(id)
            .await
            .map_err(|e| {
                Invalid::new(
                    InvalidReason::UnknownSchemaVersion,
                    format!("fetching schema id {id} failed: {e}"),
                )
            })?
            .ok_or_else(unknown)?;
        let entry = SchemaEntry::compile(registered, Some(id)).map_err(|e| {
            Invalid::new(
                InvalidReason::UnknownSchemaVersion,
                format!("schema id {id} does not compile: {e}"),
            )
        })?;
        let entry = Arc::new(entry);
        self.insert(entry.clone());
        Ok(entry)
    }

    /// Finds the event's writer schema (by `schemaid`, else `type` + `schemaversion`) and
    /// checks the payload against it.
    pub async fn validate(&self, envelope: &Envelope) -> Result<Arc<SchemaEntry>, Invalid> {
        let entry = if let Some(id) = envelope.extension(ext::SCHEMA_ID) {
            let id: u64 = id.parse().map_err(|_| {
                Invalid::new(InvalidReason::MalformedEnvelope, format!("schemaid `{id}`"))
            })?;
            let entry = self.by_id(id).await?;
            if entry.registered.event_type != envelope.ty() {
                return Err(Invalid::new(
                    InvalidReason::UnknownSchemaVersion,
                    format!(
                        "schema id {id} describes `{}`, not `{}`",
                        entry.registered.event_type,
                        envelope.ty()
                    ),
                ));
            }
            entry
        } else {
            if !self.knows_type(envelope.ty()) {
                return Err(Invalid::new(
                    InvalidReason::UnknownType,
                    format!("no schema for type `{}`", envelope.ty()),
                ));
            }
            let version = envelope.extension(ext::SCHEMA_VERSION).ok_or_else(|| {
                Invalid::new(
                    InvalidReason::MissingAttribute,
                    "missing `schemaversion` (or `schemaid`)",
                )
            })?;
            let version: u32 = version.parse().map_err(|_| {
                Invalid::new(
                    InvalidReason::MalformedEnvelope,
                    format!("schemaversion `{version}` is not a positive integer"),
                )
            })?;
            self.by_version(envelope.ty(), version)?
        };
        entry.check(envelope)?;
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn json_schema(version: u32) -> RegisteredSchema {
        RegisteredSchema {
            event_type: "orders.created".into(),
            subject: "orders.created".into(),
            version,
            schema_type: SchemaType::Json,
            schema: r#"{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}"#
                .into(),
        }
    }

    fn event(data: &[u8], version: &str) -> Envelope {
        let mut e = Envelope::new("1", "/s", "orders.created").unwrap();
        e.set_extension(ext::SCHEMA_VERSION, version).unwrap();
        e.set_data(data.to_vec());
        e
    }

    #[tokio::test]
    async fn json_schema_checks() {
        let catalog = SchemaCatalog::new();
        catalog.register(json_schema(1), None).unwrap();
        assert!(catalog.validate(&event(br#"{"n":1}"#, "1")).await.is_ok());
        let err = catalog
            .validate(&event(br#"{"n":"x"}"#, "1"))
            .await
            .unwrap_err();
        assert_eq!(err.reason, InvalidReason::SchemaMismatch);
        assert!(err.detail.contains("/n"), "{}", err.detail);
        let err = catalog
            .validate(&event(br#"{"n":1}"#, "2"))
            .await
            .unwrap_err();
        assert_eq!(err.reason, InvalidReason::UnknownSchemaVersion);
        let err = catalog
            .validate(&event(b"\x00garbage", "1"))
            .await
            .unwrap_err();
        assert_eq!(err.reason, InvalidReason::SchemaMismatch);
        let mut other = event(br#"{"n":1}"#, "1");
        other.set_attribute("type", "other.type").unwrap();
        let err = catalog.validate(&other).await.unwrap_err();
        assert_eq!(err.reason, InvalidReason::UnknownType);
    }

    #[tokio::test]
    async fn avro_decodes_with_the_writer_schema() {
        let catalog = SchemaCatalog::new();
        let schema = r#"{"type":"record","name":"R","fields":[{"name":"n","type":"long"}]}"#;
        catalog
            .register(
                RegisteredSchema {
                    event_type: "orders.created".into(),
                    subject: "orders.created".into(),
                    version: 1,
                    schema_type: SchemaType::Avro,
                    schema: schema.into(),
                },
                Some(7),
            )
            .unwrap();
        let mut e = Envelope::new("1", "/s", "orders.created").unwrap();
        e.set_datacontenttype("application/avro").unwrap();
        e.set_extension(ext::SCHEMA_ID, "7").unwrap();
        e.set_data(vec![0x54]); // zigzag 42
        assert!(catalog.validate(&e).await.is_ok());
        e.set_data(vec![0x54, 0x01]);
        assert_eq!(
            catalog.validate(&e).await.unwrap_err().reason,
            InvalidReason::SchemaMismatch
        );
        e.set_data(vec![0xff]);
        assert!(catalog.validate(&e).await.is_err());
    }

    struct Fixed;
    impl SchemaSource for Fixed {
        fn fetch(&self, id: u64) -> BoxFuture<'_, Result<Option<RegisteredSchema>, String>> {
            Box::pin(async move { Ok((id == 9).then(|| json_schema(3))) })
        }
    }

    #[tokio::test]
    async fn unknown_ids_are_fetched_once_and_cached() {
        let catalog = SchemaCatalog::with_source(Arc::new(Fixed));
        let mut e = event(br#"{"n":1}"#, "3");
        e.set_extension(ext::SCHEMA_ID, "9").unwrap();
        assert!(catalog.validate(&e).await.is_ok());
        assert!(catalog.by_id.read().unwrap().contains_key(&9));
        e.set_extension(ext::SCHEMA_ID, "10").unwrap();
        assert_eq!(
            catalog.validate(&e).await.unwrap_err().reason,
            InvalidReason::UnknownSchemaVersion
        );
    }
}
