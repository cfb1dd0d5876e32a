//! Printing the model: Java's `Schema.toString()` (the registry's canonical string),
//! Confluent's normalized form and the spec's Parsing Canonical Form, with JSON written the
//! way Jackson writes it (escapes, and Java's `Double.toString` for floating-point numbers).

use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::Value;

use super::AvroSchema;
use super::model::{Field, LogicalType, Name, NamedKind, NamedType, Order, Primitive, Schema};

/// Java `Schema.Type` names: a name equal to one of these is always written qualified.
const TYPE_NAMES: [&str; 14] = [
    "record", "enum", "array", "map", "union", "fixed", "string", "bytes", "int", "long", "float",
    "double", "boolean", "null",
];

/// Appends `text` as a JSON string the way Jackson escapes it.
pub(crate) fn write_str(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Java's `Double.toString` / `Float.toString` layout around Rust's shortest digits.
fn java_float_layout(scientific: &str, negative: bool) -> String {
    // `scientific` is Rust's `{:e}` of a positive finite non-zero value: "d[.ddd]e[-]x".
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = if digits.is_empty() {
        "0".to_owned()
    } else {
        digits
    };
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if (-3..7).contains(&exponent) {
        if exponent >= 0 {
            let int_len = usize::try_from(exponent).unwrap_or(0) + 1;
            let padded = format!("{digits:0<int_len$}");
            let (int_part, frac) = padded.split_at(int_len);
            out.push_str(int_part);
            out.push('.');
            out.push_str(if frac.is_empty() { "0" } else { frac });
        } else {
            out.push_str("0.");
            for _ in 0..(-exponent - 1) {
                out.push('0');
            }
            out.push_str(&digits);
        }
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        out.push('.');
        out.push_str(if rest.is_empty() { "0" } else { rest });
        out.push('E');
        out.push_str(&exponent.to_string());
    }
    out
}

/// Java's `Double.toString(d)` for a finite value.
pub(crate) fn java_double(value: f64) -> String {
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_owned();
    }
    java_float_layout(&format!("{:e}", value.abs()), value < 0.0)
}

/// Java's `Float.toString(f)` for a finite value.
fn java_float(value: f32) -> String {
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_owned();
    }
    java_float_layout(&format!("{:e}", value.abs()), value < 0.0)
}

/// Appends a JSON value as Jackson writes a tree: compact, keys in order, doubles in
/// Java's notation.
pub(crate) fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(number) => {
            if number.is_f64() {
                match number.as_f64() {
                    Some(f) if f.is_finite() => out.push_str(&java_double(f)),
                    _ => out.push_str(&number.to_string()),
                }
            } else {
                out.push_str(&number.to_string());
            }
        }
        Value::String(text) => write_str(out, text),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

fn write_key(out: &mut String, key: &str) {
    out.push(',');
    write_str(out, key);
    out.push(':');
}

fn write_props(out: &mut String, props: &[(String, Value)]) {
    for (key, value) in props {
        write_key(out, key);
        write_value(out, value);
    }
}

/// Java `Name.getQualified(defaultSpace)`.
fn qualified(name: &Name, default_space: Option<&str>) -> String {
    match (&name.namespace, default_space) {
        (Some(space), Some(default)) if space == default => {
            if TYPE_NAMES.contains(&name.name.as_str()) {
                name.full()
            } else {
                name.name.clone()
            }
        }
        _ => name.full(),
    }
}

/// Java's `Schema.toJson`, with `known` the named types already written (or given as
/// referenced schemas).
struct JavaWriter<'a> {
    types: &'a [NamedType],
    known: HashSet<usize>,
    space: Option<String>,
    out: String,
}

impl JavaWriter<'_> {
    fn write(&mut self, schema: &Schema) {
        match schema {
            Schema::Primitive { kind, props, .. } => {
                if props.is_empty() {
                    write_str(&mut self.out, kind.name());
                } else {
                    self.out.push_str("{\"type\":");
                    write_str(&mut self.out, kind.name());
                    write_props(&mut self.out, props);
                    self.out.push('}');
                }
            }
            Schema::Array { items, props } => {
                self.out.push_str("{\"type\":\"array\",\"items\":");
                self.write(items);
                write_props(&mut self.out, props);
                self.out.push('}');
            }
            Schema::Map { values, props } => {
                self.out.push_str("{\"type\":\"map\",\"values\":");
                self.write(values);
                write_props(&mut self.out, props);
                self.out.push('}');
            }
            Schema::Union(branches) => {
                self.out.push('[');
                for (i, branch) in branches.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.write(branch);
                }
                self.out.push(']');
            }
            Schema::Named(index) => self.write_named(*index),
        }
    }

    fn write_named(&mut self, index: usize) {
        let types = self.types;
        let Some(named) = types.get(index) else {
            return;
        };
        if !self.known.insert(index) {
            let reference = qualified(&named.name, self.space.as_deref());
            write_str(&mut self.out, &reference);
            return;
        }
        let type_name = match &named.kind {
            NamedKind::Record { error: true, .. } => "error",
            other_kind => match other_kind {
                NamedKind::Record { .. } => "record",
                NamedKind::Enum { .. } => "enum",
                NamedKind::Fixed { .. } => "fixed",
            },
        };
        self.out.push_str("{\"type\":");
        write_str(&mut self.out, type_name);
        write_key(&mut self.out, "name");
        write_str(&mut self.out, &named.name.name);
        match (&named.name.namespace, &self.space) {
            (Some(space), current) if current.as_deref() != Some(space.as_str()) => {
                write_key(&mut self.out, "namespace");
                write_str(&mut self.out, space);
            }
            (None, Some(_)) => {
                write_key(&mut self.out, "namespace");
                write_str(&mut self.out, "");
            }
            _ => {}
        }
        if let Some(doc) = &named.doc {
            write_key(&mut self.out, "doc");
            write_str(&mut self.out, doc);
        }
        match &named.kind {
            NamedKind::Record { fields, .. } => {
                let saved = std::mem::replace(&mut self.space, named.name.namespace.clone());
                write_key(&mut self.out, "fields");
                self.out.push('[');
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.write_field(field);
                }
                self.out.push(']');
                write_props(&mut self.out, &named.props);
                self.write_aliases(named);
                self.space = saved;
            }
            NamedKind::Enum { symbols, default } => {
                write_key(&mut self.out, "symbols");
                self.out.push('[');
                for (i, symbol) in symbols.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    write_str(&mut self.out, symbol);
                }
                self.out.push(']');
                if let Some(default) = default {
                    write_key(&mut self.out, "default");
                    write_str(&mut self.out, default);
                }
                write_props(&mut self.out, &named.props);
                self.write_aliases(named);
            }
            NamedKind::Fixed { size } => {
                write_key(&mut self.out, "size");
                self.out.push_str(&size.to_string());
                write_props(&mut self.out, &named.props);
                self.write_aliases(named);
            }
        }
        self.out.push('}');
    }

    fn write_aliases(&mut self, named: &NamedType) {
        if named.aliases.is_empty() {
            return;
        }
        write_key(&mut self.out, "aliases");
        self.out.push('[');
        for (i, alias) in named.aliases.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            write_str(
                &mut self.out,
                &qualified(alias, named.name.namespace.as_deref()),
            );
        }
        self.out.push(']');
    }

    fn write_field(&mut self, field: &Field) {
        self.out.push_str("{\"name\":");
        write_str(&mut self.out, &field.name);
        write_key(&mut self.out, "type");
        self.write(&field.schema);
        if let Some(doc) = &field.doc {
            write_key(&mut self.out, "doc");
            write_str(&mut self.out, doc);
        }
        if let Some(default) = &field.default {
            write_key(&mut self.out, "default");
            write_value(&mut self.out, default);
        }
        if field.order != Order::Ascending {
            write_key(&mut self.out, "order");
            write_str(&mut self.out, field.order.name());
        }
        if !field.aliases.is_empty() {
            write_key(&mut self.out, "aliases");
            self.out.push('[');
            for (i, alias) in field.aliases.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                write_str(&mut self.out, alias);
            }
            self.out.push(']');
        }
        write_props(&mut self.out, &field.props);
        self.out.push('}');
    }
}

/// Java `Schema.toString(referencedSchemas, false)` with `known` the referenced types.
pub(crate) fn java_to_string(schema: &AvroSchema, known: HashSet<usize>) -> String {
    let mut writer = JavaWriter {
        types: &schema.types,
        known,
        space: None,
        out: String::new(),
    };
    writer.write(&schema.root);
    writer.out
}

/// The spec's Parsing Canonical Form (Java `SchemaNormalization.toParsingForm`): every
/// named type is expanded the first time, dependencies' types included.
pub(crate) fn parsing_canonical_form(schema: &AvroSchema) -> String {
    fn build(types: &[NamedType], seen: &mut HashSet<usize>, s: &Schema, out: &mut String) {
        match s {
            Schema::Primitive { kind, .. } => write_str(out, kind.name()),
            Schema::Array { items, .. } => {
                out.push_str("{\"type\":\"array\",\"items\":");
                build(types, seen, items, out);
                out.push('}');
            }
            Schema::Map { values, .. } => {
                out.push_str("{\"type\":\"map\",\"values\":");
                build(types, seen, values, out);
                out.push('}');
            }
            Schema::Union(branches) => {
                out.push('[');
                for (i, branch) in branches.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    build(types, seen, branch, out);
                }
                out.push(']');
            }
            Schema::Named(index) => {
                let Some(named) = types.get(*index) else {
                    return;
                };
                let full = named.name.full();
                if !seen.insert(*index) {
                    write_str(out, &full);
                    return;
                }
                out.push_str("{\"name\":");
                write_str(out, &full);
                out.push_str(",\"type\":");
                write_str(out, named.type_name());
                match &named.kind {
                    NamedKind::Enum { symbols, .. } => {
                        out.push_str(",\"symbols\":[");
                        for (i, symbol) in symbols.iter().enumerate() {
                            if i > 0 {
                                out.push(',');
                            }
                            write_str(out, symbol);
                        }
                        out.push(']');
                    }
                    NamedKind::Fixed { size } => {
                        out.push_str(",\"size\":");
                        out.push_str(&size.to_string());
                    }
                    NamedKind::Record { fields, .. } => {
                        out.push_str(",\"fields\":[");
                        for (i, field) in fields.iter().enumerate() {
                            if i > 0 {
                                out.push(',');
                            }
                            out.push_str("{\"name\":");
                            write_str(out, &field.name);
                            out.push_str(",\"type\":");
                            build(types, seen, &field.schema, out);
                            out.push('}');
                        }
                        out.push(']');
                    }
                }
                out.push('}');
            }
        }
    }
    let mut out = String::new();
    build(&schema.types, &mut HashSet::new(), &schema.root, &mut out);
    out
}

/// Java's `String.compareTo` (UTF-16 code units), the order of `TreeMap`/`TreeSet`.
fn java_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn write_sorted_props(out: &mut String, props: &[(String, Value)]) {
    let mut sorted: Vec<&(String, Value)> = props.iter().collect();
    sorted.sort_by(|a, b| java_cmp(&a.0, &b.0));
    for (key, value) in sorted {
        write_key(out, key);
        write_value(out, value);
    }
}

fn write_logical(out: &mut String, logical: LogicalType) {
    out.push_str(",\"logicalType\":");
    write_str(out, logical.name());
    if let LogicalType::Decimal { precision, scale } = logical {
        out.push_str(",\"precision\":");
        out.push_str(&precision.to_string());
        if scale != 0 {
            out.push_str(",\"scale\":");
            out.push_str(&scale.to_string());
        }
    }
}

/// The default value as Confluent writes it after `Field.defaultVal()`
/// (`JacksonUtils.toObject` converts numbers to the field's type) and back to JSON.
fn converted_default(types: &[NamedType], value: &Value, schema: Option<&Schema>) -> Option<Value> {
    fn raw(text: String) -> Option<Value> {
        // Float.toString output re-read as a JSON number (it is valid JSON).
        serde_json::from_str(&text).ok()
    }
    let schema = match schema {
        Some(Schema::Union(branches)) => branches.first(),
        other => other,
    };
    let primitive = match schema {
        Some(Schema::Primitive { kind, .. }) => Some(*kind),
        _ => None,
    };
    match value {
        Value::Null | Value::Bool(_) => Some(value.clone()),
        Value::Number(number) if !number.is_f64() => {
            let as_f64 = number.as_f64().unwrap_or(0.0);
            match (schema, primitive) {
                (None, _) | (_, Some(Primitive::Int | Primitive::Long)) => Some(value.clone()),
                (_, Some(Primitive::Float)) => raw(java_float(as_f64 as f32)),
                (_, Some(Primitive::Double)) => raw(java_double(as_f64)),
                _ => None,
            }
        }
        Value::Number(number) => {
            let as_f64 = number.as_f64().unwrap_or(0.0);
            match (schema, primitive) {
                (None, _) | (_, Some(Primitive::Double)) => Some(value.clone()),
                (_, Some(Primitive::Float)) => raw(java_float(as_f64 as f32)),
                _ => None,
            }
        }
        Value::String(text) => match schema {
            None
            | Some(Schema::Primitive {
                kind: Primitive::String,
                ..
            }) => Some(value.clone()),
            Some(Schema::Primitive {
                kind: Primitive::Bytes,
                ..
            }) => Some(Value::String(latin1(text))),
            Some(Schema::Named(index)) => match types.get(*index).map(|named| &named.kind) {
                Some(NamedKind::Enum { .. }) => Some(value.clone()),
                Some(NamedKind::Fixed { .. }) => Some(Value::String(latin1(text))),
                _ => None,
            },
            // NaN/Infinity kept as text for float/double fields.
            Some(_) => Some(value.clone()),
        },
        Value::Array(items) => {
            let element = match schema {
                Some(Schema::Array { items, .. }) => Some(&**items),
                _ => None,
            };
            Some(Value::Array(
                items
                    .iter()
                    .map(|item| converted_default(types, item, element).unwrap_or(Value::Null))
                    .collect(),
            ))
        }
        Value::Object(entries) => {
            let mut converted = serde_json::Map::new();
            for (key, item) in entries {
                let item_schema = match schema {
                    Some(Schema::Map { values, .. }) => Some(&**values),
                    Some(Schema::Named(index)) => match types.get(*index).map(|n| &n.kind) {
                        Some(NamedKind::Record {
                            fields, by_name, ..
                        }) => by_name
                            .get(key)
                            .and_then(|&position| fields.get(position))
                            .map(|field| &field.schema),
                        _ => None,
                    },
                    _ => None,
                };
                converted.insert(
                    key.clone(),
                    converted_default(types, item, item_schema).unwrap_or(Value::Null),
                );
            }
            Some(Value::Object(converted))
        }
    }
}

/// Bytes/fixed defaults go through ISO-8859-1: characters above U+00FF become `?`.
fn latin1(text: &str) -> String {
    text.chars()
        .map(|c| if (c as u32) <= 0xFF { c } else { '?' })
        .collect()
}

/// Confluent `AvroSchemaUtils.toNormalizedString`: like Parsing Canonical Form but keeping
/// doc, aliases (sorted), defaults, order, logical types and properties (sorted).
pub(crate) fn confluent_normalized(schema: &AvroSchema) -> String {
    struct Builder<'a> {
        types: &'a [NamedType],
        seen: HashSet<usize>,
        out: String,
    }
    impl Builder<'_> {
        fn build(&mut self, s: &Schema) {
            match s {
                Schema::Union(branches) => {
                    self.out.push('[');
                    for (i, branch) in branches.iter().enumerate() {
                        if i > 0 {
                            self.out.push(',');
                        }
                        self.build(branch);
                    }
                    self.out.push(']');
                }
                Schema::Array { items, props } => {
                    self.out.push_str("{\"type\":\"array\",\"items\":");
                    self.build(items);
                    write_sorted_props(&mut self.out, props);
                    self.out.push('}');
                }
                Schema::Map { values, props } => {
                    self.out.push_str("{\"type\":\"map\",\"values\":");
                    self.build(values);
                    write_sorted_props(&mut self.out, props);
                    self.out.push('}');
                }
                Schema::Primitive {
                    kind,
                    props,
                    logical,
                } => match logical {
                    Some(logical) => {
                        self.out.push_str("{\"type\":");
                        write_str(&mut self.out, kind.name());
                        write_logical(&mut self.out, *logical);
                        write_sorted_props(&mut self.out, props);
                        self.out.push('}');
                    }
                    None if props.is_empty() => write_str(&mut self.out, kind.name()),
                    None => {
                        self.out.push_str("{\"type\":");
                        write_str(&mut self.out, kind.name());
                        write_sorted_props(&mut self.out, props);
                        self.out.push('}');
                    }
                },
                Schema::Named(index) => self.build_named(*index),
            }
        }

        fn build_named(&mut self, index: usize) {
            let types = self.types;
            let Some(named) = types.get(index) else {
                return;
            };
            let full = named.name.full();
            if !self.seen.insert(index) {
                write_str(&mut self.out, &full);
                return;
            }
            self.out.push_str("{\"name\":");
            write_str(&mut self.out, &full);
            if named.name.namespace.is_none() {
                // Confluent omits this, which moves a null-namespace type nested in a
                // namespaced one into that namespace when re-parsed; we keep the meaning.
                self.out.push_str(",\"namespace\":\"\"");
            }
            self.out.push_str(",\"type\":");
            write_str(&mut self.out, named.type_name());
            match &named.kind {
                NamedKind::Enum { symbols, .. } => {
                    self.out.push_str(",\"symbols\":[");
                    for (i, symbol) in symbols.iter().enumerate() {
                        if i > 0 {
                            self.out.push(',');
                        }
                        write_str(&mut self.out, symbol);
                    }
                    self.out.push(']');
                }
                NamedKind::Fixed { size } => {
                    self.out.push_str(",\"size\":");
                    self.out.push_str(&size.to_string());
                    if let Some(logical) = named.logical {
                        write_logical(&mut self.out, logical);
                    }
                }
                NamedKind::Record { fields, .. } => {
                    self.out.push_str(",\"fields\":[");
                    for (i, field) in fields.iter().enumerate() {
                        if i > 0 {
                            self.out.push(',');
                        }
                        self.build_field(field);
                    }
                    self.out.push(']');
                }
            }
            if let Some(doc) = named.doc.as_deref().filter(|doc| !doc.is_empty()) {
                write_key(&mut self.out, "doc");
                write_str(&mut self.out, doc);
            }
            if !named.aliases.is_empty() {
                let mut aliases: Vec<String> = named.aliases.iter().map(Name::full).collect();
                aliases.sort_by(|a, b| java_cmp(a, b));
                write_key(&mut self.out, "aliases");
                write_value(
                    &mut self.out,
                    &Value::Array(aliases.into_iter().map(Value::String).collect()),
                );
            }
            if let NamedKind::Enum {
                default: Some(default),
                ..
            } = &named.kind
            {
                write_key(&mut self.out, "default");
                write_str(&mut self.out, default);
            }
            write_sorted_props(&mut self.out, &named.props);
            self.out.push('}');
        }

        fn build_field(&mut self, field: &Field) {
            self.out.push_str("{\"name\":");
            write_str(&mut self.out, &field.name);
            self.out.push_str(",\"type\":");
            self.build(&field.schema);
            write_key(&mut self.out, "order");
            write_str(&mut self.out, &field.order.name().to_uppercase());
            if let Some(doc) = &field.doc {
                write_key(&mut self.out, "doc");
                write_str(&mut self.out, doc);
            }
            if !field.aliases.is_empty() {
                let mut aliases = field.aliases.clone();
                aliases.sort_by(|a, b| java_cmp(a, b));
                write_key(&mut self.out, "aliases");
                write_value(
                    &mut self.out,
                    &Value::Array(aliases.into_iter().map(Value::String).collect()),
                );
            }
            if let Some(default) = &field.default
                && let Some(converted) = converted_default(self.types, default, Some(&field.schema))
            {
                write_key(&mut self.out, "default");
                write_value(&mut self.out, &converted);
            }
            write_sorted_props(&mut self.out, &field.props);
            self.out.push('}');
        }
    }
    let mut builder = Builder {
        types: &schema.types,
        // Types from dependencies are written by name (Confluent puts the referenced
        // schemas' names in its environment first).
        seen: (0..schema.dependency_types).collect(),
        out: String::new(),
    };
    builder.build(&schema.root);
    builder.out
}
