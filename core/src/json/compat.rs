//! JSON Schema compatibility (Confluent SchemaDiff). PLACEHOLDER: the JSON helper replaces this.

use super::JsonSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonCompatibilityPolicy {
    Strict,
    Lenient,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonDifferenceKind {
    TypeChanged,
}

impl JsonDifferenceKind {
    pub fn as_str(self) -> &'static str {
        "TYPE_CHANGED"
    }

    pub fn is_compatible(self, _policy: JsonCompatibilityPolicy) -> bool {
        false
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonDifference {
    pub kind: JsonDifferenceKind,
    pub original_path: String,
    pub update_path: String,
    pub message: String,
}

pub fn compare(original: &JsonSchema, update: &JsonSchema) -> Vec<JsonDifference> {
    if original == update {
        Vec::new()
    } else {
        vec![JsonDifference {
            kind: JsonDifferenceKind::TypeChanged,
            original_path: "#".into(),
            update_path: "#".into(),
            message: "placeholder".into(),
        }]
    }
}
