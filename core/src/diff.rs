//! Structural differences between two versions of a schema, per field and type, each with
//! what a consumer must do about it; the verdicts come from [`crate::compat`], so the diff
//! explains a change and never decides compatibility on its own.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::avro::{AvroSchema, NamedKind, Schema};
use crate::compat::{Direction, Incompatibility, check_pair};
use crate::json::compat::{JsonCompatibilityPolicy, JsonDifferenceKind, compare};
use crate::schema::ParsedSchema;

/// What kind of structural change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    FieldAdded,
    FieldRemoved,
    /// A field renamed, the new field carrying the old name as an alias.
    FieldRenamed,
    TypeChanged,
    /// A change Avro resolves by promotion (`int` to `long`, `string` to `bytes`, ...).
    TypePromoted,
    DefaultAdded,
    DefaultRemoved,
    DefaultChanged,
    EnumSymbolAdded,
    EnumSymbolRemoved,
    UnionBranchAdded,
    UnionBranchRemoved,
    NameChanged,
    FixedSizeChanged,
    /// A JSON Schema difference, with Confluent's name.
    Json(JsonDifferenceKind),
    SchemaTypeChanged,
}

impl ChangeKind {
    /// The stable SCREAMING_SNAKE_CASE name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::FieldAdded => "FIELD_ADDED",
            ChangeKind::FieldRemoved => "FIELD_REMOVED",
            ChangeKind::FieldRenamed => "FIELD_RENAMED",
            ChangeKind::TypeChanged => "TYPE_CHANGED",
            ChangeKind::TypePromoted => "TYPE_PROMOTED",
            ChangeKind::DefaultAdded => "DEFAULT_ADDED",
            ChangeKind::DefaultRemoved => "DEFAULT_REMOVED",
            ChangeKind::DefaultChanged => "DEFAULT_CHANGED",
            ChangeKind::EnumSymbolAdded => "ENUM_SYMBOL_ADDED",
            ChangeKind::EnumSymbolRemoved => "ENUM_SYMBOL_REMOVED",
            ChangeKind::UnionBranchAdded => "UNION_BRANCH_ADDED",
            ChangeKind::UnionBranchRemoved => "UNION_BRANCH_REMOVED",
            ChangeKind::NameChanged => "NAME_CHANGED",
            ChangeKind::FixedSizeChanged => "FIXED_SIZE_CHANGED",
            ChangeKind::Json(kind) => kind.as_str(),
            ChangeKind::SchemaTypeChanged => "SCHEMA_TYPE_CHANGED",
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ChangeKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One structural change from the old version to the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// Where, for a person: `Order.qty` (Avro record and field) or a JSON pointer (`#/...`).
    pub location: String,
    /// What changed.
    pub description: String,
    /// What a consumer of the events must do about it.
    pub consumer_action: String,
}

/// The differences between two versions plus the compatibility verdicts both ways.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaDiff {
    pub changes: Vec<Change>,
    /// Why consumers on the new version cannot read events written with the old one.
    pub backward: Vec<Incompatibility>,
    /// Why consumers on the old version cannot read events written with the new one.
    pub forward: Vec<Incompatibility>,
}

impl SchemaDiff {
    /// The rollout the two verdicts allow, for a person.
    pub fn rollout(&self) -> &'static str {
        match (self.backward.is_empty(), self.forward.is_empty()) {
            (true, true) => {
                "compatible both ways: producers and consumers can upgrade in any order"
            }
            (true, false) => {
                "backward compatible only: upgrade every consumer first, then the producers"
            }
            (false, true) => {
                "forward compatible only: upgrade the producers first; consumers move once no event of the old version remains to be read"
            }
            (false, false) => {
                "incompatible both ways: consumers on one version cannot read the other's events; publish under a new subject or migrate the data"
            }
        }
    }
}

/// Compares `old` with `new`. Pure and bounded: named types are visited once per pair.
pub fn diff(old: &ParsedSchema, new: &ParsedSchema) -> SchemaDiff {
    let changes = match (old, new) {
        (ParsedSchema::Avro(old), ParsedSchema::Avro(new)) => {
            let mut walk = AvroWalk {
                old,
                new,
                seen: HashSet::new(),
                changes: Vec::new(),
            };
            let location = old.name().unwrap_or_else(|| "(root)".to_owned());
            walk.schema(old.root(), new.root(), &location);
            walk.changes
        }
        (ParsedSchema::Json(old), ParsedSchema::Json(new)) => compare(old, new)
            .into_iter()
            .map(|difference| Change {
                kind: ChangeKind::Json(difference.kind),
                location: difference.update_path,
                consumer_action: json_action(difference.kind),
                description: difference.message,
            })
            .collect(),
        _ => vec![Change {
            kind: ChangeKind::SchemaTypeChanged,
            location: String::new(),
            description: format!(
                "the schema type changed from {} to {}",
                old.schema_type(),
                new.schema_type()
            ),
            consumer_action: "Consumers must switch deserializers: treat this as a new event type under a new subject.".into(),
        }],
    };
    SchemaDiff {
        changes,
        backward: check_pair(Direction::Backward, old, new),
        forward: check_pair(Direction::Forward, old, new),
    }
}

fn json_action(kind: JsonDifferenceKind) -> String {
    use JsonDifferenceKind as K;
    let text = match kind {
        K::RequiredAttributeAdded => {
            "Events written with the old version may lack the new required property: consumers on the new version must not validate old events with it (add a default, or make it optional)."
        }
        K::TypeChanged | K::TypeNarrowed => {
            "Old events may hold values of the old type: consumers on the new version reject them; keep the old type (or widen it) until old events are gone."
        }
        K::PropertyRemovedFromClosedContentModel
        | K::PropertyRemovedNotCoveredByPartiallyOpenContentModel => {
            "Old events may still carry the removed property, which the new version forbids: consumers must tolerate it, or open the content model."
        }
        K::PropertyAddedToOpenContentModel
        | K::PropertyAddedNotCoveredByPartiallyOpenContentModel => {
            "Old events may carry this property with any value: consumers on the new version may reject them; do not narrow a property old producers could have sent."
        }
        K::EnumArrayNarrowed | K::EnumArrayChanged => {
            "Old events may hold values the new enum no longer allows: consumers must handle them before they upgrade."
        }
        _ if kind.is_compatible(JsonCompatibilityPolicy::Strict) => {
            "Nothing for consumers on the new version: every old event is still valid."
        }
        _ => {
            "Some events valid under the old version are invalid under the new one: consumers on the new version must not read old events, or the change must be relaxed."
        }
    };
    text.to_owned()
}

/// Walks two Avro schemas side by side, matching record fields by name (and aliases).
struct AvroWalk<'a> {
    old: &'a AvroSchema,
    new: &'a AvroSchema,
    seen: HashSet<(usize, usize)>,
    changes: Vec<Change>,
}

impl AvroWalk<'_> {
    fn push(&mut self, kind: ChangeKind, location: &str, description: String, action: &str) {
        self.changes.push(Change {
            kind,
            location: location.to_owned(),
            description,
            consumer_action: action.to_owned(),
        });
    }

    fn schema(&mut self, old: &Schema, new: &Schema, location: &str) {
        match (old, new) {
            (Schema::Named(o), Schema::Named(n)) => self.named(*o, *n, location),
            (Schema::Array { items: o, .. }, Schema::Array { items: n, .. }) => {
                self.schema(o, n, &format!("{location}[]"));
            }
            (Schema::Map { values: o, .. }, Schema::Map { values: n, .. }) => {
                self.schema(o, n, &format!("{location}{{}}"));
            }
            (Schema::Union(o), Schema::Union(n)) => self.union(o, n, location),
            (
                Schema::Primitive {
                    kind: o,
                    logical: ol,
                    ..
                },
                Schema::Primitive {
                    kind: n,
                    logical: nl,
                    ..
                },
            ) if o == n && ol == nl => {}
            _ => {
                let (from, to) = (self.describe_old(old), self.describe_new(new));
                if from == to {
                    return;
                }
                let promoted = promotable(old, new);
                let (kind, action) = if promoted {
                    (
                        ChangeKind::TypePromoted,
                        "Consumers on the new version read old values widened; consumers on the old version cannot read new values: upgrade consumers before producers.",
                    )
                } else if let Schema::Union(branches) = new
                    && branches.iter().any(|b| self.describe_new(b) == from)
                {
                    (
                        ChangeKind::TypeChanged,
                        "Consumers on the new version read old events; consumers on the old version cannot read events using the other branches: upgrade consumers first.",
                    )
                } else {
                    (
                        ChangeKind::TypeChanged,
                        "Consumers on either version cannot read the other's events for this value: publish under a new subject or migrate.",
                    )
                };
                self.push(
                    kind,
                    location,
                    format!("type changed from {from} to {to}"),
                    action,
                );
            }
        }
    }

    fn union(&mut self, old: &[Schema], new: &[Schema], location: &str) {
        let old_names: Vec<String> = old.iter().map(|b| self.describe_old(b)).collect();
        let new_names: Vec<String> = new.iter().map(|b| self.describe_new(b)).collect();
        for (branch, name) in old.iter().zip(&old_names) {
            match new_names.iter().position(|n| n == name) {
                Some(index) => {
                    if let Some(matching) = new.get(index) {
                        self.schema(branch, matching, location);
                    }
                }
                None => self.push(
                    ChangeKind::UnionBranchRemoved,
                    location,
                    format!("union branch {name} removed"),
                    "Consumers on the new version cannot read old events that used this branch: upgrade only once such events are gone.",
                ),
            }
        }
        for name in new_names.iter().filter(|n| !old_names.contains(n)) {
            self.push(
                ChangeKind::UnionBranchAdded,
                location,
                format!("union branch {name} added"),
                "Consumers on the old version cannot read events that use the new branch: upgrade consumers before producers send it.",
            );
        }
    }

    fn named(&mut self, old_index: usize, new_index: usize, location: &str) {
        if !self.seen.insert((old_index, new_index)) {
            return;
        }
        let (Some(old), Some(new)) = (self.old.named(old_index), self.new.named(new_index)) else {
            return;
        };
        if old.name.name != new.name.name
            && !new.aliases.iter().any(|alias| alias.name == old.name.name)
        {
            self.push(
                ChangeKind::NameChanged,
                location,
                format!("named type renamed from {} to {}", old.name.full(), new.name.full()),
                "Avro matches named types by name: add the old name to the new type's aliases, or consumers on either version cannot read the other's events.",
            );
        }
        let record = new.name.full();
        match (&old.kind, &new.kind) {
            (NamedKind::Record { fields: old_fields, .. }, NamedKind::Record { fields: new_fields, .. }) => {
                for old_field in old_fields {
                    let at = format!("{record}.{}", old_field.name);
                    let same = new_fields.iter().find(|f| f.name == old_field.name);
                    let renamed = || {
                        new_fields
                            .iter()
                            .find(|f| f.aliases.contains(&old_field.name))
                    };
                    let Some(new_field) = same.or_else(renamed) else {
                        match &old_field.default {
                            Some(default) => self.push(
                                ChangeKind::FieldRemoved,
                                &at,
                                format!("field removed (it had the default {})", short(default)),
                                "Consumers still on the old version read the default instead of a value: make sure none relies on the field.",
                            ),
                            None => self.push(
                                ChangeKind::FieldRemoved,
                                &at,
                                "field removed (it had no default)".into(),
                                "Consumers still on the old version cannot read new events: upgrade every consumer before producers, or first give the field a default.",
                            ),
                        }
                        continue;
                    };
                    if new_field.name != old_field.name {
                        self.push(
                            ChangeKind::FieldRenamed,
                            &at,
                            format!("field renamed to {} (old name kept as an alias)", new_field.name),
                            "Consumers on the new version read old events through the alias; consumers on the old version see the field as removed.",
                        );
                    }
                    let field_at = format!("{record}.{}", new_field.name);
                    self.schema(&old_field.schema, &new_field.schema, &field_at);
                    match (&old_field.default, &new_field.default) {
                        (None, Some(default)) => self.push(
                            ChangeKind::DefaultAdded,
                            &field_at,
                            format!("default {} added", short(default)),
                            "Nothing required: the default only fills in events that lack the field.",
                        ),
                        (Some(default), None) => self.push(
                            ChangeKind::DefaultRemoved,
                            &field_at,
                            format!("default {} removed", short(default)),
                            "Consumers on the new version can no longer read events that lack this field.",
                        ),
                        (Some(a), Some(b)) if a != b => self.push(
                            ChangeKind::DefaultChanged,
                            &field_at,
                            format!("default changed from {} to {}", short(a), short(b)),
                            "Consumers reading events that lack the field now see the new default.",
                        ),
                        _ => {}
                    }
                }
                for new_field in new_fields {
                    let known = old_fields.iter().any(|f| {
                        f.name == new_field.name || new_field.aliases.contains(&f.name)
                    });
                    if known {
                        continue;
                    }
                    let at = format!("{record}.{}", new_field.name);
                    let ty = self.describe_new(&new_field.schema);
                    match &new_field.default {
                        Some(default) => self.push(
                            ChangeKind::FieldAdded,
                            &at,
                            format!("field added: {ty}, default {}", short(default)),
                            "Nothing required: consumers on the old version ignore the field; consumers on the new version read the default from old events.",
                        ),
                        None => self.push(
                            ChangeKind::FieldAdded,
                            &at,
                            format!("field added: {ty}, without a default"),
                            "Consumers on the new version cannot read old events: give the field a default, or upgrade only once no old event remains.",
                        ),
                    }
                }
            }
            (NamedKind::Enum { symbols: o, default: od }, NamedKind::Enum { symbols: n, .. }) => {
                for symbol in o.iter().filter(|s| !n.contains(s)) {
                    self.push(
                        ChangeKind::EnumSymbolRemoved,
                        &format!("{record}::{symbol}"),
                        format!("enum symbol {symbol} removed"),
                        "Consumers on the new version cannot read old events holding this symbol unless the enum has a default: handle it before upgrading.",
                    );
                }
                for symbol in n.iter().filter(|s| !o.contains(s)) {
                    let action = match od {
                        Some(default) => format!(
                            "Consumers on the old version read this symbol as the enum default {default}."
                        ),
                        None => "Consumers on the old version cannot read events holding this symbol: upgrade consumers before producers send it.".to_owned(),
                    };
                    self.changes.push(Change {
                        kind: ChangeKind::EnumSymbolAdded,
                        location: format!("{record}::{symbol}"),
                        description: format!("enum symbol {symbol} added"),
                        consumer_action: action,
                    });
                }
            }
            (NamedKind::Fixed { size: o }, NamedKind::Fixed { size: n }) if o != n => self.push(
                ChangeKind::FixedSizeChanged,
                location,
                format!("fixed size changed from {o} to {n} bytes"),
                "Consumers on either version cannot read the other's events: publish under a new subject or migrate.",
            ),
            (NamedKind::Fixed { .. }, NamedKind::Fixed { .. }) => {}
            _ => self.push(
                ChangeKind::TypeChanged,
                location,
                format!("type changed from {} {} to {} {}", old.type_name(), old.name.full(), new.type_name(), new.name.full()),
                "Consumers on either version cannot read the other's events for this value: publish under a new subject or migrate.",
            ),
        }
    }

    fn describe_old(&self, schema: &Schema) -> String {
        describe(self.old, schema, 0)
    }

    fn describe_new(&self, schema: &Schema) -> String {
        describe(self.new, schema, 0)
    }
}

/// A short type description (`int`, `array<string>`, `union[null, Order]`), bounded in depth.
fn describe(schema_set: &AvroSchema, schema: &Schema, depth: usize) -> String {
    if depth > 3 {
        return "...".into();
    }
    match schema {
        Schema::Primitive { kind, logical, .. } => match logical {
            Some(logical) => format!("{}({})", kind.name(), logical.name()),
            None => kind.name().to_owned(),
        },
        Schema::Array { items, .. } => format!("array<{}>", describe(schema_set, items, depth + 1)),
        Schema::Map { values, .. } => format!("map<{}>", describe(schema_set, values, depth + 1)),
        Schema::Union(branches) => {
            let names: Vec<String> = branches
                .iter()
                .map(|b| describe(schema_set, b, depth + 1))
                .collect();
            format!("union[{}]", names.join(", "))
        }
        Schema::Named(index) => schema_set
            .named(*index)
            .map_or_else(|| "?".to_owned(), |named| named.name.full()),
    }
}

/// Avro's promotions (spec "Schema Resolution"), to word a change, not to judge it.
fn promotable(old: &Schema, new: &Schema) -> bool {
    use crate::avro::Primitive as P;
    let (Schema::Primitive { kind: o, .. }, Schema::Primitive { kind: n, .. }) = (old, new) else {
        return false;
    };
    matches!(
        (o, n),
        (P::Int, P::Long | P::Float | P::Double)
            | (P::Long, P::Float | P::Double)
            | (P::Float, P::Double)
            | (P::String, P::Bytes)
            | (P::Bytes, P::String)
    )
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}...", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::schema::{Limits, SchemaType};

    fn avro(text: &str) -> ParsedSchema {
        ParsedSchema::parse_standalone(SchemaType::Avro, text, &Limits::DEFAULT).unwrap()
    }

    fn kinds(diff: &SchemaDiff) -> Vec<(String, String)> {
        diff.changes
            .iter()
            .map(|c| (c.kind.to_string(), c.location.clone()))
            .collect()
    }

    #[test]
    fn avro_fields_types_and_enums() {
        let old = avro(
            r#"{"type":"record","name":"Order","fields":[
                {"name":"id","type":"string"},
                {"name":"qty","type":"int"},
                {"name":"note","type":"string","default":""},
                {"name":"status","type":{"type":"enum","name":"Status","symbols":["A","B"]}}]}"#,
        );
        let new = avro(
            r#"{"type":"record","name":"Order","fields":[
                {"name":"id","type":"string"},
                {"name":"qty","type":"long"},
                {"name":"status","type":{"type":"enum","name":"Status","symbols":["A","C"]}},
                {"name":"at","type":"long"}]}"#,
        );
        let diff = diff(&old, &new);
        assert_eq!(
            kinds(&diff),
            [
                ("TYPE_PROMOTED".into(), "Order.qty".into()),
                ("FIELD_REMOVED".into(), "Order.note".into()),
                ("ENUM_SYMBOL_REMOVED".into(), "Status::B".into()),
                ("ENUM_SYMBOL_ADDED".into(), "Status::C".into()),
                ("FIELD_ADDED".into(), "Order.at".into()),
            ]
        );
        assert!(!diff.backward.is_empty());
        assert!(!diff.forward.is_empty());
        assert!(diff.rollout().starts_with("incompatible both ways"));
    }

    #[test]
    fn identical_schemas_have_no_changes() {
        let text = r#"{"type":"record","name":"N","fields":[{"name":"next","type":["null","N"]}]}"#;
        let diff = diff(&avro(text), &avro(text));
        assert!(diff.changes.is_empty());
        assert!(diff.rollout().starts_with("compatible both ways"));
    }

    #[test]
    fn json_differences_come_from_the_json_comparison() {
        let parse = |text| {
            ParsedSchema::parse_standalone(SchemaType::Json, text, &Limits::DEFAULT).unwrap()
        };
        let old = parse(r#"{"type":"object","properties":{"a":{"type":"string"}}}"#);
        let new = parse(r#"{"type":"object","properties":{"a":{"type":"integer"}}}"#);
        let diff = diff(&old, &new);
        assert!(
            diff.changes
                .iter()
                .any(|c| c.kind.as_str() == "TYPE_CHANGED")
        );
        assert!(!diff.backward.is_empty());
    }
}
