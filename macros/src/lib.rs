//! Derive macros that wire event types, producers and consumers into the runtime and check
//! at compile time that a Rust type matches its registered schema:
//!
//! - `#[derive(Event)]` with `#[event(subject = "...", version = N, schema = "path")]`
//!   implements `eventschema::Event`; with a schema file it fails the build when the struct
//!   drifts from it, without one it derives the schema from the struct (code-first).
//! - `#[consumer(group = "...")]` on an impl block turns its `async fn(&self, event, ctx)`
//!   methods into handlers registered with one `bus.register(consumer)` call.
//!
//! Use them through `eventschema` (feature `derive`, on by default). The logic lives in
//! ordinary modules over `proc_macro2` (unit-tested and snapshot-tested here); the exported
//! functions are shims.
//!
//! Architecture invariant: depends on `eventschema-core` (the schema model: every schema is
//! parsed there) and `eventschema-codegen` (its schema-to-Rust type table, so derived and
//! generated types agree); no tokio, axum or sqlx.

use std::path::PathBuf;

use proc_macro::TokenStream;

mod attrs;
mod check;
mod code_first;
mod consumer;
mod event;
#[cfg(test)]
mod tests;

/// Implements `eventschema::Event` for a struct; see the crate documentation.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    event::expand(input, &manifest_dir)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Declares a consumer group over an impl block; see the crate documentation.
#[proc_macro_attribute]
pub fn consumer(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as syn::ItemImpl);
    consumer::ConsumerArgs::parse(args.into())
        .and_then(|args| consumer::expand(args, item))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
