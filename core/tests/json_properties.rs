//! Property tests over generated JSON Schemas: reflexive compatibility under both policies,
//! normal-form idempotence and key-order insensitivity, and a parser that never panics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eventschema_core::Limits;
use eventschema_core::json::JsonSchema;
use eventschema_core::json::compat::{JsonCompatibilityPolicy, compare_with_policy};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(true)),
        Just(json!(false)),
        Just(json!({})),
        Just(json!({"type": "boolean"})),
        Just(json!({"type": "null"})),
        (
            proptest::option::of(0u64..10),
            proptest::option::of(0u64..20),
            proptest::option::of("[a-c]{0,3}")
        )
            .prop_map(|(min, max, pattern)| {
                let mut s = json!({"type": "string"});
                if let Some(min) = min {
                    s["minLength"] = json!(min);
                }
                if let Some(max) = max {
                    s["maxLength"] = json!(max);
                }
                if let Some(p) = pattern {
                    s["pattern"] = json!(format!("^{p}"));
                }
                s
            }),
        (
            any::<bool>(),
            proptest::option::of(-100i64..100),
            proptest::option::of(-100i64..100),
            proptest::option::of(1u32..12)
        )
            .prop_map(|(integer, min, max, multiple)| {
                let mut s = json!({"type": if integer { "integer" } else { "number" }});
                if let Some(min) = min {
                    s["minimum"] = json!(min);
                }
                if let Some(max) = max {
                    s["exclusiveMaximum"] = json!(max);
                }
                if let Some(m) = multiple {
                    s["multipleOf"] = json!(f64::from(m) / 4.0);
                }
                s
            }),
        proptest::collection::vec(
            prop_oneof![
                Just(json!("a")),
                Just(json!(1)),
                Just(json!(null)),
                Just(json!([1]))
            ],
            1..4
        )
        .prop_map(|values| json!({"enum": values})),
    ]
}

fn schema() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            (
                proptest::collection::btree_map("[a-e]", inner.clone(), 0..5),
                proptest::collection::vec("[a-e]", 0..3),
                prop_oneof![Just(None), Just(Some(json!(true))), Just(Some(json!(false))), inner.clone().prop_map(Some)],
                proptest::option::of(inner.clone()),
            )
                .prop_map(|(properties, required, additional, pattern)| {
                    let mut s = json!({"type": "object", "properties": properties, "required": required});
                    if let Some(additional) = additional {
                        s["additionalProperties"] = additional;
                    }
                    if let Some(pattern) = pattern {
                        s["patternProperties"] = json!({"^x": pattern});
                    }
                    s
                }),
            (inner.clone(), proptest::option::of(0u64..4), any::<bool>()).prop_map(|(items, min, unique)| {
                let mut s = json!({"type": "array", "items": items, "uniqueItems": unique});
                if let Some(min) = min {
                    s["minItems"] = json!(min);
                }
                s
            }),
            (proptest::collection::vec(inner.clone(), 1..4), prop_oneof![Just(json!(true)), Just(json!(false)), inner.clone()])
                .prop_map(|(items, additional)| json!({"type": "array", "items": items, "additionalItems": additional})),
            proptest::collection::vec(inner.clone(), 1..4).prop_map(|b| json!({"anyOf": b})),
            proptest::collection::vec(inner.clone(), 1..4).prop_map(|b| json!({"oneOf": b})),
            proptest::collection::vec(inner.clone(), 1..4).prop_map(|b| json!({"allOf": b})),
            inner.clone().prop_map(|n| json!({"not": n})),
            inner.prop_map(|d| json!({"$ref": "#/definitions/d", "definitions": {"d": d}})),
        ]
    })
}

/// Points each generated `$ref` at its sibling `definitions/d`, wherever the schema ended up.
fn anchor_refs(value: &mut Value, pointer: &str) {
    match value {
        Value::Object(map) => {
            if map.contains_key("$ref") {
                map.insert("$ref".into(), json!(format!("#{pointer}/definitions/d")));
            }
            for (key, child) in map.iter_mut() {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                anchor_refs(child, &format!("{pointer}/{escaped}"));
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                anchor_refs(child, &format!("{pointer}/{i}"));
            }
        }
        _ => {}
    }
}

fn valid_schema() -> impl Strategy<Value = Value> {
    schema().prop_map(|mut value| {
        anchor_refs(&mut value, "");
        value
    })
}

/// Reorders the keys of every object by a seed-driven rotation and reversal.
fn shuffle(value: &Value, seed: u64) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map
                .iter()
                .map(|(k, v)| (k.clone(), shuffle(v, seed.rotate_left(7) ^ 0x9e37)))
                .collect();
            if !entries.is_empty() {
                let by = (seed as usize) % entries.len();
                entries.rotate_left(by);
            }
            if seed & 1 == 1 {
                entries.reverse();
            }
            Value::Object(entries.into_iter().collect::<Map<String, Value>>())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| shuffle(v, seed)).collect()),
        other => other.clone(),
    }
}

fn parse(value: &Value) -> JsonSchema {
    JsonSchema::parse(&value.to_string(), &[], &Limits::DEFAULT)
        .unwrap_or_else(|err| panic!("generated schema does not parse: {err}: {value}"))
}

fn incompatible(
    original: &JsonSchema,
    update: &JsonSchema,
    policy: JsonCompatibilityPolicy,
) -> Vec<String> {
    compare_with_policy(original, update, policy)
        .into_iter()
        .filter(|d| !d.kind.is_compatible(policy))
        .map(|d| format!("{} {}", d.kind, d.original_path))
        .collect()
}

/// Arbitrary JSON biased towards schema keywords, to hit the validation paths.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("type".to_owned()),
        Just("properties".to_owned()),
        Just("items".to_owned()),
        Just("required".to_owned()),
        Just("$ref".to_owned()),
        Just("anyOf".to_owned()),
        Just("not".to_owned()),
        Just("enum".to_owned()),
        Just("minLength".to_owned()),
        Just("pattern".to_owned()),
        Just("additionalProperties".to_owned()),
        Just("prefixItems".to_owned()),
        Just("$id".to_owned()),
        Just("$defs".to_owned()),
        Just("dependencies".to_owned()),
        Just("multipleOf".to_owned()),
        "[a-z$#/]{0,6}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        prop_oneof![
            Just("string".to_owned()),
            Just("object".to_owned()),
            Just("#".to_owned()),
            Just("#/definitions/a".to_owned()),
            Just("#/$defs/a".to_owned()),
            Just("(".to_owned()),
            "[a-z#/()\\[\\]*+?{},0-9]{0,8}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_schema_is_compatible_with_itself(value in valid_schema()) {
        let s = parse(&value);
        for policy in [JsonCompatibilityPolicy::Strict, JsonCompatibilityPolicy::Lenient] {
            let found = incompatible(&s, &s, policy);
            prop_assert!(found.is_empty(), "{value}: {found:?}");
        }
    }

    #[test]
    fn key_order_changes_nothing(value in valid_schema(), seed in any::<u64>()) {
        let s = parse(&value);
        let shuffled = parse(&shuffle(&value, seed));
        prop_assert_eq!(s.normalized_string(), shuffled.normalized_string());
        for policy in [JsonCompatibilityPolicy::Strict, JsonCompatibilityPolicy::Lenient] {
            let found = incompatible(&s, &shuffled, policy);
            prop_assert!(found.is_empty(), "{value}: {found:?}");
        }
    }

    #[test]
    fn normalized_string_is_idempotent(value in valid_schema()) {
        let normalized = parse(&value).normalized_string();
        let again = JsonSchema::parse(&normalized, &[], &Limits::DEFAULT).unwrap();
        prop_assert_eq!(&again.normalized_string(), &normalized);
        prop_assert_eq!(again.canonical_string(), normalized);
    }

    #[test]
    fn parse_never_panics(value in arbitrary_json()) {
        if let Ok(s) = JsonSchema::parse(&value.to_string(), &[], &Limits::DEFAULT) {
            // Whatever parses can be compared with itself and with an object schema.
            let other = parse(&json!({"type": "object", "properties": {"a": {"type": "string"}}}));
            let _ = compare_with_policy(&s, &s, JsonCompatibilityPolicy::Strict);
            let _ = compare_with_policy(&s, &other, JsonCompatibilityPolicy::Lenient);
            let _ = compare_with_policy(&other, &s, JsonCompatibilityPolicy::Strict);
        }
    }

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in "\\PC{0,64}") {
        let _ = JsonSchema::parse(&text, &[], &Limits::DEFAULT);
    }
}
