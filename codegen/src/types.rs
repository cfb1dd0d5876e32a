//! The schema-type-to-Rust-type table of generated code, public so that the derive macros'
//! compile-time check expects exactly what the generator would have written.

use eventschema_core::avro::Primitive;
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;

/// The Rust type of an Avro primitive.
pub fn avro_primitive(kind: Primitive) -> TokenStream {
    match kind {
        Primitive::Null => quote! { () },
        Primitive::Boolean => quote! { bool },
        Primitive::Int => quote! { i32 },
        Primitive::Long => quote! { i64 },
        Primitive::Float => quote! { f32 },
        Primitive::Double => quote! { f64 },
        Primitive::Bytes => quote! { Vec<u8> },
        Primitive::String => quote! { String },
    }
}

/// The Rust type of a JSON Schema primitive `type` (`None` for `object`, `array`, `null`).
pub fn json_primitive(name: &str) -> Option<TokenStream> {
    Some(match name {
        "string" => quote! { String },
        "integer" => quote! { i64 },
        "number" => quote! { f64 },
        "boolean" => quote! { bool },
        _ => return None,
    })
}

/// Follows local `$ref`s (`#/...`) within `document`, a bounded number of hops so that a
/// reference cycle cannot loop; the generator and the derive's check read a JSON Schema
/// node through the same resolution.
pub fn resolve_json_ref<'v>(document: &'v Value, mut schema: &'v Value) -> &'v Value {
    for _ in 0..32 {
        let Some(target) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| document.pointer(pointer))
        else {
            break;
        };
        schema = target;
    }
    schema
}
