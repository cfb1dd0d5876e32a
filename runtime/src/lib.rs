//! The crate services depend on: CloudEvents envelopes, validation before handlers,
//! idempotent handling, retries with backoff and jitter, dead letters, ordering per key.
//!
//! Not built yet: this crate holds the workspace place for the runtime.
//! Architecture invariant: depends on `eventschema-core`; broker clients and stores sit
//! behind cargo features; never on the registry server or the CLI.
