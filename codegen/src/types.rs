//! The schema-type-to-Rust-type table of generated code, public so that the derive macros'
//! compile-time check expects exactly what the generator would have written.

use eventschema_core::avro::Primitive;
use proc_macro2::TokenStream;
use quote::quote;

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
