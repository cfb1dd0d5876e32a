//! The parsed Avro model: schemas as a tree whose named types live in one table and are
//! referred to by index, so recursive types need no reference cycles.

use std::collections::HashMap;

use serde_json::Value;

/// Custom (non-reserved) attributes of a schema or field, in document order.
pub type Props = Vec<(String, Value)>;

/// The eight primitive types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Primitive {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
}

impl Primitive {
    pub const ALL: [Primitive; 8] = [
        Primitive::Null,
        Primitive::Boolean,
        Primitive::Int,
        Primitive::Long,
        Primitive::Float,
        Primitive::Double,
        Primitive::Bytes,
        Primitive::String,
    ];

    /// The name used in schemas (`"int"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Primitive::Null => "null",
            Primitive::Boolean => "boolean",
            Primitive::Int => "int",
            Primitive::Long => "long",
            Primitive::Float => "float",
            Primitive::Double => "double",
            Primitive::Bytes => "bytes",
            Primitive::String => "string",
        }
    }

    pub fn from_name(name: &str) -> Option<Primitive> {
        Primitive::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// A logical type that Java's `LogicalTypes.fromSchemaIgnoreInvalid` accepts. Invalid or
/// unknown `logicalType` attributes leave this `None` (they stay as plain properties).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogicalType {
    Decimal { precision: u32, scale: u32 },
    BigDecimal,
    Uuid,
    Date,
    TimeMillis,
    TimeMicros,
    TimestampMillis,
    TimestampMicros,
    TimestampNanos,
    LocalTimestampMillis,
    LocalTimestampMicros,
    LocalTimestampNanos,
    Duration,
}

impl LogicalType {
    pub fn name(self) -> &'static str {
        match self {
            LogicalType::Decimal { .. } => "decimal",
            LogicalType::BigDecimal => "big-decimal",
            LogicalType::Uuid => "uuid",
            LogicalType::Date => "date",
            LogicalType::TimeMillis => "time-millis",
            LogicalType::TimeMicros => "time-micros",
            LogicalType::TimestampMillis => "timestamp-millis",
            LogicalType::TimestampMicros => "timestamp-micros",
            LogicalType::TimestampNanos => "timestamp-nanos",
            LogicalType::LocalTimestampMillis => "local-timestamp-millis",
            LogicalType::LocalTimestampMicros => "local-timestamp-micros",
            LogicalType::LocalTimestampNanos => "local-timestamp-nanos",
            LogicalType::Duration => "duration",
        }
    }
}

/// A schema node. Named types (record, error, enum, fixed) are [`Schema::Named`] indices
/// into [`super::AvroSchema::types`].
#[derive(Debug, Clone, PartialEq)]
pub enum Schema {
    Primitive {
        kind: Primitive,
        props: Props,
        logical: Option<LogicalType>,
    },
    Array {
        items: Box<Schema>,
        props: Props,
    },
    Map {
        values: Box<Schema>,
        props: Props,
    },
    Union(Vec<Schema>),
    Named(usize),
}

impl Schema {
    pub(crate) fn primitive(kind: Primitive) -> Schema {
        Schema::Primitive {
            kind,
            props: Vec::new(),
            logical: None,
        }
    }
}

/// A name with its namespace (`None` = the null namespace).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name {
    pub name: String,
    pub namespace: Option<String>,
}

impl Name {
    /// The full name, `namespace.name` or just `name`.
    pub fn full(&self) -> String {
        match &self.namespace {
            Some(space) => format!("{space}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Sort order of a record field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Order {
    #[default]
    Ascending,
    Descending,
    Ignore,
}

impl Order {
    pub fn name(self) -> &'static str {
        match self {
            Order::Ascending => "ascending",
            Order::Descending => "descending",
            Order::Ignore => "ignore",
        }
    }
}

/// A record field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub schema: Schema,
    pub doc: Option<String>,
    /// The default as Java keeps it (textual float/double defaults already converted).
    pub default: Option<Value>,
    pub order: Order,
    /// Field aliases, deduplicated, in document order.
    pub aliases: Vec<String>,
    pub props: Props,
}

/// What kind of named type, with its body.
#[derive(Debug, Clone, PartialEq)]
pub enum NamedKind {
    Record {
        fields: Vec<Field>,
        /// Declared as `"error"` rather than `"record"`.
        error: bool,
        /// Field name to position, for lookups during compatibility checks.
        by_name: HashMap<String, usize>,
    },
    Enum {
        symbols: Vec<String>,
        default: Option<String>,
    },
    Fixed {
        size: u32,
    },
}

/// A record, enum or fixed type.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedType {
    pub name: Name,
    pub doc: Option<String>,
    /// Type aliases, deduplicated by full name, in document order.
    pub aliases: Vec<Name>,
    pub props: Props,
    /// Only ever set on fixed types (decimal, duration, uuid).
    pub logical: Option<LogicalType>,
    pub kind: NamedKind,
}

impl NamedType {
    /// Java's `Schema.Type` name of this type (`RECORD`, `ENUM`, `FIXED`).
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NamedKind::Record { .. } => "record",
            NamedKind::Enum { .. } => "enum",
            NamedKind::Fixed { .. } => "fixed",
        }
    }
}
