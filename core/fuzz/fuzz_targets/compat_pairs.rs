//! Fuzz target: the compatibility checker on arbitrary pairs. The first byte picks the
//! format (even: Avro, odd: JSON Schema); the rest is split at the first NUL byte into the
//! old and the new schema (no NUL: the same text twice). Every schema that parses must be
//! compatible with itself (except for fields that Java's checker finds ambiguous), and the
//! levels must agree with the pair checks they are made of.
#![no_main]

use eventschema_core::{
    CompatibilityLevel, Direction, Incompatibility, Limits, ParsedSchema, SchemaType,
    check_compatibility, check_pair,
};
use libfuzzer_sys::fuzz_target;

fn parse(schema_type: SchemaType, bytes: &[u8]) -> Option<ParsedSchema> {
    let text = String::from_utf8_lossy(bytes);
    ParsedSchema::parse_standalone(schema_type, &text, &Limits::DEFAULT).ok()
}

fn assert_self_compatible(schema: &ParsedSchema) {
    for direction in [Direction::Backward, Direction::Forward] {
        // A record field whose aliases match another field (or its own name) makes Java's
        // `lookupWriterField` throw even against the same schema; the port reports that.
        let found: Vec<Incompatibility> = check_pair(direction, schema, schema)
            .into_iter()
            .filter(|finding| !finding.message.contains("matches several writer fields"))
            .collect();
        assert!(
            found.is_empty(),
            "a schema is not {} compatible with itself: {found:#?}\nschema: {}",
            direction.as_str(),
            schema.canonical_string()
        );
    }
}

fn without_versions(mut found: Vec<Incompatibility>) -> Vec<Incompatibility> {
    for finding in &mut found {
        finding.against_version = None;
    }
    found
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let schema_type = if selector % 2 == 0 {
        SchemaType::Avro
    } else {
        SchemaType::Json
    };
    let (old_bytes, new_bytes) = match rest.iter().position(|&byte| byte == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, rest),
    };
    let old = parse(schema_type, old_bytes);
    let new = parse(schema_type, new_bytes);
    for schema in old.iter().chain(new.iter()) {
        assert_self_compatible(schema);
    }
    let (Some(old), Some(new)) = (old, new) else {
        return;
    };
    let backward = check_pair(Direction::Backward, &old, &new);
    let forward = check_pair(Direction::Forward, &old, &new);
    for finding in backward.iter().chain(forward.iter()) {
        let _ = finding.confluent_message();
    }
    let previous = [(1, &old), (2, &old)];
    for level in CompatibilityLevel::ALL {
        let report = check_compatibility(level, &new, &previous);
        let _ = report.confluent_messages();
        let mut expected = Vec::new();
        let compared = if level.is_transitive() { 2 } else { 1 };
        for _ in 0..compared {
            for direction in level.directions() {
                match direction {
                    Direction::Backward => expected.extend(backward.iter().cloned()),
                    Direction::Forward => expected.extend(forward.iter().cloned()),
                }
            }
        }
        assert_eq!(
            without_versions(report.incompatibilities),
            expected,
            "{level} does not agree with the pair checks"
        );
    }
});
