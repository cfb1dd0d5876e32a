//! Helpers for code-first events: is the schema derived from a Rust type compatible with
//! what is registered (the check is `eventschema-core`'s, the one the registry and
//! `eventschema check` run), and writing it into a `schemas/` folder, where `eventschema
//! check` and `eventschema push` pick it up.

use std::path::{Path, PathBuf};

use eventschema_core::{
    CompatibilityReport, Limits, ParsedSchema, SchemaError, check_compatibility,
};

pub use eventschema_core::CompatibilityLevel;

use crate::event::Event;

/// Checks `E::SCHEMA` against the `registered` versions of its subject (oldest first) at
/// `level`, as the registry would on registration.
pub fn check_compatible_with<E: Event>(
    registered: &[&str],
    level: CompatibilityLevel,
) -> Result<CompatibilityReport, SchemaError> {
    let limits = Limits::default();
    let candidate = ParsedSchema::parse_standalone(E::SCHEMA_TYPE, E::SCHEMA, &limits)?;
    let previous = registered
        .iter()
        .map(|text| ParsedSchema::parse_standalone(E::SCHEMA_TYPE, text, &limits))
        .collect::<Result<Vec<_>, _>>()?;
    let numbered: Vec<(i32, &ParsedSchema)> = previous
        .iter()
        .enumerate()
        .map(|(i, schema)| (i32::try_from(i + 1).unwrap_or(i32::MAX), schema))
        .collect();
    Ok(check_compatibility(level, &candidate, &numbered))
}

/// Panics, listing every incompatibility, unless `E`'s schema is compatible with the
/// `registered` schema at `level`. For tests.
#[track_caller]
pub fn assert_compatible_with<E: Event>(registered: &str, level: CompatibilityLevel) {
    match check_compatible_with::<E>(&[registered], level) {
        Ok(report) if report.is_compatible() => {}
        Ok(report) => panic!(
            "the schema of `{}` v{} is not {} compatible with the registered schema:\n  {}",
            E::TYPE,
            E::VERSION,
            level.as_str(),
            report.confluent_messages().join("\n  ")
        ),
        Err(error) => panic!("schema of `{}` does not parse: {error}", E::TYPE),
    }
}

/// Writes `E::SCHEMA` to `<schemas_dir>/<subject>/<version>.avsc` (or `.json`), the
/// `schemas/` folder convention of `eventschema check` and `push`; returns the path. An
/// existing file with other content is an error: a registered version never changes.
pub fn export_schema<E: Event>(schemas_dir: impl AsRef<Path>) -> std::io::Result<PathBuf> {
    let extension = match E::SCHEMA_TYPE {
        eventschema_core::SchemaType::Avro => "avsc",
        _ => "json",
    };
    let dir = schemas_dir.as_ref().join(E::SUBJECT);
    let path = dir.join(format!("{}.{extension}", E::VERSION));
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing.trim_end() == E::SCHEMA => return Ok(path),
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} holds another schema: bump the version of `{}` instead of changing version {}",
                    path.display(),
                    E::TYPE,
                    E::VERSION
                ),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(&dir)?;
    std::fs::write(&path, format!("{}\n", E::SCHEMA))?;
    Ok(path)
}
