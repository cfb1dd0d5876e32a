//! Canonical string (Java `Schema.toString()`), normalized string, Parsing Canonical Form
//! and fingerprints, against the spec's and Java's known outputs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eventschema_core::avro::AvroSchema;
use eventschema_core::{Limits, ReferencedSchema};

fn parse(text: &str) -> AvroSchema {
    AvroSchema::parse(text, &[], &Limits::DEFAULT)
        .unwrap_or_else(|err| panic!("should parse: {err}\n{text}"))
}

fn canonical(text: &str) -> String {
    parse(text).canonical_string()
}

/// The spec's test data (`share/test/data/schema-tests.txt`): input, Parsing Canonical Form
/// and, where given, the Rabin fingerprint as Java's signed long.
const SPEC_CASES: &[(&str, &str, Option<i64>)] = &[
    (r#""null""#, r#""null""#, Some(7195948357588979594)),
    (r#"{"type":"null"}"#, r#""null""#, None),
    (r#""boolean""#, r#""boolean""#, Some(-6970731678124411036)),
    (r#"{"type":"boolean"}"#, r#""boolean""#, None),
    (r#""int""#, r#""int""#, Some(8247732601305521295)),
    (r#"{"type":"int"}"#, r#""int""#, None),
    (r#""long""#, r#""long""#, Some(-3434872931120570953)),
    (r#"{"type":"long"}"#, r#""long""#, None),
    (r#""float""#, r#""float""#, Some(5583340709985441680)),
    (r#"{"type":"float"}"#, r#""float""#, None),
    (r#""double""#, r#""double""#, Some(-8181574048448539266)),
    (r#"{"type":"double"}"#, r#""double""#, None),
    (r#""bytes""#, r#""bytes""#, Some(5746618253357095269)),
    (r#"{"type":"bytes"}"#, r#""bytes""#, None),
    (r#""string""#, r#""string""#, Some(-8142146995180207161)),
    (r#"{"type":"string"}"#, r#""string""#, None),
    ("[  ]", "[]", Some(-1241056759729112623)),
    (r#"[ "int"  ]"#, r#"["int"]"#, Some(-5232228896498058493)),
    (
        r#"[ "int" , {"type":"boolean"} ]"#,
        r#"["int","boolean"]"#,
        Some(5392556393470105090),
    ),
    (
        r#"{"fields":[], "type":"record", "name":"foo"}"#,
        r#"{"name":"foo","type":"record","fields":[]}"#,
        Some(-4824392279771201922),
    ),
    (
        r#"{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}"#,
        r#"{"name":"x.y.foo","type":"record","fields":[]}"#,
        Some(5916914534497305771),
    ),
    (
        r#"{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}"#,
        r#"{"name":"a.b.foo","type":"record","fields":[]}"#,
        Some(-4616218487480524110),
    ),
    (
        r#"{"fields":[], "type":"record", "name":"foo", "doc":"Useful info"}"#,
        r#"{"name":"foo","type":"record","fields":[]}"#,
        Some(-4824392279771201922),
    ),
    (
        r#"{"fields":[], "type":"record", "name":"foo", "aliases":["foo","bar"]}"#,
        r#"{"name":"foo","type":"record","fields":[]}"#,
        Some(-4824392279771201922),
    ),
    (
        r#"{"fields":[], "type":"record", "name":"foo", "doc":"foo", "aliases":["foo","bar"]}"#,
        r#"{"name":"foo","type":"record","fields":[]}"#,
        Some(-4824392279771201922),
    ),
    (
        r#"{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"}"#,
        r#"{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}"#,
        Some(7843277075252814651),
    ),
    // The spec file gives f1 the default "true" (a string); with default validation on, as
    // the registry parses, that is rejected, so the boolean default is used here. The PCF
    // drops defaults, so the fingerprint is the spec's.
    (
        r#"{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":true},
            {"order":"descending","name":"f2","doc":"Hello","type":"int"}],
          "type":"record", "name":"foo"}"#,
        r#"{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}"#,
        Some(-4860222112080293046),
    ),
    (
        r#"{"type":"enum", "name":"foo", "symbols":["A1"]}"#,
        r#"{"name":"foo","type":"enum","symbols":["A1"]}"#,
        Some(-6342190197741309591),
    ),
    (
        r#"{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}"#,
        r#"{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}"#,
        Some(-4448647247586288245),
    ),
    (
        r#"{"name":"foo","type":"fixed","size":15}"#,
        r#"{"name":"foo","type":"fixed","size":15}"#,
        Some(1756455273707447556),
    ),
    (
        r#"{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}"#,
        r#"{"name":"x.y.z.foo","type":"fixed","size":32}"#,
        Some(-3064184465700546786),
    ),
    (
        r#"{ "items":{"type":"null"}, "type":"array"}"#,
        r#"{"type":"array","items":"null"}"#,
        Some(-589620603366471059),
    ),
    (
        r#"{ "values":"string", "type":"map"}"#,
        r#"{"type":"map","values":"string"}"#,
        Some(-8732877298790414990),
    ),
    (
        r#"{"name":"PigValue","type":"record",
           "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}"#,
        r#"{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}"#,
        Some(-1759257747318642341),
    ),
];

#[test]
fn parsing_canonical_form_and_rabin_fingerprints_match_the_spec() {
    for (input, pcf, fingerprint) in SPEC_CASES {
        let schema = parse(input);
        assert_eq!(&schema.parsing_canonical_form(), pcf, "PCF of {input}");
        if let Some(expected) = fingerprint {
            assert_eq!(
                schema.fingerprint_rabin(),
                *expected as u64,
                "fingerprint of {input}"
            );
        }
    }
}

#[test]
fn pcf_of_nested_and_logical_types() {
    let schema = parse(
        r#"{"type":"error","name":"E","namespace":"n","fields":[
            {"name":"a","type":{"type":"long","logicalType":"timestamp-millis"},"default":0},
            {"name":"b","type":{"type":"enum","name":"K","symbols":["X"]}},
            {"name":"c","type":"K"},
            {"name":"d","type":{"type":"fixed","name":"o.F","size":2}}]}"#,
    );
    assert_eq!(
        schema.parsing_canonical_form(),
        r#"{"name":"n.E","type":"record","fields":[{"name":"a","type":"long"},{"name":"b","type":{"name":"n.K","type":"enum","symbols":["X"]}},{"name":"c","type":"n.K"},{"name":"d","type":{"name":"o.F","type":"fixed","size":2}}]}"#
    );
}

#[test]
fn sha256_and_md5_fingerprints() {
    let schema = parse(r#"{"type":"int"}"#);
    assert_eq!(
        hex::encode(schema.fingerprint_sha256()),
        "3f2b87a9fe7cc9b13835598c3981cd45e3e355309e5090aa0933d7becb6fba45"
    );
    assert_eq!(
        hex::encode(schema.fingerprint_md5()),
        "ef524ea1b91e73173d938ade36c1db32"
    );
    let schema = parse(r#"{"fields":[], "type":"record", "name":"foo", "doc":"x"}"#);
    assert_eq!(
        hex::encode(schema.fingerprint_sha256()),
        "ac35c07ecd88fe52d0a310135a01329b012c45ade36dd8b4880effb55b7f725c"
    );
    assert_eq!(
        hex::encode(schema.fingerprint_md5()),
        "aea8d9d0e93c3a26749ee0373dc49d35"
    );
}

#[test]
fn canonical_primitives() {
    assert_eq!(canonical(r#"{"type":"string"}"#), r#""string""#);
    assert_eq!(canonical(r#" "long" "#), r#""long""#);
    // Reserved attributes on a primitive are dropped, other properties keep the object form.
    assert_eq!(canonical(r#"{"type":"int","doc":"ignored"}"#), r#""int""#);
    assert_eq!(
        canonical(r#"{"type":"string","avro.java.string":"String"}"#),
        r#"{"type":"string","avro.java.string":"String"}"#
    );
    assert_eq!(
        canonical(r#"{"logicalType":"date","type":"int"}"#),
        r#"{"type":"int","logicalType":"date"}"#
    );
    assert_eq!(
        canonical(r#"{"type":"bytes","scale":2,"logicalType":"decimal","precision":4}"#),
        r#"{"type":"bytes","scale":2,"logicalType":"decimal","precision":4}"#
    );
}

#[test]
fn canonical_record_attribute_order_and_namespaces() {
    let text = r#"{
      "fields": [
        {"type": {"type": "string"}, "name": "name", "doc": "the name"},
        {"default": 1, "type": "int", "name": "n", "aliases": ["count", "num"], "order": "ignore", "x": [1]},
        {"name": "inner", "type": {"fields": [], "name": "Inner", "type": "record"}},
        {"name": "again", "type": "Inner"},
        {"name": "far", "type": {"type": "enum", "name": "Far", "namespace": "other", "symbols": ["A"]}},
        {"name": "farRef", "type": "other.Far"},
        {"name": "top", "type": {"type": "fixed", "name": "Top", "namespace": "", "size": 2}}
      ],
      "custom": "kept",
      "aliases": ["OldUser", "legacy.User"],
      "doc": "A user",
      "name": "User",
      "namespace": "com.acme",
      "type": "record"
    }"#;
    assert_eq!(
        canonical(text),
        concat!(
            r#"{"type":"record","name":"User","namespace":"com.acme","doc":"A user","fields":["#,
            r#"{"name":"name","type":"string","doc":"the name"},"#,
            r#"{"name":"n","type":"int","default":1,"order":"ignore","aliases":["count","num"],"x":[1]},"#,
            r#"{"name":"inner","type":{"type":"record","name":"Inner","fields":[]}},"#,
            r#"{"name":"again","type":"Inner"},"#,
            r#"{"name":"far","type":{"type":"enum","name":"Far","namespace":"other","symbols":["A"]}},"#,
            r#"{"name":"farRef","type":"other.Far"},"#,
            r#"{"name":"top","type":{"type":"fixed","name":"Top","namespace":"","size":2}}],"#,
            r#""custom":"kept","aliases":["OldUser","legacy.User"]}"#
        )
    );
}

#[test]
fn canonical_dotted_name_and_enum_and_fixed() {
    assert_eq!(
        canonical(
            r#"{"type":"record","name":"a.b.R","fields":[{"name":"e","type":{"type":"enum","name":"E","doc":"d","symbols":["X","Y"],"default":"Y","aliases":["a.b.Old"],"p":true}}]}"#
        ),
        r#"{"type":"record","name":"R","namespace":"a.b","fields":[{"name":"e","type":{"type":"enum","name":"E","doc":"d","symbols":["X","Y"],"default":"Y","p":true,"aliases":["Old"]}}]}"#
    );
    assert_eq!(
        canonical(r#"{"size":16,"name":"MD5","type":"fixed","doc":"hash","aliases":["Hash"]}"#),
        r#"{"type":"fixed","name":"MD5","doc":"hash","size":16,"aliases":["Hash"]}"#
    );
    assert_eq!(
        canonical(r#"{"type":"error","name":"Oops","fields":[{"name":"why","type":"string"}]}"#),
        r#"{"type":"error","name":"Oops","fields":[{"name":"why","type":"string"}]}"#
    );
}

#[test]
fn canonical_recursive_reference_is_written_by_name() {
    assert_eq!(
        canonical(
            r#"{"type":"record","name":"n.Node","fields":[{"name":"next","type":["null","Node"],"default":null},{"name":"kids","type":{"type":"array","items":"n.Node"}}]}"#
        ),
        r#"{"type":"record","name":"Node","namespace":"n","fields":[{"name":"next","type":["null","Node"],"default":null},{"name":"kids","type":{"type":"array","items":"Node"}}]}"#
    );
}

#[test]
fn canonical_names_that_are_type_names_stay_qualified() {
    assert_eq!(
        canonical(
            r#"{"type":"record","name":"ns.R","fields":[{"name":"a","type":{"type":"fixed","name":"record","size":1}},{"name":"b","type":"ns.record"}]}"#
        ),
        r#"{"type":"record","name":"R","namespace":"ns","fields":[{"name":"a","type":{"type":"fixed","name":"record","size":1}},{"name":"b","type":"ns.record"}]}"#
    );
}

#[test]
fn canonical_defaults_and_numbers_as_jackson_writes_them() {
    assert_eq!(
        canonical(
            r#"{"type":"record","name":"R","fields":[
            {"name":"a","type":"double","default":1e-5},
            {"name":"b","type":"double","default":100.0},
            {"name":"c","type":"double","default":1e7},
            {"name":"d","type":"double","default":0.001},
            {"name":"e","type":"float","default":"NaN"},
            {"name":"f","type":"double","default":"1.5"},
            {"name":"g","type":"long","default":9007199254740993},
            {"name":"h","type":{"type":"map","values":"double"},"default":{"k":-2.5E-10}}]}"#
        ),
        concat!(
            r#"{"type":"record","name":"R","fields":["#,
            r#"{"name":"a","type":"double","default":1.0E-5},"#,
            r#"{"name":"b","type":"double","default":100.0},"#,
            r#"{"name":"c","type":"double","default":1.0E7},"#,
            r#"{"name":"d","type":"double","default":0.001},"#,
            r#"{"name":"e","type":"float","default":"NaN"},"#,
            r#"{"name":"f","type":"double","default":1.5},"#,
            r#"{"name":"g","type":"long","default":9007199254740993},"#,
            r#"{"name":"h","type":{"type":"map","values":"double"},"default":{"k":-2.5E-10}}]}"#
        )
    );
}

#[test]
fn canonical_string_escapes_like_jackson() {
    assert_eq!(
        canonical(
            "{\"type\":\"record\",\"name\":\"R\",\"doc\":\"say \\\"hi\\\"\\n\\u0001/é\",\"fields\":[]}"
        ),
        "{\"type\":\"record\",\"name\":\"R\",\"doc\":\"say \\\"hi\\\"\\n\\u0001/é\",\"fields\":[]}"
    );
}

#[test]
fn canonical_writes_dependency_types_by_name() {
    let deps = vec![ReferencedSchema {
        name: "com.acme.Address".into(),
        schema: r#"{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"zip","type":{"type":"enum","name":"Zone","symbols":["N","S"]}}]}"#.into(),
    }];
    let schema = AvroSchema::parse(
        r#"{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"ship","type":"Address"},{"name":"zone","type":"com.acme.Zone"},{"name":"bill","type":["null","other.Thing","com.acme.Address"]}]}"#
            .replace("\"other.Thing\",", "")
            .as_str(),
        &deps,
        &Limits::DEFAULT,
    )
    .unwrap();
    assert_eq!(
        schema.canonical_string(),
        r#"{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"ship","type":"Address"},{"name":"zone","type":"Zone"},{"name":"bill","type":["null","Address"]}]}"#
    );
    // The PCF is self-contained: dependencies are expanded.
    assert!(
        schema
            .parsing_canonical_form()
            .contains(r#"{"name":"com.acme.Address","type":"record""#)
    );
    // The canonical string re-parses with the same dependencies to the same string.
    let again = AvroSchema::parse(&schema.canonical_string(), &deps, &Limits::DEFAULT).unwrap();
    assert_eq!(again.canonical_string(), schema.canonical_string());
    // So does the normalized string; here it equals the canonical one.
    assert_eq!(schema.normalized_string(), schema.canonical_string());
}

#[test]
fn canonical_string_is_stable_under_reparsing() {
    for text in [
        r#"{"type":"record","name":"a.R","fields":[{"name":"x","type":{"type":"record","name":"b.S","fields":[{"name":"y","type":{"type":"record","name":"T","namespace":"","fields":[{"name":"z","type":"a.R"}]}}]}}]}"#,
        r#"["null",{"type":"map","values":{"type":"array","items":{"type":"fixed","name":"F","size":1}}},"F"]"#,
    ] {
        let first = canonical(text);
        assert_eq!(canonical(&first), first, "{text}");
    }
}

#[test]
fn normalized_string_dedupes_cosmetic_variants() {
    let variants = [
        r#"{"type":"record","name":"com.acme.User","aliases":["B","A"],"fields":[{"name":"id","type":{"type":"long"},"z":1,"a":2},{"name":"tags","type":{"type":"array","items":"string"},"default":[]}],"x":1,"b":2}"#,
        r#"{"namespace":"com.acme","name":"User","type":"record","b":2,"x":1,"aliases":["com.acme.A","B"],"fields":[{"type":"long","name":"id","a":2,"z":1},{"default":[],"name":"tags","type":{"items":{"type":"string"},"type":"array"}}]}"#,
        r#"
        {
          "type": "record", "name": "User", "namespace": "com.acme",
          "fields": [ {"name": "id", "type": "long", "order": "ascending", "z": 1, "a": 2},
                      {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []} ],
          "aliases": ["A", "B"], "x": 1, "b": 2
        }"#,
    ];
    let normalized: Vec<String> = variants
        .iter()
        .map(|v| parse(v).normalized_string())
        .collect();
    assert_eq!(
        normalized[0],
        concat!(
            r#"{"type":"record","name":"User","namespace":"com.acme","fields":["#,
            r#"{"name":"id","type":"long","a":2,"z":1},"#,
            r#"{"name":"tags","type":{"type":"array","items":"string"},"default":[]}],"#,
            r#""b":2,"x":1,"aliases":["A","B"]}"#
        )
    );
    assert_eq!(normalized[0], normalized[1]);
    assert_eq!(normalized[0], normalized[2]);
    // Different meaning stays different (field order).
    let swapped = parse(
        r#"{"type":"record","name":"com.acme.User","aliases":["A","B"],"fields":[{"name":"tags","type":{"type":"array","items":"string"},"default":[]},{"name":"id","type":"long","z":1,"a":2}],"x":1,"b":2}"#,
    );
    assert_ne!(swapped.normalized_string(), normalized[0]);
}

#[test]
fn normalized_string_converts_defaults_to_the_field_type() {
    let schema = parse(
        r#"{"type":"record","name":"R","fields":[{"name":"d","type":"double","default":1},{"name":"f","type":"float","default":0.1},{"name":"u","type":["double","null"],"default":2}]}"#,
    );
    assert_eq!(
        schema.normalized_string(),
        r#"{"type":"record","name":"R","fields":[{"name":"d","type":"double","default":1.0},{"name":"f","type":"float","default":0.1},{"name":"u","type":["double","null"],"default":2.0}]}"#
    );
}

#[test]
fn normalized_string_orders_logical_type_attributes_first() {
    let schema = parse(
        r#"{"type":"bytes","precision":4,"connect.name":"x","logicalType":"decimal","scale":2}"#,
    );
    assert_eq!(
        schema.normalized_string(),
        r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":2,"connect.name":"x"}"#
    );
}

#[test]
fn normalized_string_keeps_null_namespace_types_in_the_null_namespace() {
    let schema = parse(
        r#"{"type":"record","name":"a.R","fields":[{"name":"t","type":{"type":"record","name":"T","namespace":"","fields":[]}}]}"#,
    );
    let normalized = parse(&schema.normalized_string());
    assert_eq!(
        normalized.parsing_canonical_form(),
        schema.parsing_canonical_form()
    );
}
