//! `#[derive(Event)]`: reads the attributes, checks the struct against its schema file (or
//! derives a schema from it), and implements `eventschema::Event`.

use std::path::Path;

use eventschema_codegen::folder::{CONFIG_FILE, SchemaFolder};
use eventschema_codegen::lock::{CACHE_DIR, Lock, read_cached};
use eventschema_core::{Limits, ParsedSchema, SchemaType};
use proc_macro2::{Span, TokenStream};
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
    let mut locked_id = None;
    let mut lock_include = None;
    let (format, schema_expr) = match (&attrs.schema, &attrs.lock) {
        (Some(_), Some(lock)) => {
            return Err(syn::Error::new(
                lock.span(),
                "give either `schema` (a schema file) or `lock` (an eventschema.lock entry), not both",
            ));
        }
        (Some(path), None) => {
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
                        "cannot read schema `{relative}` (paths are relative to the root of crate `{}`): {e}",
                        crate_name()
                    ),
                )
            })?;
            refuse_references(manifest_dir, &relative, path.span())?;
            check_schema(format, &text, &relative, path.span(), ident, &wire)?;
            (format, include(&relative, path.span(), IncludeAs::Str))
        }
        (None, Some(lock)) => {
            let locked = from_lock(&attrs, lock, manifest_dir, ident, &wire)?;
            locked_id = Some(locked.id);
            lock_include = Some(include(
                &locked.lock_relative,
                lock.span(),
                IncludeAs::Bytes,
            ));
            (
                locked.format,
                include(&locked.cache_relative, lock.span(), IncludeAs::Str),
            )
        }
        (None, None) => {
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
    if attrs.namespace.is_some() && (attrs.schema.is_some() || attrs.lock.is_some()) {
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
    // JSON events hand the bus their value, so validation does not parse what it encoded.
    let json_value = matches!(format, Format::Json).then(|| {
        quote! {
            fn to_json_value(&self) -> ::core::option::Option<::core::result::Result<::eventschema::__private::serde_json::Value, ::eventschema::CodecError>> {
                ::eventschema::json_value(self)
            }
        }
    });
    let schema_id = attrs.id.or(locked_id).map(|id| {
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
            #json_value
            #decode_version
        }
        #previous_checks
        #lock_include
    })
}

/// A schema file of a schemas folder (`<root>/<subject>/<version>.avsc` with
/// `<root>/eventschema.toml`) is read through codegen's folder module, as builds read it; a
/// version with references is refused with their names. The derive's codec (apache-avro's
/// serde bridge over `SCHEMA`) needs a self-contained schema, so checking such a struct
/// would only defer the failure to run time; the generated types support references.
fn refuse_references(manifest_dir: &Path, relative: &str, span: Span) -> syn::Result<()> {
    let full = manifest_dir.join(relative);
    let (Some(subject_dir), Some(file_name)) = (full.parent(), full.file_name()) else {
        return Ok(());
    };
    let (Some(root), Some(subject)) = (subject_dir.parent(), subject_dir.file_name()) else {
        return Ok(());
    };
    if !root.join(CONFIG_FILE).is_file() {
        return Ok(());
    }
    let folder = SchemaFolder::read_dir(root).map_err(|e| {
        syn::Error::new(
            span,
            format!("the schemas folder of `{relative}` is not valid: {e}"),
        )
    })?;
    let key = format!(
        "{}/{}",
        subject.to_string_lossy(),
        file_name.to_string_lossy()
    );
    let Some(file) = folder.file_at(&key) else {
        return Ok(());
    };
    if file.references.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = file
        .references
        .iter()
        .map(|r| {
            format!(
                "`{}` (subject `{}` version {})",
                r.name, r.subject, r.version
            )
        })
        .collect();
    Err(syn::Error::new(
        span,
        format!(
            "schema `{relative}` has references in its folder's {CONFIG_FILE}: {}; \
             #[derive(Event)] supports self-contained schemas only (use the type \
             eventschema-codegen generates for this subject, which reuses the referenced types)",
            names.join(", ")
        ),
    ))
}

/// Parses `text` with `core` and runs the field check; `label` names the schema in messages.
fn check_schema(
    format: Format,
    text: &str,
    label: &str,
    span: Span,
    ident: &syn::Ident,
    wire: &[WireField],
) -> syn::Result<()> {
    let schema_type = match format {
        Format::Avro => SchemaType::Avro,
        Format::Json => SchemaType::Json,
    };
    let parsed =
        ParsedSchema::parse_standalone(schema_type, text, &Limits::default()).map_err(|e| {
            syn::Error::new(
                span,
                format!("schema `{label}` is not a valid {schema_type} schema: {e}"),
            )
        })?;
    match &parsed {
        ParsedSchema::Avro(avro) => check::check_avro(avro, label, ident, wire),
        ParsedSchema::Json(_) => {
            let document: serde_json::Value =
                serde_json::from_str(text).map_err(|e| syn::Error::new(span, e.to_string()))?;
            check::check_json(&document, label, ident, wire)
        }
    }
}

#[derive(Clone, Copy)]
enum IncludeAs {
    Str,
    Bytes,
}

/// `include_str!`/`include_bytes!` of a file under the crate root: the compiler records it
/// as an input, so cargo rebuilds the crate when it changes.
fn include(relative: &str, span: Span, kind: IncludeAs) -> TokenStream {
    let literal = syn::LitStr::new(&format!("/{relative}"), span);
    let path = quote! { ::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), #literal) };
    match kind {
        IncludeAs::Str => quote! { ::core::include_str!(#path) },
        IncludeAs::Bytes => quote! { const _: &[u8] = ::core::include_bytes!(#path); },
    }
}

/// What a lock entry gives the derive once its cached text has passed the check.
struct Locked {
    format: Format,
    id: u64,
    lock_relative: String,
    cache_relative: String,
}

/// `lock = "..."`: the entry for the event's subject and version in the lock file, its cached
/// text verified against the lock's fingerprint by codegen's own reader, then the same field
/// check as a schema file.
fn from_lock(
    attrs: &EventAttrs,
    lock: &syn::LitStr,
    manifest_dir: &Path,
    ident: &syn::Ident,
    wire: &[WireField],
) -> syn::Result<Locked> {
    let span = lock.span();
    let lock_relative = lock.value();
    let subject = attrs.subject.value();
    let Some((version, version_span)) = attrs.version else {
        return Err(syn::Error::new(
            span,
            "`lock` needs a `version`: add version = N (the locked version this struct is)",
        ));
    };
    if let Some(id) = attrs.id {
        return Err(syn::Error::new(
            span,
            format!(
                "`id = {id}` and `lock` both set the schema id: the lock has the registry's id, remove `id`"
            ),
        ));
    }
    let lock_path = manifest_dir.join(&lock_relative);
    let parsed = match Lock::read(&lock_path) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            return Err(syn::Error::new(
                span,
                format!(
                    "no lock file `{lock_relative}` (paths are relative to the root of crate `{}`); write it with `eventschema generate --registry URL --subject {subject} --update`",
                    crate_name()
                ),
            ));
        }
        Err(e) => {
            return Err(syn::Error::new(
                span,
                format!("cannot use lock file: {}", e.relative_to(manifest_dir)),
            ));
        }
    };
    let locked_version = i32::try_from(version)
        .map_err(|_| syn::Error::new(version_span, "`version` is out of range"))?;
    let Some(entry) = parsed.entry(&subject, locked_version) else {
        let versions = parsed.versions(&subject);
        let known = if versions.is_empty() {
            format!("subject `{subject}` is not in the lock")
        } else {
            let list: Vec<String> = versions.iter().map(ToString::to_string).collect();
            format!("it locks `{subject}` at version(s) {}", list.join(", "))
        };
        return Err(syn::Error::new(
            version_span,
            format!(
                "`{lock_relative}` has no entry for `{subject}` version {version}: {known} (refresh the lock with --update)"
            ),
        ));
    };
    let bytes = read_cached(&lock_path, entry).map_err(|e| {
        syn::Error::new(
            span,
            format!(
                "cannot use lock entry `{subject}` version {version}: {}",
                e.relative_to(manifest_dir)
            ),
        )
    })?;
    let lock_dir = Path::new(&lock_relative)
        .parent()
        .filter(|p| !p.as_os_str().is_empty());
    let cache_relative = match lock_dir {
        Some(dir) => format!("{}/{CACHE_DIR}/{}", dir.display(), entry.cache_path()),
        None => format!("{CACHE_DIR}/{}", entry.cache_path()),
    };
    let text = String::from_utf8(bytes).map_err(|_| {
        syn::Error::new(
            span,
            format!("cached schema `{cache_relative}` is not UTF-8"),
        )
    })?;
    let format = if entry.schema_type.eq_ignore_ascii_case("JSON") {
        Format::Json
    } else {
        Format::Avro
    };
    if let Some((given, format_span)) = attrs.format
        && given != format
    {
        return Err(syn::Error::new(
            format_span,
            format!(
                "`format` contradicts the lock, which says `{subject}` version {version} is {}",
                entry.schema_type
            ),
        ));
    }
    check_schema(format, &text, &cache_relative, span, ident, wire)?;
    Ok(Locked {
        format,
        id: entry.id,
        lock_relative,
        cache_relative,
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

/// The crate being compiled, named in messages about paths relative to its root (its
/// absolute folder would make the message depend on where the checkout lives).
fn crate_name() -> String {
    std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "this crate".to_owned())
}
