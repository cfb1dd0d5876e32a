//! Avro reader/writer compatibility: a port of Apache Avro Java's
//! `SchemaCompatibility.ReaderWriterCompatibilityChecker`, the checker the Confluent registry
//! runs, with all of its verdict-deciding details (unqualified name comparison, reader
//! aliases, logical types ignored, memoised pairs for recursive types).

use std::collections::{BTreeSet, HashMap};

use super::AvroSchema;
use super::model::{NamedKind, NamedType, Primitive, Schema};
use super::parse::describe;

/// Java's `SchemaIncompatibilityType`, the stable names of what is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvroIncompatibilityKind {
    NameMismatch,
    FixedSizeMismatch,
    MissingEnumSymbols,
    ReaderFieldMissingDefaultValue,
    TypeMismatch,
    MissingUnionBranch,
}

impl AvroIncompatibilityKind {
    /// The Java enum constant name, as the Confluent registry reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            AvroIncompatibilityKind::NameMismatch => "NAME_MISMATCH",
            AvroIncompatibilityKind::FixedSizeMismatch => "FIXED_SIZE_MISMATCH",
            AvroIncompatibilityKind::MissingEnumSymbols => "MISSING_ENUM_SYMBOLS",
            AvroIncompatibilityKind::ReaderFieldMissingDefaultValue => {
                "READER_FIELD_MISSING_DEFAULT_VALUE"
            }
            AvroIncompatibilityKind::TypeMismatch => "TYPE_MISMATCH",
            AvroIncompatibilityKind::MissingUnionBranch => "MISSING_UNION_BRANCH",
        }
    }
}

/// One incompatibility.
///
/// `reader_path` is exactly Java's `Incompatibility.getLocation()` (what Confluent reports):
/// a pointer along the reader schema (`/fields/1/type`, `/items`, `/symbols`, `/name`), into
/// which Java also writes the index of the writer union branch being read (`/2`).
/// `writer_path` is the matching pointer along the writer schema. Both follow named types
/// where they are used, so they are logical paths rather than pointers into where a type is
/// defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvroFinding {
    pub kind: AvroIncompatibilityKind,
    pub reader_path: String,
    pub writer_path: String,
    pub message: String,
}

/// More findings than this are not collected (memoised results are re-reported wherever a
/// pair recurs, as Java does, which could otherwise grow exponentially).
const MAX_FINDINGS: usize = 10_000;

/// All the ways `reader` cannot read data written with `writer`; empty means compatible.
pub fn check_reader_writer(reader: &AvroSchema, writer: &AvroSchema) -> Vec<AvroFinding> {
    let mut checker = Checker {
        reader: &reader.types,
        writer: &writer.types,
        memo: HashMap::new(),
        location: Vec::new(),
        writer_location: Vec::new(),
    };
    let raw = checker.compatibility(&reader.root, &writer.root);
    raw.iter().map(|finding| checker.render(finding)).collect()
}

/// One step of a path; cheap to push, formatted only when a finding is reported.
#[derive(Debug, Clone, Copy)]
enum Token {
    Key(&'static str),
    Index(usize),
}

fn pointer(tokens: &[Token]) -> String {
    let mut out = String::from("/");
    for (i, token) in tokens.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        match token {
            Token::Key(key) => out.push_str(key),
            Token::Index(index) => out.push_str(&index.to_string()),
        }
    }
    out
}

/// A schema as named in a message.
#[derive(Debug, Clone, Copy)]
enum Desc<'a> {
    Node(&'a Schema),
    Named(usize),
}

/// What a finding is about; formatted into a sentence only when reported, so the union
/// branch probing (whose findings are thrown away) stays cheap.
#[derive(Debug, Clone)]
enum Detail<'a> {
    TypeMismatch {
        reader: Desc<'a>,
        writer: Desc<'a>,
    },
    /// `branch` is the writer union branch when both sides are unions.
    MissingUnionBranch {
        writer: &'a Schema,
        branch: Option<usize>,
    },
    NameMismatch {
        reader: usize,
        writer: usize,
    },
    FixedSize {
        reader: usize,
        reader_size: u32,
        writer_size: u32,
    },
    MissingSymbols {
        reader: usize,
        missing: Vec<&'a str>,
    },
    MissingDefault {
        field: &'a str,
    },
    AmbiguousField {
        field: &'a str,
        matches: Vec<&'a str>,
    },
}

#[derive(Debug, Clone)]
struct Raw<'a> {
    kind: AvroIncompatibilityKind,
    location: Vec<Token>,
    writer_location: Vec<Token>,
    detail: Detail<'a>,
}

fn merge<'a>(into: &mut Vec<Raw<'a>>, more: Vec<Raw<'a>>) {
    let room = MAX_FINDINGS.saturating_sub(into.len());
    into.extend(more.into_iter().take(room));
}

/// The Java `Schema.Type` of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Primitive(Primitive),
    Array,
    Map,
    Union,
    Record,
    Enum,
    Fixed,
}

#[derive(Debug)]
enum Memo<'a> {
    InProgress,
    Done(Vec<Raw<'a>>),
}

struct Checker<'a> {
    reader: &'a [NamedType],
    writer: &'a [NamedType],
    memo: HashMap<(usize, usize), Memo<'a>>,
    /// Java's location deque (without the root token).
    location: Vec<Token>,
    writer_location: Vec<Token>,
}

impl<'a> Checker<'a> {
    fn kind(types: &[NamedType], schema: &Schema) -> Kind {
        match schema {
            Schema::Primitive { kind, .. } => Kind::Primitive(*kind),
            Schema::Array { .. } => Kind::Array,
            Schema::Map { .. } => Kind::Map,
            Schema::Union(_) => Kind::Union,
            Schema::Named(index) => match types.get(*index).map(|named| &named.kind) {
                Some(NamedKind::Enum { .. }) => Kind::Enum,
                Some(NamedKind::Fixed { .. }) => Kind::Fixed,
                _ => Kind::Record,
            },
        }
    }

    fn push(&mut self, token: Token) {
        self.location.push(token);
        self.writer_location.push(token);
    }

    fn pop(&mut self) {
        self.location.pop();
        self.writer_location.pop();
    }

    fn raw(&self, kind: AvroIncompatibilityKind, detail: Detail<'a>) -> Raw<'a> {
        Raw {
            kind,
            location: self.location.clone(),
            writer_location: self.writer_location.clone(),
            detail,
        }
    }

    fn full_name(types: &[NamedType], index: usize) -> String {
        types
            .get(index)
            .map(|named| named.name.full())
            .unwrap_or_default()
    }

    fn describe(types: &[NamedType], desc: Desc<'_>) -> String {
        match desc {
            Desc::Node(schema) => describe(types, schema),
            Desc::Named(index) => describe(types, &Schema::Named(index)),
        }
    }

    /// Turns a raw finding into the reported one, with its sentence.
    fn render(&self, raw: &Raw<'a>) -> AvroFinding {
        let path = pointer(&raw.location);
        let message = match &raw.detail {
            Detail::TypeMismatch { reader, writer } => format!(
                "The type at path '{path}' in the reader schema ({}) cannot read the writer's \
                 type ({})",
                Self::describe(self.reader, *reader),
                Self::describe(self.writer, *writer)
            ),
            Detail::MissingUnionBranch {
                writer,
                branch: None,
            } => format!(
                "The reader union at path '{path}' has no branch that can read the writer's {}",
                describe(self.writer, writer)
            ),
            Detail::MissingUnionBranch {
                writer,
                branch: Some(branch),
            } => format!(
                "The reader union at path '{}' has no branch that can read the writer's union \
                 branch {branch} ({})",
                pointer(raw.location.split_last().map_or(&[][..], |(_, rest)| rest)),
                describe(self.writer, writer)
            ),
            Detail::NameMismatch { reader, writer } => {
                let kind = self
                    .reader
                    .get(*reader)
                    .map_or("named type", NamedType::type_name);
                let writer_full = Self::full_name(self.writer, *writer);
                format!(
                    "The {kind} at path '{path}' is named '{}' in the reader schema but \
                     '{writer_full}' in the writer schema, and the reader has no alias for it \
                     (expected: {writer_full})",
                    Self::full_name(self.reader, *reader)
                )
            }
            Detail::FixedSize {
                reader,
                reader_size,
                writer_size,
            } => format!(
                "The size of fixed '{}' at path '{path}' is {reader_size} in the reader schema \
                 but {writer_size} in the writer schema (expected: {writer_size}, found: \
                 {reader_size})",
                Self::full_name(self.reader, *reader)
            ),
            Detail::MissingSymbols { reader, missing } => format!(
                "The reader enum '{}' at path '{path}' is missing the writer's symbols [{}] and \
                 has no default symbol",
                Self::full_name(self.reader, *reader),
                missing.join(", ")
            ),
            Detail::MissingDefault { field } => format!(
                "The field '{field}' at path '{path}' in the reader schema has no default value \
                 and is missing in the writer schema"
            ),
            Detail::AmbiguousField { field, matches } => format!(
                "The field '{field}' at path '{path}' in the reader schema matches several \
                 writer fields by name and aliases ({}); Avro cannot decide which one to read",
                matches.join(", ")
            ),
        };
        AvroFinding {
            kind: raw.kind,
            reader_path: path,
            writer_path: pointer(&raw.writer_location),
            message,
        }
    }

    /// Java `getCompatibility(token, reader, writer, location)`.
    fn compatibility_at(
        &mut self,
        token: Token,
        reader: &'a Schema,
        writer: &'a Schema,
    ) -> Vec<Raw<'a>> {
        self.push(token);
        let result = self.compatibility(reader, writer);
        self.pop();
        result
    }

    /// Java `getCompatibility`, memoised on named-type pairs (the only nodes Java meets
    /// twice): a pair met again while still being checked counts as compatible; a finished
    /// pair returns its findings again, with the paths where it was first met.
    fn compatibility(&mut self, reader: &'a Schema, writer: &'a Schema) -> Vec<Raw<'a>> {
        let (Schema::Named(r), Schema::Named(w)) = (reader, writer) else {
            return self.calculate(reader, writer);
        };
        let key = (*r, *w);
        match self.memo.get(&key) {
            Some(Memo::InProgress) => return Vec::new(),
            Some(Memo::Done(findings)) => return findings.clone(),
            None => {}
        }
        self.memo.insert(key, Memo::InProgress);
        let result = self.calculate(reader, writer);
        self.memo.insert(key, Memo::Done(result.clone()));
        result
    }

    fn calculate(&mut self, reader: &'a Schema, writer: &'a Schema) -> Vec<Raw<'a>> {
        let reader_kind = Self::kind(self.reader, reader);
        let writer_kind = Self::kind(self.writer, writer);
        if reader_kind == writer_kind {
            return match (reader, writer) {
                (Schema::Array { items: r, .. }, Schema::Array { items: w, .. }) => {
                    self.compatibility_at(Token::Key("items"), r, w)
                }
                (Schema::Map { values: r, .. }, Schema::Map { values: w, .. }) => {
                    self.compatibility_at(Token::Key("values"), r, w)
                }
                (Schema::Union(_), Schema::Union(writer_branches)) => {
                    self.union_union(reader, writer_branches)
                }
                (Schema::Named(r), Schema::Named(w)) => self.named(*r, *w),
                _ => Vec::new(),
            };
        }
        // Reader and writer have different types.
        if let Schema::Union(writer_branches) = writer {
            // Every branch the writer may have written must be readable.
            let mut result = Vec::new();
            for (index, branch) in writer_branches.iter().enumerate() {
                let found = self.compatibility_at(Token::Index(index), reader, branch);
                merge(&mut result, found);
            }
            return result;
        }
        let promotable = match (reader_kind, writer_kind) {
            (Kind::Primitive(r), Kind::Primitive(w)) => matches!(
                (r, w),
                (Primitive::Long, Primitive::Int)
                    | (Primitive::Float, Primitive::Int | Primitive::Long)
                    | (
                        Primitive::Double,
                        Primitive::Int | Primitive::Long | Primitive::Float
                    )
                    | (Primitive::Bytes, Primitive::String)
                    | (Primitive::String, Primitive::Bytes)
            ),
            _ => false,
        };
        if promotable {
            return Vec::new();
        }
        if let Schema::Union(reader_branches) = reader {
            // Java tries every reader branch, not only the first of a matching type.
            for branch in reader_branches {
                if self.compatibility(branch, writer).is_empty() {
                    return Vec::new();
                }
            }
            let detail = Detail::MissingUnionBranch {
                writer,
                branch: None,
            };
            return vec![self.raw(AvroIncompatibilityKind::MissingUnionBranch, detail)];
        }
        let detail = Detail::TypeMismatch {
            reader: Desc::Node(reader),
            writer: Desc::Node(writer),
        };
        vec![self.raw(AvroIncompatibilityKind::TypeMismatch, detail)]
    }

    /// Both unions: each writer branch must be readable by the reader union as a whole.
    fn union_union(&mut self, reader: &'a Schema, writer_branches: &'a [Schema]) -> Vec<Raw<'a>> {
        let mut result = Vec::new();
        for (index, branch) in writer_branches.iter().enumerate() {
            self.push(Token::Index(index));
            if !self.compatibility(reader, branch).is_empty() {
                let detail = Detail::MissingUnionBranch {
                    writer: branch,
                    branch: Some(index),
                };
                let found = self.raw(AvroIncompatibilityKind::MissingUnionBranch, detail);
                merge(&mut result, vec![found]);
            }
            self.pop();
        }
        result
    }

    fn named(&mut self, reader_index: usize, writer_index: usize) -> Vec<Raw<'a>> {
        let (reader_types, writer_types) = (self.reader, self.writer);
        let (Some(reader), Some(writer)) = (
            reader_types.get(reader_index),
            writer_types.get(writer_index),
        ) else {
            return Vec::new();
        };
        let mut result = Vec::new();
        // Java `schemaNameEquals`: unqualified names, or a reader alias naming the writer.
        let names_match = reader.name.name == writer.name.name || {
            let writer_full = writer.name.full();
            reader
                .aliases
                .iter()
                .any(|alias| alias.full() == writer_full)
        };
        if !names_match {
            self.push(Token::Key("name"));
            let detail = Detail::NameMismatch {
                reader: reader_index,
                writer: writer_index,
            };
            result.push(self.raw(AvroIncompatibilityKind::NameMismatch, detail));
            self.pop();
        }
        match (&reader.kind, &writer.kind) {
            (NamedKind::Fixed { size: reader_size }, NamedKind::Fixed { size: writer_size })
                if reader_size != writer_size =>
            {
                self.push(Token::Key("size"));
                let detail = Detail::FixedSize {
                    reader: reader_index,
                    reader_size: *reader_size,
                    writer_size: *writer_size,
                };
                result.push(self.raw(AvroIncompatibilityKind::FixedSizeMismatch, detail));
                self.pop();
            }
            (
                NamedKind::Enum {
                    symbols: reader_symbols,
                    default: reader_default,
                },
                NamedKind::Enum {
                    symbols: writer_symbols,
                    ..
                },
            ) => {
                let missing: BTreeSet<&str> = writer_symbols
                    .iter()
                    .filter(|symbol| !reader_symbols.contains(symbol))
                    .map(String::as_str)
                    .collect();
                let forgiven = reader_default
                    .as_ref()
                    .is_some_and(|default| reader_symbols.contains(default));
                if !missing.is_empty() && !forgiven {
                    self.push(Token::Key("symbols"));
                    let detail = Detail::MissingSymbols {
                        reader: reader_index,
                        missing: missing.into_iter().collect(),
                    };
                    result.push(self.raw(AvroIncompatibilityKind::MissingEnumSymbols, detail));
                    self.pop();
                }
            }
            (
                NamedKind::Record {
                    fields: reader_fields,
                    ..
                },
                NamedKind::Record {
                    fields: writer_fields,
                    by_name: writer_by_name,
                    ..
                },
            ) => {
                self.location.push(Token::Key("fields"));
                for (position, field) in reader_fields.iter().enumerate() {
                    self.location.push(Token::Index(position));
                    // Java `lookupWriterField`: by name, then by each reader alias.
                    let direct = writer_by_name.get(&field.name).copied();
                    let by_alias = field
                        .aliases
                        .iter()
                        .filter_map(|alias| writer_by_name.get(alias).copied());
                    let matches: Vec<usize> = direct.into_iter().chain(by_alias).collect();
                    match matches.as_slice() {
                        [] if field.default.is_some() => {}
                        [] => {
                            let enum_with_default = match &field.schema {
                                Schema::Named(index) => matches!(
                                    reader_types.get(*index).map(|named| &named.kind),
                                    Some(NamedKind::Enum {
                                        default: Some(_),
                                        ..
                                    })
                                ),
                                _ => false,
                            };
                            let found = if enum_with_default {
                                // Java checks the enum against the writer *record*, which
                                // always fails with a type mismatch.
                                self.location.push(Token::Key("type"));
                                let detail = Detail::TypeMismatch {
                                    reader: Desc::Node(&field.schema),
                                    writer: Desc::Named(writer_index),
                                };
                                let found = self.raw(AvroIncompatibilityKind::TypeMismatch, detail);
                                self.location.pop();
                                found
                            } else {
                                let detail = Detail::MissingDefault { field: &field.name };
                                self.raw(
                                    AvroIncompatibilityKind::ReaderFieldMissingDefaultValue,
                                    detail,
                                )
                            };
                            merge(&mut result, vec![found]);
                        }
                        [writer_position] => {
                            let writer_position = *writer_position;
                            if let Some(writer_field) = writer_fields.get(writer_position) {
                                self.writer_location.push(Token::Key("fields"));
                                self.writer_location.push(Token::Index(writer_position));
                                self.push(Token::Key("type"));
                                let found = self.compatibility(&field.schema, &writer_field.schema);
                                self.pop();
                                self.writer_location.pop();
                                self.writer_location.pop();
                                merge(&mut result, found);
                            }
                        }
                        several => {
                            // Java throws here; the registry then rejects the schema.
                            let detail = Detail::AmbiguousField {
                                field: &field.name,
                                matches: several
                                    .iter()
                                    .filter_map(|&i| writer_fields.get(i).map(|f| f.name.as_str()))
                                    .collect(),
                            };
                            let found = self.raw(AvroIncompatibilityKind::TypeMismatch, detail);
                            merge(&mut result, vec![found]);
                        }
                    }
                    self.location.pop();
                }
                self.location.pop();
            }
            _ => {}
        }
        result
    }
}
