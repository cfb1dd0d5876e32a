//! A strict CloudEvents 1.0 envelope: the context attributes, named extensions, the data,
//! and the two encodings — structured JSON (`application/cloudevents+json`) and binary mode
//! (attributes as transport headers, with each binding's prefix and percent-encoding).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Datelike as _, SecondsFormat, Timelike as _, Utc};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode, utf8_percent_encode};
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

    /// Every extension above: the ones the runtime writes or reads.
    pub const ALL: [&str; 8] = [
        CORRELATION_ID,
        CAUSATION_ID,
        TRACEPARENT,
        TRACESTATE,
        PARTITION_KEY,
        IDEMPOTENCY_KEY,
        SCHEMA_ID,
        SCHEMA_VERSION,
    ];
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
    DateTime::parse_from_rfc3339(value)
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
    let essence = ct.split(';').next().unwrap_or_default().trim().as_bytes();
    // Case-insensitive suffix test without lower-casing a copy (this runs per event).
    let suffix = essence
        .len()
        .checked_sub(5)
        .and_then(|at| essence.get(at..));
    suffix
        .and_then(<[u8]>::split_first)
        .is_some_and(|(sep, rest)| matches!(sep, b'/' | b'+') && rest.eq_ignore_ascii_case(b"json"))
}

/// `time` as the runtime writes it: RFC 3339, UTC as `Z`, microseconds. Byte-identical to
/// chrono's `to_rfc3339_opts(SecondsFormat::Micros, true)`, without its formatting
/// machinery, which cost as much as the rest of an envelope's constant parts.
fn rfc3339_micros(t: &DateTime<Utc>) -> String {
    let fallback = || t.to_rfc3339_opts(SecondsFormat::Micros, true);
    // Read the components once from the naive UTC value: `DateTime`'s own accessors
    // convert from the offset on every call.
    let (date, time) = (t.naive_utc().date(), t.naive_utc().time());
    let Ok(year) = u32::try_from(date.year()) else {
        return fallback(); // chrono writes negative years with a sign
    };
    if year > 9999 {
        return fallback(); // and longer ones with a sign and more digits
    }
    let (mut second, mut nano) = (time.second(), time.nanosecond());
    if nano >= 1_000_000_000 {
        // chrono keeps a leap second as second 59 with an extra second of nanoseconds.
        second += 1;
        nano -= 1_000_000_000;
    }
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let fields = [
        (0..4, year),
        (5..7, date.month()),
        (8..10, date.day()),
        (11..13, time.hour()),
        (14..16, time.minute()),
        (17..19, second),
        (20..26, nano / 1000),
    ];
    for (range, mut value) in fields {
        if let Some(digits) = out.get_mut(range) {
            for digit in digits.iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
    }
    match std::str::from_utf8(&out) {
        Ok(text) => text.to_owned(),
        Err(_) => fallback(), // only digits were written; never taken
    }
}

/// An attribute value. Values that are the same on many envelopes are not copied into each:
/// `Static` for the program's constants (an event type), `Shared` for what is computed once
/// per bus or per event type (`source`, `dataschema`) and for an id reused as
/// `correlationid`.
#[derive(Clone)]
enum Text {
    Static(&'static str),
    Shared(Arc<str>),
    Owned(String),
}

impl Text {
    fn as_str(&self) -> &str {
        match self {
            Text::Static(s) => s,
            Text::Shared(s) => s,
            Text::Owned(s) => s,
        }
    }
    fn into_string(self) -> String {
        match self {
            Text::Owned(s) => s,
            other => other.as_str().to_owned(),
        }
    }
}

impl From<String> for Text {
    fn from(value: String) -> Self {
        Text::Owned(value)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Extension attributes sorted by name (the order of [`Envelope::attributes`]), unique.
/// Envelopes carry a handful, so a vector beats a tree, and the runtime's own names are
/// static.
type Extensions = Vec<(Cow<'static, str>, Text)>;

/// A `source` validated once, for every envelope a bus builds.
#[derive(Debug)]
pub(crate) struct Source(Arc<str>);

impl Source {
    pub(crate) fn new(source: &str) -> Result<Self, EnvelopeError> {
        validate_uri_reference("source", source)?;
        Ok(Source(source.into()))
    }
}

/// The attributes that are the same on every envelope of one event type from one bus,
/// validated once; [`Template::instantiate`] adds a fresh `id` and `time`.
#[derive(Debug)]
pub(crate) struct Template {
    source: Text,
    ty: Text,
    datacontenttype: Text,
    dataschema: Text,
    extensions: Extensions,
}

/// Room for the extensions the bus adds per event (partition and idempotency keys,
/// correlation, causation), so that adding them does not reallocate.
const PER_EVENT_EXTENSIONS: usize = 4;

impl Template {
    /// `extensions` are the runtime's own names (from [`ext`]) with constant values.
    pub(crate) fn new(
        source: &Source,
        ty: &'static str,
        datacontenttype: &'static str,
        dataschema: String,
        extensions: &[(&'static str, String)],
    ) -> Result<Self, EnvelopeError> {
        validate_non_empty("type", ty)?;
        validate_media_type(datacontenttype)?;
        validate_uri("dataschema", &dataschema)?;
        let mut template = Template {
            source: Text::Shared(source.0.clone()),
            ty: Text::Static(ty),
            datacontenttype: Text::Static(datacontenttype),
            dataschema: Text::Shared(dataschema.into()),
            extensions: Vec::with_capacity(extensions.len()),
        };
        for (name, value) in extensions {
            check_extension(name, value)?;
            insert_extension(
                &mut template.extensions,
                Cow::Borrowed(name),
                Text::Shared(value.as_str().into()),
            );
        }
        Ok(template)
    }

    /// A new envelope from the template: a fresh UUID v7 `id` and `time` now.
    pub(crate) fn instantiate(&self) -> Envelope {
        let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let id: &str = uuid::Uuid::now_v7().hyphenated().encode_lower(&mut buf);
        let mut extensions = Vec::with_capacity(self.extensions.len() + PER_EVENT_EXTENSIONS);
        extensions.extend(self.extensions.iter().cloned());
        Envelope {
            id: Text::Shared(id.into()),
            source: self.source.clone(),
            ty: self.ty.clone(),
            datacontenttype: Some(self.datacontenttype.clone()),
            dataschema: Some(self.dataschema.clone()),
            subject: None,
            time: Some(rfc3339_micros(&Utc::now())),
            extensions,
            data: None,
        }
    }
}

/// Checks an extension's name and value, as [`Envelope::set_extension`] takes them.
fn check_extension(name: &str, value: &str) -> Result<(), EnvelopeError> {
    validate_attribute_name(name)?;
    if CORE_NAMES.contains(&name) {
        return Err(EnvelopeError::Reserved(name.to_owned()));
    }
    validate_string(name, value)
}

/// Where `name` is in `extensions`, or where it would go.
fn extension_slot(extensions: &Extensions, name: &str) -> Result<usize, usize> {
    extensions.binary_search_by(|(n, _)| n.as_ref().cmp(name))
}

/// Sets an already validated extension, keeping `extensions` sorted.
fn insert_extension(extensions: &mut Extensions, name: Cow<'static, str>, value: Text) {
    match extension_slot(extensions, &name) {
        Ok(i) => {
            if let Some(slot) = extensions.get_mut(i) {
                slot.1 = value;
            }
        }
        Err(i) => extensions.insert(i, (name, value)),
    }
}

/// One CloudEvent. Constructed through [`Envelope::new`] and the setters, which validate
/// every value, so an `Envelope` is always well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    id: Text,
    source: Text,
    ty: Text,
    datacontenttype: Option<Text>,
    dataschema: Option<Text>,
    subject: Option<String>,
    time: Option<String>,
    extensions: Extensions,
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
            id: id.into(),
            source: source.into(),
            ty: ty.into(),
            datacontenttype: None,
            dataschema: None,
            subject: None,
            time: None,
            extensions: Vec::new(),
            data: None,
        })
    }

    pub fn id(&self) -> &str {
        self.id.as_str()
    }
    pub fn source(&self) -> &str {
        self.source.as_str()
    }
    pub fn specversion(&self) -> &str {
        SPEC_VERSION
    }
    /// The CloudEvents `type`; the bus routes on it.
    pub fn ty(&self) -> &str {
        self.ty.as_str()
    }
    pub fn datacontenttype(&self) -> Option<&str> {
        self.datacontenttype.as_ref().map(Text::as_str)
    }
    pub fn dataschema(&self) -> Option<&str> {
        self.dataschema.as_ref().map(Text::as_str)
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
        self.extension_text(name).map(Text::as_str)
    }
    /// The extension attributes as `(name, value)`, sorted by name.
    pub fn extensions(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.extensions
            .iter()
            .map(|(name, value)| (name.as_ref(), value.as_str()))
    }

    pub fn set_datacontenttype(&mut self, value: impl Into<String>) -> Result<(), EnvelopeError> {
        let value = value.into();
        validate_media_type(&value)?;
        self.datacontenttype = Some(value.into());
        Ok(())
    }
    pub fn set_dataschema(&mut self, value: impl Into<String>) -> Result<(), EnvelopeError> {
        let value = value.into();
        validate_uri("dataschema", &value)?;
        self.dataschema = Some(value.into());
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
        self.time = Some(rfc3339_micros(&Utc::now()));
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
        check_extension(&name, &value)?;
        insert_extension(&mut self.extensions, Cow::Owned(name), value.into());
        Ok(())
    }
    pub fn remove_extension(&mut self, name: &str) -> Option<String> {
        let i = extension_slot(&self.extensions, name).ok()?;
        Some(self.extensions.remove(i).1.into_string())
    }

    /// Sets one of the runtime's own extensions (a constant from [`ext`], so the name is
    /// not checked again); the value is checked as [`Envelope::set_extension`] does.
    pub(crate) fn set_own_extension(
        &mut self,
        name: &'static str,
        value: String,
    ) -> Result<(), EnvelopeError> {
        validate_string(name, &value)?;
        insert_extension(&mut self.extensions, Cow::Borrowed(name), value.into());
        Ok(())
    }

    /// Stamps causation and correlation from the event that caused this one: `causationid`
    /// is the parent's id, `correlationid` the parent's (or its id), and the trace
    /// continues. The parent is well formed, so its values are not checked again.
    pub(crate) fn caused_by(&mut self, parent: &Envelope) {
        let causation = parent.id.clone();
        insert_extension(
            &mut self.extensions,
            Cow::Borrowed(ext::CAUSATION_ID),
            causation,
        );
        let correlation = parent
            .extension_text(ext::CORRELATION_ID)
            .unwrap_or(&parent.id)
            .clone();
        insert_extension(
            &mut self.extensions,
            Cow::Borrowed(ext::CORRELATION_ID),
            correlation,
        );
        if let Some(trace) = parent.extension_text(ext::TRACEPARENT) {
            let trace = trace.clone();
            insert_extension(&mut self.extensions, Cow::Borrowed(ext::TRACEPARENT), trace);
        }
    }

    /// Starts a flow at this event: `correlationid` is its own id unless it has one.
    pub(crate) fn correlate_to_self(&mut self) {
        if let Err(i) = extension_slot(&self.extensions, ext::CORRELATION_ID) {
            let id = self.id.clone();
            self.extensions
                .insert(i, (Cow::Borrowed(ext::CORRELATION_ID), id));
        }
    }

    fn extension_text(&self, name: &str) -> Option<&Text> {
        let i = extension_slot(&self.extensions, name).ok()?;
        self.extensions.get(i).map(|(_, value)| value)
    }

    /// Sets a core attribute or an extension by name, from its canonical string form.
    pub fn set_attribute(&mut self, name: &str, value: &str) -> Result<(), EnvelopeError> {
        match name {
            "id" => {
                validate_non_empty("id", value)?;
                self.id = Text::Owned(value.to_owned());
            }
            "source" => {
                validate_uri_reference("source", value)?;
                self.source = Text::Owned(value.to_owned());
            }
            "type" => {
                validate_non_empty("type", value)?;
                self.ty = Text::Owned(value.to_owned());
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
        f("id", self.id());
        f("source", self.source());
        f("specversion", SPEC_VERSION);
        f("type", self.ty());
        let optional = [
            ("datacontenttype", self.datacontenttype()),
            ("dataschema", self.dataschema()),
            ("subject", self.subject()),
            ("time", self.time()),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                f(name, value);
            }
        }
        for (name, value) in self.extensions() {
            f(name, value);
        }
    }

    /// Total size of the attributes and data, as counted against size limits.
    pub fn wire_size(&self) -> usize {
        // The sum over `attributes()`, without building that map on every publish.
        let mut size = self.data.as_ref().map_or(0, Vec::len);
        self.each_attribute(|name, value| size += name.len() + value.len());
        size
    }

    /// Whether `data` is JSON according to `datacontenttype` (absent means JSON).
    pub fn data_is_json(&self) -> bool {
        is_json_media_type(self.datacontenttype())
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
    ///
    /// Names are static for the core attributes and the runtime's own extensions (no
    /// allocation, and a client can take them as such); values are owned, ready to move
    /// into the client's message.
    pub fn to_binary(&self, binding: Binding) -> (Vec<(Cow<'static, str>, String)>, Vec<u8>) {
        let mut headers = Vec::with_capacity(8 + self.extensions.len());
        self.each_binary_header(binding, |name, value| {
            headers.push((name, value.into_owned()));
        });
        (headers, self.data.clone().unwrap_or_default())
    }

    /// [`Envelope::to_binary`]'s headers without copying the values: each is borrowed
    /// unless the binding had to percent-encode it. For clients that copy headers into
    /// their own buffer anyway (the body is [`Envelope::data`]).
    pub fn each_binary_header<'s>(
        &'s self,
        binding: Binding,
        mut f: impl FnMut(Cow<'static, str>, Cow<'s, str>),
    ) {
        // This runs for every message a broker transport publishes: borrowed attributes,
        // an allocation only for an encoded value or an unknown extension's name.
        let prefix = binding.prefix();
        self.each_attribute(|name, value| {
            if name == "datacontenttype" {
                f(Cow::Borrowed("content-type"), Cow::Borrowed(value));
                return;
            }
            let value = if binding.percent_encodes() && needs_header_encoding(value) {
                Cow::from(utf8_percent_encode(value, HEADER_ENCODE))
            } else {
                Cow::Borrowed(value)
            };
            let key = match binding.static_header_name(name) {
                Some(known) => Cow::Borrowed(known),
                None => {
                    let mut key = String::with_capacity(prefix.len() + name.len());
                    key.push_str(prefix);
                    key.push_str(name);
                    Cow::Owned(key)
                }
            };
            f(key, value);
        });
    }

    /// Reads a binary-mode message. Header names are matched case-insensitively; headers
    /// without the binding's prefix are ignored. A content type starting with
    /// `application/cloudevents` means the body is a structured event instead.
    ///
    /// Headers may be borrowed from the broker's own message (`(&str, &[u8])`) or owned
    /// (`(String, String)`); a value that is not UTF-8 (Kafka-style headers are bytes) is
    /// refused by name rather than mangled.
    pub fn from_binary<N, V>(
        binding: Binding,
        headers: &[(N, V)],
        body: &[u8],
        limit: usize,
    ) -> Result<Self, EnvelopeError>
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let size = body.len()
            + headers
                .iter()
                .map(|(k, v)| k.as_ref().len() + v.as_ref().len())
                .sum::<usize>();
        if size > limit {
            return Err(EnvelopeError::Oversized { size, limit });
        }
        let content_type = headers
            .iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| {
                std::str::from_utf8(v.as_ref())
                    .map_err(|_| EnvelopeError::malformed("content-type", "not UTF-8"))
            })
            .transpose()?;
        if content_type.is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/cloudevents")
        }) {
            return Envelope::from_structured(body, limit);
        }
        let prefix = binding.prefix();
        // The CloudEvents headers, borrowed where they need no lower-casing or decoding,
        // sorted by name (a handful per message: no map).
        let mut attrs: Vec<(Cow<'_, str>, Option<Cow<'_, str>>)> =
            Vec::with_capacity(headers.len());
        for (key, value) in headers {
            let (key, value) = (key.as_ref(), value.as_ref());
            // Case-insensitive prefix match without lowercasing every header name first.
            let Some(name) = key
                .get(..prefix.len())
                .filter(|head| head.eq_ignore_ascii_case(prefix))
                .and_then(|_| key.get(prefix.len()..))
            else {
                continue;
            };
            let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(name.to_ascii_lowercase())
            } else {
                Cow::Borrowed(name)
            };
            let value = if binding.percent_encodes() && value.contains(&b'%') {
                percent_decode(value).decode_utf8().map_err(|_| {
                    EnvelopeError::malformed(&name, "percent-decodes to invalid UTF-8")
                })?
            } else {
                // Nothing to decode (the usual case): checked as UTF-8 and borrowed.
                Cow::Borrowed(
                    std::str::from_utf8(value)
                        .map_err(|_| EnvelopeError::malformed(&name, "not UTF-8"))?,
                )
            };
            validate_attribute_name(&name)?;
            attrs.push((name, Some(value)));
        }
        attrs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(twice) = attrs
            .windows(2)
            .find_map(|pair| pair.first().zip(pair.get(1)).filter(|(a, b)| a.0 == b.0))
        {
            return Err(EnvelopeError::malformed(&twice.0.0, "header appears twice"));
        }
        let mut take = |name: &str| {
            attrs
                .binary_search_by(|(n, _)| n.as_ref().cmp(name))
                .ok()
                .and_then(|i| attrs.get_mut(i))
                .and_then(|(_, value)| value.take())
        };
        let specversion = take("specversion").ok_or(EnvelopeError::Missing("specversion"))?;
        if specversion != SPEC_VERSION {
            return Err(EnvelopeError::SpecVersion(specversion.into_owned()));
        }
        let id = take("id").ok_or(EnvelopeError::Missing("id"))?;
        let source = take("source").ok_or(EnvelopeError::Missing("source"))?;
        let ty = take("type").ok_or(EnvelopeError::Missing("type"))?;
        let mut envelope = Envelope::new(id, source, ty)?;
        if take("datacontenttype").is_some() {
            return Err(EnvelopeError::malformed(
                "datacontenttype",
                "must travel as the content-type header in binary mode",
            ));
        }
        if let Some(ct) = content_type {
            envelope.set_datacontenttype(ct)?;
        }
        for (name, value) in &attrs {
            if let Some(value) = value {
                envelope.set_attribute(name, value)?;
            }
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

/// Whether `value` holds a byte [`HEADER_ENCODE`] encodes. A plain loop over the bytes: the
/// encoder's own walk costs several times more, and most values need nothing.
fn needs_header_encoding(value: &str) -> bool {
    value
        .bytes()
        .any(|b| !(b.is_ascii_graphic() && b != b'"' && b != b'%'))
}

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

/// [`Binding::static_header_name`] for the listed attribute names (literals: `concat!`
/// builds each binding's names at compile time).
macro_rules! static_header_names {
    ($($name:literal),* $(,)?) => {
        /// Every attribute name with a static header name, for the tests.
        #[cfg(test)]
        const STATIC_HEADER_ATTRIBUTES: &[&str] = &[$($name),*];

        impl Binding {
            /// `prefix + name` for the core attributes and the runtime's extensions,
            /// without building it per message; `None` for any other name.
            pub fn static_header_name(self, name: &str) -> Option<&'static str> {
                match self {
                    Binding::Http | Binding::Nats => match name {
                        $($name => Some(concat!("ce-", $name)),)*
                        _ => None,
                    },
                    Binding::Kafka => match name {
                        $($name => Some(concat!("ce_", $name)),)*
                        _ => None,
                    },
                    Binding::Amqp => match name {
                        $($name => Some(concat!("cloudEvents_", $name)),)*
                        _ => None,
                    },
                }
            }
        }
    };
}

static_header_names!(
    "id",
    "source",
    "specversion",
    "type",
    "dataschema",
    "subject",
    "time",
    "correlationid",
    "causationid",
    "traceparent",
    "tracestate",
    "partitionkey",
    "idempotencykey",
    "schemaid",
    "schemaversion",
);

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

    /// Timestamps chrono can hold, mostly within years 0..=9999, with leap seconds.
    fn timestamps() -> impl proptest::strategy::Strategy<Value = DateTime<Utc>> {
        use proptest::prelude::*;
        let minutes = prop_oneof![
            3 => -1_036_120_320i64..4_223_371_680,
            1 => -137_000_000_000i64..137_000_000_000,
        ];
        (minutes, 0i64..60, 0u32..2_000_000_000).prop_filter_map(
            "outside chrono's range",
            |(minute, second, nano)| {
                // chrono keeps a leap second only on second 59.
                let second = if nano >= 1_000_000_000 { 59 } else { second };
                DateTime::from_timestamp(minute.checked_mul(60)? + second, nano)
            },
        )
    }

    proptest::proptest! {
        #[test]
        fn time_is_written_as_chrono_writes_it(t in timestamps()) {
            proptest::prop_assert_eq!(
                rfc3339_micros(&t),
                t.to_rfc3339_opts(SecondsFormat::Micros, true)
            );
        }
    }

    #[test]
    fn time_edge_cases_are_written_as_chrono_writes_them() {
        let cases = [
            (-62_167_219_200, 0, "0000-01-01T00:00:00.000000Z"),
            (253_402_300_799, 999_999_999, "9999-12-31T23:59:59.999999Z"),
            (1_483_228_799, 1_500_000_000, "2016-12-31T23:59:60.500000Z"),
            (1_767_323_045, 1_000, "2026-01-02T03:04:05.000001Z"),
            (253_402_300_800, 0, "+10000-01-01T00:00:00.000000Z"),
            (-62_167_219_201, 0, "-0001-12-31T23:59:59.000000Z"),
        ];
        for (secs, nanos, text) in cases {
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            assert_eq!(rfc3339_micros(&t), text);
            assert_eq!(t.to_rfc3339_opts(SecondsFormat::Micros, true), text);
        }
    }

    /// The runtime sets its own extensions without checking the names again.
    #[test]
    fn own_extension_names_are_valid_and_not_core() {
        for name in ext::ALL {
            assert!(check_extension(name, "x").is_ok(), "{name}");
        }
    }

    fn order_template(source: &str) -> Result<Template, EnvelopeError> {
        Template::new(
            &Source::new(source)?,
            "orders.created",
            "application/json",
            "eventschema:subjects/orders.created-value/versions/2".to_owned(),
            &[
                (ext::SCHEMA_VERSION, "2".to_owned()),
                (ext::SCHEMA_ID, "17".to_owned()),
            ],
        )
    }

    /// An envelope from a template is the one the checked setters build from the same values,
    /// in every encoding.
    #[test]
    fn template_envelopes_equal_checked_ones() {
        let mut fast = order_template("urn:shop").unwrap().instantiate();
        fast.set_own_extension(ext::PARTITION_KEY, "order-42".to_owned())
            .unwrap();
        fast.correlate_to_self();
        fast.set_data(br#"{"order":42}"#.to_vec());

        let id = fast.id().to_owned();
        let parsed = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(parsed.to_string(), id);
        let time = fast.time().unwrap().to_owned();
        assert_eq!(time.len(), "2026-01-02T03:04:05.123456Z".len(), "{time}");

        let mut checked = Envelope::new(id.clone(), "urn:shop", "orders.created").unwrap();
        checked.set_time(time).unwrap();
        checked.set_datacontenttype("application/json").unwrap();
        checked
            .set_dataschema("eventschema:subjects/orders.created-value/versions/2")
            .unwrap();
        checked.set_extension(ext::SCHEMA_VERSION, "2").unwrap();
        checked.set_extension(ext::SCHEMA_ID, "17").unwrap();
        checked
            .set_extension(ext::PARTITION_KEY, "order-42")
            .unwrap();
        checked.set_extension(ext::CORRELATION_ID, id).unwrap();
        checked.set_data(br#"{"order":42}"#.to_vec());

        assert_eq!(fast, checked);
        assert_eq!(fast.attributes(), checked.attributes());
        assert_eq!(fast.wire_size(), checked.wire_size());
        assert_eq!(
            fast.to_structured().unwrap(),
            checked.to_structured().unwrap()
        );
        for binding in [Binding::Http, Binding::Nats, Binding::Kafka, Binding::Amqp] {
            assert_eq!(fast.to_binary(binding), checked.to_binary(binding));
        }
        let names: Vec<&str> = fast.extensions().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            ["correlationid", "partitionkey", "schemaid", "schemaversion"]
        );
    }

    #[test]
    fn templates_check_what_they_hold() {
        assert!(Source::new("has space").is_err());
        assert!(Source::new("").is_err());
        let source = Source::new("/orders").unwrap();
        let dataschema = || "eventschema:subjects/s/versions/1".to_owned();
        let version = [(ext::SCHEMA_VERSION, "1".to_owned())];
        assert!(Template::new(&source, "t", "application/json", dataschema(), &version).is_ok());
        assert!(Template::new(&source, "", "application/json", dataschema(), &version).is_err());
        assert!(Template::new(&source, "t", "json", dataschema(), &version).is_err());
        assert!(
            Template::new(
                &source,
                "t",
                "application/json",
                "relative".into(),
                &version
            )
            .is_err()
        );
        let bad_value = [(ext::SCHEMA_VERSION, "bell\u{7}".to_owned())];
        assert!(Template::new(&source, "t", "application/json", dataschema(), &bad_value).is_err());
        assert!(
            Template::new(
                &source,
                "t",
                "application/json",
                dataschema(),
                &[("id", "1".into())]
            )
            .is_err()
        );
    }

    #[test]
    fn own_extension_values_are_checked() {
        let mut e = order_template("/s").unwrap().instantiate();
        assert!(
            e.set_own_extension(ext::PARTITION_KEY, "bell\u{7}".to_owned())
                .is_err()
        );
        assert_eq!(e.extension(ext::PARTITION_KEY), None);
    }

    /// `caused_by` stamps what the checked setters stamped from a parent.
    #[test]
    fn causation_and_correlation_come_from_the_parent() {
        let mut root = Envelope::new("root", "/s", "t").unwrap();
        root.correlate_to_self();
        assert_eq!(root.extension(ext::CORRELATION_ID), Some("root"));
        root.set_extension(ext::CORRELATION_ID, "flow").unwrap();
        root.correlate_to_self();
        assert_eq!(root.extension(ext::CORRELATION_ID), Some("flow"));

        let mut traced = sample();
        traced.remove_extension(ext::CORRELATION_ID);
        for parent in [root, traced] {
            let mut child = Envelope::new("child", "/s", "t").unwrap();
            child.caused_by(&parent);
            let mut checked = Envelope::new("child", "/s", "t").unwrap();
            checked
                .set_extension(ext::CAUSATION_ID, parent.id())
                .unwrap();
            let correlation = parent.extension(ext::CORRELATION_ID).unwrap_or(parent.id());
            checked
                .set_extension(ext::CORRELATION_ID, correlation)
                .unwrap();
            if let Some(trace) = parent.extension(ext::TRACEPARENT) {
                checked.set_extension(ext::TRACEPARENT, trace).unwrap();
            }
            assert_eq!(child, checked);
        }
    }

    #[test]
    fn extensions_are_sorted_and_replaced_in_place() {
        let mut e = Envelope::new("1", "/s", "t").unwrap();
        e.set_extension("zeta", "1").unwrap();
        e.set_extension("alpha", "2").unwrap();
        e.set_extension("mid", "3").unwrap();
        e.set_extension("alpha", "4").unwrap();
        let all: Vec<(&str, &str)> = e.extensions().collect();
        assert_eq!(all, [("alpha", "4"), ("mid", "3"), ("zeta", "1")]);
        assert_eq!(e.remove_extension("mid"), Some("3".to_owned()));
        assert_eq!(e.remove_extension("mid"), None);
        assert_eq!(e.extension("zeta"), Some("1"));
        assert_eq!(e.extensions().len(), 2);
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
    fn static_header_names_are_the_prefixed_names() {
        let core = CORE_NAMES.iter().filter(|n| **n != "datacontenttype");
        for name in core.chain(ext::ALL.iter()) {
            assert!(
                STATIC_HEADER_ATTRIBUTES.contains(name),
                "{name} has no static name"
            );
        }
        for binding in [Binding::Http, Binding::Nats, Binding::Kafka, Binding::Amqp] {
            for name in STATIC_HEADER_ATTRIBUTES {
                let expected = format!("{}{name}", binding.prefix());
                assert_eq!(binding.static_header_name(name), Some(expected.as_str()));
            }
            assert_eq!(binding.static_header_name("myext"), None);
        }
        // Unknown extensions still travel under their prefixed name.
        let mut e = Envelope::new("1", "/s", "t").unwrap();
        e.set_extension("myext", "x").unwrap();
        let (headers, _) = e.to_binary(Binding::Kafka);
        assert!(headers.iter().any(|(k, v)| k == "ce_myext" && v == "x"));
    }

    proptest::proptest! {
        /// The fast check agrees with the encoder: a value is copied as is exactly when
        /// encoding would leave it unchanged.
        #[test]
        fn header_encoding_check_agrees_with_the_encoder(value in "[\\x00-\\x7f]{0,12}|(?s).{0,8}") {
            let encoded = Cow::from(utf8_percent_encode(&value, HEADER_ENCODE));
            proptest::prop_assert_eq!(needs_header_encoding(&value), encoded != value);
        }
    }

    #[test]
    fn binary_values_that_are_not_utf8_are_refused_by_name() {
        let mut headers: Vec<(&str, &[u8])> = vec![
            ("ce_specversion", b"1.0"),
            ("ce_id", b"1"),
            ("ce_source", b"/s"),
            ("ce_type", b"t"),
            // Not ours: never read, so never refused.
            ("x-other", b"\xff"),
        ];
        assert!(Envelope::from_binary(Binding::Kafka, &headers, b"", 1 << 20).is_ok());
        headers.push(("ce_note", b"caf\xe9"));
        let error = Envelope::from_binary(Binding::Kafka, &headers, b"", 1 << 20).unwrap_err();
        assert!(error.to_string().contains("note"), "{error}");
        headers.pop();
        headers.push(("content-type", b"\xfe"));
        let error = Envelope::from_binary(Binding::Kafka, &headers, b"", 1 << 20).unwrap_err();
        assert!(error.to_string().contains("content-type"), "{error}");
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
        // The same attribute twice (header names are case-insensitive) is refused, and
        // upper-case and percent-encoded headers read like their plain forms.
        let base = [
            ("ce-specversion", "1.0"),
            ("CE-ID", "1"),
            ("ce-Source", "/s%2Fx"),
            ("ce-type", "t"),
            ("ce-correlationid", "c%C3%A9"),
        ];
        let headers: Vec<(String, String)> = base
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let read = Envelope::from_binary(Binding::Http, &headers, b"", 1 << 20).unwrap();
        assert_eq!((read.id(), read.source(), read.ty()), ("1", "/s/x", "t"));
        assert_eq!(read.extension("correlationid"), Some("c\u{e9}"));
        let mut twice = headers.clone();
        twice.push(("ce-id".to_owned(), "2".to_owned()));
        let error = Envelope::from_binary(Binding::Http, &twice, b"", 1 << 20).unwrap_err();
        assert!(error.to_string().contains("twice"), "{error}");
        let mut bad_utf8 = headers;
        bad_utf8.push(("ce-subject".to_owned(), "%FF".to_owned()));
        assert!(Envelope::from_binary(Binding::Http, &bad_utf8, b"", 1 << 20).is_err());
    }

    #[test]
    fn json_media_types() {
        for json in [
            None,
            Some("application/json"),
            Some("Application/JSON; charset=utf-8"),
            Some("application/cloudevents+json"),
            Some(" text/json "),
        ] {
            assert!(is_json_media_type(json), "{json:?}");
        }
        for other in [
            Some("application/avro"),
            Some("json"),
            Some("application/jsonx"),
            Some("application/xjson"),
            Some(""),
            Some("application/json-seq"),
        ] {
            assert!(!is_json_media_type(other), "{other:?}");
        }
    }
}
