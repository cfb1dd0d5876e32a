//! Avro schemas (spec 1.11/1.12): parsing into a model, canonical forms and fingerprints.
//! PLACEHOLDER: the Avro helper replaces this with the real model.

pub mod compat;

use serde_json::Value;

use crate::error::SchemaError;
use crate::schema::{Limits, ReferencedSchema};

/// A parsed Avro schema.
#[derive(Debug, Clone, PartialEq)]
pub struct AvroSchema {
    document: Value,
}

impl AvroSchema {
    /// Parses `text`; `dependencies` are referenced schemas (dependencies first) whose named
    /// types `text` may use.
    pub fn parse(
        text: &str,
        _dependencies: &[ReferencedSchema],
        limits: &Limits,
    ) -> Result<Self, SchemaError> {
        let document = limits.parse_document(text)?;
        Ok(AvroSchema { document })
    }

    /// Compact form as the Confluent registry stores it (Java `Schema.toString()`).
    pub fn canonical_string(&self) -> String {
        self.document.to_string()
    }

    /// The normal form used with `normalize=true`.
    pub fn normalized_string(&self) -> String {
        self.document.to_string()
    }
}
