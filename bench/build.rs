//! Generates the example domain (`../schemas`) into OUT_DIR for the `generated_codec`
//! criterion benchmark (generated types against hand-written serde code).

fn main() -> Result<(), eventschema_codegen::BuildError> {
    eventschema_codegen::Builder::new()
        .schemas_dir("../schemas")
        .generate()?;
    Ok(())
}
