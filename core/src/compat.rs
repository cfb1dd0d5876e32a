//! The seven compatibility levels, with exactly the Confluent meaning: which earlier
//! versions a candidate is compared with, and in which direction. The per-pair rules live
//! in [`crate::avro::compat`] and [`crate::json::compat`]; this module only selects pairs,
//! orients them and turns format findings into [`Incompatibility`] values.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::avro::compat::{AvroIncompatibilityKind, check_reader_writer};
use crate::json::compat::{JsonCompatibilityPolicy, JsonDifferenceKind, compare};
use crate::schema::ParsedSchema;

/// A subject's compatibility level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompatibilityLevel {
    None,
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl CompatibilityLevel {
    pub const ALL: [CompatibilityLevel; 7] = [
        CompatibilityLevel::None,
        CompatibilityLevel::Backward,
        CompatibilityLevel::BackwardTransitive,
        CompatibilityLevel::Forward,
        CompatibilityLevel::ForwardTransitive,
        CompatibilityLevel::Full,
        CompatibilityLevel::FullTransitive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CompatibilityLevel::None => "NONE",
            CompatibilityLevel::Backward => "BACKWARD",
            CompatibilityLevel::BackwardTransitive => "BACKWARD_TRANSITIVE",
            CompatibilityLevel::Forward => "FORWARD",
            CompatibilityLevel::ForwardTransitive => "FORWARD_TRANSITIVE",
            CompatibilityLevel::Full => "FULL",
            CompatibilityLevel::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Whether every earlier version is compared, or only the newest.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::FullTransitive
        )
    }

    /// The directions a compared pair is checked in.
    pub fn directions(self) -> &'static [Direction] {
        match self {
            CompatibilityLevel::None => &[],
            CompatibilityLevel::Backward | CompatibilityLevel::BackwardTransitive => {
                &[Direction::Backward]
            }
            CompatibilityLevel::Forward | CompatibilityLevel::ForwardTransitive => {
                &[Direction::Forward]
            }
            CompatibilityLevel::Full | CompatibilityLevel::FullTransitive => {
                &[Direction::Backward, Direction::Forward]
            }
        }
    }
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown compatibility level name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid compatibility level '{0}' (expected one of NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE)"
)]
pub struct InvalidLevel(pub String);

impl FromStr for CompatibilityLevel {
    type Err = InvalidLevel;

    /// Case-insensitive, like the Confluent registry.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.to_ascii_uppercase();
        CompatibilityLevel::ALL
            .into_iter()
            .find(|level| level.as_str() == upper)
            .ok_or_else(|| InvalidLevel(s.to_owned()))
    }
}

/// Which way a pair is checked. `Backward`: the new schema reads data written with the old
/// one (reader = new). `Forward`: the old schema reads data written with the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Direction {
    Backward,
    Forward,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Backward => "BACKWARD",
            Direction::Forward => "FORWARD",
        }
    }
}

/// The stable name of what is wrong, per format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncompatibilityKind {
    Avro(AvroIncompatibilityKind),
    Json(JsonDifferenceKind),
    /// The two schemas are of different formats (e.g. AVRO and JSON).
    SchemaTypeChanged,
}

impl IncompatibilityKind {
    /// The stable SCREAMING_SNAKE_CASE name (`READER_FIELD_MISSING_DEFAULT_VALUE`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            IncompatibilityKind::Avro(kind) => kind.as_str(),
            IncompatibilityKind::Json(kind) => kind.as_str(),
            IncompatibilityKind::SchemaTypeChanged => "SCHEMA_TYPE_CHANGED",
        }
    }
}

impl fmt::Display for IncompatibilityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for IncompatibilityKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One reason a candidate schema is not compatible with an earlier version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incompatibility {
    pub kind: IncompatibilityKind,
    /// JSON pointer into the old (registered) schema.
    pub old_path: String,
    /// JSON pointer into the new (candidate) schema.
    pub new_path: String,
    /// What is wrong, for a person.
    pub message: String,
    /// The check that found it.
    pub direction: Direction,
    /// The registered version compared with, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub against_version: Option<i32>,
}

impl Incompatibility {
    /// The message in the shape the Confluent registry answers with `verbose=true`.
    pub fn confluent_message(&self) -> String {
        let path = match self.direction {
            Direction::Backward => &self.new_path,
            Direction::Forward => &self.old_path,
        };
        format!(
            "{{errorType:'{}', description:'{}', additionalInfo:'{}'}}",
            self.kind, self.message, path
        )
    }
}

/// The outcome of checking a candidate at a level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompatibilityReport {
    pub level: CompatibilityLevel,
    pub incompatibilities: Vec<Incompatibility>,
}

impl CompatibilityReport {
    pub fn is_compatible(&self) -> bool {
        self.incompatibilities.is_empty()
    }

    /// The `messages` array of a verbose Confluent compatibility answer.
    pub fn confluent_messages(&self) -> Vec<String> {
        let mut messages: Vec<String> = self
            .incompatibilities
            .iter()
            .map(Incompatibility::confluent_message)
            .collect();
        if !messages.is_empty() {
            messages.push(format!(
                "{{validateFields: 'false', compatibility: '{}'}}",
                self.level
            ));
        }
        messages
    }
}

/// Checks one pair in one direction. Every finding is returned, none is dropped.
pub fn check_pair(
    direction: Direction,
    old: &ParsedSchema,
    new: &ParsedSchema,
) -> Vec<Incompatibility> {
    let finding = |kind, old_path: String, new_path: String, message: String| Incompatibility {
        kind,
        old_path,
        new_path,
        message,
        direction,
        against_version: None,
    };
    match (old, new) {
        (ParsedSchema::Avro(old), ParsedSchema::Avro(new)) => {
            let (reader, writer) = match direction {
                Direction::Backward => (new, old),
                Direction::Forward => (old, new),
            };
            check_reader_writer(reader, writer)
                .into_iter()
                .map(|found| {
                    let (old_path, new_path) = match direction {
                        Direction::Backward => (found.writer_path, found.reader_path),
                        Direction::Forward => (found.reader_path, found.writer_path),
                    };
                    finding(
                        IncompatibilityKind::Avro(found.kind),
                        old_path,
                        new_path,
                        found.message,
                    )
                })
                .collect()
        }
        (ParsedSchema::Json(old), ParsedSchema::Json(new)) => {
            // Confluent's SchemaDiff compares (original = writer side, update = reader side).
            let (original, update) = match direction {
                Direction::Backward => (old, new),
                Direction::Forward => (new, old),
            };
            compare(original, update)
                .into_iter()
                .filter(|difference| {
                    !difference
                        .kind
                        .is_compatible(JsonCompatibilityPolicy::Strict)
                })
                .map(|difference| {
                    let (old_path, new_path) = match direction {
                        Direction::Backward => (difference.original_path, difference.update_path),
                        Direction::Forward => (difference.update_path, difference.original_path),
                    };
                    finding(
                        IncompatibilityKind::Json(difference.kind),
                        old_path,
                        new_path,
                        difference.message,
                    )
                })
                .collect()
        }
        _ => vec![finding(
            IncompatibilityKind::SchemaTypeChanged,
            String::new(),
            String::new(),
            format!(
                "the schema type changed from {} to {}",
                old.schema_type(),
                new.schema_type()
            ),
        )],
    }
}

/// Checks `candidate` against the earlier live versions of a subject at `level`.
///
/// `previous` holds `(version, schema)` in version order, oldest first. Non-transitive
/// levels compare with the newest only; transitive ones with every version, newest first,
/// as Confluent does. All findings are collected.
pub fn check_compatibility(
    level: CompatibilityLevel,
    candidate: &ParsedSchema,
    previous: &[(i32, &ParsedSchema)],
) -> CompatibilityReport {
    let compared: Vec<&(i32, &ParsedSchema)> = if level.is_transitive() {
        previous.iter().rev().collect()
    } else {
        previous.last().into_iter().collect()
    };
    let mut incompatibilities = Vec::new();
    for (version, old) in compared {
        for &direction in level.directions() {
            for mut found in check_pair(direction, old, candidate) {
                found.against_version = Some(*version);
                incompatibilities.push(found);
            }
        }
    }
    CompatibilityReport {
        level,
        incompatibilities,
    }
}
