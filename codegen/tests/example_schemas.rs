//! The repository's example domain (`schemas/`): every file parses, every version is
//! compatible with its predecessors at the subject's configured level, and the whole folder
//! generates code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use eventschema_codegen::folder::SchemaFolder;
use eventschema_core::{CompatibilityLevel, Limits, ParsedSchema, check_compatibility};

fn folder() -> SchemaFolder {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    SchemaFolder::read_dir(&root).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_subject_chain_is_compatible_at_its_level() {
    let folder = folder();
    let subjects: Vec<String> = folder.subject_names().map(str::to_owned).collect();
    assert!(subjects.len() >= 6, "{subjects:?}");
    let mut multi_version = 0;
    for subject in &subjects {
        let level = folder
            .compatibility(subject)
            .unwrap_or(CompatibilityLevel::Backward);
        let parsed: Vec<(i32, ParsedSchema)> = folder
            .versions(subject)
            .unwrap()
            .iter()
            .map(|file| {
                let schema = folder
                    .parse(file, &Limits::DEFAULT)
                    .unwrap_or_else(|e| panic!("{e}"));
                (file.version, schema)
            })
            .collect();
        if parsed.len() >= 3 {
            multi_version += 1;
        }
        for at in 1..parsed.len() {
            let previous: Vec<(i32, &ParsedSchema)> =
                parsed[..at].iter().map(|(v, s)| (*v, s)).collect();
            let report = check_compatibility(level, &parsed[at].1, &previous);
            assert!(
                report.incompatibilities.is_empty(),
                "{subject} v{} at {level:?}: {:#?}",
                parsed[at].0,
                report.incompatibilities
            );
        }
    }
    assert!(multi_version >= 3, "want several subjects with 3+ versions");
}

#[test]
fn the_example_domain_generates_deterministically() {
    let folder = folder();
    let first = eventschema_codegen::generate(&folder).unwrap_or_else(|e| panic!("{e}"));
    let second = eventschema_codegen::generate(&folder).unwrap();
    assert_eq!(first, second);
    assert!(first.as_str().starts_with("// @generated"));
    // Reading the folder again (directory order may differ) changes nothing either.
    let third = eventschema_codegen::generate(&self::folder()).unwrap();
    assert_eq!(first, third);
    assert!(
        first
            .as_str()
            .contains("pub type OrderPlaced = v3::OrderPlaced;")
    );
}
