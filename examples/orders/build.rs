//! Generates the event types of the repository's example domain (`../../schemas`), the way
//! a service generates them from its own schemas folder.

fn main() -> Result<(), eventschema_codegen::BuildError> {
    eventschema_codegen::Builder::new()
        .schemas_dir("../../schemas")
        .generate()?;
    Ok(())
}
