//! Criterion benchmark of the compatibility checks: Avro record pairs (10 and 500 fields), a
//! 50-version BACKWARD_TRANSITIVE chain and a deeply nested JSON Schema pair, with the same
//! Avro pairs timed through apache-avro's `schema_compatibility` in the same run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::hint::black_box;

use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};
use criterion::{Criterion, criterion_group, criterion_main};
use eventschema_core::{
    CompatibilityLevel, Direction, Limits, ParsedSchema, SchemaType, check_compatibility,
    check_pair,
};

fn ours(schema_type: SchemaType, text: &str) -> ParsedSchema {
    ParsedSchema::parse_standalone(schema_type, text, &Limits::DEFAULT)
        .unwrap_or_else(|err| panic!("bench schema does not parse: {err}"))
}

fn theirs(text: &str) -> apache_avro::Schema {
    apache_avro::Schema::parse_str(text)
        .unwrap_or_else(|err| panic!("apache-avro cannot parse a bench schema: {err}"))
}

/// apache-avro's verdict for BACKWARD (reader = new, writer = old): only `Full` means every
/// datum can be read, as Java's checker requires.
fn theirs_compatible(old: &apache_avro::Schema, new: &apache_avro::Schema) -> bool {
    matches!(
        SchemaCompatibility::can_read(old, new),
        Ok(Compatibility::Full)
    )
}

/// Prints both verdicts for every bench pair (both directions), so that a disagreement
/// shows up in the same run as the timings.
fn print_verdicts() {
    for (name, old_text, new_text) in common::avro_pairs() {
        let (old, new) = (
            ours(SchemaType::Avro, &old_text),
            ours(SchemaType::Avro, &new_text),
        );
        let (their_old, their_new) = (theirs(&old_text), theirs(&new_text));
        for direction in [Direction::Backward, Direction::Forward] {
            let our_verdict = check_pair(direction, &old, &new).is_empty();
            let their_verdict = match direction {
                Direction::Backward => theirs_compatible(&their_old, &their_new),
                Direction::Forward => theirs_compatible(&their_new, &their_old),
            };
            let agreement = if our_verdict == their_verdict {
                "agree"
            } else {
                "DISAGREE"
            };
            println!(
                "verdict {name} {}: ours compatible={our_verdict}, apache-avro \
                 compatible={their_verdict} ({agreement})",
                direction.as_str()
            );
        }
    }
}

fn avro_pair(c: &mut Criterion, group_name: &str, old_text: &str, new_text: &str) {
    let (old, new) = (
        ours(SchemaType::Avro, old_text),
        ours(SchemaType::Avro, new_text),
    );
    let (their_old, their_new) = (theirs(old_text), theirs(new_text));
    assert!(check_pair(Direction::Backward, &old, &new).is_empty());
    let mut group = c.benchmark_group(group_name);
    group.bench_function("ours", |b| {
        b.iter(|| check_pair(Direction::Backward, black_box(&old), black_box(&new)))
    });
    group.bench_function("apache_avro", |b| {
        b.iter(|| SchemaCompatibility::can_read(black_box(&their_old), black_box(&their_new)))
    });
    group.finish();
}

fn records(c: &mut Criterion) {
    print_verdicts();
    let (old, new) = common::record_pair(10);
    avro_pair(c, "avro_record_10_fields", &old, &new);
    let (old, new) = common::record_pair(500);
    avro_pair(c, "avro_record_500_fields", &old, &new);
}

/// 49 registered versions and the 50th as candidate, checked BACKWARD_TRANSITIVE: 49 pair
/// checks. apache-avro has no levels, so its side is the same 49 `can_read` calls.
fn chain(c: &mut Criterion) {
    let texts = common::chain(50);
    let parsed: Vec<ParsedSchema> = texts
        .iter()
        .map(|text| ours(SchemaType::Avro, text))
        .collect();
    let (candidate, registered) = parsed.split_last().expect("50 versions");
    let previous: Vec<(i32, &ParsedSchema)> = registered
        .iter()
        .enumerate()
        .map(|(i, schema)| (i as i32 + 1, schema))
        .collect();
    let their: Vec<apache_avro::Schema> = texts.iter().map(|text| theirs(text)).collect();
    let (their_candidate, their_registered) = their.split_last().expect("50 versions");
    let report = check_compatibility(CompatibilityLevel::BackwardTransitive, candidate, &previous);
    assert!(report.is_compatible());
    let mut group = c.benchmark_group("avro_chain_50_backward_transitive");
    group.bench_function("ours", |b| {
        b.iter(|| {
            check_compatibility(
                CompatibilityLevel::BackwardTransitive,
                black_box(candidate),
                black_box(&previous),
            )
        })
    });
    group.bench_function("apache_avro", |b| {
        b.iter(|| {
            their_registered
                .iter()
                .rev()
                .map(|old| {
                    SchemaCompatibility::can_read(black_box(old), black_box(their_candidate))
                })
                .all(|verdict| matches!(verdict, Ok(Compatibility::Full)))
        })
    });
    group.finish();
}

fn nested_json(c: &mut Criterion) {
    let (old_text, new_text) = common::nested_json_pair(30);
    let (old, new) = (
        ours(SchemaType::Json, &old_text),
        ours(SchemaType::Json, &new_text),
    );
    assert!(check_pair(Direction::Backward, &old, &new).is_empty());
    let mut group = c.benchmark_group("json_nested_30_levels");
    group.bench_function("ours", |b| {
        b.iter(|| check_pair(Direction::Backward, black_box(&old), black_box(&new)))
    });
    group.finish();
}

criterion_group!(benches, records, chain, nested_json);
criterion_main!(benches);
