//! Turns registered schemas (from a `schemas/` folder or a registry pinned by
//! `eventschema.lock`) into typed Rust event structs, one per version, each implementing
//! `eventschema::Event`, with upcasters to the newest; used from `build.rs` through
//! [`Builder`].
//!
//! [`folder`] reads the `schemas/` folder convention that the CLI (`check`, `push`, `diff`)
//! and build scripts share; [`generate()`] is the pure generator; [`lock`] the registry lock
//! file and its cache; [`Builder`] the build-script front end.
//! Architecture invariant: depends on `eventschema-core` for every schema question and
//! never on server code (axum, sqlx). The network is reached only to fetch into the lock,
//! behind the `registry` feature (the registry's client, no server); a locked build is
//! offline, so build scripts stay light and reproducible.

mod builder;
pub mod folder;
mod generate;
pub mod lock;
pub mod types;

pub use builder::{BuildError, Builder};
pub use generate::{
    GenerateError, GenerateErrors, GeneratedCode, HEADER, SchemaIds, generate, generate_with_ids,
};
