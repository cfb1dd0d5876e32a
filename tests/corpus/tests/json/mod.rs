//! Instances drawn from a JSON Schema, and mutations of them, for the JSON half of the
//! corpus test. The drawing aims at validity but does not guarantee it (`pattern`, `not`,
//! `uniqueItems`, `contains`, ... are left to chance): the caller keeps only what the
//! `jsonschema` crate accepts.

use serde_json::{Map, Value, json};

/// Below this depth optional properties are left out and arrays are as short as allowed,
/// so recursive schemas end.
const MAX_DEPTH: usize = 5;
/// `$ref`s followed in one draw before giving up (a reference cycle with no way out).
const MAX_REFS: usize = 40;

/// Characters strings are drawn from: ASCII, two-byte, three-byte and one outside the
/// Basic Multilingual Plane, so length bounds are exercised in code points (what JSON
/// Schema counts), not bytes or UTF-16 units.
const CHARS: &[char] = &['a', 'b', 'z', 'Q', '0', ' ', '"', '\\', 'é', '€', '𝄞'];

pub struct Draw<'d> {
    pub rng: fastrand::Rng,
    document: &'d Value,
    refs: usize,
}

/// The schema a local `$ref` points at (`#` or a JSON pointer after it).
fn resolve<'v>(document: &'v Value, reference: &str) -> Option<&'v Value> {
    let pointer = reference.strip_prefix('#')?;
    let pointer = pointer.replace("%25", "%");
    document.pointer(&pointer)
}

/// The JSON types a schema's `type` lists, `integer` standing for itself.
fn listed_types(schema: &Value) -> Option<Vec<String>> {
    match schema.get("type")? {
        Value::String(one) => Some(vec![one.clone()]),
        Value::Array(many) => Some(
            many.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

/// The types both lists admit (`integer` is a `number`).
fn intersect(a: &[String], b: &[String]) -> Vec<String> {
    let admits = |list: &[String], t: &str| {
        list.iter()
            .any(|x| x == t || (x == "number" && t == "integer"))
    };
    let mut out: Vec<String> = a.iter().filter(|t| admits(b, t)).cloned().collect();
    for t in b {
        if admits(a, t) && !out.contains(t) {
            out.push(t.clone());
        }
    }
    out
}

/// One schema meaning (roughly) both: properties and `required` united, `type`
/// intersected, other keywords of `b` winning. Only a guide for drawing.
fn merge(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Bool(false), _) | (_, Value::Bool(false)) => return Value::Bool(false),
        (Value::Bool(true), other) | (other, Value::Bool(true)) => return other.clone(),
        _ => {}
    }
    let (Some(a_map), Some(b_map)) = (a.as_object(), b.as_object()) else {
        return b.clone();
    };
    let mut out = a_map.clone();
    for (key, value) in b_map {
        match (key.as_str(), out.get(key)) {
            ("properties", Some(Value::Object(mine))) => {
                let mut properties = mine.clone();
                for (name, schema) in value.as_object().into_iter().flatten() {
                    let merged = match properties.get(name) {
                        Some(existing) => merge(existing, schema),
                        None => schema.clone(),
                    };
                    properties.insert(name.clone(), merged);
                }
                out.insert(key.clone(), Value::Object(properties));
            }
            ("required", Some(Value::Array(mine))) => {
                let mut required = mine.clone();
                for name in value.as_array().into_iter().flatten() {
                    if !required.contains(name) {
                        required.push(name.clone());
                    }
                }
                out.insert(key.clone(), Value::Array(required));
            }
            ("type", Some(_)) => {
                let both = intersect(
                    &listed_types(a).unwrap_or_default(),
                    &listed_types(b).unwrap_or_default(),
                );
                out.insert(key.clone(), json!(both));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

fn without(schema: &Value, key: &str) -> Value {
    let mut out = schema.clone();
    if let Some(map) = out.as_object_mut() {
        map.remove(key);
    }
    out
}

fn number(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

impl<'d> Draw<'d> {
    pub fn new(seed: u64, document: &'d Value) -> Self {
        Draw {
            rng: fastrand::Rng::with_seed(seed),
            document,
            refs: 0,
        }
    }

    /// A value meant to be valid against the whole document.
    pub fn instance(&mut self) -> Option<Value> {
        self.refs = 0;
        self.value(self.document, 0)
    }

    /// A value meant to be valid against `schema`; `None` when nothing can be drawn.
    fn value(&mut self, schema: &Value, depth: usize) -> Option<Value> {
        match schema {
            Value::Bool(true) => return Some(self.any(depth)),
            Value::Object(_) => {}
            _ => return None,
        }
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            self.refs += 1;
            if self.refs > MAX_REFS {
                return None;
            }
            let target = resolve(self.document, reference)?;
            // Keywords beside `$ref` apply too (2019-09 on).
            let merged = merge(target, &without(schema, "$ref"));
            return self.value(&merged, depth + 1);
        }
        if let Some(constant) = schema.get("const") {
            return Some(constant.clone());
        }
        if let Some(symbols) = schema.get("enum").and_then(Value::as_array) {
            if symbols.is_empty() {
                return None;
            }
            return Some(symbols[self.rng.usize(..symbols.len())].clone());
        }
        if let Some(branches) = schema.get("allOf").and_then(Value::as_array) {
            let mut merged = without(schema, "allOf");
            for branch in branches {
                let branch = match branch.get("$ref").and_then(Value::as_str) {
                    Some(reference) => resolve(self.document, reference)?,
                    None => branch,
                };
                merged = merge(&merged, branch);
            }
            return self.value(&merged, depth + 1);
        }
        for keyword in ["oneOf", "anyOf"] {
            if let Some(branches) = schema.get(keyword).and_then(Value::as_array) {
                if branches.is_empty() {
                    return None;
                }
                let branch = &branches[self.rng.usize(..branches.len())];
                let merged = merge(&without(schema, keyword), branch);
                return self.value(&merged, depth + 1);
            }
        }
        let types = listed_types(schema).unwrap_or_else(|| self.inferred(schema));
        if types.is_empty() {
            if schema.get("type").is_some() {
                return None;
            }
            return Some(self.any(depth));
        }
        let kind = types[self.rng.usize(..types.len())].clone();
        match kind.as_str() {
            "null" => Some(Value::Null),
            "boolean" => Some(Value::Bool(self.rng.bool())),
            "integer" => self.integer(schema),
            "number" => self.number(schema),
            "string" => Some(Value::String(self.string(schema))),
            "array" => self.array(schema, depth),
            "object" => self.object(schema, depth),
            _ => None,
        }
    }

    /// The types a schema without `type` is shaped for by its keywords (any other type is
    /// valid too, but says nothing about the keywords).
    fn inferred(&self, schema: &Value) -> Vec<String> {
        let has = |keys: &[&str]| keys.iter().any(|k| schema.get(*k).is_some());
        let mut out = Vec::new();
        if has(&[
            "properties",
            "required",
            "additionalProperties",
            "patternProperties",
            "minProperties",
            "maxProperties",
            "dependentSchemas",
            "dependentRequired",
            "dependencies",
        ]) {
            out.push("object".to_owned());
        }
        if has(&["items", "prefixItems", "minItems", "maxItems", "contains"]) {
            out.push("array".to_owned());
        }
        if has(&["minLength", "maxLength", "pattern", "format"]) {
            out.push("string".to_owned());
        }
        if has(&[
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "multipleOf",
        ]) {
            out.push("number".to_owned());
        }
        out
    }

    /// Inclusive bounds from `minimum`/`maximum` and their exclusive forms (draft 4's
    /// booleans too), stepped inward by `step` for the exclusive ones.
    fn bounds(&mut self, schema: &Value, step: f64) -> (f64, f64) {
        let wide = if self.rng.u8(..10) == 0 { 1e9 } else { 100.0 };
        let flag = |key: &str| schema.get(key).and_then(Value::as_bool) == Some(true);
        let mut low = -wide;
        let mut high = wide;
        if let Some(n) = number(schema, "minimum") {
            low = if flag("exclusiveMinimum") {
                n + step
            } else {
                n
            };
        }
        if let Some(n) = number(schema, "maximum") {
            high = if flag("exclusiveMaximum") {
                n - step
            } else {
                n
            };
        }
        if let Some(n) = number(schema, "exclusiveMinimum") {
            low = low.max(n + step);
        }
        if let Some(n) = number(schema, "exclusiveMaximum") {
            high = high.min(n - step);
        }
        if schema.get("minimum").is_some() && schema.get("maximum").is_none() {
            high = low + wide;
        }
        if schema.get("maximum").is_some() && schema.get("minimum").is_none() {
            low = high - wide;
        }
        (low, high)
    }

    fn integer(&mut self, schema: &Value) -> Option<Value> {
        let (low, high) = self.bounds(schema, 1.0);
        let (low, high) = (low.ceil() as i64, high.floor() as i64);
        if low > high {
            return None;
        }
        let step = number(schema, "multipleOf")
            .filter(|m| m.fract() == 0.0 && *m >= 1.0)
            .map_or(1, |m| m as i64);
        let (first, last) = (
            (low as f64 / step as f64).ceil() as i64,
            (high as f64 / step as f64).floor() as i64,
        );
        if first > last {
            return None;
        }
        Some(Value::from(self.rng.i64(first..=last) * step))
    }

    fn number(&mut self, schema: &Value) -> Option<Value> {
        if let Some(step) = number(schema, "multipleOf") {
            let (low, high) = self.bounds(schema, step);
            let (first, last) = ((low / step).ceil() as i64, (high / step).floor() as i64);
            if first > last {
                return None;
            }
            return Some(json!(self.rng.i64(first..=last) as f64 * step));
        }
        let (low, high) = self.bounds(schema, 0.25);
        if low > high {
            return None;
        }
        // Quarters: exact in binary, so the text written back is the text read.
        let quarters = self
            .rng
            .i64((low * 4.0).ceil() as i64..=(high * 4.0).floor() as i64);
        Some(if self.rng.bool() && quarters % 4 == 0 {
            Value::from(quarters / 4)
        } else {
            json!(quarters as f64 / 4.0)
        })
    }

    fn string(&mut self, schema: &Value) -> String {
        match schema.get("format").and_then(Value::as_str) {
            Some("uuid") => {
                return format!(
                    "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                    self.rng.u32(..),
                    self.rng.u16(..),
                    self.rng.u16(..0x1000),
                    self.rng.u16(..0x1000),
                    self.rng.u64(..1 << 48)
                );
            }
            Some("date") => {
                return format!(
                    "{:04}-{:02}-{:02}",
                    self.rng.u16(1970..2100),
                    self.rng.u8(1..13),
                    self.rng.u8(1..29)
                );
            }
            Some("date-time") => {
                return format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                    self.rng.u16(1970..2100),
                    self.rng.u8(1..13),
                    self.rng.u8(1..29),
                    self.rng.u8(..24),
                    self.rng.u8(..60),
                    self.rng.u8(..60)
                );
            }
            _ => {}
        }
        // A pattern without metacharacters matches any string containing it.
        let literal = schema
            .get("pattern")
            .and_then(Value::as_str)
            .filter(|p| !p.contains(|c: char| "\\^$.|?*+()[]{}".contains(c)));
        if let Some(literal) = literal {
            return format!("{literal}{}", self.rng.u8(..10));
        }
        let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .map_or(min + 8, |m| m as usize);
        let len = if min > max {
            min
        } else {
            self.rng.usize(min..=max.min(min + 16))
        };
        (0..len)
            .map(|_| CHARS[self.rng.usize(..CHARS.len())])
            .collect()
    }

    fn array(&mut self, schema: &Value, depth: usize) -> Option<Value> {
        let (prefix, rest) = match (schema.get("prefixItems"), schema.get("items")) {
            (Some(Value::Array(prefix)), rest) => (prefix.as_slice(), rest),
            (_, Some(Value::Array(prefix))) => (prefix.as_slice(), schema.get("additionalItems")),
            (_, rest) => (&[][..], rest),
        };
        let rest = rest.cloned().unwrap_or(Value::Bool(true));
        let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = schema
            .get("maxItems")
            .and_then(Value::as_u64)
            .map_or(usize::MAX, |m| m as usize);
        let mut out = Vec::new();
        // Any prefix of the tuple is valid (past `minItems`), not only all of it.
        let short = self.rng.u8(..4) == 0;
        for item in prefix {
            if out.len() >= max || (out.len() >= min && (depth >= MAX_DEPTH || short)) {
                break;
            }
            match self.value(item, depth + 1) {
                Some(value) => out.push(value),
                None if out.len() >= min => return Some(Value::Array(out)),
                None => return None,
            }
        }
        if out.len() < prefix.len() {
            return Some(Value::Array(out));
        }
        if let Some(contains) = schema.get("contains") {
            let times = schema
                .get("minContains")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .min(8);
            for _ in 0..times {
                out.push(self.value(contains, depth + 1)?);
            }
        }
        let extra = if rest == Value::Bool(false) || depth >= MAX_DEPTH {
            0
        } else {
            self.rng.usize(..4)
        };
        let wanted = min.max(out.len() + extra).min(max);
        while out.len() < wanted {
            out.push(self.value(&rest, depth + 1)?);
        }
        Some(Value::Array(out))
    }

    fn object(&mut self, schema: &Value, depth: usize) -> Option<Value> {
        let empty = Map::new();
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let additional = schema
            .get("additionalProperties")
            .cloned()
            .unwrap_or(Value::Bool(true));
        let min = schema
            .get("minProperties")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let max = schema
            .get("maxProperties")
            .and_then(Value::as_u64)
            .map_or(usize::MAX, |m| m as usize);
        let mut out = Map::new();
        for name in &required {
            let property = properties.get(*name).unwrap_or(&additional);
            out.insert((*name).to_owned(), self.value(property, depth + 1)?);
        }
        for (name, property) in properties {
            if out.contains_key(name) || out.len() >= max {
                continue;
            }
            let wanted = out.len() < min || (depth < MAX_DEPTH && self.rng.bool());
            if !wanted {
                continue;
            }
            // The generated types read an optional property's null as absent and do not
            // write it back (json.rs: `Option` skipped when `None`, `Value` skipped when
            // null): drawn as absent, so equality after a round trip is exact.
            match self.value(property, depth + 1) {
                Some(Value::Null) | None => {}
                Some(value) => {
                    out.insert(name.clone(), value);
                }
            }
        }
        // Undeclared properties only where the generated type keeps them: a typed
        // `additionalProperties` (a flattened map). Elsewhere serde drops them, which is the
        // documented reading of unknown properties, not a round trip to check.
        let typed_rest = additional.as_object().is_some_and(|m| !m.is_empty())
            && schema.get("patternProperties").is_none();
        let mut extra = 0;
        while (out.len() < min || (typed_rest && depth < MAX_DEPTH && self.rng.u8(..3) == 0))
            && out.len() < max
            && extra < 8
        {
            let name = format!("extra{extra}");
            extra += 1;
            if properties.contains_key(&name) {
                continue;
            }
            match self.value(&additional, depth + 1) {
                Some(Value::Null) | None => {}
                Some(value) => {
                    out.insert(name, value);
                }
            }
        }
        Some(Value::Object(out))
    }

    /// Any JSON value, smaller the deeper it sits.
    fn any(&mut self, depth: usize) -> Value {
        let kinds = if depth >= MAX_DEPTH { 4 } else { 6 };
        match self.rng.usize(..kinds) {
            0 => Value::Null,
            1 => Value::Bool(self.rng.bool()),
            2 => Value::from(self.rng.i64(-1000..1000)),
            3 => Value::String(self.string(&Value::Null)),
            4 => Value::Array(
                (0..self.rng.usize(..3))
                    .map(|_| self.any(depth + 1))
                    .collect(),
            ),
            _ => Value::Object(
                (0..self.rng.usize(..3))
                    .map(|i| (format!("k{i}"), self.any(depth + 1)))
                    .collect(),
            ),
        }
    }
}

/// Every JSON pointer in `value`, outermost first.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            out.push(at.clone());
            for (index, item) in items.iter().enumerate() {
                pointers(item, format!("{at}/{index}"), out);
            }
        }
        Value::Object(map) => {
            out.push(at.clone());
            for (key, item) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                pointers(item, format!("{at}/{key}"), out);
            }
        }
        _ => out.push(at),
    }
}

/// The instance with the value at `pointer` replaced by `edit`'s result.
fn edited(instance: &Value, pointer: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut out = instance.clone();
    if let Some(target) = out.pointer_mut(pointer) {
        edit(target);
    }
    out
}

/// Mutations of `instance`, each a small change at one place: another JSON type, a bound
/// broken (longer, shorter, larger, smaller, fractional), a property removed or added, an
/// item added or removed. Many stay valid; the validator decides.
pub fn mutations(instance: &Value) -> Vec<Value> {
    let mut at = Vec::new();
    pointers(instance, String::new(), &mut at);
    let mut out = Vec::new();
    for pointer in at {
        let Some(value) = instance.pointer(&pointer) else {
            continue;
        };
        let mut replacements = vec![Value::Null];
        match value {
            Value::Null => replacements = vec![json!("null"), json!(0)],
            Value::Bool(b) => replacements.extend([json!(b.to_string()), json!(1)]),
            Value::Number(n) => {
                let f = n.as_f64().unwrap_or(0.0);
                replacements.extend([
                    json!(n.to_string()),
                    json!(true),
                    json!(f + 0.5),
                    json!(f + 1.0e9),
                    json!(f - 1.0e9),
                    json!(f + 1.0),
                    json!(f - 1.0),
                ]);
            }
            Value::String(s) => replacements.extend([
                json!(7),
                json!(""),
                json!(format!("{s}{}", "é".repeat(300))),
                json!(s.chars().skip(1).collect::<String>()),
                json!([s]),
            ]),
            Value::Array(items) => {
                replacements.push(json!({}));
                let mut longer = items.clone();
                longer.extend(items.first().cloned().or(Some(json!(1))));
                replacements.push(Value::Array(longer));
                let mut many = items.clone();
                many.extend(std::iter::repeat_n(json!("x"), 60));
                replacements.push(Value::Array(many));
                if !items.is_empty() {
                    replacements.push(Value::Array(items[..items.len() - 1].to_vec()));
                    replacements.push(Value::Array(Vec::new()));
                }
            }
            Value::Object(map) => {
                replacements.push(json!([]));
                for key in map.keys() {
                    let mut fewer = map.clone();
                    fewer.remove(key);
                    replacements.push(Value::Object(fewer));
                }
                let mut more = map.clone();
                more.insert("unexpected".to_owned(), json!(1));
                replacements.push(Value::Object(more));
            }
        }
        for replacement in replacements {
            out.push(edited(instance, &pointer, |target| *target = replacement));
        }
    }
    out
}

/// Equality as JSON Schema has it: numbers by value (`3` and `3.0` are one number).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}
