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

/// The JSON Schema bounds of a generated type, which serde alone does not enforce:
/// generated JSON Schema types implement it, and their `Event::decode` and `encode` call it,
/// so a value outside `minimum`, `maxLength`, `maxItems`, ... is refused by name.
pub trait Check {
    /// Checks `self`, found at the JSON pointer `path` (`""` for the payload itself).
    fn check_at(&self, path: &str) -> Result<(), CodecError>;
}

impl<T: Check + ?Sized> Check for Box<T> {
    fn check_at(&self, path: &str) -> Result<(), CodecError> {
        (**self).check_at(path)
    }
}

/// `json_decode`, then the type's bounds.
pub fn json_decode_checked<T: DeserializeOwned + Check>(bytes: &[u8]) -> Result<T, CodecError> {
    let value: T = crate::event::json_decode(bytes)?;
    value.check_at("")?;
    Ok(value)
}

/// The type's bounds, then `json_encode`: a producer cannot publish what consumers refuse.
pub fn json_encode_checked<T: Serialize + Check>(value: &T) -> Result<Vec<u8>, CodecError> {
    value.check_at("")?;
    crate::event::json_encode(value)
}

/// One function per JSON Schema bound; each error names the field's JSON pointer, the
/// keyword and the bound.
pub mod bounds {
    use crate::error::CodecError;

    fn refuse(path: &str, message: String) -> Result<(), CodecError> {
        let at = if path.is_empty() { "/" } else { path };
        Err(CodecError(format!("field '{at}' {message}")))
    }

    pub fn minimum(path: &str, value: f64, bound: f64) -> Result<(), CodecError> {
        if value < bound {
            return refuse(path, format!("is {value}, below its minimum {bound}"));
        }
        Ok(())
    }

    pub fn maximum(path: &str, value: f64, bound: f64) -> Result<(), CodecError> {
        if value > bound {
            return refuse(path, format!("is {value}, above its maximum {bound}"));
        }
        Ok(())
    }

    pub fn exclusive_minimum(path: &str, value: f64, bound: f64) -> Result<(), CodecError> {
        if value <= bound {
            return refuse(
                path,
                format!("is {value}, not above its exclusiveMinimum {bound}"),
            );
        }
        Ok(())
    }

    pub fn exclusive_maximum(path: &str, value: f64, bound: f64) -> Result<(), CodecError> {
        if value >= bound {
            return refuse(
                path,
                format!("is {value}, not below its exclusiveMaximum {bound}"),
            );
        }
        Ok(())
    }

    /// Exact for integers; for fractions within a relative 1e-9, since `0.3 / 0.1` is not
    /// a whole number in binary floating point.
    pub fn multiple_of(path: &str, value: f64, divisor: f64) -> Result<(), CodecError> {
        let quotient = value / divisor;
        if !quotient.is_finite()
            || (quotient - quotient.round()).abs() > 1e-9 * quotient.abs().max(1.0)
        {
            return refuse(path, format!("is {value}, not a multipleOf {divisor}"));
        }
        Ok(())
    }

    /// JSON Schema counts a string's length in code points, not bytes.
    pub fn min_length(path: &str, value: &str, bound: u64) -> Result<(), CodecError> {
        let length = value.chars().count() as u64;
        if length < bound {
            return refuse(
                path,
                format!("has {length} characters, fewer than its minLength {bound}"),
            );
        }
        Ok(())
    }

    pub fn max_length(path: &str, value: &str, bound: u64) -> Result<(), CodecError> {
        let length = value.chars().count() as u64;
        if length > bound {
            return refuse(
                path,
                format!("has {length} characters, more than its maxLength {bound}"),
            );
        }
        Ok(())
    }

    pub fn min_items(path: &str, length: usize, bound: u64) -> Result<(), CodecError> {
        if (length as u64) < bound {
            return refuse(
                path,
                format!("has {length} items, fewer than its minItems {bound}"),
            );
        }
        Ok(())
    }

    pub fn max_items(path: &str, length: usize, bound: u64) -> Result<(), CodecError> {
        if length as u64 > bound {
            return refuse(
                path,
                format!("has {length} items, more than its maxItems {bound}"),
            );
        }
        Ok(())
    }
}
