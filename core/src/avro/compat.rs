//! Avro reader/writer compatibility. PLACEHOLDER: the Avro helper replaces this.

use super::AvroSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvroIncompatibilityKind {
    TypeMismatch,
}

impl AvroIncompatibilityKind {
    pub fn as_str(self) -> &'static str {
        "TYPE_MISMATCH"
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvroFinding {
    pub kind: AvroIncompatibilityKind,
    pub reader_path: String,
    pub writer_path: String,
    pub message: String,
}

pub fn check_reader_writer(reader: &AvroSchema, writer: &AvroSchema) -> Vec<AvroFinding> {
    if reader == writer {
        Vec::new()
    } else {
        vec![AvroFinding {
            kind: AvroIncompatibilityKind::TypeMismatch,
            reader_path: String::new(),
            writer_path: String::new(),
            message: "placeholder".into(),
        }]
    }
}
