//! A strict CloudEvents 1.0 envelope: the context attributes, named extensions, the data,
//! and the two encodings — structured JSON (`application/cloudevents+json`) and binary mode
//! (attributes as transport headers, with each binding's prefix and percent-encoding).

use std::borrow::Cow;
use std::collections::BTreeMap;

use base64::Engine as _;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value};

use crate::error::EnvelopeError;

/// The only `specversion` this runtime reads and writes.
pub const SPEC_VERSION: &str = "1.0";
/// Media type of a structured-mode JSON event.
pub const STRUCTURED_CONTENT_TYPE: &str = "application/cloudevents+json";

/// Extension names used by the runtime (CloudEvents extension specs where one exists).
pub mod ext {
    /// Correlation extension: groups the events of one business flow.
    pub const CORRELATION_ID: &str = "correlationid";
    /// Correlation extension: the `id` of the event that directly caused this one.
    pub const CAUSATION_ID: &str = "causationid";
    /// Distributed-tracing extension (W3C Trace Context).
    pub const TRACEPARENT: &str = "traceparent";
    pub const TRACESTATE: &str = "tracestate";
    /// Partitioning extension: events with the same key are handled in order.
    pub const PARTITION_KEY: &str = "partitionkey";
    /// Ours: the deduplication key, when it is not `source` + `id`.
    pub const IDEMPOTENCY_KEY: &str = "idempotencykey";
    /// Ours: the registry's schema id of the writer schema.
    pub const SCHEMA_ID: &str = "schemaid";
    /// Ours: the version of the event's schema under its subject.
    pub const SCHEMA_VERSION: &str = "schemaversion";
}

const CORE_NAMES: [&str; 8] = [
    "id",
    "source",
    "specversion",
    "type",
    "datacontenttype",
    "dataschema",
    "subject",
    "time",
];

/// Checks a context attribute name: `[a-z0-9]{1,20}`, not `data`.
pub fn validate_attribute_name(name: &str) -> Result<(), EnvelopeError> {
    let ok = !name.is_empty()
        && name.len() <= 20
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !ok {
        return Err(EnvelopeError::InvalidName(name.to_owned()));
    }
    if name == "data" || name == "data_base64" {
        return Err(EnvelopeError::Reserved(name.to_owned()));
    }
    Ok(())
}

/// A CloudEvents String: no control characters and no Unicode noncharacters.
fn validate_string(name: &str, value: &str) -> Result<(), EnvelopeError> {
    // Printable ASCII has no control characters and no noncharacters: the common case
    // (ids, URIs, keys) is settled by one byte scan.
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Ok(());
    }
    for c in value.chars() {
        let code = c as u32;
        let nonchar = (0xFDD0..=0xFDEF).contains(&code) || (code & 0xFFFE) == 0xFFFE;
        if c.is_control() || nonchar {
            return Err(EnvelopeError::malformed(
                name,
                format!("contains the forbidden character U+{code:04X}"),
            ));
        }
    }
    Ok(())
}

fn validate_non_empty(name: &str, value: &str) -> Result<(), EnvelopeError> {
    if value.is_empty() {
        return Err(EnvelopeError::malformed(name, "must not be empty"));
    }
    validate_string(name, value)
}

/// URI-reference: non-empty, no whitespace or control characters.
fn validate_uri_reference(name: &str, value: &str) -> Result<(), EnvelopeError> {
    validate_non_empty(name, value)?;
    let ascii_ok = |b: u8| b > b' ' && b < 0x7f && !matches!(b, b'"' | b'<' | b'>');
    if !value.bytes().all(ascii_ok)
        && value
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '<' || c == '>')
    {
        return Err(EnvelopeError::malformed(name, "not a URI reference"));
    }
    Ok(())
}

/// Absolute URI: a URI reference that starts with `scheme:`.
fn validate_uri(name: &str, value: &str) -> Result<(), EnvelopeError> {
    validate_uri_reference(name, value)?;
    let scheme_ok = value.split_once(':').is_some_and(|(scheme, _)| {
        let mut chars = scheme.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !scheme_ok {
        return Err(EnvelopeError::malformed(name, "not an absolute URI"));
    }
    Ok(())
}

fn validate_time(value: &str) -> Result<(), EnvelopeError> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|_| ())
        .map_err(|e| EnvelopeError::malformed("time", format!("not an RFC 3339 timestamp: {e}")))
}

fn validate_media_type(value: &str) -> Result<(), EnvelopeError> {
    validate_non_empty("datacontenttype", value)?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    match essence.split_once('/') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() && !essence.contains(' ') => Ok(()),
        _ => Err(EnvelopeError::malformed(
            "datacontenttype",
            "not a media type (RFC 2046)",
        )),
    }
}

fn is_json_media_type(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return true; // absent in the JSON format means application/json
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.ends_with("/json") || essence.ends_with("+json")
}

/// One CloudEvent. Constructed through [`Envelope::new`] and the setters, which validate
/// every value, so an `Envelope` is always well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    id: String,
    source: String,
    ty: String,
    datacontenttype: Option<String>,
    dataschema: Option<String>,
    subject: Option<String>,
    time: Option<String>,
    extensions: BTreeMap<String, String>,
    data: Option<Vec<u8>>,
}

impl Envelope {
    /// A new envelope with the required attributes.
    pub fn new(
        id: impl Into<String>,
        source: impl Into<String>,
        ty: impl Into<String>,
    ) -> Result<Self, EnvelopeError> {
        let (id, source, ty) = (id.into(), source.into(), ty.into());
        validate_non_empty("id", &id)?;
        validate_uri_reference("source", &source)?;
        validate_non_empty("type", &ty)?;
        Ok(Envelope {
            id,
            source,
            ty,
            datacontenttype: None,
            dataschema: None,
            subject: None,
            time: None,
            extensions: BTreeMap::new(),
            data: None,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn source(&self) -> &str {
        &self.source
    }
    pub fn specversion(&self) -> &str {
        SPEC_VERSION
    }
    /// The CloudEvents `type`; the bus routes on it.
    pub fn ty(&self) -> &str {
        &self.ty
    }
    pub fn datacontenttype(&self) -> Option<&str> {
        self.datacontenttype.as_deref()
    }
    pub fn dataschema(&self) -> Option<&str> {
        self.dataschema.as_deref()
    }
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }
    pub fn time(&self) -> Option<&str> {
        self.time.as_deref()
    }
    pub fn data(&self) -> Option<&[u8]> {
        self.data.as_deref()
    }
    pub fn extension(&self, name: &str) -> Option<&str> {
        self.extensions.get(name).map(String::as_str)
    }
    pub fn extensions(&self) -> &BTreeMap<String, String> {
        &self.extensions
    }

    pub fn set_datacontenttype(&mut self, value: impl Into<String>) -> Result<(), EnvelopeError> {
        let value = value.into();
        validate_media_type(&value)?;
        self.datacontenttype = Some(value);
        Ok(())
    }
    pub fn set_dataschema(&mut self, value: impl Into<String>) -> Result<(), EnvelopeError> {
        let value = value.into();
        validate_uri("dataschema", &value)?;
        self.dataschema = Some(value);
        Ok(())
    }
    pub fn set_subject(&mut self, value: impl Into<String>) -> Result<(), EnvelopeError> {
        let value = value.into();
        validate_non_empty("subject", &value)?;
        self.subject = Some(value);
        Ok(())
    }
    /// Sets `time` from an RFC 3339 string.
    pub fn set_time(&mut self, value: impl Into<String>) -> Result<(), EnvelopeError> {
        let value = value.into();
        validate_time(&value)?;
        self.time = Some(value);
        Ok(())
    }
    /// Sets `time` to now (UTC, microseconds).
    pub fn set_time_now(&mut self) {
        self.time = Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
    }
    pub fn set_data(&mut self, data: impl Into<Vec<u8>>) {
        self.data = Some(data.into());
    }
    pub fn take_data(&mut self) -> Option<Vec<u8>> {
        self.data.take()
    }
    /// Sets an extension attribute; names are `[a-z0-9]{1,20}` and not core attributes.
    pub fn set_extension(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), EnvelopeError> {
        let (name, value) = (name.into(), value.into());
        validate_attribute_name(&name)?;
        if CORE_NAMES.contains(&name.as_str()) {
            return Err(EnvelopeError::Reserved(name));
        }
        validate_string(&name, &value)?;
        self.extensions.insert(name, value);
        Ok(())
    }
    pub fn remove_extension(&mut self, name: &str) -> Option<String> {
        self.extensions.remove(name)
    }

    /// Sets a core attribute or an extension by name, from its canonical string form.
    pub fn set_attribute(&mut self, name: &str, value: &str) -> Result<(), EnvelopeError> {
        match name {
            "id" => {
                validate_non_empty("id", value)?;
                self.id = value.to_owned();
            }
            "source" => {
                validate_uri_reference("source", value)?;
                self.source = value.to_owned();
            }
            "type" => {
                validate_non_empty("type", value)?;
                self.ty = value.to_owned();
            }
            "specversion" => {
                if value != SPEC_VERSION {
                    return Err(EnvelopeError::SpecVersion(value.to_owned()));
                }
            }
            "datacontenttype" => self.set_datacontenttype(value)?,
            "dataschema" => self.set_dataschema(value)?,
            "subject" => self.set_subject(value)?,
            "time" => self.set_time(value)?,
            _ => self.set_extension(name, value)?,
        }
        Ok(())
    }

    /// Every attribute (core and extensions) as name → canonical string.
    pub fn attributes(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        self.each_attribute(|name, value| {
            out.insert(name.to_owned(), value.to_owned());
        });
        out
    }

    /// Calls `f` with every attribute (core and extensions) as name and canonical string,
    /// borrowing them: what [`Envelope::attributes`] collects, for callers that need no map.
    fn each_attribute<'s>(&'s self, mut f: impl FnMut(&'s str, &'s str)) {
        f("id", &self.id);
        f("source", &self.source);
        f("specversion", SPEC_VERSION);
        f("type", &self.ty);
        let optional = [
            ("datacontenttype", &self.datacontenttype),
            ("dataschema", &self.dataschema),
            ("subject", &self.subject),
            ("time", &self.time),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                f(name, value);
            }
        }
        for (name, value) in &self.extensions {
            f(name, value);
        }
    }

    /// Total size of the attributes and data, as counted against size limits.
    pub fn wire_size(&self) -> usize {
        // The sum over `attributes()`, without building that map on every publish.
        let required = "id".len() + "source".len() + "specversion".len() + "type".len();
        let required = required + self.id.len() + self.source.len() + SPEC_VERSION.len();
        let optional = [
            ("datacontenttype", &self.datacontenttype),
            ("dataschema", &self.dataschema),
            ("subject", &self.subject),
            ("time", &self.time),
        ]
        .iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| name.len() + v.len()))
        .sum::<usize>();
        let extensions = self
            .extensions
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>();
        required + self.ty.len() + optional + extensions + self.data.as_ref().map_or(0, Vec::len)
    }

    /// Whether `data` is JSON according to `datacontenttype` (absent means JSON).
    pub fn data_is_json(&self) -> bool {
        is_json_media_type(self.datacontenttype.as_deref())
    }

    /// Structured mode: the event as one JSON object (`application/cloudevents+json`).
    /// JSON data is embedded as a value; other data goes to `data_base64`.
    pub fn to_structured(&self) -> Result<Vec<u8>, EnvelopeError> {
        let mut map = Map::new();
        for (name, value) in self.attributes() {
            map.insert(name, Value::String(value));
        }
        if let Some(data) = &self.data {
            if self.data_is_json() {
                let value: Value = serde_json::from_slice(data).map_err(|e| {
                    EnvelopeError::malformed("data", format!("declared JSON but is not: {e}"))
                })?;
                map.insert("data".to_owned(), value);
            } else {
                map.insert(
                    "data_base64".to_owned(),
                    Value::String(base64::engine::general_purpose::STANDARD.encode(data)),
                );
            }
        }
        serde_json::to_vec(&Value::Object(map))
            .map_err(|e| EnvelopeError::NotAnEvent(e.to_string()))
    }

    /// Reads a structured-mode JSON event, strictly: required attributes, `specversion`
    /// "1.0", valid names, typed values, `data` xor `data_base64`. At most `limit` bytes.
    pub fn from_structured(bytes: &[u8], limit: usize) -> Result<Self, EnvelopeError> {
        if bytes.len() > limit {
            return Err(EnvelopeError::Oversized {
                size: bytes.len(),
                limit,
            });
        }
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| EnvelopeError::NotAnEvent(format!("not JSON: {e}")))?;
        let Value::Object(mut map) = value else {
            return Err(EnvelopeError::NotAnEvent("not a JSON object".into()));
        };
        let mut take = |name: &'static str| -> Result<Option<String>, EnvelopeError> {
            match map.remove(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(EnvelopeError::malformed(name, "must be a string")),
            }
        };
        let specversion = take("specversion")?.ok_or(EnvelopeError::Missing("specversion"))?;
        if specversion != SPEC_VERSION {
            return Err(EnvelopeError::SpecVersion(specversion));
        }
        let id = take("id")?.ok_or(EnvelopeError::Missing("id"))?;
        let source = take("source")?.ok_or(EnvelopeError::Missing("source"))?;
        let ty = take("type")?.ok_or(EnvelopeError::Missing("type"))?;
        let mut envelope = Envelope::new(id, source, ty)?;
        for name in ["datacontenttype", "dataschema", "subject", "time"] {
            if let Some(value) = take(name)? {
                envelope.set_attribute(name, &value)?;
            }
        }
        let data = map.remove("data");
        let data_base64 = map.remove("data_base64");
        match (data, data_base64) {
            (Some(_), Some(_)) => {
                return Err(EnvelopeError::malformed(
                    "data",
                    "both `data` and `data_base64` are present",
                ));
            }
            (Some(Value::Null), None) | (None, Some(Value::Null)) | (None, None) => {}
            (None, Some(Value::String(b64))) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|e| EnvelopeError::malformed("data_base64", e.to_string()))?;
                envelope.data = Some(bytes);
            }
            (None, Some(_)) => {
                return Err(EnvelopeError::malformed("data_base64", "must be a string"));
            }
            (Some(value), None) => {
                if envelope.data_is_json() {
                    envelope.data = Some(
                        serde_json::to_vec(&value)
                            .map_err(|e| EnvelopeError::malformed("data", e.to_string()))?,
                    );
                } else if let Value::String(text) = value {
                    envelope.data = Some(text.into_bytes());
                } else {
                    return Err(EnvelopeError::malformed(
                        "data",
                        "non-JSON content type needs string data",
                    ));
                }
            }
        }
        for (name, value) in map {
            let text = match value {
                Value::Null => continue,
                Value::String(s) => s,
                Value::Bool(b) => b.to_string(),
                Value::Number(n) if n.as_i64().is_some_and(|v| i32::try_from(v).is_ok()) => {
                    n.to_string()
                }
                _ => {
                    return Err(EnvelopeError::malformed(
                        &name,
                        "extension values are strings, booleans or 32-bit integers",
                    ));
                }
            };
            envelope.set_extension(name, text)?;
        }
        Ok(envelope)
    }

    /// Binary mode: attributes as headers for `binding`, data as the body.
    /// `datacontenttype` travels as the binding's content-type header.
    pub fn to_binary(&self, binding: Binding) -> (Vec<(String, String)>, Vec<u8>) {
        // Borrowed attributes and one allocation per name and value: this runs for every
        // message a broker transport publishes.
        let prefix = binding.prefix();
        let mut headers = Vec::with_capacity(8 + self.extensions.len());
        self.each_attribute(|name, value| {
            if name == "datacontenttype" {
                headers.push(("content-type".to_owned(), value.to_owned()));
                return;
            }
            let value = if binding.percent_encodes() {
                // Borrowed (no copy) when nothing needs encoding, the usual case.
                Cow::from(utf8_percent_encode(value, HEADER_ENCODE)).into_owned()
            } else {
                value.to_owned()
            };
            let mut key = String::with_capacity(prefix.len() + name.len());
            key.push_str(prefix);
            key.push_str(name);
            headers.push((key, value));
        });
        (headers, self.data.clone().unwrap_or_default())
    }

    /// Reads a binary-mode message. Header names are matched case-insensitively; headers
    /// without the binding's prefix are ignored. A content type starting with
    /// `application/cloudevents` means the body is a structured event instead.
    pub fn from_binary(
        binding: Binding,
        headers: &[(String, String)],
        body: &[u8],
        limit: usize,
    ) -> Result<Self, EnvelopeError> {
        let size = body.len()
            + headers
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>();
        if size > limit {
            return Err(EnvelopeError::Oversized { size, limit });
        }
        let content_type = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str());
        if content_type.is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/cloudevents")
        }) {
            return Envelope::from_structured(body, limit);
        }
        let prefix = binding.prefix();
        let mut attrs: BTreeMap<String, String> = BTreeMap::new();
        for (key, value) in headers {
            // Case-insensitive prefix match without lowercasing every header name first.
            let Some(name) = key
                .get(..prefix.len())
                .filter(|head| head.eq_ignore_ascii_case(prefix))
                .and_then(|_| key.get(prefix.len()..))
            else {
                continue;
            };
            let lower;
            let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
                lower = name.to_ascii_lowercase();
                lower.as_str()
            } else {
                name
            };
            let value = if binding.percent_encodes() {
                percent_decode_str(value)
                    .decode_utf8()
                    .map_err(|_| {
                        EnvelopeError::malformed(name, "percent-decodes to invalid UTF-8")
                    })?
                    .into_owned()
            } else {
                value.clone()
            };
            validate_attribute_name(name)?;
            if attrs.insert(name.to_owned(), value).is_some() {
                return Err(EnvelopeError::malformed(name, "header appears twice"));
            }
        }
        let specversion = attrs
            .remove("specversion")
            .ok_or(EnvelopeError::Missing("specversion"))?;
        if specversion != SPEC_VERSION {
            return Err(EnvelopeError::SpecVersion(specversion));
        }
        let id = attrs.remove("id").ok_or(EnvelopeError::Missing("id"))?;
        let source = attrs
            .remove("source")
            .ok_or(EnvelopeError::Missing("source"))?;
        let ty = attrs.remove("type").ok_or(EnvelopeError::Missing("type"))?;
        let mut envelope = Envelope::new(id, source, ty)?;
        if attrs.remove("datacontenttype").is_some() {
            return Err(EnvelopeError::malformed(
                "datacontenttype",
                "must travel as the content-type header in binary mode",
            ));
        }
        if let Some(ct) = content_type {
            envelope.set_datacontenttype(ct)?;
        }
        for (name, value) in attrs {
            envelope.set_attribute(&name, &value)?;
        }
        if !body.is_empty() {
            envelope.data = Some(body.to_vec());
        }
        Ok(envelope)
    }
}

/// Characters percent-encoded in `ce-` header values (space, `"`, `%`, non-printables;
/// non-ASCII is always encoded).
const HEADER_ENCODE: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'%');

/// A protocol binding's binary-mode header convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// `ce-` headers, percent-encoded values.
    Http,
    /// `ce-` headers, percent-encoded values (NATS 2.2+).
    Nats,
    /// `ce_` record headers, UTF-8 values.
    Kafka,
    /// `cloudEvents_` application properties.
    Amqp,
}

impl Binding {
    pub fn prefix(self) -> &'static str {
        match self {
            Binding::Http | Binding::Nats => "ce-",
            Binding::Kafka => "ce_",
            Binding::Amqp => "cloudEvents_",
        }
    }
    fn percent_encodes(self) -> bool {
        matches!(self, Binding::Http | Binding::Nats)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn sample() -> Envelope {
        let mut e = Envelope::new("e-1", "/orders", "orders.created").unwrap();
        e.set_datacontenttype("application/json").unwrap();
        e.set_dataschema("eventschema:subjects/orders.created/versions/2")
            .unwrap();
        e.set_subject("order 42").unwrap();
        e.set_time("2026-01-02T03:04:05.123Z").unwrap();
        e.set_extension(ext::CORRELATION_ID, "c-1").unwrap();
        e.set_extension(ext::SCHEMA_VERSION, "2").unwrap();
        e.set_extension(
            ext::TRACEPARENT,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .unwrap();
        e.set_data(r#"{"order":42,"note":"café %"}"#.as_bytes().to_vec());
        e
    }

    /// `wire_size` counts what `attributes()` holds plus the data, whichever are set.
    fn attribute_sum(e: &Envelope) -> usize {
        let attrs: usize = e.attributes().iter().map(|(k, v)| k.len() + v.len()).sum();
        attrs + e.data().map_or(0, <[u8]>::len)
    }

    proptest::proptest! {
        /// The ASCII fast paths decide exactly as the per-character rules do.
        #[test]
        fn fast_string_checks_agree_with_the_character_rules(value in "\\PC*|[ -~\\t\\n\u{7f}\u{FDD0}\u{FFFE}<>\"]{0,12}") {
            let forbidden = value.chars().any(|c| {
                let code = c as u32;
                c.is_control() || (0xFDD0..=0xFDEF).contains(&code) || (code & 0xFFFE) == 0xFFFE
            });
            proptest::prop_assert_eq!(validate_string("x", &value).is_ok(), !forbidden);
            let not_uri = value.is_empty()
                || forbidden
                || value.chars().any(|c| c.is_whitespace() || c == '"' || c == '<' || c == '>');
            proptest::prop_assert_eq!(validate_uri_reference("x", &value).is_ok(), !not_uri);
        }
    }

    #[test]
    fn wire_size_is_the_sum_of_attributes_and_data() {
        let full = sample();
        assert_eq!(full.wire_size(), attribute_sum(&full));
        let bare = Envelope::new("1", "/s", "t").unwrap();
        assert_eq!(bare.wire_size(), attribute_sum(&bare));
        assert_eq!(bare.wire_size(), "id1source/sspecversion1.0typet".len());
    }

    #[test]
    fn names_are_strict() {
        let mut e = sample();
        for bad in [
            "",
            "Upper",
            "with-dash",
            "with_underscore",
            "abcdefghijklmnopqrstu",
            "data",
        ] {
            assert!(e.set_extension(bad, "x").is_err(), "{bad}");
        }
        assert!(e.set_extension("id", "x").is_err());
        assert!(e.set_extension("abcdefghijklmnopqrst", "x").is_ok());
        assert!(e.set_extension("ok", "bell\u{7}").is_err());
    }

    #[test]
    fn values_are_strict() {
        assert!(Envelope::new("", "/s", "t").is_err());
        assert!(Envelope::new("1", "", "t").is_err());
        assert!(Envelope::new("1", "has space", "t").is_err());
        let mut e = sample();
        assert!(e.set_time("yesterday").is_err());
        assert!(e.set_dataschema("relative/path").is_err());
        assert!(e.set_datacontenttype("json").is_err());
        assert!(e.set_subject("").is_err());
    }

    #[test]
    fn structured_round_trip_embeds_json_data() {
        let e = sample();
        let bytes = e.to_structured().unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["data"]["order"], 42);
        assert_eq!(value["specversion"], "1.0");
        assert_eq!(Envelope::from_structured(&bytes, 1 << 20).unwrap(), e);
    }

    #[test]
    fn structured_binary_data_uses_base64() {
        let mut e = Envelope::new("1", "/s", "t").unwrap();
        e.set_datacontenttype("application/octet-stream").unwrap();
        e.set_data(vec![0, 159, 146, 150]);
        let bytes = e.to_structured().unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(value.get("data").is_none());
        assert!(value["data_base64"].is_string());
        assert_eq!(Envelope::from_structured(&bytes, 1 << 20).unwrap(), e);
    }

    #[test]
    fn structured_rejects_bad_input() {
        let cases: [(&[u8], &str); 8] = [
            (b"\xff\x00garbage", "not JSON"),
            (b"[1,2]", "not a JSON object"),
            (br#"{"id":"1","source":"/s","type":"t"}"#, "specversion"),
            (br#"{"specversion":"0.3","id":"1","source":"/s","type":"t"}"#, "0.3"),
            (br#"{"specversion":"1.0","source":"/s","type":"t"}"#, "`id`"),
            (br#"{"specversion":"1.0","id":"1","source":"/s","type":"t","Bad":"x"}"#, "Bad"),
            (br#"{"specversion":"1.0","id":"1","source":"/s","type":"t","data":1,"data_base64":"AA=="}"#, "both"),
            (br#"{"specversion":"1.0","id":1,"source":"/s","type":"t"}"#, "string"),
        ];
        for (bytes, needle) in cases {
            let err = Envelope::from_structured(bytes, 1 << 20)
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{err} should mention {needle}");
        }
        let big = vec![b' '; 100];
        assert!(matches!(
            Envelope::from_structured(&big, 10),
            Err(EnvelopeError::Oversized {
                size: 100,
                limit: 10
            })
        ));
    }

    #[test]
    fn null_attributes_are_unset_and_typed_extensions_are_strings() {
        let bytes = br#"{"specversion":"1.0","id":"1","source":"/s","type":"t","subject":null,"count":7,"flag":true}"#;
        let e = Envelope::from_structured(bytes, 1 << 20).unwrap();
        assert_eq!(e.subject(), None);
        assert_eq!(e.extension("count"), Some("7"));
        assert_eq!(e.extension("flag"), Some("true"));
    }

    #[test]
    fn binary_round_trip_per_binding() {
        let e = sample();
        for binding in [Binding::Http, Binding::Nats, Binding::Kafka, Binding::Amqp] {
            let (headers, body) = e.to_binary(binding);
            assert!(headers.iter().any(|(k, _)| k == "content-type"));
            assert!(
                headers
                    .iter()
                    .all(|(k, _)| k == "content-type" || k.starts_with(binding.prefix()))
            );
            let back = Envelope::from_binary(binding, &headers, &body, 1 << 20).unwrap();
            assert_eq!(back, e, "{binding:?}");
        }
    }

    #[test]
    fn http_headers_are_percent_encoded() {
        let mut e = Envelope::new("1", "/s", "t").unwrap();
        e.set_subject("caf\u{e9} 100% \"x\"").unwrap();
        let (headers, _) = e.to_binary(Binding::Http);
        let subject = &headers.iter().find(|(k, _)| k == "ce-subject").unwrap().1;
        assert_eq!(subject, "caf%C3%A9%20100%25%20%22x%22");
        let (kafka, _) = e.to_binary(Binding::Kafka);
        let subject = &kafka.iter().find(|(k, _)| k == "ce_subject").unwrap().1;
        assert_eq!(subject, "caf\u{e9} 100% \"x\"");
    }

    #[test]
    fn binary_header_names_match_case_insensitively() {
        let headers = vec![
            ("CE-SpecVersion".to_owned(), "1.0".to_owned()),
            ("Ce-Id".to_owned(), "1".to_owned()),
            ("ce-SOURCE".to_owned(), "/s".to_owned()),
            ("ce-type".to_owned(), "t".to_owned()),
            ("ce-MyExt".to_owned(), "x".to_owned()),
            ("cé-other".to_owned(), "ignored".to_owned()),
            ("c".to_owned(), "too short".to_owned()),
        ];
        let e = Envelope::from_binary(Binding::Http, &headers, b"", 1 << 20).unwrap();
        assert_eq!((e.id(), e.source(), e.ty()), ("1", "/s", "t"));
        assert_eq!(e.extension("myext"), Some("x"));
        assert_eq!(e.attributes().len(), 5);
    }

    #[test]
    fn binary_mode_detection_and_errors() {
        let e = sample();
        let structured = e.to_structured().unwrap();
        let headers = vec![(
            "Content-Type".to_owned(),
            "application/cloudevents+json; charset=utf-8".to_owned(),
        )];
        assert_eq!(
            Envelope::from_binary(Binding::Nats, &headers, &structured, 1 << 20).unwrap(),
            e
        );
        let missing = vec![("ce-id".to_owned(), "1".to_owned())];
        assert!(Envelope::from_binary(Binding::Http, &missing, b"", 1 << 20).is_err());
        let bad_name = vec![
            ("ce-specversion".to_owned(), "1.0".to_owned()),
            ("ce-id".to_owned(), "1".to_owned()),
            ("ce-source".to_owned(), "/s".to_owned()),
            ("ce-type".to_owned(), "t".to_owned()),
            ("ce-bad_name".to_owned(), "x".to_owned()),
        ];
        assert!(Envelope::from_binary(Binding::Http, &bad_name, b"", 1 << 20).is_err());
    }
}
