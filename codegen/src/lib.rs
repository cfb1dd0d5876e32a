//! Turns registered schemas (from a `schemas/` folder) into typed Rust event structs, one
//! per version, each implementing `eventschema::Event`; used from `build.rs` through
//! [`Builder`].
//!
//! [`folder`] reads the `schemas/` folder convention that the CLI (`check`, `push`, `diff`)
//! and build scripts share; [`generate()`] is the pure generator; [`Builder`] the build-script
//! front end.
//! Architecture invariant: depends on `eventschema-core` for every schema question and
//! never on server code (axum, sqlx) or the network: build scripts must stay light and
//! offline.

mod builder;
pub mod folder;
mod generate;

pub use builder::{BuildError, Builder};
pub use generate::{
    GenerateError, GenerateErrors, GeneratedCode, HEADER, SchemaIds, generate, generate_with_ids,
};
