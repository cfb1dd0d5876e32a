//! Avro schema -> Rust items for one version module: records become structs, enums enums,
//! `["null", T]` unions `Option<T>`, other unions enums; named types are emitted once, at
//! their definition, and a record that can reach itself without a `Vec`/map in between is
//! boxed so the type has a finite size. Each type also gets its Avro binary codec
//! ([`codec`]); serde derives stay for other formats (logs, JSON), with the logical types'
//! own serde forms.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use eventschema_core::avro::{AvroSchema, Field, LogicalType, NamedKind, Primitive, Schema};
use proc_macro2::{Literal, TokenStream};
use quote::quote;
use serde_json::Value;

use super::Problem;
use super::names::{ident, pascal, snake};

mod codec;
use codec::Codec;

/// The items of one version module and the name of its root type.
pub(super) struct Module {
    pub items: TokenStream,
    pub root: String,
}

/// What the upcaster generator needs to know about one version's generated code: the
/// schema and the Rust names the generator chose for it.
pub(super) struct Model<'a> {
    pub schema: &'a AvroSchema,
    /// The root record's index (`None` for a newtype root).
    pub root: Option<usize>,
    /// Rust type name of every named type, by index.
    pub names: BTreeMap<usize, String>,
    /// Union enum names by the JSON pointer of the union.
    pub unions: HashMap<String, String>,
    /// JSON pointer of each named type's definition.
    pub defined_at: HashMap<usize, String>,
    /// Named types defined by a referenced subject, re-exported rather than generated.
    pub origins: Origins,
}

/// Where a named type of a referenced schema is generated: in the version module of the
/// subject that defines it (or re-exports it), under that module's Rust name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Origin {
    pub subject: String,
    pub version: i32,
    pub rust: String,
}

/// Origins of a version's types from references, by index into the schema's type table.
pub(super) type Origins = BTreeMap<usize, Origin>;

impl Model<'_> {
    /// Whether a reference to `index` from a field of record `owner` is boxed.
    pub fn boxed(&self, index: usize, direct: bool, owner: usize) -> bool {
        direct
            && !matches!(
                self.schema.named(index).map(|n| &n.kind),
                Some(NamedKind::Fixed { .. })
            )
            && reaches(self.schema, index, owner, &mut BTreeSet::new())
    }

    /// The Rust variant name of a union branch.
    pub fn variant_name(&self, branch: &Schema) -> String {
        variant_name(&self.names, branch)
    }
}

/// The Rust variant names of enum symbols, disambiguated as in the enum's definition.
pub(super) fn enum_variants<S: AsRef<str>>(symbols: &[S]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    symbols
        .iter()
        .map(|symbol| {
            let mut variant = pascal(symbol.as_ref());
            while !seen.insert(variant.clone()) {
                variant.push('_');
            }
            variant
        })
        .collect()
}

/// The Rust field names of a record's fields, disambiguated as in the struct's definition.
pub(super) fn field_names(fields: &[Field]) -> Vec<String> {
    let mut used = BTreeSet::new();
    fields
        .iter()
        .map(|field| {
            let mut rust = snake(&field.name);
            while !used.insert(rust.clone()) {
                rust.push('_');
            }
            rust
        })
        .collect()
}

/// The name of the function that returns a field's default (see [`Generator::field`]).
pub(super) fn default_function(owner_name: &str, rust_field: &str) -> String {
    format!("default_{}_{}", snake(owner_name), rust_field)
}

/// The items of one version. A record at the root is the event type itself; any other root
/// (a primitive, array, map, union, enum or fixed, which Confluent serializers register
/// for plain values too) becomes a newtype struct named `fallback` around its Rust type.
pub(super) fn module<'a>(
    schema: &'a AvroSchema,
    fallback: &str,
    origins: Origins,
) -> Result<(Module, Model<'a>), Vec<Problem>> {
    // A root that is a referenced type itself belongs to the referenced subject's module
    // (with its `Event` impl there), so this subject wraps it in a newtype of its own.
    let record_root = match schema.root() {
        Schema::Named(index)
            if !origins.contains_key(index)
                && matches!(
                    schema.named(*index).map(|n| &n.kind),
                    Some(NamedKind::Record { .. })
                ) =>
        {
            Some(*index)
        }
        _ => None,
    };
    let mut generator = Generator::new(schema, origins);
    let root_name = match record_root {
        Some(root) => {
            generator.ty(schema.root(), "", "", true, root);
            generator.names.get(&root).cloned().unwrap_or_default()
        }
        None => generator.newtype_root(fallback),
    };
    for (index, named) in schema.types().iter().enumerate() {
        // A referenced type is checked where it is generated.
        if generator.origins.contains_key(&index) {
            continue;
        }
        if always_contains(schema, index, index, &mut BTreeSet::new()) {
            let pointer = generator
                .defined_at
                .get(&index)
                .cloned()
                .unwrap_or_default();
            generator.problems.push(Problem::new(
                &pointer,
                &format!(
                    "record '{}' always contains itself (through fields that are neither \
                     optional nor collections): no finite value has this schema",
                    named.name.full()
                ),
            ));
        }
    }
    if !generator.problems.is_empty() {
        return Err(generator.problems);
    }
    let reexports = generator.reexports();
    let items = generator.items;
    let defaults = generator.defaults;
    let model = Model {
        schema,
        root: record_root,
        names: generator.names,
        unions: generator.unions,
        defined_at: generator.defined_at,
        origins: generator.origins,
    };
    Ok((
        Module {
            items: quote! { #reexports #(#items)* #(#defaults)* },
            root: root_name,
        },
        model,
    ))
}

/// No record owns a newtype root's value, so nothing under it is boxed for its sake.
const NO_OWNER: usize = usize::MAX;

struct Generator<'a> {
    schema: &'a AvroSchema,
    /// Rust type name of every named type, by index.
    names: BTreeMap<usize, String>,
    /// Every Rust type name taken in this module (named types and union enums).
    taken: BTreeSet<String>,
    /// Union enum names by the JSON pointer of the union, for default values.
    unions: HashMap<String, String>,
    done: BTreeSet<usize>,
    /// JSON pointer of each named type's definition.
    defined_at: HashMap<usize, String>,
    items: Vec<TokenStream>,
    defaults: Vec<TokenStream>,
    problems: Vec<Problem>,
    /// Types of referenced subjects: `pub use`d from their module, never defined here.
    origins: Origins,
}

fn derive_data() -> TokenStream {
    quote! {
        #[derive(Debug, Clone, PartialEq, ::eventschema::__private::serde::Serialize, ::eventschema::__private::serde::Deserialize)]
        #[serde(crate = "::eventschema::__private::serde")]
    }
}

fn doc(text: Option<&String>) -> TokenStream {
    match text {
        Some(text) => {
            let lines = text.lines().map(|line| format!(" {}", line.trim_end()));
            quote! { #(#[doc = #lines])* }
        }
        None => TokenStream::new(),
    }
}

/// Whether `schema` holds a `null` branch (then it maps to `Option`).
fn null_branch(branches: &[Schema]) -> bool {
    branches.iter().any(|b| {
        matches!(
            b,
            Schema::Primitive {
                kind: Primitive::Null,
                ..
            }
        )
    })
}

fn is_null(schema: &Schema) -> bool {
    matches!(
        schema,
        Schema::Primitive {
            kind: Primitive::Null,
            ..
        }
    )
}

impl<'a> Generator<'a> {
    fn new(schema: &'a AvroSchema, origins: Origins) -> Self {
        // Short names unless two types share one; then both use their full names, so the
        // result does not depend on which one comes first.
        let mut count: HashMap<String, usize> = HashMap::new();
        for named in schema.types() {
            *count.entry(pascal(&named.name.name)).or_default() += 1;
        }
        let mut names = BTreeMap::new();
        let mut taken = BTreeSet::new();
        for (index, named) in schema.types().iter().enumerate() {
            let short = pascal(&named.name.name);
            let mut name = if count.get(&short).copied().unwrap_or(0) > 1 {
                pascal(&named.name.full())
            } else {
                short
            };
            while taken.contains(&name) {
                name.push('_');
            }
            taken.insert(name.clone());
            names.insert(index, name);
        }
        Generator {
            schema,
            names,
            taken,
            unions: HashMap::new(),
            done: BTreeSet::new(),
            defined_at: HashMap::new(),
            items: Vec::new(),
            defaults: Vec::new(),
            problems: Vec::new(),
            origins,
        }
    }

    /// `pub use` of every referenced type under the name this module gives it, so the
    /// structs, codecs, defaults and upcasters here name it like a type of their own, and
    /// a value of it is the same Rust type in every referrer.
    fn reexports(&self) -> TokenStream {
        let uses = self.origins.iter().map(|(index, origin)| {
            let module = ident(&snake(&origin.subject));
            let version = ident(&format!("v{}", origin.version));
            let theirs = ident(&origin.rust);
            let ours = self.names.get(index).map_or("Unknown", String::as_str);
            if ours == origin.rust {
                quote! { super::super::#module::#version::#theirs }
            } else {
                let ours = ident(ours);
                quote! { super::super::#module::#version::#theirs as #ours }
            }
        });
        // A referrer may name only some of them, and a private `include!` makes `pub` moot.
        quote! { #(#[allow(unused_imports)] pub use #uses;)* }
    }

    /// A newtype struct around a root that is not a record; returns its name.
    fn newtype_root(&mut self, fallback: &str) -> String {
        // A root enum or fixed may already hold the subject's name.
        let wanted = if self.taken.contains(fallback) {
            format!("{fallback}Value")
        } else {
            fallback.to_owned()
        };
        let name = self.fresh_name(wanted);
        let root = self.schema.root();
        let ty = self.ty(root, "", &name, true, NO_OWNER);
        let codec = self.codec(root, "", true, NO_OWNER);
        let (write, read) = (codec.write, codec.read);
        let type_ident = ident(&name);
        let derive = derive_data();
        let datum = codec::datum_impl(
            &name,
            (quote! { out }, quote! { let v = &self.0; #write Ok(()) }),
            (quote! { input }, quote! { Ok(Self(#read)) }),
        );
        self.items.push(quote! {
            /// The event's value: its schema's root is not a record.
            #derive
            pub struct #type_ident(pub #ty);
            #datum
        });
        name
    }

    fn fresh_name(&mut self, wanted: String) -> String {
        let mut name = wanted;
        while self.taken.contains(&name) {
            name.push_str("Union");
        }
        self.taken.insert(name.clone());
        name
    }

    fn type_name(&self, index: usize) -> TokenStream {
        let name = ident(self.names.get(&index).map_or("Unknown", String::as_str));
        quote! { #name }
    }

    /// The Rust type of `schema` at `pointer`. `context` names union enums, `direct` is
    /// false under a `Vec`/map (which already break recursion), `owner` is the record
    /// whose field this is.
    fn ty(
        &mut self,
        schema: &Schema,
        pointer: &str,
        context: &str,
        direct: bool,
        owner: usize,
    ) -> TokenStream {
        match schema {
            Schema::Primitive { kind, logical, .. } => match logical.and_then(logical_adapter) {
                Some(adapted) => adapted.rust,
                None => primitive(*kind),
            },
            Schema::Array { items, .. } => {
                let inner = self.ty(items, &format!("{pointer}/items"), context, false, owner);
                quote! { Vec<#inner> }
            }
            Schema::Map { values, .. } => {
                let inner = self.ty(values, &format!("{pointer}/values"), context, false, owner);
                quote! { ::std::collections::BTreeMap<String, #inner> }
            }
            Schema::Named(index) => {
                self.define(*index, pointer);
                match self.schema.named(*index).map(|n| &n.kind) {
                    Some(NamedKind::Fixed { .. }) => self
                        .adapter(schema)
                        .map_or_else(|| quote! { Vec<u8> }, |adapted| adapted.rust),
                    _ => {
                        let name = self.type_name(*index);
                        if direct && self.reaches(*index, owner, &mut BTreeSet::new()) {
                            quote! { Box<#name> }
                        } else {
                            name
                        }
                    }
                }
            }
            Schema::Union(branches) => self.union(branches, pointer, context, direct, owner),
        }
    }

    fn union(
        &mut self,
        branches: &[Schema],
        pointer: &str,
        context: &str,
        direct: bool,
        owner: usize,
    ) -> TokenStream {
        let nullable = null_branch(branches);
        let others: Vec<(usize, &Schema)> = branches
            .iter()
            .enumerate()
            .filter(|(_, b)| !is_null(b))
            .collect();
        if let ([(at, only)], true) = (others.as_slice(), nullable) {
            let inner = self.ty(only, &format!("{pointer}/{at}"), context, direct, owner);
            return quote! { Option<#inner> };
        }
        let name = self.fresh_name(context.to_owned());
        self.unions.insert(pointer.to_owned(), name.clone());
        let mut variants = Vec::new();
        for (at, branch) in &others {
            let variant = ident(&self.variant_name(branch));
            let branch_pointer = format!("{pointer}/{at}");
            let inner = self.ty(branch, &branch_pointer, context, direct, owner);
            variants.push(quote! { #variant(#inner) });
        }
        let codec = self.union_enum_codec(&name, branches, pointer, direct, owner);
        let enum_name = ident(&name);
        let derive = derive_data();
        let doc = format!(" A union of the schema at `{pointer}`.");
        self.items.push(quote! {
            #[doc = #doc]
            #derive
            pub enum #enum_name { #(#variants),* }
            #codec
        });
        if nullable {
            quote! { Option<#enum_name> }
        } else {
            quote! { #enum_name }
        }
    }

    fn variant_name(&self, branch: &Schema) -> String {
        variant_name(&self.names, branch)
    }

    /// Whether `from` can reach record `to` through fields and unions only.
    fn reaches(&self, from: usize, to: usize, seen: &mut BTreeSet<usize>) -> bool {
        reaches(self.schema, from, to, seen)
    }

    /// Emits the item of a named type the first time it is seen (its definition).
    fn define(&mut self, index: usize, pointer: &str) {
        if !self.done.insert(index) || self.origins.contains_key(&index) {
            return;
        }
        self.defined_at.insert(index, pointer.to_owned());
        let Some(named) = self.schema.named(index) else {
            return;
        };
        let name = self.names.get(&index).cloned().unwrap_or_default();
        let type_ident = ident(&name);
        let type_doc = doc(named.doc.as_ref());
        match &named.kind {
            NamedKind::Fixed { .. } => {}
            NamedKind::Enum { symbols, default } => {
                let names = enum_variants(symbols);
                let variants = symbols.iter().zip(&names).map(|(symbol, variant)| {
                    let variant = ident(variant);
                    quote! { #[serde(rename = #symbol)] #variant }
                });
                let codec = Self::enum_codec(&name, &names);
                let default_doc = default
                    .as_ref()
                    .map(|d| format!(" Readers map unknown symbols to `{d}`."))
                    .map(|d| quote! { #[doc = #d] });
                self.items.push(quote! {
                    #type_doc
                    #default_doc
                    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::eventschema::__private::serde::Serialize, ::eventschema::__private::serde::Deserialize)]
                    #[serde(crate = "::eventschema::__private::serde")]
                    pub enum #type_ident { #(#variants),* }
                    #codec
                });
            }
            NamedKind::Record { fields, .. } => {
                let mut out = Vec::new();
                let mut codecs = Vec::new();
                let mut used = BTreeSet::new();
                for (i, field) in fields.iter().enumerate() {
                    let field_pointer = format!("{pointer}/fields/{i}");
                    let (tokens, rust, codec) =
                        self.field(index, &name, field, &field_pointer, &mut used);
                    out.push(tokens);
                    codecs.push((rust, codec));
                }
                let derive = derive_data();
                let codec = Self::record_codec(&name, &codecs);
                self.items.push(quote! {
                    #type_doc
                    #derive
                    pub struct #type_ident { #(#out),* }
                    #codec
                });
            }
        }
    }

    fn field(
        &mut self,
        owner: usize,
        owner_name: &str,
        field: &Field,
        pointer: &str,
        used: &mut BTreeSet<String>,
    ) -> (TokenStream, String, Codec) {
        let mut rust = snake(&field.name);
        while !used.insert(rust.clone()) {
            rust.push('_');
        }
        let field_ident = ident(&rust);
        let type_pointer = format!("{pointer}/type");
        let context = format!("{owner_name}{}", pascal(&field.name));
        let ty = self.ty(&field.schema, &type_pointer, &context, true, owner);
        let codec = self.codec(&field.schema, &type_pointer, true, owner);
        let field_doc = doc(field.doc.as_ref());
        let rename = (rust != field.name).then(|| {
            let name = &field.name;
            quote! { #[serde(rename = #name)] }
        });
        let aliases = field
            .aliases
            .iter()
            .map(|alias| quote! { #[serde(alias = #alias)] });
        let default = field.default.as_ref().and_then(|value| {
            match self.value(&field.schema, value, &type_pointer, true, owner) {
                Ok(expr) => {
                    let function = default_function(owner_name, &rust);
                    let function_ident = ident(&function);
                    self.defaults.push(quote! {
                        fn #function_ident() -> #ty { #expr }
                    });
                    Some(quote! { #[serde(default = #function)] })
                }
                Err(message) => {
                    self.problems.push(Problem::new(
                        &format!("{pointer}/default"),
                        &format!("default of field '{}': {message}", field.name),
                    ));
                    None
                }
            }
        });
        let tokens = quote! {
            #field_doc
            #rename
            #(#aliases)*
            #default
            pub #field_ident: #ty
        };
        (tokens, rust, codec)
    }

    /// A Rust expression for an Avro default value (JSON) of `schema`.
    fn value(
        &self,
        schema: &Schema,
        value: &Value,
        pointer: &str,
        direct: bool,
        owner: usize,
    ) -> Result<TokenStream, String> {
        let mismatch = || format!("{value} does not fit the field's type");
        if let Some(adapted) = self.adapter(schema) {
            // The default is the wire value; the adapter turns it into the Rust type.
            let wire = match schema {
                Schema::Primitive { kind, .. } => *kind,
                _ => Primitive::Bytes,
            };
            let wire = primitive_value(wire, value).ok_or_else(mismatch)?;
            let adapter = adapted.adapter;
            return Ok(match adapted.wire {
                Wire::Bytes => {
                    quote! { ::eventschema::logical::default_value::<#adapter>(::eventschema::logical::Bytes(#wire)) }
                }
                Wire::Plain => quote! { ::eventschema::logical::default_value::<#adapter>(#wire) },
                Wire::Raw => wire,
            });
        }
        match schema {
            Schema::Primitive { kind, .. } => primitive_value(*kind, value).ok_or_else(mismatch),
            Schema::Array { items, .. } => {
                let list = value.as_array().ok_or_else(mismatch)?;
                let items = list
                    .iter()
                    .map(|v| self.value(items, v, &format!("{pointer}/items"), false, owner))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(quote! { vec![#(#items),*] })
            }
            Schema::Map { values, .. } => {
                let map = value.as_object().ok_or_else(mismatch)?;
                let mut entries = Vec::new();
                for (key, v) in map {
                    let v = self.value(values, v, &format!("{pointer}/values"), false, owner)?;
                    entries.push(quote! { (String::from(#key), #v) });
                }
                Ok(quote! { ::std::collections::BTreeMap::from([#(#entries),*]) })
            }
            Schema::Named(index) => {
                let named = self.schema.named(*index).ok_or_else(mismatch)?;
                let name = self.type_name(*index);
                let expr = match &named.kind {
                    NamedKind::Fixed { .. } => {
                        primitive_value(Primitive::Bytes, value).ok_or_else(mismatch)?
                    }
                    NamedKind::Enum { symbols, .. } => {
                        let symbol = value.as_str().ok_or_else(mismatch)?;
                        let position = symbols
                            .iter()
                            .position(|s| s == symbol)
                            .ok_or_else(|| format!("'{symbol}' is not a symbol of the enum"))?;
                        // Same disambiguation as the enum's definition.
                        let mut seen = BTreeSet::new();
                        let mut variant = String::new();
                        for s in symbols.iter().take(position + 1) {
                            variant = pascal(s);
                            while !seen.insert(variant.clone()) {
                                variant.push('_');
                            }
                        }
                        let variant = ident(&variant);
                        quote! { #name::#variant }
                    }
                    NamedKind::Record { fields, .. } => {
                        let object = value.as_object().ok_or_else(mismatch)?;
                        let mut used = BTreeSet::new();
                        let mut inits = Vec::new();
                        let at = self.defined_at.get(index).cloned().unwrap_or_default();
                        for (i, field) in fields.iter().enumerate() {
                            let mut rust = snake(&field.name);
                            while !used.insert(rust.clone()) {
                                rust.push('_');
                            }
                            let field_ident = ident(&rust);
                            let v = object
                                .get(&field.name)
                                .or(field.default.as_ref())
                                .ok_or_else(|| format!("no value for field '{}'", field.name))?;
                            let field_pointer = format!("{at}/fields/{i}/type");
                            let v = self.value(&field.schema, v, &field_pointer, true, *index)?;
                            inits.push(quote! { #field_ident: #v });
                        }
                        quote! { #name { #(#inits),* } }
                    }
                };
                let boxed = direct
                    && !matches!(named.kind, NamedKind::Fixed { .. })
                    && self.reaches(*index, owner, &mut BTreeSet::new());
                Ok(if boxed {
                    quote! { Box::new(#expr) }
                } else {
                    expr
                })
            }
            Schema::Union(branches) => {
                // Avro: a union's default belongs to its first branch.
                let first = branches.first().ok_or_else(mismatch)?;
                let nullable = null_branch(branches);
                if is_null(first) {
                    return if value.is_null() {
                        Ok(quote! { None })
                    } else {
                        Err(mismatch())
                    };
                }
                let others = branches.iter().filter(|b| !is_null(b)).count();
                let inner = self.value(first, value, &format!("{pointer}/0"), direct, owner)?;
                let wrapped = if others == 1 && nullable {
                    inner
                } else {
                    let name = self
                        .unions
                        .get(pointer)
                        .ok_or_else(|| "the union has no generated type".to_owned())?;
                    let name = ident(name);
                    let variant = ident(&self.variant_name(first));
                    quote! { #name::#variant(#inner) }
                };
                Ok(if nullable {
                    quote! { Some(#wrapped) }
                } else {
                    wrapped
                })
            }
        }
    }
}

/// A schema whose Rust type converts to its Avro wire form through an adapter of
/// `eventschema::logical` (logical types), or is `Vec<u8>` as is (`bytes`, `fixed`).
pub(super) struct Adapted {
    /// The Rust type in generated structs.
    pub rust: TokenStream,
    /// The `eventschema::logical::Adapter` implementation.
    pub adapter: TokenStream,
    pub wire: Wire,
}

/// How a default value of an adapted type is written.
#[derive(Clone, Copy)]
pub(super) enum Wire {
    /// `Vec<u8>` itself: the default is the bytes.
    Raw,
    /// Bytes converted by the adapter.
    Bytes,
    /// A number or string converted by the adapter.
    Plain,
}

fn chrono(name: &str) -> TokenStream {
    let name = ident(name);
    quote! { ::eventschema::__private::chrono::#name }
}

fn adapted(rust: TokenStream, adapter: &str, wire: Wire) -> Adapted {
    let adapter = ident(adapter);
    Adapted {
        rust,
        adapter: quote! { ::eventschema::logical::#adapter },
        wire,
    }
}

/// The adapter of a logical type on a primitive (`bytes`, `int`, `long`, `string`).
fn logical_adapter(logical: LogicalType) -> Option<Adapted> {
    let utc = {
        let date_time = chrono("DateTime");
        let utc = chrono("Utc");
        quote! { #date_time<#utc> }
    };
    Some(match logical {
        LogicalType::Uuid => adapted(
            quote! { ::eventschema::__private::uuid::Uuid },
            "UuidString",
            Wire::Plain,
        ),
        LogicalType::Date => adapted(chrono("NaiveDate"), "Date", Wire::Plain),
        LogicalType::TimeMillis => adapted(chrono("NaiveTime"), "TimeMillis", Wire::Plain),
        LogicalType::TimeMicros => adapted(chrono("NaiveTime"), "TimeMicros", Wire::Plain),
        LogicalType::TimestampMillis => adapted(utc, "TimestampMillis", Wire::Plain),
        LogicalType::TimestampMicros => adapted(utc, "TimestampMicros", Wire::Plain),
        LogicalType::TimestampNanos => adapted(utc, "TimestampNanos", Wire::Plain),
        LogicalType::LocalTimestampMillis => {
            adapted(chrono("NaiveDateTime"), "LocalTimestampMillis", Wire::Plain)
        }
        LogicalType::LocalTimestampMicros => {
            adapted(chrono("NaiveDateTime"), "LocalTimestampMicros", Wire::Plain)
        }
        LogicalType::LocalTimestampNanos => {
            adapted(chrono("NaiveDateTime"), "LocalTimestampNanos", Wire::Plain)
        }
        LogicalType::Decimal { precision, scale } => {
            let (precision, scale) = (
                Literal::u32_unsuffixed(precision),
                Literal::u32_unsuffixed(scale),
            );
            Adapted {
                rust: quote! { ::eventschema::__private::bigdecimal::BigDecimal },
                adapter: quote! { ::eventschema::logical::DecimalBytes<#precision, #scale> },
                wire: Wire::Bytes,
            }
        }
        // `big-decimal` carries its scale in each value, which the adapters do not model;
        // `duration` only exists on `fixed`.
        LogicalType::BigDecimal | LogicalType::Duration => return None,
    })
}

impl Generator<'_> {
    /// The adapter `schema` needs in a struct field, if any.
    fn adapter(&self, schema: &Schema) -> Option<Adapted> {
        match schema {
            Schema::Primitive {
                logical: Some(logical),
                ..
            } if logical_adapter(*logical).is_some() => logical_adapter(*logical),
            Schema::Primitive {
                kind: Primitive::Bytes,
                ..
            } => Some(adapted(quote! { Vec<u8> }, "RawBytes", Wire::Raw)),
            Schema::Named(index) => {
                let named = self.schema.named(*index)?;
                let NamedKind::Fixed { size } = named.kind else {
                    return None;
                };
                Some(match named.logical {
                    Some(LogicalType::Uuid) if size == 16 => adapted(
                        quote! { ::eventschema::__private::uuid::Uuid },
                        "UuidFixed",
                        Wire::Bytes,
                    ),
                    Some(LogicalType::Duration) if size == 12 => adapted(
                        quote! { ::eventschema::logical::Duration },
                        "DurationFixed",
                        Wire::Bytes,
                    ),
                    Some(LogicalType::Decimal { precision, scale }) => {
                        let size = Literal::usize_unsuffixed(usize::try_from(size).ok()?);
                        let (precision, scale) = (
                            Literal::u32_unsuffixed(precision),
                            Literal::u32_unsuffixed(scale),
                        );
                        Adapted {
                            rust: quote! { ::eventschema::__private::bigdecimal::BigDecimal },
                            adapter: quote! {
                                ::eventschema::logical::DecimalFixed<#size, #precision, #scale>
                            },
                            wire: Wire::Bytes,
                        }
                    }
                    _ => adapted(quote! { Vec<u8> }, "RawBytes", Wire::Raw),
                })
            }
            _ => None,
        }
    }
}

/// Whether every value of record `from` holds a value of record `to`: a field whose type
/// is that record directly (no union, array or map, which can end the chain).
fn always_contains(
    schema: &AvroSchema,
    from: usize,
    to: usize,
    seen: &mut BTreeSet<usize>,
) -> bool {
    if !seen.insert(from) {
        return false;
    }
    let Some(NamedKind::Record { fields, .. }) = schema.named(from).map(|n| &n.kind) else {
        return false;
    };
    fields.iter().any(|field| match field.schema {
        Schema::Named(next) => next == to || always_contains(schema, next, to, seen),
        _ => false,
    })
}

/// Whether `from` can reach record `to` through fields and unions only.
fn reaches(schema: &AvroSchema, from: usize, to: usize, seen: &mut BTreeSet<usize>) -> bool {
    if from == to {
        return true;
    }
    if !seen.insert(from) {
        return false;
    }
    let Some(NamedKind::Record { fields, .. }) = schema.named(from).map(|n| &n.kind) else {
        return false;
    };
    fields
        .iter()
        .flat_map(|f| direct_refs(&f.schema))
        .any(|next| reaches(schema, next, to, seen))
}

fn variant_name(names: &BTreeMap<usize, String>, branch: &Schema) -> String {
    match branch {
        Schema::Primitive { kind, .. } => pascal(kind.name()),
        Schema::Array { .. } => "Array".to_owned(),
        Schema::Map { .. } => "Map".to_owned(),
        Schema::Union(_) => "Union".to_owned(),
        Schema::Named(index) => names.get(index).cloned().unwrap_or_default(),
    }
}

/// Named types a schema refers to without a `Vec`/map in between.
fn direct_refs(schema: &Schema) -> Vec<usize> {
    match schema {
        Schema::Named(index) => vec![*index],
        Schema::Union(branches) => branches.iter().flat_map(direct_refs).collect(),
        _ => Vec::new(),
    }
}

fn primitive(kind: Primitive) -> TokenStream {
    crate::types::avro_primitive(kind)
}

fn primitive_value(kind: Primitive, value: &Value) -> Option<TokenStream> {
    Some(match kind {
        Primitive::Null => value.is_null().then(|| quote! { () })?,
        Primitive::Boolean => {
            let b = value.as_bool()?;
            quote! { #b }
        }
        Primitive::Int => {
            let n = Literal::i32_suffixed(i32::try_from(value.as_i64()?).ok()?);
            quote! { #n }
        }
        Primitive::Long => {
            let n = Literal::i64_suffixed(value.as_i64()?);
            quote! { #n }
        }
        Primitive::Float => {
            // Defaults are decimal in the schema: narrowing to f32 is what Avro does too.
            #[allow(clippy::cast_possible_truncation)]
            let n = Literal::f32_suffixed(value.as_f64()? as f32);
            quote! { #n }
        }
        Primitive::Double => {
            let n = Literal::f64_suffixed(value.as_f64()?);
            quote! { #n }
        }
        Primitive::Bytes => {
            // Avro writes bytes defaults as a string of code points 0-255.
            let bytes = value
                .as_str()?
                .chars()
                .map(|c| u8::try_from(u32::from(c)).ok())
                .collect::<Option<Vec<u8>>>()?;
            let bytes = bytes.iter().map(|b| Literal::u8_suffixed(*b));
            quote! { vec![#(#bytes),*] }
        }
        Primitive::String => {
            let s = value.as_str()?;
            quote! { String::from(#s) }
        }
    })
}
