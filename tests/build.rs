//! Generates Rust types for the repository's example schemas (`../schemas`) into OUT_DIR,
//! so that `tests/generated.rs` proves the generated code compiles and round-trips; and for
//! the fixtures of `tests/upcasters.rs`: `fixtures/manual-upcast` (a hand-written upcaster),
//! `fixtures/upcast-features` (every kind of derived step) and `fixtures/logical-types`
//! (logical types and formats), `fixtures/json-shapes` (JSON Schema unions, `allOf`, maps,
//! tuples and bounds), `fixtures/shared-references` (a type shared through schema
//! references, `tests/references.rs`).

fn main() -> Result<(), eventschema_codegen::BuildError> {
    eventschema_codegen::Builder::new()
        .schemas_dir("../schemas")
        .generate()?;
    eventschema_codegen::Builder::new()
        .schemas_dir("fixtures/manual-upcast")
        .file_name("manual_upcast_generated.rs")
        .generate()?;
    eventschema_codegen::Builder::new()
        .schemas_dir("fixtures/upcast-features")
        .file_name("upcast_features_generated.rs")
        .generate()?;
    eventschema_codegen::Builder::new()
        .schemas_dir("fixtures/logical-types")
        .file_name("logical_types_generated.rs")
        .generate()?;
    eventschema_codegen::Builder::new()
        .schemas_dir("fixtures/json-shapes")
        .file_name("json_shapes_generated.rs")
        .generate()?;
    eventschema_codegen::Builder::new()
        .schemas_dir("fixtures/shared-references")
        .file_name("shared_references_generated.rs")
        .generate()?;
    Ok(())
}
