//! Code-first schemas: without a schema file, the derive writes the schema from the Rust
//! type (Avro or JSON Schema), then hands it to `eventschema-core` so that what lands in
//! `Event::SCHEMA` is parsed and canonical, exactly what `eventschema push` would register.

use eventschema_core::{Limits, ParsedSchema, SchemaType};
use serde_json::{Map, Value, json};
use syn::spanned::Spanned;
use syn::{Ident, Type};

use crate::attrs::Format;
use crate::check::WireField;

fn unsupported(ty: &Type, format: Format) -> syn::Error {
    let format = match format {
        Format::Avro => "Avro",
        Format::Json => "JSON Schema",
    };
    syn::Error::new(
        ty.span(),
        format!(
            "no {format} type for `{}` in a code-first schema: use primitives, String, Vec<u8>, Option, Vec or String-keyed maps, or write the schema file and point #[event(schema = \"...\")] at it",
            quote::ToTokens::to_token_stream(ty)
        ),
    )
}

/// The last path segment and its type arguments.
fn parts(ty: &Type) -> Option<(String, Vec<&Type>)> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    let args = match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|a| match a {
                syn::GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some((last.ident.to_string(), args))
}

fn avro_type(ty: &Type) -> syn::Result<(Value, bool)> {
    let fail = || unsupported(ty, Format::Avro);
    let (name, args) = parts(ty).ok_or_else(fail)?;
    let primitive = match name.as_str() {
        "bool" => "boolean",
        "i8" | "i16" | "i32" | "u8" | "u16" => "int",
        "i64" | "u32" => "long",
        "f32" => "float",
        "f64" => "double",
        "String" => "string",
        _ => "",
    };
    if !primitive.is_empty() && args.is_empty() {
        return Ok((json!(primitive), false));
    }
    match (name.as_str(), args.as_slice()) {
        ("Box", [inner]) => avro_type(inner),
        ("Option", [inner]) => {
            let (inner, nullable) = avro_type(inner)?;
            if nullable {
                return Err(fail());
            }
            Ok((json!(["null", inner]), true))
        }
        ("Vec", [inner]) if parts(inner).is_some_and(|(n, _)| n == "u8") => {
            Ok((json!("bytes"), false))
        }
        ("Vec", [inner]) => Ok((
            json!({"type": "array", "items": avro_type(inner)?.0}),
            false,
        )),
        ("BTreeMap" | "HashMap", [key, value])
            if parts(key).is_some_and(|(n, _)| n == "String") =>
        {
            Ok((json!({"type": "map", "values": avro_type(value)?.0}), false))
        }
        _ => Err(fail()),
    }
}

fn json_type(ty: &Type) -> syn::Result<(Value, bool)> {
    let fail = || unsupported(ty, Format::Json);
    let (name, args) = parts(ty).ok_or_else(fail)?;
    let primitive = match name.as_str() {
        "bool" => "boolean",
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" => "integer",
        "f32" | "f64" => "number",
        "String" => "string",
        _ => "",
    };
    if !primitive.is_empty() && args.is_empty() {
        return Ok((json!({"type": primitive}), false));
    }
    match (name.as_str(), args.as_slice()) {
        ("Box", [inner]) => json_type(inner),
        ("Option", [inner]) => {
            let (mut inner, nullable) = json_type(inner)?;
            if nullable {
                return Err(fail());
            }
            if let Some(Value::String(t)) = inner.get("type").cloned()
                && let Some(object) = inner.as_object_mut()
            {
                object.insert("type".to_owned(), json!([t, "null"]));
                return Ok((inner, true));
            }
            Ok((json!({"anyOf": [inner, {"type": "null"}]}), true))
        }
        ("Vec", [inner]) => Ok((
            json!({"type": "array", "items": json_type(inner)?.0}),
            false,
        )),
        ("BTreeMap" | "HashMap", [key, value])
            if parts(key).is_some_and(|(n, _)| n == "String") =>
        {
            Ok((
                json!({"type": "object", "additionalProperties": json_type(value)?.0}),
                false,
            ))
        }
        _ => Err(fail()),
    }
}

/// The canonical schema text for `fields` of struct `ident`.
pub fn derive(
    format: Format,
    ident: &Ident,
    namespace: Option<&str>,
    doc: Option<&str>,
    fields: &[WireField],
) -> syn::Result<String> {
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let (schema_type, document) = match format {
        Format::Avro => {
            let mut out = Vec::new();
            for field in fields {
                match avro_type(&field.ty) {
                    Ok((ty, nullable)) => {
                        let mut entry = Map::new();
                        entry.insert("name".to_owned(), json!(field.name));
                        entry.insert("type".to_owned(), ty);
                        if nullable {
                            entry.insert("default".to_owned(), Value::Null);
                        }
                        out.push(Value::Object(entry));
                    }
                    Err(e) => push(e),
                }
            }
            let mut record = Map::new();
            record.insert("type".to_owned(), json!("record"));
            record.insert("name".to_owned(), json!(ident.to_string()));
            if let Some(namespace) = namespace {
                record.insert("namespace".to_owned(), json!(namespace));
            }
            if let Some(doc) = doc {
                record.insert("doc".to_owned(), json!(doc));
            }
            record.insert("fields".to_owned(), Value::Array(out));
            (SchemaType::Avro, Value::Object(record))
        }
        Format::Json => {
            let mut properties = Map::new();
            let mut required = Vec::new();
            for field in fields {
                match json_type(&field.ty) {
                    Ok((ty, nullable)) => {
                        properties.insert(field.name.clone(), ty);
                        if !nullable {
                            required.push(json!(field.name));
                        }
                    }
                    Err(e) => push(e),
                }
            }
            let mut object = Map::new();
            object.insert(
                "$schema".to_owned(),
                json!("http://json-schema.org/draft-07/schema#"),
            );
            object.insert("title".to_owned(), json!(ident.to_string()));
            if let Some(doc) = doc {
                object.insert("description".to_owned(), json!(doc));
            }
            object.insert("type".to_owned(), json!("object"));
            object.insert("properties".to_owned(), Value::Object(properties));
            object.insert("required".to_owned(), Value::Array(required));
            (SchemaType::Json, Value::Object(object))
        }
    };
    if let Some(errors) = errors {
        return Err(errors);
    }
    let text = document.to_string();
    ParsedSchema::parse_standalone(schema_type, &text, &Limits::default())
        .map(|parsed| parsed.canonical_string())
        .map_err(|e| {
            syn::Error::new(
                ident.span(),
                format!("the derived schema does not parse: {e}"),
            )
        })
}
