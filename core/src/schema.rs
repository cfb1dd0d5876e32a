//! Schema types, limits, references and [`ParsedSchema`], the entry point for parsing a
//! schema text of any supported format.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::avro::AvroSchema;
use crate::error::SchemaError;
use crate::json::JsonSchema;

/// The schema formats the Confluent API names. `Protobuf` is recognised so that it can be
/// refused with a clear error rather than an "unknown type".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SchemaType {
    Avro,
    Json,
    Protobuf,
}

impl SchemaType {
    /// The name used on the wire (`AVRO`, `JSON`, `PROTOBUF`).
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
            SchemaType::Protobuf => "PROTOBUF",
        }
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SchemaType {
    type Err = SchemaError;

    /// Case-insensitive, like the Confluent registry.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "AVRO" => Ok(SchemaType::Avro),
            "JSON" => Ok(SchemaType::Json),
            "PROTOBUF" => Ok(SchemaType::Protobuf),
            _ => Err(SchemaError::UnknownType(s.to_owned())),
        }
    }
}

/// Bounds that keep parsing and checking cheap and panic-free on hostile input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted schema text, in bytes.
    pub max_schema_bytes: usize,
    /// Deepest accepted JSON nesting (objects and arrays) of a schema document.
    pub max_depth: usize,
    /// Most references followed, transitively, for one schema.
    pub max_references: usize,
}

impl Limits {
    /// 1 MiB, 100 levels (below serde_json's own recursion limit of 128), 1000 references.
    pub const DEFAULT: Limits = Limits {
        max_schema_bytes: 1024 * 1024,
        max_depth: 100,
        max_references: 1000,
    };

    /// Refuses a text over the size limit.
    pub fn check_size(&self, text: &str) -> Result<(), SchemaError> {
        if text.len() > self.max_schema_bytes {
            return Err(SchemaError::TooLarge {
                size: text.len(),
                limit: self.max_schema_bytes,
            });
        }
        Ok(())
    }

    /// Parses a schema document as JSON, enforcing the size and depth limits, so that no
    /// format's parser ever recurses over unbounded input.
    pub fn parse_document(&self, text: &str) -> Result<Value, SchemaError> {
        self.check_size(text)?;
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(err) if err.to_string().contains("recursion limit") => {
                return Err(SchemaError::TooDeep {
                    limit: self.max_depth,
                });
            }
            Err(err) => return Err(SchemaError::from_json(&err)),
        };
        if json_depth(&value) > self.max_depth {
            return Err(SchemaError::TooDeep {
                limit: self.max_depth,
            });
        }
        Ok(value)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Nesting depth of a JSON value, computed without recursion (a scalar has depth 0).
pub fn json_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((value, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|item| (item, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|item| (item, depth + 1))),
            _ => {}
        }
    }
    deepest
}

/// A schema's reference to another registered schema, as in the Confluent API:
/// `name` is the Avro full type name or the JSON Schema `$ref` URL it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reference {
    pub name: String,
    pub subject: String,
    pub version: i32,
}

/// What a resolver returns for one reference: the referenced schema and its own references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedReference {
    pub schema_type: SchemaType,
    pub schema: String,
    pub references: Vec<Reference>,
}

/// Why a reference could not be resolved (unknown subject or version, storage failure).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ResolveError(pub String);

/// Looks up referenced schemas. The registry implements it over its store (pre-fetching
/// what is needed, since this crate stays synchronous); tools implement it over files.
pub trait ReferenceResolver {
    fn resolve(&self, reference: &Reference) -> Result<ResolvedReference, ResolveError>;
}

/// A resolver for schemas that have no references: every lookup fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReferences;

impl ReferenceResolver for NoReferences {
    fn resolve(&self, reference: &Reference) -> Result<ResolvedReference, ResolveError> {
        Err(ResolveError(format!(
            "no resolver configured for subject '{}' version {}",
            reference.subject, reference.version
        )))
    }
}

/// A referenced schema's text, handed to a format's parser, dependencies first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferencedSchema {
    /// The name the referring schema uses for it (Avro full name or JSON `$ref` URL).
    pub name: String,
    pub schema: String,
}

/// A schema that parsed, of either supported format.
#[derive(Debug, Clone)]
pub enum ParsedSchema {
    Avro(AvroSchema),
    Json(JsonSchema),
}

impl ParsedSchema {
    /// Parses `text` as `schema_type`, resolving `references` (transitively) through
    /// `resolver`.
    pub fn parse(
        schema_type: SchemaType,
        text: &str,
        references: &[Reference],
        resolver: &dyn ReferenceResolver,
        limits: &Limits,
    ) -> Result<Self, SchemaError> {
        limits.check_size(text)?;
        let dependencies = collect_references(schema_type, references, resolver, limits)?;
        match schema_type {
            SchemaType::Avro => AvroSchema::parse(text, &dependencies, limits).map(Self::Avro),
            SchemaType::Json => JsonSchema::parse(text, &dependencies, limits).map(Self::Json),
            SchemaType::Protobuf => Err(SchemaError::UnsupportedType("PROTOBUF".into())),
        }
    }

    /// Parses a schema that has no references.
    pub fn parse_standalone(
        schema_type: SchemaType,
        text: &str,
        limits: &Limits,
    ) -> Result<Self, SchemaError> {
        Self::parse(schema_type, text, &[], &NoReferences, limits)
    }

    pub fn schema_type(&self) -> SchemaType {
        match self {
            ParsedSchema::Avro(_) => SchemaType::Avro,
            ParsedSchema::Json(_) => SchemaType::Json,
        }
    }

    /// The form the registry stores and returns: the schema re-serialised compactly, as the
    /// Confluent registry does (Avro: like Java's `Schema.toString()`; JSON: key order kept).
    pub fn canonical_string(&self) -> String {
        match self {
            ParsedSchema::Avro(schema) => schema.canonical_string(),
            ParsedSchema::Json(schema) => schema.canonical_string(),
        }
    }

    /// The canonical form with whatever its references define written inline (Avro: each
    /// referenced named type at its first use), for readers that have no registry to
    /// resolve them; the same as [`Self::canonical_string`] for a schema without references.
    /// JSON Schema references stay `$ref`s (their documents are not inlined).
    pub fn self_contained_string(&self) -> String {
        match self {
            ParsedSchema::Avro(schema) => schema.self_contained_string(),
            ParsedSchema::Json(schema) => schema.canonical_string(),
        }
    }

    /// A further normal form under which cosmetic variants are equal (`normalize=true`).
    pub fn normalized_string(&self) -> String {
        match self {
            ParsedSchema::Avro(schema) => schema.normalized_string(),
            ParsedSchema::Json(schema) => schema.normalized_string(),
        }
    }
}

/// Walks references depth-first so that every schema comes after the ones it references,
/// each at most once, refusing cycles and more than `limits.max_references` schemas.
fn collect_references(
    schema_type: SchemaType,
    references: &[Reference],
    resolver: &dyn ReferenceResolver,
    limits: &Limits,
) -> Result<Vec<ReferencedSchema>, SchemaError> {
    struct Walk<'a> {
        resolver: &'a dyn ReferenceResolver,
        limits: &'a Limits,
        schema_type: SchemaType,
        done: HashSet<(String, i32)>,
        in_progress: Vec<(String, i32)>,
        out: Vec<ReferencedSchema>,
    }
    impl Walk<'_> {
        fn visit(&mut self, reference: &Reference) -> Result<(), SchemaError> {
            let key = (reference.subject.clone(), reference.version);
            if self.done.contains(&key) {
                return Ok(());
            }
            let fail = |message: String| SchemaError::Reference {
                name: reference.name.clone(),
                message,
            };
            if self.in_progress.contains(&key) {
                return Err(fail("the references form a cycle".into()));
            }
            if self.in_progress.len() >= self.limits.max_depth
                || self.done.len() >= self.limits.max_references
            {
                return Err(fail(format!(
                    "more than {} referenced schemas or nesting deeper than {}",
                    self.limits.max_references, self.limits.max_depth
                )));
            }
            let resolved = self
                .resolver
                .resolve(reference)
                .map_err(|err| fail(err.0))?;
            if resolved.schema_type != self.schema_type {
                return Err(fail(format!(
                    "it is a {} schema, but the referring schema is {}",
                    resolved.schema_type, self.schema_type
                )));
            }
            self.limits.check_size(&resolved.schema)?;
            self.in_progress.push(key.clone());
            for nested in &resolved.references {
                self.visit(nested)?;
            }
            self.in_progress.pop();
            self.done.insert(key);
            self.out.push(ReferencedSchema {
                name: reference.name.clone(),
                schema: resolved.schema,
            });
            Ok(())
        }
    }
    let mut walk = Walk {
        resolver,
        limits,
        schema_type,
        done: HashSet::new(),
        in_progress: Vec::new(),
        out: Vec::new(),
    };
    for reference in references {
        walk.visit(reference)?;
    }
    Ok(walk.out)
}
