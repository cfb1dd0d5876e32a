//! Random Avro schemas for the corpus (drawn by `build.rs` from a fixed seed): records with
//! zero to five fields, unions of one to four branches with null anywhere (or nowhere),
//! named and primitive branches mixed, arrays and maps of anything (unions included), enums,
//! fixed, every logical type on every primitive it annotates, and records that reach
//! themselves through an optional field or an array. Every schema is valid Avro: union
//! branches are distinct types and never unions themselves, names are unique.

use serde_json::{Value, json};

/// Below this depth, types are leaves (no records, collections or unions).
const MAX_DEPTH: usize = 4;

struct Draw<'r> {
    rng: &'r mut fastrand::Rng,
    /// Names given so far in this schema (each named type gets a fresh one).
    named: usize,
    /// Records being defined, which a field may refer to (recursion).
    open: Vec<String>,
}

/// Schema `number` of the sample: always a record at the root, as events are.
pub fn schema(rng: &mut fastrand::Rng, number: usize) -> Value {
    let mut draw = Draw {
        rng,
        named: 0,
        open: Vec::new(),
    };
    let mut root = draw.record(0);
    root["namespace"] = json!(format!("random.s{number}"));
    root
}

impl Draw<'_> {
    fn name(&mut self, kind: &str) -> String {
        self.named += 1;
        format!("{kind}{}", self.named)
    }

    fn record(&mut self, depth: usize) -> Value {
        let name = self.name("Rec");
        self.open.push(name.clone());
        let fields: Vec<Value> = (0..self.rng.usize(0..=5))
            .map(|i| json!({ "name": format!("f{i}"), "type": self.field_type(depth + 1) }))
            .collect();
        self.open.pop();
        json!({ "type": "record", "name": name, "fields": fields })
    }

    /// A field's type: anything, including a way back to a record being defined.
    fn field_type(&mut self, depth: usize) -> Value {
        if !self.open.is_empty() && self.rng.u8(0..12) == 0 {
            let target = self.open[self.rng.usize(0..self.open.len())].clone();
            // Optional or a collection, so the value can end.
            return match self.rng.u8(0..3) {
                0 => json!(["null", target]),
                1 => json!([target, "null"]),
                _ => json!({ "type": "array", "items": target }),
            };
        }
        self.any(depth)
    }

    fn any(&mut self, depth: usize) -> Value {
        let choice = if depth >= MAX_DEPTH {
            self.rng.u8(0..4)
        } else {
            self.rng.u8(0..10)
        };
        match choice {
            0 | 1 => self.primitive(),
            2 => self.logical(),
            3 => self.enum_or_fixed(),
            4 => json!({ "type": "array", "items": self.any(depth + 1) }),
            5 => json!({ "type": "map", "values": self.any(depth + 1) }),
            6 => self.record(depth),
            _ => self.union(depth),
        }
    }

    fn primitive(&mut self) -> Value {
        const PRIMITIVES: [&str; 8] = [
            "null", "boolean", "int", "long", "float", "double", "bytes", "string",
        ];
        json!(PRIMITIVES[self.rng.usize(0..PRIMITIVES.len())])
    }

    fn logical(&mut self) -> Value {
        match self.rng.u8(0..6) {
            0 => self.on_int(),
            1 => self.on_long(),
            2 => json!({ "type": "string", "logicalType": "uuid" }),
            3 => self.decimal_bytes(),
            _ => self.logical_fixed(),
        }
    }

    fn on_int(&mut self) -> Value {
        let logical = ["date", "time-millis"][self.rng.usize(0..2)];
        json!({ "type": "int", "logicalType": logical })
    }

    fn on_long(&mut self) -> Value {
        const LONGS: [&str; 7] = [
            "time-micros",
            "timestamp-millis",
            "timestamp-micros",
            "timestamp-nanos",
            "local-timestamp-millis",
            "local-timestamp-micros",
            "local-timestamp-nanos",
        ];
        json!({ "type": "long", "logicalType": LONGS[self.rng.usize(0..LONGS.len())] })
    }

    fn decimal_bytes(&mut self) -> Value {
        let precision = self.rng.usize(1..=20);
        let scale = self.rng.usize(0..=precision);
        json!({ "type": "bytes", "logicalType": "decimal", "precision": precision, "scale": scale })
    }

    fn logical_fixed(&mut self) -> Value {
        let name = self.name("Fix");
        match self.rng.u8(0..3) {
            0 => json!({ "type": "fixed", "name": name, "size": 12, "logicalType": "duration" }),
            1 => json!({ "type": "fixed", "name": name, "size": 16, "logicalType": "uuid" }),
            _ => {
                let size = self.rng.usize(1..=16);
                // The most decimal digits a signed number of `size` bytes always holds.
                let max_precision = ((size * 8 - 1) as f64 * std::f64::consts::LOG10_2).floor();
                let precision = self.rng.usize(1..=(max_precision as usize).max(1));
                let scale = self.rng.usize(0..=precision);
                json!({ "type": "fixed", "name": name, "size": size, "logicalType": "decimal",
                        "precision": precision, "scale": scale })
            }
        }
    }

    fn enum_or_fixed(&mut self) -> Value {
        if self.rng.bool() {
            let name = self.name("Enum");
            let symbols: Vec<String> = (0..self.rng.usize(1..=4))
                .map(|i| format!("S{i}_{name}"))
                .collect();
            json!({ "type": "enum", "name": name, "symbols": symbols })
        } else {
            let name = self.name("Fix");
            json!({ "type": "fixed", "name": name, "size": self.rng.usize(1..=8) })
        }
    }

    /// One to four distinct branches (at most one of each unnamed kind, logical types
    /// counted as their primitive), null at any position or absent.
    fn union(&mut self, depth: usize) -> Value {
        let mut slots: Vec<u8> = (0..11).collect();
        self.rng.shuffle(&mut slots);
        let branches = self.rng.usize(1..=4);
        slots
            .into_iter()
            .take(branches)
            .map(|slot| match slot {
                0 => json!("null"),
                1 => json!("boolean"),
                2 if self.rng.bool() => self.on_int(),
                2 => json!("int"),
                3 if self.rng.bool() => self.on_long(),
                3 => json!("long"),
                4 => json!(["float", "double"][self.rng.usize(0..2)]),
                5 if self.rng.bool() => self.decimal_bytes(),
                5 => json!("bytes"),
                6 if self.rng.bool() => json!({ "type": "string", "logicalType": "uuid" }),
                6 => json!("string"),
                7 => json!({ "type": "array", "items": self.any(depth + 1) }),
                8 => json!({ "type": "map", "values": self.any(depth + 1) }),
                9 => self.record(depth),
                _ => self.enum_or_fixed(),
            })
            .collect()
    }
}
