//! The typed schema graph the comparison walks, shaped like everit's schema classes because
//! Confluent's `SchemaDiff` decides by those classes (a keyword-less object is an "empty"
//! schema, several independent keyword groups become a synthetic `allOf`, `type: [..]` is an
//! `anyOf`, and so on).
//!
//! Nodes live in an arena and `$ref`s hold the index of their target, so recursive schemas
//! are finite graphs rather than infinite trees.

use serde_json::Value;

use super::regex::Regex;

/// Index of a node in [`Graph::nodes`].
pub(crate) type NodeId = usize;

/// A loaded schema document and everything it references.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    pub nodes: Vec<Node>,
    pub root: NodeId,
    /// The documents the nodes were loaded from (index 0 is the schema itself).
    pub documents: Vec<Value>,
}

impl Graph {
    pub(crate) fn node(&self, id: NodeId) -> &Node {
        // Ids are only minted by the loader for this arena; the fallback keeps a logic error
        // from turning into a panic.
        self.nodes.get(id).unwrap_or(&EMPTY_NODE)
    }

    /// The JSON a node was loaded from, and which synthetic part of it the node is.
    pub(crate) fn source(&self, id: NodeId) -> Option<(&Value, u32)> {
        let (doc, pointer, part) = self.node(id).source.as_ref()?;
        let value = self.documents.get(*doc)?.pointer(pointer)?;
        Some((value, *part))
    }
}

static EMPTY_NODE: Node = Node {
    kind: Kind::Empty,
    id: None,
    title: None,
    description: None,
    default: None,
    connect_type: None,
    source: None,
};

/// One schema with the annotations `SchemaDiff` compares on every schema.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: Kind,
    pub id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub default: Option<Value>,
    /// Kafka Connect's `connect.type`, which lets `bytes` change representation freely.
    pub connect_type: Option<String>,
    /// Where the schema was written (document, JSON pointer, part): `allOf`/`oneOf` branches
    /// written identically collapse, as in Confluent, and this is how identity is decided.
    /// `part` tells apart the synthetic pieces one schema object loads into.
    pub source: Option<(usize, String, u32)>,
}

impl Node {
    pub(crate) fn bare(kind: Kind) -> Self {
        Node {
            kind,
            id: None,
            title: None,
            description: None,
            default: None,
            connect_type: None,
            source: None,
        }
    }
}

/// The combinator keyword; the variant names are the keywords themselves.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Criterion {
    AllOf,
    AnyOf,
    OneOf,
}

impl Criterion {
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Criterion::AllOf => "allOf",
            Criterion::AnyOf => "anyOf",
            Criterion::OneOf => "oneOf",
        }
    }
}

/// The everit class a schema loads as; two schemas of different kinds are a `TYPE_CHANGED`.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// `{}`, `true`, or an object without any validation keyword.
    Empty,
    False,
    Boolean,
    Null,
    String(StringKeywords),
    Number(NumberKeywords),
    Object(Box<ObjectKeywords>),
    Array(ArrayKeywords),
    Enum(Vec<Value>),
    Const(Value),
    Combined {
        criterion: Criterion,
        subschemas: Vec<NodeId>,
    },
    Not(NodeId),
    Ref(NodeId),
    /// `if`/`then`/`else`: loaded for validation, compared only by its annotations (as
    /// Confluent does).
    Conditional,
}

impl Kind {
    /// A discriminant for "same everit class"; both number kinds share one.
    pub(crate) fn class(&self) -> u8 {
        match self {
            Kind::Empty => 0,
            Kind::False => 1,
            Kind::Boolean => 2,
            Kind::Null => 3,
            Kind::String(_) => 4,
            Kind::Number(_) => 5,
            Kind::Object(_) => 6,
            Kind::Array(_) => 7,
            Kind::Enum(_) => 8,
            Kind::Const(_) => 9,
            Kind::Combined { .. } => 10,
            Kind::Not(_) => 11,
            Kind::Ref(_) => 12,
            Kind::Conditional => 13,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct StringKeywords {
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub pattern: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct NumberKeywords {
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub exclusive_minimum: Option<f64>,
    pub exclusive_maximum: Option<f64>,
    /// Kept as the written JSON number so that divisibility is decided exactly.
    pub multiple_of: Option<serde_json::Number>,
    pub requires_integer: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct PatternProperty {
    pub regex: Regex,
    pub schema: NodeId,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ObjectKeywords {
    pub properties: Vec<(String, NodeId)>,
    pub pattern_properties: Vec<PatternProperty>,
    pub permits_additional: bool,
    /// The `additionalProperties` schema and the keyword it was written as.
    pub additional: Option<(NodeId, &'static str)>,
    /// `unevaluatedProperties` (2019-09 and later): Confluent compares it on its own
    /// (`UNEVALUATED_PROPERTIES_*`) and lets it open or close the content model only where
    /// `additionalProperties` is absent.
    pub unevaluated: Option<NodeId>,
    pub required: Vec<String>,
    pub min_properties: Option<u64>,
    pub max_properties: Option<u64>,
    pub property_dependencies: Vec<(String, Vec<String>)>,
    pub schema_dependencies: Vec<(String, NodeId)>,
}

impl ObjectKeywords {
    pub(crate) fn property(&self, name: &str) -> Option<NodeId> {
        self.properties
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, id)| *id)
    }

    pub(crate) fn is_required(&self, name: &str) -> bool {
        self.required.iter().any(|r| r == name)
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ArrayKeywords {
    /// `items` as one schema for every element.
    pub all_items: Option<NodeId>,
    /// Tuple items (`items: [..]` before 2020-12, `prefixItems` from 2020-12).
    pub item_schemas: Vec<NodeId>,
    pub permits_additional: bool,
    pub additional: Option<(NodeId, &'static str)>,
    /// `unevaluatedItems` (2019-09 and later), compared on its own as for objects.
    pub unevaluated: Option<NodeId>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: bool,
    /// `minContains`: from 2019-09 `contains` implies 1 (json-sKema's default, so writing
    /// `minContains: 1` is no change); before, only a written value counts (everit keeps it
    /// as an unprocessed property, which Confluent still compares).
    pub min_contains: Option<u64>,
    pub max_contains: Option<u64>,
}
