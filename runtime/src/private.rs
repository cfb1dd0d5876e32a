//! Hidden support for generated code (`eventschema-codegen`): re-exports so that generated
//! files need only a dependency on `eventschema`, and the Avro payload codec. Not a stable API.

pub use bigdecimal;
pub use chrono;
pub use serde;
pub use serde_json;
pub use uuid;

/// The Avro binary primitives generated `write_avro`/`read_avro` functions are made of.
pub use crate::avro_binary as avro;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::CodecError;

/// The parsed form of an event's schema text, parsed once per text: parsing on every
/// encode and decode would cost more than the codec itself.
fn parsed(text: &'static str) -> Result<Arc<apache_avro::Schema>, CodecError> {
    static CACHE: OnceLock<RwLock<HashMap<&'static str, Arc<apache_avro::Schema>>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(RwLock::default);
    if let Some(schema) = cache.read().ok().and_then(|map| map.get(text).cloned()) {
        return Ok(schema);
    }
    let schema =
        Arc::new(apache_avro::Schema::parse_str(text).map_err(|e| CodecError(e.to_string()))?);
    if let Ok(mut map) = cache.write() {
        map.insert(text, schema.clone());
    }
    Ok(schema)
}

/// Avro datum bytes of `value` written with `schema` (the event's own schema text).
pub fn avro_encode<T: Serialize>(schema: &'static str, value: &T) -> Result<Vec<u8>, CodecError> {
    let schema = parsed(schema)?;
    apache_avro::writer::datum::GenericDatumWriter::builder(&schema)
        .build()
        .and_then(|writer| writer.write_ser_to_vec(value))
        .map_err(|e| CodecError(e.to_string()))
}

/// Reads Avro datum bytes written with `schema`; trailing bytes are an error, as in
/// validation.
pub fn avro_decode<T: DeserializeOwned>(
    schema: &'static str,
    bytes: &[u8],
) -> Result<T, CodecError> {
    let schema = parsed(schema)?;
    let mut reader = bytes;
    let value = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
        .build()
        .and_then(|r| r.read_deser(&mut reader))
        .map_err(|e| CodecError(e.to_string()))?;
    if !reader.is_empty() {
        return Err(CodecError(format!(
            "{} trailing bytes after the Avro datum",
            reader.len()
        )));
    }
    Ok(value)
}
