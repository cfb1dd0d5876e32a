//! Turns registered schemas (from a `schemas/` folder or a registry) into typed Rust event
//! structs, one per version, plus upcasters to the newest version; used from `build.rs`.
//!
//! Not built yet: this crate holds the workspace place for the code generator.
//! Architecture invariant: depends on `eventschema-core` for every schema question and
//! never on server code (axum, sqlx): build scripts must stay light and offline.
