//! The `build.rs` front end, modelled on prost-build: read a schemas folder, generate, and
//! write the file into `OUT_DIR` only when its content changed (so an unchanged schema does
//! not rebuild the crate), telling cargo to rerun when any input changes.

use std::path::{Path, PathBuf};

use crate::folder::{CONFIG_FILE, FolderErrors, SchemaFolder};
use crate::generate::{GenerateErrors, generate};

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("no output directory: call `out_dir` or run from a build script (OUT_DIR)")]
    NoOutDir,
    #[error("{0}")]
    Folder(#[from] FolderErrors),
    #[error("{0}")]
    Generate(#[from] GenerateErrors),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Configures and runs code generation from a build script:
///
/// ```no_run
/// # fn main() -> Result<(), eventschema_codegen::BuildError> {
/// let written = eventschema_codegen::Builder::new()
///     .schemas_dir("schemas")
///     .generate()?; // into $OUT_DIR/eventschema_generated.rs
/// # let _ = written; Ok(()) }
/// ```
///
/// and in the crate: `include!(concat!(env!("OUT_DIR"), "/eventschema_generated.rs"));`
#[derive(Debug, Clone)]
pub struct Builder {
    schemas_dir: PathBuf,
    out_dir: Option<PathBuf>,
    file_name: String,
    rerun_if_changed: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// Defaults: `schemas/`, `$OUT_DIR`, `eventschema_generated.rs`, rerun lines on.
    pub fn new() -> Self {
        Builder {
            schemas_dir: PathBuf::from("schemas"),
            out_dir: None,
            file_name: "eventschema_generated.rs".to_owned(),
            rerun_if_changed: true,
        }
    }

    pub fn schemas_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.schemas_dir = dir.into();
        self
    }

    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// The name of the generated file inside the output directory.
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = name.into();
        self
    }

    /// Whether to print `cargo:rerun-if-changed` lines (on by default; off outside build
    /// scripts, where stdout is not cargo's).
    pub fn emit_rerun_if_changed(mut self, on: bool) -> Self {
        self.rerun_if_changed = on;
        self
    }

    /// Reads, generates and writes; returns the path of the generated file.
    pub fn generate(&self) -> Result<PathBuf, BuildError> {
        if self.rerun_if_changed {
            // Printed before reading so that a broken folder is retried once fixed; only
            // our inputs, never the whole package (prost-build's lesson).
            self.print_rerun_lines();
        }
        let folder = SchemaFolder::read_dir(&self.schemas_dir)?;
        let code = generate(&folder)?;
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(BuildError::NoOutDir)?,
        };
        let path = out_dir.join(&self.file_name);
        write_if_changed(&path, code.as_str())?;
        Ok(path)
    }

    fn print_rerun_lines(&self) {
        let root = &self.schemas_dir;
        // The folder itself and each subject folder: adding or removing a file changes them.
        println!("cargo:rerun-if-changed={}", root.display());
        println!(
            "cargo:rerun-if-changed={}",
            root.join(CONFIG_FILE).display()
        );
        for subject in sorted_entries(root) {
            println!("cargo:rerun-if-changed={}", subject.display());
            if subject.is_dir() {
                for file in sorted_entries(&subject) {
                    println!("cargo:rerun-if-changed={}", file.display());
                }
            }
        }
    }
}

/// Directory entries sorted by path (unreadable directories give none: reading the folder
/// reports the error properly).
fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|read| read.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

/// Writes `content` unless the file already holds exactly it (keeps its mtime, so cargo
/// does not recompile the including crate).
pub(crate) fn write_if_changed(path: &Path, content: &str) -> Result<bool, BuildError> {
    if std::fs::read(path).is_ok_and(|old| old == content.as_bytes()) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| BuildError::Io {
            path: parent.to_owned(),
            source,
        })?;
    }
    std::fs::write(path, content).map_err(|source| BuildError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn writes_only_when_the_content_changes() {
        let dir = tempfile::tempdir().unwrap();
        let schemas = dir.path().join("schemas");
        std::fs::create_dir_all(schemas.join("s.e")).unwrap();
        std::fs::write(
            schemas.join("s.e/1.avsc"),
            r#"{"type":"record","name":"E","fields":[]}"#,
        )
        .unwrap();
        let builder = Builder::new()
            .schemas_dir(&schemas)
            .out_dir(dir.path().join("out"))
            .emit_rerun_if_changed(false);
        let path = builder.generate().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("// @generated"));
        assert!(!write_if_changed(&path, &text).unwrap());
        assert!(write_if_changed(&path, "changed").unwrap());
    }

    #[test]
    fn a_broken_folder_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("s.e")).unwrap();
        std::fs::write(dir.path().join("s.e/1.avsc"), "{").unwrap();
        let err = Builder::new()
            .schemas_dir(dir.path())
            .out_dir(dir.path().join("out"))
            .emit_rerun_if_changed(false)
            .generate()
            .unwrap_err();
        assert!(err.to_string().contains("s.e/1.avsc"), "{err}");
    }
}
