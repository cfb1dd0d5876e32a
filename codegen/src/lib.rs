//! Turns registered schemas (from a `schemas/` folder or a registry) into typed Rust event
//! structs, one per version, plus upcasters to the newest version; used from `build.rs`.
//!
//! Today it holds [`folder`], the reader of the `schemas/` folder convention that the CLI
//! (`check`, `push`, `diff`) and build scripts share; the generator itself is not built yet.
//! Architecture invariant: depends on `eventschema-core` for every schema question and
//! never on server code (axum, sqlx) or the network: build scripts must stay light and
//! offline.

pub mod folder;
