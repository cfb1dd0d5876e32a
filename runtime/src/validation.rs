//! Validation before any handler runs: the schema catalog (embedded schemas from generated
//! code, or writer schemas fetched from the registry by id on first sight), compiled once
//! and cached, and the checks that decide whether an event is dead-lettered as invalid.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

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
    /// The writer schema could not be fetched on any delivery the broker allowed.
    SchemaUnavailable,
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
            InvalidReason::SchemaUnavailable => "schema-unavailable",
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

/// Why a [`SchemaSource`] gave no schema for an id it was asked about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The source could not be asked (connection refused, timeout, a server error): a
    /// passing condition, so the event is retried later and never dead-lettered for it.
    #[error("the schema source is unavailable: {0}")]
    Unavailable(String),
    /// The source answered with something this runtime cannot use (a schema with
    /// references, Protobuf, no subject holding the id): the event is refused.
    #[error("{0}")]
    Unusable(String),
}

/// Where writer schemas come from when an event names a `schemaid` the catalog has not
/// seen: the registry (`registry::RegistrySource`, feature `registry`), or anything else
/// that maps ids to schemas. `Ok(None)` means the id does not exist.
pub trait SchemaSource: Send + Sync + 'static {
    fn fetch(&self, id: u64) -> BoxFuture<'_, Result<Option<RegisteredSchema>, SourceError>>;
}

/// Validation refused the event, or could not decide yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The event is invalid: it is dead-lettered with the reason.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The writer schema could not be fetched (the registry is down): try again later.
    #[error("schema id {id} cannot be fetched now: {reason}")]
    Unavailable { id: u64, reason: String },
}

impl CheckError {
    /// The refusal, when the event was found invalid (rather than undecided).
    pub fn into_invalid(self) -> Option<Invalid> {
        match self {
            CheckError::Invalid(invalid) => Some(invalid),
            CheckError::Unavailable { .. } => None,
        }
    }
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

/// The validator of a JSON Schema document. One without `$schema` is read as the newest
/// draft, and where it is not a schema of that draft (draft-7 array-form `items`, say) as
/// draft 7, the draft Confluent's serializers assume when none is named: the registry and
/// core accept both forms, so refusing one here would leave such an event type with no
/// validator at all.
fn json_validator(doc: &Value) -> Result<jsonschema::Validator, String> {
    match jsonschema::validator_for(doc) {
        Ok(validator) => Ok(validator),
        Err(newest) if doc.get("$schema").is_none() => {
            jsonschema::draft7::new(doc).map_err(|_| newest.to_string())
        }
        Err(error) => Err(error.to_string()),
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
                Compiled::Json(json_validator(&doc)?)
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
        self.check_parsed(envelope, None)
    }

    /// [`SchemaEntry::check`], given the JSON value the data was written from (its bytes
    /// are that value's encoding), so that it is not parsed again.
    fn check_parsed(&self, envelope: &Envelope, parsed: Option<&Value>) -> Result<(), Invalid> {
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
                let owned;
                let value = match parsed {
                    Some(value) => value,
                    None => {
                        owned = serde_json::from_slice::<Value>(data).map_err(|e| {
                            Invalid::new(
                                InvalidReason::SchemaMismatch,
                                format!("data is not JSON: {e}"),
                            )
                        })?;
                        &owned
                    }
                };
                if validator.is_valid(value) {
                    return Ok(());
                }
                let errors: Vec<String> = validator
                    .iter_errors(value)
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
    /// One lock per id being fetched, so that concurrent first sights make one request.
    fetching: Mutex<HashMap<u64, Arc<tokio::sync::Mutex<()>>>>,
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

    fn cached(&self, id: u64) -> Option<Arc<SchemaEntry>> {
        self.by_id.read().ok().and_then(|m| m.get(&id).cloned())
    }

    async fn by_id(&self, id: u64) -> Result<Arc<SchemaEntry>, CheckError> {
        if let Some(entry) = self.cached(id) {
            return Ok(entry);
        }
        let unknown = || {
            Invalid::new(
                InvalidReason::UnknownSchemaVersion,
                format!("unknown schema id {id}"),
            )
        };
        let source = self.source.as_ref().ok_or_else(unknown)?;
        let gate = match self.fetching.lock() {
            Ok(mut fetching) => fetching.entry(id).or_default().clone(),
            // A poisoned map only costs the single flight, not correctness.
            Err(_) => Arc::default(),
        };
        let _turn = gate.lock().await;
        // Whoever held the gate before us may have fetched it already.
        if let Some(entry) = self.cached(id) {
            return Ok(entry);
        }
        let result = self.fetch(source.as_ref(), id).await;
        // Done (cached, or failed and free to be tried again): later first sights need
        // no gate; those already waiting on this one re-check the cache.
        if let Ok(mut fetching) = self.fetching.lock()
            && fetching.get(&id).is_some_and(|g| Arc::ptr_eq(g, &gate))
        {
            fetching.remove(&id);
        }
        result
    }

    async fn fetch(
        &self,
        source: &dyn SchemaSource,
        id: u64,
    ) -> Result<Arc<SchemaEntry>, CheckError> {
        let registered = match source.fetch(id).await {
            Ok(Some(registered)) => registered,
            Ok(None) => {
                return Err(Invalid::new(
                    InvalidReason::UnknownSchemaVersion,
                    format!("unknown schema id {id}: the registry does not have it"),
                )
                .into());
            }
            Err(SourceError::Unavailable(reason)) => {
                return Err(CheckError::Unavailable { id, reason });
            }
            Err(SourceError::Unusable(reason)) => {
                return Err(Invalid::new(
                    InvalidReason::UnknownSchemaVersion,
                    format!("schema id {id} cannot be used: {reason}"),
                )
                .into());
            }
        };
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
    /// checks the payload against it. An event naming only a `schemaid` is read with that
    /// id's version: see [`SchemaCatalog::admit`].
    pub async fn validate(&self, envelope: &Envelope) -> Result<Arc<SchemaEntry>, CheckError> {
        self.validate_parsed(envelope, None).await
    }

    async fn validate_parsed(
        &self,
        envelope: &Envelope,
        parsed: Option<&Value>,
    ) -> Result<Arc<SchemaEntry>, CheckError> {
        let entry = if let Some(id) = envelope.extension(ext::SCHEMA_ID) {
            let id: u64 = id.parse().map_err(|_| {
                Invalid::new(InvalidReason::MalformedEnvelope, format!("schemaid `{id}`"))
            })?;
            let entry = self.by_id(id).await?;
            let registered = &entry.registered;
            if registered.event_type != envelope.ty() {
                return Err(Invalid::new(
                    InvalidReason::UnknownSchemaVersion,
                    format!(
                        "schema id {id} describes `{}`, not `{}`",
                        registered.event_type,
                        envelope.ty()
                    ),
                )
                .into());
            }
            if let Some(version) = envelope.extension(ext::SCHEMA_VERSION)
                && version != registered.version.to_string()
            {
                return Err(Invalid::new(
                    InvalidReason::UnknownSchemaVersion,
                    format!(
                        "schemaversion {version} disagrees with schema id {id} (version {} of `{}`)",
                        registered.version, registered.subject
                    ),
                )
                .into());
            }
            entry
        } else {
            if !self.knows_type(envelope.ty()) {
                return Err(Invalid::new(
                    InvalidReason::UnknownType,
                    format!("no schema for type `{}`", envelope.ty()),
                )
                .into());
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
        entry.check_parsed(envelope, parsed)?;
        Ok(entry)
    }

    /// [`SchemaCatalog::validate`], then stamps `schemaversion` from the writer schema when
    /// the producer named only a `schemaid`, so that handlers decode (and upcast) from the
    /// version actually written rather than assuming their own.
    pub async fn admit(&self, envelope: &mut Envelope) -> Result<Arc<SchemaEntry>, CheckError> {
        self.admit_parsed(envelope, None).await
    }

    /// [`SchemaCatalog::admit`] of an envelope whose data is the encoding of `parsed`.
    pub(crate) async fn admit_parsed(
        &self,
        envelope: &mut Envelope,
        parsed: Option<&Value>,
    ) -> Result<Arc<SchemaEntry>, CheckError> {
        let entry = self.validate_parsed(envelope, parsed).await?;
        if envelope.extension(ext::SCHEMA_VERSION).is_none() {
            envelope
                .set_extension(ext::SCHEMA_VERSION, entry.registered.version.to_string())
                .map_err(|e| Invalid::new(InvalidReason::MalformedEnvelope, e.to_string()))?;
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn json_without_dollar_schema_falls_back_to_draft_7() {
        // Draft-7 tuple `items` is not a 2020-12 schema; Confluent reads it as draft 7.
        let tuple = serde_json::json!({
            "type": "array",
            "items": [{"type": "number"}, {"type": "string"}],
            "additionalItems": false
        });
        let validator = json_validator(&tuple).unwrap();
        assert!(validator.is_valid(&serde_json::json!([1, "a"])));
        assert!(!validator.is_valid(&serde_json::json!(["a", 1])));
        assert!(!validator.is_valid(&serde_json::json!([1, "a", true])));
        // A document that names its draft is not read as another one.
        let mut named = tuple;
        named["$schema"] = "https://json-schema.org/draft/2020-12/schema".into();
        assert!(json_validator(&named).is_err());
    }

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
            .unwrap_err()
            .into_invalid()
            .unwrap();
        assert_eq!(err.reason, InvalidReason::SchemaMismatch);
        assert!(err.detail.contains("/n"), "{}", err.detail);
        let err = catalog
            .validate(&event(br#"{"n":1}"#, "2"))
            .await
            .unwrap_err()
            .into_invalid()
            .unwrap();
        assert_eq!(err.reason, InvalidReason::UnknownSchemaVersion);
        let err = catalog
            .validate(&event(b"\x00garbage", "1"))
            .await
            .unwrap_err()
            .into_invalid()
            .unwrap();
        assert_eq!(err.reason, InvalidReason::SchemaMismatch);
        let mut other = event(br#"{"n":1}"#, "1");
        other.set_attribute("type", "other.type").unwrap();
        let err = catalog
            .validate(&other)
            .await
            .unwrap_err()
            .into_invalid()
            .unwrap();
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
            catalog
                .validate(&e)
                .await
                .unwrap_err()
                .into_invalid()
                .unwrap()
                .reason,
            InvalidReason::SchemaMismatch
        );
        e.set_data(vec![0xff]);
        assert!(catalog.validate(&e).await.is_err());
    }

    struct Fixed;
    impl SchemaSource for Fixed {
        fn fetch(&self, id: u64) -> BoxFuture<'_, Result<Option<RegisteredSchema>, SourceError>> {
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
            catalog
                .validate(&e)
                .await
                .unwrap_err()
                .into_invalid()
                .unwrap()
                .reason,
            InvalidReason::UnknownSchemaVersion
        );
    }

    /// Counts fetches; answers slowly, and fails while `down`.
    struct Counting {
        fetches: std::sync::atomic::AtomicUsize,
        down: std::sync::atomic::AtomicBool,
    }

    impl SchemaSource for Counting {
        fn fetch(&self, id: u64) -> BoxFuture<'_, Result<Option<RegisteredSchema>, SourceError>> {
            use std::sync::atomic::Ordering;
            Box::pin(async move {
                self.fetches.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                if self.down.load(Ordering::SeqCst) {
                    return Err(SourceError::Unavailable("connection refused".into()));
                }
                Ok((id == 9).then(|| json_schema(3)))
            })
        }
    }

    #[tokio::test]
    async fn concurrent_first_sights_fetch_once_and_failures_are_not_cached() {
        use std::sync::atomic::Ordering;
        let source = Arc::new(Counting {
            fetches: Default::default(),
            down: std::sync::atomic::AtomicBool::new(true),
        });
        let catalog = Arc::new(SchemaCatalog::with_source(source.clone()));
        let mut e = event(br#"{"n":1}"#, "3");
        e.set_extension(ext::SCHEMA_ID, "9").unwrap();
        let err = catalog.validate(&e).await.unwrap_err();
        assert!(
            matches!(&err, CheckError::Unavailable { id: 9, reason } if reason.contains("refused")),
            "{err:?}"
        );
        source.down.store(false, Ordering::SeqCst);
        let before = source.fetches.load(Ordering::SeqCst);
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let catalog = catalog.clone();
                let e = e.clone();
                tokio::spawn(async move { catalog.validate(&e).await.map(|_| ()) })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(source.fetches.load(Ordering::SeqCst) - before, 1);
        assert!(catalog.fetching.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn admit_stamps_the_version_of_the_id() {
        let catalog = SchemaCatalog::with_source(Arc::new(Fixed));
        let mut e = Envelope::new("1", "/s", "orders.created").unwrap();
        e.set_extension(ext::SCHEMA_ID, "9").unwrap();
        e.set_data(br#"{"n":1}"#.to_vec());
        catalog.admit(&mut e).await.unwrap();
        assert_eq!(e.extension(ext::SCHEMA_VERSION), Some("3"));
        e.set_extension(ext::SCHEMA_VERSION, "2").unwrap();
        let err = catalog
            .admit(&mut e)
            .await
            .unwrap_err()
            .into_invalid()
            .unwrap();
        assert_eq!(err.reason, InvalidReason::UnknownSchemaVersion);
    }
}
