//! The Avro schema parser: JSON document to model, with the rules (and the error cases) of
//! Java's `Schema.Parser` with name and default validation on, as the Confluent registry
//! runs it for new schemas.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Number, Value};

use super::model::{Field, LogicalType, Name, NamedKind, NamedType, Order, Primitive, Schema};
use crate::error::SchemaError;

/// Attributes of a schema object that are never custom properties (Java `SCHEMA_RESERVED`).
const SCHEMA_RESERVED: [&str; 10] = [
    "doc",
    "fields",
    "items",
    "name",
    "namespace",
    "size",
    "symbols",
    "values",
    "type",
    "aliases",
];
/// Attributes of a field that are never custom properties (Java `FIELD_RESERVED`).
const FIELD_RESERVED: [&str; 6] = ["default", "doc", "name", "order", "type", "aliases"];

/// Default values nest no deeper than the document, but record defaults can pull in field
/// defaults; this bounds that chain.
const MAX_DEFAULT_DEPTH: usize = 512;

/// Parser state: the named types seen so far (dependencies first) and the namespace that
/// unqualified names inherit at the current point.
#[derive(Debug, Clone, Default)]
pub(crate) struct Parser {
    pub types: Vec<NamedType>,
    by_name: HashMap<String, usize>,
    /// Records whose fields are still being parsed (Java: "Schema fields not set yet").
    incomplete: HashSet<usize>,
    space: Option<String>,
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> SchemaError {
    SchemaError::invalid(path, message)
}

/// JSON pointer escaping of one reference token.
fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn child(path: &str, token: &str) -> String {
    format!("{path}/{}", escape_token(token))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Java `validateName`: a letter or `_`, then letters, digits or `_` (Java's `Character`
/// classes, so non-ASCII letters are accepted as the Confluent registry accepts them).
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("a name must not be empty".into());
    };
    if !(first.is_alphabetic() || first == '_') {
        return Err(format!(
            "'{name}' is not a valid name: it must start with a letter or '_'"
        ));
    }
    if let Some(bad) = chars.find(|c| !(c.is_alphanumeric() || *c == '_')) {
        return Err(format!(
            "'{name}' is not a valid name: character '{bad}' is not a letter, digit or '_'"
        ));
    }
    Ok(())
}

fn check_namespace(space: &str) -> Result<(), String> {
    for segment in space.split('.') {
        check_name(segment).map_err(|err| format!("namespace '{space}': {err}"))?;
    }
    Ok(())
}

/// Java `new Name(name, space)`: a dotted name carries its own namespace; `""` is the null
/// namespace.
fn make_name(text: &str, space: Option<&str>) -> Result<Name, String> {
    let (space, local) = match text.rfind('.') {
        Some(dot) => (Some(&text[..dot]), &text[dot + 1..]),
        None => (space, text),
    };
    check_name(local)?;
    let space = space.filter(|s| !s.is_empty());
    if let Some(space) = space {
        check_namespace(space)?;
    }
    Ok(Name {
        name: local.to_owned(),
        namespace: space.map(str::to_owned),
    })
}

fn opt_text<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

/// Java's `Double.valueOf` on the text forms people use: decimal numbers, `NaN`,
/// `Infinity`, optional sign, surrounding whitespace, a trailing `d`/`f` suffix.
pub(crate) fn java_parse_double(text: &str) -> Option<f64> {
    let trimmed = text.trim_matches(|c: char| c <= ' ');
    let body = trimmed
        .strip_suffix(['d', 'D', 'f', 'F'])
        .unwrap_or(trimmed);
    let unsigned = body.trim_start_matches(['+', '-']);
    if unsigned == "NaN" && body.len() - unsigned.len() <= 1 {
        return Some(f64::NAN);
    }
    if unsigned == "Infinity" && body.len() - unsigned.len() <= 1 {
        return Some(if body.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'))
    {
        return None;
    }
    body.parse::<f64>().ok()
}

/// The value Java keeps for a float/double default given as text: a number, or for the
/// non-finite values the quoted text Jackson writes for them.
fn double_default(value: f64) -> Value {
    match Number::from_f64(value) {
        Some(number) => Value::Number(number),
        None if value.is_nan() => Value::String("NaN".into()),
        None if value > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

fn as_i32(value: &Value) -> Option<i32> {
    value.as_i64().and_then(|n| i32::try_from(n).ok())
}

impl Parser {
    /// A parser that already knows the given named types (from dependencies).
    pub(crate) fn with_types(types: Vec<NamedType>) -> Parser {
        let by_name = types
            .iter()
            .enumerate()
            .map(|(index, named)| (named.name.full(), index))
            .collect();
        Parser {
            types,
            by_name,
            incomplete: HashSet::new(),
            space: None,
        }
    }

    /// Java `Names.get(String)`: primitives first, then the name in the current namespace,
    /// then in the null namespace.
    fn lookup(&self, text: &str) -> Option<Schema> {
        if let Some(kind) = Primitive::from_name(text) {
            return Some(Schema::primitive(kind));
        }
        let local = make_name(text, self.space.as_deref()).ok()?;
        if let Some(&index) = self.by_name.get(&local.full()) {
            return Some(Schema::Named(index));
        }
        let global = make_name(text, None).ok()?;
        self.by_name
            .get(&global.full())
            .map(|&index| Schema::Named(index))
    }

    fn register(&mut self, named: NamedType, path: &str) -> Result<usize, SchemaError> {
        let full = named.name.full();
        if named.name.namespace.is_none() && Primitive::from_name(&named.name.name).is_some() {
            return Err(invalid(
                child(path, "name"),
                format!("a named type may not be called '{full}', which is a primitive type"),
            ));
        }
        if self.by_name.contains_key(&full) {
            return Err(invalid(
                child(path, "name"),
                format!("the type '{full}' is defined more than once"),
            ));
        }
        let index = self.types.len();
        self.types.push(named);
        self.by_name.insert(full, index);
        Ok(index)
    }

    /// Parses one schema node at `path` (a JSON pointer into the document).
    pub(crate) fn parse(&mut self, value: &Value, path: &str) -> Result<Schema, SchemaError> {
        match value {
            Value::String(text) => self.lookup(text).ok_or_else(|| {
                invalid(
                    path,
                    format!("unknown type '{text}': not a primitive type nor a defined name"),
                )
            }),
            Value::Object(object) => self.parse_object(object, path),
            Value::Array(branches) => self.parse_union(branches, path),
            other => Err(invalid(
                path,
                format!(
                    "a schema must be a type name, an object or an array (union), not {}",
                    json_kind(other)
                ),
            )),
        }
    }

    fn parse_union(&mut self, branches: &[Value], path: &str) -> Result<Schema, SchemaError> {
        let mut parsed = Vec::with_capacity(branches.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (index, branch) in branches.iter().enumerate() {
            let branch_path = child(path, &index.to_string());
            let schema = self.parse(branch, &branch_path)?;
            let key = match &schema {
                Schema::Union(_) => {
                    return Err(invalid(
                        branch_path,
                        "a union may not directly contain another union",
                    ));
                }
                Schema::Primitive { kind, .. } => kind.name().to_owned(),
                Schema::Array { .. } => "array".to_owned(),
                Schema::Map { .. } => "map".to_owned(),
                Schema::Named(type_index) => self
                    .types
                    .get(*type_index)
                    .map(|named| named.name.full())
                    .unwrap_or_default(),
            };
            if let Some(first) = seen.insert(key.clone(), index) {
                return Err(invalid(
                    branch_path,
                    format!("the union contains '{key}' twice (branches {first} and {index})"),
                ));
            }
            parsed.push(schema);
        }
        Ok(Schema::Union(parsed))
    }

    fn parse_object(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
    ) -> Result<Schema, SchemaError> {
        let type_path = child(path, "type");
        let Some(type_name) = opt_text(object, "type") else {
            return Err(match object.get("type") {
                None => invalid(path, "the schema object has no \"type\""),
                Some(other) => invalid(
                    type_path,
                    format!(
                        "\"type\" must be a string here, not {} (nested type objects and unions \
                         belong in a field's \"type\", items or values)",
                        json_kind(other)
                    ),
                ),
            });
        };
        let saved_space = self.space.clone();
        let is_named = matches!(type_name, "record" | "error" | "enum" | "fixed");
        let mut name = None;
        let mut doc = None;
        if is_named {
            let space = opt_text(object, "namespace")
                .map(str::to_owned)
                .or_else(|| self.space.clone());
            let Some(name_text) = opt_text(object, "name") else {
                return Err(invalid(
                    path,
                    format!("the {type_name} has no \"name\" (a string is required)"),
                ));
            };
            let parsed = make_name(name_text, space.as_deref())
                .map_err(|err| invalid(child(path, "name"), err))?;
            doc = opt_text(object, "doc").map(str::to_owned);
            self.space = parsed.namespace.clone();
            name = Some(parsed);
        }
        let mut schema = match (type_name, name) {
            (_, None) if Primitive::from_name(type_name).is_some() => {
                let kind = Primitive::from_name(type_name).unwrap_or(Primitive::Null);
                Schema::primitive(kind)
            }
            ("record" | "error", Some(name)) => {
                self.parse_record(object, path, name, doc, type_name == "error")?
            }
            ("enum", Some(name)) => self.parse_enum(object, path, name, doc)?,
            ("fixed", Some(name)) => self.parse_fixed(object, path, name, doc)?,
            ("array", None) => {
                let Some(items) = object.get("items") else {
                    return Err(invalid(path, "the array has no \"items\" type"));
                };
                Schema::Array {
                    items: Box::new(self.parse(items, &child(path, "items"))?),
                    props: Vec::new(),
                }
            }
            ("map", None) => {
                let Some(values) = object.get("values") else {
                    return Err(invalid(path, "the map has no \"values\" type"));
                };
                Schema::Map {
                    values: Box::new(self.parse(values, &child(path, "values"))?),
                    props: Vec::new(),
                }
            }
            _ => {
                // Java accepts {"type": "SomeDefinedName"} (exact name in the current
                // namespace, no fallback) and ignores the rest of the object.
                let found = make_name(type_name, self.space.as_deref())
                    .ok()
                    .and_then(|name| self.by_name.get(&name.full()).copied());
                return match found {
                    Some(index) => Ok(Schema::Named(index)),
                    None => Err(invalid(
                        type_path,
                        format!(
                            "unknown type '{type_name}': not a primitive, record, error, enum, \
                             array, map or fixed, nor a defined name"
                        ),
                    )),
                };
            }
        };
        let reserved =
            |key: &str| SCHEMA_RESERVED.contains(&key) || (type_name == "enum" && key == "default");
        let props: Vec<(String, Value)> = object
            .iter()
            .filter(|(key, _)| !reserved(key))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        match &mut schema {
            Schema::Primitive {
                kind,
                props: slot,
                logical,
            } => {
                *logical = logical_type(Base::Primitive(*kind), &props);
                *slot = props;
            }
            Schema::Array { props: slot, .. } | Schema::Map { props: slot, .. } => *slot = props,
            Schema::Named(index) => {
                let index = *index;
                let aliases = parse_type_aliases(object, path)?;
                if let Some(named) = self.types.get_mut(index) {
                    if let NamedKind::Fixed { size } = named.kind {
                        named.logical = logical_type(Base::Fixed(size), &props);
                    }
                    named.props = props;
                    let space = named.name.namespace.clone();
                    let mut seen = HashSet::new();
                    for (i, alias) in aliases.iter().enumerate() {
                        let alias = make_name(alias, space.as_deref()).map_err(|err| {
                            invalid(child(&child(path, "aliases"), &i.to_string()), err)
                        })?;
                        if seen.insert(alias.full()) {
                            named.aliases.push(alias);
                        }
                    }
                }
            }
            Schema::Union(_) => {}
        }
        self.space = saved_space;
        Ok(schema)
    }

    fn parse_record(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        name: Name,
        doc: Option<String>,
        error: bool,
    ) -> Result<Schema, SchemaError> {
        let full = name.full();
        let index = self.register(
            NamedType {
                name,
                doc,
                aliases: Vec::new(),
                props: Vec::new(),
                logical: None,
                kind: NamedKind::Record {
                    fields: Vec::new(),
                    error,
                    by_name: HashMap::new(),
                },
            },
            path,
        )?;
        let Some(Value::Array(field_values)) = object.get("fields") else {
            return Err(invalid(
                path,
                format!("the record '{full}' has no \"fields\" array"),
            ));
        };
        self.incomplete.insert(index);
        let fields_path = child(path, "fields");
        let mut fields = Vec::with_capacity(field_values.len());
        let mut by_name = HashMap::with_capacity(field_values.len());
        for (position, field_value) in field_values.iter().enumerate() {
            let field_path = child(&fields_path, &position.to_string());
            let field = self.parse_field(field_value, &field_path, &full)?;
            if let Some(first) = by_name.insert(field.name.clone(), position) {
                return Err(invalid(
                    child(&field_path, "name"),
                    format!(
                        "the record '{full}' has two fields named '{}' (positions {first} and \
                         {position})",
                        field.name
                    ),
                ));
            }
            fields.push(field);
        }
        self.incomplete.remove(&index);
        if let Some(NamedType {
            kind:
                NamedKind::Record {
                    fields: slot,
                    by_name: map,
                    ..
                },
            ..
        }) = self.types.get_mut(index)
        {
            *slot = fields;
            *map = by_name;
        }
        Ok(Schema::Named(index))
    }

    fn parse_field(
        &mut self,
        value: &Value,
        path: &str,
        record: &str,
    ) -> Result<Field, SchemaError> {
        let Value::Object(object) = value else {
            return Err(invalid(
                path,
                format!(
                    "a field of record '{record}' must be an object, not {}",
                    json_kind(value)
                ),
            ));
        };
        let Some(name) = opt_text(object, "name") else {
            return Err(invalid(
                path,
                format!("a field of record '{record}' has no \"name\" (a string is required)"),
            ));
        };
        check_name(name).map_err(|err| invalid(child(path, "name"), err))?;
        let doc = opt_text(object, "doc").map(str::to_owned);
        let Some(type_value) = object.get("type") else {
            return Err(invalid(
                path,
                format!("the field '{name}' of record '{record}' has no \"type\""),
            ));
        };
        let type_path = child(path, "type");
        if let Value::String(text) = type_value
            && self.lookup(text).is_none()
        {
            return Err(invalid(
                type_path,
                format!(
                    "the type '{text}' of field '{name}' is not a primitive type nor a defined \
                     name (define it before use, or give a {{\"type\": ...}} object)"
                ),
            ));
        }
        let schema = self.parse(type_value, &type_path)?;
        let order = match object.get("order") {
            None => Order::Ascending,
            Some(Value::String(text)) => match text.to_uppercase().as_str() {
                "ASCENDING" => Order::Ascending,
                "DESCENDING" => Order::Descending,
                "IGNORE" => Order::Ignore,
                _ => {
                    return Err(invalid(
                        child(path, "order"),
                        format!(
                            "the order '{text}' of field '{name}' is not one of ascending, \
                             descending, ignore"
                        ),
                    ));
                }
            },
            Some(other) => {
                return Err(invalid(
                    child(path, "order"),
                    format!(
                        "the order of field '{name}' must be a string, not {}",
                        json_kind(other)
                    ),
                ));
            }
        };
        let default_path = child(path, "default");
        let mut default = object.get("default").cloned();
        let is_floating = matches!(
            schema,
            Schema::Primitive {
                kind: Primitive::Float | Primitive::Double,
                ..
            }
        );
        if let (true, Some(Value::String(text))) = (is_floating, &default) {
            let Some(number) = java_parse_double(text) else {
                return Err(invalid(
                    default_path,
                    format!("the default \"{text}\" of field '{name}' is not a number"),
                ));
            };
            default = Some(double_default(number));
        }
        if let Some(value) = &default {
            let floating_text = is_floating && value.is_string();
            if !floating_text && !self.valid_default(&schema, value, 0) {
                return Err(invalid(
                    default_path,
                    format!(
                        "invalid default for field '{name}': {} is not a valid {} value{}",
                        value,
                        self.describe(&schema),
                        if matches!(schema, Schema::Union(_)) {
                            " (a union's default must match its first branch)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
        let props = object
            .iter()
            .filter(|(key, _)| !FIELD_RESERVED.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let mut aliases: Vec<String> = Vec::new();
        for alias in parse_alias_list(object, path)? {
            if !aliases.contains(&alias) {
                aliases.push(alias);
            }
        }
        Ok(Field {
            name: name.to_owned(),
            schema,
            doc,
            default,
            order,
            aliases,
            props,
        })
    }

    fn parse_enum(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        name: Name,
        doc: Option<String>,
    ) -> Result<Schema, SchemaError> {
        let full = name.full();
        let Some(Value::Array(symbol_values)) = object.get("symbols") else {
            return Err(invalid(
                path,
                format!("the enum '{full}' has no \"symbols\" array"),
            ));
        };
        let symbols_path = child(path, "symbols");
        let mut symbols: Vec<String> = Vec::with_capacity(symbol_values.len());
        let mut seen = HashSet::new();
        for (index, symbol) in symbol_values.iter().enumerate() {
            let symbol_path = child(&symbols_path, &index.to_string());
            let Value::String(symbol) = symbol else {
                return Err(invalid(
                    symbol_path,
                    format!(
                        "enum symbols must be strings, not {} (enum '{full}')",
                        json_kind(symbol)
                    ),
                ));
            };
            check_name(symbol)
                .map_err(|err| invalid(&symbol_path, format!("enum '{full}': {err}")))?;
            if !seen.insert(symbol.as_str()) {
                return Err(invalid(
                    symbol_path,
                    format!("the enum '{full}' lists the symbol '{symbol}' twice"),
                ));
            }
            symbols.push(symbol.clone());
        }
        // Java ignores a non-string enum default (textValue() is null).
        let default = opt_text(object, "default").map(str::to_owned);
        if let Some(default) = &default
            && !symbols.contains(default)
        {
            return Err(invalid(
                child(path, "default"),
                format!(
                    "the default '{default}' of enum '{full}' is not one of its symbols [{}]",
                    symbols.join(", ")
                ),
            ));
        }
        let index = self.register(
            NamedType {
                name,
                doc,
                aliases: Vec::new(),
                props: Vec::new(),
                logical: None,
                kind: NamedKind::Enum { symbols, default },
            },
            path,
        )?;
        Ok(Schema::Named(index))
    }

    fn parse_fixed(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        name: Name,
        doc: Option<String>,
    ) -> Result<Schema, SchemaError> {
        let full = name.full();
        let size = object.get("size");
        let Some(size) = size.and_then(as_i32) else {
            return Err(invalid(
                if size.is_some() {
                    child(path, "size")
                } else {
                    path.to_owned()
                },
                format!("the fixed '{full}' needs a \"size\" that is a 32-bit integer"),
            ));
        };
        let Ok(size) = u32::try_from(size) else {
            return Err(invalid(
                child(path, "size"),
                format!("the size of fixed '{full}' must not be negative (it is {size})"),
            ));
        };
        let index = self.register(
            NamedType {
                name,
                doc,
                aliases: Vec::new(),
                props: Vec::new(),
                logical: None,
                kind: NamedKind::Fixed { size },
            },
            path,
        )?;
        Ok(Schema::Named(index))
    }

    /// Java `Schema.isValidDefault`.
    fn valid_default(&self, schema: &Schema, value: &Value, depth: usize) -> bool {
        if depth > MAX_DEFAULT_DEPTH {
            return false;
        }
        match schema {
            Schema::Primitive { kind, .. } => match kind {
                Primitive::Null => value.is_null(),
                Primitive::Boolean => value.is_boolean(),
                Primitive::Int => as_i32(value).is_some(),
                Primitive::Long => value.is_i64(),
                Primitive::Float | Primitive::Double => value.is_number(),
                Primitive::Bytes | Primitive::String => value.is_string(),
            },
            Schema::Array { items, .. } => match value {
                Value::Array(elements) => elements
                    .iter()
                    .all(|element| self.valid_default(items, element, depth + 1)),
                _ => false,
            },
            Schema::Map { values, .. } => match value {
                Value::Object(entries) => entries
                    .values()
                    .all(|entry| self.valid_default(values, entry, depth + 1)),
                _ => false,
            },
            Schema::Union(branches) => branches
                .first()
                .is_some_and(|first| self.valid_default(first, value, depth + 1)),
            Schema::Named(index) => {
                let Some(named) = self.types.get(*index) else {
                    return false;
                };
                match &named.kind {
                    NamedKind::Enum { .. } | NamedKind::Fixed { .. } => value.is_string(),
                    NamedKind::Record { fields, .. } => {
                        let Value::Object(entries) = value else {
                            return false;
                        };
                        if self.incomplete.contains(index) {
                            return false;
                        }
                        fields.iter().all(|field| {
                            match entries.get(&field.name).or(field.default.as_ref()) {
                                Some(v) => self.valid_default(&field.schema, v, depth + 1),
                                None => false,
                            }
                        })
                    }
                }
            }
        }
    }

    /// A short description of a schema for messages (`int`, `record 'a.B'`, `union`).
    pub(crate) fn describe(&self, schema: &Schema) -> String {
        describe(&self.types, schema)
    }
}

/// A short description of a schema for messages (`int`, `record 'a.B'`, `union`).
pub(crate) fn describe(types: &[NamedType], schema: &Schema) -> String {
    match schema {
        Schema::Primitive { kind, .. } => kind.name().to_owned(),
        Schema::Array { .. } => "array".to_owned(),
        Schema::Map { .. } => "map".to_owned(),
        Schema::Union(_) => "union".to_owned(),
        Schema::Named(index) => match types.get(*index) {
            Some(named) => format!("{} '{}'", named.type_name(), named.name.full()),
            None => "named type".to_owned(),
        },
    }
}

fn parse_alias_list(object: &Map<String, Value>, path: &str) -> Result<Vec<String>, SchemaError> {
    match object.get("aliases") {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::String(alias) => Ok(alias.clone()),
                other => Err(invalid(
                    child(&child(path, "aliases"), &index.to_string()),
                    format!("an alias must be a string, not {}", json_kind(other)),
                )),
            })
            .collect(),
        Some(other) => Err(invalid(
            child(path, "aliases"),
            format!(
                "\"aliases\" must be an array of strings, not {}",
                json_kind(other)
            ),
        )),
    }
}

fn parse_type_aliases(object: &Map<String, Value>, path: &str) -> Result<Vec<String>, SchemaError> {
    parse_alias_list(object, path)
}

/// What a logical type annotates.
#[derive(Debug, Clone, Copy)]
enum Base {
    Primitive(Primitive),
    Fixed(u32),
}

/// Java `LogicalTypes.fromSchemaIgnoreInvalid`: the logical type if the `logicalType`
/// attribute names a known one that is valid on this base type, else `None`.
fn logical_type(base: Base, props: &[(String, Value)]) -> Option<LogicalType> {
    let prop = |key: &str| props.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let name = prop("logicalType")?.as_str()?;
    let is = |p: Primitive| matches!(base, Base::Primitive(kind) if kind == p);
    let logical = match name {
        "decimal" => {
            let precision = as_i32(prop("precision")?)?;
            let scale = match prop("scale") {
                Some(value) => as_i32(value)?,
                None => 0,
            };
            let max_precision: i64 = match base {
                Base::Primitive(Primitive::Bytes) => i64::from(i32::MAX),
                Base::Fixed(size) => {
                    let bits = 8.0 * f64::from(size) - 1.0;
                    // Java: Math.round(Math.floor(Math.log10(Math.pow(2, 8 * size - 1) - 1)))
                    (2f64.powf(bits) - 1.0).log10().floor() as i64
                }
                Base::Primitive(_) => return None,
            };
            if precision <= 0
                || i64::from(precision) > max_precision
                || scale < 0
                || scale > precision
            {
                return None;
            }
            LogicalType::Decimal {
                precision: u32::try_from(precision).ok()?,
                scale: u32::try_from(scale).ok()?,
            }
        }
        "big-decimal" if is(Primitive::Bytes) => LogicalType::BigDecimal,
        "uuid" if is(Primitive::String) || matches!(base, Base::Fixed(16)) => LogicalType::Uuid,
        "date" if is(Primitive::Int) => LogicalType::Date,
        "time-millis" if is(Primitive::Int) => LogicalType::TimeMillis,
        "time-micros" if is(Primitive::Long) => LogicalType::TimeMicros,
        "timestamp-millis" if is(Primitive::Long) => LogicalType::TimestampMillis,
        "timestamp-micros" if is(Primitive::Long) => LogicalType::TimestampMicros,
        "timestamp-nanos" if is(Primitive::Long) => LogicalType::TimestampNanos,
        "local-timestamp-millis" if is(Primitive::Long) => LogicalType::LocalTimestampMillis,
        "local-timestamp-micros" if is(Primitive::Long) => LogicalType::LocalTimestampMicros,
        "local-timestamp-nanos" if is(Primitive::Long) => LogicalType::LocalTimestampNanos,
        "duration" if matches!(base, Base::Fixed(12)) => LogicalType::Duration,
        _ => return None,
    };
    Some(logical)
}
