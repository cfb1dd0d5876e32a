//! Test helpers for code-first events: is the schema derived from a Rust type compatible
//! with what is registered? The check is `eventschema-core`'s, the one the registry and
//! `eventschema check` run.

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
