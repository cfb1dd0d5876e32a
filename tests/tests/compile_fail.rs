//! A step the generator cannot derive is a compile error until the application implements
//! it: `ui/missing_upcaster.rs` includes the code generated from `fixtures/manual-upcast`
//! (kept as `ui/manual_upcast_generated.in`, checked here to be current) without the
//! hand-written upcaster, and must fail with the message in `ui/missing_upcaster.stderr`.
//! The expected output is pinned to the toolchain in use (docs: trybuild UI tests);
//! regenerate with `TRYBUILD=overwrite` after a toolchain upgrade and review the diff.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use eventschema_codegen::folder::SchemaFolder;

#[test]
fn a_missing_upcaster_is_a_compile_error_naming_subject_versions_and_fields() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let folder = SchemaFolder::read_dir(&root.join("fixtures/manual-upcast"))
        .unwrap_or_else(|e| panic!("{e}"));
    let code = eventschema_codegen::generate(&folder).unwrap_or_else(|e| panic!("{e}"));
    let kept = root.join("ui/manual_upcast_generated.in");
    if std::env::var_os("TRYBUILD").is_some_and(|v| v == "overwrite") {
        std::fs::write(&kept, code.as_str()).unwrap();
    }
    let current = std::fs::read_to_string(&kept).unwrap_or_default();
    assert!(
        current == code.as_str(),
        "{} is stale: rerun with TRYBUILD=overwrite",
        kept.display()
    );
    trybuild::TestCases::new().compile_fail("ui/missing_upcaster.rs");
}
