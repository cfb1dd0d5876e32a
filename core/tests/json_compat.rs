//! One case per rule of compat-rules.md §2 (JSON Schema `SchemaDiff`), each pinned to the
//! difference kind and the Confluent-style path it is reported at.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eventschema_core::json::JsonSchema;
use eventschema_core::json::compat::{
    JsonCompatibilityPolicy, JsonDifferenceKind, compare, compare_with_policy,
};
use eventschema_core::{Direction, Limits, ParsedSchema, ReferencedSchema, SchemaType, check_pair};
use serde_json::{Value, json};

fn schema(value: &Value) -> JsonSchema {
    JsonSchema::parse(&value.to_string(), &[], &Limits::DEFAULT).unwrap()
}

/// `KIND path` for every difference of compare(original=old, update=new).
fn diffs(old: Value, new: Value) -> Vec<String> {
    compare(&schema(&old), &schema(&new))
        .iter()
        .map(|d| format!("{} {}", d.kind.as_str(), d.original_path))
        .collect()
}

fn compatible_with(old: &Value, new: &Value, policy: JsonCompatibilityPolicy) -> bool {
    compare_with_policy(&schema(old), &schema(new), policy)
        .iter()
        .all(|d| d.kind.is_compatible(policy))
}

/// Asserts the exact difference list and the STRICT verdict (BACKWARD: original = old).
fn check(old: Value, new: Value, expected: &[&str], compatible: bool) {
    let found = diffs(old.clone(), new.clone());
    assert_eq!(found, expected, "old={old} new={new}");
    assert_eq!(
        compatible_with(&old, &new, JsonCompatibilityPolicy::Strict),
        compatible,
        "verdict for old={old} new={new}: {found:?}"
    );
}

// ---- 2.1 type level -------------------------------------------------------------------------

#[test]
fn different_kinds_are_type_changed() {
    check(
        json!({"type": "string"}),
        json!({"type": "number"}),
        &["TYPE_CHANGED #/"],
        false,
    );
    check(
        json!({"type": "object"}),
        json!({"type": "array"}),
        &["TYPE_CHANGED #/"],
        false,
    );
    check(
        json!({"type": "string"}),
        json!({"enum": ["a"]}),
        &["TYPE_CHANGED #/"],
        false,
    );
}

#[test]
fn anything_can_become_empty_and_false_can_become_anything() {
    check(json!({"type": "string"}), json!({}), &[], true);
    check(json!({"type": "string"}), json!(true), &[], true);
    check(json!(false), json!({"type": "string"}), &[], true);
    check(json!(true), json!(false), &["TYPE_CHANGED #/"], false);
    check(
        json!({}),
        json!({"type": "string"}),
        &["TYPE_CHANGED #/"],
        false,
    );
}

#[test]
fn nullable_type_array_is_a_sum_type() {
    check(
        json!({"type": "string"}),
        json!({"type": ["string", "null"]}),
        &["SUM_TYPE_EXTENDED #/"],
        true,
    );
    check(
        json!({"type": ["string", "null"]}),
        json!({"type": "string"}),
        &["TYPE_CHANGED #/"],
        false,
    );
}

#[test]
fn integer_to_number_extends_and_back_narrows() {
    check(
        json!({"type": "integer"}),
        json!({"type": "number"}),
        &["TYPE_EXTENDED #/"],
        true,
    );
    check(
        json!({"type": "number"}),
        json!({"type": "integer"}),
        &["TYPE_NARROWED #/"],
        false,
    );
}

#[test]
fn non_combined_to_one_of_needs_a_compatible_branch() {
    check(
        json!({"type": "string", "maxLength": 3}),
        json!({"oneOf": [{"type": "number"}, {"type": "string"}]}),
        &["MAX_LENGTH_REMOVED #/maxLength", "SUM_TYPE_EXTENDED #/"],
        true,
    );
    check(
        json!({"type": "boolean"}),
        json!({"anyOf": [{"type": "number"}, {"type": "string"}]}),
        &["TYPE_CHANGED #/"],
        false,
    );
}

#[test]
fn all_of_to_non_combined_needs_a_compatible_branch() {
    check(
        json!({"allOf": [{"type": "string"}, {"maxLength": 5}]}),
        json!({"type": "string"}),
        &["PRODUCT_TYPE_NARROWED #/"],
        true,
    );
}

#[test]
fn singleton_combinations_are_unwrapped() {
    check(
        json!({"oneOf": [{"type": "string"}]}),
        json!({"type": "string"}),
        &[],
        true,
    );
    check(
        json!({"type": "string"}),
        json!({"anyOf": [{"type": "string"}]}),
        &[],
        true,
    );
}

#[test]
fn combined_criterion_changes() {
    check(
        json!({"oneOf": [{"type": "string"}]}),
        json!({"allOf": [{"type": "string"}]}),
        &["COMBINED_TYPE_EXTENDED #/"],
        true,
    );
    check(
        json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
        json!({"allOf": [{"type": "string"}]}),
        &["COMBINED_TYPE_CHANGED #/"],
        false,
    );
    check(
        json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
        json!({"anyOf": [{"type": "string"}, {"type": "integer"}]}),
        &["COMBINED_TYPE_EXTENDED #/"],
        true,
    );
}

#[test]
fn branch_counts_and_matching() {
    check(
        json!({"oneOf": [{"type": "string"}]}),
        json!({"oneOf": [{"type": "number"}, {"type": "string"}]}),
        &["SUM_TYPE_EXTENDED #/"],
        true,
    );
    check(
        json!({"oneOf": [{"type": "number"}, {"type": "string"}]}),
        json!({"oneOf": [{"type": "string"}]}),
        &["SUM_TYPE_NARROWED #/"],
        false,
    );
    check(
        json!({"allOf": [{"type": "string"}]}),
        json!({"allOf": [{"type": "string"}, {"maxLength": 3}]}),
        &["PRODUCT_TYPE_EXTENDED #/"],
        false,
    );
    check(
        json!({"allOf": [{"type": "string"}, {"maxLength": 3}]}),
        json!({"allOf": [{"type": "string"}]}),
        &["PRODUCT_TYPE_NARROWED #/"],
        true,
    );
    check(
        json!({"oneOf": [{"type": "string"}]}),
        json!({"oneOf": [{"type": "number"}]}),
        &["COMBINED_TYPE_SUBSCHEMAS_CHANGED #/"],
        false,
    );
}

#[test]
fn branch_order_is_irrelevant_and_duplicates_collapse() {
    check(
        json!({"allOf": [{"type": "string"}, {"enum": ["red"]}]}),
        json!({"allOf": [{"enum": ["red", "blue"]}, {"type": "string"}]}),
        &["ENUM_ARRAY_EXTENDED #/allOf/1/enum"],
        true,
    );
    check(
        json!({"allOf": [{"type": "string"}]}),
        json!({"allOf": [{"type": "string"}, {"type": "string"}]}),
        &[],
        true,
    );
}

#[test]
fn not_schemas_reverse_the_comparison() {
    check(
        json!({"not": {"type": "number"}}),
        json!({"not": {"type": "integer"}}),
        &["NOT_TYPE_NARROWED #/not"],
        true,
    );
    check(
        json!({"not": {"type": "integer"}}),
        json!({"not": {"type": "number"}}),
        &["NOT_TYPE_EXTENDED #/not"],
        false,
    );
}

#[test]
fn annotations_are_compatible() {
    check(
        json!({"$id": "a", "title": "t", "description": "d", "default": 1, "type": "integer"}),
        json!({"$id": "b", "title": "u", "description": "e", "default": 2, "type": "integer"}),
        &[
            "ID_CHANGED #/",
            "TITLE_CHANGED #/",
            "DESCRIPTION_CHANGED #/",
            "DEFAULT_CHANGED #/",
        ],
        true,
    );
}

// ---- 2.2 keywords ---------------------------------------------------------------------------

#[test]
fn upper_bounds() {
    let s = |v: Value| json!({"type": "string", "maxLength": v});
    check(
        s(json!(10)),
        s(json!(12)),
        &["MAX_LENGTH_INCREASED #/maxLength"],
        true,
    );
    check(
        s(json!(12)),
        s(json!(10)),
        &["MAX_LENGTH_DECREASED #/maxLength"],
        false,
    );
    check(
        s(json!(10)),
        json!({"type": "string"}),
        &["MAX_LENGTH_REMOVED #/maxLength"],
        true,
    );
    check(
        json!({"type": "string"}),
        s(json!(10)),
        &["MAX_LENGTH_ADDED #/maxLength"],
        false,
    );
    check(
        json!({"type": "number", "maximum": 10}),
        json!({"type": "number", "maximum": 9.5}),
        &["MAXIMUM_DECREASED #/maximum"],
        false,
    );
    check(
        json!({"type": "number", "exclusiveMaximum": 10}),
        json!({"type": "number", "exclusiveMaximum": 11}),
        &["EXCLUSIVE_MAXIMUM_INCREASED #/exclusiveMaximum"],
        true,
    );
    check(
        json!({"type": "array", "maxItems": 3}),
        json!({"type": "array", "maxItems": 2}),
        &["MAX_ITEMS_DECREASED #/maxItems"],
        false,
    );
    check(
        json!({"type": "object", "maxProperties": 3}),
        json!({"type": "object"}),
        &["MAX_PROPERTIES_REMOVED #/maxProperties"],
        true,
    );
}

#[test]
fn lower_bounds() {
    check(
        json!({"type": "string", "minLength": 11}),
        json!({"type": "string", "minLength": 10}),
        &["MIN_LENGTH_DECREASED #/minLength"],
        true,
    );
    check(
        json!({"type": "number", "minimum": 10}),
        json!({"type": "number", "minimum": 11}),
        &["MINIMUM_INCREASED #/minimum"],
        false,
    );
    check(
        json!({"type": "number"}),
        json!({"type": "number", "exclusiveMinimum": 0}),
        &["EXCLUSIVE_MINIMUM_ADDED #/exclusiveMinimum"],
        false,
    );
    check(
        json!({"type": "array", "minItems": 2}),
        json!({"type": "array", "minItems": 1}),
        &["MIN_ITEMS_DECREASED #/minItems"],
        true,
    );
    check(
        json!({"minProperties": 1}),
        json!({"minProperties": 2}),
        &["MIN_PROPERTIES_INCREASED #/minProperties"],
        false,
    );
}

#[test]
fn pattern() {
    let s = |p: &str| json!({"type": "string", "pattern": p});
    check(
        s("^a"),
        json!({"type": "string"}),
        &["PATTERN_REMOVED #/pattern"],
        true,
    );
    check(
        json!({"type": "string"}),
        s("^a"),
        &["PATTERN_ADDED #/pattern"],
        false,
    );
    check(s("^a"), s("^b"), &["PATTERN_CHANGED #/pattern"], false);
    check(s("^a"), s("^a"), &[], true);
}

#[test]
fn multiple_of() {
    let n = |m: Value| json!({"type": "number", "multipleOf": m});
    check(
        n(json!(10)),
        json!({"type": "number"}),
        &["MULTIPLE_OF_REMOVED #/multipleOf"],
        true,
    );
    check(
        json!({"type": "number"}),
        n(json!(10)),
        &["MULTIPLE_OF_ADDED #/multipleOf"],
        false,
    );
    check(
        n(json!(10)),
        n(json!(2)),
        &["MULTIPLE_OF_REDUCED #/multipleOf"],
        true,
    );
    check(
        n(json!(2)),
        n(json!(10)),
        &["MULTIPLE_OF_EXPANDED #/multipleOf"],
        false,
    );
    check(
        n(json!(10)),
        n(json!(11)),
        &["MULTIPLE_OF_CHANGED #/multipleOf"],
        false,
    );
    check(
        n(json!(0.5)),
        n(json!(0.25)),
        &["MULTIPLE_OF_REDUCED #/multipleOf"],
        true,
    );
    check(
        n(json!(0.1)),
        n(json!(0.3)),
        &["MULTIPLE_OF_EXPANDED #/multipleOf"],
        false,
    );
    // Equal values written with a different scale are no change.
    let same = JsonSchema::parse(
        r#"{"type":"number","multipleOf":0.50}"#,
        &[],
        &Limits::DEFAULT,
    )
    .unwrap();
    assert!(compare(&schema(&n(json!(0.5))), &same).is_empty());
}

#[test]
fn enums() {
    check(
        json!({"enum": ["a"]}),
        json!({"enum": ["a", "b"]}),
        &["ENUM_ARRAY_EXTENDED #/enum"],
        true,
    );
    check(
        json!({"enum": ["a", "b"]}),
        json!({"enum": ["a"]}),
        &["ENUM_ARRAY_NARROWED #/enum"],
        false,
    );
    check(
        json!({"enum": ["a"]}),
        json!({"enum": ["b"]}),
        &["ENUM_ARRAY_CHANGED #/enum"],
        false,
    );
    check(
        json!({"enum": ["a", "b"]}),
        json!({"enum": ["b", "a"]}),
        &[],
        true,
    );
    check(
        json!({"const": "red"}),
        json!({"const": "blue"}),
        &["ENUM_ARRAY_CHANGED #/const"],
        false,
    );
}

#[test]
fn unique_items() {
    let a = |u: bool| json!({"type": "array", "uniqueItems": u});
    check(
        a(true),
        json!({"type": "array"}),
        &["UNIQUE_ITEMS_REMOVED #/uniqueItems"],
        true,
    );
    check(
        a(false),
        a(true),
        &["UNIQUE_ITEMS_ADDED #/uniqueItems"],
        false,
    );
}

#[test]
fn required_for_properties_in_both() {
    let props = json!({"sku": {"type": "string"}});
    check(
        json!({"properties": props, "required": ["sku"]}),
        json!({"properties": props}),
        &["REQUIRED_ATTRIBUTE_REMOVED #/required/sku"],
        true,
    );
    check(
        json!({"properties": props}),
        json!({"properties": props, "required": ["sku"]}),
        &["REQUIRED_ATTRIBUTE_ADDED #/required/sku"],
        false,
    );
    check(
        json!({"properties": {"sku": {"type": "string"}}}),
        json!({"properties": {"sku": {"type": "string", "default": "x"}}, "required": ["sku"]}),
        &[
            "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED #/required/sku",
            "DEFAULT_CHANGED #/properties/sku",
        ],
        true,
    );
}

#[test]
fn dependencies_as_arrays() {
    let d = |deps: Value| json!({"dependencies": deps});
    check(
        d(json!({"a": ["b"]})),
        d(json!({})),
        &["DEPENDENCY_ARRAY_REMOVED #/dependencies/a"],
        true,
    );
    check(
        d(json!({"a": ["b", "c"]})),
        d(json!({"a": ["b"]})),
        &["DEPENDENCY_ARRAY_NARROWED #/dependencies/a"],
        true,
    );
    check(
        d(json!({})),
        d(json!({"a": ["b"]})),
        &["DEPENDENCY_ARRAY_ADDED #/dependencies/a"],
        false,
    );
    check(
        d(json!({"a": ["b"]})),
        d(json!({"a": ["b", "c"]})),
        &["DEPENDENCY_ARRAY_EXTENDED #/dependencies/a"],
        false,
    );
    check(
        d(json!({"a": ["b"]})),
        d(json!({"a": ["c"]})),
        &["DEPENDENCY_ARRAY_CHANGED #/dependencies/a"],
        false,
    );
}

#[test]
fn dependencies_as_schemas() {
    let d = |deps: Value| json!({"dependencies": deps});
    check(
        d(json!({"a": {"type": "object"}})),
        d(json!({})),
        &["DEPENDENCY_SCHEMA_REMOVED #/dependencies/a"],
        true,
    );
    check(
        d(json!({})),
        d(json!({"a": {"type": "object"}})),
        &["DEPENDENCY_SCHEMA_ADDED #/dependencies/a"],
        false,
    );
    check(
        d(json!({"a": {"type": "string"}})),
        d(json!({"a": {"type": "number"}})),
        &["TYPE_CHANGED #/dependencies/a"],
        false,
    );
}

// ---- 2.3 content models ---------------------------------------------------------------------

#[test]
fn property_added_to_open_model() {
    let old = json!({"properties": {"foo": {"type": "string"}}});
    check(
        old.clone(),
        json!({"properties": {"foo": {"type": "string"}, "bar": {}}}),
        &["PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL #/properties/bar"],
        true,
    );
    let optional = json!({"properties": {"foo": {"type": "string"}, "bar": {"type": "number"}}});
    check(
        old.clone(),
        optional.clone(),
        &["PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL #/properties/bar"],
        false,
    );
    assert!(compatible_with(
        &old,
        &optional,
        JsonCompatibilityPolicy::Lenient
    ));

    let with_default = json!({"properties": {"foo": {"type": "string"}, "bar": {"type": "number", "default": 1}}, "required": ["bar"]});
    assert!(!compatible_with(
        &old,
        &with_default,
        JsonCompatibilityPolicy::Strict
    ));
    assert!(compatible_with(
        &old,
        &with_default,
        JsonCompatibilityPolicy::Lenient
    ));

    let without_default = json!({"properties": {"foo": {"type": "string"}, "bar": {"type": "number"}}, "required": ["bar"]});
    assert!(!compatible_with(
        &old,
        &without_default,
        JsonCompatibilityPolicy::Strict
    ));
    assert!(!compatible_with(
        &old,
        &without_default,
        JsonCompatibilityPolicy::Lenient
    ));
}

#[test]
fn property_added_to_closed_model() {
    let old = json!({"properties": {"foo": {"type": "string"}}, "additionalProperties": false});
    let new = |required: Value, bar: Value| json!({"properties": {"foo": {"type": "string"}, "bar": bar}, "required": required, "additionalProperties": false});
    check(
        old.clone(),
        new(json!([]), json!({"type": "number"})),
        &["OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/bar"],
        true,
    );
    check(
        old.clone(),
        new(json!(["bar"]), json!({"type": "number", "default": 0})),
        &["REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/bar"],
        true,
    );
    let found = compare(
        &schema(&old),
        &schema(&new(json!(["bar"]), json!({"type": "number"}))),
    );
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].kind,
        JsonDifferenceKind::RequiredPropertyAddedToUnopenContentModel
    );
    assert_eq!(found[0].original_path, "#/properties/bar");
    assert!(
        found[0].message.contains("property 'bar'") && found[0].message.contains("no default"),
        "{}",
        found[0].message
    );
}

#[test]
fn property_added_to_partially_open_model() {
    let old = json!({"properties": {"foo": {"type": "string"}}, "additionalProperties": false,
        "patternProperties": {"^S_": {"type": "string"}, "^I_": {"type": "integer"}}});
    check(
        old.clone(),
        json!({"properties": {"foo": {"type": "string"}, "I_1": {"type": "number"}}, "additionalProperties": false,
            "patternProperties": {"^S_": {"type": "string"}, "^I_": {"type": "integer"}}}),
        &[
            "TYPE_EXTENDED #/properties/I_1",
            "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/I_1",
            "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/I_1",
        ],
        true,
    );
    let old = json!({"properties": {"foo": {"type": "string"}}, "additionalProperties": {"type": "string"}});
    check(
        old,
        json!({"properties": {"foo": {"type": "string"}, "bar": {"type": "number"}}, "additionalProperties": {"type": "string"}}),
        &[
            "TYPE_CHANGED #/properties/bar",
            "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/bar",
            "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/bar",
        ],
        false,
    );
}

#[test]
fn property_removed() {
    check(
        json!({"properties": {"foo": {"type": "string"}}}),
        json!({"properties": {}}),
        &["PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL #/properties/foo"],
        true,
    );
    let closed_old =
        json!({"properties": {"foo": {"type": "string"}}, "additionalProperties": false});
    let closed_new = json!({"properties": {}, "additionalProperties": false});
    check(
        closed_old.clone(),
        closed_new.clone(),
        &["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL #/properties/foo"],
        false,
    );
    assert!(compatible_with(
        &closed_old,
        &closed_new,
        JsonCompatibilityPolicy::Lenient
    ));
    check(
        json!({"properties": {"foo": false}, "additionalProperties": false}),
        closed_new,
        &["PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL #/properties/foo"],
        true,
    );
    check(
        json!({"properties": {"bar": {"type": "string"}}, "additionalProperties": false}),
        json!({"properties": {}, "additionalProperties": {"type": "string"}}),
        &[
            "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/bar",
            "ADDITIONAL_PROPERTIES_ADDED #/additionalProperties",
        ],
        true,
    );
    check(
        json!({"properties": {"bar": {"type": "number"}}, "additionalProperties": false}),
        json!({"properties": {}, "additionalProperties": {"type": "string"}}),
        &[
            "TYPE_CHANGED #/properties/bar",
            "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/bar",
            "ADDITIONAL_PROPERTIES_ADDED #/additionalProperties",
        ],
        false,
    );
}

#[test]
fn additional_properties() {
    check(
        json!({"properties": {}, "additionalProperties": false}),
        json!({"properties": {}}),
        &["ADDITIONAL_PROPERTIES_ADDED #/additionalProperties"],
        true,
    );
    let open = json!({"additionalProperties": true});
    let closed = json!({"additionalProperties": false});
    check(
        open.clone(),
        closed.clone(),
        &["ADDITIONAL_PROPERTIES_REMOVED #/additionalProperties"],
        false,
    );
    assert!(compatible_with(
        &open,
        &closed,
        JsonCompatibilityPolicy::Lenient
    ));
    let schema_ap = json!({"additionalProperties": {"type": "number"}});
    check(
        open.clone(),
        schema_ap.clone(),
        &["ADDITIONAL_PROPERTIES_NARROWED #/additionalProperties"],
        false,
    );
    assert!(compatible_with(
        &open,
        &schema_ap,
        JsonCompatibilityPolicy::Lenient
    ));
    check(
        schema_ap,
        open,
        &["ADDITIONAL_PROPERTIES_EXTENDED #/additionalProperties"],
        true,
    );
    check(
        json!({"additionalProperties": {"type": "string"}}),
        json!({"additionalProperties": {"type": "number"}}),
        &["TYPE_CHANGED #/additionalProperties"],
        false,
    );
}

#[test]
fn unevaluated_properties_cover_like_additional_properties() {
    let d = "https://json-schema.org/draft/2020-12/schema";
    check(
        json!({"$schema": d, "properties": {"foo": {"type": "string"}}, "unevaluatedProperties": {"type": "string"}}),
        json!({"$schema": d, "properties": {"foo": {"type": "string"}, "bar": {"type": "string"}}, "unevaluatedProperties": {"type": "string"}}),
        &[
            "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/bar",
            "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/bar",
        ],
        true,
    );
    check(
        json!({"$schema": d, "unevaluatedProperties": true}),
        json!({"$schema": d, "unevaluatedProperties": false}),
        &["UNEVALUATED_PROPERTIES_REMOVED #/unevaluatedProperties"],
        false,
    );
}

#[test]
fn array_items() {
    check(
        json!({"type": "array"}),
        json!({"type": "array", "items": {"type": "string"}}),
        &["SCHEMA_ADDED #/items"],
        false,
    );
    check(
        json!({"type": "array", "items": {"type": "string"}}),
        json!({"type": "array"}),
        &["SCHEMA_REMOVED #/items"],
        true,
    );
    check(
        json!({"type": "array", "items": {"type": "string"}}),
        json!({"type": "array", "items": {"type": "number"}}),
        &["TYPE_CHANGED #/items"],
        false,
    );
}

#[test]
fn tuple_content_models() {
    let t = |items: Value, additional: Value| json!({"type": "array", "items": items, "additionalItems": additional});
    check(
        t(json!([{"type": "string"}]), json!(false)),
        t(
            json!([{"type": "string"}, {"type": "number"}]),
            json!(false),
        ),
        &["ITEM_ADDED_TO_CLOSED_CONTENT_MODEL #/items/1"],
        true,
    );
    check(
        t(json!([{"type": "string"}]), json!(true)),
        t(json!([{"type": "string"}, {"type": "number"}]), json!(true)),
        &["ITEM_ADDED_TO_OPEN_CONTENT_MODEL #/items/1"],
        false,
    );
    check(
        t(json!([{"type": "string"}]), json!(true)),
        t(json!([{"type": "string"}, true]), json!(true)),
        &["ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL #/items/1"],
        true,
    );
    check(
        t(json!([{"type": "string"}, {"type": "number"}]), json!(true)),
        t(json!([{"type": "string"}]), json!(true)),
        &["ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL #/items/1"],
        true,
    );
    check(
        t(
            json!([{"type": "string"}, {"type": "number"}]),
            json!(false),
        ),
        t(json!([{"type": "string"}]), json!(false)),
        &["ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL #/items/1"],
        false,
    );
    check(
        t(json!([{"type": "string"}, false]), json!(false)),
        t(json!([{"type": "string"}]), json!(false)),
        &["ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL #/items/1"],
        true,
    );
    check(
        t(json!([{"type": "string"}]), json!({"type": "string"})),
        t(
            json!([{"type": "string"}, {"type": "number"}]),
            json!({"type": "string"}),
        ),
        &[
            "TYPE_CHANGED #/items/1",
            "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/items/1",
        ],
        false,
    );
    check(
        t(
            json!([{"type": "string"}, {"type": "number"}]),
            json!(false),
        ),
        t(json!([{"type": "string"}]), json!({"type": "number"})),
        &[
            "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/items/1",
            "ADDITIONAL_ITEMS_ADDED #/additionalItems",
        ],
        true,
    );
    check(
        json!({"additionalItems": true}),
        json!({"additionalItems": false}),
        &["ADDITIONAL_ITEMS_REMOVED #/additionalItems"],
        false,
    );
    check(
        json!({"additionalItems": true}),
        json!({"additionalItems": {"type": "string"}}),
        &["ADDITIONAL_ITEMS_NARROWED #/additionalItems"],
        false,
    );
    check(
        t(json!([{"type": "string"}]), json!({"type": "number"})),
        t(json!([{"type": "string"}, {"type": "number"}]), json!(true)),
        &[
            "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/items/1",
            "ADDITIONAL_ITEMS_EXTENDED #/additionalItems",
        ],
        true,
    );
}

#[test]
fn prefix_items_in_2020_12() {
    let d = "https://json-schema.org/draft/2020-12/schema";
    check(
        json!({"$schema": d, "type": "array", "prefixItems": [{"type": "string"}], "items": false}),
        json!({"$schema": d, "type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}], "items": false}),
        &["ITEM_ADDED_TO_CLOSED_CONTENT_MODEL #/items/1"],
        true,
    );
    check(
        json!({"$schema": d, "items": true}),
        json!({"$schema": d, "items": false}),
        &["ADDITIONAL_ITEMS_REMOVED #/additionalItems"],
        false,
    );
}

#[test]
fn references_are_followed_and_reported_at_the_referencing_path() {
    check(
        json!({"type": "array", "items": {"$ref": "#/definitions/r"}, "definitions": {"r": {"type": "string"}}}),
        json!({"type": "array", "items": {"$ref": "#/definitions/r"}, "definitions": {"r": {"type": "number"}}}),
        &["TYPE_CHANGED #/items"],
        false,
    );
    check(
        json!({"$ref": "#/definitions/r", "definitions": {"r": {"type": "string"}}}),
        json!({"type": "string"}),
        &[],
        true,
    );
}

#[test]
fn recursive_schemas_compare_without_hanging_and_keep_differences() {
    let tree = |leaf: &str| {
        json!({"$ref": "#/definitions/node", "definitions": {"node": {"type": "object",
            "properties": {"value": {"type": leaf}, "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}}}})
    };
    check(tree("string"), tree("string"), &[], true);
    check(
        tree("string"),
        tree("number"),
        &["TYPE_CHANGED #/properties/value"],
        false,
    );
    check(
        tree("integer"),
        tree("number"),
        &["TYPE_EXTENDED #/properties/value"],
        true,
    );
}

#[test]
fn mutually_recursive_unions_terminate() {
    let s = json!({"$defs": {
        "a": {"oneOf": [{"type": "null"}, {"type": "object", "properties": {"b": {"$ref": "#/$defs/b"}, "a": {"$ref": "#/$defs/a"}}}]},
        "b": {"oneOf": [{"type": "string"}, {"type": "object", "properties": {"a": {"$ref": "#/$defs/a"}}}]}
    }, "$ref": "#/$defs/a"});
    assert!(diffs(s.clone(), s).is_empty());
}

#[test]
fn comparison_of_shared_definitions_stays_fast() {
    // Each level references the next twice: without memoised pairs this is 2^40 comparisons.
    let mut defs = serde_json::Map::new();
    for i in 0..40 {
        let next = format!("#/$defs/d{}", i + 1);
        defs.insert(
            format!("d{i}"),
            json!({"type": "object", "properties": {"l": {"$ref": next}, "r": {"$ref": next}}}),
        );
    }
    defs.insert("d40".into(), json!({"type": "string"}));
    let s = json!({"$defs": defs, "$ref": "#/$defs/d0"});
    let start = std::time::Instant::now();
    assert!(diffs(s.clone(), s).is_empty());
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn connect_bytes_may_change_representation() {
    check(
        json!({"type": "string", "connect.type": "bytes"}),
        json!({"type": "number", "connect.type": "bytes"}),
        &[],
        true,
    );
}

#[test]
fn referenced_schemas_are_compared_through_refs() {
    let address = |t: &str| ReferencedSchema {
        name: "address.json".into(),
        schema: json!({"type": "object", "properties": {"zip": {"type": t}}}).to_string(),
    };
    let text =
        json!({"type": "object", "properties": {"home": {"$ref": "address.json"}}}).to_string();
    let old = JsonSchema::parse(&text, &[address("string")], &Limits::DEFAULT).unwrap();
    let new = JsonSchema::parse(&text, &[address("integer")], &Limits::DEFAULT).unwrap();
    let found: Vec<String> = compare(&old, &new)
        .iter()
        .map(|d| format!("{} {}", d.kind, d.original_path))
        .collect();
    assert_eq!(found, ["TYPE_CHANGED #/properties/home/properties/zip"]);
}

#[test]
fn check_pair_orients_forward_as_swapped_diff() {
    let parse = |v: Value| {
        ParsedSchema::parse_standalone(SchemaType::Json, &v.to_string(), &Limits::DEFAULT).unwrap()
    };
    let old =
        parse(json!({"properties": {"a": {"type": "string"}}, "additionalProperties": false}));
    let new = parse(json!({"properties": {}, "additionalProperties": false}));
    let forward = check_pair(Direction::Forward, &old, &new);
    assert!(forward.is_empty(), "{forward:?}");
    let backward = check_pair(Direction::Backward, &old, &new);
    assert_eq!(
        backward[0].kind.as_str(),
        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"
    );
    assert_eq!(backward[0].old_path, "#/properties/a");
}

#[test]
fn kind_names_and_policies() {
    assert_eq!(JsonDifferenceKind::ALL.len(), 129);
    for kind in JsonDifferenceKind::ALL {
        let name = kind.as_str();
        assert!(
            name.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
            "{name}"
        );
        // LENIENT is a superset of STRICT.
        if kind.is_compatible(JsonCompatibilityPolicy::Strict) {
            assert!(
                kind.is_compatible(JsonCompatibilityPolicy::Lenient),
                "{name}"
            );
        }
    }
    assert!(!JsonDifferenceKind::TypeChanged.is_compatible(JsonCompatibilityPolicy::Lenient));
    assert!(
        JsonDifferenceKind::PropertyAddedToOpenContentModel
            .is_compatible(JsonCompatibilityPolicy::Lenient)
    );
    assert!(
        !JsonDifferenceKind::PropertyAddedToOpenContentModel
            .is_compatible(JsonCompatibilityPolicy::Strict)
    );
}

// ---- 2019-09 / 2020-12 array and object keywords, both directions --------------------------
//
// Confluent loads these drafts with json-sKema and translates them to everit's classes
// (`SchemaTranslator`): `prefixItems` become tuple items, `dependentRequired`/
// `dependentSchemas` become `dependencies` (reported at `#/dependencies/..`), `contains`
// keeps its bounds as unprocessed properties (`minContains` defaults to 1) and
// `unevaluated*` are compared on their own. FORWARD is the same diff with the arguments
// swapped, so each case states both lists and both verdicts, and checks the verdicts again
// through `check_pair`.

const D2020: &str = "https://json-schema.org/draft/2020-12/schema";
const D2019: &str = "https://json-schema.org/draft/2019-09/schema";

fn both_ways(old: Value, new: Value, backward: (&[&str], bool), forward: (&[&str], bool)) {
    check(old.clone(), new.clone(), backward.0, backward.1);
    check(new.clone(), old.clone(), forward.0, forward.1);
    let parse = |v: &Value| {
        ParsedSchema::parse_standalone(SchemaType::Json, &v.to_string(), &Limits::DEFAULT).unwrap()
    };
    let (old, new) = (parse(&old), parse(&new));
    for (direction, compatible) in [
        (Direction::Backward, backward.1),
        (Direction::Forward, forward.1),
    ] {
        let found = check_pair(direction, &old, &new);
        assert_eq!(found.is_empty(), compatible, "{direction:?}: {found:?}");
    }
}

fn array(extra: Value) -> Value {
    let mut schema = json!({"$schema": D2020, "type": "array"});
    if let (Some(map), Value::Object(extra)) = (schema.as_object_mut(), extra) {
        map.extend(extra);
    }
    schema
}

fn object(extra: Value) -> Value {
    let mut schema = json!({"$schema": D2020, "type": "object", "properties": {"foo": {"type": "string"}, "bar": {"type": "string"}}});
    if let (Some(map), Value::Object(extra)) = (schema.as_object_mut(), extra) {
        map.extend(extra);
    }
    schema
}

#[test]
fn contains_added_implies_min_contains_one() {
    both_ways(
        array(json!({})),
        array(json!({"contains": {"type": "number"}})),
        (&["MIN_CONTAINS_ADDED #/minContains"], false),
        (&["MIN_CONTAINS_REMOVED #/minContains"], true),
    );
    // The default written out is no change.
    both_ways(
        array(json!({"contains": {"type": "number"}})),
        array(json!({"contains": {"type": "number"}, "minContains": 1})),
        (&[], true),
        (&[], true),
    );
}

#[test]
fn contains_schema_itself_is_not_compared() {
    // Confluent's ArraySchemaDiff never looks at `containsItemSchema`.
    both_ways(
        array(json!({"contains": {"type": "number"}})),
        array(json!({"contains": {"type": "string"}})),
        (&[], true),
        (&[], true),
    );
}

#[test]
fn min_contains_lowered_or_raised() {
    both_ways(
        array(json!({"contains": {"type": "number"}, "minContains": 2})),
        array(json!({"contains": {"type": "number"}, "minContains": 1})),
        (&["MIN_CONTAINS_DECREASED #/minContains"], true),
        (&["MIN_CONTAINS_INCREASED #/minContains"], false),
    );
}

#[test]
fn max_contains_added_removed_raised_lowered() {
    both_ways(
        array(json!({"contains": {"type": "number"}})),
        array(json!({"contains": {"type": "number"}, "maxContains": 3})),
        (&["MAX_CONTAINS_ADDED #/maxContains"], false),
        (&["MAX_CONTAINS_REMOVED #/maxContains"], true),
    );
    both_ways(
        array(json!({"contains": {"type": "number"}, "maxContains": 2})),
        array(json!({"contains": {"type": "number"}, "maxContains": 5})),
        (&["MAX_CONTAINS_INCREASED #/maxContains"], true),
        (&["MAX_CONTAINS_DECREASED #/maxContains"], false),
    );
}

#[test]
fn draft_7_compares_written_contains_bounds_only() {
    // everit keeps `minContains` as an unprocessed number, without json-sKema's default.
    let d7 = "http://json-schema.org/draft-07/schema#";
    both_ways(
        json!({"$schema": d7, "type": "array", "contains": {"type": "number"}}),
        json!({"$schema": d7, "type": "array", "contains": {"type": "number"}, "minContains": 2}),
        (&["MIN_CONTAINS_ADDED #/minContains"], false),
        (&["MIN_CONTAINS_REMOVED #/minContains"], true),
    );
}

#[test]
fn prefix_items_added_to_closed_and_open_tuples() {
    both_ways(
        array(json!({"prefixItems": [{"type": "string"}], "items": false})),
        array(json!({"prefixItems": [{"type": "string"}, {"type": "number"}], "items": false})),
        (&["ITEM_ADDED_TO_CLOSED_CONTENT_MODEL #/items/1"], true),
        (&["ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL #/items/1"], false),
    );
    both_ways(
        array(json!({"prefixItems": [{"type": "string"}]})),
        array(json!({"prefixItems": [{"type": "string"}, {"type": "number"}]})),
        (&["ITEM_ADDED_TO_OPEN_CONTENT_MODEL #/items/1"], false),
        (&["ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL #/items/1"], true),
    );
    both_ways(
        array(json!({"prefixItems": [{"type": "string"}], "items": {"type": "number"}})),
        array(
            json!({"prefixItems": [{"type": "string"}, {"type": "number"}], "items": {"type": "number"}}),
        ),
        (
            &["ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/items/1"],
            true,
        ),
        (
            &["ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/items/1"],
            true,
        ),
    );
    both_ways(
        array(json!({"prefixItems": [{"type": "string"}]})),
        array(json!({"prefixItems": [{"type": "number"}]})),
        (&["TYPE_CHANGED #/items/0"], false),
        (&["TYPE_CHANGED #/items/0"], false),
    );
}

#[test]
fn unevaluated_items_false_true_and_schema() {
    both_ways(
        array(json!({"prefixItems": [{"type": "string"}]})),
        array(json!({"prefixItems": [{"type": "string"}], "unevaluatedItems": false})),
        (&["UNEVALUATED_ITEMS_REMOVED #/unevaluatedItems"], false),
        (&["UNEVALUATED_ITEMS_ADDED #/unevaluatedItems"], true),
    );
    both_ways(
        array(json!({"prefixItems": [{"type": "string"}], "unevaluatedItems": true})),
        array(json!({"prefixItems": [{"type": "string"}], "unevaluatedItems": {"type": "number"}})),
        (&["UNEVALUATED_ITEMS_NARROWED #/unevaluatedItems"], false),
        (&["UNEVALUATED_ITEMS_EXTENDED #/unevaluatedItems"], true),
    );
    both_ways(
        array(json!({"prefixItems": [{"type": "string"}], "unevaluatedItems": {"type": "number"}})),
        array(json!({"prefixItems": [{"type": "string"}], "unevaluatedItems": {"type": "string"}})),
        (&["TYPE_CHANGED #/unevaluatedItems"], false),
        (&["TYPE_CHANGED #/unevaluatedItems"], false),
    );
    // `unevaluatedItems: false` closes the tuple like `items: false`.
    both_ways(
        array(json!({"prefixItems": [{"type": "string"}], "unevaluatedItems": false})),
        array(
            json!({"prefixItems": [{"type": "string"}, {"type": "number"}], "unevaluatedItems": false}),
        ),
        (&["ITEM_ADDED_TO_CLOSED_CONTENT_MODEL #/items/1"], true),
        (&["ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL #/items/1"], false),
    );
}

#[test]
fn unevaluated_properties_false_true_and_schema() {
    both_ways(
        object(json!({})),
        object(json!({"unevaluatedProperties": false})),
        (
            &["UNEVALUATED_PROPERTIES_REMOVED #/unevaluatedProperties"],
            false,
        ),
        (
            &["UNEVALUATED_PROPERTIES_ADDED #/unevaluatedProperties"],
            true,
        ),
    );
    both_ways(
        object(json!({})),
        object(json!({"unevaluatedProperties": {"type": "string"}})),
        (
            &["UNEVALUATED_PROPERTIES_NARROWED #/unevaluatedProperties"],
            false,
        ),
        (
            &["UNEVALUATED_PROPERTIES_EXTENDED #/unevaluatedProperties"],
            true,
        ),
    );
    // A closed model: a property may be added but not removed.
    both_ways(
        json!({"$schema": D2019, "properties": {"foo": {"type": "string"}}, "unevaluatedProperties": false}),
        json!({"$schema": D2019, "properties": {"foo": {"type": "string"}, "baz": {"type": "number"}}, "unevaluatedProperties": false}),
        (
            &["OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/baz"],
            true,
        ),
        (
            &["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL #/properties/baz"],
            false,
        ),
    );
    // LENIENT allows closing the model, as it does for additionalProperties.
    assert!(compatible_with(
        &object(json!({})),
        &object(json!({"unevaluatedProperties": false})),
        JsonCompatibilityPolicy::Lenient
    ));
}

#[test]
fn dependent_required_added_extended_narrowed() {
    both_ways(
        object(json!({})),
        object(json!({"dependentRequired": {"foo": ["bar"]}})),
        (&["DEPENDENCY_ARRAY_ADDED #/dependencies/foo"], false),
        (&["DEPENDENCY_ARRAY_REMOVED #/dependencies/foo"], true),
    );
    both_ways(
        object(json!({"dependentRequired": {"foo": ["bar"]}})),
        object(json!({"dependentRequired": {"foo": ["bar", "baz"]}})),
        (&["DEPENDENCY_ARRAY_EXTENDED #/dependencies/foo"], false),
        (&["DEPENDENCY_ARRAY_NARROWED #/dependencies/foo"], true),
    );
}

#[test]
fn dependent_schemas_added_removed_changed() {
    both_ways(
        object(json!({})),
        object(json!({"dependentSchemas": {"foo": {"required": ["bar"]}}})),
        (&["DEPENDENCY_SCHEMA_ADDED #/dependencies/foo"], false),
        (&["DEPENDENCY_SCHEMA_REMOVED #/dependencies/foo"], true),
    );
    both_ways(
        object(json!({"dependentSchemas": {"foo": {"properties": {"bar": {"maxLength": 5}}}}})),
        object(json!({"dependentSchemas": {"foo": {"properties": {"bar": {"maxLength": 9}}}}})),
        (
            &["MAX_LENGTH_INCREASED #/dependencies/foo/properties/bar/maxLength"],
            true,
        ),
        (
            &["MAX_LENGTH_DECREASED #/dependencies/foo/properties/bar/maxLength"],
            false,
        ),
    );
}
