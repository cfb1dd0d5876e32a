//! Derive macros that wire event types, producers and consumers into the runtime and
//! check at compile time that a Rust type matches its registered schema.
//!
//! Not built yet: this crate holds the workspace place for the macros.
//! Architecture invariant: a thin proc-macro shim over `eventschema-core` (and codegen's
//! expansion library); no tokio, axum or sqlx.
