//! JSON Schema -> Rust items for one version module: objects with `properties` become
//! structs (required properties plain, others `Option`), string enums become enums, local
//! `$ref`s become named types; anything the mapping cannot express stays a
//! `serde_json::Value`, so every schema still yields code that compiles.
//!
//! No `deny_unknown_fields`: an old consumer must be able to read newer events (docs/codegen.md).

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;

use super::Problem;
use super::avro::{Module, enum_variants};
use super::names::{ident, pascal, snake};

/// One property of the root object, as generated: what the upcaster generator needs.
pub(super) struct RootField {
    /// The property name in the schema.
    pub property: String,
    /// Its schema.
    pub schema: Value,
    /// The Rust field name.
    pub rust: String,
    /// The Rust field type is an `Option` (not required, or nullable).
    pub optional: bool,
    /// The string enum generated for the property itself: its name and
    /// `(symbol, variant)` pairs.
    pub enum_type: Option<(String, Vec<(String, String)>)>,
}

/// The root object's properties, in document order.
pub(super) struct Model {
    pub fields: Vec<RootField>,
}

pub(super) fn module(
    document: &Value,
    fallback_name: &str,
) -> Result<(Module, Model), Vec<Problem>> {
    let is_object = document.get("type").and_then(Value::as_str) == Some("object")
        || document.get("properties").is_some();
    if !is_object {
        return Err(vec![Problem::new(
            "",
            "the root of an event schema must be a JSON Schema object with `properties`",
        )]);
    }
    let root = document
        .get("title")
        .and_then(Value::as_str)
        .map_or_else(|| fallback_name.to_owned(), pascal);
    let mut generator = Generator {
        document,
        items: Vec::new(),
        taken: BTreeSet::new(),
        refs: BTreeMap::new(),
        in_progress: BTreeSet::new(),
        problems: Vec::new(),
        last_enum: None,
        adapt_time: false,
        root_fields: Vec::new(),
        collect_root: true,
    };
    generator.taken.insert(root.clone());
    generator.object(document, "", &root);
    if !generator.problems.is_empty() {
        return Err(generator.problems);
    }
    let items = generator.items;
    Ok((
        Module {
            items: quote! { #(#items)* },
            root,
        },
        Model {
            fields: generator.root_fields,
        },
    ))
}

struct Generator<'a> {
    document: &'a Value,
    items: Vec<TokenStream>,
    taken: BTreeSet<String>,
    /// Rust names of `$ref` targets, by pointer.
    refs: BTreeMap<String, String>,
    /// `$ref` targets being generated (a reference to one of them is recursive: boxed).
    in_progress: BTreeSet<String>,
    problems: Vec<Problem>,
    /// The string enum most recently generated: its name and `(symbol, variant)` pairs.
    last_enum: Option<(String, Vec<(String, String)>)>,
    /// The root object's properties, once generated.
    root_fields: Vec<RootField>,
    /// The next object generated is the root (a `$ref` to `#` generates it again).
    collect_root: bool,
    /// The property being typed is a `format: time` string that gets an adapter.
    adapt_time: bool,
}

fn doc(schema: &Value) -> TokenStream {
    match schema.get("description").and_then(Value::as_str) {
        Some(text) => {
            let lines = text.lines().map(|line| format!(" {}", line.trim_end()));
            quote! { #(#[doc = #lines])* }
        }
        None => TokenStream::new(),
    }
}

fn value_type() -> TokenStream {
    quote! { ::eventschema::__private::serde_json::Value }
}

/// Decodes one JSON pointer token (`~1` is `/`, `~0` is `~`).
fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

impl Generator<'_> {
    fn fresh(&mut self, wanted: &str) -> String {
        let mut name = wanted.to_owned();
        while self.taken.contains(&name) {
            name.push('_');
        }
        self.taken.insert(name.clone());
        name
    }

    /// The Rust type of `schema` and whether it already admits `null` (is an `Option`).
    fn ty(&mut self, schema: &Value, pointer: &str, context: &str) -> (TokenStream, bool) {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            return self.reference(reference, pointer);
        }
        if let Some(symbols) = schema.get("enum").and_then(Value::as_array)
            && let Some(symbols) = symbols
                .iter()
                .map(Value::as_str)
                .collect::<Option<Vec<&str>>>()
        {
            let name = self.fresh(context);
            self.string_enum(schema, &name, &symbols);
            let name = ident(&name);
            return (quote! { #name }, false);
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let nullable = types.contains(&"null");
        let others: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
        let inner = match others.as_slice() {
            ["string"] => match schema.get("format").and_then(Value::as_str) {
                // chrono and uuid read and write these formats with their own serde impls.
                Some("uuid") => quote! { ::eventschema::__private::uuid::Uuid },
                Some("date") => quote! { ::eventschema::__private::chrono::NaiveDate },
                Some("date-time") => quote! {
                    ::eventschema::__private::chrono::DateTime<::eventschema::__private::chrono::Utc>
                },
                // A full-time has an offset, which chrono's `NaiveTime` does not read: adapted.
                Some("time") if self.adapt_time => {
                    quote! { ::eventschema::__private::chrono::NaiveTime }
                }
                _ => crate::types::json_primitive("string").unwrap_or_else(value_type),
            },
            [primitive @ ("integer" | "number" | "boolean")] => {
                crate::types::json_primitive(primitive).unwrap_or_else(value_type)
            }
            ["array"] => {
                let items = schema.get("items").filter(|items| items.is_object());
                let item = match items {
                    Some(items) => {
                        let (item, _) = self.ty(
                            items,
                            &format!("{pointer}/items"),
                            &format!("{context}Item"),
                        );
                        item
                    }
                    None => value_type(),
                };
                quote! { Vec<#item> }
            }
            ["object"] if schema.get("properties").is_some() => {
                let name = self.fresh(context);
                self.object(schema, pointer, &name);
                let name = ident(&name);
                quote! { #name }
            }
            ["object"] => {
                let values = match schema.get("additionalProperties") {
                    Some(values @ Value::Object(_)) => {
                        let (values, _) = self.ty(
                            values,
                            &format!("{pointer}/additionalProperties"),
                            &format!("{context}Value"),
                        );
                        values
                    }
                    _ => value_type(),
                };
                quote! { ::std::collections::BTreeMap<String, #values> }
            }
            [] if types_empty_object(schema) => {
                let name = self.fresh(context);
                self.object(schema, pointer, &name);
                let name = ident(&name);
                quote! { #name }
            }
            // Several types, combinators, no type at all: left to the application.
            _ => return (value_type(), true),
        };
        if nullable {
            (quote! { Option<#inner> }, true)
        } else {
            (inner, false)
        }
    }

    fn reference(&mut self, reference: &str, pointer: &str) -> (TokenStream, bool) {
        let Some(target_pointer) = reference.strip_prefix('#') else {
            self.problems.push(Problem::new(
                &format!("{pointer}/$ref"),
                &format!("only local references (`#/...`) are supported, not '{reference}'"),
            ));
            return (value_type(), true);
        };
        let document = self.document;
        let Some(target) = document.pointer(target_pointer) else {
            self.problems.push(Problem::new(
                &format!("{pointer}/$ref"),
                &format!("'{reference}' points at nothing"),
            ));
            return (value_type(), true);
        };
        if let Some(name) = self.refs.get(target_pointer) {
            let boxed = self.in_progress.contains(target_pointer);
            let name = ident(name);
            return if boxed {
                (quote! { Box<#name> }, false)
            } else {
                (quote! { #name }, false)
            };
        }
        let last = target_pointer
            .rsplit('/')
            .next()
            .map(unescape)
            .unwrap_or_default();
        let wanted = pascal(&last);
        let name = self.fresh(&wanted);
        self.refs.insert(target_pointer.to_owned(), name.clone());
        self.in_progress.insert(target_pointer.to_owned());
        // Let an object or enum target take the reference's name itself.
        self.taken.remove(&name);
        let (ty, nullable) = self.ty(target, target_pointer, &name);
        self.in_progress.remove(target_pointer);
        self.taken.insert(name.clone());
        // A primitive or array target has no item of its own: name it with an alias.
        let alias = ident(&name);
        if alias != ty.to_string() {
            self.items.push(quote! { pub type #alias = #ty; });
        }
        (quote! { #alias }, nullable)
    }

    fn string_enum(&mut self, schema: &Value, name: &str, symbols: &[&str]) {
        let names = enum_variants(symbols);
        self.last_enum = Some((
            name.to_owned(),
            symbols
                .iter()
                .zip(&names)
                .map(|(symbol, variant)| ((*symbol).to_owned(), variant.clone()))
                .collect(),
        ));
        let variants = symbols.iter().zip(&names).map(|(symbol, variant)| {
            let variant = ident(variant);
            quote! { #[serde(rename = #symbol)] #variant }
        });
        let variants: Vec<TokenStream> = variants.collect();
        let name = ident(name);
        let enum_doc = doc(schema);
        self.items.push(quote! {
            #enum_doc
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::eventschema::__private::serde::Serialize, ::eventschema::__private::serde::Deserialize)]
            #[serde(crate = "::eventschema::__private::serde")]
            pub enum #name { #(#variants),* }
        });
    }

    fn object(&mut self, schema: &Value, pointer: &str, name: &str) {
        let is_root = std::mem::take(&mut self.collect_root) && pointer.is_empty();
        let required: BTreeSet<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut fields = Vec::new();
        let mut used = BTreeSet::new();
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (property, property_schema) in properties {
                let mut rust = snake(property);
                while !used.insert(rust.clone()) {
                    rust.push('_');
                }
                let field_pointer = format!(
                    "{pointer}/properties/{}",
                    property.replace('~', "~0").replace('/', "~1")
                );
                let context = format!("{name}{}", pascal(property));
                self.last_enum = None;
                let time = is_time(property_schema);
                self.adapt_time = time;
                let (ty, nullable) = self.ty(property_schema, &field_pointer, &context);
                self.adapt_time = false;
                let with = time.then(|| {
                    let shape = if nullable || !required.contains(property.as_str()) {
                        "option"
                    } else {
                        "field"
                    };
                    let serialize = format!(
                        "::eventschema::logical::{shape}::serialize::<::eventschema::logical::Rfc3339Time,_>"
                    );
                    let deserialize = format!(
                        "::eventschema::logical::{shape}::deserialize::<::eventschema::logical::Rfc3339Time,_>"
                    );
                    quote! { #[serde(serialize_with = #serialize, deserialize_with = #deserialize)] }
                });
                if is_root {
                    let own_enum = property_schema.get("enum").is_some()
                        && property_schema.get("$ref").is_none();
                    self.root_fields.push(RootField {
                        property: property.clone(),
                        schema: property_schema.clone(),
                        rust: rust.clone(),
                        optional: nullable || !required.contains(property.as_str()),
                        enum_type: self.last_enum.take().filter(|_| own_enum),
                    });
                }
                let field_ident = ident(&rust);
                let rename = (rust != *property).then(|| quote! { #[serde(rename = #property)] });
                let field_doc = doc(property_schema);
                if required.contains(property.as_str()) {
                    fields.push(quote! { #field_doc #rename #with pub #field_ident: #ty });
                } else {
                    // An untyped property is a `Value`, which holds null itself: absent
                    // reads as null and null is not written.
                    let skip = if ty.to_string() == value_type().to_string() {
                        "::eventschema::__private::serde_json::Value::is_null"
                    } else {
                        "Option::is_none"
                    };
                    let ty = if nullable {
                        ty
                    } else {
                        quote! { Option<#ty> }
                    };
                    fields.push(quote! {
                        #field_doc
                        #rename
                        #[serde(default, skip_serializing_if = #skip)]
                        #with
                        pub #field_ident: #ty
                    });
                }
            }
        }
        let type_ident = ident(name);
        let type_doc = doc(schema);
        self.items.push(quote! {
            #type_doc
            #[derive(Debug, Clone, PartialEq, ::eventschema::__private::serde::Serialize, ::eventschema::__private::serde::Deserialize)]
            #[serde(crate = "::eventschema::__private::serde")]
            pub struct #type_ident { #(#fields),* }
        });
    }
}

/// A property that is a string (or string-or-null) in `format: time`.
fn is_time(schema: &Value) -> bool {
    let string = match schema.get("type") {
        Some(Value::String(one)) => one == "string",
        Some(Value::Array(many)) => {
            many.iter().any(|t| t == "string") && many.iter().all(|t| t == "string" || t == "null")
        }
        _ => false,
    };
    string && schema.get("format").and_then(Value::as_str) == Some("time")
}

/// A schema without `type` that still lists `properties` is an object.
fn types_empty_object(schema: &Value) -> bool {
    schema.get("properties").is_some()
}
