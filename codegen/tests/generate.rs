//! Golden files of the generated code, one per schema feature (tests/snapshots/*.snap),
//! plus determinism and error reporting. Review a changed snapshot with `cargo insta review`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eventschema_codegen::folder::SchemaFolder;
use eventschema_codegen::{GenerateError, generate};

fn folder(files: &[(&str, &str)]) -> SchemaFolder {
    SchemaFolder::from_files(
        files
            .iter()
            .map(|(path, text)| ((*path).to_owned(), text.as_bytes().to_vec())),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn code(files: &[(&str, &str)]) -> String {
    generate(&folder(files))
        .unwrap_or_else(|e| panic!("{e}"))
        .into_string()
}

#[test]
fn record_with_docs_keywords_and_renames() {
    insta::assert_snapshot!(code(&[(
        "orders.order-placed/1.avsc",
        r#"{"type":"record","name":"OrderPlaced","namespace":"shop","doc":"An order.\nSecond line.",
            "fields":[
              {"name":"orderId","type":"string","doc":"camelCase becomes snake_case"},
              {"name":"type","type":"int"},
              {"name":"ok","type":"boolean"},
              {"name":"ratio","type":"float"},
              {"name":"score","type":"double"},
              {"name":"count","type":"long"}]}"#,
    )]));
}

#[test]
fn versions_alias_and_promotion() {
    insta::assert_snapshot!(code(&[
        (
            "s.e/1.avsc",
            r#"{"type":"record","name":"E","fields":[{"name":"n","type":"int"},{"name":"old","type":"string"}]}"#,
        ),
        (
            "s.e/2.avsc",
            r#"{"type":"record","name":"E","fields":[{"name":"n","type":"long"},{"name":"new","type":"string","aliases":["old"]}]}"#,
        ),
    ]));
}

#[test]
fn unions_nullable_and_tagged() {
    insta::assert_snapshot!(code(&[(
        "s.u/1.avsc",
        r#"{"type":"record","name":"U","fields":[
            {"name":"maybe","type":["null","string"]},
            {"name":"either","type":["string","long",{"type":"record","name":"Inner","fields":[{"name":"x","type":"int"}]}]},
            {"name":"optional_either","type":["null","string","int"]}]}"#,
    )]));
}

#[test]
fn collections_bytes_and_fixed() {
    insta::assert_snapshot!(code(&[(
        "s.c/1.avsc",
        r#"{"type":"record","name":"C","fields":[
            {"name":"tags","type":{"type":"array","items":"string"}},
            {"name":"counts","type":{"type":"map","values":"long"}},
            {"name":"raw","type":"bytes"},
            {"name":"digest","type":{"type":"fixed","name":"Md5","size":16}}]}"#,
    )]));
}

#[test]
fn enums_and_nested_named_types_are_emitted_once() {
    insta::assert_snapshot!(code(&[(
        "s.n/1.avsc",
        r#"{"type":"record","name":"N","fields":[
            {"name":"status","type":{"type":"enum","name":"Status","symbols":["ACTIVE","on_hold","Active"],"default":"ACTIVE"}},
            {"name":"home","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string"}]}},
            {"name":"work","type":"Address"},
            {"name":"previous","type":{"type":"array","items":"Address"}},
            {"name":"other_status","type":"Status"}]}"#,
    )]));
}

#[test]
fn recursive_types_are_boxed() {
    insta::assert_snapshot!(code(&[(
        "s.tree/1.avsc",
        r#"{"type":"record","name":"Node","fields":[
            {"name":"value","type":"long"},
            {"name":"parent","type":["null","Node"],"default":null},
            {"name":"children","type":{"type":"array","items":"Node"}}]}"#,
    )]));
}

#[test]
fn defaults_become_functions() {
    insta::assert_snapshot!(code(&[(
        "s.d/1.avsc",
        r#"{"type":"record","name":"D","fields":[
            {"name":"s","type":"string","default":"x\"y"},
            {"name":"i","type":"int","default":-3},
            {"name":"f","type":"double","default":1.5},
            {"name":"b","type":"bytes","default":"\u00ff\u0001"},
            {"name":"o","type":["null","string"],"default":null},
            {"name":"first","type":["string","null"],"default":"a"},
            {"name":"list","type":{"type":"array","items":"int"},"default":[1,2]},
            {"name":"map","type":{"type":"map","values":"boolean"},"default":{"k":true}},
            {"name":"e","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]},"default":"GREEN"},
            {"name":"r","type":{"type":"record","name":"Point","fields":[
                {"name":"x","type":"int"},{"name":"y","type":"int","default":0}]},"default":{"x":1}},
            {"name":"u","type":["long","string"],"default":7}]}"#,
    )]));
}

#[test]
fn json_schema_objects_enums_and_refs() {
    insta::assert_snapshot!(code(&[(
        "customers.customer-registered/1.json",
        r##"{"title":"CustomerRegistered","description":"A new customer.","type":"object",
            "properties":{
              "customerId":{"type":"string"},
              "age":{"type":"integer"},
              "score":{"type":["number","null"]},
              "tier":{"enum":["gold","silver"]},
              "tags":{"type":"array","items":{"type":"string"}},
              "address":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},
              "billing":{"$ref":"#/definitions/Address"},
              "extra":{"type":"object","additionalProperties":{"type":"integer"}},
              "anything":{}
            },
            "required":["customerId","tier"],
            "definitions":{"Address":{"type":"object","properties":{"street":{"type":"string"}}}}}"##,
    )]));
}

#[test]
fn output_is_deterministic() {
    let files = [
        (
            "b.second/1.avsc",
            r#"{"type":"record","name":"B","fields":[{"name":"m","type":{"type":"map","values":"int"},"default":{"z":1,"a":2}}]}"#,
        ),
        (
            "a.first/1.json",
            r#"{"type":"object","properties":{"z":{"type":"string"},"a":{"type":"string"}}}"#,
        ),
    ];
    let reversed: Vec<(&str, &str)> = files.iter().rev().copied().collect();
    let one = code(&files);
    assert_eq!(one, code(&files));
    assert_eq!(one, code(&reversed));
    let a = one.find("pub mod a_first").unwrap();
    let b = one.find("pub mod b_second").unwrap();
    assert!(a < b, "subjects are sorted");
}

#[test]
fn errors_name_the_file_and_the_json_pointer() {
    let errors = generate(&folder(&[
        (
            "s.bad/1.avsc",
            r#"{"type":"record","name":"R","fields":[{"name":"n","type":"int","default":"x"}]}"#,
        ),
        (
            "s.json/1.json",
            r##"{"type":"object","properties":{"a":{"$ref":"#/nope"}}}"##,
        ),
        ("s.syntax/1.avsc", "{\"type\": \"record\",\n \"name\": }"),
    ]))
    .unwrap_err();
    let messages: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(messages.join("\n"));
    assert!(matches!(
        errors.0[0],
        GenerateError::Unsupported { .. } | GenerateError::Folder(_)
    ));
}

#[test]
fn upcasters_derived_avro() {
    insta::assert_snapshot!(code(&[
        (
            "s.up/1.avsc",
            r#"{"type":"record","name":"Up","namespace":"t","fields":[
                {"name":"n","type":"int"},
                {"name":"f","type":"float"},
                {"name":"s","type":"string"},
                {"name":"b","type":"bytes"},
                {"name":"gone","type":"string"},
                {"name":"old_name","type":"long"},
                {"name":"plain","type":"string"},
                {"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]}},
                {"name":"shade","type":{"type":"enum","name":"Shade","symbols":["DARK","LIGHT"],"default":"DARK"}},
                {"name":"points","type":{"type":"array","items":{"type":"record","name":"Point","fields":[{"name":"x","type":"int"}]}}},
                {"name":"by_key","type":{"type":"map","values":"int"}},
                {"name":"maybe","type":["null","Point"],"default":null},
                {"name":"either","type":["int","string"]},
                {"name":"tree","type":{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"],"default":null}]}}]}"#,
        ),
        (
            "s.up/2.avsc",
            r#"{"type":"record","name":"Up","namespace":"t","fields":[
                {"name":"n","type":"long"},
                {"name":"f","type":"double"},
                {"name":"s","type":"bytes"},
                {"name":"b","type":"string"},
                {"name":"new_name","type":"long","aliases":["old_name"]},
                {"name":"plain","type":["null","string"],"default":null},
                {"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE"]}},
                {"name":"shade","type":{"type":"enum","name":"Shade","symbols":["DARK"],"default":"DARK"}},
                {"name":"points","type":{"type":"array","items":{"type":"record","name":"Point","fields":[{"name":"x","type":"long"},{"name":"y","type":"long","default":0}]}}},
                {"name":"by_key","type":{"type":"map","values":"double"}},
                {"name":"maybe","type":["null","Point"],"default":null},
                {"name":"either","type":["long","string","boolean"]},
                {"name":"tree","type":{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"],"default":null}]}},
                {"name":"added","type":"string","default":"x"}]}"#,
        ),
    ]));
}

#[test]
fn upcasters_not_derivable_become_traits() {
    let generated = code(&[
        (
            "orders.order-placed/1.avsc",
            r#"{"type":"record","name":"OrderPlaced","fields":[
                {"name":"id","type":"string"},
                {"name":"total","type":"long"},
                {"name":"note","type":["null","string"],"default":null},
                {"name":"state","type":{"type":"enum","name":"State","symbols":["OPEN","DONE"]}}]}"#,
        ),
        (
            "orders.order-placed/2.avsc",
            r#"{"type":"record","name":"OrderPlaced","fields":[
                {"name":"id","type":"string"},
                {"name":"total","type":"int"},
                {"name":"note","type":"string"},
                {"name":"state","type":{"type":"enum","name":"State","symbols":["OPEN"]}},
                {"name":"buyer","type":"string"}]}"#,
        ),
        (
            "orders.order-placed/3.avsc",
            r#"{"type":"record","name":"OrderPlaced","fields":[
                {"name":"id","type":"string"},
                {"name":"total","type":"int"},
                {"name":"note","type":"string"},
                {"name":"state","type":{"type":"enum","name":"State","symbols":["OPEN"]}},
                {"name":"buyer","type":"string"},
                {"name":"extra","type":"boolean","default":true}]}"#,
        ),
    ]);
    // The message the compiler shows names the subject, the versions and every field.
    let message = generated
        .lines()
        .find(|line| line.contains("message = "))
        .unwrap();
    for needle in [
        "orders.order-placed",
        "version 1 to version 2",
        "`total`",
        "`note`",
        "`state`",
        "`buyer`",
        "UpcastOrderPlacedV1ToV2",
    ] {
        assert!(message.contains(needle), "{needle} in {message}");
    }
    assert!(!generated.contains("UpcastOrderPlacedV2ToV3"));
    insta::assert_snapshot!(generated);
}

#[test]
fn upcasters_json_schema() {
    insta::assert_snapshot!(code(&[
        (
            "s.j/1.json",
            r#"{"title":"J","type":"object","properties":{
                "id":{"type":"string"},
                "kind":{"enum":["a","b"]},
                "maybe":{"type":"integer"},
                "tags":{"type":"array","items":{"type":"string"}},
                "dropped":{"type":"boolean"}},
              "required":["id","kind","tags"]}"#,
        ),
        (
            "s.j/2.json",
            r#"{"title":"J","type":"object","properties":{
                "id":{"type":"string"},
                "kind":{"enum":["a","b","c"]},
                "maybe":{"type":"integer"},
                "tags":{"type":"array","items":{"type":"string"}},
                "note":{"type":"string"}},
              "required":["id","kind"]}"#,
        ),
        (
            "s.j/3.json",
            r#"{"title":"J","type":"object","properties":{
                "id":{"type":"integer"},
                "kind":{"enum":["a","b","c"]},
                "maybe":{"type":"integer"},
                "needed":{"type":"string"}},
              "required":["id","kind","maybe","needed"]}"#,
        ),
    ]));
}

#[test]
fn logical_types_use_well_known_crates_with_wire_adapters() {
    insta::assert_snapshot!(code(&[
        (
            "s.l/1.avsc",
            r#"{"type":"record","name":"L","fields":[
            {"name":"id","type":{"type":"string","logicalType":"uuid"}},
            {"name":"day","type":{"type":"int","logicalType":"date"},"default":1},
            {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
            {"name":"local","type":{"type":"long","logicalType":"local-timestamp-micros"}},
            {"name":"time","type":{"type":"int","logicalType":"time-millis"}},
            {"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
            {"name":"money","type":{"type":"fixed","name":"Money","size":8,"logicalType":"decimal","precision":18,"scale":4}},
            {"name":"wait","type":{"type":"fixed","name":"Wait","size":12,"logicalType":"duration"}},
            {"name":"maybe","type":["null",{"type":"long","logicalType":"timestamp-micros"}],"default":null},
            {"name":"days","type":{"type":"array","items":{"type":"int","logicalType":"date"}}},
            {"name":"either","type":["int",{"type":"string","logicalType":"uuid"}]}]}"#,
        ),
        (
            "s.f/1.json",
            r#"{"type":"object","title":"F","required":["id","at"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "day":{"type":"string","format":"date"},
            "at":{"type":"string","format":"date-time"},
            "opens":{"type":"string","format":"time"}}}"#,
        ),
    ]));
}

#[test]
fn roots_that_are_not_records_become_newtypes() {
    // Confluent serializers register plain values too (`"string"` for a key, an array or a
    // union for a value); each becomes a newtype named after the subject, and an upcast
    // between two of them is left to the application.
    insta::assert_snapshot!(code(&[
        ("keys.customer-id/1.avsc", r#""string""#),
        (
            "values.readings/1.avsc",
            r#"{"type":"array","items":["null","double"]}"#,
        ),
        (
            "values.readings/2.avsc",
            r#"{"type":"array","items":["null","double","string"]}"#,
        ),
        (
            "values.color/1.avsc",
            r#"{"type":"enum","name":"Color","symbols":["RED"]}"#,
        ),
    ]));
}

#[test]
fn json_schema_roots_that_are_not_objects_become_newtypes() {
    // A JSON Schema root need not be an object: each root below becomes a transparent
    // newtype named after the subject (or `title`), its bounds checked through the inner
    // value; an upcast between a newtype and an object is left to the application.
    insta::assert_snapshot!(code(&[
        (
            "keys.customer-id/1.json",
            r#"{"type":"string","minLength":3,"maxLength":12}"#,
        ),
        (
            "values.readings/1.json",
            r#"{"type":"array","items":{"type":"number","minimum":0},"maxItems":10}"#,
        ),
        (
            "values.readings/2.json",
            r#"{"type":"object","properties":{"values":{"type":"array","items":{"type":"number"}}}}"#,
        ),
        (
            "values.color/1.json",
            r#"{"title":"Paint","description":"A colour.","enum":["red","green"]}"#,
        ),
        (
            "values.either/1.json",
            r#"{"oneOf":[{"type":"string"},{"type":"integer","maximum":9}]}"#,
        ),
        (
            "values.pair/1.json",
            r#"{"type":"array","prefixItems":[{"type":"string"},{"type":["integer","null"]}],"items":false,"minItems":2}"#,
        ),
        (
            "values.tree/1.json",
            r##"{"type":"array","items":{"$ref":"#"}}"##,
        ),
        (
            "values.labels/1.json",
            r#"{"additionalProperties":{"type":"string"}}"#,
        ),
        ("values.anything/1.json", "true"),
        ("values.itself/1.json", r##"{"$ref":"#"}"##),
        (
            "values.name/1.json",
            r##"{"$ref":"#/$defs/name","$defs":{"name":{"type":"string","maxLength":5}}}"##,
        ),
    ]));
}

#[test]
fn json_schema_roots_no_value_satisfies_are_refused() {
    let errors = generate(&folder(&[
        ("values.nothing/1.json", "false"),
        ("values.nothing-else/1.json", r#"{"not":{}}"#),
    ]))
    .unwrap_err();
    let messages: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "values.nothing/1.json: at '': the schema `false` admits no value: no event has this schema",
            "values.nothing-else/1.json: at '/not': `not` of a schema that admits every value admits no value: no event has this schema",
        ]
    );
}

#[test]
fn unions_of_every_shape_and_logical_types_at_any_depth() {
    // Null first, last and between; several named and primitive branches; unions inside
    // arrays and maps; logical types under arrays of maps of options.
    insta::assert_snapshot!(code(&[(
        "s.u/1.avsc",
        r#"{"type":"record","name":"U","fields":[
            {"name":"null_first","type":["null","string","long"]},
            {"name":"null_last","type":["string",{"type":"record","name":"Inner","fields":[{"name":"x","type":"int"}]},"null"]},
            {"name":"null_between","type":["int","null",{"type":"enum","name":"Color","symbols":["RED","GREEN"]}]},
            {"name":"in_array","type":{"type":"array","items":["null","Inner","double"]}},
            {"name":"in_map","type":{"type":"map","values":["boolean","bytes"]}},
            {"name":"optional_in_array","type":{"type":"array","items":["null","string"]}},
            {"name":"deep","type":{"type":"array","items":{"type":"map","values":["null",{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}]}}},
            {"name":"nested_bytes","type":{"type":"array","items":{"type":"array","items":"bytes"}}},
            {"name":"times","type":{"type":"map","values":{"type":"array","items":{"type":"long","logicalType":"timestamp-micros"}}}}]}"#,
    )]));
}

#[test]
fn json_schema_one_of_with_const_discriminator_is_a_tagged_enum() {
    insta::assert_snapshot!(code(&[(
        "pay.payment-made/1.json",
        r##"{"title":"PaymentMade","type":"object",
            "properties":{
              "method":{"oneOf":[
                {"$ref":"#/definitions/Card"},
                {"type":"object","properties":{"kind":{"enum":["bank-transfer"]},"iban":{"type":"string"}},"required":["kind","iban"]}]},
              "reference":{"anyOf":[{"type":"string","maxLength":8},{"type":"integer"},{"type":"null"}]},
              "ambiguous":{"oneOf":[{"type":"object","properties":{"a":{"type":"string"}}},{"type":"object","properties":{"b":{"type":"string"}}}]}
            },
            "required":["method"],
            "definitions":{"Card":{"type":"object","properties":{"kind":{"const":"card"},"last4":{"type":"string"}},"required":["kind","last4"]}}}"##,
    )]));
}

#[test]
fn json_schema_all_of_is_merged_into_one_struct() {
    insta::assert_snapshot!(code(&[(
        "pay.refund-issued/1.json",
        r##"{"title":"RefundIssued","allOf":[
              {"$ref":"#/definitions/Base"},
              {"type":"object","properties":{"amount":{"type":"number"}},"required":["amount"]}],
            "properties":{"reason":{"type":"string"}},
            "definitions":{"Base":{"type":"object","properties":{"refundId":{"type":"string"}},"required":["refundId"]}}}"##,
    )]));
}

#[test]
fn json_schema_typed_additional_and_pattern_properties_are_maps() {
    insta::assert_snapshot!(code(&[(
        "pay.totals/1.json",
        r##"{"title":"Totals","type":"object",
            "properties":{
              "currency":{"type":"string"},
              "byRegion":{"type":"object","additionalProperties":{"type":"integer","minimum":0}},
              "metrics":{"type":"object","patternProperties":{"^m_":{"type":"number"}},"additionalProperties":false},
              "open":{"type":"object","patternProperties":{"^m_":{"type":"number"}}}
            },
            "additionalProperties":{"type":"string"}}"##,
    )]));
}

#[test]
fn json_schema_bounds_become_checks() {
    insta::assert_snapshot!(code(&[(
        "pay.bounded/1.json",
        r##"{"title":"Bounded","type":"object",
            "properties":{
              "amount":{"type":"number","exclusiveMinimum":0,"maximum":100,"multipleOf":0.5},
              "count":{"type":["integer","null"],"minimum":1,"exclusiveMaximum":10},
              "code":{"type":"string","minLength":2,"maxLength":3,"pattern":"^[A-Z]+$"},
              "tags":{"type":"array","minItems":1,"maxItems":3,"items":{"type":"string","maxLength":4}},
              "nested":{"type":"object","properties":{"level":{"type":"integer","maximum":5}}}
            },
            "required":["amount","code"]}"##,
    )]));
}

#[test]
fn json_schema_closed_prefix_items_are_tuples() {
    insta::assert_snapshot!(code(&[
        (
            "geo.point/1.json",
            r##"{"$schema":"https://json-schema.org/draft/2020-12/schema","title":"Point","type":"object",
                "properties":{
                  "at":{"type":"array","prefixItems":[{"type":"number","minimum":-90},{"type":"string"}],"items":false,"minItems":2},
                  "open":{"type":"array","prefixItems":[{"type":"number"}],"items":{"type":"string"}},
                  "short":{"type":"array","prefixItems":[{"type":"number"}],"items":false}
                },
                "required":["at"]}"##,
        ),
        (
            "geo.legacy-point/1.json",
            r##"{"$schema":"http://json-schema.org/draft-07/schema#","title":"LegacyPoint","type":"object",
                "properties":{"at":{"type":"array","items":[{"type":"number"},{"type":"boolean"}],"additionalItems":false,"minItems":2}},
                "required":["at"]}"##,
        ),
    ]));
}

/// A shared Avro type registered once (`shop.address`) and used by two subjects.
const ADDRESS_V1: &str = r#"{"type":"record","name":"Address","namespace":"shop","fields":[
    {"name":"street","type":"string"},
    {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["HOME","WORK"]},"default":"HOME"}]}"#;
const ADDRESS_V2: &str = r#"{"type":"record","name":"Address","namespace":"shop","fields":[
    {"name":"street","type":"string"},
    {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["HOME","WORK"]},"default":"HOME"},
    {"name":"zip","type":"string","default":""}]}"#;

#[test]
fn references_reuse_the_referenced_subjects_types() {
    let code = code(&[
        ("shop.address/1.avsc", ADDRESS_V1),
        (
            "orders.placed/1.avsc",
            r#"{"type":"record","name":"Placed","namespace":"orders","fields":[
                {"name":"to","type":"shop.Address"},
                {"name":"kind","type":"shop.Kind","default":"WORK"}]}"#,
        ),
        (
            "orders.placed/2.avsc",
            r#"{"type":"record","name":"Placed","namespace":"orders","fields":[
                {"name":"to","type":"shop.Address"},
                {"name":"kind","type":"shop.Kind","default":"WORK"},
                {"name":"from","type":["null","shop.Address"],"default":null}]}"#,
        ),
        (
            // Its own `Address` shares the short name: both get full names here, and the
            // referenced one is re-exported under that name.
            "billing.invoiced/1.avsc",
            r#"{"type":"record","name":"Invoiced","namespace":"billing","fields":[
                {"name":"billing","type":{"type":"record","name":"Address","fields":[{"name":"line","type":"string"}]}},
                {"name":"shipping","type":"shop.Address"}]}"#,
        ),
        (
            "eventschema.toml",
            r#"
[subjects."orders.placed".versions.1]
references = [{ name = "shop.Address", subject = "shop.address", version = 1 }]
[subjects."orders.placed".versions.2]
references = [{ name = "shop.Address", subject = "shop.address", version = 1 }]
[subjects."billing.invoiced".versions.1]
references = [{ name = "shop.Address", subject = "shop.address", version = 1 }]
"#,
        ),
    ]);
    // One definition of the shared types, in their own subject's module.
    assert_eq!(code.matches("pub struct Address {").count(), 1);
    assert_eq!(code.matches("pub enum Kind {").count(), 1);
    assert!(code.contains("pub use super::super::shop_address::v1::Address as ShopAddress;"));
    // The same referenced version on both sides: the upcaster is derived, not a trait.
    assert!(!code.contains("pub trait Upcast"));
    insta::assert_snapshot!(code);
}

#[test]
fn references_to_different_shared_versions_become_traits() {
    insta::assert_snapshot!(code(&[
        ("shop.address/1.avsc", ADDRESS_V1),
        ("shop.address/2.avsc", ADDRESS_V2),
        (
            "orders.placed/1.avsc",
            r#"{"type":"record","name":"Placed","namespace":"orders","fields":[{"name":"to","type":"shop.Address"}]}"#,
        ),
        (
            "orders.placed/2.avsc",
            r#"{"type":"record","name":"Placed","namespace":"orders","fields":[{"name":"to","type":"shop.Address"}]}"#,
        ),
        (
            "eventschema.toml",
            r#"
[subjects."orders.placed".versions.1]
references = [{ name = "shop.Address", subject = "shop.address", version = 1 }]
[subjects."orders.placed".versions.2]
references = [{ name = "shop.Address", subject = "shop.address", version = 2 }]
"#,
        ),
    ]));
}

#[test]
fn references_that_cannot_be_used_are_errors() {
    let errors = generate(&folder(&[
        ("shop.address/1.avsc", ADDRESS_V1),
        (
            "orders.placed/1.avsc",
            r#"{"type":"record","name":"Placed","fields":[{"name":"to","type":"shop.Address"}]}"#,
        ),
        (
            "shop.money/1.json",
            r#"{"type":"object","properties":{"cents":{"type":"integer"}}}"#,
        ),
        (
            "orders.paid/1.json",
            r#"{"type":"object","properties":{"amount":{"$ref":"money.json"}}}"#,
        ),
        (
            "eventschema.toml",
            r#"
[subjects."orders.placed".versions.1]
references = [{ name = "shop.Address", subject = "shop.address", version = 7 }]
[subjects."orders.paid".versions.1]
references = [{ name = "money.json", subject = "shop.money", version = 1 }]
"#,
        ),
    ]))
    .unwrap_err();
    let messages: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    insta::assert_snapshot!(messages.join("\n"));
}
