//! Runs the shared JSON Schema conformance cases: every Confluent case must pass; the
//! Karapace cases are a secondary signal where only the categories known to agree with
//! Confluent are asserted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use eventschema_core::json::JsonSchema;
use eventschema_core::json::compat::{JsonCompatibilityPolicy, compare};
use eventschema_core::{Limits, ParsedSchema, SchemaType};
use serde_json::Value;

/// Confluent cases we believe are wrong, with the reason. Empty: every case passes.
const CONFLUENT_ALLOW_LIST: &[(&str, &str)] = &[];

struct Case {
    name: String,
    old: String,
    new: String,
    check: String,
    compatible: bool,
}

fn load_cases(file: &str) -> Vec<Case> {
    let path = support::conformance_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let value: Value = serde_json::from_str(line).expect("case line is JSON");
            let text = |v: &Value| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Case {
                name: value["case"].as_str().unwrap_or_default().to_owned(),
                old: text(&value["old"]),
                new: text(&value["new"]),
                check: value["check"].as_str().unwrap_or_default().to_owned(),
                compatible: value["compatible"]
                    .as_bool()
                    .expect("compatible is a boolean"),
            }
        })
        .collect()
}

fn parse(text: &str) -> JsonSchema {
    JsonSchema::parse(text, &[], &Limits::DEFAULT).unwrap_or_else(|err| panic!("{err}: {text}"))
}

fn compatible_one_way(original: &JsonSchema, update: &JsonSchema) -> bool {
    compare(original, update)
        .iter()
        .all(|d| d.kind.is_compatible(JsonCompatibilityPolicy::Strict))
}

/// Our verdict for a case, through the crate-level entry point so the orientation used by the
/// registry is what is tested.
fn verdict(case: &Case) -> bool {
    let old = ParsedSchema::parse_standalone(SchemaType::Json, &case.old, &Limits::DEFAULT)
        .unwrap_or_else(|err| panic!("{}: old schema does not parse: {err}", case.name));
    let new = ParsedSchema::parse_standalone(SchemaType::Json, &case.new, &Limits::DEFAULT)
        .unwrap_or_else(|err| panic!("{}: new schema does not parse: {err}", case.name));
    let backward = || {
        eventschema_core::check_pair(eventschema_core::Direction::Backward, &old, &new).is_empty()
    };
    let forward = || {
        eventschema_core::check_pair(eventschema_core::Direction::Forward, &old, &new).is_empty()
    };
    let result = match case.check.as_str() {
        "BACKWARD" => backward(),
        "FORWARD" => forward(),
        "FULL" => backward() && forward(),
        other => panic!("{}: unknown check {other}", case.name),
    };
    // The direct API must agree with the crate-level one.
    let (o, n) = (parse(&case.old), parse(&case.new));
    let direct = match case.check.as_str() {
        "BACKWARD" => compatible_one_way(&o, &n),
        "FORWARD" => compatible_one_way(&n, &o),
        _ => compatible_one_way(&o, &n) && compatible_one_way(&n, &o),
    };
    assert_eq!(
        result, direct,
        "{}: check_pair and compare disagree",
        case.name
    );
    result
}

#[test]
fn confluent_json_cases_all_pass() {
    let cases = load_cases("confluent-json-part1.jsonl");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    let mut passed = 0;
    for case in &cases {
        if CONFLUENT_ALLOW_LIST
            .iter()
            .any(|(name, _)| *name == case.name)
        {
            continue;
        }
        if verdict(case) == case.compatible {
            passed += 1;
        } else {
            let (o, n) = (parse(&case.old), parse(&case.new));
            let diffs: Vec<String> = compare(&o, &n)
                .iter()
                .map(|d| format!("{} {}", d.kind.as_str(), d.original_path))
                .collect();
            failures.push(format!(
                "{} [{}] expected compatible={} diffs(old->new)={diffs:?}",
                case.name, case.check, case.compatible
            ));
        }
    }
    println!(
        "confluent JSON conformance: {passed}/{} passed",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "failing cases:\n{}",
        failures.join("\n")
    );
}

/// Karapace cases whose verdict contradicts Confluent's rule, case by case (compat-rules.md
/// §3 and the `SchemaDiff` source).
const KARAPACE_KNOWN_DIVERGENT: &[(&str, &str)] = &[
    (
        "test_pattern_properties[5]",
        "Confluent: a removed property is covered by patternProperties '^a*' (find() matches \
         the empty prefix of 'b') whose schema {} accepts anything",
    ),
    (
        "test_object_properties[1]",
        "Confluent: a property with schema {} added to an open model is \
         PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL (compatible)",
    ),
    (
        "test_property_names[2]",
        "Confluent's SchemaDiff ignores propertyNames; adding a {} property to an open model is \
         compatible",
    ),
];

/// Why Karapace and Confluent disagree on a case, if it is a documented divergence.
fn karapace_divergence(case: &Case) -> Option<&'static str> {
    let old: Value = serde_json::from_str(&case.old).ok()?;
    let new: Value = serde_json::from_str(&case.new).ok()?;
    let is_empty =
        |v: &Value| v == &Value::Bool(true) || v.as_object().is_some_and(serde_json::Map::is_empty);
    if is_empty(&new) || is_empty(&old) {
        return Some(
            "true/{} schemas: Karapace reads them as {\"type\":\"object\"}, Confluent as the \
             empty schema (anything can become it)",
        );
    }
    if old == Value::Bool(false) {
        return Some("old schema false: Confluent lets false become anything");
    }
    KARAPACE_KNOWN_DIVERGENT
        .iter()
        .find(|(name, _)| case.name.contains(name))
        .map(|(_, reason)| *reason)
}

#[test]
fn karapace_json_cases_secondary_signal() {
    let cases = load_cases("other-semantics/karapace-json.jsonl");
    let mut agree = 0;
    let mut unexplained = Vec::new();
    let mut categories: std::collections::BTreeMap<&str, usize> = Default::default();
    for case in &cases {
        let ours = verdict(case);
        if ours == case.compatible {
            agree += 1;
            continue;
        }
        match karapace_divergence(case) {
            Some(category) => *categories.entry(category).or_default() += 1,
            None => unexplained.push(format!(
                "{} [{}] karapace={} ours={ours}\n  old={}\n  new={}",
                case.name, case.check, case.compatible, case.old, case.new
            )),
        }
    }
    println!(
        "karapace JSON: {agree}/{} agree, {} disagree",
        cases.len(),
        cases.len() - agree
    );
    for (category, count) in &categories {
        println!("  {count:3} in known-divergent category: {category}");
    }
    assert!(
        unexplained.is_empty(),
        "disagreements outside the documented divergences:\n{}",
        unexplained.join("\n")
    );
}
