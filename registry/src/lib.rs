//! The Eventschema registry: an HTTP service (axum) that stores versioned Avro and JSON
//! schemas with compatibility checks, wire-compatible with the Confluent Schema Registry
//! REST API, on SQLite (embedded default) or PostgreSQL (several stateless instances on
//! one database).
//!
//! Architecture invariant: the registry never interprets a schema itself. Parsing,
//! canonical forms and compatibility come from `eventschema-core`; this crate owns HTTP,
//! storage, caching and the registry's rules (ids, versions, modes, deletes). It must not
//! depend on the runtime, codegen or macros crates.
//!
//! Features: `server` (default) builds the service; `client` alone gives the API types and
//! a typed client without any server dependency, for build scripts and the CLI.

pub mod api;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod http;
pub mod mode;
#[cfg(feature = "server")]
pub mod service;
#[cfg(feature = "server")]
pub mod store;

#[cfg(feature = "server")]
mod server;

#[cfg(feature = "client")]
pub use client::{Client, ClientError};
#[cfg(feature = "server")]
pub use error::ApiError;
#[cfg(feature = "server")]
pub use server::{ServeError, ServerConfig, build, redact, serve};
#[cfg(feature = "server")]
pub use service::Registry;
#[cfg(feature = "server")]
pub use store::{Store, StoreError};
