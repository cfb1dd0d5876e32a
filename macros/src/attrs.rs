//! The `#[event(...)]` attributes of `#[derive(Event)]` (on the struct and on fields) and
//! the serde attributes that change a field's name on the wire.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitInt, LitStr, Type};

/// The payload format of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Avro,
    Json,
}

impl Format {
    fn parse(lit: &LitStr) -> syn::Result<Self> {
        match lit.value().as_str() {
            "avro" => Ok(Format::Avro),
            "json" => Ok(Format::Json),
            other => Err(syn::Error::new(
                lit.span(),
                format!("unknown format `{other}`: expected \"avro\" or \"json\""),
            )),
        }
    }

    /// The format a schema file is written in, by its extension.
    pub fn of_path(path: &str) -> Option<Self> {
        if path.ends_with(".avsc") {
            Some(Format::Avro)
        } else if path.ends_with(".json") {
            Some(Format::Json)
        } else {
            None
        }
    }
}

const CONTAINER_KEYS: &str =
    "subject, version, type, schema, lock, format, id, namespace, previous";

/// `#[event(...)]` on the struct.
#[derive(Debug)]
pub struct EventAttrs {
    pub subject: LitStr,
    /// The version and where it was written (`None`: not given).
    pub version: Option<(u32, Span)>,
    pub event_type: Option<LitStr>,
    pub schema: Option<LitStr>,
    /// `lock = "path"`, or a bare `lock` (the default file name, at the attribute's span).
    pub lock: Option<LitStr>,
    pub format: Option<(Format, Span)>,
    pub id: Option<u64>,
    pub namespace: Option<LitStr>,
    pub previous: Option<Type>,
}

fn set_once<T>(slot: &mut Option<T>, value: T, key: &Ident) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format!("duplicate `event` attribute `{key}`"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn lit_str(meta: &syn::meta::ParseNestedMeta<'_>, key: &Ident) -> syn::Result<LitStr> {
    let expr: syn::Expr = meta.value()?.parse()?;
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        }) => Ok(lit),
        other => Err(syn::Error::new(
            other.span(),
            format!("`{key}` expects a string literal, e.g. {key} = \"...\""),
        )),
    }
}

fn lit_int<T: std::str::FromStr>(
    meta: &syn::meta::ParseNestedMeta<'_>,
    key: &Ident,
) -> syn::Result<T>
where
    T::Err: std::fmt::Display,
{
    let expr: syn::Expr = meta.value()?.parse()?;
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(lit),
            ..
        }) => parse_int(&lit, key),
        other => Err(syn::Error::new(
            other.span(),
            format!("`{key}` expects an integer literal, e.g. {key} = 3"),
        )),
    }
}

fn parse_int<T: std::str::FromStr>(lit: &LitInt, key: &Ident) -> syn::Result<T>
where
    T::Err: std::fmt::Display,
{
    lit.base10_parse::<T>()
        .map_err(|e| syn::Error::new(lit.span(), format!("`{key}`: {e}")))
}

impl EventAttrs {
    /// Reads every `#[event(...)]` on the struct; `ident` is where a missing subject is
    /// reported.
    pub fn parse(attrs: &[Attribute], ident: &Ident) -> syn::Result<Self> {
        let mut subject = None;
        let mut version = None;
        let mut event_type = None;
        let mut schema = None;
        let mut lock = None;
        let mut format = None;
        let mut id = None;
        let mut namespace = None;
        let mut previous = None;
        for attr in attrs.iter().filter(|a| a.path().is_ident("event")) {
            attr.parse_nested_meta(|meta| {
                let Some(key) = meta.path.get_ident().cloned() else {
                    return Err(meta.error(format!(
                        "unknown `event` attribute; expected one of {CONTAINER_KEYS}"
                    )));
                };
                match key.to_string().as_str() {
                    "subject" => set_once(&mut subject, lit_str(&meta, &key)?, &key),
                    "version" => {
                        let value: u32 = lit_int(&meta, &key)?;
                        if value == 0 {
                            return Err(syn::Error::new(
                                key.span(),
                                "`version` starts at 1 (registry versions are 1-based)",
                            ));
                        }
                        set_once(&mut version, (value, key.span()), &key)
                    }
                    "type" => set_once(&mut event_type, lit_str(&meta, &key)?, &key),
                    "schema" => set_once(&mut schema, lit_str(&meta, &key)?, &key),
                    "lock" => {
                        let lit = if meta.input.peek(syn::Token![=]) {
                            lit_str(&meta, &key)?
                        } else {
                            LitStr::new(eventschema_codegen::lock::LOCK_FILE, key.span())
                        };
                        set_once(&mut lock, lit, &key)
                    }
                    "format" => {
                        let lit = lit_str(&meta, &key)?;
                        set_once(&mut format, (Format::parse(&lit)?, lit.span()), &key)
                    }
                    "id" => set_once(&mut id, lit_int(&meta, &key)?, &key),
                    "namespace" => set_once(&mut namespace, lit_str(&meta, &key)?, &key),
                    "previous" => {
                        let ty: Type = meta.value()?.parse()?;
                        set_once(&mut previous, ty, &key)
                    }
                    "key" | "idempotency_key" => Err(syn::Error::new(
                        key.span(),
                        format!("`{key}` goes on a field: #[event({key})]"),
                    )),
                    _ => Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown `event` attribute `{key}`; expected one of {CONTAINER_KEYS}"
                        ),
                    )),
                }
            })?;
        }
        let subject = subject.ok_or_else(|| {
            syn::Error::new(
                ident.span(),
                "missing subject: add #[event(subject = \"orders.order-placed\")]",
            )
        })?;
        if subject.value().is_empty() {
            return Err(syn::Error::new(subject.span(), "`subject` is empty"));
        }
        Ok(EventAttrs {
            subject,
            version,
            event_type,
            schema,
            lock,
            format,
            id,
            namespace,
            previous,
        })
    }
}

/// `#[event(...)]` on a field.
#[derive(Debug, Default)]
pub struct FieldAttrs {
    pub key: Option<Span>,
    pub idempotency_key: Option<Span>,
}

impl FieldAttrs {
    pub fn parse(attrs: &[Attribute]) -> syn::Result<Self> {
        let mut out = FieldAttrs::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("event")) {
            attr.parse_nested_meta(|meta| {
                let Some(key) = meta.path.get_ident().cloned() else {
                    return Err(meta.error("unknown field attribute; expected `key` or `idempotency_key`"));
                };
                let slot = match key.to_string().as_str() {
                    "key" => &mut out.key,
                    "idempotency_key" => &mut out.idempotency_key,
                    _ => {
                        return Err(syn::Error::new(
                            key.span(),
                            format!(
                                "unknown field attribute `{key}`; expected `key` (the partition key) or `idempotency_key`"
                            ),
                        ));
                    }
                };
                if meta.input.peek(syn::Token![=]) {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("`{key}` takes no value: #[event({key})]"),
                    ));
                }
                set_once(slot, key.span(), &key)
            })?;
        }
        Ok(out)
    }
}

/// What serde does to a field's name: the wire name and, when renamed, where.
#[derive(Debug, Clone, Default)]
pub struct SerdeField {
    pub rename: Option<LitStr>,
    pub skip: bool,
    pub flatten: Option<Span>,
}

/// Serde attributes this crate must understand to know the wire names. Anything else in
/// `#[serde(...)]` is serde's business and skipped over.
pub fn serde_field(attrs: &[Attribute]) -> syn::Result<SerdeField> {
    let mut out = SerdeField::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                if meta.input.peek(syn::Token![=]) {
                    out.rename = Some(meta.value()?.parse()?);
                } else {
                    // `rename(serialize = "...", deserialize = "...")`: take `serialize`.
                    meta.parse_nested_meta(|inner| {
                        let lit: LitStr = inner.value()?.parse()?;
                        if inner.path.is_ident("serialize") {
                            out.rename = Some(lit);
                        }
                        Ok(())
                    })?;
                }
            } else if meta.path.is_ident("skip") {
                out.skip = true;
            } else if meta.path.is_ident("flatten") {
                out.flatten = Some(meta.path.span());
            } else {
                skip_value(&meta)?;
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// `#[serde(rename_all = "...")]` on the struct.
pub fn serde_rename_all(attrs: &[Attribute]) -> syn::Result<Option<LitStr>> {
    let mut out = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") && meta.input.peek(syn::Token![=]) {
                out = Some(meta.value()?.parse()?);
            } else {
                skip_value(&meta)?;
            }
            Ok(())
        })?;
    }
    Ok(out)
}

fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _: syn::Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _group: proc_macro2::Group = meta.input.parse()?;
    }
    Ok(())
}

/// Applies serde's `rename_all` rule to a Rust field name.
pub fn apply_rename_all(rule: &LitStr, field: &str) -> syn::Result<String> {
    let words: Vec<&str> = field.split('_').filter(|w| !w.is_empty()).collect();
    let capitalize = |w: &str| {
        let mut chars = w.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect::<String>())
            .unwrap_or_default()
    };
    Ok(match rule.value().as_str() {
        "lowercase" => field.to_lowercase(),
        "UPPERCASE" => field.to_uppercase(),
        "snake_case" => field.to_owned(),
        "SCREAMING_SNAKE_CASE" => field.to_uppercase(),
        "kebab-case" => field.replace('_', "-"),
        "SCREAMING-KEBAB-CASE" => field.replace('_', "-").to_uppercase(),
        "PascalCase" => words.iter().map(|w| capitalize(w)).collect(),
        "camelCase" => words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i == 0 {
                    (*w).to_owned()
                } else {
                    capitalize(w)
                }
            })
            .collect(),
        other => {
            return Err(syn::Error::new(
                rule.span(),
                format!("unknown serde `rename_all` rule `{other}`"),
            ));
        }
    })
}
