//! Avro schemas (spec 1.11/1.12): parsing into a model, the canonical string the Confluent
//! registry stores, the normalized form, Parsing Canonical Form and its fingerprints.
//!
//! The reference implementation is Apache Avro Java as the Confluent registry runs it; where
//! Java and the spec differ, Java wins (see `docs/compat-rules.md` §1).

mod canonical;
pub mod compat;
mod fingerprint;
pub mod model;
mod parse;

use std::collections::HashSet;

use crate::error::SchemaError;
use crate::schema::{Limits, ReferencedSchema};

pub use model::{Field, LogicalType, Name, NamedKind, NamedType, Order, Primitive, Props, Schema};

/// A parsed Avro schema: the root node plus the table of every named type it can reach,
/// those defined by its dependencies (referenced schemas) first.
#[derive(Debug, Clone, PartialEq)]
pub struct AvroSchema {
    root: Schema,
    types: Vec<NamedType>,
    /// How many entries of `types` come from dependencies.
    dependency_types: usize,
}

impl AvroSchema {
    /// Parses `text`; `dependencies` are referenced schemas (dependencies first) whose named
    /// types `text` may use by name.
    pub fn parse(
        text: &str,
        dependencies: &[ReferencedSchema],
        limits: &Limits,
    ) -> Result<Self, SchemaError> {
        let mut parser = parse::Parser::default();
        for dependency in dependencies {
            let document = limits.parse_document(&dependency.schema).map_err(|err| {
                SchemaError::Reference {
                    name: dependency.name.clone(),
                    message: format!("the referenced Avro schema is invalid: {err}"),
                }
            })?;
            parser
                .parse(&document, "")
                .map_err(|err| SchemaError::Reference {
                    name: dependency.name.clone(),
                    message: format!("the referenced Avro schema is invalid: {err}"),
                })?;
        }
        let dependency_types = parser.types.len();
        let document = limits.parse_document(text)?;
        let root = parser.parse(&document, "")?;
        Ok(AvroSchema {
            root,
            types: parser.types,
            dependency_types,
        })
    }

    /// Parses a document produced from this schema (same dependencies), for the normal
    /// forms that Java builds by printing and re-parsing.
    fn reparse(&self, text: &str) -> Option<AvroSchema> {
        let document: serde_json::Value = serde_json::from_str(text).ok()?;
        let dependency_types = self.types.get(..self.dependency_types)?.to_vec();
        let mut parser = parse::Parser::with_types(dependency_types);
        let root = parser.parse(&document, "").ok()?;
        Some(AvroSchema {
            root,
            types: parser.types,
            dependency_types: self.dependency_types,
        })
    }

    /// The root schema node.
    pub fn root(&self) -> &Schema {
        &self.root
    }

    /// Every named type the schema can reach (dependencies' types first); indices are the
    /// ones [`Schema::Named`] holds.
    pub fn types(&self) -> &[NamedType] {
        &self.types
    }

    /// The named type behind a [`Schema::Named`] index.
    pub fn named(&self, index: usize) -> Option<&NamedType> {
        self.types.get(index)
    }

    /// Whether a named type was defined by a dependency rather than by this document.
    pub fn is_dependency_type(&self, index: usize) -> bool {
        index < self.dependency_types
    }

    /// The root's full name when it is a named type (the Confluent "record name").
    pub fn name(&self) -> Option<String> {
        match self.root {
            Schema::Named(index) => self.named(index).map(|named| named.name.full()),
            _ => None,
        }
    }

    /// Compact form as the Confluent registry stores it: what Java's
    /// `Schema.toString(referencedSchemas, false)` prints. Types from dependencies are
    /// written by name.
    pub fn canonical_string(&self) -> String {
        let known: HashSet<usize> = (0..self.dependency_types).collect();
        canonical::java_to_string(self, known)
    }

    /// Compact form with every referenced type defined inline at its first use (Java's
    /// `Schema.toString()` without referenced schemas): a schema a reader can use without
    /// the registry's references, as a runtime validator or codec needs.
    pub fn self_contained_string(&self) -> String {
        canonical::java_to_string(self, HashSet::new())
    }

    /// The normal form used with `normalize=true`: Confluent's `AvroSchema.normalize()`
    /// (full names, sorted aliases and properties, defaults converted to the field type),
    /// re-parsed and printed like [`Self::canonical_string`].
    pub fn normalized_string(&self) -> String {
        let built = canonical::confluent_normalized(self);
        match self.reparse(&built) {
            Some(reparsed) => reparsed.canonical_string(),
            None => self.canonical_string(),
        }
    }

    /// The Avro specification's Parsing Canonical Form.
    pub fn parsing_canonical_form(&self) -> String {
        canonical::parsing_canonical_form(self)
    }

    /// CRC-64-AVRO (Rabin) fingerprint of the Parsing Canonical Form.
    pub fn fingerprint_rabin(&self) -> u64 {
        fingerprint::rabin(self.parsing_canonical_form().as_bytes())
    }

    /// SHA-256 of the Parsing Canonical Form.
    pub fn fingerprint_sha256(&self) -> [u8; 32] {
        fingerprint::sha256(self.parsing_canonical_form().as_bytes())
    }

    /// MD5 of the Parsing Canonical Form.
    pub fn fingerprint_md5(&self) -> [u8; 16] {
        fingerprint::md5(self.parsing_canonical_form().as_bytes())
    }
}
