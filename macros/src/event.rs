//! `#[derive(Event)]`: reads the attributes, checks the struct against its schema file (or
//! derives a schema from it), and implements `eventschema::Event`.

use std::path::Path;

use eventschema_core::{Limits, ParsedSchema, SchemaType};
use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use crate::attrs::{self, EventAttrs, FieldAttrs, Format};
use crate::check::{self, WireField};

/// Expands the derive. `manifest_dir` is the crate root schema paths are relative to.
pub fn expand(input: DeriveInput, manifest_dir: &Path) -> syn::Result<TokenStream> {
    let ident = &input.ident;
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => &named.named,
            _ => {
                return Err(syn::Error::new(
                    ident.span(),
                    "#[derive(Event)] needs a struct with named fields (a schema record or object)",
                ));
            }
        },
        _ => {
            return Err(syn::Error::new(
                ident.span(),
                "#[derive(Event)] needs a struct with named fields (a schema record or object)",
            ));
        }
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            "an event type cannot be generic: its schema is one fixed type",
        ));
    }
    let attrs = EventAttrs::parse(&input.attrs, ident)?;
    let rename_all = attrs::serde_rename_all(&input.attrs)?;

    let mut wire = Vec::new();
    let mut key = None;
    let mut idempotency_key = None;
    for field in fields {
        let Some(field_ident) = field.ident.clone() else {
            continue;
        };
        let own = FieldAttrs::parse(&field.attrs)?;
        if let Some(span) = own.key {
            if key.is_some() {
                return Err(syn::Error::new(
                    span,
                    "only one field can be the partition `key`",
                ));
            }
            key = Some((field_ident.clone(), field.ty.clone()));
        }
        if let Some(span) = own.idempotency_key {
            if idempotency_key.is_some() {
                return Err(syn::Error::new(
                    span,
                    "only one field can be the `idempotency_key`",
                ));
            }
            idempotency_key = Some((field_ident.clone(), field.ty.clone()));
        }
        let serde = attrs::serde_field(&field.attrs)?;
        if let Some(span) = serde.flatten {
            return Err(syn::Error::new(
                span,
                "#[serde(flatten)] is not supported on events: the fields would not line up with the schema's",
            ));
        }
        if serde.skip {
            continue;
        }
        let plain = field_ident.to_string();
        let plain = plain.strip_prefix("r#").unwrap_or(&plain).to_owned();
        let (name, name_span, renamed) = match (&serde.rename, &rename_all) {
            (Some(lit), _) => (lit.value(), lit.span(), true),
            (None, Some(rule)) => (
                attrs::apply_rename_all(rule, &plain)?,
                field_ident.span(),
                false,
            ),
            (None, None) => (plain, field_ident.span(), false),
        };
        wire.push(WireField {
            ident: field_ident,
            name,
            name_span,
            renamed,
            ty: field.ty.clone(),
        });
    }

    let mut version = attrs.version.map_or(1, |(version, _)| version);
    let (format, schema_expr) = match &attrs.schema {
        Some(path) => {
            let relative = path.value();
            let by_extension = Format::of_path(&relative);
            let format = match (by_extension, attrs.format) {
                (Some(ext), Some((given, span))) if ext != given => {
                    return Err(syn::Error::new(
                        span,
                        "`format` contradicts the schema file's extension (.avsc is Avro, .json is JSON Schema)",
                    ));
                }
                (Some(format), _) | (None, Some((format, _))) => format,
                (None, None) => {
                    return Err(syn::Error::new(
                        path.span(),
                        "cannot tell the schema's format: name the file *.avsc (Avro) or *.json (JSON Schema), or add format = \"avro\" / \"json\"",
                    ));
                }
            };
            // The schemas/ folder convention names files `<subject>/<version>.<ext>`: the
            // file's version is the default, and a different `version` is drift.
            let file_version = Path::new(&relative)
                .file_stem()
                .and_then(|stem| stem.to_str())
                .and_then(|stem| stem.parse::<u32>().ok());
            match (attrs.version, file_version) {
                (Some((given, span)), Some(file)) if given != file => {
                    return Err(syn::Error::new(
                        span,
                        format!(
                            "`version = {given}` but the schema file `{relative}` is version {file} (schemas/ folder convention)"
                        ),
                    ));
                }
                (None, Some(file)) => version = file,
                _ => {}
            }
            let full = manifest_dir.join(&relative);
            let text = std::fs::read_to_string(&full).map_err(|e| {
                syn::Error::new(
                    path.span(),
                    format!(
                        "cannot read schema `{relative}` (paths are relative to the crate root, {}): {e}",
                        manifest_dir.display()
                    ),
                )
            })?;
            let schema_type = match format {
                Format::Avro => SchemaType::Avro,
                Format::Json => SchemaType::Json,
            };
            let parsed = ParsedSchema::parse_standalone(schema_type, &text, &Limits::default())
                .map_err(|e| {
                    syn::Error::new(
                        path.span(),
                        format!("schema `{relative}` is not a valid {schema_type} schema: {e}"),
                    )
                })?;
            match &parsed {
                ParsedSchema::Avro(avro) => check::check_avro(avro, &relative, ident, &wire)?,
                ParsedSchema::Json(_) => {
                    let document: serde_json::Value = serde_json::from_str(&text)
                        .map_err(|e| syn::Error::new(path.span(), e.to_string()))?;
                    check::check_json(&document, &relative, ident, &wire)?;
                }
            }
            // include_str! makes cargo rebuild the crate when the schema file changes.
            let literal = syn::LitStr::new(&format!("/{relative}"), path.span());
            (
                format,
                quote! { ::core::include_str!(::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), #literal)) },
            )
        }
        None => {
            let format = attrs.format.map_or(Format::Avro, |(format, _)| format);
            let doc = doc_comment(&input.attrs);
            let namespace = attrs.namespace.as_ref().map(syn::LitStr::value);
            let text = crate::code_first::derive(
                format,
                ident,
                namespace.as_deref(),
                doc.as_deref(),
                &wire,
            )?;
            (format, quote! { #text })
        }
    };
    if attrs.namespace.is_some() && attrs.schema.is_some() {
        return Err(syn::Error::new(
            attrs
                .namespace
                .as_ref()
                .map_or(ident.span(), syn::LitStr::span),
            "`namespace` is for code-first Avro schemas; the schema file already names its namespace",
        ));
    }

    let subject = &attrs.subject;
    let event_type = attrs.event_type.as_ref().unwrap_or(subject);
    let (schema_type, content_type, encode, decode) = match format {
        Format::Avro => (
            quote! { ::eventschema::SchemaType::Avro },
            "application/avro",
            quote! { ::eventschema::__private::avro_encode(Self::SCHEMA, self) },
            quote! { ::eventschema::__private::avro_decode(Self::SCHEMA, bytes) },
        ),
        Format::Json => (
            quote! { ::eventschema::SchemaType::Json },
            "application/json",
            quote! { ::eventschema::json_encode(self) },
            quote! { ::eventschema::json_decode(bytes) },
        ),
    };
    let schema_id = attrs.id.map(|id| {
        quote! { const SCHEMA_ID: ::core::option::Option<u64> = ::core::option::Option::Some(#id); }
    });
    let key_fn = |name: TokenStream, field: Option<(syn::Ident, syn::Type)>| {
        field.map(|(field, ty)| {
            let value = if is_option(&ty) {
                quote! { self.#field.as_ref().map(::std::string::ToString::to_string) }
            } else {
                quote! { ::core::option::Option::Some(::std::string::ToString::to_string(&self.#field)) }
            };
            quote! {
                fn #name(&self) -> ::core::option::Option<::std::string::String> { #value }
            }
        })
    };
    let partition_key = key_fn(quote! { partition_key }, key);
    let idempotency = key_fn(quote! { idempotency_key }, idempotency_key);
    let (decode_version, previous_checks) = match &attrs.previous {
        Some(previous) => {
            let message = format!(
                "`previous` of `{ident}` must be an older version of the same event type `{}`",
                event_type.value()
            );
            (
                Some(quote! {
                    fn decode_version(
                        version: u32,
                        bytes: &[u8],
                    ) -> ::core::result::Result<Self, ::eventschema::CodecError> {
                        if version == #version {
                            <Self as ::eventschema::Event>::decode(bytes)
                        } else if version < #version {
                            <#previous as ::eventschema::Event>::decode_version(version, bytes)
                                .map(<Self as ::core::convert::From<#previous>>::from)
                        } else {
                            ::core::result::Result::Err(::eventschema::CodecError(::std::format!(
                                "`{}` version {} is newer than {} (the newest this type reads)",
                                #event_type, version, #version
                            )))
                        }
                    }
                }),
                Some(quote! {
                    const _: () = ::core::assert!(
                        <#previous as ::eventschema::Event>::VERSION < #version
                            && ::eventschema::__derive::str_eq(
                                <#previous as ::eventschema::Event>::TYPE,
                                #event_type,
                            ),
                        #message
                    );
                }),
            )
        }
        None => (None, None),
    };

    Ok(quote! {
        impl ::eventschema::Event for #ident {
            const TYPE: &'static str = #event_type;
            const SUBJECT: &'static str = #subject;
            const VERSION: u32 = #version;
            const SCHEMA_TYPE: ::eventschema::SchemaType = #schema_type;
            const SCHEMA: &'static str = #schema_expr;
            #schema_id
            const CONTENT_TYPE: &'static str = #content_type;
            #partition_key
            #idempotency
            fn encode(&self) -> ::core::result::Result<::std::vec::Vec<u8>, ::eventschema::CodecError> {
                #encode
            }
            fn decode(bytes: &[u8]) -> ::core::result::Result<Self, ::eventschema::CodecError> {
                #decode
            }
            #decode_version
        }
        #previous_checks
    })
}

fn is_option(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Option"))
}

/// The struct's `///` comment, joined, for the code-first schema's `doc`.
fn doc_comment(attrs: &[syn::Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join(" ").trim().to_owned())
}
