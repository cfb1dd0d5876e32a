//! The schema model of Eventschema: Avro and JSON Schema parsing, canonical forms,
//! fingerprints, references and the seven compatibility levels with explained findings.
//!
//! Everything that needs to know what a schema *means* asks this crate: the registry, the
//! CLI, the code generator and the derive macros. There is no second parser or checker.
//!
//! Architecture invariant: this crate is pure. It must not depend on any other workspace
//! crate, and it does no I/O, no async, no HTTP and no SQL. References to other schemas
//! are resolved through [`ReferenceResolver`], which callers (the registry, the CLI)
//! implement over their own storage.

pub mod avro;
pub mod compat;
pub mod diff;
pub mod error;
pub mod json;
pub mod schema;

pub use compat::{
    CompatibilityLevel, CompatibilityReport, Direction, Incompatibility, IncompatibilityKind,
    check_compatibility, check_pair,
};
pub use error::SchemaError;
pub use schema::{
    Limits, ParsedSchema, Reference, ReferenceResolver, ReferencedSchema, ResolveError, SchemaType,
};
