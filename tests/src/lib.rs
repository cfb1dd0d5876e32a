//! End-to-end tests across the Eventschema crates, and the workspace's tidy checks
//! (dependency rules, file headers). Holds no library code of its own.
//!
//! Architecture invariant: nothing depends on this crate.
