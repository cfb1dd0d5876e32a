//! The corpus test: every schema of the conformance cases that the generator expresses is
//! round-tripped through its generated type with values it did not write.
//!
//! For each Avro schema, random values drawn from the schema (seeded: the same values on
//! every run) are written by apache-avro's `Value` writer (not through serde), read by the
//! generated type and written back: the bytes must be identical. A map with two or more
//! entries is the one exception, since apache-avro writes a `HashMap` in no fixed order and
//! the generated `BTreeMap` writes keys sorted: those datums must have the same length and
//! read back, by apache-avro, to an equal value.
//!
//! For each JSON Schema, instances drawn from the schema (seeded) that the `jsonschema` crate
//! accepts are decoded by the generated type and encoded again: the JSON must be equal
//! (numbers by value, as JSON Schema compares them), the runtime's validator (the schema
//! the generated type registers, checked as the bus checks an event) must accept them, and
//! every mutation of them that `jsonschema` refuses must be refused by that validator too.
//!
//! The schemas the generator refuses must be exactly those listed, with the reason, in
//! `tests/corpus/unsupported.txt` (reviewed: only what no Rust type can hold may stay).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema::{InnerDecimalSchema, Name, UuidSchema};
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::{Days, Decimal, Duration, Millis, Months, Schema};
use eventschema_corpus::{CASES, Case, UNSUPPORTED};

mod json;

/// Values drawn per schema.
const VALUES_PER_SCHEMA: usize = 40;
/// Below this depth, collections are empty and unions prefer a branch that ends.
const MAX_DEPTH: usize = 5;

struct Draw<'s> {
    rng: fastrand::Rng,
    names: HashMap<Name, &'s Schema>,
    /// Whether the value holds a map of two or more entries (written in no fixed order).
    unordered: bool,
}

fn collect_names<'s>(schema: &'s Schema, names: &mut HashMap<Name, &'s Schema>) {
    match schema {
        Schema::Record(record) => {
            names.insert(record.name.clone(), schema);
            for field in &record.fields {
                collect_names(&field.schema, names);
            }
        }
        Schema::Enum(e) => {
            names.insert(e.name.clone(), schema);
        }
        Schema::Fixed(f) | Schema::Duration(f) => {
            names.insert(f.name.clone(), schema);
        }
        Schema::Uuid(UuidSchema::Fixed(f)) => {
            names.insert(f.name.clone(), schema);
        }
        Schema::Decimal(d) => {
            if let InnerDecimalSchema::Fixed(f) = &d.inner {
                names.insert(f.name.clone(), schema);
            }
        }
        Schema::Array(a) => collect_names(&a.items, names),
        Schema::Map(m) => collect_names(&m.types, names),
        Schema::Union(u) => u.variants().iter().for_each(|v| collect_names(v, names)),
        _ => {}
    }
}

/// The minimal big-endian two's-complement bytes of `n` (what Java's BigInteger writes).
fn minimal_bytes(n: i128) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let mut start = 0;
    while start + 1 < bytes.len() {
        let (this, next) = (bytes[start], bytes[start + 1]);
        let redundant = (this == 0 && next & 0x80 == 0) || (this == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    bytes[start..].to_vec()
}

impl Draw<'_> {
    fn string(&mut self) -> String {
        let len = self.rng.usize(0..6);
        (0..len)
            .map(|_| match self.rng.u8(0..4) {
                0 => self.rng.char('a'..='z'),
                1 => self.rng.char('\u{80}'..='\u{7ff}'),
                2 => self.rng.char('\u{1F300}'..='\u{1F5FF}'),
                _ => self.rng.char(' '..='~'),
            })
            .collect()
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.rng.u8(..)).collect()
    }

    /// An unscaled decimal value of at most `precision` digits that fits in `size` bytes.
    fn unscaled(&mut self, precision: usize, size: Option<usize>) -> i128 {
        let digits = precision.min(30);
        let mut limit = 10_i128.pow(u32::try_from(digits).unwrap());
        if let Some(size) = size {
            let bits = (size * 8).min(120);
            limit = limit.min(1_i128 << (bits.saturating_sub(1)));
        }
        self.rng.i128(-(limit - 1).max(0)..=(limit - 1).max(0))
    }

    fn value(&mut self, schema: &Schema, depth: usize) -> Value {
        match schema {
            Schema::Null => Value::Null,
            Schema::Boolean => Value::Boolean(self.rng.bool()),
            Schema::Int => Value::Int(self.rng.i32(..)),
            Schema::Long => Value::Long(self.rng.i64(..)),
            Schema::Float => Value::Float(f32::from_bits(self.rng.u32(..))),
            Schema::Double => Value::Double(f64::from_bits(self.rng.u64(..))),
            Schema::Bytes => {
                let len = self.rng.usize(0..8);
                Value::Bytes(self.bytes(len))
            }
            Schema::String => Value::String(self.string()),
            Schema::Array(array) => {
                let len = if depth >= MAX_DEPTH {
                    0
                } else {
                    self.rng.usize(0..4)
                };
                Value::Array(
                    (0..len)
                        .map(|_| self.value(&array.items, depth + 1))
                        .collect(),
                )
            }
            Schema::Map(map) => {
                let len = if depth >= MAX_DEPTH {
                    0
                } else {
                    self.rng.usize(0..4)
                };
                let mut entries = HashMap::new();
                for _ in 0..len {
                    let key = self.string();
                    let value = self.value(&map.types, depth + 1);
                    entries.insert(key, value);
                }
                self.unordered |= entries.len() > 1;
                Value::Map(entries)
            }
            Schema::Union(union) => {
                let variants = union.variants();
                if variants.is_empty() {
                    // No value has this schema; the writer refuses whatever is drawn.
                    return Value::Null;
                }
                let index = if depth >= MAX_DEPTH {
                    variants
                        .iter()
                        .position(|v| matches!(v, Schema::Null))
                        .unwrap_or(0)
                } else {
                    self.rng.usize(0..variants.len())
                };
                let value = self.value(&variants[index], depth + 1);
                Value::Union(u32::try_from(index).unwrap(), Box::new(value))
            }
            Schema::Record(record) => Value::Record(
                record
                    .fields
                    .iter()
                    .map(|field| (field.name.clone(), self.value(&field.schema, depth + 1)))
                    .collect(),
            ),
            Schema::Enum(e) => {
                let index = self.rng.usize(0..e.symbols.len());
                Value::Enum(u32::try_from(index).unwrap(), e.symbols[index].clone())
            }
            Schema::Fixed(fixed) => Value::Fixed(fixed.size, self.bytes(fixed.size)),
            Schema::Decimal(decimal) => {
                let size = match &decimal.inner {
                    InnerDecimalSchema::Fixed(fixed) => Some(fixed.size),
                    InnerDecimalSchema::Bytes => None,
                };
                let unscaled = self.unscaled(decimal.precision, size);
                let mut bytes = minimal_bytes(unscaled);
                if let Some(size) = size {
                    // Sign-extended to the fixed's size, as Java's DecimalConversion writes.
                    let fill = if unscaled < 0 { 0xff } else { 0 };
                    let mut full = vec![fill; size - bytes.len()];
                    full.append(&mut bytes);
                    bytes = full;
                }
                Value::Decimal(Decimal::from(bytes))
            }
            Schema::Uuid(_) => Value::Uuid(uuid::Uuid::from_u128(self.rng.u128(..))),
            Schema::Date => Value::Date(self.rng.i32(-1_000_000..1_000_000)),
            Schema::TimeMillis => Value::TimeMillis(self.rng.i32(0..86_400_000)),
            Schema::TimeMicros => Value::TimeMicros(self.rng.i64(0..86_400_000_000)),
            Schema::TimestampMillis => Value::TimestampMillis(self.timestamp(1_000)),
            Schema::TimestampMicros => Value::TimestampMicros(self.timestamp(1_000_000)),
            Schema::TimestampNanos => Value::TimestampNanos(self.rng.i64(..)),
            Schema::LocalTimestampMillis => Value::LocalTimestampMillis(self.timestamp(1_000)),
            Schema::LocalTimestampMicros => Value::LocalTimestampMicros(self.timestamp(1_000_000)),
            Schema::LocalTimestampNanos => Value::LocalTimestampNanos(self.rng.i64(..)),
            Schema::Duration(_) => Value::Duration(Duration::new(
                Months::new(self.rng.u32(..)),
                Days::new(self.rng.u32(..)),
                Millis::new(self.rng.u32(..)),
            )),
            Schema::Ref { name } => {
                let target = *self
                    .names
                    .get(name)
                    .unwrap_or_else(|| panic!("no definition of {name:?}"));
                self.value(target, depth + 1)
            }
            Schema::BigDecimal => panic!("big-decimal values are not drawn (no case has one)"),
        }
    }

    /// Instants within chrono's range (about 262,000 years either side of 1970).
    fn timestamp(&mut self, per_second: i64) -> i64 {
        let seconds = self.rng.i64(-8_000_000_000_000..8_000_000_000_000);
        seconds * per_second + self.rng.i64(0..per_second)
    }
}

/// Value equality with floats compared by their bits: a NaN written and read back is the
/// same NaN, which `==` would call different.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Double(x), Value::Double(y)) => x.to_bits() == y.to_bits(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| same_value(x, y)))
        }
        (Value::Record(x), Value::Record(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, x), (ky, y))| kx == ky && same_value(x, y))
        }
        (Value::Union(ix, x), Value::Union(iy, y)) => ix == iy && same_value(x, y),
        _ => a == b,
    }
}

#[test]
fn every_avro_schema_round_trips_values_apache_avro_wrote() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in CASES.iter().filter(|case| case.format == "avro") {
        let schema = match Schema::parse_str(case.schema) {
            Ok(schema) => schema,
            Err(error) => {
                failures.push(format!(
                    "{}: apache-avro cannot parse {}: {error}",
                    case.subject, case.schema
                ));
                continue;
            }
        };
        let writer = GenericDatumWriter::builder(&schema).build().unwrap();
        let reader = GenericDatumReader::builder(&schema).build().unwrap();
        let mut names = HashMap::new();
        collect_names(&schema, &mut names);
        // Seeded by the subject, so a failure reproduces.
        let seed = case
            .subject
            .bytes()
            .fold(0_u64, |h, b| h.wrapping_mul(0x100_0000_01b3) ^ u64::from(b));
        let mut draw = Draw {
            rng: fastrand::Rng::with_seed(seed),
            names,
            unordered: false,
        };
        for round in 0..VALUES_PER_SCHEMA {
            draw.unordered = false;
            let value = draw.value(&schema, 0);
            let written = match writer.write_value_to_vec(value.clone()) {
                Ok(bytes) => bytes,
                // An empty union (no value exists) is the one schema nothing can write.
                Err(_) if matches!(&schema, Schema::Union(u) if u.variants().is_empty()) => break,
                Err(error) => panic!(
                    "{}: apache-avro cannot write {value:?}: {error}",
                    case.subject
                ),
            };
            match (case.round_trip)(&written) {
                Ok(again) if again == written => {}
                Ok(again) if draw.unordered && again.len() == written.len() => {
                    let back = reader.read_value(&mut &again[..])
                        .unwrap_or_else(|e| panic!("{}: {e}", case.subject));
                    if !same_value(&back, &value) {
                        failures.push(format!(
                            "{} value {round}: written back as a different value\n  schema {}\n  value {value:?}\n  back  {back:?}",
                            case.subject, case.schema
                        ));
                    }
                }
                Ok(again) => failures.push(format!(
                    "{} value {round}: different bytes\n  schema {}\n  value {value:?}\n  apache-avro {written:?}\n  generated   {again:?}",
                    case.subject, case.schema
                )),
                Err(error) => failures.push(format!(
                    "{} value {round}: the generated type cannot read it: {error}\n  schema {}\n  value {value:?}\n  bytes {written:?}",
                    case.subject, case.schema
                )),
            }
            checked += 1;
        }
    }
    println!("{checked} Avro values round-tripped");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 1000, "only {checked} values were checked");
}

#[test]
fn the_schemas_left_out_are_exactly_the_reviewed_list() {
    let subjects = |text: &str| -> BTreeSet<String> {
        text.lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .map(|line| line.split('\t').next().unwrap_or_default().to_owned())
            .collect()
    };
    let reviewed = include_str!("../unsupported.txt");
    let found = subjects(UNSUPPORTED);
    let expected = subjects(reviewed);
    let new: Vec<_> = UNSUPPORTED
        .lines()
        .filter(|line| {
            let subject = line.split('\t').next().unwrap_or_default();
            !expected.contains(subject)
        })
        .collect();
    assert!(
        new.is_empty(),
        "the generator refuses schemas it did not before:\n{}",
        new.join("\n")
    );
    let now_supported: Vec<_> = expected.difference(&found).collect();
    assert!(
        now_supported.is_empty(),
        "these now generate: remove them from tests/corpus/unsupported.txt: {now_supported:?}"
    );
}

/// Instances drawn per JSON schema (those `jsonschema` refuses are dropped).
const INSTANCES_PER_SCHEMA: usize = 30;

/// The envelope the bus would validate: `data` as the JSON payload of version 1 of `case`.
fn envelope(case: &Case, data: &serde_json::Value) -> eventschema::Envelope {
    let mut envelope = eventschema::Envelope::new("1", "/corpus", case.subject).unwrap();
    envelope.set_datacontenttype("application/json").unwrap();
    envelope
        .set_extension(eventschema::envelope::ext::SCHEMA_VERSION, "1")
        .unwrap();
    envelope.set_data(serde_json::to_vec(data).unwrap());
    envelope
}

#[test]
fn every_json_schema_round_trips_valid_instances_and_the_runtime_refuses_invalid_ones() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut failures = Vec::new();
    let mut undrawable = Vec::new();
    let mut uncompiled = Vec::new();
    // Valid mutations the generated type refuses, by kind.
    let mut unreadable: [(&str, Vec<String>); 3] = [
        (
            "not objects, for a root with `properties` but no `type` (a struct reads objects only)",
            Vec::new(),
        ),
        (
            "integral floats (`28.0`) for `integer` (serde's i64 reads integer literals only)",
            Vec::new(),
        ),
        ("other", Vec::new()),
    ];
    let mut valid_mutations = 0;
    let (mut schemas, mut round_trips, mut mutations, mut refused, mut decoded_anyway) =
        (0, 0, 0, 0, 0);
    for (index, case) in CASES.iter().filter(|c| c.format == "json").enumerate() {
        schemas += 1;
        let document: serde_json::Value = serde_json::from_str(case.schema).unwrap();
        let catalog = eventschema::SchemaCatalog::new();
        // The draft as the runtime picks it: the newest, or draft 7 for a document without
        // `$schema` that is not a schema of the newest (Confluent's default draft).
        let compiled = jsonschema::validator_for(&document).or_else(|e| {
            if document.get("$schema").is_none() {
                jsonschema::draft7::new(&document)
            } else {
                Err(e)
            }
        });
        let validator = match compiled {
            Ok(validator) => validator,
            Err(e) => {
                // No oracle for validity; the runtime (the same crate) must refuse it too.
                assert!(
                    (case.register)(&catalog).is_err(),
                    "{}: jsonschema refuses it ({e}) but the runtime registers it",
                    case.subject
                );
                uncompiled.push(case.subject);
                continue;
            }
        };
        (case.register)(&catalog)
            .unwrap_or_else(|e| panic!("{}: the runtime refuses the schema: {e}", case.subject));
        let runtime_accepts = |data: &serde_json::Value| {
            runtime
                .block_on(catalog.validate(&envelope(case, data)))
                .map(|_| ())
        };
        let mut draw = json::Draw::new(0x5eed_0000 + index as u64, &document);
        let mut valid: Vec<serde_json::Value> = Vec::new();
        for _ in 0..INSTANCES_PER_SCHEMA {
            if let Some(instance) = draw.instance()
                && validator.is_valid(&instance)
                && !valid.contains(&instance)
            {
                valid.push(instance);
            }
        }
        if valid.is_empty() {
            undrawable.push(case.subject);
            continue;
        }
        for instance in &valid {
            round_trips += 1;
            let bytes = serde_json::to_vec(instance).unwrap();
            match (case.round_trip)(&bytes) {
                Ok(out) => {
                    let out: serde_json::Value = serde_json::from_slice(&out).unwrap();
                    if !json::same(instance, &out) {
                        failures.push(format!(
                            "{}: {instance} came back as {out}\n  schema: {}",
                            case.subject, case.schema
                        ));
                    }
                }
                Err(e) => failures.push(format!(
                    "{}: {instance} does not round-trip: {e}\n  schema: {}",
                    case.subject, case.schema
                )),
            }
            if let Err(e) = runtime_accepts(instance) {
                failures.push(format!(
                    "{}: the runtime refuses the valid {instance}: {e}",
                    case.subject
                ));
            }
            for mutated in json::mutations(instance) {
                if validator.is_valid(&mutated) {
                    // Admitted by the runtime: a handler of the generated type should read
                    // it. Counted, not required (see the printed examples).
                    valid_mutations += 1;
                    if let Err(e) = (case.round_trip)(&serde_json::to_vec(&mutated).unwrap()) {
                        let e = e.to_string();
                        let kind = if !mutated.is_object()
                            && document.get("properties").is_some()
                            && document.get("type").is_none()
                        {
                            0
                        } else if e.contains("floating point") {
                            1
                        } else {
                            2
                        };
                        unreadable[kind]
                            .1
                            .push(format!("{}: {mutated}: {e}", case.subject));
                    }
                    continue;
                }
                mutations += 1;
                match runtime_accepts(&mutated) {
                    Err(eventschema::CheckError::Invalid(_)) => refused += 1,
                    other => failures.push(format!(
                        "{}: the runtime does not refuse the invalid {mutated}: {other:?}\n  schema: {}",
                        case.subject, case.schema
                    )),
                }
                // What a handler would get without validation: informational.
                if (case.round_trip)(&serde_json::to_vec(&mutated).unwrap()).is_ok() {
                    decoded_anyway += 1;
                }
            }
        }
    }
    println!(
        "JSON Schema: {schemas} generated schemas, {round_trips} valid instances round-tripped, \
         {mutations} invalid mutations ({refused} refused by the runtime's validator; \
         {decoded_anyway} of them the generated type alone would decode)"
    );
    println!(
        "{} schemas with no valid instance drawn (skipped): {undrawable:?}",
        undrawable.len()
    );
    println!(
        "{} of {valid_mutations} valid mutations the generated type cannot decode:",
        unreadable.iter().map(|(_, list)| list.len()).sum::<usize>()
    );
    for (kind, list) in &unreadable {
        println!(
            "  {} {kind}, e.g. {:#?}",
            list.len(),
            &list[..list.len().min(3)]
        );
    }

    println!(
        "{} schemas the jsonschema crate (and so the runtime) does not compile (skipped): {uncompiled:?}",
        uncompiled.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(round_trips > 0 && mutations > 0);
}
