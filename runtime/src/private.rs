//! Hidden support for generated code (`eventschema-codegen`): re-exports so that generated
//! files need only a dependency on `eventschema`, and the Avro payload codec. Not a stable API.

pub use bigdecimal;
pub use chrono;
pub use serde;
pub use serde_json;
pub use uuid;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::CodecError;

/// Avro datum bytes of `value` written with `schema` (the event's own schema text).
pub fn avro_encode<T: Serialize>(schema: &str, value: &T) -> Result<Vec<u8>, CodecError> {
    let schema = apache_avro::Schema::parse_str(schema).map_err(|e| CodecError(e.to_string()))?;
    apache_avro::writer::datum::GenericDatumWriter::builder(&schema)
        .build()
        .and_then(|writer| writer.write_ser_to_vec(value))
        .map_err(|e| CodecError(e.to_string()))
}

/// Reads Avro datum bytes written with `schema`; trailing bytes are an error, as in
/// validation.
pub fn avro_decode<T: DeserializeOwned>(schema: &str, bytes: &[u8]) -> Result<T, CodecError> {
    let schema = apache_avro::Schema::parse_str(schema).map_err(|e| CodecError(e.to_string()))?;
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
