//! JSON Schema documents: parsing with everit's validation rules, `$ref` resolution, the
//! stored canonical form and the `normalize=true` form.

pub mod compat;
mod diff;
mod load;
mod model;
mod regex;

use std::sync::Arc;

use serde_json::Value;

use crate::error::SchemaError;
use crate::schema::{Limits, ReferencedSchema};

use load::Document;
use model::Graph;

/// A parsed JSON Schema together with the referenced schemas its `$ref`s reach.
#[derive(Debug, Clone)]
pub struct JsonSchema {
    document: Value,
    graph: Arc<Graph>,
}

impl JsonSchema {
    /// Parses `text`; `references` are the resolved referenced schemas (dependencies first),
    /// each under the name `$ref`s in `text` use for it.
    pub fn parse(
        text: &str,
        references: &[ReferencedSchema],
        limits: &Limits,
    ) -> Result<Self, SchemaError> {
        let document = limits.parse_document(text)?;
        if !matches!(document, Value::Object(_) | Value::Bool(_)) {
            return Err(SchemaError::invalid(
                "",
                "a JSON Schema must be a JSON object or a boolean",
            ));
        }
        let main = Document::new(String::new(), document.clone(), "");
        let mut documents = Vec::with_capacity(references.len() + 1);
        let main_base = main.base.clone();
        documents.push(main);
        for reference in references.iter().take(limits.max_references) {
            let value =
                limits
                    .parse_document(&reference.schema)
                    .map_err(|err| SchemaError::Reference {
                        name: reference.name.clone(),
                        message: err.to_string(),
                    })?;
            documents.push(Document::new(reference.name.clone(), value, &main_base));
        }
        let graph = load::load(&documents)?;
        Ok(JsonSchema {
            document,
            graph: Arc::new(graph),
        })
    }

    /// What the registry stores: compact JSON, key order as written (Jackson's
    /// `writeValueAsString` of the parsed tree).
    pub fn canonical_string(&self) -> String {
        self.document.to_string()
    }

    /// The `normalize=true` form: Confluent re-reads the canonical string with a mapper that
    /// sorts properties (Jackson's `String.compareTo`, i.e. UTF-16 order) at every level;
    /// array order is meaningful and kept.
    pub fn normalized_string(&self) -> String {
        sorted(&self.document).to_string()
    }

    /// The parsed JSON document.
    pub fn document(&self) -> &Value {
        &self.document
    }

    pub(crate) fn graph(&self) -> &Graph {
        &self.graph
    }
}

/// Sorts object keys at every level. Recursion is bounded by the document depth, which
/// `Limits::parse_document` has already checked.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}
