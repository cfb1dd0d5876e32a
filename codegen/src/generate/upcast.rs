//! Upcasters between adjacent versions of one subject (docs/codegen.md, "Upcasters"). A step
//! the schemas fully determine (added field with a default, removed field, widening
//! promotion, alias rename, added enum symbol, `T` -> optional `T`) becomes `From<vN> for
//! vN+1`, generated inside the newer version's module (where its default functions live).
//! Any other step becomes a trait the application implements; the `From` impl requires it,
//! so until it is implemented the build fails with a message naming the subject, the
//! versions and the fields.

use std::collections::BTreeSet;

use eventschema_core::avro::{NamedKind, NamedType, Primitive, Schema};
use proc_macro2::{Ident, TokenStream};
use quote::quote;
use serde_json::Value;

use super::avro::{Model as AvroModel, default_function, enum_variants, field_names};
use super::json::Model as JsonModel;
use super::names::ident;

/// What one version's generator produced, for the upcaster generator.
pub(super) enum Shape<'a> {
    Avro(AvroModel<'a>),
    Json(JsonModel),
}

/// One generated version of a subject.
pub(super) struct Version<'a> {
    pub number: i32,
    /// The Rust name of the root type.
    pub root: String,
    pub shape: Shape<'a>,
}

/// The generated code of one step `vN -> vN+1`.
#[derive(Default)]
pub(super) struct Step {
    /// Items for the newer version's module (the derived `From` impls).
    pub in_target: TokenStream,
    /// Items for the subject module (the trait and the `From` impl that requires it).
    pub in_subject: TokenStream,
}

/// The upcaster from `from` to `to` (adjacent versions of `subject`).
pub(super) fn step(subject: &str, from: &Version<'_>, to: &Version<'_>) -> Step {
    let from_mod = ident(&format!("v{}", from.number));
    let result = match (&from.shape, &to.shape) {
        (Shape::Avro(a), Shape::Avro(b)) => avro_step(a, b, &from_mod),
        (Shape::Json(a), Shape::Json(b)) => json_step(a, b, from, to, &from_mod),
        _ => Err(vec![
            "the schema type changed between the versions".to_owned(),
        ]),
    };
    match result {
        Ok(in_target) => Step {
            in_target,
            in_subject: TokenStream::new(),
        },
        Err(reasons) => Step {
            in_target: TokenStream::new(),
            in_subject: manual(subject, from, to, &reasons),
        },
    }
}

/// The trait for a step that cannot be generated, and the `From` impl that requires it.
fn manual(subject: &str, from: &Version<'_>, to: &Version<'_>, reasons: &[String]) -> TokenStream {
    let (f, t) = (from.number, to.number);
    let trait_name = format!("Upcast{}V{f}ToV{t}", to.root);
    let from_type = format!("v{f}::{}", from.root);
    let to_type = format!("v{t}::{}", to.root);
    let message = format!(
        "subject `{subject}`: the upcast from version {f} to version {t} cannot be generated \
         ({}); implement `{trait_name}` for `{to_type}`",
        reasons.join("; ")
    );
    let label = format!("`{trait_name}` is not implemented for `{to_type}`");
    let mut docs = vec![
        format!(" Upcasts `{from_type}` to `{to_type}` of subject `{subject}`."),
        " The generator cannot derive this step:".to_owned(),
    ];
    docs.extend(reasons.iter().map(|reason| format!(" - {reason}")));
    docs.push(format!(
        " Implement it for `{to_type}`; `From<{from_type}>` and `decode_any` then use it."
    ));
    let trait_ident = ident(&trait_name);
    let (from_mod, to_mod) = (ident(&format!("v{f}")), ident(&format!("v{t}")));
    let (from_root, to_root) = (ident(&from.root), ident(&to.root));
    quote! {
        #(#[doc = #docs])*
        #[diagnostic::on_unimplemented(message = #message, label = #label)]
        pub trait #trait_ident {
            /// The hand-written step.
            fn upcast(from: #from_mod::#from_root) -> #to_mod::#to_root;
        }
        impl From<#from_mod::#from_root> for #to_mod::#to_root
        where
            #to_mod::#to_root: #trait_ident,
        {
            fn from(value: #from_mod::#from_root) -> Self {
                <Self as #trait_ident>::upcast(value)
            }
        }
    }
}

/// A converted expression and whether it differs from its input.
type Converted = Result<(TokenStream, bool), String>;

/// Where a value sits: directly in a field of record `.1` (`.0`), or under a `Vec`/map.
type Position = (bool, usize);

struct AvroStep<'x, 'a> {
    from: &'x AvroModel<'a>,
    to: &'x AvroModel<'a>,
    from_mod: &'x Ident,
    /// Record pairs `(writer, reader)` that get a `From` impl, in discovery order.
    pairs: Vec<(usize, usize)>,
    seen: BTreeSet<(usize, usize)>,
    reasons: Vec<String>,
    vars: usize,
}

fn avro_step(
    from: &AvroModel<'_>,
    to: &AvroModel<'_>,
    from_mod: &Ident,
) -> Result<TokenStream, Vec<String>> {
    let mut step = AvroStep {
        from,
        to,
        from_mod,
        pairs: Vec::new(),
        seen: BTreeSet::new(),
        reasons: Vec::new(),
        vars: 0,
    };
    let (Some(from_root), Some(to_root)) = (from.root, to.root) else {
        return Err(vec!["the root of a version is not a record".to_owned()]);
    };
    step.pair(from_root, to_root);
    let mut impls = Vec::new();
    let mut next = 0;
    while let Some(&(writer, reader)) = step.pairs.get(next) {
        next += 1;
        impls.push(step.record(writer, reader));
    }
    if step.reasons.is_empty() {
        Ok(quote! { #(#impls)* })
    } else {
        Err(step.reasons)
    }
}

/// The single non-null branch of a `["null", T]` union (an `Option<T>`).
fn optional(branches: &[Schema]) -> Option<(usize, &Schema)> {
    let others: Vec<(usize, &Schema)> = branches
        .iter()
        .enumerate()
        .filter(|(_, b)| !is_null(b))
        .collect();
    match others.as_slice() {
        [only] if others.len() < branches.len() => Some(*only),
        _ => None,
    }
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

fn describe(schema: &Schema, model: &AvroModel<'_>) -> String {
    match schema {
        Schema::Primitive { kind, .. } => kind.name().to_owned(),
        Schema::Array { .. } => "array".to_owned(),
        Schema::Map { .. } => "map".to_owned(),
        Schema::Union(_) => "union".to_owned(),
        Schema::Named(index) => model.schema.named(*index).map_or_else(String::new, |n| {
            format!("{} `{}`", n.type_name(), n.name.full())
        }),
    }
}

/// Whether the reader's named type is the writer's one evolved: same full name or a reader
/// alias naming it.
fn same_named(writer: &NamedType, reader: &NamedType) -> bool {
    let name = writer.name.full();
    reader.name.full() == name || reader.aliases.iter().any(|alias| alias.full() == name)
}

fn promotable(writer: Primitive, reader: Primitive) -> bool {
    use Primitive::{Bytes, Double, Float, Int, Long, String};
    matches!(
        (writer, reader),
        (Int, Long | Float | Double)
            | (Long, Float | Double)
            | (Float, Double)
            | (String, Bytes)
            | (Bytes, String)
    )
}

impl AvroStep<'_, '_> {
    fn var(&mut self) -> Ident {
        self.vars += 1;
        ident(&format!("x{}", self.vars))
    }

    fn pair(&mut self, writer: usize, reader: usize) {
        if self.seen.insert((writer, reader)) {
            self.pairs.push((writer, reader));
        }
    }

    fn name_of(model: &AvroModel<'_>, index: usize) -> Ident {
        ident(model.names.get(&index).map_or("Unknown", String::as_str))
    }

    /// `From<writer record> for reader record`.
    fn record(&mut self, writer: usize, reader: usize) -> TokenStream {
        let (Some(w), Some(r)) = (self.from.schema.named(writer), self.to.schema.named(reader))
        else {
            return TokenStream::new();
        };
        let (
            NamedKind::Record {
                fields: writer_fields,
                ..
            },
            NamedKind::Record {
                fields: reader_fields,
                ..
            },
        ) = (&w.kind, &r.kind)
        else {
            return TokenStream::new();
        };
        let writer_names = field_names(writer_fields);
        let reader_names = field_names(reader_fields);
        let reader_type = self.to.names.get(&reader).cloned().unwrap_or_default();
        let writer_at = self
            .from
            .defined_at
            .get(&writer)
            .cloned()
            .unwrap_or_default();
        let reader_at = self.to.defined_at.get(&reader).cloned().unwrap_or_default();
        let mut inits = Vec::new();
        for (i, field) in reader_fields.iter().enumerate() {
            let rust = ident(&reader_names[i]);
            let source = writer_fields
                .iter()
                .position(|f| f.name == field.name)
                .or_else(|| {
                    writer_fields
                        .iter()
                        .position(|f| field.aliases.contains(&f.name))
                });
            let context = format!("field `{}` of `{}`", field.name, r.name.full());
            match (source, &field.default) {
                (Some(j), _) => {
                    let writer_field = ident(&writer_names[j]);
                    let converted = self.conv(
                        &writer_fields[j].schema,
                        &field.schema,
                        &format!("{writer_at}/fields/{j}/type"),
                        &format!("{reader_at}/fields/{i}/type"),
                        (true, writer),
                        (true, reader),
                        quote! { value.#writer_field },
                    );
                    match converted {
                        Ok((expr, _)) => inits.push(quote! { #rust: #expr }),
                        Err(reason) => self.reasons.push(format!("{context}: {reason}")),
                    }
                }
                (None, Some(_)) => {
                    let function = ident(&default_function(&reader_type, &reader_names[i]));
                    inits.push(quote! { #rust: #function() });
                }
                (None, None) => self
                    .reasons
                    .push(format!("{context}: new field without a default")),
            }
        }
        let writer_ident = Self::name_of(self.from, writer);
        let reader_ident = ident(&reader_type);
        let from_mod = self.from_mod;
        quote! {
            impl From<super::#from_mod::#writer_ident> for #reader_ident {
                #[allow(unused_variables)]
                fn from(value: super::#from_mod::#writer_ident) -> Self {
                    #reader_ident { #(#inits),* }
                }
            }
        }
    }

    /// An expression turning `input` (the writer's value at `wp`) into the reader's type.
    #[allow(clippy::too_many_arguments)]
    fn conv(
        &mut self,
        w: &Schema,
        r: &Schema,
        wp: &str,
        rp: &str,
        wpos: Position,
        rpos: Position,
        input: TokenStream,
    ) -> Converted {
        match (w, r) {
            (Schema::Union(wb), Schema::Union(rb)) => match (optional(wb), optional(rb)) {
                (Some((wi, ws)), Some((ri, rs))) => {
                    let var = self.var();
                    let (inner, changed) = self.conv(
                        ws,
                        rs,
                        &format!("{wp}/{wi}"),
                        &format!("{rp}/{ri}"),
                        wpos,
                        rpos,
                        quote! { #var },
                    )?;
                    Ok(if changed {
                        (quote! { #input.map(|#var| #inner) }, true)
                    } else {
                        (input, false)
                    })
                }
                (None, Some(_)) => Err("a union became an optional value".to_owned()),
                (_, None) => self.convert_into_union(w, rb, wp, rp, wpos, rpos, input),
            },
            (_, Schema::Union(rb)) => match optional(rb) {
                Some((ri, rs)) => {
                    let (inner, _) =
                        self.conv(w, rs, wp, &format!("{rp}/{ri}"), wpos, rpos, input)?;
                    Ok((quote! { Some(#inner) }, true))
                }
                None => self.convert_into_union(w, rb, wp, rp, wpos, rpos, input),
            },
            (Schema::Union(wb), _) if optional(wb).is_some() => Err(format!(
                "an optional value became a required {}",
                describe(r, self.to)
            )),
            (Schema::Union(_), _) => Err(format!("a union narrowed to {}", describe(r, self.to))),
            (
                Schema::Primitive {
                    kind: a,
                    logical: la,
                    ..
                },
                Schema::Primitive {
                    kind: b,
                    logical: lb,
                    ..
                },
            ) => {
                if la != lb {
                    // Different Rust types (e.g. `i64` and `DateTime<Utc>`): the meaning
                    // changed, which only the application can map.
                    return Err(format!(
                        "logical type changed from {} to {}",
                        la.map_or(a.name(), |l| l.name()),
                        lb.map_or(b.name(), |l| l.name())
                    ));
                }
                primitive(*a, *b, input)
            }
            (Schema::Array { items: wi, .. }, Schema::Array { items: ri, .. }) => {
                let var = self.var();
                let (inner, changed) = self.conv(
                    wi,
                    ri,
                    &format!("{wp}/items"),
                    &format!("{rp}/items"),
                    (false, wpos.1),
                    (false, rpos.1),
                    quote! { #var },
                )?;
                Ok(if changed {
                    (
                        quote! { #input.into_iter().map(|#var| #inner).collect::<Vec<_>>() },
                        true,
                    )
                } else {
                    (input, false)
                })
            }
            (Schema::Map { values: wv, .. }, Schema::Map { values: rv, .. }) => {
                let var = self.var();
                let (inner, changed) = self.conv(
                    wv,
                    rv,
                    &format!("{wp}/values"),
                    &format!("{rp}/values"),
                    (false, wpos.1),
                    (false, rpos.1),
                    quote! { #var },
                )?;
                Ok(if changed {
                    (
                        quote! {
                            #input
                                .into_iter()
                                .map(|(key, #var)| (key, #inner))
                                .collect::<::std::collections::BTreeMap<_, _>>()
                        },
                        true,
                    )
                } else {
                    (input, false)
                })
            }
            (Schema::Named(wi), Schema::Named(ri)) => self.named(*wi, *ri, wpos, rpos, input),
            _ => Err(format!(
                "type changed from {} to {}",
                describe(w, self.from),
                describe(r, self.to)
            )),
        }
    }

    fn named(
        &mut self,
        wi: usize,
        ri: usize,
        wpos: Position,
        rpos: Position,
        input: TokenStream,
    ) -> Converted {
        let (Some(w), Some(r)) = (self.from.schema.named(wi), self.to.schema.named(ri)) else {
            return Err("unknown named type".to_owned());
        };
        if !same_named(w, r) {
            return Err(format!(
                "{} `{}` replaced by {} `{}`",
                w.type_name(),
                w.name.full(),
                r.type_name(),
                r.name.full()
            ));
        }
        match (self.from.origins.get(&wi), self.to.origins.get(&ri)) {
            (None, None) => {}
            // The very type of a referenced subject on both sides: nothing to convert.
            (Some(a), Some(b)) if a.subject == b.subject && a.version == b.version => {
                return Ok((input, false));
            }
            (a, b) => {
                let side = |origin: Option<&super::avro::Origin>| match origin {
                    Some(o) => format!("subject `{}` version {}", o.subject, o.version),
                    None => "the version's own schema".to_owned(),
                };
                return Err(format!(
                    "{} `{}` comes from {} in the older version and from {} in the newer one; \
                     only the same referenced version is carried over unchanged",
                    r.type_name(),
                    r.name.full(),
                    side(a),
                    side(b)
                ));
            }
        }
        match (&w.kind, &r.kind) {
            (NamedKind::Fixed { size: a }, NamedKind::Fixed { size: b })
                if a == b && w.logical == r.logical =>
            {
                Ok((input, false))
            }
            (
                NamedKind::Enum {
                    symbols: writer_symbols,
                    ..
                },
                NamedKind::Enum {
                    symbols: reader_symbols,
                    default,
                },
            ) => {
                let writer_variants = enum_variants(writer_symbols);
                let reader_variants = enum_variants(reader_symbols);
                let writer_type = Self::name_of(self.from, wi);
                let reader_type = Self::name_of(self.to, ri);
                let from_mod = self.from_mod;
                let mut arms = Vec::new();
                for (symbol, variant) in writer_symbols.iter().zip(&writer_variants) {
                    let target = reader_symbols
                        .iter()
                        .position(|s| s == symbol)
                        .or_else(|| {
                            default
                                .as_ref()
                                .and_then(|d| reader_symbols.iter().position(|s| s == d))
                        })
                        .ok_or_else(|| {
                            format!(
                                "symbol `{symbol}` of enum `{}` was removed and the enum has no default",
                                r.name.full()
                            )
                        })?;
                    let variant = ident(variant);
                    let target = ident(&reader_variants[target]);
                    arms.push(quote! {
                        super::#from_mod::#writer_type::#variant => #reader_type::#target
                    });
                }
                Ok((quote! { match #input { #(#arms),* } }, true))
            }
            (NamedKind::Record { .. }, NamedKind::Record { .. }) => {
                self.pair(wi, ri);
                let reader_type = Self::name_of(self.to, ri);
                let input = if self.from.boxed(wi, wpos.0, wpos.1) {
                    quote! { *#input }
                } else {
                    input
                };
                let output = quote! { #reader_type::from(#input) };
                Ok(if self.to.boxed(ri, rpos.0, rpos.1) {
                    (quote! { Box::new(#output) }, true)
                } else {
                    (output, true)
                })
            }
            _ => Err(format!(
                "{} `{}` changed to an incompatible {}",
                w.type_name(),
                w.name.full(),
                r.type_name()
            )),
        }
    }

    /// The reader branch a writer branch resolves to: the same type, else a promotion.
    fn branch_for(&self, w: &Schema, rb: &[Schema]) -> Option<usize> {
        let same = |r: &Schema| match (w, r) {
            (Schema::Primitive { kind: a, .. }, Schema::Primitive { kind: b, .. }) => a == b,
            (Schema::Array { .. }, Schema::Array { .. })
            | (Schema::Map { .. }, Schema::Map { .. }) => true,
            (Schema::Named(a), Schema::Named(b)) => {
                match (self.from.schema.named(*a), self.to.schema.named(*b)) {
                    (Some(a), Some(b)) => same_named(a, b),
                    _ => false,
                }
            }
            _ => false,
        };
        rb.iter().position(same).or_else(|| {
            rb.iter().position(|r| match (w, r) {
                (Schema::Primitive { kind: a, .. }, Schema::Primitive { kind: b, .. }) => {
                    promotable(*a, *b)
                }
                _ => false,
            })
        })
    }

    /// Into a union that is an enum (`RU` or `Option<RU>`).
    #[allow(clippy::too_many_arguments)]
    fn convert_into_union(
        &mut self,
        w: &Schema,
        rb: &[Schema],
        wp: &str,
        rp: &str,
        wpos: Position,
        rpos: Position,
        input: TokenStream,
    ) -> Converted {
        let reader_nullable = rb.iter().any(is_null);
        let reader_union = ident(
            self.to
                .unions
                .get(rp)
                .ok_or_else(|| "the union has no generated type".to_owned())?,
        );
        let wrap = |step: &mut Self, branch: &Schema, at: String, value: TokenStream| {
            let target = step.branch_for(branch, rb).ok_or_else(|| {
                format!(
                    "{} is not a branch of the newer union",
                    describe(branch, step.from)
                )
            })?;
            let (inner, _) = step.conv(
                branch,
                &rb[target],
                &at,
                &format!("{rp}/{target}"),
                wpos,
                rpos,
                value,
            )?;
            let variant = ident(&step.to.variant_name(&rb[target]));
            Ok::<TokenStream, String>(quote! { #reader_union::#variant(#inner) })
        };
        match w {
            Schema::Union(wb) => {
                let writer_nullable = wb.iter().any(is_null);
                if writer_nullable && !reader_nullable {
                    return Err("an optional union became required".to_owned());
                }
                let var = self.var();
                let body = if let Some((wi, ws)) = optional(wb) {
                    wrap(self, ws, format!("{wp}/{wi}"), quote! { #var })?
                } else {
                    let writer_union = ident(
                        self.from
                            .unions
                            .get(wp)
                            .ok_or_else(|| "the union has no generated type".to_owned())?,
                    );
                    let from_mod = self.from_mod;
                    let mut arms = Vec::new();
                    for (wi, ws) in wb.iter().enumerate().filter(|(_, b)| !is_null(b)) {
                        let inner = self.var();
                        let variant = ident(&self.from.variant_name(ws));
                        let value = wrap(self, ws, format!("{wp}/{wi}"), quote! { #inner })?;
                        arms.push(quote! {
                            super::#from_mod::#writer_union::#variant(#inner) => #value
                        });
                    }
                    quote! { match #var { #(#arms),* } }
                };
                Ok(match (writer_nullable, reader_nullable) {
                    (true, _) => (quote! { #input.map(|#var| #body) }, true),
                    (false, true) => (quote! { Some({ let #var = #input; #body }) }, true),
                    (false, false) => (quote! { { let #var = #input; #body } }, true),
                })
            }
            _ => {
                let value = wrap(self, w, wp.to_owned(), input)?;
                Ok(if reader_nullable {
                    (quote! { Some(#value) }, true)
                } else {
                    (value, true)
                })
            }
        }
    }
}

fn primitive(writer: Primitive, reader: Primitive, input: TokenStream) -> Converted {
    use Primitive::{Bytes, Double, Float, Int, Long, String};
    let expr = match (writer, reader) {
        _ if writer == reader => return Ok((input, false)),
        (Int, Long) => quote! { i64::from(#input) },
        (Int | Float, Double) => quote! { f64::from(#input) },
        (Int | Long, Float) => quote! { #input as f32 },
        (Long, Double) => quote! { #input as f64 },
        (String, Bytes) => quote! { String::into_bytes(#input) },
        (Bytes, String) => quote! { String::from_utf8_lossy(&#input).into_owned() },
        _ => {
            return Err(format!(
                "type changed from {} to {} (not a promotion)",
                writer.name(),
                reader.name()
            ));
        }
    };
    Ok((expr, true))
}

/// Whether a JSON Schema maps to a type that is the same in every version module (no
/// generated struct or enum inside).
fn plain(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => {
            !["enum", "$ref", "properties", "oneOf", "anyOf", "allOf"]
                .iter()
                .any(|key| map.contains_key(*key))
                && map.values().all(plain)
        }
        Value::Array(list) => list.iter().all(plain),
        _ => true,
    }
}

/// JSON Schema: derivable when every property of the newer version is in the older one with
/// the same schema (or an enum with more symbols), or is optional.
fn json_step(
    from: &JsonModel,
    to: &JsonModel,
    from_version: &Version<'_>,
    to_version: &Version<'_>,
    from_mod: &Ident,
) -> Result<TokenStream, Vec<String>> {
    if from.newtype || to.newtype {
        // A newtype's inner type may hold generated types of its own module; a conversion
        // between it and another version's type is the application's to write.
        let which = |model: &JsonModel, number: i32| {
            model
                .newtype
                .then(|| format!("the root of version {number} is not an object with properties"))
        };
        return Err([
            which(from, from_version.number),
            which(to, to_version.number),
        ]
        .into_iter()
        .flatten()
        .collect());
    }
    let mut reasons = Vec::new();
    let mut inits = Vec::new();
    for field in &to.fields {
        let rust = ident(&field.rust);
        let property = &field.property;
        let Some(source) = from.fields.iter().find(|f| f.property == field.property) else {
            if field.optional {
                inits.push(quote! { #rust: None });
            } else {
                reasons.push(format!("property `{property}`: new required property"));
            }
            continue;
        };
        if source.optional && !field.optional {
            reasons.push(format!(
                "property `{property}`: an optional property became required"
            ));
            continue;
        }
        let var = ident("x");
        let (inner, changed) = match (&source.enum_type, &field.enum_type) {
            (Some((writer_type, writer_symbols)), Some((reader_type, reader_symbols))) => {
                let (writer_type, reader_type) = (ident(writer_type), ident(reader_type));
                let mut arms = Vec::new();
                for (symbol, variant) in writer_symbols {
                    let Some((_, target)) = reader_symbols.iter().find(|(s, _)| s == symbol) else {
                        reasons.push(format!(
                            "property `{property}`: enum symbol `{symbol}` was removed"
                        ));
                        continue;
                    };
                    let (variant, target) = (ident(variant), ident(target));
                    arms.push(quote! {
                        super::#from_mod::#writer_type::#variant => #reader_type::#target
                    });
                }
                (quote! { match #var { #(#arms),* } }, true)
            }
            _ if source.schema == field.schema && plain(&field.schema) => (quote! { #var }, false),
            _ => {
                reasons.push(format!("property `{property}`: the type changed"));
                continue;
            }
        };
        let input_ident = ident(&source.rust);
        let input = quote! { value.#input_ident };
        let expr = match (source.optional, field.optional, changed) {
            (true, _, true) => quote! { #input.map(|#var| #inner) },
            (false, true, true) => quote! { Some({ let #var = #input; #inner }) },
            (false, true, false) => quote! { Some(#input) },
            (false, false, true) => quote! { { let #var = #input; #inner } },
            (_, _, false) => input,
        };
        inits.push(quote! { #rust: #expr });
    }
    if !reasons.is_empty() {
        return Err(reasons);
    }
    let writer_type = ident(&from_version.root);
    let reader_type = ident(&to_version.root);
    Ok(quote! {
        impl From<super::#from_mod::#writer_type> for #reader_type {
            #[allow(unused_variables)]
            fn from(value: super::#from_mod::#writer_type) -> Self {
                #reader_type { #(#inits),* }
            }
        }
    })
}
