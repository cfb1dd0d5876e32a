//! The schema pairs the compatibility benchmark times, shared with the verdict comparison
//! test (`tests/avro_vs_apache_avro.rs`) so that both look at exactly the same inputs.

/// The Avro type of field `index` of a generated record: a mix of primitives, unions with a
/// default, collections and, now and then, a nested record or an enum (named per field so
/// that every name is unique).
fn field_type(index: usize) -> String {
    match index % 12 {
        0 => r#""int""#.to_owned(),
        1 => r#""long""#.to_owned(),
        2 => r#""string""#.to_owned(),
        3 => r#""double""#.to_owned(),
        4 => r#""boolean""#.to_owned(),
        5 => r#"["null","string"]"#.to_owned(),
        6 => r#"{"type":"array","items":"int"}"#.to_owned(),
        7 => r#"{"type":"map","values":"string"}"#.to_owned(),
        8 => r#""bytes""#.to_owned(),
        9 => format!(
            r#"{{"type":"record","name":"Inner{index}","fields":[{{"name":"a","type":"int"}},{{"name":"b","type":["null","long"],"default":null}},{{"name":"c","type":{{"type":"array","items":"string"}}}}]}}"#
        ),
        10 => format!(
            r#"{{"type":"enum","name":"Kind{index}","symbols":["A","B","C","D"],"default":"A"}}"#
        ),
        _ => r#"{"type":"fixed","name":"Hash"#.to_owned() + &index.to_string() + r#"","size":16}"#,
    }
}

fn field(index: usize) -> String {
    let default = if index % 12 == 5 {
        r#","default":null"#
    } else {
        ""
    };
    format!(
        r#"{{"name":"f{index}","type":{}{default}}}"#,
        field_type(index)
    )
}

/// A record with `fields` generated fields plus, for each of `added`, one more string
/// field with a default (`added0`, `added1`, ...).
pub fn record(fields: usize, added: usize) -> String {
    let mut all: Vec<String> = (0..fields).map(field).collect();
    all.extend(
        (0..added).map(|i| format!(r#"{{"name":"added{i}","type":"string","default":""}}"#)),
    );
    format!(
        r#"{{"type":"record","name":"Event","namespace":"bench.events","fields":[{}]}}"#,
        all.join(",")
    )
}

/// A compatible evolution (one field added with a default) of a `fields`-field record:
/// `(old, new)`.
pub fn record_pair(fields: usize) -> (String, String) {
    (record(fields, 0), record(fields, 1))
}

/// `versions` versions of a 10-field record, each adding one field with a default, oldest
/// first: every version is compatible with every earlier one in both directions.
pub fn chain(versions: usize) -> Vec<String> {
    (0..versions).map(|version| record(10, version)).collect()
}

/// A JSON Schema of `depth` levels of nested objects, each with a sibling string property,
/// whose innermost property has type `leaf`.
pub fn nested_json(depth: usize, leaf: &str) -> String {
    let mut schema = format!(
        r#"{{"type":"object","properties":{{"name":{{"type":"string"}},"leaf":{{"type":"{leaf}"}}}}}}"#
    );
    for level in (0..depth).rev() {
        schema = format!(
            r#"{{"type":"object","properties":{{"name":{{"type":"string","maxLength":64}},"level{level}":{schema}}},"required":["name"]}}"#
        );
    }
    schema
}

/// `depth` levels of nested objects; the only change is at the bottom, integer widened to
/// number (TYPE_EXTENDED, backward compatible): `(old, new)`.
pub fn nested_json_pair(depth: usize) -> (String, String) {
    (nested_json(depth, "integer"), nested_json(depth, "number"))
}

/// The Avro pairs of the benchmark, as `(name, old, new)`; the chain contributes its first
/// and last version.
pub fn avro_pairs() -> Vec<(&'static str, String, String)> {
    let (old10, new10) = record_pair(10);
    let (old500, new500) = record_pair(500);
    let versions = chain(50);
    vec![
        ("record_10_fields", old10, new10),
        ("record_500_fields", old500, new500),
        (
            "chain_first_vs_last",
            versions.first().cloned().unwrap_or_default(),
            versions.last().cloned().unwrap_or_default(),
        ),
    ]
}
