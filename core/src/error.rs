//! The one error type for everything that can be wrong with a schema text.

use thiserror::Error;

/// Why a schema could not be accepted. Every variant carries enough context for a person to
/// find the problem; the registry maps all of them to error code 42201 (or 42209 for size).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SchemaError {
    /// The text is not JSON at all.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    InvalidJson {
        line: usize,
        column: usize,
        message: String,
    },
    /// The text is JSON but not a valid schema of its type. `path` is a JSON pointer into
    /// the schema document (empty for the root).
    #[error("invalid schema at '{path}': {message}")]
    Invalid { path: String, message: String },
    /// The schema text is larger than the configured limit.
    #[error("schema is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// The schema nests deeper than the configured limit.
    #[error("schema nests deeper than the limit of {limit} levels")]
    TooDeep { limit: usize },
    /// A schema type we know of but do not support yet.
    #[error("schema type {0} is not supported by this registry (supported: AVRO, JSON)")]
    UnsupportedType(String),
    /// A schema type nobody knows of.
    #[error("unknown schema type '{0}' (expected AVRO, JSON or PROTOBUF)")]
    UnknownType(String),
    /// A referenced schema could not be resolved or parsed.
    #[error("reference '{name}' could not be resolved: {message}")]
    Reference { name: String, message: String },
}

impl SchemaError {
    /// Shorthand for [`SchemaError::Invalid`].
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        SchemaError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn from_json(err: &serde_json::Error) -> Self {
        SchemaError::InvalidJson {
            line: err.line(),
            column: err.column(),
            message: err.to_string(),
        }
    }
}
