//! Compares our Avro verdicts with the apache-avro crate's `schema_compatibility` on every
//! Avro pair of the shared conformance corpus, the benchmark's pairs and the rule pairs of
//! docs/compat-rules.md §3, in both directions; prints every disagreement with which side is
//! right, and requires our verdict to be the expected one wherever it is known.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[path = "../benches/common/mod.rs"]
#[allow(dead_code)]
mod bench_pairs;

use std::panic::{AssertUnwindSafe, catch_unwind};

use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};
use eventschema_core::{Direction, Limits, ParsedSchema, SchemaType, check_pair};
use serde_json::Value;

fn schema_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// apache-avro's answer for one direction.
#[derive(Debug, Clone, PartialEq)]
enum Theirs {
    Compatible,
    /// `Ok(Partial)`: some data can be read; Java (and Confluent) call that incompatible.
    Partial,
    Incompatible(String),
    /// apache-avro refused one of the schemas.
    Unparsable(String),
    Panicked,
}

impl Theirs {
    fn verdict(&self) -> Option<bool> {
        match self {
            Theirs::Compatible => Some(true),
            Theirs::Partial | Theirs::Incompatible(_) => Some(false),
            Theirs::Unparsable(_) | Theirs::Panicked => None,
        }
    }
}

fn theirs(old: &str, new: &str, direction: Direction) -> Theirs {
    let parsed = (
        apache_avro::Schema::parse_str(old),
        apache_avro::Schema::parse_str(new),
    );
    let (old, new) = match parsed {
        (Ok(old), Ok(new)) => (old, new),
        (Err(err), _) => return Theirs::Unparsable(format!("old: {err}")),
        (_, Err(err)) => return Theirs::Unparsable(format!("new: {err}")),
    };
    let (writer, reader) = match direction {
        Direction::Backward => (&old, &new),
        Direction::Forward => (&new, &old),
    };
    match catch_unwind(AssertUnwindSafe(|| {
        SchemaCompatibility::can_read(writer, reader)
    })) {
        Ok(Ok(Compatibility::Full)) => Theirs::Compatible,
        Ok(Ok(Compatibility::Partial)) => Theirs::Partial,
        Ok(Err(err)) => Theirs::Incompatible(err.to_string()),
        Err(_) => Theirs::Panicked,
    }
}

fn ours(old: &str, new: &str, direction: Direction) -> bool {
    let parse = |text: &str| {
        ParsedSchema::parse_standalone(SchemaType::Avro, text, &Limits::DEFAULT)
            .unwrap_or_else(|err| panic!("we cannot parse {text}: {err}"))
    };
    check_pair(direction, &parse(old), &parse(new)).is_empty()
}

/// One pair to compare, with the verdict each direction must have when it is known.
struct Pair {
    name: String,
    old: String,
    new: String,
    backward: Option<bool>,
    forward: Option<bool>,
}

fn conformance_pairs(file: &str) -> Vec<Pair> {
    let path = support::conformance_dir().join(file);
    let content = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let mut pairs = Vec::new();
    for line in content.lines().filter(|line| !line.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap();
        if case["format"] != "AVRO" {
            continue;
        }
        let compatible = case["compatible"].as_bool().unwrap();
        // FULL and compatible: both directions are; FULL and incompatible: at least one
        // direction is not, which one the case does not say.
        let (backward, forward) = match case["check"].as_str().unwrap() {
            "BACKWARD" => (Some(compatible), None),
            "FORWARD" => (None, Some(compatible)),
            "FULL" if compatible => (Some(true), Some(true)),
            _ => (None, None),
        };
        pairs.push(Pair {
            name: format!("{file}: {}", case["case"].as_str().unwrap_or("?")),
            old: schema_text(&case["old"]),
            new: schema_text(&case["new"]),
            backward,
            forward,
        });
    }
    pairs
}

fn bench_pairs() -> Vec<Pair> {
    bench_pairs::avro_pairs()
        .into_iter()
        .map(|(name, old, new)| Pair {
            name: format!("bench: {name}"),
            old,
            new,
            // Every bench pair is a compatible evolution in both directions by construction.
            backward: Some(true),
            forward: Some(true),
        })
        .collect()
}

/// Pairs for the differences docs/compat-rules.md §3 lists, with the verdicts its §1 table
/// and cheat sheet give (Java's checker, as the Confluent registry runs it):
/// `(name, old, new, backward, forward)`.
const RULE_PAIRS: &[(&str, &str, &str, bool, bool)] = &[
    (
        "decimal precision/scale changed (Java ignores logical types)",
        r#"{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}"#,
        r#"{"type":"bytes","logicalType":"decimal","precision":12,"scale":4}"#,
        true,
        true,
    ),
    (
        "timestamp-millis to plain long (Java ignores logical types)",
        r#"{"type":"long","logicalType":"timestamp-millis"}"#,
        r#""long""#,
        true,
        true,
    ),
    (
        "namespace-only change of a record",
        r#"{"type":"record","name":"R","namespace":"a","fields":[{"name":"x","type":"int"}]}"#,
        r#"{"type":"record","name":"R","namespace":"b","fields":[{"name":"x","type":"int"}]}"#,
        true,
        true,
    ),
    (
        "record renamed, new has an alias naming the old full name",
        r#"{"type":"record","name":"Old","namespace":"a","fields":[{"name":"x","type":"int"}]}"#,
        r#"{"type":"record","name":"New","namespace":"a","aliases":["a.Old"],"fields":[{"name":"x","type":"int"}]}"#,
        true,
        false,
    ),
    (
        "enum symbol removed, new enum has a default",
        r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#,
        r#"{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}"#,
        true,
        true,
    ),
    (
        "enum renamed, new enum has a default but no alias",
        r#"{"type":"enum","name":"E","symbols":["A","B"]}"#,
        r#"{"type":"enum","name":"F","symbols":["A","B"],"default":"A"}"#,
        false,
        false,
    ),
    (
        "union narrowed to one of its branches",
        r#"["null","int"]"#,
        r#""int""#,
        false,
        true,
    ),
    (
        "int to time-millis (int promotion ignores the logical type)",
        r#""int""#,
        r#"{"type":"int","logicalType":"time-millis"}"#,
        true,
        true,
    ),
];

fn rule_pairs() -> Vec<Pair> {
    RULE_PAIRS
        .iter()
        .map(|(name, old, new, backward, forward)| Pair {
            name: format!("compat-rules: {name}"),
            old: (*old).to_owned(),
            new: (*new).to_owned(),
            backward: Some(*backward),
            forward: Some(*forward),
        })
        .collect()
}

#[test]
fn verdicts_against_apache_avro() {
    let mut pairs = conformance_pairs("apache-avro-java.jsonl");
    pairs.extend(conformance_pairs("karapace-avro.jsonl"));
    pairs.extend(bench_pairs());
    pairs.extend(rule_pairs());
    assert!(
        pairs.len() > 250,
        "expected the whole corpus, read {}",
        pairs.len()
    );

    let mut compared = 0;
    let mut disagreements = Vec::new();
    let mut unparsable = Vec::new();
    let mut we_are_wrong = Vec::new();
    for pair in &pairs {
        for (direction, expected) in [
            (Direction::Backward, pair.backward),
            (Direction::Forward, pair.forward),
        ] {
            let our_verdict = ours(&pair.old, &pair.new, direction);
            let their_answer = theirs(&pair.old, &pair.new, direction);
            compared += 1;
            if expected.is_some_and(|expected| expected != our_verdict) {
                we_are_wrong.push(format!("{} {}", pair.name, direction.as_str()));
            }
            let Some(their_verdict) = their_answer.verdict() else {
                unparsable.push(format!(
                    "{} {}: apache-avro {their_answer:?}",
                    pair.name,
                    direction.as_str()
                ));
                continue;
            };
            if our_verdict == their_verdict {
                continue;
            }
            let right = match expected {
                Some(expected) if expected == our_verdict => "ours is right",
                Some(_) => "apache-avro is right",
                None => "not decided by the corpus",
            };
            disagreements.push(format!(
                "{} {}: ours compatible={our_verdict}, apache-avro {their_answer:?} -> {right}",
                pair.name,
                direction.as_str()
            ));
        }
    }
    println!(
        "{compared} pair-directions compared over {} pairs; {} disagreements, {} where \
         apache-avro could not answer",
        pairs.len(),
        disagreements.len(),
        unparsable.len()
    );
    for line in &disagreements {
        println!("DISAGREE {line}");
    }
    for line in &unparsable {
        println!("NO-ANSWER {line}");
    }
    assert!(
        we_are_wrong.is_empty(),
        "our verdict contradicts the expected one: {we_are_wrong:#?}"
    );
}
