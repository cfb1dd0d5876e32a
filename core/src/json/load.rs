//! Turns JSON Schema documents into the [`Graph`] the comparison walks: validates keyword
//! values the way Confluent's loader (everit) would refuse them, resolves `$ref` (JSON
//! pointers, `$id`, `$anchor`, referenced schemas by name) and applies each document's draft.
//!
//! Recursion follows only the nesting of one document, which `Limits` already bounds; a
//! `$ref` target is loaded from a work list, never by recursing into it, so reference cycles
//! cannot loop.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::model::{
    ArrayKeywords, Criterion, Graph, Kind, Node, NodeId, NumberKeywords, ObjectKeywords,
    PatternProperty, StringKeywords,
};
use super::regex::Regex;
use crate::error::SchemaError;

/// The drafts whose keyword meanings differ. `Any` (no or unknown `$schema`) accepts the
/// keywords of every draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Draft {
    D4,
    D6,
    D7,
    D2019,
    D2020,
    Any,
}

impl Draft {
    fn of(document: &Value) -> Draft {
        let Some(uri) = document.get("$schema").and_then(Value::as_str) else {
            return Draft::Any;
        };
        if uri.contains("draft-04") {
            Draft::D4
        } else if uri.contains("draft-06") {
            Draft::D6
        } else if uri.contains("draft-07") {
            Draft::D7
        } else if uri.contains("2019-09") {
            Draft::D2019
        } else if uri.contains("2020-12") {
            Draft::D2020
        } else {
            Draft::Any
        }
    }

    fn id_keyword(self, map: &Map<String, Value>) -> Option<&Value> {
        match self {
            Draft::D4 => map.get("id"),
            Draft::Any => map
                .get("$id")
                .or_else(|| map.get("id").filter(|v| v.is_string())),
            _ => map.get("$id"),
        }
    }

    fn has_2019_keywords(self) -> bool {
        matches!(self, Draft::D2019 | Draft::D2020 | Draft::Any)
    }
}

/// One document: the schema itself (index 0) or a referenced schema.
#[derive(Debug)]
pub(crate) struct Document {
    /// The name `$ref`s use for it; empty for the schema being parsed.
    pub name: String,
    pub value: Value,
    pub draft: Draft,
    /// Base URI of the document root.
    pub base: String,
}

impl Document {
    pub(crate) fn new(name: String, value: Value, parent_base: &str) -> Self {
        let draft = Draft::of(&value);
        let retrieval = join(parent_base, &name);
        let base = match value.as_object().and_then(|m| draft.id_keyword(m)) {
            Some(Value::String(id)) => strip_fragment(&join(&retrieval, id)).to_owned(),
            _ => retrieval,
        };
        Document {
            name,
            value,
            draft,
            base,
        }
    }
}

type Location = (usize, String);

/// Whether more properties/items than declared are allowed, and the schema they must match.
type Openness = (bool, Option<(NodeId, &'static str)>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Reserved,
    Started,
}

/// Loads `documents[0]` and everything it references.
pub(crate) fn load(documents: &[Document]) -> Result<Graph, SchemaError> {
    let mut loader = Loader {
        documents,
        nodes: Vec::new(),
        slots: Vec::new(),
        by_location: HashMap::new(),
        pending: Vec::new(),
        resources: HashMap::new(),
        anchors: HashMap::new(),
    };
    loader.index()?;
    let Some(main) = documents.first() else {
        return Err(SchemaError::invalid("", "no schema document"));
    };
    let root = loader.load_at(0, String::new(), &main.value, main.base.clone(), 0)?;
    while let Some((id, doc, pointer, base)) = loader.pending.pop() {
        if loader.slots.get(id) != Some(&Slot::Reserved) {
            continue;
        }
        let value = documents
            .get(doc)
            .and_then(|d| d.value.pointer(&pointer))
            .ok_or_else(|| loader.error(doc, &pointer, "the $ref target does not exist"))?;
        let depth = pointer.matches('/').count();
        loader.load_at(doc, pointer.clone(), value, base, depth)?;
    }
    let nodes = loader
        .nodes
        .into_iter()
        .map(|node| node.unwrap_or_else(|| Node::bare(Kind::Empty)))
        .collect();
    Ok(Graph {
        nodes,
        root,
        documents: documents.iter().map(|d| d.value.clone()).collect(),
    })
}

struct Loader<'a> {
    documents: &'a [Document],
    nodes: Vec<Option<Node>>,
    slots: Vec<Slot>,
    by_location: HashMap<Location, NodeId>,
    pending: Vec<(NodeId, usize, String, String)>,
    /// Absolute resource URI (no fragment) to the location of its root.
    resources: HashMap<String, Location>,
    /// `uri#name` to the location of the schema carrying that anchor.
    anchors: HashMap<String, Location>,
}

/// Keywords whose values are data, not schemas: ids inside them are not ids.
const DATA_KEYWORDS: [&str; 5] = ["enum", "const", "default", "examples", "example"];

/// Child nesting beyond the document depth limit is impossible for parsed input; this is a
/// second guard so a logic error cannot recurse without bound.
const MAX_LOAD_DEPTH: usize = 512;

impl Loader<'_> {
    fn error(&self, doc: usize, pointer: &str, message: impl Into<String>) -> SchemaError {
        let message = message.into();
        match self.documents.get(doc) {
            Some(document) if doc > 0 => SchemaError::Reference {
                name: document.name.clone(),
                message: format!("invalid schema at '{pointer}': {message}"),
            },
            _ => SchemaError::invalid(pointer, message),
        }
    }

    /// Records every `$id` and `$anchor`, so that `$ref`s can name them before they are
    /// loaded.
    fn index(&mut self) -> Result<(), SchemaError> {
        for (doc, document) in self.documents.iter().enumerate() {
            let root: Location = (doc, String::new());
            if doc > 0 {
                self.resources
                    .entry(document.name.clone())
                    .or_insert_with(|| root.clone());
                let main_base = self
                    .documents
                    .first()
                    .map(|d| d.base.as_str())
                    .unwrap_or("");
                self.resources
                    .entry(join(main_base, &document.name))
                    .or_insert_with(|| root.clone());
            }
            self.resources
                .entry(document.base.clone())
                .or_insert_with(|| root.clone());
            let mut stack: Vec<(&Value, String, String)> =
                vec![(&document.value, String::new(), document.base.clone())];
            while let Some((value, pointer, base)) = stack.pop() {
                match value {
                    Value::Object(map) => {
                        let mut base = base;
                        if let Some(Value::String(id)) = document.draft.id_keyword(map) {
                            let resolved = join(&base, id);
                            let (uri, fragment) = split_fragment(&resolved);
                            if !uri.is_empty() || pointer.is_empty() {
                                base = uri.to_owned();
                                self.resources
                                    .entry(uri.to_owned())
                                    .or_insert_with(|| (doc, pointer.clone()));
                            }
                            if let Some(name) = fragment.filter(|f| !f.is_empty()) {
                                self.anchors
                                    .entry(format!("{base}#{name}"))
                                    .or_insert_with(|| (doc, pointer.clone()));
                            }
                        }
                        if let Some(Value::String(anchor)) = map.get("$anchor") {
                            self.anchors
                                .entry(format!("{base}#{anchor}"))
                                .or_insert_with(|| (doc, pointer.clone()));
                        }
                        for (key, child) in map {
                            if DATA_KEYWORDS.contains(&key.as_str()) {
                                continue;
                            }
                            stack.push((child, format!("{pointer}/{}", escape(key)), base.clone()));
                        }
                    }
                    Value::Array(items) => {
                        for (i, child) in items.iter().enumerate() {
                            stack.push((child, format!("{pointer}/{i}"), base.clone()));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn alloc(&mut self, slot: Slot) -> NodeId {
        self.nodes.push(None);
        self.slots.push(slot);
        self.nodes.len() - 1
    }

    /// Loads the schema at a location once; later requests share the node.
    fn load_at(
        &mut self,
        doc: usize,
        pointer: String,
        value: &Value,
        base: String,
        depth: usize,
    ) -> Result<NodeId, SchemaError> {
        let key = (doc, pointer.clone());
        let id = match self.by_location.get(&key) {
            Some(&id) if self.slots.get(id) == Some(&Slot::Started) => return Ok(id),
            Some(&id) => id,
            None => {
                let id = self.alloc(Slot::Started);
                self.by_location.insert(key, id);
                id
            }
        };
        if let Some(slot) = self.slots.get_mut(id) {
            *slot = Slot::Started;
        }
        if depth > MAX_LOAD_DEPTH {
            return Err(SchemaError::TooDeep {
                limit: MAX_LOAD_DEPTH,
            });
        }
        let mut node = self.build(doc, &pointer, value, base, depth)?;
        node.source = Some((doc, pointer, 0));
        if let Some(slot) = self.nodes.get_mut(id) {
            *slot = Some(node);
        }
        Ok(id)
    }

    /// Loads a node that has no location of its own (one branch of `type: [..]`).
    fn push_node(&mut self, ctx: &Ctx<'_>, part: u32, kind: Kind) -> NodeId {
        let mut node = Node::bare(kind);
        node.source = Some((ctx.doc, ctx.pointer.to_owned(), part));
        let id = self.alloc(Slot::Started);
        if let Some(slot) = self.nodes.get_mut(id) {
            *slot = Some(node);
        }
        id
    }

    fn child(
        &mut self,
        ctx: &Ctx<'_>,
        segments: &[&str],
        value: &Value,
    ) -> Result<NodeId, SchemaError> {
        let mut pointer = ctx.pointer.to_owned();
        for segment in segments {
            pointer.push('/');
            pointer.push_str(&escape(segment));
        }
        self.load_at(ctx.doc, pointer, value, ctx.base.clone(), ctx.depth + 1)
    }

    fn build(
        &mut self,
        doc: usize,
        pointer: &str,
        value: &Value,
        base: String,
        depth: usize,
    ) -> Result<Node, SchemaError> {
        let map = match value {
            Value::Bool(true) => return Ok(Node::bare(Kind::Empty)),
            Value::Bool(false) => return Ok(Node::bare(Kind::False)),
            Value::Object(map) => map,
            _ => {
                return Err(self.error(
                    doc,
                    pointer,
                    "a schema must be a JSON object or a boolean",
                ));
            }
        };
        let draft = self
            .documents
            .get(doc)
            .map(|d| d.draft)
            .unwrap_or(Draft::Any);
        let mut ctx = Ctx {
            doc,
            pointer,
            base,
            depth,
            draft,
            map,
        };
        let id = match draft.id_keyword(map) {
            None => None,
            Some(Value::String(id)) => {
                let joined = join(&ctx.base, id);
                let (uri, _) = split_fragment(&joined);
                if !uri.is_empty() {
                    ctx.base = uri.to_owned();
                }
                Some(id.clone())
            }
            Some(_) => return Err(self.error(doc, pointer, "'$id' must be a string")),
        };
        let title = self.optional_string(&ctx, "title")?;
        let description = self.optional_string(&ctx, "description")?;
        let connect_type = map
            .get("connect.type")
            .and_then(Value::as_str)
            .map(str::to_owned);

        let mut extracted: Vec<Kind> = Vec::new();
        if let Some(values) = map.get("enum") {
            let Value::Array(values) = values else {
                return Err(self.error(doc, pointer, "'enum' must be an array"));
            };
            extracted.push(Kind::Enum(values.clone()));
        }
        for criterion in [Criterion::AllOf, Criterion::AnyOf, Criterion::OneOf] {
            let keyword = criterion.keyword();
            let Some(branches) = map.get(keyword) else {
                continue;
            };
            let branches = match branches {
                Value::Array(items) if !items.is_empty() => items,
                _ => {
                    return Err(self.error(
                        doc,
                        pointer,
                        format!("'{keyword}' must be a non-empty array of schemas"),
                    ));
                }
            };
            let mut subschemas = Vec::with_capacity(branches.len());
            for (i, branch) in branches.iter().enumerate() {
                subschemas.push(self.child(&ctx, &[keyword, &i.to_string()], branch)?);
            }
            extracted.push(Kind::Combined {
                criterion,
                subschemas,
            });
        }
        if let Some(negated) = map.get("not") {
            extracted.push(Kind::Not(self.child(&ctx, &["not"], negated)?));
        }
        if let Some(value) = map.get("const") {
            extracted.push(Kind::Const(value.clone()));
        }
        match map.get("type") {
            Some(Value::String(name)) => {
                let kind = self.typed(&ctx, name, "/type")?;
                extracted.push(kind);
            }
            Some(Value::Array(names)) => {
                if names.is_empty() {
                    return Err(self.error(doc, pointer, "'type' must not be an empty array"));
                }
                let mut seen = HashSet::new();
                let mut subschemas = Vec::new();
                for (i, name) in names.iter().enumerate() {
                    let Value::String(name) = name else {
                        return Err(self.error(
                            doc,
                            &format!("{pointer}/type/{i}"),
                            "every entry of 'type' must be a type name",
                        ));
                    };
                    let kind = self.typed(&ctx, name, &format!("/type/{i}"))?;
                    if seen.insert(name.clone()) {
                        subschemas.push(self.push_node(&ctx, 100 + i as u32, kind));
                    }
                }
                extracted.push(Kind::Combined {
                    criterion: Criterion::AnyOf,
                    subschemas,
                });
            }
            Some(_) => {
                return Err(self.error(
                    doc,
                    &format!("{pointer}/type"),
                    "'type' must be a type name or an array of type names",
                ));
            }
            None => {
                if OBJECT_KEYWORDS.iter().any(|k| map.contains_key(*k)) {
                    extracted.push(self.object(&ctx)?);
                }
                if ARRAY_KEYWORDS.iter().any(|k| map.contains_key(*k)) {
                    extracted.push(self.array(&ctx)?);
                }
                if STRING_KEYWORDS.iter().any(|k| map.contains_key(*k)) {
                    extracted.push(self.string(&ctx)?);
                }
                if NUMBER_KEYWORDS.iter().any(|k| map.contains_key(*k)) {
                    extracted.push(self.number(&ctx, false)?);
                }
            }
        }
        if let Some(reference) = map.get("$ref") {
            let Value::String(reference) = reference else {
                return Err(self.error(doc, &format!("{pointer}/$ref"), "'$ref' must be a string"));
            };
            extracted.push(Kind::Ref(self.reference(&ctx, reference)?));
        }
        if map.contains_key("if") {
            for keyword in ["if", "then", "else"] {
                if let Some(branch) = map.get(keyword) {
                    self.child(&ctx, &[keyword], branch)?;
                }
            }
            extracted.push(Kind::Conditional);
        }
        for keyword in ["propertyNames", "contains"] {
            if let Some(schema) = map.get(keyword) {
                self.child(&ctx, &[keyword], schema)?;
            }
        }

        let kind = match extracted.len() {
            0 => Kind::Empty,
            1 => extracted.pop().unwrap_or(Kind::Empty),
            _ => {
                // everit wraps independent keyword groups in a synthetic allOf.
                let subschemas = extracted
                    .into_iter()
                    .enumerate()
                    .map(|(i, kind)| self.push_node(&ctx, 1 + i as u32, kind))
                    .collect();
                Kind::Combined {
                    criterion: Criterion::AllOf,
                    subschemas,
                }
            }
        };
        Ok(Node {
            kind,
            id,
            title,
            description,
            default: map.get("default").cloned(),
            connect_type,
            source: None,
        })
    }

    fn optional_string(&self, ctx: &Ctx<'_>, key: &str) -> Result<Option<String>, SchemaError> {
        match ctx.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.error(
                ctx.doc,
                &format!("{}/{key}", ctx.pointer),
                format!("'{key}' must be a string"),
            )),
        }
    }

    fn typed(&mut self, ctx: &Ctx<'_>, name: &str, at: &str) -> Result<Kind, SchemaError> {
        Ok(match name {
            "string" => self.string(ctx)?,
            "number" => self.number(ctx, false)?,
            "integer" => self.number(ctx, true)?,
            "object" => self.object(ctx)?,
            "array" => self.array(ctx)?,
            "boolean" => Kind::Boolean,
            "null" => Kind::Null,
            other => {
                return Err(self.error(
                    ctx.doc,
                    &format!("{}{at}", ctx.pointer),
                    format!(
                        "unknown type '{other}' (expected string, number, integer, object, array, boolean or null)"
                    ),
                ));
            }
        })
    }

    fn count(&self, ctx: &Ctx<'_>, key: &str) -> Result<Option<u64>, SchemaError> {
        let Some(value) = ctx.map.get(key) else {
            return Ok(None);
        };
        let count = value.as_u64().or_else(|| {
            value
                .as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f <= u64::MAX as f64)
                .map(|f| f as u64)
        });
        count.map(Some).ok_or_else(|| {
            self.error(
                ctx.doc,
                &format!("{}/{key}", ctx.pointer),
                format!("'{key}' must be a non-negative integer"),
            )
        })
    }

    fn number_value(&self, ctx: &Ctx<'_>, key: &str) -> Result<Option<f64>, SchemaError> {
        match ctx.map.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => Err(self.error(
                ctx.doc,
                &format!("{}/{key}", ctx.pointer),
                format!("'{key}' must be a number"),
            )),
        }
    }

    fn string(&mut self, ctx: &Ctx<'_>) -> Result<Kind, SchemaError> {
        let pattern = match ctx.map.get("pattern") {
            None => None,
            Some(Value::String(pattern)) => {
                Regex::new(pattern).map_err(|err| {
                    self.error(
                        ctx.doc,
                        &format!("{}/pattern", ctx.pointer),
                        format!("'pattern' is not a valid regular expression: {}", err.0),
                    )
                })?;
                Some(pattern.clone())
            }
            Some(_) => {
                return Err(self.error(
                    ctx.doc,
                    &format!("{}/pattern", ctx.pointer),
                    "'pattern' must be a string",
                ));
            }
        };
        self.optional_string(ctx, "format")?;
        Ok(Kind::String(StringKeywords {
            min_length: self.count(ctx, "minLength")?,
            max_length: self.count(ctx, "maxLength")?,
            pattern,
        }))
    }

    fn number(&mut self, ctx: &Ctx<'_>, integer: bool) -> Result<Kind, SchemaError> {
        let mut keywords = NumberKeywords {
            minimum: self.number_value(ctx, "minimum")?,
            maximum: self.number_value(ctx, "maximum")?,
            requires_integer: integer,
            ..NumberKeywords::default()
        };
        for (key, slot) in [
            ("exclusiveMinimum", &mut keywords.exclusive_minimum),
            ("exclusiveMaximum", &mut keywords.exclusive_maximum),
        ] {
            match (ctx.map.get(key), ctx.draft) {
                (None, _) => {}
                // Draft 4's boolean form only qualifies minimum/maximum; Confluent ignores it.
                (Some(Value::Bool(_)), Draft::D4 | Draft::Any) => {}
                (Some(Value::Number(n)), draft) if draft != Draft::D4 => *slot = n.as_f64(),
                (Some(_), draft) => {
                    let expected = if draft == Draft::D4 {
                        "a boolean in draft 4"
                    } else {
                        "a number"
                    };
                    return Err(self.error(
                        ctx.doc,
                        &format!("{}/{key}", ctx.pointer),
                        format!("'{key}' must be {expected}"),
                    ));
                }
            }
        }
        match ctx.map.get("multipleOf") {
            None => {}
            Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f > 0.0) => {
                keywords.multiple_of = Some(n.clone());
            }
            Some(_) => {
                return Err(self.error(
                    ctx.doc,
                    &format!("{}/multipleOf", ctx.pointer),
                    "'multipleOf' must be a number greater than 0",
                ));
            }
        }
        Ok(Kind::Number(keywords))
    }

    fn schema_map(
        &mut self,
        ctx: &Ctx<'_>,
        key: &str,
    ) -> Result<Vec<(String, NodeId)>, SchemaError> {
        let Some(value) = ctx.map.get(key) else {
            return Ok(Vec::new());
        };
        let Value::Object(entries) = value else {
            return Err(self.error(
                ctx.doc,
                &format!("{}/{key}", ctx.pointer),
                format!("'{key}' must be an object whose values are schemas"),
            ));
        };
        let mut out = Vec::with_capacity(entries.len());
        for (name, schema) in entries {
            out.push((name.clone(), self.child(ctx, &[key, name], schema)?));
        }
        Ok(out)
    }

    fn string_array(
        &self,
        ctx: &Ctx<'_>,
        value: &Value,
        at: &str,
        what: &str,
    ) -> Result<Vec<String>, SchemaError> {
        let fail = || {
            self.error(
                ctx.doc,
                &format!("{}{at}", ctx.pointer),
                format!("{what} must be an array of strings"),
            )
        };
        let Value::Array(items) = value else {
            return Err(fail());
        };
        items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(fail))
            .collect()
    }

    /// `additionalProperties`/`additionalItems`-style keywords: `false` closes the model, a
    /// schema opens it partially.
    fn open_or_schema(
        &mut self,
        ctx: &Ctx<'_>,
        key: &'static str,
    ) -> Result<Option<Openness>, SchemaError> {
        match ctx.map.get(key) {
            None => Ok(None),
            Some(Value::Bool(open)) => Ok(Some((*open, None))),
            Some(schema @ Value::Object(_)) => {
                Ok(Some((true, Some((self.child(ctx, &[key], schema)?, key)))))
            }
            Some(_) => Err(self.error(
                ctx.doc,
                &format!("{}/{key}", ctx.pointer),
                format!("'{key}' must be a boolean or a schema"),
            )),
        }
    }

    /// `unevaluatedProperties`/`unevaluatedItems` as a node: `true` loads as the empty
    /// schema and `false` as the false schema, which is how Confluent tells them apart.
    fn unevaluated(&mut self, ctx: &Ctx<'_>, key: &str) -> Result<Option<NodeId>, SchemaError> {
        match ctx.map.get(key) {
            None => Ok(None),
            Some(schema @ (Value::Bool(_) | Value::Object(_))) => {
                Ok(Some(self.child(ctx, &[key], schema)?))
            }
            Some(_) => Err(self.error(
                ctx.doc,
                &format!("{}/{key}", ctx.pointer),
                format!("'{key}' must be a boolean or a schema"),
            )),
        }
    }

    fn object(&mut self, ctx: &Ctx<'_>) -> Result<Kind, SchemaError> {
        let mut keywords = ObjectKeywords {
            properties: self.schema_map(ctx, "properties")?,
            permits_additional: true,
            min_properties: self.count(ctx, "minProperties")?,
            max_properties: self.count(ctx, "maxProperties")?,
            ..ObjectKeywords::default()
        };
        if let Some(patterns) = ctx.map.get("patternProperties") {
            let Value::Object(patterns) = patterns else {
                return Err(self.error(
                    ctx.doc,
                    &format!("{}/patternProperties", ctx.pointer),
                    "'patternProperties' must be an object whose values are schemas",
                ));
            };
            for (pattern, schema) in patterns {
                let regex = Regex::new(pattern).map_err(|err| {
                    self.error(
                        ctx.doc,
                        &format!("{}/patternProperties/{}", ctx.pointer, escape(pattern)),
                        format!("'{pattern}' is not a valid regular expression: {}", err.0),
                    )
                })?;
                let schema = self.child(ctx, &["patternProperties", pattern], schema)?;
                keywords
                    .pattern_properties
                    .push(PatternProperty { regex, schema });
            }
        }
        if let Some((open, schema)) = self.open_or_schema(ctx, "additionalProperties")? {
            keywords.permits_additional = open;
            keywords.additional = schema;
        }
        if ctx.draft.has_2019_keywords() {
            keywords.unevaluated = self.unevaluated(ctx, "unevaluatedProperties")?;
        }
        if let Some(required) = ctx.map.get("required") {
            keywords.required = self.string_array(ctx, required, "/required", "'required'")?;
        }
        if let Some(dependencies) = ctx.map.get("dependencies") {
            self.dependencies(ctx, dependencies, "dependencies", &mut keywords, true, true)?;
        }
        if ctx.draft.has_2019_keywords() {
            if let Some(dependencies) = ctx.map.get("dependentRequired") {
                self.dependencies(
                    ctx,
                    dependencies,
                    "dependentRequired",
                    &mut keywords,
                    true,
                    false,
                )?;
            }
            if let Some(dependencies) = ctx.map.get("dependentSchemas") {
                self.dependencies(
                    ctx,
                    dependencies,
                    "dependentSchemas",
                    &mut keywords,
                    false,
                    true,
                )?;
            }
        }
        Ok(Kind::Object(Box::new(keywords)))
    }

    fn dependencies(
        &mut self,
        ctx: &Ctx<'_>,
        value: &Value,
        key: &str,
        keywords: &mut ObjectKeywords,
        arrays: bool,
        schemas: bool,
    ) -> Result<(), SchemaError> {
        let Value::Object(entries) = value else {
            return Err(self.error(
                ctx.doc,
                &format!("{}/{key}", ctx.pointer),
                format!("'{key}' must be an object"),
            ));
        };
        for (name, dependency) in entries {
            let at = format!("/{key}/{}", escape(name));
            match dependency {
                Value::Array(_) if arrays => {
                    let names = self.string_array(ctx, dependency, &at, "a property dependency")?;
                    keywords.property_dependencies.push((name.clone(), names));
                }
                Value::Object(_) | Value::Bool(_) if schemas => {
                    let schema = self.child(ctx, &[key, name], dependency)?;
                    keywords.schema_dependencies.push((name.clone(), schema));
                }
                _ => {
                    let expected = match (arrays, schemas) {
                        (true, true) => "an array of property names or a schema",
                        (true, false) => "an array of property names",
                        _ => "a schema",
                    };
                    return Err(self.error(
                        ctx.doc,
                        &format!("{}{at}", ctx.pointer),
                        format!("each entry of '{key}' must be {expected}"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn schema_list(
        &mut self,
        ctx: &Ctx<'_>,
        key: &str,
        items: &[Value],
    ) -> Result<Vec<NodeId>, SchemaError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.push(self.child(ctx, &[key, &i.to_string()], item)?);
        }
        Ok(out)
    }

    fn array(&mut self, ctx: &Ctx<'_>) -> Result<Kind, SchemaError> {
        let mut keywords = ArrayKeywords {
            permits_additional: true,
            min_items: self.count(ctx, "minItems")?,
            max_items: self.count(ctx, "maxItems")?,
            ..ArrayKeywords::default()
        };
        keywords.min_contains = self.count(ctx, "minContains")?;
        keywords.max_contains = self.count(ctx, "maxContains")?;
        if keywords.min_contains.is_none()
            && ctx.map.contains_key("contains")
            && ctx.draft.has_2019_keywords()
        {
            keywords.min_contains = Some(1);
        }
        match ctx.map.get("uniqueItems") {
            None => {}
            Some(Value::Bool(unique)) => keywords.unique_items = *unique,
            Some(_) => {
                return Err(self.error(
                    ctx.doc,
                    &format!("{}/uniqueItems", ctx.pointer),
                    "'uniqueItems' must be a boolean",
                ));
            }
        }
        let prefix = ctx.map.get("prefixItems");
        let modern = ctx.draft == Draft::D2020 || (ctx.draft == Draft::Any && prefix.is_some());
        let mut open: Option<Openness> = None;
        if modern {
            match prefix {
                None => {}
                Some(Value::Array(items)) => {
                    keywords.item_schemas = self.schema_list(ctx, "prefixItems", items)?;
                }
                Some(_) => {
                    return Err(self.error(
                        ctx.doc,
                        &format!("{}/prefixItems", ctx.pointer),
                        "'prefixItems' must be an array of schemas",
                    ));
                }
            }
            match ctx.map.get("items") {
                None => {}
                Some(Value::Bool(allowed)) => open = Some((*allowed, None)),
                Some(schema @ Value::Object(_)) => {
                    let id = self.child(ctx, &["items"], schema)?;
                    if prefix.is_some() {
                        open = Some((true, Some((id, "items"))));
                    } else {
                        keywords.all_items = Some(id);
                    }
                }
                Some(_) => {
                    return Err(self.error(
                        ctx.doc,
                        &format!("{}/items", ctx.pointer),
                        "'items' must be a schema in draft 2020-12 (tuples use 'prefixItems')",
                    ));
                }
            }
        } else {
            match ctx.map.get("items") {
                None => {}
                Some(Value::Array(items)) => {
                    keywords.item_schemas = self.schema_list(ctx, "items", items)?;
                }
                Some(schema @ (Value::Object(_) | Value::Bool(_))) => {
                    keywords.all_items = Some(self.child(ctx, &["items"], schema)?);
                }
                Some(_) => {
                    return Err(self.error(
                        ctx.doc,
                        &format!("{}/items", ctx.pointer),
                        "'items' must be a schema or an array of schemas",
                    ));
                }
            }
            open = self.open_or_schema(ctx, "additionalItems")?;
        }
        if ctx.draft.has_2019_keywords() {
            keywords.unevaluated = self.unevaluated(ctx, "unevaluatedItems")?;
        }
        if let Some((allowed, schema)) = open {
            keywords.permits_additional = allowed;
            keywords.additional = schema;
        }
        Ok(Kind::Array(keywords))
    }

    fn reference(&mut self, ctx: &Ctx<'_>, reference: &str) -> Result<NodeId, SchemaError> {
        let at = format!("{}/$ref", ctx.pointer);
        let resolved = join(&ctx.base, reference);
        let (uri, fragment) = split_fragment(&resolved);
        let (raw_uri, _) = split_fragment(reference);
        let document_base = self
            .documents
            .get(ctx.doc)
            .map(|d| d.base.as_str())
            .unwrap_or("");
        let resource = if uri.is_empty() || uri == document_base {
            Some((ctx.doc, String::new()))
        } else {
            self.resources
                .get(uri)
                .or_else(|| self.resources.get(raw_uri))
                .cloned()
        };
        let Some((doc, root)) = resource else {
            return Err(self.error(
                ctx.doc,
                &at,
                format!(
                    "cannot resolve '$ref' '{reference}': no referenced schema or '$id' is named '{uri}'"
                ),
            ));
        };
        let fragment = fragment.unwrap_or("");
        let pointer = if fragment.is_empty() {
            root
        } else if fragment.starts_with('/') {
            format!("{root}{}", percent_decode(fragment))
        } else {
            let anchor_key = format!("{uri}#{fragment}");
            match self.anchors.get(&anchor_key) {
                Some((anchor_doc, pointer)) if *anchor_doc == doc => pointer.clone(),
                _ => {
                    return Err(self.error(
                        ctx.doc,
                        &at,
                        format!("cannot resolve '$ref' '{reference}': no anchor '{fragment}'"),
                    ));
                }
            }
        };
        let target = self
            .documents
            .get(doc)
            .and_then(|d| d.value.pointer(&pointer));
        match target {
            Some(Value::Object(_) | Value::Bool(_)) => {}
            Some(_) => {
                return Err(self.error(
                    ctx.doc,
                    &at,
                    format!("'$ref' '{reference}' points at a value that is not a schema"),
                ));
            }
            None => {
                return Err(self.error(
                    ctx.doc,
                    &at,
                    format!("cannot resolve '$ref' '{reference}': nothing at '{pointer}'"),
                ));
            }
        }
        let key = (doc, pointer.clone());
        if let Some(&id) = self.by_location.get(&key) {
            return Ok(id);
        }
        let id = self.alloc(Slot::Reserved);
        self.by_location.insert(key, id);
        let base = self.base_at(doc, &pointer);
        self.pending.push((id, doc, pointer, base));
        Ok(id)
    }

    /// The base URI in scope at a location: the document base refined by every `$id` on the
    /// way down.
    fn base_at(&self, doc: usize, pointer: &str) -> String {
        let Some(document) = self.documents.get(doc) else {
            return String::new();
        };
        let mut base = document.base.clone();
        let mut value = &document.value;
        for segment in pointer.split('/').skip(1) {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            let next = match value {
                Value::Object(map) => map.get(&segment),
                Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            let Some(next) = next else {
                break;
            };
            value = next;
            if let Some(Value::String(id)) =
                value.as_object().and_then(|m| document.draft.id_keyword(m))
            {
                let joined = join(&base, id);
                let (uri, _) = split_fragment(&joined);
                if !uri.is_empty() {
                    base = uri.to_owned();
                }
            }
        }
        base
    }
}

struct Ctx<'a> {
    doc: usize,
    pointer: &'a str,
    base: String,
    depth: usize,
    draft: Draft,
    map: &'a Map<String, Value>,
}

const OBJECT_KEYWORDS: [&str; 11] = [
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "dependencies",
    "patternProperties",
    "additionalProperties",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "unevaluatedProperties",
];
const ARRAY_KEYWORDS: [&str; 10] = [
    "items",
    "additionalItems",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contains",
    "prefixItems",
    "unevaluatedItems",
    "minContains",
    "maxContains",
];
const STRING_KEYWORDS: [&str; 4] = ["minLength", "maxLength", "pattern", "format"];
const NUMBER_KEYWORDS: [&str; 5] = [
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];

/// Escapes one JSON pointer segment (RFC 6901).
pub(crate) fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn split_fragment(uri: &str) -> (&str, Option<&str>) {
    match uri.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (uri, None),
    }
}

fn strip_fragment(uri: &str) -> &str {
    split_fragment(uri).0
}

fn scheme_len(uri: &str) -> Option<usize> {
    let colon = uri.find(':')?;
    let scheme = &uri[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(colon + 1)
}

/// Resolves `reference` against `base` (RFC 3986 §5.2, without query handling).
pub(crate) fn join(base: &str, reference: &str) -> String {
    let base = strip_fragment(base);
    if reference.is_empty() {
        return base.to_owned();
    }
    if reference.starts_with('#') {
        return format!("{base}{reference}");
    }
    if scheme_len(reference).is_some() {
        return remove_dots(reference);
    }
    let (scheme, rest) = match scheme_len(base) {
        Some(n) => base.split_at(n),
        None => ("", base),
    };
    if reference.starts_with("//") {
        return format!("{scheme}{}", remove_dots(reference));
    }
    let (authority, path) = if let Some(after) = rest.strip_prefix("//") {
        let end = after.find('/').map(|i| i + 2).unwrap_or(rest.len());
        rest.split_at(end)
    } else {
        ("", rest)
    };
    if reference.starts_with('/') {
        return format!("{scheme}{authority}{}", remove_dots(reference));
    }
    let directory = match path.rfind('/') {
        Some(i) => &path[..=i],
        None if !authority.is_empty() => "/",
        None => "",
    };
    format!(
        "{scheme}{authority}{}",
        remove_dots(&format!("{directory}{reference}"))
    )
}

fn remove_dots(path: &str) -> String {
    if !path.contains("./") && !path.ends_with("/.") && !path.ends_with("/..") {
        return path.to_owned();
    }
    let (path, fragment) = match path.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (path, None),
    };
    let mut out: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "." => {}
            ".." => {
                if out.len() > 1 || out.first().is_some_and(|s| !s.is_empty()) {
                    out.pop();
                }
            }
            other => out.push(other),
        }
    }
    let mut joined = out.join("/");
    if path.ends_with("/.") || path.ends_with("/..") {
        joined.push('/');
    }
    match fragment {
        Some(f) => format!("{joined}#{f}"),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn joins_like_rfc3986() {
        assert_eq!(join("", "a.json"), "a.json");
        assert_eq!(
            join("http://x.io/s/a.json", "b.json"),
            "http://x.io/s/b.json"
        );
        assert_eq!(
            join("http://x.io/s/a.json", "/b.json"),
            "http://x.io/b.json"
        );
        assert_eq!(
            join("http://x.io/s/a.json", "../b.json"),
            "http://x.io/b.json"
        );
        assert_eq!(
            join("http://x.io/s/a.json", "#/d"),
            "http://x.io/s/a.json#/d"
        );
        assert_eq!(join("http://x.io/a", "urn:x"), "urn:x");
    }
}
