//! The comparison engine: a port of Confluent's `SchemaDiff` family (`ObjectSchemaDiff`,
//! `ArraySchemaDiff`, `CombinedSchemaDiff`, ...) over the [`Graph`] model.
//!
//! Every schema pair is compared at most once per assumption set: results are memoised by
//! (original node, update node). A pair met again while it is still being compared (a `$ref`
//! cycle) is assumed compatible, the greatest-fixpoint reading Confluent also uses; results
//! that leaned on such an assumption are only reused while that assumption is still open, so
//! a cycle can never hide a difference found elsewhere. Paths follow Confluent's walk and are
//! kept relative (reversed segment lists) so a memoised result can be placed under any path.

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use serde_json::Value;

use super::compat::{JsonCompatibilityPolicy, JsonDifference, JsonDifferenceKind as K};
use super::load::escape;
use super::model::{ArrayKeywords, Criterion, Graph, Kind, Node, NodeId, NumberKeywords};
use super::model::{ObjectKeywords, StringKeywords};

/// A difference with paths relative to the pair being compared, segments stored innermost
/// first so that prefixing is a push.
#[derive(Debug, Clone)]
struct Raw {
    kind: K,
    original: Vec<String>,
    update: Vec<String>,
}

impl Raw {
    fn here(kind: K) -> Self {
        Raw {
            kind,
            original: Vec::new(),
            update: Vec::new(),
        }
    }

    fn at(kind: K, segments: &[&str]) -> Self {
        let mut raw = Raw::here(kind);
        prefix(&mut raw, segments, segments);
        raw
    }
}

fn prefix(raw: &mut Raw, original: &[&str], update: &[&str]) {
    raw.original
        .extend(original.iter().rev().map(|s| (*s).to_owned()));
    raw.update
        .extend(update.iter().rev().map(|s| (*s).to_owned()));
}

fn prefixed(mut diffs: Vec<Raw>, original: &[&str], update: &[&str]) -> Vec<Raw> {
    for raw in &mut diffs {
        prefix(raw, original, update);
    }
    diffs
}

/// Nested pairs beyond this depth are assumed compatible: a bound on recursion for pathological
/// reference graphs whose cycles only realign after very many steps.
const MAX_DEPTH: usize = 256;

/// `$ref` chains (a `$ref` to a `$ref` ...) longer than this are treated as unresolved.
const MAX_REF_CHAIN: usize = 64;

#[derive(Debug)]
struct Cached {
    diffs: Rc<Vec<Raw>>,
    /// `Some((depth, frame))`: valid only while the pair in progress at `depth` is still the
    /// frame `frame`.
    depends_on: Option<(usize, u64)>,
}

type PairKey = (NodeId, NodeId, bool);

struct Engine<'g> {
    left: &'g Graph,
    right: &'g Graph,
    /// Inside an odd number of `not`s the two graphs trade roles.
    flipped: bool,
    policy: JsonCompatibilityPolicy,
    frames: Vec<u64>,
    in_progress: HashMap<PairKey, usize>,
    cache: HashMap<PairKey, Cached>,
    next_frame: u64,
}

/// Compares two loaded schemas.
pub(crate) fn run(
    original: &Graph,
    update: &Graph,
    policy: JsonCompatibilityPolicy,
) -> Vec<JsonDifference> {
    let mut engine = Engine {
        left: original,
        right: update,
        flipped: false,
        policy,
        frames: Vec::new(),
        in_progress: HashMap::new(),
        cache: HashMap::new(),
        next_frame: 0,
    };
    let mut low = usize::MAX;
    let raws = engine.compare(Some(original.root), Some(update.root), &mut low);
    raws.into_iter()
        .map(|raw| {
            let original_path = render(&raw.original);
            let update_path = render(&raw.update);
            let message = describe(raw.kind, &original_path, raw.original.first());
            JsonDifference {
                kind: raw.kind,
                original_path,
                update_path,
                message,
            }
        })
        .collect()
}

fn render(reversed: &[String]) -> String {
    let mut path = String::from("#/");
    let mut first = true;
    for segment in reversed.iter().rev() {
        if !first {
            path.push('/');
        }
        path.push_str(segment);
        first = false;
    }
    path
}

fn deref(graph: &Graph, mut id: NodeId) -> NodeId {
    for _ in 0..MAX_REF_CHAIN {
        match graph.node(id).kind {
            Kind::Ref(target) => id = target,
            _ => return id,
        }
    }
    id
}

fn is_combined(kind: &Kind) -> bool {
    matches!(kind, Kind::Combined { .. })
}

fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

fn same_values(a: &Option<Value>, b: &Option<Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => json_equal(a, b),
        _ => false,
    }
}

/// `a ⊆ b` with set semantics (everit keeps `enum` values in a set).
fn subset(a: &[Value], b: &[Value]) -> bool {
    a.iter().all(|x| b.iter().any(|y| json_equal(x, y)))
}

impl<'g> Engine<'g> {
    fn original(&self) -> &'g Graph {
        if self.flipped { self.right } else { self.left }
    }

    fn update(&self) -> &'g Graph {
        if self.flipped { self.left } else { self.right }
    }

    fn compatible(&self, diffs: &[Raw]) -> bool {
        diffs.iter().all(|d| d.kind.is_compatible(self.policy))
    }

    fn compare(
        &mut self,
        original: Option<NodeId>,
        update: Option<NodeId>,
        low: &mut usize,
    ) -> Vec<Raw> {
        let (original, update) = match (original, update) {
            (None, None) => return Vec::new(),
            (None, Some(_)) => return vec![Raw::here(K::SchemaAdded)],
            (Some(_), None) => return vec![Raw::here(K::SchemaRemoved)],
            (Some(o), Some(u)) => (deref(self.original(), o), deref(self.update(), u)),
        };
        let key = (original, update, self.flipped);
        if let Some(&depth) = self.in_progress.get(&key) {
            *low = (*low).min(depth);
            return Vec::new();
        }
        if let Some(cached) = self.cache.get(&key) {
            match cached.depends_on {
                None => return cached.diffs.as_ref().clone(),
                Some((depth, frame)) if self.frames.get(depth) == Some(&frame) => {
                    *low = (*low).min(depth);
                    return cached.diffs.as_ref().clone();
                }
                Some(_) => {}
            }
        }
        let depth = self.frames.len();
        if depth >= MAX_DEPTH {
            return Vec::new();
        }
        let frame = self.next_frame;
        self.next_frame += 1;
        self.frames.push(frame);
        self.in_progress.insert(key, depth);
        let mut own_low = usize::MAX;
        let diffs = self.compare_nodes(original, update, &mut own_low);
        self.in_progress.remove(&key);
        self.frames.pop();
        let depends_on = if own_low >= depth {
            None
        } else {
            *low = (*low).min(own_low);
            self.frames.get(own_low).map(|&frame| (own_low, frame))
        };
        self.cache.insert(
            key,
            Cached {
                diffs: Rc::new(diffs.clone()),
                depends_on,
            },
        );
        diffs
    }

    /// `SchemaDiff.compare` after `$ref`s are resolved.
    fn compare_nodes(&mut self, o: NodeId, u: NodeId, low: &mut usize) -> Vec<Raw> {
        let original: &'g Node = self.original().node(o);
        let update: &'g Node = self.update().node(u);

        if let Kind::Combined {
            criterion,
            subschemas,
        } = &update.kind
            && !is_combined(&original.kind)
        {
            if let [only] = subschemas.as_slice() {
                let diffs = self.compare(Some(o), Some(*only), low);
                if self.compatible(&diffs) {
                    return diffs;
                }
            } else if matches!(criterion, Criterion::AnyOf | Criterion::OneOf) {
                for sub in subschemas {
                    let diffs = self.compare(Some(o), Some(*sub), low);
                    if self.compatible(&diffs) {
                        let mut diffs = diffs;
                        diffs.push(Raw::here(K::SumTypeExtended));
                        return diffs;
                    }
                }
            }
        } else if let Kind::Combined {
            criterion,
            subschemas,
        } = &original.kind
            && !is_combined(&update.kind)
        {
            if let [only] = subschemas.as_slice() {
                let diffs = self.compare(Some(*only), Some(u), low);
                if self.compatible(&diffs) {
                    return diffs;
                }
            }
            if *criterion == Criterion::AllOf {
                for sub in subschemas {
                    let diffs = self.compare(Some(*sub), Some(u), low);
                    if self.compatible(&diffs) {
                        let mut diffs = diffs;
                        diffs.push(Raw::here(K::ProductTypeNarrowed));
                        return diffs;
                    }
                }
            }
        }

        if original.kind.class() != update.kind.class() {
            let bytes = |n: &Node| n.connect_type.as_deref() == Some("bytes");
            if matches!(original.kind, Kind::False)
                || matches!(update.kind, Kind::Empty)
                || (bytes(original) && bytes(update))
            {
                return Vec::new();
            }
            return vec![Raw::here(K::TypeChanged)];
        }

        let mut out = Vec::new();
        if original.id != update.id {
            out.push(Raw::here(K::IdChanged));
        }
        if original.title != update.title {
            out.push(Raw::here(K::TitleChanged));
        }
        if original.description != update.description {
            out.push(Raw::here(K::DescriptionChanged));
        }
        if !same_values(&original.default, &update.default) {
            out.push(Raw::here(K::DefaultChanged));
        }

        match (&original.kind, &update.kind) {
            (Kind::String(a), Kind::String(b)) => string_diff(a, b, &mut out),
            (Kind::Number(a), Kind::Number(b)) => number_diff(a, b, &mut out),
            (Kind::Const(a), Kind::Const(b)) if !json_equal(a, b) => {
                out.push(Raw::at(K::EnumArrayChanged, &["const"]));
            }
            (Kind::Enum(a), Kind::Enum(b)) => {
                let a_in_b = subset(a, b);
                let b_in_a = subset(b, a);
                if !(a_in_b && b_in_a) {
                    let kind = if a_in_b {
                        K::EnumArrayExtended
                    } else if b_in_a {
                        K::EnumArrayNarrowed
                    } else {
                        K::EnumArrayChanged
                    };
                    out.push(Raw::at(kind, &["enum"]));
                }
            }
            (
                Kind::Combined {
                    criterion: oc,
                    subschemas: os,
                },
                Kind::Combined {
                    criterion: uc,
                    subschemas: us,
                },
            ) => self.combined_diff((*oc, os), (*uc, us), low, &mut out),
            (Kind::Not(a), Kind::Not(b)) => {
                // The negated schemas swap roles: `not` accepts more when its operand accepts
                // less.
                let diffs = self.compare_swapped(*a, *b, low);
                let kind = if self.compatible(&diffs) {
                    K::NotTypeNarrowed
                } else {
                    K::NotTypeExtended
                };
                out.push(Raw::at(kind, &["not"]));
            }
            (Kind::Object(a), Kind::Object(b)) => self.object_diff(a, b, low, &mut out),
            (Kind::Array(a), Kind::Array(b)) => self.array_diff(a, b, low, &mut out),
            _ => {}
        }
        out
    }

    /// Compares `update`'s node `b` as the original against `original`'s node `a` as the
    /// update, for `not`; the shared memo keys on the orientation.
    fn compare_swapped(&mut self, a: NodeId, b: NodeId, low: &mut usize) -> Vec<Raw> {
        self.flipped = !self.flipped;
        let diffs = self.compare(Some(b), Some(a), low);
        self.flipped = !self.flipped;
        diffs
    }

    fn combined_diff(
        &mut self,
        (oc, os): (Criterion, &[NodeId]),
        (uc, us): (Criterion, &[NodeId]),
        low: &mut usize,
        out: &mut Vec<Raw>,
    ) {
        if oc != uc {
            let extended = uc == Criterion::AnyOf
                || (os.len() == 1 && us.len() == 1)
                || (os.len() == 1 && uc == Criterion::OneOf)
                || (us.len() == 1 && oc == Criterion::AllOf);
            if !extended {
                out.push(Raw::here(K::CombinedTypeChanged));
                return;
            }
            out.push(Raw::here(K::CombinedTypeExtended));
        }
        let os = distinct(self.original(), os);
        let us = distinct(self.update(), us);
        if os.len() < us.len() {
            out.push(Raw::here(if uc == Criterion::AllOf {
                K::ProductTypeExtended
            } else {
                K::SumTypeExtended
            }));
        } else if os.len() > us.len() {
            out.push(Raw::here(if oc == Criterion::AllOf {
                K::ProductTypeNarrowed
            } else {
                K::SumTypeNarrowed
            }));
        }
        let mut edges: Vec<Vec<(usize, Vec<Raw>)>> = Vec::with_capacity(os.len());
        for &a in &os {
            let mut row = Vec::new();
            for (j, &b) in us.iter().enumerate() {
                let diffs = self.compare(Some(a), Some(b), low);
                if self.compatible(&diffs) {
                    row.push((j, diffs));
                }
            }
            edges.push(row);
        }
        let adjacency: Vec<Vec<usize>> = edges
            .iter()
            .map(|row| row.iter().map(|(j, _)| *j).collect())
            .collect();
        let matching = max_matching(us.len(), &adjacency);
        let mut matched = 0;
        for (i, (row, partner)) in edges.into_iter().zip(matching).enumerate() {
            let Some(j) = partner else {
                continue;
            };
            matched += 1;
            if let Some((_, diffs)) = row.into_iter().find(|(candidate, _)| *candidate == j) {
                let at = [oc.keyword(), &i.to_string()];
                out.extend(prefixed(diffs, &at, &at));
            }
        }
        if matched < os.len().min(us.len()) {
            out.push(Raw::here(K::CombinedTypeSubschemasChanged));
        }
    }

    fn object_diff(
        &mut self,
        o: &ObjectKeywords,
        u: &ObjectKeywords,
        low: &mut usize,
        out: &mut Vec<Raw>,
    ) {
        let original: &'g Graph = self.original();
        let update: &'g Graph = self.update();

        for (name, _) in &o.properties {
            let Some(update_schema) = u.property(name) else {
                continue;
            };
            let key = escape(name);
            let (was, is) = (o.is_required(name), u.is_required(name));
            if was && !is {
                out.push(Raw::at(K::RequiredAttributeRemoved, &["required", &key]));
            } else if !was && is {
                let kind = if update.node(update_schema).default.is_some() {
                    K::RequiredAttributeWithDefaultAdded
                } else {
                    K::RequiredAttributeAdded
                };
                out.push(Raw::at(kind, &["required", &key]));
            }
        }

        let mut keys: Vec<&String> = o.properties.iter().map(|(k, _)| k).collect();
        keys.extend(
            u.properties
                .iter()
                .map(|(k, _)| k)
                .filter(|k| o.property(k).is_none()),
        );
        for name in keys {
            let key = escape(name);
            let here: [&str; 2] = ["properties", &key];
            match (o.property(name), u.property(name)) {
                (Some(a), Some(b)) => {
                    let diffs = self.compare(Some(a), Some(b), low);
                    out.extend(prefixed(diffs, &here, &here));
                }
                (Some(a), None) => {
                    // Removing is only safe if the update still accepts the property.
                    if open_object(update, u) {
                        out.push(Raw::at(K::PropertyRemovedFromOpenContentModel, &here));
                    } else if let Some(covering) = partial_object(update, u, name) {
                        let diffs = self.compare(Some(a), Some(covering), low);
                        let covered = self.compatible(&diffs);
                        out.extend(prefixed(diffs, &here, &here));
                        out.push(Raw::at(
                            if covered {
                                K::PropertyRemovedIsCoveredByPartiallyOpenContentModel
                            } else {
                                K::PropertyRemovedNotCoveredByPartiallyOpenContentModel
                            },
                            &here,
                        ));
                    } else if matches!(original.node(a).kind, Kind::False) {
                        out.push(Raw::at(
                            K::PropertyWithFalseRemovedFromClosedContentModel,
                            &here,
                        ));
                    } else {
                        out.push(Raw::at(K::PropertyRemovedFromClosedContentModel, &here));
                    }
                }
                (None, Some(b)) => {
                    let required = u.is_required(name);
                    let has_default = update.node(b).default.is_some();
                    if open_object(original, o) {
                        if matches!(update.node(b).kind, Kind::Empty) {
                            out.push(Raw::at(
                                K::PropertyWithEmptySchemaAddedToOpenContentModel,
                                &here,
                            ));
                        } else {
                            out.push(Raw::at(K::PropertyAddedToOpenContentModel, &here));
                            // LENIENT allows the addition itself, but a required property
                            // without a default still breaks old data (compat-rules.md §2.3).
                            if required && self.policy == JsonCompatibilityPolicy::Lenient {
                                out.push(Raw::at(
                                    if has_default {
                                        K::RequiredAttributeWithDefaultAdded
                                    } else {
                                        K::RequiredAttributeAdded
                                    },
                                    &["required", &key],
                                ));
                            }
                        }
                    } else {
                        if let Some(covering) = partial_object(original, o, name) {
                            let diffs = self.compare(Some(covering), Some(b), low);
                            let covered = self.compatible(&diffs);
                            out.extend(prefixed(diffs, &here, &here));
                            out.push(Raw::at(
                                if covered {
                                    K::PropertyAddedIsCoveredByPartiallyOpenContentModel
                                } else {
                                    K::PropertyAddedNotCoveredByPartiallyOpenContentModel
                                },
                                &here,
                            ));
                        }
                        out.push(Raw::at(
                            match (required, has_default) {
                                (true, true) => {
                                    K::RequiredPropertyWithDefaultAddedToUnopenContentModel
                                }
                                (true, false) => K::RequiredPropertyAddedToUnopenContentModel,
                                (false, _) => K::OptionalPropertyAddedToUnopenContentModel,
                            },
                            &here,
                        ));
                    }
                }
                (None, None) => {}
            }
        }

        let mut names: Vec<&String> = o.property_dependencies.iter().map(|(k, _)| k).collect();
        names.extend(
            u.property_dependencies
                .iter()
                .map(|(k, _)| k)
                .filter(|k| !o.property_dependencies.iter().any(|(n, _)| n == *k)),
        );
        for name in names {
            let key = escape(name);
            let at = ["dependencies", key.as_str()];
            let found_o = o
                .property_dependencies
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_slice());
            let found_u = u
                .property_dependencies
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_slice());
            match (found_o, found_u) {
                (Some(_), None) => out.push(Raw::at(K::DependencyArrayRemoved, &at)),
                (None, Some(_)) => out.push(Raw::at(K::DependencyArrayAdded, &at)),
                (Some(a), Some(b)) => {
                    let a_in_b = a.iter().all(|x| b.contains(x));
                    let b_in_a = b.iter().all(|x| a.contains(x));
                    if !(a_in_b && b_in_a) {
                        out.push(Raw::at(
                            if a_in_b {
                                K::DependencyArrayExtended
                            } else if b_in_a {
                                K::DependencyArrayNarrowed
                            } else {
                                K::DependencyArrayChanged
                            },
                            &at,
                        ));
                    }
                }
                (None, None) => {}
            }
        }
        let mut names: Vec<&String> = o.schema_dependencies.iter().map(|(k, _)| k).collect();
        names.extend(
            u.schema_dependencies
                .iter()
                .map(|(k, _)| k)
                .filter(|k| !o.schema_dependencies.iter().any(|(n, _)| n == *k)),
        );
        for name in names {
            let key = escape(name);
            let at = ["dependencies", key.as_str()];
            let a = o
                .schema_dependencies
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, id)| *id);
            let b = u
                .schema_dependencies
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, id)| *id);
            match (a, b) {
                (Some(_), None) => out.push(Raw::at(K::DependencySchemaRemoved, &at)),
                (None, Some(_)) => out.push(Raw::at(K::DependencySchemaAdded, &at)),
                (Some(a), Some(b)) => {
                    let diffs = self.compare(Some(a), Some(b), low);
                    out.extend(prefixed(diffs, &at, &at));
                }
                (None, None) => {}
            }
        }

        let at = ["additionalProperties"];
        if o.permits_additional != u.permits_additional {
            out.push(Raw::at(
                if u.permits_additional {
                    K::AdditionalPropertiesAdded
                } else {
                    K::AdditionalPropertiesRemoved
                },
                &at,
            ));
        } else {
            match (o.additional, u.additional) {
                (None, Some(_)) => out.push(Raw::at(K::AdditionalPropertiesNarrowed, &at)),
                (Some(_), None) => out.push(Raw::at(K::AdditionalPropertiesExtended, &at)),
                (Some((a, _)), Some((b, _))) => {
                    let diffs = self.compare(Some(a), Some(b), low);
                    out.extend(prefixed(diffs, &at, &at));
                }
                (None, None) => {}
            }
        }
        self.unevaluated_diff(
            (o.unevaluated, u.unevaluated),
            "unevaluatedProperties",
            [
                K::UnevaluatedPropertiesAdded,
                K::UnevaluatedPropertiesRemoved,
                K::UnevaluatedPropertiesExtended,
                K::UnevaluatedPropertiesNarrowed,
            ],
            low,
            out,
        );

        bound_diff(
            o.max_properties,
            u.max_properties,
            "maxProperties",
            [
                K::MaxPropertiesAdded,
                K::MaxPropertiesRemoved,
                K::MaxPropertiesIncreased,
                K::MaxPropertiesDecreased,
            ],
            out,
        );
        bound_diff(
            o.min_properties,
            u.min_properties,
            "minProperties",
            [
                K::MinPropertiesAdded,
                K::MinPropertiesRemoved,
                K::MinPropertiesIncreased,
                K::MinPropertiesDecreased,
            ],
            out,
        );
    }

    fn array_diff(
        &mut self,
        o: &ArrayKeywords,
        u: &ArrayKeywords,
        low: &mut usize,
        out: &mut Vec<Raw>,
    ) {
        let original: &'g Graph = self.original();
        let update: &'g Graph = self.update();
        let diffs = self.compare(o.all_items, u.all_items, low);
        out.extend(prefixed(diffs, &["items"], &["items"]));

        let shared = o.item_schemas.len().min(u.item_schemas.len());
        for (i, (a, b)) in o.item_schemas.iter().zip(&u.item_schemas).enumerate() {
            let index = i.to_string();
            let diffs = self.compare(Some(*a), Some(*b), low);
            out.extend(prefixed(diffs, &["items", &index], &["items", &index]));
        }
        for (i, a) in o.item_schemas.iter().enumerate().skip(shared) {
            let index = i.to_string();
            let here = ["items", index.as_str()];
            if open_array(update, u) {
                out.push(Raw::at(K::ItemRemovedFromOpenContentModel, &here));
            } else if let Some(covering) = partial_array(update, u) {
                let diffs = self.compare(Some(*a), Some(covering), low);
                let covered = self.compatible(&diffs);
                out.extend(prefixed(diffs, &here, &here));
                out.push(Raw::at(
                    if covered {
                        K::ItemRemovedIsCoveredByPartiallyOpenContentModel
                    } else {
                        K::ItemRemovedNotCoveredByPartiallyOpenContentModel
                    },
                    &here,
                ));
            } else if matches!(original.node(*a).kind, Kind::False) {
                out.push(Raw::at(
                    K::ItemWithFalseRemovedFromClosedContentModel,
                    &here,
                ));
            } else {
                out.push(Raw::at(K::ItemRemovedFromClosedContentModel, &here));
            }
        }
        for (i, b) in u.item_schemas.iter().enumerate().skip(shared) {
            let index = i.to_string();
            let here = ["items", index.as_str()];
            if open_array(original, o) {
                out.push(Raw::at(
                    if matches!(update.node(*b).kind, Kind::Empty) {
                        K::ItemWithEmptySchemaAddedToOpenContentModel
                    } else {
                        K::ItemAddedToOpenContentModel
                    },
                    &here,
                ));
            } else if let Some(covering) = partial_array(original, o) {
                let diffs = self.compare(Some(covering), Some(*b), low);
                let covered = self.compatible(&diffs);
                out.extend(prefixed(diffs, &here, &here));
                out.push(Raw::at(
                    if covered {
                        K::ItemAddedIsCoveredByPartiallyOpenContentModel
                    } else {
                        K::ItemAddedNotCoveredByPartiallyOpenContentModel
                    },
                    &here,
                ));
            } else {
                out.push(Raw::at(K::ItemAddedToClosedContentModel, &here));
            }
        }

        let at = ["additionalItems"];
        if o.permits_additional != u.permits_additional {
            out.push(Raw::at(
                if o.permits_additional {
                    K::AdditionalItemsRemoved
                } else {
                    K::AdditionalItemsAdded
                },
                &at,
            ));
        } else {
            match (o.additional, u.additional) {
                (None, Some(_)) => out.push(Raw::at(K::AdditionalItemsNarrowed, &at)),
                (Some(_), None) => out.push(Raw::at(K::AdditionalItemsExtended, &at)),
                (Some((a, _)), Some((b, _))) => {
                    let diffs = self.compare(Some(a), Some(b), low);
                    out.extend(prefixed(diffs, &at, &at));
                }
                (None, None) => {}
            }
        }
        self.unevaluated_diff(
            (o.unevaluated, u.unevaluated),
            "unevaluatedItems",
            [
                K::UnevaluatedItemsAdded,
                K::UnevaluatedItemsRemoved,
                K::UnevaluatedItemsExtended,
                K::UnevaluatedItemsNarrowed,
            ],
            low,
            out,
        );

        bound_diff(
            o.max_items,
            u.max_items,
            "maxItems",
            [
                K::MaxItemsAdded,
                K::MaxItemsRemoved,
                K::MaxItemsIncreased,
                K::MaxItemsDecreased,
            ],
            out,
        );
        bound_diff(
            o.min_items,
            u.min_items,
            "minItems",
            [
                K::MinItemsAdded,
                K::MinItemsRemoved,
                K::MinItemsIncreased,
                K::MinItemsDecreased,
            ],
            out,
        );
        if o.unique_items != u.unique_items {
            out.push(Raw::at(
                if o.unique_items {
                    K::UniqueItemsRemoved
                } else {
                    K::UniqueItemsAdded
                },
                &["uniqueItems"],
            ));
        }
        bound_diff(
            o.max_contains,
            u.max_contains,
            "maxContains",
            [
                K::MaxContainsAdded,
                K::MaxContainsRemoved,
                K::MaxContainsIncreased,
                K::MaxContainsDecreased,
            ],
            out,
        );
        bound_diff(
            o.min_contains,
            u.min_contains,
            "minContains",
            [
                K::MinContainsAdded,
                K::MinContainsRemoved,
                K::MinContainsIncreased,
                K::MinContainsDecreased,
            ],
            out,
        );
    }

    /// Confluent's `compareUnevaluatedProperties`/`compareUnevaluatedItems`. The kinds are
    /// named for what the *values* gain or lose: `false` appearing is "removed" (nothing
    /// unevaluated is allowed any more), `false` going is "added", a schema appearing where
    /// anything was allowed is "narrowed", `true`/`{}` replacing a schema is "extended".
    fn unevaluated_diff(
        &mut self,
        (o, u): (Option<NodeId>, Option<NodeId>),
        keyword: &str,
        [added, removed, extended, narrowed]: [K; 4],
        low: &mut usize,
        out: &mut Vec<Raw>,
    ) {
        let original: &'g Graph = self.original();
        let update: &'g Graph = self.update();
        let is_false = |graph: &Graph, id: NodeId| matches!(graph.node(id).kind, Kind::False);
        let is_empty = |graph: &Graph, id: NodeId| matches!(graph.node(id).kind, Kind::Empty);
        let at = [keyword];
        let kind = match (o, u) {
            (None, None) => return,
            (None, Some(b)) if is_false(update, b) => removed,
            (None, Some(_)) => narrowed,
            (Some(a), None) if is_false(original, a) => added,
            (Some(_), None) => extended,
            (Some(a), Some(b)) => match (is_false(original, a), is_false(update, b)) {
                (true, false) => added,
                (false, true) => removed,
                _ => match (is_empty(original, a), is_empty(update, b)) {
                    (true, false) => narrowed,
                    (false, true) => extended,
                    _ => {
                        let diffs = self.compare(Some(a), Some(b), low);
                        out.extend(prefixed(diffs, &at, &at));
                        return;
                    }
                },
            },
        };
        out.push(Raw::at(kind, &at));
    }
}

/// Property names were escaped for paths; the required list holds them unescaped.
fn key_raw(escaped: &str) -> String {
    escaped.replace("~1", "/").replace("~0", "~")
}

/// Confluent's `isOpenContentModel`: `additionalProperties` true or absent, no
/// `patternProperties`, and (only when `additionalProperties` is absent)
/// `unevaluatedProperties` absent or `true`/`{}`.
fn open_object(graph: &Graph, schema: &ObjectKeywords) -> bool {
    schema.pattern_properties.is_empty()
        && schema.additional.is_none()
        && schema.permits_additional
        && schema
            .unevaluated
            .is_none_or(|id| matches!(graph.node(id).kind, Kind::Empty))
}

fn open_array(graph: &Graph, schema: &ArrayKeywords) -> bool {
    schema.additional.is_none()
        && schema.permits_additional
        && schema
            .unevaluated
            .is_none_or(|id| matches!(graph.node(id).kind, Kind::Empty))
}

/// The `unevaluated*` schema that covers what `additional*` would have, when the latter is
/// absent and the former is neither `true`/`{}` nor `false`.
fn covering_unevaluated(
    graph: &Graph,
    permits_additional: bool,
    additional: Option<(NodeId, &'static str)>,
    unevaluated: Option<NodeId>,
) -> Option<NodeId> {
    if !permits_additional || additional.is_some() {
        return None;
    }
    unevaluated.filter(|id| !matches!(graph.node(*id).kind, Kind::Empty | Kind::False))
}

/// The schema a partially open array applies to items past its tuple.
fn partial_array(graph: &Graph, schema: &ArrayKeywords) -> Option<NodeId> {
    schema.additional.map(|(id, _)| id).or_else(|| {
        covering_unevaluated(
            graph,
            schema.permits_additional,
            schema.additional,
            schema.unevaluated,
        )
    })
}

/// The schema a partially open object applies to an undeclared property: the first matching
/// `patternProperties` entry, else the additional-properties schema, else (Confluent's
/// "A is missing and U = S") the unevaluated-properties schema.
fn partial_object(graph: &Graph, schema: &ObjectKeywords, name: &str) -> Option<NodeId> {
    for pattern in &schema.pattern_properties {
        if pattern.regex.is_match(name) {
            return Some(pattern.schema);
        }
    }
    schema.additional.map(|(id, _)| id).or_else(|| {
        covering_unevaluated(
            graph,
            schema.permits_additional,
            schema.additional,
            schema.unevaluated,
        )
    })
}

/// Branches written identically count once (Confluent collects them into a set).
fn distinct(graph: &Graph, subschemas: &[NodeId]) -> Vec<NodeId> {
    let mut out: Vec<NodeId> = Vec::with_capacity(subschemas.len());
    for &candidate in subschemas {
        let duplicate = out.iter().any(|&kept| {
            kept == candidate
                || match (graph.source(kept), graph.source(candidate)) {
                    (Some((a, pa)), Some((b, pb))) => pa == pb && a == b,
                    _ => false,
                }
        });
        if !duplicate {
            out.push(candidate);
        }
    }
    out
}

/// Maximum bipartite matching by augmenting paths (breadth-first, so no recursion).
/// Returns, for each left vertex, its matched right vertex.
fn max_matching(right: usize, adjacency: &[Vec<usize>]) -> Vec<Option<usize>> {
    let mut match_left: Vec<Option<usize>> = vec![None; adjacency.len()];
    let mut match_right: Vec<Option<usize>> = vec![None; right];
    for start in 0..adjacency.len() {
        let mut came_from: Vec<Option<usize>> = vec![None; right];
        let mut queue = VecDeque::from([start]);
        let mut free = None;
        'search: while let Some(left) = queue.pop_front() {
            for &r in adjacency.get(left).map(Vec::as_slice).unwrap_or(&[]) {
                if came_from.get(r).is_none_or(Option::is_some) {
                    continue;
                }
                came_from[r] = Some(left);
                match match_right.get(r).copied().flatten() {
                    None => {
                        free = Some(r);
                        break 'search;
                    }
                    Some(next) => queue.push_back(next),
                }
            }
        }
        let mut cursor = free;
        while let Some(r) = cursor {
            let Some(left) = came_from.get(r).copied().flatten() else {
                break;
            };
            cursor = match_left.get(left).copied().flatten();
            match_left[left] = Some(r);
            match_right[r] = Some(left);
        }
    }
    match_left
}

fn bound_diff<T: PartialOrd + Copy>(
    original: Option<T>,
    update: Option<T>,
    keyword: &str,
    [added, removed, increased, decreased]: [K; 4],
    out: &mut Vec<Raw>,
) {
    let kind = match (original, update) {
        (None, Some(_)) => added,
        (Some(_), None) => removed,
        (Some(a), Some(b)) if a < b => increased,
        (Some(a), Some(b)) if a > b => decreased,
        _ => return,
    };
    out.push(Raw::at(kind, &[keyword]));
}

fn string_diff(a: &StringKeywords, b: &StringKeywords, out: &mut Vec<Raw>) {
    bound_diff(
        a.max_length,
        b.max_length,
        "maxLength",
        [
            K::MaxLengthAdded,
            K::MaxLengthRemoved,
            K::MaxLengthIncreased,
            K::MaxLengthDecreased,
        ],
        out,
    );
    bound_diff(
        a.min_length,
        b.min_length,
        "minLength",
        [
            K::MinLengthAdded,
            K::MinLengthRemoved,
            K::MinLengthIncreased,
            K::MinLengthDecreased,
        ],
        out,
    );
    match (&a.pattern, &b.pattern) {
        (None, Some(_)) => out.push(Raw::at(K::PatternAdded, &["pattern"])),
        (Some(_), None) => out.push(Raw::at(K::PatternRemoved, &["pattern"])),
        (Some(x), Some(y)) if x != y => out.push(Raw::at(K::PatternChanged, &["pattern"])),
        _ => {}
    }
}

fn number_diff(a: &NumberKeywords, b: &NumberKeywords, out: &mut Vec<Raw>) {
    bound_diff(
        a.maximum,
        b.maximum,
        "maximum",
        [
            K::MaximumAdded,
            K::MaximumRemoved,
            K::MaximumIncreased,
            K::MaximumDecreased,
        ],
        out,
    );
    bound_diff(
        a.minimum,
        b.minimum,
        "minimum",
        [
            K::MinimumAdded,
            K::MinimumRemoved,
            K::MinimumIncreased,
            K::MinimumDecreased,
        ],
        out,
    );
    bound_diff(
        a.exclusive_maximum,
        b.exclusive_maximum,
        "exclusiveMaximum",
        [
            K::ExclusiveMaximumAdded,
            K::ExclusiveMaximumRemoved,
            K::ExclusiveMaximumIncreased,
            K::ExclusiveMaximumDecreased,
        ],
        out,
    );
    bound_diff(
        a.exclusive_minimum,
        b.exclusive_minimum,
        "exclusiveMinimum",
        [
            K::ExclusiveMinimumAdded,
            K::ExclusiveMinimumRemoved,
            K::ExclusiveMinimumIncreased,
            K::ExclusiveMinimumDecreased,
        ],
        out,
    );
    let original = a.multiple_of.as_ref().map(Decimal::of);
    let update = b.multiple_of.as_ref().map(Decimal::of);
    let kind = match (original, update) {
        (None, None) => None,
        (None, Some(_)) => Some(K::MultipleOfAdded),
        (Some(_), None) => Some(K::MultipleOfRemoved),
        (Some(x), Some(y)) if x == y => None,
        (Some(x), Some(y)) if y.is_multiple_of(x) => Some(K::MultipleOfExpanded),
        (Some(x), Some(y)) if x.is_multiple_of(y) => Some(K::MultipleOfReduced),
        _ => Some(K::MultipleOfChanged),
    };
    if let Some(kind) = kind {
        out.push(Raw::at(kind, &["multipleOf"]));
    }
    if a.requires_integer != b.requires_integer {
        out.push(Raw::here(if a.requires_integer {
            K::TypeExtended
        } else {
            K::TypeNarrowed
        }));
    }
}

/// An exact decimal `mantissa × 10^exponent`, so that `0.5` and `0.50` are equal and
/// divisibility of `multipleOf` values is decided without floating-point error.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Decimal {
    Exact { mantissa: i128, exponent: i32 },
    Approximate(f64),
}

impl Decimal {
    fn of(number: &serde_json::Number) -> Decimal {
        let text = number.to_string();
        Decimal::parse(&text).unwrap_or(Decimal::Approximate(number.as_f64().unwrap_or(0.0)))
    }

    fn parse(text: &str) -> Option<Decimal> {
        let (digits, exponent) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let mut mantissa: i128 = format!("{whole}{fraction}").parse().ok()?;
        let mut exponent = exponent.checked_sub(i32::try_from(fraction.len()).ok()?)?;
        if mantissa == 0 {
            return Some(Decimal::Exact {
                mantissa: 0,
                exponent: 0,
            });
        }
        while mantissa % 10 == 0 {
            mantissa /= 10;
            exponent = exponent.checked_add(1)?;
        }
        Some(Decimal::Exact { mantissa, exponent })
    }

    fn to_f64(self) -> f64 {
        match self {
            Decimal::Exact { mantissa, exponent } => mantissa as f64 * 10f64.powi(exponent),
            Decimal::Approximate(value) => value,
        }
    }

    /// Whether `self` is an integer multiple of `other`.
    fn is_multiple_of(self, other: Decimal) -> bool {
        if let (
            Decimal::Exact {
                mantissa: a,
                exponent: ea,
            },
            Decimal::Exact {
                mantissa: b,
                exponent: eb,
            },
        ) = (self, other)
        {
            if b == 0 {
                return false;
            }
            let shift = i64::from(ea) - i64::from(eb);
            let power = u32::try_from(shift.unsigned_abs())
                .ok()
                .and_then(|p| 10i128.checked_pow(p));
            if let Some(power) = power {
                if shift >= 0 {
                    if let Some(scaled) = a.checked_mul(power) {
                        return scaled % b == 0;
                    }
                } else if let Some(scaled) = b.checked_mul(power) {
                    return a % scaled == 0;
                }
            }
        }
        let (a, b) = (self.to_f64(), other.to_f64());
        if b == 0.0 || !a.is_finite() || !b.is_finite() {
            return false;
        }
        let quotient = a / b;
        (quotient - quotient.round()).abs() < 1e-9
    }
}

/// A sentence for a person. Wording says "old" for the original (writer) side and "new" for
/// the update (reader) side, which is the BACKWARD orientation; the paths are exact either way.
fn describe(kind: K, path: &str, last: Option<&String>) -> String {
    let name = last.map(|s| key_raw(s)).unwrap_or_default();
    let at = format!("at '{path}'");
    match kind {
        K::IdChanged => format!("the $id {at} changed"),
        K::DescriptionChanged => format!("the description {at} changed"),
        K::TitleChanged => format!("the title {at} changed"),
        K::DefaultChanged => format!("the default value {at} changed"),
        K::SchemaAdded => {
            format!("a schema {at} was added, so values it rejects are no longer accepted")
        }
        K::SchemaRemoved => format!("the schema {at} was removed, so any value is accepted there"),
        K::TypeExtended => format!("the type {at} was widened from integer to number"),
        K::TypeNarrowed => format!(
            "the type {at} was narrowed from number to integer, so non-integral numbers are rejected"
        ),
        K::TypeChanged => format!("the type {at} changed, so values of the old type are rejected"),
        K::MaxLengthAdded
        | K::MinLengthAdded
        | K::PatternAdded
        | K::MaximumAdded
        | K::MinimumAdded
        | K::ExclusiveMaximumAdded
        | K::ExclusiveMinimumAdded
        | K::MultipleOfAdded
        | K::MaxPropertiesAdded
        | K::MinPropertiesAdded
        | K::MaxItemsAdded
        | K::MinItemsAdded
        | K::MaxContainsAdded
        | K::MinContainsAdded
        | K::UniqueItemsAdded => {
            format!(
                "the constraint '{name}' {at} was added, so values that violate it are rejected"
            )
        }
        K::MaxLengthRemoved
        | K::MinLengthRemoved
        | K::PatternRemoved
        | K::MaximumRemoved
        | K::MinimumRemoved
        | K::ExclusiveMaximumRemoved
        | K::ExclusiveMinimumRemoved
        | K::MultipleOfRemoved
        | K::MaxPropertiesRemoved
        | K::MinPropertiesRemoved
        | K::MaxItemsRemoved
        | K::MinItemsRemoved
        | K::MaxContainsRemoved
        | K::MinContainsRemoved
        | K::UniqueItemsRemoved => {
            format!("the constraint '{name}' {at} was removed")
        }
        K::MaxLengthIncreased
        | K::MaximumIncreased
        | K::ExclusiveMaximumIncreased
        | K::MaxPropertiesIncreased
        | K::MaxItemsIncreased
        | K::MaxContainsIncreased => {
            format!("the upper bound '{name}' {at} was raised")
        }
        K::MaxLengthDecreased
        | K::MaximumDecreased
        | K::ExclusiveMaximumDecreased
        | K::MaxPropertiesDecreased
        | K::MaxItemsDecreased
        | K::MaxContainsDecreased => {
            format!(
                "the upper bound '{name}' {at} was lowered, so values above the new bound are rejected"
            )
        }
        K::MinLengthIncreased
        | K::MinimumIncreased
        | K::ExclusiveMinimumIncreased
        | K::MinPropertiesIncreased
        | K::MinItemsIncreased
        | K::MinContainsIncreased => {
            format!(
                "the lower bound '{name}' {at} was raised, so values below the new bound are rejected"
            )
        }
        K::MinLengthDecreased
        | K::MinimumDecreased
        | K::ExclusiveMinimumDecreased
        | K::MinPropertiesDecreased
        | K::MinItemsDecreased
        | K::MinContainsDecreased => {
            format!("the lower bound '{name}' {at} was lowered")
        }
        K::PatternChanged => format!(
            "the pattern {at} changed, so strings matching only the old pattern are rejected"
        ),
        K::MultipleOfExpanded => format!(
            "'multipleOf' {at} became a multiple of its old value, so some old values are rejected"
        ),
        K::MultipleOfReduced => format!("'multipleOf' {at} became a divisor of its old value"),
        K::MultipleOfChanged => {
            format!("'multipleOf' {at} changed to a value unrelated to the old one")
        }
        K::RequiredAttributeAdded => format!(
            "property '{name}' became required {at} and has no default, so data without it is rejected"
        ),
        K::RequiredAttributeWithDefaultAdded => {
            format!("property '{name}' became required {at}, and it has a default")
        }
        K::RequiredAttributeRemoved => format!("property '{name}' is no longer required {at}"),
        K::AdditionalPropertiesAdded => format!("additional properties are now allowed {at}"),
        K::AdditionalPropertiesRemoved => format!(
            "additional properties are no longer allowed {at}, so data with undeclared properties is rejected"
        ),
        K::AdditionalPropertiesExtended => format!(
            "the schema for additional properties {at} was dropped, so any additional property is accepted"
        ),
        K::AdditionalPropertiesNarrowed => format!(
            "a schema for additional properties {at} was added, so additional properties that violate it are rejected"
        ),
        K::DependencyArrayAdded => format!("a property dependency for '{name}' {at} was added"),
        K::DependencyArrayRemoved => {
            format!("the property dependency for '{name}' {at} was removed")
        }
        K::DependencyArrayExtended => {
            format!("the property dependency for '{name}' {at} requires more properties")
        }
        K::DependencyArrayNarrowed => {
            format!("the property dependency for '{name}' {at} requires fewer properties")
        }
        K::DependencyArrayChanged => format!("the property dependency for '{name}' {at} changed"),
        K::DependencySchemaAdded => format!("a schema dependency for '{name}' {at} was added"),
        K::DependencySchemaRemoved => {
            format!("the schema dependency for '{name}' {at} was removed")
        }
        K::PropertyAddedToOpenContentModel => format!(
            "property '{name}' {at} is new and the old schema allowed any additional property, so old data may carry '{name}' with a value the new schema rejects (declare additionalProperties: false in the old schema, or use the LENIENT policy)"
        ),
        K::PropertyWithEmptySchemaAddedToOpenContentModel => {
            format!("property '{name}' {at} is new and accepts any value")
        }
        K::RequiredPropertyAddedToUnopenContentModel => format!(
            "property '{name}' {at} is required in the new schema but did not exist in the old one and has no default"
        ),
        K::RequiredPropertyWithDefaultAddedToUnopenContentModel => {
            format!("property '{name}' {at} is new and required, and it has a default")
        }
        K::OptionalPropertyAddedToUnopenContentModel => {
            format!("optional property '{name}' {at} was added to a closed content model")
        }
        K::PropertyRemovedFromOpenContentModel => format!(
            "property '{name}' {at} was removed and the new schema accepts any additional property"
        ),
        K::PropertyWithFalseRemovedFromClosedContentModel => {
            format!("property '{name}' {at}, which was forbidden, was removed")
        }
        K::PropertyRemovedFromClosedContentModel => format!(
            "property '{name}' {at} was removed but the new schema does not allow additional properties, so data carrying it is rejected"
        ),
        K::PropertyRemovedIsCoveredByPartiallyOpenContentModel => format!(
            "property '{name}' {at} was removed and is still accepted by the new schema's patternProperties/additionalProperties"
        ),
        K::PropertyRemovedNotCoveredByPartiallyOpenContentModel => format!(
            "property '{name}' {at} was removed and the new schema's patternProperties/additionalProperties do not accept its old values"
        ),
        K::PropertyAddedIsCoveredByPartiallyOpenContentModel => format!(
            "property '{name}' {at} is new and accepts what the old schema's patternProperties/additionalProperties allowed for it"
        ),
        K::PropertyAddedNotCoveredByPartiallyOpenContentModel => format!(
            "property '{name}' {at} is new and rejects values the old schema's patternProperties/additionalProperties allowed for it"
        ),
        K::ReservedPropertyRemoved => {
            format!("reserved property '{name}' was removed from the metadata")
        }
        K::ReservedPropertyConflictsWithProperty => {
            format!("property '{name}' {at} conflicts with a reserved property")
        }
        K::UnevaluatedPropertiesAdded => {
            format!("unevaluated properties are now allowed {at}")
        }
        K::UnevaluatedPropertiesRemoved => format!(
            "unevaluated properties are no longer allowed {at}, so data with undeclared properties is rejected"
        ),
        K::UnevaluatedPropertiesExtended => {
            format!("the schema for unevaluated properties {at} was dropped")
        }
        K::UnevaluatedPropertiesNarrowed => format!(
            "a schema for unevaluated properties {at} was added, so properties that violate it are rejected"
        ),
        K::UnevaluatedItemsAdded => format!("unevaluated array items are now allowed {at}"),
        K::UnevaluatedItemsRemoved => format!(
            "unevaluated array items are no longer allowed {at}, so longer arrays are rejected"
        ),
        K::UnevaluatedItemsExtended => {
            format!("the schema for unevaluated array items {at} was dropped")
        }
        K::UnevaluatedItemsNarrowed => format!(
            "a schema for unevaluated array items {at} was added, so items that violate it are rejected"
        ),
        K::AdditionalItemsAdded => format!("additional array items are now allowed {at}"),
        K::AdditionalItemsRemoved => format!(
            "additional array items are no longer allowed {at}, so longer arrays are rejected"
        ),
        K::AdditionalItemsExtended => {
            format!("the schema for additional array items {at} was dropped")
        }
        K::AdditionalItemsNarrowed => format!(
            "a schema for additional array items {at} was added, so items that violate it are rejected"
        ),
        K::ItemAddedToOpenContentModel => format!(
            "tuple item {at} is new and the old schema accepted any item there, so old data may be rejected"
        ),
        K::ItemWithEmptySchemaAddedToOpenContentModel => {
            format!("tuple item {at} is new and accepts any value")
        }
        K::ItemAddedToClosedContentModel => format!("tuple item {at} was added to a closed tuple"),
        K::ItemRemovedFromOpenContentModel => {
            format!("tuple item {at} was removed and the new schema accepts any additional item")
        }
        K::ItemWithFalseRemovedFromClosedContentModel => {
            format!("tuple item {at}, which was forbidden, was removed")
        }
        K::ItemRemovedFromClosedContentModel => format!(
            "tuple item {at} was removed but the new schema does not allow additional items, so longer arrays are rejected"
        ),
        K::ItemRemovedIsCoveredByPartiallyOpenContentModel => format!(
            "tuple item {at} was removed and is still accepted by the new additional-items schema"
        ),
        K::ItemRemovedNotCoveredByPartiallyOpenContentModel => format!(
            "tuple item {at} was removed and the new additional-items schema rejects its old values"
        ),
        K::ItemAddedIsCoveredByPartiallyOpenContentModel => format!(
            "tuple item {at} is new and accepts what the old additional-items schema allowed"
        ),
        K::ItemAddedNotCoveredByPartiallyOpenContentModel => format!(
            "tuple item {at} is new and rejects values the old additional-items schema allowed"
        ),
        K::EnumArrayExtended => format!("the allowed values {at} were extended"),
        K::EnumArrayNarrowed => {
            format!("the allowed values {at} were narrowed, so removed values are rejected")
        }
        K::EnumArrayChanged => {
            format!("the allowed values {at} changed, so some old values are rejected")
        }
        K::CombinedTypeExtended => {
            format!("the combination {at} changed to a more permissive criterion")
        }
        K::CombinedTypeChanged => format!(
            "the combination criterion {at} changed (allOf/anyOf/oneOf) in a way that rejects old values"
        ),
        K::ProductTypeExtended => {
            format!("the allOf {at} gained subschemas, so values must satisfy more")
        }
        K::ProductTypeNarrowed => {
            format!("the allOf {at} lost subschemas, so values must satisfy less")
        }
        K::SumTypeExtended => format!("the alternatives {at} were extended"),
        K::SumTypeNarrowed => {
            format!("alternatives {at} were removed, so values matching only those are rejected")
        }
        K::CombinedTypeSubschemasChanged => format!(
            "the subschemas {at} cannot all be matched with compatible subschemas of the new schema"
        ),
        K::NotTypeExtended => format!("the 'not' {at} now excludes more values"),
        K::NotTypeNarrowed => format!("the 'not' {at} now excludes fewer values"),
    }
}
