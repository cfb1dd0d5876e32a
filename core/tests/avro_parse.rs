//! Parser behaviour: what Java's `Schema.Parser` accepts is accepted, and every rejection is
//! a `SchemaError::Invalid` with a JSON pointer to the problem and a message naming it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eventschema_core::avro::{AvroSchema, LogicalType, NamedKind, Order, Primitive, Schema};
use eventschema_core::{Limits, ReferencedSchema, SchemaError};

fn parse(text: &str) -> Result<AvroSchema, SchemaError> {
    AvroSchema::parse(text, &[], &Limits::DEFAULT)
}

fn ok(text: &str) -> AvroSchema {
    parse(text).unwrap_or_else(|err| panic!("should parse: {err}\n{text}"))
}

/// Asserts an `Invalid` error at `path` whose message contains every `needle`.
fn invalid(text: &str, path: &str, needles: &[&str]) {
    match parse(text) {
        Err(SchemaError::Invalid { path: got, message }) => {
            assert_eq!(got, path, "wrong path for {text}: {message}");
            for needle in needles {
                assert!(
                    message.contains(needle),
                    "message for {text} lacks '{needle}': {message}"
                );
            }
        }
        other => panic!("expected Invalid at {path} for {text}, got {other:?}"),
    }
}

#[test]
fn primitives_by_name_and_object() {
    for p in [
        "null", "boolean", "int", "long", "float", "double", "bytes", "string",
    ] {
        let by_name = ok(&format!("\"{p}\""));
        let by_object = ok(&format!("{{\"type\":\"{p}\"}}"));
        assert_eq!(by_name.root(), by_object.root());
        assert!(matches!(by_name.root(), Schema::Primitive { kind, .. } if kind.name() == p));
    }
}

#[test]
fn full_record_model() {
    let s = ok(
        r#"{"type":"record","name":"User","namespace":"com.acme","doc":"a user",
        "aliases":["Person","old.People"],
        "fields":[
          {"name":"id","type":"long","order":"descending"},
          {"name":"tags","type":{"type":"array","items":"string"},"default":[]},
          {"name":"attrs","type":{"type":"map","values":"int"},"default":{"a":1}},
          {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"],"default":"A"}},
          {"name":"hash","type":{"type":"fixed","name":"Hash","size":16}},
          {"name":"when","type":{"type":"long","logicalType":"timestamp-millis"}},
          {"name":"opt","type":["null","string"],"default":null,"aliases":["maybe"],"x-custom":true}
        ]}"#,
    );
    let Schema::Named(index) = s.root() else {
        panic!("root is a record")
    };
    let user = s.named(*index).unwrap();
    assert_eq!(user.name.full(), "com.acme.User");
    assert_eq!(user.doc.as_deref(), Some("a user"));
    let aliases: Vec<String> = user.aliases.iter().map(|a| a.full()).collect();
    assert_eq!(aliases, ["com.acme.Person", "old.People"]);
    let NamedKind::Record { fields, .. } = &user.kind else {
        panic!("record")
    };
    assert_eq!(fields.len(), 7);
    assert_eq!(fields[0].order, Order::Descending);
    assert_eq!(fields[6].aliases, ["maybe"]);
    assert_eq!(
        fields[6].props,
        vec![("x-custom".to_owned(), serde_json::json!(true))]
    );
    // Nested named types inherit the namespace.
    assert!(s.types().iter().any(|t| t.name.full() == "com.acme.Kind"));
    assert!(s.types().iter().any(|t| t.name.full() == "com.acme.Hash"));
    assert!(matches!(
        fields[5].schema,
        Schema::Primitive {
            kind: Primitive::Long,
            logical: Some(LogicalType::TimestampMillis),
            ..
        }
    ));
    assert_eq!(s.name().as_deref(), Some("com.acme.User"));
}

#[test]
fn namespace_rules() {
    let s = ok(
        r#"{"type":"record","name":"a.b.Outer","namespace":"ignored","fields":[
        {"name":"x","type":{"type":"record","name":"Inner","fields":[]}},
        {"name":"y","type":{"type":"record","name":"Other","namespace":"c","fields":[
            {"name":"z","type":{"type":"enum","name":"Deep","symbols":["S"]}}]}},
        {"name":"w","type":{"type":"fixed","name":"Top","namespace":"","size":1}},
        {"name":"ref1","type":"Inner"},
        {"name":"ref2","type":"c.Deep"},
        {"name":"ref3","type":"Top"}]}"#,
    );
    let names: Vec<String> = s.types().iter().map(|t| t.name.full()).collect();
    assert_eq!(
        names,
        ["a.b.Outer", "a.b.Inner", "c.Other", "c.Deep", "Top"]
    );
}

#[test]
fn recursive_and_self_referencing_types() {
    let s = ok(r#"{"type":"record","name":"Node","fields":[
        {"name":"next","type":["null","Node"],"default":null},
        {"name":"kids","type":{"type":"array","items":"Node"}},
        {"name":"alt","type":{"type":"Node"}}]}"#);
    assert_eq!(s.types().len(), 1);
}

#[test]
fn invalid_logical_types_fall_back_to_the_underlying_type() {
    for text in [
        r#"{"type":"bytes","logicalType":"decimal","precision":0}"#,
        r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":5}"#,
        r#"{"type":"bytes","logicalType":"decimal"}"#,
        r#"{"type":"string","logicalType":"timestamp-millis"}"#,
        r#"{"type":"int","logicalType":"made-up"}"#,
        r#"{"type":"fixed","name":"F","size":2,"logicalType":"decimal","precision":10}"#,
    ] {
        let s = ok(text);
        let logical = match s.root() {
            Schema::Primitive { logical, .. } => *logical,
            Schema::Named(i) => s.named(*i).unwrap().logical,
            _ => panic!("unexpected"),
        };
        assert_eq!(logical, None, "{text}");
    }
    let s = ok(r#"{"type":"fixed","name":"F","size":2,"logicalType":"decimal","precision":4}"#);
    assert_eq!(
        s.types()[0].logical,
        Some(LogicalType::Decimal {
            precision: 4,
            scale: 0
        })
    );
    let s = ok(r#"{"type":"fixed","name":"D","size":12,"logicalType":"duration"}"#);
    assert_eq!(s.types()[0].logical, Some(LogicalType::Duration));
}

#[test]
fn valid_defaults() {
    ok(r#"{"type":"record","name":"R","fields":[
        {"name":"a","type":"int","default":1},
        {"name":"b","type":"long","default":5000000000},
        {"name":"c","type":"float","default":1.5},
        {"name":"d","type":"double","default":"NaN"},
        {"name":"e","type":"double","default":2},
        {"name":"f","type":"boolean","default":false},
        {"name":"g","type":"bytes","default":"\u00ff"},
        {"name":"h","type":["null","int"],"default":null},
        {"name":"i","type":["int","null"],"default":3},
        {"name":"j","type":{"type":"record","name":"S","fields":[{"name":"x","type":"int","default":1},{"name":"y","type":"string"}]},"default":{"y":"v"}},
        {"name":"k","type":{"type":"enum","name":"E","symbols":["A"]},"default":"A"},
        {"name":"l","type":{"type":"array","items":"S"},"default":[{"y":"w"}]}]}"#);
}

#[test]
fn invalid_defaults_name_the_field_and_path() {
    let rec = |field: &str| {
        format!(r#"{{"type":"record","name":"R","fields":[{{"name":"ok","type":"int"}},{field}]}}"#)
    };
    invalid(
        &rec(r#"{"name":"a","type":"int","default":"1"}"#),
        "/fields/1/default",
        &["'a'", "int"],
    );
    invalid(
        &rec(r#"{"name":"a","type":"int","default":1.5}"#),
        "/fields/1/default",
        &["'a'"],
    );
    invalid(
        &rec(r#"{"name":"a","type":"int","default":3000000000}"#),
        "/fields/1/default",
        &["'a'"],
    );
    invalid(
        &rec(r#"{"name":"a","type":"string","default":null}"#),
        "/fields/1/default",
        &["'a'"],
    );
    invalid(
        &rec(r#"{"name":"a","type":["null","string"],"default":"x"}"#),
        "/fields/1/default",
        &["'a'", "first branch"],
    );
    invalid(
        &rec(r#"{"name":"a","type":"double","default":"abc"}"#),
        "/fields/1/default",
        &["'a'", "abc"],
    );
    invalid(
        &rec(r#"{"name":"a","type":{"type":"array","items":"int"},"default":[1,"x"]}"#),
        "/fields/1/default",
        &["'a'"],
    );
    invalid(
        &rec(
            r#"{"name":"a","type":{"type":"record","name":"S","fields":[{"name":"x","type":"int"}]},"default":{}}"#,
        ),
        "/fields/1/default",
        &["'a'"],
    );
}

#[test]
fn structural_errors() {
    invalid("42", "", &["number"]);
    invalid("null", "", &["null"]);
    invalid("{}", "", &["\"type\""]);
    invalid(r#"{"type":["null","int"]}"#, "/type", &["must be a string"]);
    invalid(r#"{"type":"strng"}"#, "/type", &["strng"]);
    invalid(r#""Nope""#, "", &["Nope"]);
    invalid(r#"{"type":"record","fields":[]}"#, "", &["\"name\""]);
    invalid(r#"{"type":"record","name":"R"}"#, "", &["'R'", "fields"]);
    invalid(
        r#"{"type":"record","name":"R","fields":{}}"#,
        "",
        &["fields"],
    );
    invalid(
        r#"{"type":"record","name":"R","fields":[3]}"#,
        "/fields/0",
        &["object"],
    );
    invalid(
        r#"{"type":"record","name":"R","fields":[{"type":"int"}]}"#,
        "/fields/0",
        &["\"name\""],
    );
    invalid(
        r#"{"type":"record","name":"R","fields":[{"name":"a"}]}"#,
        "/fields/0",
        &["'a'", "\"type\""],
    );
    invalid(
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"Missing"}]}"#,
        "/fields/0/type",
        &["Missing", "'a'"],
    );
    invalid(
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"long"}]}"#,
        "/fields/1/name",
        &["'a'", "two fields"],
    );
    invalid(
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","order":"sideways"}]}"#,
        "/fields/0/order",
        &["sideways"],
    );
    invalid(r#"{"type":"array"}"#, "", &["items"]);
    invalid(r#"{"type":"map"}"#, "", &["values"]);
    invalid(r#"{"type":"array","items":"Nope"}"#, "/items", &["Nope"]);
    invalid(
        r#"{"type":"map","values":{"type":"bad"}}"#,
        "/values/type",
        &["bad"],
    );
}

#[test]
fn name_errors() {
    invalid(
        r#"{"type":"record","name":"1abc","fields":[]}"#,
        "/name",
        &["1abc"],
    );
    invalid(
        r#"{"type":"record","name":"a-b","fields":[]}"#,
        "/name",
        &["a-b", "'-'"],
    );
    invalid(
        r#"{"type":"record","name":"","fields":[]}"#,
        "/name",
        &["empty"],
    );
    invalid(
        r#"{"type":"record","name":"R","namespace":"com.my-co","fields":[]}"#,
        "/name",
        &["com.my-co"],
    );
    invalid(
        r#"{"type":"record","name":"int","fields":[]}"#,
        "/name",
        &["primitive"],
    );
    invalid(
        r#"{"type":"record","name":"R","fields":[{"name":"bad name","type":"int"}]}"#,
        "/fields/0/name",
        &["bad name"],
    );
    invalid(
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"R","fields":[]}}]}"#,
        "/fields/0/type/name",
        &["'R'", "more than once"],
    );
    invalid(
        r#"{"type":"record","name":"R","aliases":"Old","fields":[]}"#,
        "/aliases",
        &["array"],
    );
    invalid(
        r#"{"type":"record","name":"R","aliases":[1],"fields":[]}"#,
        "/aliases/0",
        &["string"],
    );
    invalid(
        r#"{"type":"record","name":"R","aliases":["no-good"],"fields":[]}"#,
        "/aliases/0",
        &["no-good"],
    );
    // Non-ASCII letters are valid in names, as in Java.
    ok(r#"{"type":"record","name":"Größe","fields":[{"name":"été","type":"int"}]}"#);
    // The same name in two namespaces is two types.
    ok(
        r#"{"type":"record","name":"a.R","fields":[{"name":"x","type":{"type":"record","name":"b.R","fields":[]}}]}"#,
    );
}

#[test]
fn enum_errors() {
    invalid(r#"{"type":"enum","name":"E"}"#, "", &["'E'", "symbols"]);
    invalid(
        r#"{"type":"enum","name":"E","symbols":["A","A"]}"#,
        "/symbols/1",
        &["'A'", "twice"],
    );
    invalid(
        r#"{"type":"enum","name":"E","symbols":["A",1]}"#,
        "/symbols/1",
        &["string"],
    );
    invalid(
        r#"{"type":"enum","name":"E","symbols":["A-1"]}"#,
        "/symbols/0",
        &["A-1"],
    );
    invalid(
        r#"{"type":"enum","name":"E","symbols":["A"],"default":"B"}"#,
        "/default",
        &["'B'", "[A]"],
    );
    // A non-string enum default is ignored, as Java does.
    let s = ok(r#"{"type":"enum","name":"E","symbols":["A"],"default":1}"#);
    assert!(matches!(
        &s.types()[0].kind,
        NamedKind::Enum { default: None, .. }
    ));
}

#[test]
fn fixed_errors() {
    invalid(r#"{"type":"fixed","name":"F"}"#, "", &["'F'", "size"]);
    invalid(
        r#"{"type":"fixed","name":"F","size":"4"}"#,
        "/size",
        &["size"],
    );
    invalid(
        r#"{"type":"fixed","name":"F","size":1.5}"#,
        "/size",
        &["size"],
    );
    invalid(
        r#"{"type":"fixed","name":"F","size":-1}"#,
        "/size",
        &["negative"],
    );
    invalid(
        r#"{"type":"fixed","name":"F","size":4294967296}"#,
        "/size",
        &["32-bit"],
    );
}

#[test]
fn union_errors() {
    invalid(r#"["null",["int"]]"#, "/1", &["union"]);
    invalid(r#"["int","string","int"]"#, "/2", &["'int'", "twice"]);
    invalid(
        r#"[{"type":"array","items":"int"},{"type":"array","items":"long"}]"#,
        "/1",
        &["'array'"],
    );
    invalid(
        r#"["long",{"type":"long","logicalType":"timestamp-millis"}]"#,
        "/1",
        &["'long'"],
    );
    invalid(
        r#"[{"type":"record","name":"R","fields":[]},"R"]"#,
        "/1",
        &["'R'", "twice"],
    );
    invalid(r#"["null","Nope"]"#, "/1", &["Nope"]);
    ok("[]");
    ok(r#"[{"type":"record","name":"A","fields":[]},{"type":"record","name":"B","fields":[]}]"#);
}

#[test]
fn limits_are_enforced() {
    let deep = format!("{}\"int\"{}", "[".repeat(200), "]".repeat(200));
    assert!(matches!(parse(&deep), Err(SchemaError::TooDeep { .. })));
    let small = Limits {
        max_schema_bytes: 10,
        ..Limits::DEFAULT
    };
    assert!(matches!(
        AvroSchema::parse(r#"{"type":"string"}"#, &[], &small),
        Err(SchemaError::TooLarge { .. })
    ));
    assert!(matches!(parse("{"), Err(SchemaError::InvalidJson { .. })));
}

#[test]
fn dependencies_provide_named_types() {
    let deps = vec![
        ReferencedSchema {
            name: "com.acme.Address".into(),
            schema: r#"{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"city","type":"string"}]}"#.into(),
        },
        ReferencedSchema {
            name: "com.acme.Customer".into(),
            schema: r#"{"type":"record","name":"Customer","namespace":"com.acme","fields":[{"name":"home","type":"Address"}]}"#.into(),
        },
    ];
    let s = AvroSchema::parse(
        r#"{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"buyer","type":"Customer"},{"name":"ship","type":"com.acme.Address"}]}"#,
        &deps,
        &Limits::DEFAULT,
    )
    .unwrap();
    assert!(s.is_dependency_type(0) && s.is_dependency_type(1) && !s.is_dependency_type(2));
    // Without the dependencies the names are unknown.
    invalid(
        r#"{"type":"record","name":"Order","fields":[{"name":"buyer","type":"Customer"}]}"#,
        "/fields/0/type",
        &["Customer"],
    );
    // A broken dependency is reported as a reference error naming it.
    let broken = vec![ReferencedSchema {
        name: "bad".into(),
        schema: "{\"type\":\"nope\"}".into(),
    }];
    match AvroSchema::parse("\"int\"", &broken, &Limits::DEFAULT) {
        Err(SchemaError::Reference { name, message }) => {
            assert_eq!(name, "bad");
            assert!(message.contains("nope"), "{message}");
        }
        other => panic!("expected a reference error, got {other:?}"),
    }
    // Redefining a dependency's type is an error.
    invalid_with_deps(
        &deps,
        r#"{"type":"record","name":"com.acme.Address","fields":[]}"#,
        "/name",
    );
}

fn invalid_with_deps(deps: &[ReferencedSchema], text: &str, path: &str) {
    match AvroSchema::parse(text, deps, &Limits::DEFAULT) {
        Err(SchemaError::Invalid { path: got, .. }) => assert_eq!(got, path),
        other => panic!("expected Invalid for {text}, got {other:?}"),
    }
}

#[test]
fn hostile_inputs_do_not_panic() {
    for text in [
        "",
        "[",
        "\"\"",
        "{\"type\":null}",
        "{\"type\":\"record\",\"name\":null,\"fields\":[]}",
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"R\",\"default\":{}}]}",
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":[\"R\",\"null\"],\"default\":{\"a\":{\"a\":{}}}}]}",
        "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[]}",
        "{\"type\":\"fixed\",\"name\":\"F\",\"size\":0}",
        "[\"null\",\"null\"]",
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"float\",\"default\":\"-Infinity\"}]}",
    ] {
        let _ = parse(text);
    }
}
