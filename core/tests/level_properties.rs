//! Laws of the compatibility levels, over generated schema histories of both formats:
//! every schema is compatible with itself at every level; FULL holds exactly when BACKWARD
//! and FORWARD hold; transitive levels agree with checking each earlier version on its own,
//! and non-transitive levels with checking only the newest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eventschema_core::{CompatibilityLevel, Limits, ParsedSchema, SchemaType, check_compatibility};
use proptest::prelude::*;
use serde_json::{Value, json};

/// One field of a generated record/object: name index, type index, has a default/optional.
type FieldSpec = (u8, u8, bool);

const AVRO_TYPES: [&str; 4] = ["int", "long", "string", "double"];
const JSON_TYPES: [&str; 4] = ["integer", "number", "string", "boolean"];

fn avro_schema(fields: &[FieldSpec]) -> ParsedSchema {
    let mut seen = std::collections::BTreeSet::new();
    let fields: Vec<Value> = fields
        .iter()
        .filter(|(name, _, _)| seen.insert(*name))
        .map(|(name, kind, defaulted)| {
            let kind = AVRO_TYPES[usize::from(*kind) % AVRO_TYPES.len()];
            let mut field = json!({"name": format!("f{name}"), "type": kind});
            if *defaulted {
                field["default"] = match kind {
                    "string" => json!(""),
                    "double" => json!(0.0),
                    _ => json!(0),
                };
            }
            field
        })
        .collect();
    let text = json!({"type": "record", "name": "R", "fields": fields}).to_string();
    ParsedSchema::parse_standalone(SchemaType::Avro, &text, &Limits::DEFAULT).unwrap()
}

fn json_schema(fields: &[FieldSpec], closed: bool) -> ParsedSchema {
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for (name, kind, optional) in fields {
        let key = format!("p{name}");
        let kind = JSON_TYPES[usize::from(*kind) % JSON_TYPES.len()];
        if properties
            .insert(key.clone(), json!({"type": kind}))
            .is_none()
            && !optional
        {
            required.push(key);
        }
    }
    let text = json!({"type": "object", "properties": properties, "required": required,
                      "additionalProperties": !closed})
    .to_string();
    ParsedSchema::parse_standalone(SchemaType::Json, &text, &Limits::DEFAULT).unwrap()
}

fn fields() -> impl Strategy<Value = Vec<FieldSpec>> {
    prop::collection::vec((0u8..5, 0u8..4, any::<bool>()), 0..5)
}

/// A history of 1 to 4 versions plus a candidate, in one format.
fn history() -> impl Strategy<Value = (Vec<ParsedSchema>, ParsedSchema)> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(fields(), 2..6),
    )
        .prop_map(|(avro, closed, versions)| {
            let mut schemas: Vec<ParsedSchema> = versions
                .iter()
                .map(|f| {
                    if avro {
                        avro_schema(f)
                    } else {
                        json_schema(f, closed)
                    }
                })
                .collect();
            let candidate = schemas.pop().unwrap();
            (schemas, candidate)
        })
}

fn compatible(
    level: CompatibilityLevel,
    candidate: &ParsedSchema,
    previous: &[ParsedSchema],
) -> bool {
    let numbered: Vec<(i32, &ParsedSchema)> = previous
        .iter()
        .enumerate()
        .map(|(i, s)| (i32::try_from(i).unwrap() + 1, s))
        .collect();
    check_compatibility(level, candidate, &numbered).is_compatible()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_schema_is_compatible_with_itself_at_every_level((previous, _) in history()) {
        let schema = &previous[0];
        for level in CompatibilityLevel::ALL {
            prop_assert!(compatible(level, schema, std::slice::from_ref(schema)), "{level}: {}", schema.canonical_string());
        }
    }

    #[test]
    fn full_is_backward_and_forward((previous, candidate) in history()) {
        use CompatibilityLevel as L;
        for (full, backward, forward) in [
            (L::Full, L::Backward, L::Forward),
            (L::FullTransitive, L::BackwardTransitive, L::ForwardTransitive),
        ] {
            prop_assert_eq!(
                compatible(full, &candidate, &previous),
                compatible(backward, &candidate, &previous) && compatible(forward, &candidate, &previous)
            );
        }
    }

    #[test]
    fn transitive_levels_are_every_pair_and_plain_levels_the_newest((previous, candidate) in history()) {
        use CompatibilityLevel as L;
        for (transitive, plain) in [
            (L::BackwardTransitive, L::Backward),
            (L::ForwardTransitive, L::Forward),
            (L::FullTransitive, L::Full),
        ] {
            let each_pair = previous
                .iter()
                .all(|one| compatible(plain, &candidate, std::slice::from_ref(one)));
            prop_assert_eq!(compatible(transitive, &candidate, &previous), each_pair);
            let newest = previous.last().unwrap();
            prop_assert_eq!(
                compatible(plain, &candidate, &previous),
                compatible(plain, &candidate, std::slice::from_ref(newest))
            );
        }
        prop_assert!(compatible(L::None, &candidate, &previous));
    }
}
