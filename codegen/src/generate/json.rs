//! JSON Schema -> Rust items for one version module: objects with `properties` become
//! structs (required properties plain, others `Option`), string enums become enums, local
//! `$ref`s become named types, `allOf` branches merge into one struct, `oneOf`/`anyOf` of
//! objects told apart by a `const` property become internally tagged enums and of distinct
//! JSON types untagged enums, typed `additionalProperties`/`patternProperties` become maps
//! (flattened next to fixed properties), closed `prefixItems` tuples whose `minItems` asks
//! for every item become Rust tuples; a root that is not an object with `properties`
//! becomes a transparent newtype around what it maps to. Anything the mapping cannot express
//! soundly stays a `serde_json::Value` with a doc comment saying why, so every schema still
//! yields code that compiles; refused are only roots no value satisfies and references
//! outside the document.
//!
//! Bounds (`minimum`, `maxLength`, `maxItems`, ...) are not types: every generated struct and
//! enum implements `eventschema::__private::Check`, which `Event::decode` and `encode` call.
//! A check body is tokens over a `value: &T` and a `path: &str` (the JSON pointer), nested by
//! shadowing both, so a type's check composes from its parts.
//!
//! No `deny_unknown_fields`: an old consumer must be able to read newer events (docs/codegen.md).

use std::collections::{BTreeMap, BTreeSet};

use eventschema_core::Reference;
use proc_macro2::{Literal, TokenStream};
use quote::quote;
use serde_json::Value;

use super::Problem;
use super::avro::{Module, enum_variants};
use super::names::{ident, pascal, snake};
use crate::types::resolve_json_ref;

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
    /// The root is not an object with properties: the generated root is a newtype around
    /// whatever the root schema maps to, and `fields` is empty.
    pub newtype: bool,
}

pub(super) fn module(
    document: &Value,
    fallback_name: &str,
    references: &[Reference],
) -> Result<(Module, Model), Vec<Problem>> {
    let merged = document
        .get("allOf")
        .and_then(|_| merge_all_of(document, document, 0));
    let root_schema = merged.as_ref().unwrap_or(document);
    let is_object = root_schema.get("type").and_then(Value::as_str) == Some("object")
        || root_schema.get("properties").is_some();
    // `false`, or `not` of what admits everything: no event can have this schema.
    let admits_all =
        |schema: &Value| schema == &Value::Bool(true) || schema == &serde_json::json!({});
    if *document == Value::Bool(false) {
        return Err(vec![Problem::new(
            "",
            "the schema `false` admits no value: no event has this schema",
        )]);
    }
    if document.get("not").is_some_and(admits_all) {
        return Err(vec![Problem::new(
            "/not",
            "`not` of a schema that admits every value admits no value: no event has this schema",
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
        note: None,
        references,
    };
    generator.taken.insert(root.clone());
    if is_object {
        generator.object(root_schema, "", &root, None);
    } else {
        generator.newtype_root(&root);
    }
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
            newtype: !is_object,
        },
    ))
}

struct Generator<'a> {
    document: &'a Value,
    items: Vec<TokenStream>,
    taken: BTreeSet<String>,
    /// Rust names of `$ref` targets by pointer, whether they admit `null`, and their checks.
    refs: BTreeMap<String, (String, bool, TokenStream)>,
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
    /// Why the type just generated fell back to `serde_json::Value`, for the field's docs.
    note: Option<String>,
    /// The version's references to other subjects, to name them when a `$ref` uses one.
    references: &'a [Reference],
}

/// A generated type: the Rust type, whether it already admits `null` (is an `Option`), and
/// its check body over `value` and `path` (empty when nothing is bounded).
struct Typed {
    ty: TokenStream,
    nullable: bool,
    check: TokenStream,
}

impl Typed {
    fn plain(ty: TokenStream) -> Self {
        Typed {
            ty,
            nullable: false,
            check: TokenStream::new(),
        }
    }
}

/// The check body of a named generated type: its own `Check` impl.
fn call_check() -> TokenStream {
    quote! { ::eventschema::__private::Check::check_at(value, path)?; }
}

/// `body` for every element of a sequence `value`, at `path/index`.
fn each_item(body: &TokenStream) -> TokenStream {
    if body.is_empty() {
        return TokenStream::new();
    }
    quote! {
        for (index, value) in value.iter().enumerate() {
            let path = &format!("{path}/{index}");
            #body
        }
    }
}

/// `body` for every value of a map `value`, at `path/key`.
fn each_value(body: &TokenStream) -> TokenStream {
    if body.is_empty() {
        return TokenStream::new();
    }
    quote! {
        for (key, value) in value {
            let path = &format!("{path}/{key}");
            #body
        }
    }
}

fn if_some(body: &TokenStream) -> TokenStream {
    if body.is_empty() {
        return TokenStream::new();
    }
    quote! { if let Some(value) = value { #body } }
}

fn bound(name: &str, value: TokenStream, limit: TokenStream) -> TokenStream {
    let function = ident(name);
    quote! { ::eventschema::__private::bounds::#function(path, #value, #limit)?; }
}

fn count(schema: &Value, key: &str) -> Option<TokenStream> {
    let n = schema.get(key).and_then(Value::as_u64)?;
    let n = Literal::u64_suffixed(n);
    Some(quote! { #n })
}

fn float(schema: &Value, key: &str) -> Option<TokenStream> {
    let n = schema
        .get(key)
        .and_then(Value::as_f64)
        .filter(|n| n.is_finite())?;
    let n = Literal::f64_suffixed(n);
    Some(quote! { #n })
}

/// `minimum`, `maximum`, their exclusive forms (draft 4's booleans too) and `multipleOf`
/// over a numeric `value`.
fn number_checks(schema: &Value) -> TokenStream {
    let v = quote! { *value as f64 };
    let flag = |key: &str| schema.get(key).and_then(Value::as_bool) == Some(true);
    let mut out = TokenStream::new();
    if let Some(n) = float(schema, "minimum") {
        let name = if flag("exclusiveMinimum") {
            "exclusive_minimum"
        } else {
            "minimum"
        };
        out.extend(bound(name, v.clone(), n));
    }
    if let Some(n) = float(schema, "maximum") {
        let name = if flag("exclusiveMaximum") {
            "exclusive_maximum"
        } else {
            "maximum"
        };
        out.extend(bound(name, v.clone(), n));
    }
    for (key, name) in [
        ("exclusiveMinimum", "exclusive_minimum"),
        ("exclusiveMaximum", "exclusive_maximum"),
        ("multipleOf", "multiple_of"),
    ] {
        if let Some(n) = float(schema, key) {
            out.extend(bound(name, v.clone(), n));
        }
    }
    out
}

fn string_checks(schema: &Value) -> TokenStream {
    let mut out = TokenStream::new();
    for (key, name) in [("minLength", "min_length"), ("maxLength", "max_length")] {
        if let Some(n) = count(schema, key) {
            out.extend(bound(name, quote! { value }, n));
        }
    }
    out
}

fn items_checks(schema: &Value) -> TokenStream {
    let mut out = TokenStream::new();
    for (key, name) in [("minItems", "min_items"), ("maxItems", "max_items")] {
        if let Some(n) = count(schema, key) {
            out.extend(bound(name, quote! { value.len() }, n));
        }
    }
    out
}

/// One object schema holding the properties and `required` of `schema` and of every `allOf`
/// branch (local `$ref`s followed, nested `allOf`s flattened); the first definition of a
/// property wins. `None` when a branch is not an object schema, which a struct cannot say.
fn merge_all_of(document: &Value, schema: &Value, depth: usize) -> Option<Value> {
    if depth > 16 {
        return None;
    }
    let mut properties = serde_json::Map::new();
    let mut required: Vec<Value> = Vec::new();
    let mut merge = |part: &Value| {
        if let Some(own) = part.get("properties").and_then(Value::as_object) {
            for (name, property) in own {
                properties
                    .entry(name.clone())
                    .or_insert_with(|| property.clone());
            }
        }
        for name in part
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !required.contains(name) {
                required.push(name.clone());
            }
        }
    };
    merge(schema);
    for branch in schema.get("allOf").and_then(Value::as_array)? {
        let branch = resolve_json_ref(document, branch);
        let object_like = branch.get("properties").is_some()
            || branch.get("type").and_then(Value::as_str) == Some("object")
            || branch.get("allOf").is_some();
        if !object_like
            || ["oneOf", "anyOf", "not"]
                .iter()
                .any(|k| branch.get(*k).is_some())
        {
            return None;
        }
        if branch.get("allOf").is_some() {
            merge(&merge_all_of(document, branch, depth + 1)?);
        } else {
            merge(branch);
        }
    }
    let mut merged = serde_json::Map::new();
    for key in [
        "title",
        "description",
        "additionalProperties",
        "patternProperties",
    ] {
        if let Some(value) = schema.get(key) {
            merged.insert(key.to_owned(), value.clone());
        }
    }
    merged.insert("type".to_owned(), Value::from("object"));
    merged.insert("properties".to_owned(), Value::Object(properties));
    if !required.is_empty() {
        merged.insert("required".to_owned(), Value::Array(required));
    }
    Some(Value::Object(merged))
}

/// The string a property schema pins its value to: `const`, or an `enum` of one string.
fn constant(schema: &Value) -> Option<&str> {
    schema.get("const").and_then(Value::as_str).or_else(|| {
        match schema.get("enum").and_then(Value::as_array)?.as_slice() {
            [Value::String(one)] => Some(one.as_str()),
            _ => None,
        }
    })
}

/// The JSON type a `oneOf`/`anyOf` branch admits, when it admits exactly one.
fn single_type(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(one)) => Some(one.as_str()),
        None if schema.get("properties").is_some() => Some("object"),
        _ => None,
    }
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

    /// `serde_json::Value`, remembering why for the field's docs.
    fn fallback(&mut self, why: &str) -> Typed {
        self.note = Some(why.to_owned());
        Typed {
            ty: value_type(),
            nullable: true,
            check: TokenStream::new(),
        }
    }

    /// The Rust type of `schema`, whether it admits `null`, and its check body.
    fn ty(&mut self, schema: &Value, pointer: &str, context: &str) -> Typed {
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
            return Typed::plain(quote! { #name });
        }
        if schema.get("allOf").is_some() {
            let Some(merged) = merge_all_of(self.document, schema, 0) else {
                return self.fallback(
                    "`allOf` with a branch that is not an object schema has no struct form.",
                );
            };
            let name = self.fresh(context);
            self.object(&merged, pointer, &name, None);
            let name = ident(&name);
            return Typed {
                ty: quote! { #name },
                nullable: false,
                check: call_check(),
            };
        }
        for keyword in ["oneOf", "anyOf"] {
            if let Some(branches) = schema.get(keyword).and_then(Value::as_array) {
                return self.union(branches, &format!("{pointer}/{keyword}"), context, keyword);
            }
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let nullable = types.contains(&"null");
        let others: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
        let (inner, check) = match others.as_slice() {
            ["string"] => match schema.get("format").and_then(Value::as_str) {
                // chrono and uuid read and write these formats with their own serde impls.
                Some("uuid") => (
                    quote! { ::eventschema::__private::uuid::Uuid },
                    TokenStream::new(),
                ),
                Some("date") => (
                    quote! { ::eventschema::__private::chrono::NaiveDate },
                    TokenStream::new(),
                ),
                Some("date-time") => (
                    quote! {
                        ::eventschema::__private::chrono::DateTime<::eventschema::__private::chrono::Utc>
                    },
                    TokenStream::new(),
                ),
                // A full-time has an offset, which chrono's `NaiveTime` does not read: adapted.
                Some("time") if self.adapt_time => (
                    quote! { ::eventschema::__private::chrono::NaiveTime },
                    TokenStream::new(),
                ),
                _ => (
                    crate::types::json_primitive("string").unwrap_or_else(value_type),
                    string_checks(schema),
                ),
            },
            [primitive @ ("integer" | "number")] => (
                crate::types::json_primitive(primitive).unwrap_or_else(value_type),
                number_checks(schema),
            ),
            ["boolean"] => (
                crate::types::json_primitive("boolean").unwrap_or_else(value_type),
                TokenStream::new(),
            ),
            ["array"] => match self.array(schema, pointer, context) {
                Some(typed) => (typed.ty, typed.check),
                None => return self.fallback_kept(),
            },
            ["object"] if schema.get("properties").is_some() => {
                let name = self.fresh(context);
                self.object(schema, pointer, &name, None);
                let name = ident(&name);
                (quote! { #name }, call_check())
            }
            ["object"] => {
                let values = self.map_values(schema, pointer, context);
                let ty = values.ty;
                (
                    quote! { ::std::collections::BTreeMap<String, #ty> },
                    each_value(&values.check),
                )
            }
            [] if types_empty_object(schema) => {
                let name = self.fresh(context);
                self.object(schema, pointer, &name, None);
                let name = ident(&name);
                (quote! { #name }, call_check())
            }
            [] if schema.get("prefixItems").is_some() => match self.array(schema, pointer, context)
            {
                Some(typed) => (typed.ty, typed.check),
                None => return self.fallback_kept(),
            },
            // Several types, no type at all: left to the application.
            _ => {
                return Typed {
                    ty: value_type(),
                    nullable: true,
                    check: TokenStream::new(),
                };
            }
        };
        if nullable {
            Typed {
                ty: quote! { Option<#inner> },
                nullable: true,
                check: if_some(&check),
            }
        } else {
            Typed {
                ty: inner,
                nullable: false,
                check,
            }
        }
    }

    /// A fallback whose note is already set.
    fn fallback_kept(&mut self) -> Typed {
        Typed {
            ty: value_type(),
            nullable: true,
            check: TokenStream::new(),
        }
    }

    /// `items` (a `Vec`) or a closed tuple (`prefixItems`, or draft 7's array `items`) whose
    /// `minItems` asks for every item; `None`, with the note set, for a tuple that admits
    /// more or fewer items: a Rust tuple has a fixed length, and would refuse the longer or
    /// shorter arrays the schema allows.
    fn array(&mut self, schema: &Value, pointer: &str, context: &str) -> Option<Typed> {
        let (prefix, prefix_key, rest_key) = match (schema.get("prefixItems"), schema.get("items"))
        {
            (Some(Value::Array(prefix)), _) => (Some(prefix), "prefixItems", "items"),
            (_, Some(Value::Array(prefix))) => (Some(prefix), "items", "additionalItems"),
            _ => (None, "", ""),
        };
        if let Some(prefix) = prefix {
            let closed = schema.get(rest_key) == Some(&Value::Bool(false))
                || schema.get("unevaluatedItems") == Some(&Value::Bool(false));
            if !closed {
                self.note = Some(format!(
                    "A tuple (`{prefix_key}`) that admits more items than it lists has no Rust tuple form."
                ));
                return None;
            }
            // Any prefix of a tuple is valid unless `minItems` asks for every item.
            let min_items = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            if usize::try_from(min_items).map_or(true, |n| n < prefix.len()) {
                self.note = Some(format!(
                    "A tuple (`{prefix_key}`) that admits fewer items than it lists (no `minItems` of its length) has no Rust tuple form."
                ));
                return None;
            }
            let mut types = Vec::new();
            let mut checks = TokenStream::new();
            for (index, item) in prefix.iter().enumerate() {
                let typed = self.ty(
                    item,
                    &format!("{pointer}/{prefix_key}/{index}"),
                    &format!("{context}{index}"),
                );
                types.push(typed.ty);
                if !typed.check.is_empty() {
                    let position = Literal::usize_unsuffixed(index);
                    let body = typed.check;
                    checks.extend(quote! {
                        {
                            let value = &value.#position;
                            let path = &format!("{path}/{}", #position);
                            #body
                        }
                    });
                }
            }
            return Some(Typed {
                ty: quote! { (#(#types,)*) },
                nullable: false,
                check: checks,
            });
        }
        let items = schema.get("items").filter(|items| items.is_object());
        let (item, item_check) = match items {
            Some(items) => {
                let typed = self.ty(
                    items,
                    &format!("{pointer}/items"),
                    &format!("{context}Item"),
                );
                (typed.ty, typed.check)
            }
            None => (value_type(), TokenStream::new()),
        };
        let mut check = items_checks(schema);
        check.extend(each_item(&item_check));
        Some(Typed {
            ty: quote! { Vec<#item> },
            nullable: false,
            check,
        })
    }

    /// The value type of an object's undeclared properties when one schema covers every
    /// key: a typed `additionalProperties`, or `patternProperties` whose patterns share one
    /// schema with `additionalProperties` false or the same. Otherwise `Value`.
    fn map_values(&mut self, schema: &Value, pointer: &str, context: &str) -> Typed {
        let additional = schema.get("additionalProperties");
        let patterns = schema.get("patternProperties").and_then(Value::as_object);
        let mut covering: Option<(&Value, String)> = None;
        if let Some(patterns) = patterns.filter(|p| !p.is_empty()) {
            let mut schemas = patterns.iter();
            if let Some((pattern, first)) = schemas.next()
                && schemas.all(|(_, other)| other == first)
                && match additional {
                    Some(Value::Bool(false)) => true,
                    Some(other @ Value::Object(_)) => other == first,
                    _ => false,
                }
            {
                covering = Some((
                    first,
                    format!(
                        "{pointer}/patternProperties/{}",
                        pattern.replace('~', "~0").replace('/', "~1")
                    ),
                ));
            }
        } else if let Some(values @ Value::Object(_)) = additional {
            covering = Some((values, format!("{pointer}/additionalProperties")));
        }
        match covering {
            Some((values, at)) => self.ty(values, &at, &format!("{context}Value")),
            None => Typed::plain(value_type()),
        }
    }

    /// `oneOf`/`anyOf`: an internally tagged enum when every branch is an object pinning one
    /// shared required property to a distinct string; an untagged enum when the branches
    /// admit distinct JSON types (so at most one can match any value); else `Value`.
    fn union(&mut self, branches: &[Value], pointer: &str, context: &str, keyword: &str) -> Typed {
        if let Some(typed) = self.tagged(branches, pointer, context) {
            return typed;
        }
        if let Some(typed) = self.untagged(branches, pointer, context) {
            return typed;
        }
        self.fallback(&format!(
            "`{keyword}` whose branches neither share a `const` discriminator property nor admit distinct JSON types: no enum can tell them apart."
        ))
    }

    fn tagged(&mut self, branches: &[Value], pointer: &str, context: &str) -> Option<Typed> {
        let document = self.document;
        let resolved: Vec<&Value> = branches
            .iter()
            .map(|b| resolve_json_ref(document, b))
            .collect();
        let first = resolved.first()?.get("properties")?.as_object()?;
        let tag = first.keys().find(|candidate| {
            let mut seen = BTreeSet::new();
            resolved.iter().all(|branch| {
                let required = branch
                    .get("required")
                    .and_then(Value::as_array)
                    .is_some_and(|r| r.iter().any(|name| name == candidate.as_str()));
                branch
                    .get("properties")
                    .and_then(|p| p.get(candidate.as_str()))
                    .and_then(constant)
                    .is_some_and(|value| required && seen.insert(value))
            })
        })?;
        let values: Vec<&str> = resolved
            .iter()
            .filter_map(|b| b.get("properties")?.get(tag.as_str()).and_then(constant))
            .collect();
        let variants = enum_variants(&values);
        let name = self.fresh(context);
        let name_ident = ident(&name);
        let mut arms = Vec::new();
        let mut checks = Vec::new();
        for (index, ((branch, value), variant)) in
            resolved.iter().zip(&values).zip(&variants).enumerate()
        {
            let struct_name = self.fresh(&format!("{name}{variant}"));
            self.object(
                branch,
                &format!("{pointer}/{index}"),
                &struct_name,
                Some(tag),
            );
            let (struct_ident, variant_ident) = (ident(&struct_name), ident(variant));
            arms.push(quote! { #[serde(rename = #value)] #variant_ident(#struct_ident) });
            checks.push(quote! { #name_ident::#variant_ident(value) => ::eventschema::__private::Check::check_at(value, path) });
        }
        self.items.push(quote! {
            #[derive(Debug, Clone, PartialEq, ::eventschema::__private::serde::Serialize, ::eventschema::__private::serde::Deserialize)]
            #[serde(crate = "::eventschema::__private::serde", tag = #tag)]
            pub enum #name_ident { #(#arms),* }

            impl ::eventschema::__private::Check for #name_ident {
                fn check_at(&self, path: &str) -> Result<(), ::eventschema::CodecError> {
                    match self { #(#checks),* }
                }
            }
        });
        Some(Typed {
            ty: quote! { #name_ident },
            nullable: false,
            check: call_check(),
        })
    }

    fn untagged(&mut self, branches: &[Value], pointer: &str, context: &str) -> Option<Typed> {
        let document = self.document;
        let kinds: Vec<&str> = branches
            .iter()
            .map(|b| single_type(resolve_json_ref(document, b)))
            .collect::<Option<_>>()?;
        let distinct: BTreeSet<&str> = kinds.iter().copied().collect();
        // An integer is also a number: the two would not be told apart.
        if distinct.len() != kinds.len()
            || (distinct.contains("integer") && distinct.contains("number"))
        {
            return None;
        }
        let nullable = distinct.contains("null");
        let name = self.fresh(context);
        let name_ident = ident(&name);
        let mut arms = Vec::new();
        let mut checks = Vec::new();
        for (index, (branch, kind)) in branches.iter().zip(&kinds).enumerate() {
            if *kind == "null" {
                continue;
            }
            let variant = ident(&pascal(kind));
            let typed = self.ty(
                branch,
                &format!("{pointer}/{index}"),
                &format!("{name}{}", pascal(kind)),
            );
            let ty = typed.ty;
            arms.push(quote! { #variant(#ty) });
            let body = typed.check;
            checks.push(if body.is_empty() {
                quote! { #name_ident::#variant(_) => {} }
            } else {
                quote! { #name_ident::#variant(value) => { #body } }
            });
        }
        self.items.push(quote! {
            #[derive(Debug, Clone, PartialEq, ::eventschema::__private::serde::Serialize, ::eventschema::__private::serde::Deserialize)]
            #[serde(crate = "::eventschema::__private::serde", untagged)]
            pub enum #name_ident { #(#arms),* }

            impl ::eventschema::__private::Check for #name_ident {
                fn check_at(&self, path: &str) -> Result<(), ::eventschema::CodecError> {
                    let _ = path;
                    match self { #(#checks),* }
                    Ok(())
                }
            }
        });
        Some(if nullable {
            Typed {
                ty: quote! { Option<#name_ident> },
                nullable: true,
                check: if_some(&call_check()),
            }
        } else {
            Typed {
                ty: quote! { #name_ident },
                nullable: false,
                check: call_check(),
            }
        })
    }

    fn reference(&mut self, reference: &str, pointer: &str) -> Typed {
        let Some(target_pointer) = reference.strip_prefix('#') else {
            let message = match self.references.iter().find(|r| r.name == reference) {
                Some(other) => format!(
                    "'{reference}' is a reference to subject '{}' version {}: the generator \
                     reuses types of referenced subjects for Avro only, not yet for JSON Schema",
                    other.subject, other.version
                ),
                None => {
                    format!("only local references (`#/...`) are supported, not '{reference}'")
                }
            };
            self.problems
                .push(Problem::new(&format!("{pointer}/$ref"), &message));
            return self.fallback_kept();
        };
        let document = self.document;
        let Some(target) = document.pointer(target_pointer) else {
            self.problems.push(Problem::new(
                &format!("{pointer}/$ref"),
                &format!("'{reference}' points at nothing"),
            ));
            return self.fallback_kept();
        };
        if let Some((name, nullable, check)) = self.refs.get(target_pointer) {
            let boxed = self.in_progress.contains(target_pointer);
            let (nullable, check) = (*nullable, check.clone());
            let name = ident(name);
            return if boxed {
                // Only objects recurse, and an object's check is its own impl.
                Typed {
                    ty: quote! { Box<#name> },
                    nullable: false,
                    check: call_check(),
                }
            } else {
                Typed {
                    ty: quote! { #name },
                    nullable,
                    check,
                }
            };
        }
        let last = target_pointer
            .rsplit('/')
            .next()
            .map(unescape)
            .unwrap_or_default();
        let wanted = pascal(&last);
        let name = self.fresh(&wanted);
        self.refs.insert(
            target_pointer.to_owned(),
            (name.clone(), false, call_check()),
        );
        self.in_progress.insert(target_pointer.to_owned());
        // Let an object or enum target take the reference's name itself.
        self.taken.remove(&name);
        let typed = self.ty(target, target_pointer, &name);
        self.in_progress.remove(target_pointer);
        self.taken.insert(name.clone());
        // A primitive or array target has no item of its own: name it with an alias.
        let alias = ident(&name);
        if alias != typed.ty.to_string() {
            let ty = &typed.ty;
            self.items.push(quote! { pub type #alias = #ty; });
        }
        self.refs.insert(
            target_pointer.to_owned(),
            (name, typed.nullable, typed.check.clone()),
        );
        Typed {
            ty: quote! { #alias },
            nullable: typed.nullable,
            check: typed.check,
        }
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

    /// The root of a schema that is not an object with properties (a primitive, an array,
    /// an enum, a union, `true`, ...): a transparent newtype named `name` around the type
    /// the root maps to, checked through its inner value.
    fn newtype_root(&mut self, name: &str) {
        let document = self.document;
        // A `$ref` to `#` below the root is the root again: boxed, checked by its own impl.
        self.refs
            .insert(String::new(), (name.to_owned(), false, call_check()));
        self.in_progress.insert(String::new());
        self.note = None;
        let mut typed = self.ty(document, "", &format!("{name}Value"));
        self.in_progress.remove("");
        let type_ident = ident(name);
        if typed.ty.to_string() == quote! { Box<#type_ident> }.to_string() {
            // `{"$ref": "#"}`: a value that is only itself would never end (serde would
            // recurse without reading); the schema constrains nothing.
            typed = self.fallback("A root that refers only to itself constrains nothing.");
        }
        let ty = typed.ty;
        let mut type_doc = doc(document);
        type_doc.extend(quote! {
            #[doc = " The event's value: its schema's root is not an object with properties."]
        });
        if let Some(note) = self.note.take() {
            let note = format!(" {note}");
            type_doc.extend(quote! { #[doc = #note] });
        }
        let body = typed.check;
        let check = if body.is_empty() {
            quote! {
                fn check_at(&self, _path: &str) -> Result<(), ::eventschema::CodecError> {
                    Ok(())
                }
            }
        } else {
            quote! {
                fn check_at(&self, path: &str) -> Result<(), ::eventschema::CodecError> {
                    let value = &self.0;
                    #body
                    Ok(())
                }
            }
        };
        self.items.push(quote! {
            #type_doc
            #[derive(Debug, Clone, PartialEq, ::eventschema::__private::serde::Serialize, ::eventschema::__private::serde::Deserialize)]
            #[serde(crate = "::eventschema::__private::serde", transparent)]
            pub struct #type_ident(pub #ty);

            impl #type_ident {
                /// Checks the schema's bounds (`minimum`, `maxLength`, `maxItems`, ...),
                /// which serde does not: `Event::decode` and `encode` call it.
                pub fn check(&self) -> Result<(), ::eventschema::CodecError> {
                    ::eventschema::__private::Check::check_at(self, "")
                }
            }

            impl ::eventschema::__private::Check for #type_ident {
                #check
            }
        });
    }

    /// A struct for an object schema; `tag` is a discriminator property an enclosing
    /// internally tagged enum reads and writes itself, so the struct leaves it out.
    fn object(&mut self, schema: &Value, pointer: &str, name: &str, tag: Option<&str>) {
        let is_root = std::mem::take(&mut self.collect_root) && pointer.is_empty();
        let merged;
        let schema = if schema.get("allOf").is_some()
            && let Some(all) = merge_all_of(self.document, schema, 0)
        {
            merged = all;
            &merged
        } else {
            schema
        };
        let required: BTreeSet<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut fields = Vec::new();
        let mut checks = Vec::new();
        let mut used = BTreeSet::new();
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (property, property_schema) in properties {
                if Some(property.as_str()) == tag {
                    continue;
                }
                let mut rust = snake(property);
                while !used.insert(rust.clone()) {
                    rust.push('_');
                }
                let escaped = property.replace('~', "~0").replace('/', "~1");
                let field_pointer = format!("{pointer}/properties/{escaped}");
                let context = format!("{name}{}", pascal(property));
                self.last_enum = None;
                self.note = None;
                let time = is_time(property_schema);
                self.adapt_time = time;
                let typed = self.ty(property_schema, &field_pointer, &context);
                self.adapt_time = false;
                let (ty, nullable) = (typed.ty, typed.nullable);
                let optional = nullable || !required.contains(property.as_str());
                let with = time.then(|| {
                    let shape = if optional { "option" } else { "field" };
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
                        optional,
                        enum_type: self.last_enum.take().filter(|_| own_enum),
                    });
                }
                let field_ident = ident(&rust);
                if !typed.check.is_empty() {
                    let body = if !nullable && optional {
                        if_some(&typed.check)
                    } else {
                        typed.check
                    };
                    let at = format!("/{escaped}");
                    checks.push(quote! {
                        {
                            let value = &self.#field_ident;
                            let path = &format!("{path}{}", #at);
                            #body
                        }
                    });
                }
                let rename = (rust != *property).then(|| quote! { #[serde(rename = #property)] });
                let mut field_doc = doc(property_schema);
                if let Some(note) = self.note.take() {
                    let note = format!(" {note}");
                    field_doc.extend(quote! { #[doc = #note] });
                }
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
        // Undeclared properties one schema covers: kept, typed, beside the declared ones.
        let typed_rest = schema
            .get("additionalProperties")
            .is_some_and(Value::is_object)
            || schema.get("patternProperties").is_some();
        if typed_rest {
            let values = self.map_values(schema, pointer, &format!("{name}Additional"));
            if values.ty.to_string() != value_type().to_string() {
                let mut rust = "additional_properties".to_owned();
                while !used.insert(rust.clone()) {
                    rust.push('_');
                }
                let field_ident = ident(&rust);
                let ty = values.ty;
                fields.push(quote! {
                    /// The properties not declared above, each checked against the schema
                    /// for undeclared properties.
                    #[serde(flatten)]
                    pub #field_ident: ::std::collections::BTreeMap<String, #ty>
                });
                let body = each_value(&values.check);
                if !body.is_empty() {
                    checks.push(quote! {
                        {
                            let value = &self.#field_ident;
                            #body
                        }
                    });
                }
            }
        }
        let type_ident = ident(name);
        let type_doc = doc(schema);
        let path_ident = if checks.is_empty() {
            ident("_path")
        } else {
            ident("path")
        };
        self.items.push(quote! {
            #type_doc
            #[derive(Debug, Clone, PartialEq, ::eventschema::__private::serde::Serialize, ::eventschema::__private::serde::Deserialize)]
            #[serde(crate = "::eventschema::__private::serde")]
            pub struct #type_ident { #(#fields),* }

            impl #type_ident {
                /// Checks the schema's bounds (`minimum`, `maxLength`, `maxItems`, ...),
                /// which serde does not: `Event::decode` and `encode` call it.
                pub fn check(&self) -> Result<(), ::eventschema::CodecError> {
                    ::eventschema::__private::Check::check_at(self, "")
                }
            }

            impl ::eventschema::__private::Check for #type_ident {
                fn check_at(&self, #path_ident: &str) -> Result<(), ::eventschema::CodecError> {
                    #(#checks)*
                    Ok(())
                }
            }
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
