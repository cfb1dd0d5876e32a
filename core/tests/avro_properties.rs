//! Property tests over generated Avro schemas: self-compatibility, idempotent canonical
//! forms, and a parser that never panics on arbitrary JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eventschema_core::Limits;
use eventschema_core::avro::AvroSchema;
use eventschema_core::avro::compat::check_reader_writer;
use proptest::prelude::*;
use serde_json::{Value, json};

/// A schema shape; names are assigned when it is rendered so they are unique.
#[derive(Debug, Clone)]
enum Shape {
    Primitive(&'static str),
    Logical(&'static str, &'static str),
    Array(Box<Shape>),
    Map(Box<Shape>),
    Union(Vec<Shape>),
    Record {
        fields: Vec<(Shape, bool)>,
        namespace: bool,
        error: bool,
    },
    Enum {
        symbols: usize,
        default: bool,
    },
    Fixed(u32),
    /// `["null", <enclosing record>]` with a null default: recursion.
    SelfRef,
}

const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

fn leaf() -> impl Strategy<Value = Shape> {
    prop_oneof![
        4 => proptest::sample::select(&PRIMITIVES[..]).prop_map(Shape::Primitive),
        1 => proptest::sample::select(&[
            ("int", "date"),
            ("long", "timestamp-millis"),
            ("long", "local-timestamp-micros"),
            ("string", "uuid"),
            ("int", "not-a-logical-type"),
        ][..])
        .prop_map(|(base, logical)| Shape::Logical(base, logical)),
        1 => (1usize..4, any::<bool>()).prop_map(|(symbols, default)| Shape::Enum { symbols, default }),
        1 => (0u32..20).prop_map(Shape::Fixed),
        1 => Just(Shape::SelfRef),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    leaf().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            inner.clone().prop_map(|s| Shape::Array(Box::new(s))),
            inner.clone().prop_map(|s| Shape::Map(Box::new(s))),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Shape::Union),
            (
                proptest::collection::vec((inner, any::<bool>()), 0..5),
                any::<bool>(),
                any::<bool>()
            )
                .prop_map(|(fields, namespace, error)| Shape::Record {
                    fields,
                    namespace,
                    error
                }),
        ]
    })
}

fn root_shape() -> impl Strategy<Value = Shape> {
    (
        proptest::collection::vec((shape(), any::<bool>()), 0..6),
        any::<bool>(),
    )
        .prop_map(|(fields, namespace)| Shape::Record {
            fields,
            namespace,
            error: false,
        })
}

struct Renderer {
    counter: usize,
    records: Vec<String>,
}

impl Renderer {
    fn name(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    /// Renders a shape; unions get their branches deduplicated and never nest.
    fn render(&mut self, shape: &Shape) -> Value {
        match shape {
            Shape::Primitive(p) => json!(p),
            Shape::Logical(base, logical) => json!({"type": base, "logicalType": logical}),
            Shape::Array(items) => json!({"type": "array", "items": self.render(items)}),
            Shape::Map(values) => json!({"type": "map", "values": self.render(values)}),
            Shape::Union(branches) => {
                let mut seen = Vec::new();
                let mut out = Vec::new();
                for branch in branches {
                    if matches!(branch, Shape::Union(_) | Shape::SelfRef) {
                        continue;
                    }
                    let key = match branch {
                        Shape::Primitive(p) => p.to_string(),
                        Shape::Logical(base, _) => base.to_string(),
                        Shape::Array(_) => "array".into(),
                        Shape::Map(_) => "map".into(),
                        _ => String::new(),
                    };
                    if !key.is_empty() {
                        if seen.contains(&key) {
                            continue;
                        }
                        seen.push(key);
                    }
                    out.push(self.render(branch));
                }
                Value::Array(out)
            }
            Shape::Record {
                fields,
                namespace,
                error,
            } => {
                let name = self.name("Rec");
                let full = if *namespace {
                    format!("ns{}.{name}", self.counter)
                } else {
                    name.clone()
                };
                self.records.push(full.clone());
                let rendered: Vec<Value> = fields
                    .iter()
                    .enumerate()
                    .map(|(i, (field, doc))| {
                        let mut object = serde_json::Map::new();
                        object.insert("name".into(), json!(format!("f{i}")));
                        if let Shape::SelfRef = field {
                            object.insert("type".into(), json!(["null", full.clone()]));
                            object.insert("default".into(), Value::Null);
                        } else {
                            object.insert("type".into(), self.render(field));
                        }
                        if *doc {
                            object.insert("doc".into(), json!(format!("field {i} \"docs\"")));
                            object.insert("aliases".into(), json!([format!("old{i}")]));
                        }
                        Value::Object(object)
                    })
                    .collect();
                self.records.pop();
                json!({
                    "type": if *error { "error" } else { "record" },
                    "name": full,
                    "fields": rendered,
                    "x-prop": {"n": 1.5}
                })
            }
            Shape::Enum { symbols, default } => {
                let symbols: Vec<String> = (0..*symbols).map(|i| format!("S{i}")).collect();
                let mut value =
                    json!({"type": "enum", "name": self.name("Enum"), "symbols": symbols});
                if *default {
                    value["default"] = json!("S0");
                }
                value
            }
            Shape::Fixed(size) => {
                json!({"type": "fixed", "name": self.name("Fix"), "size": size, "aliases": ["Other"]})
            }
            Shape::SelfRef => match self.records.last() {
                Some(name) => json!(name),
                None => json!("int"),
            },
        }
    }
}

fn render(shape: &Shape) -> String {
    Renderer {
        counter: 0,
        records: Vec::new(),
    }
    .render(shape)
    .to_string()
}

fn parse(text: &str) -> AvroSchema {
    AvroSchema::parse(text, &[], &Limits::DEFAULT)
        .unwrap_or_else(|err| panic!("generated schema does not parse: {err}\n{text}"))
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let words = proptest::sample::select(
        &[
            "type",
            "record",
            "error",
            "enum",
            "fixed",
            "array",
            "map",
            "name",
            "namespace",
            "fields",
            "items",
            "values",
            "symbols",
            "size",
            "default",
            "aliases",
            "doc",
            "order",
            "logicalType",
            "decimal",
            "precision",
            "scale",
            "int",
            "long",
            "null",
            "string",
            "R",
            "a.b",
            "",
            "descending",
            "NaN",
        ][..],
    );
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e10f64..1e10).prop_map(|f| json!(f)),
        words.clone().prop_map(|w| json!(w)),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((words.clone(), inner), 0..6).prop_map(|entries| {
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_schema_is_compatible_with_itself(shape in root_shape()) {
        let text = render(&shape);
        let schema = parse(&text);
        prop_assert!(check_reader_writer(&schema, &schema).is_empty(), "{}", text);
        let other = parse(&text);
        prop_assert!(check_reader_writer(&schema, &other).is_empty(), "{}", text);
        prop_assert!(check_reader_writer(&other, &schema).is_empty(), "{}", text);
    }

    #[test]
    fn canonical_string_is_idempotent(shape in root_shape()) {
        let schema = parse(&render(&shape));
        let canonical = schema.canonical_string();
        let again = parse(&canonical);
        prop_assert_eq!(&again.canonical_string(), &canonical);
        prop_assert_eq!(again.parsing_canonical_form(), schema.parsing_canonical_form());
        prop_assert!(check_reader_writer(&again, &schema).is_empty());
        prop_assert!(check_reader_writer(&schema, &again).is_empty());
    }

    #[test]
    fn parsing_canonical_form_is_idempotent(shape in root_shape()) {
        let schema = parse(&render(&shape));
        let pcf = schema.parsing_canonical_form();
        let again = parse(&pcf);
        prop_assert_eq!(&again.parsing_canonical_form(), &pcf);
        prop_assert_eq!(again.fingerprint_rabin(), schema.fingerprint_rabin());
    }

    #[test]
    fn normalized_string_is_idempotent_and_keeps_meaning(shape in root_shape()) {
        let schema = parse(&render(&shape));
        let normalized = schema.normalized_string();
        let again = parse(&normalized);
        prop_assert_eq!(&again.normalized_string(), &normalized);
        prop_assert_eq!(again.parsing_canonical_form(), schema.parsing_canonical_form());
    }

    #[test]
    fn parser_never_panics_on_arbitrary_json(value in arbitrary_json()) {
        let text = value.to_string();
        if let Ok(schema) = AvroSchema::parse(&text, &[], &Limits::DEFAULT) {
            // Whatever parses can be printed and checked.
            let _ = schema.canonical_string();
            let _ = schema.normalized_string();
            let _ = schema.parsing_canonical_form();
            prop_assert!(check_reader_writer(&schema, &schema).is_empty());
        }
    }

    #[test]
    fn parser_never_panics_on_arbitrary_text(text in ".{0,64}") {
        let _ = AvroSchema::parse(&text, &[], &Limits::DEFAULT);
    }
}
