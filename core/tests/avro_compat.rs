//! One case per rule of the Avro reader/writer checker (docs/compat-rules.md §1), each
//! asserting the kind and both paths of every finding.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use eventschema_core::Limits;
use eventschema_core::avro::AvroSchema;
use eventschema_core::avro::compat::{AvroFinding, AvroIncompatibilityKind, check_reader_writer};

fn schema(text: &str) -> AvroSchema {
    AvroSchema::parse(text, &[], &Limits::DEFAULT)
        .unwrap_or_else(|err| panic!("test schema does not parse: {err}\n{text}"))
}

/// `(kind, reader_path, writer_path)` of every finding for reader/writer texts.
fn check(reader: &str, writer: &str) -> Vec<(&'static str, String, String)> {
    findings(reader, writer)
        .into_iter()
        .map(|f| (f.kind.as_str(), f.reader_path, f.writer_path))
        .collect()
}

fn findings(reader: &str, writer: &str) -> Vec<AvroFinding> {
    check_reader_writer(&schema(reader), &schema(writer))
}

fn one(
    kind: &'static str,
    reader_path: &str,
    writer_path: &str,
) -> Vec<(&'static str, String, String)> {
    vec![(kind, reader_path.to_owned(), writer_path.to_owned())]
}

fn record(name: &str, fields: &str) -> String {
    format!(r#"{{"type":"record","name":"{name}","fields":[{fields}]}}"#)
}

#[test]
fn kind_names_are_the_java_constants() {
    use AvroIncompatibilityKind::*;
    let names: Vec<&str> = [
        NameMismatch,
        FixedSizeMismatch,
        MissingEnumSymbols,
        ReaderFieldMissingDefaultValue,
        TypeMismatch,
        MissingUnionBranch,
    ]
    .into_iter()
    .map(AvroIncompatibilityKind::as_str)
    .collect();
    assert_eq!(
        names,
        [
            "NAME_MISMATCH",
            "FIXED_SIZE_MISMATCH",
            "MISSING_ENUM_SYMBOLS",
            "READER_FIELD_MISSING_DEFAULT_VALUE",
            "TYPE_MISMATCH",
            "MISSING_UNION_BRANCH"
        ]
    );
}

#[test]
fn same_primitive_is_compatible() {
    for p in [
        "null", "boolean", "int", "long", "float", "double", "bytes", "string",
    ] {
        let text = format!("\"{p}\"");
        assert!(check(&text, &text).is_empty(), "{p}");
    }
}

#[test]
fn promotions_are_compatible() {
    for (writer, reader) in [
        ("int", "long"),
        ("int", "float"),
        ("int", "double"),
        ("long", "float"),
        ("long", "double"),
        ("float", "double"),
        ("string", "bytes"),
        ("bytes", "string"),
    ] {
        assert!(
            check(&format!("\"{reader}\""), &format!("\"{writer}\"")).is_empty(),
            "{writer} -> {reader}"
        );
    }
}

#[test]
fn narrowing_and_unrelated_primitives_are_type_mismatches_at_the_root() {
    for (writer, reader) in [
        ("long", "int"),
        ("double", "float"),
        ("float", "long"),
        ("int", "string"),
        ("boolean", "int"),
        ("null", "string"),
        ("string", "int"),
    ] {
        assert_eq!(
            check(&format!("\"{reader}\""), &format!("\"{writer}\"")),
            one("TYPE_MISMATCH", "/", "/"),
            "{writer} -> {reader}"
        );
    }
    let message = &findings("\"int\"", "\"long\"")[0].message;
    assert!(
        message.contains("int") && message.contains("long"),
        "{message}"
    );
}

#[test]
fn array_items_are_checked_at_items() {
    let reader = r#"{"type":"array","items":"int"}"#;
    let writer = r#"{"type":"array","items":"string"}"#;
    assert_eq!(
        check(reader, writer),
        one("TYPE_MISMATCH", "/items", "/items")
    );
    assert!(
        check(
            r#"{"type":"array","items":"long"}"#,
            r#"{"type":"array","items":"int"}"#
        )
        .is_empty()
    );
}

#[test]
fn map_values_are_checked_at_values() {
    let reader = r#"{"type":"map","values":"int"}"#;
    let writer = r#"{"type":"map","values":"boolean"}"#;
    assert_eq!(
        check(reader, writer),
        one("TYPE_MISMATCH", "/values", "/values")
    );
}

#[test]
fn array_versus_map_is_a_type_mismatch() {
    let reader = r#"{"type":"array","items":"int"}"#;
    let writer = r#"{"type":"map","values":"int"}"#;
    assert_eq!(check(reader, writer), one("TYPE_MISMATCH", "/", "/"));
}

#[test]
fn fixed_names_and_sizes() {
    let f = |name: &str, size: u32| format!(r#"{{"type":"fixed","name":"{name}","size":{size}}}"#);
    assert!(check(&f("F", 4), &f("F", 4)).is_empty());
    assert_eq!(
        check(&f("F", 8), &f("F", 4)),
        one("FIXED_SIZE_MISMATCH", "/size", "/size")
    );
    assert_eq!(
        check(&f("G", 4), &f("F", 4)),
        one("NAME_MISMATCH", "/name", "/name")
    );
    assert_eq!(
        check(&f("G", 8), &f("F", 4)),
        vec![
            ("NAME_MISMATCH", "/name".to_owned(), "/name".to_owned()),
            (
                "FIXED_SIZE_MISMATCH",
                "/size".to_owned(),
                "/size".to_owned()
            ),
        ]
    );
    let message = &findings(&f("F", 8), &f("F", 4))[0].message;
    assert!(message.contains('8') && message.contains('4'), "{message}");
}

#[test]
fn enum_symbols_missing_in_reader() {
    let reader = r#"{"type":"enum","name":"Suit","symbols":["SPADES","HEARTS"]}"#;
    let writer =
        r#"{"type":"enum","name":"Suit","symbols":["SPADES","HEARTS","CLUBS","DIAMONDS"]}"#;
    let found = findings(reader, writer);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, AvroIncompatibilityKind::MissingEnumSymbols);
    assert_eq!(found[0].reader_path, "/symbols");
    assert_eq!(found[0].writer_path, "/symbols");
    assert!(
        found[0].message.contains("[CLUBS, DIAMONDS]"),
        "{}",
        found[0].message
    );
    // Adding symbols on the reader side is fine.
    assert!(check(writer, reader).is_empty());
}

#[test]
fn reader_enum_default_forgives_missing_symbols() {
    let reader =
        r#"{"type":"enum","name":"Suit","symbols":["SPADES","UNKNOWN"],"default":"UNKNOWN"}"#;
    let writer = r#"{"type":"enum","name":"Suit","symbols":["SPADES","HEARTS"]}"#;
    assert!(check(reader, writer).is_empty());
    // A writer default does not help the reader.
    let reader = r#"{"type":"enum","name":"Suit","symbols":["SPADES"]}"#;
    let writer =
        r#"{"type":"enum","name":"Suit","symbols":["SPADES","HEARTS"],"default":"SPADES"}"#;
    assert_eq!(
        check(reader, writer),
        one("MISSING_ENUM_SYMBOLS", "/symbols", "/symbols")
    );
}

#[test]
fn enum_name_mismatch() {
    let reader = r#"{"type":"enum","name":"A","symbols":["X"]}"#;
    let writer = r#"{"type":"enum","name":"B","symbols":["X"]}"#;
    assert_eq!(
        check(reader, writer),
        one("NAME_MISMATCH", "/name", "/name")
    );
}

#[test]
fn reader_field_without_default_missing_in_writer() {
    let reader = record(
        "R",
        r#"{"name":"id","type":"int"},{"name":"qty","type":"int"}"#,
    );
    let writer = record("R", r#"{"name":"id","type":"int"}"#);
    let found = findings(&reader, &writer);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].kind,
        AvroIncompatibilityKind::ReaderFieldMissingDefaultValue
    );
    assert_eq!(found[0].reader_path, "/fields/1");
    assert_eq!(found[0].writer_path, "/");
    assert_eq!(
        found[0].message,
        "The field 'qty' at path '/fields/1' in the reader schema has no default value and is \
         missing in the writer schema"
    );
}

#[test]
fn reader_field_with_default_missing_in_writer_is_fine() {
    let reader = record(
        "R",
        r#"{"name":"id","type":"int"},{"name":"qty","type":"int","default":0}"#,
    );
    let writer = record("R", r#"{"name":"id","type":"int"}"#);
    assert!(check(&reader, &writer).is_empty());
}

#[test]
fn writer_only_fields_are_ignored() {
    let reader = record("R", r#"{"name":"id","type":"int"}"#);
    let writer = record(
        "R",
        r#"{"name":"id","type":"int"},{"name":"extra","type":"string"}"#,
    );
    assert!(check(&reader, &writer).is_empty());
}

#[test]
fn field_types_are_compared_with_each_sides_positions() {
    let reader = record(
        "R",
        r#"{"name":"a","type":"string"},{"name":"b","type":"int"}"#,
    );
    let writer = record(
        "R",
        r#"{"name":"b","type":"string"},{"name":"a","type":"string"}"#,
    );
    assert_eq!(
        check(&reader, &writer),
        one("TYPE_MISMATCH", "/fields/1/type", "/fields/0/type")
    );
}

#[test]
fn reader_field_aliases_match_writer_fields() {
    let reader = record(
        "R",
        r#"{"name":"new_name","type":"long","aliases":["old_name"]}"#,
    );
    let writer = record(
        "R",
        r#"{"name":"other","type":"int"},{"name":"old_name","type":"int"}"#,
    );
    assert!(check(&reader, &writer).is_empty());
    let writer = record(
        "R",
        r#"{"name":"other","type":"int"},{"name":"old_name","type":"string"}"#,
    );
    assert_eq!(
        check(&reader, &writer),
        one("TYPE_MISMATCH", "/fields/0/type", "/fields/1/type")
    );
    // Writer field aliases do not count.
    let reader = record("R", r#"{"name":"new_name","type":"int"}"#);
    let writer = record(
        "R",
        r#"{"name":"old_name","type":"int","aliases":["new_name"]}"#,
    );
    assert_eq!(
        check(&reader, &writer),
        one("READER_FIELD_MISSING_DEFAULT_VALUE", "/fields/0", "/")
    );
}

#[test]
fn reader_field_matching_two_writer_fields_is_reported() {
    let reader = record("R", r#"{"name":"a","type":"int","aliases":["b"]}"#);
    let writer = record(
        "R",
        r#"{"name":"a","type":"int"},{"name":"b","type":"int"}"#,
    );
    let found = findings(&reader, &writer);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].reader_path, "/fields/0");
    assert!(
        found[0].message.contains("several writer fields"),
        "{}",
        found[0].message
    );
}

#[test]
fn record_names_compare_unqualified() {
    let reader = r#"{"type":"record","name":"Rec","namespace":"ns1","fields":[]}"#;
    let writer = r#"{"type":"record","name":"Rec","namespace":"ns2","fields":[]}"#;
    assert!(check(reader, writer).is_empty());
    let writer = r#"{"type":"record","name":"ns3.Rec","fields":[]}"#;
    assert!(check(reader, writer).is_empty());
}

#[test]
fn renamed_record_without_alias_is_a_name_mismatch() {
    let reader = record("New", r#"{"name":"a","type":"int"}"#);
    let writer = record("Old", r#"{"name":"a","type":"int"}"#);
    let found = findings(&reader, &writer);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, AvroIncompatibilityKind::NameMismatch);
    assert_eq!(found[0].reader_path, "/name");
    assert!(
        found[0].message.contains("expected: Old"),
        "{}",
        found[0].message
    );
}

#[test]
fn reader_type_alias_must_name_the_writers_full_name() {
    let writer = r#"{"type":"record","name":"Old","namespace":"ns","fields":[]}"#;
    // Unqualified alias resolves in the reader's namespace: ns.Old.
    let reader = r#"{"type":"record","name":"New","namespace":"ns","aliases":["Old"],"fields":[]}"#;
    assert!(check(reader, writer).is_empty());
    let reader =
        r#"{"type":"record","name":"New","namespace":"other","aliases":["ns.Old"],"fields":[]}"#;
    assert!(check(reader, writer).is_empty());
    // An alias in the wrong namespace does not match.
    let reader =
        r#"{"type":"record","name":"New","namespace":"other","aliases":["Old"],"fields":[]}"#;
    assert_eq!(
        check(reader, writer),
        one("NAME_MISMATCH", "/name", "/name")
    );
    // Writer aliases never count.
    let reader = r#"{"type":"record","name":"New","namespace":"ns","fields":[]}"#;
    let writer = r#"{"type":"record","name":"Old","namespace":"ns","aliases":["New"],"fields":[]}"#;
    assert_eq!(
        check(reader, writer),
        one("NAME_MISMATCH", "/name", "/name")
    );
}

#[test]
fn error_and_record_are_the_same_kind() {
    let reader = r#"{"type":"error","name":"E","fields":[]}"#;
    let writer = r#"{"type":"record","name":"E","fields":[]}"#;
    assert!(check(reader, writer).is_empty());
}

#[test]
fn named_kinds_do_not_mix() {
    let reader = r#"{"type":"fixed","name":"X","size":4}"#;
    let writer = r#"{"type":"enum","name":"X","symbols":["A"]}"#;
    assert_eq!(check(reader, writer), one("TYPE_MISMATCH", "/", "/"));
}

#[test]
fn union_to_union_reports_each_unreadable_writer_branch() {
    let reader = r#"["null","int"]"#;
    let writer = r#"["null","int","string","boolean"]"#;
    assert_eq!(
        check(reader, writer),
        vec![
            ("MISSING_UNION_BRANCH", "/2".to_owned(), "/2".to_owned()),
            ("MISSING_UNION_BRANCH", "/3".to_owned(), "/3".to_owned()),
        ]
    );
    assert!(check(writer, reader).is_empty(), "adding branches is fine");
    // Branch order does not matter; promotions apply per branch.
    assert!(check(r#"["string","long","null"]"#, r#"["null","int"]"#).is_empty());
}

#[test]
fn union_writer_to_non_union_reader_checks_every_branch() {
    assert_eq!(
        check("\"int\"", r#"["int","string"]"#),
        one("TYPE_MISMATCH", "/1", "/1")
    );
    assert!(check("\"long\"", r#"["int","long"]"#).is_empty());
    assert_eq!(
        check("\"int\"", r#"["null","string"]"#),
        vec![
            ("TYPE_MISMATCH", "/0".to_owned(), "/0".to_owned()),
            ("TYPE_MISMATCH", "/1".to_owned(), "/1".to_owned()),
        ]
    );
}

#[test]
fn non_union_writer_needs_some_reader_branch() {
    assert_eq!(
        check(r#"["null","string"]"#, "\"int\""),
        one("MISSING_UNION_BRANCH", "/", "/")
    );
    // Java tries every branch, not only the first one of the same kind.
    assert!(check(r#"["string","long"]"#, "\"int\"").is_empty());
    assert!(check(r#"["null","int"]"#, "\"int\"").is_empty());
    let found = findings(r#"["null","string"]"#, "\"int\"");
    assert!(found[0].message.contains("int"), "{}", found[0].message);
}

#[test]
fn optional_field_evolution() {
    // T -> ["null", T]: BACKWARD ok, FORWARD not.
    let old = record("R", r#"{"name":"a","type":"string"}"#);
    let new = record(
        "R",
        r#"{"name":"a","type":["null","string"],"default":null}"#,
    );
    assert!(check(&new, &old).is_empty());
    assert_eq!(
        check(&old, &new),
        one("TYPE_MISMATCH", "/fields/0/type/0", "/fields/0/type/0")
    );
}

#[test]
fn records_inside_unions_are_checked() {
    let reader = format!(
        r#"["null",{}]"#,
        record(
            "R",
            r#"{"name":"a","type":"int"},{"name":"b","type":"int"}"#
        )
    );
    let writer = format!(
        r#"["null",{}]"#,
        record("R", r#"{"name":"a","type":"int"}"#)
    );
    assert_eq!(
        check(&reader, &writer),
        one("MISSING_UNION_BRANCH", "/1", "/1")
    );
    // As a plain writer the record's own finding is reported.
    let writer = record("R", r#"{"name":"a","type":"int"}"#);
    assert_eq!(
        check(&reader, &writer),
        one("MISSING_UNION_BRANCH", "/", "/")
    );
}

#[test]
fn logical_types_are_ignored() {
    let dec = |p: u32, s: u32| {
        format!(r#"{{"type":"bytes","logicalType":"decimal","precision":{p},"scale":{s}}}"#)
    };
    assert!(check(&dec(12, 4), &dec(10, 2)).is_empty());
    assert!(check(&dec(4, 2), &dec(10, 2)).is_empty());
    assert!(
        check(
            r#"{"type":"long","logicalType":"timestamp-millis"}"#,
            "\"long\""
        )
        .is_empty()
    );
    assert!(
        check(
            "\"long\"",
            r#"{"type":"long","logicalType":"timestamp-micros"}"#
        )
        .is_empty()
    );
    assert!(check(r#"{"type":"string","logicalType":"uuid"}"#, "\"string\"").is_empty());
    // The underlying types still matter.
    assert_eq!(
        check(
            r#"{"type":"int","logicalType":"date"}"#,
            r#"{"type":"long","logicalType":"timestamp-millis"}"#
        ),
        one("TYPE_MISMATCH", "/", "/")
    );
}

#[test]
fn reader_enum_field_with_enum_default_missing_in_writer_is_still_an_error() {
    let reader = record(
        "R",
        r#"{"name":"a","type":"int"},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}}"#,
    );
    let writer = record("R", r#"{"name":"a","type":"int"}"#);
    assert_eq!(
        check(&reader, &writer),
        one("TYPE_MISMATCH", "/fields/1/type", "/")
    );
}

#[test]
fn recursive_types_terminate_and_are_compatible_with_themselves() {
    let list = r#"{"type":"record","name":"Node","fields":[{"name":"value","type":"int"},{"name":"next","type":["null","Node"],"default":null}]}"#;
    assert!(check(list, list).is_empty());
    let wider = r#"{"type":"record","name":"Node","fields":[{"name":"value","type":"long"},{"name":"next","type":["null","Node"],"default":null}]}"#;
    assert!(check(wider, list).is_empty());
    assert_eq!(
        check(list, wider),
        one("TYPE_MISMATCH", "/fields/0/type", "/fields/0/type")
    );
}

#[test]
fn mutually_recursive_types_terminate() {
    let tree = |leaf: &str| {
        format!(
            r#"{{"type":"record","name":"Tree","fields":[{{"name":"kids","type":{{"type":"array","items":{{"type":"record","name":"Branch","fields":[{{"name":"leaf","type":"{leaf}"}},{{"name":"sub","type":["null","Tree"],"default":null}}]}}}}}}]}}"#
        )
    };
    assert!(check(&tree("long"), &tree("int")).is_empty());
    assert_eq!(
        check(&tree("int"), &tree("long")),
        one(
            "TYPE_MISMATCH",
            "/fields/0/type/items/fields/0/type",
            "/fields/0/type/items/fields/0/type"
        )
    );
}

#[test]
fn every_finding_is_returned() {
    let reader = record(
        "R",
        r#"{"name":"a","type":"int"},{"name":"b","type":"string"},{"name":"c","type":{"type":"enum","name":"E","symbols":["X"]}},{"name":"d","type":"double"}"#,
    );
    let writer = record(
        "R",
        r#"{"name":"a","type":"long"},{"name":"c","type":{"type":"enum","name":"E","symbols":["X","Y"]}}"#,
    );
    assert_eq!(
        check(&reader, &writer),
        vec![
            (
                "TYPE_MISMATCH",
                "/fields/0/type".to_owned(),
                "/fields/0/type".to_owned()
            ),
            (
                "READER_FIELD_MISSING_DEFAULT_VALUE",
                "/fields/1".to_owned(),
                "/".to_owned()
            ),
            (
                "MISSING_ENUM_SYMBOLS",
                "/fields/2/type/symbols".to_owned(),
                "/fields/1/type/symbols".to_owned()
            ),
            (
                "READER_FIELD_MISSING_DEFAULT_VALUE",
                "/fields/3".to_owned(),
                "/".to_owned()
            ),
        ]
    );
}

#[test]
fn a_named_pair_met_twice_is_reported_where_first_met_like_java() {
    let inner_old = r#"{"type":"record","name":"In","fields":[{"name":"x","type":"long"}]}"#;
    let inner_new = r#"{"type":"record","name":"In","fields":[{"name":"x","type":"int"}]}"#;
    let reader = record(
        "R",
        &format!(r#"{{"name":"a","type":{inner_new}}},{{"name":"b","type":"In"}}"#),
    );
    let writer = record(
        "R",
        &format!(r#"{{"name":"a","type":{inner_old}}},{{"name":"b","type":"In"}}"#),
    );
    let expected = (
        "TYPE_MISMATCH",
        "/fields/0/type/fields/0/type".to_owned(),
        "/fields/0/type/fields/0/type".to_owned(),
    );
    assert_eq!(check(&reader, &writer), vec![expected.clone(), expected]);
}

#[test]
fn paths_escape_json_pointer_characters_never_needed_for_valid_names() {
    // Names cannot contain '/' or '~', so paths are plain; this pins the root form.
    assert_eq!(check("\"int\"", "\"string\"")[0].1, "/");
}

#[test]
fn wide_records_check_quickly() {
    let fields = |ty: &str| {
        (0..500)
            .map(|i| format!(r#"{{"name":"f{i}","type":"{ty}"}}"#))
            .collect::<Vec<_>>()
            .join(",")
    };
    let reader = schema(&record("Wide", &fields("long")));
    let writer = schema(&record("Wide", &fields("int")));
    let start = Instant::now();
    for _ in 0..10 {
        assert!(check_reader_writer(&reader, &writer).is_empty());
    }
    let each = start.elapsed() / 10;
    // Well under 1 ms in release; a generous bound here so unoptimised builds pass too.
    assert!(each < Duration::from_millis(20), "took {each:?}");
}
