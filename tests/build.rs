//! Generates Rust types for the repository's example schemas (`../schemas`) into OUT_DIR,
//! so that `tests/generated.rs` proves the generated code compiles and round-trips.

fn main() -> Result<(), eventschema_codegen::BuildError> {
    eventschema_codegen::Builder::new()
        .schemas_dir("../schemas")
        .generate()?;
    Ok(())
}
