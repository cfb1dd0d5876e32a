//! JSON Schema documents: parsing, `$ref` resolution and normal forms.
//! PLACEHOLDER: the JSON helper replaces this with the real model.

pub mod compat;

use serde_json::Value;

use crate::error::SchemaError;
use crate::schema::{Limits, ReferencedSchema};

/// A parsed JSON Schema.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonSchema {
    document: Value,
}

impl JsonSchema {
    pub fn parse(
        text: &str,
        _references: &[ReferencedSchema],
        limits: &Limits,
    ) -> Result<Self, SchemaError> {
        let document = limits.parse_document(text)?;
        Ok(JsonSchema { document })
    }

    pub fn canonical_string(&self) -> String {
        self.document.to_string()
    }

    pub fn normalized_string(&self) -> String {
        self.document.to_string()
    }
}
