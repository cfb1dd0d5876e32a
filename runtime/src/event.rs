//! The `Event` trait: the contract that generated code and `#[derive(Event)]` implement,
//! linking a Rust type to its registry subject, schema version and CloudEvents type.

use eventschema_core::SchemaType;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::CodecError;

/// A Rust type that is one version of a registered event schema.
///
/// Everything is an associated const or fn, so a derive macro or the code generator can
/// implement it without state. Example (what a derive would emit):
///
/// ```
/// use eventschema::{Event, CodecError, SchemaType};
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct OrderCreated { order_id: String }
/// impl Event for OrderCreated {
///     const TYPE: &'static str = "orders.created";
///     const SUBJECT: &'static str = "orders.created-value";
///     const VERSION: u32 = 1;
///     const SCHEMA_TYPE: SchemaType = SchemaType::Json;
///     const SCHEMA: &'static str = r#"{"type":"object","required":["order_id"]}"#;
///     fn partition_key(&self) -> Option<String> { Some(self.order_id.clone()) }
///     fn encode(&self) -> Result<Vec<u8>, CodecError> { eventschema::json_encode(self) }
///     fn decode(bytes: &[u8]) -> Result<Self, CodecError> { eventschema::json_decode(bytes) }
/// }
/// ```
pub trait Event: Sized + Send + 'static {
    /// The CloudEvents `type` (reverse-DNS or dotted); the bus routes on its tokens.
    /// The same for every version of one event.
    const TYPE: &'static str;
    /// The registry subject the schema is registered under.
    const SUBJECT: &'static str;
    /// The schema version under `SUBJECT` this Rust type is (the `schemaversion` extension).
    const VERSION: u32;
    /// The schema's format.
    const SCHEMA_TYPE: SchemaType;
    /// The schema text (embedded mode: validation needs no registry).
    const SCHEMA: &'static str;
    /// The registry's schema id, when generated from a registry (the `schemaid` extension).
    const SCHEMA_ID: Option<u64> = None;
    /// The `datacontenttype` written by [`Event::encode`].
    const CONTENT_TYPE: &'static str = "application/json";

    /// The ordering key: events with the same key are handled one at a time, in order.
    fn partition_key(&self) -> Option<String> {
        None
    }

    /// A deduplication key taken from the value; `None` means `source` + `id`.
    fn idempotency_key(&self) -> Option<String> {
        None
    }

    /// The payload bytes (JSON for JSON Schema; Avro datum bytes for Avro).
    fn encode(&self) -> Result<Vec<u8>, CodecError>;

    /// The payload as a JSON value, for JSON events whose [`Event::encode`] is serde's: the
    /// bus then validates this value against the JSON Schema and writes its bytes, instead
    /// of encoding the event and parsing the bytes back. `None` (the default) makes the bus
    /// validate what `encode` wrote. Generated and derived JSON events return
    /// [`json_value`]`(self)`.
    fn to_json_value(&self) -> Option<Result<serde_json::Value, CodecError>> {
        None
    }

    /// Reads a payload written by [`Event::encode`] (already validated and upcast).
    fn decode(bytes: &[u8]) -> Result<Self, CodecError>;

    /// Reads a payload written with `version` of [`Event::SUBJECT`]'s schema. The default
    /// reads only [`Event::VERSION`]; the code generator overrides it on the newest type of
    /// a subject with the subject's `decode_any`, which decodes any known version and
    /// upcasts it, so consumers of the newest type read what older producers wrote. Derived types with `previous` override it too.
    fn decode_version(version: u32, bytes: &[u8]) -> Result<Self, CodecError> {
        if version == Self::VERSION {
            Self::decode(bytes)
        } else {
            Err(CodecError(format!(
                "`{}` is version {} and cannot read version {version} (no upcaster)",
                Self::SUBJECT,
                Self::VERSION
            )))
        }
    }
}

/// `encode` for serde types with JSON payloads, for generated code.
pub fn json_encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    serde_json::to_vec(value).map_err(|e| CodecError(e.to_string()))
}

/// [`Event::to_json_value`] for serde types with JSON payloads, for generated code.
pub fn json_value<T: Serialize>(value: &T) -> Option<Result<serde_json::Value, CodecError>> {
    Some(serde_json::to_value(value).map_err(|e| CodecError(e.to_string())))
}

/// `decode` for serde types with JSON payloads, for generated code.
pub fn json_decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    serde_json::from_slice(bytes).map_err(|e| CodecError(e.to_string()))
}

/// The `dataschema` URI the runtime writes for a subject and version.
pub fn dataschema_uri(subject: &str, version: u32) -> String {
    format!("eventschema:subjects/{subject}/versions/{version}")
}
