//! The compile-time check: does a struct match its schema file? The schema is parsed by
//! `eventschema-core` (the one schema model) and each field's Rust type is compared with
//! the type `eventschema-codegen` would have generated for the field's schema
//! (`eventschema_codegen::types`), so derived and generated code agree by construction.
//!
//! Every mismatch becomes a `syn::Error` at the offending field (or its type, or its
//! `rename`), naming the schema file and what it expects; all of them are reported at once.

use eventschema_codegen::types::resolve_json_ref;
use eventschema_core::avro::{AvroSchema, NamedKind, Primitive, Schema};
use proc_macro2::Span;
use quote::ToTokens;
use serde_json::Value;
use syn::spanned::Spanned;
use syn::{GenericArgument, Ident, PathArguments, Type};

/// One struct field as it appears on the wire.
#[derive(Debug, Clone)]
pub struct WireField {
    pub ident: Ident,
    /// The name serde writes (after `rename` / `rename_all`).
    pub name: String,
    /// Where the name comes from: the `rename` literal, or the field.
    pub name_span: Span,
    pub renamed: bool,
    pub ty: Type,
}

/// The Rust shape of a type, as far as the check cares.
#[derive(Debug)]
enum Shape<'a> {
    Option(&'a Type),
    Vec(&'a Type),
    Map(&'a Type, &'a Type),
    ByteArray,
    /// Any other path: the last segment's name.
    Path(String),
    Other,
}

fn generic_args(ty: &Type) -> Option<(String, Vec<&Type>)> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    let args = match &last.arguments {
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some((last.ident.to_string(), args))
}

fn shape(ty: &Type) -> Shape<'_> {
    match ty {
        Type::Group(group) => shape(&group.elem),
        Type::Paren(paren) => shape(&paren.elem),
        Type::Array(array) if is_named(&array.elem, "u8") => Shape::ByteArray,
        Type::Path(_) => match generic_args(ty) {
            Some((name, args)) => match (name.as_str(), args.as_slice()) {
                ("Box", [inner]) => shape(inner),
                ("Option", [inner]) => Shape::Option(inner),
                ("Vec", [inner]) => Shape::Vec(inner),
                ("BTreeMap" | "HashMap" | "IndexMap", [key, value]) => Shape::Map(key, value),
                _ => Shape::Path(name),
            },
            None => Shape::Other,
        },
        _ => Shape::Other,
    }
}

fn is_named(ty: &Type, name: &str) -> bool {
    matches!(shape(ty), Shape::Path(n) if n == name)
}

/// Types that stand for a schema's named or union type (a struct or enum of the user's).
fn is_user_type(ty: &Type) -> bool {
    match shape(ty) {
        Shape::Path(name) => !BUILTIN.contains(&name.as_str()),
        _ => false,
    }
}

const BUILTIN: [&str; 17] = [
    "bool", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
    "f32", "f64", "String", "str",
];

/// Rust types accepted for a logical type (the crates `eventschema` maps them to).
const LOGICAL: [&str; 7] = [
    "Uuid",
    "NaiveDate",
    "NaiveTime",
    "NaiveDateTime",
    "DateTime",
    "Decimal",
    "Duration",
];

/// Structural equality of two types by the last segment of each path, so that
/// `std::string::String` equals `String`.
fn same_type(found: &Type, expected: &Type) -> bool {
    match (generic_args(found), generic_args(expected)) {
        (Some((a, a_args)), Some((b, b_args))) => {
            a == b
                && a_args.len() == b_args.len()
                && a_args.iter().zip(&b_args).all(|(x, y)| same_type(x, y))
        }
        _ => match (found, expected) {
            (Type::Tuple(a), Type::Tuple(b)) => a.elems.is_empty() && b.elems.is_empty(),
            _ => false,
        },
    }
}

/// Where to report a type: the last path segment (`BTreeMap` in `std::collections::
/// BTreeMap<..>`), since a span over the whole type is not available to stable macros.
fn type_span(ty: &Type) -> Span {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .map_or_else(|| ty.span(), |segment| segment.ident.span()),
        _ => ty.span(),
    }
}

fn show(ty: &Type) -> String {
    ty.to_token_stream()
        .to_string()
        .replace(" < ", "<")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace(" :: ", "::")
        .replace(":: ", "::")
}

fn codegen_type(tokens: proc_macro2::TokenStream) -> Option<Type> {
    syn::parse2(tokens).ok()
}

/// `field` as the user wrote it, with the schema's name when serde renames it.
fn label(field: &WireField) -> String {
    if field.ident == field.name.as_str() {
        format!("`{}`", field.name)
    } else {
        format!("`{}` (`{}` in the schema)", field.ident, field.name)
    }
}

/// Loose name comparison for "did you mean" hints: case and separators ignored.
fn loose(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

struct Checker<'a> {
    /// The schema path as the user wrote it, for messages.
    file: &'a str,
    errors: Option<syn::Error>,
}

impl Checker<'_> {
    fn error(&mut self, span: Span, message: String) {
        let error = syn::Error::new(span, message);
        match &mut self.errors {
            Some(all) => all.combine(error),
            None => self.errors = Some(error),
        }
    }

    fn finish(self) -> syn::Result<()> {
        self.errors.map_or(Ok(()), Err)
    }

    /// Reports the struct fields and schema fields that have no counterpart; returns the
    /// pairs that match by name.
    fn pair<'f, S>(
        &mut self,
        struct_ident: &Ident,
        fields: &'f [WireField],
        schema_fields: &[(String, Vec<String>, S)],
        describe: impl Fn(&S) -> String,
    ) -> Vec<(&'f WireField, usize)> {
        let mut pairs = Vec::new();
        let mut used = vec![false; schema_fields.len()];
        let mut unmatched = Vec::new();
        for field in fields {
            match schema_fields
                .iter()
                .position(|(name, _, _)| *name == field.name)
            {
                Some(at) => {
                    if let Some(slot) = used.get_mut(at) {
                        *slot = true;
                    }
                    pairs.push((field, at));
                }
                None => unmatched.push(field),
            }
        }
        let free: Vec<&String> = schema_fields
            .iter()
            .zip(&used)
            .filter(|(_, used)| !**used)
            .map(|((name, _, _), _)| name)
            .collect();
        for field in unmatched {
            let alias_of = schema_fields
                .iter()
                .find(|(_, aliases, _)| aliases.contains(&field.name))
                .map(|(name, _, _)| name);
            // A name that differs only in case or separators, else the one schema field
            // left without a struct field.
            let similar = free
                .iter()
                .find(|name| loose(name) == loose(&field.name))
                .or(if free.len() == 1 { free.first() } else { None })
                .copied();
            let message = match (field.renamed, alias_of, similar) {
                (_, Some(current), _) => format!(
                    "field `{}`: schema `{}` has no field `{}`; it is an old name (alias) of `{current}`: rename the field to `{current}` or add #[serde(rename = \"{current}\")]",
                    field.ident, self.file, field.name
                ),
                (true, None, Some(similar)) => format!(
                    "field `{}`: renamed to `{}`, but schema `{}` has no field `{}`; did you mean `{similar}`?",
                    field.ident, field.name, self.file, field.name
                ),
                (true, None, None) => format!(
                    "field `{}`: renamed to `{}`, but schema `{}` has no field `{}`",
                    field.ident, field.name, self.file, field.name
                ),
                (false, None, Some(similar)) => format!(
                    "field `{}` is not in schema `{}`; did you mean `{similar}`? (rename the field or add #[serde(rename = \"{similar}\")])",
                    field.ident, self.file
                ),
                (false, None, None) => format!(
                    "field `{}` is not in schema `{}` (extra field): remove it, mark it #[serde(skip)], or add it to a new schema version",
                    field.ident, self.file
                ),
            };
            self.error(field.name_span, message);
        }
        for ((name, _, schema), used) in schema_fields.iter().zip(used) {
            if !used {
                self.error(
                    struct_ident.span(),
                    format!(
                        "struct `{struct_ident}` has no field for `{name}` (missing field): schema `{}` has `{name}: {}`",
                        self.file,
                        describe(schema)
                    ),
                );
            }
        }
        pairs
    }
}

// ---------------------------------------------------------------------------------- Avro

fn avro_describe(schema: &AvroSchema, node: &Schema) -> String {
    match node {
        Schema::Primitive { kind, logical, .. } => match logical {
            Some(logical) => format!("{} ({})", kind.name(), logical.name()),
            None => kind.name().to_owned(),
        },
        Schema::Array { items, .. } => format!("array of {}", avro_describe(schema, items)),
        Schema::Map { values, .. } => format!("map of {}", avro_describe(schema, values)),
        Schema::Union(branches) => format!(
            "[{}]",
            branches
                .iter()
                .map(|b| avro_describe(schema, b))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Schema::Named(index) => schema.named(*index).map_or_else(
            || "?".to_owned(),
            |named| format!("{} {}", named.type_name(), named.name.full()),
        ),
    }
}

fn is_null(node: &Schema) -> bool {
    matches!(
        node,
        Schema::Primitive {
            kind: Primitive::Null,
            ..
        }
    )
}

/// Whether Rust type `ty` can carry values of Avro schema `node`; `Err` says why not.
fn avro_matches(schema: &AvroSchema, node: &Schema, ty: &Type) -> Result<(), String> {
    let shape = shape(ty);
    let nullable_union = matches!(node, Schema::Union(branches) if branches.iter().any(is_null));
    if let (Shape::Option(_), false) = (&shape, nullable_union) {
        return Err("an `Option` where the schema has no null branch: remove the `Option` or add \"null\" to the schema's type".to_owned());
    }
    let mismatch = || Err(String::new());
    match node {
        Schema::Primitive { kind, logical, .. } => {
            let expected = codegen_type(eventschema_codegen::types::avro_primitive(*kind));
            if expected.as_ref().is_some_and(|e| same_type(ty, e)) {
                return Ok(());
            }
            match (logical, shape) {
                (Some(_), Shape::Path(name)) if LOGICAL.contains(&name.as_str()) => Ok(()),
                (None, Shape::ByteArray) if *kind == Primitive::Bytes => Ok(()),
                _ => mismatch(),
            }
        }
        Schema::Array { items, .. } => match shape {
            Shape::Vec(inner) => avro_matches(schema, items, inner),
            _ => mismatch(),
        },
        Schema::Map { values, .. } => match shape {
            Shape::Map(key, value) if is_named(key, "String") => {
                avro_matches(schema, values, value)
            }
            _ => mismatch(),
        },
        Schema::Union(branches) => {
            let others: Vec<&Schema> = branches.iter().filter(|b| !is_null(b)).collect();
            match (nullable_union, shape, others.as_slice()) {
                (true, Shape::Option(inner), [only]) => avro_matches(schema, only, inner),
                (true, Shape::Option(inner), _) if is_user_type(inner) => Ok(()),
                (true, _, _) => Err("the schema has a null branch: use an `Option`".to_owned()),
                (false, _, [only]) => avro_matches(schema, only, ty),
                (false, _, _) if is_user_type(ty) => Ok(()),
                _ => mismatch(),
            }
        }
        Schema::Named(index) => match schema.named(*index).map(|n| &n.kind) {
            Some(NamedKind::Fixed { .. }) => match shape {
                Shape::ByteArray => Ok(()),
                Shape::Vec(inner) if is_named(inner, "u8") => Ok(()),
                Shape::Path(name) if LOGICAL.contains(&name.as_str()) => Ok(()),
                _ => mismatch(),
            },
            _ if is_user_type(ty) => Ok(()),
            _ => mismatch(),
        },
    }
}

/// Checks `fields` against the root record of an Avro schema.
pub fn check_avro(
    schema: &AvroSchema,
    file: &str,
    struct_ident: &Ident,
    fields: &[WireField],
) -> syn::Result<()> {
    let mut checker = Checker { file, errors: None };
    let record = match schema.root() {
        Schema::Named(index) => schema.named(*index).and_then(|n| match &n.kind {
            NamedKind::Record { fields, .. } => Some(fields),
            _ => None,
        }),
        _ => None,
    };
    let Some(record) = record else {
        return Err(syn::Error::new(
            struct_ident.span(),
            format!(
                "schema `{file}` is not a record, so no struct can match it (its type is {})",
                avro_describe(schema, schema.root())
            ),
        ));
    };
    let schema_fields: Vec<(String, Vec<String>, &Schema)> = record
        .iter()
        .map(|f| (f.name.clone(), f.aliases.clone(), &f.schema))
        .collect();
    let pairs = checker.pair(struct_ident, fields, &schema_fields, |node| {
        avro_describe(schema, node)
    });
    for (field, at) in pairs {
        let Some((_, _, node)) = schema_fields.get(at) else {
            continue;
        };
        if let Err(why) = avro_matches(schema, node, &field.ty) {
            let mut message = format!(
                "field {}: schema `{file}` has `{}`, found `{}`",
                label(field),
                avro_describe(schema, node),
                show(&field.ty)
            );
            if !why.is_empty() {
                message.push_str("; ");
                message.push_str(&why);
            }
            checker.error(type_span(&field.ty), message);
        }
    }
    checker.finish()
}

// ---------------------------------------------------------------------------- JSON Schema

fn json_types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn json_describe(schema: &Value) -> String {
    let types = json_types(schema);
    if schema.get("enum").is_some() {
        return "string enum".to_owned();
    }
    match types.as_slice() {
        [] => "any value".to_owned(),
        [one] => (*one).to_owned(),
        many => format!("[{}]", many.join(", ")),
    }
}

const INTEGERS: [&str; 10] = [
    "i8", "i16", "i32", "i64", "i128", "u8", "u16", "u32", "u64", "u128",
];

fn json_matches(root: &Value, schema: &Value, ty: &Type, optional: bool) -> Result<(), String> {
    let schema = resolve_json_ref(root, schema);
    let types = json_types(schema);
    let nullable = optional || types.contains(&"null");
    let shape = shape(ty);
    let inner = match (&shape, nullable) {
        (Shape::Option(inner), true) => *inner,
        (Shape::Option(_), false) => {
            return Err("an `Option` for a property that is required and not nullable: remove the `Option`, or make the property optional in the schema".to_owned());
        }
        (_, true) if !types.is_empty() || schema.get("enum").is_some() => {
            return Err(if optional {
                "the property is not required: use an `Option`".to_owned()
            } else {
                "the property is nullable: use an `Option`".to_owned()
            });
        }
        _ => ty,
    };
    let others: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    let inner_shape = self::shape(inner);
    if schema.get("enum").is_some() {
        return if is_named(inner, "String") || is_user_type(inner) {
            Ok(())
        } else {
            Err(String::new())
        };
    }
    let ok = match others.as_slice() {
        [primitive @ ("string" | "number" | "boolean")] => {
            eventschema_codegen::types::json_primitive(primitive)
                .and_then(codegen_type)
                .is_some_and(|expected| same_type(inner, &expected))
                || (*primitive == "number" && is_named(inner, "f32"))
                || (*primitive == "string"
                    && matches!(&inner_shape, Shape::Path(n) if LOGICAL.contains(&n.as_str())))
        }
        // JSON has no integer widths: any Rust integer is faithful to the schema.
        ["integer"] => matches!(&inner_shape, Shape::Path(n) if INTEGERS.contains(&n.as_str())),
        ["array"] => match inner_shape {
            Shape::Vec(item) => match schema.get("items").filter(|i| i.is_object()) {
                Some(items) => return json_matches(root, items, item, false),
                None => true,
            },
            _ => false,
        },
        ["object"] => {
            is_user_type(inner)
                || matches!(inner_shape, Shape::Map(key, _) if is_named(key, "String"))
        }
        // Several types or none: only `serde_json::Value` (or a user type) carries them.
        _ => is_user_type(inner),
    };
    if ok { Ok(()) } else { Err(String::new()) }
}

/// Checks `fields` against the properties of a JSON Schema object.
pub fn check_json(
    root: &Value,
    file: &str,
    struct_ident: &Ident,
    fields: &[WireField],
) -> syn::Result<()> {
    let mut checker = Checker { file, errors: None };
    let object = resolve_json_ref(root, root);
    let Some(properties) = object.get("properties").and_then(Value::as_object) else {
        return Err(syn::Error::new(
            struct_ident.span(),
            format!(
                "schema `{file}` is not an object with `properties`, so no struct can match it"
            ),
        ));
    };
    let required: Vec<&str> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let schema_fields: Vec<(String, Vec<String>, &Value)> = properties
        .iter()
        .map(|(name, schema)| (name.clone(), Vec::new(), schema))
        .collect();
    let pairs = checker.pair(struct_ident, fields, &schema_fields, |schema| {
        json_describe(resolve_json_ref(root, schema))
    });
    for (field, at) in pairs {
        let Some((name, _, schema)) = schema_fields.get(at) else {
            continue;
        };
        let optional = !required.contains(&name.as_str());
        if let Err(why) = json_matches(root, schema, &field.ty, optional) {
            let mut message = format!(
                "field {}: schema `{file}` has `{}`{}, found `{}`",
                label(field),
                json_describe(resolve_json_ref(root, schema)),
                if optional { " (not required)" } else { "" },
                show(&field.ty)
            );
            if !why.is_empty() {
                message.push_str("; ");
                message.push_str(&why);
            }
            checker.error(type_span(&field.ty), message);
        }
    }
    checker.finish()
}
