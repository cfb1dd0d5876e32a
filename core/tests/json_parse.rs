//! JSON Schema parsing: what is refused (with a path and a clear message), `$ref` resolution
//! within a document and to referenced schemas, cycles, and the stored/normalized forms.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eventschema_core::json::JsonSchema;
use eventschema_core::json::compat::compare;
use eventschema_core::{Limits, ReferencedSchema, SchemaError};

fn parse(text: &str) -> Result<JsonSchema, SchemaError> {
    JsonSchema::parse(text, &[], &Limits::DEFAULT)
}

fn invalid_at(text: &str) -> (String, String) {
    match parse(text) {
        Err(SchemaError::Invalid { path, message }) => (path, message),
        other => panic!("expected an invalid-schema error for {text}, got {other:?}"),
    }
}

#[test]
fn accepts_every_draft() {
    for text in [
        r#"{"$schema":"http://json-schema.org/draft-04/schema#","type":"number","maximum":3,"exclusiveMaximum":true}"#,
        r#"{"$schema":"http://json-schema.org/draft-06/schema#","type":"number","exclusiveMaximum":3}"#,
        r#"{"$schema":"http://json-schema.org/draft-07/schema#","if":{"type":"string"},"then":{"minLength":1}}"#,
        r##"{"$schema":"https://json-schema.org/draft/2019-09/schema","dependentRequired":{"a":["b"]},"$defs":{"x":{"$anchor":"x","type":"string"}},"properties":{"a":{"$ref":"#x"}}}"##,
        r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","prefixItems":[{"type":"string"}],"items":{"type":"number"}}"#,
        r#"{"type":"array","items":[{"type":"string"}],"additionalItems":false}"#,
        "true",
        "false",
        "{}",
    ] {
        parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
    }
}

#[test]
fn refuses_wrong_keyword_values_with_a_path() {
    let cases = [
        (r#"{"type":5}"#, "/type", "type"),
        (r#"{"type":"strin"}"#, "/type", "unknown type 'strin'"),
        (r#"{"type":["string",3]}"#, "/type/1", "type"),
        (
            r#"{"required":"a"}"#,
            "/required",
            "'required' must be an array of strings",
        ),
        (
            r#"{"properties":[]}"#,
            "/properties",
            "'properties' must be an object",
        ),
        (r#"{"minLength":-1}"#, "/minLength", "non-negative integer"),
        (
            r#"{"type":"string","maxLength":1.5}"#,
            "/maxLength",
            "non-negative integer",
        ),
        (
            r#"{"properties":{"a":{"type":"object","properties":{"b":{"type":"nope"}}}}}"#,
            "/properties/a/properties/b/type",
            "unknown type",
        ),
        (
            r#"{"items":[{"type":"string"},7]}"#,
            "/items/1",
            "must be a JSON object or a boolean",
        ),
        (r#"{"anyOf":[]}"#, "", "'anyOf' must be a non-empty array"),
        (r#"{"enum":"a"}"#, "", "'enum' must be an array"),
        (r#"{"multipleOf":0}"#, "/multipleOf", "greater than 0"),
        (
            r#"{"pattern":"(a"}"#,
            "/pattern",
            "not a valid regular expression",
        ),
        (
            r#"{"patternProperties":{"[a-":{}}}"#,
            "/patternProperties/[a-",
            "not a valid regular expression",
        ),
        (
            r#"{"additionalProperties":"no"}"#,
            "/additionalProperties",
            "boolean or a schema",
        ),
        (r#"{"title":3}"#, "/title", "'title' must be a string"),
        (
            r#"{"$schema":"http://json-schema.org/draft-04/schema#","type":"number","exclusiveMaximum":3}"#,
            "/exclusiveMaximum",
            "boolean in draft 4",
        ),
        (
            r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","items":[{"type":"string"}]}"#,
            "/items",
            "prefixItems",
        ),
        (
            r#"{"dependencies":{"a":5}}"#,
            "/dependencies/a",
            "dependencies",
        ),
    ];
    for (text, path, message) in cases {
        let (found_path, found_message) = invalid_at(text);
        assert_eq!(found_path, path, "{text}: {found_message}");
        assert!(
            found_message.contains(message),
            "{text}: '{found_message}' lacks '{message}'"
        );
    }
}

#[test]
fn refuses_non_schema_documents() {
    assert!(matches!(parse("5"), Err(SchemaError::Invalid { .. })));
    assert!(matches!(parse("[]"), Err(SchemaError::Invalid { .. })));
    assert!(matches!(parse("{"), Err(SchemaError::InvalidJson { .. })));
}

#[test]
fn unresolvable_refs_are_invalid() {
    let (path, message) = invalid_at(r##"{"properties":{"a":{"$ref":"#/definitions/missing"}}}"##);
    assert_eq!(path, "/properties/a/$ref");
    assert!(message.contains("#/definitions/missing"), "{message}");
    let (path, message) = invalid_at(r#"{"$ref":"other.json"}"#);
    assert_eq!(path, "/$ref");
    assert!(message.contains("other.json"), "{message}");
    let (_, message) = invalid_at(r##"{"$ref":"#nowhere"}"##);
    assert!(message.contains("anchor"), "{message}");
    let (_, message) = invalid_at(r##"{"$ref":"#/definitions/x","definitions":{"x":3}}"##);
    assert!(message.contains("not a schema"), "{message}");
}

#[test]
fn invalid_subschemas_reached_through_refs_are_reported() {
    let (path, _) =
        invalid_at(r##"{"$ref":"#/definitions/x","definitions":{"x":{"type":"bogus"}}}"##);
    assert_eq!(path, "/definitions/x/type");
}

#[test]
fn refs_resolve_by_pointer_id_and_anchor() {
    for text in [
        r##"{"definitions":{"a":{"type":"string"}},"properties":{"x":{"$ref":"#/definitions/a"}}}"##,
        r##"{"$defs":{"a b":{"type":"string"}},"properties":{"x":{"$ref":"#/$defs/a%20b"}}}"##,
        r##"{"$defs":{"a/b":{"type":"string"}},"properties":{"x":{"$ref":"#/$defs/a~1b"}}}"##,
        r##"{"$id":"http://example.com/root.json","$defs":{"a":{"$id":"item.json","type":"string"}},"properties":{"x":{"$ref":"item.json"}}}"##,
        r##"{"$id":"http://example.com/root.json","$defs":{"a":{"$id":"#thing","type":"string"}},"properties":{"x":{"$ref":"#thing"}}}"##,
        r##"{"$id":"http://example.com/root.json","properties":{"x":{"$ref":"http://example.com/root.json#/properties/y"},"y":{"type":"string"}}}"##,
    ] {
        let schema = parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
        // The ref must lead to the string schema: comparing against a number property fails.
        let number = parse(r#"{"properties":{"x":{"type":"number"}}}"#).unwrap();
        let kinds: Vec<&str> = compare(&schema, &number)
            .iter()
            .map(|d| d.kind.as_str())
            .collect();
        assert!(kinds.contains(&"TYPE_CHANGED"), "{text}: {kinds:?}");
    }
}

#[test]
fn references_to_other_schemas_by_name_resolve() {
    let customer = ReferencedSchema {
        name: "customer.json".into(),
        schema: r##"{"type":"object","properties":{"name":{"type":"string"},"address":{"$ref":"address.json#/definitions/addr"}}}"##.into(),
    };
    let address = ReferencedSchema {
        name: "address.json".into(),
        schema:
            r#"{"definitions":{"addr":{"type":"object","properties":{"zip":{"type":"string"}}}}}"#
                .into(),
    };
    let text = r#"{"type":"object","properties":{"customer":{"$ref":"customer.json"}}}"#;
    let schema =
        JsonSchema::parse(text, &[address.clone(), customer.clone()], &Limits::DEFAULT).unwrap();
    assert!(compare(&schema, &schema).is_empty());
    // The stored form is the text itself, never the inlined references.
    assert_eq!(schema.canonical_string(), text);

    // Referenced by an absolute URL relative to the root $id.
    let text = r#"{"$id":"https://example.com/schemas/order.json","properties":{"c":{"$ref":"customer.json"}}}"#;
    JsonSchema::parse(text, &[address.clone(), customer], &Limits::DEFAULT).unwrap();

    // Errors inside a referenced schema name it.
    let broken = ReferencedSchema {
        name: "broken.json".into(),
        schema: r#"{"type":"wat"}"#.into(),
    };
    let err =
        JsonSchema::parse(r#"{"$ref":"broken.json"}"#, &[broken], &Limits::DEFAULT).unwrap_err();
    match err {
        SchemaError::Reference { name, message } => {
            assert_eq!(name, "broken.json");
            assert!(message.contains("/type"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ref_cycles_neither_hang_nor_overflow() {
    for text in [
        r##"{"$ref":"#"}"##,
        r##"{"$ref":"#/definitions/a","definitions":{"a":{"$ref":"#/definitions/b"},"b":{"$ref":"#/definitions/a"}}}"##,
        r##"{"type":"object","properties":{"next":{"$ref":"#"}}}"##,
        r##"{"not":{"$ref":"#"}}"##,
        r##"{"anyOf":[{"$ref":"#"},{"not":{"$ref":"#"}}]}"##,
        r##"{"allOf":[{"$ref":"#"}],"items":{"$ref":"#"}}"##,
    ] {
        let schema = parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
        let other = parse(r#"{"type":"object","properties":{"next":{"type":"string"}}}"#).unwrap();
        compare(&schema, &schema);
        compare(&schema, &other);
        compare(&other, &schema);
    }
}

#[test]
fn deep_documents_are_refused_not_overflowed() {
    let mut text = String::new();
    for _ in 0..5000 {
        text.push_str(r#"{"not":"#);
    }
    text.push_str("{}");
    for _ in 0..5000 {
        text.push('}');
    }
    assert!(matches!(parse(&text), Err(SchemaError::TooDeep { .. })));
}

#[test]
fn canonical_string_keeps_key_order_and_drops_whitespace() {
    let schema = parse(
        "{ \"type\" : \"object\",\n \"properties\": {\"b\": {}, \"a\": {\"type\": \"string\"}} }",
    )
    .unwrap();
    assert_eq!(
        schema.canonical_string(),
        r#"{"type":"object","properties":{"b":{},"a":{"type":"string"}}}"#
    );
}

#[test]
fn normalized_string_sorts_keys_at_every_level_and_keeps_arrays() {
    let schema = parse(r#"{"type":"object","required":["b","a"],"properties":{"b":{"type":"string","minLength":1},"a":{"enum":[3,1]}}}"#).unwrap();
    assert_eq!(
        schema.normalized_string(),
        r#"{"properties":{"a":{"enum":[3,1]},"b":{"minLength":1,"type":"string"}},"required":["b","a"],"type":"object"}"#
    );
    let reordered = parse(r#"{"properties":{"a":{"enum":[3,1]},"b":{"minLength":1,"type":"string"}},"type":"object","required":["b","a"]}"#).unwrap();
    assert_eq!(schema.normalized_string(), reordered.normalized_string());
    assert_ne!(schema.canonical_string(), reordered.canonical_string());
}

#[test]
fn normalized_string_sorts_like_java_strings() {
    // Java orders by UTF-16 code units: U+FF01 sorts after U+1F600's surrogate pair.
    let schema = parse("{\"\u{ff01}\":1,\"\u{1f600}\":2}").unwrap();
    assert_eq!(
        schema.normalized_string(),
        "{\"\u{1f600}\":2,\"\u{ff01}\":1}"
    );
}
