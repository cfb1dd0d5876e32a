//! Inputs the fuzz targets (core/fuzz) found, kept as regression tests: each runs the
//! target's checks on the saved bytes (tests/fuzz_inputs/) and pins down the sensible result.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use eventschema_core::Limits;
use eventschema_core::avro::AvroSchema;

/// A saved fuzz input, read the way the targets read their bytes (UTF-8, lossy).
fn input(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_inputs")
        .join(name);
    let bytes =
        std::fs::read(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The `avro_parse` target's checks: the canonical string re-parses to itself and to the
/// same Parsing Canonical Form.
fn avro_round_trip(text: &str) -> AvroSchema {
    let schema = AvroSchema::parse(text, &[], &Limits::DEFAULT).expect("the input parses");
    let canonical = schema.canonical_string();
    let again = AvroSchema::parse(&canonical, &[], &Limits::DEFAULT)
        .unwrap_or_else(|err| panic!("the canonical string does not parse: {err}\n{canonical}"));
    assert_eq!(again.canonical_string(), canonical);
    assert_eq!(
        again.parsing_canonical_form(),
        schema.parsing_canonical_form()
    );
    schema
}

/// A fixed named `.fn` (leading dot: the null namespace) inside a record of namespace
/// `namespace`. The canonical string keeps it in the null namespace; the Parsing Canonical
/// Form writes its full name `fn`, as Java's `SchemaNormalization` does, so the form alone
/// (which has no `namespace` attributes) would read it back as `namespace.fn`. The fuzz
/// target first asserted that the form is a fixpoint, which the spec does not promise.
#[test]
fn avro_null_namespace_type_inside_a_namespaced_record() {
    // The raw input as found, then the minimised one (the same record without the noise).
    avro_round_trip(&input("avro_parse_null_namespace_in_pcf.raw.bin"));
    let schema = avro_round_trip(&input("avro_parse_null_namespace_in_pcf.json"));
    assert!(
        schema
            .canonical_string()
            .contains(r#""name":"fn","namespace":"""#),
        "{}",
        schema.canonical_string()
    );
    assert_eq!(
        schema.parsing_canonical_form(),
        r#"{"name":"namespace.name","type":"record","fields":[{"name":"fn","type":{"name":"fn","type":"fixed","size":16}}]}"#
    );
}

/// A custom field property holding an integer too large for `u64`, read as the double
/// 5.5E145. Parsing and printing work; the round trip is the next test.
#[test]
fn avro_huge_integer_property_parses_and_prints() {
    for name in [
        "avro_parse_float_roundtrip.raw.bin",
        "avro_parse_float_roundtrip.json",
    ] {
        let schema =
            AvroSchema::parse(&input(name), &[], &Limits::DEFAULT).expect("the input parses");
        assert!(
            schema.canonical_string().contains(":5.5E145}"),
            "{}",
            schema.canonical_string()
        );
    }
}

/// Found by `avro_parse`: the canonical string `...:5.5E145}` re-parses to
/// `...:5.500000000000001E145}`, because serde_json without its `float_roundtrip` feature
/// reads "5.5E145" one unit in the last place off (Java's `Double.parseDouble` and Rust's
/// `str::parse` read it exactly). A schema registered once by its stored text then gets a
/// different canonical string. Fixed by enabling `float_roundtrip` on the workspace's
/// serde_json dependency.
#[test]
fn avro_canonical_double_is_a_fixpoint() {
    avro_round_trip(&input("avro_parse_float_roundtrip.raw.bin"));
    avro_round_trip(&input("avro_parse_float_roundtrip.json"));
    avro_round_trip(
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"double","default":5.5E145}]}"#,
    );
}
