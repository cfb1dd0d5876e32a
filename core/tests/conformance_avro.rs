//! Runs every Avro case of the shared conformance corpus (Apache Avro Java's and Karapace's
//! compatibility tests) through our parser and checker and requires the same verdict.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use eventschema_core::avro::AvroSchema;
use eventschema_core::avro::compat::check_reader_writer;
use eventschema_core::{Limits, SchemaError};
use serde_json::Value;

/// Cases we believe are wrong, by `case` name, with the reason. Empty: every case passes.
const ALLOW_LIST: &[(&str, &str)] = &[];

fn schema_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn parse(value: &Value) -> Result<AvroSchema, SchemaError> {
    AvroSchema::parse(&schema_text(value), &[], &Limits::DEFAULT)
}

fn run_file(name: &str) -> (usize, usize) {
    let path = support::conformance_dir().join(name);
    let content = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let mut failures = Vec::new();
    let mut total = 0;
    for (line_number, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        total += 1;
        let case: Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("{name}:{}: not JSON: {err}", line_number + 1));
        let case_name = case["case"].as_str().unwrap_or("?").to_owned();
        if case["format"] != "AVRO" {
            continue;
        }
        if ALLOW_LIST.iter().any(|(allowed, _)| *allowed == case_name) {
            continue;
        }
        let expected = case["compatible"]
            .as_bool()
            .expect("compatible is a boolean");
        let old = parse(&case["old"]);
        let new = parse(&case["new"]);
        let (old, new) = match (old, new) {
            (Ok(old), Ok(new)) => (old, new),
            (old, new) => {
                failures.push(format!(
                    "{name}:{} {case_name}: parse failure old={:?} new={:?}",
                    line_number + 1,
                    old.err(),
                    new.err()
                ));
                continue;
            }
        };
        let backward = || check_reader_writer(&new, &old);
        let forward = || check_reader_writer(&old, &new);
        let findings = match case["check"].as_str() {
            Some("BACKWARD") => backward(),
            Some("FORWARD") => forward(),
            Some("FULL") => {
                let mut all = backward();
                all.extend(forward());
                all
            }
            other => panic!("{name}:{}: unknown check {other:?}", line_number + 1),
        };
        if findings.is_empty() != expected {
            failures.push(format!(
                "{name}:{} {case_name}: expected compatible={expected}, got findings {findings:#?}",
                line_number + 1
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases in {name} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    (total, total - failures.len())
}

#[test]
fn apache_avro_java_cases() {
    let (total, passed) = run_file("apache-avro-java.jsonl");
    assert!(total > 100, "expected the whole corpus, read {total} cases");
    assert_eq!(passed, total);
}

#[test]
fn karapace_avro_cases() {
    let (total, passed) = run_file("karapace-avro.jsonl");
    assert!(total > 100, "expected the whole corpus, read {total} cases");
    assert_eq!(passed, total);
}

#[test]
fn allow_list_entries_have_reasons() {
    for (case, reason) in ALLOW_LIST {
        assert!(
            !reason.trim().is_empty(),
            "allow-listed case {case} needs a reason"
        );
    }
}

#[test]
fn verdicts_match_through_the_crate_root() {
    use eventschema_core::{Direction, ParsedSchema, SchemaType, check_pair};
    let old = ParsedSchema::parse_standalone(
        SchemaType::Avro,
        r#"{"type":"record","name":"r","fields":[{"name":"a","type":"int"}]}"#,
        &Limits::DEFAULT,
    )
    .unwrap();
    let new = ParsedSchema::parse_standalone(
        SchemaType::Avro,
        r#"{"type":"record","name":"r","fields":[{"name":"a","type":"long"},{"name":"b","type":"string"}]}"#,
        &Limits::DEFAULT,
    )
    .unwrap();
    let backward = check_pair(Direction::Backward, &old, &new);
    assert_eq!(backward.len(), 1);
    assert_eq!(
        backward[0].kind.as_str(),
        "READER_FIELD_MISSING_DEFAULT_VALUE"
    );
    assert_eq!(backward[0].new_path, "/fields/1");
    let forward = check_pair(Direction::Forward, &old, &new);
    assert_eq!(forward.len(), 1);
    assert_eq!(forward[0].kind.as_str(), "TYPE_MISMATCH");
    assert_eq!(forward[0].old_path, "/fields/0/type");
}
